"""Frames of the handler protocol: a 4-byte big-endian length, then one msgpack map.

Only the byte level lives here (docs/HANDLER-PROTOCOL.md, "Frames"); what the maps mean is
in ``_messages``.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Mapping
from typing import BinaryIO

import msgpack  # type: ignore[import-untyped]

MAX_FRAME_BYTES = 16 * 1024 * 1024
"""The largest body a frame may carry, in either direction."""

_LENGTH = struct.Struct(">I")


class ProtocolError(Exception):
    """The peer broke docs/HANDLER-PROTOCOL.md; the stream cannot be trusted any more."""


class FrameTooLarge(ValueError):
    """A message we were about to send does not fit in one frame."""


def encode_frame(message: Mapping[str, object]) -> bytes:
    """Returns the whole frame (length prefix and body) for ``message``."""
    body: bytes = msgpack.packb(message, use_bin_type=True)
    if len(body) > MAX_FRAME_BYTES:
        raise FrameTooLarge(
            f"a {message.get('kind')!r} frame of {len(body)} bytes is over the protocol's "
            f"limit of {MAX_FRAME_BYTES} bytes"
        )
    return _LENGTH.pack(len(body)) + body


def _unique_str_keys(pairs: list[tuple[object, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if not isinstance(key, str):
            raise ProtocolError(f"a map key is a {type(key).__name__} ({key!r}), not a str")
        if key in result:
            raise ProtocolError(f"the map key {key!r} appears twice")
        result[key] = value
    return result


def decode_body(body: bytes) -> dict[str, object]:
    """Decodes one frame body, which must be exactly one msgpack map with unique str keys."""
    try:
        decoded: object = msgpack.unpackb(
            body,
            raw=False,
            strict_map_key=False,  # non-str keys get a clearer message from the hook
            object_pairs_hook=_unique_str_keys,
        )
    except ProtocolError:
        raise
    except msgpack.ExtraData as err:
        raise ProtocolError("the frame body holds more than one msgpack object") from err
    except (ValueError, TypeError) as err:
        # msgpack raises ValueError subclasses (FormatError, StackError, ExtraData,
        # UnicodeDecodeError for bad UTF-8) and TypeError for unhashable keys.
        raise ProtocolError(f"the frame body is not valid msgpack: {err}") from err
    if not isinstance(decoded, dict):
        raise ProtocolError(f"the frame body is a msgpack {type(decoded).__name__}, not a map")
    return decoded


class FrameReader:
    """Reads frames from a blocking binary stream (one reader thread at a time)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def read(self) -> dict[str, object] | None:
        """Returns the next frame's map, or None at end of input on a frame boundary."""
        header = self._read_exactly(_LENGTH.size, at_boundary=True)
        if header is None:
            return None
        (length,) = _LENGTH.unpack(header)
        if length == 0 or length > MAX_FRAME_BYTES:
            raise ProtocolError(
                f"a frame length of {length} bytes is outside 1 to {MAX_FRAME_BYTES}"
            )
        body = self._read_exactly(length, at_boundary=False)
        assert body is not None
        return decode_body(body)

    def _read_exactly(self, count: int, *, at_boundary: bool) -> bytes | None:
        chunks: list[bytes] = []
        missing = count
        while missing > 0:
            chunk = self._stream.read(missing)
            if not chunk:
                if at_boundary and missing == count:
                    return None
                raise ProtocolError(
                    f"the input ended inside a frame ({count - missing} of {count} bytes read)"
                )
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)


class FrameWriter:
    """Writes whole frames to a file descriptor; one lock keeps frames from interleaving.

    Callers that must decide under the same lock whether a frame may still go out (a task's
    progress after its result, for instance) take ``lock`` and call ``write_locked``.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.lock = threading.Lock()

    def write(self, frame: bytes) -> None:
        with self.lock:
            self.write_locked(frame)

    def write_locked(self, frame: bytes) -> None:
        # os.write on a pipe may write less than asked for; the rest follows at once.
        view = memoryview(frame)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
