"""The ALB in front of the orchestrator (HTTP API) and the gateway (MCP), and nothing else.

Each fronted service gets its own listener (orchestrator :80, gateway :8080, or HTTPS when a
certificate is configured) whose default action forwards to that service's target group. One
listener per service, not path rules on one listener, because CodeDeploy blue/green swaps a
listener's default action: the same layout works for rolling and blue/green deployments.
Target health is `/ready`, which a draining task turns to 503 on SIGTERM.
"""

from __future__ import annotations

from aws_cdk import Duration, aws_ec2 as ec2, aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from .config import EnvConfig
from .role_service import HTTP_PORT, RoleService


class Ingress(Construct):
    def __init__(self, scope: Construct, id: str, *, cfg: EnvConfig, vpc: ec2.IVpc) -> None:
        super().__init__(scope, id)
        self.cfg = cfg
        self.vpc = vpc
        # No default egress: CDK adds egress to each fronted service on 8080 when it is attached.
        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, allow_all_outbound=False,
            description="MisterSmith ALB: listener ports in, 8080 to orchestrator/gateway out",
        )
        self.alb = elbv2.ApplicationLoadBalancer(
            self, "Alb", vpc=vpc, internet_facing=cfg.alb_internet_facing,
            security_group=self.security_group,
            vpc_subnets=ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PUBLIC if cfg.alb_internet_facing
                else ec2.SubnetType.PRIVATE_WITH_EGRESS),
            drop_invalid_header_fields=True,
        )
        self.listeners: dict[str, elbv2.ApplicationListener] = {}
        self.target_groups: dict[str, elbv2.ApplicationTargetGroup] = {}

    def target_group(self, id: str) -> elbv2.ApplicationTargetGroup:
        return elbv2.ApplicationTargetGroup(
            self, id, vpc=self.vpc, port=HTTP_PORT, protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            health_check=elbv2.HealthCheck(
                path="/ready", healthy_http_codes="200", interval=Duration.seconds(10),
                timeout=Duration.seconds(5), healthy_threshold_count=2,
                unhealthy_threshold_count=2),
            # ECS waits for deregistration before SIGTERM on scale-in and deployments: short,
            # HTTP requests to the API are short.
            deregistration_delay=Duration.seconds(30),
        )

    def front(self, rs: RoleService) -> elbv2.ApplicationTargetGroup:
        role = rs.role
        if not role.behind_alb or role.listener_port is None:
            raise ValueError(f"{role.name} is not configured to be behind the ALB")
        https = bool(self.cfg.certificate_arn)
        listener = self.alb.add_listener(
            f"{role.name.capitalize()}Listener",
            port=role.listener_port,
            protocol=elbv2.ApplicationProtocol.HTTPS if https else elbv2.ApplicationProtocol.HTTP,
            certificates=[elbv2.ListenerCertificate.from_arn(self.cfg.certificate_arn)]
            if https else None,
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS if https else None,
            open=False,  # ingress only from the configured CIDR, added below
        )
        self.security_group.add_ingress_rule(
            ec2.Peer.ipv4(self.cfg.alb_ingress_cidr), ec2.Port.tcp(role.listener_port),
            f"clients of the {role.name}")
        tg = self.target_group(f"{role.name.capitalize()}Blue")
        rs.service.attach_to_application_target_group(tg)  # opens ALB -> service 8080 only
        listener.add_target_groups("Default", target_groups=[tg])
        self.listeners[role.name] = listener
        self.target_groups[role.name] = tg
        return tg
