"""Least privilege and network exposure: no wildcard IAM, the ALB fronts only orchestrator and
gateway, workers take no inbound traffic, NATS ports are open only between the right peers."""

from __future__ import annotations

from helpers import (as_list, props, ref_id, resources, services_by_name, statements,
                     task_definition_of)

# Actions AWS only grants on Resource "*" (no resource-level permissions exist for them).
STAR_RESOURCE_ALLOWED = {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"}
WORKERS = ("compile", "analyze", "execute")


def test_no_wildcard_actions_anywhere(any_template):
    found = list(statements(any_template))
    assert found
    for st in found:
        for action in as_list(st.get("Action", [])):
            assert action != "*", st
            assert not action.endswith(":*"), st
        assert "NotAction" not in st, st


def test_star_resource_only_where_aws_demands_it(any_template):
    for st in statements(any_template):
        if "*" in as_list(st.get("Resource", [])):
            actions = set(as_list(st["Action"]))
            assert actions <= STAR_RESOURCE_ALLOWED, st


def test_no_inline_managed_policies_with_wildcards(any_template):
    # Only AWS-managed policies are referenced (Lambda basic execution for the default-SG
    # custom resource, AWSCodeDeployRoleForECS for blue/green): list them so a new one is seen.
    arns = []
    for r in resources(any_template, "AWS::IAM::Role").values():
        for arn in props(r).get("ManagedPolicyArns", []):
            arns.append(str(arn))
    for arn in arns:
        assert "AWSLambdaBasicExecutionRole" in arn or "AWSCodeDeployRoleForECS" in arn, arn


def test_task_roles_have_no_permissions(prod_json):
    # smith reports metrics through its log (EMF): its tasks call no AWS API.
    task_roles = set()
    for td in resources(prod_json, "AWS::ECS::TaskDefinition").values():
        task_roles.add(ref_id(props(td)["TaskRoleArn"]))
    for p in resources(prod_json, "AWS::IAM::Policy").values():
        for role in props(p)["Roles"]:
            assert ref_id(role) not in task_roles


def test_gateway_task_role_is_its_own_and_grants_nothing(any_template):
    # The gateway runs what MCP clients ask through the ALB: its task role belongs to its task
    # definition alone (no other task definition uses it, not even as an execution role) and
    # carries no permissions at all, so a compromised gateway gains no AWS API.
    _, gateway = services_by_name(any_template)["gateway"]
    td = props(task_definition_of(any_template, gateway))
    role = ref_id(td["TaskRoleArn"])
    assert role is not None and role != ref_id(td.get("ExecutionRoleArn"))
    users = [k for k, r in resources(any_template, "AWS::ECS::TaskDefinition").items()
             if role in (ref_id(props(r).get("TaskRoleArn")), ref_id(props(r).get("ExecutionRoleArn")))]
    assert len(users) == 1, users
    p = props(any_template["Resources"][role])
    assert any_template["Resources"][role]["Type"] == "AWS::IAM::Role"
    assert not p.get("Policies") and not p.get("ManagedPolicyArns") and "PermissionsBoundary" not in p
    assert [st["Principal"] for st in p["AssumeRolePolicyDocument"]["Statement"]] == \
        [{"Service": "ecs-tasks.amazonaws.com"}]
    for k, pol in [*resources(any_template, "AWS::IAM::Policy").items(),
                   *resources(any_template, "AWS::IAM::ManagedPolicy").items()]:
        assert role not in [ref_id(r) for r in props(pol).get("Roles", [])], k
    for k, pol in resources(any_template, "AWS::IAM::RolePolicy").items():
        assert ref_id(props(pol).get("RoleName")) != role, k


def _fronted_target_groups(t: dict) -> dict[str, str]:
    """target group logical id -> role, from the services' LoadBalancers."""
    out = {}
    for name, (_, s) in services_by_name(t).items():
        for lb in props(s).get("LoadBalancers", []):
            out[ref_id(lb["TargetGroupArn"])] = name
    return out


def test_only_orchestrator_and_gateway_are_behind_the_alb(any_template):
    fronted = _fronted_target_groups(any_template)
    assert sorted(set(fronted.values())) == ["gateway", "orchestrator"]
    listeners = resources(any_template, "AWS::ElasticLoadBalancingV2::Listener")
    assert len(listeners) == 2
    for k, l in listeners.items():
        for action in props(l)["DefaultActions"]:
            assert action["Type"] == "forward"
            assert ref_id(action["TargetGroupArn"]) in fronted, k
    assert not resources(any_template, "AWS::ElasticLoadBalancingV2::ListenerRule")


def test_alb_target_health_is_ready(any_template):
    for tg in resources(any_template, "AWS::ElasticLoadBalancingV2::TargetGroup").values():
        p = props(tg)
        assert p["HealthCheckPath"] == "/ready"
        assert p["TargetType"] == "ip" and p["Port"] == 8080


def _sg_of(t: dict, role: str) -> str:
    _, s = services_by_name(t)[role]
    [sg] = props(s)["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    return ref_id(sg)


def _ingress_rules(t: dict, sg_id: str) -> list[dict]:
    rules = list(props(t["Resources"][sg_id]).get("SecurityGroupIngress", []))
    rules += [props(r) for r in resources(t, "AWS::EC2::SecurityGroupIngress").values()
              if ref_id(props(r)["GroupId"]) == sg_id]
    return rules


def _alb_sg(t: dict) -> str:
    [alb] = resources(t, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    [sg] = props(alb)["SecurityGroups"]
    return ref_id(sg)


def test_workers_accept_no_inbound_traffic(any_template):
    for role in WORKERS:
        assert _ingress_rules(any_template, _sg_of(any_template, role)) == [], role


def test_fronted_services_accept_8080_from_the_alb_only(any_template):
    alb = _alb_sg(any_template)
    for role in ("orchestrator", "gateway"):
        rules = _ingress_rules(any_template, _sg_of(any_template, role))
        assert [(ref_id(r.get("SourceSecurityGroupId")), r["FromPort"], r["ToPort"])
                for r in rules] == [(alb, 8080, 8080)], role


def test_alb_egress_only_to_fronted_services_on_8080(any_template):
    alb = _alb_sg(any_template)
    assert "SecurityGroupEgress" not in props(any_template["Resources"][alb]) or all(
        r.get("CidrIp") == "255.255.255.255/32"
        for r in props(any_template["Resources"][alb])["SecurityGroupEgress"])
    fronted = {_sg_of(any_template, r) for r in ("orchestrator", "gateway")}
    egress = [props(r) for r in resources(any_template, "AWS::EC2::SecurityGroupEgress").values()
              if ref_id(props(r)["GroupId"]) == alb]
    assert {ref_id(e["DestinationSecurityGroupId"]) for e in egress} == fronted
    assert all(e["FromPort"] == e["ToPort"] == 8080 for e in egress)


def test_alb_ingress_only_on_listener_ports(any_template):
    rules = _ingress_rules(any_template, _alb_sg(any_template))
    ports = sorted(p["Port"] for p in
                   map(props, resources(any_template, "AWS::ElasticLoadBalancingV2::Listener")
                       .values()))
    assert sorted(r["FromPort"] for r in rules) == ports
    assert all(r["FromPort"] == r["ToPort"] for r in rules)


def test_smith_egress_is_https_and_nats_only(prod_json):
    nats_sg = ref_id(props(services_by_name(prod_json)["nats-0"][1])["NetworkConfiguration"]
                     ["AwsvpcConfiguration"]["SecurityGroups"][0])
    for role in ("orchestrator", *WORKERS, "gateway"):
        sg = _sg_of(prod_json, role)
        inline = props(prod_json["Resources"][sg]).get("SecurityGroupEgress", [])
        assert [(r["CidrIp"], r["FromPort"]) for r in inline] == [("0.0.0.0/0", 443)], role
        extra = [props(r) for r in resources(prod_json, "AWS::EC2::SecurityGroupEgress").values()
                 if ref_id(props(r)["GroupId"]) == sg]
        assert [(ref_id(e["DestinationSecurityGroupId"]), e["FromPort"]) for e in extra] == \
            [(nats_sg, 4222)], role


def test_nats_ports_open_only_between_the_right_peers(prod_json):
    nats_sg = ref_id(props(services_by_name(prod_json)["nats-0"][1])["NetworkConfiguration"]
                     ["AwsvpcConfiguration"]["SecurityGroups"][0])
    smith_sgs = {_sg_of(prod_json, r) for r in ("orchestrator", *WORKERS, "gateway")}
    by_port: dict[int, set] = {}
    for r in _ingress_rules(prod_json, nats_sg):
        assert "CidrIp" not in r, r  # nothing from an address range
        assert r["FromPort"] == r["ToPort"]
        by_port.setdefault(r["FromPort"], set()).add(ref_id(r["SourceSecurityGroupId"]))
    assert by_port == {4222: smith_sgs, 6222: {nats_sg}, 8222: {nats_sg}}


def test_secrets_are_generated_not_written_in_the_template(prod_json):
    for s in resources(prod_json, "AWS::SecretsManager::Secret").values():
        assert "SecretString" not in props(s)
        assert "GenerateSecretString" in props(s)
