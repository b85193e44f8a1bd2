"""The model gateway: providers, routes, fallbacks, tiers with their degradation, and tenants' keys."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from aiplane.planning.routing import TaskClass, fallback_cycle
from aiplane.spec.common import (
    MAX_REPLICAS,
    MAX_REQUESTS_PER_MINUTE,
    MAX_TOKENS_PER_MINUTE,
    MAX_USD,
    Ipv4Cidr,
    KubernetesName,
    Model,
    ModelName,
)
from aiplane.spec.storage import AuroraSettings


class SecretRefSpec(Model):
    """A key in a Kubernetes Secret of the gateway's namespace, created outside the stack file."""

    secret: KubernetesName
    key: str = Field(pattern=r"^[-._a-zA-Z0-9]{1,253}$")


class ProviderModelSpec(Model):
    """A managed model the gateway reaches over the internet (OpenAI, Anthropic, Bedrock, ...)."""

    name: ModelName = Field(description="The name routes and fallbacks use.")
    model: str = Field(pattern=r"^[a-z0-9_]+/[\w.:/@-]+$", description="LiteLLM's provider/model, e.g. openai/gpt-4o.")
    api_key: SecretRefSpec | None = Field(default=None, description="Where the key is; none for providers that use the pod's IAM role (bedrock).")
    api_base: str | None = Field(default=None, pattern=r"^https://[\w.-]+(:\d+)?(/[\w./-]*)?$")

    @model_validator(mode="before")
    @classmethod
    def _keys_are_referenced(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("apiKey") is None and not str(data.get("model", "")).startswith("bedrock/"):
            raise ValueError("apiKey is required: only bedrock/ models are reached without a key (through the gateway's IAM role)")
        if isinstance(data, dict) and isinstance(data.get("apiKey"), str):
            # The value is never echoed: it is a credential.
            raise ValueError(
                "apiKey is a literal key; a key in a stack file ends up in git: reference a Kubernetes Secret "
                "instead, apiKey: {secret: NAME, key: KEY}"
            )
        return data


class DegradationSpec(Model):
    model: ModelName = Field(description="The smaller model the tier falls back to under overload.")
    max_tokens: int = Field(gt=0, le=131072, description="Completions are capped at this many tokens.")
    tools: bool = Field(default=False, description="Whether tool calls survive degradation.")


class TierSpec(Model):
    degrade: DegradationSpec | None = Field(default=None, description="Under overload; none: fail over to fallbacks only.")


class KeyLimits(Model):
    """A virtual key's tier, budget and rate limits: a stack's gateway key, or a tenant's from its blueprint."""

    tier: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    budget_usd: float = Field(ge=0, le=MAX_USD, description="Spend allowed per budget period.")
    budget_duration: Literal["1d", "7d", "30d"] = "30d"
    rpm: int = Field(gt=0, le=MAX_REQUESTS_PER_MINUTE, description="Requests per minute.")
    tpm: int = Field(gt=0, le=MAX_TOKENS_PER_MINUTE, description="Tokens per minute.")


class GatewayKeySpec(KeyLimits):
    """A tenant's virtual key: what it may spend and how fast it may call."""

    tenant: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")]


class ReplicaRangeSpec(Model):
    min: int = Field(ge=1, le=MAX_REPLICAS)
    max: int = Field(ge=1, le=MAX_REPLICAS)

    @model_validator(mode="after")
    def _ordered(self) -> ReplicaRangeSpec:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class GatewayDatabaseSpec(Model, AuroraSettings):
    """The gateway's metering database (keys, budgets, spend): Aurora PostgreSQL Serverless v2."""

    max_capacity_acu: float = Field(default=4, ge=1, le=256, multiple_of=0.5)


class GatewaySpec(Model):
    replicas: ReplicaRangeSpec = ReplicaRangeSpec(min=2, max=6)
    database: GatewayDatabaseSpec = GatewayDatabaseSpec()
    exposure: Literal["internal", "public"] = Field(
        default="internal", description="internal: a cluster-internal Service; public: an ALB behind WAF and an allow-list."
    )
    allowed_cidrs: list[Ipv4Cidr] = Field(default_factory=list, description="Public exposure: the networks that may call it.")
    certificate_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[\w-]+$")
    routing_strategy: Literal["simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing-v2"] = "latency-based-routing"
    timeout_seconds: int = Field(default=120, ge=1, le=3600)
    retries: int = Field(default=2, ge=0, le=10)
    providers: list[ProviderModelSpec] = Field(default_factory=list)
    routes: dict[TaskClass, ModelName] = Field(
        default_factory=dict,
        description="Task class to model; default: classification, extraction and summarization to the smallest served model, "
        "synthesis and reasoning to the largest.",
    )
    fallbacks: dict[ModelName, list[ModelName]] = Field(default_factory=dict, description="Where a model's requests go when it fails.")
    tiers: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")], TierSpec] = Field(
        default_factory=lambda: {"standard": TierSpec()}, min_length=1
    )
    keys: list[GatewayKeySpec] = Field(default_factory=list, description="Tenants' virtual keys, budgets and rate limits.")

    @model_validator(mode="after")
    def _exposure_is_guarded(self) -> GatewaySpec:
        if self.exposure == "public" and (not self.allowed_cidrs or not self.certificate_arn):
            raise ValueError("exposure 'public' needs allowedCidrs (the callers' networks) and certificateArn (TLS on the load balancer)")
        if self.exposure == "internal" and self.allowed_cidrs:
            raise ValueError("allowedCidrs is set but exposure is 'internal'")
        for index, key in enumerate(self.keys):
            if key.tier not in self.tiers:
                raise ValueError(f"keys[{index}] (tenant {key.tenant!r}): tier {key.tier!r} is not defined (tiers: {', '.join(self.tiers)})")
        tenants = [key.tenant for key in self.keys]
        repeated = sorted({tenant for tenant in tenants if tenants.count(tenant) > 1})
        if repeated:
            raise ValueError(f"one key per tenant, repeated: {', '.join(repeated)}")
        cycle = fallback_cycle(self.fallbacks)
        if cycle:
            raise ValueError(f"fallbacks: a fallback cycle: {' -> '.join(cycle)}")
        return self


class ServingSpec(Model):
    gateway: GatewaySpec | None = Field(default=None, description="The model gateway (LiteLLM) in front of the model servers.")
