"""Submit and schedule requests checked field by field before anything is sent, in the order
and with the limits of the API (services/orchestrator/submit_request.cpp, schedule_request.cpp),
then built into the message docs/WIRE.md describes (transport/publisher.cpp, task_message)."""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ._subjects import Names, check_token, utf8
from ._wire import MAX_META_ENTRIES, MAX_STRING_BYTES, Task, encode_task, json_compact, rfc3339_ms
from .errors import InvalidTask

Payload = object  # bytes as they are, a str as its text, anything else as its compact JSON
Delay = timedelta | float | int
Deadline = datetime | timedelta

LAST_DUE_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: an RFC 3339 time has 4 digits
MAX_SCHEDULE_NAME_BYTES = 1000  # room for the firing ids, <name>-<YYYYMMDDTHHMMSSZ>

MSG_ID = "Nats-Msg-Id"
SMITH_TYPE = "Smith-Type"
DEADLINE = "Smith-Deadline"
SCHEDULE = "Nats-Schedule"
SCHEDULE_TARGET = "Nats-Schedule-Target"
SCHEDULE_TIME_ZONE = "Nats-Schedule-Time-Zone"


def unix_ms() -> int:
    return time.time_ns() // 1_000_000


def new_task_id() -> str:
    """"t-" + 12 hex digits of unix ms + 16 random hex digits (task_ids.cpp): sortable by
    creation time, unique without coordination."""
    return f"t-{unix_ms():012x}{secrets.token_hex(8)}"


@dataclass
class Outgoing:
    """A message to publish, and what it carries."""

    role: str
    task: Task
    subject: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def size(self) -> int:
        """What the server counts against max_msg_size: the body and the header block
        ("NATS/1.0\\r\\n", a "key: value\\r\\n" line each and a closing "\\r\\n")."""
        return len(self.body) + 12 + sum(
            len(k.encode()) + len(v.encode()) + 4 for k, v in self.headers.items()
        )


