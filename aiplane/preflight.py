"""Pre-flight: what AWS must offer before a stack's GPU pools can launch, asked of AWS before `pulumi up`.

Users otherwise learn at apply time that an instance type is not offered in a zone, that their vCPU quota
is too small, or that a capacity reservation has expired. For each GPU pool (the stack's and tenants'):
- the instance type is offered in every zone the pool uses (DescribeInstanceTypeOfferings);
- DescribeInstanceTypes agrees with the catalog the capacity plan used: GPU count, GPU memory, EFA support
  and EFA interfaces;
- Service Quotas leaves room: the running on-demand and spot vCPU quotas of the P and G families against
  the pools' max nodes × vCPUs (a quota that cannot be read is a warning, never a pass);
- each named capacity reservation (an On-Demand Capacity Reservation or a Capacity Block) fits its pool: it
  exists, is active (or scheduled, a warning with its start) and has not ended, is for the pool's instance
  type, in the pool's zone, for Linux/UNIX, and holds the pool's largest size (a warning with the shortfall);
and the cluster's Kubernetes version is one EKS supports.

Every call goes through boto3 to a real HTTP endpoint: AWS, or with --endpoint-url any compatible one (the
tests use moto's server). An API that is not available at the endpoint makes its check a warning.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import botocore.exceptions
import botocore.parsers

from aiplane.errors import InputError
from aiplane.planning.instances import load_instance_catalog
from aiplane.planning.node_profiles import NODE_PROFILES
from aiplane.spec import StackSpec

Status = Literal["ok", "warning", "blocking"]
# Service Quotas codes of the EC2 vCPU quotas GPU pools draw on (service code `ec2`; values in vCPUs).
VCPU_QUOTAS = {
    ("on-demand", "P"): ("L-417A185B", "Running On-Demand P instances"),
    ("on-demand", "G"): ("L-DB2E81BA", "Running On-Demand G and VT instances"),
    ("spot", "P"): ("L-7212CCBC", "All P Spot Instance Requests"),
    ("spot", "G"): ("L-3819A6DF", "All G and VT Spot Instance Requests"),
}
SUPPORTED_VERSION_STATUSES = {"STANDARD_SUPPORT", "EXTENDED_SUPPORT"}
# EKS nodes (AL2023) are Linux: a reservation for another platform never matches their launches.
NODE_PLATFORM = "Linux/UNIX"
# A reservation that ends sooner than this after the check leaves no room for a deploy and a run.
RESERVATION_MARGIN = timedelta(days=1)
SEVERITY = {"ok": 0, "warning": 1, "blocking": 2}


@dataclass(frozen=True)
class Check:
    check: str
    subject: str
    status: Status
    detail: str


@dataclass(frozen=True)
class PoolNeed:
    name: str
    instance_types: tuple[str, ...]
    zones: tuple[str, ...]
    capacity_types: tuple[str, ...]
    max_nodes: int
    capacity_reservation_id: str | None


def pool_needs(spec: StackSpec) -> list[PoolNeed]:
    """Each GPU pool's instance types, zones, purchase options and largest size."""
    from aiplane.platform import pools_to_build

    needs = []
    for sizes in pools_to_build(spec):
        pool = sizes.spec
        zones = pool.availability_zones or spec.zones
        if NODE_PROFILES[pool.profile].multi_node or pool.wants_efa:
            zones = zones[:1]
        needs.append(
            PoolNeed(
                name=pool.name, instance_types=tuple(pool.instance_types), zones=tuple(zones),
                capacity_types=tuple(pool.effective_capacity_types), max_nodes=sizes.max_nodes,
                capacity_reservation_id=pool.capacity_reservation_id,
            )
        )
    return needs


class Clients:
    """boto3 clients for one region and endpoint."""

    def __init__(self, region: str, endpoint_url: str | None = None, session: Any = None):
        import boto3
        from botocore.config import Config

        session = session or boto3.session.Session()
        if session.get_credentials() is None:
            raise InputError(
                "preflight: no AWS credentials found; set AWS_PROFILE (after `aws sso login` or `aws configure`), or "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, for the account the stack deploys to"
            )
        # One attempt: a pre-flight reports what it sees now; retries only slow down a missing API's warning.
        config = Config(retries={"max_attempts": 1}, connect_timeout=10, read_timeout=30)
        self.ec2 = session.client("ec2", region_name=region, endpoint_url=endpoint_url, config=config)
        self.quotas = session.client("service-quotas", region_name=region, endpoint_url=endpoint_url, config=config)
        self.eks = session.client("eks", region_name=region, endpoint_url=endpoint_url, config=config)


