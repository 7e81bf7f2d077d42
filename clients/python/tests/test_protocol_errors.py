"""What the worker must never send: serve() treats it as fatal and exits non-zero."""

from __future__ import annotations

import struct
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest

from conftest import frame, task

MAX = 16 * 1024 * 1024


def body(raw: bytes) -> bytes:
    return struct.pack(">I", len(raw)) + raw


BAD_INPUT = {
    "length 0": struct.pack(">I", 0),
    "length over 16 MiB": struct.pack(">I", MAX + 1),
    "body that is an int": body(msgpack.packb(5)),
    "body that is an array": body(msgpack.packb([{"kind": "task"}])),
    "two objects in one body": body(msgpack.packb({"kind": "cancel", "seq": 1}) + b"\xc0"),
    "body that is not msgpack": body(b"\xc1"),
    "a key that is not a str": body(msgpack.packb({"kind": "cancel", 1: 2})),
    "a key twice": body(b"\x83\xa4kind\xa6cancel\xa3seq\x01\xa3seq\x02"),
    "no kind": frame({"seq": 1}),
    "an unknown kind": frame({"kind": "resize", "seq": 1}),
    "a seq that is a str": frame(task(1, "echo") | {"seq": "1"}),
    "a seq that is a bool": frame(task(1, "echo") | {"seq": True}),
    "a payload that is a str": frame(task(1, "echo") | {"payload": "text"}),
    "a task without attempt": frame({k: v for k, v in task(1, "echo").items() if k != "attempt"}),
    "meta with a non-str value": frame(task(1, "echo") | {"meta": {"n": 1}}),
    "a cancel with a negative seq": frame({"kind": "cancel", "seq": -1}),
    "input that ends inside a frame": struct.pack(">I", 10) + b"\x81",
}


@pytest.mark.parametrize("data", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_a_protocol_error_on_stdin_exits_non_zero(spawn: Any, data: bytes) -> None:
    process = spawn()
    process.hello()
    process.send_raw(data)
    process.close_stdin()
    assert process.wait() == 2
    assert "protocol error" in process.stderr()


def test_a_second_task_with_a_running_seq_is_a_protocol_error(spawn: Any) -> None:
    process = spawn()
    process.hello()
    process.send(task(1, "block_sync"))
    assert process.recv()["message"] == "started"
    process.send(task(1, "echo"))
    assert process.wait() == 2  # without waiting for the blocked handler thread
    assert "reuses seq 1" in process.stderr()
