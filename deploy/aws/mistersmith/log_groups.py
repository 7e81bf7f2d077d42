"""One CloudWatch log group per service, with retention, created by the stack (not by the
awslogs driver): retention is set without the LogRetention custom resource and its Lambda."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, aws_logs as logs
from constructs import Construct

from .config import EnvConfig

_RETENTION = {
    1: logs.RetentionDays.ONE_DAY, 3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS, 7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS, 90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS, 365: logs.RetentionDays.ONE_YEAR,
}


def removal_policy(cfg: EnvConfig) -> RemovalPolicy:
    return RemovalPolicy.RETAIN if cfg.retain_logs else RemovalPolicy.DESTROY


def service_log_group(scope: Construct, id: str, cfg: EnvConfig, name: str) -> logs.LogGroup:
    if cfg.log_retention_days not in _RETENTION:
        raise ValueError(f"log retention {cfg.log_retention_days} days: use {sorted(_RETENTION)}")
    return logs.LogGroup(
        scope, id,
        log_group_name=f"/mistersmith/{cfg.name}/{name}",
        retention=_RETENTION[cfg.log_retention_days],
        removal_policy=removal_policy(cfg),
    )
