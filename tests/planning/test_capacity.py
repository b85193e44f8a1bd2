"""Capacity planner: properties that must hold for any input, and the impossible cases."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiplane.planning.capacity import (
    Accelerator,
    CapacityError,
    ServedModel,
    plan_model,
    replica_performance,
)

H100_NODE = Accelerator("p5.48xlarge", "H100", gpus_per_node=8, nvlink_domain=8, memory_gib_per_gpu=80, hbm_tbps_per_gpu=3.35, dense_bf16_tflops_per_gpu=989)
L4_NODE = Accelerator("g6.12xlarge", "L4", gpus_per_node=4, nvlink_domain=1, memory_gib_per_gpu=22, hbm_tbps_per_gpu=0.3, dense_bf16_tflops_per_gpu=121)

LLAMA_8B = dict(name="llama-8b", parameters_billion=8.0, layers=32, kv_heads=8, head_dim=128)
LLAMA_70B = dict(name="llama-70b", parameters_billion=70.6, layers=80, kv_heads=8, head_dim=128)


def served(architecture=LLAMA_8B, **traffic):
    defaults = dict(context_tokens=8192, prompt_tokens=1000, completion_tokens=250, peak_concurrency=64, p95_latency_seconds=15)
    return ServedModel(**architecture, **{**defaults, **traffic})


traffic = st.fixed_dictionaries(
    {
        "peak_concurrency": st.integers(min_value=1, max_value=2000),
        "prompt_tokens": st.integers(min_value=16, max_value=4000),
        "completion_tokens": st.integers(min_value=16, max_value=2000),
        "p95_latency_seconds": st.floats(min_value=5, max_value=120),
    }
)
architectures = st.sampled_from([LLAMA_8B, LLAMA_70B])


def gpus(model, accelerator, scenario="peak"):
    return next(plan.gpus for plan in plan_model(model, accelerator) if plan.scenario == scenario)


@settings(max_examples=60, deadline=None)
@given(architectures, traffic, st.integers(min_value=1, max_value=500))
def test_more_load_never_needs_fewer_gpus(architecture, load, extra):
    # At the peak, where the planner chooses the topology every scenario then uses (a deployed server has one):
    # the other scenarios follow that choice, so more peak load can move them to a layout that suits the peak.
    base = served(architecture, **load)
    more = base.model_copy(update={"peak_concurrency": base.peak_concurrency + extra})
    try:
        fewer_gpus = gpus(base, H100_NODE)
    except CapacityError:
        return
    assert gpus(more, H100_NODE) >= fewer_gpus


@settings(max_examples=60, deadline=None)
@given(architectures, traffic, st.floats(min_value=1.0, max_value=3.0))
def test_more_bandwidth_never_needs_more_gpus(architecture, load, factor):
    model = served(architecture, **load)
    faster = dataclasses.replace(H100_NODE, hbm_tbps_per_gpu=H100_NODE.hbm_tbps_per_gpu * factor)
    try:
        slow = gpus(model, H100_NODE)
    except CapacityError:
        return
    assert gpus(model, faster) <= slow


@settings(max_examples=60, deadline=None)
@given(architectures, traffic, st.sampled_from([1, 2, 4, 8]))
def test_tensor_parallelism_stays_inside_the_nvlink_domain(architecture, load, domain):
    accelerator = dataclasses.replace(H100_NODE, nvlink_domain=domain)
    try:
        plans = plan_model(served(architecture, **load), accelerator)
    except CapacityError:
        return
    for plan in plans:
        assert plan.tensor_parallel <= domain
        assert plan.replicas * plan.tensor_parallel <= plan.gpus


@settings(max_examples=60, deadline=None)
@given(architectures, traffic)
def test_plans_meet_the_slo_with_headroom(architecture, load):
    model = served(architecture, **load)
    try:
        plans = plan_model(model, H100_NODE)
    except CapacityError:
        return
    for plan in plans:
        assert plan.request_latency_s <= model.p95_latency_seconds
        assert plan.replicas * plan.batch_per_replica >= plan.concurrency
        assert plan.headroom >= 0


def test_incident_plans_for_a_lost_node_on_top_of_retries():
    plans = {plan.scenario: plan for plan in plan_model(served(LLAMA_70B, peak_concurrency=200), H100_NODE)}
    assert plans["incident"].concurrency == 260
    assert plans["incident"].nodes > plans["peak"].nodes >= plans["nominal"].nodes


def test_decode_is_bandwidth_bound():
    model = served(LLAMA_8B)
    one = replica_performance(model, H100_NODE, 1, 1)
    doubled = replica_performance(model, dataclasses.replace(H100_NODE, hbm_tbps_per_gpu=6.7), 1, 1)
    assert doubled.time_per_output_token_s == pytest.approx(one.time_per_output_token_s / 2)


def test_a_model_too_big_for_the_nvlink_domain_is_refused():
    with pytest.raises(CapacityError, match=r"llama-70b needs .* GiB per GPU at TP=1 .* more than the 19\.8 GiB usable on g6\.12xlarge's L4, whose NVLink domain is 1 GPU"):
        plan_model(served(LLAMA_70B), L4_NODE)


def test_an_unreachable_slo_is_refused():
    with pytest.raises(CapacityError, match=r"cannot meet its p95 latency of 0\.5s on p5\.48xlarge: one request alone takes"):
        plan_model(served(LLAMA_70B, p95_latency_seconds=0.5), H100_NODE)


def test_requests_longer_than_the_context_are_rejected():
    with pytest.raises(ValueError, match=r"prompt_tokens \+ completion_tokens \(9000\) exceed context_tokens \(8192\)"):
        served(prompt_tokens=8000, completion_tokens=1000)
