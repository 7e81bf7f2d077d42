#!/usr/bin/env python3
"""MisterSmith on ECS Fargate: the CDK app.

    python app.py                          # synthesize both stacks (MisterSmith-dev, -prod)
    python app.py env=prod nats=external natsUrl=tls://...   # context as key=value arguments
    npx cdk deploy -c env=prod             # what the cdk CLI runs (cdk.json: "app")

Without the cdk CLI, the feature flags from cdk.json's "context" are read here, so a plain
`python app.py` synthesizes exactly what `cdk synth` would. CDK_OUTDIR picks the output folder.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import aws_cdk as cdk

from mistersmith.config import ENVIRONMENTS, from_context
from mistersmith.stack import MisterSmithStack

HERE = Path(__file__).resolve().parent


def cdk_json_context() -> dict:
    return json.loads((HERE / "cdk.json").read_text()).get("context", {})


def argv_context(args: list[str]) -> dict:
    ctx = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            sys.exit(f"app.py: arguments are context as key=value, got {arg!r}")
        ctx[key] = value
    return ctx


def build_app(context: dict | None = None, outdir: str | None = None) -> cdk.App:
    """One stack per environment, or only `env` when the context names one."""
    ctx = dict(context or {})
    if "CDK_CONTEXT_JSON" not in os.environ:  # not run by the cdk CLI: apply cdk.json ourselves
        ctx = {**cdk_json_context(), **ctx}
    app = cdk.App(context=ctx, outdir=outdir, analytics_reporting=False)
    names = [app.node.try_get_context("env")] if app.node.try_get_context("env") \
        else list(ENVIRONMENTS)
    for name in names:
        view = {k: app.node.try_get_context(k) for k in (
            "account", "region", "azs", "image", "nats", "natsUrl", "natsCredsSecret",
            "natsImage", "workerScaling", "backlogTarget", "deployment", "certificateArn",
            "albIngressCidr", "handlerProcess", "roleImage")}
        view = {k: v for k, v in view.items() if v is not None}
        view["env"] = name
        cfg = from_context(view, default_account=os.environ.get("CDK_DEFAULT_ACCOUNT"))
        # The AZs come from config, never from a lookup: pre-seed the key the VPC would look up,
        # so synth is offline and the same everywhere (`-c azs=...` changes them).
        az_key = f"availability-zones:account={cfg.account}:region={cfg.region}"
        if app.node.try_get_context(az_key) is None:
            app.node.set_context(az_key, list(cfg.availability_zones))
        MisterSmithStack(app, cfg.stack_name, cfg=cfg)
    return app


if __name__ == "__main__":
    build_app(argv_context(sys.argv[1:]), outdir=os.environ.get("CDK_OUTDIR")).synth()
