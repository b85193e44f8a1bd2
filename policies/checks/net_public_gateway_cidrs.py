from aip_support import AiplaneKubernetesCheck, CheckCategories, CheckResult, object_annotations

ID = "AIP_NET_2"
TITLE = "Internet-facing load balancers admit only listed networks, never the whole internet"
WHY = (
    "A public gateway spends tenants' budgets and serves their models; its ALB must name the callers' "
    "networks in `inbound-cidrs`, and 0.0.0.0/0 or ::/0 there opens it to anyone who finds a key."
)
CATEGORY = CheckCategories.NETWORKING
RESOURCES = ("Ingress",)
ANNOTATION = "alb.ingress.kubernetes.io/"
EVERYWHERE = ("0.0.0.0/0", "::/0")


class PublicIngressCidrs(AiplaneKubernetesCheck):
    def scan_spec_conf(self, conf):
        annotations = object_annotations(conf)
        if annotations.get(ANNOTATION + "scheme") != "internet-facing":
            return CheckResult.UNKNOWN  # internal: reachable from the VPC only
        cidrs = [cidr.strip() for cidr in str(annotations.get(ANNOTATION + "inbound-cidrs", "")).split(",") if cidr.strip()]
        return CheckResult.PASSED if cidrs and not set(cidrs) & set(EVERYWHERE) else CheckResult.FAILED


check = PublicIngressCidrs()
