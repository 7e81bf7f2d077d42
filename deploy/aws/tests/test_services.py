"""One ECS service per role from the single smith image: sizes, commands, capacity, health,
stop timeout, circuit breaker, task counts, environment."""

from __future__ import annotations

import pytest

from helpers import env_of, props, resources, secrets_of, services_by_name, smith_container, \
    task_definition_of
from mistersmith.fargate import MAX_STOP_TIMEOUT_SECONDS, is_valid_task_size

WORKERS = ("compile", "analyze", "execute")

# Seeds, production column: (cpu, memory, min, max).
PROD_SIZES = {
    "orchestrator": ("1024", "2048", 3, 100),
    "compile": ("512", "1024", 2, 1000),
    "analyze": ("512", "1024", 2, 1000),
    "execute": ("512", "1024", 2, 1000),
    "gateway": ("256", "512", 2, 20),
}
COMMANDS = {
    "orchestrator": ["orchestrator"],
    "compile": ["worker", "--role", "compile"],
    "analyze": ["worker", "--role", "analyze"],
    "execute": ["worker", "--role", "execute"],
    "gateway": ["gateway"],
}


def test_one_service_per_role_plus_three_nats_nodes(prod_json):
    assert sorted(services_by_name(prod_json)) == sorted(
        [*PROD_SIZES, "nats-0", "nats-1", "nats-2"])


@pytest.mark.parametrize("role", sorted(PROD_SIZES))
def test_task_size_and_command_per_role(prod_json, role):
    cpu, memory, _, _ = PROD_SIZES[role]
    _, service = services_by_name(prod_json)[role]
    task = props(task_definition_of(prod_json, service))
    assert (task["Cpu"], task["Memory"]) == (cpu, memory)
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["NetworkMode"] == "awsvpc"
    container = smith_container(prod_json, service)
    assert container["Image"] == "mistersmith/smith:latest"  # one image for every role
    assert container["Command"] == COMMANDS[role]
    assert "EntryPoint" not in container  # the image's ENTRYPOINT is smith


@pytest.mark.parametrize("role", sorted(PROD_SIZES))
def test_task_count_bounds_via_scalable_target(prod_json, role):
    _, _, lo, hi = PROD_SIZES[role]
    sid, service = services_by_name(prod_json)[role]
    assert props(service)["DesiredCount"] == lo
    targets = [props(r) for r in resources(prod_json, "AWS::ApplicationAutoScaling::ScalableTarget")
               .values() if sid in str(props(r)["ResourceId"])]
    assert len(targets) == 1
    t = targets[0]
    assert (t["MinCapacity"], t["MaxCapacity"]) == (lo, hi)
    assert t["ScalableDimension"] == "ecs:service:DesiredCount"
    assert t["ServiceNamespace"] == "ecs"


def test_every_task_definition_is_a_valid_fargate_size(any_template):
    tds = resources(any_template, "AWS::ECS::TaskDefinition")
    assert tds
    for k, td in tds.items():
        p = props(td)
        assert is_valid_task_size(int(p["Cpu"]), int(p["Memory"])), (k, p["Cpu"], p["Memory"])


def test_every_container_stops_within_fargate_limit(any_template):
    for k, td in resources(any_template, "AWS::ECS::TaskDefinition").items():
        for c in props(td)["ContainerDefinitions"]:
            assert "StopTimeout" in c, (k, c["Name"])
            assert c["StopTimeout"] <= MAX_STOP_TIMEOUT_SECONDS, (k, c["Name"])


def test_smith_and_nats_containers_get_the_full_120_seconds(prod_json):
    for name, (_, service) in services_by_name(prod_json).items():
        assert smith_container(prod_json, service)["StopTimeout"] == 120, name


def test_drain_timeout_fits_in_stop_timeout(prod_json):
    for role in PROD_SIZES:
        _, service = services_by_name(prod_json)[role]
        env = env_of(smith_container(prod_json, service))
        assert env["SMITH_DRAIN_TIMEOUT"] == "100s"
        assert env["SMITH_HTTP_PORT"] == "8080"


@pytest.mark.parametrize("role", sorted(PROD_SIZES))
def test_health_check_is_smith_health(prod_json, role):
    _, service = services_by_name(prod_json)[role]
    hc = smith_container(prod_json, service)["HealthCheck"]
    assert hc["Command"] == ["CMD", "smith", "health", "--url", "http://127.0.0.1:8080/health"]
    assert hc["Retries"] >= 1 and hc["StartPeriod"] > 0


