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
"""

from ._context import Context, TaskLog
from ._framing import MAX_FRAME_BYTES, ProtocolError
from ._handler import Fail, Handler, HandlerError, Retry, handler, registered_handlers
from ._messages import PROTOCOL_VERSION, LogLevel
from ._serve import serve

__version__ = "0.1.0"

__all__ = [
    "MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "Context",
    "Fail",
    "Handler",
    "HandlerError",
    "LogLevel",
    "ProtocolError",
    "Retry",
    "TaskLog",
    "handler",
    "registered_handlers",
    "serve",
]
