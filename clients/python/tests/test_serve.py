"""serve() in a real process, driven over its pipes as the worker drives it."""

from __future__ import annotations

import json
import sys
from typing import Any

from conftest import task

ECHO = [sys.executable, "-m", "mistersmith.echo"]


def test_hello_names_the_protocol_concurrency_and_types(spawn: Any) -> None:
    hello = spawn(ECHO + ["--concurrency", "3"]).hello()
    assert hello == {"kind": "hello", "protocol": 1, "concurrency": 3, "types": ["echo", "sleep"]}


def test_echo_returns_the_payload_bytes(spawn: Any) -> None:
    process = spawn(ECHO)
    process.hello()
    process.send(task(7, "echo", b"\x00hello\xff"))
    assert process.recv() == {"kind": "result", "seq": 7, "status": "succeeded",
                              "output": b"\x00hello\xff"}


def test_sleep_reports_progress_every_ten_percent(spawn: Any) -> None:
    process = spawn(ECHO)
    process.hello()
    process.send(task(1, "sleep", b'{"ms": 50}'))
    before, result = process.until_result(1)
    assert [m["percent"] for m in before if m["kind"] == "progress"] == list(range(10, 101, 10))
    assert result["status"] == "succeeded"


def test_a_cancelled_sleep_answers_failed_cancelled(spawn: Any) -> None:
    process = spawn(ECHO)
    process.hello()
    process.send(task(1, "sleep", b'{"ms": 20000}'))
    assert process.recv()["kind"] == "progress"  # it is running
    process.send({"kind": "cancel", "seq": 1, "reason": "deadline"})
    _, result = process.until_result(1)
    assert result["status"] == "failed"
    assert result["error_type"] == "cancelled"
    assert "deadline" in result["error"]


