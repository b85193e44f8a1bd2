"""Monthly cost estimates, from the synthesized graph and two price tables: GPU instances in
`data/instances.yaml`, everything else in `data/prices.yaml`. Pure: no Pulumi, no AWS calls.

Every priced resource becomes a line (its component, its tenant, what is counted and how much); lines add
up per component, per tenant and for the stack. What cannot be estimated is listed, not guessed: the data
a NAT gateway processes, spot prices, and Karpenter nodes above their minimum.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aiplane.components.tagging import TENANT_TAG
from aiplane.planning.instances import load_instance_catalog
from aiplane.planning.prices import instance_price, load_prices, self_hosted_usd_per_token
from aiplane.spec.stack import StackSpec
from aiplane.synth.graph import GraphResource, ResourceGraph

SYSTEM_COMPONENT = "stack"


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
    # USD per token of each served model, as the gateway meters self-hosted use (`served_token_prices`).
    served_usd_per_token: dict[str, float] = field(default_factory=dict)

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
            "servedUsdPerMillionTokens": {model: round(usd * 1e6, 4) for model, usd in sorted(self.served_usd_per_token.items())},
        }


def estimate(spec: StackSpec, graph: ResourceGraph) -> CostEstimate:
    prices = load_prices()
    result = CostEstimate(
        spec.environment, prices.price_date, load_instance_catalog().price_date, served_usd_per_token=served_token_prices(spec)
    )
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


def served_token_prices(spec: StackSpec) -> dict[str, float]:
    """Each served model's cost per token on its pool at the peak scenario of the capacity plan."""
    prices = {}
    for model in spec.platform.compute.models:
        pool = spec.compute_plan.pool(model.pool)
        peak = pool.model(model.name).scenario("peak")
        hourly = instance_price(pool.instance_types[0])
        if hourly is None:
            continue
        prices[model.name] = self_hosted_usd_per_token(
            hourly, pool.gpus_per_node, peak.gpus_per_replica, peak.batch_per_replica, peak.request_latency_s,
            model.prompt_tokens, model.completion_tokens,
        )
    return prices
