"""Waiting for a task's end and following its progress (docs/WIRE.md §6 and §8): subscribe to
the result subject first, then read the stored result by direct get. The server hands a message
to its subscribers before its stream has stored it, so a result published just before the
subscription began can be missing from both for a moment: while waiting, the stored result is
read again after 50 ms, then at doubling intervals up to every second. After a reconnect it is
read again at once: a result published while the link was down never reached the
subscription."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from ._jetstream import Link, Stored
from ._status import read_result
from ._types import Progress, TaskResult
from ._wire import from_ms
from .errors import ResultTimeout, Unavailable

log = logging.getLogger("mistersmith")

FIRST_RECHECK = 0.05  # seconds after the first read of the stored result, the second
LAST_RECHECK = 1.0  # the longest pause between two reads while waiting


def _next_recheck(pause: float) -> float:
    return min(pause * 2, LAST_RECHECK)


class Listeners:
    """The connection's callbacks: waiters learn of reconnects (to read the stored result
    again) and of the client closing."""

    def __init__(self) -> None:
        self.last_error: BaseException | None = None
        self.closed = False
        self._waiters: set[Callable[[], None]] = set()

    def add(self, wake: Callable[[], None]) -> Callable[[], None]:
        self._waiters.add(wake)
        return lambda: self._waiters.discard(wake)

    def _wake_all(self) -> None:
        for wake in list(self._waiters):
            wake()

    async def on_error(self, err: Exception) -> None:
        self.last_error = err
        log.debug("nats: %s", err or type(err).__name__)

    async def on_reconnected(self) -> None:
        log.info("nats: reconnected")
        self._wake_all()

    async def on_disconnected(self) -> None:
        log.info("nats: disconnected")

    async def on_closed(self) -> None:
        self.closed = True
        self._wake_all()


def _result_subject(link: Link, task_id: str, role: str | None) -> str:
    return link.names.result(role, task_id) if role else link.names.result_of(task_id)


async def _subscribe(link: Link, subject: str, cb: Callable[[Msg], Awaitable[None]]
                     ) -> Subscription:
    link.require_connected()
    try:
        return await link.nc.subscribe(subject, cb=cb)
    except nats.errors.Error as err:
        raise Unavailable(f"subscribe to {subject}: {err or type(err).__name__}") from None


async def _unsubscribe(sub: Subscription) -> None:
    try:
        await sub.unsubscribe()
    except nats.errors.Error:
        pass  # the connection is closed or gone: so is the subscription


async def _stored_result(link: Link, task_id: str, subject: str) -> TaskResult | None:
    stored = await link.last(link.names.results_stream, subject)
    return None if stored is None else read_result(task_id, stored)


def _check_open(link: Link, listeners: Listeners) -> None:
    if listeners.closed or link.nc.is_closed:
        raise Unavailable("the client was closed while waiting")


async def wait_result(link: Link, listeners: Listeners, task_id: str, role: str | None,
                      timeout: float | None) -> TaskResult:
    """The task's result: the stored one, else the first published from now on."""
    loop = asyncio.get_running_loop()
    subject = _result_subject(link, task_id, role)
    arrived: asyncio.Future[bytes] = loop.create_future()
    woken = asyncio.Event()

    async def on_result(msg: Msg) -> None:
        if not arrived.done():
            arrived.set_result(bytes(msg.data))

    sub = await _subscribe(link, subject, on_result)
    forget = listeners.add(woken.set)
    deadline = None if timeout is None else loop.time() + timeout
    pause = FIRST_RECHECK
    try:
        while True:
            _check_open(link, listeners)
            woken.clear()
            stored = await _stored_result(link, task_id, subject)
            if stored is not None:
                return stored
            wake = asyncio.ensure_future(woken.wait())
            try:
                left = None if deadline is None else max(0.0, deadline - loop.time())
                waiting: set[asyncio.Future[Any]] = {arrived, wake}
                await asyncio.wait(waiting, timeout=pause if left is None else min(pause, left),
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                wake.cancel()
            if arrived.done():
                return read_result(task_id, Stored(subject, arrived.result(), 0))
            if deadline is not None and loop.time() >= deadline and not woken.is_set():
                raise ResultTimeout(task_id, timeout or 0.0)
            pause = _next_recheck(pause)
    finally:
        forget()
        if not arrived.done():
            arrived.cancel()
        await _unsubscribe(sub)


def _progress_of(data: bytes) -> Progress | None:
    try:
        event: Any = json.loads(data)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("kind") != "progress":
        return None
    percent, message, ts = event.get("percent"), event.get("message"), event.get("ts_ms")
    if not isinstance(percent, (int, float)) or isinstance(percent, bool):
        return None
    return Progress(percent=int(percent), message=message if isinstance(message, str) else "",
                    at=from_ms(ts) if isinstance(ts, int) and not isinstance(ts, bool) else None)


_ENDED = object()
_RECHECK = object()


async def follow_progress(link: Link, listeners: Listeners, task_id: str, role: str | None,
                          seen: Callable[[Progress], None]) -> AsyncIterator[Progress]:
    """The progress events of the task until its result arrives (or is found stored)."""
    queue: asyncio.Queue[object] = asyncio.Queue()
    subject = _result_subject(link, task_id, role)

    async def on_event(msg: Msg) -> None:
        progress = _progress_of(msg.data)
        if progress is not None:
            queue.put_nowait(progress)

    async def on_result(msg: Msg) -> None:
        queue.put_nowait(_ENDED)

    subs = [await _subscribe(link, link.names.event(task_id), on_event)]
    forget = listeners.add(lambda: queue.put_nowait(_RECHECK))
    try:
        subs.append(await _subscribe(link, subject, on_result))
        if await _stored_result(link, task_id, subject) is not None:
            return
        pause = FIRST_RECHECK
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), pause)
            except asyncio.TimeoutError:
                item = _RECHECK
                pause = _next_recheck(pause)
            _check_open(link, listeners)
            if item is _ENDED:
                return
            if item is _RECHECK:
                if await _stored_result(link, task_id, subject) is not None:
                    return
            elif isinstance(item, Progress):
                seen(item)
                yield item
    finally:
        forget()
        for sub in subs:
            await _unsubscribe(sub)
