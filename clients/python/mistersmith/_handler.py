"""Registering handlers (``@handler``) and the exceptions a handler raises to choose its status."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ._messages import Status

if TYPE_CHECKING:
    from ._context import Context

Handler = Callable[["Context"], Any]
"""A handler takes the task's ``Context`` and returns its output, or is ``async`` and returns
a coroutine of it."""

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

_registry: dict[str, Handler] = {}


class HandlerError(Exception):
    """Base of the exceptions that say how a task ended; raise ``Fail`` or ``Retry``."""

    status: Status = "retry"

    def __init__(self, message: str, *, error_type: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type


class Fail(HandlerError):
    """The task failed for good: it is not retried and becomes a dead letter.

    ``raise Fail("width must be positive", error_type="bad_input")``
    """

    status: Status = "failed"


class Retry(HandlerError):
    """This attempt failed but another may succeed; retried by the role's rules.

    Any exception that is not a ``HandlerError`` does the same, with the exception's class name
    as ``error_type``; raise ``Retry`` to choose the ``error_type`` yourself.
    """

    status: Status = "retry"


def is_async_handler(fn: Handler) -> bool:
    """Whether ``fn`` must be awaited: an ``async def`` or an object with an async __call__."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)
    )


def _check_name(name: str) -> None:
    # Task types are single NATS subject tokens (docs/WIRE.md); catch a typo here rather than
    # as a task that never arrives.
    if not name or len(name.encode()) > 1024:
        raise ValueError(f"a task type must be 1 to 1024 bytes long, not {name!r}")
    if any(c in name for c in ".*>") or any(c.isspace() or not c.isprintable() for c in name):
        raise ValueError(
            f"the task type {name!r} is not a subject token: "
            "no '.', '*', '>', whitespace or control characters"
        )


def handler(name: str | None = None) -> Callable[[HandlerT], HandlerT]:
    """Registers the decorated function as the handler of task type ``name``.

    ``name`` defaults to the function's name. The function takes a ``Context`` and may be
    ``async``; ``serve()`` with no ``handlers`` argument serves everything registered here.
    """

    def register(fn: HandlerT) -> HandlerT:
        task_type = name if name is not None else fn.__name__
        _check_name(task_type)
        if task_type in _registry and _registry[task_type] is not fn:
            raise ValueError(f"a handler for the task type {task_type!r} is already registered")
        _registry[task_type] = fn
        return fn

    return register


def registered_handlers() -> Mapping[str, Handler]:
    """The handlers registered with ``@handler`` so far, by task type (a read-only copy)."""
    return dict(_registry)


def check_handlers(handlers: Mapping[str, Handler]) -> dict[str, Handler]:
    """Validates a ``serve(handlers=...)`` table and returns a private copy of it."""
    table = dict(handlers)
    if not table:
        raise ValueError(
            "no handlers to serve: decorate functions with @mistersmith.handler('type') "
            "before calling serve(), or pass serve(handlers={'type': function})"
        )
    for task_type, fn in table.items():
        _check_name(task_type)
        if not callable(fn):
            raise TypeError(f"the handler for {task_type!r} is not callable: {fn!r}")
    return table
