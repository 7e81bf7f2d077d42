"""The worker's side of docs/HANDLER-PROTOCOL.md, written apart from the SDK's own framing code,
so that the tests check serve() against the document and not against itself."""

from __future__ import annotations

import os
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest

from smith_cluster import cluster  # noqa: F401  (the client tests' nats-server and workers)

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent
SAMPLE_HANDLERS = HERE / "sample_handlers.py"
FRAME_TIMEOUT = 10.0  # generous: only a broken process ever waits this long


class StreamEnded(Exception):
    """The process's stdout ended (or stopped being frames) while a frame was awaited."""


def frame(message: dict[str, Any]) -> bytes:
    body: bytes = msgpack.packb(message, use_bin_type=True)
    return struct.pack(">I", len(body)) + body


def task(seq: int, task_type: str, payload: bytes = b"", **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "kind": "task", "seq": seq, "id": f"t-{seq}", "type": task_type,
        "payload": payload, "attempt": 1, "meta": {},
    }
    message.update(extra)
    return message


class HandlerProcess:
    """A handler process on pipes, as the worker runs it; frames are read on a thread."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(PACKAGE_ROOT), environment.get("PYTHONPATH", "")]
        )
        environment.update(env or {})
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=environment,
        )
        self._frames: queue.Queue[dict[str, Any] | StreamEnded] = queue.Queue()
        self._stderr: list[bytes] = []
        self._stdout_thread = threading.Thread(target=self._read_frames, daemon=True)
        self._stderr_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self._stdout_thread.start()
        self._stderr_thread.start()

    def _read_frames(self) -> None:
        assert self.proc.stdout is not None
        stream = self.proc.stdout
        while True:
            header = stream.read(4)
            if len(header) < 4:
                self._frames.put(StreamEnded(f"stdout ended (trailing bytes {header!r})"))
                return
            (length,) = struct.unpack(">I", header)
            body = stream.read(length)
            try:
                message = msgpack.unpackb(body, raw=False)
                assert isinstance(message, dict), f"a frame body is a {type(message).__name__}"
            except Exception as err:  # noqa: BLE001 -- any garbage on stdout is the finding
                self._frames.put(StreamEnded(f"stdout is not frames: {err}: {header + body!r}"))
                return
            self._frames.put(message)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    # -- worker → process --------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        self.send_raw(frame(message))

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    # -- process → worker --------------------------------------------------------------------

    def recv(self, timeout: float = FRAME_TIMEOUT) -> dict[str, Any]:
        try:
            item = self._frames.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no frame within {timeout} s; stderr so far:\n{self.stderr()}"
            ) from None
        if isinstance(item, StreamEnded):
            raise item
        return item

    def hello(self) -> dict[str, Any]:
        message = self.recv()
        assert message["kind"] == "hello", message
        return message

    def until_result(self, seq: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Frames up to the result of ``seq``: (everything before it, the result)."""
        before: list[dict[str, Any]] = []
        while True:
            message = self.recv()
            if message["kind"] == "result" and message["seq"] == seq:
                return before, message
            before.append(message)

    def wait(self, timeout: float = FRAME_TIMEOUT) -> int:
        code = self.proc.wait(timeout)
        self._stderr_thread.join(timeout)
        return code

    def stderr(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def spawn() -> Iterator[Any]:
    """``spawn(argv=None, **env)`` starts a handler process (default: sample_handlers)."""
    started: list[HandlerProcess] = []

    def start(argv: list[str] | None = None, **env: str) -> HandlerProcess:
        process = HandlerProcess(argv or [sys.executable, str(SAMPLE_HANDLERS)], env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
