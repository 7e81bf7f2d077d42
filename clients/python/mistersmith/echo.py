"""Handlers for tests and benchmarks: ``python -m mistersmith.echo [--concurrency N]``.

``echo`` answers with its payload. ``sleep`` takes ``{"ms": N}``, reports progress every 10 %
and stops early, failed with ``error_type`` ``cancelled``, when the worker cancels it.
"""

from __future__ import annotations

import argparse

from ._context import Context
from ._handler import Fail
from ._serve import serve


async def echo(ctx: Context) -> bytes:
    return ctx.payload


async def sleep(ctx: Context) -> None:
    request = ctx.json()
    ms = request.get("ms") if isinstance(request, dict) else None
    if isinstance(ms, bool) or not isinstance(ms, int) or ms < 0:
        raise Fail('the payload must be {"ms": N}, N a whole number >= 0', error_type="bad_input")
    step = ms / 1000 / 10
    for tenth in range(1, 11):
        if await ctx.wait_cancelled(step):
            return  # the result says cancelled, whatever is returned
        ctx.progress(tenth * 10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mistersmith.echo", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=1,
                        help="tasks held at once, 1 to 1024 (default 1)")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 1024:
        parser.error(f"--concurrency must be from 1 to 1024, not {args.concurrency}")
    serve(args.concurrency, {"echo": echo, "sleep": sleep})


if __name__ == "__main__":
    main()
