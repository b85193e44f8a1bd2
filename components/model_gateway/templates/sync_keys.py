"""Registers tenants' virtual keys with the LiteLLM proxy: runs as a Job in the gateway's namespace.

Reads the key requests aiplane rendered (keys.json: budgets, limits, tier aliases; no key values) and the
key values from the mounted credentials, then creates each key with /key/generate, or updates it with
/key/update when it exists. Standard library only: it runs in the proxy's own image.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

GATEWAY = os.environ["GATEWAY_URL"]
CREDENTIALS = os.environ["CREDENTIALS_DIR"]


def secret(name):
    with open(os.path.join(CREDENTIALS, name), encoding="utf-8") as handle:
        return handle.read().strip()


def call(path, body, master_key):
    request = urllib.request.Request(
        GATEWAY + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + master_key, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def key_exists(key, master_key):
    request = urllib.request.Request(GATEWAY + "/key/info?key=" + key, headers={"Authorization": "Bearer " + master_key})
    try:
        with urllib.request.urlopen(request, timeout=30):
            return True
    except urllib.error.HTTPError as error:
        if error.code in (400, 404):
            return False
        raise


def main():
    master_key = secret("LITELLM_MASTER_KEY")
    with open(os.environ["KEY_REQUESTS"], encoding="utf-8") as handle:
        plans = json.load(handle)
    for attempt in range(30):  # the proxy may still be starting
        try:
            urllib.request.urlopen(GATEWAY + "/health/readiness", timeout=10)
            break
        except OSError:
            time.sleep(10)
    else:
        sys.exit("the gateway never became ready")
    for plan in plans:
        key = secret(plan["key_env"])
        body = dict(plan["request"], key=key)
        path = "/key/update" if key_exists(key, master_key) else "/key/generate"
        call(path, body, master_key)
        print(f"{path} {plan['request']['key_alias']}: ok")


if __name__ == "__main__":
    main()
