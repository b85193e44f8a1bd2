"""A corpus of hostile inputs, one per way a user (or a contributor who means harm) can get a file or a flag
wrong: stack files, blueprints, `--set`, waivers, profiles and command-line flags. Each is refused with exit
code 2 and one line that names the file (or the flag), the field and the value, and changes no file.

A case edits one file of a copy of the project (replacing `old` by `new`, or writing `new` as the whole file
when `old` is None), then runs `argv`; the one line must contain every string in `names`."""
from __future__ import annotations

from dataclasses import dataclass

STACK, BLUEPRINT, WAIVERS, PROFILE = (
    "stacks/Pulumi.dev.yaml", "blueprints/hybrid-router.yaml", "policies/waivers.yaml", "policies/profiles/dev.yaml"
)
PLAN = ("plan", "--stack", "dev")
CHECK = ("check", "--stack", "dev")
ADD = ("tenant", "add", "acme", "--blueprint", "hybrid-router", "--stack", "dev")


@dataclass(frozen=True)
class Hostile:
    kind: str  # stack | blueprint | set | waiver | profile | flag
    name: str
    argv: tuple[str, ...]
    names: tuple[str, ...]
    file: str | None = None
    old: str | None = None
    new: str | None = None  # None: the file is left as it is (a case about its mode only)
    read_only: bool = False  # mark the edited file read-only (mode 0444) before the run
    fifo: bool = False  # make `file` a named pipe: something that is not a regular file


def stack(name: str, old: str, new: str, *names: str) -> Hostile:
    return Hostile("stack", name, PLAN, (STACK, *names), STACK, old, new)


def blueprint(name: str, old: str, new: str, *names: str) -> Hostile:
    return Hostile("blueprint", name, PLAN, (BLUEPRINT, *names), BLUEPRINT, old, new)


def setting(name: str, value: str, *names: str) -> Hostile:
    return Hostile("set", name, (*ADD, "--set", value), names)


def waiver(name: str, old: str, new: str, *names: str) -> Hostile:
    return Hostile("waiver", name, CHECK, (WAIVERS, *names), WAIVERS, old, new)


def profile(name: str, old: str, new: str, *names: str) -> Hostile:
    return Hostile("profile", name, CHECK, (PROFILE, *names), PROFILE, old, new)


def flag(
    name: str, argv: tuple[str, ...], *names: str, file: str | None = None, new: str | None = None, read_only: bool = False, fifo: bool = False
) -> Hostile:
    return Hostile("flag", name, argv, names, file, None, new, read_only, fifo)


