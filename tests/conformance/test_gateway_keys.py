"""Tenants' virtual keys on the pinned LiteLLM proxy: each key reaches its tier's models by task class and
nothing else, and its budget binds on self-hosted use. The database is replaced by `keystore.py` (see there);
everything else is the stack's rendered gateway."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from aiplane.components.model_gateway.config import key_requests
from aiplane.cost import served_token_prices
from aiplane.platform import gateway_plan
from tests.conformance.litellm_proxy import USAGE, deployed_gateway
from tests.conformance.test_litellm_proxy import upstream_model
from tests.conftest import SHIPPED_STACKS, synthesized

STACKS_WITH_KEYS = [environment for environment in SHIPPED_STACKS if gateway_plan(synthesized(environment)[0]).keys]


def api_key(tenant: str) -> str:
    return f"sk-tenant-{tenant}"


@pytest.fixture(scope="module", params=STACKS_WITH_KEYS)
def keyed_gateway(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"litellm-keys-{request.param}")
    plan = gateway_plan(synthesized(request.param)[0])
    rows = {api_key(item["request"]["key_alias"]): {"request": item["request"], "token": f"hashed-{item['request']['key_alias']}"} for item in key_requests(plan)}
    (workdir / "keys.json").write_text(json.dumps(rows))

    def stand_in(config: dict, files: dict[str, str]) -> None:
        config["general_settings"] |= {"custom_auth": "keystore.user_api_key_auth", "custom_auth_run_common_checks": True}
        config["litellm_settings"]["enable_post_custom_auth_checks"] = True
        files["keystore.py"] = Path(__file__).with_name("keystore.py").read_text()

    with deployed_gateway(request.param, workdir, stand_in) as (spec, plan, config, proxy, upstreams, _):
        yield spec, plan, config, proxy, upstreams, workdir / "keys.json"


def test_each_key_reaches_its_tiers_models_by_task_class(keyed_gateway):
    _, plan, config, proxy, upstreams, _ = keyed_gateway
    for key in plan.keys:
        for task, group in plan.routing.aliases[key.tier].items():
            before = len(upstreams.served())
            status, _, body = proxy.call("POST", "/v1/chat/completions", {"model": task, "messages": [{"role": "user", "content": "hi"}]}, key=api_key(key.tenant))
            assert status == 200, (key.tenant, task, body)
            assert upstreams.served()[before:] == [upstream_model(config, group)], (key.tenant, task, group)


def test_a_key_cannot_use_a_model_outside_its_tier(keyed_gateway):
    _, plan, config, proxy, upstreams, _ = keyed_gateway
    groups = {entry["model_name"] for entry in config["model_list"]}
    for item in key_requests(plan):
        outside = sorted(groups - set(item["request"]["models"]))
        assert outside, f"key {item['request']['key_alias']} may use every model group"
        before = len(upstreams.calls)
        status, _, body = proxy.call("POST", "/v1/chat/completions", {"model": outside[0], "messages": [{"role": "user", "content": "hi"}]},
                                     key=api_key(item["request"]["key_alias"]))
        assert status in (401, 403), (item["request"]["key_alias"], outside[0], status, body)
        assert len(upstreams.calls) == before


def test_a_budget_binds_on_self_hosted_use(keyed_gateway):
    """The proxy counts each self-hosted answer at the plan's price per token against the key's `max_budget`,
    and refuses the key once it is spent. The key is the tenant's as rendered, its budget lowered to one and a
    half answers' worth so the test reaches it; priced at $0, the answers would move nothing and never bind."""
    spec, plan, config, proxy, _, table = keyed_gateway
    prices = served_token_prices(spec)
    key = plan.keys[0]
    task, group = next((task, group) for task, group in sorted(plan.routing.aliases[key.tier].items()) if upstream_model(config, group) in prices)
    cost = prices[upstream_model(config, group)] * sum(USAGE.values())
    rows = json.loads(table.read_text())
    fresh = "sk-unspent"  # a key of its own: the other tests have spent on the tenant's
    rows[fresh] = {"request": {**rows[api_key(key.tenant)]["request"], "max_budget": 1.5 * cost}, "token": "hashed-unspent"}
    table.write_text(json.dumps(rows))
    ask = {"model": task, "messages": [{"role": "user", "content": "hi"}]}
    answers = []
    for _ in range(4):
        status, _, body = proxy.call("POST", "/v1/chat/completions", ask, key=fresh)
        answers.append(status)
        if status != 200:
            break
        time.sleep(0.5)  # the cost callback runs after the answer is sent
    # Admitted while under budget, refused once spent (LiteLLM also reserves a request's estimated cost up front).
    assert answers[0] == 200 and answers[-1] in (400, 429) and len(answers) <= 3, answers
    assert "budget" in json.dumps(body).lower(), body
