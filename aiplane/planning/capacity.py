"""Capacity planning for model serving: how many GPUs, replicas and nodes a model needs, from traffic math.

Pure functions, no Pulumi. The model is a roofline (formulas and sources in docs/capacity.md):
- decode is bound by memory bandwidth: every step reads the weights once and each sequence's KV cache;
- prefill is bound by compute: about 2 FLOPs per parameter per prompt token;
- both run at a fraction of the datasheet: the ceilings measured on Hopper (DESIGN.md §5) times a serving
  efficiency calibrated against published benchmarks.
A replica spans `tp` GPUs of one NVLink domain; it batches as many sequences as fit in memory and still meet
the latency SLO.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Precision = Literal["fp32", "bf16", "fp16", "fp8", "int8", "int4"]
BYTES_PER_PARAMETER: dict[str, float] = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "int4": 0.5}
# KV cache is kept at 16 bits unless weights are 8-bit float (engines then quantize the cache too).
KV_BYTES: dict[str, float] = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 2, "int4": 2}

# Measured on an H100 80GB (PyTorch, 2026-11, DESIGN.md §5): a device-to-device copy reached ~0.9 of the
# HBM3 spec bandwidth and an 8192^3 bf16 GEMM ~0.8 of the dense spec. These are ceilings, not expectations.
MEMORY_BANDWIDTH_CEILING = 0.9
COMPUTE_CEILING = 0.8
# Serving engines reach less than the ceilings (scheduling, attention kernels, sampling, communication).
# Calibrated against published benchmarks: see docs/capacity.md and tests/planning/test_capacity.py.
SERVING_EFFICIENCY = 0.75
# Tensor parallelism adds two all-reduces per layer to every decode step; at small batches their latency,
# not their bandwidth, is what costs. Fitted to published TP=2/4/8 decode figures on A100 and H100 (see
# tests/planning/test_capacity_calibration.py): 20-36 us per all-reduce; 25 us is the middle.
TP_ALLREDUCE_LATENCY_S = 25e-6
# Share of GPU memory an engine may use (vLLM's default gpu_memory_utilization).
USABLE_MEMORY_FRACTION = 0.9
# Activations, CUDA graphs and the engine's workspace, per GPU, outside weights and KV cache.
RUNTIME_RESERVE_GIB = 2.0
TENSOR_PARALLEL_DEGREES = (1, 2, 4, 8)
GIB = 2**30

# The reference architecture's scenarios: everyday load, the planned peak, and an incident in which
# clients retry and a node is lost while the peak lasts.
NOMINAL_SHARE_OF_PEAK = 0.5
INCIDENT_RETRY_AMPLIFICATION = 1.3
INCIDENT_NODES_LOST = 1


class CapacityError(ValueError):
    """The model cannot be served as asked on this hardware; the message says why."""


@dataclass(frozen=True)
class Accelerator:
    """What the planner needs to know about an instance type."""

    instance_type: str
    gpu: str
    gpus_per_node: int
    nvlink_domain: int
    memory_gib_per_gpu: float
    hbm_tbps_per_gpu: float
    dense_bf16_tflops_per_gpu: float


class ServedModel(BaseModel):
    """A model and the traffic it must serve. Architecture fields come from the model's config.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    parameters_billion: float = Field(gt=0)
    precision: Precision = "bf16"
    layers: int = Field(gt=0)
    kv_heads: int = Field(gt=0, description="Key/value heads (fewer than attention heads with GQA).")
    head_dim: int = Field(gt=0)
    context_tokens: int = Field(gt=0, description="The longest sequence a request may reach.")
    prompt_tokens: int = Field(gt=0, description="Mean prompt length.")
    completion_tokens: int = Field(gt=0, description="Mean completion length.")
    peak_concurrency: int = Field(gt=0, description="Requests in flight at the planned peak.")
    p95_latency_seconds: float = Field(gt=0, description="End-to-end latency SLO of a mean request.")

    @model_validator(mode="after")
    def _mean_request_fits_context(self) -> ServedModel:
        if self.prompt_tokens + self.completion_tokens > self.context_tokens:
            raise ValueError(
                f"prompt_tokens + completion_tokens ({self.prompt_tokens + self.completion_tokens}) "
                f"exceed context_tokens ({self.context_tokens})"
            )
        return self

    @property
    def weight_bytes(self) -> float:
        return self.parameters_billion * 1e9 * BYTES_PER_PARAMETER[self.precision]

    @property
    def kv_bytes_per_token(self) -> float:
        # keys and values, for every layer and KV head
        return 2 * self.layers * self.kv_heads * self.head_dim * KV_BYTES[self.precision]


