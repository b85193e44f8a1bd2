"""What the scheduling plane is given, from a loaded stack: each pool's GPU product and (under DRA) its
DeviceClass, the ResourceQuota key a queue's namespace is capped by, and a tenant's queue and example work.
`aiplane.platform` passes them to `components.scheduling` and `components.tenant_boundary`."""
from __future__ import annotations

from aiplane.components.scheduling import Scheduling, device_class_name, resource_quota_key
from aiplane.components.tenant_boundary import WORKLOAD_SERVICE_ACCOUNT, TenantQueueArgs
from aiplane.components.tenant_work import ExampleWorkArgs
from aiplane.planning.instances import load_instance_catalog
from aiplane.planning.queues import QueueLayout, priority_level
from aiplane.spec import GpuPoolSpec, StackSpec
from aiplane.spec.tenant import Tenant


def queue_quota_key(spec: StackSpec, layout: QueueLayout | None) -> str:
    """The ResourceQuota key that caps a queue's namespace: by its home pool's product under DRA."""
    home = all_pools(spec).get(layout.pool) if layout else None
    if home is None:
        return resource_quota_key("device-plugin", "")
    return resource_quota_key(spec.platform.scheduling.gpu_allocation, pool_gpu_product(home))


def pool_gpu_product(pool: GpuPoolSpec) -> str:
    """The GPU product a pool's nodes carry (its first instance type's; a spot mix shares one GPU count)."""
    return load_instance_catalog().instances[pool.instance_types[0]].gpu_product


def all_pools(spec: StackSpec) -> dict[str, GpuPoolSpec]:
    """The stack's GPU pools and its tenants' dedicated ones, by name."""
    pools = {pool.name: pool for pool in spec.platform.compute.pools}
    return pools | {pool.name: pool for tenant in spec.tenants if (pool := tenant.pool_spec()) is not None}


def pool_device_class(spec: StackSpec, pool: GpuPoolSpec) -> str | None:
    """Under DRA, the DeviceClass a pool's GPUs are claimed through; None under the device plugin."""
    return device_class_name(pool_gpu_product(pool)) if spec.platform.scheduling.gpu_allocation == "dra" else None


def device_classes(spec: StackSpec) -> dict[str, str]:
    """Under DRA, each pool's DeviceClass; {} under the device plugin."""
    return {name: device_class for name, pool in all_pools(spec).items() if (device_class := pool_device_class(spec, pool))}


def tenant_queue(spec: StackSpec, tenant: Tenant, scheduling: Scheduling | None) -> TenantQueueArgs | None:
    layout = spec.queue_plan.queue(tenant.name)
    if scheduling is None or layout is None:
        return None
    home = all_pools(spec).get(layout.pool)
    return TenantQueueArgs(
        layout=layout,
        gpu_resource=scheduling.gpu_resource,
        quota_key=queue_quota_key(spec, layout),
        ceiling=tenant.plan.queue.priority,
        scheduling=scheduling.ready,
        example_work=tenant_example_work(spec, tenant, layout, home),
    )


def tenant_example_work(spec: StackSpec, tenant: Tenant, layout: QueueLayout, home: GpuPoolSpec | None) -> ExampleWorkArgs | None:
    """The blueprint's example, sized to the tenant's queue: one GPU for the batch Job; for the JobSet, every GPU
    and EFA interface of each node of the pool. None where the queue could never admit it."""
    kind = tenant.plan.example_work
    if kind is None or home is None:
        return None
    instance = load_instance_catalog().instances[home.instance_types[0]]
    default = "batch" if kind == "batch-job" else "training"
    ceiling = tenant.plan.queue.priority
    priority = default if priority_level(default).value <= priority_level(ceiling).value else ceiling
    pods, gpus = (1, 1) if kind == "batch-job" else ((home.nodes.max if home.nodes else 1), instance.gpus)
    if pods * gpus > layout.most_gpus:
        return None
    return ExampleWorkArgs(
        kind=kind, tenant=tenant.name, service_account=WORKLOAD_SERVICE_ACCOUNT, priority=priority, gpus_per_pod=gpus, pods=pods,
        efa_interfaces=instance.max_efa_interfaces if kind == "training-jobset" and home.wants_efa else 0,
        device_class=pool_device_class(spec, home),
    )
