"""The README promises only controls a check enforces: each bullet of its controls list is a control of
aiplane/policy/controls.py, and each control names checks that exist and that fail on their examples."""
from __future__ import annotations

import re
import subprocess

from aiplane.policy.catalog import load_check_catalog
from aiplane.policy.change_checks import change_check_catalog
from aiplane.policy.controls import CONTROLS
from aiplane.policy.graph_checks import graph_check_catalog
from tests.conftest import PROJECT_DIR


def readme_controls() -> list[str]:
    text = (PROJECT_DIR / "README.md").read_text()
    section = re.search(r"<!-- controls:.*?-->\n(.*?)<!-- end of controls -->", text, re.S)
    assert section, "README.md has no controls list"
    return [line.removeprefix("- ").strip() for line in section.group(1).splitlines() if line.strip()]


def test_every_control_the_readme_names_is_enforced_by_a_check():
    statements = {control.statement for control in CONTROLS}
    unknown = [line for line in readme_controls() if line not in statements]
    assert not unknown, f"README.md names controls no check enforces: {unknown}"


def test_every_control_names_checks_that_exist():
    ours = {check.id for check in [*load_check_catalog(PROJECT_DIR / "policies" / "checks"), *graph_check_catalog(), *change_check_catalog()]}
    named = {check for control in CONTROLS for check in control.checks}
    assert all(control.checks for control in CONTROLS)
    assert {check for check in named if check.startswith("AIP_")} <= ours, sorted(named - ours)
    assert ours <= named, f"checks no control lists: {sorted(ours - named)}"
    builtin = sorted(check for check in named if not check.startswith("AIP_"))
    script = "import checkov.terraform.checks.resource.aws  # noqa\nfrom checkov.terraform.checks.resource.registry import resource_registry as r\n" \
             "print(' '.join(sorted({c.id for cs in r.checks.values() for c in cs})))"
    registered = set(subprocess.run([str(PROJECT_DIR / ".venv-checkov" / "bin" / "python"), "-c", script],
                                    capture_output=True, text=True, check=True).stdout.split())
    assert set(builtin) <= registered, sorted(set(builtin) - registered)
