"""Compute planning: from the stack's pools and served models to the node counts of every pool.

Pure functions, no Pulumi. Each served model is planned on its pool's instance type by the capacity
planner, which chooses its topology (one GPU, tensor parallelism in a node, or across nodes on an EFA pool);
a pool's nodes are the GPUs its models' replicas need in each scenario, packed onto nodes:
min from the nominal scenario, desired from the peak, max from the incident. Pools that serve no model
(training, batch) keep the counts the stack file gives.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiplane.planning.capacity import (
    INCIDENT_NODES_LOST,
    MAX_PIPELINE_NODES,
    Accelerator,
    CapacityError,
    DoesNotFit,
    ScenarioPlan,
    ServedModel,
    Topology,
    plan_serving,
)
from aiplane.planning.cold_start import ColdStart, estimate_cold_start
from aiplane.planning.instances import load_instance_catalog
from aiplane.planning.topology import OneNodeAlternative, disaggregation_advice, one_node_alternatives, peak_usd_per_hour

SCENARIO_SIZES = {"nominal": "min", "peak": "desired", "incident": "max"}


@dataclass(frozen=True)
class PoolDemand:
    """A pool as the planner takes it: its instance types, and the node counts it keeps when it serves no model."""

    name: str
    profile: str
    instance_types: tuple[str, ...]
    fixed_nodes: tuple[int, int, int] | None = None  # min, desired, max
    efa: bool = False  # its nodes share a fabric: a replica may span several


@dataclass(frozen=True)
class ModelDemand:
    """A served model on a pool: the traffic it must carry, and a tensor-parallel degree if one is pinned."""

    name: str
    pool: str
    served: ServedModel
    tensor_parallel: int | None = None
    cold_start_seconds: float | None = None  # the budget for its time to ready, if the stack sets one


@dataclass(frozen=True)
class ModelPlan:
    model: str
    pool: str
    instance_type: str
    scenarios: tuple[ScenarioPlan, ...]
    topology: Topology
    peak_usd_per_hour: float | None = None
    alternatives: tuple[OneNodeAlternative, ...] = ()  # for a multi-node model: one node of another type
    advice: str | None = None
    cold_start: ColdStart | None = None

    def scenario(self, name: str) -> ScenarioPlan:
        return next(plan for plan in self.scenarios if plan.scenario == name)


class ColdStartBudgetError(CapacityError):
    """A model's estimated time to ready exceeds the budget its stack file gives it."""

    def __init__(self, model: str, budget: float, message: str):
        super().__init__(message)
        self.model = model
        self.budget = budget


@dataclass(frozen=True)
class PoolPlan:
    pool: str
    profile: str
    instance_types: tuple[str, ...]
    gpus_per_node: int
    min_nodes: int
    desired_nodes: int
    max_nodes: int
    sized_by: str  # "capacity plan" or "stack file"
    models: tuple[ModelPlan, ...] = ()

    def model(self, name: str) -> ModelPlan:
        return next(plan for plan in self.models if plan.model == name)


@dataclass(frozen=True)
class ComputePlan:
    pools: tuple[PoolPlan, ...] = field(default_factory=tuple)

    def pool(self, name: str) -> PoolPlan:
        return next(plan for plan in self.pools if plan.pool == name)

    def to_dict(self) -> dict:
        """The plan as summary.json and `aiplane capacity --format json` show it."""

        def scenario(plan: ScenarioPlan) -> dict:
            return {
                "concurrency": plan.concurrency,
                "tensorParallel": plan.tensor_parallel,
                "pipelineParallel": plan.pipeline_parallel,
                "batchPerReplica": plan.batch_per_replica,
                "replicas": plan.replicas,
                "nodes": plan.nodes,
                "gpus": plan.gpus,
                "vramNeededGib": round(plan.vram_needed_gib, 1),
                "outputTokensPerSecondPerReplica": round(plan.output_tokens_per_s_per_replica, 1),
                "timePerOutputTokenMs": round(plan.time_per_output_token_ms, 2),
                "timeToFirstTokenMs": round(plan.time_to_first_token_ms, 1),
                "requestLatencySeconds": round(plan.request_latency_s, 3),
                "headroom": round(plan.headroom, 3),
            }

        def topology(model: ModelPlan) -> dict:
            layout = model.topology
            described = {
                "kind": layout.kind,
                "tensorParallel": layout.tensor_parallel,
                "pipelineParallel": layout.pipeline_parallel,
                "nodesPerReplica": layout.nodes_per_replica,
                "gpusPerReplica": layout.gpus_per_replica,
                "reason": layout.reason,
                "peakUsdPerHour": None if model.peak_usd_per_hour is None else round(model.peak_usd_per_hour, 2),
                "oneNodeAlternatives": [
                    {"instanceType": option.instance_type, "gpu": option.gpu, "peakNodes": option.peak_nodes,
                     "peakUsdPerHour": None if option.usd_per_hour is None else round(option.usd_per_hour, 2)}
                    for option in model.alternatives
                ],
            }
            if model.advice:
                described["advice"] = model.advice
            return described

        def cold_start(model: ModelPlan) -> dict | None:
            estimate = model.cold_start
            if estimate is None:
                return None
            return {
                "nodeSeconds": round(estimate.node), "imageSeconds": round(estimate.image), "weightsSeconds": round(estimate.weights),
                "engineSeconds": round(estimate.engine), "totalSeconds": round(estimate.total), "budgetSeconds": estimate.budget,
                "weightsGibPerNode": round(estimate.weights_gib_per_node, 1), "startupProbeSeconds": estimate.startup_probe_seconds,
            }

        return {
            "pools": [
                {
                    "name": pool.pool,
                    "profile": pool.profile,
                    "instanceTypes": list(pool.instance_types),
                    "nodes": {"min": pool.min_nodes, "desired": pool.desired_nodes, "max": pool.max_nodes},
                    "sizedBy": pool.sized_by,
                    "models": [
                        {
                            "name": model.model,
                            "topology": topology(model),
                            "coldStart": cold_start(model),
                            "scenarios": {plan.scenario: scenario(plan) for plan in model.scenarios},
                        }
                        for model in pool.models
                    ],
                }
                for pool in self.pools
            ]
        }


