"""The CLI end to end: `aiplane plan` and `aiplane schema`, and the generated docs that must not drift."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aiplane.cli import app
from aiplane.schema import render_schemas
from tests.conftest import PROJECT_DIR

runner = CliRunner()


def test_plan_prints_a_preview_and_writes_graph_and_summary(project_copy):
    result = runner.invoke(app, ["plan", "--stack", "prod"])
    assert result.exit_code == 0, result.output
    out = project_copy / "build" / "prod"
    graph = json.loads((out / "graph.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    custom = [r for r in graph["resources"] if r["custom"]]
    assert summary["total"] == len(custom) > 50
    assert sum(c["total"] for c in summary["components"]) + sum(summary["outsideComponents"].values()) == summary["total"]
    assert "network (aiplane:network:Network)" in result.stdout
    assert "cluster (aiplane:cluster:Cluster)" in result.stdout
    assert "aws:ec2/natGateway:NatGateway × 3" in result.stdout
    assert "gpu-train (aiplane:gpu:GpuNodePool)" in result.stdout
    assert "gpu-software (aiplane:gpu:GpuSoftware)" in result.stdout
    assert "GPU pools" in result.stdout and "llama-3-1-70b (chat)" in result.stdout
    assert f"Resources: + {summary['total']} to create in {len(summary['components'])} components" in result.stdout
    assert "storage (aiplane:storage:ObjectStorage)" in result.stdout
    assert "vector-rag (aiplane:vectordb:VectorDb)" in result.stdout
    assert "gateway (aiplane:gateway:ModelGateway)" in result.stdout
    assert "tenant-research (aiplane:tenant:TenantBoundary)" in result.stdout
    # network, cluster, GPU software, four GPU pools and the research tenant's, storage and its research
    # buckets, two vector databases, the model serving plane with its three servers and its inference gateway
    # (with the two CRD files it applies), the gateway, three tenant boundaries with their two vector
    # databases, the scheduling plane (Kueue, JobSet, priorities, flavors, the evaluation queue), and the
    # observability plane
    assert len(summary["components"]) == 27
    assert "observability (aiplane:observability:Observability)" in result.stdout
    assert summary["cost"]["total"] > 0
    manifests = len(list((out / "k8s").glob("*.yaml")))
    kubernetes_objects = [
        r for r in graph["resources"] if r["custom"] and r["type"].startswith("kubernetes:") and "helm.sh" not in r["type"]
    ]
    # 27 of them the scheduling plane's: 4 PriorityClasses, 5 flavors, the cohort, 4 ClusterQueues and LocalQueues,
    # the evaluation, kueue-system and jobset-system namespaces, the evaluation and 3 priority-ceiling quotas, and
    # the example Job and JobSet
    assert manifests == len(kubernetes_objects) == 138
    assert f"Wrote graph.json, summary.json, tfplan.json and k8s/ ({manifests} manifests) to build/prod" in result.stdout
    assert json.loads((out / "tfplan.json").read_text())["planned_values"]["root_module"]["resources"]


def test_plan_output_is_byte_identical_across_runs(project_copy, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        assert runner.invoke(app, ["plan", "--stack", "dev", "--out", str(out)]).exit_code == 0
    for name in ("graph.json", "summary.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_plan_out_sweeps_only_the_manifests_the_stack_no_longer_renders(project_copy, tmp_path):
    """`--out` may name a folder the user keeps other things in: before, the plan removed its k8s/ outright."""
    out = tmp_path / "mine"
    (out / "k8s" / "notes").mkdir(parents=True)
    (out / "k8s" / "README.txt").write_text("mine\n")
    (out / "k8s" / "notes" / "kept.yaml").write_text("mine\n")
    (out / "k8s" / "namespace-gone-from-the-stack.yaml").write_text("kind: Namespace\n")
    assert runner.invoke(app, ["plan", "--stack", "dev", "--out", str(out)]).exit_code == 0
    assert (out / "k8s" / "README.txt").read_text() == "mine\n"
    assert (out / "k8s" / "notes" / "kept.yaml").read_text() == "mine\n"
    assert not (out / "k8s" / "namespace-gone-from-the-stack.yaml").exists()
    assert list((out / "k8s").glob("deployment-*.yaml"))


def test_a_failed_plan_leaves_earlier_output_untouched(project_copy):
    assert runner.invoke(app, ["plan", "--stack", "dev"]).exit_code == 0
    graph_file = project_copy / "build" / "dev" / "graph.json"
    before = graph_file.read_bytes()
    stack = project_copy / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("azCount: 2", "azCount: 9"))
    assert runner.invoke(app, ["plan", "--stack", "dev"]).exit_code == 2
    assert graph_file.read_bytes() == before


def test_errors_inside_the_program_exit_3_without_a_traceback(project_copy):
    (project_copy / "__main__.py").write_text("raise RuntimeError('the program broke')\n")
    result = runner.invoke(app, ["plan", "--stack", "dev"])
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        "aiplane: internal error: RuntimeError: the program broke (rerun with --debug for details)"
    )


def test_schema_command_writes_what_is_committed(tmp_path):
    result = runner.invoke(app, ["schema", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name, text in render_schemas().items():
        assert (tmp_path / name).read_text() == text


def test_stack_schema_describes_the_stack_file():
    schema = json.loads(render_schemas()["stack.schema.json"])
    config = schema["$defs"]["StackConfig"]
    assert set(config["properties"]) == {
        "aws:region", "aws:profile", "aws:allowedAccountIds", "aiplane:platform", "aiplane:tenants", "aiplane:allowReplacements"
    }
    assert config["additionalProperties"] is False
    network = schema["$defs"]["NetworkSpec"]["properties"]
    assert {"cidr", "azCount", "natGateways", "flowLogs"} <= set(network)


def test_shipped_stack_files_point_editors_at_the_schema():
    for stack in (PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"):
        assert stack.read_text().startswith("# yaml-language-server: $schema=../schemas/stack.schema.json\n"), stack.name


def test_version_and_help_read_well_at_80_columns():
    from aiplane import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"aiplane {__version__}\n")
    help_text = CliRunner().invoke(app, ["--help"], terminal_width=80).stdout
    assert "<bool>" not in help_text and "--install-completion" in help_text and "--version" in help_text
    commands = help_text.split("Commands:\n", 1)[1].splitlines()
    from aiplane.cli import COMMANDS

    assert len([line for line in commands if line.strip()]) == len(COMMANDS) + 3  # and the capacity, blueprints and tenant groups
    assert not any(line.rstrip().endswith("...") or len(line) > 80 for line in commands)
    check_help = CliRunner().invoke(app, ["check", "--help"], terminal_width=80).stdout
    assert "<bool>" not in check_help and "--all" in check_help


def test_plan_with_check_prints_the_summary_first_and_exits_as_the_gate():
    """The README's sample run (`aiplane plan --stack dev --check` in a pipe's 120 columns; it raises unless exit 0)."""
    from aiplane.docs.samples import run_lines

    lines = run_lines(PROJECT_DIR)
    first = {prefix: next(i for i, line in enumerate(lines) if line.startswith(prefix))
             for prefix in ("Resources:", "Estimated cost:", "GPU pools", "Policy:", "Wrote ", "Next:", "pulumi:pulumi:Stack")}
    assert list(first.values()) == sorted(first.values()) and first["pulumi:pulumi:Stack"] <= 12
    assert lines[first["Policy:"]].startswith("Policy: ") and lines[first["Policy:"]].endswith(" · passes")
    assert lines[-2].startswith("dev: ") and "0 violations" in lines[-2]


def test_plan_json_prints_what_summary_json_holds(project_copy):
    result = runner.invoke(app, ["plan", "--stack", "staging", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads((project_copy / "build" / "staging" / "summary.json").read_text())


@pytest.mark.parametrize("width", [80, 100, 120, 200])
def test_plan_and_capacity_never_cut_a_number_or_a_name(project_copy, monkeypatch, width):
    """Tables print where they fit whole; where they would not, the same figures print as lines."""
    from aiplane.cli.app import stdout
    from aiplane.cli.render import capacity_rows
    from aiplane.loader import load_stack

    monkeypatch.setattr(stdout, "width", width)
    plan = runner.invoke(app, ["plan", "--stack", "dev"])
    capacity = runner.invoke(app, ["capacity", "--stack", "prod"])
    assert plan.exit_code == 0 and capacity.exit_code == 0, plan.output + capacity.output
    for output in (plan.stdout, capacity.stdout):
        assert "…" not in output
    words = set(capacity.stdout.replace("│", " ").split())
    for _, _, figures in capacity_rows(load_stack("prod", project_copy / "stacks").compute_plan):
        assert set(figures) <= words | {f + "%" for f in figures}, figures
    assert "kubernetes:monitoring.coreos.com/v1:PrometheusRule" in plan.stdout
