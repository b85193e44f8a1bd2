"""The vector database, one engine per instance, chosen per stack, tenant or blueprint.

Every engine gives callers the same two things: an `endpoint`, and a way in (`access`): the Kubernetes
Secret holding an API key (qdrant), or an IAM role reached through EKS Pod Identity (OpenSearch
Serverless, pgvector). The role is associated with the service account `<name>-client` in each client
namespace, so a client pod needs no credential of its own.

Engines and their secure defaults (behaviour, not options):
- `qdrant` on the cluster: a StatefulSet on encrypted gp3 volumes, in a namespace of its own that enforces
  the restricted Pod Security Standard; an API key generated at deploy time and mounted as a file, never
  an environment variable; a PodDisruptionBudget; a NetworkPolicy that admits only the client namespaces
  and the model gateway, and lets replicas talk to each other;
- `opensearch-serverless`: a VECTORSEARCH collection encrypted with its own customer-managed key, reachable
  only through a VPC endpoint (no public access), with a data-access policy naming only the client role;
- `pgvector`: Aurora PostgreSQL Serverless v2 in the private subnets, encrypted with its own key, IAM
  database authentication, a master password that RDS keeps in Secrets Manager and rotates, TLS forced,
  logs exported to an encrypted log group, Performance Insights and enhanced monitoring, automated
  backups plus an AWS Backup plan, and deletion protection unless the stack turns it off.
"""
from __future__ import annotations

import json
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
from pydantic import BaseModel, ConfigDict, Field

from aiplane.components.base import AiplaneComponent
from aiplane.components.encryption import rotating_key
from aiplane.components.iam import (
    account_key_policy,
    allow_policy,
    pod_identity_association,
    pod_identity_role,
)
from aiplane.components.network import ingress_only_security_group
from aiplane.components.postgres import AuroraPostgres, rds_identifier
from aiplane.components.workloads import (
    GATEWAY_NAMESPACE,
    cluster_service,
    container_security_context,
    dns_egress,
    namespaces_peer,
    one_at_a_time_budget,
    pod_security_context,
    restricted_namespace,
    service_account,
)
from aiplane.spec.storage import (
    OpenSearchServerlessEngine,
    PgvectorEngine,
    QdrantEngine,
    VectorEngine,
    VectorEngineBase,
)

# qdrant v1.15.4, pinned by digest so a re-pushed tag cannot change what runs.
QDRANT_IMAGE = "qdrant/qdrant:v1.15.4@sha256:6ac4807063bbecddca0250bfbcff52acf18c22263b904d12919349e6d0a408f1"
QDRANT_HTTP_PORT, QDRANT_GRPC_PORT, QDRANT_P2P_PORT = 6333, 6334, 6335
HTTPS_PORT = 443
DATABASE_NAME = "vectors"
# The database role clients log in as with an IAM token (created with `GRANT rds_iam`; see docs/storage.md).
IAM_DATABASE_USER = "vector_client"


class VectorDbArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    engine: VectorEngine
    cluster_name: Any = Field(description="pulumi.Input[str]")
    region: str
    kubernetes_provider: Any = Field(default=None, description="k8s.Provider: qdrant runs on the cluster")
    storage_class: Any = Field(default=None, description="k8s StorageClass: encrypted volumes for qdrant")
    vpc_id: Any = None
    private_subnet_ids: list[Any] = Field(default_factory=list, description="pulumi.Input[str] each")
    client_security_group_id: Any = Field(default=None, description="pulumi.Input[str]: the nodes clients run on")
    tenant: str | None = None
    permissions_boundary: Any = Field(default=None, description="pulumi.Input[str]: caps the client role (a tenant's boundary)")


