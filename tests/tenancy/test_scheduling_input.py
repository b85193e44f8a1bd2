"""Bad scheduling input, refused when the stack loads: one line naming the file, the field and the value,
exit 2, nothing written."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aiplane.cli import app
from tests.conftest import edit

runner = CliRunner()
ANALYTICS = """    - name: analytics
      blueprint: batch-cache
      parameters:
        gpus: 4"""


@pytest.mark.parametrize(
    ("environment", "old", "new", "message"),
    [
        pytest.param(
            "prod", ANALYTICS, ANALYTICS.replace("gpus: 4", "gpus: -1"),
            "stacks/Pulumi.prod.yaml: aiplane:tenants[1].parameters.gpus: -1 is below the blueprint's minimum 0",
            id="negative-share",
        ),
        pytest.param(
            "prod", "borrowGpus: 2", "borrowGpus: 40",
            "stacks/Pulumi.prod.yaml: aiplane:tenants[1] (analytics): queue.borrowingLimit: 40 GPUs is above what the cohort can ever "
            "lend it on pool 'train' (28)",
            id="borrowing-above-the-cohort",
        ),
        pytest.param(
            "prod", ANALYTICS, ANALYTICS.replace("gpus: 4", "gpus: 8") + "\n      queuePool: embed\n    - name: backfill\n      blueprint: batch-cache\n"
            "      queuePool: embed\n      parameters:\n        gpus: 2",
            "stacks/Pulumi.prod.yaml: aiplane:tenants[2] (backfill): queue: the queues on pool 'embed' promise 10 GPUs (analytics 8, "
            "backfill 2), more than it can ever hold for them: 8 GPUs at its maximum size, 0 set aside for serving",
            id="queues-above-the-pool",
        ),
        pytest.param(
            "staging", 'version: "1.34"', 'version: "1.33"',
            "stacks/Pulumi.staging.yaml: aiplane:platform: scheduling.gpuAllocation: 'dra' needs Kubernetes 1.34 or later "
            "(resource.k8s.io/v1); cluster.version is '1.33': set cluster.version to '1.34' or use 'device-plugin'",
            id="dra-on-1.33",
        ),
        pytest.param(
            "prod", ANALYTICS, ANALYTICS + "\n        priority: serving",
            "stacks/Pulumi.prod.yaml: aiplane:tenants[1].parameters.priority: 'serving' is not one of batch, training",
            id="priority-the-blueprint-does-not-allow",
        ),
    ],
)
def test_bad_scheduling_input_is_one_line_and_exit_2(project_copy, environment, old, new, message):
    edit(project_copy, environment, old, new)
    result = runner.invoke(app, ["plan", "--stack", environment])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [message], result.stderr
    assert not (project_copy / "build" / environment).exists()
