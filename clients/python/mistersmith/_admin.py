"""Recurring schedules and dead letters, as task_service::schedule_* and ::dlq_* do them
(services/orchestrator/task_schedules.cpp, task_dead_letters.cpp)."""

from __future__ import annotations

import json

from ._jetstream import Link, PubAck, Stored
from ._requests import MSG_ID, SCHEDULE, SCHEDULE_TIME_ZONE, Outgoing
from ._status import final_status
from ._subjects import check_token
from ._types import DeadLetter, Firing, Schedule, ScheduleInfo
from ._wire import (MAX_META_ENTRIES, WireError, decode_dead_letter, decode_task, encode_task,
                    from_ms, parse_rfc3339)
from .errors import NotFound, NotRequeueable, ScheduleExists

MAX_SCHEDULES = 10_000
MAX_FIRINGS = 10  # SMITH_FIRINGS keeps the newest ten per schedule


def _describe(link: Link, stored: Stored) -> Schedule | None:
    parts = link.names.parse(stored.subject, "recurring")
    if parts is None:
        return None
    return Schedule(name=parts[2], role=parts[0], type=parts[1],
                    schedule=stored.header(SCHEDULE) or "",
                    time_zone=stored.header(SCHEDULE_TIME_ZONE), created=stored.time,
                    stream_seq=stored.seq)


async def find_schedule(link: Link, name: str) -> Schedule | None:
    stored = await link.last(link.names.tasks_stream, link.names.recurring_of(name))
    return None if stored is None else _describe(link, stored)


async def create_schedule(link: Link, out: Outgoing) -> Schedule:
    """Stores the schedule ``out`` (built by build_schedule); the same name again replaces it,
    under another role or type it is ScheduleExists."""
    name, role, type_ = out.task.id, out.role, out.task.type
    existing = await find_schedule(link, name)
    if existing is not None and (existing.role, existing.type) != (role, type_):
        raise ScheduleExists(
            f'schedule "{name}" exists for role {existing.role} and type {existing.type}. '
            "Hint: delete it first"
        )
    ack = await link.publish(out.subject, out.body, out.headers, outcome_id=name,
                             again="create it again; that replaces it, never adds one",
                             field_name="schedule")
    return Schedule(name=name, role=role, type=type_, schedule=out.headers[SCHEDULE],
                    time_zone=out.headers.get(SCHEDULE_TIME_ZONE), created=None,
                    stream_seq=ack.seq, replaced=existing is not None)


async def list_schedules(link: Link) -> list[Schedule]:
    out: list[Schedule] = []
    start = 1
    while len(out) < MAX_SCHEDULES:
        stored = await link.next(link.names.tasks_stream, start, link.names.all_recurring())
        if stored is None:
            break
        start = stored.seq + 1
        described = _describe(link, stored)
        if described is not None:
            out.append(described)
    return out


async def show_schedule(link: Link, name: str) -> ScheduleInfo:
    """The schedule, the next due time the server gave at its last firing, and its newest
    firings (oldest first) with the states of their tasks."""
    check_token(name, "name")
    schedule = await find_schedule(link, name)
    if schedule is None:
        raise NotFound(f'no schedule "{name}"')
    firings: list[Firing] = []
    next_due = ""
    start = 1
    for _ in range(MAX_FIRINGS):
        stored = await link.next(link.names.firings_stream, start, link.names.fired_of(name))
        if stored is None:
            break
        start = stored.seq + 1
        try:
            record = json.loads(stored.data)
        except ValueError:
            continue
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            continue
        done = await final_status(link, record["id"])
        fired_ms = record.get("fired_ms")
        firings.append(Firing(id=record["id"],
                              fired=from_ms(fired_ms if isinstance(fired_ms, int) else 0),
                              state=done.state if done is not None else "queued"))
        next_due = str(record.get("next") or "")
    return ScheduleInfo(
        schedule=schedule, next_due=next_due if next_due and next_due != "purge" else None,
        next_due_at=parse_rfc3339(next_due), last_tasks=firings,
    )


