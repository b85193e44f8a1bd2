"""Metrics, logs, traces, dashboards and SLOs; and the retention floors a policy profile sets."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from aiplane.spec.common import Model, PoolName, RetentionDays


class MetricsSpec(Model):
    retention_days: int = Field(default=15, ge=1, le=3650, description="How long Prometheus keeps samples.")
    storage_gib: int = Field(default=50, ge=1, le=16384, description="Prometheus's encrypted volume.")


class LogsSpec(Model):
    retention_days: RetentionDays = Field(default=90, description="Workload log group retention.")


class TracesSpec(Model):
    exporter: Literal["xray", "otlp"] = Field(default="xray", description="Where the collector sends traces.")
    otlp_endpoint: str | None = Field(default=None, pattern=r"^https://[\w.-]+(:\d+)?(/[\w./-]*)?$")

    @model_validator(mode="after")
    def _endpoint_for_otlp(self) -> TracesSpec:
        if (self.exporter == "otlp") != (self.otlp_endpoint is not None):
            raise ValueError("exporter otlp, and only it, takes otlpEndpoint")
        return self


class DashboardSpec(Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")
    pools: list[PoolName] = Field(min_length=1, description="The GPU pools the dashboard shows, one row each.")


class SloSpec(Model):
    availability: float = Field(default=0.995, gt=0.9, lt=1, description="Share of gateway requests that must succeed (30 days).")
    p95_latency_seconds: float = Field(default=10, gt=0, le=3600, description="The gateway's p95 latency objective.")


class ObservabilitySpec(Model):
    metrics: MetricsSpec = MetricsSpec()
    logs: LogsSpec = LogsSpec()
    traces: TracesSpec = TracesSpec()
    dashboards: list[DashboardSpec] = Field(default_factory=list, description="Dashboards of groups of pools, besides the shipped ones.")
    slo: SloSpec = SloSpec()


class RetentionMinimums(Model):
    """A policy profile's floor for retention (`minimumRetentionDays` in policies/profiles/<env>.yaml)."""

    metrics: int = Field(default=1, ge=1)
    logs: int = Field(default=1, ge=1)
    audit_object_lock: int = Field(default=1, ge=1, le=36500, description="Days the audit bucket's Object Lock keeps each version (AIP_S3_6).")
