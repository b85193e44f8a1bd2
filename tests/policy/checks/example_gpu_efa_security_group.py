"""AIP_GPU_5 (`policies/checks/gpu_efa_security_group.py`): an example it passes and one it fails."""
from __future__ import annotations

import pulumi_aws as aws

from tests.policy.checks.builders import efa_security_group


def passing() -> None:
    efa_security_group("aip-gpu-5-pass")


def failing() -> None:
    efa_security_group(
        "aip-gpu-5-fail",
        [aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=22, to_port=22, cidr_blocks=["10.0.0.0/8"], description="ssh")],
    )
