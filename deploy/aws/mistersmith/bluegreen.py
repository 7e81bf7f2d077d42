"""Optional blue/green deployments through CodeDeploy for the ALB-fronted services.

A second (green) target group receives the new task set; CodeDeploy shifts 10 % of the
listener's traffic to it, waits 5 minutes, then shifts the rest (CodeDeployDefault.
ECSCanary10Percent5Minutes, as in the seeds). A 5xx alarm on either target group, a failed or a
stopped deployment rolls back, so a bad orchestrator release never takes all the traffic.
"""

from __future__ import annotations

from aws_cdk import Duration, aws_cloudwatch as cw, aws_codedeploy as codedeploy
from constructs import Construct

from .config import EnvConfig
from .ingress import Ingress
from .role_service import RoleService


def target_5xx_alarm(scope: Construct, id: str, ingress: Ingress, tg) -> cw.Alarm:
    # Built from dimensions rather than tg.metrics: the green group has no listener until a
    # deployment attaches it, and its metrics are what a canary is judged on.
    metric = cw.Metric(
        namespace="AWS/ApplicationELB", metric_name="HTTPCode_Target_5XX_Count",
        dimensions_map={"LoadBalancer": ingress.alb.load_balancer_full_name,
                        "TargetGroup": tg.target_group_full_name},
        statistic="Sum", period=Duration.minutes(1))
    return cw.Alarm(scope, id, metric=metric, threshold=5, evaluation_periods=2,
                    comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                    alarm_description="target 5xx during a blue/green deployment: roll back")


class BlueGreen(Construct):
    def __init__(self, scope: Construct, id: str, *, cfg: EnvConfig, ingress: Ingress) -> None:
        super().__init__(scope, id)
        self.cfg = cfg
        self.ingress = ingress
        self.application = codedeploy.EcsApplication(
            self, "Application", application_name=f"mistersmith-{cfg.name}")
        self.groups: dict[str, codedeploy.EcsDeploymentGroup] = {}

    def add(self, rs: RoleService) -> codedeploy.EcsDeploymentGroup:
        name = rs.role.name
        blue = self.ingress.target_groups[name]
        green = self.ingress.target_group(f"{name.capitalize()}Green")
        alarms = [target_5xx_alarm(self, f"{name.capitalize()}{c}5xx", self.ingress, tg)
                  for c, tg in (("Blue", blue), ("Green", green))]
        group = codedeploy.EcsDeploymentGroup(
            self, f"{name.capitalize()}DeploymentGroup",
            application=self.application,
            deployment_group_name=f"mistersmith-{self.cfg.name}-{name}",
            service=rs.service,
            blue_green_deployment_config=codedeploy.EcsBlueGreenDeploymentConfig(
                blue_target_group=blue, green_target_group=green,
                listener=self.ingress.listeners[name],
                termination_wait_time=Duration.minutes(5)),
            deployment_config=codedeploy.EcsDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
            alarms=alarms,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True),
        )
        self.groups[name] = group
        return group
