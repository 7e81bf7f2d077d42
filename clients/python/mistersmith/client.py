"""The client side of MisterSmith: submit tasks, follow and cancel them, manage recurring
schedules and dead letters, talking to NATS directly (docs/WIRE.md) the way the C++ API and
``smith`` CLI do (docs/API.md).

    async with await mistersmith.Client.connect("nats://127.0.0.1:4222") as client:
        task = await client.submit("execute", "echo", {"text": "hi"})
        result = await task.result(timeout=30)
        print(result.status, result.json())
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NATS

from . import _admin, _status
from ._jetstream import Link
from ._requests import (SCHEDULE, Deadline, Delay, Outgoing, Payload, build_schedule,
                        build_submit, check_payload_size, unix_ms)
from ._subjects import Names, check_token
from ._types import DeadLetter, Progress, Schedule, ScheduleInfo, TaskResult, TaskStatus
from ._watch import Listeners, follow_progress, wait_result
from .errors import InvalidTask, Unavailable, Unsupported

MIN_SERVER = (2, 14, 0)  # message schedules with @every and cron (docs/WIRE.md)


class TaskHandle:
    """One task, by id. ``role`` and ``type`` are known when this client submitted it (or was
    told them); without a role, results are looked up by id alone."""

    def __init__(self, client: Client, task_id: str, role: str | None = None,
                 type: str | None = None, *, duplicate: bool = False,
                 stream_seq: int | None = None) -> None:
        self._client = client
        self.id = task_id
        self.role = role
        self.type = type
        self.duplicate = duplicate  # the id was stored already, inside the duplicate window
        self.stream_seq = stream_seq
        self._last_progress: Progress | None = None

    def __repr__(self) -> str:
        return (f"TaskHandle(id={self.id!r}, role={self.role!r}, type={self.type!r}, "
                f"duplicate={self.duplicate})")

    async def result(self, timeout: float | timedelta | None = None) -> TaskResult:
        """Waits for the task to end and returns its result; ResultTimeout after ``timeout``
        seconds (None: no limit). A requeued task's old result is gone, so this waits for the
        new one."""
        seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
        return await wait_result(self._client._link, self._client._listeners, self.id,
                                 self.role, seconds)

    async def status(self) -> TaskStatus:
        """The task's state now (docs/API.md, Status); NotFound for an unknown id."""
        return await _status.status(self._client._link, self.id, self._last_progress)

    async def cancel(self) -> str:
        """Cancels the task: "cancelled" (it never runs, or its worker was told to stop and
        the result says cancelled), or "cancelling" when it was just finishing.
        AlreadyFinished for an ended task, NotFound for an unknown one."""
        return await self._client.cancel(self.id)

    def progress(self) -> AsyncIterator[Progress]:
        """The task's progress reports as they come, until its result is there. Reports are
        not stored: start iterating before the task runs to see them all."""
        def seen(p: Progress) -> None:
            self._last_progress = p

        return follow_progress(self._client._link, self._client._listeners, self.id,
                               self.role, seen)


