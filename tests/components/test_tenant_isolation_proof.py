"""Tenant isolation, executed: the prod stack's tenant policies, as synthesized, loaded into moto's IAM with
request authorization on, then used over HTTP by boto3. Each tenant reads and writes its own data and is
refused every other tenant's.

moto authorizes requests once `INITIAL_NO_AUTH_ACTION_COUNT` unauthenticated set-up actions have run; the
setting is read when moto starts, so this test runs its own moto server in a subprocess.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import synthesized

TENANTS = ("support", "analytics", "research")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def object_locations(document):
    """(bucket, key prefix) of every object resource the policy grants."""
    for statement in document["Statement"]:
        if statement["Sid"] == "OwnObjects":
            for arn in statement["Resource"]:
                bucket, _, pattern = arn.removeprefix("arn:aws:s3:::").partition("/")
                yield bucket, pattern.removesuffix("*")


@pytest.fixture(scope="module")
def policies():
    _, graph = synthesized("prod")
    return {name: json.loads(graph.find("aws:iam/rolePolicy:RolePolicy", f"tenant-{name}-workload-policy").inputs["policy"]) for name in TENANTS}


@pytest.fixture(scope="module")
def authorizing_moto(policies):
    locations = {name: sorted(object_locations(document)) for name, document in policies.items()}
    buckets = sorted({bucket for places in locations.values() for bucket, _ in places})
    objects = [(bucket, f"{prefix}probe.txt") for places in locations.values() for bucket, prefix in places]
    setup_actions = len(buckets) + len(objects) + 3 * len(TENANTS)  # buckets, objects, then user, policy and key per tenant
    port = free_port()
    environment = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(setup_actions)}
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        server.kill()
        pytest.fail("moto's server did not start")

    def client(service, key_id="testing", secret="testing"):
        return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id=key_id, aws_secret_access_key=secret)

    s3, iam = client("s3"), client("iam")
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
    for bucket, key in objects:
        s3.put_object(Bucket=bucket, Key=key, Body=b"probe")
    clients = {}
    for name, document in policies.items():
        iam.create_user(UserName=f"{name}-workload")
        iam.put_user_policy(UserName=f"{name}-workload", PolicyName="workload", PolicyDocument=json.dumps(document))
        key = iam.create_access_key(UserName=f"{name}-workload")["AccessKey"]
        clients[name] = client("s3", key["AccessKeyId"], key["SecretAccessKey"])
    yield clients, locations
    server.kill()
    server.wait()


def test_each_tenant_reaches_its_own_data(authorizing_moto):
    clients, locations = authorizing_moto
    for name in TENANTS:
        for bucket, prefix in locations[name]:
            assert clients[name].get_object(Bucket=bucket, Key=f"{prefix}probe.txt")["Body"].read() == b"probe"
            clients[name].put_object(Bucket=bucket, Key=f"{prefix}written.txt", Body=b"ok")


def test_no_tenant_reaches_another_tenants_data(authorizing_moto):
    clients, locations = authorizing_moto
    for name in TENANTS:
        for other in set(TENANTS) - {name}:
            for bucket, prefix in locations[other]:
                for attempt in (
                    lambda: clients[name].get_object(Bucket=bucket, Key=f"{prefix}probe.txt"),
                    lambda: clients[name].put_object(Bucket=bucket, Key=f"{prefix}intruder.txt", Body=b"x"),
                ):
                    with pytest.raises(ClientError) as refused:
                        attempt()
                    assert refused.value.response["Error"]["Code"] == "AccessDenied", (name, other, bucket, prefix)
