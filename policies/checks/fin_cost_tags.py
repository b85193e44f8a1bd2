from aip_support import AiplaneCheck, CheckCategories, CheckResult, value

ID = "AIP_FIN_1"
TITLE = "Taggable AWS resources carry the cost-allocation tags"
WHY = (
    "Chargeback needs every dollar attributed: aiplane:environment, aiplane:component and "
    "aiplane:cost-center on everything that can be tagged, so that 'what did this cost last week' has an "
    "answer per environment, component and team. Resources that cannot be tagged are not checked."
)
CATEGORY = CheckCategories.CONVENTION
RESOURCES = ("aws_*",)
REQUIRED = ("aiplane:environment", "aiplane:component", "aiplane:cost-center")


class CostAllocationTags(AiplaneCheck):
    def scan_resource_conf(self, conf):
        if "tags" not in conf:
            return CheckResult.UNKNOWN  # the export marks every taggable type with a tags attribute
        tags = value(conf, "tags") or {}
        return CheckResult.PASSED if all(tags.get(key) for key in REQUIRED) else CheckResult.FAILED


check = CostAllocationTags()
