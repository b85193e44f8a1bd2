"""Shared GPU capacity as queues: the Kueue layout a stack's pools, served models and tenants give.

Every GPU pool is a flavor. Serving is never queued: the GPUs its models take at their incident replicas
are set aside on their pool, and what is left of every shared pool is the cohort's. Each tenant, and the
platform's evaluation queue, draws a nominal share from one pool (its home: the pool it names, its
dedicated pool, or the shared pool with the most GPUs still unpromised), may borrow up to a limit of
what the others leave idle, and lends what it does not use; a dedicated pool is its tenant's alone. The
cohort itself holds the GPUs no queue was given, for queues that may borrow.

Because a queue has one home, the most it can ever be admitted is its nominal share plus its borrowing
limit, and that is the tenant namespace's GPU ResourceQuota: Kueue and the quota agree by construction.

Pure data and arithmetic: no Pulumi. `aiplane.loader` plans a stack's queues; `components.scheduling`
and `components.tenant_boundary` render them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PriorityName = Literal["serving", "interactive", "batch", "training"]


@dataclass(frozen=True)
class PriorityLevel:
    name: PriorityName
    value: int
    preempts: bool  # whether kube-scheduler evicts lower-priority pods to place this one
    purpose: str

    @property
    def class_name(self) -> str:
        return priority_class_name(self.name)


# Highest first. Serving preempts anything below it on a node it needs; batch and training never preempt at
# the scheduler (Kueue orders and preempts them by these values inside the cohort instead).
PRIORITIES: tuple[PriorityLevel, ...] = (
    PriorityLevel("serving", 1_000_000, True, "Model servers and the model gateway: never wait for anything below."),
    PriorityLevel("interactive", 100_000, True, "A person waits on it: notebooks, interactive agents, tenants' online endpoints."),
    PriorityLevel("batch", 10_000, False, "Offline inference, embedding backfills, bulk jobs that tolerate queueing."),
    PriorityLevel("training", 1_000, False, "Training and evaluation: the longest jobs, preempted first."),
)
PRIORITY_NAMES: tuple[PriorityName, ...] = tuple(level.name for level in PRIORITIES)


def priority_class_name(priority: PriorityName) -> str:
    return f"aiplane-{priority}"


def priority_level(priority: PriorityName) -> PriorityLevel:
    return next(level for level in PRIORITIES if level.name == priority)


def priorities_above(ceiling: PriorityName) -> list[PriorityName]:
    """The levels a queue whose highest allowed level is `ceiling` may not use."""
    value = priority_level(ceiling).value
    return [level.name for level in PRIORITIES if level.value > value]


EVALUATION_QUEUE = "evaluation"  # the platform's own queue, and its namespace


def cluster_queue_name(owner: str) -> str:
    return f"{owner}-gpus" if owner != EVALUATION_QUEUE else f"platform-{EVALUATION_QUEUE}"


@dataclass(frozen=True)
class PoolCapacity:
    """What a GPU pool can hold: its GPUs at its maximum size, those its served models set aside, and the
    tenant it is dedicated to, if any."""

    pool: str
    gpus_at_max: int
    serving_gpus: int = 0
    dedicated_to: str | None = None

    @property
    def queueable_gpus(self) -> int:
        return max(0, self.gpus_at_max - self.serving_gpus)


@dataclass(frozen=True)
class QueueDemand:
    """What a tenant's blueprint (or the stack, for evaluation) asks of the queues. `where` names the entry in
    messages (`<file>: aiplane:tenants[1]`)."""

    owner: str  # the tenant, or EVALUATION_QUEUE
    namespace: str
    nominal_gpus: int
    borrowing_limit: int
    lending_limit: int | None  # None: everything it does not use
    priority: PriorityName
    where: str
    pool: str | None = None  # its home; None: the shared pool with the most queueable GPUs


@dataclass(frozen=True)
class QueueLayout:
    """One ClusterQueue (and the LocalQueue that submits to it) as it is rendered."""

    owner: str
    namespace: str
    pool: str
    nominal_gpus: int
    borrowing_limit: int
    lending_limit: int
    priority: PriorityName

    @property
    def cluster_queue(self) -> str:
        return cluster_queue_name(self.owner)

    @property
    def most_gpus(self) -> int:
        """The most GPUs Kueue can ever admit for this queue: the namespace's GPU quota."""
        return self.nominal_gpus + self.borrowing_limit


@dataclass(frozen=True)
class QueuePlan:
    pools: tuple[PoolCapacity, ...] = ()
    queues: tuple[QueueLayout, ...] = ()
    # Per pool, the queueable GPUs no queue was given: the cohort's own quota, borrowable by any member.
    cohort_gpus: dict[str, int] = field(default_factory=dict)

    def queue(self, owner: str) -> QueueLayout | None:
        return next((queue for queue in self.queues if queue.owner == owner), None)

    def pool(self, name: str) -> PoolCapacity:
        return next(pool for pool in self.pools if pool.pool == name)

    def nominal_on(self, pool: str) -> int:
        """Every nominal share on a pool's flavor, the cohort's included."""
        return self.cohort_gpus.get(pool, 0) + sum(queue.nominal_gpus for queue in self.queues if queue.pool == pool)


