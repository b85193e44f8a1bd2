"""AIP_EKS_2 (`policies/checks/eks_secrets_key_rotation.yaml`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import cluster


def passing() -> None:
    cluster("aip-eks-2-pass")


def failing() -> None:
    cluster("aip-eks-2-fail", rotation=False)
