"""AIP_SRV_3 (`aiplane/policy/graph_checks/no_host_infiniband.py`): examples it passes and fails."""
from __future__ import annotations

import pulumi_kubernetes as k8s

from tests.policy.graph_checks.builders import deployment, multi_node_server, provider


def passing() -> None:
    multi_node_server("aip-srv-3-pass", "frontier")
    deployment("aip-srv-3-pass-deployment", provider("aip-srv-3-pass-k8s"), gpus=1)


def failing() -> None:
    multi_node_server("aip-srv-3-fail", "frontier", host_infiniband=True)
    k8s.apps.v1.DaemonSet(
        "aip-srv-3-fail-daemonset",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="rdma", namespace="apps"),
        spec=k8s.apps.v1.DaemonSetSpecArgs(
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app": "rdma"}),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels={"app": "rdma"}),
                spec=k8s.core.v1.PodSpecArgs(
                    containers=[k8s.core.v1.ContainerArgs(name="agent", image="registry.example/agent:1")],
                    # The parent folder of the devices is as bad as the devices.
                    volumes=[k8s.core.v1.VolumeArgs(name="dev", host_path=k8s.core.v1.HostPathVolumeSourceArgs(path="/dev"))],
                ),
            ),
        ),
    )
