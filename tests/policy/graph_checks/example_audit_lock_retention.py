"""AIP_S3_6 (`aiplane/policy/graph_checks/audit_lock_retention.py`): examples it passes and fails, under a
profile whose floor is FLOOR days."""
from __future__ import annotations

import pulumi_aws as aws

FLOOR = 365


def lock(name: str, **retention) -> None:
    bucket = aws.s3.Bucket(f"{name}-bucket", aws.s3.BucketArgs(object_lock_enabled=True))
    aws.s3.BucketObjectLockConfiguration(name, aws.s3.BucketObjectLockConfigurationInitArgs(
        bucket=bucket.id, rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
            default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(mode="COMPLIANCE", **retention)
        ),
    ))


def passing() -> None:
    lock("aip-s3-6-pass", days=FLOOR)
    lock("aip-s3-6-pass-years", years=1)


def failing() -> None:
    lock("aip-s3-6-fail", days=1)
