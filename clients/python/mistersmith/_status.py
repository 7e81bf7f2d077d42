"""Status and cancel of one task, read from the streams as task_service::status and ::cancel
do without an orchestrator's tracker (services/orchestrator/task_status.cpp, task_cancel.cpp):
its last result, its message schedule, its queued message and the role consumer's delivered
sequence; one request each, whatever the queue depth."""

from __future__ import annotations

from dataclasses import dataclass

from ._jetstream import Link, PubAck, Stored
from ._subjects import check_token
from ._types import Progress, TaskResult, TaskStatus
from ._wire import Result, WireError, decode_result, encode_result, from_ms, parse_rfc3339
from ._requests import MSG_ID, unix_ms
from .errors import AlreadyFinished, NotFound

CANCELLER = "orchestrator"  # the worker name of a cancelled result nobody ran (as the C++ API)


def read_result(task_id: str, stored: Stored) -> TaskResult:
    """A stored result; one that does not decode reads as failed, saying why."""
    try:
        return TaskResult.from_wire(decode_result(stored.data))
    except WireError as err:
        return TaskResult.unreadable(task_id, str(err), stored.time)


async def final_status(link: Link, task_id: str) -> TaskStatus | None:
    """The state of an ended task: its last message on <prefix>.result.*.<id>."""
    stored = await link.last(link.names.results_stream, link.names.result_of(task_id))
    if stored is None:
        return None
    try:
        r = decode_result(stored.data)
    except WireError as err:
        return TaskStatus(id=task_id, state="failed", error=f"unreadable result: {err}")
    return TaskStatus(id=task_id, state=r.state, attempts=r.attempts, worker=r.worker,
                      started=from_ms(r.started_ms), finished=from_ms(r.finished_ms),
                      output=r.output, error=r.error)


@dataclass
class Found:
    """A task's message in the tasks stream: queued (``kind`` "task") or delayed ("schedule")."""

    seq: int
    role: str
    type: str
    stored: Stored


async def _last_task(link: Link, filter_subject: str, kind: str) -> Found | None:
    stored = await link.last(link.names.tasks_stream, filter_subject)
    if stored is None:
        return None
    parts = link.names.parse(stored.subject, kind)
    if parts is None:
        return None
    return Found(stored.seq, parts[0], parts[1], stored)


async def find_scheduled(link: Link, task_id: str) -> Found | None:
    return await _last_task(link, link.names.schedule_of(task_id), "schedule")


async def find_queued(link: Link, task_id: str) -> tuple[Found, bool] | None:
    """The queued message and whether its role's consumer has delivered it (then it runs)."""
    found = await _last_task(link, link.names.task_of(task_id), "task")
    if found is None:
        return None
    delivered = await link.delivered_seq(found.role)
    return found, delivered is not None and delivered >= found.seq


def _due(found: Found) -> str:
    when = found.stored.header("Nats-Schedule") or ""
    return when[4:] if when.startswith("@at ") else when


async def status(link: Link, task_id: str, progress: Progress | None = None) -> TaskStatus:
    """{id, state, ...}: a final result, else a delayed, queued or delivered (running) task;
    NotFound when none of them. ``progress``, when the caller saw some, goes with running."""
    check_token(task_id, "id")
    done = await final_status(link, task_id)
    if done is not None:
        return done
    sched = await find_scheduled(link, task_id)
    if sched is not None:
        due = _due(sched)
        return TaskStatus(id=task_id, state="scheduled", role=sched.role, type=sched.type,
                          stream_seq=sched.seq, due=due, due_at=parse_rfc3339(due))
    queued = await find_queued(link, task_id)
    if queued is not None:
        found, delivered = queued
        return TaskStatus(id=task_id, state="running" if delivered else "queued",
                          role=found.role, type=found.type, stream_seq=found.seq,
                          queued=found.stored.time, progress=progress if delivered else None)
    # It may have finished between the reads.
    done = await final_status(link, task_id)
    if done is not None:
        return done
    raise NotFound(
        f'no task "{task_id}": not queued, not running, and no result (results are kept for '
        "SMITH_RESULTS_MAX_AGE)"
    )


def cancelled_result(task_id: str) -> Result:
    """The result a cancel stores when no worker does."""
    now = unix_ms()
    return Result(id=task_id, ok=False, output=b"", attempts=0, worker=CANCELLER,
                  started_ms=now, finished_ms=now, error="cancelled", status="cancelled")


async def store_cancelled(link: Link, role: str, task_id: str, task_seq: int) -> PubAck:
    """Stored under the result Nats-Msg-Id of the task's sequence, ``result-<seq>``: of this
    and a worker's result for the same delivery, the first stored stays."""
    return await link.publish(
        link.names.result(role, task_id), encode_result(cancelled_result(task_id)),
        {MSG_ID: f"result-{task_seq}"}, outcome_id=task_id,
        again="cancel again; a second cancel stores nothing twice",
    )


async def cancel(link: Link, task_id: str) -> str:
    """Stops a task: a scheduled or queued one never runs ("cancelled"); a running one's
    worker is told and stops it. Returns the state: "cancelled", or "cancelling" when its
    message was gone already (its worker is ending it)."""
    check_token(task_id, "id")
    done = await final_status(link, task_id)
    if done is not None:
        raise AlreadyFinished(task_id, done.state)
    # Tell the workers first: one that holds the task stops it, one that receives it later
    # never starts it.
    await link.publish_core(link.names.cancel(task_id), task_id.encode(), "send the cancel notice")
    # A delayed task still waiting in its schedule: the purge removes it before it is due; one
    # that fell due meanwhile is queued by now, and found below.
    sched = await find_scheduled(link, task_id)
    if sched is not None:
        await link.purge(link.names.tasks_stream, sched.stored.subject)
    queued = await find_queued(link, task_id)
    if queued is None:
        if sched is None:
            raise NotFound(f'no task "{task_id}" is scheduled, queued or running')
        await store_cancelled(link, sched.role, task_id, sched.seq)
        return "cancelled"
    found, _ = queued
    # Gone from the stream, it is never delivered (again). Whether a worker held it or not,
    # the cancelled result is stored now; a worker that did stores under the same id, and the
    # first of the two stays.
    if not await link.delete(link.names.tasks_stream, found.seq):
        return "cancelling"
    if (await store_cancelled(link, found.role, task_id, found.seq)).duplicate:
        ended = await final_status(link, task_id)
        if ended is not None:
            return ended.state
    return "cancelled"
