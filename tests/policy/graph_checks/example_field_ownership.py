"""AIP_DEP_3 (`aiplane/policy/graph_checks/field_ownership.py`): examples it passes and fails."""
from __future__ import annotations

import pulumi

from tests.policy.graph_checks.builders import autoscaler, deployment, provider


def passing() -> None:
    on = provider("aip-dep-3-pass-k8s")
    deployment("aip-dep-3-pass", on, replicas=2, opts=pulumi.ResourceOptions(ignore_changes=["spec.replicas"]))
    autoscaler("aip-dep-3-pass-hpa", "aip-dep-3-pass", on)
    deployment("aip-dep-3-pass-unset", on, replicas=None)
    autoscaler("aip-dep-3-pass-unset-hpa", "aip-dep-3-pass-unset", on)


def failing() -> None:
    on = provider("aip-dep-3-fail-k8s")
    deployment("aip-dep-3-fail", on, replicas=2)
    autoscaler("aip-dep-3-fail-hpa", "aip-dep-3-fail", on)