ALIAS_BOMB = "\n".join(
    ["bomb0: &bomb0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"bomb{level}: &bomb{level} [{', '.join([f'*bomb{level - 1}'] * 10)}]" for level in range(1, 12)]
) + "\n"
FIRST_WAIVER_OWNER = "    owner: ml-platform@example.com\n    expires: 2027-11-27"

CORPUS = (
    # -- stack files: every section, wrong types, out of range, unknown names, YAML abuse ---------------------
    stack("vpc-cidr-not-a-network", "cidr: 10.10.0.0/16", "cidr: 10.10.0.0/33", "network.cidr", "10.10.0.0/33"),
    stack("vpc-cidr-host-bits", "cidr: 10.10.0.0/16", "cidr: 10.10.0.1/16", "network.cidr", "10.10.0.1/16"),
    stack("one-zone", "azCount: 2", "azCount: 1", "network.azCount", "1"),
    stack("zones-as-boolean", "azCount: 2", "azCount: true", "network.azCount", "true"),
    stack("nat-gateways-unknown", "natGateways: single", "natGateways: none", "network.natGateways", "'none'"),
    stack("flow-log-retention-not-cloudwatch", "        retentionDays: 30\n    cluster", "        retentionDays: 31\n    cluster",
          "network.flowLogs.retentionDays", "31"),
    stack("endpoint-access-unknown", "endpointAccess: public-and-private", "endpointAccess: open", "cluster.endpointAccess", "'open'"),
    stack("public-cidr-bad-octet", "198.51.100.0/24", "198.51.100.300/24", "cluster.publicAccessCidrs[0]", "198.51.100.300/24"),
    stack("system-nodes-boolean", "minSize: 1", "minSize: true", "cluster.systemNodes.minSize", "true"),
    stack("system-nodes-too-many", "maxSize: 3", "maxSize: 100000", "cluster.systemNodes.maxSize", "100000"),
    stack("system-disk-too-small", "diskSizeGib: 50", "diskSizeGib: 5", "cluster.systemNodes.diskSizeGib", "5"),
    stack("system-instance-type-malformed", "instanceTypes: [m7i.large]", "instanceTypes: [M7I LARGE]",
          "cluster.systemNodes.instanceTypes[0]", "M7I LARGE"),
    stack("unknown-key", "    costCenter: ml-platform-dev", "    costCenter: ml-platform-dev\n    costCentre: typo", "costCentre", "typo"),
    stack("cost-center-empty", "costCenter: ml-platform-dev", "costCenter: ''", "costCenter", "''"),
    stack("pool-name-uppercase", "- name: chat", "- name: CHAT", "compute.pools[0].name", "'CHAT'"),
    stack("pool-profile-unknown", "profile: inference", "profile: magic", "compute.pools[0].profile", "'magic'"),
    stack("pool-mode-unknown", "mode: karpenter", "mode: autopilot", "compute.pools[1].mode", "'autopilot'"),
    stack("pool-nodes-unordered", "{min: 0, desired: 0, max: 2}", "{min: 3, desired: 0, max: 2}", "compute.pools[1].nodes", "3, 0, 2"),
    stack("pool-nodes-fleet-sized", "{min: 0, desired: 0, max: 2}", "{min: 0, desired: 0, max: 5000000}",
          "compute.pools[1].nodes.max", "5000000"),
    stack("capacity-type-unknown", "capacityTypes: [spot, on-demand]", "capacityTypes: [spot, reserved]",
          "compute.pools[1].capacityTypes[1]", "'reserved'"),
    stack("model-on-no-pool", "pool: chat", "pool: nowhere", "compute", "llama-3-1-8b", "nowhere"),
    stack("model-parameters-negative", "parametersBillion: 8.03", "parametersBillion: -8", "compute.models[0].parametersBillion", "-8"),
    stack("model-parameters-infinite", "parametersBillion: 8.03", "parametersBillion: .inf", "compute.models[0].parametersBillion", "inf"),
    stack("model-parameters-nan", "parametersBillion: 8.03", "parametersBillion: .nan", "compute.models[0].parametersBillion", "nan"),
    stack("model-layers-words", "layers: 32", "layers: thirty-two", "compute.models[0].layers", "'thirty-two'"),
    stack("model-context-overflowing", "contextTokens: 4096", "contextTokens: 1e400", "compute.models[0].contextTokens", "inf"),
    stack("peak-concurrency-absurd", "peakConcurrency: 8", "peakConcurrency: 1000000000000",
          "compute.models[0].peakConcurrency", "1000000000000"),
    stack("peak-concurrency-zero", "peakConcurrency: 8", "peakConcurrency: 0", "compute.models[0].peakConcurrency", "0"),
    stack("latency-boolean", "p95LatencySeconds: 30", "p95LatencySeconds: false", "compute.models[0].p95LatencySeconds", "false"),
    stack("bucket-purpose-unknown", "datasets: {noncurrentExpireAfterDays: 7}", "dataset: {noncurrentExpireAfterDays: 7}",
          "storage.buckets.dataset"),
    stack("bucket-expiry-absurd", "logs: {expireAfterDays: 180}", "logs: {expireAfterDays: 1000000}",
          "storage.buckets.logs.expireAfterDays", "1000000"),
    stack("bucket-expiry-zero", "datasets: {noncurrentExpireAfterDays: 7}", "datasets: {noncurrentExpireAfterDays: 0}",
          "storage.buckets.datasets.noncurrentExpireAfterDays", "0"),
    stack("gateway-replicas-reversed", "replicas: {min: 1, max: 2}", "replicas: {min: 3, max: 2}", "serving.gateway.replicas", "3"),
    stack("gateway-replicas-absurd", "replicas: {min: 1, max: 2}", "replicas: {min: 1, max: 1000000000}",
          "serving.gateway.replicas.max", "1000000000"),
    stack("gateway-database-no-instance", "database: {instances: 1,", "database: {instances: 0,",
          "serving.gateway.database.instances", "0"),
    stack("provider-model-without-provider", "model: openai/gpt-4o-mini", "model: gpt-4o-mini",
          "serving.gateway.providers[0].model", "gpt-4o-mini"),
    stack("fallback-to-nothing", "llama-3-1-8b: [gpt-4o-mini]", "llama-3-1-8b: [gpt-5-nowhere]", "serving.gateway", "gpt-5-nowhere"),
    stack("metrics-below-profile-floor", "metrics: {retentionDays: 7,", "metrics: {retentionDays: 3,",
          "observability.metrics.retentionDays", "3"),
    stack("log-retention-not-cloudwatch", "logs: {retentionDays: 30}", "logs: {retentionDays: 45}", "observability.logs.retentionDays", "45"),
    stack("vector-engine-unknown", "engine: qdrant", "engine: milvus", "vectorDatabases[0]", "'milvus'"),
    stack("vector-replicas-absurd", "replicas: 1\n        storageGib: 20", "replicas: 99\n        storageGib: 20",
          "vectorDatabases[0].qdrant.replicas", "99"),
    stack("vector-name-malformed", "- name: rag", "- name: RAG_db", "vectorDatabases[0].qdrant.name", "'RAG_db'"),
    stack("tenant-name-malformed", "- name: search", "- name: Search", "tenants[0].name", "'Search'"),
    stack("tenant-blueprint-unknown", "blueprint: hybrid-router", "blueprint: nowhere", "tenants[0].blueprint", "nowhere"),
    stack("tenant-parameter-unknown", "budgetUsd: 200", "budgetUSD: 200", "tenants[0].parameters", "budgetUSD"),
    stack("tenant-parameter-negative", "budgetUsd: 200", "budgetUsd: -5", "tenants[0].parameters.budgetUsd", "-5"),
    stack("tenant-parameter-boolean", "budgetUsd: 200", "budgetUsd: true", "tenants[0].parameters.budgetUsd", "True"),
    stack("gpu-allocation-unknown", "gpuAllocation: device-plugin", "gpuAllocation: mig", "scheduling.gpuAllocation", "'mig'"),
    stack("dra-on-1.33", "gpuAllocation: device-plugin", "gpuAllocation: dra", "scheduling.gpuAllocation", "'dra'", "'1.33'"),
    stack("evaluation-gpus-negative", "gpuAllocation: device-plugin", "gpuAllocation: device-plugin\n      evaluation: {gpus: -2}",
          "scheduling.evaluation.gpus", "-2"),
    stack("evaluation-queue-over-the-pools", "gpuAllocation: device-plugin", "gpuAllocation: device-plugin\n      evaluation: {gpus: 40}",
          "scheduling.evaluation", "promise 40 GPUs"),
    stack("evaluation-borrowing-over-the-cohort", "gpuAllocation: device-plugin",
          "gpuAllocation: device-plugin\n      evaluation: {gpus: 1, borrowingLimit: 50}", "scheduling.evaluation", "borrowingLimit", "50"),
    stack("tenant-queue-pool-unknown", "blueprint: hybrid-router", "blueprint: hybrid-router\n      queuePool: nowhere",
          "tenants[0]", "queuePool", "'nowhere'"),
    stack("tenant-priority-not-allowed", "budgetUsd: 200", "budgetUsd: 200\n        priority: serving",
          "tenants[0].parameters.priority", "'serving'"),
    stack("region-unknown", "aws:region: us-east-1", "aws:region: mars-1", "aws:region", "mars-1"),
    stack("duplicate-key", "    costCenter: ml-platform-dev", "    costCenter: ml-platform-dev\n    costCenter: again", "costCenter", "line"),
    stack("python-object-tag", "costCenter: ml-platform-dev", "costCenter: !!python/object/apply:os.system ['touch MARKER']",
          "python/object/apply:os.system", "line"),
    Hostile("stack", "alias-bomb", PLAN, (STACK, "200,000 YAML nodes"), STACK, "config:\n", ALIAS_BOMB + "config:\n"),
    stack("not-yaml", "  aiplane:platform:\n", "  aiplane:platform: [\n", "line"),
    stack("bucket-name-uppercase", "datasets: {noncurrentExpireAfterDays: 7}", "datasets: {noncurrentExpireAfterDays: 7, name: Acme_Data}",
          "storage.buckets.datasets.name", "Acme_Data"),
    stack("bucket-name-reserved-prefix", "datasets: {noncurrentExpireAfterDays: 7}", "datasets: {noncurrentExpireAfterDays: 7, name: xn--data}",
          "storage.buckets.datasets.name", "xn--data", "reserves"),
    stack("replacement-allowance-without-reason", "  aiplane:tenants:\n",
          "  aiplane:allowReplacements:\n    - {resource: aws_s3_bucket.x, reason: '     ', expires: 2099-01-01}\n  aiplane:tenants:\n",
          "aiplane:allowReplacements[0].reason"),
    stack("replacement-allowance-bad-glob", "  aiplane:tenants:\n",
          "  aiplane:allowReplacements:\n    - {resource: 'aws_s3_bucket.[x', reason: A reason long enough to be read, expires: 2099-01-01}\n"
          "  aiplane:tenants:\n", "aiplane:allowReplacements[0].resource", "aws_s3_bucket.[x"),
    # -- blueprints: contributed by other teams ----------------------------------------------------------------
    blueprint("queue-priority-unknown", "    default: interactive\n    choices: [interactive, batch]",
              "    default: urgent\n    choices: [urgent, interactive, batch]", "queue.priority", "'urgent'"),
    blueprint("queue-borrowing-negative", '    priority: "{{ priority }}"', '    priority: "{{ priority }}"\n    borrowingLimit: -3',
              "queue.borrowingLimit", "-3"),
    blueprint("template-escapes-the-sandbox", 'cpu: "{{ 16 + gpus * 8 }}"', "cpu: \"{{ cycler.__init__.__globals__.os.system('touch MARKER') }}\"",
              "tenant", "__init__"),
    blueprint("template-names-nothing", 'cpu: "{{ 16 + gpus * 8 }}"', 'cpu: "{{ 16 + gpus * 8 + undefined_name }}"',
              "tenant", "undefined_name"),
    blueprint("parameter-type-unknown", "type: integer", "type: int", "parameters.gpus.type", "'int'"),
    blueprint("parameter-bounds-reversed", "minimum: 0\n    maximum: 8", "minimum: 9\n    maximum: 8", "parameters.gpus", "9"),
    blueprint("parameter-default-not-a-choice", "default: qdrant", "default: milvus", "parameters.vectorEngine", "milvus"),
    blueprint("isolation-unknown", "isolation: namespace", "isolation: none", "tenant.isolation", "'none'"),
    blueprint("quota-gpus-absurd", 'gpus: "{{ gpus }}"', "gpus: 100000", "tenant.quota.gpus", "100000"),
    blueprint("gateway-rpm-absurd", "rpm: 3000", "rpm: 100000000000", "tenant.gateway.rpm", "100000000000"),
    blueprint("unknown-key", "isolation: namespace", "isolation: namespace\n  isolaton: namespace", "tenant.isolaton"),
    Hostile("blueprint", "alias-bomb", PLAN, (BLUEPRINT, "200,000 YAML nodes"), BLUEPRINT, "name: hybrid-router\n",
            ALIAS_BOMB + "name: hybrid-router\n"),
    # -- --set on tenant add -----------------------------------------------------------------------------------
    setting("no-equals-sign", "gpus", "--set", "'gpus'"),
    setting("parameter-unknown", "gpu=1", "--set", "gpu"),
    setting("integer-in-words", "gpus=many", "--set", "gpus", "many"),
    setting("above-the-maximum", "gpus=9", "gpus", "9"),
    setting("not-a-choice", "vectorEngine=milvus", "vectorEngine", "milvus"),
    setting("boolean-for-a-number", "budgetUsd=true", "budgetUsd", "True"),
    setting("infinite-budget", "budgetUsd=.inf", "budgetUsd", "inf"),
    setting("yaml-object-tag", "tier=!!python/name:os.system", "tier", "python/name:os.system"),
    # -- waivers -----------------------------------------------------------------------------------------------
    waiver("check-unknown", "- check: CKV_AWS_145", "- check: CKV_AWS_1450", "waivers[0].check", "CKV_AWS_1450"),
    waiver("glob-invalid", "resource: aws_s3_bucket.storage-logs", "resource: aws_s3_bucket.[storage-logs",
           "waivers[0].resource", "aws_s3_bucket.[storage-logs"),
    waiver("owner-blank", FIRST_WAIVER_OWNER, "    owner: '   '\n    expires: 2027-11-27", "waivers[0].owner"),
    waiver("expired", "expires: 2027-11-27", "expires: 2020-01-01", "waivers[0]", "2020-01-01"),
    waiver("date-invalid", "expires: 2027-11-27", "expires: 2027-13-45", "line 20, column 14", "2027-13-45"),
    waiver("stack-unknown", "stacks: [dev, staging, prod]\n    reason: S3 server", "stacks: [dev, qa]\n    reason: S3 server",
           "waivers[0].stacks", "qa"),
    waiver("key-unknown", FIRST_WAIVER_OWNER, FIRST_WAIVER_OWNER + "\n    approvedBy: me", "waivers[0].approvedBy"),
    # -- profiles ----------------------------------------------------------------------------------------------
    profile("prefix-typo", "  - AIP_\n", "  - AIP\n", "mandatory[0]", "'AIP'"),
    profile("advisory-check-unknown", "- check: CKV_AWS_39\n", "- check: CKV_AWS_3900\n", "advisory[0].check", "CKV_AWS_3900"),
    profile("retention-floor-negative", "  metrics: 7\n", "  metrics: -1\n", "minimumRetentionDays.metrics", "-1"),
    profile("key-unknown", "mandatory:\n", "mandatroy: []\nmandatory:\n", "mandatroy"),
    # -- command-line flags and the paths they name ------------------------------------------------------------
    flag("out-is-a-file", (*PLAN, "--out", "afile"), "--out", "'afile'", file="afile", new="keep\n"),
    flag("out-under-a-file", (*PLAN, "--out", "afile/sub"), "--out", "'afile/sub'", file="afile", new="keep\n"),
    flag("out-into-the-stacks", (*PLAN, "--out", "stacks"), "--out", "'stacks'"),
    flag("output-is-a-folder", (*CHECK, "--output", "stacks/.."), "--output", "'.' is a folder"),
    flag("output-over-a-stack-file", (*CHECK, "--output", STACK), "--output", STACK),
    flag("output-under-a-file", (*CHECK, "--format", "json", "--output", "afile/report.json"), "--output", "'afile/report.json'",
         file="afile", new="keep\n"),
    # Not /dev/null itself: run as root, the code before this corpus replaced it with a regular file.
    flag("output-over-a-pipe", (*CHECK, "--output", "pipe"), "--output", "'pipe' is not a regular file", file="pipe", fifo=True),
    flag("schema-out-is-a-file", ("schema", "--out", "afile"), "--out", "'afile'", file="afile", new="keep\n"),
    flag("stack-name-a-path", ("plan", "--stack", "../etc"), "--stack", "'../etc'"),
    flag("stack-missing", ("plan", "--stack", "qa"), "stacks/Pulumi.qa.yaml"),
    flag("format-unknown", (*CHECK, "--format", "pdf"), "--format", "'pdf'"),
    flag("option-unknown", (*PLAN, "--force"), "--force"),
    flag("check-nothing", ("check",), "--stack/--all"),
    flag("tenant-name-malformed", ("tenant", "add", "ACME", "--blueprint", "hybrid-router", "--stack", "dev"), "'ACME'"),
    flag("tenant-already-there", ("tenant", "add", "search", "--blueprint", "hybrid-router", "--stack", "dev"), "search"),
    flag("tenant-beside-the-platform-secrets", ("tenant", "add", "vector-rag", "--blueprint", "hybrid-router", "--stack", "dev"),
         "vector-rag"),
    flag("tenant-remove-unknown", ("tenant", "remove", "nobody", "--stack", "dev"), "nobody"),
    flag("blueprint-unknown", ("tenant", "add", "acme", "--blueprint", "nowhere", "--stack", "dev"), "nowhere"),
    flag("stack-file-read-only", ADD, STACK, "read-only", file=STACK, read_only=True),
    flag("project-dir-without-project", ("--project-dir", "stacks", "plan", "--stack", "dev"), "--project-dir", "stacks"),
)
