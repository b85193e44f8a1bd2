"""The dated price tables: GPU instances in `data/instances.yaml` (the instance catalog), everything else in
`data/prices.yaml`. Pure data, no Pulumi, no AWS calls."""
from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from aiplane.files import read_yaml
from aiplane.planning.instances import load_instance_catalog

PRICES = Path(__file__).resolve().parent.parent / "data" / "prices.yaml"


class Prices(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    price_date: date = Field(alias="priceDate")
    price_region: str = Field(alias="priceRegion")
    hours_per_month: int = Field(alias="hoursPerMonth")
    sources: dict[str, str]
    eks_cluster_per_hour: float = Field(alias="eksClusterPerHour")
    nat_gateway_per_hour: float = Field(alias="natGatewayPerHour")
    interface_endpoint_per_az_hour: float = Field(alias="interfaceEndpointPerAzHour")
    kms_key_per_month: float = Field(alias="kmsKeyPerMonth")
    ebs_gp3_per_gib_month: float = Field(alias="ebsGp3PerGibMonth")
    log_ingestion_per_gib: float = Field(alias="logIngestionPerGib")
    log_storage_per_gib_month: float = Field(alias="logStoragePerGibMonth")
    aurora_serverless_v2_per_acu_hour: float = Field(alias="auroraServerlessV2PerAcuHour")
    opensearch_serverless_per_ocu_hour: float = Field(alias="opensearchServerlessPerOcuHour")
    s3_per_gib_month: dict[str, float] = Field(alias="s3PerGibMonth")
    lustre_per_gib_month: dict[str, float] = Field(alias="lustrePerGibMonth")
    instances_per_hour: dict[str, float] = Field(alias="instancesPerHour")


@functools.cache
def load_prices() -> Prices:
    return Prices.model_validate(read_yaml(PRICES))


def instance_price(instance_type: str) -> float | None:
    """On-demand USD per hour: the GPU catalog's, else the price table's; None where neither has one."""
    catalog = load_instance_catalog()
    if instance_type in catalog.instances:
        return catalog.instances[instance_type].on_demand_usd_per_hour
    return load_prices().instances_per_hour.get(instance_type)


def self_hosted_usd_per_token(
    instance_usd_per_hour: float, gpus_per_node: int, gpus_per_replica: int, batch_per_replica: int, request_latency_s: float,
    prompt_tokens: int, completion_tokens: int,
) -> float:
    """What a token served on our own GPUs costs: a replica's share of its node's hourly price (its tensor-
    parallel GPUs, on every node of a multi-node replica), over the tokens (prompt and completion) the capacity plan has it serve per hour at the peak:
    `batch_per_replica` requests in flight, each taking `request_latency_s`. At that load a replica's spend per
    hour equals what its GPUs cost; below it, the gateway's spend under-counts idle capacity, on purpose (the
    idle share is the platform's, not a tenant's)."""
    replica_usd_per_hour = instance_usd_per_hour / gpus_per_node * gpus_per_replica
    tokens_per_hour = batch_per_replica / request_latency_s * 3600 * (prompt_tokens + completion_tokens)
    return replica_usd_per_hour / tokens_per_hour
