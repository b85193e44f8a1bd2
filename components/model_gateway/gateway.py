"""The `ModelGateway` component: LiteLLM's proxy Deployment, its config, credentials, metering database,
autoscaling and key registration (see the package's docstring for its secure defaults)."""
from __future__ import annotations

import hashlib
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from aiplane.components.base import AiplaneComponent
from aiplane.components.iam import (
    allow_policy,
    pod_identity_association,
    pod_identity_role,
)
from aiplane.components.model_gateway.args import (
    CONFIG_DIR,
    CREDENTIALS_DIR,
    DATABASE_NAME,
    DATABASE_USER,
    ENTRYPOINT,
    GATEWAY_NAME,
    GATEWAY_PORT,
    LITELLM_IMAGE,
    LITELLM_UID,
    METRICS_DIR,
    METRICS_PORT,
    STARTUP_SECONDS,
    TENANT_KEY_SECRET,
    ModelGatewayArgs,
)
from aiplane.components.model_gateway.config import (
    DATABASE_URL_ENV,
    MASTER_KEY_ENV,
    TEMPLATES,
    render_config,
    render_key_requests,
)
from aiplane.components.model_gateway.exposure import network_policies, public_ingress
from aiplane.components.postgres import POSTGRES_PORT, AuroraPostgres, rds_identifier
from aiplane.components.workloads import (
    GATEWAY_NAMESPACE,
    OTLP_ENDPOINT,
    autoscaled,
    cluster_service,
    container_security_context,
    one_at_a_time_budget,
    pod_security_context,
    restricted_namespace,
    service_account,
)
from aiplane.planning.node_profiles import TENANT_LABEL


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
            data={
                "config.yaml": self.config,
                "keys.json": self.key_requests,
                "sync_keys.py": (TEMPLATES / "sync_keys.py").read_text(),
                "serve_metrics.py": (TEMPLATES / "serve_metrics.py").read_text(),
                "max_tokens_cap.py": (TEMPLATES / "max_tokens_cap.py").read_text(),
            },
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
            opts=autoscaled(
                pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[
                    config_map, *args.model_servers, *([args.inference_gateway] if args.inference_gateway else []), *args.scheduling,
                ])),
                STARTUP_SECONDS,
            ),
        )
        service = cluster_service(f"{name}-service", metadata, labels, {"http": GATEWAY_PORT, "metrics": METRICS_PORT}, in_namespace)
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
        network_policies(self, name, args, labels, in_namespace)
        self._key_job(name, args, credentials, deployment, in_namespace)
        if args.exposure == "public":
            public_ingress(self, name, args, service, in_namespace)
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
                # The tenant's pods read their key from their own namespace; the label says it is delivered to
                # the tenant (AIP_TEN_5 refuses platform objects in a tenant's namespace otherwise).
                k8s.core.v1.Secret(
                    f"{name}-key-{key.tenant}-secret",
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=TENANT_KEY_SECRET, namespace=key.tenant, labels={TENANT_LABEL: key.tenant}),
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

    def _metrics_sidecar(self) -> k8s.core.v1.ContainerArgs:
        """Serves the proxy's metrics on their own port (see templates/serve_metrics.py for why)."""
        resources = {"cpu": "100m", "memory": "128Mi"}
        return k8s.core.v1.ContainerArgs(
            name="metrics",
            image=LITELLM_IMAGE,
            image_pull_policy="Always",
            command=["python3", f"{CONFIG_DIR}/serve_metrics.py"],
            env=[
                k8s.core.v1.EnvVarArgs(name="PROMETHEUS_MULTIPROC_DIR", value=METRICS_DIR),
                k8s.core.v1.EnvVarArgs(name="METRICS_PORT", value=str(METRICS_PORT)),
            ],
            ports=[k8s.core.v1.ContainerPortArgs(name="metrics", container_port=METRICS_PORT)],
            readiness_probe=k8s.core.v1.ProbeArgs(http_get=k8s.core.v1.HTTPGetActionArgs(path="/metrics", port=METRICS_PORT), period_seconds=10),
            liveness_probe=k8s.core.v1.ProbeArgs(http_get=k8s.core.v1.HTTPGetActionArgs(path="/metrics", port=METRICS_PORT), period_seconds=30),
            resources=k8s.core.v1.ResourceRequirementsArgs(requests=resources, limits=resources),
            security_context=container_security_context(uid=LITELLM_UID),
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="config", mount_path=CONFIG_DIR, read_only=True),
                k8s.core.v1.VolumeMountArgs(name="metrics", mount_path=METRICS_DIR, read_only=True),
            ],
        )

    def _pod_spec(self, args: ModelGatewayArgs, credentials: str) -> k8s.core.v1.PodSpecArgs:
        resources = {"cpu": "1", "memory": "2Gi"}
        return k8s.core.v1.PodSpecArgs(
            service_account_name=GATEWAY_NAME,
            automount_service_account_token=False,
            priority_class_name=args.priority_class,
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
                        k8s.core.v1.EnvVarArgs(name="PROMETHEUS_MULTIPROC_DIR", value=METRICS_DIR),
                    ],
                    ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=GATEWAY_PORT)],
                    startup_probe=k8s.core.v1.ProbeArgs(
                        http_get=k8s.core.v1.HTTPGetActionArgs(path="/health/readiness", port=GATEWAY_PORT),
                        period_seconds=10,
                        failure_threshold=STARTUP_SECONDS // 10,
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
                        k8s.core.v1.VolumeMountArgs(name="metrics", mount_path=METRICS_DIR),
                    ],
                ),
                self._metrics_sidecar(),
            ],
            volumes=[
                k8s.core.v1.VolumeArgs(
                    name="config",
                    config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                        name=f"{GATEWAY_NAME}-config",
                        items=[k8s.core.v1.KeyToPathArgs(key=key, path=key) for key in ("config.yaml", "max_tokens_cap.py", "serve_metrics.py")],
                    ),
                ),
                self._credential_volume(args, credentials),
                *(
                    k8s.core.v1.VolumeArgs(name=volume, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Gi"))
                    for volume in ("tmp", "cache", "npm", "metrics")
                ),
            ],
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

