"""AIP_S3_1 (`policies/checks/s3_data_bucket_cmk.yaml`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import data_bucket


def passing() -> None:
    data_bucket("aip-s3-1-pass")


def failing() -> None:
    data_bucket("aip-s3-1-fail", cmk=False)
