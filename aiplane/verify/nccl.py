"""The fabric from an NCCL run's log: which transport NCCL chose between nodes, and what nccl-tests measured.

With `NCCL_DEBUG=INFO`, NCCL says which network it uses: over EFA, the aws-ofi-nccl plugin logs `NET/OFI Selected
Provider is efa` and channels run `via NET/AWS Libfabric` (or `NET/OFI`); without it, channels run `via NET/Socket`
(TCP), which is the silent fallback that makes training slow. nccl-tests (`all_reduce_perf`) prints a table of
size, count, type, operation, then time, algorithm and bus bandwidth (GB/s) out of place and in place, and
`# Avg bus bandwidth : <GB/s>`. mpirun may prefix every line with `[1,N]<stdout>:`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Transport = Literal["efa", "socket", "unknown"]
MPI_PREFIX = re.compile(r"^\[\d+,\d+\]<std(?:out|err)>:")
EFA_MARKERS = ("NET/OFI Selected Provider is efa", "via NET/AWS Libfabric", "via NET/OFI", "Using network AWS Libfabric")
SOCKET_MARKERS = ("via NET/Socket", "Using network Socket", "NET/Socket : Using")
AVERAGE = re.compile(r"^#\s*Avg bus bandwidth\s*:\s*([0-9.]+)")
# size count type redop [root] time algbw busbw [error|#wrong] time algbw busbw [error|#wrong]
ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\w+)\s+(\w+)\s+(?:-?\d+\s+)?([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+\S+\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)")


@dataclass(frozen=True)
class Measurement:
    size_bytes: int
    out_of_place_busbw: float  # GB/s
    in_place_busbw: float


@dataclass(frozen=True)
class NcclRun:
    transport: Transport
    rows: tuple[Measurement, ...]
    average_busbw: float | None  # GB/s, nccl-tests' own average

    @property
    def peak_busbw(self) -> float | None:
        return max((max(row.out_of_place_busbw, row.in_place_busbw) for row in self.rows), default=None)


def parse_nccl_log(text: str) -> NcclRun:
    lines = [MPI_PREFIX.sub("", line) for line in text.splitlines()]
    socket = any(marker in line for line in lines for marker in SOCKET_MARKERS)
    efa = any(marker in line for line in lines for marker in EFA_MARKERS)
    # Any socket channel means some traffic left EFA: that is the finding, even where EFA carries the rest.
    transport: Transport = "socket" if socket else "efa" if efa else "unknown"
    rows, average = [], None
    for line in lines:
        found = AVERAGE.match(line)
        if found:
            average = float(found.group(1))
            continue
        row = ROW.match(line)
        if row:
            rows.append(Measurement(int(row.group(1)), float(row.group(7)), float(row.group(10))))
    return NcclRun(transport=transport, rows=tuple(rows), average_busbw=average)


@dataclass(frozen=True)
class FabricVerdict:
    passed: bool
    finding: str


def judge_fabric(run: NcclRun) -> FabricVerdict:
    """EFA or nothing: sockets, or a log that names no transport, fail."""
    if run.transport == "socket":
        return FabricVerdict(False, "NCCL runs channels over sockets (TCP), not EFA")
    if run.transport == "unknown":
        return FabricVerdict(False, "the log names no NCCL network (run with NCCL_DEBUG=INFO)")
    bandwidth = f"average bus bandwidth {run.average_busbw:g} GB/s" if run.average_busbw is not None else "no nccl-tests table"
    return FabricVerdict(True, f"EFA ({bandwidth}, peak {run.peak_busbw or 0:g} GB/s)")
