"""Capacity planning for model serving: how many GPUs, replicas and nodes a model needs, from traffic math.

Pure functions, no Pulumi. The model is a roofline (formulas and sources in docs/capacity.md):
- decode is bound by memory bandwidth: every step reads the weights once and each sequence's KV cache, unless
  the step's compute (its tokens and the prompts folded into it) takes longer;
- prefill is bound by compute: about 2 FLOPs per parameter per prompt token;
- both run at a fraction of the datasheet: the ceilings measured on Hopper (DESIGN.md §5) times a serving
  efficiency calibrated against published benchmarks.
A replica spans `tp` GPUs of one NVLink domain, or, when one node cannot hold the model and the KV cache of a
single full-context sequence, `tp` GPUs on each of `pp` nodes joined by EFA (pipeline parallelism: each node
holds a slice of the layers). It batches as many sequences as fit in memory and still meet the latency SLO.
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
# Tokens vLLM schedules in one step (decode tokens plus prompt chunks), the default of its OpenAI-compatible
# server in the pinned 0.10.2 (vllm/engine/arg_utils.py): 8192 on GPUs of 70 GiB or more other than the A100,
# 2048 elsewhere. Prompts cannot enter a replica faster than the steps leave room for them.
STEP_TOKENS_LARGE_GPU = 8192
STEP_TOKENS_OTHER = 2048
# Share of GPU memory an engine may use (vLLM's default gpu_memory_utilization).
USABLE_MEMORY_FRACTION = 0.9
# Activations, CUDA graphs and the engine's workspace, per GPU, outside weights and KV cache.
RUNTIME_RESERVE_GIB = 2.0
TENSOR_PARALLEL_DEGREES = (1, 2, 4, 8)
# A multi-node replica spans at most this many nodes: 4 p5.48xlarge hold 2.3 TiB, over twice Llama 3.1 405B in
# BF16; beyond that the fabric, not the model, dominates a step (docs/capacity.md).
MAX_PIPELINE_NODES = 4
# Each pipeline stage hands its activations to the next node over EFA once per step: a small NCCL send. An
# assumption, not a measurement (docs/capacity.md): an order of magnitude above EFA's small-message latency,
# so that a pipeline is never planned as cheaper than it is.
PIPELINE_HOP_LATENCY_S = 100e-6
GIB = 2**30

# The reference architecture's scenarios: everyday load, the planned peak, and an incident in which
# clients retry and a node is lost while the peak lasts.
NOMINAL_SHARE_OF_PEAK = 0.5
INCIDENT_RETRY_AMPLIFICATION = 1.3
INCIDENT_NODES_LOST = 1


class CapacityError(ValueError):
    """The model cannot be served as asked on this hardware; the message says why."""


class DoesNotFit(CapacityError):
    """Even the widest layout allowed cannot hold the model's weights and one full-context sequence."""


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
    ttft_seconds: float | None = Field(
        default=None, gt=0, description="Time-to-first-token SLO; with it the planner says when prefill/decode disaggregation would pay."
    )

    @model_validator(mode="after")
    def _mean_request_fits_context(self) -> ServedModel:
        if self.prompt_tokens + self.completion_tokens > self.context_tokens:
            raise ValueError(
                f"prompt_tokens + completion_tokens ({self.prompt_tokens + self.completion_tokens}) "
                f"exceed context_tokens ({self.context_tokens})"
            )
        if self.ttft_seconds is not None and self.ttft_seconds > self.p95_latency_seconds:
            raise ValueError(f"ttft_seconds ({self.ttft_seconds:g}) exceeds p95_latency_seconds ({self.p95_latency_seconds:g})")
        return self

    @property
    def weight_bytes(self) -> float:
        return self.parameters_billion * 1e9 * BYTES_PER_PARAMETER[self.precision]

    @property
    def kv_bytes_per_token(self) -> float:
        # keys and values, for every layer and KV head
        return 2 * self.layers * self.kv_heads * self.head_dim * KV_BYTES[self.precision]


TopologyKind = Literal["one-gpu", "tensor-parallel", "multi-node"]


