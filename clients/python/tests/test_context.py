"""Context and the output rules, in process: what a handler author relies on."""

from __future__ import annotations

import asyncio

import pytest

import mistersmith
from mistersmith import Context, Fail


def make(payload: bytes = b"", frames: list[dict[str, object]] | None = None) -> Context:
    sink = frames if frames is not None else []

    def emit(message: dict[str, object]) -> bool:
        sink.append(message)
        return True

    return Context(id="t-1", type="resize", payload=payload, seq=4, emit=emit)


def test_progress_and_log_frames_name_the_task() -> None:
    frames: list[dict[str, object]] = []
    ctx = make(frames=frames)
    ctx.progress(99.9)
    ctx.log.error("disk full")
    assert frames == [
        {"kind": "progress", "seq": 4, "percent": 99},
        {"kind": "log", "seq": 4, "level": "error", "message": "disk full"},
    ]


@pytest.mark.parametrize("percent", [-1, 100.5, float("nan")])
def test_progress_outside_0_to_100_is_refused(percent: float) -> None:
    with pytest.raises(ValueError):
        make().progress(percent)


def test_an_unknown_log_level_is_refused() -> None:
    with pytest.raises(ValueError):
        make().log("fatal", "no such level")  # type: ignore[arg-type]


def test_json_of_a_bad_payload_fails_for_good() -> None:
    with pytest.raises(Fail) as caught:
        make(b"\xff").json()
    assert caught.value.error_type == "bad_input"


def test_wait_cancelled_times_out_or_returns_at_the_cancel() -> None:
    async def scenario() -> tuple[bool, bool]:
        ctx = make()
        timed_out = await ctx.wait_cancelled(0.01)
        asyncio.get_running_loop().call_soon(ctx._cancel, "deadline")
        return timed_out, await ctx.wait_cancelled(30)

    assert asyncio.run(scenario()) == (False, True)


def test_handler_registers_under_the_function_name_and_refuses_bad_types() -> None:
    @mistersmith.handler()
    def thumbnail_for_test(ctx: Context) -> None:
        return None

    assert mistersmith.registered_handlers()["thumbnail_for_test"] is thumbnail_for_test
    with pytest.raises(ValueError):
        mistersmith.handler("a.b")(thumbnail_for_test)
    with pytest.raises(ValueError):
        mistersmith.handler("thumbnail_for_test")(lambda ctx: None)


def test_serve_refuses_a_concurrency_outside_1_to_1024() -> None:
    with pytest.raises(ValueError):
        mistersmith.serve(concurrency=0, handlers={"echo": lambda ctx: ctx.payload})
