"""A worker role whose handlers run in another language: `-c handlerProcess=role:command` and
`-c roleImage=role:uri` (docs/PYTHON.md). Only that role changes."""

from __future__ import annotations

import pytest

from conftest import template_json
from helpers import env_of, services_by_name, smith_container
from mistersmith.config import from_context
from test_services import WORKERS

PY_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mistersmith/execute-py:7"


def test_a_role_with_python_handlers_gets_its_command_and_image():
    t = template_json(env="prod", handlerProcess="execute:python3 -m my_handlers",
                      roleImage=f"execute:{PY_IMAGE}")
    for role in WORKERS:
        c = smith_container(t, services_by_name(t)[role][1])
        env = env_of(c)
        if role == "execute":
            assert env["SMITH_HANDLER_PROCESS"] == "python3 -m my_handlers"
            image = c["Image"]["Fn::Join"][1]
            assert any("mistersmith/execute-py:7" in str(part) for part in image), image
        else:
            assert "SMITH_HANDLER_PROCESS" not in env
            assert c["Image"] == "mistersmith/smith:latest"
        assert list(c["Command"]) == ["worker", "--role", role]


def test_the_role_image_is_pulled_with_rights_on_its_repository_only():
    t = template_json(env="prod", roleImage=f"execute:{PY_IMAGE}")
    policies = [r for r in t["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    pulls = [str(s["Resource"]) for p in policies
             for s in p["Properties"]["PolicyDocument"]["Statement"]
             if "ecr:BatchGetImage" in s.get("Action", [])]
    assert len(pulls) == 1 and "mistersmith/execute-py" in pulls[0], pulls


@pytest.mark.parametrize("ctx, why", [
    ({"handlerProcess": "gateway:python3 x"}, "not a worker role"),
    ({"handlerProcess": "execute"}, "is not role:value"),
    ({"roleImage": "orchestrator:img"}, "not a worker role"),
    ({"handlerProcess": "execute:  "}, "is not role:value"),
])
def test_bad_role_settings_are_refused(ctx, why):
    with pytest.raises(ValueError, match=why):
        from_context({"env": "dev", **ctx})
