"""`make bench`, first part: plan wall time per stack and for a stack of 20 GPU pools, synthesis throughput
at two sizes, and the capacity planner's milliseconds per served model, target 5 (the gate's figures are `aiplane.bench.scale`'s).

Wall times are whole `aiplane plan` processes (interpreter start, imports, synthesis, writing files), the
figure a user waits for; throughput is measured in one process so that it shows how synthesis alone
grows with the number of resources. Each figure is the median of several runs: machines here are noisy.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pulumi_aws as aws

from aiplane.components.base import AiplaneComponent
from aiplane.synth.engine import synthesize

PROJECT_DIR = Path(__file__).resolve().parents[2]
PLAN_RUNS = 5
THROUGHPUT_RUNS = 3
SIZES = (200, 2000)
PROD_TARGET_SECONDS = 10.0
GPU_POOLS = 20
PLANNER_SECONDS = 2.0
PLANNER_TARGET_MS = 5.0
# (profile, instance type, extra pool keys) cycled to make the 20-pool stack: every profile and both modes.
POOL_SHAPES = (
    ("inference", "p5.48xlarge", ""),
    ("inference", "g6e.xlarge", ""),
    ("long-context", "p5en.48xlarge", ""),
    ("utility", "g6.xlarge", "mode: karpenter, capacityTypes: [spot, on-demand], "),
    ("training", "p5.48xlarge", ""),
    ("batch", "g6e.2xlarge", ""),
)


class _Cell(AiplaneComponent):
    """Four resources with references between them, like a slice of a real component."""

    def __init__(self, name: str):
        super().__init__("aiplane:bench:Cell", name)
        vpc = aws.ec2.Vpc(f"{name}-vpc", aws.ec2.VpcArgs(cidr_block="10.0.0.0/16"), opts=self.child())
        subnet = aws.ec2.Subnet(f"{name}-subnet", aws.ec2.SubnetArgs(vpc_id=vpc.id, cidr_block="10.0.0.0/24"), opts=self.child())
        aws.ec2.SecurityGroup(f"{name}-sg", aws.ec2.SecurityGroupArgs(vpc_id=vpc.id, description="bench"), opts=self.child())
        aws.ec2.RouteTableAssociation(
            f"{name}-rta", aws.ec2.RouteTableAssociationArgs(subnet_id=subnet.id, route_table_id="rtb-0"), opts=self.child()
        )
        self.register_outputs({})


def _program(resources: int):
    def program() -> None:
        for index in range(resources // 4):
            _Cell(f"cell-{index}")

    return program


def plan_seconds(stack: str, out_dir: Path) -> float:
    command = [sys.executable, "-m", "aiplane", "plan", "--stack", stack, "--out", str(out_dir)]
    started = time.perf_counter()
    subprocess.run(command, cwd=PROJECT_DIR, check=True, capture_output=True)
    return time.perf_counter() - started


def timed(command: list[str], ok_codes: tuple[int, ...] = (0,)) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    elapsed = time.perf_counter() - started
    if completed.returncode not in ok_codes:
        raise SystemExit(f"{' '.join(command)} exited {completed.returncode}: {completed.stderr.decode()[-500:]}")
    return elapsed


def gpu_pools_project(scratch: Path) -> Path:
    """A copy of the project whose `bench` stack is prod plus GPU_POOLS pools; half of them serve a model."""
    project = scratch / "gpu-pools"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(PROJECT_DIR / name, project / name)
    (project / "stacks").mkdir()
    prod = (PROJECT_DIR / "stacks" / "Pulumi.prod.yaml").read_text()
    head = prod[: prod.index("    compute:")]
    pools, models = [], []
    for index in range(GPU_POOLS):
        profile, instance_type, extra = POOL_SHAPES[index % len(POOL_SHAPES)]
        name = f"pool-{index:02d}"
        serves = profile in ("inference", "long-context")
        nodes = "" if serves else "nodes: {min: 0, desired: 1, max: 4}, "
        pools.append(f"        - {{name: {name}, profile: {profile}, {extra}{nodes}instanceTypes: [{instance_type}]}}")
        if serves:
            size = "70.6" if instance_type.startswith("p5") else "8.03"
            layers = 80 if size == "70.6" else 32
            models.append(
                f"        - {{name: model-{index:02d}, pool: {name}, parametersBillion: {size}, layers: {layers}, kvHeads: 8, "
                "headDim: 128, contextTokens: 8192, promptTokens: 1500, completionTokens: 300, peakConcurrency: 64, "
                "p95LatencySeconds: 20}"
            )
    compute = "    compute:\n      pools:\n" + "\n".join(pools) + "\n      models:\n" + "\n".join(models) + "\n"
    (project / "stacks" / "Pulumi.bench.yaml").write_text(head + compute + "  aiplane:tenants: []\n")
    return project


def planner_ms_per_model() -> float:
    """Milliseconds the compute planner takes per served model on prod's models (the 405B across nodes with its
    one-node alternatives, the 70B and the 8B): topology, scenarios, advice and cold start."""
    from aiplane.loader import load_stack
    from aiplane.planning.compute import plan_compute

    pools, models = load_stack("prod", PROJECT_DIR / "stacks").platform.compute.demands()
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < PLANNER_SECONDS:
        plan_compute(pools, models)
        runs += 1
    return (time.perf_counter() - started) / runs / len(models) * 1000


def throughput(resources: int) -> float:
    started = time.perf_counter()
    graph = synthesize(_program(resources), stack="bench", region="us-east-1")
    elapsed = time.perf_counter() - started
    assert len(graph.custom_resources) == resources
    return resources / elapsed


def main() -> list[str]:
    """Print the figures; return the targets missed."""
    missed: list[str] = []
    print(f"aiplane plan, whole process, median of {PLAN_RUNS} runs")
    with tempfile.TemporaryDirectory() as scratch:
        prod_median = 0.0
        for stack in ("dev", "staging", "prod"):
            times = [plan_seconds(stack, Path(scratch) / stack) for _ in range(PLAN_RUNS)]
            median = statistics.median(times)
            print(f"  {stack:<8} {median:6.2f} s   (min {min(times):.2f}, max {max(times):.2f})")
            if stack == "prod":
                prod_median = median
        print(f"  prod target: < {PROD_TARGET_SECONDS:.0f} s -> {prod_median / PROD_TARGET_SECONDS:.2f} of the budget")
        project = gpu_pools_project(Path(scratch))
        command = [sys.executable, "-m", "aiplane", "--project-dir", str(project), "plan", "--stack", "bench"]
        times = [timed(command) for _ in range(PLAN_RUNS)]
        print(f"  {GPU_POOLS} GPU pools (prod + pools of every profile and mode) {statistics.median(times):6.2f} s"
              f"   (min {min(times):.2f}, max {max(times):.2f})")

    per_model = statistics.median(planner_ms_per_model() for _ in range(3))
    verdict = "met" if per_model <= PLANNER_TARGET_MS else "MISSED"
    print(f"capacity planner: {per_model:.2f} ms per served model (median of 3 runs of {PLANNER_SECONDS:.0f} s; "
          f"target <= {PLANNER_TARGET_MS:g} ms) {verdict}")
    if verdict == "MISSED":
        missed.append("capacity planner ms per model")

    print(f"synthesis throughput in one process, median of {THROUGHPUT_RUNS} runs")
    throughput(40)  # warm imports and the mocks runtime, so the first size is not charged for them
    rates = {}
    for size in SIZES:
        rates[size] = statistics.median(throughput(size) for _ in range(THROUGHPUT_RUNS))
        print(f"  {size:>5} resources: {rates[size]:8.0f} resources/s  ({size / rates[size]:.2f} s)")
    small, large = SIZES
    print(f"  time ratio {large}/{small}: {(large / rates[large]) / (small / rates[small]):.1f}x for {large // small}x the resources")
    return missed


