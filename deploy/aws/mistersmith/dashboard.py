"""One CloudWatch dashboard per role: queue depth, tasks per second, CPU, memory, task count.

Tasks per second come from the role's own log: every finished task logs a line with the word
`task_duration` (the operators' Logs Insights queries rely on it), and a metric filter counts
those lines. For the ALB-fronted roles, requests per second through their target group.
"""

from __future__ import annotations

from typing import Optional

from aws_cdk import Duration, aws_cloudwatch as cw, aws_logs as logs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from .config import WORKER_ROLES, EnvConfig
from .role_service import RoleService
from .scaling import NAMESPACE, backlog_per_task, queue_metric, running_tasks_metric

LOG_METRICS_NAMESPACE = f"{NAMESPACE}/Logs"
PER_SECOND = "m / PERIOD(m)"


def tasks_finished_metric_name(role: str) -> str:
    return f"TasksFinished-{role}"


class RoleDashboard(Construct):
    def __init__(self, scope: Construct, id: str, *, cfg: EnvConfig, rs: RoleService,
                 target_group: Optional[elbv2.ApplicationTargetGroup] = None) -> None:
        super().__init__(scope, id)
        role = rs.role.name
        service = rs.service
        cluster_name = service.cluster.cluster_name
        period = Duration.minutes(1)
        widgets: list[cw.IWidget] = []

        if rs.role.is_worker:
            logs.MetricFilter(
                self, "TasksFinished", log_group=rs.log_group,
                filter_pattern=logs.FilterPattern.all_terms("task_duration"),
                metric_namespace=LOG_METRICS_NAMESPACE,
                metric_name=tasks_finished_metric_name(role), metric_value="1")
            finished = cw.Metric(namespace=LOG_METRICS_NAMESPACE,
                                 metric_name=tasks_finished_metric_name(role),
                                 statistic="Sum", period=period)
            widgets += [
                cw.GraphWidget(title=f"{role}: queue depth and in flight", width=12, left=[
                    queue_metric("QueueDepth", role), queue_metric("InFlight", role)]),
                cw.GraphWidget(title=f"{role}: tasks/s finished", width=12, left=[
                    cw.MathExpression(expression=PER_SECOND, using_metrics={"m": finished},
                                      label="tasks/s", period=period)]),
                cw.GraphWidget(title=f"{role}: backlog per task (scaling metric)", width=12,
                               left=[backlog_per_task(role, cluster_name, service.service_name)],
                               left_annotations=[cw.HorizontalAnnotation(
                                   value=cfg.worker_scaling.backlog_target_per_task,
                                   label="target")]),
            ]
        else:
            if role == "orchestrator":
                widgets.append(cw.GraphWidget(
                    title="queue depth by role", width=12,
                    left=[queue_metric("QueueDepth", r) for r in WORKER_ROLES]))
            if target_group is not None:
                requests = target_group.metrics.request_count(period=period, statistic="Sum")
                widgets += [
                    cw.GraphWidget(title=f"{role}: requests/s", width=12, left=[
                        cw.MathExpression(expression=PER_SECOND, using_metrics={"m": requests},
                                          label="requests/s", period=period)]),
                    cw.GraphWidget(title=f"{role}: target 5xx and response time", width=12,
                                   left=[target_group.metrics.http_code_target(
                                       elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=period)],
                                   right=[target_group.metrics.target_response_time(
                                       period=period, statistic="p99")]),
                ]
        widgets += [
            cw.GraphWidget(title=f"{role}: CPU and memory %", width=12, left=[
                service.metric_cpu_utilization(period=period),
                service.metric_memory_utilization(period=period)],
                left_y_axis=cw.YAxisProps(min=0, max=100)),
            cw.GraphWidget(title=f"{role}: running tasks", width=12, left=[
                running_tasks_metric(cluster_name, service.service_name)]),
        ]
        self.dashboard = cw.Dashboard(
            self, "Dashboard", dashboard_name=f"mistersmith-{cfg.name}-{role}",
            default_interval=Duration.hours(3))
        for i in range(0, len(widgets), 2):
            self.dashboard.add_widgets(*widgets[i:i + 2])
