"""The `Observability` component: kube-prometheus-stack, the OpenTelemetry Collector, the workload log group,
dashboards on ConfigMaps and the alert rules (see the package's docstring)."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from aiplane.components.base import AiplaneComponent
from aiplane.components.encryption import encrypted_log_group
from aiplane.components.gpu_software import helm_release
from aiplane.components.iam import pod_identity_association, pod_identity_role
from aiplane.components.observability.rules import rule_groups
from aiplane.components.observability.values import (
    DASHBOARD_LABEL,
    KUBE_PROMETHEUS_STACK_CHART,
    OTEL_COLLECTOR_CHART,
    OTEL_SERVICE_ACCOUNT,
    RELEASE_NAME,
    XRAY_POLICY,
    ObservabilityArgs,
    collector_values,
    dashboards,
    prometheus_values,
)
from aiplane.components.workloads import MONITORING_NAMESPACE, privileged_namespace


class Observability(AiplaneComponent):
    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:observability:Observability", name, opts)
        on_cluster = self.child(provider=args.kubernetes_provider)
        # The node exporter reads host metrics through host paths and the host network.
        namespace = privileged_namespace(f"{name}-ns", MONITORING_NAMESPACE, on_cluster)
        in_namespace = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[namespace, *args.depends_on]))
        stack = helm_release(
            f"{name}-kube-prometheus-stack", KUBE_PROMETHEUS_STACK_CHART, MONITORING_NAMESPACE, prometheus_values(args), in_namespace,
            release_name=RELEASE_NAME,
        )
        self._traces(name, args, in_namespace)
        encrypted_log_group(
            self, f"{name}-workload-logs", log_group_name=pulumi.Output.from_input(args.cluster_name).apply(lambda c: f"/aiplane/{c}/workloads"),
            retention_days=args.log_retention_days, region=args.region, account_id=aws.get_caller_identity_output().account_id,
            purpose="the logs of the platform's workloads",
        )
        for file_name, text in dashboards(args.dashboards).items():
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{file_name.removesuffix('.json')}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"dashboard-{file_name.removesuffix('.json')}", namespace=MONITORING_NAMESPACE, labels={DASHBOARD_LABEL: "1"}
                ),
                data={file_name: text},
                opts=in_namespace,
            )
        after_stack = pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[stack]))
        k8s.apiextensions.CustomResource(
            f"{name}-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="aiplane", namespace=MONITORING_NAMESPACE),
            spec={"groups": rule_groups(args.availability_slo, args.p95_latency_seconds, args.cold_start_budgets)},
            opts=after_stack,
        )
        # The gateway's metrics come from its sidecar's own port: the proxy's port answers /metrics only with a key.
        for target, namespace_name, selector, port in (
            ("gateway", "model-gateway", {"app.kubernetes.io/name": "litellm"}, "metrics"),
            ("model-servers", "model-serving", {"app.kubernetes.io/name": "vllm"}, "http"),
        ):
            k8s.apiextensions.CustomResource(
                f"{name}-scrape-{target}",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=target, namespace=MONITORING_NAMESPACE),
                spec={
                    "namespaceSelector": {"matchNames": [namespace_name]},
                    "selector": {"matchLabels": selector},
                    "endpoints": [{"port": port, "path": "/metrics", "interval": "30s"}],
                },
                opts=after_stack,
            )
        self.register_outputs({})

    def _traces(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions) -> None:
        if args.traces_exporter == "xray":
            role = pod_identity_role(self, f"{name}-otel-role", "OpenTelemetry Collector's trace export to X-Ray")
            aws.iam.RolePolicyAttachment(
                f"{name}-otel-xray", aws.iam.RolePolicyAttachmentArgs(role=role.name, policy_arn=XRAY_POLICY), opts=self.child()
            )
            pod_identity_association(
                self, f"{name}-otel-identity", role,
                cluster_name=args.cluster_name, namespace=MONITORING_NAMESPACE, service_account=OTEL_SERVICE_ACCOUNT,
            )
        helm_release(f"{name}-otel-collector", OTEL_COLLECTOR_CHART, MONITORING_NAMESPACE, collector_values(args), opts)
