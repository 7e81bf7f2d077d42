"""The messages of the handler protocol: checking what the worker sends, building what we send.

Every rule here is a line of docs/HANDLER-PROTOCOL.md; a message that breaks one is a
``ProtocolError``, which ends the process (the worker then restarts it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._framing import ProtocolError

PROTOCOL_VERSION = 1
MAX_CONCURRENCY = 1024

LogLevel = Literal["debug", "info", "warn", "error"]
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warn", "error")

Status = Literal["succeeded", "failed", "retry"]


@dataclass(frozen=True, slots=True)
class TaskMessage:
    """A ``task`` frame: one delivery of a task to this process."""

    seq: int
    id: str
    type: str
    payload: bytes
    attempt: int
    meta: dict[str, str]
    deadline_ms: int | None


@dataclass(frozen=True, slots=True)
class CancelMessage:
    """A ``cancel`` frame: the worker wants the task ``seq`` stopped."""

    seq: int
    reason: str


def _field(message: dict[str, object], key: str, *, required: bool = True) -> object:
    # A nil in an optional field is read as absent: it says "no value", as absence does.
    value = message.get(key)
    if value is None and required:
        missing = "is nil" if key in message else "is missing"
        raise ProtocolError(f"{key!r} of a {message['kind']!r} frame {missing}")
    return value


def _uint(message: dict[str, object], key: str) -> int:
    value = _field(message, key)
    # bool is an int in Python; a msgpack true is not a number on the wire.
    if type(value) is not int or value < 0:
        raise ProtocolError(
            f"{key!r} of a {message['kind']!r} frame must be an unsigned integer, not {value!r}"
        )
    return value


def _str(message: dict[str, object], key: str) -> str:
    value = _field(message, key)
    if not isinstance(value, str):
        raise ProtocolError(
            f"{key!r} of a {message['kind']!r} frame must be a str, "
            f"not a {type(value).__name__}"
        )
    return value


def _bin(message: dict[str, object], key: str) -> bytes:
    value = _field(message, key)
    if not isinstance(value, bytes):
        raise ProtocolError(
            f"{key!r} of a {message['kind']!r} frame must be msgpack bin, "
            f"not a {type(value).__name__}"
        )
    return value


def _str_map(message: dict[str, object], key: str) -> dict[str, str]:
    value = _field(message, key)
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ProtocolError(f"{key!r} of a {message['kind']!r} frame must be a map of str to str")
    # Keys are already known to be str: every map is decoded with a str-key check.
    return dict(value)


def _parse_task(message: dict[str, object]) -> TaskMessage:
    deadline = _field(message, "deadline_ms", required=False)
    if deadline is not None and type(deadline) is not int:
        raise ProtocolError(f"'deadline_ms' of a 'task' frame must be an integer, not {deadline!r}")
    return TaskMessage(
        seq=_uint(message, "seq"),
        id=_str(message, "id"),
        type=_str(message, "type"),
        payload=_bin(message, "payload"),
        attempt=_uint(message, "attempt"),
        meta=_str_map(message, "meta"),
        deadline_ms=deadline,
    )


def _parse_cancel(message: dict[str, object]) -> CancelMessage:
    reason = _field(message, "reason", required=False)
    if reason is not None and not isinstance(reason, str):
        raise ProtocolError(f"'reason' of a 'cancel' frame must be a str, not {reason!r}")
    return CancelMessage(seq=_uint(message, "seq"), reason=reason or "cancelled")


def parse_inbound(message: dict[str, object]) -> TaskMessage | CancelMessage:
    """Checks one frame from the worker and returns it typed; unknown keys are ignored."""
    kind = message.get("kind")
    if kind == "task":
        return _parse_task(message)
    if kind == "cancel":
        return _parse_cancel(message)
    if kind is None:
        raise ProtocolError("a frame has no 'kind'")
    raise ProtocolError(f"a frame from the worker has the unknown kind {kind!r}")


def hello(concurrency: int, types: list[str]) -> dict[str, object]:
    return {
        "kind": "hello",
        "protocol": PROTOCOL_VERSION,
        "concurrency": concurrency,
        "types": types,
    }


def progress(seq: int, percent: int, message: str | None) -> dict[str, object]:
    frame: dict[str, object] = {"kind": "progress", "seq": seq, "percent": percent}
    if message is not None:
        frame["message"] = message
    return frame


def log(seq: int | None, level: LogLevel, message: str) -> dict[str, object]:
    frame: dict[str, object] = {"kind": "log", "level": level, "message": message}
    if seq is not None:
        frame["seq"] = seq
    return frame


def result(
    seq: int,
    status: Status,
    *,
    output: bytes | None = None,
    error: str | None = None,
    error_type: str | None = None,
) -> dict[str, object]:
    frame: dict[str, object] = {"kind": "result", "seq": seq, "status": status}
    if output is not None:
        frame["output"] = output
    if error is not None:
        frame["error"] = error
    if error_type is not None:
        frame["error_type"] = error_type
    return frame
