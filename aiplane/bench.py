"""`make bench`: plan wall time per stack, check time against checkov alone, synthesis throughput at two sizes.

Wall times are whole `aiplane plan` processes (interpreter start, imports, synthesis, writing files), the
figure a user waits for; throughput is measured in one process so that it shows how synthesis alone
grows with the number of resources. Each figure is the median of several runs: machines here are noisy.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pulumi_aws as aws

from aiplane.engine import synthesize
from components.base import AiplaneComponent

PROJECT_DIR = Path(__file__).resolve().parent.parent
PLAN_RUNS = 5
THROUGHPUT_RUNS = 3
SIZES = (200, 2000)
PROD_TARGET_SECONDS = 10.0
CHECK_RUNS = 5
CHECK_RATIO_TARGET = 1.3


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
    command = [sys.executable, "-m", "aiplane.cli", "plan", "--stack", stack, "--out", str(out_dir)]
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


def check_against_checkov(stack: str = "prod") -> tuple[float, float]:
    """`aiplane check` end to end against the checkov CLI alone on the files that check exported."""
    check = [sys.executable, "-m", "aiplane.cli", "check", "--stack", stack, "--format", "json"]
    timed(check)  # writes build/<stack>/ for checkov's own runs
    out = PROJECT_DIR / "build" / stack
    checkov = [str(PROJECT_DIR / ".venv-checkov" / "bin" / "checkov"), "--skip-download", "--quiet", "-o", "json"]
    checkov += ["--external-checks-dir", str(PROJECT_DIR / "policies" / "checks"), "-f", str(out / "tfplan.json")]
    frameworks = ["terraform_plan"]
    if any((out / "k8s").glob("*.yaml")):
        checkov += ["-d", str(out / "k8s")]
        frameworks.append("kubernetes")
    checkov += ["--framework", *frameworks]
    check_times, checkov_times = [], []
    for _ in range(CHECK_RUNS):  # interleaved, so both see the same machine
        check_times.append(timed(check))
        checkov_times.append(timed(checkov, ok_codes=(0, 1)))
    return statistics.median(check_times), statistics.median(checkov_times)


def throughput(resources: int) -> float:
    started = time.perf_counter()
    graph = synthesize(_program(resources), stack="bench", region="us-east-1")
    elapsed = time.perf_counter() - started
    assert len(graph.custom_resources) == resources
    return resources / elapsed


def main() -> None:
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

    check_seconds, checkov_seconds = check_against_checkov()
    print(f"aiplane check --stack prod against checkov alone on the same files, median of {CHECK_RUNS} interleaved runs")
    print(f"  aiplane check {check_seconds:.2f} s · checkov {checkov_seconds:.2f} s")
    print(f"  ratio {check_seconds / checkov_seconds:.2f} (target <= {CHECK_RATIO_TARGET})")

    print(f"synthesis throughput in one process, median of {THROUGHPUT_RUNS} runs")
    throughput(40)  # warm imports and the mocks runtime, so the first size is not charged for them
    rates = {}
    for size in SIZES:
        rates[size] = statistics.median(throughput(size) for _ in range(THROUGHPUT_RUNS))
        print(f"  {size:>5} resources: {rates[size]:8.0f} resources/s  ({size / rates[size]:.2f} s)")
    small, large = SIZES
    print(f"  time ratio {large}/{small}: {(large / rates[large]) / (small / rates[small]):.1f}x for {large // small}x the resources")


if __name__ == "__main__":
    main()
