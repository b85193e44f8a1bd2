"""How callers reach the gateway: its NetworkPolicies, and for `public` exposure an internet-facing ALB Ingress
behind a WAF web ACL. Children of the `ModelGateway` component they are given."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from aiplane.components.base import AiplaneComponent
from aiplane.components.encryption import encrypted_log_group
from aiplane.components.inference_gateway import GATEWAY_PORT as INFERENCE_GATEWAY_PORT
from aiplane.components.inference_gateway import INFERENCE_GATEWAY_NAMESPACE
from aiplane.components.model_gateway.args import (
    GATEWAY_NAME,
    GATEWAY_PORT,
    METRICS_PORT,
    WAF_RATE_LIMIT_PER_5_MINUTES,
    ModelGatewayArgs,
)
from aiplane.components.model_server import SERVING_NAMESPACE, VLLM_PORT
from aiplane.components.postgres import POSTGRES_PORT
from aiplane.components.workloads import GATEWAY_NAMESPACE, MONITORING_NAMESPACE, dns_egress, namespaces_peer, otlp_egress
from aiplane.planning.node_profiles import TENANT_LABEL


def network_policies(component: AiplaneComponent, name: str, args: ModelGatewayArgs, labels: dict[str, str], opts: pulumi.ResourceOptions) -> None:
    callers = [
        k8s.networking.v1.NetworkPolicyPeerArgs(
            namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                match_expressions=[k8s.meta.v1.LabelSelectorRequirementArgs(key=TENANT_LABEL, operator="Exists")]
            )
        ),
        # The key job, in the gateway's own namespace.
        k8s.networking.v1.NetworkPolicyPeerArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/component": "key-sync"})
        ),
    ]
    if args.exposure == "public":
        # An ALB in IP mode reaches the pods from its interfaces in the VPC.
        callers.append(k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=args.vpc_cidr)))
    port = [k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=GATEWAY_PORT)]
    k8s.networking.v1.NetworkPolicy(
        f"{name}-netpol",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=GATEWAY_NAME, namespace=GATEWAY_NAMESPACE),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
            policy_types=["Ingress", "Egress"],
            ingress=[
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=callers, ports=port),
                # Prometheus, on the metrics port alone.
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[namespaces_peer([MONITORING_NAMESPACE])],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=METRICS_PORT)],
                ),
            ],
            egress=[
                dns_egress(),
                otlp_egress(),
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[
                        k8s.networking.v1.NetworkPolicyPeerArgs(
                            namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                match_labels={"kubernetes.io/metadata.name": SERVING_NAMESPACE}
                            )
                        )
                    ],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=VLLM_PORT)],
                ),
                # Pooled models, through the inference gateway (components/inference_gateway.py).
                *([k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[namespaces_peer([INFERENCE_GATEWAY_NAMESPACE])],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=INFERENCE_GATEWAY_PORT)],
                )] if args.inference_gateway else []),
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=args.vpc_cidr))],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=POSTGRES_PORT)],
                ),
                # Managed providers, over HTTPS only.
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0"))],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=443)],
                ),
            ],
        ),
        opts=opts,
    )
    k8s.networking.v1.NetworkPolicy(
        f"{name}-key-sync-netpol",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{GATEWAY_NAME}-key-sync", namespace=GATEWAY_NAMESPACE),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/component": "key-sync"}),
            policy_types=["Ingress", "Egress"],
            ingress=[],
            egress=[
                dns_egress(),
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels))],
                    ports=port,
                ),
            ],
        ),
        opts=opts,
    )


def public_ingress(component: AiplaneComponent, name: str, args: ModelGatewayArgs, service: k8s.core.v1.Service, opts: pulumi.ResourceOptions) -> None:
    acl = web_acl(component, name, args)
    annotations = pulumi.Output.from_input(acl.arn).apply(
        lambda acl_arn: {
            "alb.ingress.kubernetes.io/scheme": "internet-facing",
            "alb.ingress.kubernetes.io/target-type": "ip",
            "alb.ingress.kubernetes.io/listen-ports": json.dumps([{"HTTPS": 443}]),
            "alb.ingress.kubernetes.io/certificate-arn": args.certificate_arn,
            "alb.ingress.kubernetes.io/ssl-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "alb.ingress.kubernetes.io/inbound-cidrs": ",".join(args.allowed_cidrs),
            "alb.ingress.kubernetes.io/wafv2-acl-arn": acl_arn,
            "alb.ingress.kubernetes.io/healthcheck-path": "/health/liveliness",
        }
    )
    k8s.networking.v1.Ingress(
        f"{name}-ingress",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=GATEWAY_NAME, namespace=GATEWAY_NAMESPACE, annotations=annotations),
        spec=k8s.networking.v1.IngressSpecArgs(
            ingress_class_name="alb",
            rules=[
                k8s.networking.v1.IngressRuleArgs(
                    http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                        paths=[
                            k8s.networking.v1.HTTPIngressPathArgs(
                                path="/",
                                path_type="Prefix",
                                backend=k8s.networking.v1.IngressBackendArgs(
                                    service=k8s.networking.v1.IngressServiceBackendArgs(
                                        name=service.metadata.name, port=k8s.networking.v1.ServiceBackendPortArgs(number=GATEWAY_PORT)
                                    )
                                ),
                            )
                        ]
                    )
                )
            ],
        ),
        opts=opts,
    )


def web_acl(component: AiplaneComponent, name: str, args: ModelGatewayArgs) -> aws.wafv2.WebAcl:
    """Default block; allow only the allow-listed networks, after AWS's managed rules and a per-IP rate limit."""
    allowed = aws.wafv2.IpSet(
        f"{name}-allowed-networks",
        aws.wafv2.IpSetArgs(
            scope="REGIONAL", ip_address_version="IPV4", addresses=args.allowed_cidrs,
            description="Networks allowed to call the model gateway",
        ),
        opts=component.child(),
    )

    def visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
        return aws.wafv2.WebAclVisibilityConfigArgs(cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True)

    def managed(priority: int, group: str) -> aws.wafv2.WebAclRuleArgs:
        return aws.wafv2.WebAclRuleArgs(
            name=group,
            priority=priority,
            override_action=aws.wafv2.WebAclRuleOverrideActionArgs(none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(name=group, vendor_name="AWS")
            ),
            visibility_config=visibility(group),
        )

    web_acl = aws.wafv2.WebAcl(
        f"{name}-waf",
        aws.wafv2.WebAclArgs(
            scope="REGIONAL",
            description="The model gateway's public endpoint",
            default_action=aws.wafv2.WebAclDefaultActionArgs(block=aws.wafv2.WebAclDefaultActionBlockArgs()),
            rules=[
                managed(0, "AWSManagedRulesCommonRuleSet"),
                managed(1, "AWSManagedRulesKnownBadInputsRuleSet"),
                aws.wafv2.WebAclRuleArgs(
                    name="rate-limit-per-ip",
                    priority=2,
                    action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
                    statement=aws.wafv2.WebAclRuleStatementArgs(
                        rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                            limit=WAF_RATE_LIMIT_PER_5_MINUTES, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=visibility("rate-limit-per-ip"),
                ),
                aws.wafv2.WebAclRuleArgs(
                    name="allow-listed-networks",
                    priority=3,
                    action=aws.wafv2.WebAclRuleActionArgs(allow=aws.wafv2.WebAclRuleActionAllowArgs()),
                    statement=aws.wafv2.WebAclRuleStatementArgs(
                        ip_set_reference_statement=aws.wafv2.WebAclRuleStatementIpSetReferenceStatementArgs(arn=allowed.arn)
                    ),
                    visibility_config=visibility("allow-listed-networks"),
                ),
            ],
            visibility_config=visibility("model-gateway"),
        ),
        opts=component.child(),
    )
    account_id = aws.get_caller_identity_output().account_id
    # WAF logs only to log groups whose names start with aws-waf-logs-.
    log_group = encrypted_log_group(
        component, f"{name}-waf-logs", log_group_name=f"aws-waf-logs-{name}", retention_days=365, region=args.region,
        account_id=account_id, purpose="the model gateway's WAF logs",
    )
    aws.wafv2.WebAclLoggingConfiguration(
        f"{name}-waf-logging",
        aws.wafv2.WebAclLoggingConfigurationArgs(resource_arn=web_acl.arn, log_destination_configs=[log_group.arn]),
        opts=component.child(),
    )
    return web_acl