class Client:
    """A connection to the NATS of one MisterSmith deployment (``prefix``, default "smith").
    Make one with ``await Client.connect(...)``; use it as ``async with`` or close it."""

    def __init__(self, nc: NATS, names: Names, timeout: float, listeners: Listeners,
                 check_topology: bool) -> None:
        self._nc = nc
        self._link = Link(nc, names, timeout)
        self._listeners = listeners
        self._check_topology = check_topology
        self._tasks_config: dict[str, Any] | None = None
        self._known_roles: set[str] = set()

    @classmethod
    async def connect(
        cls, servers: str | Sequence[str] = "nats://127.0.0.1:4222", *,
        user: str | None = None, password: str | None = None, token: str | None = None,
        creds: str | None = None, prefix: str = "smith", name: str | None = None,
        timeout: float = 5.0, check_topology: bool = True,
    ) -> Client:
        """Connects (Unavailable when no server answers). ``servers``: one URL, several
        comma-separated (as SMITH_NATS_URL), or a list. ``creds`` is a credentials file
        (JWT and nkey seed); ``timeout`` bounds each request and the wait for a publish ack.
        Once connected the link reconnects for as long as the client is open. With
        ``check_topology``, a submit first checks (once per role) that the tasks stream and
        the role's consumer exist and what the stream allows; turn it off for a NATS user
        that may not read the JetStream API."""
        if not prefix or any(not t or set(t) & set("*> \t\r\n") for t in prefix.split(".")):
            raise InvalidTask("prefix", f"{prefix!r} is not a subject prefix such as smith")
        if timeout <= 0:
            raise InvalidTask("timeout", "must be above 0")
        # "nats://a:4222,nats://b:4222", as SMITH_NATS_URL takes them, or a list.
        urls = [u.strip() for u in (servers.split(",") if isinstance(servers, str) else servers)
                if u.strip()]
        if not urls:
            raise InvalidTask("servers", "give at least one URL, such as nats://127.0.0.1:4222")
        listeners = Listeners()
        options: dict[str, Any] = {
            "name": name or "mistersmith-python", "connect_timeout": max(1, round(timeout)),
            # Each server at most twice at connect; the limit is lifted once connected.
            "max_reconnect_attempts": 1, "reconnect_time_wait": 0.25,
            "error_cb": listeners.on_error, "reconnected_cb": listeners.on_reconnected,
            "disconnected_cb": listeners.on_disconnected, "closed_cb": listeners.on_closed,
        }
        options.update({k: v for k, v in (("user", user), ("password", password),
                                          ("token", token), ("user_credentials", creds))
                        if v is not None})
        try:
            nc = await nats.connect(urls, **options)
        except (OSError, asyncio.TimeoutError, nats.errors.Error) as err:
            why = listeners.last_error or err
            raise Unavailable(f"connect to {', '.join(urls)} failed: {why or type(why).__name__}"
                              ". Hint: is nats-server running there?") from None
        nc.options["max_reconnect_attempts"] = -1  # from now on: reconnect forever
        version = nc.connected_server_version
        try:
            have = (version.major, version.minor, version.patch)
        except ValueError:
            have = (0, 0, 0)
        if have < MIN_SERVER:
            await nc.close()
            raise Unsupported(
                f"nats-server {'.'.join(map(str, have))} is too old: MisterSmith needs "
                f"{'.'.join(map(str, MIN_SERVER))} or later"
            )
        return cls(nc, Names(prefix), timeout, listeners, check_topology)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, err: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the connection; waits in progress end with Unavailable."""
        if not self._nc.is_closed:
            await self._nc.close()

    @property
    def prefix(self) -> str:
        return self._link.names.prefix

    @property
    def connected(self) -> bool:
        return bool(self._nc.is_connected)

    # -- tasks ---------------------------------------------------------------------------------

    async def submit(self, role: str, type: str, payload: Payload = b"", *,
                     id: str | None = None, delay: Delay | None = None,
                     deadline: Deadline | None = None,
                     meta: Mapping[str, str] | None = None) -> TaskHandle:
        """Queues a task for ``role``'s workers and its handler ``type`` once the stream has
        acknowledged it. ``payload``: bytes as they are, a str as its text, anything else as
        compact JSON. ``id`` names the task (default: a new time-ordered id): the same id
        inside the duplicate window is one task (the handle says ``duplicate``). ``delay``
        (seconds or a timedelta) holds it until then; ``deadline`` (an aware datetime or a
        timedelta from now) fails it with "deadline exceeded" past it.

        InvalidTask before anything is sent for a field that cannot be used; Unavailable when
        NATS is unreachable (nothing sent); OutcomeUnknown when it was sent and not confirmed:
        submit again with its ``id``."""
        out = build_submit(self._link.names, role, type, payload, id, delay, deadline, meta,
                           unix_ms())
        await self._preflight(out)
        ack = await self._link.publish(
            out.subject, out.body, out.headers, outcome_id=out.task.id,
            again=f'submit again with id="{out.task.id}"; that never queues it twice',
        )
        return TaskHandle(self, out.task.id, role, type, duplicate=ack.duplicate,
                          stream_seq=ack.seq)

    def task(self, id: str, role: str | None = None, type: str | None = None) -> TaskHandle:
        """A handle for an existing task (no request is made)."""
        check_token(id, "id")
        if role is not None:
            check_token(role, "role")
        return TaskHandle(self, id, role, type)

    async def status(self, id: str) -> TaskStatus:
        return await _status.status(self._link, id)

    async def cancel(self, id: str) -> str:
        return await _status.cancel(self._link, id)

    async def _preflight(self, out: Outgoing) -> None:
        """What the API checks against its configuration, checked against the streams: the
        message fits, a delay can be held, the role has its consumer."""
        self._link.require_connected()
        limit = self._nc.max_payload
        if self._check_topology:
            config = await self._tasks_stream()
            if int(config.get("max_msg_size", -1)) > 0:
                limit = min(limit, int(config["max_msg_size"]))
            if SCHEDULE in out.headers and not config.get("allow_msg_schedules"):
                raise Unsupported(
                    f"delayed tasks and schedules are message schedules, which the stream "
                    f"{self._link.names.tasks_stream} does not allow (it is capped by "
                    "SMITH_MAX_TASKS, or was made before schedules). Hint: unset "
                    "SMITH_MAX_TASKS and run smith topology apply"
                )
            await self._check_role(out.role)
        check_payload_size(out.task.payload, limit)
        if out.size() > limit:
            raise InvalidTask("payload", f"the task comes to {out.size()} bytes with its "
                                         f"headers; at most {limit} fit (SMITH_MAX_MSG_BYTES)")

    async def _tasks_stream(self) -> dict[str, Any]:
        if self._tasks_config is None:
            config = await self._link.stream_config(self._link.names.tasks_stream)
            if config is None:
                raise Unavailable(
                    f"the stream {self._link.names.tasks_stream} does not exist. Hint: run "
                    "smith topology apply (or start a worker) with this prefix"
                )
            self._tasks_config = config
        return self._tasks_config

    async def _check_role(self, role: str) -> None:
        if role in self._known_roles:
            return
        if await self._link.delivered_seq(role) is None:
            doc = await self._link.api(f"CONSUMER.NAMES.{self._link.names.tasks_stream}", {},
                                       "list the roles")
            known = sorted(n[5:] for n in doc.get("consumers") or [] if n.startswith("role-"))
            raise InvalidTask(
                "role", f'role "{role}" is not served here (no consumer role-{role}); known '
                f"roles: {', '.join(known) or 'none'}. Hint: a role becomes known when a worker "
                f"for it starts (smith worker --role {role} creates its consumer)",
            )
        self._known_roles.add(role)

    # -- recurring schedules -------------------------------------------------------------------

    async def schedule(self, name: str, role: str, type: str, payload: Payload = b"", *,
                       every: str | timedelta | None = None, cron: str | None = None,
                       time_zone: str | None = None,
                       meta: Mapping[str, str] | None = None) -> Schedule:
        """Creates (or, under the same role and type, replaces) the recurring schedule
        ``name``: ``every`` a duration of at least 1 s ("30s", "5m", "1h30m" or a timedelta)
        or ``cron``, six fields, seconds first, in ``time_zone`` (IANA; default UTC). The
        server fires it; each firing is a task with the id ``<name>-<UTC second>``.
        ScheduleExists when the name is taken by another role or type."""
        out = build_schedule(self._link.names, name, role, type, payload, every, cron,
                             time_zone, meta, unix_ms())
        await self._preflight(out)
        return await _admin.create_schedule(self._link, out)

    async def schedules(self) -> list[Schedule]:
        return await _admin.list_schedules(self._link)

    async def schedule_info(self, name: str) -> ScheduleInfo:
        """The schedule with its next due time and newest firings; NotFound if none."""
        return await _admin.show_schedule(self._link, name)

    async def unschedule(self, name: str) -> None:
        """Deletes the schedule (the tasks it made stay); NotFound if there is none."""
        await _admin.delete_schedule(self._link, name)

    # -- dead letters --------------------------------------------------------------------------

    async def dead_letters(self, limit: int = 100, *, from_seq: int = 1) -> list[DeadLetter]:
        """Up to ``limit`` dead letters, oldest first, from the dead-letter stream sequence
        ``from_seq`` on (the last one's ``seq`` + 1 goes on from there)."""
        if limit < 0:
            raise InvalidTask("limit", "must not be negative")
        letters, _ = await _admin.list_dead_letters(self._link, limit, from_seq)
        return letters

    async def requeue(self, seq: int) -> TaskHandle:
        """Puts the task of dead letter ``seq`` back in its queue, with its attempts so far,
        and deletes the letter. NotFound, or NotRequeueable when it does not decode."""
        letter, ack = await _admin.requeue(self._link, seq)
        return TaskHandle(self, letter.id, letter.role, letter.type, stream_seq=ack.seq)

    async def delete_dead_letter(self, seq: int) -> None:
        """Deletes dead letter ``seq``; NotFound if there is none."""
        await _admin.delete_dead_letter(self._link, seq)
