"""aiplane's checks on a change (`AIP_CHG_*`): rules on what a change does to the base it is reviewed against
(`aiplane diff`), shaped like the graph checks (ID, TITLE, WHY, RESOURCES) with `evaluate` on the changes."""
from __future__ import annotations

from types import ModuleType

from aiplane.policy.catalog import CheckInfo, module_catalog
from aiplane.policy.change_checks import stateful_replacement

CHANGE_CHECKS: tuple[ModuleType, ...] = (stateful_replacement,)
SOURCE_FOLDER = "aiplane/policy/change_checks"


def change_check_catalog() -> list[CheckInfo]:
    return module_catalog(CHANGE_CHECKS, SOURCE_FOLDER)
