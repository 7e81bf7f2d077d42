"""The client without asyncio, for scripts: the same methods as ``mistersmith.Client``, each
blocking until done. It runs an event loop on a private thread; one client may be used from
several threads at once.

    from mistersmith.sync import Client

    with Client.connect("nats://127.0.0.1:4222") as client:
        task = client.submit("execute", "echo", {"text": "hi"})
        print(task.result(timeout=30).json())
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, TypeVar

from . import client as aio
from ._requests import Deadline, Delay, Payload
from ._types import DeadLetter, Progress, Schedule, ScheduleInfo, TaskResult, TaskStatus
from .errors import Unavailable

T = TypeVar("T")


class _Loop:
    """An event loop running on its own daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="mistersmith-sync",
                                        daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.loop.is_closed():
            coro.close()
            raise Unavailable("the client is closed")
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a mistersmith.sync call from inside its own event loop")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. KeyboardInterrupt while waiting: stop the coroutine too
            raise

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class TaskHandle:
    """``mistersmith.TaskHandle``, blocking."""

    def __init__(self, loop: _Loop, handle: aio.TaskHandle) -> None:
        self._loop = loop
        self._handle = handle

    @property
    def id(self) -> str:
        return self._handle.id

    @property
    def role(self) -> str | None:
        return self._handle.role

    @property
    def type(self) -> str | None:
        return self._handle.type

    @property
    def duplicate(self) -> bool:
        return self._handle.duplicate

    @property
    def stream_seq(self) -> int | None:
        return self._handle.stream_seq

    def __repr__(self) -> str:
        return repr(self._handle)

    def result(self, timeout: float | timedelta | None = None) -> TaskResult:
        return self._loop.run(self._handle.result(timeout))

    def status(self) -> TaskStatus:
        return self._loop.run(self._handle.status())

    def cancel(self) -> str:
        return self._loop.run(self._handle.cancel())

    def progress(self) -> Iterator[Progress]:
        """The progress reports until the result is there (a generator: close it, or run it
        to the end, to unsubscribe)."""
        stream: AsyncIterator[Progress] = self._handle.progress()

        async def step() -> Progress | None:
            try:
                return await stream.__anext__()
            except StopAsyncIteration:
                return None

        async def close() -> None:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

        try:
            while (item := self._loop.run(step())) is not None:
                yield item
        finally:
            if not self._loop.loop.is_closed():
                self._loop.run(close())


class Client:
    """``mistersmith.Client``, blocking. Make one with ``Client.connect(...)``; use it as a
    context manager or close it."""

    def __init__(self, loop: _Loop, client: aio.Client) -> None:
        self._loop = loop
        self._client = client

    @classmethod
    def connect(cls, servers: str | Sequence[str] = "nats://127.0.0.1:4222", *,
                user: str | None = None, password: str | None = None, token: str | None = None,
                creds: str | None = None, prefix: str = "smith", name: str | None = None,
                timeout: float = 5.0, check_topology: bool = True) -> Client:
        loop = _Loop()
        try:
            client = loop.run(aio.Client.connect(
                servers, user=user, password=password, token=token, creds=creds,
                prefix=prefix, name=name, timeout=timeout, check_topology=check_topology,
            ))
        except BaseException:
            loop.stop()
            raise
        return cls(loop, client)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if not self._loop.loop.is_closed():
            try:
                self._loop.run(self._client.close())
            finally:
                self._loop.stop()

    @property
    def prefix(self) -> str:
        return self._client.prefix

    @property
    def connected(self) -> bool:
        return self._client.connected

    def _wrap(self, handle: aio.TaskHandle) -> TaskHandle:
        return TaskHandle(self._loop, handle)

    # -- tasks ---------------------------------------------------------------------------------

    def submit(self, role: str, type: str, payload: Payload = b"", *, id: str | None = None,
               delay: Delay | None = None, deadline: Deadline | None = None,
               meta: Mapping[str, str] | None = None) -> TaskHandle:
        return self._wrap(self._loop.run(self._client.submit(
            role, type, payload, id=id, delay=delay, deadline=deadline, meta=meta)))

    def task(self, id: str, role: str | None = None, type: str | None = None) -> TaskHandle:
        return self._wrap(self._client.task(id, role, type))

    def status(self, id: str) -> TaskStatus:
        return self._loop.run(self._client.status(id))

    def cancel(self, id: str) -> str:
        return self._loop.run(self._client.cancel(id))

    # -- recurring schedules -------------------------------------------------------------------

    def schedule(self, name: str, role: str, type: str, payload: Payload = b"", *,
                 every: str | timedelta | None = None, cron: str | None = None,
                 time_zone: str | None = None,
                 meta: Mapping[str, str] | None = None) -> Schedule:
        return self._loop.run(self._client.schedule(
            name, role, type, payload, every=every, cron=cron, time_zone=time_zone, meta=meta))

    def schedules(self) -> list[Schedule]:
        return self._loop.run(self._client.schedules())

    def schedule_info(self, name: str) -> ScheduleInfo:
        return self._loop.run(self._client.schedule_info(name))

    def unschedule(self, name: str) -> None:
        self._loop.run(self._client.unschedule(name))

    # -- dead letters --------------------------------------------------------------------------

    def dead_letters(self, limit: int = 100, *, from_seq: int = 1) -> list[DeadLetter]:
        return self._loop.run(self._client.dead_letters(limit, from_seq=from_seq))

    def requeue(self, seq: int) -> TaskHandle:
        return self._wrap(self._loop.run(self._client.requeue(seq)))

    def delete_dead_letter(self, seq: int) -> None:
        self._loop.run(self._client.delete_dead_letter(seq))


__all__ = ["Client", "TaskHandle"]
