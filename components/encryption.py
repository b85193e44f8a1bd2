"""Customer-managed keys and the encrypted log groups built on them, shared by every component."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from aiplane.components.base import AiplaneComponent
from aiplane.components.iam import logs_key_policy

# The longest wait AWS allows before a key is deleted: time to notice and cancel a mistaken deletion.
KEY_DELETION_WINDOW_DAYS = 30


def rotating_key(owner: AiplaneComponent, name: str, description: str, policy: pulumi.Input[str]) -> aws.kms.Key:
    """A symmetric CMK with yearly automatic rotation."""
    return aws.kms.Key(
        name,
        aws.kms.KeyArgs(
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=policy,
        ),
        opts=owner.child(),
    )


def encrypted_log_group(
    owner: AiplaneComponent,
    name: str,
    *,
    log_group_name: str,
    retention_days: int,
    region: str,
    account_id: pulumi.Input[str],
    purpose: str,
) -> aws.cloudwatch.LogGroup:
    """A log group with a retention period, encrypted with its own rotating CMK (`<name>-key`)."""
    key = rotating_key(owner, f"{name}-key", f"Encrypts {purpose}", logs_key_policy(account_id, region))
    return aws.cloudwatch.LogGroup(
        name,
        aws.cloudwatch.LogGroupArgs(name=log_group_name, retention_in_days=retention_days, kms_key_id=key.arn),
        opts=owner.child(),
    )
