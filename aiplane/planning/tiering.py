"""Storage tiering: when objects of each purpose move hot → warm → archive, and when they expire.

Pure data in, pure data out: the object-storage component turns `lifecycle_rules` into S3 lifecycle
configuration, and `check` is what the stack spec runs, so a rule S3 would reject, or one that pays an
early-deletion fee by design, fails before anything is deployed.

The tiers:
- hot: S3 Standard, where every object starts;
- warm: S3 Intelligent-Tiering (the default), which moves each object between its frequent, infrequent and
  archive instant access tiers by its own access pattern, with no retrieval fee, so a weight file read again
  after months costs nothing extra; or S3 Standard-IA, cheaper for data known to be cold, with a retrieval
  fee and no per-object monitoring charge;
- archive: S3 Glacier Instant Retrieval (milliseconds to read, for data that may be needed at once) or
  S3 Glacier Deep Archive (hours to restore, for data kept for compliance or reproducibility).

The AWS rules encoded in `STORAGE_CLASSES` are from the Amazon S3 User Guide (pages cited in
docs/storage.md): lifecycle transitions follow a one-way waterfall, each class has a minimum number of
days an object must have existed before a transition into it, and archive classes bill a minimum storage
duration, so an object moved or deleted earlier is charged for the rest of it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Purpose = Literal["datasets", "models", "checkpoints", "audit", "logs"]
PURPOSES: tuple[Purpose, ...] = ("datasets", "models", "checkpoints", "audit", "logs")
WarmClass = Literal["INTELLIGENT_TIERING", "STANDARD_IA"]
ArchiveClass = Literal["GLACIER_IR", "DEEP_ARCHIVE"]
WARM_CLASSES: tuple[WarmClass, ...] = ("INTELLIGENT_TIERING", "STANDARD_IA")
ARCHIVE_CLASSES: tuple[ArchiveClass, ...] = ("GLACIER_IR", "DEEP_ARCHIVE")


@dataclass(frozen=True)
class StorageClass:
    name: str
    waterfall_position: int  # lifecycle transitions only move to a higher position
    min_age_days: int  # the earliest age, in days since creation, at which lifecycle may move an object here
    min_storage_days: int  # billed minimum: leaving earlier is charged as if the object had stayed


STORAGE_CLASSES: dict[str, StorageClass] = {
    "STANDARD": StorageClass("STANDARD", 0, 0, 0),
    "STANDARD_IA": StorageClass("STANDARD_IA", 1, 30, 30),
    "INTELLIGENT_TIERING": StorageClass("INTELLIGENT_TIERING", 2, 0, 0),
    "GLACIER_IR": StorageClass("GLACIER_IR", 3, 0, 90),
    "DEEP_ARCHIVE": StorageClass("DEEP_ARCHIVE", 4, 0, 180),
}
# S3 rejects a lifecycle rule whose days are below 1 for these actions.
MIN_NONCURRENT_DAYS = 1
MIN_ABORT_UPLOAD_DAYS = 1


@dataclass(frozen=True)
class Tiering:
    """One purpose's tiers, in days since an object was created (or, for noncurrent versions, replaced)."""

    warm_after_days: int | None = None
    warm_class: WarmClass = "INTELLIGENT_TIERING"
    archive_after_days: int | None = None
    archive_class: ArchiveClass = "GLACIER_IR"
    expire_after_days: int | None = None
    noncurrent_expire_after_days: int = 30
    abort_incomplete_upload_after_days: int = 7

    @property
    def transitions(self) -> list[tuple[int, str]]:
        """(age in days, storage class), in the order S3 applies them."""
        steps = []
        if self.warm_after_days is not None:
            steps.append((self.warm_after_days, self.warm_class))
        if self.archive_after_days is not None:
            steps.append((self.archive_after_days, self.archive_class))
        return steps


class TieringError(ValueError):
    """A tiering S3 would reject or that pays an early-deletion fee by design."""


