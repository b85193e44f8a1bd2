"""The queue layout: properties for any pools and shares, and prod's layout worked by hand."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiplane.planning.queues import (
    EVALUATION_QUEUE,
    NO_GPU_FLAVOR,
    PoolCapacity,
    QueueDemand,
    QueueError,
    plan_queues,
    priorities_above,
)


@st.composite
def pools_and_demands(draw):
    count = draw(st.integers(1, 4))
    pools = []
    for index in range(count):
        gpus = draw(st.integers(0, 64))
        pools.append(PoolCapacity(f"pool-{index}", gpus, draw(st.integers(0, gpus)), f"tenant-{index}" if draw(st.booleans()) else None))
    demands = []
    for index in range(draw(st.integers(1, 5))):
        nominal = draw(st.integers(0, 24))
        demands.append(QueueDemand(
            owner=f"tenant-{index}", namespace=f"tenant-{index}", nominal_gpus=nominal, borrowing_limit=draw(st.integers(0, 24)),
            lending_limit=draw(st.none() | st.integers(0, nominal)), priority=draw(st.sampled_from(["interactive", "batch", "training"])),
            where=f"stack: aiplane:tenants[{index}]", pool=draw(st.none() | st.sampled_from([pool.pool for pool in pools])),
        ))
    return pools, demands


@settings(max_examples=300, deadline=None)
@given(pools_and_demands())
def test_a_layout_never_promises_more_than_the_pools_hold_and_quota_is_nominal_plus_borrowing(case):
    pools, demands = case
    try:
        plan = plan_queues(pools, demands)
    except QueueError as error:
        assert error.lines and all(any(line.startswith(d.where + ":") for d in demands) for line in error.lines)
        return
    for pool in pools:
        assert plan.nominal_on(pool.pool) <= pool.gpus_at_max
        if pool.dedicated_to is None:
            assert plan.nominal_on(pool.pool) == pool.queueable_gpus  # the cohort holds what no queue was given
    assert sum(plan.nominal_on(pool.pool) for pool in pools) <= sum(pool.gpus_at_max for pool in pools)
    assert len(plan.queues) == len(demands)
    for queue, demand in zip(plan.queues, demands, strict=True):
        assert queue.most_gpus == demand.nominal_gpus + demand.borrowing_limit
        assert 0 <= queue.lending_limit <= queue.nominal_gpus
        home = plan.pool(queue.pool)
        if home.dedicated_to is not None:
            assert home.dedicated_to == queue.owner and queue.lending_limit == 0 and queue.borrowing_limit == 0
        else:
            # What it may borrow is there to lend: the cohort's own, plus what the others on its pool lend.
            others = sum(other.lending_limit for other in plan.queues if other.pool == queue.pool and other is not queue)
            assert queue.borrowing_limit <= plan.cohort_gpus[queue.pool] + others


@settings(max_examples=200, deadline=None)
@given(pools_and_demands())
def test_shares_that_fit_without_borrowing_are_always_laid_out(case):
    pools, demands = case
    shared = [pool for pool in pools if pool.dedicated_to is None] or [PoolCapacity("shared", 64)]
    pools = [*pools, *([] if shared[0] in pools else shared)]
    home = shared[0]
    room = home.queueable_gpus
    fitting = []
    for demand in demands:
        share = min(demand.nominal_gpus, room)
        room -= share
        fitting.append(QueueDemand(
            owner=demand.owner, namespace=demand.namespace, nominal_gpus=share, borrowing_limit=0, lending_limit=None,
            priority=demand.priority, where=demand.where, pool=home.pool,
        ))
    plan = plan_queues(pools, fitting)
    assert [queue.nominal_gpus for queue in plan.queues] == [demand.nominal_gpus for demand in fitting]


PROD_POOLS = [
    PoolCapacity("chat", 32, 24), PoolCapacity("embed", 8), PoolCapacity("train", 32), PoolCapacity("frontier", 32, 16),
    PoolCapacity("t-research", 16, dedicated_to="research"),
]


def demand(owner, nominal, borrowing=0, pool=None, lending=None):
    return QueueDemand(owner, owner, nominal, borrowing, lending, "batch", f"Pulumi.prod.yaml: {owner}", pool)


def test_prod_worked_by_hand():
    """Serving keeps 24 of chat's 32 GPUs (70B: 5 x TP4, 8B: 2 x TP2 at incident) and 16 of frontier's (one 405B
    replica of 16); the training pool is all queueable, so it is the default home; research's pool is its own."""
    plan = plan_queues(PROD_POOLS, [
        demand(EVALUATION_QUEUE, 8, 8, pool="train"), demand("support", 0), demand("analytics", 4, 2), demand("research", 16),
    ])
    layout = {queue.owner: (queue.pool, queue.nominal_gpus, queue.borrowing_limit, queue.lending_limit) for queue in plan.queues}
    assert layout == {
        EVALUATION_QUEUE: ("train", 8, 8, 8), "support": ("train", 0, 0, 0), "analytics": ("train", 4, 2, 4),
        "research": ("t-research", 16, 0, 0),
    }
    assert plan.cohort_gpus == {"chat": 8, "embed": 8, "train": 20, "frontier": 16}


def test_what_the_pools_cannot_hold_is_refused_one_line_each():
    with pytest.raises(QueueError) as refused:
        plan_queues(PROD_POOLS, [demand("analytics", 20, pool="chat"), demand("batchy", 4, 40, pool="embed")])
    assert refused.value.lines == [
        "Pulumi.prod.yaml: analytics: queue: the queues on pool 'chat' promise 20 GPUs (analytics 20), more than it can ever hold for "
        "them: 32 GPUs at its maximum size, 24 set aside for serving",
        "Pulumi.prod.yaml: batchy: queue.borrowingLimit: 40 GPUs is above what the cohort can ever lend it on pool 'embed' (4)",
    ]
    with pytest.raises(QueueError, match="is tenant research's dedicated pool"):
        plan_queues(PROD_POOLS, [demand("analytics", 1, pool="t-research")])
    with pytest.raises(QueueError, match="lendingLimit: 5 is above the queue's nominal 4 GPUs"):
        plan_queues(PROD_POOLS, [demand("analytics", 4, lending=5)])


def test_a_stack_without_gpu_pools_still_gives_every_namespace_a_queue():
    plan = plan_queues([], [demand("support", 0)])
    assert [queue.pool for queue in plan.queues] == [NO_GPU_FLAVOR]
    with pytest.raises(QueueError, match="but the stack has no GPU pool"):
        plan_queues([], [demand("analytics", 2)])


def test_priorities_above_a_ceiling():
    assert priorities_above("serving") == []
    assert priorities_above("batch") == ["serving", "interactive"]
    assert priorities_above("training") == ["serving", "interactive", "batch"]
