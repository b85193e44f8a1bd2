"""How GPU work is scheduled: the allocation mode (device plugin or Dynamic Resource Allocation) and the
platform's own evaluation queue. Tenants' queues come from their blueprints (`aiplane.spec.tenant`)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from aiplane.spec.common import Model, PoolName

GpuAllocation = Literal["device-plugin", "dra"]
# resource.k8s.io/v1 (DRA's GA API, which the NVIDIA DRA driver and Kueue's DRA accounting use) is served
# from Kubernetes 1.34 (KEP-4381; Kueue's DRA page: "requires a Kubernetes cluster running version 1.34").
DRA_MIN_KUBERNETES = "1.34"
MAX_QUEUE_GPUS = 4096


class EvaluationQueueSpec(Model):
    """The platform's queue for evaluation jobs (namespace `evaluation`), at the lowest priority."""

    gpus: int = Field(default=0, ge=0, le=MAX_QUEUE_GPUS, description="Nominal GPUs of the queue.")
    borrowing_limit: int = Field(
        default=0, ge=0, le=MAX_QUEUE_GPUS, description="GPUs it may borrow above its nominal while other queues leave theirs idle."
    )
    pool: PoolName | None = Field(default=None, description="The pool its GPUs come from. Default: the shared pool with the most GPUs left after serving and the queues before it.")


class SchedulingSpec(Model):
    gpu_allocation: GpuAllocation = Field(
        default="device-plugin",
        description="device-plugin: pods ask for `nvidia.com/gpu`; dra: the NVIDIA DRA driver, a DeviceClass per GPU product and "
        f"ResourceClaimTemplates (Kubernetes {DRA_MIN_KUBERNETES} or later).",
    )
    evaluation: EvaluationQueueSpec = Field(default_factory=EvaluationQueueSpec)
