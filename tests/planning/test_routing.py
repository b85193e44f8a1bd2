"""Gateway routing semantics: where a request of each tier and task class goes, healthy and under overload."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiplane.planning.routing import (
    LARGE_MODEL_TASKS,
    SMALL_MODEL_TASKS,
    TASK_CLASSES,
    Degradation,
    RoutingError,
    build_table,
    fallback_cycle,
    resolve,
)

ROUTES = {task: "small" for task in SMALL_MODEL_TASKS} | {task: "large" for task in LARGE_MODEL_TASKS}
FALLBACKS = {"large": ["provider-a", "provider-b"], "small": ["large"]}
TIERS = {"premium": None, "standard": Degradation(model="small", max_tokens=512, tools=False)}
TABLE = build_table(ROUTES, FALLBACKS, TIERS)


def models(chain):
    return [deployment.model for deployment in chain]


@pytest.mark.parametrize("tier", sorted(TIERS))
@pytest.mark.parametrize("task", TASK_CLASSES)
def test_a_healthy_gateway_serves_each_task_class_on_its_model(tier, task):
    (deployment,) = resolve(TABLE, tier, task)
    assert deployment.model == ROUTES[task]
    assert deployment.group == f"{tier}/{ROUTES[task]}" and deployment.tools and deployment.max_tokens is None


def test_a_failed_model_falls_back_in_order_before_degrading():
    chain = resolve(TABLE, "standard", "reasoning", unavailable=frozenset({"large"}))
    assert models(chain) == ["large", "provider-a"]
    chain = resolve(TABLE, "standard", "reasoning", unavailable=frozenset({"large", "provider-a"}))
    assert models(chain) == ["large", "provider-a", "provider-b"]


def test_under_overload_standard_degrades_to_a_smaller_model_with_short_answers_and_no_tools():
    overloaded = frozenset({"large", "provider-a", "provider-b"})
    chain = resolve(TABLE, "standard", "synthesis", unavailable=overloaded)
    served = chain[-1]
    assert (served.group, served.model, served.max_tokens, served.tools) == ("standard/degraded", "small", 512, False)


def test_premium_is_never_degraded_it_fails_over_or_fails():
    overloaded = frozenset({"large", "provider-a", "provider-b"})
    assert resolve(TABLE, "premium", "synthesis", unavailable=overloaded) == []
    assert models(resolve(TABLE, "premium", "synthesis", unavailable=frozenset({"large"}))) == ["large", "provider-a"]


def test_a_small_task_escalates_to_the_large_model_and_its_fallbacks():
    chain = resolve(TABLE, "premium", "classification", unavailable=frozenset({"small", "large"}))
    assert models(chain) == ["small", "large", "provider-a"]


def test_nothing_available_means_no_deployment():
    everything = frozenset({"small", "large", "provider-a", "provider-b"})
    for tier in TIERS:
        assert resolve(TABLE, tier, "reasoning", unavailable=everything) == []


def test_tiers_get_their_own_groups_and_aliases():
    assert TABLE.aliases["standard"]["reasoning"] == "standard/large"
    assert TABLE.aliases["premium"]["classification"] == "premium/small"
    assert TABLE.fallbacks["standard/large"] == ("provider-a", "provider-b", "standard/degraded")
    assert TABLE.fallbacks["premium/large"] == ("provider-a", "provider-b")
    assert len({deployment.group for deployment in TABLE.deployments}) == len(TABLE.deployments)


def test_a_fallback_cycle_is_named_and_refused():
    assert fallback_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert fallback_cycle({"a": ["a"]}) == ["a", "a"]
    assert fallback_cycle({"a": ["b", "c"], "b": ["c"], "c": []}) is None
    with pytest.raises(RoutingError, match="a fallback cycle: large -> small -> large"):
        build_table(ROUTES, {"large": ["small"], "small": ["large"]}, TIERS)


names = st.sampled_from([f"m{index}" for index in range(8)])


@given(st.dictionaries(names, st.lists(names, max_size=4), max_size=8))
def test_cycle_detection_agrees_with_a_topological_sort(fallbacks):
    """Kahn's algorithm removes every node exactly when the graph has no cycle."""
    nodes = set(fallbacks) | {target for targets in fallbacks.values() for target in targets}
    incoming = {node: 0 for node in nodes}
    for targets in fallbacks.values():
        for target in set(targets):
            incoming[target] += 1
    ready = [node for node, count in incoming.items() if count == 0]
    removed = 0
    while ready:
        node = ready.pop()
        removed += 1
        for target in set(fallbacks.get(node, ())):
            incoming[target] -= 1
            if incoming[target] == 0:
                ready.append(target)
    cycle = fallback_cycle(fallbacks)
    assert (cycle is None) == (removed == len(nodes))
    if cycle:
        assert cycle[0] == cycle[-1]
        assert all(target in fallbacks.get(source, ()) for source, target in zip(cycle, cycle[1:]))


@given(st.dictionaries(names, st.lists(names, max_size=3), max_size=6), st.frozensets(names))
def test_resolution_always_terminates_and_ends_on_an_available_model(fallbacks, unavailable):
    if fallback_cycle(fallbacks):
        return
    routes = {task: "m0" for task in TASK_CLASSES}
    table = build_table(routes, fallbacks, {"standard": Degradation(model="m1", max_tokens=100)})
    chain = resolve(table, "standard", "reasoning", unavailable=unavailable)
    if chain:
        assert chain[-1].model not in unavailable
        assert all(deployment.model in unavailable for deployment in chain[:-1])
    else:
        assert "m0" in unavailable and "m1" in unavailable
