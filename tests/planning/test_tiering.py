"""Storage tiering: properties every accepted tiering has, and the AWS rules it is checked against.

AWS facts (Amazon S3 User Guide): lifecycle transitions follow a one-way waterfall (Standard → Standard-IA →
Intelligent-Tiering → Glacier Instant Retrieval → Glacier Deep Archive is allowed, never back up);
Intelligent-Tiering and the Glacier classes accept transitions at any age; Glacier Instant Retrieval
bills a 90-day and Deep Archive a 180-day minimum storage duration; Intelligent-Tiering has none;
Standard-IA takes objects 30 days after creation at the earliest and bills 30 days, so an archive
transition must come at least 30 days after it.
"""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aiplane.planning.tiering import (
    ARCHIVE_CLASSES,
    DEFAULT_TIERING,
    STORAGE_CLASSES,
    WARM_CLASSES,
    Tiering,
    TieringError,
    check,
    lifecycle_rules,
)

days = st.integers(min_value=-5, max_value=3000)
optional_days = st.none() | days

tierings = st.builds(
    Tiering,
    warm_after_days=optional_days,
    warm_class=st.sampled_from(WARM_CLASSES),
    archive_after_days=optional_days,
    archive_class=st.sampled_from(ARCHIVE_CLASSES),
    expire_after_days=optional_days,
    noncurrent_expire_after_days=days,
    abort_incomplete_upload_after_days=days,
)


def test_the_aws_rules_are_the_documented_ones():
    assert STORAGE_CLASSES["GLACIER_IR"].min_storage_days == 90
    assert STORAGE_CLASSES["DEEP_ARCHIVE"].min_storage_days == 180
    assert STORAGE_CLASSES["INTELLIGENT_TIERING"].min_storage_days == 0
    assert (STORAGE_CLASSES["STANDARD_IA"].min_age_days, STORAGE_CLASSES["STANDARD_IA"].min_storage_days) == (30, 30)
    order = [
        STORAGE_CLASSES[name].waterfall_position
        for name in ("STANDARD", "STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "DEEP_ARCHIVE")
    ]
    assert order == sorted(order) and len(set(order)) == 5


def test_every_default_tiering_is_valid():
    for purpose, tiering in DEFAULT_TIERING.items():
        assert check(tiering) == [], purpose
        assert tiering.warm_after_days is not None and tiering.archive_after_days is not None, purpose


@given(tierings)
def test_accepted_tierings_move_down_the_waterfall_in_strictly_increasing_days(tiering):
    if check(tiering):
        return
    (rule,) = lifecycle_rules(tiering)
    ages = [age for age, _ in rule.transitions]
    assert ages == sorted(set(ages)), "transition days strictly increase"
    positions = [STORAGE_CLASSES[storage_class].waterfall_position for _, storage_class in rule.transitions]
    assert positions == sorted(set(positions)), "each transition goes to a colder class"
    classes = [storage_class for _, storage_class in rule.transitions]
    if tiering.warm_class in classes and any(c in ARCHIVE_CLASSES for c in classes):
        warm = classes.index(tiering.warm_class)
        assert warm < next(i for i, c in enumerate(classes) if c in ARCHIVE_CLASSES), "archive after warm"


@given(tierings)
def test_accepted_tierings_respect_each_class_minimums(tiering):
    if check(tiering):
        return
    (rule,) = lifecycle_rules(tiering)
    for age, storage_class in rule.transitions:
        assert age >= STORAGE_CLASSES[storage_class].min_age_days
    exits = [age for age, _ in rule.transitions[1:]] + ([rule.expire_after_days] if rule.expire_after_days is not None else [])
    for (entered, storage_class), left in zip(rule.transitions, exits):
        assert left - entered >= STORAGE_CLASSES[storage_class].min_storage_days
    assert rule.noncurrent_expire_after_days >= 1 and rule.abort_incomplete_upload_after_days >= 1


@given(st.integers(min_value=0, max_value=1000), st.integers(min_value=0, max_value=1000), st.sampled_from(ARCHIVE_CLASSES))
def test_an_archive_at_or_before_warm_is_refused(warm, archive, archive_class):
    tiering = Tiering(warm_after_days=max(warm, archive), archive_after_days=min(warm, archive), archive_class=archive_class)
    problems = check(tiering)
    assert any("must come after warmAfterDays" in problem for problem in problems)


@given(st.integers(min_value=0, max_value=1000), st.sampled_from(ARCHIVE_CLASSES), st.integers(min_value=1, max_value=400))
def test_leaving_an_archive_class_early_is_refused(archive, archive_class, stay):
    tiering = Tiering(warm_after_days=None, archive_after_days=archive, archive_class=archive_class, expire_after_days=archive + stay)
    early = stay < STORAGE_CLASSES[archive_class].min_storage_days
    assert any("minimum storage duration" in problem for problem in check(tiering)) == early


@given(st.integers(min_value=0, max_value=29))
def test_standard_ia_takes_objects_only_after_30_days(warm):
    assert check(Tiering(warm_after_days=warm, warm_class="STANDARD_IA", archive_after_days=None)) == [
        f"warmAfterDays {warm} is below the 30 days S3 requires before STANDARD_IA"
    ]


@given(st.integers(min_value=30, max_value=400), st.integers(min_value=1, max_value=60))
def test_an_archive_less_than_30_days_after_standard_ia_is_refused(warm, gap):
    problems = check(Tiering(warm_after_days=warm, warm_class="STANDARD_IA", archive_after_days=warm + gap))
    assert (problems != []) == (gap < 30)


def test_refusals_name_the_stack_file_fields():
    problems = check(Tiering(warm_after_days=30, archive_after_days=10, noncurrent_expire_after_days=0, abort_incomplete_upload_after_days=0))
    assert problems == [
        "archiveAfterDays 10 must come after warmAfterDays 30 (objects move hot -> warm -> archive)",
        "noncurrentExpireAfterDays 0 must be at least 1",
        "abortIncompleteUploadsAfterDays 0 must be at least 1",
    ]


def test_lifecycle_rules_refuse_an_invalid_tiering():
    try:
        lifecycle_rules(Tiering(warm_after_days=30, archive_after_days=30))
    except TieringError as error:
        assert "must come after" in str(error)
    else:
        raise AssertionError("an archive on the warm day was accepted")


def test_an_unversioned_bucket_gets_no_noncurrent_rule():
    (rule,) = lifecycle_rules(DEFAULT_TIERING["logs"], versioned=False)
    assert rule.noncurrent_expire_after_days is None
    assert rule.expire_after_days == 365
