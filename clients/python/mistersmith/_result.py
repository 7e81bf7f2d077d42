"""How a handler's return value or exception becomes the ``result`` frame of its task."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from . import _messages
from ._context import clip_text
from ._handler import HandlerError
from ._messages import Status

MAX_ERROR_BYTES = 64 * 1024
"""Longer error texts are cut: they travel in results and dead letters, which NATS limits."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one task ended, before it is addressed to a ``seq``."""

    status: Status
    output: bytes | None = None
    error: str | None = None
    error_type: str | None = None

    def frame(self, seq: int) -> dict[str, object]:
        return _messages.result(
            seq, self.status, output=self.output, error=self.error, error_type=self.error_type
        )


def _error(status: Status, text: str, error_type: str | None) -> Outcome:
    return Outcome(status, error=clip_text(text, MAX_ERROR_BYTES), error_type=error_type)


def from_value(value: object) -> Outcome:
    """Success: bytes as they are, str as UTF-8, None as no output, anything else as JSON."""
    if value is None:
        return Outcome("succeeded")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Outcome("succeeded", output=bytes(value))
    try:
        if isinstance(value, str):
            return Outcome("succeeded", output=value.encode("utf-8"))
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return Outcome("succeeded", output=text.encode("utf-8"))
    except (TypeError, ValueError) as err:
        # The same code returns the same value next time: failed for good, not retried.
        return _error(
            "failed",
            f"the handler returned a {type(value).__name__} that cannot be sent as output "
            f"(bytes, str or a JSON-serializable value): {err}",
            "bad_output",
        )


def from_exception(exc: BaseException) -> Outcome:
    """``Fail`` and ``Retry`` say their status; any other exception is a failed attempt."""
    if isinstance(exc, HandlerError):
        return _error(exc.status, exc.message or type(exc).__name__, exc.error_type)
    return _error("retry", str(exc) or type(exc).__name__, type(exc).__name__)


def cancelled(reason: str | None) -> Outcome:
    return _error("failed", f"the task was cancelled ({reason or 'cancelled'})", "cancelled")


def output_too_large(size: int, limit: int) -> Outcome:
    return _error(
        "failed",
        f"the handler's output of {size} bytes does not fit in a frame ({limit} bytes at most)",
        "output_too_large",
    )


def unknown_type(task_type: str, known: Iterable[str]) -> Outcome:
    return _error(
        "failed",
        f"no handler for the task type {task_type!r} in this process "
        f"(it handles {', '.join(sorted(known))})",
        "unknown_type",
    )
