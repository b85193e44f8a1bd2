"""The model gateway: LiteLLM's proxy on the cluster, in front of the model servers and managed providers.

It routes each request by task class and the caller's tier, falls back when a model fails, degrades under
overload (a smaller model, shorter answers, no tools), and meters every tenant's virtual key against its
budget and rate limits. Its config.yaml is rendered from the stack by `config.render_config` and validated
before it is used.

Secure defaults (behaviour, not options):
- credentials never appear in the config or the pod spec: the config names environment variables, and the
  container fills them from files of mounted Secrets (the master key, the database URL, tenants' keys, and
  provider keys from Secrets created outside the stack);
- a restricted namespace; the proxy runs non-root with a read-only root filesystem, pinned by digest;
- a Service inside the cluster only; `public` exposure adds an internet-facing ALB Ingress that admits only
  the allow-listed networks and sits behind a WAF web ACL (AWS managed rules, a per-IP rate limit, default
  block), with TLS;
- a NetworkPolicy: callers are tenant namespaces (and the load balancer when public); the proxy reaches the
  model servers, its database, DNS and HTTPS providers;
- its database (keys, budgets, spend) is Aurora PostgreSQL Serverless v2 with the defaults of
  `components/postgres.py`; tenants' keys are registered by a Job through the proxy's admin API.
"""
from aiplane.components.model_gateway.args import (
    GATEWAY_NAME,
    GATEWAY_PORT,
    LITELLM_IMAGE,
    TENANT_KEY_SECRET,
    WAF_RATE_LIMIT_PER_5_MINUTES,
    ModelGatewayArgs,
    SecretKeyRef,
)
from aiplane.components.model_gateway.gateway import ModelGateway

__all__ = [
    "GATEWAY_NAME", "GATEWAY_PORT", "LITELLM_IMAGE", "TENANT_KEY_SECRET", "WAF_RATE_LIMIT_PER_5_MINUTES",
    "ModelGateway", "ModelGatewayArgs", "SecretKeyRef",
]
