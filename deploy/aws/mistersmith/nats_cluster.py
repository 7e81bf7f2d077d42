"""A three-node NATS JetStream cluster on ECS Fargate: three services of one task each.

Why three services rather than one service of three tasks: each node needs a stable, unique
name (JetStream identifies peers by server name) and a stable DNS name for routes. One service
per node gives nats-0/1/2 their own Cloud Map record and lets each be pinned to its own AZ.

Storage: the JetStream store is on the task's ephemeral storage, not EFS (nats-server does not
support network file systems; stale NFS handles lost JetStream state in nats-server#2792).
It survives nats-server restarts inside the task (the container restart policy restarts the
process in place, the volume stays) but not the replacement of the task; R3 streams keep the
data because the other two nodes still hold it and the new node catches up from them.
"""

from __future__ import annotations

from aws_cdk import (
    Duration,
    aws_ec2 as ec2,
    aws_ecs as ecs,
    aws_secretsmanager as sm,
    aws_servicediscovery as sd,
)
from constructs import Construct

from .config import EnvConfig
from .log_groups import removal_policy, service_log_group
from .nats_client import NatsClient

CLIENT_PORT = 4222
ROUTE_PORT = 6222
MONITOR_PORT = 8222
STORE_DIR = "/data/jetstream"

# nats-server has no command-line flag for lame-duck settings or for reading the password from
# the environment, and the official image has no config that does: this script writes those few
# lines to a config file, passes everything else as flags, and turns ECS's SIGTERM into
# lame-duck mode (SIGUSR2), so clients move to the other nodes gradually instead of all at once.
ENTRYPOINT_SCRIPT = r"""set -u
umask 077
printf 'port: %s\nhttp_port: %s\nlame_duck_duration: "%ss"\nlame_duck_grace_period: "%ss"\nauthorization {\n  user: "%s"\n  password: "%s"\n}\n' \
  "$NATS_CLIENT_PORT" "$NATS_MONITOR_PORT" "$NATS_LAME_DUCK_SECONDS" "$NATS_LAME_DUCK_GRACE_SECONDS" \
  "$NATS_USER" "$NATS_PASSWORD" > "$NATS_CONFIG_FILE"
mkdir -p "$NATS_STORE_DIR"
nats-server -c "$NATS_CONFIG_FILE" --name "$NATS_SERVER_NAME" --cluster_name "$NATS_CLUSTER_NAME" \
  --cluster "nats://0.0.0.0:$NATS_ROUTE_PORT" --routes "$NATS_ROUTES" -js --sd "$NATS_STORE_DIR" &
pid=$!
trap 'kill -USR2 "$pid" 2>/dev/null || true' TERM INT
# wait returns early when the trap runs: wait again until nats-server itself has exited
# (a zombie still answers kill -0 until it is reaped), and exit with its status.
while :; do
  wait "$pid"
  status=$?
  kill -0 "$pid" 2>/dev/null || break
done
exit "$status"
"""


def node_name(i: int) -> str:
    return f"nats-{i}"


