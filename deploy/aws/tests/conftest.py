"""Synthesizes the app in-process, once per context, and hands out the templates."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

APP_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(APP_DIR))

from app import build_app  # noqa: E402
from mistersmith.config import from_context  # noqa: E402

# The options the issue asks for, all switched away from their defaults at once.
OPTIONS = {
    "nats": "external",
    "natsUrl": "tls://connect.example.net:4222",
    "workerScaling": "steps",
    "deployment": "bluegreen",
    "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mistersmith/smith:1.2.3",
}


@functools.lru_cache(maxsize=None)
def _synth(items: tuple[tuple[str, str], ...]) -> dict:
    ctx = dict(items)
    app = build_app(ctx)
    cfg = from_context(ctx)
    stack = app.node.find_child(cfg.stack_name)
    return Template.from_stack(stack).to_json()


def synth(**ctx: str) -> Template:
    return Template.from_json(_synth(tuple(sorted(ctx.items()))))


def template_json(**ctx: str) -> dict:
    return _synth(tuple(sorted(ctx.items())))


@pytest.fixture(scope="session")
def prod() -> Template:
    return synth(env="prod")


@pytest.fixture(scope="session")
def prod_json() -> dict:
    return template_json(env="prod")


@pytest.fixture(scope="session")
def dev_json() -> dict:
    return template_json(env="dev")


@pytest.fixture(scope="session")
def options() -> Template:
    return synth(env="prod", **OPTIONS)


@pytest.fixture(scope="session")
def options_json() -> dict:
    return template_json(env="prod", **OPTIONS)


@pytest.fixture(scope="session", params=["prod", "dev", "prod-options", "dev-options"])
def any_template(request) -> dict:
    """Every variant: properties that must hold whatever the options."""
    env, _, opts = request.param.partition("-")
    return template_json(env=env, **(OPTIONS if opts else {}))
