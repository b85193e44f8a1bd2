"""IAM and KMS policy documents the components attach, built as JSON strings (what AWS and checkov read)."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from aiplane.components.base import AiplaneComponent


def service_assume_role_policy(service: str, actions: tuple[str, ...] = ("sts:AssumeRole",)) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)}],
        }
    )


def logs_key_policy(account_id: pulumi.Input[str], region: str, partition: str = "aws") -> pulumi.Output[str]:
    """A CMK policy for CloudWatch Logs: the account administers the key, and the regional Logs service may
    use it only for log groups of this account (the encryption-context condition AWS documents)."""

    def document(account: str) -> str:
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    _account_admin_statement(account, partition),
                    {
                        "Sid": "CloudWatchLogsUse",
                        "Effect": "Allow",
                        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                        "Resource": "*",
                        "Condition": {
                            "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account}:log-group:*"}
                        },
                    },
                ],
            }
        )

    return pulumi.Output.from_input(account_id).apply(document)


def account_key_policy(account_id: pulumi.Input[str], partition: str = "aws") -> pulumi.Output[str]:
    """A CMK policy that delegates use of the key to IAM policies of this account."""
    return pulumi.Output.from_input(account_id).apply(
        lambda account: json.dumps({"Version": "2012-10-17", "Statement": [_account_admin_statement(account, partition)]})
    )


def _account_admin_statement(account: str, partition: str) -> dict:
    return {
        "Sid": "AccountAdministers",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def allow_policy(actions: list[str], resources: pulumi.Input[list[str]]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(resources).apply(
        lambda arns: json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": list(arns)}]}
        )
    )


def service_role(
    owner: AiplaneComponent,
    name: str,
    service: str,
    description: str,
    actions: tuple[str, ...] = ("sts:AssumeRole",),
    path: str | None = None,
    permissions_boundary: pulumi.Input[str] | None = None,
) -> aws.iam.Role:
    """An IAM role that only the given AWS service principal may assume (`path` groups roles for policies;
    `permissions_boundary` caps whatever the role is ever granted)."""
    return aws.iam.Role(
        name,
        aws.iam.RoleArgs(
            description=description,
            assume_role_policy=service_assume_role_policy(service, actions),
            path=path,
            permissions_boundary=permissions_boundary,
        ),
        opts=owner.child(),
    )


POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
# The Pod Identity agent tags the sessions it opens, so the role must allow TagSession as well.
POD_IDENTITY_ACTIONS = ("sts:AssumeRole", "sts:TagSession")


def pod_identity_role(
    owner: AiplaneComponent, name: str, description: str, permissions_boundary: pulumi.Input[str] | None = None
) -> aws.iam.Role:
    """A role that pods assume through EKS Pod Identity, and nothing else can."""
    return service_role(
        owner, name, POD_IDENTITY_SERVICE, f"{description} (EKS Pod Identity)", POD_IDENTITY_ACTIONS,
        permissions_boundary=permissions_boundary,
    )


def pod_identity_association(
    owner: AiplaneComponent,
    name: str,
    role: aws.iam.Role,
    *,
    cluster_name: pulumi.Input[str],
    namespace: str,
    service_account: str,
    depends_on: list[pulumi.Resource] | None = None,
) -> aws.eks.PodIdentityAssociation:
    """Pods of `service_account` in `namespace` get `role`'s credentials."""
    return aws.eks.PodIdentityAssociation(
        name,
        aws.eks.PodIdentityAssociationArgs(cluster_name=cluster_name, namespace=namespace, service_account=service_account, role_arn=role.arn),
        opts=owner.child(depends_on=depends_on),
    )
