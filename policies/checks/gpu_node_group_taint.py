from aip_support import AiplaneCheck, CheckCategories, CheckResult, blocks, is_gpu_instance, value

ID = "AIP_GPU_3"
TITLE = "GPU node groups carry the nvidia.com/gpu NoSchedule taint"
WHY = (
    "Without the taint, any pod can land on a GPU node and hold an instance that costs tens of dollars an "
    "hour without using its GPUs; only pods that tolerate the taint, and ask for GPUs, should schedule there."
)
CATEGORY = CheckCategories.GENERAL_SECURITY
RESOURCES = ("aws_eks_node_group",)


class GpuNodeGroupTaint(AiplaneCheck):
    def scan_resource_conf(self, conf):
        ami_type = str(value(conf, "ami_type", ""))
        instance_types = value(conf, "instance_types") or []
        if "NVIDIA" not in ami_type and "GPU" not in ami_type and not any(map(is_gpu_instance, instance_types)):
            return CheckResult.UNKNOWN  # not a GPU pool: nothing to say
        for taint in blocks(conf, "taint"):
            if value(taint, "key") == "nvidia.com/gpu" and value(taint, "effect") == "NO_SCHEDULE":
                return CheckResult.PASSED
        return CheckResult.FAILED


check = GpuNodeGroupTaint()
