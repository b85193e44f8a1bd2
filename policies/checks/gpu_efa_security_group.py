from aip_support import AiplaneCheck, CheckCategories, CheckResult, blocks, value

ID = "AIP_GPU_5"
TITLE = "EFA security groups allow all traffic from themselves and nothing else inbound"
WHY = (
    "EFA's OS-bypass traffic only flows between members of a security group that admits all protocols from "
    "itself; any other inbound rule opens the training fabric to the rest of the network. Applies to "
    "security groups tagged aiplane:efa = true."
)
CATEGORY = CheckCategories.NETWORKING
RESOURCES = ("aws_security_group",)


class EfaSecurityGroupSelfOnly(AiplaneCheck):
    def scan_resource_conf(self, conf):
        if str((value(conf, "tags") or {}).get("aiplane:efa", "")).lower() != "true":
            return CheckResult.UNKNOWN
        ingress = blocks(conf, "ingress")
        egress = blocks(conf, "egress")

        def self_all(rule):
            return value(rule, "self") is True and str(value(rule, "protocol")) == "-1" and not any(
                value(rule, key) for key in ("cidr_blocks", "ipv6_cidr_blocks", "security_groups", "prefix_list_ids")
            )

        if not ingress or not all(self_all(rule) for rule in ingress):
            return CheckResult.FAILED
        return CheckResult.PASSED if any(self_all(rule) for rule in egress) else CheckResult.FAILED


check = EfaSecurityGroupSelfOnly()
