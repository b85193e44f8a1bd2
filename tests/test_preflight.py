"""Pre-flight through boto3 over real HTTP: moto's server for EC2 offerings, instance types and Service Quotas,
and a small stand-in endpoint, speaking the EC2 and EKS wire formats, for the two APIs moto does not have
(capacity reservations, EKS cluster versions)."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import moto.servicequotas.models as quotas_backend
import pytest
from typer.testing import CliRunner

from aiplane import preflight
from aiplane.cli import app
from aiplane.loader import load_stack
from aiplane.planning.instances import load_instance_catalog
from aiplane.preflight import Clients, PoolNeed, exit_code, reservation, run_preflight
from tests.conftest import PROJECT_DIR, edit

runner = CliRunner()


@pytest.fixture
def credentials(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_SESSION_TOKEN", "testing")):
        monkeypatch.setenv(name, value)


def by_check(results, check):
    return [result for result in results if result.check == check]


@pytest.fixture
def quota(monkeypatch):
    """Give moto's Service Quotas (in this process, behind its HTTP server) EC2 quota values to answer."""
    values = {}
    original = quotas_backend.ServiceQuotasBackend.get_service_quota

    def get_service_quota(self, service_code, quota_code):
        if (service_code, quota_code) in values:
            return {"ServiceCode": service_code, "QuotaCode": quota_code, "Value": values[(service_code, quota_code)], "Unit": "None"}
        return original(self, service_code, quota_code)

    monkeypatch.setattr(quotas_backend.ServiceQuotasBackend, "get_service_quota", get_service_quota)
    return values


def test_prod_passes_with_unknown_quotas_as_warnings_never_as_passes(aws_endpoint, credentials):
    spec = load_stack("prod", PROJECT_DIR / "stacks")
    results = run_preflight(spec, Clients("us-east-1", aws_endpoint))
    assert exit_code(results) == 0
    offered = by_check(results, "offered")
    assert {result.subject for result in offered} == {"chat: p5.48xlarge", "embed: g6.xlarge", "train: p5.48xlarge", "frontier: p5.48xlarge", "t-research: p5.48xlarge"}
    assert all(result.status == "ok" for result in offered + by_check(results, "catalog"))
    quotas = by_check(results, "quota")
    assert quotas and all(result.status == "warning" and "unknown" in result.detail for result in quotas)


def test_an_instance_type_not_offered_in_a_zone_blocks(project_copy, aws_endpoint, credentials):
    # moto's us-east-1 offers g6.xlarge in zones a, b, c, d and f: a stack in e and f cannot launch there.
    edit(project_copy, "dev", "      azCount: 2\n", "      azCount: 2\n      availabilityZones: [us-east-1e, us-east-1f]\n")
    result = runner.invoke(app, ["preflight", "--stack", "dev", "--endpoint-url", aws_endpoint])
    assert result.exit_code == 1, result.output
    spec = load_stack("dev", project_copy / "stacks")
    blocking = [r for r in run_preflight(spec, Clients("us-east-1", aws_endpoint)) if r.status == "blocking"]
    assert {r.subject for r in blocking} == {"chat: g6.xlarge", "embed: g6.xlarge"}
    assert all(r.detail.startswith("not offered in us-east-1e (offered: us-east-1f)") for r in blocking)
    assert "dev: " in result.stdout and "2 blocking" in result.stdout


def test_a_catalog_that_disagrees_with_ec2_blocks(aws_endpoint, credentials, monkeypatch):
    catalog = load_instance_catalog()
    p5 = catalog.instances["p5.48xlarge"].model_copy(update={"gpu_memory_mib": 65536})
    wrong = catalog.model_copy(update={"instances": {**catalog.instances, "p5.48xlarge": p5}})
    monkeypatch.setattr(preflight, "load_instance_catalog", lambda: wrong)
    spec = load_stack("prod", PROJECT_DIR / "stacks")
    (mismatch,) = [r for r in by_check(run_preflight(spec, Clients("us-east-1", aws_endpoint)), "catalog") if r.status == "blocking"]
    assert mismatch.subject == "p5.48xlarge"
    assert mismatch.detail == "EC2 disagrees with the catalog: GPU memory MiB 81920 (catalog: 65536)"


