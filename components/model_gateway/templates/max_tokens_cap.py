"""Caps the answers of a degraded deployment: loaded by the LiteLLM proxy as a callback (config.yaml).

A deployment's `max_tokens` in LiteLLM's config is a default: a client that asks for more gets more. So each
degraded deployment also carries `aiplane_max_tokens` in its model_info, and this hook, which LiteLLM runs
after it has picked a deployment and before it sends the request (CustomLogger.async_pre_call_deployment_hook),
lowers the request's max_tokens and max_completion_tokens to that cap. Requests to other deployments pass as
they are.
"""
from litellm.integrations.custom_logger import CustomLogger

CAP_KEY = "aiplane_max_tokens"


class MaxTokensCap(CustomLogger):
    async def async_pre_call_deployment_hook(self, kwargs, call_type):
        cap = (kwargs.get("model_info") or {}).get(CAP_KEY)
        if not cap:
            return None
        capped = dict(kwargs)
        for key in ("max_tokens", "max_completion_tokens"):
            if capped.get(key) is not None and int(capped[key]) > cap:
                capped[key] = cap
        if capped.get("max_tokens") is None and capped.get("max_completion_tokens") is None:
            capped["max_tokens"] = cap
        return capped


handler = MaxTokensCap()
