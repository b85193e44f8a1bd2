"""The model gateway: LiteLLM's proxy on the cluster, in front of the model servers and managed providers.

It routes each request by task class and the caller's tier, falls back when a model fails, degrades under
overload (a smaller model, shorter answers, no tools), and meters every tenant's virtual key against its
budget and rate limits. Its config.yaml is rendered from the stack by `config.render_config` and validated
before it is used.

Secure defaults (behaviour, not options):
- credentials never appear in the config or the pod spec: the config names environment variables, and the
  container fills them from files of mounted Secrets (the master key, the database URL, tenants' keys, and
  provider keys from Secrets created outside the stack);
- a restricted namespace; the proxy runs non-root with a read-only root filesystem, pinned by digest;
- a Service inside the cluster only; `public` exposure adds an internet-facing ALB Ingress that admits only
  the allow-listed networks and sits behind a WAF web ACL (AWS managed rules, a per-IP rate limit, default
  block), with TLS;
- a NetworkPolicy: callers are tenant namespaces (and the load balancer when public); the proxy reaches the
  model servers, its database, DNS and HTTPS providers;
- its database (keys, budgets, spend) is Aurora PostgreSQL Serverless v2 with the defaults of
  `components/postgres.py`; tenants' keys are registered by a Job through the proxy's admin API.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
from pydantic import BaseModel, ConfigDict, Field, model_validator

from aiplane.profiles import TENANT_LABEL
from components.base import AiplaneComponent
from components.encryption import encrypted_log_group
from components.iam import allow_policy, pod_identity_association, pod_identity_role
from components.model_gateway.config import (
    DATABASE_URL_ENV,
    MASTER_KEY_ENV,
    TEMPLATES,
    GatewayPlan,
    render_config,
    render_key_requests,
)
from components.model_server import SERVING_NAMESPACE, VLLM_PORT
from components.postgres import POSTGRES_PORT, AuroraPostgres, AuroraSettings, rds_identifier
from components.workloads import (
    GATEWAY_NAMESPACE,
    OTLP_ENDPOINT,
    cluster_service,
    container_security_context,
    dns_egress,
    one_at_a_time_budget,
    otlp_egress,
    pod_security_context,
    restricted_namespace,
    service_account,
)

# LiteLLM's non-root image (user nobody), pinned by digest so a re-pushed tag cannot change what runs.
LITELLM_IMAGE = "ghcr.io/berriai/litellm-non_root:v1.100.1@sha256:c36f3b27a5a817329e0fcf9c4e3a7bf58b62a5a736ad5352f0a5771c1be58404"
LITELLM_UID = 65534
GATEWAY_PORT = 4000
GATEWAY_NAME = "litellm"
CONFIG_DIR = "/etc/litellm"
CREDENTIALS_DIR = "/var/run/secrets/aiplane"
DATABASE_NAME = "litellm"
DATABASE_USER = "litellm"
# Every file in the credentials directory becomes the environment variable of the same name, then the proxy
# starts: the values never appear in the pod spec.
ENTRYPOINT = (
    f'for file in {CREDENTIALS_DIR}/*; do export "$(basename "$file")=$(cat "$file")"; done; '
    f'exec litellm --config {CONFIG_DIR}/config.yaml --port {GATEWAY_PORT}'
)
WAF_RATE_LIMIT_PER_5_MINUTES = 2000
TENANT_KEY_SECRET = "gateway-key"


class SecretKeyRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    secret: str
    key: str
    env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")


class ModelGatewayArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    plan: GatewayPlan
    provider_keys: list[SecretKeyRef] = Field(default_factory=list, description="Secrets created outside the stack")
    min_replicas: int = Field(ge=1)
    max_replicas: int = Field(ge=1)
    exposure: Literal["internal", "public"] = "internal"
    allowed_cidrs: list[str] = Field(default_factory=list)
    certificate_arn: str | None = None
    database: AuroraSettings
    cluster_name: Any
    region: str
    kubernetes_provider: Any
    vpc_id: Any
    vpc_cidr: str
    private_subnet_ids: list[Any]
    client_security_group_id: Any
    model_servers: list[Any] = Field(default_factory=list, description="Created first: the gateway routes to them")
    tenant_namespaces: dict[str, Any] = Field(
        default_factory=dict, description="k8s Namespace per tenant: each gets its key as the Secret `gateway-key`"
    )

    @model_validator(mode="after")
    def _public_is_guarded(self) -> ModelGatewayArgs:
        if self.exposure == "public" and (not self.allowed_cidrs or not self.certificate_arn):
            raise ValueError("public exposure needs allowed_cidrs and certificate_arn")
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas {self.min_replicas} exceed max_replicas {self.max_replicas}")
        return self


class ModelGateway(AiplaneComponent):
    endpoint: str

    def __init__(self, name: str, args: ModelGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:gateway:ModelGateway", name, opts)
        self.config = render_config(args.plan)
        self.key_requests = render_key_requests(args.plan)
        labels = {"app.kubernetes.io/name": GATEWAY_NAME, "app.kubernetes.io/component": "proxy"}
        on_cluster = self.child(provider=args.kubernetes_provider)
        namespace = restricted_namespace(f"{name}-ns", GATEWAY_NAMESPACE, {"aiplane.io/plane": "serving"}, on_cluster)
        in_namespace = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[namespace]))
        metadata = k8s.meta.v1.ObjectMetaArgs(name=GATEWAY_NAME, namespace=GATEWAY_NAMESPACE, labels=labels)
        self.endpoint = f"http://{GATEWAY_NAME}.{GATEWAY_NAMESPACE}.svc.cluster.local:{GATEWAY_PORT}"

        credentials = self._credentials(name, args, in_namespace)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{GATEWAY_NAME}-config", namespace=GATEWAY_NAMESPACE, labels=labels),
            data={"config.yaml": self.config, "keys.json": self.key_requests, "sync_keys.py": (TEMPLATES / "sync_keys.py").read_text()},
            opts=in_namespace,
        )
        service_account(f"{name}-sa", metadata, in_namespace)
        self._bedrock_access(name, args)
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata,
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=args.min_replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    # A changed config rolls the pods: the proxy reads it only at start.
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=labels, annotations={"aiplane.io/config-sha256": hashlib.sha256(self.config.encode()).hexdigest()}
                    ),
                    spec=self._pod_spec(args, credentials),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[config_map, *args.model_servers])),
        )
        service = cluster_service(f"{name}-service", metadata, labels, {"http": GATEWAY_PORT}, in_namespace)
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=metadata,
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(api_version="apps/v1", kind="Deployment", name=GATEWAY_NAME),
                min_replicas=args.min_replicas,
                max_replicas=args.max_replicas,
                # The proxy itself is CPU-bound (parsing, routing, accounting); the models' load is the servers'.
                metrics=[
                    k8s.autoscaling.v2.MetricSpecArgs(
                        type="Resource",
                        resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                            name="cpu", target=k8s.autoscaling.v2.MetricTargetArgs(type="Utilization", average_utilization=70)
                        ),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[deployment])),
        )
        one_at_a_time_budget(f"{name}-pdb", metadata, labels, in_namespace)
        self._network_policies(name, args, labels, in_namespace)
        self._key_job(name, args, credentials, deployment, in_namespace)
        if args.exposure == "public":
            self._public_ingress(name, args, service, in_namespace)
        self.register_outputs({"endpoint": self.endpoint})

    # -- credentials ---------------------------------------------------------------------------------------

    def _credentials(self, name: str, args: ModelGatewayArgs, opts: pulumi.ResourceOptions) -> str:
        """The Secret of generated credentials: the master key, the database URL and every tenant's key."""
        password = random.RandomPassword(f"{name}-db-password", random.RandomPasswordArgs(length=40, special=False), opts=self.child())
        database = AuroraPostgres(
            self,
            f"{name}-db",
            purpose="the model gateway's keys, budgets and spend",
            settings=args.database,
            identifier=pulumi.Output.from_input(args.cluster_name).apply(lambda cluster: rds_identifier(cluster, "gateway")),
            database_name=DATABASE_NAME,
            master_username=DATABASE_USER,
            master_password=password.result,
            subnet_ids=args.private_subnet_ids,
            vpc_id=args.vpc_id,
            client_security_group_id=args.client_security_group_id,
            region=args.region,
        )
        master_key = random.RandomPassword(f"{name}-master-key", random.RandomPasswordArgs(length=48, special=False), opts=self.child())
        values: dict[str, Any] = {
            MASTER_KEY_ENV: master_key.result.apply(lambda key: f"sk-{key}"),
            DATABASE_URL_ENV: pulumi.Output.all(password.result, database.endpoint).apply(
                lambda values: f"postgresql://{DATABASE_USER}:{values[0]}@{values[1]}:{POSTGRES_PORT}/{DATABASE_NAME}?sslmode=require"
            ),
        }
        for key in args.plan.keys:
            tenant_key = random.RandomPassword(
                f"{name}-key-{key.tenant}", random.RandomPasswordArgs(length=40, special=False), opts=self.child()
            )
            values[key.key_env] = tenant_key.result.apply(lambda value: f"sk-{value}")
            namespace = args.tenant_namespaces.get(key.tenant)
            if namespace is not None:
                # The tenant's pods read their key from their own namespace.
                k8s.core.v1.Secret(
                    f"{name}-key-{key.tenant}-secret",
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=TENANT_KEY_SECRET, namespace=key.tenant),
                    type="Opaque",
                    string_data={"api-key": values[key.key_env], "base-url": self.endpoint},
                    opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[namespace])),
                )
        secret_name = f"{GATEWAY_NAME}-credentials"
        k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=GATEWAY_NAMESPACE),
            type="Opaque",
            string_data=values,
            opts=opts,
        )
        return secret_name

    def _credential_volume(self, args: ModelGatewayArgs, credentials: str) -> k8s.core.v1.VolumeArgs:
        """One directory of files named after the environment variables they fill."""
        sources = [k8s.core.v1.VolumeProjectionArgs(secret=k8s.core.v1.SecretProjectionArgs(name=credentials))]
        sources += [
            k8s.core.v1.VolumeProjectionArgs(
                secret=k8s.core.v1.SecretProjectionArgs(name=ref.secret, items=[k8s.core.v1.KeyToPathArgs(key=ref.key, path=ref.env)])
            )
            for ref in args.provider_keys
        ]
        return k8s.core.v1.VolumeArgs(
            name="credentials", projected=k8s.core.v1.ProjectedVolumeSourceArgs(sources=sources, default_mode=0o400)
        )

    def _bedrock_access(self, name: str, args: ModelGatewayArgs) -> None:
        """Bedrock models are called with the proxy's IAM role (EKS Pod Identity), limited to those models."""
        models = sorted(provider.model.removeprefix("bedrock/") for provider in args.plan.providers if provider.model.startswith("bedrock/"))
        if not models:
            return
        role = pod_identity_role(self, f"{name}-bedrock-role", "Model gateway's calls to Amazon Bedrock")
        aws.iam.RolePolicy(
            f"{name}-bedrock-policy",
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=allow_policy(
                    ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                    [f"arn:aws:bedrock:{args.region}::foundation-model/{model}" for model in models],
                ),
            ),
            opts=self.child(),
        )
        pod_identity_association(
            self, f"{name}-bedrock-identity", role, cluster_name=args.cluster_name, namespace=GATEWAY_NAMESPACE, service_account=GATEWAY_NAME
        )

    # -- the proxy ---------------------------------------------------------------------------------------

    def _pod_spec(self, args: ModelGatewayArgs, credentials: str) -> k8s.core.v1.PodSpecArgs:
        resources = {"cpu": "1", "memory": "2Gi"}
        return k8s.core.v1.PodSpecArgs(
            service_account_name=GATEWAY_NAME,
            automount_service_account_token=False,
            security_context=pod_security_context(uid=LITELLM_UID),
            topology_spread_constraints=[
                k8s.core.v1.TopologySpreadConstraintArgs(
                    max_skew=1, topology_key="topology.kubernetes.io/zone", when_unsatisfiable="ScheduleAnyway",
                    label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/name": GATEWAY_NAME}),
                )
            ],
            containers=[
                k8s.core.v1.ContainerArgs(
                    name="proxy",
                    image=LITELLM_IMAGE,
                    image_pull_policy="Always",
                    command=["/bin/sh", "-c", ENTRYPOINT],
                    env=[
                        # The cost map ships with the image; without this the proxy fetches it from GitHub at start.
                        k8s.core.v1.EnvVarArgs(name="LITELLM_LOCAL_MODEL_COST_MAP", value="True"),
                        k8s.core.v1.EnvVarArgs(name="LITELLM_MIGRATION_DIR", value="/tmp/migrations"),
                        k8s.core.v1.EnvVarArgs(name="OTEL_EXPORTER", value="otlp_grpc"),
                        k8s.core.v1.EnvVarArgs(name="OTEL_ENDPOINT", value=OTLP_ENDPOINT),
                        k8s.core.v1.EnvVarArgs(name="OTEL_SERVICE_NAME", value="model-gateway"),
                    ],
                    ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=GATEWAY_PORT)],
                    startup_probe=k8s.core.v1.ProbeArgs(
                        http_get=k8s.core.v1.HTTPGetActionArgs(path="/health/readiness", port=GATEWAY_PORT), period_seconds=10, failure_threshold=30
                    ),
                    readiness_probe=k8s.core.v1.ProbeArgs(
                        http_get=k8s.core.v1.HTTPGetActionArgs(path="/health/readiness", port=GATEWAY_PORT), period_seconds=10
                    ),
                    liveness_probe=k8s.core.v1.ProbeArgs(
                        http_get=k8s.core.v1.HTTPGetActionArgs(path="/health/liveliness", port=GATEWAY_PORT), period_seconds=15
                    ),
                    resources=k8s.core.v1.ResourceRequirementsArgs(requests=resources, limits=resources),
                    security_context=container_security_context(uid=LITELLM_UID),
                    volume_mounts=[
                        k8s.core.v1.VolumeMountArgs(name="config", mount_path=CONFIG_DIR, read_only=True),
                        k8s.core.v1.VolumeMountArgs(name="credentials", mount_path=CREDENTIALS_DIR, read_only=True),
                        # The writable paths LiteLLM's own chart gives a read-only container.
                        k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                        k8s.core.v1.VolumeMountArgs(name="cache", mount_path="/.cache"),
                        k8s.core.v1.VolumeMountArgs(name="npm", mount_path="/.npm"),
                    ],
                )
            ],
            volumes=[
                k8s.core.v1.VolumeArgs(
                    name="config",
                    config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                        name=f"{GATEWAY_NAME}-config", items=[k8s.core.v1.KeyToPathArgs(key="config.yaml", path="config.yaml")]
                    ),
                ),
                self._credential_volume(args, credentials),
                *(
                    k8s.core.v1.VolumeArgs(name=volume, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Gi"))
                    for volume in ("tmp", "cache", "npm")
                ),
            ],
        )

    def _network_policies(self, name: str, args: ModelGatewayArgs, labels: dict[str, str], opts: pulumi.ResourceOptions) -> None:
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
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=callers, ports=port)],
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

    def _key_job(self, name: str, args: ModelGatewayArgs, credentials: str, deployment, opts: pulumi.ResourceOptions) -> None:
        """Registers every tenant's key, budget and limits through the proxy's admin API. The Job's name holds
        a digest of what it registers, so a changed key plan runs a new Job."""
        if not args.plan.keys:
            return
        digest = hashlib.sha256(self.key_requests.encode()).hexdigest()[:10]
        labels = {"app.kubernetes.io/name": GATEWAY_NAME, "app.kubernetes.io/component": "key-sync"}
        resources = {"cpu": "100m", "memory": "256Mi"}
        k8s.batch.v1.Job(
            f"{name}-key-sync",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{GATEWAY_NAME}-key-sync-{digest}", namespace=GATEWAY_NAMESPACE, labels=labels),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=6,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        restart_policy="OnFailure",
                        service_account_name=GATEWAY_NAME,
                        automount_service_account_token=False,
                        security_context=pod_security_context(uid=LITELLM_UID),
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name="key-sync",
                                image=LITELLM_IMAGE,
                                image_pull_policy="Always",
                                command=["python3", f"{CONFIG_DIR}/sync_keys.py"],
                                env=[
                                    k8s.core.v1.EnvVarArgs(name="GATEWAY_URL", value=self.endpoint),
                                    k8s.core.v1.EnvVarArgs(name="CREDENTIALS_DIR", value=CREDENTIALS_DIR),
                                    k8s.core.v1.EnvVarArgs(name="KEY_REQUESTS", value=f"{CONFIG_DIR}/keys.json"),
                                ],
                                resources=k8s.core.v1.ResourceRequirementsArgs(requests=resources, limits=resources),
                                security_context=container_security_context(uid=LITELLM_UID),
                                volume_mounts=[
                                    k8s.core.v1.VolumeMountArgs(name="config", mount_path=CONFIG_DIR, read_only=True),
                                    k8s.core.v1.VolumeMountArgs(name="credentials", mount_path=CREDENTIALS_DIR, read_only=True),
                                ],
                            )
                        ],
                        volumes=[
                            k8s.core.v1.VolumeArgs(
                                name="config", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=f"{GATEWAY_NAME}-config")
                            ),
                            k8s.core.v1.VolumeArgs(
                                name="credentials",
                                secret=k8s.core.v1.SecretVolumeSourceArgs(secret_name=credentials, default_mode=0o400),
                            ),
                        ],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[deployment])),
        )

    # -- public exposure -------------------------------------------------------------------------------------

    def _public_ingress(self, name: str, args: ModelGatewayArgs, service: k8s.core.v1.Service, opts: pulumi.ResourceOptions) -> None:
        web_acl = self._web_acl(name, args)
        annotations = pulumi.Output.from_input(web_acl.arn).apply(
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

    def _web_acl(self, name: str, args: ModelGatewayArgs) -> aws.wafv2.WebAcl:
        """Default block; allow only the allow-listed networks, after AWS's managed rules and a per-IP rate limit."""
        allowed = aws.wafv2.IpSet(
            f"{name}-allowed-networks",
            aws.wafv2.IpSetArgs(
                scope="REGIONAL", ip_address_version="IPV4", addresses=args.allowed_cidrs,
                description="Networks allowed to call the model gateway",
            ),
            opts=self.child(),
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
            opts=self.child(),
        )
        account_id = aws.get_caller_identity_output().account_id
        # WAF logs only to log groups whose names start with aws-waf-logs-.
        log_group = encrypted_log_group(
            self, f"{name}-waf-logs", log_group_name=f"aws-waf-logs-{name}", retention_days=365, region=args.region,
            account_id=account_id, purpose="the model gateway's WAF logs",
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-waf-logging",
            aws.wafv2.WebAclLoggingConfigurationArgs(resource_arn=web_acl.arn, log_destination_configs=[log_group.arn]),
            opts=self.child(),
        )
        return web_acl