@dataclass(frozen=True)
class Topology:
    """How one replica of a model is laid out: `tensor_parallel` GPUs of one NVLink domain on each of
    `pipeline_parallel` nodes (1 unless the model needs more than a node), and why."""

    kind: TopologyKind
    tensor_parallel: int
    pipeline_parallel: int
    reason: str

    @property
    def gpus_per_replica(self) -> int:
        return self.tensor_parallel * self.pipeline_parallel

    @property
    def nodes_per_replica(self) -> int:
        return self.pipeline_parallel


@dataclass(frozen=True)
class ReplicaPerformance:
    tensor_parallel: int
    batch: int
    time_per_output_token_s: float
    time_to_first_token_s: float
    output_tokens_per_s: float
    request_latency_s: float  # first token, then the mean completion
    # Share of a step the compute units are busy, and the part of it spent on prompts (see replica_performance);
    # the time per token the same batch would take with its prompts served elsewhere (disaggregated).
    compute_load: float = 0.0
    prefill_load: float = 0.0
    decode_only_time_per_token_s: float = 0.0


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
    pipeline_parallel: int = 1

    @property
    def gpus_per_replica(self) -> int:
        return self.tensor_parallel * self.pipeline_parallel


@dataclass(frozen=True)
class ServingPlan:
    """A model's topology, the same in every scenario (a deployed server has one), and each scenario's sizes."""

    topology: Topology
    scenarios: tuple[ScenarioPlan, ...]

    def scenario(self, name: str) -> ScenarioPlan:
        return next(plan for plan in self.scenarios if plan.scenario == name)


def replica_performance(
    model: ServedModel, accelerator: Accelerator, tensor_parallel: int, batch: int, pipeline_parallel: int = 1
) -> ReplicaPerformance:
    """Roofline estimate for one replica decoding `batch` sequences of mean length, in steady state.

    A step reads the weights and the batch's KV cache (memory) and computes the batch's next tokens plus the
    prompts that arrive meanwhile: each request lives `completion_tokens` steps, so `batch / completion_tokens`
    prompts start per step, and the engine's chunked prefill folds them into the steps. A step takes the longer
    of its memory time and its compute time: short prompts hide under the memory time, long ones make decoding
    compute-bound.

    With pipeline parallelism the batch is split into one micro-batch per stage, and all stages work at once:
    in one step each stage reads its slice of the weights once per micro-batch (the whole model's bytes, at
    one node's bandwidth) and its slice of every sequence's KV cache, and computes its layers for the whole
    batch. So a pipeline adds memory, not speed: a token takes what it would on one node that held the model,
    plus a hop per stage boundary.
    """
    bandwidth = tensor_parallel * accelerator.hbm_tbps_per_gpu * 1e12 * MEMORY_BANDWIDTH_CEILING * SERVING_EFFICIENCY
    compute = tensor_parallel * accelerator.dense_bf16_tflops_per_gpu * 1e12 * COMPUTE_CEILING * SERVING_EFFICIENCY
    flops_per_token = 2 * model.parameters_billion * 1e9
    mean_sequence = model.prompt_tokens + model.completion_tokens / 2
    step_bytes = model.weight_bytes + batch * mean_sequence * model.kv_bytes_per_token / pipeline_parallel
    prompt_tokens_per_step = batch * model.prompt_tokens / model.completion_tokens
    decode_compute = batch * flops_per_token / (compute * pipeline_parallel)
    prefill_compute = prompt_tokens_per_step * flops_per_token / (compute * pipeline_parallel)
    hops = (pipeline_parallel - 1) * PIPELINE_HOP_LATENCY_S
    communication = hops + (2 * model.layers * TP_ALLREDUCE_LATENCY_S if tensor_parallel > 1 else 0.0)
    time_per_token = max(step_bytes / bandwidth, decode_compute + prefill_compute) + communication
    time_to_first_token = flops_per_token * model.prompt_tokens / compute + hops
    return ReplicaPerformance(
        tensor_parallel=tensor_parallel,
        batch=batch,
        time_per_output_token_s=time_per_token,
        time_to_first_token_s=time_to_first_token,
        output_tokens_per_s=batch / time_per_token,
        request_latency_s=time_to_first_token + time_per_token * model.completion_tokens,
        compute_load=(decode_compute + prefill_compute) / time_per_token,
        prefill_load=prefill_compute / time_per_token,
        decode_only_time_per_token_s=max(step_bytes / bandwidth, decode_compute) + communication,
    )


