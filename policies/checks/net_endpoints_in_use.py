from aip_support import AiplaneCheck, CheckCategories, CheckResult, value

ID = "AIP_NET_1"
TITLE = "VPC endpoints are wired so that traffic uses them"
WHY = (
    "GPU nodes pull model weights from S3 and images from ECR by the hundreds of gigabytes; through a NAT "
    "gateway every gigabyte is billed. An endpoint only helps when traffic reaches it: a gateway endpoint "
    "needs the private route tables, and an interface endpoint needs private DNS and subnets, or clients "
    "keep resolving the public service address and go through NAT anyway."
)
CATEGORY = CheckCategories.NETWORKING
RESOURCES = ("aws_vpc_endpoint",)


class EndpointsInUse(AiplaneCheck):
    def scan_resource_conf(self, conf):
        kind = value(conf, "vpc_endpoint_type", "Gateway")
        if kind == "Gateway":
            return CheckResult.PASSED if value(conf, "route_table_ids") else CheckResult.FAILED
        if kind == "Interface":
            wired = value(conf, "private_dns_enabled") is True and value(conf, "subnet_ids")
            return CheckResult.PASSED if wired else CheckResult.FAILED
        return CheckResult.UNKNOWN


check = EndpointsInUse()
