"""The VPC: its range, zones, NAT, subnets, interface endpoints and flow logs."""
from __future__ import annotations

from ipaddress import IPv4Network
from typing import Annotated, Literal

from pydantic import Field, model_validator

from aiplane.planning.cidr import CidrPlanError, plan_subnets
from aiplane.spec.common import AvailabilityZone, Ipv4Cidr, Model, RetentionDays


class FlowLogSpec(Model):
    retention_days: RetentionDays = 90


class NetworkSpec(Model):
    cidr: Ipv4Cidr
    az_count: int = Field(default=2, ge=2, le=6, description="EKS needs subnets in at least two zones.")
    availability_zones: list[AvailabilityZone] | None = Field(
        default=None, description="Explicit zones; default: the region's first azCount zones (a, b, c, ...)."
    )
    nat_gateways: Literal["single", "per-az"] = Field(
        default="single", description="One NAT gateway for the VPC, or one per zone so a zone outage keeps egress."
    )
    public_subnet_prefix: int = Field(default=24, ge=16, le=28)
    private_subnet_prefix: int = Field(default=19, ge=16, le=28, description="Large: the VPC CNI gives pods VPC addresses.")
    interface_endpoints: list[Annotated[str, Field(pattern=r"^[a-z0-9.-]+$")]] = Field(
        default_factory=lambda: ["ecr.api", "ecr.dkr", "sts"],
        description="Services reached through interface endpoints, so nodes pull images without NAT charges.",
    )
    flow_logs: FlowLogSpec = FlowLogSpec()

    @model_validator(mode="after")
    def _zones_and_subnets_fit(self) -> NetworkSpec:
        prefix = IPv4Network(self.cidr).prefixlen
        if not 16 <= prefix <= 24:
            raise ValueError(f"cidr {self.cidr!r} must be between /16 and /24")
        if self.availability_zones is not None and len(self.availability_zones) != self.az_count:
            raise ValueError(f"availabilityZones lists {len(self.availability_zones)} zones but azCount is {self.az_count}")
        try:
            plan_subnets(self.cidr, [str(i) for i in range(self.az_count)], self.subnet_prefixes)
        except CidrPlanError as error:
            raise ValueError(str(error)) from None
        return self

    @property
    def subnet_prefixes(self) -> dict[str, int]:
        return {"public": self.public_subnet_prefix, "private": self.private_subnet_prefix}

    def zones(self, region: str) -> list[str]:
        return list(self.availability_zones or [f"{region}{chr(ord('a') + i)}" for i in range(self.az_count)])
