"""Per-environment settings (dev, prod) as plain dataclasses, plus the `-c key=value` overrides.

Sizes, task counts, Spot weights and scaling steps come from the ECS Fargate analysis of the
original system (the "seeds"): production column for prod, dev/test column for dev.
Everything the stack builds is decided here; the constructs only translate it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping, Optional

from .fargate import MAX_STOP_TIMEOUT_SECONDS, check_task_size

WORKER_ROLES = ("compile", "analyze", "execute")

# A placeholder account lets the stack synthesize offline with a concrete environment (three
# named AZs need one); `cdk deploy` passes the real account via CDK_DEFAULT_ACCOUNT or -c account.
OFFLINE_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Capacity:
    """Capacity provider strategy: `base` tasks on on-demand FARGATE first, then the rest split
    spot_weight : on_demand_weight between FARGATE_SPOT and FARGATE."""

    on_demand_base: int = 0
    on_demand_weight: int = 1
    spot_weight: int = 0  # 0: no Spot at all


@dataclass(frozen=True)
class RoleSpec:
    """One actor role = one ECS service running the single `smith` image."""

    name: str
    command: tuple[str, ...]
    cpu: int
    memory_mib: int
    min_tasks: int
    max_tasks: int
    capacity: Capacity
    behind_alb: bool = False
    concurrency: Optional[int] = None  # SMITH_CONCURRENCY, workers only
    # Target tracking on CPU / memory (orchestrator, gateway); workers scale on their queue.
    cpu_target_percent: Optional[int] = None
    memory_target_percent: Optional[int] = None
    listener_port: Optional[int] = None  # ALB listener port when behind_alb
    # Workers only: SMITH_HANDLER_PROCESS (handlers in any language, docs/HANDLER-PROTOCOL.md),
    # usually with an image of its own (FROM the smith image, plus the language: docs/PYTHON.md).
    handler_process: Optional[str] = None
    image: Optional[str] = None  # this role's image instead of the environment's

    @property
    def is_worker(self) -> bool:
        return self.name in WORKER_ROLES


@dataclass(frozen=True)
class ScalingStep:
    """One step of the seeds' step scaling: `change` tasks when QueueDepth is in [lower, upper)."""

    change: int
    lower: Optional[int] = None
    upper: Optional[int] = None


# Seeds, "Queue-Based Scaling Configuration": empty queue -> one task fewer; 10 / 100 / 1000 /
# 5000 pending -> +1 / +5 / +20 / +50 tasks; 60 s cooldown.
SEED_QUEUE_STEPS: tuple[ScalingStep, ...] = (
    ScalingStep(upper=0, change=-1),
    ScalingStep(lower=10, change=+1),
    ScalingStep(lower=100, change=+5),
    ScalingStep(lower=1000, change=+20),
    ScalingStep(lower=5000, change=+50),
)


@dataclass(frozen=True)
class WorkerScaling:
    # "backlog": target tracking on (pending + in-flight) / running tasks (default);
    # "steps":   the seeds' step scaling on QueueDepth.
    mode: str = "backlog"
    backlog_target_per_task: int = 8  # 2 x SMITH_CONCURRENCY: each task busy plus one batch queued
    steps: tuple[ScalingStep, ...] = SEED_QUEUE_STEPS
    step_cooldown_seconds: int = 60
    scale_in_cooldown_seconds: int = 300
    scale_out_cooldown_seconds: int = 60


@dataclass(frozen=True)
class NatsSpec:
    # "cluster":  three nats-server services on ECS (one task each, R3 streams);
    # "external": an existing NATS (a managed service) reached with a credentials file.
    mode: str = "cluster"
    image: str = "nats:2.15.1-alpine"
    cpu: int = 1024
    memory_mib: int = 2048
    ephemeral_storage_gib: int = 21  # 21..200; the JetStream store lives here (not on EFS)
    cluster_name: str = "smith"
    # Lame-duck mode spreads client disconnects over this time on SIGTERM; duration + grace must
    # end before ECS kills the task at the 120 s stop timeout.
    lame_duck_duration_seconds: int = 90
    lame_duck_grace_period_seconds: int = 10
    external_url: str = ""  # comma-separated nats:// or tls:// URLs
    external_port: int = 4222  # egress opened towards the external service
    external_replicas: int = 3  # SMITH_REPLICAS on the external service (1 on a single server)
    creds_secret_name: str = "mistersmith/nats-creds"  # Secrets Manager, plain text .creds file