def unavailable(error: Exception) -> bool:
    """The endpoint does not offer this API (not a finding about the account)."""
    if isinstance(error, botocore.parsers.ResponseParserError):
        return True
    if isinstance(error, botocore.exceptions.ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = error.response.get("Error", {}).get("Code", "")
        return status == 404 or status >= 500 or code in ("NotImplemented", "InvalidAction", "UnknownOperationException")
    return isinstance(error, botocore.exceptions.EndpointConnectionError)


def guarded(check: str, subject: str, probe: Callable[[], list[Check]]) -> list[Check]:
    try:
        return probe()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, botocore.parsers.ResponseParserError) as error:
        if unavailable(error):
            return [Check(check, subject, "warning", f"could not be checked: the endpoint does not answer this API ({type(error).__name__})")]
        raise


def run_preflight(spec: StackSpec, clients: Clients) -> list[Check]:
    needs = pool_needs(spec)
    results: list[Check] = []
    for need in needs:
        for instance_type in need.instance_types:
            results += guarded("offered", f"{need.name}: {instance_type}", lambda it=instance_type, n=need: offerings(clients, it, n))
    types = sorted({instance_type for need in needs for instance_type in need.instance_types})
    if types:
        results += guarded("catalog", ", ".join(types), lambda: catalog_agreement(clients, types))
    for (capacity, family_class), (code, quota_name) in VCPU_QUOTAS.items():
        needed = vcpus_needed(needs, capacity, family_class)
        if needed:
            results += quota_headroom(clients, code, quota_name, needed)
    for need in needs:
        if need.capacity_reservation_id:
            results += guarded(
                "reservation", f"{need.name}: {need.capacity_reservation_id}", lambda n=need: reservation(clients, n)
            )
    version = spec.platform.cluster.version
    results += guarded("eks-version", version, lambda: eks_version(clients, version))
    return results


def offerings(clients: Clients, instance_type: str, need: PoolNeed) -> list[Check]:
    answer = clients.ec2.describe_instance_type_offerings(
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": [instance_type]}, {"Name": "location", "Values": list(need.zones)}],
    )
    offered = {offering["Location"] for offering in answer["InstanceTypeOfferings"]}
    missing = [zone for zone in need.zones if zone not in offered]
    subject = f"{need.name}: {instance_type}"
    if missing:
        return [Check("offered", subject, "blocking", f"not offered in {', '.join(missing)} (offered: {', '.join(sorted(offered)) or 'none'})")]
    return [Check("offered", subject, "ok", f"offered in {', '.join(need.zones)}")]


def catalog_agreement(clients: Clients, types: list[str]) -> list[Check]:
    catalog = load_instance_catalog()
    answers = {answer["InstanceType"]: answer for answer in clients.ec2.describe_instance_types(InstanceTypes=types)["InstanceTypes"]}
    results = []
    for name in types:
        instance = catalog.instances[name]
        answer = answers.get(name)
        if answer is None:
            results.append(Check("catalog", name, "blocking", "EC2 does not know this instance type in the region"))
            continue
        gpus = answer.get("GpuInfo", {}).get("Gpus", [])
        network = answer.get("NetworkInfo", {})
        seen = {
            "GPU count": sum(gpu.get("Count", 0) for gpu in gpus),
            "GPU memory MiB": gpus[0]["MemoryInfo"]["SizeInMiB"] if gpus else 0,
            "EFA": bool(network.get("EfaSupported")),
            "EFA interfaces": network.get("EfaInfo", {}).get("MaximumEfaInterfaces", 0),
        }
        expected = {
            "GPU count": instance.gpus,
            "GPU memory MiB": instance.gpu_memory_mib,
            "EFA": instance.efa,
            "EFA interfaces": instance.max_efa_interfaces,
        }
        differences = [f"{key} {seen[key]} (catalog: {expected[key]})" for key in expected if seen[key] != expected[key]]
        if differences:
            results.append(Check("catalog", name, "blocking", "EC2 disagrees with the catalog: " + "; ".join(differences)))
        else:
            results.append(Check("catalog", name, "ok", f"{instance.gpus}× {instance.gpu}, EFA {instance.max_efa_interfaces}"))
    return results


def family_class(instance_type: str) -> str:
    return "P" if instance_type.startswith("p") else "G"


def vcpus_needed(needs: list[PoolNeed], capacity: str, klass: str) -> int:
    """vCPUs the pools buying `capacity` in family class `klass` hold at their max sizes."""
    catalog = load_instance_catalog()
    total = 0
    for need in needs:
        types = [t for t in need.instance_types if family_class(t) == klass]
        if types and capacity in need.capacity_types:
            total += need.max_nodes * max(catalog.instances[t].vcpus for t in types)
    return total


