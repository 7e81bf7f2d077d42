"""Handlers a real ``smith worker --handler-process`` runs in test_worker_handlers.py."""

from __future__ import annotations

import os
import time

import mistersmith
from mistersmith import Context, Fail


@mistersmith.handler("echo")
def echo(ctx: Context) -> bytes:
    return ctx.payload


@mistersmith.handler("crash_once")
def crash_once(ctx: Context) -> str:
    if ctx.attempt == 1:
        os._exit(9)  # the process dies with the task in its hands
    return f"survived, attempt {ctx.attempt}"


@mistersmith.handler("nap")
def nap(ctx: Context) -> str:
    # Sleeps; stopped early, it writes why to the file the payload names (the test's proof that
    # the cancel reached the handler itself).
    request = ctx.json()
    ms = int(request["ms"])
    end = time.monotonic() + ms / 1000
    ctx.progress(1, "started")
    while time.monotonic() < end:
        if ctx.wait_cancelled_blocking(0.02):
            if "mark" in request:
                with open(request["mark"], "w") as out:
                    out.write(str(ctx.cancel_reason))
            raise Fail(f"stopped: {ctx.cancel_reason}", error_type="cancelled")
    return f"slept {ms} ms"


if __name__ == "__main__":
    mistersmith.serve(concurrency=4)