@dataclass(frozen=True)
class EnvConfig:
    name: str
    account: str
    region: str
    availability_zones: tuple[str, ...]
    vpc_cidr: str
    nat_gateways: int
    image: str
    roles: tuple[RoleSpec, ...]
    nats: NatsSpec
    worker_scaling: WorkerScaling
    deployment: str = "rolling"  # or "bluegreen" (CodeDeploy, ALB-fronted services only)
    log_retention_days: int = 30
    retain_logs: bool = True
    metrics_interval: str = "30s"  # SMITH_METRICS_INTERVAL: a duration with unit, like all durations
    drain_timeout: str = "100s"  # SMITH_DRAIN_TIMEOUT: under the 120 s stop timeout
    stop_timeout_seconds: int = MAX_STOP_TIMEOUT_SECONDS
    alb_internet_facing: bool = True
    alb_ingress_cidr: str = "0.0.0.0/0"
    certificate_arn: str = ""  # HTTPS listeners when set, HTTP otherwise
    tags: Mapping[str, str] = field(default_factory=dict)

    def role(self, name: str) -> RoleSpec:
        return next(r for r in self.roles if r.name == name)

    @property
    def stack_name(self) -> str:
        return f"MisterSmith-{self.name}"

    def validate(self) -> "EnvConfig":
        if len(self.availability_zones) != 3:
            raise ValueError("the VPC spans exactly 3 AZs")
        if self.stop_timeout_seconds > MAX_STOP_TIMEOUT_SECONDS:
            raise ValueError(f"Fargate caps stopTimeout at {MAX_STOP_TIMEOUT_SECONDS} s")
        for r in self.roles:
            check_task_size(r.name, r.cpu, r.memory_mib)
            if not 0 <= r.min_tasks <= r.max_tasks:
                raise ValueError(f"{r.name}: min_tasks {r.min_tasks} > max_tasks {r.max_tasks}")
            if r.behind_alb and r.is_worker:
                raise ValueError(f"{r.name}: workers are never behind the load balancer")
            if (r.handler_process is not None or r.image is not None) and not r.is_worker:
                raise ValueError(f"{r.name}: only worker roles take a handler process or image")
            if r.handler_process is not None and not r.handler_process.strip():
                raise ValueError(f"{r.name}: the handler process command is empty")
        if self.nats.mode not in ("cluster", "external"):
            raise ValueError(f"nats mode {self.nats.mode!r}: use cluster or external")
        if self.nats.mode == "cluster":
            check_task_size("nats", self.nats.cpu, self.nats.memory_mib)
            ld = self.nats.lame_duck_duration_seconds + self.nats.lame_duck_grace_period_seconds
            if self.nats.lame_duck_duration_seconds < 30 or ld >= self.stop_timeout_seconds:
                raise ValueError("nats lame duck: at least 30 s (nats-server's minimum), and "
                                 "duration + grace below the stop timeout")
            if not 21 <= self.nats.ephemeral_storage_gib <= 200:
                raise ValueError("nats ephemeral storage: 21..200 GiB")
        elif not self.nats.external_url:
            raise ValueError("nats mode external needs -c natsUrl=nats://...")
        if self.worker_scaling.mode not in ("backlog", "steps"):
            raise ValueError(f"worker scaling {self.worker_scaling.mode!r}: use backlog or steps")
        if self.deployment not in ("rolling", "bluegreen"):
            raise ValueError(f"deployment {self.deployment!r}: use rolling or bluegreen")
        return self


