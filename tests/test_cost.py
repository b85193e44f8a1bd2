"""Monthly cost estimates: a small stack worked out by hand, the shipped stacks, tenants' estimates and budgets."""
from __future__ import annotations

import json

import pulumi_aws as aws
import pytest
from typer.testing import CliRunner

from aiplane.cli import app
from aiplane.cost import estimate
from aiplane.planning.prices import load_prices
from aiplane.policy.gate import run_gate
from aiplane.synth.engine import synthesize
from aiplane.tenancy.estimate import (
    tenant_infrastructure_estimate,
    tenant_monthly_estimate,
)
from tests.conftest import SHIPPED_STACKS, edit, plan_fails_with, synthesized

runner = CliRunner()


def small_stack():
    cluster = aws.eks.Cluster("eks", aws.eks.ClusterArgs(role_arn="arn:aws:iam::123456789012:role/eks", vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=["subnet-a"])))
    template = aws.ec2.LaunchTemplate(
        "lt",
        aws.ec2.LaunchTemplateArgs(
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(device_name="/dev/xvda", ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(volume_size=100))
            ]
        ),
    )
    aws.eks.NodeGroup(
        "gpus",
        aws.eks.NodeGroupArgs(
            cluster_name=cluster.name, node_role_arn="arn:aws:iam::123456789012:role/nodes", subnet_ids=["subnet-a"],
            instance_types=["g6.xlarge"], scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=1, desired_size=2, max_size=3),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version="1"),
        ),
    )
    aws.ec2.NatGateway("nat", aws.ec2.NatGatewayArgs(subnet_id="subnet-a", allocation_id="eipalloc-1"))
    aws.kms.Key("key-a")
    aws.kms.Key("key-b")
    aws.cloudwatch.LogGroup("logs", aws.cloudwatch.LogGroupArgs(retention_in_days=30))


def test_a_small_stack_costs_what_it_costs_by_hand():
    spec, _ = synthesized("dev")  # for its assumptions: 1 GiB of logs per group and month
    graph = synthesize(small_stack, stack="cost", region="us-east-1")
    # By hand, at the tables' prices (us-east-1, 730 hours):
    #   EKS control plane            0.10 × 730                 =   73.00
    #   2 × g6.xlarge                2 × 0.8048 × 730           = 1175.008
    #   their 100 GiB root volumes   2 × 100 × 0.08             =   16.00
    #   NAT gateway                  0.045 × 730                =   32.85
    #   2 customer-managed keys      2 × 1.00                   =    2.00
    #   1 GiB of logs                1 × (0.50 + 0.03)          =    0.53
    #                                                     total = 1299.388
    result = estimate(spec, graph)
    assert result.total == 1299.39
    assert {line.what: round(line.usd_per_month, 3) for line in result.lines} == {
        "EKS control plane": 73.0,
        "2 × g6.xlarge (on-demand, at on-demand price)": 1175.008,
        "2 × 100 GiB gp3 root volumes": 16.0,
        "NAT gateway hours (data processed not estimated)": 32.85,
        "customer-managed key": 1.0,
        "1 GiB/month of logs ingested and kept": 0.53,
    }


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_every_estimate_names_its_price_dates_and_adds_up(environment):
    spec, graph = synthesized(environment)
    result = estimate(spec, graph).to_dict()
    assert result["priceDate"] == load_prices().price_date.isoformat() and result["instancePriceDate"]
    assert result["total"] == pytest.approx(sum(result["byComponent"].values()), abs=0.05)
    assert result["total"] == pytest.approx(sum(result["byTenant"].values()), abs=0.05)
    assert result["byComponent"]["cluster"] > 0 and result["byComponent"]["network"] > 0


def test_plan_summary_and_the_cost_command_show_the_estimate(project_copy):
    result = runner.invoke(app, ["plan", "--stack", "dev"])
    assert result.exit_code == 0 and "Estimated cost:" in result.stdout and "USD/month" in result.stdout
    summary = json.loads((project_copy / "build" / "dev" / "summary.json").read_text())
    spec, graph = synthesized("dev")
    assert summary["cost"]["total"] == estimate(spec, graph).total
    shown = runner.invoke(app, ["cost", "--stack", "dev", "--json"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["total"] == summary["cost"]["total"]
    table = runner.invoke(app, ["cost", "--stack", "dev"])
    assert f"prices of {load_prices().price_date.isoformat()}" in table.stdout


def test_a_tenants_estimate_from_its_plan_matches_the_estimate_from_the_graph():
    spec, graph = synthesized("prod")
    by_tenant = estimate(spec, graph).by("tenant")
    for tenant in spec.tenants:
        assert tenant_infrastructure_estimate(spec, tenant) == pytest.approx(by_tenant.get(tenant.name, 0.0), abs=0.01), tenant.name
        if tenant.plan.gateway:
            assert tenant_monthly_estimate(spec, tenant) > tenant_infrastructure_estimate(spec, tenant)


def test_a_tenant_over_budget_fails_the_gate(project_copy):
    # support's own OpenSearch collection and its gateway key cost 4,701.80 a month; a 4,000 budget is too small.
    edit(project_copy, "prod", "        budgetUsd: 4000\n", "        budgetUsd: 4000\n        monthlyBudgetUsd: 4000\n")
    report = run_gate(project_copy, ["prod"])
    violations = [(f.check_id, f.resource, f.tenant) for f in report.findings if f.violation]
    assert violations == [("AIP_FIN_2", "aws_iam_policy.tenant-support-boundary", "support")]


def test_a_budget_below_zero_is_refused(project_copy):
    edit(project_copy, "prod", "        budgetUsd: 4000\n", "        budgetUsd: 4000\n        monthlyBudgetUsd: -1\n")
    plan_fails_with(["plan", "--stack", "prod"], "stacks/Pulumi.prod.yaml: aiplane:tenants[0].parameters.monthlyBudgetUsd: -1 is below the blueprint's minimum 0")
