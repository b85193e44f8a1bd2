"""`aiplane capacity offers` and `reserve` against a stand-in EC2 endpoint: moto has neither
DescribeCapacityBlockOfferings nor PurchaseCapacityBlock, so a small server answers them in the EC2 Query API's
shapes (the EC2 API reference's CapacityBlockOffering and CapacityReservation), and boto3 talks to it over HTTP."""
from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

import pytest
from typer.testing import CliRunner

from aiplane.cli import app
from tests.conformance.litellm_proxy import local_http_server
from tests.conftest import edit

runner = CliRunner()
NAMESPACE = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'
OFFERINGS = [
    # (id, zone, start, end, fee): the stack's zones are us-east-1a..c; us-west-2a is not one of them.
    ("cb-0123456789abcdef0", "us-east-1a", "2026-12-07T11:30:00.000Z", "2026-12-08T11:30:00.000Z", "2641.92"),
    ("cb-0fedcba9876543210", "us-east-1b", "2026-12-05T11:30:00.000Z", "2026-12-06T11:30:00.000Z", "2377.73"),
    ("cb-0aaaaaaaaaaaaaaaa", "us-west-2a", "2026-12-04T11:30:00.000Z", "2026-12-05T11:30:00.000Z", "1999.00"),
]
PURCHASED: list[dict] = []