def test_a_quota_without_room_blocks_and_one_with_room_passes(aws_endpoint, credentials, quota):
    spec = load_stack("prod", PROJECT_DIR / "stacks")
    quota[("ec2", "L-417A185B")] = 384.0  # room for two p5.48xlarge
    quota[("ec2", "L-DB2E81BA")] = 512.0
    results = {r.subject: r for r in by_check(run_preflight(spec, Clients("us-east-1", aws_endpoint)), "quota")}
    p_quota = results["Running On-Demand P instances (L-417A185B)"]
    assert p_quota.status == "blocking" and p_quota.detail.startswith("384 vCPUs, but the pools need")
    assert results["Running On-Demand G and VT instances (L-DB2E81BA)"].status == "ok"


# -- the APIs moto lacks, over a small endpoint that speaks their wire formats --------------------------------

# DescribeCapacityReservations' fields, as the EC2 API reference documents its CapacityReservation shape.
FITTING = {
    "instanceType": "p5.48xlarge", "availabilityZone": "us-east-1a", "instancePlatform": "Linux/UNIX", "state": "active",
    "totalInstanceCount": "2", "availableInstanceCount": "2", "startDate": "2026-11-01T00:00:00.000Z", "endDate": "2027-06-01T00:00:00.000Z",
}
RESERVATIONS = {
    "cr-0123456789abcdef0": FITTING,
    "cr-0fedcba9876543210": {**FITTING, "state": "cancelled"},
    "cr-0aaaaaaaaaaaaaaa1": {**FITTING, "instanceType": "p5en.48xlarge"},
    "cr-0aaaaaaaaaaaaaaa2": {**FITTING, "availabilityZone": "us-east-1b"},
    "cr-0aaaaaaaaaaaaaaa3": {**FITTING, "totalInstanceCount": "1", "availableInstanceCount": "1"},
    "cr-0aaaaaaaaaaaaaaa4": {**FITTING, "instancePlatform": "Windows"},
    "cr-0aaaaaaaaaaaaaaa5": {**FITTING, "endDate": "2026-11-30T00:00:00.000Z"},
    "cr-0aaaaaaaaaaaaaaa6": {**FITTING, "state": "scheduled", "startDate": "2026-12-10T11:30:00.000Z"},
    "cr-0aaaaaaaaaaaaaaa7": {**FITTING, "endDate": "2026-12-03T20:00:00.000Z"},
}
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
SUPPORTED_VERSIONS = {"1.33": "STANDARD_SUPPORT"}


