"""``serve()``: the handler-process side of docs/HANDLER-PROTOCOL.md on stdin and stdout.

Threads: one reader thread turns stdin into messages for the asyncio loop on the calling
thread; the loop owns all task state, runs async handlers and hands sync handlers to a pool of
``concurrency`` threads. Frames go out from whichever thread has one, whole, under one lock.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import threading
import traceback
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import _messages, _result
from ._context import Context, Emit, deadline_from_ms
from ._framing import (
    MAX_FRAME_BYTES,
    FrameReader,
    FrameTooLarge,
    FrameWriter,
    ProtocolError,
    encode_frame,
)
from ._handler import Handler, HandlerError, check_handlers, is_async_handler, registered_handlers
from ._messages import CancelMessage, TaskMessage

EXIT_FATAL = 2
"""The exit status after a protocol error or a broken stdin/stdout."""

DEFAULT_CANCEL_GRACE = 3.0
"""Seconds an async handler may go on after its cancel before its coroutine is cancelled; the
worker kills the whole process 5 s after a cancel, taking every other task with it."""


class _Fatal(Exception):
    """The conversation with the worker cannot go on: the process must exit non-zero."""


class _Slot:
    """A running task: its context, and whether its result has gone out (under the write lock)."""

    def __init__(self, task: TaskMessage, emit: Emit, *, is_async: bool) -> None:
        self.seq = task.seq
        self.is_async = is_async
        self.done = False
        self.forced = False
        self.inner: asyncio.Future[Any] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.runner: asyncio.Task[None] | None = None
        self.ctx = Context(
            id=task.id,
            type=task.type,
            payload=task.payload,
            attempt=task.attempt,
            meta=task.meta,
            deadline=deadline_from_ms(task.deadline_ms),
            seq=task.seq,
            emit=emit,
        )


class _Server:
    def __init__(
        self,
        handlers: dict[str, Handler],
        concurrency: int,
        reader: FrameReader,
        writer: FrameWriter,
        cancel_grace: float | None,
    ) -> None:
        self._handlers = handlers
        self._concurrency = concurrency
        self._reader = reader
        self._writer = writer
        self._cancel_grace = cancel_grace
        self._running: dict[int, _Slot] = {}
        self._eof = False
        self._async = {name for name, fn in handlers.items() if is_async_handler(fn)}
        self._pool: ThreadPoolExecutor | None = None
        if len(self._async) < len(handlers):
            self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="mistersmith-handler")

    async def run(self) -> None:
        """Returns once stdin has ended and every task has answered; raises ``_Fatal``."""
        self._loop = asyncio.get_running_loop()
        self._finished: asyncio.Future[None] = self._loop.create_future()
        self._send(_messages.hello(self._concurrency, sorted(self._handlers)))
        threading.Thread(target=self._read_loop, name="mistersmith-reader", daemon=True).start()
        try:
            await self._finished
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=False)

    # -- input (the reader thread) ---------------------------------------------------------------

    def _read_loop(self) -> None:
        try:
            while (frame := self._reader.read()) is not None:
                message = _messages.parse_inbound(frame)
                self._loop.call_soon_threadsafe(self._on_message, message)
        except ProtocolError as err:
            self._post_fatal(f"protocol error on stdin: {err}")
        except OSError as err:
            self._post_fatal(f"reading stdin failed: {err}")
        else:
            self._loop.call_soon_threadsafe(self._on_eof)

    def _post_fatal(self, reason: str) -> None:
        try:
            self._loop.call_soon_threadsafe(self._fail, reason)
        except RuntimeError:
            pass  # the loop has closed: the process is already on its way out

    # -- on the loop -----------------------------------------------------------------------------

    def _fail(self, reason: str) -> None:
        if not self._finished.done():
            self._finished.set_exception(_Fatal(reason))

    def _on_eof(self) -> None:
        self._eof = True
        self._finish_if_idle()

    def _finish_if_idle(self) -> None:
        if self._eof and not self._running and not self._finished.done():
            self._finished.set_result(None)

    def _on_message(self, message: TaskMessage | CancelMessage) -> None:
        if isinstance(message, CancelMessage):
            self._on_cancel(message)
        elif message.seq in self._running:
            self._fail(f"protocol error on stdin: a task frame reuses seq {message.seq}, "
                       "whose task is still running")
        else:
            self._start(message)

    def _start(self, task: TaskMessage) -> None:
        is_async = task.type in self._async
        slot = _Slot(task, lambda frame: self._emit(slot, frame), is_async=is_async)
        fn = self._handlers.get(task.type)
        if fn is None:
            self._answer(slot, _result.unknown_type(task.type, self._handlers))
            return
        self._running[task.seq] = slot
        slot.runner = self._loop.create_task(self._run(slot, fn), name=f"mistersmith {task.id}")
        slot.runner.add_done_callback(self._check_runner)

    def _on_cancel(self, cancel: CancelMessage) -> None:
        slot = self._running.get(cancel.seq)
        if slot is None:
            return  # its result crossed the cancel on the way: nothing left to stop
        slot.ctx._cancel(cancel.reason)
        # Sync handlers cannot be stopped from outside their thread; they poll ctx.cancelled.
        if slot.is_async and self._cancel_grace is not None and slot.timer is None:
            slot.timer = self._loop.call_later(self._cancel_grace, self._force_cancel, slot)

    def _force_cancel(self, slot: _Slot) -> None:
        if slot.inner is None or slot.inner.done():
            return
        slot.forced = True
        slot.ctx.log.warn(
            f"the handler went on {self._cancel_grace:g} s after its cancel: cancelling its "
            "coroutine (await ctx.wait_cancelled() or check ctx.cancelled to stop cleanly)"
        )
        slot.inner.cancel()

    async def _run(self, slot: _Slot, fn: Handler) -> None:
        ctx = slot.ctx
        try:
            if slot.is_async:
                slot.inner = asyncio.ensure_future(fn(ctx))
                value = await slot.inner
            else:
                value = await self._loop.run_in_executor(self._pool, _call_sync, fn, ctx)
                if inspect.isawaitable(value):  # a plain function that returned a coroutine
                    slot.inner = asyncio.ensure_future(value)
                    value = await slot.inner
            outcome = _result.from_value(value)
        except asyncio.CancelledError:
            if not slot.forced:
                raise
            outcome = _result.cancelled(ctx.cancel_reason)
        except (Exception, SystemExit) as exc:
            if not isinstance(exc, HandlerError) and not ctx.cancelled:
                trace = "".join(traceback.format_exception(exc)).rstrip()
                ctx.log.error(f"the handler raised {type(exc).__name__}:\n{trace}")
            outcome = _result.from_exception(exc)
        finally:
            if slot.timer is not None:
                slot.timer.cancel()
        if ctx.cancelled:
            outcome = _result.cancelled(ctx.cancel_reason)
        del self._running[slot.seq]
        self._answer(slot, outcome)
        self._finish_if_idle()

    def _check_runner(self, runner: asyncio.Task[None]) -> None:
        if not runner.cancelled() and (err := runner.exception()) is not None:
            detail = "".join(traceback.format_exception(err)).rstrip()
            self._fail(f"internal error in mistersmith while finishing a task:\n{detail}")

    # -- output (any thread) ---------------------------------------------------------------------

    def _answer(self, slot: _Slot, outcome: _result.Outcome) -> None:
        try:
            frame = encode_frame(outcome.frame(slot.seq))
        except FrameTooLarge:
            size = len(outcome.output or b"")
            frame = encode_frame(_result.output_too_large(size, MAX_FRAME_BYTES).frame(slot.seq))
        with self._writer.lock:
            slot.done = True
            self._write_locked(frame)

    def _emit(self, slot: _Slot, message: dict[str, object]) -> bool:
        frame = encode_frame(message)
        with self._writer.lock:
            if slot.done:
                return False
            self._write_locked(frame)
            return True

    def _send(self, message: dict[str, object]) -> None:
        frame = encode_frame(message)
        with self._writer.lock:
            self._write_locked(frame)

    def _write_locked(self, frame: bytes) -> None:
        try:
            self._writer.write_locked(frame)
        except OSError as err:
            self._post_fatal(f"writing to stdout failed: {err}")


def _call_sync(fn: Handler, ctx: Context) -> Any:
    if ctx.cancelled:
        return None  # cancelled while it waited for a thread: the result says so
    return fn(ctx)


def _take_over_stdio() -> tuple[FrameReader, FrameWriter]:
    """Keeps the real stdin/stdout for frames and points fds 0 and 1 elsewhere.

    A stray ``print`` (or a child process, or a C library writing to fd 1) would corrupt the
    frame stream, and a stray ``input()`` would eat frames; afterwards fd 1 and ``sys.stdout``
    are stderr and fd 0 is /dev/null. The duplicated descriptors are not inherited by children.
    """
    if sys.stdout is not None:
        sys.stdout.flush()
    frames_in = os.dup(0)
    frames_out = os.dup(1)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout = sys.stderr
    if os.isatty(frames_out):
        print("mistersmith: stdout is a terminal, but this program speaks the handler protocol "
              "(docs/HANDLER-PROTOCOL.md): run it with smith worker --handler-process",
              file=sys.stderr, flush=True)
    # The reader lives as long as the process: nothing closes it.
    reader = FrameReader(open(frames_in, "rb", buffering=64 * 1024))
    return reader, FrameWriter(frames_out)


def serve(
    concurrency: int | None = None,
    handlers: Mapping[str, Handler] | None = None,
    *,
    cancel_grace: float | None = DEFAULT_CANCEL_GRACE,
) -> None:
    """Serves tasks to a ``smith worker --handler-process`` over stdin and stdout.

    ``concurrency``: how many tasks this process runs at once (1 to 1024, default 1); sync
    handlers run in a pool of that many threads, async ones on one event loop. ``handlers``: a
    task type → function table, by default everything registered with ``@handler``.
    ``cancel_grace``: seconds an async handler may run on after a cancel before its coroutine
    is cancelled (None: never).

    Returns when stdin ends and every task has answered. A protocol error, or a broken stdin or
    stdout, ends the process at once with status 2 and a message on stderr.
    """
    table = check_handlers(handlers if handlers is not None else registered_handlers())
    slots = 1 if concurrency is None else concurrency
    if isinstance(slots, bool) or not isinstance(slots, int) or not 1 <= slots <= 1024:
        raise ValueError(f"concurrency must be an integer from 1 to 1024, not {concurrency!r}")
    if cancel_grace is not None and cancel_grace < 0:
        raise ValueError(f"cancel_grace must be at least 0 seconds, not {cancel_grace!r}")
    reader, writer = _take_over_stdio()
    server = _Server(table, slots, reader, writer, cancel_grace)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(server.run())
    except _Fatal as err:
        # Handler threads may still be running and cannot be stopped: leave without them.
        print(f"mistersmith: {err}; exiting with status {EXIT_FATAL}", file=sys.stderr, flush=True)
        os._exit(EXIT_FATAL)
    loop.close()
