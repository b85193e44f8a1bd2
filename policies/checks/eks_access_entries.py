from aip_support import AiplaneCheck, CheckCategories, CheckResult, block, value

ID = "AIP_EKS_1"
TITLE = "EKS clusters manage access with access entries only (authentication mode API)"
WHY = (
    "The aws-auth ConfigMap is edited inside the cluster, outside IaC review, and one bad edit locks "
    "everyone out. Access entries are AWS API objects: declared in the stack, reviewed, and auditable in "
    "CloudTrail. Tenant boundaries build on them."
)
CATEGORY = CheckCategories.IAM
RESOURCES = ("aws_eks_cluster",)


class EksAccessEntriesOnly(AiplaneCheck):
    def scan_resource_conf(self, conf):
        mode = value(block(conf, "access_config"), "authentication_mode")
        return CheckResult.PASSED if mode == "API" else CheckResult.FAILED


check = EksAccessEntriesOnly()