@dataclass(frozen=True)
class ReplicaPerformance:
    tensor_parallel: int
    batch: int
    time_per_output_token_s: float
    time_to_first_token_s: float
    output_tokens_per_s: float
    request_latency_s: float  # first token, then the mean completion


@dataclass(frozen=True)
class ScenarioPlan:
    scenario: str
    concurrency: int
    tensor_parallel: int
    batch_per_replica: int
    replicas: int
    nodes: int
    gpus: int
    vram_needed_gib: float
    output_tokens_per_s_per_replica: float
    time_per_output_token_ms: float
    time_to_first_token_ms: float
    request_latency_s: float
    headroom: float


def replica_performance(model: ServedModel, accelerator: Accelerator, tensor_parallel: int, batch: int) -> ReplicaPerformance:
    """Roofline estimate for one replica decoding `batch` sequences of mean length."""
    bandwidth = tensor_parallel * accelerator.hbm_tbps_per_gpu * 1e12 * MEMORY_BANDWIDTH_CEILING * SERVING_EFFICIENCY
    compute = tensor_parallel * accelerator.dense_bf16_tflops_per_gpu * 1e12 * COMPUTE_CEILING * SERVING_EFFICIENCY
    mean_sequence = model.prompt_tokens + model.completion_tokens / 2
    step_bytes = model.weight_bytes + batch * mean_sequence * model.kv_bytes_per_token
    time_per_token = step_bytes / bandwidth
    if tensor_parallel > 1:
        time_per_token += 2 * model.layers * TP_ALLREDUCE_LATENCY_S
    time_to_first_token = 2 * model.parameters_billion * 1e9 * model.prompt_tokens / compute
    return ReplicaPerformance(
        tensor_parallel=tensor_parallel,
        batch=batch,
        time_per_output_token_s=time_per_token,
        time_to_first_token_s=time_to_first_token,
        output_tokens_per_s=batch / time_per_token,
        request_latency_s=time_to_first_token + time_per_token * model.completion_tokens,
    )


def memory_per_gpu_gib(model: ServedModel, tensor_parallel: int, batch: int) -> float:
    """Weights plus a full-context KV cache for `batch` sequences, split over `tensor_parallel` GPUs."""
    kv = batch * model.context_tokens * model.kv_bytes_per_token
    return (model.weight_bytes + kv) / tensor_parallel / GIB + RUNTIME_RESERVE_GIB


def max_batch(model: ServedModel, accelerator: Accelerator, tensor_parallel: int) -> int:
    """The largest batch that fits in memory and meets the latency SLO; 0 if even one sequence does not."""
    usable = accelerator.memory_gib_per_gpu * USABLE_MEMORY_FRACTION
    per_sequence = model.context_tokens * model.kv_bytes_per_token / tensor_parallel / GIB
    fixed = model.weight_bytes / tensor_parallel / GIB + RUNTIME_RESERVE_GIB
    by_memory = math.floor((usable - fixed) / per_sequence) if usable > fixed else 0
    low, high = 0, max(by_memory, 0)
    while low < high:  # latency grows with batch: binary-search the largest batch within the SLO
        middle = (low + high + 1) // 2
        if replica_performance(model, accelerator, tensor_parallel, middle).request_latency_s <= model.p95_latency_seconds:
            low = middle
        else:
            high = middle - 1
    return low