class Ec2StandIn(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        form = {key: values[0] for key, values in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
        if form["Action"] == "DescribeCapacityBlockOfferings":
            items = "".join(
                f"<item><capacityBlockOfferingId>{identifier}</capacityBlockOfferingId><instanceType>{form['InstanceType']}</instanceType>"
                f"<availabilityZone>{zone}</availabilityZone><instanceCount>{form['InstanceCount']}</instanceCount>"
                f"<startDate>{start}</startDate><endDate>{end}</endDate>"
                f"<capacityBlockDurationHours>{form['CapacityDurationHours']}</capacityBlockDurationHours>"
                f"<upfrontFee>{fee}</upfrontFee><currencyCode>USD</currencyCode><tenancy>default</tenancy></item>"
                for identifier, zone, start, end, fee in OFFERINGS
            )
            body = f"<DescribeCapacityBlockOfferingsResponse {NAMESPACE}><requestId>1</requestId><capacityBlockOfferingSet>{items}</capacityBlockOfferingSet></DescribeCapacityBlockOfferingsResponse>"
            return self._reply(200, body)
        if form["Action"] == "PurchaseCapacityBlock":
            PURCHASED.append(form)
            body = (
                f"<PurchaseCapacityBlockResponse {NAMESPACE}><requestId>1</requestId><capacityReservation>"
                "<capacityReservationId>cr-0b1234567890abcde</capacityReservationId><instanceType>p5.48xlarge</instanceType>"
                f"<instancePlatform>{form['InstancePlatform']}</instancePlatform><state>payment-pending</state>"
                "</capacityReservation></PurchaseCapacityBlockResponse>"
            )
            return self._reply(200, body)
        return self._reply(400, "<Response><Errors><Error><Code>InvalidAction</Code><Message>no</Message></Error></Errors></Response>")


@pytest.fixture
def ec2(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    PURCHASED.clear()
    with local_http_server(Ec2StandIn) as url:
        yield url


TRAIN = """        - name: train
          profile: training
          instanceTypes: [p5.48xlarge]
          nodes: {min: 0, desired: 0, max: 4}"""
BLOCK_POOL = TRAIN.replace("instanceTypes: [p5.48xlarge]", "instanceTypes: [p5.48xlarge]\n          capacityTypes: [capacity-block]")


@pytest.fixture
def block_stack(project_copy):
    """prod with its training pool moved to capacity-block, before any block is bought."""
    edit(project_copy, "prod", TRAIN, BLOCK_POOL)
    return project_copy


def test_offers_lists_blocks_in_the_stacks_zones_soonest_first(block_stack, ec2):
    result = runner.invoke(app, ["capacity", "offers", "--stack", "prod", "--endpoint-url", ec2, "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    offerings = document["offerings"]
    assert [o["offeringId"] for o in offerings] == ["cb-0fedcba9876543210", "cb-0123456789abcdef0"]  # us-west-2a dropped
    first = offerings[0]
    assert (first["pool"], first["instanceType"], first["instanceCount"], first["durationHours"]) == ("train", "p5.48xlarge", 4, 24)
    assert (first["availabilityZone"], first["upfrontFee"], first["currency"], first["inPoolZone"]) == ("us-east-1b", "2377.73", "USD", False)
    table = runner.invoke(app, ["capacity", "offers", "--stack", "prod", "--endpoint-url", ec2, "--wide"])
    assert "cb-0123456789abcdef0" in table.stdout and "2641.92 USD" in table.stdout and "us-east-1b (moves the pool)" in table.stdout


def test_an_unbought_block_pool_plans_nowhere_until_reserved(block_stack, ec2):
    refused = runner.invoke(app, ["plan", "--stack", "prod"])
    assert refused.exit_code == 2
    assert refused.stderr.strip().splitlines() == [
        "stacks/Pulumi.prod.yaml: aiplane:platform.compute.pools[2].capacityReservationId: pool 'train' buys capacity-block but names "
        "no reservation; find a block with `aiplane capacity offers --stack prod --pool train` and buy it with `aiplane capacity reserve`"
    ]
    stack_file = block_stack / "stacks" / "Pulumi.prod.yaml"
    before = stack_file.read_text()
    result = runner.invoke(
        app, ["capacity", "reserve", "--stack", "prod", "--pool", "train", "--offering", "cb-0fedcba9876543210", "--yes", "--endpoint-url", ec2]
    )
    assert result.exit_code == 0, result.output
    assert PURCHASED == [{"Action": "PurchaseCapacityBlock", "Version": "2016-11-15", "CapacityBlockOfferingId": "cb-0fedcba9876543210",
                          "InstancePlatform": "Linux/UNIX"}]
    after = stack_file.read_text()
    # Only the pool's lines change: its reservation, and the block's zone (the pool sat in us-east-1a).
    assert after == before.replace(
        BLOCK_POOL, BLOCK_POOL + "\n          capacityReservationId: cr-0b1234567890abcde\n          availabilityZones: [us-east-1b]"
    )
    assert "# Multi-node training" in after  # comments kept
    assert runner.invoke(app, ["plan", "--stack", "prod"]).exit_code == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--pool", "train", "--offering", "cb-0000000000000000a"],
                     "--offering: 'cb-0000000000000000a' is not on offer for pool 'train' (4 x p5.48xlarge, 24 h, zones us-east-1a, "
                     "us-east-1b, us-east-1c); list what is with `aiplane capacity offers`", id="offering-not-on-offer"),
        pytest.param(["--pool", "train", "--offering", "cb-0aaaaaaaaaaaaaaaa"],
                     "--offering: 'cb-0aaaaaaaaaaaaaaaa' is not on offer for pool 'train' (4 x p5.48xlarge, 24 h, zones us-east-1a, "
                     "us-east-1b, us-east-1c); list what is with `aiplane capacity offers`", id="offering-outside-the-stacks-zones"),
        pytest.param(["--pool", "train", "--offering", "reservation-1"],
                     "--offering: 'reservation-1' is not a Capacity Block offering id (cb- and 8 to 17 hex digits)", id="offering-id-malformed"),
        pytest.param(["--pool", "chat", "--offering", "cb-0123456789abcdef0"],
                     "--pool: 'chat' does not buy capacity-block; its profile inference cannot buy capacity blocks (capacity-block pools: train)",
                     id="pool-without-capacity-block"),
        pytest.param(["--pool", "train", "--offering", "cb-0123456789abcdef0", "--hours", "30"],
                     "--hours: 30 is not a Capacity Block duration (1 to 14 days in whole days, then whole weeks up to 182 days: 24, 48, ... "
                     "336, 504, ...)", id="hours-not-a-block-length"),
        pytest.param(["--pool", "train", "--offering", "cb-0123456789abcdef0"],
                     "--yes: buying cb-0123456789abcdef0 (4 x p5.48xlarge in us-east-1a, 2026-12-07 11:30 to 2026-12-08 11:30 UTC, upfront "
                     "2641.92 USD) needs --yes when no one can confirm; nothing was bought", id="purchase-without-yes-in-a-pipe"),
    ],
)
def test_bad_reserve_input_is_one_line_exit_2_and_buys_and_writes_nothing(block_stack, ec2, argv, message):
    stack_file = block_stack / "stacks" / "Pulumi.prod.yaml"
    before = stack_file.read_text()
    result = runner.invoke(app, ["capacity", "reserve", "--stack", "prod", *argv, "--endpoint-url", ec2])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [message]
    assert PURCHASED == [] and stack_file.read_text() == before


def test_offers_needs_a_capacity_block_pool(project_copy, ec2):
    result = runner.invoke(app, ["capacity", "offers", "--stack", "prod", "--endpoint-url", ec2])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "stacks/Pulumi.prod.yaml: aiplane:platform.compute.pools: no pool buys capacity-block (set capacityTypes: [capacity-block] on one)"
    )


def test_the_capacity_plan_is_still_the_groups_own_command(project_copy):
    assert runner.invoke(app, ["capacity", "--stack", "dev", "--json"]).exit_code == 0
    missing = runner.invoke(app, ["capacity"])
    assert missing.exit_code == 2 and missing.stderr.strip() == "--stack: missing: name the stack whose pools to size (aiplane capacity --stack dev)"
