"""A peer's worker as a real child process: start, wait on conditions, read its resources from
/proc (the process and all its descendants, so a prefork pool counts), stop.
"""

import os
import signal
import subprocess
import sys
import threading
import time

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


class WorkerDied(RuntimeError):
    pass


def wait_until(pred, timeout_s, what, alive=None):
    """Polls `pred` until it holds; benchmarks wait on conditions with a deadline, not sleeps."""
    deadline = time.monotonic() + timeout_s
    while not pred():
        if alive is not None:
            alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)


def _children(pid):
    # Every thread's list: a child forked from a helper thread is listed under that thread.
    found = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as f:
                found.extend(int(p) for p in f.read().split())
        except OSError:
            pass
    return found


def _status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass  # the process ended between listing and reading: it holds nothing now
    return 0


def _cpu_ticks(pid, include_reaped):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            # Fields after the command name, which may itself hold spaces and parentheses.
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return utime + stime + (cutime + cstime if include_reaped else 0)


class WorkerProcess:
    def __init__(self, name, argv, env=None, cwd=None, log_path=None):
        self.name = name
        self.log_path = log_path
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT)
        if log_path:
            log.close()

    def check_alive(self):
        if self.proc.poll() is not None:
            hint = f"; its output is in {self.log_path}" if self.log_path else ""
            raise WorkerDied(f"{self.name} exited with status {self.proc.returncode}{hint}")

    def print_log_tail(self, lines=30):
        """On a failure: the worker's last words, before the runner's temp dir goes."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                tail = f.readlines()[-lines:]
        except (OSError, TypeError):
            return
        print(f"-- last lines of {self.name}'s log:", "".join(tail), sep="\n", file=sys.stderr)

    def pids(self):
        """The worker and all its descendants (a Celery prefork pool's children included)."""
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(_children(pid))
        return found

    def rss_kib(self):
        return sum(_status_kib(pid, "VmRSS") for pid in self.pids())

    def cpu_s(self):
        """User + system CPU of the tree so far; the root's counters include reaped children."""
        pids = self.pids()
        ticks = sum(_cpu_ticks(pid, include_reaped=(pid == pids[0])) for pid in pids)
        return ticks / _TICKS_PER_S

    def stop(self, timeout_s=15):
        """SIGTERM (a warm shutdown for Celery), then SIGKILL to the whole tree if it hangs."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            for pid in self.pids():  # listed while the root still holds its children
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait()


class PeakRss:
    """Samples a worker's resident memory on a thread while a load runs; keeps the peak."""

    def __init__(self, worker, interval_s=0.1):
        self.worker = worker
        self.interval_s = interval_s
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while True:
            self.peak_kib = max(self.peak_kib, self.worker.rss_kib())
            if self._stop.wait(self.interval_s):
                return
