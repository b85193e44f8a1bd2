"""The verification parsers on recorded real outputs (tests/verify/fixtures/SOURCES.md), and the verdicts they
give against the instance catalog."""
from __future__ import annotations

from pathlib import Path

import pytest

from aiplane.planning.instances import load_instance_catalog
from aiplane.verify.gpu_node import NvidiaSmiError, accept_node, parse_nvidia_smi
from aiplane.verify.nccl import judge_fabric, parse_nccl_log

FIXTURES = Path(__file__).with_name("fixtures")
CATALOG = load_instance_catalog().instances


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_an_a10g_node_is_accepted_as_a_g5_xlarge():
    report = parse_nvidia_smi(fixture("nvidia-smi-q-x.a10g.xml"))
    assert report.driver_version == "515.105.01" and report.attached_gpus == 1
    (gpu,) = report.gpus
    assert (gpu.product, gpu.product_label, gpu.memory_mib) == ("NVIDIA A10G", "NVIDIA-A10G", 23028)
    verdict = accept_node(report, CATALOG["g5.xlarge"])
    assert verdict.passed, verdict.findings
    assert verdict.evidence == "1 x NVIDIA A10G, 23028 MiB each, driver 515.105.01"


def test_the_same_node_fails_as_another_instance_type():
    report = parse_nvidia_smi(fixture("nvidia-smi-q-x.a10g.xml"))
    verdict = accept_node(report, CATALOG["g6e.xlarge"])
    assert not verdict.passed
    assert verdict.findings == ("GPU 0 is NVIDIA A10G, g6e.xlarge has NVIDIA-L40S", "GPU 0 has 23028 MiB, under 41198 MiB (90% of 45776)")


def test_a_node_that_lists_fewer_gpus_than_it_has_is_refused():
    """The A100 report says 4 GPUs are attached but lists one: a p4de.24xlarge (8) fails on the count."""
    report = parse_nvidia_smi(fixture("nvidia-smi-q-x.a100-sxm4-80gb.xml"))
    (gpu,) = report.gpus
    assert gpu.product_label == "NVIDIA-A100-SXM4-80GB" and gpu.memory_mib == 81920
    verdict = accept_node(report, CATALOG["p4de.24xlarge"])
    assert verdict.findings == ("1 GPUs reported, p4de.24xlarge has 8", "attached_gpus says 4, the report lists 1")


@pytest.mark.parametrize("text", ["", "<gpu/>", "nvidia-smi: command not found"])
def test_what_is_not_nvidia_smi_xml_is_refused(text):
    with pytest.raises(NvidiaSmiError):
        parse_nvidia_smi(text)


def test_nccl_tests_over_efa_pass_with_their_bandwidth():
    run = parse_nccl_log(fixture("nccl-tests-all-reduce.p4d.24xlarge-x2.efa.txt"))
    assert run.transport == "efa"
    assert run.average_busbw == pytest.approx(11.2432)
    assert run.rows[0].size_bytes == 8 and run.rows[-1].size_bytes == 4294967296
    assert len(run.rows) == 30
    verdict = judge_fabric(run)
    assert verdict.passed and verdict.finding.startswith("EFA (average bus bandwidth 11.2432 GB/s")


def test_a_socket_fallback_fails_the_fabric():
    run = parse_nccl_log(fixture("nccl-socket-fallback.excerpt.txt"))
    assert run.transport == "socket" and run.rows == ()
    assert judge_fabric(run).passed is False
    # One socket channel among EFA ones is still a fallback.
    mixed = fixture("nccl-tests-all-reduce.p4d.24xlarge-x2.efa.txt") + "\nNCCL INFO Channel 00 : 0[0] -> 8[0] [send] via NET/Socket/0\n"
    assert parse_nccl_log(mixed).transport == "socket"
    assert judge_fabric(parse_nccl_log("no NCCL here")).finding == "the log names no NCCL network (run with NCCL_DEBUG=INFO)"
