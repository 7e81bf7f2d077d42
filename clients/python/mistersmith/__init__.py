"""MisterSmith's Python SDK: task handlers for ``smith worker --handler-process``.

    import mistersmith

    @mistersmith.handler("resize")
    def resize(ctx: mistersmith.Context) -> dict[str, int]:
        size = ctx.json()
        if size["w"] <= 0:
            raise mistersmith.Fail("w must be positive", error_type="bad_input")
        ctx.progress(50, "half way")
        return {"w": size["w"] // 2}

    if __name__ == "__main__":
        mistersmith.serve()

The protocol is docs/HANDLER-PROTOCOL.md; this package is its reference implementation.

The client side submits tasks and follows them over NATS (docs/WIRE.md, docs/API.md):

    async with await mistersmith.Client.connect("nats://127.0.0.1:4222") as client:
        task = await client.submit("media", "resize", {"w": 64})
        print((await task.result(timeout=60)).json())

``mistersmith.sync.Client`` is the same without asyncio, for scripts.
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._context import Context, TaskLog
from ._framing import MAX_FRAME_BYTES, ProtocolError
from ._handler import Fail, Handler, HandlerError, Retry, handler, registered_handlers
from ._messages import PROTOCOL_VERSION, LogLevel
from ._serve import serve
from .errors import (AlreadyFinished, InvalidTask, MisterSmithError, NotFound, NotRequeueable,
                     OutcomeUnknown, ResultTimeout, ScheduleExists, Unavailable, Unsupported)

if TYPE_CHECKING:
    from ._types import (DeadLetter, Firing, Progress, Schedule, ScheduleInfo, TaskResult,
                         TaskStatus)
    from .client import Client, TaskHandle

# The client side imports nats-py, which a handler process (serve()) does not need: it is
# loaded on first use, so handler processes start as fast as before.
_CLIENT_SIDE = {
    "Client": "client", "TaskHandle": "client", "DeadLetter": "_types", "Firing": "_types",
    "Progress": "_types", "Schedule": "_types", "ScheduleInfo": "_types",
    "TaskResult": "_types", "TaskStatus": "_types",
}

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _CLIENT_SIDE.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "AlreadyFinished",
    "Client",
    "Context",
    "DeadLetter",
    "Fail",
    "Firing",
    "Handler",
    "HandlerError",
    "InvalidTask",
    "LogLevel",
    "MisterSmithError",
    "NotFound",
    "NotRequeueable",
    "OutcomeUnknown",
    "Progress",
    "ProtocolError",
    "ResultTimeout",
    "Retry",
    "Schedule",
    "ScheduleExists",
    "ScheduleInfo",
    "TaskHandle",
    "TaskLog",
    "TaskResult",
    "TaskStatus",
    "Unavailable",
    "Unsupported",
    "handler",
    "registered_handlers",
    "serve",
]
