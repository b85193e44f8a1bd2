"""The model gateway's LiteLLM configuration: a plan in, a validated config.yaml out. Pure: no Pulumi.

`render_config` renders `templates/config.yaml.j2` and checks the result against `LiteLLMConfig`, a schema of
the part of LiteLLM's configuration aiplane writes (field names from LiteLLM's proxy and router sources), plus
the rules that make a config safe to use: every fallback and alias names a model group that exists, and no
credential appears in it, only `os.environ/NAME` references that the pod fills from mounted Secrets.
"""
from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Literal, get_args

import jinja2
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from ruamel.yaml import YAML

from aiplane.planning.routing import TASK_CLASSES, RoutingTable

TEMPLATES = Path(__file__).with_name("templates")
ENV_REFERENCE = re.compile(r"^os\.environ/[A-Z_][A-Z0-9_]*$")
MASTER_KEY_ENV = "LITELLM_MASTER_KEY"
DATABASE_URL_ENV = "DATABASE_URL"
# How long a deployment that keeps failing sits out before the router tries it again.
COOLDOWN_SECONDS = 30
ALLOWED_FAILS = 3
# The failures that are the server's fault, each allowed ALLOWED_FAILS times a cooldown window before the
# deployment sits out. LiteLLM 1.100.1 cools a single-deployment model group down only when the deployment
# names the exception type in its own `model_info.allowed_fails_policy` (router/cooldown_handlers.py
# `_should_cooldown_based_on_deployment_policy`); a router-level `allowed_fails` equal to the default is
# treated as unset, and every aiplane model group has one deployment. A client's bad request never counts.
CooldownPolicyField = Literal[
    "TimeoutErrorAllowedFails", "RateLimitErrorAllowedFails", "InternalServerErrorAllowedFails",
    "ServiceUnavailableErrorAllowedFails", "BadGatewayErrorAllowedFails",
]


def env_name(prefix: str, name: str) -> str:
    """`PROVIDER_KEY_GPT_4O` for ("PROVIDER_KEY", "gpt-4o"): a credential's environment variable."""
    return f"{prefix}_{re.sub(r'[^A-Z0-9]', '_', name.upper())}"


class ConfigError(ValueError):
    """The rendered config does not match the schema: a bug in aiplane, never in the user's stack."""


class ProviderModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    model: str
    api_key_env: str | None = Field(default=None, description="The environment variable the key is mounted into")
    api_base: str | None = None


class VirtualKey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str
    tier: str
    budget_usd: float = Field(ge=0)
    budget_duration: str
    rpm: int = Field(gt=0)
    tpm: int = Field(gt=0)
    key_env: str = Field(description="The environment variable the tenant's key is mounted into")


