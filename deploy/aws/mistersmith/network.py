"""VPC over three AZs, the ECS cluster and the Cloud Map namespace every service shares."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2, aws_ecs as ecs, aws_servicediscovery as sd
from constructs import Construct

from .config import EnvConfig


class Network(Construct):
    def __init__(self, scope: Construct, id: str, *, cfg: EnvConfig) -> None:
        super().__init__(scope, id)
        # Seeds' layout: public (ALB), private with egress (Fargate tasks: image pulls, logs and
        # Secrets Manager go out through NAT), isolated "data" subnets kept for databases.
        self.vpc = ec2.Vpc(
            self, "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cfg.vpc_cidr),
            # Named AZs instead of a lookup: synthesizes offline, same template every time.
            availability_zones=list(cfg.availability_zones),
            nat_gateways=cfg.nat_gateways,
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC,
                                        cidr_mask=24),
                ec2.SubnetConfiguration(name="Private",
                                        subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                                        cidr_mask=24),
                ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                                        cidr_mask=24),
            ],
        )
        self.cluster = ecs.Cluster(
            self, "Cluster",
            vpc=self.vpc,
            cluster_name=f"mistersmith-{cfg.name}",
            container_insights_v2=ecs.ContainerInsights.ENABLED,  # RunningTaskCount for scaling
            enable_fargate_capacity_providers=True,  # FARGATE and FARGATE_SPOT
        )
        # Stable DNS names (nats-0.mistersmith.<env>.local, ...) for NATS routes and clients.
        self.namespace = sd.PrivateDnsNamespace(
            self, "Namespace", name=f"mistersmith.{cfg.name}.local", vpc=self.vpc,
            description="MisterSmith service discovery",
        )