def _worker(name: str, cpu: int, memory: int, min_tasks: int, max_tasks: int,
            capacity: Capacity, concurrency: int = 4) -> RoleSpec:
    return RoleSpec(name=name, command=("worker", "--role", name), cpu=cpu, memory_mib=memory,
                    min_tasks=min_tasks, max_tasks=max_tasks, capacity=capacity,
                    concurrency=concurrency)


# Seeds: 80 % Spot / 20 % on-demand for workers, with 2 on-demand tasks as a floor for stability.
WORKER_CAPACITY = Capacity(on_demand_base=2, on_demand_weight=1, spot_weight=4)


def prod() -> EnvConfig:
    roles = (
        RoleSpec(name="orchestrator", command=("orchestrator",), cpu=1024, memory_mib=2048,
                 min_tasks=3, max_tasks=100, behind_alb=True, listener_port=80,
                 capacity=Capacity(on_demand_base=3, on_demand_weight=1),
                 cpu_target_percent=70, memory_target_percent=80),
        *(_worker(r, 512, 1024, 2, 1000, WORKER_CAPACITY) for r in WORKER_ROLES),
        RoleSpec(name="gateway", command=("gateway",), cpu=256, memory_mib=512,
                 min_tasks=2, max_tasks=20, behind_alb=True, listener_port=8080,
                 capacity=Capacity(on_demand_base=2, on_demand_weight=1),
                 cpu_target_percent=70),
    )
    return EnvConfig(
        name="prod", account=OFFLINE_ACCOUNT, region="us-east-1",
        availability_zones=("us-east-1a", "us-east-1b", "us-east-1c"),
        vpc_cidr="10.0.0.0/16", nat_gateways=3,  # one per AZ: an AZ outage keeps egress
        image="mistersmith/smith:latest", roles=roles,
        nats=NatsSpec(mode="cluster", cpu=1024, memory_mib=2048, ephemeral_storage_gib=50),
        worker_scaling=WorkerScaling(), log_retention_days=30, retain_logs=True,
        tags={"Project": "MisterSmith", "Environment": "prod", "CostCenter": "Engineering",
              "ManagedBy": "CDK"},
    )


def dev() -> EnvConfig:
    small_workers = Capacity(on_demand_base=1, on_demand_weight=1, spot_weight=4)
    roles = (
        RoleSpec(name="orchestrator", command=("orchestrator",), cpu=512, memory_mib=1024,
                 min_tasks=1, max_tasks=3, behind_alb=True, listener_port=80,
                 capacity=Capacity(on_demand_base=1, on_demand_weight=1),
                 cpu_target_percent=70, memory_target_percent=80),
        *(_worker(r, 256, 512, 1, 10, small_workers) for r in WORKER_ROLES),
        RoleSpec(name="gateway", command=("gateway",), cpu=256, memory_mib=512,
                 min_tasks=1, max_tasks=2, behind_alb=True, listener_port=8080,
                 capacity=Capacity(on_demand_base=1, on_demand_weight=1),
                 cpu_target_percent=70),
    )
    return EnvConfig(
        name="dev", account=OFFLINE_ACCOUNT, region="us-east-1",
        availability_zones=("us-east-1a", "us-east-1b", "us-east-1c"),
        vpc_cidr="10.1.0.0/16", nat_gateways=1,  # one NAT for dev: cheaper, AZ-fragile egress
        image="mistersmith/smith:latest", roles=roles,
        nats=NatsSpec(mode="cluster", cpu=256, memory_mib=512, ephemeral_storage_gib=21),
        worker_scaling=WorkerScaling(), log_retention_days=7, retain_logs=False,
        tags={"Project": "MisterSmith", "Environment": "dev", "CostCenter": "Engineering",
              "ManagedBy": "CDK"},
    )


ENVIRONMENTS = {"dev": dev, "prod": prod}


def _flag(value: object) -> str:
    return str(value).strip()


