"""AIP_EKS_1 (`policies/checks/eks_access_entries.py`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import cluster


def passing() -> None:
    cluster("aip-eks-1-pass")


def failing() -> None:
    cluster("aip-eks-1-fail", mode="API_AND_CONFIG_MAP")
