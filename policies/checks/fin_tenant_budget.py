from aip_support import AiplaneCheck, CheckCategories, CheckResult, value

ID = "AIP_FIN_2"
TITLE = "A tenant's monthly cost estimate stays within its monthly budget"
WHY = (
    "A tenant onboarded from a blueprint has a monthly budget; a change that makes its estimate (its own "
    "resources at their planned sizes plus what its gateway key may spend) exceed that budget should be "
    "seen and decided in review, not found on the bill. The estimate and budget ride as tags on the "
    "tenant's permissions boundary; a boundary without them is not checked."
)
CATEGORY = CheckCategories.CONVENTION
RESOURCES = ("aws_iam_policy",)
BUDGET_TAG = "aiplane:monthly-budget-usd"
ESTIMATE_TAG = "aiplane:monthly-estimate-usd"


class TenantWithinBudget(AiplaneCheck):
    def scan_resource_conf(self, conf):
        tags = value(conf, "tags") or {}
        if BUDGET_TAG not in tags or ESTIMATE_TAG not in tags:
            return CheckResult.UNKNOWN
        return CheckResult.PASSED if float(tags[ESTIMATE_TAG]) <= float(tags[BUDGET_TAG]) else CheckResult.FAILED


check = TenantWithinBudget()
