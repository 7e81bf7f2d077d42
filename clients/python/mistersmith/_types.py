"""What the client hands back: results, states, progress, schedules and dead letters. Times
are aware UTC datetimes; bytes stay bytes (``text()`` and ``json()`` decode them)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ._wire import Result, from_ms, to_ms

State = Literal["scheduled", "queued", "running", "succeeded", "failed", "dead", "cancelled"]
FINAL_STATES: frozenset[str] = frozenset({"succeeded", "failed", "dead", "cancelled"})


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class TaskResult:
    """How a task ended: its last result (docs/WIRE.md §3.2).

    ``status`` is ``succeeded``, ``failed``, ``dead`` (used up its attempts; a dead letter
    exists) or ``cancelled``; ``ok`` is true for ``succeeded`` only."""

    id: str
    ok: bool
    output: bytes
    error: str | None
    status: str
    attempts: int
    worker: str
    started: datetime
    finished: datetime

    @classmethod
    def from_wire(cls, r: Result) -> TaskResult:
        return cls(id=r.id, ok=r.ok, output=r.output, error=r.error, status=r.state,
                   attempts=r.attempts, worker=r.worker, started=from_ms(r.started_ms),
                   finished=from_ms(r.finished_ms))

    @classmethod
    def unreadable(cls, task_id: str, why: str, stored: datetime | None) -> TaskResult:
        """A stored result that does not decode, which status reports as failed."""
        when = stored or from_ms(0)
        return cls(id=task_id, ok=False, output=b"", error=f"unreadable result: {why}",
                   status="failed", attempts=0, worker="", started=when, finished=when)

    def text(self) -> str:
        """The output as text (UTF-8; bytes that are not become U+FFFD)."""
        return _text(self.output)

    def json(self) -> Any:
        """The output parsed as JSON (ValueError when it is not)."""
        return json.loads(self.output)


@dataclass(frozen=True)
class Progress:
    """A handler's progress report (``ctx.progress()``; docs/WIRE.md §8)."""

    percent: int
    message: str
    at: datetime | None = None


@dataclass(frozen=True)
class TaskStatus:
    """A task's state, with the fields docs/API.md gives that state: a finished task has
    ``attempts``, ``worker``, ``started``, ``finished``, ``output`` and ``error``; a queued or
    running one (as the streams tell it) ``role``, ``type``, ``stream_seq`` and ``queued``; a
    scheduled (delayed) one ``role``, ``type``, ``stream_seq``, ``due`` (RFC 3339, as the
    schedule says it) and ``due_at``."""

    id: str
    state: str
    role: str | None = None
    type: str | None = None
    stream_seq: int | None = None
    queued: datetime | None = None
    due: str | None = None
    due_at: datetime | None = None
    attempts: int | None = None
    worker: str | None = None
    started: datetime | None = None
    finished: datetime | None = None
    output: bytes | None = None
    error: str | None = None
    progress: Progress | None = None

    @property
    def done(self) -> bool:
        """Whether the task has ended (succeeded, failed, dead or cancelled)."""
        return self.state in FINAL_STATES

    def text(self) -> str | None:
        return None if self.output is None else _text(self.output)

    def as_json(self) -> dict[str, Any]:
        """The JSON document ``GET /v1/tasks/{id}`` and ``smith status --json`` give."""
        out: dict[str, Any] = {"id": self.id, "state": self.state}
        simple = {"role": self.role, "type": self.type, "stream_seq": self.stream_seq,
                  "due": self.due, "attempts": self.attempts, "worker": self.worker,
                  "error": self.error}
        out.update({k: v for k, v in simple.items() if v is not None})
        times = {"queued_ms": self.queued, "due_ms": self.due_at, "started_ms": self.started,
                 "finished_ms": self.finished}
        out.update({k: to_ms(v) for k, v in times.items() if v is not None})
        if self.output is not None:
            try:
                out["output"] = self.output.decode("utf-8")
            except UnicodeDecodeError:
                out["output_base64"] = base64.b64encode(self.output).decode()
        if self.progress is not None:
            out["progress"] = {"percent": self.progress.percent, "message": self.progress.message}
        return out


@dataclass(frozen=True)
class DeadLetter:
    """A task that will not be retried (docs/WIRE.md §3.3). ``seq`` is its sequence in the
    dead-letter stream (what requeue and delete take), ``stream_seq`` the task's in the tasks
    stream. One that does not decode has only ``seq`` and a ``reason`` saying why."""

    seq: int
    reason: str
    id: str = ""
    role: str = ""
    type: str = ""
    attempts: int = 0
    subject: str = ""
    stream_seq: int = 0
    failed: datetime | None = None
    original: bytes = b""


@dataclass(frozen=True)
class Schedule:
    """A recurring schedule (docs/WIRE.md §2.3): ``schedule`` is ``@every <duration>`` or the
    six cron fields, ``time_zone`` the cron's IANA zone (None: UTC). ``replaced`` says whether
    creating it replaced one of the same name."""

    name: str
    role: str
    type: str
    schedule: str
    time_zone: str | None
    created: datetime | None
    stream_seq: int
    replaced: bool = False


@dataclass(frozen=True)
class Firing:
    """One firing of a recurring schedule: the task it made and that task's state now."""

    id: str
    fired: datetime
    state: str


@dataclass(frozen=True)
class ScheduleInfo:
    """A schedule with what the server said at its last firing: when the next is due, and the
    newest firings (at most ten, oldest first)."""

    schedule: Schedule
    next_due: str | None = None
    next_due_at: datetime | None = None
    last_tasks: list[Firing] = field(default_factory=list)
