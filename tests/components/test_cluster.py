"""The cluster component: endpoint exposure, encryption, logging, access, nodes, add-ons, provider."""
from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from aiplane.components.cluster import (
    CONTROL_PLANE_LOG_TYPES,
    ClusterArgs,
    NodeGroupSizing,
)
from aiplane.spec import CORE_ADDONS
from tests.conftest import synthesized

CLUSTER = "aws:eks/cluster:Cluster"


def eks(graph):
    return graph.find(CLUSTER, "cluster-eks")


def test_prod_api_endpoint_is_private_only():
    _, graph = synthesized("prod")
    vpc_config = eks(graph).inputs["vpcConfig"]
    assert vpc_config["endpointPrivateAccess"] is True
    assert vpc_config["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc_config


@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_public_endpoint_elsewhere_is_restricted_to_listed_cidrs(environment):
    spec, graph = synthesized(environment)
    vpc_config = eks(graph).inputs["vpcConfig"]
    assert vpc_config["endpointPublicAccess"] is True
    assert vpc_config["publicAccessCidrs"] == spec.platform.cluster.public_access_cidrs
    assert "0.0.0.0/0" not in vpc_config["publicAccessCidrs"]


def test_control_plane_runs_in_private_subnets(shipped):
    _, graph = shipped
    private = {s.id for s in graph.of_type("aws:ec2/subnet:Subnet") if s.name.startswith("network-private-")}
    assert set(eks(graph).inputs["vpcConfig"]["subnetIds"]) == private


def test_secrets_are_envelope_encrypted_with_a_rotating_key(shipped):
    _, graph = shipped
    key = graph.find("aws:kms/key:Key", "cluster-secrets-key")
    assert eks(graph).inputs["encryptionConfig"] == {"provider": {"keyArn": key.outputs["arn"]}, "resources": ["secrets"]}
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30


def test_all_control_plane_logs_go_to_an_encrypted_log_group(shipped):
    spec, graph = shipped
    assert eks(graph).inputs["enabledClusterLogTypes"] == CONTROL_PLANE_LOG_TYPES == [
        "api", "audit", "authenticator", "controllerManager", "scheduler",
    ]
    log_group = graph.find("aws:cloudwatch/logGroup:LogGroup", "cluster-control-plane-logs")
    assert log_group.inputs["name"] == f"/aws/eks/{spec.cluster_name}/cluster"
    assert log_group.inputs["retentionInDays"] == spec.platform.cluster.log_retention_days
    logs_key = graph.find("aws:kms/key:Key", "cluster-control-plane-logs-key")
    assert log_group.inputs["kmsKeyId"] == logs_key.outputs["arn"] and logs_key.inputs["enableKeyRotation"] is True
    assert log_group.urn in eks(graph).dependencies, "the log group must exist before EKS creates its own"


def test_access_entries_not_the_aws_auth_configmap(shipped):
    _, graph = shipped
    assert eks(graph).inputs["accessConfig"]["authenticationMode"] == "API"


def test_listed_admins_get_access_entries_and_no_creator_bootstrap(project_copy):
    from aiplane.synth.engine import synthesize_stack

    stack = project_copy / "stacks" / "Pulumi.prod.yaml"
    admin = "arn:aws:iam::111122223333:role/platform-admins"
    stack.write_text(stack.read_text().replace("      endpointAccess: private\n", f"      endpointAccess: private\n      adminPrincipalArns: [{admin}]\n"))
    _, graph = synthesize_stack(project_copy, "prod")
    assert eks(graph).inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    entry = graph.find("aws:eks/accessEntry:AccessEntry", "cluster-admin-0")
    association = graph.find("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "cluster-admin-0-policy")
    assert entry.inputs["principalArn"] == association.inputs["principalArn"] == admin
    assert association.inputs["accessScope"] == {"type": "cluster"}
    assert association.inputs["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")


def test_core_addons_are_pinned(shipped):
    spec, graph = shipped
    addons = {a.inputs["addonName"]: a.inputs["addonVersion"] for a in graph.of_type("aws:eks/addon:Addon")}
    assert addons == CORE_ADDONS[spec.platform.cluster.version]
    assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver"}
    nodes = graph.find("aws:eks/nodeGroup:NodeGroup", "cluster-system-nodes").urn
    assert nodes in graph.find("aws:eks/addon:Addon", "cluster-coredns").dependencies
    assert nodes in graph.find("aws:eks/addon:Addon", "cluster-aws-ebs-csi-driver").dependencies


def test_ebs_csi_driver_uses_pod_identity_and_volumes_are_encrypted_with_a_cmk(shipped):
    spec, graph = shipped
    driver = graph.find("aws:eks/addon:Addon", "cluster-aws-ebs-csi-driver")
    assert graph.find("aws:eks/addon:Addon", "cluster-eks-pod-identity-agent").urn in driver.dependencies
    (association,) = driver.inputs["podIdentityAssociations"]
    assert association["serviceAccount"] == "ebs-csi-controller-sa"
    role = graph.find("aws:iam/role:Role", "cluster-ebs-csi-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert association["roleArn"] == role.outputs["arn"]
    key = graph.find("aws:kms/key:Key", "cluster-volume-key")
    assert key.inputs["enableKeyRotation"] is True
    grants = json.loads(graph.find("aws:iam/rolePolicy:RolePolicy", "cluster-ebs-csi-volume-key").inputs["policy"])["Statement"]
    assert all(statement["Resource"] == [key.outputs["arn"]] for statement in grants)
    assert grants[0]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}

    storage_class = graph.find("kubernetes:storage.k8s.io/v1:StorageClass", "cluster-gp3-encrypted")
    assert storage_class.inputs["parameters"] == {"type": "gp3", "encrypted": "true", "kmsKeyId": key.outputs["arn"]}
    assert storage_class.inputs["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert storage_class.inputs["volumeBindingMode"] == "WaitForFirstConsumer"
    assert driver.urn in storage_class.dependencies


def test_system_nodes_require_imdsv2_and_encrypted_gp3(shipped):
    spec, graph = shipped
    template = graph.find("aws:ec2/launchTemplate:LaunchTemplate", "cluster-system-lt")
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    assert template.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (root_volume,) = template.inputs["blockDeviceMappings"]
    assert root_volume["ebs"]["encrypted"] == "true"
    assert root_volume["ebs"]["volumeType"] == "gp3"
    assert root_volume["ebs"]["volumeSize"] == spec.platform.cluster.system_nodes.disk_size_gib
    nodes = graph.find("aws:eks/nodeGroup:NodeGroup", "cluster-system-nodes")
    assert nodes.inputs["launchTemplate"]["id"] == template.id
    sizing = spec.platform.cluster.system_nodes
    assert nodes.inputs["scalingConfig"] == {
        "desiredSize": sizing.desired_size, "maxSize": sizing.max_size, "minSize": sizing.min_size,
    }
    assert nodes.inputs["amiType"] == "AL2023_x86_64_STANDARD"


def test_kubernetes_provider_is_built_from_the_cluster_and_kept_secret(shipped):
    _, graph = shipped
    provider = graph.find("pulumi:providers:kubernetes", "cluster-k8s")
    assert provider.inputs["kubeconfig"] == "[secret]"
    assert provider.property_dependencies["kubeconfig"] == [eks(graph).urn]


def test_kubeconfig_from_mock_outputs_is_well_formed():
    from aiplane.components.cluster import kubeconfig

    _, graph = synthesized("dev")
    cluster = eks(graph)
    config = json.loads(
        kubeconfig(cluster.id, cluster.outputs["endpoint"], cluster.outputs["certificateAuthority"]["data"], region="us-east-1")
    )
    assert config["clusters"][0]["cluster"]["server"].startswith("https://") and ".eks.amazonaws.com" in config["clusters"][0]["cluster"]["server"]
    pem = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    assert config["users"][0]["user"]["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name", "aiplane-dev"]


def test_iam_documents_are_json_with_real_arns(shipped):
    spec, graph = shipped
    account = "123456789012"
    for resource in graph.of_type("aws:iam/rolePolicy:RolePolicy") + graph.of_type("aws:kms/key:Key"):
        document = json.loads(resource.inputs["policy"])
        assert document["Version"] == "2012-10-17"
        for statement in document["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for arn in resources:
                if arn == "*":
                    continue
                # arn:aws:service:region:account:resource; AWS-owned (images, public SSM parameters) and
                # global (IAM) resources leave account or region empty, but never name another one; S3
                # bucket ARNs leave both empty (bucket names are global).
                partition, service, region, owner = arn.split(":")[1:5]
                assert partition == "aws" and service, arn
                # Karpenter's reference policy scopes EC2 by tags and region, not by account, so that subnets and
                # capacity reservations shared through RAM launch (test_controller_iam holds it to the reference).
                owners = (account, "", "*") if resource.name == "gpu-software-karpenter-policy" and service == "ec2" else (account, "")
                assert region in (spec.region, "") and owner in owners, arn
                assert region or owner or service == "s3", arn


def test_cluster_args_refuse_an_unrestricted_public_endpoint():
    with pytest.raises(ValidationError, match="public_access_cidrs must list"):
        ClusterArgs(
            cluster_name="c", version="1.33", region="us-east-1", private_subnet_ids=["a", "b"],
            endpoint_access="public-and-private", log_retention_days=30,
            system_nodes=NodeGroupSizing(instance_types=["m7i.large"], min_size=1, desired_size=1, max_size=1),
            addons={},
        )


def test_cluster_args_reject_unknown_fields():
    with pytest.raises(ValidationError, match="endpoint_acess"):
        ClusterArgs.model_validate({"endpoint_acess": "private"})


def test_network_policy_is_enforced_by_the_vpc_cni(shipped):
    _, graph = shipped
    cni = graph.find("aws:eks/addon:Addon", "cluster-vpc-cni")
    assert json.loads(cni.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}


def test_kubernetes_objects_wait_for_nodes_pod_network_and_dns(shipped):
    _, graph = shipped
    provider = graph.find("pulumi:providers:kubernetes", "cluster-k8s")
    needs = {graph.find(type_, name).urn for type_, name in (
        ("aws:eks/nodeGroup:NodeGroup", "cluster-system-nodes"),
        ("aws:eks/addon:Addon", "cluster-vpc-cni"),
        ("aws:eks/addon:Addon", "cluster-coredns"),
    )}
    assert needs <= set(provider.explicit_dependencies)
