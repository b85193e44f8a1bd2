"""A tenant's boundary: everything that keeps one tenant's workloads, data and spend apart from the others'.

For each tenant (all charged to it by the `aiplane:tenant` cost tag):
- an IAM permissions boundary, a managed policy that caps what any role of the tenant can ever be granted:
  its own data in S3 (its prefix or its buckets), its key, and the data planes of vector databases (whose
  own access policies name only the tenant's roles);
- a workload role for the tenant's pods through EKS Pod Identity (service account `workload`), under that
  boundary, granted its storage and key;
- a namespace named after the tenant, labelled `aiplane.io/tenant`, enforcing the restricted Pod Security
  Standard;
- a ResourceQuota (CPU, memory, GPUs, persistent storage, pods) and a LimitRange that gives containers without
  requests a default, so every pod counts against the quota; its GPUs are the tenant queue's nominal share plus
  its borrowing limit, counted as the stack's allocation mode counts them (`requests.nvidia.com/gpu`, or the
  devices claimed through its pool's DeviceClass under DRA);
- its Kueue ClusterQueue (for its namespace alone, in the cohort) and the LocalQueue `gpus` that submits to it;
  a second quota that admits no pod at a priority above the blueprint's ceiling (the namespace's
  `aiplane.io/priority-ceiling` label); the blueprint's example work through the queue;
- a default-deny NetworkPolicy, then allows for DNS, the model gateway, the namespace's own pods, the
  tenant's vector database, and HTTPS to AWS APIs (S3 is reached through the VPC's gateway endpoint);
- an RBAC Role for the tenant's group (`aiplane:tenant:<name>`): workloads and their configuration in the
  namespace, never the quota, the limits, the network policies or RBAC itself;
- a vector database of its own where the blueprint asks for one, its client role under the boundary.
"""
from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field

from aiplane.components.base import AiplaneComponent
from aiplane.components.iam import pod_identity_association, pod_identity_role
from aiplane.components.model_gateway import GATEWAY_NAME, GATEWAY_PORT
from aiplane.components.object_storage import StorageLocation
from aiplane.components.scheduling import (
    PRIORITY_CEILING_LABEL,
    cluster_queue,
    gpu_quota,
    local_queue,
)
from aiplane.components.tenant_work import ExampleWorkArgs, example_work
from aiplane.components.vector_db import (
    IAM_DATABASE_USER,
    QDRANT_GRPC_PORT,
    QDRANT_HTTP_PORT,
    QdrantEngine,
    VectorDb,
    VectorDbArgs,
    VectorEngine,
)
from aiplane.components.workloads import (
    GATEWAY_NAMESPACE,
    dns_egress,
    restricted_namespace,
    service_account,
)
from aiplane.planning.node_profiles import TENANT_LABEL
from aiplane.planning.queues import PriorityName, QueueLayout, priorities_above, priority_class_name

WORKLOAD_SERVICE_ACCOUNT = "workload"
# Containers that state no resources get these, so that nothing escapes the namespace's quota.
DEFAULT_REQUESTS = {"cpu": "250m", "memory": "512Mi"}
DEFAULT_LIMITS = {"cpu": "1", "memory": "1Gi"}
# What the tenant's group may do in its namespace: run and configure workloads; the boundary objects
# (quota, limits, network policies, RBAC) stay the platform's.
DEVELOPER_RULES = [
    ("", ["pods", "pods/log", "pods/exec", "services", "configmaps", "secrets", "persistentvolumeclaims", "serviceaccounts", "events"]),
    ("apps", ["deployments", "statefulsets", "replicasets", "daemonsets"]),
    ("batch", ["jobs", "cronjobs"]),
    ("autoscaling", ["horizontalpodautoscalers"]),
    ("policy", ["poddisruptionbudgets"]),
]
DEVELOPER_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]


class TenantQuotaArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu: int = Field(ge=1)
    memory_gib: int = Field(ge=1)
    gpus: int = Field(ge=0)
    storage_gib: int = Field(ge=0)
    pods: int = Field(ge=1)


