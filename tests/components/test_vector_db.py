"""Vector databases under the mocks runtime, one per engine, from the data fixture stack; and the fixture
through the prod policy profile with real checkov."""
from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s
import pytest

from aiplane.components.postgres import rds_identifier
from aiplane.components.vector_db import (
    GATEWAY_NAMESPACE,
    IAM_DATABASE_USER,
    QDRANT_IMAGE,
    QDRANT_P2P_PORT,
    OpenSearchServerlessEngine,
    PgvectorEngine,
    QdrantEngine,
    VectorDb,
    VectorDbArgs,
)
from aiplane.components.workloads import WORKLOAD_UID
from aiplane.policy.gate import run_gate
from aiplane.synth.engine import SECRET_PLACEHOLDER, synthesize


def kubernetes_object(graph, kind, name):
    return next(r for r in graph.resources if r.type.startswith("kubernetes:") and r.inputs.get("kind") == kind and r.name == name)


def policy_document(resource, key="policy"):
    return json.loads(resource.inputs[key])


# -- every engine: an endpoint and a way in -----------------------------------------------------------------


ENGINES = {
    "qdrant": QdrantEngine(engine="qdrant", name="cache", replicas=1),
    "opensearch-serverless": OpenSearchServerlessEngine(engine="opensearch-serverless", name="docs", standby_replicas=False),
    "pgvector": PgvectorEngine(engine="pgvector", name="rag", deletion_protection=False),
}


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_engine_gives_an_endpoint_and_a_way_in(engine):
    seen = {}

    def program():
        provider = k8s.Provider("k8s", k8s.ProviderArgs(kubeconfig="{}"))
        database = VectorDb(
            "vector",
            VectorDbArgs(
                engine=ENGINES[engine], cluster_name="aiplane-test", region="us-east-1", kubernetes_provider=provider,
                vpc_id="vpc-0123456789abcdef0", private_subnet_ids=["subnet-a", "subnet-b"], client_security_group_id="sg-0123456789abcdef0",
            ),
        )
        pulumi.Output.all(database.endpoint, database.access.reference).apply(lambda values: seen.update(endpoint=values[0], reference=values[1]))
        seen["kind"] = database.access.kind

    graph = synthesize(program, stack="test", region="us-east-1")
    if engine == "qdrant":
        assert (seen["kind"], seen["reference"]) == ("secret", "vector-cache/cache-api-key")
        assert seen["endpoint"] == "http://cache.vector-cache.svc.cluster.local:6333"
        return
    assert (seen["kind"], seen["reference"]) == ("role", graph.find("aws:iam/role:Role", "vector-client-role").outputs["arn"])
    if engine == "pgvector":
        assert seen["endpoint"] == graph.find("aws:rds/cluster:Cluster", "vector-aurora").outputs["endpoint"]
        assert graph.find("aws:rds/cluster:Cluster", "vector-aurora").inputs["deletionProtection"] is False
    else:
        collection = graph.find("aws:opensearch/serverlessCollection:ServerlessCollection", "vector-collection")
        assert seen["endpoint"] == collection.outputs["collectionEndpoint"]
        assert collection.inputs["standbyReplicas"] == "DISABLED"


def test_role_engines_bind_their_client_role_to_each_client_namespace_and_the_gateway(data_stack):
    _, graph = data_stack
    for database, namespaces in (("docs", ["team-a", "team-b"]), ("rag", ["team-b"])):
        role = graph.find("aws:iam/role:Role", f"vector-{database}-client-role")
        assert policy_document(role, "assumeRolePolicy")["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        associations = [
            r for r in graph.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") if r.name.startswith(f"vector-{database}-client-")
        ]
        assert sorted(a.inputs["namespace"] for a in associations) == sorted([*namespaces, GATEWAY_NAMESPACE])
        assert {a.inputs["serviceAccount"] for a in associations} == {f"{database}-client"}
        assert {a.inputs["roleArn"] for a in associations} == {role.outputs["arn"]}


# -- qdrant -------------------------------------------------------------------------------------------------


