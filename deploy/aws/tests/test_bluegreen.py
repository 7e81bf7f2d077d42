"""Deployments: rolling with circuit breaker by default; CodeDeploy blue/green (canary 10 % for
5 minutes, two target groups) for the ALB-fronted services as an option."""

from __future__ import annotations

from helpers import props, ref_id, resources, services_by_name


def test_default_has_no_codedeploy(prod_json):
    assert not resources(prod_json, "AWS::CodeDeploy::DeploymentGroup")
    for name, (_, s) in services_by_name(prod_json).items():
        assert props(s).get("DeploymentController", {"Type": "ECS"})["Type"] == "ECS", name


def test_bluegreen_deployment_groups_for_fronted_services(options_json):
    groups = resources(options_json, "AWS::CodeDeploy::DeploymentGroup")
    assert len(groups) == 2
    svc_ids = {sid: name for name, (sid, _) in services_by_name(options_json).items()}
    covered = set()
    for g in groups.values():
        p = props(g)
        assert p["DeploymentConfigName"] == "CodeDeployDefault.ECSCanary10Percent5Minutes"
        assert p["DeploymentStyle"] == {"DeploymentOption": "WITH_TRAFFIC_CONTROL",
                                        "DeploymentType": "BLUE_GREEN"}
        assert set(p["AutoRollbackConfiguration"]["Events"]) >= {
            "DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}
        assert p["AlarmConfiguration"]["Enabled"] is True
        assert len(p["AlarmConfiguration"]["Alarms"]) == 2
        [pair] = p["LoadBalancerInfo"]["TargetGroupPairInfoList"]
        tgs = {ref_id(tg["Name"]) for tg in pair["TargetGroups"]}
        assert len(tgs) == 2  # blue and green
        [ecs] = p["ECSServices"]
        covered.add(svc_ids[ref_id(ecs["ServiceName"])])
    assert covered == {"orchestrator", "gateway"}
    assert len(resources(options_json, "AWS::ElasticLoadBalancingV2::TargetGroup")) == 4


def test_bluegreen_services_use_codedeploy_controller_workers_stay_rolling(options_json):
    for name, (_, s) in services_by_name(options_json).items():
        p = props(s)
        if name in ("orchestrator", "gateway"):
            assert p["DeploymentController"] == {"Type": "CODE_DEPLOY"}
            assert "DeploymentCircuitBreaker" not in p.get("DeploymentConfiguration", {})
        else:
            assert p.get("DeploymentController", {"Type": "ECS"})["Type"] == "ECS"
            assert p["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
                "Enable": True, "Rollback": True}


def test_ecr_image_pull_rights_scoped_to_the_repository(options_json):
    pulls = [st for p in resources(options_json, "AWS::IAM::Policy").values()
             for st in props(p)["PolicyDocument"]["Statement"]
             if "ecr:BatchGetImage" in st["Action"]]
    assert pulls
    for st in pulls:
        assert st["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/mistersmith/smith"