def step_tokens(accelerator: Accelerator) -> int:
    large = accelerator.memory_gib_per_gpu >= 70 and "A100" not in accelerator.gpu
    return STEP_TOKENS_LARGE_GPU if large else STEP_TOKENS_OTHER


def memory_per_gpu_gib(model: ServedModel, tensor_parallel: int, batch: int, pipeline_parallel: int = 1) -> float:
    """Weights plus a full-context KV cache for `batch` sequences, split over the replica's GPUs (tensor
    parallelism splits heads, pipeline parallelism layers: both divide weights and cache alike)."""
    kv = batch * model.context_tokens * model.kv_bytes_per_token
    return (model.weight_bytes + kv) / (tensor_parallel * pipeline_parallel) / GIB + RUNTIME_RESERVE_GIB


def usable_gib(accelerator: Accelerator) -> float:
    return accelerator.memory_gib_per_gpu * USABLE_MEMORY_FRACTION


def max_batch(model: ServedModel, accelerator: Accelerator, tensor_parallel: int, pipeline_parallel: int = 1) -> int:
    """The largest batch that fits in memory and meets the latency SLO; 0 if even one sequence does not."""
    usable = usable_gib(accelerator)
    gpus_per_replica = tensor_parallel * pipeline_parallel
    per_sequence = model.context_tokens * model.kv_bytes_per_token / gpus_per_replica / GIB
    fixed = model.weight_bytes / gpus_per_replica / GIB + RUNTIME_RESERVE_GIB
    by_memory = math.floor((usable - fixed) / per_sequence) if usable > fixed else 0
    # Each step holds the batch's next tokens and the prompts that start meanwhile (batch / completion_tokens).
    by_step = math.floor(step_tokens(accelerator) / (1 + model.prompt_tokens / model.completion_tokens))
    low, high = 0, max(min(by_memory, by_step), 0)
    while low < high:  # latency grows with batch: binary-search the largest batch within the SLO
        middle = (low + high + 1) // 2
        performance = replica_performance(model, accelerator, tensor_parallel, middle, pipeline_parallel)
        if performance.request_latency_s <= model.p95_latency_seconds:
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
    """Every scenario of a model that must fit one node (see plan_serving)."""
    return list(plan_serving(model, accelerator, tensor_parallel).scenarios)


