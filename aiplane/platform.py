"""Composition: one stack spec in, the platform's components out. `__main__.py` calls `compose`."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from aiplane.components.base import StackSection, configured_by
from aiplane.components.cluster import Cluster, ClusterArgs, NodeGroupSizing
from aiplane.components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from aiplane.components.gpu_software import GpuSoftware, GpuSoftwareArgs
from aiplane.components.model_gateway import (
    ModelGateway,
    ModelGatewayArgs,
    SecretKeyRef,
)
from aiplane.components.model_gateway.config import (
    GatewayPlan,
    ProviderModel,
    VirtualKey,
    env_name,
)
from aiplane.components.model_server import server_endpoint
from aiplane.components.model_serving import (
    ModelServing,
    ModelServingArgs,
    ServedModelPlan,
)
from aiplane.components.network import Network, NetworkArgs
from aiplane.components.object_storage import (
    BucketPlan,
    ExpressOneZone,
    Lustre,
    ObjectStorage,
    ObjectStorageArgs,
    TenantStorage,
)
from aiplane.components.observability import (
    Observability,
    ObservabilityArgs,
    PoolDashboard,
)
from aiplane.components.protection import protection_transformation
from aiplane.components.scheduling import (
    FlavorArgs,
    Scheduling,
    SchedulingArgs,
)
from aiplane.components.tagging import cost_tag_transformation
from aiplane.components.tenant_boundary import (
    TenantBoundary,
    TenantBoundaryArgs,
    TenantQuotaArgs,
)
from aiplane.components.vector_db import VectorDb, VectorDbArgs
from aiplane.components.workloads import PROMETHEUS_URL
from aiplane.cost import served_token_prices
from aiplane.errors import InputError, format_path
from aiplane.planning.instances import load_instance_catalog
from aiplane.planning.node_profiles import NODE_PROFILES
from aiplane.planning.queues import EVALUATION_QUEUE, priority_class_name
from aiplane.planning.routing import Degradation, build_table
from aiplane.planning.tiering import PURPOSES
from aiplane.queueing import device_classes, pool_gpu_product, queue_quota_key, tenant_queue
from aiplane.spec import GpuPoolSpec, StackSpec
from aiplane.spec.serving import KeyLimits
from aiplane.tenancy.estimate import tenant_monthly_estimate

# The stack file's sections, as paths from its `config`: what each component records it is configured by.
PLATFORM: StackSection = ("aiplane:platform",)
POOLS: StackSection = (*PLATFORM, "compute", "pools")
MODELS: StackSection = (*PLATFORM, "compute", "models")
TENANTS: StackSection = ("aiplane:tenants",)


@dataclass(frozen=True)
class Platform:
    network: Network
    cluster: Cluster
    gpu_pools: dict[str, GpuNodePool]
    gpu_software: GpuSoftware | None
    storage: ObjectStorage
    vector_databases: dict[str, VectorDb]
    model_serving: ModelServing | None
    gateway: ModelGateway | None
    tenants: dict[str, TenantBoundary]
    scheduling: Scheduling | None


def refuse_config_outside_the_file(spec: StackSpec) -> None:
    """aiplane reads the stack file itself (offline and in `pulumi up` alike); an `aiplane:` key the engine
    holds and the file does not came from elsewhere (an ESC environment, Pulumi.yaml's config, Pulumi Cloud)
    and would be silently ignored: refuse it instead."""
    from pulumi.runtime.config import CONFIG, get_config_env

    outside = sorted(key for key in {*CONFIG.get(), *get_config_env()} if key.startswith("aiplane:") and key not in spec.written_keys)
    if outside:
        raise InputError([
            f"{spec.source}: {key}: the Pulumi engine holds this key and the stack file does not (from an ESC environment, "
            "Pulumi.yaml or Pulumi Cloud); aiplane reads the stack file alone: write it there" for key in outside
        ])


def refuse_unbought_capacity_blocks(spec: StackSpec) -> None:
    """A capacity-block pool launches only into its block: until one is bought there is nothing to deploy."""
    problems = [
        f"{spec.source}: {format_path(pool.section)}.capacityReservationId: pool {pool.spec.name!r} buys capacity-block but names no "
        f"reservation; find a block with `aiplane capacity offers --stack {spec.environment} --pool {pool.spec.name}` and buy it "
        "with `aiplane capacity reserve`"
        for pool in pools_to_build(spec)
        if "capacity-block" in pool.spec.effective_capacity_types and not pool.spec.capacity_reservation_id
    ]
    if problems:
        raise InputError(problems)


def compose(spec: StackSpec) -> Platform:
    refuse_config_outside_the_file(spec)
    refuse_unbought_capacity_blocks(spec)
    platform = spec.platform
    pulumi.runtime.register_stack_transformation(
        cost_tag_transformation(spec.environment, platform.cost_center, platform.tags)
    )
    if platform.protect_stateful_resources:
        pulumi.runtime.register_stack_transformation(protection_transformation())
    network = build_network(spec)
    cluster = build_cluster(spec, network)
    sized_pools = pools_to_build(spec)
    gpu_software = build_gpu_software(spec, [pool.spec for pool in sized_pools], cluster)
    gpu_pools = build_gpu_pools(spec, sized_pools, network, cluster, gpu_software)
    scheduling = build_scheduling(spec, sized_pools, cluster, gpu_software)
    storage = build_storage(spec, network, cluster)
    vector_databases = build_vector_databases(spec, network, cluster)
    tenants = build_tenants(spec, network, cluster, storage, scheduling)
    model_serving = build_model_serving(spec, cluster, storage, gpu_pools, scheduling)
    gateway = build_gateway(spec, network, cluster, model_serving, tenants, scheduling)
    build_observability(spec, cluster, gpu_software)
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("clusterEndpoint", cluster.endpoint)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("gpuPools", {name: pool.labels for name, pool in gpu_pools.items()})
    pulumi.export("buckets", storage.bucket_names)
    pulumi.export("tenants", {name: {"namespace": name, "workloadRoleArn": boundary.workload_role_arn} for name, boundary in tenants.items()})
    pulumi.export("vectorDatabases", {name: {"endpoint": db.endpoint, db.access.kind: db.access.reference} for name, db in vector_databases.items()})
    return Platform(
        network=network, cluster=cluster, gpu_pools=gpu_pools, gpu_software=gpu_software, storage=storage,
        vector_databases=vector_databases, model_serving=model_serving, gateway=gateway, tenants=tenants, scheduling=scheduling,
    )


@configured_by((*PLATFORM, "network"))
def build_network(spec: StackSpec) -> Network:
    platform = spec.platform
    return Network(
        "network",
        NetworkArgs(
            region=spec.region,
            cidr=platform.network.cidr,
            zones=spec.zones,
            nat_gateways=platform.network.nat_gateways,
            subnet_prefixes=platform.network.subnet_prefixes,
            interface_endpoints=platform.network.interface_endpoints,
            flow_log_retention_days=platform.network.flow_logs.retention_days,
            cluster_name=spec.cluster_name,
        ),
    )


@configured_by((*PLATFORM, "cluster"))
def build_cluster(spec: StackSpec, network: Network) -> Cluster:
    cluster_spec = spec.platform.cluster
    return Cluster(
        "cluster",
        ClusterArgs(
            cluster_name=spec.cluster_name,
            version=cluster_spec.version,
            region=spec.region,
            private_subnet_ids=network.private_subnet_ids,
            endpoint_access=cluster_spec.endpoint_access,
            public_access_cidrs=cluster_spec.public_access_cidrs,
            log_retention_days=cluster_spec.log_retention_days,
            admin_principal_arns=cluster_spec.admin_principal_arns,
            system_nodes=NodeGroupSizing.model_validate(cluster_spec.system_nodes.model_dump()),
            addons=cluster_spec.addons,
        ),
    )


@configured_by(POOLS)
def build_gpu_software(spec: StackSpec, pools: list[GpuPoolSpec], cluster: Cluster) -> GpuSoftware | None:
    if not pools:
        return None
    return GpuSoftware(
        "gpu-software",
        GpuSoftwareArgs(
            cluster_name=cluster.cluster_name,
            cluster_endpoint=cluster.endpoint,
            region=spec.region,
            kubernetes_provider=cluster.provider,
            efa=any(pool.wants_efa for pool in pools),
            device_plugin=spec.platform.scheduling.gpu_allocation == "device-plugin",
            karpenter_role_path=karpenter_role_path(spec) if any(pool.mode == "karpenter" for pool in pools) else None,
        ),
    )


@configured_by((*PLATFORM, "scheduling"))
def build_scheduling(spec: StackSpec, sized_pools: list[PoolToBuild], cluster: Cluster, gpu_software: GpuSoftware | None) -> Scheduling | None:
    """Kueue, JobSet, the priority classes and (under DRA) the driver, wherever there is GPU work to order."""
    if not sized_pools and not spec.tenants:
        return None
    return Scheduling(
        "scheduling",
        SchedulingArgs(
            plan=spec.queue_plan,
            flavors=[FlavorArgs(pool=pool.spec.name, gpu_product=pool_gpu_product(pool.spec), tenant=pool.tenant) for pool in sized_pools],
            gpu_allocation=spec.platform.scheduling.gpu_allocation,
            kubernetes_provider=cluster.provider,
            depends_on=[gpu_software] if gpu_software else [],
            evaluation_quota_key=queue_quota_key(spec, spec.queue_plan.queue(EVALUATION_QUEUE)),
        ),
    )


@configured_by((*PLATFORM, "observability"))
def build_observability(spec: StackSpec, cluster: Cluster, gpu_software: GpuSoftware | None) -> Observability:
    observability = spec.platform.observability
    return Observability(
        "observability",
        ObservabilityArgs(
            cluster_name=cluster.cluster_name,
            region=spec.region,
            kubernetes_provider=cluster.provider,
            storage_class=cluster.storage_class,
            metrics_retention_days=observability.metrics.retention_days,
            metrics_storage_gib=observability.metrics.storage_gib,
            log_retention_days=observability.logs.retention_days,
            traces_exporter=observability.traces.exporter,
            otlp_endpoint=observability.traces.otlp_endpoint,
            # The GPU software installs the Prometheus Operator's CRDs first; without GPU pools, this chart does.
            install_crds=gpu_software is None,
            dashboards=[PoolDashboard(name=dashboard.name, pools=dashboard.pools) for dashboard in observability.dashboards],
            availability_slo=observability.slo.availability,
            p95_latency_seconds=observability.slo.p95_latency_seconds,
            cold_start_budgets={
                model.model: model.cold_start.alert_seconds for pool in spec.compute_plan.pools for model in pool.models if model.cold_start
            },
            depends_on=[gpu_software] if gpu_software else [],
        ),
    )


def gateway_plan(spec: StackSpec) -> GatewayPlan:
    """The gateway's routing and keys, from the stack: what `components.model_gateway` renders."""
    gateway = spec.platform.serving.gateway
    tiers = {
        tier: Degradation(model=settings.degrade.model, max_tokens=settings.degrade.max_tokens, tools=settings.degrade.tools)
        if settings.degrade else None
        for tier, settings in gateway.tiers.items()
    }
    return GatewayPlan(
        routing=build_table(spec.platform.gateway_routes, gateway.fallbacks, tiers),
        served={plan.model: server_endpoint(plan.model, plan.pooled) for plan in served_model_plans(spec)},
        served_usd_per_token=served_token_prices(spec),
        providers=[
            ProviderModel(
                name=provider.name,
                model=provider.model,
                api_key_env=env_name("PROVIDER_KEY", provider.name) if provider.api_key else None,
                api_base=provider.api_base,
            )
            for provider in gateway.providers
        ],
        default_tier="standard" if "standard" in gateway.tiers else next(iter(gateway.tiers)),
        routing_strategy=gateway.routing_strategy,
        timeout_seconds=gateway.timeout_seconds,
        retries=gateway.retries,
        keys=[
            VirtualKey(
                tenant=tenant, tier=key.tier, budget_usd=key.budget_usd, budget_duration=key.budget_duration,
                rpm=key.rpm, tpm=key.tpm, key_env=env_name("TENANT_KEY", tenant),
            )
            for tenant, key in gateway_keys(spec)
        ],
    )


def gateway_keys(spec: StackSpec) -> list[tuple[str, KeyLimits]]:
    """Keys the stack lists, then those its tenants' blueprints give them."""
    keys: list[tuple[str, KeyLimits]] = [(key.tenant, key) for key in spec.platform.serving.gateway.keys]
    keys += [(tenant.name, tenant.plan.gateway) for tenant in spec.tenants if tenant.plan.gateway is not None]
    return keys


@configured_by((*PLATFORM, "serving", "gateway"))
def build_gateway(
    spec: StackSpec, network: Network, cluster: Cluster, model_serving: ModelServing | None, tenants: dict[str, TenantBoundary],
    scheduling: Scheduling | None,
) -> ModelGateway | None:
    gateway = spec.platform.serving.gateway
    if gateway is None:
        return None
    return ModelGateway(
        "gateway",
        ModelGatewayArgs(
            plan=gateway_plan(spec),
            provider_keys=[
                SecretKeyRef(secret=provider.api_key.secret, key=provider.api_key.key, env=env_name("PROVIDER_KEY", provider.name))
                for provider in gateway.providers
                if provider.api_key
            ],
            min_replicas=gateway.replicas.min,
            max_replicas=gateway.replicas.max,
            exposure=gateway.exposure,
            allowed_cidrs=gateway.allowed_cidrs,
            certificate_arn=gateway.certificate_arn,
            database=gateway.database,
            cluster_name=cluster.cluster_name,
            region=spec.region,
            kubernetes_provider=cluster.provider,
            vpc_id=network.vpc_id,
            vpc_cidr=spec.platform.network.cidr,
            private_subnet_ids=network.private_subnet_ids,
            client_security_group_id=cluster.cluster_security_group_id,
            model_servers=list(model_serving.servers.values()) if model_serving else [],
            inference_gateway=model_serving.inference_gateway if model_serving else None,
            tenant_namespaces={name: boundary.namespace for name, boundary in tenants.items()},
            priority_class=priority_class_name("serving") if scheduling else None,
            scheduling=scheduling.ready if scheduling else [],
        ),
    )


def served_model_plans(spec: StackSpec) -> list[ServedModelPlan]:
    """Each served model's server, sized by the capacity plan: TP from the peak scenario, the largest batch
    any scenario plans, replicas from nominal (the floor) to incident (the ceiling)."""
    catalog = load_instance_catalog()
    plan = spec.compute_plan
    plans = []
    for index, model in enumerate(spec.platform.compute.models):
        pool_plan = plan.pool(model.pool)
        model_plan = pool_plan.model(model.name)
        peak = model_plan.scenario("peak")
        instance = catalog.instances[model_plan.instance_type]
        plans.append(
            ServedModelPlan(
                model=model.name,
                pool=model.pool,
                tensor_parallel=peak.tensor_parallel,
                pipeline_parallel=peak.pipeline_parallel,
                efa_interfaces=instance.max_efa_interfaces if peak.pipeline_parallel > 1 else 0,
                zone=spec.platform.pool_zone(model.pool, spec.zones) if peak.pipeline_parallel > 1 else None,
                # More than one replica to choose from, and a model gateway to send them requests.
                pooled=model_plan.scenario("incident").replicas > 1 and spec.platform.serving.gateway is not None,
                max_num_seqs=max(scenario.batch_per_replica for scenario in model_plan.scenarios),
                startup_seconds=model_plan.cold_start.startup_probe_seconds,
                before_start_seconds=model_plan.cold_start.before_start_seconds,
                max_model_len=model.context_tokens,
                replicas=model_plan.scenario("nominal").replicas,
                max_replicas=model_plan.scenario("incident").replicas,
                cpu_per_gpu=instance.vcpus / instance.gpus,
                memory_gib_per_gpu=instance.memory_gib / instance.gpus,
                weights_prefix=model.weights_prefix or f"{model.name}/",
                stack_section=(*MODELS, index),
            )
        )
    return plans


@configured_by(MODELS)
def build_model_serving(
    spec: StackSpec, cluster: Cluster, storage: ObjectStorage, gpu_pools: dict[str, GpuNodePool], scheduling: Scheduling | None
) -> ModelServing | None:
    models = served_model_plans(spec)
    if not models:
        return None
    return ModelServing(
        "serving",
        ModelServingArgs(
            models=models,
            region=spec.region,
            cluster_name=cluster.cluster_name,
            kubernetes_provider=cluster.provider,
            weights_bucket=storage.bucket_names["models"],
            weights_key_arn=storage.kms_key_arn,
            prometheus_url=PROMETHEUS_URL,
            pool_nodes=gpu_pools,
            priority_class=priority_class_name("serving"),
            device_classes=device_classes(spec),
            scheduling=scheduling.ready if scheduling else [],
        ),
    )


def build_vector_databases(spec: StackSpec, network: Network, cluster: Cluster) -> dict[str, VectorDb]:
    databases = {}
    for index, database in enumerate(spec.platform.vector_databases):
        zones = getattr(database, "availability_zones", None) or spec.zones
        with configured_by((*PLATFORM, "vectorDatabases", index)):
            databases[database.name] = VectorDb(
                f"vector-{database.name}",
                VectorDbArgs(
                    engine=database,  # the spec's engine models extend the component's
                    cluster_name=cluster.cluster_name,
                    region=spec.region,
                    kubernetes_provider=cluster.provider,
                    storage_class=cluster.storage_class,
                    vpc_id=network.vpc_id,
                    private_subnet_ids=[network.private_subnet_ids_by_zone[zone] for zone in zones],
                    client_security_group_id=cluster.cluster_security_group_id,
                ),
            )
    return databases


@configured_by((*PLATFORM, "storage"))
def build_storage(spec: StackSpec, network: Network, cluster: Cluster) -> ObjectStorage:
    storage = spec.platform.storage
    buckets = []
    for purpose in PURPOSES:
        bucket = getattr(storage.buckets, purpose)
        buckets.append(
            BucketPlan(
                purpose=purpose, tiering=bucket.tiering(purpose), versioned=bucket.versioning, object_lock=bucket.object_lock, name=bucket.name
            )
        )
    express = lustre = None
    if storage.express_one_zone:
        express = ExpressOneZone(
            availability_zone=spec.platform.pool_zone(storage.express_one_zone.pool, spec.zones),
            expire_after_days=storage.express_one_zone.expire_after_days,
        )
    if storage.lustre:
        zone = spec.platform.pool_zone(storage.lustre.pool, spec.zones)
        lustre = Lustre(
            subnet_id=network.private_subnet_ids_by_zone[zone],
            client_security_group_id=cluster.cluster_security_group_id,
            storage_capacity_gib=storage.lustre.storage_capacity_gib,
            throughput_per_tib=storage.lustre.throughput_per_tib,
        )
    tenants = [
        TenantStorage(
            name=tenant.name, isolation=tenant.plan.storage, own_key=tenant.plan.encryption == "own-key",
            stack_section=(*TENANTS, index),
        )
        for index, tenant in enumerate(spec.tenants)
    ]
    return ObjectStorage(
        "storage",
        ObjectStorageArgs(buckets=buckets, vpc_id=network.vpc_id, tenants=tenants, express_one_zone=express, lustre=lustre),
    )


def build_tenants(
    spec: StackSpec, network: Network, cluster: Cluster, storage: ObjectStorage, scheduling: Scheduling | None
) -> dict[str, TenantBoundary]:
    boundaries = {}
    for index, tenant in enumerate(spec.tenants):
        plan = tenant.plan
        with configured_by((*TENANTS, index)):
            boundaries[tenant.name] = TenantBoundary(
                f"tenant-{tenant.name}",
                TenantBoundaryArgs(
                    tenant=tenant.name,
                    quota=TenantQuotaArgs.model_validate(plan.quota.model_dump()),
                    storage=storage.tenant_locations[tenant.name],
                    vector_database=plan.vector_database,
                    cluster_name=cluster.cluster_name,
                    region=spec.region,
                    kubernetes_provider=cluster.provider,
                    storage_class=cluster.storage_class,
                    vpc_id=network.vpc_id,
                    private_subnet_ids=network.private_subnet_ids,
                    client_security_group_id=cluster.cluster_security_group_id,
                    monthly_budget_usd=plan.monthly_budget_usd,
                    monthly_estimate_usd=tenant_monthly_estimate(spec, tenant),
                    queue=tenant_queue(spec, tenant, scheduling),
                ),
            )
    return boundaries


def karpenter_role_path(spec: StackSpec) -> str:
    """The IAM path of the cluster's Karpenter node roles: the only roles its controller may pass."""
    return f"/aiplane/{spec.cluster_name}/karpenter/"


@dataclass(frozen=True)
class PoolToBuild:
    spec: GpuPoolSpec
    min_nodes: int
    desired_nodes: int
    max_nodes: int
    section: StackSection
    tenant: str | None = None


def pools_to_build(spec: StackSpec) -> list[PoolToBuild]:
    """The stack's pools, sized by the capacity plan that validated the stack file, then tenants' dedicated
    pools, sized by their blueprints."""
    plan = spec.compute_plan
    pools = []
    for index, pool in enumerate(spec.platform.compute.pools):
        sizes = plan.pool(pool.name)
        pools.append(PoolToBuild(pool, sizes.min_nodes, sizes.desired_nodes, sizes.max_nodes, section=(*POOLS, index)))
    for index, tenant in enumerate(spec.tenants):
        pool = tenant.pool_spec()
        if pool is not None:
            pools.append(
                PoolToBuild(pool, pool.nodes.min, pool.nodes.desired, pool.nodes.max, section=(*TENANTS, index), tenant=tenant.name)
            )
    return pools


def build_gpu_pools(
    spec: StackSpec, sized_pools: list[PoolToBuild], network: Network, cluster: Cluster, software: GpuSoftware | None
) -> dict[str, GpuNodePool]:
    """One component per pool of `pools_to_build`."""
    catalog = load_instance_catalog()
    pools = {}
    for sizes in sized_pools:
        pool = sizes.spec
        profile = NODE_PROFILES[pool.profile]
        karpenter = pool.mode == "karpenter"
        zones = pool.availability_zones or spec.zones
        if profile.multi_node or pool.wants_efa:
            zones = zones[:1]  # one placement group, one zone
        with configured_by(sizes.section):
            pools[pool.name] = GpuNodePool(
                f"gpu-{pool.name}",
                GpuNodePoolArgs(
                    cluster_name=cluster.cluster_name,
                    cluster_security_group_id=cluster.cluster_security_group_id,
                    vpc_id=network.vpc_id,
                    pool_name=pool.name,
                    subnet_ids=[network.private_subnet_ids_by_zone[zone] for zone in zones],
                    profile=pool.profile,
                    instances=[catalog.instances[name] for name in pool.instance_types],
                    mode=pool.mode,
                    capacity_types=pool.effective_capacity_types,
                    capacity_reservation_id=pool.capacity_reservation_id,
                    efa=pool.wants_efa,
                    placement_group=pool.wants_placement_group,
                    min_size=sizes.min_nodes,
                    desired_size=sizes.desired_nodes,
                    max_size=sizes.max_nodes,
                    disk_size_gib=pool.disk_size_gib or profile.disk_gib,
                    max_unavailable_percentage=profile.max_unavailable_percentage,
                    kubernetes_provider=cluster.provider if karpenter else None,
                    karpenter_controller=software.karpenter_release if karpenter else None,
                    karpenter_role_path=karpenter_role_path(spec) if karpenter else None,
                    tenant=sizes.tenant,
                ),
            )
    return pools
