"""The gateway's inputs and the constants its callers (tenants, docs) name: image, port, Service name."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aiplane.components.model_gateway.config import GatewayPlan
from aiplane.spec.storage import AuroraSettings

# LiteLLM's non-root image (user nobody), pinned by digest so a re-pushed tag cannot change what runs.
LITELLM_IMAGE = "ghcr.io/berriai/litellm-non_root:v1.100.1@sha256:c36f3b27a5a817329e0fcf9c4e3a7bf58b62a5a736ad5352f0a5771c1be58404"
LITELLM_UID = 65534
GATEWAY_PORT = 4000
# The proxy's metrics, served by a sidecar from prometheus_client's multiprocess files (templates/serve_metrics.py).
METRICS_PORT = 9090
METRICS_DIR = "/var/run/litellm-metrics"
GATEWAY_NAME = "litellm"
CONFIG_DIR = "/etc/litellm"
CREDENTIALS_DIR = "/var/run/secrets/aiplane"
DATABASE_NAME = "litellm"
DATABASE_USER = "litellm"
# Every file in the credentials directory becomes the environment variable of the same name, then the proxy
# starts: the values never appear in the pod spec.
ENTRYPOINT = (
    f'for file in {CREDENTIALS_DIR}/*; do export "$(basename "$file")=$(cat "$file")"; done; '
    f'exec litellm --config {CONFIG_DIR}/config.yaml --port {GATEWAY_PORT}'
)
WAF_RATE_LIMIT_PER_5_MINUTES = 2000
# The proxy migrates its database and loads its config before it answers: its startup probe allows this long.
STARTUP_SECONDS = 300
TENANT_KEY_SECRET = "gateway-key"


class SecretKeyRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    secret: str
    key: str
    env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")


class ModelGatewayArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    plan: GatewayPlan
    provider_keys: list[SecretKeyRef] = Field(default_factory=list, description="Secrets created outside the stack")
    min_replicas: int = Field(ge=1)
    max_replicas: int = Field(ge=1)
    exposure: Literal["internal", "public"] = "internal"
    allowed_cidrs: list[str] = Field(default_factory=list)
    certificate_arn: str | None = None
    database: AuroraSettings
    cluster_name: Any
    region: str
    kubernetes_provider: Any
    vpc_id: Any
    vpc_cidr: str
    private_subnet_ids: list[Any]
    client_security_group_id: Any
    model_servers: list[Any] = Field(default_factory=list, description="Created first: the gateway routes to them")
    inference_gateway: Any = Field(default=None, description="The inference gateway pooled models are reached through, if any")
    tenant_namespaces: dict[str, Any] = Field(
        default_factory=dict, description="k8s Namespace per tenant: each gets its key as the Secret `gateway-key`"
    )
    priority_class: str | None = Field(default=None, description="The proxy's PriorityClass: serving's, so nothing below evicts it")
    scheduling: list[Any] = Field(default_factory=list, description="What brings the priority class")

    @model_validator(mode="after")
    def _public_is_guarded(self) -> ModelGatewayArgs:
        if self.exposure == "public" and (not self.allowed_cidrs or not self.certificate_arn):
            raise ValueError("public exposure needs allowed_cidrs and certificate_arn")
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas {self.min_replicas} exceed max_replicas {self.max_replicas}")
        return self