def check(tiering: Tiering) -> list[str]:
    """Every problem with `tiering`, one sentence each, naming the stack-file fields; empty when it is valid."""
    problems = []
    fields_by_class = {**{name: "warmAfterDays" for name in WARM_CLASSES}, **{name: "archiveAfterDays" for name in ARCHIVE_CLASSES}}
    for days, storage_class in tiering.transitions:
        rules = STORAGE_CLASSES[storage_class]
        if days < rules.min_age_days:
            problems.append(f"{fields_by_class[storage_class]} {days} is below the {rules.min_age_days} days S3 requires before {storage_class}")
    if tiering.warm_after_days is not None and tiering.archive_after_days is not None:
        if tiering.archive_after_days <= tiering.warm_after_days:
            problems.append(
                f"archiveAfterDays {tiering.archive_after_days} must come after warmAfterDays {tiering.warm_after_days} "
                "(objects move hot -> warm -> archive)"
            )
    problems += _minimum_stays(tiering)
    if tiering.noncurrent_expire_after_days < MIN_NONCURRENT_DAYS:
        problems.append(f"noncurrentExpireAfterDays {tiering.noncurrent_expire_after_days} must be at least {MIN_NONCURRENT_DAYS}")
    if tiering.abort_incomplete_upload_after_days < MIN_ABORT_UPLOAD_DAYS:
        problems.append(
            f"abortIncompleteUploadsAfterDays {tiering.abort_incomplete_upload_after_days} must be at least {MIN_ABORT_UPLOAD_DAYS}"
        )
    return problems


def _minimum_stays(tiering: Tiering) -> list[str]:
    """An object that leaves a class (by a later transition or by expiry) before that class's minimum
    storage duration is billed for the full duration anyway: a tiering that does so by design is an error."""
    problems = []
    steps = tiering.transitions
    if tiering.expire_after_days is not None:
        last_entry = max((days for days, _ in steps), default=0)
        if tiering.expire_after_days <= last_entry:
            problems.append(f"expireAfterDays {tiering.expire_after_days} must come after the last transition (day {last_entry})")
    exits = [days for days, _ in steps[1:]] + ([tiering.expire_after_days] if tiering.expire_after_days is not None else [])
    for (entered, storage_class), left in zip(steps, exits):
        minimum = STORAGE_CLASSES[storage_class].min_storage_days
        if 0 < left - entered < minimum:  # out-of-order days are reported above
            problems.append(
                f"objects leave {storage_class} after {left - entered} days (day {entered} to day {left}), "
                f"before its {minimum}-day minimum storage duration"
            )
    return problems


def validated(tiering: Tiering) -> Tiering:
    problems = check(tiering)
    if problems:
        raise TieringError("; ".join(problems))
    return tiering


@dataclass(frozen=True)
class LifecycleRule:
    """An S3 lifecycle rule as data: the component turns it into pulumi_aws arguments."""

    id: str
    prefix: str
    transitions: list[tuple[int, str]] = field(default_factory=list)
    expire_after_days: int | None = None
    noncurrent_expire_after_days: int | None = None
    abort_incomplete_upload_after_days: int | None = None


def lifecycle_rules(tiering: Tiering, versioned: bool = True) -> list[LifecycleRule]:
    """The lifecycle of a bucket with this tiering: one rule over the whole bucket."""
    validated(tiering)
    return [
        LifecycleRule(
            id="tiering",
            prefix="",
            transitions=tiering.transitions,
            expire_after_days=tiering.expire_after_days,
            noncurrent_expire_after_days=tiering.noncurrent_expire_after_days if versioned else None,
            abort_incomplete_upload_after_days=tiering.abort_incomplete_upload_after_days,
        )
    ]


# Defaults per purpose, chosen for how each is read. Stacks override any field per environment.
DEFAULT_TIERING: dict[Purpose, Tiering] = {
    # Training data is read in bursts by jobs: Intelligent-Tiering follows the bursts; a year on, keep it
    # readable at once in Glacier Instant Retrieval.
    "datasets": Tiering(warm_after_days=30, archive_after_days=365, archive_class="GLACIER_IR", noncurrent_expire_after_days=30),
    # Weights are read whenever a server starts; old versions are kept for rollback and reproducibility.
    "models": Tiering(warm_after_days=30, archive_after_days=365, archive_class="GLACIER_IR", noncurrent_expire_after_days=90),
    # Checkpoints are written often and read only to resume or to audit a run: warm within a week, deep
    # archive after three months; overwritten checkpoints go after a week.
    "checkpoints": Tiering(
        warm_after_days=7, archive_after_days=90, archive_class="DEEP_ARCHIVE", noncurrent_expire_after_days=7,
        abort_incomplete_upload_after_days=1,
    ),
    # Audit records are written once and read in an investigation: deep archive after a year.
    "audit": Tiering(warm_after_days=30, archive_after_days=365, archive_class="DEEP_ARCHIVE", noncurrent_expire_after_days=365),
    # Access logs are read for a few weeks; kept a year, then deleted.
    "logs": Tiering(
        warm_after_days=30, archive_after_days=90, archive_class="GLACIER_IR", expire_after_days=365, noncurrent_expire_after_days=30,
    ),
}
