"""One actor role as one ECS Fargate service, all from the single `smith` image.

The command picks the role (`smith orchestrator`, `smith worker --role compile`, `smith gateway`);
everything else is the same recipe: task size, environment, secrets, `smith health` as the
container health check, a 120 s stop timeout for the drain, a log group with retention, the
deployment circuit breaker with rollback, and a capacity provider strategy.
"""

from __future__ import annotations

from typing import Optional

from aws_cdk import Duration, Tags, aws_ec2 as ec2, aws_ecs as ecs, aws_secretsmanager as sm
from constructs import Construct

from .config import EnvConfig, RoleSpec
from .image import smith_image
from .log_groups import service_log_group
from .nats_client import NatsClient

HTTP_PORT = 8080


def capacity_strategies(role: RoleSpec) -> list[ecs.CapacityProviderStrategy]:
    c = role.capacity
    strategies = [ecs.CapacityProviderStrategy(capacity_provider="FARGATE",
                                               weight=c.on_demand_weight, base=c.on_demand_base)]
    if c.spot_weight:
        strategies.append(ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT",
                                                       weight=c.spot_weight, base=0))
    return strategies


class RoleService(Construct):
    def __init__(self, scope: Construct, id: str, *, cfg: EnvConfig, role: RoleSpec,
                 cluster: ecs.ICluster, vpc: ec2.IVpc, image: ecs.ContainerImage,
                 nats: NatsClient, api_token: Optional[sm.ISecret] = None) -> None:
        super().__init__(scope, id)
        self.role = role
        Tags.of(self).add("Role", role.name)  # cost allocation per role

        # No ingress here: the ALB construct opens 8080 from the ALB for the roles it fronts;
        # workers take work from NATS and are never reachable.
        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, allow_all_outbound=False,
            description=f"smith {role.name}: egress to NATS and HTTPS only",
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
            "image pulls, CloudWatch Logs, Secrets Manager (through NAT)")
        nats.allow_client(self.security_group)

        self.log_group = service_log_group(self, "Logs", cfg, role.name)
        logging = ecs.LogDrivers.aws_logs(stream_prefix=role.name, log_group=self.log_group)

        self.task_definition = ecs.FargateTaskDefinition(
            self, "Task", family=f"mistersmith-{cfg.name}-{role.name}",
            cpu=role.cpu, memory_limit_mib=role.memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
                cpu_architecture=ecs.CpuArchitecture.X86_64),
        )

        environment = {
            **nats.environment,
            "SMITH_NATS_NAME": f"{cfg.name}-{role.name}",
            "SMITH_HTTP_PORT": str(HTTP_PORT),
            # Spot gives 120 s between SIGTERM and SIGKILL: 100 s of drain leaves time to nak
            # what is left and drain the NATS connection.
            "SMITH_DRAIN_TIMEOUT": cfg.drain_timeout,
            "SMITH_LOG_LEVEL": "info",
        }
        if role.is_worker:
            environment["SMITH_ROLE"] = role.name
            environment["SMITH_CONCURRENCY"] = str(role.concurrency or 4)
            if role.handler_process:
                environment["SMITH_HANDLER_PROCESS"] = role.handler_process
        if role.name == "orchestrator":
            # Queue depth per role as CloudWatch EMF on stdout: the scaling metric.
            environment["SMITH_METRICS_INTERVAL"] = cfg.metrics_interval
        secrets = dict(nats.secrets)
        if api_token is not None:
            secrets["SMITH_API_TOKEN"] = ecs.Secret.from_secrets_manager(api_token)

        self.container = self.task_definition.add_container(
            "smith",
            container_name="smith",
            image=smith_image(self, role.image) if role.image else image,
            command=list(role.command),  # the image's ENTRYPOINT is smith
            environment=environment,
            secrets=secrets,
            port_mappings=[ecs.PortMapping(container_port=HTTP_PORT, name="http")],
            health_check=ecs.HealthCheck(
                # No curl in the image: smith checks itself. Liveness only (/health); the ALB
                # uses /ready, which turns 503 while draining.
                command=["CMD", "smith", "health", "--url", f"http://127.0.0.1:{HTTP_PORT}/health"],
                interval=Duration.seconds(15), timeout=Duration.seconds(5), retries=3,
                start_period=Duration.seconds(30),
            ),
            # SIGTERM -> drain (SMITH_DRAIN_TIMEOUT) -> exit; Fargate's maximum.
            stop_timeout=Duration.seconds(cfg.stop_timeout_seconds),
            logging=logging,
        )

        rolling = cfg.deployment == "rolling" or not role.behind_alb
        self.service = ecs.FargateService(
            self, "Service",
            cluster=cluster,
            task_definition=self.task_definition,
            service_name=f"mistersmith-{cfg.name}-{role.name}",
            desired_count=role.min_tasks,
            min_healthy_percent=100,  # never below capacity during a rollout
            max_healthy_percent=200,
            capacity_provider_strategies=capacity_strategies(role),
            security_groups=[self.security_group],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            # Rolling: the circuit breaker stops a release whose tasks keep failing and rolls
            # back. Blue/green (CodeDeploy) does its own rollback; ECS refuses both at once.
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True)
            if rolling else None,
            deployment_controller=ecs.DeploymentController(
                type=ecs.DeploymentControllerType.ECS if rolling
                else ecs.DeploymentControllerType.CODE_DEPLOY),
            health_check_grace_period=Duration.seconds(60) if role.behind_alb else None,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
        )
        self.task_count = self.service.auto_scale_task_count(
            min_capacity=role.min_tasks, max_capacity=role.max_tasks)
