"""Aurora PostgreSQL Serverless v2, as the vector database (pgvector) and the model gateway's metering
database use it. A builder that creates its resources under the component that owns the database.

Secure defaults (behaviour, not options): private subnets only; storage, Performance Insights and the
master secret encrypted with the database's own rotating key; IAM database authentication; TLS forced;
schema changes and slow queries logged to a KMS-encrypted log group kept a year; enhanced monitoring;
automated backups plus a daily AWS Backup plan into an encrypted vault; a final snapshot on deletion; and
deletion protection unless the caller turns it off (development).
"""
from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pulumi_aws as aws

from aiplane.components.base import AiplaneComponent
from aiplane.components.encryption import encrypted_log_group, rotating_key
from aiplane.components.iam import account_key_policy, service_role
from aiplane.components.network import ingress_only_security_group
from aiplane.spec.storage import AuroraSettings

POSTGRES_PORT = 5432
RDS_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
BACKUP_SERVICE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
ENHANCED_MONITORING_INTERVAL_SECONDS = 60
BACKUP_RETENTION_IN_VAULT_DAYS = 35
LOG_RETENTION_DAYS = 365





def rds_identifier(cluster_name: str, database: str) -> str:
    """`<cluster>-<database>` as RDS accepts an identifier: lowercase letters, digits and single hyphens, at most
    63 characters, starting with a letter (EKS cluster names may also hold capitals and underscores)."""
    identifier = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", f"{cluster_name}-{database}".lower())).strip("-")
    if not identifier[:1].isalpha():
        identifier = f"db-{identifier}"
    return identifier[:63].rstrip("-")


