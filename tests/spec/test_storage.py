"""Storage and vector databases in stack files: what reaches the components, and the bad inputs that stop a
plan (and `pulumi up`) with exit 2 and one line naming the file, the field and the problem."""
from __future__ import annotations

from dataclasses import replace

import pytest

from aiplane.loader import load_stack
from aiplane.planning.tiering import DEFAULT_TIERING
from tests.conftest import PROJECT_DIR, edit, plan_fails_with

PROD_AUDIT = "        audit:\n          objectLock: {mode: COMPLIANCE, retentionDays: 365}\n"
PROD_RAG = "      - name: rag\n        engine: pgvector\n"
DEV_RAG = "      - name: rag\n        engine: qdrant\n"

BAD_DATA_EDITS = [
    (
        "prod",
        PROD_AUDIT,
        "        audit:\n          warmAfterDays: 400\n          objectLock: {mode: COMPLIANCE, retentionDays: 365}\n",
        "stacks/Pulumi.prod.yaml: aiplane:platform.storage.buckets.audit: archiveAfterDays 365 must come after "
        "warmAfterDays 400 (objects move hot -> warm -> archive)",
    ),
    (
        "prod",
        PROD_AUDIT,
        "        audit:\n          versioning: false\n          objectLock: {mode: COMPLIANCE, retentionDays: 365}\n",
        "stacks/Pulumi.prod.yaml: aiplane:platform.storage.buckets.audit: objectLock needs versioning: true "
        "(S3 Object Lock protects object versions)",
    ),
    (
        "prod",
        PROD_RAG,
        PROD_RAG + "        availabilityZones: [us-east-1a]\n",
        "stacks/Pulumi.prod.yaml: config: aiplane:platform.vectorDatabases[0] (pgvector 'rag'): Aurora needs private subnets in "
        "at least 2 availability zones; the stack gives it private subnets in us-east-1a only",
    ),
    (
        "dev",
        DEV_RAG,
        "      - name: rag\n        engine: milvus\n",
        "stacks/Pulumi.dev.yaml: aiplane:platform.vectorDatabases[0]: is invalid: input tag 'milvus' found using 'engine' "
        "does not match any of the expected tags: 'qdrant', 'opensearch-serverless', 'pgvector'",
    ),
    (
        "dev",
        "        logs: {expireAfterDays: 180}\n",
        "        logs: {expireAfterDays: 120}\n",
        "stacks/Pulumi.dev.yaml: aiplane:platform.storage.buckets.logs: objects leave GLACIER_IR after 30 days "
        "(day 90 to day 120), before its 90-day minimum storage duration",
    ),
    (
        "prod",
        "      expressOneZone: {pool: train, expireAfterDays: 3}\n",
        "      expressOneZone: {pool: trian, expireAfterDays: 3}\n",
        "stacks/Pulumi.prod.yaml: aiplane:platform: storage.expressOneZone.pool: 'trian' is not a pool of this stack "
        "(pools: chat, embed, train, frontier)",
    ),
    (
        "prod",
        "      lustre: {pool: train, storageCapacityGib: 2400, throughputPerTib: 500}\n",
        "      lustre: {pool: train, storageCapacityGib: 3000, throughputPerTib: 500}\n",
        "stacks/Pulumi.prod.yaml: aiplane:platform.storage.lustre: storageCapacityGib 3000 must be 1200 or a multiple of 2400 "
        "(PERSISTENT_2 steps)",
    ),
    (
        "prod",
        PROD_AUDIT,
        PROD_AUDIT + "          archiveClass: GLACIER\n",
        "stacks/Pulumi.prod.yaml: aiplane:platform.storage.buckets.audit.archiveClass: 'GLACIER' is invalid: "
        "input should be 'GLACIER_IR' or 'DEEP_ARCHIVE'",
    ),
    (
        "dev",
        "        replicas: 1\n",
        "        replicas: 0\n",
        "stacks/Pulumi.dev.yaml: aiplane:platform.vectorDatabases[0].qdrant.replicas: 0 is invalid: "
        "input should be greater than or equal to 1",
    ),
    (
        "dev",
        DEV_RAG,
        "      - name: rag\n        engine: opensearch-serverless\n" + DEV_RAG,
        "stacks/Pulumi.dev.yaml: aiplane:platform: vector database names must be unique, repeated: rag",
    ),
]


@pytest.mark.parametrize(("environment", "old", "new", "expected"), BAD_DATA_EDITS, ids=[c[3].split(": ", 2)[2][:60] for c in BAD_DATA_EDITS])
def test_bad_storage_and_database_values_exit_2_with_one_line(project_copy, environment, old, new, expected):
    edit(project_copy, environment, old, new)
    plan_fails_with(["plan", "--stack", environment], expected)


def test_unset_tiering_fields_keep_the_purpose_default_and_null_removes_a_tier():
    dev = load_stack("dev", PROJECT_DIR / "stacks").platform.storage.buckets
    assert dev.models.tiering("models") == replace(DEFAULT_TIERING["models"], noncurrent_expire_after_days=7)
    assert dev.checkpoints.tiering("checkpoints").archive_after_days is None
    assert dev.checkpoints.tiering("checkpoints").warm_after_days == DEFAULT_TIERING["checkpoints"].warm_after_days


def test_shipped_stacks_choose_engines_as_a_team_would():
    engines = {
        env: [(db.name, db.engine) for db in load_stack(env, PROJECT_DIR / "stacks").platform.vector_databases]
        for env in ("dev", "staging", "prod")
    }
    assert engines == {
        "dev": [("rag", "qdrant")],
        "staging": [("rag", "qdrant")],
        "prod": [("rag", "pgvector"), ("docs", "opensearch-serverless")],
    }
    prod = load_stack("prod", PROJECT_DIR / "stacks").platform
    assert prod.storage.buckets.audit.object_lock.mode == "COMPLIANCE"
    assert prod.vector_databases[0].deletion_protection is True
