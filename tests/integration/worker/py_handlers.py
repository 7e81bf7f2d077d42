"""Handlers in Python, through the SDK (clients/python), for handler_process_test.cpp.

    smith worker --handler-process 'python py_handlers.py'
"""
import os
import time

import mistersmith
from mistersmith import Context, Fail


@mistersmith.handler("echo")
def echo(ctx: Context) -> bytes:
    ctx.log.info(f"echo of {len(ctx.payload)} bytes")
    return ctx.payload


@mistersmith.handler("crash_once")
def crash_once(ctx: Context) -> str:
    # The process dies in the middle of the first attempt; the task is retried.
    if ctx.attempt == 1:
        os._exit(7)
    return f"survived, attempt {ctx.attempt}"


@mistersmith.handler("nap")
def nap(ctx: Context) -> str:
    # A blocking handler that looks at its cancel flag, as a long sync handler should.
    ms = ctx.json()["ms"]
    end = time.monotonic() + ms / 1000
    step = 1
    while time.monotonic() < end:
        if ctx.wait_cancelled_blocking(0.01):
            raise Fail(f"stopped: {ctx.cancel_reason}", error_type="cancelled")
        if time.monotonic() >= end - ms / 1000 * (1 - step / 10):
            ctx.progress(step * 10)
            step += 1
    return f"slept {ms} ms"


@mistersmith.handler("reject")
def reject(ctx: Context) -> None:
    raise Fail("no such thing", error_type="bad_input")


if __name__ == "__main__":
    mistersmith.serve(concurrency=2)
