"""Realistic, deterministic outputs for Pulumi's mocks runtime.

IDs carry the prefix AWS uses (vpc-, subnet-, sg-, ...), ARNs carry the stack's account and region, and
auto-named resources get a name the way Pulumi's autonaming would, so that everything built from outputs
(policy documents, kubeconfig) is well-formed. Every value derives from a hash of the resource's type
and name: the same program always produces the same outputs, byte for byte.
"""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

OFFLINE_ACCOUNT_ID = "123456789012"
ZONE_LETTERS = "abcdef"

# Terraform-style EC2 resources: (id prefix, resource name in the ARN).
EC2_SHAPES = {
    "aws:ec2/vpc:Vpc": ("vpc", "vpc"),
    "aws:ec2/subnet:Subnet": ("subnet", "subnet"),
    "aws:ec2/internetGateway:InternetGateway": ("igw", "internet-gateway"),
    "aws:ec2/eip:Eip": ("eipalloc", "elastic-ip"),
    "aws:ec2/natGateway:NatGateway": ("nat", "natgateway"),
    "aws:ec2/routeTable:RouteTable": ("rtb", "route-table"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("rtbassoc", "route-table-association"),
    "aws:ec2/securityGroup:SecurityGroup": ("sg", "security-group"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("sg", "security-group"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpce", "vpc-endpoint"),
    "aws:ec2/flowLog:FlowLog": ("fl", "vpc-flow-log"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("lt", "launch-template"),
    "aws:ec2/placementGroup:PlacementGroup": ("pg", "placement-group"),
}

# Properties the provider fills in by autonaming when the program leaves them out.
AUTONAMED = {
    "aws:iam/role:Role": "name",
    "aws:iam/policy:Policy": "name",
    "aws:iam/rolePolicy:RolePolicy": "name",
    "aws:ec2/securityGroup:SecurityGroup": "name",
    "aws:ec2/launchTemplate:LaunchTemplate": "name",
    "aws:ec2/placementGroup:PlacementGroup": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:eks/cluster:Cluster": "name",
    "aws:eks/nodeGroup:NodeGroup": "nodeGroupName",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:sqs/queue:Queue": "name",
    "aws:cloudwatch/eventRule:EventRule": "name",
    "aws:rds/subnetGroup:SubnetGroup": "name",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": "name",
    "aws:backup/vault:Vault": "name",
    "aws:backup/plan:Plan": "name",
}


def _digest(*parts: str) -> str:
    return hashlib.sha256("::".join(parts).encode()).hexdigest()


def _uuid(digest: str) -> str:
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


class AwsMocks(Mocks):
    def __init__(self, region: str, account_id: str = OFFLINE_ACCOUNT_ID):
        self.region = region
        self.account_id = account_id
        self._shapes: dict[str, Callable[[dict, str], tuple[str, dict]]] = {
            "aws:iam/role:Role": self._iam_role,
            "aws:iam/policy:Policy": lambda state, d: (
                arn := f"arn:aws:iam::{self.account_id}:policy{state.get('path') or '/'}{state['name']}",
                {"arn": arn, "policyId": "ANPA" + d[:17].upper()},
            ),
            "aws:iam/rolePolicy:RolePolicy": lambda state, d: (f"{state.get('role', '')}:{state['name']}", {}),
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment": lambda state, d: (f"{state.get('role', '')}-{d[:20]}", {}),
            "aws:kms/key:Key": self._kms_key,
            "aws:kms/alias:Alias": lambda state, d: (state["name"], {"arn": self._arn("kms", state["name"])}),
            "aws:cloudwatch/logGroup:LogGroup": lambda state, d: (
                state["name"],
                {"arn": self._arn("logs", f"log-group:{state['name']}")},
            ),
            "aws:eks/cluster:Cluster": self._eks_cluster,
            "aws:eks/nodeGroup:NodeGroup": lambda state, d: (
                f"{state.get('clusterName')}:{state['nodeGroupName']}",
                {
                    "arn": self._arn("eks", f"nodegroup/{state.get('clusterName')}/{state['nodeGroupName']}/{_uuid(d)}"),
                    "status": "ACTIVE",
                },
            ),
            "aws:eks/addon:Addon": lambda state, d: (
                f"{state.get('clusterName')}:{state.get('addonName')}",
                {"arn": self._arn("eks", f"addon/{state.get('clusterName')}/{state.get('addonName')}/{_uuid(d)}")},
            ),
            "aws:eks/accessEntry:AccessEntry": lambda state, d: (
                f"{state.get('clusterName')}:{state.get('principalArn')}",
                {"accessEntryArn": self._arn("eks", f"access-entry/{state.get('clusterName')}/{_uuid(d)}")},
            ),
            "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": lambda state, d: (
                f"{state.get('clusterName')}#{state.get('principalArn')}#{state.get('policyArn')}",
                {},
            ),
            "aws:s3/bucket:Bucket": lambda state, d: (
                state["bucket"],
                {
                    "arn": f"arn:aws:s3:::{state['bucket']}",
                    "bucketDomainName": f"{state['bucket']}.s3.amazonaws.com",
                    "bucketRegionalDomainName": f"{state['bucket']}.s3.{self.region}.amazonaws.com",
                },
            ),
            "aws:s3/directoryBucket:DirectoryBucket": lambda state, d: (
                state["bucket"], {"arn": self._arn("s3express", f"bucket/{state['bucket']}")}
            ),
            "aws:sqs/queue:Queue": lambda state, d: (
                f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{state['name']}",
                {"arn": self._arn("sqs", state["name"]), "url": f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{state['name']}"},
            ),
            "aws:ec2/route:Route": lambda state, d: (f"r-{state.get('routeTableId')}{int(d[:8], 16) % 10**10}", {}),
            "aws:opensearch/serverlessVpcEndpoint:ServerlessVpcEndpoint": lambda state, d: (f"vpce-{d[:17]}", {}),
            "aws:opensearch/serverlessCollection:ServerlessCollection": lambda state, d: (
                d[:20],
                {
                    "arn": self._arn("aoss", f"collection/{d[:20]}"),
                    "collectionEndpoint": f"https://{d[:20]}.{self.region}.aoss.amazonaws.com",
                    "dashboardEndpoint": f"https://{d[:20]}.{self.region}.aoss.amazonaws.com/_dashboards",
                },
            ),
            "aws:rds/cluster:Cluster": lambda state, d: (
                state["clusterIdentifier"],
                {
                    "arn": self._arn("rds", f"cluster:{state['clusterIdentifier']}"),
                    "clusterResourceId": f"cluster-{d[:26].upper()}",
                    "endpoint": f"{state['clusterIdentifier']}.cluster-{d[:12]}.{self.region}.rds.amazonaws.com",
                    "readerEndpoint": f"{state['clusterIdentifier']}.cluster-ro-{d[:12]}.{self.region}.rds.amazonaws.com",
                },
            ),
            # Generated secrets: deterministic offline, and hidden from every export as secrets.
            "random:index/randomPassword:RandomPassword": lambda state, d: (d[:12], {"result": d[: int(state.get("length") or 32)]}),
        }

    # -- resources -------------------------------------------------------------------------------
    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        if not args.custom:
            return None, {}
        digest = _digest(args.typ, args.name)
        state: dict[str, Any] = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            return _uuid(digest), state
        autonamed = AUTONAMED.get(args.typ)
        if autonamed and not state.get(autonamed):
            state[autonamed] = f"{args.name}-{digest[:7]}"
        if args.typ in EC2_SHAPES:
            prefix, arn_kind = EC2_SHAPES[args.typ]
            resource_id = f"{prefix}-{digest[:17]}"
            extra = {"arn": self._arn("ec2", f"{arn_kind}/{resource_id}")}
            extra.update(self._ec2_extras(args.typ, resource_id, digest))
        elif args.typ in self._shapes:
            resource_id, extra = self._shapes[args.typ](state, digest)
        else:
            service = args.typ.split(":")[1].split("/")[0]
            resource_id = f"{args.name}-{digest[:8]}"
            extra = {"arn": self._arn(service, resource_id)}
        if "tags" in state:
            extra["tagsAll"] = state["tags"]
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(state.get(key), dict):
                state[key] = {**value, **state[key]}  # computed attributes of a block the program set
            else:
                state.setdefault(key, value)
        return resource_id, state

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    def _ec2_extras(self, typ: str, resource_id: str, digest: str) -> dict:
        if typ == "aws:ec2/eip:Eip":
            return {"allocationId": resource_id, "publicIp": f"203.0.113.{int(digest[:2], 16) % 254 + 1}"}
        if typ == "aws:ec2/natGateway:NatGateway":
            return {"publicIp": f"198.51.100.{int(digest[:2], 16) % 254 + 1}"}
        if typ == "aws:ec2/vpc:Vpc":
            return {"defaultSecurityGroupId": f"sg-{digest[17:34]}", "mainRouteTableId": f"rtb-{digest[17:34]}"}
        if typ == "aws:ec2/launchTemplate:LaunchTemplate":
            return {"latestVersion": 1, "defaultVersion": 1}
        return {}

    def _iam_role(self, state: dict, digest: str) -> tuple[str, dict]:
        return state["name"], {
            "arn": f"arn:aws:iam::{self.account_id}:role{state.get('path') or '/'}{state['name']}",
            "uniqueId": "AROA" + digest[:17].upper(),
        }

    def _kms_key(self, state: dict, digest: str) -> tuple[str, dict]:
        key_id = _uuid(digest)
        return key_id, {"keyId": key_id, "arn": self._arn("kms", f"key/{key_id}")}

    def _eks_cluster(self, state: dict, digest: str) -> tuple[str, dict]:
        name = state["name"]
        pem = "-----BEGIN CERTIFICATE-----\nMIIC" + digest.upper() + "\n-----END CERTIFICATE-----\n"
        vpc_config = dict(state.get("vpcConfig") or {})
        vpc_config.setdefault("clusterSecurityGroupId", f"sg-{digest[:17]}")
        oidc_id = digest[:32].upper()
        return name, {
            "arn": self._arn("eks", f"cluster/{name}"),
            "endpoint": f"https://{oidc_id}.gr7.{self.region}.eks.amazonaws.com",
            "certificateAuthority": {"data": base64.b64encode(pem.encode()).decode()},
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{self.region}.amazonaws.com/id/{oidc_id}"}]}],
            "vpcConfig": vpc_config,
            "status": "ACTIVE",
            "platformVersion": "eks.1",
        }

    def _zone_id(self, zone_name: str) -> str:
        """AWS maps zone names to zone ids per account; offline, a fixed mapping in the same shape (use1-az1)."""
        area, direction, number = self.region.split("-")[0], self.region.split("-")[1], self.region.split("-")[-1]
        return f"{area}{direction[0]}{number}-az{ZONE_LETTERS.index(zone_name[-1]) + 1}"

    # -- invokes ---------------------------------------------------------------------------------
    def call(self, args: MockCallArgs) -> dict:
        function = args.token.split(":")[-1]
        if function == "getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:aws:sts::{self.account_id}:assumed-role/aiplane-offline/plan",
                "userId": "AROAOFFLINEPLAN:plan",
                "id": self.account_id,
            }
        if function == "getRegion":
            return {"name": self.region, "region": self.region, "id": self.region, "endpoint": f"ec2.{self.region}.amazonaws.com"}
        if function == "getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws", "reverseDnsPrefix": "com.amazonaws"}
        if function == "getAvailabilityZones":
            names = [f"{self.region}{letter}" for letter in ZONE_LETTERS]
            return {"names": names, "zoneIds": [self._zone_id(name) for name in names], "id": self.region}
        if function == "getAvailabilityZone":
            name = args.args.get("name") or f"{self.region}a"
            return {"name": name, "zoneId": self._zone_id(name), "region": self.region, "state": "available", "id": name}
        return {}