def pool_accelerator(instance_types: Sequence[str]) -> Accelerator:
    """The pool's instance type; for a mix, the weakest figure of each kind, so any node can hold a replica."""
    catalog = load_instance_catalog()
    accelerators = [catalog.instances[name].accelerator() for name in instance_types]
    first = accelerators[0]
    return Accelerator(
        instance_type=" / ".join(instance_types) if len(instance_types) > 1 else first.instance_type,
        gpu=" / ".join(dict.fromkeys(a.gpu for a in accelerators)),
        gpus_per_node=first.gpus_per_node,
        nvlink_domain=min(a.nvlink_domain for a in accelerators),
        memory_gib_per_gpu=min(a.memory_gib_per_gpu for a in accelerators),
        hbm_tbps_per_gpu=min(a.hbm_tbps_per_gpu for a in accelerators),
        dense_bf16_tflops_per_gpu=min(a.dense_bf16_tflops_per_gpu for a in accelerators),
    )


def nodes_for(model_plans: Sequence[ModelPlan], scenario: str, gpus_per_node: int) -> int:
    """Replicas of every model, packed by GPU count. TP degrees are powers of two no wider than a node and a
    multi-node replica takes whole nodes, so packing them largest first never strands GPUs: the node count is
    the GPU count over GPUs per node. The incident loses a node of the widest replica: all of its nodes."""
    planned = [plan.scenario(scenario) for plan in model_plans]
    gpus = sum(replica.replicas * replica.gpus_per_replica for replica in planned)
    nodes = math.ceil(gpus / gpus_per_node)
    if scenario != "incident":
        return nodes
    return nodes + INCIDENT_NODES_LOST * max(replica.pipeline_parallel for replica in planned)


def plan_served_model(model: ModelDemand, pool: PoolDemand, accelerator: Accelerator) -> ModelPlan:
    """One model on its pool, with what the planner advises beside it."""
    where = f"model {model.name!r}: pool {pool.name!r} ({accelerator.instance_type}) cannot serve it"
    max_nodes = MAX_PIPELINE_NODES if pool.efa else 1
    try:
        plan = plan_serving(model.served, accelerator, model.tensor_parallel, max_nodes)
    except CapacityError as error:
        hints = []
        if isinstance(error, DoesNotFit):
            if not pool.efa and all(load_instance_catalog().instances[t].efa for t in pool.instance_types):
                hints.append("serving it across nodes needs an EFA pool (efa: true)")
            hints += [option.describe() for option in one_node_alternatives(model.served, pool.instance_types[0])[:2]]
        raise CapacityError(f"{where}: {error}" + "".join(f"; {hint}" for hint in hints)) from None
    single_type = len(pool.instance_types) == 1
    instance = load_instance_catalog().instances[pool.instance_types[0]]
    cold_start = estimate_cold_start(
        model.name, model.served.weight_bytes, plan.topology.nodes_per_replica, instance.family, instance.network_gbps, model.cold_start_seconds
    )
    if model.cold_start_seconds is not None and cold_start.total > model.cold_start_seconds:
        raise ColdStartBudgetError(model.name, model.cold_start_seconds, (
            f"model {model.name!r} on pool {pool.name!r}: a cold start takes about {cold_start.total:.0f} s, over its budget of "
            f"{model.cold_start_seconds:g} s: {cold_start.breakdown()}; {cold_start.staging_advice()}"
        ))
    return ModelPlan(
        model.name, pool.name, accelerator.instance_type, plan.scenarios, plan.topology,
        peak_usd_per_hour=peak_usd_per_hour(pool.instance_types[0], plan) if single_type else None,
        alternatives=one_node_alternatives(model.served, pool.instance_types[0]) if plan.topology.pipeline_parallel > 1 else (),
        advice=disaggregation_advice(model.served, accelerator, plan.scenario("peak")),
        cold_start=cold_start,
    )


def plan_compute(pools: Sequence[PoolDemand], models: Sequence[ModelDemand]) -> ComputePlan:
    """Plan every pool; raise CapacityError naming the model and the pool when a model does not fit."""
    planned = []
    for pool in pools:
        accelerator = pool_accelerator(pool.instance_types)
        model_plans = []
        for model in (model for model in models if model.pool == pool.name):
            model_plans.append(plan_served_model(model, pool, accelerator))
        if model_plans:
            sizes = {size: nodes_for(model_plans, scenario, accelerator.gpus_per_node) for scenario, size in SCENARIO_SIZES.items()}
            sized_by = "capacity plan"
        else:
            sizes = dict(zip(("min", "desired", "max"), pool.fixed_nodes or (0, 0, 0), strict=True))
            sized_by = "stack file"
        planned.append(
            PoolPlan(
                pool=pool.name,
                profile=pool.profile,
                instance_types=tuple(pool.instance_types),
                gpus_per_node=accelerator.gpus_per_node,
                min_nodes=sizes["min"],
                desired_nodes=sizes["desired"],
                max_nodes=max(sizes["max"], 1),
                sized_by=sized_by,
                models=tuple(model_plans),
            )
        )
    return ComputePlan(tuple(planned))
