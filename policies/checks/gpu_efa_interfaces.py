from aip_support import EFA_NETWORK_CARDS, AiplaneCheck, CheckCategories, CheckResult, block, blocks, value

ID = "AIP_GPU_4"
TITLE = "EFA launch templates attach one EFA interface per network card and join a placement group or a capacity reservation"
WHY = (
    "Multi-node training is bound by the network: an instance uses only the network cards that have an EFA "
    "interface (p5.48xlarge has 32), and nodes outside one cluster placement group get higher latency. "
    "Device index 0 must sit on card 0, where the primary interface lives. A template that targets a capacity "
    "reservation may leave the placement group out: the reservation already places its instances, and a forced "
    "cluster placement group can then fail the launch (terraform-aws-modules/terraform-aws-eks#3730)."
)
CATEGORY = CheckCategories.NETWORKING
RESOURCES = ("aws_launch_template",)
EFA_TYPES = ("efa", "efa-only")


class EfaInterfacesOnEveryCard(AiplaneCheck):
    def scan_resource_conf(self, conf):
        interfaces = blocks(conf, "network_interfaces")
        efa = [interface for interface in interfaces if value(interface, "interface_type") in EFA_TYPES]
        if not efa:
            return CheckResult.UNKNOWN  # not an EFA template
        cards = EFA_NETWORK_CARDS.get(value(conf, "instance_type", ""))
        if cards is None:
            return CheckResult.FAILED  # an EFA template must name an instance type whose cards we know
        card_indexes = sorted(int(value(interface, "network_card_index", 0)) for interface in efa)
        if card_indexes != list(range(cards)):
            return CheckResult.FAILED
        primary = [interface for interface in efa if int(value(interface, "network_card_index", 0)) == 0]
        if int(value(primary[0], "device_index", -1)) != 0:
            return CheckResult.FAILED
        reserved = value(block(block(conf, "capacity_reservation_specification"), "capacity_reservation_target"), "capacity_reservation_id")
        return CheckResult.PASSED if value(block(conf, "placement"), "group_name") or reserved else CheckResult.FAILED


check = EfaInterfacesOnEveryCard()
