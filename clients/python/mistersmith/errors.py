"""The errors of the client side (``mistersmith.Client``), one class per thing a caller may want
to handle on its own. They mirror the error codes of docs/API.md: ``InvalidTask`` is a 400,
``NotFound`` a 404, ``AlreadyFinished`` and ``ScheduleExists`` 409s, ``Unavailable`` a 503 and
``OutcomeUnknown`` the 504 ``outcome_unknown``.

A refused request (every class but ``OutcomeUnknown``) published nothing, then or later.
"""

from __future__ import annotations


class MisterSmithError(Exception):
    """The base of every error the client raises."""


class InvalidTask(MisterSmithError, ValueError):
    """A field of a request cannot be used (``field`` names it); nothing was published."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


class NotFound(MisterSmithError, LookupError):
    """No such task, schedule or dead letter."""


class AlreadyFinished(MisterSmithError):
    """A cancel of a task that has ended already; ``state`` is how it ended."""

    def __init__(self, task_id: str, state: str) -> None:
        super().__init__(f'task "{task_id}" already ended: {state}')
        self.id = task_id
        self.state = state


class ScheduleExists(MisterSmithError):
    """A schedule of that name exists for another role or type; delete it first."""


class NotRequeueable(MisterSmithError):
    """A dead letter whose body (or original task) does not decode: it can only be deleted."""


class Unsupported(MisterSmithError):
    """The server cannot do what was asked: too old a nats-server, or delayed tasks and
    schedules on a tasks stream capped by ``SMITH_MAX_TASKS``."""


class Unavailable(MisterSmithError, ConnectionError):
    """NATS is unreachable, did not answer in time, or has no MisterSmith streams; nothing
    was sent (or what was sent was a read)."""


class OutcomeUnknown(MisterSmithError, TimeoutError):
    """A publish was sent and NATS did not confirm it: it may or may not be stored. Sending
    the same request again with ``id`` finds out without ever storing it twice (inside the
    duplicate window)."""

    def __init__(self, task_id: str, detail: str) -> None:
        super().__init__(detail)
        self.id = task_id


class ResultTimeout(MisterSmithError, TimeoutError):
    """``TaskHandle.result(timeout=...)`` passed before the task ended; it goes on."""

    def __init__(self, task_id: str, timeout: float) -> None:
        super().__init__(f'task "{task_id}" did not end within {timeout:g} s (it goes on)')
        self.id = task_id
        self.timeout = timeout


__all__ = [
    "AlreadyFinished",
    "InvalidTask",
    "MisterSmithError",
    "NotFound",
    "NotRequeueable",
    "OutcomeUnknown",
    "ResultTimeout",
    "ScheduleExists",
    "Unavailable",
    "Unsupported",
]