class AuroraPostgres:
    """The cluster, its instances and everything that keeps it safe, created under `owner`."""

    def __init__(
        self,
        owner: AiplaneComponent,
        name: str,
        *,
        purpose: str,
        settings: AuroraSettings,
        identifier: pulumi.Input[str],
        database_name: str,
        master_username: str,
        subnet_ids: list[Any],
        vpc_id: pulumi.Input[str],
        client_security_group_id: pulumi.Input[str],
        region: str,
        master_password: pulumi.Input[str] | None = None,
    ):
        """`master_password` given: the caller owns the password (a secret it hands to its clients); not given:
        RDS generates it, keeps it in Secrets Manager under the database's key and rotates it."""
        self.region = region
        self.account_id = aws.get_caller_identity_output().account_id
        child = owner.child
        self.key = rotating_key(owner, f"{name}-key", f"Encrypts {purpose}", account_key_policy(self.account_id))
        identifier = pulumi.Output.from_input(identifier)
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets", aws.rds.SubnetGroupArgs(description=f"Private subnets of {purpose}", subnet_ids=subnet_ids), opts=child()
        )
        group = ingress_only_security_group(
            owner, f"{name}-sg", description=f"{purpose}: PostgreSQL from cluster nodes only", vpc_id=vpc_id, port=POSTGRES_PORT,
            clients=client_security_group_id,
        )
        parameters = aws.rds.ClusterParameterGroup(
            f"{name}-parameters",
            aws.rds.ClusterParameterGroupArgs(
                family=f"aurora-postgresql{settings.engine_version.split('.')[0]}",
                description=f"{purpose}: TLS only, schema changes and slow queries logged",
                parameters=[
                    aws.rds.ClusterParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                    aws.rds.ClusterParameterGroupParameterArgs(name="log_statement", value="ddl"),
                    aws.rds.ClusterParameterGroupParameterArgs(name="log_min_duration_statement", value="1000"),
                ],
            ),
            opts=child(),
        )
        log_group = encrypted_log_group(
            owner,
            f"{name}-logs",
            log_group_name=identifier.apply(lambda cluster_id: f"/aws/rds/cluster/{cluster_id}/postgresql"),
            retention_days=LOG_RETENTION_DAYS,
            region=region,
            account_id=self.account_id,
            purpose=f"the PostgreSQL logs of {purpose}",
        )
        password = (
            {"master_password": master_password}
            if master_password is not None
            else {"manage_master_user_password": True, "master_user_secret_kms_key_id": self.key.arn}
        )
        self.cluster = aws.rds.Cluster(
            f"{name}-aurora",
            aws.rds.ClusterArgs(
                cluster_identifier=identifier,
                engine="aurora-postgresql",
                engine_mode="provisioned",
                engine_version=settings.engine_version,
                database_name=database_name,
                master_username=master_username,
                **password,
                iam_database_authentication_enabled=True,
                storage_encrypted=True,
                kms_key_id=self.key.arn,
                db_subnet_group_name=subnets.name,
                vpc_security_group_ids=[group.id],
                db_cluster_parameter_group_name=parameters.name,
                serverlessv2_scaling_configuration=aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
                    min_capacity=settings.min_capacity_acu, max_capacity=settings.max_capacity_acu
                ),
                backup_retention_period=settings.backup_retention_days,
                preferred_backup_window="03:00-04:00",
                copy_tags_to_snapshot=True,
                deletion_protection=settings.deletion_protection,
                skip_final_snapshot=False,
                final_snapshot_identifier=identifier.apply(lambda cluster_id: f"{cluster_id}-final"),
                enabled_cloudwatch_logs_exports=["postgresql"],
            ),
            opts=child(depends_on=[log_group]),
        )
        monitoring_role = service_role(owner, f"{name}-monitoring-role", "monitoring.rds.amazonaws.com", f"Enhanced monitoring of {purpose}")
        aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy",
            aws.iam.RolePolicyAttachmentArgs(role=monitoring_role.name, policy_arn=RDS_MONITORING_POLICY),
            opts=child(),
        )
        for index in range(settings.instances):
            aws.rds.ClusterInstance(
                f"{name}-instance-{index}",
                aws.rds.ClusterInstanceArgs(
                    cluster_identifier=self.cluster.id,
                    instance_class="db.serverless",
                    engine=self.cluster.engine,
                    engine_version=self.cluster.engine_version,
                    db_subnet_group_name=subnets.name,
                    publicly_accessible=False,
                    auto_minor_version_upgrade=True,
                    performance_insights_enabled=True,
                    performance_insights_kms_key_id=self.key.arn,
                    performance_insights_retention_period=7,
                    monitoring_interval=ENHANCED_MONITORING_INTERVAL_SECONDS,
                    monitoring_role_arn=monitoring_role.arn,
                ),
                opts=child(),
            )
        self._backup_plan(owner, name, purpose)
        self.endpoint = self.cluster.endpoint

    def _backup_plan(self, owner: AiplaneComponent, name: str, purpose: str) -> None:
        """AWS Backup on top of Aurora's own backups: copies outside the cluster's lifecycle, in a vault
        encrypted with its own key."""
        child = owner.child
        key = rotating_key(owner, f"{name}-backup-key", f"Encrypts the backups of {purpose}", account_key_policy(self.account_id))
        vault = aws.backup.Vault(f"{name}-backup-vault", aws.backup.VaultArgs(kms_key_arn=key.arn), opts=child())
        plan = aws.backup.Plan(
            f"{name}-backup-plan",
            aws.backup.PlanArgs(
                rules=[
                    aws.backup.PlanRuleArgs(
                        rule_name="daily",
                        target_vault_name=vault.name,
                        schedule="cron(0 5 * * ? *)",
                        lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=BACKUP_RETENTION_IN_VAULT_DAYS),
                    )
                ]
            ),
            opts=child(),
        )
        role = service_role(owner, f"{name}-backup-role", "backup.amazonaws.com", f"AWS Backup of {purpose}")
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-backup-policy", aws.iam.RolePolicyAttachmentArgs(role=role.name, policy_arn=BACKUP_SERVICE_POLICY), opts=child()
        )
        aws.backup.Selection(
            f"{name}-backup-selection",
            aws.backup.SelectionArgs(plan_id=plan.id, iam_role_arn=role.arn, resources=[self.cluster.arn]),
            opts=child(depends_on=[attachment]),
        )

    def connect_policy(self, database_user: str) -> pulumi.Output[str]:
        """An IAM policy that lets its holder log in as `database_user` with an IAM token, and as no one else."""
        return pulumi.Output.all(self.account_id, self.cluster.cluster_resource_id).apply(
            lambda values: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "rds-db:connect",
                            "Resource": f"arn:aws:rds-db:{self.region}:{values[0]}:dbuser:{values[1]}/{database_user}",
                        }
                    ],
                }
            )
        )
