"""GPU node pools and the models served on them: the capacity planner's input."""
from __future__ import annotations

import math

from pydantic import Field, model_validator

from aiplane.planning.capacity import ServedModel
from aiplane.planning.compute import ModelDemand, PoolDemand
from aiplane.planning.instances import load_instance_catalog
from aiplane.planning.node_profiles import (
    NODE_PROFILES,
    CapacityType,
    PoolMode,
    ProfileName,
)
from aiplane.spec.common import (
    MAX_NODES_PER_GROUP,
    MAX_REQUESTS_IN_FLIGHT,
    MAX_REQUESTS_PER_SECOND,
    AvailabilityZone,
    InstanceType,
    Model,
    ModelName,
    PoolName,
)


class NodeCountSpec(Model):
    min: int = Field(ge=0, le=MAX_NODES_PER_GROUP)
    desired: int = Field(ge=0, le=MAX_NODES_PER_GROUP)
    max: int = Field(ge=1, le=MAX_NODES_PER_GROUP)

    @model_validator(mode="after")
    def _ordered(self) -> NodeCountSpec:
        if not self.min <= self.desired <= self.max:
            raise ValueError(f"node counts must satisfy min <= desired <= max, got {self.min}, {self.desired}, {self.max}")
        return self

    @property
    def counts(self) -> tuple[int, int, int]:
        return self.min, self.desired, self.max


class GpuPoolSpec(Model):
    """A GPU node pool. Its profile sets the defaults; its sizes come from the models it serves."""

    name: PoolName
    profile: ProfileName
    instance_types: list[InstanceType] = Field(
        min_length=1, description="From the instance catalog; several only for a spot mix of equal GPU count."
    )
    mode: PoolMode = Field(default="managed", description="managed: an EKS managed node group; karpenter: NodePool + EC2NodeClass.")
    capacity_types: list[CapacityType] | None = Field(default=None, description="Default: the profile's first.")
    capacity_reservation_id: str | None = Field(
        default=None,
        pattern=r"^cr-[0-9a-f]{8,17}$",
        description="An On-Demand Capacity Reservation to launch into, or the reservation id of a Capacity Block.",
    )
    efa: bool | None = Field(default=None, description="Default: on for multi-node profiles (training).")
    placement_group: bool | None = Field(
        default=None,
        description="An EFA pool's cluster placement group. Default: on, except on a capacity reservation, which already places its "
        "instances (a forced placement group can then fail the launch with insufficient capacity).",
    )
    availability_zones: list[AvailabilityZone] | None = Field(
        default=None, description="Default: every zone of the stack; a multi-node pool gets the first only."
    )
    nodes: NodeCountSpec | None = Field(default=None, description="For pools that serve no model: sizes set by hand.")
    disk_size_gib: int | None = Field(default=None, ge=50, le=16384, description="Default: the profile's.")

    @model_validator(mode="after")
    def _fits_profile_and_catalog(self) -> GpuPoolSpec:
        profile = NODE_PROFILES[self.profile]
        catalog = load_instance_catalog()
        where = f"pool {self.name!r}"
        instances = []
        for instance_type in self.instance_types:
            instance = catalog.get(instance_type)
            if instance is None:
                raise ValueError(f"{where}: {instance_type} is not in the instance catalog (known: {', '.join(catalog.instances)})")
            if instance.family not in profile.families:
                raise ValueError(f"{where}: profile {self.profile} takes {', '.join(profile.families)} instances, not {instance_type}")
            if instance.gpu_memory_gib < profile.min_gpu_memory_gib:
                raise ValueError(
                    f"{where}: profile {self.profile} needs at least {profile.min_gpu_memory_gib:g} GiB per GPU; "
                    f"{instance_type}'s {instance.gpu} has {instance.gpu_memory_gib:.1f}"
                )
            if instance.gpus > profile.max_gpus_per_node:
                raise ValueError(f"{where}: profile {self.profile} takes nodes of at most {profile.max_gpus_per_node} GPU, not {instance_type}")
            instances.append(instance)
        if len({(instance.gpu_product, instance.gpus, instance.nvlink_domain) for instance in instances}) > 1:
            raise ValueError(f"{where}: instance types in one pool must have the same GPU model, GPU count and NVLink domain")
        capacity = self.effective_capacity_types
        if "capacity-block" in capacity and "spot" in capacity:
            raise ValueError(f"{where}: capacity blocks cannot be combined with spot (a block is reserved, spot is interruptible)")
        for capacity_type in capacity:
            if capacity_type not in profile.capacity_types:
                raise ValueError(f"{where}: profile {self.profile} buys {', '.join(profile.capacity_types)} capacity, not {capacity_type}")
        # A capacity-block pool may load without its reservation, so that `aiplane capacity offers` and `reserve` can
        # buy one for it; synthesis refuses it until then (aiplane.platform.refuse_unbought_capacity_blocks).
        if self.capacity_reservation_id and "spot" in capacity:
            raise ValueError(f"{where}: a capacity reservation cannot be combined with spot")
        if self.mode == "managed" and len(capacity) > 1:
            raise ValueError(f"{where}: a managed node group buys one capacity type; use mode karpenter for a mix")
        if self.mode == "karpenter" and not profile.karpenter:
            raise ValueError(f"{where}: profile {self.profile} runs on managed node groups only, not karpenter")
        if self.mode == "karpenter" and self.capacity_reservation_id:
            raise ValueError(f"{where}: capacity reservations need mode managed")
        if self.efa:
            for instance in instances:
                if not instance.efa:
                    raise ValueError(f"{where}: EFA is asked for, but {instance.name} has no EFA support")
        if self.wants_efa and len(self.instance_types) > 1:
            raise ValueError(f"{where}: an EFA pool takes exactly one instance type (its interfaces are laid out per type)")
        if self.placement_group and not self.wants_efa:
            raise ValueError(f"{where}: placementGroup is for EFA pools; this pool has no EFA")
        if self.placement_group is False and self.wants_efa and not self.capacity_reservation_id:
            raise ValueError(
                f"{where}: placementGroup: false needs capacityReservationId: without a reservation to place them, EFA nodes need "
                "their cluster placement group"
            )
        if self.wants_efa and self.mode == "karpenter":
            raise ValueError(f"{where}: EFA pools need mode managed (a launch template with one interface per network card)")
        if profile.multi_node and self.availability_zones and len(self.availability_zones) > 1:
            raise ValueError(
                f"{where}: a {self.profile} pool must stay in one availability zone (its placement group cannot span zones), "
                f"got {', '.join(self.availability_zones)}"
            )
        return self

    @property
    def effective_capacity_types(self) -> list[CapacityType]:
        return list(self.capacity_types or [NODE_PROFILES[self.profile].default_capacity_type])

    @property
    def wants_placement_group(self) -> bool:
        if not self.wants_efa:
            return False
        return self.placement_group if self.placement_group is not None else self.capacity_reservation_id is None

    @property
    def wants_efa(self) -> bool:
        if self.efa is not None:
            return self.efa
        return NODE_PROFILES[self.profile].multi_node and all(load_instance_catalog().instances[t].efa for t in self.instance_types)


