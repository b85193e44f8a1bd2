"""Stands in for the LiteLLM proxy's key table in the conformance suite, where its database cannot run
(the proxy reads keys through Prisma, whose query engine is downloaded from Prisma's servers at first use).

The proxy loads this module beside its config as `general_settings.custom_auth`, with
`custom_auth_run_common_checks` and `litellm_settings.enable_post_custom_auth_checks` on: then the proxy's own
model-access, alias and budget checks run on the row returned here, as they run on a row read from the
database. Each row is what the key Job sends to `/key/generate`, validated by LiteLLM's own request model.
Spend is the proxy's own: without a database it counts each answer's cost in memory, from zero.
Runs inside the proxy's virtualenv: imports LiteLLM, nothing of aiplane's."""
import json
from pathlib import Path

from litellm.proxy._types import GenerateKeyRequest, UserAPIKeyAuth

TABLE = Path(__file__).with_name("keys.json")


async def user_api_key_auth(request, api_key: str) -> UserAPIKeyAuth:
    row = json.loads(TABLE.read_text()).get(api_key)
    if row is None:
        raise Exception("no such virtual key")
    key = GenerateKeyRequest(**row["request"])
    return UserAPIKeyAuth(
        api_key=api_key, token=row["token"], key_alias=key.key_alias, models=key.models, aliases=key.aliases,
        max_budget=key.max_budget, budget_duration=key.budget_duration, rpm_limit=key.rpm_limit, tpm_limit=key.tpm_limit,
        metadata=key.metadata,
    )
