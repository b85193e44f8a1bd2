"""Compute planning: from the stack's pools and served models to the node counts of every pool.

Pure functions, no Pulumi. Each served model is planned on its pool's instance type by the capacity
planner; a pool's nodes are the GPUs its models' replicas need in each scenario, packed onto nodes:
min from the nominal scenario, desired from the peak, max from the incident. Pools that serve no model
(training, batch) keep the counts the stack file gives.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiplane.planning.capacity import (
    INCIDENT_NODES_LOST,
    Accelerator,
    CapacityError,
    ScenarioPlan,
    ServedModel,
    plan_model,
)
from aiplane.planning.instances import load_instance_catalog

SCENARIO_SIZES = {"nominal": "min", "peak": "desired", "incident": "max"}


@dataclass(frozen=True)
class PoolDemand:
    """A pool as the planner takes it: its instance types, and the node counts it keeps when it serves no model."""

    name: str
    profile: str
    instance_types: tuple[str, ...]
    fixed_nodes: tuple[int, int, int] | None = None  # min, desired, max


@dataclass(frozen=True)
class ModelDemand:
    """A served model on a pool: the traffic it must carry, and a tensor-parallel degree if one is pinned."""

    name: str
    pool: str
    served: ServedModel
    tensor_parallel: int | None = None


@dataclass(frozen=True)
class ModelPlan:
    model: str
    pool: str
    instance_type: str
    scenarios: tuple[ScenarioPlan, ...]

    def scenario(self, name: str) -> ScenarioPlan:
        return next(plan for plan in self.scenarios if plan.scenario == name)


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

        return {
            "pools": [
                {
                    "name": pool.pool,
                    "profile": pool.profile,
                    "instanceTypes": list(pool.instance_types),
                    "nodes": {"min": pool.min_nodes, "desired": pool.desired_nodes, "max": pool.max_nodes},
                    "sizedBy": pool.sized_by,
                    "models": [
                        {"name": model.model, "scenarios": {plan.scenario: scenario(plan) for plan in model.scenarios}}
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
    """Replicas of every model, packed by GPU count. TP degrees are powers of two no wider than a node, so
    packing them largest first never strands GPUs: the node count is the GPU count over GPUs per node."""
    gpus = sum(replica.replicas * replica.tensor_parallel for replica in (plan.scenario(scenario) for plan in model_plans))
    nodes = math.ceil(gpus / gpus_per_node)
    return nodes + INCIDENT_NODES_LOST if scenario == "incident" else nodes


def plan_compute(pools: Sequence[PoolDemand], models: Sequence[ModelDemand]) -> ComputePlan:
    """Plan every pool; raise CapacityError naming the model and the pool when a model does not fit."""
    planned = []
    for pool in pools:
        accelerator = pool_accelerator(pool.instance_types)
        model_plans = []
        for model in (model for model in models if model.pool == pool.name):
            try:
                scenarios = plan_model(model.served, accelerator, model.tensor_parallel)
            except CapacityError as error:
                raise CapacityError(f"model {model.name!r}: pool {pool.name!r} ({accelerator.instance_type}) cannot serve it: {error}") from None
            model_plans.append(ModelPlan(model.name, pool.name, accelerator.instance_type, tuple(scenarios)))
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