class NatsCluster(Construct):
    def __init__(self, scope: Construct, id: str, *, cfg: EnvConfig, cluster: ecs.ICluster,
                 vpc: ec2.IVpc, namespace: sd.IPrivateDnsNamespace) -> None:
        super().__init__(scope, id)
        spec = cfg.nats
        removal = removal_policy(cfg)

        # One user for every smith service; the password never appears in the template.
        self.auth = sm.Secret(
            self, "Auth",
            secret_name=f"mistersmith/{cfg.name}/nats-auth",
            description="NATS user and password for MisterSmith services",
            generate_secret_string=sm.SecretStringGenerator(
                secret_string_template='{"username": "smith"}',
                generate_string_key="password",
                exclude_punctuation=True,  # goes into a quoted config string
                password_length=40,
            ),
            removal_policy=removal,
        )
        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, allow_all_outbound=False,
            description="NATS nodes: 4222 from smith services, 6222 and 8222 between nodes",
        )
        sg = self.security_group
        sg.add_ingress_rule(sg, ec2.Port.tcp(ROUTE_PORT), "cluster routes between NATS nodes")
        sg.add_egress_rule(sg, ec2.Port.tcp(ROUTE_PORT), "cluster routes between NATS nodes")
        sg.add_ingress_rule(sg, ec2.Port.tcp(MONITOR_PORT), "monitoring from within the cluster")
        sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
                           "image pulls, CloudWatch Logs, Secrets Manager (through NAT)")

        self.log_group = service_log_group(self, "Logs", cfg, "nats")

        domain = namespace.namespace_name
        hosts = [f"{node_name(i)}.{domain}" for i in range(3)]
        routes = ",".join(f"nats://{h}:{ROUTE_PORT}" for h in hosts)
        image = ecs.ContainerImage.from_registry(spec.image)

        self.services: list[ecs.FargateService] = []
        previous = None
        for i in range(3):
            name = node_name(i)
            task = ecs.FargateTaskDefinition(
                self, f"Task{i}", family=f"mistersmith-{cfg.name}-{name}",
                cpu=spec.cpu, memory_limit_mib=spec.memory_mib,
                ephemeral_storage_gib=spec.ephemeral_storage_gib,
                runtime_platform=ecs.RuntimePlatform(
                    operating_system_family=ecs.OperatingSystemFamily.LINUX,
                    cpu_architecture=ecs.CpuArchitecture.X86_64),
                # A task-scoped bind mount: on the task's ephemeral storage, kept across
                # container restarts inside the task, gone with the task.
                volumes=[ecs.Volume(name="jetstream")],
            )
            container = task.add_container(
                "nats",
                container_name="nats",
                image=image,
                entry_point=["/bin/sh", "-c"],
                command=[ENTRYPOINT_SCRIPT],
                environment={
                    "NATS_SERVER_NAME": name,  # unique and stable across task replacement
                    "NATS_CLUSTER_NAME": spec.cluster_name,
                    "NATS_ROUTES": routes,
                    "NATS_CLIENT_PORT": str(CLIENT_PORT),
                    "NATS_ROUTE_PORT": str(ROUTE_PORT),
                    "NATS_MONITOR_PORT": str(MONITOR_PORT),
                    "NATS_STORE_DIR": STORE_DIR,
                    "NATS_CONFIG_FILE": "/tmp/nats.conf",
                    # The Go runtime does not see the task's memory limit: keep the heap under it.
                    "GOMEMLIMIT": f"{spec.memory_mib * 8 // 10}MiB",
                    "NATS_LAME_DUCK_SECONDS": str(spec.lame_duck_duration_seconds),
                    "NATS_LAME_DUCK_GRACE_SECONDS": str(spec.lame_duck_grace_period_seconds),
                },
                secrets={
                    "NATS_USER": ecs.Secret.from_secrets_manager(self.auth, "username"),
                    "NATS_PASSWORD": ecs.Secret.from_secrets_manager(self.auth, "password"),
                },
                port_mappings=[ecs.PortMapping(container_port=p, name=f"p{p}")
                               for p in (CLIENT_PORT, ROUTE_PORT, MONITOR_PORT)],
                health_check=ecs.HealthCheck(
                    # busybox wget is in the alpine image; js-enabled-only keeps a node that is
                    # still electing or catching up from being killed for it.
                    command=["CMD-SHELL",
                             f"wget -q -O /dev/null 'http://127.0.0.1:{MONITOR_PORT}"
                             "/healthz?js-enabled-only=true' || exit 1"],
                    interval=Duration.seconds(15), timeout=Duration.seconds(5), retries=4,
                    start_period=Duration.seconds(60),
                ),
                # Lame duck (duration + grace) ends before this, so ECS never SIGKILLs a node
                # that is still handing clients over.
                stop_timeout=Duration.seconds(cfg.stop_timeout_seconds),
                # A crashed nats-server restarts in place and finds its store again.
                enable_restart_policy=True,
                restart_attempt_period=Duration.seconds(60),
                ulimits=[ecs.Ulimit(name=ecs.UlimitName.NOFILE, soft_limit=65536,
                                    hard_limit=65536)],
                logging=ecs.LogDrivers.aws_logs(stream_prefix=name, log_group=self.log_group),
            )
            container.add_mount_points(ecs.MountPoint(
                source_volume="jetstream", container_path="/data", read_only=False))

            service = ecs.FargateService(
                self, f"Node{i}",
                cluster=cluster,
                task_definition=task,
                service_name=f"mistersmith-{cfg.name}-{name}",
                desired_count=1,
                # Stop the old task before starting the new one: two live servers with one
                # name would confuse the JetStream meta group.
                min_healthy_percent=0,
                max_healthy_percent=100,
                circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
                # Never Spot: an interruption takes a replica away with its store.
                capacity_provider_strategies=[
                    ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1)],
                security_groups=[sg],
                # Each node in its own AZ: losing an AZ loses one replica, not two.
                vpc_subnets=ec2.SubnetSelection(
                    subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                    availability_zones=[cfg.availability_zones[i]]),
                cloud_map_options=ecs.CloudMapOptions(
                    cloud_map_namespace=namespace, name=name,
                    dns_record_type=sd.DnsRecordType.A, dns_ttl=Duration.seconds(10)),
                propagate_tags=ecs.PropagatedTagSource.SERVICE,
                enable_ecs_managed_tags=True,
            )
            # One node at a time: CloudFormation waits for each service to be stable before the
            # next, so an image change never replaces two replicas (and their stores) at once.
            if previous is not None:
                service.node.add_dependency(previous)
            previous = service
            self.services.append(service)

        self.client = NatsClient(
            url=",".join(f"nats://{h}:{CLIENT_PORT}" for h in hosts),
            replicas=3,
            secrets={
                "SMITH_NATS_USER": ecs.Secret.from_secrets_manager(self.auth, "username"),
                "SMITH_NATS_PASSWORD": ecs.Secret.from_secrets_manager(self.auth, "password"),
            },
            allow_client=self._allow_client,
        )

    def _allow_client(self, client_sg: ec2.ISecurityGroup) -> None:
        self.security_group.add_ingress_rule(client_sg, ec2.Port.tcp(CLIENT_PORT),
                                             "NATS clients (smith services)")
        client_sg.add_egress_rule(self.security_group, ec2.Port.tcp(CLIENT_PORT),
                                  "NATS client connections")
