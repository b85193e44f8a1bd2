"""GPU pools and served models in stack files: what the capacity planner gets, and the bad inputs that
must stop a plan (and `pulumi up`) with exit 2 and one line naming the pool and the reason."""
from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from aiplane.cli import app
from aiplane.loader import load_stack
from aiplane.planning.compute import nodes_for
from tests.conftest import PROJECT_DIR, SHIPPED_STACKS, edit

runner = CliRunner()
CHAT_POOL = "          instanceTypes: [g6.xlarge]\n        - name: embed"
DEV_MODEL = "          peakConcurrency: 8\n"
PROD_TRAIN = "          profile: training\n          instanceTypes: [p5.48xlarge]\n"


def fails_with(project, environment, pattern):
    for command in (["plan", "--stack", environment], ["capacity", "--stack", environment]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and re.fullmatch(pattern, lines[0]), lines
        assert "Traceback" not in result.output
    assert not (project / "build" / environment).exists()


BAD_POOLS = [
    pytest.param(
        "dev", CHAT_POOL, "          instanceTypes: [g6.xlarge]\n          efa: true\n        - name: embed",
        r"stacks/Pulumi\.dev\.yaml: aiplane:platform\.compute\.pools\[0\]: pool 'chat': EFA is asked for, but g6\.xlarge has no EFA support",
        id="efa-without-support",
    ),
    pytest.param(
        "dev", DEV_MODEL, DEV_MODEL + "          tensorParallel: 2\n",
        r"stacks/Pulumi\.dev\.yaml: aiplane:platform\.compute: model 'llama-3-1-8b': pool 'chat' \(g6\.xlarge\) cannot serve it: "
        r"tensor parallelism 2 is wider than g6\.xlarge's NVLink domain of 1 GPU: a replica must not span PCIe or the network",
        id="tp-wider-than-nvlink",
    ),
    pytest.param(
        "prod", PROD_TRAIN, PROD_TRAIN + "          capacityTypes: [capacity-block, spot]\n          capacityReservationId: cr-0123456789abcdef0\n",
        r"stacks/Pulumi\.prod\.yaml: aiplane:platform\.compute\.pools\[2\]: pool 'train': capacity blocks cannot be combined with spot "
        r"\(a block is reserved, spot is interruptible\)",
        id="capacity-block-with-spot",
    ),
    pytest.param(
        "prod", PROD_TRAIN, PROD_TRAIN + "          availabilityZones: [us-east-1a, us-east-1b]\n",
        r"stacks/Pulumi\.prod\.yaml: aiplane:platform\.compute\.pools\[2\]: pool 'train': a training pool must stay in one availability "
        r"zone \(its placement group cannot span zones\), got us-east-1a, us-east-1b",
        id="training-across-zones",
    ),
    pytest.param(
        "dev", "          parametersBillion: 8.03\n", "          parametersBillion: 30\n",
        r"stacks/Pulumi\.dev\.yaml: aiplane:platform\.compute: model 'llama-3-1-8b': pool 'chat' \(g6\.xlarge\) cannot serve it: "
        r"llama-3-1-8b needs [\d.]+ GiB per GPU at TP=1 \(weights and one 4096-token sequence\), more than the 20\.1 GiB usable on "
        r"g6\.xlarge's L4, whose NVLink domain is 1 GPU; p4d\.24xlarge \(A100\) on one node per replica: 1 node at peak, 21\.96 USD/h; .*",
        id="model-too-big-for-pool",
    ),
    pytest.param(
        "dev", "          instanceTypes: [g6.xlarge]\n", "          instanceTypes: [g7.xlarge]\n",
        r"stacks/Pulumi\.dev\.yaml: aiplane:platform\.compute\.pools\[0\]: pool 'chat': g7\.xlarge is not in the instance catalog \(known: .*\)",
        id="unknown-instance-type",
    ),
    pytest.param(
        "dev", "          pool: chat\n", "          pool: chats\n",
        r"stacks/Pulumi\.dev\.yaml: aiplane:platform\.compute: model 'llama-3-1-8b': pool 'chats' is not defined \(pools: chat, embed\)",
        id="model-on-unknown-pool",
    ),
    pytest.param(
        "dev", DEV_MODEL, DEV_MODEL + "          peakRps: 2\n",
        r"stacks/Pulumi\.dev\.yaml: aiplane:platform\.compute\.models\[0\]: give exactly one of peakConcurrency and peakRps",
        id="two-load-figures",
    ),
    pytest.param(
        "prod", PROD_TRAIN, PROD_TRAIN + "          mode: karpenter\n",
        r"stacks/Pulumi\.prod\.yaml: aiplane:platform\.compute\.pools\[2\]: pool 'train': profile training runs on managed node groups only, not karpenter",
        id="karpenter-training",
    ),
    pytest.param(
        "prod", "          profile: inference\n          instanceTypes: [p5.48xlarge]\n",
        "          profile: inference\n          instanceTypes: [p5.48xlarge]\n          capacityTypes: [spot]\n",
        r"stacks/Pulumi\.prod\.yaml: aiplane:platform\.compute\.pools\[0\]: pool 'chat': profile inference buys on-demand capacity, not spot",
        id="spot-inference",
    ),
    pytest.param(
        "dev", CHAT_POOL, "          instanceTypes: [g6.xlarge]\n          nodes: {min: 1, desired: 1, max: 2}\n        - name: embed",
        r"stacks/Pulumi\.dev\.yaml: aiplane:platform\.compute: pool 'chat': serves llama-3-1-8b, so its sizes come from the capacity plan; remove nodes",
        id="hand-sized-serving-pool",
    ),
    pytest.param(
        "prod", PROD_TRAIN, PROD_TRAIN + "          availabilityZones: [us-west-2a]\n",
        r"stacks/Pulumi\.prod\.yaml: config: pool 'train': zones us-west-2a are not among the stack's zones \(us-east-1a, us-east-1b, us-east-1c\)",
        id="zone-outside-the-stack",
    ),
    pytest.param(
        "prod", "          efa: true\n          instanceTypes: [p5.48xlarge]\n", "          instanceTypes: [p5.48xlarge]\n",
        r"stacks/Pulumi\.prod\.yaml: aiplane:platform\.compute: model 'llama-3-1-405b': pool 'frontier' \(p5\.48xlarge\) cannot serve it: "
        r"llama-3-1-405b needs [\d.]+ GiB per GPU at TP=8 \(weights and one 8192-token sequence\), more than the 72\.0 GiB usable on "
        r"p5\.48xlarge's H100, whose NVLink domain is 8 GPUs; serving it across nodes needs an EFA pool \(efa: true\); "
        r"p5en\.48xlarge \(H200\) on one node per replica: 1 node at peak, 63\.30 USD/h; .*",
        id="multi-node-model-without-efa",
    ),
    pytest.param(
        "prod", "          coldStartSeconds: 1800\n", "          coldStartSeconds: 1200\n",
        r"stacks/Pulumi\.prod\.yaml: aiplane:platform\.compute\.models\[1\]\.coldStartSeconds: 1200: model 'llama-3-1-405b' on pool "
        r"'frontier': a cold start takes about 1414 s, over its budget of 1200 s: node 410 s \+ image 229 s \+ weights 485 s \(378 GiB per "
        r"node from S3\) \+ engine 290 s = 1414 s; weights must stream at 1,498 MB/s per node to fit: for example from FSx for Lustre at "
        r"125 MB/s per TiB over 12 TiB \(or more replicas kept warm\)",
        id="cold-start-over-budget",
    ),
    pytest.param(
        "prod", "          coldStartSeconds: 1800\n", "          coldStartSeconds: 600\n",
        r"stacks/Pulumi\.prod\.yaml: aiplane:platform\.compute\.models\[1\]\.coldStartSeconds: 600: .* the node, the image and the "
        r"engine alone take 929 s: keep warm capacity \(a higher nominal replica count\) instead of scaling from cold",
        id="cold-start-budget-below-the-fixed-phases",
    ),
    pytest.param(
        "prod", "          ttftSeconds: 3\n", "          ttftSeconds: 40\n",
        r"stacks/Pulumi\.prod\.yaml: aiplane:platform\.compute\.models\[1\]: ttft_seconds \(40\) exceeds p95_latency_seconds \(30\)",
        id="ttft-above-latency-slo",
    ),
]


@pytest.mark.parametrize(("environment", "old", "new", "pattern"), BAD_POOLS)
def test_bad_pools_exit_2_naming_the_pool_and_the_reason(project_copy, environment, old, new, pattern):
    edit(project_copy, environment, old, new)
    fails_with(project_copy, environment, pattern)


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_shipped_stacks_plan_their_pools(environment):
    spec = load_stack(environment, PROJECT_DIR / "stacks")
    plan = spec.compute_plan
    assert [pool.pool for pool in plan.pools] == [pool.name for pool in spec.platform.compute.pools]
    served = [pool for pool in plan.pools if pool.models]
    assert served, "every shipped stack serves at least one model"
    for pool in served:
        assert pool.sized_by == "capacity plan"
        assert 0 < pool.min_nodes <= pool.desired_nodes < pool.max_nodes


def test_request_rate_becomes_concurrency_by_littles_law(project_copy):
    edit(project_copy, "dev", "          peakConcurrency: 8\n", "          peakRps: 0.5\n")
    spec = load_stack("dev", project_copy / "stacks")
    (model,) = spec.platform.compute.models
    assert model.served_model().peak_concurrency == 15  # 0.5 requests/s held for up to the 30 s SLO


def test_capacity_command_prints_the_plan_and_its_json_matches_the_summary(project_copy):
    result = runner.invoke(app, ["capacity", "--stack", "dev"])
    assert result.exit_code == 0, result.output
    assert "GPU pools" in result.stdout and "llama-3-1-8b (chat)" in result.stdout
    as_json = runner.invoke(app, ["capacity", "--stack", "dev", "--json"])
    assert as_json.exit_code == 0
    assert runner.invoke(app, ["plan", "--stack", "dev"]).exit_code == 0
    summary = json.loads((project_copy / "build" / "dev" / "summary.json").read_text())
    assert json.loads(as_json.stdout) == summary["capacity"]
    chat = summary["capacity"]["pools"][0]
    assert chat["nodes"]["desired"] == chat["models"][0]["scenarios"]["peak"]["nodes"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([1, 2, 4, 8]), st.integers(min_value=1, max_value=40)), min_size=1, max_size=5),
    st.sampled_from([8]),
)
def test_pool_node_count_is_exact_gpu_packing(replicas_by_degree, gpus_per_node):
    """Packing power-of-two replicas largest first fills nodes completely: the count from GPUs alone is right."""
    from types import SimpleNamespace

    plans = [
        SimpleNamespace(scenario=lambda name, tp=tp, n=n: SimpleNamespace(replicas=n, tensor_parallel=tp, gpus_per_replica=tp, pipeline_parallel=1))
        for tp, n in replicas_by_degree
    ]
    nodes = nodes_for(plans, "peak", gpus_per_node)
    free = []  # first-fit decreasing, replica by replica
    for tp, n in sorted(replicas_by_degree, reverse=True):
        for _ in range(n):
            for index, room in enumerate(free):
                if room >= tp:
                    free[index] -= tp
                    break
            else:
                free.append(gpus_per_node - tp)
    assert nodes == len(free)