class ServedModelSpec(Model, ServedModel):
    """A model served on a pool, with the traffic it must carry. Architecture fields from its config.json."""

    name: ModelName
    pool: PoolName
    peak_concurrency: int | None = Field(default=None, gt=0, le=MAX_REQUESTS_IN_FLIGHT, description="Requests in flight at the planned peak.")
    peak_rps: float | None = Field(default=None, gt=0, le=MAX_REQUESTS_PER_SECOND, description="Or: requests per second at the peak.")
    tensor_parallel: int | None = Field(default=None, ge=1, description="Pin the TP degree; default: the planner's choice.")
    cold_start_seconds: int | None = Field(
        default=None, gt=0, le=7200, description="Budget for a new replica's time to ready; a plan whose estimate exceeds it is refused."
    )
    weights_prefix: str | None = Field(
        default=None, pattern=r"^[\w.-]+(/[\w.-]+)*/$", description="Where the weights are in the models bucket; default: <name>/."
    )

    @model_validator(mode="after")
    def _one_load_figure(self) -> ServedModelSpec:
        if (self.peak_concurrency is None) == (self.peak_rps is None):
            raise ValueError("give exactly one of peakConcurrency and peakRps")
        return self

    def served_model(self) -> ServedModel:
        """The planner's input. Little's law turns a request rate into concurrency; the SLO bounds the latency."""
        concurrency = self.peak_concurrency or math.ceil(self.peak_rps * self.p95_latency_seconds)
        fields = {name: getattr(self, name) for name in ServedModel.model_fields}
        return ServedModel.model_validate({**fields, "peak_concurrency": concurrency})


class ComputeSpec(Model):
    pools: list[GpuPoolSpec] = Field(default_factory=list)
    models: list[ServedModelSpec] = Field(default_factory=list, description="Served models: the capacity planner's input.")

    @model_validator(mode="after")
    def _models_fit_their_pools(self) -> ComputeSpec:
        for kind, names in (("pool", [p.name for p in self.pools]), ("model", [m.name for m in self.models])):
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise ValueError(f"{kind} names must be unique, repeated: {', '.join(repeated)}")
        pools = {pool.name: pool for pool in self.pools}
        for model in self.models:
            if model.pool not in pools:
                raise ValueError(f"model {model.name!r}: pool {model.pool!r} is not defined (pools: {', '.join(pools) or 'none'})")
        for pool in self.pools:
            serves = [model.name for model in self.models if model.pool == pool.name]
            if serves and pool.nodes:
                raise ValueError(f"pool {pool.name!r}: serves {', '.join(serves)}, so its sizes come from the capacity plan; remove nodes")
            if not serves and not pool.nodes:
                raise ValueError(f"pool {pool.name!r}: serves no model, so it needs nodes (min, desired, max)")
        return self

    def demands(self) -> tuple[list[PoolDemand], list[ModelDemand]]:
        """The pools and models as the compute planner takes them (the loader plans them)."""
        pools = [
            PoolDemand(pool.name, pool.profile, tuple(pool.instance_types), pool.nodes.counts if pool.nodes else None, efa=pool.wants_efa)
            for pool in self.pools
        ]
        models = [
            ModelDemand(model.name, model.pool, model.served_model(), model.tensor_parallel, model.cold_start_seconds) for model in self.models
        ]
        return pools, models
