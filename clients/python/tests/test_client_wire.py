"""The client's codec and request checks, without NATS: the reference bytes of docs/WIRE.md
§3.4, the strict decoders, and what a submit or schedule refuses before anything is sent."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest

from mistersmith import InvalidTask
from mistersmith._requests import build_schedule, build_submit, every_text, new_task_id
from mistersmith._subjects import Names, check_token, stream_prefix
from mistersmith._wire import (Result, Task, WireError, decode_dead_letter, decode_result,
                               decode_task, encode_result, encode_task, parse_rfc3339,
                               rfc3339_ms)

# docs/WIRE.md §3.4, pinned there by tests/unit/transport/wire/envelope_test.cpp.
REFERENCE_TASK = bytes.fromhex(
    "87a17602a26964a3742d31a474797065a46563686fa77061796c6f6164c4077b"
    "226e223a317daa637265617465645f6d73cf0000018bcfe56800ab646561646c"
    "696e655f6d73cf0000018bcfe65260a46d65746181a674656e616e74a461636d65"
)
REFERENCE_RESULT = bytes.fromhex(
    "88a17602a26964a3742d31a26f6bc3a66f7574707574c40132a8617474656d70"
    "747301a6776f726b6572a27731aa737461727465645f6d73cf0000018bcfe568"
    "64ab66696e69736865645f6d73cf0000018bcfe568c8"
)
NOW = 1_700_000_000_000
NAMES = Names()


def test_a_task_encodes_to_the_reference_bytes() -> None:
    task = Task(id="t-1", type="echo", payload=b'{"n":1}', created_ms=NOW,
                deadline_ms=1_700_000_060_000, meta={"tenant": "acme"})
    assert len(REFERENCE_TASK) == 97
    assert encode_task(task) == REFERENCE_TASK
    assert decode_task(REFERENCE_TASK) == task


def test_a_result_encodes_to_the_reference_bytes() -> None:
    result = Result(id="t-1", ok=True, output=b"2", attempts=1, worker="w1",
                    started_ms=1_700_000_000_100, finished_ms=1_700_000_000_200)
    assert encode_result(result) == REFERENCE_RESULT
    assert decode_result(REFERENCE_RESULT) == result


def test_meta_is_written_in_key_byte_order_and_left_out_when_empty() -> None:
    task = Task(id="a", type="b", payload=b"", created_ms=1, meta={"z": "1", "é": "2", "a": "3"})
    assert list(msgpack.unpackb(encode_task(task))["meta"]) == ["a", "z", "é"]
    assert "meta" not in msgpack.unpackb(encode_task(Task("a", "b", b"", 1)))


def _result(**change: Any) -> bytes:
    record: dict[str, Any] = {"v": 2, "id": "t-1", "ok": False, "output": b"", "error": "x",
                              "attempts": 1, "worker": "w", "started_ms": 1, "finished_ms": 2,
                              "status": "dead"}
    record.update(change)
    body: bytes = msgpack.packb({k: v for k, v in record.items() if v is not ...},
                                use_bin_type=True)
    return body


@pytest.mark.parametrize("change, says", [
    ({"v": 1}, "unsupported wire version 1"),
    ({"v": ...}, "missing field `v`"),
    ({"output": "text"}, "field `output`: expected bin, got str"),
    ({"ok": 1}, "field `ok`: expected bool, got integer"),
    ({"attempts": 1.0}, "field `attempts`: expected integer, got float"),
    ({"attempts": -1}, "out of range"),
    ({"worker": ...}, "missing required field `worker`"),
    ({"id": "a.b"}, "must be one subject token"),
])
def test_a_result_is_decoded_strictly(change: dict[str, Any], says: str) -> None:
    with pytest.raises(WireError, match=says):
        decode_result(_result(**change))


def test_decoding_refuses_duplicate_keys_trailing_bytes_and_bad_utf8() -> None:
    with pytest.raises(WireError, match="appears twice"):
        decode_result(b"\x82\xa1v\x02\xa1v\x02")
    with pytest.raises(WireError, match="more than one msgpack object"):
        decode_result(REFERENCE_RESULT + b"\xc0")
    with pytest.raises(WireError, match="not valid UTF-8"):
        decode_result(REFERENCE_RESULT.replace(b"\xa2w1", b"\xa2\xff1"))
    assert decode_result(_result(status=None, error=None)).state == "failed"
    assert decode_result(_result(unknown_key=[1, 2])).state == "dead"


def test_a_dead_letter_decodes_with_its_original_body() -> None:
    body = msgpack.packb({"v": 2, "id": "", "role": "r", "type": "unknown", "reason": "bad",
                          "attempts": 1, "subject": "smith.task.r.x.y", "stream_seq": 9,
                          "failed_ms": NOW, "original": REFERENCE_TASK}, use_bin_type=True)
    letter = decode_dead_letter(body)
    assert (letter.id, letter.stream_seq, letter.original) == ("", 9, REFERENCE_TASK)


def test_names_follow_the_prefix() -> None:
    acme = Names("acme-prod")
    assert acme.task("r", "t", "i") == "acme-prod.task.r.t.i"
    assert acme.tasks_stream == "ACME_PROD_TASKS" and stream_prefix("smith") == "SMITH"
    assert NAMES.parse("smith.schedule.r.t.i", "schedule") == ("r", "t", "i")
    assert NAMES.parse("smith.task.r.t", "task") is None
    assert NAMES.parse("smith.task.r.t.i.j", "task") is None


def test_times_are_written_and_read_as_rfc3339_utc() -> None:
    assert rfc3339_ms(1_795_939_626_065) == "2026-11-29T08:07:06.065Z"
    assert parse_rfc3339("2026-12-06T02:03:22.554550064Z") == datetime(
        2026, 12, 6, 2, 3, 22, 554550, tzinfo=timezone.utc)
    assert parse_rfc3339("2026-11-29T08:10:46Z") == datetime(2026, 11, 29, 8, 10, 46,
                                                             tzinfo=timezone.utc)
    assert parse_rfc3339("purge") is None


def test_new_ids_are_time_ordered_tokens() -> None:
    first, second = new_task_id(), new_task_id()
    assert len(first) == 30 and first.startswith("t-") and first[:14] <= second[:14]
    check_token(first, "id")


def test_a_submit_builds_the_headers_of_the_wire_format() -> None:
    out = build_submit(NAMES, "execute", "echo", {"text": "hé"}, "id-1", None,
                       timedelta(seconds=60), {"k": "v"}, NOW)
    assert out.subject == "smith.task.execute.echo.id-1"
    assert out.headers == {"Nats-Msg-Id": "id-1", "Smith-Type": "echo",
                           "Smith-Deadline": str(NOW + 60_000)}
    assert decode_task(out.body) == Task("id-1", "echo", '{"text":"hé"}'.encode(), NOW,
                                         NOW + 60_000, {"k": "v"})
    delayed = build_submit(NAMES, "execute", "echo", b"", "id-2", 1.5, None, None, NOW)
    assert delayed.subject == "smith.schedule.execute.echo.id-2"
    assert delayed.headers["Nats-Schedule"] == "@at 2023-11-14T22:13:21.500Z"
    assert delayed.headers["Nats-Schedule-Target"] == "smith.task.execute.echo.id-2"
    assert build_submit(NAMES, "r", "t", "text", None, 0, None, None, NOW).task.payload == b"text"


@pytest.mark.parametrize("args, field", [
    (("a.b", "echo", b"", None, None, None, None), "role"),
    (("r", "", b"", None, None, None, None), "type"),
    (("r", "t", b"", "has space", None, None, None), "id"),
    (("r", "t", b"", "a/b", None, None, None), "id"),
    (("r", "t", b"", "x" * 1025, None, None, None), "id"),
    (("r", "t", b"", "\ud800", None, None, None), "id"),
    (("r", "t", {1, 2}, None, None, None, None), "payload"),
    (("r", "t", float("nan"), None, None, None, None), "payload"),
    (("r", "t", b"", None, -1, None, None), "delay"),
    (("r", "t", b"", None, 400 * 365 * 86400 * 100, None, None), "delay"),
    (("r", "t", b"", None, None, timedelta(seconds=-1), None), "deadline"),
    (("r", "t", b"", None, None, datetime(2030, 1, 1), None), "deadline"),
    (("r", "t", b"", None, None, None, {"k": 1}), "meta"),
    (("r", "t", b"", None, None, None, {str(i): "" for i in range(65)}), "meta"),
    (("r", "t", b"", None, None, None, {"k": "v" * 1025}), "meta"),
])
def test_a_submit_refuses_a_bad_field(args: tuple[Any, ...], field: str) -> None:
    role, type_, payload, task_id, delay, deadline, meta = args
    with pytest.raises(InvalidTask) as refused:
        build_submit(NAMES, role, type_, payload, task_id, delay, deadline, meta, NOW)
    assert refused.value.field == field


def test_a_schedule_takes_every_or_cron() -> None:
    out = build_schedule(NAMES, "nightly", "r", "t", "go", None, "0 30 2 * * *",
                         "Europe/Amsterdam", None, NOW)
    assert out.subject == "smith.recurring.r.t.nightly"
    assert out.headers == {"Nats-Schedule": "0 30 2 * * *", "Smith-Type": "t",
                           "Nats-Schedule-Target": "smith.task.r.t.nightly",
                           "Nats-Schedule-Time-Zone": "Europe/Amsterdam"}
    assert "Nats-Msg-Id" not in out.headers
    assert every_text("1h30m") == "1h30m" and every_text(timedelta(minutes=90)) == "1h30m"
    assert every_text(timedelta(seconds=1.5)) == "1500ms"


@pytest.mark.parametrize("every, cron, tz, field", [
    ("100ms", None, None, "every"),
    ("5x", None, None, "every"),
    ("1.5h", None, None, "every"),
    (None, None, None, "every"),
    ("5m", "0 * * * * *", None, "every"),
    (None, "0 * * * *", None, "cron"),
    (None, "0 * * * * ; rm", None, "cron"),
    ("5m", None, "UTC", "time_zone"),
    (None, "0 * * * * *", "Europe/Ams terdam", "time_zone"),
])
def test_a_schedule_refuses_a_bad_field(every: str | None, cron: str | None, tz: str | None,
                                        field: str) -> None:
    with pytest.raises(InvalidTask) as refused:
        build_schedule(NAMES, "n", "r", "t", b"", every, cron, tz, None, NOW)
    assert refused.value.field == field
