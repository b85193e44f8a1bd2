"""The planner's choice of topology: one GPU, tensor parallelism inside the NVLink domain, or several nodes
over EFA; properties for any input, and the 405B of prod worked through."""
from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiplane.planning.capacity import (
    MAX_PIPELINE_NODES,
    TENSOR_PARALLEL_DEGREES,
    CapacityError,
    ServedModel,
    max_batch,
    memory_per_gpu_gib,
    plan_serving,
    usable_gib,
)
from aiplane.planning.compute import ModelDemand, PoolDemand, plan_compute
from aiplane.planning.instances import load_instance_catalog
from aiplane.planning.topology import disaggregation_advice, one_node_alternatives
from tests.planning.test_capacity import H100_NODE, LLAMA_8B, LLAMA_70B

LLAMA_405B = dict(name="llama-405b", parameters_billion=405.9, layers=126, kv_heads=8, head_dim=128)
architectures = st.sampled_from([LLAMA_8B, LLAMA_70B, LLAMA_405B])
traffic = st.fixed_dictionaries(
    {
        "peak_concurrency": st.integers(min_value=1, max_value=600),
        "prompt_tokens": st.integers(min_value=16, max_value=4000),
        "completion_tokens": st.integers(min_value=16, max_value=1500),
        "p95_latency_seconds": st.floats(min_value=5, max_value=120),
        "context_tokens": st.sampled_from([4096, 8192, 32768]),
    }
).filter(lambda load: load["prompt_tokens"] + load["completion_tokens"] <= load["context_tokens"])
accelerators = st.sampled_from([H100_NODE, dataclasses.replace(H100_NODE, memory_gib_per_gpu=141, hbm_tbps_per_gpu=4.8), dataclasses.replace(H100_NODE, nvlink_domain=4)])


def planned(architecture, load, accelerator, max_nodes):
    model = ServedModel(**architecture, **load)
    try:
        return model, plan_serving(model, accelerator, max_nodes_per_replica=max_nodes)
    except CapacityError:
        return model, None


def feasible_layouts(model, accelerator, max_nodes):
    widest = min(accelerator.nvlink_domain, accelerator.gpus_per_node)
    layouts = {(tp, 1) for tp in TENSOR_PARALLEL_DEGREES if tp <= widest}
    if widest == accelerator.gpus_per_node:
        layouts |= {(widest, pp) for pp in range(2, max_nodes + 1)}
    return {layout: batch for layout in layouts if (batch := max_batch(model, accelerator, *layout)) > 0}


@settings(max_examples=80, deadline=None)
@given(architectures, traffic, accelerators, st.sampled_from([1, MAX_PIPELINE_NODES]))
def test_tensor_parallelism_stays_inside_the_nvlink_domain(architecture, load, accelerator, max_nodes):
    _, plan = planned(architecture, load, accelerator, max_nodes)
    if plan is None:
        return
    assert plan.topology.tensor_parallel <= accelerator.nvlink_domain
    assert plan.topology.pipeline_parallel <= max_nodes
    assert all(s.tensor_parallel == plan.topology.tensor_parallel and s.pipeline_parallel == plan.topology.pipeline_parallel for s in plan.scenarios)


@settings(max_examples=80, deadline=None)
@given(architectures, traffic, accelerators)
def test_multi_node_only_when_one_node_cannot_hold_the_model_and_one_sequence(architecture, load, accelerator):
    model, plan = planned(architecture, load, accelerator, MAX_PIPELINE_NODES)
    if plan is None:
        return
    one_node = memory_per_gpu_gib(model, accelerator.gpus_per_node, 1) <= usable_gib(accelerator)
    if plan.topology.pipeline_parallel > 1:
        assert not one_node and plan.topology.kind == "multi-node"
        assert plan.topology.tensor_parallel == accelerator.gpus_per_node  # whole nodes
    else:
        # A model one node holds is planned on one node, whatever multi-node would allow.
        single = plan_serving(model, accelerator, max_nodes_per_replica=1)
        assert single.topology == plan.topology


@settings(max_examples=80, deadline=None)
@given(architectures, traffic, accelerators, st.sampled_from([1, MAX_PIPELINE_NODES]))
def test_a_replica_never_spans_more_gpus_than_it_needs(architecture, load, accelerator, max_nodes):
    model, plan = planned(architecture, load, accelerator, max_nodes)
    if plan is None:
        return
    layouts = feasible_layouts(model, accelerator, max_nodes)
    if plan.topology.pipeline_parallel == 1:
        layouts = {layout: batch for layout, batch in layouts.items() if layout[1] == 1}
    peak = model.peak_concurrency
    needed = {layout: math.ceil(peak / batch) * layout[0] * layout[1] for layout, batch in layouts.items()}
    chosen = (plan.topology.tensor_parallel, plan.topology.pipeline_parallel)
    assert needed[chosen] == min(needed.values())
    # Of the layouts that need as few GPUs, the narrowest.
    assert plan.topology.gpus_per_replica == min(tp * pp for (tp, pp), gpus in needed.items() if gpus == needed[chosen])