class StandIn(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _reply(self, status, body, content_type):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # EC2 Query API
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        assert form["Action"] == ["DescribeCapacityReservations"]
        identifier = form["CapacityReservationId.1"][0]
        if identifier not in RESERVATIONS:
            error = (
                "<Response><Errors><Error><Code>InvalidCapacityReservationId.NotFound</Code>"
                f"<Message>The capacity reservation {identifier} does not exist</Message></Error></Errors><RequestID>1</RequestID></Response>"
            )
            return self._reply(400, error, "text/xml")
        fields = "".join(f"<{key}>{value}</{key}>" for key, value in RESERVATIONS[identifier].items())
        body = (
            '<DescribeCapacityReservationsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId>'
            f"<capacityReservationSet><item><capacityReservationId>{identifier}</capacityReservationId>{fields}"
            "</item></capacityReservationSet></DescribeCapacityReservationsResponse>"
        )
        return self._reply(200, body, "text/xml")

    def do_GET(self):  # EKS REST API
        url = urlparse(self.path)
        assert url.path == "/cluster-versions"
        versions = parse_qs(url.query).get("clusterVersions", [])
        found = [{"clusterVersion": v, "versionStatus": SUPPORTED_VERSIONS[v]} for v in versions if v in SUPPORTED_VERSIONS]
        return self._reply(200, json.dumps({"clusterVersions": found}), "application/json")


@pytest.fixture(scope="module")
def stand_in():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(
    ("identifier", "status", "detail"),
    [
        ("cr-0123456789abcdef0", "ok", "active, until 2027-06-01 00:00 UTC: p5.48xlarge in us-east-1a, 2 instances for up to 2 nodes (2 available)"),
        ("cr-0fedcba9876543210", "blocking", "state cancelled"),
        ("cr-00000000000000000", "blocking", "no such capacity reservation"),
        ("cr-0aaaaaaaaaaaaaaa1", "blocking", "is for p5en.48xlarge, the pool launches p5.48xlarge"),
        ("cr-0aaaaaaaaaaaaaaa2", "blocking", "is in us-east-1b, the pool's subnets are in us-east-1a"),
        ("cr-0aaaaaaaaaaaaaaa3", "warning", "holds 1 instances, the pool grows to 2: 1 short"),
        ("cr-0aaaaaaaaaaaaaaa4", "blocking", "is for Windows, EKS nodes launch Linux/UNIX"),
        ("cr-0aaaaaaaaaaaaaaa5", "blocking", "ended 2026-11-30 00:00 UTC"),
        ("cr-0aaaaaaaaaaaaaaa6", "warning", "scheduled: nodes cannot launch into it before 2026-12-10 11:30 UTC"),
        ("cr-0aaaaaaaaaaaaaaa7", "warning", "ends 2026-12-03 20:00 UTC, within a day"),
    ],
)
def test_a_named_reservation_must_exist_and_fit_its_pool(stand_in, credentials, identifier, status, detail):
    need = PoolNeed("train", ("p5.48xlarge",), ("us-east-1a",), ("on-demand",), 2, identifier)
    (result,) = reservation(Clients("us-east-1", stand_in), need, now=NOW)
    assert (result.status, result.detail) == (status, detail)


def test_a_reservation_in_one_of_a_pools_zones_warns_for_the_others(stand_in, credentials):
    need = PoolNeed("chat", ("p5.48xlarge",), ("us-east-1a", "us-east-1b"), ("on-demand",), 3, "cr-0aaaaaaaaaaaaaaa3")
    (result,) = reservation(Clients("us-east-1", stand_in), need, now=NOW)
    assert result.status == "warning"
    assert result.detail == "is in us-east-1a: nodes the pool launches in us-east-1b fall outside it; holds 1 instances, the pool grows to 3: 2 short"


@pytest.mark.parametrize(("version", "status"), [("1.33", "ok"), ("1.24", "blocking")])
def test_the_eks_version_must_be_supported(stand_in, credentials, version, status):
    (result,) = preflight.eks_version(Clients("us-east-1", stand_in), version)
    assert result.status == status


def test_an_api_the_endpoint_lacks_is_a_warning(aws_endpoint, credentials):
    """moto has no capacity reservations: the check says it could not look, and does not pass."""
    spec = load_stack("prod", PROJECT_DIR / "stacks")
    need = PoolNeed("train", ("p5.48xlarge",), ("us-east-1a",), ("on-demand",), 2, "cr-0123456789abcdef0")
    (result,) = preflight.guarded("reservation", "train", lambda: reservation(Clients("us-east-1", aws_endpoint), need))
    assert result.status == "warning" and "could not be checked" in result.detail
    assert spec.platform.cluster.version == "1.33"


def test_without_credentials_preflight_says_how_to_provide_them(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role to find either
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    result = runner.invoke(app, ["--project-dir", str(PROJECT_DIR), "preflight", "--stack", "dev"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "preflight: no AWS credentials found; set AWS_PROFILE (after `aws sso login` or `aws configure`), or "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, for the account the stack deploys to"
    ]
