"""The policy inputs a stack is judged by: its profile (`policies/profiles/<env>.yaml`: which checks block a
deploy, which only advise, and the retention floors) and the project's waivers (`policies/waivers.yaml`).
Both are validated before anything runs; an expired waiver, or one without a reason, is an input error.
"""
from __future__ import annotations

import fnmatch
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError

from aiplane.errors import InputError, describe_validation_error
from aiplane.files import display_path, read_yaml
from aiplane.loader import known_stacks
from aiplane.spec import Model, RetentionMinimums
from aiplane.spec.common import collapsed, valid_glob

CheckPattern = str  # an exact id (CKV_AWS_39) or a prefix ending in "_" (CKV_AWS_, AIP_)
Severity = Literal["mandatory", "advisory"]


class AdvisoryEntry(Model):
    check: CheckPattern = Field(pattern=r"^[A-Z0-9_]+$")
    reason: str = Field(min_length=10, description="Why this check only advises in this environment.")


class Profile(Model):
    description: str = Field(min_length=1)
    mandatory: list[CheckPattern] = Field(description="Check ids or id prefixes (ending in _) that block a deploy.")
    advisory: list[AdvisoryEntry] = Field(default_factory=list)
    minimum_retention_days: RetentionMinimums = Field(
        default_factory=RetentionMinimums, description="Floors for the stack's metrics and log retention, checked when it loads."
    )

    def classify(self, check_id: str) -> tuple[Severity, str | None]:
        """The most specific matching entry decides; an exact id beats any prefix. Unmatched: advisory."""
        candidates: list[tuple[int, Severity, str | None]] = []
        for pattern in self.mandatory:
            if _matches(pattern, check_id):
                candidates.append((_specificity(pattern, check_id), "mandatory", None))
        for entry in self.advisory:
            if _matches(entry.check, check_id):
                candidates.append((_specificity(entry.check, check_id), "advisory", entry.reason))
        if not candidates:
            return "advisory", "not listed in the profile"
        _, severity, reason = max(candidates, key=lambda candidate: (candidate[0], candidate[1] == "advisory"))
        return severity, reason


def _matches(pattern: str, check_id: str) -> bool:
    return check_id == pattern or (pattern.endswith("_") and check_id.startswith(pattern))


def _specificity(pattern: str, check_id: str) -> int:
    return 10_000 if pattern == check_id else len(pattern)


class Waiver(Model):
    check: str = Field(pattern=r"^[A-Z0-9_]+$")
    resource: Annotated[str, AfterValidator(valid_glob)] = Field(min_length=1, description="Glob on the resource address, e.g. aws_eks_cluster.cluster-*")
    stacks: list[str] = Field(min_length=1)
    reason: Annotated[str, BeforeValidator(collapsed)] = Field(min_length=20, description="Why the risk is accepted; reviewed like code.")
    owner: Annotated[str, BeforeValidator(collapsed)] = Field(min_length=1)
    expires: date

    def covers(self, check_id: str, resource: str, stack: str) -> bool:
        return self.check == check_id and stack in self.stacks and fnmatch.fnmatchcase(resource, self.resource)


class WaiverFile(Model):
    waivers: list[Waiver] = Field(default_factory=list)


def profile_path(project_dir: Path, environment: str) -> Path:
    return project_dir / "policies" / "profiles" / f"{environment}.yaml"


def refuse_unknown_checks(project_dir: Path, profiles: dict[str, Profile], waivers: list[Waiver], known: set[str]) -> None:
    """An entry that matches no check does nothing, silently: a typo (`AIP` for `AIP_`) would turn enforcement
    off. Every profile entry and every waiver must name a check that exists (checkov's or aiplane's)."""
    problems = []
    for environment, profile in profiles.items():
        source = display_path(profile_path(project_dir, environment))
        entries = [(f"mandatory[{index}]", pattern) for index, pattern in enumerate(profile.mandatory)]
        entries += [(f"advisory[{index}].check", entry.check) for index, entry in enumerate(profile.advisory)]
        for where, pattern in entries:
            if not any(_matches(pattern, check_id) for check_id in known):
                problems.append(f"{source}: {where}: {pattern!r} matches no check (a prefix ends in '_')")
    source = display_path(project_dir / "policies" / "waivers.yaml")
    for index, waiver in enumerate(waivers):
        if waiver.check not in known:
            problems.append(f"{source}: waivers[{index}].check: {waiver.check!r} is not a check")
    if problems:
        raise InputError(problems)


def load_profile(project_dir: Path, environment: str) -> Profile:
    path = profile_path(project_dir, environment)
    if not path.is_file():
        raise InputError(f"{display_path(path)}: no policy profile for stack {environment!r}")
    return _validated(path, Profile)


def load_waivers(project_dir: Path, stacks: list[str], today: date) -> list[Waiver]:
    path = project_dir / "policies" / "waivers.yaml"
    if not path.is_file():
        return []
    waivers = _validated(path, WaiverFile).waivers
    source = display_path(path)
    problems = []
    known = set(known_stacks(project_dir / "stacks"))
    for index, waiver in enumerate(waivers):
        if waiver.expires < today:
            problems.append(f"{source}: waivers[{index}].expires: {waiver.expires.isoformat()} has passed; renew or remove the waiver")
        for stack in waiver.stacks:
            if stack not in known:
                problems.append(f"{source}: waivers[{index}].stacks: {stack!r} is not a stack of this project")
    if problems:
        raise InputError(problems)
    return waivers


def _validated(path: Path, model: type[Model]):
    data = read_yaml(path)
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as error:
        raise InputError(describe_validation_error(display_path(path), error)) from None