@settings(max_examples=60, deadline=None)
@given(architectures, traffic, st.sampled_from(["p5.48xlarge", "p4de.24xlarge", "p5en.48xlarge"]), st.booleans())
def test_pool_nodes_hold_every_replica_in_every_scenario(architecture, load, instance_type, efa):
    model = ServedModel(**architecture, **load)
    pool = PoolDemand("pool", "inference", (instance_type,), efa=efa)
    try:
        plan = plan_compute([pool], [ModelDemand(model.name, "pool", model)])
    except CapacityError:
        return
    planned_pool = plan.pool("pool")
    model_plan = planned_pool.model(model.name)
    for scenario in model_plan.scenarios:
        # Nodes per replica x replicas: a multi-node replica takes whole nodes; one-node replicas pack.
        nodes_for_replicas = math.ceil(scenario.replicas * scenario.gpus_per_replica / planned_pool.gpus_per_node)
        assert nodes_for_replicas <= planned_pool.max_nodes and nodes_for_replicas <= scenario.nodes
        if model_plan.topology.nodes_per_replica > 1:
            assert nodes_for_replicas == scenario.replicas * model_plan.topology.nodes_per_replica
    incident = model_plan.scenario("incident")
    # After losing a node (and with it a whole multi-node replica), the incident's replicas still fit.
    assert (planned_pool.max_nodes - model_plan.topology.nodes_per_replica) * planned_pool.gpus_per_node >= incident.replicas * incident.gpus_per_replica


PROD_405B = ServedModel(
    **LLAMA_405B, context_tokens=8192, prompt_tokens=2000, completion_tokens=400, peak_concurrency=32, p95_latency_seconds=30, ttft_seconds=3
)


def test_the_405b_needs_two_p5_nodes_and_says_why():
    plan = plan_serving(PROD_405B, load_instance_catalog().instances["p5.48xlarge"].accelerator(), max_nodes_per_replica=MAX_PIPELINE_NODES)
    # BF16 weights: 405.9e9 x 2 bytes = 756 GiB; with one 8192-token sequence (126 layers x 8 KV heads x 128 x 2
    # x 2 bytes = 516,096 bytes a token: 3.9 GiB) and 2 GiB a GPU of runtime, 776 GiB; 8 x 80 GiB x 0.9 = 576.
    assert (plan.topology.kind, plan.topology.tensor_parallel, plan.topology.pipeline_parallel) == ("multi-node", 8, 2)
    assert "756 GiB" in plan.topology.reason and "776 GiB" in plan.topology.reason and "576 GiB" in plan.topology.reason
    peak = plan.scenario("peak")
    assert (peak.replicas, peak.nodes) == (1, 2)
    assert plan.scenario("incident").nodes == 4  # a lost node takes its replica's two


def test_the_405b_on_p5_without_efa_is_refused_with_the_way_out():
    pool = PoolDemand("chat", "inference", ("p5.48xlarge",), efa=False)
    with pytest.raises(CapacityError) as refused:
        plan_compute([pool], [ModelDemand("llama-405b", "chat", PROD_405B)])
    message = str(refused.value)
    assert "pool 'chat' (p5.48xlarge) cannot serve it" in message
    assert "serving it across nodes needs an EFA pool (efa: true)" in message
    assert "p5en.48xlarge (H200) on one node per replica: 1 node at peak, 63.30 USD/h" in message


def test_one_node_alternatives_are_those_that_hold_it_cheapest_first():
    options = one_node_alternatives(PROD_405B, "p5.48xlarge")
    names = [option.instance_type for option in options]
    assert names[:2] == ["p5en.48xlarge", "p6-b200.48xlarge"] and names[-1] == "p5e.48xlarge"  # no on-demand price: last
    assert "p4de.24xlarge" not in names and "p5.48xlarge" not in names  # 8 x 80 GiB holds it on neither
    for option in options:
        instance = load_instance_catalog().instances[option.instance_type]
        assert plan_serving(PROD_405B, instance.accelerator()).topology.nodes_per_replica == 1


def test_disaggregation_is_advised_only_where_it_pays():
    accelerator = H100_NODE
    long_prompts = ServedModel(
        **LLAMA_70B, context_tokens=32768, prompt_tokens=24000, completion_tokens=200, peak_concurrency=64, p95_latency_seconds=30, ttft_seconds=3
    )
    peak = plan_serving(long_prompts, accelerator).scenario("peak")
    advice = disaggregation_advice(long_prompts, accelerator, peak)
    # Prompts of 24,000 tokens make the steps compute-bound: a token every 119 ms against 26 without them.
    assert advice is not None and "prompts take 96% of a replica's steps" in advice, advice
    assert "every 119 ms" in advice and "about 26 ms" in advice and "within the TTFT SLO of 3s" in advice, advice
    assert "still above the TTFT SLO of 0.5s" in disaggregation_advice(long_prompts.model_copy(update={"ttft_seconds": 0.5}), accelerator, peak)
    # Short prompts hide under the memory-bound steps.
    chat = long_prompts.model_copy(update={"prompt_tokens": 1500, "completion_tokens": 300})
    assert disaggregation_advice(chat, accelerator, plan_serving(chat, accelerator).scenario("peak")) is None
    # Nor does the 405B of prod need it: its weights, not its prompts, bound its steps.
    p5 = load_instance_catalog().instances["p5.48xlarge"].accelerator()
    plan = plan_serving(PROD_405B, p5, max_nodes_per_replica=MAX_PIPELINE_NODES)
    assert disaggregation_advice(PROD_405B, p5, plan.scenario("peak")) is None


def test_a_ttft_slo_above_the_latency_slo_is_refused():
    with pytest.raises(ValueError, match=r"ttft_seconds \(40\) exceeds p95_latency_seconds \(30\)"):
        PROD_405B.model_copy(update={}).model_validate({**PROD_405B.model_dump(), "ttft_seconds": 40})
