from aip_support import AiplaneCheck, CheckCategories, CheckResult, block, value

ID = "AIP_GPU_1"
TITLE = "Node launch templates require IMDSv2 with a hop limit of 1"
WHY = (
    "GPU nodes run third-party model servers and notebooks. With IMDSv1, or a hop limit above 1, any pod "
    "can read the node role's credentials from the instance metadata service; pods must get AWS access "
    "through EKS Pod Identity instead."
)
CATEGORY = CheckCategories.GENERAL_SECURITY
RESOURCES = ("aws_launch_template",)


class LaunchTemplateImdsv2HopLimit(AiplaneCheck):
    def scan_resource_conf(self, conf):
        options = block(conf, "metadata_options")
        if value(options, "http_tokens") != "required":
            return CheckResult.FAILED
        hop_limit = value(options, "http_put_response_hop_limit")
        return CheckResult.PASSED if hop_limit is not None and int(hop_limit) <= 1 else CheckResult.FAILED


check = LaunchTemplateImdsv2HopLimit()
