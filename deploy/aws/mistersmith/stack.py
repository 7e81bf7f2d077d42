"""The whole deployment of one environment as one stack."""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, Stack, Tags, aws_secretsmanager as sm
from constructs import Construct

from .bluegreen import BlueGreen
from .config import EnvConfig
from .dashboard import RoleDashboard
from .image import smith_image
from .ingress import Ingress
from .log_groups import removal_policy
from .nats_cluster import NatsCluster
from .nats_external import ExternalNats
from .network import Network
from .role_service import RoleService
from .scaling import add_scaling


class MisterSmithStack(Stack):
    def __init__(self, scope: Construct, id: str, *, cfg: EnvConfig, **kwargs) -> None:
        super().__init__(scope, id, env=Environment(account=cfg.account, region=cfg.region),
                         description=f"MisterSmith on ECS Fargate ({cfg.name})", **kwargs)
        self.cfg = cfg
        for key, value in cfg.tags.items():
            Tags.of(self).add(key, value)

        net = Network(self, "Network", cfg=cfg)
        self.network = net
        if cfg.nats.mode == "cluster":
            self.nats = NatsCluster(self, "Nats", cfg=cfg, cluster=net.cluster, vpc=net.vpc,
                                    namespace=net.namespace)
        else:
            self.nats = ExternalNats(self, "Nats", spec=cfg.nats)

        # The orchestrator's bearer token, generated once and never in the template.
        self.api_token = sm.Secret(
            self, "ApiToken", secret_name=f"mistersmith/{cfg.name}/api-token",
            description="Bearer token of the MisterSmith HTTP API and MCP gateway",
            generate_secret_string=sm.SecretStringGenerator(exclude_punctuation=True,
                                                            password_length=48),
            removal_policy=removal_policy(cfg),
        )

        image = smith_image(self, cfg.image)
        self.ingress = Ingress(self, "Ingress", cfg=cfg, vpc=net.vpc)
        self.blue_green = BlueGreen(self, "BlueGreen", cfg=cfg, ingress=self.ingress) \
            if cfg.deployment == "bluegreen" else None

        self.roles: dict[str, RoleService] = {}
        for role in cfg.roles:
            rs = RoleService(
                self, role.name.capitalize(), cfg=cfg, role=role, cluster=net.cluster,
                vpc=net.vpc, image=image, nats=self.nats.client,
                api_token=self.api_token if role.name in ("orchestrator", "gateway") else None)
            add_scaling(cfg, role, rs.service, rs.task_count)
            tg = None
            if role.behind_alb:
                tg = self.ingress.front(rs)
                if self.blue_green is not None:
                    self.blue_green.add(rs)
                CfnOutput(self, f"{role.name.capitalize()}Url",
                          value=f"{'https' if cfg.certificate_arn else 'http'}://"
                                f"{self.ingress.alb.load_balancer_dns_name}:{role.listener_port}")
            RoleDashboard(self, f"{role.name.capitalize()}Dashboard", cfg=cfg, rs=rs,
                          target_group=tg)
            self.roles[role.name] = rs

        CfnOutput(self, "ApiTokenSecret", value=self.api_token.secret_name)
        CfnOutput(self, "ClusterName", value=net.cluster.cluster_name)
