from aip_support import AiplaneCheck, CheckCategories, CheckResult, is_gpu_instance, value

ID = "AIP_GPU_6"
TITLE = "GPU node groups boot an NVIDIA-accelerated EKS AMI"
WHY = (
    "A GPU instance booted from the standard AMI has no NVIDIA driver: the node joins, reports no "
    "nvidia.com/gpu capacity, and bills at GPU rates while serving nothing. The AL2023 and Bottlerocket "
    "NVIDIA AMI types ship the driver and container toolkit (the AL2 GPU AMI reached end of support in 2025)."
)
CATEGORY = CheckCategories.GENERAL_SECURITY
RESOURCES = ("aws_eks_node_group",)
NVIDIA_AMI_TYPES = ("AL2023_x86_64_NVIDIA", "AL2023_ARM_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA", "BOTTLEROCKET_ARM_64_NVIDIA")


class GpuNodeGroupNvidiaAmi(AiplaneCheck):
    def scan_resource_conf(self, conf):
        if not any(map(is_gpu_instance, value(conf, "instance_types") or [])):
            return CheckResult.UNKNOWN
        return CheckResult.PASSED if value(conf, "ami_type") in NVIDIA_AMI_TYPES else CheckResult.FAILED


check = GpuNodeGroupNvidiaAmi()
