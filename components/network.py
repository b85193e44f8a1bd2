"""The VPC the platform runs in.

Secure defaults (behaviour, not options):
- the default security group has no rules, so nothing lands in it by accident;
- public subnets do not hand out public IPs; workloads live in private subnets;
- VPC flow logs (all traffic) go to a CloudWatch log group encrypted with a rotating CMK;
- S3 is reached through a gateway endpoint and ECR/STS through interface endpoints, so GPU nodes pull
  images and weights without NAT charges.
"""
from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_aws as aws
from pydantic import BaseModel, ConfigDict, Field

from aiplane.components.base import AiplaneComponent
from aiplane.components.encryption import encrypted_log_group
from aiplane.components.iam import allow_policy, service_role
from aiplane.planning.cidr import plan_subnets


class NetworkArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str
    cidr: str
    zones: list[str] = Field(min_length=2)
    nat_gateways: Literal["single", "per-az"]
    subnet_prefixes: dict[Literal["public", "private"], int]
    interface_endpoints: list[str]
    flow_log_retention_days: int = Field(ge=1)
    cluster_name: str = Field(description="Subnets are tagged for this cluster's load balancer discovery.")


class Network(AiplaneComponent):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids_by_zone: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:network:Network", name, opts)
        subnets = plan_subnets(args.cidr, args.zones, args.subnet_prefixes)

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            aws.ec2.VpcArgs(cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True, tags={"Name": name}),
            opts=self.child(),
        )
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            aws.ec2.DefaultSecurityGroupArgs(vpc_id=vpc.id, ingress=[], egress=[], tags={"Name": f"{name}-default"}),
            opts=self.child(),
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", aws.ec2.InternetGatewayArgs(vpc_id=vpc.id), opts=self.child())

        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}
        public_route_table = aws.ec2.RouteTable(
            f"{name}-public-rt", aws.ec2.RouteTableArgs(vpc_id=vpc.id, tags={"Name": f"{name}-public"}), opts=self.child()
        )
        aws.ec2.Route(
            f"{name}-public-default-route",
            aws.ec2.RouteArgs(route_table_id=public_route_table.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id),
            opts=self.child(),
        )
        public: dict[str, aws.ec2.Subnet] = {}
        private: dict[str, aws.ec2.Subnet] = {}
        for subnet in subnets:
            is_public = subnet.tier == "public"
            resource = aws.ec2.Subnet(
                f"{name}-{subnet.tier}-{subnet.zone}",
                aws.ec2.SubnetArgs(
                    vpc_id=vpc.id,
                    cidr_block=str(subnet.cidr),
                    availability_zone=subnet.zone,
                    map_public_ip_on_launch=False,
                    tags={
                        "Name": f"{name}-{subnet.tier}-{subnet.zone}",
                        "kubernetes.io/role/elb" if is_public else "kubernetes.io/role/internal-elb": "1",
                        **cluster_tag,
                    },
                ),
                opts=self.child(),
            )
            (public if is_public else private)[subnet.zone] = resource

        for zone, subnet in public.items():
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{zone}-rta",
                aws.ec2.RouteTableAssociationArgs(subnet_id=subnet.id, route_table_id=public_route_table.id),
                opts=self.child(),
            )

        nat_zones = args.zones if args.nat_gateways == "per-az" else args.zones[:1]
        nat_gateways: dict[str, aws.ec2.NatGateway] = {}
        for zone in nat_zones:
            eip = aws.ec2.Eip(f"{name}-nat-{zone}-eip", aws.ec2.EipArgs(domain="vpc", tags={"Name": f"{name}-nat-{zone}"}), opts=self.child())
            nat_gateways[zone] = aws.ec2.NatGateway(
                f"{name}-nat-{zone}",
                aws.ec2.NatGatewayArgs(allocation_id=eip.id, subnet_id=public[zone].id, tags={"Name": f"{name}-nat-{zone}"}),
                opts=self.child(depends_on=[igw]),
            )

        private_route_tables = []
        for zone, subnet in private.items():
            route_table = aws.ec2.RouteTable(
                f"{name}-private-{zone}-rt", aws.ec2.RouteTableArgs(vpc_id=vpc.id, tags={"Name": f"{name}-private-{zone}"}), opts=self.child()
            )
            nat = nat_gateways.get(zone, nat_gateways[nat_zones[0]])
            aws.ec2.Route(
                f"{name}-private-{zone}-default-route",
                aws.ec2.RouteArgs(route_table_id=route_table.id, destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id),
                opts=self.child(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}-rta",
                aws.ec2.RouteTableAssociationArgs(subnet_id=subnet.id, route_table_id=route_table.id),
                opts=self.child(),
            )
            private_route_tables.append(route_table)

        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            aws.ec2.VpcEndpointArgs(
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{args.region}.s3",
                vpc_endpoint_type="Gateway",
                route_table_ids=[table.id for table in private_route_tables],
                tags={"Name": f"{name}-s3"},
            ),
            opts=self.child(),
        )
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            aws.ec2.SecurityGroupArgs(
                vpc_id=vpc.id,
                description="HTTPS from inside the VPC to the AWS service interface endpoints",
                ingress=[
                    aws.ec2.SecurityGroupIngressArgs(
                        description="HTTPS from the VPC", protocol="tcp", from_port=443, to_port=443, cidr_blocks=[args.cidr]
                    )
                ],
                tags={"Name": f"{name}-endpoints"},
            ),
            opts=self.child(),
        )
        private_subnet_ids = [subnet.id for subnet in private.values()]
        for service in args.interface_endpoints:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}-endpoint",
                aws.ec2.VpcEndpointArgs(
                    vpc_id=vpc.id,
                    service_name=f"com.amazonaws.{args.region}.{service}",
                    vpc_endpoint_type="Interface",
                    subnet_ids=private_subnet_ids,
                    security_group_ids=[endpoint_sg.id],
                    private_dns_enabled=True,
                    tags={"Name": f"{name}-{service}"},
                ),
                opts=self.child(),
            )

        self._flow_logs(name, args, vpc)

        self.vpc_id = vpc.id
        self.public_subnet_ids = [subnet.id for subnet in public.values()]
        self.private_subnet_ids = private_subnet_ids
        self.private_subnet_ids_by_zone = {zone: subnet.id for zone, subnet in private.items()}
        self.register_outputs(
            {"vpcId": self.vpc_id, "publicSubnetIds": self.public_subnet_ids, "privateSubnetIds": self.private_subnet_ids}
        )

    def _flow_logs(self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc) -> None:
        account_id = aws.get_caller_identity_output().account_id
        log_group = encrypted_log_group(
            self,
            f"{name}-flow-logs",
            log_group_name=f"/aiplane/{args.cluster_name}/vpc-flow-logs",
            retention_days=args.flow_log_retention_days,
            region=args.region,
            account_id=account_id,
            purpose=f"the VPC flow logs of {name}",
        )
        role = service_role(
            self, f"{name}-flow-logs-role", "vpc-flow-logs.amazonaws.com", f"Lets VPC Flow Logs write {name}'s flow logs"
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=allow_policy(
                    ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    log_group.arn.apply(lambda arn: [arn, f"{arn}:*"]),
                ),
            ),
            opts=self.child(),
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            aws.ec2.FlowLogArgs(
                vpc_id=vpc.id,
                traffic_type="ALL",
                log_destination_type="cloud-watch-logs",
                log_destination=log_group.arn,
                iam_role_arn=role.arn,
                max_aggregation_interval=60,
                tags={"Name": f"{name}-flow-log"},
            ),
            opts=self.child(),
        )


def ingress_only_security_group(
    owner: AiplaneComponent, name: str, *, description: str, vpc_id: pulumi.Input[str], port: int, clients: pulumi.Input[str]
) -> aws.ec2.SecurityGroup:
    """A security group for a service endpoint: one TCP port from one client security group, no egress."""
    return aws.ec2.SecurityGroup(
        name,
        aws.ec2.SecurityGroupArgs(
            description=description,
            vpc_id=vpc_id,
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    description="Clients on the cluster's nodes", protocol="tcp", from_port=port, to_port=port, security_groups=[clients]
                )
            ],
            egress=[],
        ),
        opts=owner.child(),
    )
