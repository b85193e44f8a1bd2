"""AIP_S3_2 (`policies/checks/s3_data_bucket_versioning.yaml`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import data_bucket


def passing() -> None:
    data_bucket("aip-s3-2-pass")


def failing() -> None:
    data_bucket("aip-s3-2-fail", versioning=False)