class QueueError(ValueError):
    def __init__(self, lines: list[str]):
        super().__init__("; ".join(lines))
        self.lines = lines


COHORT = "aiplane-gpus"
# The flavor of queues in a stack without GPU pools: no nodes, no quota, but every namespace still has its queue.
NO_GPU_FLAVOR = "no-gpus"


def home_pool(pools: tuple[PoolCapacity, ...], promised: dict[str, int]) -> str | None:
    """The shared pool with the most GPUs left after serving and the queues already placed on it (the first
    such in stack order)."""
    shared = [pool for pool in pools if pool.dedicated_to is None]
    if not shared:
        return None
    return max(shared, key=lambda pool: pool.queueable_gpus - promised.get(pool.pool, 0)).pool


def plan_queues(pools: list[PoolCapacity], demands: list[QueueDemand]) -> QueuePlan:
    """The layout, or QueueError with one line per demand the pools cannot honour."""
    capacities = tuple(pools)
    by_name = {pool.pool: pool for pool in capacities}
    problems: list[str] = []
    placed: list[tuple[QueueDemand, PoolCapacity]] = []
    promised: dict[str, int] = {}
    for demand in demands:
        name = demand.pool or dedicated_pool_of(capacities, demand.owner) or home_pool(capacities, promised)
        if name is None:
            if demand.nominal_gpus or demand.borrowing_limit:
                problems.append(f"{demand.where}: queue: asks for {demand.nominal_gpus + demand.borrowing_limit} GPUs, but the stack has no GPU pool")
            else:
                placed.append((demand, PoolCapacity(NO_GPU_FLAVOR, 0)))
            continue
        pool = by_name.get(name)
        if pool is None:
            problems.append(f"{demand.where}: queuePool: {name!r} is not a GPU pool of this stack (pools: {', '.join(by_name) or 'none'})")
            continue
        if pool.dedicated_to is not None and pool.dedicated_to != demand.owner:
            problems.append(f"{demand.where}: queuePool: {name!r} is tenant {pool.dedicated_to}'s dedicated pool")
            continue
        if demand.lending_limit is not None and demand.lending_limit > demand.nominal_gpus:
            problems.append(
                f"{demand.where}: queue.lendingLimit: {demand.lending_limit} is above the queue's nominal {demand.nominal_gpus} GPUs"
            )
            continue
        placed.append((demand, pool))
        promised[pool.pool] = promised.get(pool.pool, 0) + demand.nominal_gpus
    for pool in capacities:
        here = [demand for demand, home in placed if home.pool == pool.pool]
        promised = sum(demand.nominal_gpus for demand in here)
        if promised > pool.queueable_gpus:
            owners = ", ".join(f"{demand.owner} {demand.nominal_gpus}" for demand in here)
            problems.append(
                f"{here[-1].where}: queue: the queues on pool {pool.pool!r} promise {promised} GPUs ({owners}), more than it can ever "
                f"hold for them: {pool.gpus_at_max} GPUs at its maximum size, {pool.serving_gpus} set aside for serving"
            )
            continue
        for demand in here:
            lent_by_others = sum(
                other.nominal_gpus if other.lending_limit is None else other.lending_limit for other in here if other is not demand
            )
            lendable = pool.queueable_gpus - promised + lent_by_others
            if pool.dedicated_to is not None:
                lendable = 0
            if demand.borrowing_limit > lendable:
                problems.append(
                    f"{demand.where}: queue.borrowingLimit: {demand.borrowing_limit} GPUs is above what the cohort can ever lend it "
                    f"on pool {pool.pool!r} ({lendable})"
                )
    if problems:
        raise QueueError(problems)
    queues = tuple(
        QueueLayout(
            owner=demand.owner,
            namespace=demand.namespace,
            pool=pool.pool,
            nominal_gpus=demand.nominal_gpus,
            borrowing_limit=demand.borrowing_limit,
            # A dedicated pool lends nothing: the tenant's taint keeps others' pods off it anyway.
            lending_limit=0 if pool.dedicated_to is not None else (demand.nominal_gpus if demand.lending_limit is None else demand.lending_limit),
            priority=demand.priority,
        )
        for demand, pool in placed
    )
    cohort = {
        pool.pool: pool.queueable_gpus - sum(queue.nominal_gpus for queue in queues if queue.pool == pool.pool)
        for pool in capacities
        if pool.dedicated_to is None
    }
    return QueuePlan(pools=capacities, queues=queues, cohort_gpus=cohort)


def dedicated_pool_of(pools: tuple[PoolCapacity, ...], owner: str) -> str | None:
    return next((pool.pool for pool in pools if pool.dedicated_to == owner), None)
