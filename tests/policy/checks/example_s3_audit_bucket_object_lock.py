"""AIP_S3_5 (`policies/checks/s3_audit_bucket_object_lock.yaml`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import audit_bucket


def passing() -> None:
    audit_bucket("aip-s3-5-pass", "COMPLIANCE")


def failing() -> None:
    audit_bucket("aip-s3-5-fail", "GOVERNANCE")