class GatewayPlan(BaseModel):
    """Everything the config depends on; built from the stack by the platform."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    routing: RoutingTable
    served: dict[str, str] = Field(description="Served model -> its server's OpenAI-compatible base URL")
    served_usd_per_token: dict[str, float] = Field(
        default_factory=dict, description="Served model -> what a token costs on our GPUs (planning.prices.self_hosted_usd_per_token)"
    )
    providers: list[ProviderModel] = Field(default_factory=list)
    default_tier: str
    routing_strategy: str
    timeout_seconds: int
    retries: int
    keys: list[VirtualKey] = Field(default_factory=list)

    def litellm_model(self, model: str) -> tuple[str, str | None, str | None]:
        """(LiteLLM model, api_base, api_key reference) of a served or provider model."""
        if model in self.served:
            return f"hosted_vllm/{model}", self.served[model], None
        provider = next(provider for provider in self.providers if provider.name == model)
        key = f"os.environ/{provider.api_key_env}" if provider.api_key_env else None
        return provider.model, provider.api_base, key


# -- the schema of what aiplane writes -------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _env_reference(value: str | None) -> str | None:
    if value is not None and not ENV_REFERENCE.match(value):
        raise ValueError("must be an os.environ/NAME reference: a credential is never written into the config")
    return value


class LiteLLMParams(_Strict):
    model: str = Field(pattern=r"^[a-z0-9_]+/[\w.:/@-]+$")
    api_base: str | None = Field(default=None, pattern=r"^https?://[\w.-]+(:\d+)?(/[\w./-]*)?$")
    api_key: str | None = None
    timeout: int | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)
    # LiteLLM's custom pricing: without it a hosted_vllm deployment's spend is 0 and budgets never bind.
    input_cost_per_token: float | None = Field(default=None, ge=0)
    output_cost_per_token: float | None = Field(default=None, ge=0)
    additional_drop_params: list[Literal["tools", "tool_choice"]] | None = None

    _key_is_a_reference = field_validator("api_key")(_env_reference)


class ModelInfo(_Strict):
    id: str
    allowed_fails_policy: dict[CooldownPolicyField, int] = Field(min_length=1)
    aiplane_max_tokens: int | None = Field(default=None, gt=0, description="Read by templates/max_tokens_cap.py")
    supports_function_calling: bool | None = None


class ModelEntry(_Strict):
    model_name: str
    litellm_params: LiteLLMParams
    model_info: ModelInfo


class RouterSettings(_Strict):
    routing_strategy: Literal["simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing-v2"]
    num_retries: int = Field(ge=0)
    timeout: int = Field(gt=0)
    cooldown_time: int = Field(ge=0)
    model_group_alias: dict[str, str]
    fallbacks: list[dict[str, list[str]]]


class LiteLLMSettings(_Strict):
    drop_params: bool
    request_timeout: int = Field(gt=0)
    callbacks: list[Literal["prometheus", "otel", "max_tokens_cap.handler"]] = Field(default_factory=list)


class GeneralSettings(_Strict):
    master_key: str
    database_url: str

    _references = field_validator("master_key", "database_url")(_env_reference)


class LiteLLMConfig(_Strict):
    model_list: list[ModelEntry] = Field(min_length=1)
    router_settings: RouterSettings
    litellm_settings: LiteLLMSettings
    general_settings: GeneralSettings

    @model_validator(mode="after")
    def _references_resolve(self) -> LiteLLMConfig:
        groups = {entry.model_name for entry in self.model_list}
        ids = [entry.model_info.id for entry in self.model_list]
        if len(ids) != len(set(ids)):
            raise ValueError("model_info.id values repeat")
        # A request that names a deployment id is sent to that deployment as such, past cooldowns and
        # fallbacks' selection (Router._common_checks_available_deployment): ids must never be names clients use.
        for clash in sorted(set(ids) & (groups | set(self.router_settings.model_group_alias))):
            raise ValueError(f"model_info.id {clash!r} is also a model group or alias name")
        for alias, group in self.router_settings.model_group_alias.items():
            if group not in groups:
                raise ValueError(f"model_group_alias {alias!r} names {group!r}, which is not in model_list")
        for fallback in self.router_settings.fallbacks:
            for group, targets in fallback.items():
                if group not in groups | set(self.router_settings.model_group_alias):
                    raise ValueError(f"fallbacks name {group!r}, which is neither in model_list nor an alias")
                for name in targets:
                    if name not in groups:
                        raise ValueError(f"fallbacks name {name!r}, which is not in model_list")
        return self


# -- rendering ------------------------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )


def _entries(plan: GatewayPlan) -> list[dict]:
    entries = []
    for deployment in plan.routing.deployments:
        model, api_base, api_key = plan.litellm_model(deployment.model)
        entries.append(
            {
                "group": deployment.group,
                "model": model,
                "api_base": api_base,
                "api_key": api_key,
                "max_tokens": deployment.max_tokens,
                "usd_per_token": plan.served_usd_per_token.get(deployment.model),
                "drop_tools": not deployment.tools,
                "id": deployment_id(deployment.group),
            }
        )
    return entries


def deployment_id(group: str) -> str:
    """The deployment's `model_info.id`, the key of its routing state (cooldowns, fail counts, the `model_id`
    metric label): never a name a client asks for, which LiteLLM would take as a request for the deployment."""
    return "deployment-" + group.replace("/", "-")


def render_config(plan: GatewayPlan) -> str:
    """config.yaml for LiteLLM's proxy, validated against `LiteLLMConfig`; raises ConfigError otherwise."""
    aliases = {task: plan.routing.aliases[plan.default_tier][task] for task in TASK_CLASSES if task in plan.routing.aliases[plan.default_tier]}
    fallbacks = {group: list(targets) for group, targets in sorted(plan.routing.fallbacks.items()) if targets}
    text = _environment().get_template("config.yaml.j2").render(
        entries=_entries(plan),
        aliases=aliases,
        # The router looks fallbacks up by the name the client asked for, before `model_group_alias` resolves
        # it (Router.async_function_with_fallbacks: "No fallback model group found for original
        # model_group=classification"): a task class asked for without a key's aliases needs its own entry.
        fallbacks=fallbacks | {task: fallbacks[group] for task, group in aliases.items() if group in fallbacks},
        plan=plan,
        cooldown_seconds=COOLDOWN_SECONDS,
        cooldown_policy={field: ALLOWED_FAILS for field in get_args(CooldownPolicyField)},
        master_key_env=MASTER_KEY_ENV,
        database_url_env=DATABASE_URL_ENV,
    )
    validate_config(text)
    return text


def validate_config(text: str) -> LiteLLMConfig:
    try:
        return LiteLLMConfig.model_validate(YAML(typ="safe", pure=True).load(text))
    except ValidationError as error:
        raise ConfigError(f"the rendered gateway config does not match its schema: {error}") from None


def key_requests(plan: GatewayPlan) -> list[dict]:
    """What the key job sends to LiteLLM's /key/generate (or /key/update) per tenant, without the key values:
    the job reads each key from the file its `key_env` names. The key's aliases map task classes to its tier's
    model groups, so the same request (`model: reasoning`) degrades differently per tier."""
    requests = []
    for key in plan.keys:
        aliases = dict(plan.routing.aliases[key.tier])
        reachable = set(aliases.values())
        frontier = list(reachable)
        while frontier:  # the key may use every group its tier's requests can fall back to
            for target in plan.routing.fallbacks.get(frontier.pop(), ()):
                if target not in reachable:
                    reachable.add(target)
                    frontier.append(target)
        requests.append(
            {
                "key_env": key.key_env,
                "request": {
                    "key_alias": key.tenant,
                    "max_budget": key.budget_usd,
                    "budget_duration": key.budget_duration,
                    "rpm_limit": key.rpm,
                    "tpm_limit": key.tpm,
                    "models": sorted({*aliases, *reachable}),
                    "aliases": aliases,
                    "metadata": {"tenant": key.tenant, "tier": key.tier, "managed-by": "aiplane"},
                },
            }
        )
    return requests


def render_key_requests(plan: GatewayPlan) -> str:
    return json.dumps(key_requests(plan), indent=2, sort_keys=True) + "\n"
