from aip_support import AiplaneCheck, CheckCategories, CheckResult, block, value

ID = "AIP_EKS_3"
TITLE = "EKS node groups are built from a launch template"
WHY = (
    "Without a launch template a managed node group takes EKS defaults (IMDSv1 reachable from pods, a "
    "20 GiB disk too small for model caches) and AIP_GPU_1/AIP_GPU_2 have nothing to check."
)
CATEGORY = CheckCategories.GENERAL_SECURITY
RESOURCES = ("aws_eks_node_group",)


class NodeGroupUsesLaunchTemplate(AiplaneCheck):
    def scan_resource_conf(self, conf):
        template = block(conf, "launch_template")
        return CheckResult.PASSED if value(template, "id") or value(template, "name") else CheckResult.FAILED


check = NodeGroupUsesLaunchTemplate()
