"""The instance catalog: the GPU instance types aiplane can place pools on, with a source for every figure.

The data lives in `aiplane/data/instances.yaml`; this module validates it once and answers questions
about it. Pure data, no Pulumi: the capacity planner, the pool validation and the policy checks read it.
"""
from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator
from pydantic.alias_generators import to_camel

from aiplane.planning.capacity import Accelerator

CATALOG_PATH = Path(__file__).resolve().parent.parent / "data" / "instances.yaml"
MIB_PER_GIB = 1024


class DataModel(BaseModel):
    """A record of one of aiplane's data files: camelCase keys, no extras, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, validate_by_alias=True)


class Source(DataModel):
    title: str = Field(min_length=1)
    url: HttpUrl
    checked: date


class FigureSources(DataModel):
    """Which source backs each group of figures (keys into the catalog's `sources`)."""

    instance: str = Field(description="GPU count, vCPUs, memory, network, network cards, EFA support.")
    gpu: str = Field(description="HBM bandwidth and dense BF16 throughput per GPU, NVLink domain.")
    price: str = Field(description="On-demand price in us-east-1 (Linux).")


class InstanceType(DataModel):
    name: str = Field(description="Filled in from the key in `instances`.")
    gpu: str = Field(min_length=1, description="Short GPU model name, e.g. H100.")
    gpu_product: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="The value GPU feature discovery puts in the node label nvidia.com/gpu.product.",
    )
    gpus: Annotated[int, Field(ge=1, le=16)]
    gpu_memory_mib: Annotated[int, Field(gt=0, description="Per GPU, as DescribeInstanceTypes reports it.")]
    nvlink_domain: Annotated[int, Field(ge=1, description="GPUs joined by NVLink/NVSwitch; 1 where there is none.")]
    hbm_tbps: Annotated[float, Field(gt=0, description="Memory bandwidth per GPU, TB/s (datasheet).")]
    dense_bf16_tflops: Annotated[float, Field(gt=0, description="Dense (no sparsity) BF16 tensor throughput per GPU.")]
    vcpus: Annotated[int, Field(gt=0)]
    memory_gib: Annotated[int, Field(gt=0)]
    network_gbps: Annotated[float, Field(gt=0, description="Peak ('up to') bandwidth where AWS gives no baseline.")]
    efa: bool
    network_cards: Annotated[int, Field(ge=1)]
    max_efa_interfaces: Annotated[int, Field(ge=0)]
    efa_only_interfaces: bool = Field(description="Whether the instance accepts the EFA-only interface type.")
    on_demand_usd_per_hour: Annotated[float, Field(gt=0)] | None = Field(
        description="Linux, in the catalog's price region; null where AWS sells the type only as Capacity Blocks."
    )
    sources: FigureSources

    @model_validator(mode="after")
    def _consistent(self) -> InstanceType:
        if self.nvlink_domain > self.gpus:
            raise ValueError(f"nvlinkDomain {self.nvlink_domain} exceeds the {self.gpus} GPUs of the instance")
        if self.efa != (self.max_efa_interfaces > 0):
            raise ValueError("efa must be true exactly when maxEfaInterfaces is above 0")
        if self.max_efa_interfaces > self.network_cards:
            raise ValueError("maxEfaInterfaces exceeds networkCards (one EFA interface per card at most)")
        if self.efa_only_interfaces and not self.efa:
            raise ValueError("efaOnlyInterfaces needs efa")
        return self

    @property
    def family(self) -> str:
        return self.name.split(".")[0]

    @property
    def gpu_memory_gib(self) -> float:
        return self.gpu_memory_mib / MIB_PER_GIB

    def accelerator(self) -> Accelerator:
        return Accelerator(
            instance_type=self.name,
            gpu=self.gpu,
            gpus_per_node=self.gpus,
            nvlink_domain=self.nvlink_domain,
            memory_gib_per_gpu=self.gpu_memory_gib,
            hbm_tbps_per_gpu=self.hbm_tbps,
            dense_bf16_tflops_per_gpu=self.dense_bf16_tflops,
        )


class Catalog(DataModel):
    price_date: date = Field(description="The day the on-demand prices were read.")
    price_region: str = "us-east-1"
    sources: dict[str, Source]
    instances: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")], InstanceType]

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("instances"), dict):
            instances = {
                name: {**fields, "name": name} if isinstance(fields, dict) and "name" not in fields else fields
                for name, fields in data["instances"].items()
            }
            data = {**data, "instances": instances}
        return data

    @model_validator(mode="after")
    def _sources_exist(self) -> Catalog:
        for name, instance in self.instances.items():
            for figure, key in instance.sources.model_dump().items():
                if key not in self.sources:
                    raise ValueError(f"instances.{name}.sources.{figure}: {key!r} is not in sources")
        return self

    def get(self, instance_type: str) -> InstanceType | None:
        return self.instances.get(instance_type)

    def families(self) -> list[str]:
        return sorted({instance.family for instance in self.instances.values()})


@functools.cache
def load_instance_catalog(path: Path = CATALOG_PATH) -> Catalog:
    from ruamel.yaml import YAML

    return Catalog.model_validate(YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")))