async def delete_schedule(link: Link, name: str) -> None:
    """It fires no more; the tasks it made stay."""
    check_token(name, "name")
    schedule = await find_schedule(link, name)
    if schedule is None:
        raise NotFound(f'no schedule "{name}"')
    await link.purge(link.names.tasks_stream,
                     link.names.recurring(schedule.role, schedule.type, name))


# -- dead letters --------------------------------------------------------------------------------


def _dead_letter(stored: Stored) -> DeadLetter:
    try:
        d = decode_dead_letter(stored.data)
    except WireError as err:
        return DeadLetter(seq=stored.seq, reason=f"unreadable dead letter: {err}")
    return DeadLetter(seq=stored.seq, reason=d.reason, id=d.id, role=d.role, type=d.type,
                      attempts=d.attempts, subject=d.subject, stream_seq=d.stream_seq,
                      failed=from_ms(d.failed_ms), original=d.original)


async def list_dead_letters(link: Link, limit: int, from_seq: int) -> tuple[list[DeadLetter], int]:
    """Up to ``limit`` dead letters from sequence ``from_seq`` on, and the sequence to go on
    from (``next_seq``)."""
    out: list[DeadLetter] = []
    start = max(from_seq, 1)
    while len(out) < limit:
        stored = await link.next(link.names.dlq_stream, start, link.names.all_dlq())
        if stored is None:
            break
        start = stored.seq + 1
        out.append(_dead_letter(stored))
    return out, start


async def requeue(link: Link, seq: int) -> tuple[DeadLetter, PubAck]:
    """The original task back on its subject with its attempts so far (meta
    ``prior_attempts``), its old result removed, the dead letter deleted."""
    stream = link.names.dlq_stream
    stored = await link.at(stream, seq)
    if stored is None:
        raise NotFound(f"no dead letter at sequence {seq}")
    try:
        d = decode_dead_letter(stored.data)
    except WireError as err:
        raise NotRequeueable(f"dead letter {seq} does not decode: {err}") from None
    try:
        t = decode_task(d.original)
    except WireError as err:
        raise NotRequeueable(
            f"the original task of dead letter {seq} does not decode ({err}); it can only be "
            "deleted"
        ) from None
    if not d.role or link.names.parse(link.names.task(d.role, t.type, t.id), "task") is None:
        raise NotRequeueable(f"dead letter {seq}: role {d.role!r} cannot stand in a subject")
    # The attempts so far go with it, so handlers and results count every attempt. With the
    # most meta a task may carry, that one more entry would make it undecodable for workers:
    # it would die again without a result, so it stays a dead letter here.
    if "prior_attempts" not in t.meta and len(t.meta) >= MAX_META_ENTRIES:
        raise NotRequeueable(
            f"dead letter {seq}: its task has {len(t.meta)} meta entries, the most a worker "
            "decodes, and a requeue adds prior_attempts; it can only be deleted"
        )
    t.meta["prior_attempts"] = str(d.attempts)
    headers = {MSG_ID: f"{t.id}-requeue-{seq}", "Smith-Type": t.type}
    if t.deadline_ms is not None:
        headers["Smith-Deadline"] = str(t.deadline_ms)
    # The old "dead" result would hide the new attempt from status.
    await link.purge(link.names.results_stream, link.names.result_of(t.id))
    # Its own id for dedup: the task id may still be inside the duplicate window, and a
    # repeated requeue of the same dead letter must not queue it twice.
    ack = await link.publish(
        link.names.task(d.role, t.type, t.id), encode_task(t), headers, outcome_id=t.id,
        again=f"requeue dead letter {seq} again; that never queues it twice",
    )
    await link.delete(stream, seq)
    return _dead_letter(stored), ack


async def delete_dead_letter(link: Link, seq: int) -> None:
    if not await link.delete(link.names.dlq_stream, seq):
        raise NotFound(f"no dead letter at sequence {seq}")
