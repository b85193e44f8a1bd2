"""What the scheduling checks' own examples cannot show in one graph: AIP_SCH_3 under the device plugin."""
from __future__ import annotations

from aiplane.policy.graph_checks import gpu_request_mode
from tests.policy.graph_checks.test_graph_checks import example, results


def test_claims_fail_and_device_plugin_gpus_pass_without_a_dra_driver():
    seen = results(gpu_request_mode, example("gpu_request_mode").failing_without_dra)
    assert seen == {"aip-sch-3-fail-claim": False, "aip-sch-3-pass-device-plugin": True}
