"""AIP_TEN_5 (`aiplane/policy/graph_checks/namespace_owner.py`): examples it passes and fails."""
from __future__ import annotations

import pulumi_kubernetes as k8s

from tests.policy.graph_checks.builders import tenant_namespace


def secret(name: str, namespace: str, labels: dict[str, str] | None = None) -> None:
    k8s.core.v1.Secret(name, metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels), string_data={"key": "x"})


def passing() -> None:
    tenant_namespace("aip-ten-5-pass")
    # The platform delivers the tenant's gateway key into its namespace, labelled for it.
    secret("aip-ten-5-pass-key", "aip-ten-5-pass", {"aiplane.io/tenant": "aip-ten-5-pass"})
    k8s.core.v1.Namespace("aip-ten-5-pass-platform", metadata=k8s.meta.v1.ObjectMetaArgs(name="aip-ten-5-pass-platform"))
    secret("aip-ten-5-pass-platform-key", "aip-ten-5-pass-platform")


def failing() -> None:
    # The review's case: a tenant named after the platform's vector database namespace.
    k8s.core.v1.Namespace("aip-ten-5-fail-platform", metadata=k8s.meta.v1.ObjectMetaArgs(name="aip-ten-5-fail"))
    tenant_namespace("aip-ten-5-fail")
    # A platform object in a tenant's namespace, not delivered to it.
    tenant_namespace("aip-ten-5-fail-host")
    secret("aip-ten-5-fail-host-api-key", "aip-ten-5-fail-host")