def test_rolling_services_have_circuit_breaker_with_rollback(prod_json):
    for name, (_, service) in services_by_name(prod_json).items():
        dc = props(service)["DeploymentConfiguration"]
        assert dc["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}, name


def _strategy(t, role):
    _, service = services_by_name(t)[role]
    return sorted((s["CapacityProvider"], s.get("Weight"), s.get("Base", 0))
                  for s in props(service)["CapacityProviderStrategy"])


def test_orchestrator_and_gateway_on_demand_only(prod_json):
    assert _strategy(prod_json, "orchestrator") == [("FARGATE", 1, 3)]
    assert _strategy(prod_json, "gateway") == [("FARGATE", 1, 2)]


@pytest.mark.parametrize("role", WORKERS)
def test_workers_spot_4_to_1_with_on_demand_base_2(prod_json, role):
    assert _strategy(prod_json, role) == [("FARGATE", 1, 2), ("FARGATE_SPOT", 4, 0)]


def test_services_run_in_private_subnets_without_public_ip(prod_json):
    for name, (_, service) in services_by_name(prod_json).items():
        vpc = props(service)["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert vpc["AssignPublicIp"] == "DISABLED", name


@pytest.mark.parametrize("role", WORKERS)
def test_worker_environment(prod_json, role):
    _, service = services_by_name(prod_json)[role]
    c = smith_container(prod_json, service)
    env = env_of(c)
    assert env["SMITH_ROLE"] == role
    assert env["SMITH_CONCURRENCY"] == "4"
    assert env["SMITH_REPLICAS"] == "3"
    assert env["SMITH_NATS_URL"].count("nats://") == 3
    assert sorted(secrets_of(c)) == ["SMITH_NATS_PASSWORD", "SMITH_NATS_USER"]
    assert "SMITH_API_TOKEN" not in secrets_of(c)


def test_orchestrator_gets_api_token_and_metrics_interval(prod_json):
    _, service = services_by_name(prod_json)["orchestrator"]
    c = smith_container(prod_json, service)
    assert "SMITH_API_TOKEN" in secrets_of(c)
    assert env_of(c)["SMITH_METRICS_INTERVAL"] == "30s"
    token = next(s for s in c["Secrets"] if s["Name"] == "SMITH_API_TOKEN")
    secret_id = token["ValueFrom"]["Ref"]
    assert prod_json["Resources"][secret_id]["Type"] == "AWS::SecretsManager::Secret"
    # no secret value is ever in plain environment
    for v in env_of(c).values():
        assert "password" not in v.lower()


def test_gateway_gets_the_same_api_token(prod_json):
    # smith gateway refuses to serve beyond loopback without a token: it gets the orchestrator's.
    tokens = {}
    for role in ("orchestrator", "gateway"):
        _, service = services_by_name(prod_json)[role]
        c = smith_container(prod_json, service)
        tokens[role] = next(s for s in c["Secrets"] if s["Name"] == "SMITH_API_TOKEN")["ValueFrom"]
        assert list(c["Command"]) == [role]
    assert tokens["gateway"] == tokens["orchestrator"]


def test_log_groups_have_retention_and_each_service_logs_to_its_own(prod_json):
    groups = resources(prod_json, "AWS::Logs::LogGroup")
    assert all(props(g)["RetentionInDays"] == 30 for g in groups.values())
    for name, (_, service) in services_by_name(prod_json).items():
        log = smith_container(prod_json, service)["LogConfiguration"]
        assert log["LogDriver"] == "awslogs"
        assert log["Options"]["awslogs-group"]["Ref"] in groups


def test_cluster_container_insights_and_capacity_providers(prod):
    prod.has_resource_properties("AWS::ECS::Cluster", {
        "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]})
    prod.has_resource_properties("AWS::ECS::ClusterCapacityProviderAssociations", {
        "CapacityProviders": ["FARGATE", "FARGATE_SPOT"]})
    prod.resource_count_is("AWS::ServiceDiscovery::PrivateDnsNamespace", 1)


def test_vpc_three_azs_public_private_isolated(prod_json):
    subnets = resources(prod_json, "AWS::EC2::Subnet").values()
    azs = {props(s)["AvailabilityZone"] for s in subnets}
    assert azs == {"us-east-1a", "us-east-1b", "us-east-1c"}
    kinds = sorted(next(t["Value"] for t in props(s)["Tags"] if t["Key"] == "aws-cdk:subnet-type")
                   for s in subnets)
    assert kinds == ["Isolated"] * 3 + ["Private"] * 3 + ["Public"] * 3
    assert len(resources(prod_json, "AWS::EC2::NatGateway")) == 3


def test_dev_is_smaller(dev_json):
    sizes = {n: (props(task_definition_of(dev_json, s))["Cpu"],
                 props(task_definition_of(dev_json, s))["Memory"])
             for n, (_, s) in services_by_name(dev_json).items()}
    assert sizes["orchestrator"] == ("512", "1024")  # seeds' dev/test column
    assert sizes["compile"] == ("256", "512")
    assert len(resources(dev_json, "AWS::EC2::NatGateway")) == 1


def test_cost_allocation_tags(prod_json):
    for name, (_, service) in services_by_name(prod_json).items():
        tags = {t["Key"]: t["Value"] for t in props(service)["Tags"]}
        assert tags["Project"] == "MisterSmith" and tags["Environment"] == "prod", name
        assert props(service)["PropagateTags"] == "SERVICE"
        if not name.startswith("nats"):
            assert tags["Role"] == name
