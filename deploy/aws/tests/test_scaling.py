"""Scaling policies: CPU/memory tracking for orchestrator and gateway, backlog per task for
workers by default, the seeds' step scaling as an option."""

from __future__ import annotations

import pytest

from helpers import props, ref_id, resources, services_by_name
from mistersmith.config import SEED_QUEUE_STEPS
from mistersmith.scaling import BACKLOG_EXPRESSION

WORKERS = ("compile", "analyze", "execute")


def policies_for(t: dict, role: str) -> list[dict]:
    sid, _ = services_by_name(t)[role]
    targets = {k for k, r in resources(t, "AWS::ApplicationAutoScaling::ScalableTarget").items()
               if sid in str(props(r)["ResourceId"])}
    return [props(p) for p in resources(t, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
            if ref_id(props(p)["ScalingTargetId"]) in targets]


def test_orchestrator_tracks_cpu_70_and_memory_80(prod_json):
    got = sorted((p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
                  ["PredefinedMetricType"], p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"])
                 for p in policies_for(prod_json, "orchestrator"))
    assert got == [("ECSServiceAverageCPUUtilization", 70),
                   ("ECSServiceAverageMemoryUtilization", 80)]
    for p in policies_for(prod_json, "orchestrator"):
        c = p["TargetTrackingScalingPolicyConfiguration"]
        assert (c["ScaleOutCooldown"], c["ScaleInCooldown"]) == (60, 300)


def test_gateway_tracks_cpu(prod_json):
    [p] = policies_for(prod_json, "gateway")
    assert p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70


@pytest.mark.parametrize("role", WORKERS)
def test_workers_track_backlog_per_task_by_default(prod_json, role):
    [p] = policies_for(prod_json, role)
    assert p["PolicyType"] == "TargetTrackingScaling"
    c = p["TargetTrackingScalingPolicyConfiguration"]
    assert c["TargetValue"] == 8
    queries = {q["Id"]: q for q in c["CustomizedMetricSpecification"]["Metrics"]}
    assert set(queries) == {"pending", "inflight", "running", "backlog_per_task"}
    for qid, name in (("pending", "QueueDepth"), ("inflight", "InFlight")):
        m = queries[qid]["MetricStat"]["Metric"]
        # emitted by the orchestrator (namespace MisterSmith, dimension Role) via EMF
        assert (m["Namespace"], m["MetricName"]) == ("MisterSmith", name)
        assert m["Dimensions"] == [{"Name": "Role", "Value": role}]
        assert queries[qid]["ReturnData"] is False
    running = queries["running"]["MetricStat"]["Metric"]
    assert (running["Namespace"], running["MetricName"]) == ("ECS/ContainerInsights",
                                                             "RunningTaskCount")
    assert {d["Name"] for d in running["Dimensions"]} == {"ClusterName", "ServiceName"}
    out = queries["backlog_per_task"]
    assert out["ReturnData"] is True
    assert out["Expression"] == BACKLOG_EXPRESSION
    # (pending + in-flight) / running tasks, and the backlog itself when nothing runs
    assert "(pending + inflight) / FILL(running, 0)" in out["Expression"]


def _step_bounds(t: dict, role: str) -> list[tuple]:
    """Absolute QueueDepth intervals and changes, from each step policy and its alarm."""
    policies = {k: props(p) for k, p in resources(t, "AWS::ApplicationAutoScaling::ScalingPolicy")
                .items()}
    mine = [p for p in policies_for(t, role)]
    assert all(p["PolicyType"] == "StepScaling" for p in mine)
    out = []
    for k, p in policies.items():
        if p not in mine:
            continue
        alarm = next(props(a) for a in resources(t, "AWS::CloudWatch::Alarm").values()
                     if any(ref_id(x) == k for x in props(a).get("AlarmActions", [])))
        assert alarm["MetricName"] == "QueueDepth"
        assert alarm["Namespace"] == "MisterSmith"
        assert alarm["Dimensions"] == [{"Name": "Role", "Value": role}]
        thr = alarm["Threshold"]
        cfg = p["StepScalingPolicyConfiguration"]
        assert cfg["AdjustmentType"] == "ChangeInCapacity"
        assert cfg["Cooldown"] == 60
        for s in cfg["StepAdjustments"]:
            lo = s.get("MetricIntervalLowerBound")
            hi = s.get("MetricIntervalUpperBound")
            out.append((None if lo is None else thr + lo, None if hi is None else thr + hi,
                        s["ScalingAdjustment"]))
    return sorted(out, key=lambda x: (x[0] is not None, x[0] or 0))


@pytest.mark.parametrize("role", WORKERS)
def test_step_scaling_option_uses_the_seeds_steps(options_json, role):
    got = _step_bounds(options_json, role)
    # seeds: <=0 -> -1; >=10 -> +1; >=100 -> +5; >=1000 -> +20; >=5000 -> +50
    assert got == [(None, 0, -1), (10, 100, 1), (100, 1000, 5), (1000, 5000, 20),
                   (5000, None, 50)]
    assert [s.change for s in SEED_QUEUE_STEPS] == [-1, 1, 5, 20, 50]


def test_step_option_keeps_utilization_tracking_for_orchestrator(options_json):
    assert len(policies_for(options_json, "orchestrator")) == 2