class VectorDbAccess(BaseModel):
    """How a client gets in: `secret` names `<namespace>/<secret>` (key `api-key`); `role` is an IAM role ARN."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    kind: Literal["secret", "role"]
    reference: Any
    service_account: str | None = None


class VectorDb(AiplaneComponent):
    endpoint: pulumi.Output[str]
    access: VectorDbAccess

    def __init__(self, name: str, args: VectorDbArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:vectordb:VectorDb", name, opts, tenant=args.tenant)
        engine = args.engine
        if isinstance(engine, QdrantEngine):
            self.endpoint, self.access = self._qdrant(name, engine, args)
        elif isinstance(engine, OpenSearchServerlessEngine):
            self.endpoint, self.access = self._opensearch(name, engine, args)
        else:
            self.endpoint, self.access = self._pgvector(name, engine, args)
        self.register_outputs({"endpoint": self.endpoint, "access": self.access.reference})

    # -- shared ---------------------------------------------------------------------------------------

    def _client_role(self, name: str, engine: VectorEngineBase, args: VectorDbArgs, policy: pulumi.Input[str]) -> VectorDbAccess:
        """The IAM role clients reach the database with, bound to `<db>-client` in every client namespace."""
        role = pod_identity_role(
            self, f"{name}-client-role", f"Clients of vector database {engine.name}", permissions_boundary=args.permissions_boundary
        )
        aws.iam.RolePolicy(f"{name}-client-policy", aws.iam.RolePolicyArgs(role=role.id, policy=policy), opts=self.child())
        service_account = f"{engine.name}-client"
        for namespace in sorted({*engine.client_namespaces, GATEWAY_NAMESPACE}):
            pod_identity_association(
                self, f"{name}-client-{namespace}", role, cluster_name=args.cluster_name, namespace=namespace, service_account=service_account
            )
        return VectorDbAccess(kind="role", reference=role.arn, service_account=service_account)

    # -- qdrant -----------------------------------------------------------------------------------------

    def _qdrant(self, name: str, engine: QdrantEngine, args: VectorDbArgs) -> tuple[pulumi.Output[str], VectorDbAccess]:
        on_cluster = self.child(provider=args.kubernetes_provider)
        namespace_name = f"vector-{engine.name}"
        labels = {"app.kubernetes.io/name": "qdrant", "app.kubernetes.io/instance": engine.name}
        namespace = restricted_namespace(
            f"{name}-ns", namespace_name, {"aiplane.io/vector-db": engine.name},
            on_cluster,
        )
        in_namespace = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[namespace]))
        metadata = k8s.meta.v1.ObjectMetaArgs(name=engine.name, namespace=namespace_name, labels=labels)

        api_key = random.RandomPassword(f"{name}-api-key", random.RandomPasswordArgs(length=48, special=False), opts=self.child())
        secret_name = f"{engine.name}-api-key"
        k8s.core.v1.Secret(
            f"{name}-api-key-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=namespace_name, labels=labels),
            type="Opaque",
            string_data={
                "api-key": api_key.result,
                # qdrant reads config/local.yaml after its defaults: the key never appears in the pod spec.
                "local.yaml": api_key.result.apply(lambda key: f"service:\n  api_key: {key}\n"),
            },
            opts=in_namespace,
        )
        service_account(f"{name}-sa", metadata, in_namespace)
        headless = f"{engine.name}-headless"
        ports = [("http", QDRANT_HTTP_PORT), ("grpc", QDRANT_GRPC_PORT)]
        cluster_service(f"{name}-service", metadata, labels, dict(ports), in_namespace)
        k8s.core.v1.Service(
            f"{name}-headless",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=headless, namespace=namespace_name, labels=labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                cluster_ip="None", selector=labels, publish_not_ready_addresses=True,
                ports=[k8s.core.v1.ServicePortArgs(name="p2p", port=QDRANT_P2P_PORT, target_port=QDRANT_P2P_PORT)],
            ),
            opts=in_namespace,
        )
        k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=metadata,
            spec=self._qdrant_statefulset_spec(engine, args, labels, headless, secret_name),
            opts=in_namespace,
        )
        one_at_a_time_budget(f"{name}-pdb", metadata, labels, in_namespace)
        peers = k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels))
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol",
            metadata=metadata,
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                policy_types=["Ingress", "Egress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[namespaces_peer([*engine.client_namespaces, GATEWAY_NAMESPACE])],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=port) for _, port in ports],
                    ),
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[peers], ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=QDRANT_P2P_PORT)]
                    ),
                ],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[peers], ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=QDRANT_P2P_PORT)]
                    ),
                    dns_egress(),
                ],
            ),
            opts=in_namespace,
        )
        endpoint = pulumi.Output.from_input(f"http://{engine.name}.{namespace_name}.svc.cluster.local:{QDRANT_HTTP_PORT}")
        return endpoint, VectorDbAccess(kind="secret", reference=f"{namespace_name}/{secret_name}")

    def _qdrant_statefulset_spec(
        self, engine: QdrantEngine, args: VectorDbArgs, labels: dict[str, str], headless: str, secret_name: str
    ) -> k8s.apps.v1.StatefulSetSpecArgs:
        # A shell variable, not Kubernetes' $(VAR): HOSTNAME is the pod's name, set by the runtime, not in env.
        peer_uri = f"http://${{HOSTNAME}}.{headless}:{QDRANT_P2P_PORT}"
        first_peer = f"http://{engine.name}-0.{headless}:{QDRANT_P2P_PORT}"
        if engine.replicas > 1:
            # The first replica starts the cluster; the others join it through the headless service.
            command = [
                "/bin/sh", "-c",
                f'if [ "$HOSTNAME" = "{engine.name}-0" ]; then exec ./qdrant --uri "{peer_uri}"; '
                f'else exec ./qdrant --bootstrap "{first_peer}" --uri "{peer_uri}"; fi',
            ]
        else:
            command = ["./qdrant"]
        probe = {"port": QDRANT_HTTP_PORT}
        resources = {"cpu": engine.cpu, "memory": engine.memory}
        return k8s.apps.v1.StatefulSetSpecArgs(
            service_name=headless,
            replicas=engine.replicas,
            pod_management_policy="Parallel",
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                spec=k8s.core.v1.PodSpecArgs(
                    service_account_name=engine.name,
                    automount_service_account_token=False,
                    security_context=pod_security_context(),
                    # Replicas on different nodes and zones: one failure takes one replica.
                    topology_spread_constraints=[
                        k8s.core.v1.TopologySpreadConstraintArgs(
                            max_skew=1, topology_key=key, when_unsatisfiable="ScheduleAnyway",
                            label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                        )
                        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
                    ],
                    containers=[
                        k8s.core.v1.ContainerArgs(
                            name="qdrant",
                            image=QDRANT_IMAGE,
                            image_pull_policy="Always",
                            command=command,
                            env=[
                                k8s.core.v1.EnvVarArgs(name="QDRANT__CLUSTER__ENABLED", value=str(engine.replicas > 1).lower()),
                                k8s.core.v1.EnvVarArgs(name="QDRANT__TELEMETRY_DISABLED", value="true"),
                                # The root filesystem is read-only: the start-up marker goes on a writable volume.
                                k8s.core.v1.EnvVarArgs(name="QDRANT_INIT_FILE_PATH", value="/qdrant/init/.qdrant-initialized"),
                            ],
                            ports=[
                                k8s.core.v1.ContainerPortArgs(name=port_name, container_port=port)
                                for port_name, port in (("http", QDRANT_HTTP_PORT), ("grpc", QDRANT_GRPC_PORT), ("p2p", QDRANT_P2P_PORT))
                            ],
                            readiness_probe=k8s.core.v1.ProbeArgs(
                                http_get=k8s.core.v1.HTTPGetActionArgs(path="/readyz", **probe), period_seconds=5
                            ),
                            liveness_probe=k8s.core.v1.ProbeArgs(
                                http_get=k8s.core.v1.HTTPGetActionArgs(path="/livez", **probe), period_seconds=10, failure_threshold=6
                            ),
                            resources=k8s.core.v1.ResourceRequirementsArgs(requests=resources, limits=resources),
                            security_context=container_security_context(),
                            volume_mounts=[
                                k8s.core.v1.VolumeMountArgs(name="storage", mount_path="/qdrant/storage"),
                                k8s.core.v1.VolumeMountArgs(name="snapshots", mount_path="/qdrant/snapshots"),
                                k8s.core.v1.VolumeMountArgs(name="init", mount_path="/qdrant/init"),
                                k8s.core.v1.VolumeMountArgs(
                                    name="config", mount_path="/qdrant/config/local.yaml", sub_path="local.yaml", read_only=True
                                ),
                            ],
                        )
                    ],
                    volumes=[
                        k8s.core.v1.VolumeArgs(name="snapshots", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs()),
                        k8s.core.v1.VolumeArgs(name="init", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Mi")),
                        k8s.core.v1.VolumeArgs(
                            name="config",
                            secret=k8s.core.v1.SecretVolumeSourceArgs(
                                secret_name=secret_name, items=[k8s.core.v1.KeyToPathArgs(key="local.yaml", path="local.yaml")]
                            ),
                        ),
                    ],
                ),
            ),
            volume_claim_templates=[
                k8s.core.v1.PersistentVolumeClaimArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(name="storage"),
                    spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                        access_modes=["ReadWriteOnce"],
                        storage_class_name=args.storage_class.metadata.name if args.storage_class else None,
                        resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": f"{engine.storage_gib}Gi"}),
                    ),
                )
            ],
        )

    # -- OpenSearch Serverless ----------------------------------------------------------------------------

    def _opensearch(self, name: str, engine: OpenSearchServerlessEngine, args: VectorDbArgs) -> tuple[pulumi.Output[str], VectorDbAccess]:
        account_id = aws.get_caller_identity_output().account_id
        key = rotating_key(self, f"{name}-key", f"Encrypts vector collection {engine.name}", account_key_policy(account_id))
        collection_resource = [f"collection/{engine.name}"]
        encryption = self._security_policy(
            name, engine, "encryption", f"Collection {engine.name} encrypted with its own customer-managed key",
            key.arn.apply(
                lambda arn: {"Rules": [{"ResourceType": "collection", "Resource": collection_resource}], "AWSOwnedKey": False, "KmsARN": arn}
            ),
        )
        group = ingress_only_security_group(
            self, f"{name}-sg", description=f"Vector database {engine.name}: port {HTTPS_PORT} from cluster nodes only",
            vpc_id=args.vpc_id, port=HTTPS_PORT, clients=args.client_security_group_id,
        )
        endpoint = aws.opensearch.ServerlessVpcEndpoint(
            f"{name}-vpce",
            aws.opensearch.ServerlessVpcEndpointArgs(
                name=f"{engine.name}-vpce", vpc_id=args.vpc_id, subnet_ids=args.private_subnet_ids, security_group_ids=[group.id]
            ),
            opts=self.child(),
        )
        network = self._security_policy(
            name, engine, "network", f"Collection {engine.name} reachable only through its VPC endpoint",
            endpoint.id.apply(
                lambda endpoint_id: [
                    {
                        "Rules": [
                            {"ResourceType": "collection", "Resource": collection_resource},
                            {"ResourceType": "dashboard", "Resource": collection_resource},
                        ],
                        "AllowFromPublic": False,
                        "SourceVPCEs": [endpoint_id],
                    }
                ]
            ),
        )
        collection = aws.opensearch.ServerlessCollection(
            f"{name}-collection",
            aws.opensearch.ServerlessCollectionArgs(
                name=engine.name,
                type="VECTORSEARCH",
                description=f"Vector collection {engine.name}",
                standby_replicas="ENABLED" if engine.standby_replicas else "DISABLED",
            ),
            # The collection is created encrypted by the policy that names it: the policy must exist first.
            opts=self.child(depends_on=[encryption, network]),
        )
        access = self._client_role(name, engine, args, allow_policy(["aoss:APIAccessAll"], collection.arn.apply(lambda arn: [arn])))
        aws.opensearch.ServerlessAccessPolicy(
            f"{name}-data-access",
            aws.opensearch.ServerlessAccessPolicyArgs(
                name=f"{engine.name}-data",
                type="data",
                description=f"Only the client role of {engine.name} reads and writes its indexes",
                policy=pulumi.Output.from_input(access.reference).apply(lambda role_arn: opensearch_data_policy(engine.name, role_arn)),
            ),
            opts=self.child(),
        )
        return collection.collection_endpoint, access

    def _security_policy(
        self, name: str, engine: OpenSearchServerlessEngine, kind: Literal["encryption", "network"], description: str,
        document: pulumi.Output[Any],
    ) -> aws.opensearch.ServerlessSecurityPolicy:
        return aws.opensearch.ServerlessSecurityPolicy(
            f"{name}-{kind}",
            aws.opensearch.ServerlessSecurityPolicyArgs(
                name=f"{engine.name}-{kind[:3]}", type=kind, description=description, policy=document.apply(json.dumps)
            ),
            opts=self.child(),
        )

    # -- pgvector -----------------------------------------------------------------------------------------

    def _pgvector(self, name: str, engine: PgvectorEngine, args: VectorDbArgs) -> tuple[pulumi.Output[str], VectorDbAccess]:
        database = AuroraPostgres(
            self,
            name,
            purpose=f"vector database {engine.name}",
            settings=engine,
            identifier=pulumi.Output.from_input(args.cluster_name).apply(lambda cluster: rds_identifier(cluster, engine.name)),
            database_name=DATABASE_NAME,
            master_username="vector_admin",
            subnet_ids=args.private_subnet_ids,
            vpc_id=args.vpc_id,
            client_security_group_id=args.client_security_group_id,
            region=args.region,
        )
        return database.endpoint, self._client_role(name, engine, args, database.connect_policy(IAM_DATABASE_USER))


def opensearch_data_policy(collection: str, role_arn: str) -> str:
    return json.dumps(
        [
            {
                "Rules": [
                    {
                        "ResourceType": "collection",
                        "Resource": [f"collection/{collection}"],
                        "Permission": ["aoss:DescribeCollectionItems", "aoss:CreateCollectionItems", "aoss:UpdateCollectionItems"],
                    },
                    {
                        "ResourceType": "index",
                        "Resource": [f"index/{collection}/*"],
                        "Permission": [
                            "aoss:CreateIndex", "aoss:DescribeIndex", "aoss:UpdateIndex", "aoss:ReadDocument", "aoss:WriteDocument",
                        ],
                    },
                ],
                "Principal": [role_arn],
                "Description": f"Clients of {collection}",
            }
        ]
    )
