"""The network component, synthesized from the shipped stacks: the security properties it promises."""
from __future__ import annotations

import json
from ipaddress import IPv4Network

import pytest

from tests.conftest import synthesized

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def subnets(graph, tier):
    return [s for s in graph.of_type(SUBNET) if s.name.startswith(f"network-{tier}-")]


def test_subnets_cover_every_zone_inside_the_vpc(shipped):
    spec, graph = shipped
    vpc = IPv4Network(graph.find(VPC, "network-vpc").inputs["cidrBlock"])
    for tier in ("public", "private"):
        tier_subnets = subnets(graph, tier)
        assert sorted(s.inputs["availabilityZone"] for s in tier_subnets) == spec.zones
        assert all(IPv4Network(s.inputs["cidrBlock"]).subnet_of(vpc) for s in tier_subnets)
        assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in tier_subnets)
    blocks = [IPv4Network(s.inputs["cidrBlock"]) for s in graph.of_type(SUBNET)]
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


@pytest.mark.parametrize(("environment", "expected_nats"), [("dev", 1), ("staging", 1), ("prod", 3)])
def test_nat_gateway_per_zone_only_where_asked(environment, expected_nats):
    spec, graph = synthesized(environment)
    assert len(graph.of_type(NAT)) == expected_nats


def test_prod_private_subnets_route_through_their_own_zones_nat():
    spec, graph = synthesized("prod")
    nat_zone_by_id = {}
    for nat in graph.of_type(NAT):
        public_subnet = next(s for s in graph.of_type(SUBNET) if s.id == nat.inputs["subnetId"])
        nat_zone_by_id[nat.id] = public_subnet.inputs["availabilityZone"]
    for zone in spec.zones:
        route = graph.find(ROUTE, f"network-private-{zone}-default-route")
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        assert nat_zone_by_id[route.inputs["natGatewayId"]] == zone


def test_default_security_group_has_no_rules(shipped):
    _, graph = shipped
    default_sg = graph.find("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "network-default-sg")
    assert default_sg.inputs["ingress"] == [] and default_sg.inputs["egress"] == []


def test_nodes_reach_s3_ecr_and_sts_without_nat(shipped):
    spec, graph = shipped
    endpoints = {e.inputs["serviceName"]: e for e in graph.of_type(ENDPOINT)}
    s3 = endpoints[f"com.amazonaws.{spec.region}.s3"]
    assert s3.inputs["vpcEndpointType"] == "Gateway"
    private_tables = {t.id for t in graph.of_type(ROUTE_TABLE) if t.name.startswith("network-private-")}
    assert set(s3.inputs["routeTableIds"]) == private_tables
    for service in ("ecr.api", "ecr.dkr", "sts"):
        endpoint = endpoints[f"com.amazonaws.{spec.region}.{service}"]
        assert endpoint.inputs["vpcEndpointType"] == "Interface"
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert set(endpoint.inputs["subnetIds"]) == {s.id for s in subnets(graph, "private")}


def test_endpoint_security_group_admits_only_https_from_the_vpc(shipped):
    spec, graph = shipped
    sg = graph.find("aws:ec2/securityGroup:SecurityGroup", "network-endpoints-sg")
    assert sg.inputs["ingress"] == [
        {
            "cidrBlocks": [spec.platform.network.cidr],
            "description": "HTTPS from the VPC",
            "fromPort": 443,
            "protocol": "tcp",
            "toPort": 443,
        }
    ]


def test_flow_logs_capture_all_traffic_into_an_encrypted_log_group(shipped):
    spec, graph = shipped
    flow_log = graph.find("aws:ec2/flowLog:FlowLog", "network-flow-log")
    log_group = graph.find("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")
    key = graph.find("aws:kms/key:Key", "network-flow-logs-key")
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["vpcId"] == graph.find(VPC, "network-vpc").id
    assert flow_log.inputs["logDestination"] == log_group.outputs["arn"]
    assert log_group.inputs["retentionInDays"] == spec.platform.network.flow_logs.retention_days
    assert log_group.inputs["kmsKeyId"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True
    logs_statement = json.loads(key.inputs["policy"])["Statement"][1]
    assert logs_statement["Principal"] == {"Service": f"logs.{spec.region}.amazonaws.com"}


def test_flow_log_role_may_write_only_its_log_group(shipped):
    _, graph = shipped
    log_group_arn = graph.find("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs").outputs["arn"]
    policy = json.loads(graph.find("aws:iam/rolePolicy:RolePolicy", "network-flow-logs-policy").inputs["policy"])
    assert [statement["Resource"] for statement in policy["Statement"]] == [[log_group_arn, f"{log_group_arn}:*"]]
    trust = json.loads(graph.find("aws:iam/role:Role", "network-flow-logs-role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
