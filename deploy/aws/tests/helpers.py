"""Small readers over a synthesized template (a dict)."""

from __future__ import annotations


def resources(t: dict, type_: str) -> dict[str, dict]:
    return {k: r for k, r in t["Resources"].items() if r["Type"] == type_}


def props(r: dict) -> dict:
    return r.get("Properties", {})


def ref_id(value) -> str | None:
    """The logical id behind {"Ref": id} or {"Fn::GetAtt": [id, ...]}."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


def env_of(container: dict) -> dict[str, str]:
    return {e["Name"]: e["Value"] for e in container.get("Environment", [])}


def secrets_of(container: dict) -> list[str]:
    return [s["Name"] for s in container.get("Secrets", [])]


def service_name(service: dict) -> str:
    return props(service)["ServiceName"]


def services_by_name(t: dict) -> dict[str, tuple[str, dict]]:
    """'orchestrator' / 'compile' / 'nats-0' ... -> (logical id, resource)."""
    out = {}
    for k, r in resources(t, "AWS::ECS::Service").items():
        short = service_name(r).split("-", 2)[2]  # mistersmith-<env>-<role>
        out[short] = (k, r)
    return out


def task_definition_of(t: dict, service: dict) -> dict:
    td = props(service)["TaskDefinition"]
    if isinstance(td, str):  # CODE_DEPLOY controller: the family; CodeDeploy picks revisions
        return next(r for r in resources(t, "AWS::ECS::TaskDefinition").values()
                    if props(r)["Family"] == td)
    return t["Resources"][ref_id(td)]


def smith_container(t: dict, service: dict) -> dict:
    defs = props(task_definition_of(t, service))["ContainerDefinitions"]
    return next(c for c in defs if c["Name"] in ("smith", "nats"))


def statements(node):
    """Every IAM statement anywhere in the template (roles, policies, resource policies)."""
    if isinstance(node, dict):
        if "Statement" in node and isinstance(node["Statement"], list):
            yield from node["Statement"]
        for v in node.values():
            yield from statements(v)
    elif isinstance(node, list):
        for v in node:
            yield from statements(v)


def as_list(v) -> list:
    return v if isinstance(v, list) else [v]