def test_a_sync_handler_sees_its_cancel(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send(task(1, "block_sync"))
    assert process.recv()["message"] == "started"
    process.send({"kind": "cancel", "seq": 1, "reason": "cancelled"})
    result = process.recv()
    assert (result["status"], result["error_type"]) == ("failed", "cancelled")
    assert "output" not in result


def test_an_async_handler_that_ignores_its_cancel_is_cancelled_after_the_grace(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send(task(1, "stubborn"))
    assert process.recv()["message"] == "started"
    process.send({"kind": "cancel", "seq": 1, "reason": "cancelled"})
    before, result = process.until_result(1)
    assert [m["level"] for m in before] == ["warn"]
    assert (result["status"], result["error_type"]) == ("failed", "cancelled")


def test_a_cancel_for_a_finished_or_unknown_seq_is_ignored(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send({"kind": "cancel", "seq": 99, "reason": "cancelled"})
    process.send(task(1, "echo", b"still here"))
    assert process.recv()["output"] == b"still here"


def test_tasks_run_at_once_up_to_concurrency_and_answer_out_of_order(spawn: Any) -> None:
    process = spawn(SAMPLE_CONCURRENCY="3")
    assert process.hello()["concurrency"] == 3
    for seq in (1, 2, 3):  # three sync handlers, each holding a pool thread until cancelled
        process.send(task(seq, "block_sync"))
    started = {process.recv()["seq"] for _ in range(3)}
    assert started == {1, 2, 3}
    process.send(task(4, "block_async"))  # async handlers do not need a pool thread
    assert process.recv() == {"kind": "log", "seq": 4, "level": "info", "message": "started"}
    for seq in (3, 1, 4, 2):
        process.send({"kind": "cancel", "seq": seq, "reason": "cancelled"})
        result = process.recv()
        assert (result["seq"], result["error_type"]) == (seq, "cancelled")


def test_an_async_task_answers_while_another_is_still_running(spawn: Any) -> None:
    process = spawn(ECHO + ["--concurrency", "2"])
    process.hello()
    process.send(task(1, "sleep", b'{"ms": 20000}'))
    process.send(task(2, "echo", b"quick"))
    _, result = process.until_result(2)
    assert result["output"] == b"quick"
    process.send({"kind": "cancel", "seq": 1, "reason": "cancelled"})
    assert process.until_result(1)[1]["error_type"] == "cancelled"


def test_fail_answers_failed_with_its_error_type(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send(task(1, "fail"))
    assert process.recv() == {"kind": "result", "seq": 1, "status": "failed",
                              "error": "the width must be positive", "error_type": "bad_input"}


def test_retry_answers_retry_with_its_error_type(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send(task(1, "retry"))
    assert process.recv() == {"kind": "result", "seq": 1, "status": "retry",
                              "error": "the disk is busy", "error_type": "busy"}


def test_any_other_exception_is_a_retry_named_after_its_class(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send(task(1, "boom"))
    before, result = process.until_result(1)
    assert result == {"kind": "result", "seq": 1, "status": "retry",
                      "error": "boom: bad value", "error_type": "ValueError"}
    (trace,) = before  # the traceback goes to the worker as a log line about the task
    assert trace["level"] == "error" and "Traceback" in trace["message"]


def test_a_payload_that_is_not_json_fails_for_good(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send(task(1, "bad_json", b"{nope"))
    result = process.recv()
    assert (result["status"], result["error_type"]) == ("failed", "bad_input")


def test_an_unknown_type_fails_with_unknown_type(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send(task(1, "resize"))
    result = process.recv()
    assert (result["status"], result["error_type"]) == ("failed", "unknown_type")
    assert "'resize'" in result["error"]


def test_the_context_carries_the_task_and_unknown_keys_are_ignored(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send(task(5, "describe", b'{"w": 64}', attempt=3, meta={"user": "ann"},
                      deadline_ms=1_700_000_060_000, from_the_future={"x": [1]}))
    result = process.recv()
    assert json.loads(result["output"]) == {
        "id": "t-5", "type": "describe", "attempt": 3, "meta": {"user": "ann"},
        "deadline": "2023-11-14T22:14:20+00:00", "payload": {"w": 64},
    }
    assert b" " not in result["output"]  # compact JSON


def test_progress_and_log_frames_come_before_the_result(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send(task(2, "chatty"))
    before, result = process.until_result(2)
    assert before == [
        {"kind": "progress", "seq": 2, "percent": 25},
        {"kind": "log", "seq": 2, "level": "info", "message": "one"},
        {"kind": "log", "seq": 2, "level": "warn", "message": "two"},
        {"kind": "progress", "seq": 2, "percent": 50, "message": "half way"},
    ]
    assert result["output"] == b"\x00\xff"


def test_outputs_str_as_utf8_and_refuses_what_json_cannot_carry(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send(task(1, "text"))
    assert process.recv()["output"] == "h\u00e9llo".encode()
    process.send(task(2, "unserializable"))
    result = process.recv()
    assert (result["status"], result["error_type"]) == ("failed", "bad_output")
    process.send(task(3, "huge"))
    result = process.recv()
    assert (result["status"], result["error_type"]) == ("failed", "output_too_large")


def test_print_in_a_handler_goes_to_stderr_not_into_the_frames(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send(task(1, "printer"))
    process.send(task(2, "echo", b"after"))
    outputs = {m["seq"]: m["output"] for m in (process.recv(), process.recv())}
    assert outputs == {1: b"printed", 2: b"after"}
    process.close_stdin()
    assert process.wait() == 0
    assert "hello from print()" in process.stderr()
    assert "hello from fd 1" in process.stderr()


def test_end_of_input_finishes_the_running_tasks_then_exits_0(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send(task(1, "work_ms", b'{"ms": 300}'))  # sync, on a pool thread
    process.send(task(2, "echo", b"x"))
    process.close_stdin()
    results = {m["seq"]: m["status"] for m in (process.recv(), process.recv())}
    assert results == {1: "succeeded", 2: "succeeded"}
    assert process.wait() == 0


def test_end_of_input_waits_for_an_async_task(spawn: Any) -> None:
    process = spawn(ECHO)
    process.hello()
    process.send(task(1, "sleep", b'{"ms": 200}'))
    process.close_stdin()
    _, result = process.until_result(1)
    assert result["status"] == "succeeded"
    assert process.wait() == 0
