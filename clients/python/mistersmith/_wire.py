"""The msgpack records of docs/WIRE.md §3 (task, result, dead letter), written byte for byte as
the C++ encoder writes them (transport/wire/envelope.cpp) and read as strictly as its decoder:
wrong version, missing or mistyped field, duplicate key, text that is not UTF-8."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn

import json

import msgpack  # type: ignore[import-untyped]

from ._subjects import _SUBJECT_BAD

WIRE_VERSION = 2
MAX_BODY_BYTES = 1024 * 1024  # the decoders' default (decode_limits::max_body_bytes)
MAX_META_ENTRIES = 64
MAX_STRING_BYTES = 1024
_MAX_KEYS = MAX_META_ENTRIES + 64  # what the C++ unpacker allows a map header to claim
_U32 = 2**32 - 1
_I64 = 2**63 - 1


class WireError(ValueError):
    """A body that does not decode; the message says which field is wrong."""


@dataclass
class Task:
    id: str
    type: str
    payload: bytes
    created_ms: int
    deadline_ms: int | None = None
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    id: str
    ok: bool
    output: bytes
    attempts: int
    worker: str
    started_ms: int
    finished_ms: int
    error: str | None = None
    status: str | None = None

    @property
    def state(self) -> str:
        """Its status, else succeeded or failed (task_service.cpp, state_of)."""
        if self.status is not None:
            return self.status
        return "succeeded" if self.ok else "failed"


@dataclass
class DeadLetter:
    id: str
    role: str
    type: str
    reason: str
    attempts: int
    subject: str
    stream_seq: int
    failed_ms: int
    original: bytes


# -- encoding ------------------------------------------------------------------------------------
# msgpack-python writes a dict in insertion order, each integer in its smallest form (unsigned
# when not negative) and bytes as bin: what msgpack-c writes for the C++ records.


def _pack(record: dict[str, Any]) -> bytes:
    body: bytes = msgpack.packb(record, use_bin_type=True)
    return body


def encode_task(t: Task) -> bytes:
    record: dict[str, Any] = {
        "v": WIRE_VERSION, "id": t.id, "type": t.type, "payload": bytes(t.payload),
        "created_ms": t.created_ms,
    }
    if t.deadline_ms is not None:
        record["deadline_ms"] = t.deadline_ms
    if t.meta:
        # std::map order: by the keys' bytes.
        keys = sorted(t.meta, key=lambda k: k.encode("utf-8"))
        record["meta"] = {k: t.meta[k] for k in keys}
    return _pack(record)


def encode_result(r: Result) -> bytes:
    record: dict[str, Any] = {"v": WIRE_VERSION, "id": r.id, "ok": r.ok, "output": r.output}
    if r.error is not None:
        record["error"] = r.error
    record.update(
        attempts=r.attempts, worker=r.worker, started_ms=r.started_ms, finished_ms=r.finished_ms
    )
    if r.status is not None:
        record["status"] = r.status
    return _pack(record)


# -- decoding ------------------------------------------------------------------------------------


class _DuplicateKey(Exception):
    pass


def _unique(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _Reader:
    """The fields of one record, checked one by one; the first failure names its field."""

    def __init__(self, body: bytes, record: str) -> None:
        self.record = record
        if len(body) > MAX_BODY_BYTES:
            self.fail(f"the body is {len(body)} bytes, over the limit of {MAX_BODY_BYTES}")
        if not body:
            self.fail("the body is empty; expected a msgpack map (docs/WIRE.md)")
        try:
            root = msgpack.unpackb(
                body, raw=False, strict_map_key=False, object_pairs_hook=_unique,
                max_map_len=_MAX_KEYS, max_array_len=_MAX_KEYS,
            )
        except _DuplicateKey as err:
            self.fail(f"field `{str(err.args[0])[:64]}` appears twice; every key must be unique")
        except UnicodeDecodeError as err:
            self.fail(f"a str is not valid UTF-8 (byte {err.start})")
        except msgpack.ExtraData:
            self.fail("the body holds more than one msgpack object")
        except (ValueError, TypeError) as err:
            self.fail(f"the body is not msgpack (docs/WIRE.md): {err}")
        if not isinstance(root, dict):
            self.fail(f"the body is a msgpack {type(root).__name__}, expected a map")
        for key in root:
            if not isinstance(key, str):
                self.fail(f"key {key!r} is a {type(key).__name__}; every key must be a str")
        self.fields: dict[str, Any] = root
        version = root.get("v")
        if version is None:
            self.fail(f"missing field `v` (the wire version); this client reads {WIRE_VERSION}")
        if not _is_int(version) or version != WIRE_VERSION:
            self.fail(f"unsupported wire version {version!r}; this client reads {WIRE_VERSION}")

    def fail(self, message: str) -> NoReturn:
        raise WireError(f"{self.record}: {message}")

    def _get(self, key: str, optional: bool) -> Any:
        value = self.fields.get(key)
        if value is None and not optional:
            self.fail(f"missing required field `{key}`")
        return value

    def text(self, key: str, rule: str = "token", optional: bool = False) -> Any:
        value = self._get(key, optional)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(f"field `{key}`: expected str, got {_kind(value)}")
        if rule != "any" and len(value.encode("utf-8")) > MAX_STRING_BYTES:
            self.fail(f"field `{key}`: over the limit of {MAX_STRING_BYTES} bytes")
        if rule == "token" and (not value or set(value) & _SUBJECT_BAD):
            self.fail(f"field `{key}`: {value!r} must be one subject token")
        return value

    def blob(self, key: str) -> bytes:
        value = self._get(key, False)
        if not isinstance(value, bytes):
            self.fail(f"field `{key}`: expected bin, got {_kind(value)}")
        return bytes(value)

    def flag(self, key: str) -> bool:
        value = self._get(key, False)
        if not isinstance(value, bool):
            self.fail(f"field `{key}`: expected bool, got {_kind(value)}")
        return bool(value)

    def integer(self, key: str, low: int = -_I64 - 1, high: int = _I64,
                optional: bool = False) -> Any:
        value = self._get(key, optional)
        if value is None:
            return None
        if not _is_int(value):
            self.fail(f"field `{key}`: expected integer, got {_kind(value)}")
        if not low <= value <= high:
            self.fail(f"field `{key}`: {value} is out of range ({low} to {high})")
        return value

    def meta(self, key: str) -> dict[str, str]:
        value = self._get(key, True)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(f"field `{key}`: expected map, got {_kind(value)}")
        if len(value) > MAX_META_ENTRIES:
            self.fail(f"field `{key}`: {len(value)} entries, over the limit of {MAX_META_ENTRIES}")
        for k, v in value.items():
            if not isinstance(k, str) or not isinstance(v, str):
                self.fail(f"field `{key}`: every key and value must be a str")
            if max(len(k.encode()), len(v.encode())) > MAX_STRING_BYTES:
                self.fail(f"field `{key}`: a key or value is over {MAX_STRING_BYTES} bytes")
        return dict(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: object) -> str:
    names: Mapping[type, str] = {str: "str", bytes: "bin", bool: "bool", float: "float",
                                 dict: "map", list: "array", type(None): "nil"}
    return "integer" if _is_int(value) else names.get(type(value), type(value).__name__)


def decode_task(body: bytes) -> Task:
    r = _Reader(body, "task")
    return Task(
        id=r.text("id"), type=r.text("type"), payload=r.blob("payload"),
        created_ms=r.integer("created_ms"), deadline_ms=r.integer("deadline_ms", optional=True),
        meta=r.meta("meta"),
    )


def decode_result(body: bytes) -> Result:
    r = _Reader(body, "result")
    return Result(
        id=r.text("id"), ok=r.flag("ok"), output=r.blob("output"),
        error=r.text("error", "any", optional=True), attempts=r.integer("attempts", 0, _U32),
        worker=r.text("worker", "bounded"), started_ms=r.integer("started_ms"),
        finished_ms=r.integer("finished_ms"), status=r.text("status", "bounded", optional=True),
    )


def decode_dead_letter(body: bytes) -> DeadLetter:
    r = _Reader(body, "dead letter")
    return DeadLetter(
        id=r.text("id", "bounded"), role=r.text("role", "bounded"), type=r.text("type", "bounded"),
        reason=r.text("reason", "any"), attempts=r.integer("attempts", 0, _U32),
        subject=r.text("subject", "any"), stream_seq=r.integer("stream_seq", 0, 2**64 - 1),
        failed_ms=r.integer("failed_ms"), original=r.blob("original"),
    )


# -- times ---------------------------------------------------------------------------------------


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_FIRST = datetime.min.replace(tzinfo=timezone.utc)
_LAST = datetime.max.replace(tzinfo=timezone.utc)


def from_ms(ms: int) -> datetime:
    """Unix milliseconds as an aware UTC datetime (clamped to what a datetime holds)."""
    try:
        return _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return _FIRST if ms < 0 else _LAST


def to_ms(when: datetime) -> int:
    return round(when.timestamp() * 1000)


def rfc3339_ms(ms: int) -> str:
    """2026-11-29T07:31:28.387Z, as transport::rfc3339_ms writes it."""
    secs, frac = divmod(ms, 1000)
    whole = datetime.fromtimestamp(secs, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{frac:03d}Z"


def parse_rfc3339(text: str) -> datetime | None:
    """A UTC RFC 3339 time with any number of fraction digits (Nats-Time-Stamp has 9); None
    when it is not one."""
    if len(text) < 20 or not text.endswith("Z"):
        return None
    whole, _, frac = text[:-1].partition(".")
    if frac and not frac.isdigit():
        return None
    try:
        base = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return base.replace(microsecond=int((frac + "000000")[:6])) if frac else base


def json_compact(value: object, default: Callable[[object], object] | None = None) -> bytes:
    """Compact JSON text as UTF-8, the form the API gives a JSON payload."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      default=default).encode("utf-8")

