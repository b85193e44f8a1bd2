"""AIP_SCH_2 (`aiplane/policy/graph_checks/tenant_priority_ceiling.py`): examples it passes and fails."""
from __future__ import annotations

from tests.policy.graph_checks.builders import gpu_job, tenant_namespace

CEILING = "aiplane.io/priority-ceiling"


def passing() -> None:
    tenant_namespace("aip-sch-2-pass-batch", labels={CEILING: "batch"})
    gpu_job("aip-sch-2-pass-at-ceiling", "aip-sch-2-pass-batch", priority="aiplane-batch")
    gpu_job("aip-sch-2-pass-below", "aip-sch-2-pass-batch", priority="aiplane-training")
    gpu_job("aip-sch-2-pass-no-class", "aip-sch-2-pass-batch")
    # A blueprint that allows serving (a tenant's own inference).
    tenant_namespace("aip-sch-2-pass-serving", labels={CEILING: "serving"})
    gpu_job("aip-sch-2-pass-serving-job", "aip-sch-2-pass-serving", priority="aiplane-serving")


def failing() -> None:
    tenant_namespace("aip-sch-2-fail-batch", labels={CEILING: "batch"})
    gpu_job("aip-sch-2-fail-serving", "aip-sch-2-fail-batch", priority="aiplane-serving")
    gpu_job("aip-sch-2-fail-interactive", "aip-sch-2-fail-batch", priority="aiplane-interactive")
    # A class aiplane does not define (here the cluster's own, above every tenant's).
    gpu_job("aip-sch-2-fail-system", "aip-sch-2-fail-batch", priority="system-cluster-critical")
    # Without the label the ceiling is batch.
    tenant_namespace("aip-sch-2-fail-unlabelled")
    gpu_job("aip-sch-2-fail-unlabelled-job", "aip-sch-2-fail-unlabelled", priority="aiplane-interactive")
