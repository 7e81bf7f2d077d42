"""What a handler sees of its task: the input, progress and log helpers, and cancellation."""

from __future__ import annotations

import asyncio
import json
import math
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from . import _messages
from ._handler import Fail
from ._messages import LogLevel

Emit = Callable[[dict[str, object]], bool]
"""Sends one progress or log frame of a task; False once the task's result has gone out."""

MAX_TEXT_BYTES = 1024 * 1024
"""Longer log and progress messages are cut, so that every frame fits in the protocol's limit."""


def clip_text(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    """Cuts ``text`` to at most ``limit`` UTF-8 bytes, on a character boundary."""
    encoded = text.encode("utf-8", errors="replace")
    if len(encoded) <= limit:
        return text
    marker = " [cut]"
    return encoded[: limit - len(marker)].decode("utf-8", errors="ignore") + marker


def deadline_from_ms(deadline_ms: int | None) -> datetime | None:
    """A task frame's ``deadline_ms`` as an aware UTC datetime, clamped to datetime's range."""
    if deadline_ms is None:
        return None
    try:
        return datetime.fromtimestamp(deadline_ms / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        edge = datetime.max if deadline_ms > 0 else datetime.min
        return edge.replace(tzinfo=timezone.utc)


def _accept_all(frame: dict[str, object]) -> bool:
    return True


class TaskLog:
    """Log lines about one task, sent to the worker, which logs them with the task's id.

    ``ctx.log.info("resized")`` or ``ctx.log("warn", "slow disk")``.
    """

    def __init__(self, send: Callable[[LogLevel, str], None]) -> None:
        self._send = send

    def __call__(self, level: LogLevel, message: str) -> None:
        if level not in _messages.LOG_LEVELS:
            raise ValueError(f"log level {level!r} is not one of {', '.join(_messages.LOG_LEVELS)}")
        self._send(level, str(message))

    def debug(self, message: str) -> None:
        self("debug", message)

    def info(self, message: str) -> None:
        self("info", message)

    def warn(self, message: str) -> None:
        self("warn", message)

    warning = warn

    def error(self, message: str) -> None:
        self("error", message)


class Context:
    """One task as its handler sees it.

    ``serve()`` makes one per task. To test a handler without a worker, make one yourself:
    ``Context(id="t-1", type="resize", payload=b'{"w": 64}', emit=frames.append)``
    (``emit`` receives each progress and log frame as a dict and returns whether it was sent).
    """

    def __init__(
        self,
        *,
        id: str,
        type: str,
        payload: bytes = b"",
        attempt: int = 1,
        meta: dict[str, str] | None = None,
        deadline: datetime | None = None,
        seq: int = 0,
        emit: Emit | None = None,
    ) -> None:
        self._id = id
        self._type = type
        self._payload = payload
        self._attempt = attempt
        self._meta = dict(meta) if meta else {}
        self._deadline = deadline
        self._seq = seq
        self._emit: Emit = emit if emit is not None else _accept_all
        self._cancel_flag = threading.Event()
        self._cancel_event = asyncio.Event()
        self._cancel_reason: str | None = None
        self._log = TaskLog(self._send_log)

    # -- the task -------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The task id."""
        return self._id

    @property
    def type(self) -> str:
        """The task type, which chose this handler."""
        return self._type

    @property
    def payload(self) -> bytes:
        """The task's input, as the submitter published it."""
        return self._payload

    @property
    def attempt(self) -> int:
        """1 on the first delivery, 2 on the first retry, and so on."""
        return self._attempt

    @property
    def meta(self) -> dict[str, str]:
        """The task's metadata (may be empty)."""
        return self._meta

    @property
    def deadline(self) -> datetime | None:
        """When the task will be cancelled with reason ``deadline`` (UTC), if it has a deadline."""
        return self._deadline

    def json(self) -> Any:
        """The payload parsed as JSON; a payload that is not JSON fails the task for good."""
        try:
            return json.loads(self._payload)
        except (ValueError, UnicodeDecodeError) as err:
            raise Fail(f"the payload is not valid JSON: {err}", error_type="bad_input") from err

    # -- reporting ------------------------------------------------------------------------------

    def progress(self, percent: float, message: str | None = None) -> None:
        """Reports how far the task is, 0 to 100 (a float is rounded down)."""
        if isinstance(percent, bool) or not isinstance(percent, (int, float)):
            raise TypeError(f"progress percent must be a number, not {percent!r}")
        if math.isnan(percent) or not 0 <= percent <= 100:
            raise ValueError(f"progress percent must be between 0 and 100, not {percent!r}")
        text = None if message is None else clip_text(str(message))
        self._emit(_messages.progress(self._seq, int(percent), text))

    @property
    def log(self) -> TaskLog:
        """Log lines about this task: ``ctx.log.info(...)``, ``ctx.log("warn", ...)``."""
        return self._log

    def _send_log(self, level: LogLevel, message: str) -> None:
        text = clip_text(message)
        if not self._emit(_messages.log(self._seq, level, text)):
            # The result has gone out (a thread of the handler outlived it): a log frame naming
            # this seq now could be taken for another task's, so the line goes to stderr.
            print(f"mistersmith: task {self._id} ({level}, after its result): {text}",
                  file=sys.stderr, flush=True)

    # -- cancellation ---------------------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        """Whether the worker asked to stop this task; stop soon, whatever you return is ignored."""
        return self._cancel_flag.is_set()

    @property
    def cancel_reason(self) -> str | None:
        """``"cancelled"`` or ``"deadline"`` once cancelled, else None."""
        return self._cancel_reason

    async def wait_cancelled(self, timeout: float | None = None) -> bool:
        """For async handlers: waits until the task is cancelled or ``timeout`` seconds pass.

        Returns whether it was cancelled, so ``if await ctx.wait_cancelled(0.5): return`` both
        sleeps and stops early.
        """
        if self._cancel_flag.is_set():
            return True
        try:
            async with asyncio.timeout(timeout):
                await self._cancel_event.wait()
        except TimeoutError:
            return False
        return True

    def wait_cancelled_blocking(self, timeout: float | None = None) -> bool:
        """For sync handlers: like ``wait_cancelled``, blocking the handler's thread."""
        return self._cancel_flag.wait(timeout)

    def _cancel(self, reason: str) -> None:
        # Called on the event loop's thread (the asyncio.Event is not thread-safe).
        if self._cancel_flag.is_set():
            return
        self._cancel_reason = reason
        self._cancel_flag.set()
        self._cancel_event.set()