def payload_bytes(payload: Payload) -> bytes:
    """Bytes as they are, a str as its UTF-8 text, anything else as its compact JSON."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return utf8(payload, "payload")
    try:
        return json_compact(payload)
    except (TypeError, ValueError, RecursionError) as err:
        raise InvalidTask(
            "payload", f"give bytes, a str or a JSON-serializable value ({err})"
        ) from None


def check_payload_size(payload: bytes, max_msg_bytes: int) -> None:
    """Room for the envelope and headers, as request_payload: half of a small limit."""
    limit = max_msg_bytes - min(4096, max_msg_bytes // 2)
    if len(payload) > limit:
        raise InvalidTask(
            "payload",
            f"{len(payload)} bytes; at most {limit} fit in a task (SMITH_MAX_MSG_BYTES is "
            f"{max_msg_bytes}). Hint: store large inputs elsewhere and pass a reference",
        )


def check_meta(meta: Mapping[str, str] | None) -> dict[str, str]:
    if meta is None:
        return {}
    if not isinstance(meta, Mapping):
        raise InvalidTask("meta", "must be a mapping of str to str")
    if len(meta) > MAX_META_ENTRIES:
        raise InvalidTask("meta", f"{len(meta)} entries; at most {MAX_META_ENTRIES}")
    out: dict[str, str] = {}
    for key, value in meta.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidTask("meta", f"{key!r}: keys and values must be str")
        if max(len(utf8(key, "meta")), len(utf8(value, "meta"))) > MAX_STRING_BYTES:
            raise InvalidTask("meta", f"a key or value is over {MAX_STRING_BYTES} bytes")
        out[key] = value
    return out


def _delay_ms(delay: Delay | None) -> int:
    if delay is None:
        return 0
    if isinstance(delay, timedelta):
        seconds = delay.total_seconds()
    elif isinstance(delay, (int, float)) and not isinstance(delay, bool):
        seconds = float(delay)
    else:
        raise InvalidTask("delay", f"give a timedelta or seconds, got {type(delay).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidTask("delay", "must be a finite duration, not negative")
    return round(seconds * 1000)


def _deadline_ms(deadline: Deadline | None, now_ms: int) -> int | None:
    if deadline is None:
        return None
    if isinstance(deadline, timedelta):
        at = now_ms + round(deadline.total_seconds() * 1000)
    elif isinstance(deadline, datetime):
        if deadline.tzinfo is None or deadline.utcoffset() is None:
            raise InvalidTask("deadline", "give an aware datetime (with tzinfo) or a timedelta")
        at = round(deadline.timestamp() * 1000)
    else:
        raise InvalidTask("deadline",
                          f"give a datetime or timedelta, got {type(deadline).__name__}")
    if at <= now_ms:
        raise InvalidTask("deadline", "must be in the future")
    return at


def build_submit(names: Names, role: str, type_: str, payload: Payload, task_id: str | None,
                 delay: Delay | None, deadline: Deadline | None,
                 meta: Mapping[str, str] | None, now_ms: int) -> Outgoing:
    """The task message of a submit, or InvalidTask naming the first field that is wrong."""
    check_token(role, "role")
    check_token(type_, "type")
    task_id = new_task_id() if task_id is None else check_token(task_id, "id")
    body = payload_bytes(payload)
    deadline_ms = _deadline_ms(deadline, now_ms)
    delay_ms = _delay_ms(delay)
    if delay_ms > LAST_DUE_MS - now_ms:
        raise InvalidTask("delay", "too large: the task would be due after the year 9999")
    task = Task(id=task_id, type=type_, payload=body, created_ms=now_ms,
                deadline_ms=deadline_ms, meta=check_meta(meta))
    out = Outgoing(role, task, names.task(role, type_, task_id), encode_task(task))
    out.headers[MSG_ID] = task_id
    out.headers[SMITH_TYPE] = type_
    if deadline_ms is not None:
        out.headers[DEADLINE] = str(deadline_ms)
    if delay_ms > 0:
        # A message schedule the server publishes to the task subject when due (§2.1).
        out.headers[SCHEDULE] = "@at " + rfc3339_ms(now_ms + delay_ms)
        out.headers[SCHEDULE_TARGET] = out.subject
        out.subject = names.schedule(role, type_, task_id)
    return out


# -- recurring schedules -------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
_CRON_CHARS = re.compile(r"[A-Za-z0-9*/,\-? ]*")
_TIME_ZONE = re.compile(r"[A-Za-z0-9/_\-+]{1,64}")


def every_text(every: str | timedelta) -> str:
    """A Go duration as the server's @every takes it ("90s", "5m", "1h30m"), at least 1 s."""
    if isinstance(every, timedelta):
        ms = round(every.total_seconds() * 1000)
        if ms < 1000:
            raise InvalidTask("every", f"{every} is shorter than the 1s a schedule can fire")
        if ms % 1000:
            return f"{ms}ms"
        h, rest = divmod(ms // 1000, 3600)
        m, s = divmod(rest, 60)
        return "".join(f"{n}{u}" for n, u in ((h, "h"), (m, "m"), (s, "s")) if n) or "0s"
    if not isinstance(every, str):
        raise InvalidTask("every",
                          f'give a str such as "5m" or a timedelta, got {type(every).__name__}')
    at, total = 0, 0
    while at < len(every):
        part = _DURATION_PART.match(every, at)
        if part is None:
            raise InvalidTask("every", f'"{every}" is not a duration such as 30s, 5m or 1h30m')
        if len(part.group(1)) > 9:
            raise InvalidTask("every", f'"{every}" is too long')
        total += int(part.group(1)) * _UNIT_MS[part.group(2)]
        at = part.end()
    if total < 1000:
        raise InvalidTask("every", f'"{every}" is shorter than the 1s a schedule can fire')
    return every


def cron_text(cron: str) -> str:
    """Six fields, seconds first ("0 30 2 * * *" is 02:30:00 every day); the server checks
    the rest."""
    if not isinstance(cron, str) or not _CRON_CHARS.fullmatch(cron):
        raise InvalidTask("cron", f'"{cron}" has a character a cron field cannot have')
    if len(cron.split()) != 6:
        raise InvalidTask(
            "cron", f'"{cron}" must have six fields, seconds first: "0 30 2 * * *" is 02:30:00 '
            "every day",
        )
    return cron


def build_schedule(names: Names, name: str, role: str, type_: str, payload: Payload,
                   every: str | timedelta | None, cron: str | None, time_zone: str | None,
                   meta: Mapping[str, str] | None, now_ms: int) -> Outgoing:
    """The message of a recurring schedule (§2.3): a task body whose id is the name, on
    <prefix>.recurring.<role>.<type>.<name>, without Nats-Msg-Id (publishing again under the
    same subject replaces it)."""
    check_token(name, "name", MAX_SCHEDULE_NAME_BYTES)
    check_token(role, "role")
    check_token(type_, "type")
    if (every is None) == (cron is None):
        raise InvalidTask("every", 'give `every` (e.g. "5m") or `cron`, one of them')
    when = "@every " + every_text(every) if every is not None else cron_text(str(cron))
    if time_zone is not None:
        if cron is None:
            raise InvalidTask("time_zone", "goes with `cron` only")
        if not isinstance(time_zone, str) or not _TIME_ZONE.fullmatch(time_zone):
            raise InvalidTask("time_zone", f"{time_zone!r} is not an IANA name such as "
                                           "Europe/Amsterdam")
    task = Task(id=name, type=type_, payload=payload_bytes(payload), created_ms=now_ms,
                meta=check_meta(meta))
    out = Outgoing(role, task, names.recurring(role, type_, name), encode_task(task))
    out.headers[SCHEDULE] = when
    out.headers[SCHEDULE_TARGET] = names.task(role, type_, name)
    out.headers[SMITH_TYPE] = type_
    if time_zone is not None:
        out.headers[SCHEDULE_TIME_ZONE] = time_zone
    return out
