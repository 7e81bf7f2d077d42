"""Task-count scaling.

Workers scale on their queue, not on CPU: a worker waiting on a slow tool sits at low CPU with
a deep queue. The queue numbers come from the orchestrator, which reports every role's
`QueueDepth` (consumer num_pending) and `InFlight` (num_ack_pending) as EMF lines in its log:
because the orchestrator emits them, they keep flowing when a role has zero tasks.

- default, "backlog": target tracking on backlog per task,
      (QueueDepth + InFlight) / RunningTaskCount
  the form AWS recommends for queue workers (metric math inside the policy). RunningTaskCount
  comes from Container Insights; when it has no data or is 0 the backlog itself is used, so the
  metric never goes missing.
- option, "steps": the seeds' step scaling on QueueDepth (absolute numbers, change in capacity).

Orchestrator and gateway track CPU (and memory) utilization, as in the seeds.
"""

from __future__ import annotations

from aws_cdk import Duration, aws_applicationautoscaling as appscaling, aws_cloudwatch as cw
from aws_cdk import aws_ecs as ecs

from .config import EnvConfig, RoleSpec, WorkerScaling

NAMESPACE = "MisterSmith"
# Several orchestrator tasks report the same numbers: Average keeps one copy of them.
QUEUE_STAT = "Average"

BACKLOG_EXPRESSION = (
    "IF(FILL(running, 0) > 0, (pending + inflight) / FILL(running, 0), pending + inflight)"
)


def queue_metric(name: str, role: str, period: Duration = Duration.minutes(1)) -> cw.Metric:
    return cw.Metric(namespace=NAMESPACE, metric_name=name, dimensions_map={"Role": role},
                     statistic=QUEUE_STAT, period=period)


def running_tasks_metric(cluster_name: str, service_name: str) -> cw.Metric:
    return cw.Metric(namespace="ECS/ContainerInsights", metric_name="RunningTaskCount",
                     dimensions_map={"ClusterName": cluster_name, "ServiceName": service_name},
                     statistic="Average", period=Duration.minutes(1))


def backlog_per_task(role: str, cluster_name: str, service_name: str) -> cw.MathExpression:
    """The same expression as the scaling policy, for dashboards."""
    return cw.MathExpression(
        expression=BACKLOG_EXPRESSION, label=f"{role} backlog per task",
        using_metrics={"pending": queue_metric("QueueDepth", role),
                       "inflight": queue_metric("InFlight", role),
                       "running": running_tasks_metric(cluster_name, service_name)},
        period=Duration.minutes(1))


def _query(id: str, namespace: str, name: str, dims: dict[str, str]):
    P = appscaling.CfnScalingPolicy
    return P.TargetTrackingMetricDataQueryProperty(
        id=id, return_data=False,
        metric_stat=P.TargetTrackingMetricStatProperty(
            stat="Average",
            metric=P.TargetTrackingMetricProperty(
                namespace=namespace, metric_name=name,
                dimensions=[P.TargetTrackingMetricDimensionProperty(name=k, value=v)
                            for k, v in dims.items()])))


def add_backlog_tracking(service: ecs.FargateService, task_count: ecs.ScalableTaskCount,
                         role: RoleSpec, ws: WorkerScaling) -> appscaling.CfnScalingPolicy:
    # CDK's L2 target tracking takes single metrics only; the metric math needs the L1 policy.
    target = task_count.node.find_child("Target")
    P = appscaling.CfnScalingPolicy
    cluster_name = service.cluster.cluster_name
    return P(
        task_count, "BacklogPerTaskTracking",
        policy_name=f"{service.cluster.cluster_name}-{role.name}-backlog-per-task",
        policy_type="TargetTrackingScaling",
        scaling_target_id=target.scalable_target_id,
        target_tracking_scaling_policy_configuration=P.TargetTrackingScalingPolicyConfigurationProperty(
            target_value=float(ws.backlog_target_per_task),
            scale_in_cooldown=ws.scale_in_cooldown_seconds,
            scale_out_cooldown=ws.scale_out_cooldown_seconds,
            customized_metric_specification=P.CustomizedMetricSpecificationProperty(metrics=[
                _query("pending", NAMESPACE, "QueueDepth", {"Role": role.name}),
                _query("inflight", NAMESPACE, "InFlight", {"Role": role.name}),
                _query("running", "ECS/ContainerInsights", "RunningTaskCount",
                       {"ClusterName": cluster_name, "ServiceName": service.service_name}),
                P.TargetTrackingMetricDataQueryProperty(
                    id="backlog_per_task", expression=BACKLOG_EXPRESSION,
                    label=f"{role.name} backlog per task", return_data=True),
            ]),
        ),
    )


def add_step_scaling(task_count: ecs.ScalableTaskCount, role: RoleSpec, ws: WorkerScaling) -> None:
    task_count.scale_on_metric(
        "QueueDepthSteps",
        metric=queue_metric("QueueDepth", role.name),
        scaling_steps=[appscaling.ScalingInterval(change=s.change, lower=s.lower, upper=s.upper)
                       for s in ws.steps],
        adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        cooldown=Duration.seconds(ws.step_cooldown_seconds),
    )


def add_utilization_tracking(task_count: ecs.ScalableTaskCount, role: RoleSpec) -> None:
    # Seeds: scale out fast (60 s), scale in slowly (300 s).
    if role.cpu_target_percent:
        task_count.scale_on_cpu_utilization(
            "CpuTracking", target_utilization_percent=role.cpu_target_percent,
            scale_in_cooldown=Duration.seconds(300), scale_out_cooldown=Duration.seconds(60))
    if role.memory_target_percent:
        task_count.scale_on_memory_utilization(
            "MemoryTracking", target_utilization_percent=role.memory_target_percent,
            scale_in_cooldown=Duration.seconds(300), scale_out_cooldown=Duration.seconds(60))


def add_scaling(cfg: EnvConfig, role: RoleSpec, service: ecs.FargateService,
                task_count: ecs.ScalableTaskCount) -> None:
    if not role.is_worker:
        add_utilization_tracking(task_count, role)
    elif cfg.worker_scaling.mode == "steps":
        add_step_scaling(task_count, role, cfg.worker_scaling)
    else:
        add_backlog_tracking(service, task_count, role, cfg.worker_scaling)