class TenantQueueArgs(BaseModel):
    """The tenant's share of the queues, as `aiplane.planning.queues` laid it out."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    layout: QueueLayout
    gpu_resource: str = Field(description="What Kueue counts GPUs in: nvidia.com/gpu, or the DRA logical resource")
    quota_key: str = Field(description="The ResourceQuota key that caps the namespace's GPUs under the allocation mode")
    ceiling: PriorityName
    scheduling: list[Any] = Field(default_factory=list, description="What the queues need first: Kueue, the flavors, the priority classes")
    example_work: ExampleWorkArgs | None = None


class TenantBoundaryArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    tenant: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
    quota: TenantQuotaArgs
    storage: dict[str, StorageLocation] = Field(description="The tenant's data locations by purpose")
    vector_database: VectorEngine | None = None
    cluster_name: Any
    region: str
    kubernetes_provider: Any
    storage_class: Any = None
    vpc_id: Any = None
    private_subnet_ids: list[Any] = Field(default_factory=list)
    client_security_group_id: Any = None
    monthly_budget_usd: float | None = Field(default=None, ge=0)
    monthly_estimate_usd: float | None = Field(default=None, ge=0)
    queue: TenantQueueArgs | None = None


class TenantBoundary(AiplaneComponent):
    namespace: k8s.core.v1.Namespace
    permissions_boundary_arn: pulumi.Output[str]
    workload_role_arn: pulumi.Output[str]
    vector_database: VectorDb | None = None

    def __init__(self, name: str, args: TenantBoundaryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:tenant:TenantBoundary", name, opts, tenant=args.tenant)
        tenant = args.tenant
        on_cluster = self.child(provider=args.kubernetes_provider)
        labels = {TENANT_LABEL: tenant, **({PRIORITY_CEILING_LABEL: args.queue.ceiling} if args.queue else {})}
        self.namespace = restricted_namespace(f"{name}-ns", tenant, labels, on_cluster)
        in_namespace = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[self.namespace]))

        account_id = aws.get_caller_identity_output().account_id
        vector_engine = args.vector_database.engine if args.vector_database else None
        boundary = aws.iam.Policy(
            f"{name}-boundary",
            aws.iam.PolicyArgs(
                description=f"Permissions boundary of tenant {tenant}: the most any of its roles can be granted",
                policy=data_policy(args.storage, vector_data_plane(vector_engine, args.region, account_id)),
                # The tenant's budget and estimate ride on its boundary, where the policy gate (AIP_FIN_2) reads them.
                tags=budget_tags(args.monthly_budget_usd, args.monthly_estimate_usd),
            ),
            opts=self.child(),
        )
        self.permissions_boundary_arn = boundary.arn
        role = pod_identity_role(self, f"{name}-workload-role", f"Workloads of tenant {tenant}", permissions_boundary=boundary.arn)
        aws.iam.RolePolicy(
            f"{name}-workload-policy",
            aws.iam.RolePolicyArgs(role=role.id, policy=data_policy(args.storage)),
            opts=self.child(),
        )
        pod_identity_association(
            self, f"{name}-workload-identity", role, cluster_name=args.cluster_name, namespace=tenant,
            service_account=WORKLOAD_SERVICE_ACCOUNT, depends_on=[self.namespace],
        )
        self.workload_role_arn = role.arn
        service_account(
            f"{name}-workload-sa", k8s.meta.v1.ObjectMetaArgs(name=WORKLOAD_SERVICE_ACCOUNT, namespace=tenant), in_namespace
        )

        if args.vector_database is not None:
            self.vector_database = VectorDb(
                f"{name}-vector-{args.vector_database.name}",
                VectorDbArgs(
                    engine=args.vector_database,
                    cluster_name=args.cluster_name,
                    region=args.region,
                    kubernetes_provider=args.kubernetes_provider,
                    storage_class=args.storage_class,
                    vpc_id=args.vpc_id,
                    private_subnet_ids=args.private_subnet_ids,
                    client_security_group_id=args.client_security_group_id,
                    permissions_boundary=boundary.arn,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self._quota(name, args, in_namespace)
        if args.queue is not None:
            self._queue(name, args.queue, in_namespace)
        self._network_policies(name, args, in_namespace)
        self._rbac(name, tenant, in_namespace)
        self.register_outputs({"namespace": tenant, "workloadRoleArn": self.workload_role_arn})

    def _quota(self, name: str, args: TenantBoundaryArgs, opts: pulumi.ResourceOptions) -> None:
        quota = args.quota
        gpus = {"requests.nvidia.com/gpu": str(quota.gpus)}
        if args.queue is not None:
            # The most the queue can ever be admitted; under DRA no device-plugin GPU at all.
            gpus = gpu_quota(args.queue.quota_key, args.queue.layout.most_gpus)
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="tenant-quota", namespace=args.tenant),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(
                hard={
                    "requests.cpu": str(quota.cpu),
                    "limits.cpu": str(quota.cpu),
                    "requests.memory": f"{quota.memory_gib}Gi",
                    "limits.memory": f"{quota.memory_gib}Gi",
                    **gpus,
                    "requests.storage": f"{quota.storage_gib}Gi",
                    "pods": str(quota.pods),
                }
            ),
            opts=opts,
        )
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="tenant-defaults", namespace=args.tenant),
            spec=k8s.core.v1.LimitRangeSpecArgs(
                limits=[k8s.core.v1.LimitRangeItemArgs(type="Container", default_request=DEFAULT_REQUESTS, default=DEFAULT_LIMITS)]
            ),
            opts=opts,
        )

    def _queue(self, name: str, queue: TenantQueueArgs, opts: pulumi.ResourceOptions) -> None:
        above = priorities_above(queue.ceiling)
        if above:
            # The API server refuses a pod at a priority above the ceiling: no pod may count against this quota.
            k8s.core.v1.ResourceQuota(
                f"{name}-priority-ceiling",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="priority-ceiling", namespace=queue.layout.namespace),
                spec=k8s.core.v1.ResourceQuotaSpecArgs(
                    hard={"pods": "0"},
                    scope_selector=k8s.core.v1.ScopeSelectorArgs(match_expressions=[k8s.core.v1.ScopedResourceSelectorRequirementArgs(
                        scope_name="PriorityClass", operator="In", values=[priority_class_name(level) for level in above],
                    )]),
                ),
                opts=opts,
            )
        after_kueue = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=queue.scheduling))
        cluster = cluster_queue(f"{name}-cq", queue.layout, queue.gpu_resource, after_kueue)
        local = local_queue(f"{name}-lq", queue.layout, pulumi.ResourceOptions.merge(after_kueue, pulumi.ResourceOptions(depends_on=[cluster])))
        if queue.example_work is not None:
            example_work(f"{name}-example", queue.example_work, pulumi.ResourceOptions.merge(after_kueue, pulumi.ResourceOptions(depends_on=[local])))

    def _network_policies(self, name: str, args: TenantBoundaryArgs, opts: pulumi.ResourceOptions) -> None:
        tenant = args.tenant
        everything = k8s.meta.v1.LabelSelectorArgs()

        def policy(suffix: str, spec: k8s.networking.v1.NetworkPolicySpecArgs) -> None:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{suffix}", metadata=k8s.meta.v1.ObjectMetaArgs(name=suffix, namespace=tenant), spec=spec, opts=opts
            )

        policy("default-deny", k8s.networking.v1.NetworkPolicySpecArgs(pod_selector=everything, policy_types=["Ingress", "Egress"]))
        policy("allow-dns", k8s.networking.v1.NetworkPolicySpecArgs(pod_selector=everything, policy_types=["Egress"], egress=[dns_egress()]))
        own_pods = k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=everything)
        policy(
            "allow-within-namespace",
            k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=everything,
                policy_types=["Ingress", "Egress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[own_pods])],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[own_pods])],
            ),
        )
        def egress_only(suffix: str, peer: k8s.networking.v1.NetworkPolicyPeerArgs, ports: tuple[int, ...]) -> None:
            policy(
                suffix,
                k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=everything,
                    policy_types=["Egress"],
                    egress=[
                        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                            to=[peer], ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=port) for port in ports]
                        )
                    ],
                ),
            )

        def namespace(name: str) -> k8s.meta.v1.LabelSelectorArgs:
            return k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": name})

        egress_only(
            "allow-model-gateway",
            k8s.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=namespace(GATEWAY_NAMESPACE),
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/name": GATEWAY_NAME}),
            ),
            (GATEWAY_PORT,),
        )
        egress_only("allow-aws-apis", k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0")), (443,))
        if isinstance(args.vector_database, QdrantEngine):
            egress_only(
                "allow-vector-database",
                k8s.networking.v1.NetworkPolicyPeerArgs(namespace_selector=namespace(f"vector-{args.vector_database.name}")),
                (QDRANT_HTTP_PORT, QDRANT_GRPC_PORT),
            )

    def _rbac(self, name: str, tenant: str, opts: pulumi.ResourceOptions) -> None:
        role = k8s.rbac.v1.Role(
            f"{name}-developer-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="tenant-developer", namespace=tenant),
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=[group], resources=resources, verbs=DEVELOPER_VERBS) for group, resources in DEVELOPER_RULES],
            opts=opts,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-developer-binding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="tenant-developers", namespace=tenant),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name="tenant-developer"),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="Group", name=tenant_group(tenant), api_group="rbac.authorization.k8s.io")],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[role])),
        )


BUDGET_TAG = "aiplane:monthly-budget-usd"
ESTIMATE_TAG = "aiplane:monthly-estimate-usd"


def budget_tags(budget: float | None, estimate: float | None) -> dict[str, str] | None:
    if budget is None or estimate is None:
        return None
    return {BUDGET_TAG: f"{budget:.2f}", ESTIMATE_TAG: f"{estimate:.2f}"}


def tenant_group(tenant: str) -> str:
    """The Kubernetes group of a tenant's people (map their IAM principals to it with EKS access entries)."""
    return f"aiplane:tenant:{tenant}"


