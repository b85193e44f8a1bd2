"""The controls aiplane advertises (README, "Controls the gate enforces"), each with the checks that enforce
it: the README may promise only what a check here fails on. `docs/policies.md` renders the table, and a test
fails when the README names a control this list lacks, or a control names a check that does not exist."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Control:
    statement: str
    checks: tuple[str, ...]


CONTROLS: tuple[Control, ...] = (
    Control("GPU nodes require IMDSv2 with a hop limit of 1, in node groups and Karpenter pools alike", ("AIP_GPU_1", "AIP_GPU_8")),
    Control("GPU nodes declare their volumes, all encrypted, in node groups and Karpenter pools alike", ("AIP_GPU_2", "AIP_GPU_9")),
    Control("GPU nodes carry the nvidia.com/gpu NoSchedule taint, in node groups and Karpenter pools alike", ("AIP_GPU_3", "AIP_GPU_7")),
    Control("GPU node groups boot an NVIDIA-accelerated AMI from a launch template", ("AIP_GPU_6", "AIP_EKS_3")),
    Control("EFA pools attach one interface per network card, in a placement group or their capacity reservation, behind a self-only security group", ("AIP_GPU_4", "AIP_GPU_5")),
    Control("Cluster access is by access entries only, and secrets are encrypted with a rotating customer-managed key", ("AIP_EKS_1", "AIP_EKS_2")),
    Control("The cluster API endpoint is private, or public only to listed networks", ("CKV_AWS_39", "CKV_AWS_38")),
    Control("EBS StorageClasses encrypt every volume they provision", ("AIP_EKS_4",)),
    Control("VPC endpoints are wired so that traffic to AWS services stays in the VPC", ("AIP_NET_1",)),
    Control("A public gateway admits only listed networks, never 0.0.0.0/0", ("AIP_NET_2",)),
    Control("Data buckets are encrypted with a customer-managed key, versioned, tiered and TLS-only", ("AIP_S3_1", "AIP_S3_2", "AIP_S3_3", "AIP_S3_4")),
    Control("Audit records are locked in compliance mode for at least the profile's retention floor", ("AIP_S3_5", "AIP_S3_6")),
    Control("Every resource carries its cost tags, and a tenant's budget covers its estimate", ("AIP_FIN_1", "AIP_FIN_2")),
    Control("Tenant namespaces deny all traffic by default", ("AIP_TEN_1",)),
    Control("Tenant namespaces have a GPU ResourceQuota and a LimitRange", ("AIP_TEN_2",)),
    Control("Tenant namespaces enforce Pod Security restricted", ("AIP_TEN_3",)),
    Control("Every tenant role is capped by the tenant's permissions boundary", ("AIP_TEN_4",)),
    Control("No namespace is shared between the platform and a tenant, or between tenants", ("AIP_TEN_5",)),
    Control(
        "A model server across nodes asks for EFA on an EFA pool, in one zone and placement group, and no pod mounts the host's EFA devices",
        ("AIP_SRV_1", "AIP_SRV_2", "AIP_SRV_3"),
    ),
    Control(
        "Every tenant namespace has its own GPU queue, no tenant workload runs above its blueprint's priority, and GPU pods ask "
        "for GPUs as the stack's allocation mode hands them out",
        ("AIP_SCH_1", "AIP_SCH_2", "AIP_SCH_3"),
    ),
    Control("Nothing that needs a running pod is created before a node that can run it", ("AIP_DEP_1",)),
    Control("Every await covers the workload's startup allowance", ("AIP_DEP_2",)),
    Control("No field is owned both by aiplane and by an autoscaler", ("AIP_DEP_3",)),
    Control("A change replaces or deletes a cluster, node group, bucket, key or database only where the stack file allows it", ("AIP_CHG_1",)),
)
