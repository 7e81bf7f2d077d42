"""Handlers that exercise serve() from the tests: run as a script, it serves them all.

SAMPLE_CONCURRENCY and SAMPLE_CANCEL_GRACE (seconds) set serve()'s arguments.
"""

from __future__ import annotations

import asyncio
import os
import time

import mistersmith
from mistersmith import Context, Fail, Retry, handler


@handler("echo")
async def echo(ctx: Context) -> bytes:
    return ctx.payload


@handler()
def block_sync(ctx: Context) -> str:
    """Runs on a pool thread until cancelled."""
    ctx.log.info("started")
    if ctx.wait_cancelled_blocking(timeout=30):
        return "this output is dropped: the task was cancelled"
    return "never cancelled"


@handler()
async def block_async(ctx: Context) -> str:
    ctx.log.info("started")
    await ctx.wait_cancelled(timeout=30)
    return "this output is dropped too"


@handler()
async def stubborn(ctx: Context) -> str:
    """Ignores its cancel: serve() cancels the coroutine after the grace period."""
    ctx.log.info("started")
    await asyncio.sleep(30)
    return "too late"


@handler()
def work_ms(ctx: Context) -> str:
    """Busy for the payload's milliseconds on a pool thread (work, not synchronisation)."""
    time.sleep(ctx.json()["ms"] / 1000)
    return "worked"


@handler()
def fail(ctx: Context) -> None:
    raise Fail("the width must be positive", error_type="bad_input")


@handler()
def retry(ctx: Context) -> None:
    raise Retry("the disk is busy", error_type="busy")


@handler()
def boom(ctx: Context) -> None:
    raise ValueError("boom: bad value")


@handler()
def bad_json(ctx: Context) -> object:
    return ctx.json()


@handler()
def printer(ctx: Context) -> str:
    print("hello from print()")
    os.write(1, b"hello from fd 1\n")
    return "printed"


@handler()
def describe(ctx: Context) -> dict[str, object]:
    return {
        "id": ctx.id,
        "type": ctx.type,
        "attempt": ctx.attempt,
        "meta": ctx.meta,
        "deadline": ctx.deadline.isoformat() if ctx.deadline else None,
        "payload": ctx.json(),
    }


@handler()
def chatty(ctx: Context) -> bytes:
    ctx.progress(25)
    ctx.log.info("one")
    ctx.log("warn", "two")
    ctx.progress(50.7, "half way")
    return b"\x00\xff"


@handler()
def text(ctx: Context) -> str:
    return "h\u00e9llo"


@handler()
def unserializable(ctx: Context) -> object:
    return {1, 2}


@handler()
def huge(ctx: Context) -> bytes:
    return b"x" * (mistersmith.MAX_FRAME_BYTES + 1)


if __name__ == "__main__":
    mistersmith.serve(
        concurrency=int(os.environ.get("SAMPLE_CONCURRENCY", "4")),
        cancel_grace=float(os.environ.get("SAMPLE_CANCEL_GRACE", "0.3")),
    )