def scenario_concurrency(model: ServedModel) -> dict[str, int]:
    return {
        "nominal": max(1, math.ceil(model.peak_concurrency * NOMINAL_SHARE_OF_PEAK)),
        "peak": model.peak_concurrency,
        "incident": math.ceil(model.peak_concurrency * INCIDENT_RETRY_AMPLIFICATION),
    }


def gpus(count: int) -> str:
    return f"{count} GPU" if count == 1 else f"{count} GPUs"


def plan_model(model: ServedModel, accelerator: Accelerator, tensor_parallel: int | None = None) -> list[ScenarioPlan]:
    """Plan every scenario; raise CapacityError when the model cannot be served on this instance type.

    `tensor_parallel` pins the degree (an operator's choice); by default the planner picks it per scenario.
    """
    widest = min(accelerator.nvlink_domain, accelerator.gpus_per_node)
    if tensor_parallel is not None:
        if tensor_parallel not in TENSOR_PARALLEL_DEGREES:
            raise CapacityError(f"tensor parallelism {tensor_parallel} is not one of {', '.join(map(str, TENSOR_PARALLEL_DEGREES))}")
        if tensor_parallel > widest:
            raise CapacityError(
                f"tensor parallelism {tensor_parallel} is wider than {accelerator.instance_type}'s NVLink domain of "
                f"{gpus(accelerator.nvlink_domain)}: a replica must not span PCIe or the network"
            )
    degrees = [tp for tp in TENSOR_PARALLEL_DEGREES if tp <= widest and tensor_parallel in (None, tp)]
    batches = {tp: max_batch(model, accelerator, tp) for tp in degrees}
    feasible = {tp: batch for tp, batch in batches.items() if batch > 0}
    if not feasible:
        widest = degrees[-1]
        if memory_per_gpu_gib(model, widest, 1) > accelerator.memory_gib_per_gpu * USABLE_MEMORY_FRACTION:
            raise CapacityError(
                f"{model.name} needs {memory_per_gpu_gib(model, widest, 1):.1f} GiB per GPU at TP={widest} (weights and one "
                f"{model.context_tokens}-token sequence), more than the {accelerator.memory_gib_per_gpu * USABLE_MEMORY_FRACTION:.1f} "
                f"GiB usable on {accelerator.instance_type}'s {accelerator.gpu}, whose NVLink domain is {gpus(accelerator.nvlink_domain)}"
            )
        fastest = replica_performance(model, accelerator, widest, 1)
        raise CapacityError(
            f"{model.name} cannot meet its p95 latency of {model.p95_latency_seconds:g}s on {accelerator.instance_type}: "
            f"one request alone takes {fastest.request_latency_s:.2f}s at TP={widest}"
        )

    plans = []
    for scenario, concurrency in scenario_concurrency(model).items():
        # The degree that needs the fewest GPUs; ties go to the narrower one (less communication).
        tensor_parallel = min(feasible, key=lambda tp: (math.ceil(concurrency / feasible[tp]) * tp, tp))
        batch_limit = feasible[tensor_parallel]
        replicas = math.ceil(concurrency / batch_limit)
        batch = math.ceil(concurrency / replicas)
        replicas_per_node = accelerator.gpus_per_node // tensor_parallel
        nodes = math.ceil(replicas / replicas_per_node)
        if scenario == "incident":
            nodes += INCIDENT_NODES_LOST
        performance = replica_performance(model, accelerator, tensor_parallel, batch)
        plans.append(
            ScenarioPlan(
                scenario=scenario,
                concurrency=concurrency,
                tensor_parallel=tensor_parallel,
                batch_per_replica=batch,
                replicas=replicas,
                nodes=nodes,
                gpus=nodes * accelerator.gpus_per_node,
                vram_needed_gib=(model.weight_bytes * replicas + concurrency * model.context_tokens * model.kv_bytes_per_token) / GIB,
                output_tokens_per_s_per_replica=performance.output_tokens_per_s,
                time_per_output_token_ms=performance.time_per_output_token_s * 1000,
                time_to_first_token_ms=performance.time_to_first_token_s * 1000,
                request_latency_s=performance.request_latency_s,
                headroom=replicas * batch_limit / concurrency - 1,
            )
        )
    return plans
