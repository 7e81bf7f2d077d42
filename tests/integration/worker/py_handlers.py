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


@mistersmith.handler("snoop")
def snoop(ctx: Context) -> dict[str, object]:
    # What a handler can read of its own environment, and of its keeper's and the worker's
    # environments and open files (credentials_test.cpp: none of the secrets).
    own = open("/proc/self/environ", "rb").read().decode(errors="replace")
    keeper = os.getppid()
    with open(f"/proc/{keeper}/stat") as stat:
        worker = int(stat.read().rsplit(")", 1)[1].split()[1])
    found: list[str] = []
    errors: list[str] = []
    for pid in (keeper, worker):
        try:
            found.append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
        except OSError as e:
            errors.append(str(e))
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                path = f"/proc/{pid}/fd/{fd}"
                if os.path.isfile(path):
                    found.append(open(path, "rb").read().decode(errors="replace"))
        except OSError as e:
            errors.append(str(e))
    return {"own_env": own, "worker": worker, "found": found, "errors": errors}


@mistersmith.handler("stubborn")
def stubborn(ctx: Context) -> str:
    # Ignores its cancel: the worker kills its process after the grace period.
    ctx.log.info("stubborn started")
    time.sleep(ctx.json()["ms"] / 1000)
    return "finished anyway"


@mistersmith.handler("reject")
def reject(ctx: Context) -> None:
    raise Fail("no such thing", error_type="bad_input")


if __name__ == "__main__":
    mistersmith.serve(concurrency=2)
