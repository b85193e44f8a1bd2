from aip_support import AiplaneKubernetesCheck, CheckCategories, CheckResult, manifest_field

ID = "AIP_EKS_4"
TITLE = "EBS StorageClasses encrypt the volumes they provision"
WHY = (
    "Metrics, vector indexes and model caches land on volumes the EBS CSI driver creates from a StorageClass; "
    "without `encrypted: \"true\"` they are created unencrypted whatever the account's default says."
)
CATEGORY = CheckCategories.ENCRYPTION
RESOURCES = ("StorageClass",)
EBS_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")


class StorageClassEncrypted(AiplaneKubernetesCheck):
    def scan_spec_conf(self, conf):
        if conf.get("provisioner") not in EBS_PROVISIONERS:
            return CheckResult.UNKNOWN  # not an EBS class
        encrypted = str(manifest_field(conf, "parameters", "encrypted", default="")).lower() == "true"
        return CheckResult.PASSED if encrypted else CheckResult.FAILED


check = StorageClassEncrypted()
