"""GPU node acceptance from `nvidia-smi -q -x`: the GPUs a node reports against what its instance type promises
(the instance catalog): how many, which product, how much memory, and the driver.

nvidia-smi's XML (its DTD `nvsmi_device_v11`/`v12`) names each GPU's product (`product_name`, the NVML device
name, "NVIDIA A10G"), its framebuffer (`fb_memory_usage/total`, "23028 MiB") and the node's `driver_version`.
The framebuffer it reports is what is left after the driver's reservation and ECC, a few percent under the
figure EC2 publishes per GPU; a GPU under MEMORY_FLOOR of it is refused. NVLink is not in this output (it is
`nvidia-smi nvlink --status`'s): this acceptance leaves it out.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from aiplane.planning.instances import InstanceType

MEMORY_FLOOR = 0.9  # of the catalog's (EC2's) memory per GPU
MIB = re.compile(r"^\s*(\d+)\s*MiB\s*$")


class NvidiaSmiError(ValueError):
    """The text is not `nvidia-smi -q -x` output."""


@dataclass(frozen=True)
class GpuReport:
    product: str  # as nvidia-smi names it: "NVIDIA A10G"
    memory_mib: int
    uuid: str | None

    @property
    def product_label(self) -> str:
        """The product as GPU feature discovery labels nodes (and the catalog records it): spaces as '-'."""
        return self.product.replace(" ", "-")


@dataclass(frozen=True)
class NodeReport:
    driver_version: str
    attached_gpus: int
    gpus: tuple[GpuReport, ...]


def parse_nvidia_smi(xml_text: str) -> NodeReport:
    try:
        root = ElementTree.fromstring(xml_text.encode())
    except ElementTree.ParseError as error:
        raise NvidiaSmiError(f"not XML: {error}") from None
    if root.tag != "nvidia_smi_log":
        raise NvidiaSmiError(f"root element <{root.tag}>, not <nvidia_smi_log>")
    gpus = []
    for gpu in root.findall("gpu"):
        total = gpu.findtext("fb_memory_usage/total") or ""
        match = MIB.match(total)
        if not match:
            raise NvidiaSmiError(f"GPU {gpu.get('id')}: fb_memory_usage/total {total!r} is not in MiB")
        gpus.append(GpuReport(product=(gpu.findtext("product_name") or "").strip(), memory_mib=int(match.group(1)), uuid=gpu.findtext("uuid")))
    return NodeReport(
        driver_version=(root.findtext("driver_version") or "").strip(),
        attached_gpus=int((root.findtext("attached_gpus") or "0").strip() or 0),
        gpus=tuple(gpus),
    )


@dataclass(frozen=True)
class Acceptance:
    passed: bool
    findings: tuple[str, ...]  # every failure; empty when it passed
    evidence: str  # what the node reported, in one line


def accept_node(report: NodeReport, instance: InstanceType) -> Acceptance:
    findings = []
    if len(report.gpus) != instance.gpus:
        findings.append(f"{len(report.gpus)} GPUs reported, {instance.name} has {instance.gpus}")
    if report.attached_gpus != len(report.gpus):
        findings.append(f"attached_gpus says {report.attached_gpus}, the report lists {len(report.gpus)}")
    floor = int(instance.gpu_memory_mib * MEMORY_FLOOR)
    for index, gpu in enumerate(report.gpus):
        if gpu.product_label != instance.gpu_product:
            findings.append(f"GPU {index} is {gpu.product}, {instance.name} has {instance.gpu_product}")
        if gpu.memory_mib < floor:
            findings.append(f"GPU {index} has {gpu.memory_mib} MiB, under {floor} MiB ({MEMORY_FLOOR:.0%} of {instance.gpu_memory_mib})")
    if not report.driver_version:
        findings.append("no driver version")
    products = ", ".join(sorted({gpu.product for gpu in report.gpus})) or "no GPU"
    evidence = f"{len(report.gpus)} x {products}, {min((g.memory_mib for g in report.gpus), default=0)} MiB each, driver {report.driver_version or '?'}"
    return Acceptance(passed=not findings, findings=tuple(findings), evidence=evidence)
