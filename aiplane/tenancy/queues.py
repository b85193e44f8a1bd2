"""A stack's queues: its pools' capacity (less what serving sets aside), its tenants' shares from their
blueprints and the platform's evaluation queue, planned by `aiplane.planning.queues`. A stack whose queues
promise more GPUs than its pools can hold is refused here, at load, one line per problem."""
from __future__ import annotations

from aiplane.errors import InputError
from aiplane.planning.compute import ComputePlan
from aiplane.planning.instances import load_instance_catalog
from aiplane.planning.queues import EVALUATION_QUEUE, PoolCapacity, QueueDemand, QueueError, QueuePlan, plan_queues
from aiplane.spec.stack import StackConfig
from aiplane.spec.tenant import Tenant


def pool_capacities(compute_plan: ComputePlan, tenants: list[Tenant]) -> list[PoolCapacity]:
    """Every GPU pool at its maximum size: the stack's, with the GPUs their models take at incident replicas
    set aside, then tenants' dedicated pools."""
    catalog = load_instance_catalog()
    capacities = []
    for pool in compute_plan.pools:
        serving = sum(
            incident.replicas * incident.gpus_per_replica for model in pool.models if (incident := model.scenario("incident"))
        )
        capacities.append(PoolCapacity(pool.pool, pool.max_nodes * pool.gpus_per_node, min(serving, pool.max_nodes * pool.gpus_per_node)))
    for tenant in tenants:
        spec = tenant.pool_spec()
        if spec is not None:
            gpus = catalog.instances[spec.instance_types[0]].gpus
            capacities.append(PoolCapacity(spec.name, spec.nodes.max * gpus, dedicated_to=tenant.name))
    return capacities


def planned_queues(config: StackConfig, compute_plan: ComputePlan, tenants: list[Tenant], source: str) -> QueuePlan:
    evaluation = config.platform.scheduling.evaluation
    demands = [
        QueueDemand(
            owner=EVALUATION_QUEUE, namespace=EVALUATION_QUEUE, nominal_gpus=evaluation.gpus, borrowing_limit=evaluation.borrowing_limit,
            lending_limit=None, priority="training", where=f"{source}: aiplane:platform.scheduling.evaluation", pool=evaluation.pool,
        )
    ]
    entries = {entry.name: (index, entry) for index, entry in enumerate(config.tenants)}
    for tenant in tenants:
        index, entry = entries[tenant.name]
        queue = tenant.plan.queue
        demands.append(
            QueueDemand(
                owner=tenant.name, namespace=tenant.namespace, nominal_gpus=tenant.plan.quota.gpus, borrowing_limit=queue.borrowing_limit,
                lending_limit=queue.lending_limit, priority=queue.priority, where=f"{source}: aiplane:tenants[{index}] ({tenant.name})",
                pool=entry.queue_pool,
            )
        )
    try:
        return plan_queues(pool_capacities(compute_plan, tenants), demands)
    except QueueError as error:
        raise InputError(error.lines) from None
