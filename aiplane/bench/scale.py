"""`make bench`, second part: the gate at scale. Prod plus 0, 50, 200 and 400 tenants of mixed blueprints:
`aiplane plan` and an uncached `aiplane check` per size, checkov alone (its CLI on the files `check`
exported) at prod and at 200 tenants, a cached `check` after one tenant changed at 200 tenants, and the peak
memory of `check` at 400. Every figure is a whole process, the median of interleaved rounds (each round runs
every command once, so all see the same machine). Targets are those of the scale issue; each one missed is
flagged, and `--strict` (`make bench STRICT=1`) exits 1 if any is.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiplane.bench.tenants import tenants_project, write_tenants

PROJECT_DIR = Path(__file__).resolve().parents[2]
SIZES = (0, 50, 200, 400)
CHECKOV_SIZES = (0, 200)
CACHED_SIZE = 200
ROUNDS = 3
CHECK_RATIO_TARGET = 1.0
CACHED_RATIO_TARGET = 0.3
PER_RESOURCE_GROWTH_TARGET = 1.2
MEMORY_TARGET_BYTES = 2 * 1024**3


def run(command: list[str], ok_codes: tuple[int, ...] = (0, 1)) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    elapsed = time.perf_counter() - started
    if completed.returncode not in ok_codes:
        raise SystemExit(f"{' '.join(command)} exited {completed.returncode}: {completed.stderr.decode()[-500:]}")
    return elapsed


def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants, read from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    family, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier and pid not in family]
        family.update(children)
        frontier = children
    return sum(rss.get(pid, 0) for pid in family)


def peak_memory(command: list[str]) -> int:
    """The largest sum of resident memory the command's process tree held, sampled every 0.2 s (a separate run
    from the timed ones: sampling costs CPU)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(process.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    process.wait()
    done.set()
    sampler.join()
    return peak


@dataclass
class Size:
    tenants: int
    project: Path
    resources: int = 0
    plan: list[float] = field(default_factory=list)
    check: list[float] = field(default_factory=list)
    checkov: list[float] = field(default_factory=list)
    cached: list[float] = field(default_factory=list)

    def aiplane(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "aiplane", "--project-dir", str(self.project), *args]

    def checkov_alone(self) -> list[str]:
        out = self.project / "build" / "prod"
        command = [str(PROJECT_DIR / ".venv-checkov" / "bin" / "checkov"), "--skip-download", "--quiet", "-o", "json"]
        command += ["--external-checks-dir", str(self.project / "policies" / "checks"), "-f", str(out / "tfplan.json")]
        return command + ["-d", str(out / "k8s"), "--framework", "terraform_plan", "kubernetes"]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def measure(scratch: Path, rounds: int, sizes: tuple[int, ...]) -> list[Size]:
    measured = [Size(n, tenants_project(PROJECT_DIR, scratch / f"tenants-{n}", n)) for n in sizes]
    for size in measured:
        run(size.aiplane("check", "--stack", "prod", "--format", "json"))  # writes build/prod and fills the cache
        summary = json.loads((size.project / "build" / "prod" / "summary.json").read_text())
        size.resources = summary["total"]
    for round_ in range(rounds):
        print(f"  round {round_ + 1} of {rounds}", flush=True)
        for size in measured:
            size.plan.append(run(size.aiplane("plan", "--stack", "prod")))
            size.check.append(run(size.aiplane("check", "--stack", "prod", "--format", "json", "--no-cache")))
            if size.tenants in CHECKOV_SIZES:
                size.checkov.append(run(size.checkov_alone()))
            if size.tenants == CACHED_SIZE:
                # One tenant's key budget changes in each round (a new value each time): the cache holds the rest.
                write_tenants(size.project, size.tenants, {1: 2000 + 100 * (round_ + 1)}, source=PROJECT_DIR)
                size.cached.append(run(size.aiplane("check", "--stack", "prod", "--format", "json")))
    return measured


def report(measured: list[Size], memory: int | None) -> list[str]:
    """Print the figures; return the targets missed."""
    print(f"{'tenants':>8} {'resources':>9} {'plan s':>8} {'check s':>8} {'checkov s':>10} {'res/s':>7}")
    per_resource = {}
    for size in measured:
        both = median(size.plan) + median(size.check)
        per_resource[size.tenants] = both / size.resources
        checkov = f"{median(size.checkov):10.1f}" if size.checkov else f"{'':>10}"
        print(f"{size.tenants:>8} {size.resources:>9,} {median(size.plan):8.1f} {median(size.check):8.1f} {checkov} {size.resources / both:7.0f}")
    missed = []

    def target(label: str, value: float, limit: float, unit: str = "") -> None:
        verdict = "met" if value <= limit else "MISSED"
        print(f"  {label}: {value:.2f}{unit} (target <= {limit:g}{unit}) {verdict}")
        if verdict == "MISSED":
            missed.append(label)

    by_tenants = {size.tenants: size for size in measured}
    for tenants in CHECKOV_SIZES:
        if tenants in by_tenants and by_tenants[tenants].checkov:
            size = by_tenants[tenants]
            target(f"check / checkov alone at prod+{tenants}", median(size.check) / median(size.checkov), CHECK_RATIO_TARGET)
    if CACHED_SIZE in by_tenants and by_tenants[CACHED_SIZE].cached:
        size = by_tenants[CACHED_SIZE]
        print(f"  cached check after a one-tenant change at prod+{CACHED_SIZE}: {median(size.cached):.1f} s")
        target(f"cached check / checkov alone at prod+{CACHED_SIZE}", median(size.cached) / median(size.checkov), CACHED_RATIO_TARGET)
    if 50 in per_resource and 400 in per_resource:
        target("plan+check time per resource, 400 tenants / 50", per_resource[400] / per_resource[50], PER_RESOURCE_GROWTH_TARGET)
    if memory is not None:
        target("peak memory of check at prod+400", memory / 1024**3, MEMORY_TARGET_BYTES / 1024**3, " GiB")
    return missed


def main(rounds: int = ROUNDS, sizes: tuple[int, ...] = SIZES) -> list[str]:
    print(f"the gate at scale: prod plus {', '.join(map(str, sizes))} tenants, medians of {rounds} interleaved rounds")
    with tempfile.TemporaryDirectory(prefix="aiplane-bench-") as scratch:
        measured = measure(Path(scratch), rounds, sizes)
        largest = max(measured, key=lambda size: size.tenants)
        memory = peak_memory(largest.aiplane("check", "--stack", "prod", "--format", "json", "--no-cache")) if largest.tenants == 400 else None
        return report(measured, memory)
