"""The cold-start estimate, worked by hand for prod's 405B, and what it drives: the startup probe, the deploy's
await and the alert threshold."""
from __future__ import annotations

import pytest

from aiplane.planning.cold_start import MARGIN, estimate_cold_start, load_cold_start_figures
from aiplane.planning.instances import load_instance_catalog
from tests.conftest import synthesized


def test_the_405b_on_two_p5_nodes_by_hand():
    p5 = load_instance_catalog().instances["p5.48xlarge"]
    estimate = estimate_cold_start("llama-3-1-405b", 405.9e9 * 2, 2, p5.family, p5.network_gbps, budget=1800)
    # A node: 284 s provisioning + 126 s initialization (kaito#2325).
    assert estimate.node == 410
    # The image: 12.6 GB at 55 MB/s (kaito#2325's 5.60 GB in 101 s); p5's 3,200 Gbps is not the bound.
    assert estimate.image == pytest.approx(12.6e3 / 55)  # 229.1 s
    # The weights: 811.8 GB in BF16, half per node (PP=2), 378.0 GiB each, at 0.78 GiB/s (runai-model-streamer#120).
    assert estimate.weights_gib_per_node == pytest.approx(405.9e9 / 2**30)
    assert estimate.weights == pytest.approx(405.9e9 / 2**30 / 0.78)  # 484.6 s
    # The engine: 74 s bootstrap + 21 s set-up + 195 s compile and warm-up (kaito#2325).
    assert estimate.engine == 290
    assert round(estimate.total) == 1414
    # The probe covers weights and engine, the await node and image besides, each with the margin, in tens.
    assert estimate.startup_probe_seconds == 1170  # 1.5 x 774.6 = 1161.9, up to 1170
    assert estimate.before_start_seconds == 960  # 1.5 x 639.1 = 958.6, up to 960
    assert estimate.alert_seconds == 1800  # the stack's budget
    assert MARGIN == 1.5


def test_a_slow_network_bounds_the_image_and_the_weights():
    estimate = estimate_cold_start("small", 16e9, 1, "g6", network_gbps=0.2)  # 25 MB/s
    assert estimate.image == pytest.approx(12.6e3 / 25)
    assert estimate.weights == pytest.approx(16e9 / 2**30 / (0.2e9 / 8 / 2**30))


def test_every_figure_names_a_known_source():
    figures = load_cold_start_figures()
    assert {figures.node_ready_seconds.source, figures.image.source, figures.image_pull_mb_per_second.source,
            figures.s3_streamer_gib_per_second.source, figures.engine_seconds.source} <= set(figures.sources)


def test_the_servers_probe_and_await_come_from_the_estimate():
    spec, graph = synthesized("prod")
    for pool in spec.compute_plan.pools:
        for model in pool.models:
            kind, suffix = ("LeaderWorkerSet", "lws") if model.topology.nodes_per_replica > 1 else ("Deployment", "deployment")
            server = next(r for r in graph.resources if r.name == f"serving-{model.model}-{suffix}")
            if kind == "Deployment":
                pod = server.inputs["spec"]["template"]["spec"]
            else:
                pod = server.inputs["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]
            probe = pod["containers"][0]["startupProbe"]
            assert probe["periodSeconds"] * probe["failureThreshold"] == model.cold_start.startup_probe_seconds
            wait = model.cold_start.startup_probe_seconds + model.cold_start.before_start_seconds
            assert server.options["customTimeouts"] == {"create": f"{wait}s", "update": f"{wait}s"}
    rules = next(r for r in graph.resources if r.type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    alerts = {rule["labels"]["model"]: rule["expr"] for group in rules.inputs["spec"]["groups"] for rule in group["rules"]
              if rule.get("alert") == "ModelServerColdStartOverBudget"}
    assert set(alerts) == {"llama-3-1-70b", "llama-3-1-8b", "llama-3-1-405b"}
    assert " > 1800 " in alerts["llama-3-1-405b"]  # its budget; the others alert past their estimate's margin