def plan_serving(
    model: ServedModel, accelerator: Accelerator, tensor_parallel: int | None = None, max_nodes_per_replica: int = 1
) -> ServingPlan:
    """Choose the model's topology and plan every scenario; raise CapacityError when it cannot be served here.

    `tensor_parallel` pins the degree (an operator's choice). `max_nodes_per_replica` above 1 allows a replica
    across nodes (an EFA pool), used only when no single node holds the model and one sequence's KV cache.
    The topology is the one that needs the fewest GPUs at the peak; ties go to the narrower (less communication).
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
    # Across nodes only in whole nodes, each one NVLink domain, at the full tensor-parallel width.
    max_nodes = max_nodes_per_replica if widest == accelerator.gpus_per_node == degrees[-1] else 1
    feasible = {(tp, 1): batch for tp in degrees if (batch := max_batch(model, accelerator, tp)) > 0}
    if not feasible and memory_per_gpu_gib(model, widest, 1) > usable_gib(accelerator):
        feasible = {(widest, pp): batch for pp in range(2, max_nodes + 1) if (batch := max_batch(model, accelerator, widest, pp)) > 0}
    if not feasible:
        raise infeasible(model, accelerator, degrees[-1], max_nodes)
    peak = model.peak_concurrency
    chosen_tp, chosen_pp = min(feasible, key=lambda key: (math.ceil(peak / feasible[key]) * key[0] * key[1], key[1], key[0]))
    topology = describe_topology(model, accelerator, chosen_tp, chosen_pp, pinned=tensor_parallel is not None, feasible=feasible)
    return ServingPlan(topology, tuple(plan_scenario(model, accelerator, topology, feasible[(chosen_tp, chosen_pp)], name, concurrency)
                                       for name, concurrency in scenario_concurrency(model).items()))


def infeasible(model: ServedModel, accelerator: Accelerator, widest: int, max_nodes: int) -> CapacityError:
    """Why nothing works: the memory of the widest layout allowed, or the latency of one request alone."""
    usable = usable_gib(accelerator)
    fits = [pp for pp in range(1, max_nodes + 1) if memory_per_gpu_gib(model, widest, 1, pp) <= usable]
    if not fits:
        over = f" over {max_nodes} nodes" if max_nodes > 1 else ""
        return DoesNotFit(
            f"{model.name} needs {memory_per_gpu_gib(model, widest, 1, max_nodes):.1f} GiB per GPU at TP={widest}{over} (weights "
            f"and one {model.context_tokens}-token sequence), more than the {usable:.1f} GiB usable on {accelerator.instance_type}'s "
            f"{accelerator.gpu}, whose NVLink domain is {gpus(accelerator.nvlink_domain)}"
        )
    layout = f"TP={widest}" + (f" x PP={fits[0]}" if fits[0] > 1 else "")
    fastest = replica_performance(model, accelerator, widest, 1, fits[0])
    return CapacityError(
        f"{model.name} cannot meet its p95 latency of {model.p95_latency_seconds:g}s on {accelerator.instance_type}: "
        f"one request alone takes {fastest.request_latency_s:.2f}s at {layout}"
    )


def describe_topology(
    model: ServedModel, accelerator: Accelerator, tp: int, pp: int, pinned: bool, feasible: dict[tuple[int, int], int]
) -> Topology:
    """The chosen layout and the figures that decided it."""
    weights = model.weight_bytes / GIB
    usable = usable_gib(accelerator)
    one_sequence = f"weights ({weights:.0f} GiB) and one {model.context_tokens}-token sequence"
    if pp > 1:
        node_needs = memory_per_gpu_gib(model, tp, 1) * tp
        return Topology("multi-node", tp, pp, (
            f"the {one_sequence} need {node_needs:.0f} GiB, more than the {usable * accelerator.gpus_per_node:.0f} GiB usable "
            f"on one {accelerator.instance_type}: TP={tp} inside each node x PP={pp} across {pp} nodes over EFA"
        ))
    if pinned:
        return Topology("one-gpu" if tp == 1 else "tensor-parallel", tp, 1, f"TP={tp} pinned in the stack file")
    if tp == 1:
        return Topology("one-gpu", 1, 1, f"one {accelerator.gpu} holds the {one_sequence} and meets the SLO with the fewest GPUs")
    narrower = [degree for degree in TENSOR_PARALLEL_DEGREES if degree < tp]
    if not any((degree, 1) in feasible for degree in narrower):
        half = narrower[-1]
        return Topology("tensor-parallel", tp, 1, (
            f"the {one_sequence} need {memory_per_gpu_gib(model, half, 1):.1f} GiB per GPU at TP={half}, more than the "
            f"{usable:.1f} GiB usable (or miss the SLO there): TP={tp} inside the NVLink domain of {gpus(accelerator.nvlink_domain)}"
        ))
    return Topology("tensor-parallel", tp, 1, (
        f"TP={tp} inside the NVLink domain needs the fewest GPUs at peak: a batch of {feasible[(tp, 1)]} per replica "
        f"against {feasible[(narrower[-1], 1)]} at TP={narrower[-1]}"
    ))


def plan_scenario(model: ServedModel, accelerator: Accelerator, topology: Topology, batch_limit: int, scenario: str, concurrency: int) -> ScenarioPlan:
    tensor_parallel, pipeline_parallel = topology.tensor_parallel, topology.pipeline_parallel
    replicas = math.ceil(concurrency / batch_limit)
    batch = math.ceil(concurrency / replicas)
    if pipeline_parallel > 1:
        nodes = replicas * pipeline_parallel
    else:
        nodes = math.ceil(replicas / (accelerator.gpus_per_node // tensor_parallel))
    if scenario == "incident":
        nodes += INCIDENT_NODES_LOST * pipeline_parallel  # a lost node takes its whole replica with it
    performance = replica_performance(model, accelerator, tensor_parallel, batch, pipeline_parallel)
    return ScenarioPlan(
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
        pipeline_parallel=pipeline_parallel,
    )
