"""A real nats-server and real C++ workers for the client tests (``cluster`` fixture).

The server is the pinned nats-server (NATS_SERVER_BIN, default .nats-server/bin/nats-server in
the repository), on a free loopback port with its own store directory; the workers are
``smith worker`` of SMITH_BIN. Without SMITH_BIN the tests that need them FAIL, saying so:
run them through clients/python/run-tests, which finds the build."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import nats
import pytest

import mistersmith

REPO = Path(__file__).resolve().parents[3]
DEFAULT_NATS_SERVER = REPO / ".nats-server" / "bin" / "nats-server"
ROLES = ("test", "later", "idle", "py")  # test: a worker all along; later: one started by a
#   test; idle: never a worker, so its tasks stay queued; py: a worker with Python handlers
START_TIMEOUT = 15.0
T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    """Runs one test's scenario on a fresh event loop."""
    async def main() -> T:
        return await coro

    return asyncio.run(main())


async def until(probe: Callable[[], Awaitable[T | None]], what: str,
                timeout: float = 10.0, every: float = 0.02) -> T:
    """Polls ``probe`` until it returns something (not None or False) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(every)  # a poll interval, not a synchronisation


class Cluster:
    def __init__(self, smith: Path, nats_server: Path, root: Path) -> None:
        self.smith_bin = smith
        self.root = root
        self._procs: list[tuple[subprocess.Popen[bytes], Path]] = []
        ports = root / "ports"
        ports.mkdir()
        server = self._spawn([str(nats_server), "-js", "-a", "127.0.0.1", "-p", "-1",
                              "-sd", str(root / "js"), "--ports_file_dir", str(ports)],
                             root / "nats-server.log")
        port_file = ports / f"{nats_server.name}_{server.pid}.ports"
        self._wait_for(lambda: port_file.exists() and port_file.stat().st_size > 0,
                       "nats-server to listen", server, root / "nats-server.log")
        self.url = json.loads(port_file.read_text())["nats"][0]
        self.env = {
            **os.environ, "SMITH_NATS_URL": self.url, "SMITH_ROLES": ",".join(ROLES),
            "SMITH_MAX_DELIVER": "2", "SMITH_ACK_WAIT": "3s", "SMITH_LOG_LEVEL": "warn",
        }
        applied = self.smith("topology", "apply")
        assert applied.returncode == 0, f"smith topology apply failed:\n{applied.stderr}"

    def _spawn(self, argv: list[str], log: Path, env: dict[str, str] | None = None
               ) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                    stdin=subprocess.DEVNULL)
        self._procs.append((proc, log))
        return proc

    @staticmethod
    def _wait_for(ready: Callable[[], bool], what: str, proc: subprocess.Popen[bytes],
                  log: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"waiting for {what}: it exited ({proc.returncode}) or "
                                     f"took over {START_TIMEOUT} s; log:\n{tail(log)}")
            time.sleep(0.01)  # a poll interval, not a synchronisation

    def smith(self, *args: str, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
        """Runs the smith CLI against this server (talking to NATS directly)."""
        return subprocess.run([str(self.smith_bin), *args], env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)

    async def start_worker(self, role: str) -> subprocess.Popen[bytes]:
        """A ``smith worker`` of ``role``, returned once it is pulling from its consumer."""
        log = self.root / f"worker-{role}-{len(self._procs)}.log"
        proc = self._spawn([str(self.smith_bin), "worker", "--role", role, "--http-port", "0",
                            "--http-host", "127.0.0.1", "--concurrency", "8",
                            "--drain-timeout", "1s"], log, self.env)
        await self._until_pulling(role, proc, log)
        return proc

    async def start_handler_worker(self, role: str, module: Path) -> subprocess.Popen[bytes]:
        """A ``smith worker`` of ``role`` whose handlers are ``module``, run by this Python in
        handler processes (docs/HANDLER-PROTOCOL.md), with this checkout's SDK on its path."""
        log = self.root / f"worker-{role}-{len(self._procs)}.log"
        path = os.pathsep.join(p for p in (str(REPO / "clients" / "python"),
                                           os.environ.get("PYTHONPATH", "")) if p)
        proc = self._spawn([str(self.smith_bin), "worker", "--role", role, "--http-port", "0",
                            "--http-host", "127.0.0.1", "--concurrency", "4",
                            "--handler-process", f"{sys.executable} {module}"],
                           log, {**self.env, "PYTHONPATH": path})
        await self._until_pulling(role, proc, log)
        return proc

    async def _until_pulling(self, role: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        nc = await nats.connect(self.url)
        try:
            async def pulling() -> bool | None:
                if proc.poll() is not None:
                    raise AssertionError(f"worker {role} exited ({proc.returncode}):\n{tail(log)}")
                reply = await nc.request(f"$JS.API.CONSUMER.INFO.SMITH_TASKS.role-{role}", b"")
                return bool(json.loads(reply.data).get("num_waiting", 0) > 0) or None

            await until(pulling, f"worker {role} pulling", timeout=START_TIMEOUT)
        finally:
            await nc.close()

    @staticmethod
    def stop_process(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        for proc, _ in reversed(self._procs):
            self.stop_process(proc)

    def client(self, **options: Any) -> Awaitable[mistersmith.Client]:
        return mistersmith.Client.connect(self.url, **options)

    async def in_flight(self, role: str) -> int:
        """What the role's workers hold, by their answers to a ping."""
        nc = await nats.connect(self.url)
        try:
            inbox = nc.new_inbox()
            sub = await nc.subscribe(inbox)
            await nc.publish("smith.ping.workers", b"", reply=inbox)
            total = 0
            try:
                while True:
                    msg = await sub.next_msg(timeout=0.25)
                    doc = json.loads(msg.data)
                    total += int(doc["in_flight"]) if doc.get("role") == role else 0
            except nats.errors.TimeoutError:
                return total
        finally:
            await nc.close()


def tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError as err:
        return f"(no log: {err})"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A nats-server with the topology applied and a worker of role ``test`` running."""
    smith = os.environ.get("SMITH_BIN", "")
    if not smith:
        pytest.fail("SMITH_BIN is not set: the client tests need the C++ smith binary (e.g. "
                    "SMITH_BIN=build/services/smith). Run them with clients/python/run-tests, "
                    "which sets it", pytrace=False)
    if not os.access(smith, os.X_OK):
        pytest.fail(f"SMITH_BIN={smith} is not an executable file", pytrace=False)
    server = Path(os.environ.get("NATS_SERVER_BIN", str(DEFAULT_NATS_SERVER)))
    if not os.access(server, os.X_OK):
        pytest.fail(f"no nats-server at {server}: set NATS_SERVER_BIN, or install the pinned "
                    "one with scripts/install-nats-server", pytrace=False)
    c = Cluster(Path(smith), server, tmp_path_factory.mktemp("smith-cluster"))
    try:
        run(c.start_worker("test"))
        yield c
    finally:
        c.close()
