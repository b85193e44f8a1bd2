"""Monthly cost estimates, from the synthesized graph and two price tables: GPU instances in
`data/instances.yaml`, everything else in `data/prices.yaml`. Pure: no Pulumi, no AWS calls.

Every priced resource becomes a line (its component, its tenant, what is counted and how much); lines add
up per component, per tenant and for the stack. What cannot be estimated is listed, not guessed: the data
a NAT gateway processes, spot prices, and Karpenter nodes above their minimum.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aiplane.catalog import load_catalog
from aiplane.graph import GraphResource, ResourceGraph
from aiplane.spec import StackSpec, read_yaml
from aiplane.tagging import TENANT_TAG

PRICES = Path(__file__).with_name("data") / "prices.yaml"
SYSTEM_COMPONENT = "stack"


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


@dataclass(frozen=True)
class CostLine:
    component: str
    tenant: str | None
    resource: str
    what: str
    usd_per_month: float


@dataclass
class CostEstimate:
    environment: str
    price_date: date
    instance_price_date: date
    lines: list[CostLine] = field(default_factory=list)
    not_estimated: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return round(sum(line.usd_per_month for line in self.lines), 2)

    def by(self, key: str) -> dict[str, float]:
        totals: dict[str, float] = {}
        for line in self.lines:
            name = getattr(line, key) or ("shared" if key == "tenant" else SYSTEM_COMPONENT)
            totals[name] = round(totals.get(name, 0.0) + line.usd_per_month, 2)
        return dict(sorted(totals.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "currency": "USD",
            "perMonth": True,
            "priceDate": self.price_date.isoformat(),
            "instancePriceDate": self.instance_price_date.isoformat(),
            "total": self.total,
            "byComponent": self.by("component"),
            "byTenant": self.by("tenant"),
            "lines": [
                {"component": line.component, "tenant": line.tenant, "resource": line.resource, "what": line.what,
                 "usdPerMonth": round(line.usd_per_month, 2)}
                for line in self.lines
            ],
            "notEstimated": self.not_estimated,
        }


def instance_price(instance_type: str) -> float | None:
    """On-demand USD per hour: the GPU catalog's, else the price table's; None where neither has one."""
    catalog = load_catalog()
    if instance_type in catalog.instances:
        return catalog.instances[instance_type].on_demand_usd_per_hour
    return load_prices().instances_per_hour.get(instance_type)


def estimate(spec: StackSpec, graph: ResourceGraph) -> CostEstimate:
    prices = load_prices()
    result = CostEstimate(spec.environment, prices.price_date, load_catalog().price_date)
    hours = prices.hours_per_month
    launch_templates = {resource.urn: resource for resource in graph.of_type("aws:ec2/launchTemplate:LaunchTemplate")}
    storage = spec.platform.storage

    def add(resource: GraphResource, what: str, usd: float) -> None:
        owner = graph.owning_component(resource)
        tenant = (resource.inputs.get("tags") or {}).get(TENANT_TAG) if isinstance(resource.inputs.get("tags"), dict) else None
        result.lines.append(CostLine(owner.name if owner else SYSTEM_COMPONENT, tenant, resource.name, what, usd))

    for resource in graph.custom_resources:
        inputs = resource.inputs
        kind = resource.type
        if kind == "aws:eks/cluster:Cluster":
            add(resource, "EKS control plane", prices.eks_cluster_per_hour * hours)
        elif kind == "aws:eks/nodeGroup:NodeGroup":
            nodes = inputs["scalingConfig"]["desiredSize"]
            template = next((launch_templates[urn] for urn in resource.dependencies if urn in launch_templates), None)
            types = inputs.get("instanceTypes") or ([template.inputs.get("instanceType")] if template else [])
            price = instance_price(types[0]) if types else None
            if price is None:
                result.not_estimated.append(f"{resource.name}: no on-demand price for {types[0] if types else 'its instance type'}")
            elif nodes:
                capacity = inputs.get("capacityType", "ON_DEMAND")
                add(resource, f"{nodes} × {types[0]} ({capacity.lower().replace('_', '-')}, at on-demand price)", nodes * price * hours)
            if template and nodes:
                disk = sum(mapping.get("ebs", {}).get("volumeSize", 0) for mapping in template.inputs.get("blockDeviceMappings", []))
                if disk:
                    add(resource, f"{nodes} × {disk} GiB gp3 root volumes", nodes * disk * prices.ebs_gp3_per_gib_month)
        elif kind == "aws:ec2/natGateway:NatGateway":
            add(resource, "NAT gateway hours (data processed not estimated)", prices.nat_gateway_per_hour * hours)
        elif kind == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Interface":
            zones = len(inputs.get("subnetIds") or [])
            add(resource, f"interface endpoint in {zones} zones", prices.interface_endpoint_per_az_hour * zones * hours)
        elif kind == "aws:kms/key:Key":
            add(resource, "customer-managed key", prices.kms_key_per_month)
        elif kind == "aws:cloudwatch/logGroup:LogGroup":
            gib = spec.platform.cost.log_gib_per_group_per_month
            add(resource, f"{gib:g} GiB/month of logs ingested and kept", gib * (prices.log_ingestion_per_gib + prices.log_storage_per_gib_month))
        elif kind == "aws:s3/bucket:Bucket":
            tags = inputs.get("tags") or {}
            purpose = tags.get("aiplane:purpose")
            bucket = getattr(storage.buckets, purpose, None) if purpose else None
            if tags.get(TENANT_TAG):
                # The stack's volumes are the shared buckets'; a tenant's own buckets have no estimate yet.
                result.not_estimated.append(f"{resource.name}: data in tenant {tags[TENANT_TAG]}'s own bucket")
            elif bucket is not None:
                tiering = bucket.tiering(purpose)
                volumes = {"STANDARD": bucket.estimated_gib.hot, tiering.warm_class: bucket.estimated_gib.warm,
                           tiering.archive_class: bucket.estimated_gib.archive}
                usd = sum(gib * prices.s3_per_gib_month[storage_class] for storage_class, gib in volumes.items())
                if usd:
                    add(resource, " + ".join(f"{gib:g} GiB {cls}" for cls, gib in volumes.items() if gib), usd)
        elif kind == "aws:s3/directoryBucket:DirectoryBucket" and storage.express_one_zone:
            gib = storage.express_one_zone.estimated_gib
            if gib:
                add(resource, f"{gib:g} GiB S3 Express One Zone", gib * prices.s3_per_gib_month["EXPRESS_ONE_ZONE"])
        elif kind == "aws:fsx/lustreFileSystem:LustreFileSystem":
            gib = inputs["storageCapacity"]
            rate = prices.lustre_per_gib_month[str(inputs["perUnitStorageThroughput"])]
            add(resource, f"{gib} GiB Lustre at {inputs['perUnitStorageThroughput']} MB/s/TiB", gib * rate)
        elif kind == "aws:rds/clusterInstance:ClusterInstance":
            cluster = next((graph[urn] for urn in resource.dependencies if graph[urn].type == "aws:rds/cluster:Cluster"), None)
            acu = (cluster.inputs.get("serverlessv2ScalingConfiguration") or {}).get("minCapacity", 0.5) if cluster else 0.5
            add(resource, f"Aurora Serverless v2 at its minimum {acu:g} ACU", acu * prices.aurora_serverless_v2_per_acu_hour * hours)
        elif kind == "aws:opensearch/serverlessCollection:ServerlessCollection":
            ocus = 2 if inputs.get("standbyReplicas") == "ENABLED" else 1
            add(resource, f"OpenSearch Serverless minimum: {ocus} OCU indexing + {ocus} OCU search",
                2 * ocus * prices.opensearch_serverless_per_ocu_hour * hours)
    for resource in graph.resources:
        if resource.type == "kubernetes:karpenter.sh/v1:NodePool":
            result.not_estimated.append(f"{resource.name}: Karpenter nodes (scale from zero; billed as launched)")
    return result


# Budget periods of gateway keys, as parts of a month.
KEY_PERIODS_PER_MONTH = {"1d": 30.0, "7d": 30.0 / 7, "30d": 1.0}


def tenant_infrastructure_estimate(spec: StackSpec | None, tenant: Any) -> float:
    """What a tenant's own resources cost per month, from its plan, priced as `estimate` prices them from
    the graph (a test holds the two equal): its dedicated pool at its desired size with root volumes, its
    own key, and its own vector database's minimum."""
    from aiplane.profiles import PROFILES

    prices = load_prices()
    hours = prices.hours_per_month
    plan = tenant.plan
    usd = 0.0
    pool = tenant.pool_spec()
    if pool is not None and pool.nodes.desired:
        price = instance_price(pool.instance_types[0]) or 0.0
        disk = pool.disk_size_gib or PROFILES[pool.profile].disk_gib
        usd += pool.nodes.desired * (price * hours + disk * prices.ebs_gp3_per_gib_month)
    if plan.encryption == "own-key":
        usd += prices.kms_key_per_month
    database = plan.vector_database
    if database is not None and database.engine == "opensearch-serverless":
        ocus = 2 if database.standby_replicas else 1
        usd += prices.kms_key_per_month + 2 * ocus * prices.opensearch_serverless_per_ocu_hour * hours
    elif database is not None and database.engine == "pgvector":
        usd += 3 * prices.kms_key_per_month + database.instances * database.min_capacity_acu * prices.aurora_serverless_v2_per_acu_hour * hours
        log_gib = spec.platform.cost.log_gib_per_group_per_month if spec else 1.0
        usd += log_gib * (prices.log_ingestion_per_gib + prices.log_storage_per_gib_month)
    return round(usd, 2)


def tenant_monthly_estimate(spec: StackSpec | None, tenant: Any) -> float:
    """The tenant's own resources plus what its gateway key may spend in a month: what AIP_FIN_2 holds
    against the tenant's monthly budget."""
    gateway = tenant.plan.gateway
    key = gateway.budget_usd * KEY_PERIODS_PER_MONTH[gateway.budget_duration] if gateway else 0.0
    return round(tenant_infrastructure_estimate(spec, tenant) + key, 2)
