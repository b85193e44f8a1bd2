"""AIP_EKS_3 (`policies/checks/eks_node_group_launch_template.py`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import node_group


def passing() -> None:
    node_group("aip-eks-3-pass", instance_types=["m7i.large"])


def failing() -> None:
    node_group("aip-eks-3-fail", instance_types=["m7i.large"], launch_template=False)
