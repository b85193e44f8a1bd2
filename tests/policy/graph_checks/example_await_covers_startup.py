"""AIP_DEP_2 (`aiplane/policy/graph_checks/await_covers_startup.py`): examples it passes and fails."""
from __future__ import annotations

import pulumi

from tests.policy.graph_checks.builders import deployment, provider


def passing() -> None:
    on = provider("aip-dep-2-pass-k8s")
    waits = pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="25m", update="25m"))
    deployment("aip-dep-2-pass", on, startup_seconds=1200, opts=waits)
    deployment("aip-dep-2-pass-annotated", on, startup_seconds=1200, annotations={"pulumi.com/timeoutSeconds": "1500"})
    deployment("aip-dep-2-pass-skipped", on, startup_seconds=1200, annotations={"pulumi.com/skipAwait": "true"})
    deployment("aip-dep-2-pass-quick", on, startup_seconds=300)


def failing() -> None:
    on = provider("aip-dep-2-fail-k8s")
    deployment("aip-dep-2-fail", on, startup_seconds=1200)
    # Create covered, update not: the next rollout would time out.
    short_update = pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="25m"))
    deployment("aip-dep-2-fail-update", on, startup_seconds=1200, opts=short_update)