def quota_headroom(clients: Clients, code: str, quota_name: str, needed: int) -> list[Check]:
    subject = f"{quota_name} ({code})"
    try:
        value = clients.quotas.get_service_quota(ServiceCode="ec2", QuotaCode=code)["Quota"]["Value"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, botocore.parsers.ResponseParserError) as error:
        reason = error.response["Error"].get("Code", "error") if isinstance(error, botocore.exceptions.ClientError) else type(error).__name__
        return [Check("quota", subject, "warning", f"unknown ({reason}): the pools need {needed} vCPUs; check the quota by hand")]
    if value < needed:
        return [Check("quota", subject, "blocking", f"{value:g} vCPUs, but the pools need {needed} at their max sizes")]
    return [Check("quota", subject, "ok", f"{value:g} vCPUs, the pools need {needed}")]


def reservation(clients: Clients, need: PoolNeed, now: datetime | None = None) -> list[Check]:
    subject = f"{need.name}: {need.capacity_reservation_id}"
    try:
        answer = clients.ec2.describe_capacity_reservations(CapacityReservationIds=[need.capacity_reservation_id])
    except botocore.exceptions.ClientError as error:
        if error.response["Error"].get("Code") == "InvalidCapacityReservationId.NotFound":
            return [Check("reservation", subject, "blocking", "no such capacity reservation")]
        raise
    (found,) = answer["CapacityReservations"]
    return [reservation_fit(need, found, now or datetime.now(timezone.utc))]


def reservation_fit(need: PoolNeed, found: dict[str, Any], now: datetime) -> Check:
    """Does the reservation EC2 describes (`found`) fit the pool? The worst finding decides the status; the detail
    names every finding, or what fits."""
    subject = f"{need.name}: {need.capacity_reservation_id}"
    findings: list[tuple[Status, str]] = []
    state, start, end = found.get("State"), found.get("StartDate"), found.get("EndDate")
    if state == "scheduled":
        findings.append(("warning", f"scheduled: nodes cannot launch into it before {_when(start)}"))
    elif state != "active":
        findings.append(("blocking", f"state {state}"))
    if end is not None and end <= now:
        findings.append(("blocking", f"ended {_when(end)}"))
    elif end is not None and end - now < RESERVATION_MARGIN:
        findings.append(("warning", f"ends {_when(end)}, within a day"))
    instance_type = found.get("InstanceType")
    if instance_type not in need.instance_types:
        findings.append(("blocking", f"is for {instance_type}, the pool launches {', '.join(need.instance_types)}"))
    zone = found.get("AvailabilityZone")
    if zone not in need.zones:
        findings.append(("blocking", f"is in {zone}, the pool's subnets are in {', '.join(need.zones)}"))
    elif len(need.zones) > 1:
        outside = ", ".join(other for other in need.zones if other != zone)
        findings.append(("warning", f"is in {zone}: nodes the pool launches in {outside} fall outside it"))
    platform = found.get("InstancePlatform")
    if platform is not None and platform != NODE_PLATFORM:
        findings.append(("blocking", f"is for {platform}, EKS nodes launch {NODE_PLATFORM}"))
    total = found.get("TotalInstanceCount")
    if total is not None and total < need.max_nodes:
        findings.append(("warning", f"holds {total} instances, the pool grows to {need.max_nodes}: {need.max_nodes - total} short"))
    if not findings:
        window = f", until {_when(end)}" if end is not None else ""
        return Check(
            "reservation", subject, "ok",
            f"{state}{window}: {instance_type} in {zone}, {total} instances for up to {need.max_nodes} nodes "
            f"({found.get('AvailableInstanceCount', '?')} available)",
        )
    status = max((status for status, _ in findings), key=SEVERITY.__getitem__)
    return Check("reservation", subject, status, "; ".join(detail for _, detail in findings))


def _when(moment: Any) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if isinstance(moment, datetime) else str(moment or "later")


def eks_version(clients: Clients, version: str) -> list[Check]:
    answer = clients.eks.describe_cluster_versions(clusterVersions=[version])
    statuses = [entry.get("versionStatus") or entry.get("status") for entry in answer.get("clusterVersions", [])]
    if any(status in SUPPORTED_VERSION_STATUSES for status in statuses):
        return [Check("eks-version", version, "ok", f"supported ({', '.join(map(str, statuses))})")]
    return [Check("eks-version", version, "blocking", f"EKS does not support Kubernetes {version} ({', '.join(map(str, statuses)) or 'unknown'})")]


def exit_code(results: list[Check]) -> int:
    return 1 if any(result.status == "blocking" for result in results) else 0
