"""A CloudWatch dashboard per role, and the log metric behind tasks per second."""

from __future__ import annotations

import json

import pytest

from helpers import props, resources

ROLES = ("orchestrator", "compile", "analyze", "execute", "gateway")


def _bodies(t):
    out = {}
    for d in resources(t, "AWS::CloudWatch::Dashboard").values():
        p = props(d)
        out[p["DashboardName"]] = json.dumps(p["DashboardBody"])
    return out


def test_one_dashboard_per_role(prod_json):
    assert sorted(_bodies(prod_json)) == sorted(f"mistersmith-prod-{r}" for r in ROLES)


@pytest.mark.parametrize("role", ("compile", "analyze", "execute"))
def test_worker_dashboard_shows_queue_tasks_cpu_memory(prod_json, role):
    body = _bodies(prod_json)[f"mistersmith-prod-{role}"]
    for needle in ("QueueDepth", "InFlight", f"TasksFinished-{role}", "CPUUtilization",
                   "MemoryUtilization", "RunningTaskCount", "tasks/s"):
        assert needle in body, needle


def test_fronted_dashboards_show_requests(prod_json):
    for role in ("orchestrator", "gateway"):
        body = _bodies(prod_json)[f"mistersmith-prod-{role}"]
        assert "RequestCount" in body and "CPUUtilization" in body


def test_tasks_finished_metric_filters(prod_json):
    filters = [props(f) for f in resources(prod_json, "AWS::Logs::MetricFilter").values()]
    assert len(filters) == 3
    for f in filters:
        assert "task_duration" in f["FilterPattern"]
        assert f["MetricTransformations"][0]["MetricNamespace"] == "MisterSmith/Logs"
