"""The serving section of stack files: the bad inputs that stop a plan (and `pulumi up`) with exit 2 and one
line naming the file, the field and the problem."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aiplane.cli import app
from aiplane.loader import load_stack
from tests.conftest import PROJECT_DIR, edit, plan_fails_with

PROD_FALLBACKS = "        fallbacks:\n          llama-3-1-405b: [claude-sonnet, gpt-4o]\n"
PROD_PROVIDER = "          - {name: gpt-4o, model: openai/gpt-4o, apiKey: {secret: llm-provider-keys, key: openai}}\n"
DEV_GATEWAY = "      gateway:\n        replicas: {min: 1, max: 2}\n"
SECRET_LOOKING_KEY = "sk-proj-AbCdEf0123456789"

BAD_SERVING_EDITS = [
    pytest.param(
        "prod",
        "          reasoning: llama-3-1-405b\n",
        "          reasoning: llama-3-1-450b\n",
        "stacks/Pulumi.prod.yaml: aiplane:platform: serving.gateway.routes.reasoning: 'llama-3-1-450b' is not a served or "
        "provider model (served: llama-3-1-70b, llama-3-1-405b, llama-3-1-8b; providers: gpt-4o, claude-sonnet)",
        id="route-to-a-model-not-served",
    ),
    pytest.param(
        "prod",
        PROD_FALLBACKS,
        PROD_FALLBACKS + "          gpt-4o: [llama-3-1-8b]\n",
        "stacks/Pulumi.prod.yaml: aiplane:platform.serving.gateway: fallbacks: a fallback cycle: "
        "gpt-4o -> llama-3-1-8b -> llama-3-1-70b -> gpt-4o",
        id="fallback-cycle",
    ),
    pytest.param(
        "dev",
        DEV_GATEWAY,
        DEV_GATEWAY + "        keys:\n          - {tenant: acme, tier: standard, budgetUsd: -5, rpm: 60, tpm: 10000}\n",
        "stacks/Pulumi.dev.yaml: aiplane:platform.serving.gateway.keys[0].budgetUsd: -5 is invalid: "
        "input should be greater than or equal to 0",
        id="budget-below-zero",
    ),
    pytest.param(
        "dev",
        "          peakConcurrency: 8\n",
        "          peakConcurrency: 8\n          tensorParallel: 2\n",
        "stacks/Pulumi.dev.yaml: aiplane:platform.compute: model 'llama-3-1-8b': pool 'chat' (g6.xlarge) cannot serve it: "
        "tensor parallelism 2 is wider than g6.xlarge's NVLink domain of 1 GPU: a replica must not span PCIe or the network",
        id="tp-degree-the-profile-cannot-hold",
    ),
    pytest.param(
        "prod",
        PROD_PROVIDER,
        f"          - {{name: gpt-4o, model: openai/gpt-4o, apiKey: {SECRET_LOOKING_KEY}}}\n",
        "stacks/Pulumi.prod.yaml: aiplane:platform.serving.gateway.providers[0]: apiKey is a literal key; a key in a stack "
        "file ends up in git: reference a Kubernetes Secret instead, apiKey: {secret: NAME, key: KEY}",
        id="provider-key-as-a-literal",
    ),
    pytest.param(
        "prod",
        PROD_PROVIDER,
        "          - {name: gpt-4o, model: openai/gpt-4o}\n",
        "stacks/Pulumi.prod.yaml: aiplane:platform.serving.gateway.providers[0]: apiKey is required: only bedrock/ models "
        "are reached without a key (through the gateway's IAM role)",
        id="provider-without-a-key",
    ),
    pytest.param(
        "dev",
        DEV_GATEWAY,
        DEV_GATEWAY + "        exposure: public\n",
        "stacks/Pulumi.dev.yaml: aiplane:platform.serving.gateway: exposure 'public' needs allowedCidrs (the callers' "
        "networks) and certificateArn (TLS on the load balancer)",
        id="public-without-allow-list",
    ),
    pytest.param(
        "dev",
        DEV_GATEWAY,
        DEV_GATEWAY + "        keys:\n          - {tenant: acme, tier: gold, budgetUsd: 5, rpm: 60, tpm: 10000}\n",
        "stacks/Pulumi.dev.yaml: aiplane:platform.serving.gateway: keys[0] (tenant 'acme'): tier 'gold' is not defined "
        "(tiers: standard)",
        id="key-on-an-unknown-tier",
    ),
]


@pytest.mark.parametrize(("environment", "old", "new", "expected"), BAD_SERVING_EDITS)
def test_bad_serving_values_exit_2_with_one_line(project_copy, environment, old, new, expected):
    edit(project_copy, environment, old, new)
    plan_fails_with(["plan", "--stack", environment], expected)


def test_a_literal_key_is_never_echoed(project_copy):
    edit(project_copy, "prod", PROD_PROVIDER, f"          - {{name: gpt-4o, model: openai/gpt-4o, apiKey: {SECRET_LOOKING_KEY}}}\n")
    result = CliRunner().invoke(app, ["plan", "--stack", "prod"])
    assert result.exit_code == 2 and SECRET_LOOKING_KEY not in result.output


def test_default_routes_send_small_tasks_to_the_smallest_model_and_open_ended_ones_to_the_largest():
    staging = load_stack("staging", PROJECT_DIR / "stacks").platform
    assert set(staging.gateway_routes.values()) == {"llama-3-1-8b"}
    prod = load_stack("prod", PROJECT_DIR / "stacks").platform
    assert prod.gateway_routes == {
        "classification": "llama-3-1-8b",
        "extraction": "llama-3-1-8b",
        "summarization": "llama-3-1-8b",
        "synthesis": "llama-3-1-70b",
        "reasoning": "llama-3-1-405b",
    }
