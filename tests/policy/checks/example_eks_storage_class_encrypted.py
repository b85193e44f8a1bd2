"""AIP_EKS_4 (`policies/checks/eks_storage_class_encrypted.py`): an example it passes and one it fails."""
from __future__ import annotations

import pulumi_kubernetes as k8s


def storage_class(name: str, encrypted: str) -> None:
    k8s.storage.v1.StorageClass(
        name, metadata=k8s.meta.v1.ObjectMetaArgs(name=name), provisioner="ebs.csi.aws.com",
        parameters={"type": "gp3", "encrypted": encrypted}, volume_binding_mode="WaitForFirstConsumer",
    )


def passing() -> None:
    storage_class("aip-eks-4-pass", "true")


def failing() -> None:
    storage_class("aip-eks-4-fail", "false")
