"""AIP_TEN_4 (`aiplane/policy/graph_checks/tenant_role_boundary.py`): examples it passes and fails."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from tests.policy.graph_checks.builders import TenantBoundary

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
]})


def role(name: str, tenant: str, boundary: str | None) -> None:
    aws.iam.Role(name, aws.iam.RoleArgs(assume_role_policy=TRUST, permissions_boundary=boundary),
                 opts=pulumi.ResourceOptions(parent=TenantBoundary(tenant)))


def passing() -> None:
    role("aip-ten-4-pass", "pass", "arn:aws:iam::123456789012:policy/tenant-pass-boundary")
    aws.iam.Role("platform-role-not-a-tenants", aws.iam.RoleArgs(assume_role_policy=TRUST))


def failing() -> None:
    role("aip-ten-4-fail", "fail", None)
