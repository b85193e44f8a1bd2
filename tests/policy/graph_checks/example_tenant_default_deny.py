"""AIP_TEN_1 (`aiplane/policy/graph_checks/tenant_default_deny.py`): examples it passes and fails."""
from __future__ import annotations

import pulumi_kubernetes as k8s

from tests.policy.graph_checks.builders import tenant_namespace


def passing() -> None:
    tenant_namespace("aip-ten-1-pass")
    tenant_namespace("aip-ten-1-pass-labelled", owned=False)


def failing() -> None:
    tenant_namespace("aip-ten-1-fail-none", deny=False)
    # An allow policy is not a default deny.
    tenant_namespace("aip-ten-1-fail-allow-only", deny=False)
    k8s.networking.v1.NetworkPolicy(
        "aip-ten-1-allow", metadata=k8s.meta.v1.ObjectMetaArgs(name="allow-dns", namespace="aip-ten-1-fail-allow-only"),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Egress"],
            egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=53, protocol="UDP")])],
        ),
    )
    tenant_namespace("aip-ten-1-fail-unlabelled", deny=False, owned=True)