def from_context(ctx: Mapping[str, object], default_account: Optional[str] = None) -> EnvConfig:
    """Build an EnvConfig from CDK context (`-c key=value`). Keys:
    env (dev|prod), image, account, region, azs (comma-separated), nats (cluster|external),
    natsUrl, natsCredsSecret, natsImage, workerScaling (backlog|steps), backlogTarget,
    deployment (rolling|bluegreen), certificateArn, albIngressCidr, and per worker role
    handlerProcess and roleImage as `role:value` pairs joined by ';' (e.g.
    `handlerProcess=execute:python3 -m my_handlers`, `roleImage=execute:<image URI>`)."""
    env_name = _flag(ctx.get("env", "dev"))
    if env_name not in ENVIRONMENTS:
        raise ValueError(f"-c env={env_name}: use one of {sorted(ENVIRONMENTS)}")
    cfg = ENVIRONMENTS[env_name]()
    account = ctx.get("account") or default_account or cfg.account
    cfg = dataclasses.replace(cfg, account=_flag(account))
    if "region" in ctx:
        cfg = dataclasses.replace(cfg, region=_flag(ctx["region"]))
    if "azs" in ctx:
        cfg = dataclasses.replace(cfg, availability_zones=tuple(
            a.strip() for a in _flag(ctx["azs"]).split(",") if a.strip()))
    elif "region" in ctx:
        r = cfg.region
        cfg = dataclasses.replace(cfg, availability_zones=(f"{r}a", f"{r}b", f"{r}c"))
    if "image" in ctx:
        cfg = dataclasses.replace(cfg, image=_flag(ctx["image"]))
    nats = cfg.nats
    if "nats" in ctx:
        nats = dataclasses.replace(nats, mode=_flag(ctx["nats"]))
    if "natsUrl" in ctx:
        nats = dataclasses.replace(nats, external_url=_flag(ctx["natsUrl"]))
    if "natsCredsSecret" in ctx:
        nats = dataclasses.replace(nats, creds_secret_name=_flag(ctx["natsCredsSecret"]))
    if "natsImage" in ctx:
        nats = dataclasses.replace(nats, image=_flag(ctx["natsImage"]))
    cfg = dataclasses.replace(cfg, nats=nats)
    ws = cfg.worker_scaling
    if "workerScaling" in ctx:
        ws = dataclasses.replace(ws, mode=_flag(ctx["workerScaling"]))
    if "backlogTarget" in ctx:
        ws = dataclasses.replace(ws, backlog_target_per_task=int(_flag(ctx["backlogTarget"])))
    cfg = dataclasses.replace(cfg, worker_scaling=ws)
    if "deployment" in ctx:
        cfg = dataclasses.replace(cfg, deployment=_flag(ctx["deployment"]))
    if "certificateArn" in ctx:
        cfg = dataclasses.replace(cfg, certificate_arn=_flag(ctx["certificateArn"]))
    if "albIngressCidr" in ctx:
        cfg = dataclasses.replace(cfg, alb_ingress_cidr=_flag(ctx["albIngressCidr"]))
    for key, attr in (("handlerProcess", "handler_process"), ("roleImage", "image")):
        for role, value in _role_pairs(key, ctx.get(key)):
            if role not in WORKER_ROLES:
                raise ValueError(f"-c {key}: {role!r} is not a worker role ({', '.join(WORKER_ROLES)})")
            roles = tuple(dataclasses.replace(r, **{attr: value}) if r.name == role else r
                          for r in cfg.roles)
            cfg = dataclasses.replace(cfg, roles=roles)
    return cfg.validate()


def _role_pairs(key: str, value: object) -> list[tuple[str, str]]:
    """`role:value;role:value` (the value may hold ':', as image tags do) as pairs."""
    if value is None:
        return []
    pairs = []
    for item in _flag(value).split(";"):
        if not item.strip():
            continue
        role, sep, rest = item.partition(":")
        if not sep or not rest.strip():
            raise ValueError(f"-c {key}: {item!r} is not role:value")
        pairs.append((role.strip(), rest.strip()))
    return pairs
