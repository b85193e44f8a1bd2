from aip_support import AiplaneKubernetesCheck, CheckCategories, CheckResult, manifest_field

ID = "AIP_GPU_8"
TITLE = "Karpenter EC2NodeClasses require IMDSv2 with a hop limit of 1"
WHY = (
    "Karpenter's nodes must meet what AIP_GPU_1 asks of launch templates: with IMDSv1, or a hop limit "
    "above 1, any pod reads the node role's credentials. Stated in the node class, not left to defaults."
)
CATEGORY = CheckCategories.GENERAL_SECURITY
RESOURCES = ("EC2NodeClass",)


class KarpenterImdsv2(AiplaneKubernetesCheck):
    def scan_spec_conf(self, conf):
        options = manifest_field(conf, "spec", "metadataOptions", default={}) or {}
        hop_limit = options.get("httpPutResponseHopLimit")
        if options.get("httpTokens") == "required" and isinstance(hop_limit, int) and hop_limit <= 1:
            return CheckResult.PASSED
        return CheckResult.FAILED


check = KarpenterImdsv2()
