from aip_support import GPU_FAMILIES, AiplaneKubernetesCheck, CheckCategories, CheckResult, manifest_field

ID = "AIP_GPU_7"
TITLE = "Karpenter GPU NodePools carry the nvidia.com/gpu NoSchedule taint"
WHY = (
    "A Karpenter pool is a GPU pool like a managed node group (AIP_GPU_3), and needs the same taint: "
    "without it any pod can land on a GPU node Karpenter launched and keep it, and its cost, alive."
)
CATEGORY = CheckCategories.GENERAL_SECURITY
RESOURCES = ("NodePool",)


def is_gpu_pool(conf):
    template = manifest_field(conf, "spec", "template", default={})
    if "nvidia.com/gpu" in (manifest_field(conf, "spec", "limits", default={}) or {}):
        return True
    if any(key.startswith("nvidia.com/gpu") for key in manifest_field(template, "metadata", "labels", default={}) or {}):
        return True
    for requirement in manifest_field(template, "spec", "requirements", default=[]) or []:
        values = requirement.get("values") or [] if isinstance(requirement, dict) else []
        if requirement.get("key") == "node.kubernetes.io/instance-type" and any(str(v).split(".")[0] in GPU_FAMILIES for v in values):
            return True
        if requirement.get("key") == "karpenter.k8s.aws/instance-family" and any(str(v) in GPU_FAMILIES for v in values):
            return True
    return False


class KarpenterGpuTaint(AiplaneKubernetesCheck):
    def scan_spec_conf(self, conf):
        if not is_gpu_pool(conf):
            return CheckResult.UNKNOWN  # not a GPU pool: nothing to say
        for taint in manifest_field(conf, "spec", "template", "spec", "taints", default=[]) or []:
            if isinstance(taint, dict) and taint.get("key") == "nvidia.com/gpu" and taint.get("effect") == "NoSchedule":
                return CheckResult.PASSED
        return CheckResult.FAILED


check = KarpenterGpuTaint()
