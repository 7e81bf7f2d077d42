"""A live stack for the API tests: one nats-server with JetStream, `smith orchestrator` with a
token, and one `smith worker` (role `execute`), all on free loopback ports, in one temp dir.

Nothing here sleeps to wait: each process is waited for by polling (its ports file, its log's
start line, then /ready) until a deadline. `Stack.close()` ends every process it started and
removes the temp dir, whatever happened before; the processes also die with this one
(PR_SET_PDEATHSIG), should it be killed.
"""
import ctypes
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE_S = 30.0


def _die_with_parent():
    # PR_SET_PDEATHSIG (1): SIGTERM when the test process goes, however it goes.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def smith_bin():
    path = Path(os.environ.get("SMITH_BIN", ROOT / "build/services/smith"))
    if not path.is_file():
        raise RuntimeError(f"no smith binary at {path}: run ./dev build, or set SMITH_BIN")
    return path


def nats_server_bin():
    if os.environ.get("SMITH_NATS_SERVER"):
        return Path(os.environ["SMITH_NATS_SERVER"])
    # The pinned release (deploy/nats/server-requirements.txt); prints its path.
    out = subprocess.run([str(ROOT / "scripts/install-nats-server")], check=True,
                         capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return Path(out.stdout.strip().splitlines()[-1])


def http_status(url, timeout=2.0):
    """The status of GET `url`, or 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return 0


class Stack:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="smith-openapi-"))
        self.token = "t" + secrets.token_hex(16)
        self.roles = ["compile", "analyze", "execute"]  # SMITH_ROLES, set below
        self.procs = []
        self.logs = {}
        self.nats_url = None
        self.api_url = None
        self.worker_url = None

    # -- processes

    def _spawn(self, name, argv, env=None):
        log = self.dir / f"{name}.log"
        self.logs[name] = log
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=self.dir,
                                    env={**os.environ, **(env or {})},
                                    preexec_fn=_die_with_parent)
        self.procs.append((name, proc))
        return proc

    def _wait(self, what, proc, probe):
        """Polls `probe()` until it returns a value, the process dies, or the deadline."""
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}:\n{self.tail(what)}")
            time.sleep(0.02)  # a poll interval, not a wait for something to happen
        raise RuntimeError(f"{what} not up within {START_DEADLINE_S} s:\n{self.tail(what)}")

    def _log_field(self, name, msg, field):
        """`field` of the first JSON log line of `name` whose msg is `msg`."""
        for line in self.logs[name].read_text(errors="replace").splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict) and doc.get("msg") == msg and field in doc:
                return doc[field]
        return None

    def tail(self, name, lines=40):
        log = self.logs.get(name)
        if log is None or not log.exists():
            return "(no log)"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def start(self):
        smith = str(smith_bin())
        ports = self.dir / "ports"
        ports.mkdir()
        nats = self._spawn("nats", [str(nats_server_bin()), "-a", "127.0.0.1", "-p", "-1", "-js",
                                    "-sd", str(self.dir / "js"), "--ports_file_dir", str(ports)])

        def nats_port_file():
            for f in ports.glob("*.ports"):
                try:
                    return json.loads(f.read_text())["nats"][0]
                except (ValueError, KeyError, IndexError):
                    return None  # being written
            return None

        self.nats_url = self._wait("nats", nats, nats_port_file)
        common = {"SMITH_NATS_URL": self.nats_url, "SMITH_HTTP_HOST": "127.0.0.1",
                  "SMITH_HTTP_PORT": "0", "SMITH_LOG_LEVEL": "info",
                  "SMITH_ROLES": ",".join(self.roles)}
        # The token through the environment, as in production; queue reports once a minute
        # (they are not under test here).
        orch = self._spawn("orchestrator", [smith, "orchestrator"],
                           {**common, "SMITH_API_TOKEN": self.token,
                            "SMITH_METRICS_INTERVAL": "60s"})
        port = self._wait("orchestrator", orch,
                          lambda: self._log_field("orchestrator", "orchestrator started",
                                                  "http_port"))
        self.api_url = f"http://127.0.0.1:{port}"
        self._wait("orchestrator", orch, lambda: http_status(self.api_url + "/ready") == 200)
        # One worker of role execute; exec may run only /bin/echo; a task still running at the
        # end (a generated `sleep`) is given 2 s, not the 100 s of a deployment.
        worker = self._spawn("worker", [smith, "worker", "--role", "execute",
                                        "--concurrency", "4"],
                             {**common, "SMITH_EXEC_ALLOW": "echo=/bin/echo",
                              "SMITH_DRAIN_TIMEOUT": "2s"})
        port = self._wait("worker", worker,
                          lambda: self._log_field("worker", "worker started", "http_port"))
        self.worker_url = f"http://127.0.0.1:{port}"
        self._wait("worker", worker, lambda: http_status(self.worker_url + "/ready") == 200)
        return self

    def check_alive(self):
        """Raises naming the processes that exited (a crash under test is a failure)."""
        dead = [(n, p.returncode) for n, p in self.procs if p.poll() is not None]
        if dead:
            raise AssertionError("exited during the test: "
                                 + ", ".join(f"{n} ({rc})" for n, rc in dead) + "\n"
                                 + "\n".join(self.tail(n) for n, _ in dead))

    def close(self):
        # The worker and the orchestrator first (they drain against NATS), NATS last.
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.procs.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        # SIGTERM (a CI timeout, a kill) unwinds like Ctrl-C, so close() still runs.
        self._sigterm = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            return self.start()
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc):
        try:
            self.close()
        finally:
            signal.signal(signal.SIGTERM, self._sigterm)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def poll(what, probe, deadline_s=30.0):
    """probe()'s first truthy value, polled until the deadline."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)  # a poll interval
    raise AssertionError(f"{what}: not within {deadline_s} s")
