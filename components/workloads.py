"""Hardened Kubernetes building blocks shared by the components that run workloads on the cluster.

Every container aiplane runs gets the Pod Security Standards' restricted profile and then some: a
non-root high UID (so it never matches a host user), no privilege escalation, no Linux capabilities,
the runtime's default seccomp profile, and a read-only root filesystem (writable paths are volumes).
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

# Above the range distributions give host users, so a container escape does not land on a real account.
WORKLOAD_UID = 10001
# The model gateway's namespace: it reaches every model server and data store on behalf of every tenant.
GATEWAY_NAMESPACE = "model-gateway"
# The observability plane's namespace, whose Prometheus scrapes the serving metrics.
MONITORING_NAMESPACE = "monitoring"
PROMETHEUS_URL = f"http://kube-prometheus-stack-prometheus.{MONITORING_NAMESPACE}.svc.cluster.local:9090"
# The OpenTelemetry Collector's OTLP/gRPC endpoint, where the gateway and the model servers send traces.
OTLP_PORT = 4317
OTLP_ENDPOINT = f"http://otel-collector.{MONITORING_NAMESPACE}.svc.cluster.local:{OTLP_PORT}"


def otlp_egress() -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    """Traces to the observability plane's collector."""
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[k8s.networking.v1.NetworkPolicyPeerArgs(
            namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={NAMESPACE_NAME_LABEL: MONITORING_NAMESPACE})
        )],
        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=OTLP_PORT)],
    )
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# pulumi-kubernetes waits this long for a Deployment to become ready unless told otherwise (its await logic).
DEFAULT_DEPLOYMENT_AWAIT_SECONDS = 600
# Beyond a pod's own startup allowance, what a rollout waits for before the container starts: a node
# launched for it (Karpenter or a scaling node group) and a large image pulled.
NODE_AND_IMAGE_SECONDS = 600


def autoscaled(opts: pulumi.ResourceOptions, startup_seconds: int, before_start_seconds: int = NODE_AND_IMAGE_SECONDS) -> pulumi.ResourceOptions:
    """Options of a Deployment that an autoscaler (HPA, KEDA) scales and whose pods may take `startup_seconds`
    to start: Pulumi creates it with the planned replicas, then leaves `spec.replicas` to the autoscaler's field
    manager (server-side apply would otherwise conflict on the next update), and waits for the rollout as long
    as the startup allowance plus a node and an image pull (`before_start_seconds`), not its 10-minute default."""
    wait = f"{startup_seconds + before_start_seconds}s"
    return pulumi.ResourceOptions.merge(
        opts,
        pulumi.ResourceOptions(ignore_changes=["spec.replicas"], custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait)),
    )


def restricted_namespace(name: str, namespace: str, labels: dict[str, str], opts: pulumi.ResourceOptions) -> k8s.core.v1.Namespace:
    """A namespace whose pods must meet the restricted Pod Security Standard (enforced by the API server)."""
    return k8s.core.v1.Namespace(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=namespace,
            labels={**labels, "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/audit": "restricted"},
        ),
        opts=opts,
    )


def privileged_namespace(name: str, namespace: str, opts: pulumi.ResourceOptions) -> k8s.core.v1.Namespace:
    """A namespace for node agents that need the host (kernel modules, host paths, the host network): the
    Pod Security Standard's privileged level, granted on purpose and only there."""
    return k8s.core.v1.Namespace(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace, labels={"pod-security.kubernetes.io/enforce": "privileged"}),
        opts=opts,
    )


def pod_security_context(uid: int = WORKLOAD_UID) -> k8s.core.v1.PodSecurityContextArgs:
    """`uid`: the image's own non-root user where its files are owned by it."""
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=uid,
        fs_group=uid,
        fs_group_change_policy="OnRootMismatch",
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def container_security_context(uid: int = WORKLOAD_UID) -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=uid,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        privileged=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def namespaces_peer(namespaces: list[str]) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    """Every pod of the named namespaces (the label the API server sets on each namespace)."""
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
            match_expressions=[
                k8s.meta.v1.LabelSelectorRequirementArgs(key=NAMESPACE_NAME_LABEL, operator="In", values=sorted(namespaces))
            ]
        )
    )


def dns_egress() -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    """Name lookups through the cluster DNS, the one egress every pod needs."""
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[
            k8s.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={NAMESPACE_NAME_LABEL: "kube-system"}),
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
            )
        ],
        ports=[
            k8s.networking.v1.NetworkPolicyPortArgs(protocol="UDP", port=53),
            k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=53),
        ],
    )


def service_account(name: str, metadata: k8s.meta.v1.ObjectMetaArgs, opts: pulumi.ResourceOptions) -> k8s.core.v1.ServiceAccount:
    """A workload's own identity, without a Kubernetes API token: its pods never call the API."""
    return k8s.core.v1.ServiceAccount(name, metadata=metadata, automount_service_account_token=False, opts=opts)


def cluster_service(
    name: str, metadata: k8s.meta.v1.ObjectMetaArgs, selector: dict[str, str], ports: dict[str, int], opts: pulumi.ResourceOptions
) -> k8s.core.v1.Service:
    """A Service reachable inside the cluster only."""
    return k8s.core.v1.Service(
        name,
        metadata=metadata,
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=selector,
            ports=[k8s.core.v1.ServicePortArgs(name=port_name, port=port, target_port=port) for port_name, port in ports.items()],
        ),
        opts=opts,
    )


def one_at_a_time_budget(
    name: str, metadata: k8s.meta.v1.ObjectMetaArgs, selector: dict[str, str], opts: pulumi.ResourceOptions
) -> k8s.policy.v1.PodDisruptionBudget:
    """Voluntary disruptions (node drains, upgrades) take one pod at a time: replicated workloads keep
    serving, and a single replica can still be drained."""
    return k8s.policy.v1.PodDisruptionBudget(
        name,
        metadata=metadata,
        spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector)),
        opts=opts,
    )
