from aip_support import AiplaneKubernetesCheck, CheckCategories, CheckResult, manifest_field

ID = "AIP_GPU_9"
TITLE = "Karpenter EC2NodeClasses declare their volumes, all encrypted"
WHY = (
    "As AIP_GPU_2 for launch templates: node disks cache weights and datasets; a node class that declares "
    "no volume inherits the AMI's, and every volume it declares must be encrypted."
)
CATEGORY = CheckCategories.ENCRYPTION
RESOURCES = ("EC2NodeClass",)


class KarpenterVolumesEncrypted(AiplaneKubernetesCheck):
    def scan_spec_conf(self, conf):
        mappings = manifest_field(conf, "spec", "blockDeviceMappings", default=[]) or []
        if not mappings:
            return CheckResult.FAILED
        encrypted = all(isinstance(m, dict) and manifest_field(m, "ebs", "encrypted") is True for m in mappings)
        return CheckResult.PASSED if encrypted else CheckResult.FAILED


check = KarpenterVolumesEncrypted()