def vector_data_plane(engine: str | None, region: str, account_id: pulumi.Input[str]) -> pulumi.Output[dict | None]:
    """What a tenant's vector-database client role needs, as the boundary allows it: OpenSearch Serverless
    collections and Aurora IAM logins of this account and region. The databases' own access policies (a data
    access policy, a database user) then admit only the principals they name."""

    def statement(account: str) -> dict | None:
        if engine == "opensearch-serverless":
            return {"Sid": "VectorDataPlane", "Effect": "Allow", "Action": "aoss:APIAccessAll",
                    "Resource": f"arn:aws:aoss:{region}:{account}:collection/*"}
        if engine == "pgvector":
            return {"Sid": "VectorDataPlane", "Effect": "Allow", "Action": "rds-db:connect",
                    "Resource": f"arn:aws:rds-db:{region}:{account}:dbuser:*/{IAM_DATABASE_USER}"}
        return None

    return pulumi.Output.from_input(account_id).apply(statement)


def data_policy(storage: dict[str, StorageLocation], extra: pulumi.Input[dict | None] = None) -> pulumi.Output[str]:
    """Read and write the tenant's own data (its objects, listed by its prefix), with its key; `extra` adds a
    statement (the boundary's vector data plane)."""
    locations = list(storage.values())
    values = [value for location in locations for value in (location.bucket_arn, location.kms_key_arn)]

    def document(resolved: list) -> str:
        statement, resolved = resolved[0], resolved[1:]
        buckets = resolved[0::2]
        keys = sorted(set(resolved[1::2]))
        objects = sorted({f"{bucket}/{location.prefix}*" for bucket, location in zip(buckets, locations)})
        listing = [
            {
                "Sid": f"List{index}",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket,
                **({"Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}} if prefix else {}),
            }
            for index, (bucket, prefix) in enumerate(sorted({(bucket, location.prefix) for bucket, location in zip(buckets, locations)}))
        ]
        statements = [
            {
                "Sid": "OwnObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                "Resource": objects,
            },
            *listing,
            {"Sid": "OwnKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": keys},
        ]
        if statement:
            statements.append(statement)
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    return pulumi.Output.all(extra, *values).apply(document)
