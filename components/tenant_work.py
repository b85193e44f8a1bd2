"""The example work a blueprint submits through its tenant's queue, to show the path end to end: Kueue holds
it suspended until the tenant's ClusterQueue admits it, then it runs once at the tenant's priority.

- `batch-job`: a Job of one GPU that checks CUDA sees its device (the serving image, which has PyTorch);
- `training-jobset`: a JobSet of one pod per node of the tenant's dedicated pool, every GPU and EFA interface
  of each, running an NCCL all-reduce across them with torchrun: the smallest real multi-node training step.

Neither is awaited by `pulumi up` (a queued Job may wait for hours); both run as the restricted Pod Security
Standard requires, under the tenant's workload service account.
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field

from aiplane.components.leader_worker_set import EFA_ENVIRONMENT
from aiplane.components.model_server import VLLM_IMAGE
from aiplane.components.scheduling import JOBSET_API_VERSION, LOCAL_QUEUE, QUEUE_NAME_LABEL, GpuRequest
from aiplane.components.workloads import container_security_context, pod_security_context
from aiplane.planning.queues import PriorityName, priority_class_name

SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}
TORCHRUN_PORT = 29500
# One all-reduce of 256 MiB over every GPU of the job: NCCL picks EFA (or says it fell back to sockets).
ALL_REDUCE = (
    "import os, torch, torch.distributed as dist\n"
    "dist.init_process_group('nccl')\n"
    "torch.cuda.set_device(int(os.environ['LOCAL_RANK']))\n"
    "x = torch.ones(64 * 1024 * 1024, device='cuda')\n"
    "dist.all_reduce(x)\n"
    "assert int(x[0].item()) == dist.get_world_size(), x[0].item()\n"
    "print('all-reduce over', dist.get_world_size(), 'GPUs ok') if dist.get_rank() == 0 else None\n"
    "dist.destroy_process_group()\n"
)


class ExampleWorkArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    kind: str = Field(pattern="^(batch-job|training-jobset)$")
    tenant: str
    service_account: str
    priority: PriorityName
    gpus_per_pod: int = Field(ge=1)
    pods: int = Field(default=1, ge=1, description="Pods of a JobSet: one per node")
    efa_interfaces: int = Field(default=0, ge=0)
    device_class: str | None = Field(default=None, description="Under DRA, the DeviceClass of the queue's pool")


def example_work(name: str, args: ExampleWorkArgs, opts: pulumi.ResourceOptions) -> pulumi.Resource:
    request = GpuRequest(args.gpus_per_pod, args.device_class)
    template = f"{args.kind}-gpus"
    request.claim_template(f"{name}-claims", template, args.tenant, opts)
    metadata = k8s.meta.v1.ObjectMetaArgs(
        name=f"example-{args.kind.split('-')[0]}", namespace=args.tenant, labels={QUEUE_NAME_LABEL: LOCAL_QUEUE}, annotations=SKIP_AWAIT
    )
    if args.kind == "batch-job":
        command = ["python3", "-c", "import torch; assert torch.cuda.is_available(); print(torch.cuda.get_device_name(0))"]
        return k8s.batch.v1.Job(
            name,
            metadata=metadata,
            spec=k8s.batch.v1.JobSpecArgs(suspend=True, backoff_limit=2, template=_pod(args, request, template, command, {})),
            opts=opts,
        )
    job_set = "example-training"
    rendezvous = f"{job_set}-node-0-0.{job_set}"  # the first pod, by JobSet's stable per-pod DNS names
    command = [
        "/bin/sh", "-c",
        f'printf "%s" "$SCRIPT" > /tmp/all_reduce.py && exec torchrun --nnodes={args.pods} --nproc-per-node={args.gpus_per_pod} '
        f'--node-rank="$JOB_COMPLETION_INDEX" --master-addr={rendezvous} --master-port={TORCHRUN_PORT} /tmp/all_reduce.py',
    ]
    environment = {"SCRIPT": ALL_REDUCE, **(EFA_ENVIRONMENT if args.efa_interfaces else {})}
    job = k8s.batch.v1.JobTemplateSpecArgs(
        spec=k8s.batch.v1.JobSpecArgs(
            parallelism=args.pods, completions=args.pods, completion_mode="Indexed", backoff_limit=0,
            template=_pod(args, request, template, command, environment),
        )
    )
    return k8s.apiextensions.CustomResource(
        name,
        api_version=JOBSET_API_VERSION,
        kind="JobSet",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=job_set, namespace=args.tenant, labels={QUEUE_NAME_LABEL: LOCAL_QUEUE}, annotations=SKIP_AWAIT
        ),
        spec={
            "suspend": True,
            "network": {"enableDNSHostnames": True, "subdomain": job_set},
            "failurePolicy": {"maxRestarts": 1},
            "replicatedJobs": [{"name": "node", "replicas": 1, "template": job}],
        },
        opts=opts,
    )


def _pod(
    args: ExampleWorkArgs, request: GpuRequest, template: str, command: list[str], environment: dict[str, str]
) -> k8s.core.v1.PodTemplateSpecArgs:
    # The queue's flavor adds the pool's node selector and tolerations when Kueue admits the work.
    limits = {**request.limits, "cpu": str(4 * args.gpus_per_pod), "memory": f"{16 * args.gpus_per_pod}Gi"}
    if args.efa_interfaces:
        limits["vpc.amazonaws.com/efa"] = str(args.efa_interfaces)
    return k8s.core.v1.PodTemplateSpecArgs(
        spec=k8s.core.v1.PodSpecArgs(
            restart_policy="Never",
            priority_class_name=priority_class_name(args.priority),
            service_account_name=args.service_account,
            automount_service_account_token=False,
            security_context=pod_security_context(),
            resource_claims=request.pod_claims(template),
            containers=[
                k8s.core.v1.ContainerArgs(
                    name="work",
                    image=VLLM_IMAGE,
                    image_pull_policy="Always",
                    command=command,
                    env=[k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in {"HOME": "/tmp", **environment}.items()],
                    resources=k8s.core.v1.ResourceRequirementsArgs(requests=limits, limits=limits, claims=request.container_claims()),
                    security_context=container_security_context(),
                    volume_mounts=[
                        k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                        k8s.core.v1.VolumeMountArgs(name="shm", mount_path="/dev/shm"),
                    ],
                )
            ],
            volumes=[
                k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="10Gi")),
                k8s.core.v1.VolumeArgs(name="shm", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit="16Gi")),
            ],
        )
    )
