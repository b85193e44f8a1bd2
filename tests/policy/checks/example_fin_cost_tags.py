"""AIP_FIN_1 (`policies/checks/fin_cost_tags.py`): an example it passes and one it fails."""
from __future__ import annotations

import pulumi_aws as aws

# The failing example is built outside the cost-tag transformation (see programs.untagged_program).
UNTAGGED = True


def passing() -> None:
    aws.sqs.Queue("aip-fin-1-pass")


def failing() -> None:
    aws.sqs.Queue("aip-fin-1-fail")
