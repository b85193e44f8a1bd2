from aip_support import AiplaneCheck, CheckCategories, CheckResult, block, blocks, value

ID = "AIP_GPU_2"
TITLE = "Node launch templates declare their volumes, all encrypted"
WHY = (
    "Node disks cache model weights, datasets and container images. A launch template that does not declare "
    "its root volume inherits whatever the AMI says; every declared EBS volume must be encrypted."
)
CATEGORY = CheckCategories.ENCRYPTION
RESOURCES = ("aws_launch_template",)


class LaunchTemplateVolumesEncrypted(AiplaneCheck):
    def scan_resource_conf(self, conf):
        volumes = [block(mapping, "ebs") for mapping in blocks(conf, "block_device_mappings")]
        volumes = [volume for volume in volumes if volume is not None]
        if not volumes:
            return CheckResult.FAILED
        encrypted = all(str(value(volume, "encrypted")).lower() == "true" for volume in volumes)
        return CheckResult.PASSED if encrypted else CheckResult.FAILED


check = LaunchTemplateVolumesEncrypted()
