"""AIP_S3_4 (`policies/checks/s3_data_bucket_tls_only.yaml`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import data_bucket


def passing() -> None:
    data_bucket("aip-s3-4-pass")


def failing() -> None:
    data_bucket("aip-s3-4-fail", tls_policy=False)