def test_qdrant_is_a_hardened_statefulset_on_encrypted_volumes(data_stack):
    _, graph = data_stack
    statefulset = kubernetes_object(graph, "StatefulSet", "vector-cache-statefulset").inputs
    assert statefulset["metadata"]["namespace"] == "vector-cache"
    spec = statefulset["spec"]
    assert spec["replicas"] == 3
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "gp3-encrypted"
    assert claim["spec"]["resources"]["requests"] == {"storage": "100Gi"}
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["fsGroup"] == WORKLOAD_UID
    (container,) = pod["containers"]
    assert container["image"] == QDRANT_IMAGE and "@sha256:" in container["image"]
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]} and context["runAsUser"] >= 10000
    assert container["resources"]["limits"] == container["resources"]["requests"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # Three replicas form a cluster: the first starts it, the others bootstrap from it.
    script = container["command"][-1]
    assert container["command"][:2] == ["/bin/sh", "-c"]
    assert f'--bootstrap "http://cache-0.cache-headless:{QDRANT_P2P_PORT}"' in script
    assert f'--uri "http://${{HOSTNAME}}.cache-headless:{QDRANT_P2P_PORT}"' in script and "$(" not in script
    assert {"name": "QDRANT__CLUSTER__ENABLED", "value": "true"} in container["env"]


def test_qdrant_api_key_is_generated_kept_secret_and_mounted_as_a_file(data_stack):
    _, graph = data_stack
    secret = kubernetes_object(graph, "Secret", "vector-cache-api-key-secret").inputs
    # Never rendered in plain text; the keys stay, so the manifest is still a valid Secret.
    assert secret["stringData"] == {"api-key": SECRET_PLACEHOLDER, "local.yaml": SECRET_PLACEHOLDER}
    pod = kubernetes_object(graph, "StatefulSet", "vector-cache-statefulset").inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert not any("valueFrom" in variable for variable in container["env"])  # no secret in an environment variable
    config = next(volume for volume in pod["volumes"] if volume["name"] == "config")
    assert config["secret"]["secretName"] == "cache-api-key"
    mount = next(mount for mount in container["volumeMounts"] if mount["name"] == "config")
    assert mount == {"name": "config", "mountPath": "/qdrant/config/local.yaml", "subPath": "local.yaml", "readOnly": True}
    password = graph.find("random:index/randomPassword:RandomPassword", "vector-cache-api-key")
    assert password.inputs["length"] >= 32


def test_qdrant_network_policy_admits_only_its_clients_the_gateway_and_its_peers(data_stack):
    _, graph = data_stack
    policy = kubernetes_object(graph, "NetworkPolicy", "vector-cache-netpol").inputs["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    clients, peers = policy["ingress"]
    (selector,) = clients["from"][0]["namespaceSelector"]["matchExpressions"]
    assert selector == {"key": "kubernetes.io/metadata.name", "operator": "In", "values": sorted(["team-a", GATEWAY_NAMESPACE])}
    assert {port["port"] for port in clients["ports"]} == {6333, 6334}
    assert peers["from"][0]["podSelector"] == policy["podSelector"] and peers["ports"] == [{"protocol": "TCP", "port": QDRANT_P2P_PORT}]
    assert {port["port"] for rule in policy["egress"] for port in rule["ports"]} == {QDRANT_P2P_PORT, 53}


def test_qdrant_runs_in_a_restricted_namespace_with_a_disruption_budget(data_stack):
    _, graph = data_stack
    namespace = kubernetes_object(graph, "Namespace", "vector-cache-ns").inputs["metadata"]
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    budget = kubernetes_object(graph, "PodDisruptionBudget", "vector-cache-pdb").inputs["spec"]
    assert budget["maxUnavailable"] == 1
    assert budget["selector"]["matchLabels"] == kubernetes_object(graph, "StatefulSet", "vector-cache-statefulset").inputs["spec"]["selector"]["matchLabels"]


# -- OpenSearch Serverless ----------------------------------------------------------------------------------


def test_opensearch_collection_is_cmk_encrypted_vpc_only_and_readable_by_its_role_alone(data_stack):
    _, graph = data_stack
    collection = graph.find("aws:opensearch/serverlessCollection:ServerlessCollection", "vector-docs-collection")
    assert collection.inputs["type"] == "VECTORSEARCH" and collection.inputs["standbyReplicas"] == "ENABLED"
    policies = {r.inputs["type"]: r for r in graph.of_type("aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy")}
    assert {policies["encryption"].urn, policies["network"].urn} <= set(collection.dependencies)
    encryption = policy_document(policies["encryption"])
    assert encryption["AWSOwnedKey"] is False
    assert encryption["KmsARN"] == graph.find("aws:kms/key:Key", "vector-docs-key").outputs["arn"]
    (network,) = policy_document(policies["network"])
    assert network["AllowFromPublic"] is False
    assert network["SourceVPCEs"] == [graph.find("aws:opensearch/serverlessVpcEndpoint:ServerlessVpcEndpoint", "vector-docs-vpce").id]
    (rule,) = policy_document(graph.find("aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy", "vector-docs-data-access"))
    assert rule["Principal"] == [graph.find("aws:iam/role:Role", "vector-docs-client-role").outputs["arn"]]
    assert {r["ResourceType"]: r["Resource"] for r in rule["Rules"]} == {"collection": ["collection/docs"], "index": ["index/docs/*"]}
    statement = policy_document(graph.find("aws:iam/rolePolicy:RolePolicy", "vector-docs-client-policy"))["Statement"][0]
    assert statement["Action"] == ["aoss:APIAccessAll"] and statement["Resource"] == [collection.outputs["arn"]]


# -- pgvector -----------------------------------------------------------------------------------------------


def test_pgvector_is_private_encrypted_iam_authenticated_and_backed_up(data_stack):
    spec, graph = data_stack
    cluster = graph.find("aws:rds/cluster:Cluster", "vector-rag-aurora")
    inputs = cluster.inputs
    key_arn = graph.find("aws:kms/key:Key", "vector-rag-key").outputs["arn"]
    assert inputs["engine"] == "aurora-postgresql" and inputs["engineMode"] == "provisioned"
    assert inputs["storageEncrypted"] is True and inputs["kmsKeyId"] == key_arn
    assert inputs["iamDatabaseAuthenticationEnabled"] is True
    assert inputs["manageMasterUserPassword"] is True and "masterPassword" not in inputs
    assert inputs["deletionProtection"] is True and inputs["backupRetentionPeriod"] == 35
    assert inputs["serverlessv2ScalingConfiguration"] == {"minCapacity": 1, "maxCapacity": 64}
    subnet_group = graph.find("aws:rds/subnetGroup:SubnetGroup", "vector-rag-subnets")
    assert subnet_group.inputs["subnetIds"] == [
        graph.find("aws:ec2/subnet:Subnet", f"network-private-{zone}").id for zone in ("us-west-2a", "us-west-2c")
    ]
    parameters = {p["name"]: p["value"] for p in graph.find("aws:rds/clusterParameterGroup:ClusterParameterGroup", "vector-rag-parameters").inputs["parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    instances = [r for r in graph.of_type("aws:rds/clusterInstance:ClusterInstance") if r.name.startswith("vector-rag-")]
    assert len(instances) == 3
    assert all(i.inputs["instanceClass"] == "db.serverless" and i.inputs["publiclyAccessible"] is False for i in instances)
    selection = graph.find("aws:backup/selection:Selection", "vector-rag-backup-selection")
    assert selection.inputs["resources"] == [cluster.outputs["arn"]]
    connect = policy_document(graph.find("aws:iam/rolePolicy:RolePolicy", "vector-rag-client-policy"))["Statement"][0]
    assert connect["Action"] == "rds-db:connect"
    assert connect["Resource"] == f"arn:aws:rds-db:us-west-2:123456789012:dbuser:{cluster.outputs['clusterResourceId']}/{IAM_DATABASE_USER}"
    group = graph.find("aws:ec2/securityGroup:SecurityGroup", "vector-rag-sg").inputs
    assert [(rule["fromPort"], rule["toPort"]) for rule in group["ingress"]] == [(5432, 5432)] and group["egress"] == []


# -- the gate -----------------------------------------------------------------------------------------------


def test_the_data_fixture_passes_the_prod_gate_with_the_storage_database_and_kubernetes_checks(data_project):
    report = run_gate(data_project, ["prod"])
    assert [(f.check_id, f.resource) for f in report.findings if f.status == "violation"] == []
    passed = {(f.check_id, f.resource) for f in report.findings if f.status == "passed"}
    expected = {
        ("CKV_AWS_96", "aws_rds_cluster.vector-rag-aurora"),  # encrypted
        ("CKV_AWS_162", "aws_rds_cluster.vector-rag-aurora"),  # IAM authentication
        ("CKV_AWS_139", "aws_rds_cluster.vector-rag-aurora"),  # deletion protection
        ("CKV2_AWS_8", "aws_rds_cluster.vector-rag-aurora"),  # in an AWS Backup plan
        ("CKV2_AWS_27", "aws_rds_cluster.vector-rag-aurora"),  # query logging
        ("CKV_AWS_118", "aws_rds_cluster_instance.vector-rag-instance-0"),  # enhanced monitoring
        ("CKV_AWS_354", "aws_rds_cluster_instance.vector-rag-instance-0"),  # Performance Insights encrypted
        ("CKV_AWS_190", "aws_fsx_lustre_file_system.storage-lustre"),  # Lustre on a CMK
        ("CKV2_AWS_62", "aws_s3_bucket.storage-models"),  # event notifications
        ("CKV2_AWS_65", "aws_s3_bucket_ownership_controls.storage-models-ownership"),  # ACLs disabled
        ("CKV_AWS_300", "aws_s3_bucket_lifecycle_configuration.storage-models-lifecycle"),  # multipart uploads aborted
        ("AIP_S3_3", "aws_s3_bucket.storage-models"),
        ("AIP_S3_5", "aws_s3_bucket.storage-audit"),
        ("CKV_K8S_43", "StatefulSet.vector-cache.cache"),  # image by digest
        ("CKV_K8S_40", "StatefulSet.vector-cache.cache"),  # high UID
        ("CKV_K8S_35", "StatefulSet.vector-cache.cache"),  # secrets as files
        ("CKV_K8S_22", "StatefulSet.vector-cache.cache"),  # read-only root filesystem
    }
    assert expected <= passed, expected - passed


@pytest.mark.parametrize(
    ("cluster", "database", "identifier"),
    [("aiplane-prod", "rag", "aiplane-prod-rag"), ("ML_Platform", "rag", "ml-platform-rag"), ("9lives", "rag", "db-9lives-rag")],
)
def test_rds_identifiers_follow_rds_naming_rules(cluster, database, identifier):
    assert rds_identifier(cluster, database) == identifier
    assert len(rds_identifier("x" * 100, database)) <= 63
