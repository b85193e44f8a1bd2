"""The gate fails closed where checkov would let a scan pass open: a check that raises, a check whose type
exists nowhere, a check the gate cannot verify, an answer with fewer results than resources, and profile or
waiver entries that match no check."""
from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiplane.cli import app
from tests.policy.test_gate import fake_checkov

runner = CliRunner()

RAISING_CHECK = '''from aip_support import AiplaneCheck, CheckCategories

ID = "AIP_FIN_9"
TITLE = "A check with a bug"
WHY = "It raises on every bucket."
CATEGORY = CheckCategories.GENERAL_SECURITY
RESOURCES = ("aws_s3_bucket",)


class Raises(AiplaneCheck):
    def scan_resource_conf(self, conf):
        return conf["no such attribute"][0]


check = Raises()
'''

UNVERIFIABLE_CHECK = '''from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

ID = "AIP_FIN_9"
TITLE = "A check past the ledger"
WHY = "It derives from checkov's base class, so the gate cannot see what it evaluated."
RESOURCES = ("aws_s3_bucket",)


class Unverifiable(BaseResourceCheck):
    def __init__(self):
        super().__init__(name=TITLE, id=ID, categories=[CheckCategories.GENERAL_SECURITY], supported_resources=list(RESOURCES))

    def scan_resource_conf(self, conf):
        return CheckResult.PASSED


check = Unverifiable()
'''


def check_exits(code: int, message: str, stack: str = "dev") -> None:
    result = runner.invoke(app, ["check", "--stack", stack])
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_a_check_that_raises_is_an_engine_failure(project_copy):
    (project_copy / "policies" / "checks" / "fin_raises.py").write_text(RAISING_CHECK)
    check_exits(3, "AIP_FIN_9 raised on aws_s3_bucket.")


def test_a_check_of_a_type_that_does_not_exist_is_an_engine_failure(project_copy):
    """The review's case: the GPU taint rule pointed at `aws_eks_nodegroup` would never run."""
    rule = project_copy / "policies" / "checks" / "gpu_node_group_taint.py"
    rule.write_text(rule.read_text().replace('RESOURCES = ("aws_eks_node_group",)', 'RESOURCES = ("aws_eks_nodegroup",)'))
    check_exits(3, "AIP_GPU_3 applies to 'aws_eks_nodegroup', a type aiplane never renders")


def test_a_check_the_gate_cannot_verify_is_an_engine_failure(project_copy):
    (project_copy / "policies" / "checks" / "fin_unverifiable.py").write_text(UNVERIFIABLE_CHECK)
    check_exits(3, "AIP_FIN_9 does not derive from aip_support.AiplaneCheck")


def test_an_answer_shorter_than_the_scan_is_an_engine_failure(project_copy, tmp_path, monkeypatch):
    """The real worker's answer, cut down to a single PASSED record, as a broken or hostile checkov might give."""
    worker = Path(__file__).resolve().parents[2] / "aiplane" / "policy" / "worker.py"
    checkov_python = project_copy / ".venv-checkov" / "bin" / "python"
    cut = (
        "import json, sys; answer = json.load(sys.stdin); scans = list(answer['scans'].values());"
        " [scan.update(results=[r for r in scan['results'] if r['result'] == 'PASSED'][:1] if scan is scans[0] else []) for scan in scans];"
        " print(json.dumps(answer))"
    )
    script = f'"{checkov_python}" "{worker}" | "{checkov_python}" -c "{cut}"\n'
    monkeypatch.setenv("AIPLANE_CHECKOV", fake_checkov(tmp_path, f"shift; {script}"))
    check_exits(3, "refusing an incomplete policy answer")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  - AIP_\n", "  - AIP\n", "policies/profiles/dev.yaml: mandatory[0]: 'AIP' matches no check (a prefix ends in '_')"),
        ("  - check: CKV_AWS_39\n", "  - check: CKV_AWS_3900\n", "policies/profiles/dev.yaml: advisory[0].check: 'CKV_AWS_3900' matches no check"),
    ],
)
def test_a_profile_entry_that_matches_no_check_is_an_input_error(project_copy, old, new, message):
    profile = project_copy / "policies" / "profiles" / "dev.yaml"
    assert old in profile.read_text()
    profile.write_text(profile.read_text().replace(old, new, 1))
    check_exits(2, message)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  - check: CKV_AWS_145\n", "  - check: CKV_AWS_1450\n", "policies/waivers.yaml: waivers[0].check: 'CKV_AWS_1450' is not a check"),
        ("    owner: ml-platform@example.com\n", "    owner: '   '\n", "policies/waivers.yaml: waivers[0].owner:"),
        ("    resource: aws_s3_bucket.storage-logs\n", "    resource: aws_s3_bucket.[storage-logs\n",
         "policies/waivers.yaml: waivers[0].resource: 'aws_s3_bucket.[storage-logs' is not a valid glob"),
    ],
)
def test_a_waiver_that_names_nothing_real_is_an_input_error(project_copy, old, new, message):
    waivers = project_copy / "policies" / "waivers.yaml"
    assert old in waivers.read_text()
    waivers.write_text(waivers.read_text().replace(old, new, 1))
    result = runner.invoke(app, ["check", "--stack", "dev"])
    assert result.exit_code == 2, result.output
    assert any(line.startswith(message) for line in result.stderr.splitlines()), result.stderr
