"""What the planner says beside a model's topology: the instance types of the catalog that would serve a
multi-node model on one node, with the cost of each, and when prefill/decode disaggregation would pay.

Pure functions over the capacity planner and the instance catalog; advice only, nothing here changes a plan.
"""
from __future__ import annotations

from dataclasses import dataclass

from aiplane.planning.capacity import (
    Accelerator,
    CapacityError,
    ScenarioPlan,
    ServedModel,
    ServingPlan,
    plan_serving,
    replica_performance,
)
from aiplane.planning.instances import load_instance_catalog

# Prefill/decode disaggregation is worth a second set of servers when prompts take at least this share of a
# replica's steps at peak and slow its decoding at least this much (docs/capacity.md).
DISAGGREGATION_PREFILL_SHARE = 0.5
DISAGGREGATION_DECODE_GAIN = 2.0


@dataclass(frozen=True)
class OneNodeAlternative:
    """Another instance type of the catalog on which the model fits one node, at the same traffic."""

    instance_type: str
    gpu: str
    peak_nodes: int
    usd_per_hour: float | None  # at the peak; None where the catalog has no on-demand price (Capacity Blocks only)

    def describe(self) -> str:
        cost = f"{self.usd_per_hour:,.2f} USD/h" if self.usd_per_hour is not None else "no on-demand price (Capacity Blocks only)"
        nodes = f"{self.peak_nodes} node" if self.peak_nodes == 1 else f"{self.peak_nodes} nodes"
        return f"{self.instance_type} ({self.gpu}) on one node per replica: {nodes} at peak, {cost}"


def one_node_alternatives(model: ServedModel, current_instance_type: str) -> tuple[OneNodeAlternative, ...]:
    """Instance types of the catalog whose single node holds the model and meets its SLO, cheapest first."""
    catalog = load_instance_catalog()
    found = []
    for instance in catalog.instances.values():
        if instance.name == current_instance_type:
            continue
        try:
            plan = plan_serving(model, instance.accelerator())
        except CapacityError:
            continue
        peak = plan.scenario("peak").nodes
        price = instance.on_demand_usd_per_hour
        found.append(OneNodeAlternative(instance.name, instance.gpu, peak, None if price is None else peak * price))
    return tuple(sorted(found, key=lambda option: (option.usd_per_hour is None, option.usd_per_hour or 0, option.instance_type)))


def peak_usd_per_hour(instance_type: str, plan: ServingPlan) -> float | None:
    price = load_instance_catalog().instances[instance_type].on_demand_usd_per_hour
    return None if price is None else plan.scenario("peak").nodes * price


def disaggregation_advice(model: ServedModel, accelerator: Accelerator, peak: ScenarioPlan) -> str | None:
    """Prefill/decode disaggregation pays when prompts make a replica's steps compute-bound: decoding then runs
    at least twice as slow as it would with the prompts served by replicas of their own. The first token is
    then a prefill alone, which the TTFT SLO, where the model has one, is held against. (How long a first token
    queues behind others' prompts in one engine is not modelled: the advice rests on the step times.)"""
    performance = replica_performance(model, accelerator, peak.tensor_parallel, peak.batch_per_replica, peak.pipeline_parallel)
    tpot, decode_only = performance.time_per_output_token_s, performance.decode_only_time_per_token_s
    if performance.prefill_load < DISAGGREGATION_PREFILL_SHARE or tpot < DISAGGREGATION_DECODE_GAIN * decode_only:
        return None
    first_token = performance.time_to_first_token_s
    slo = ""
    if model.ttft_seconds is not None:
        slo = f", {'within' if first_token <= model.ttft_seconds else 'still above'} the TTFT SLO of {model.ttft_seconds:g}s"
    return (
        f"prefill/decode disaggregation would pay: prompts take {performance.prefill_load:.0%} of a replica's steps at peak "
        f"({model.prompt_tokens}-token prompts, {model.completion_tokens}-token completions), so it decodes a token every "
        f"{tpot * 1000:.0f} ms; with prompts on prefill replicas of their own, decoding would take about {decode_only * 1000:.0f} ms "
        f"a token, and a first token about {first_token:.2f}s{slo}"
    )
