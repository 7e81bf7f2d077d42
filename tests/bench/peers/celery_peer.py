"""Celery 5, the peer most Python teams reach for: a no-op task on a Redis broker and result
backend, run by a real `celery worker` (prefork, one pool process per core).

This module is both the Celery app the worker loads (`celery -A celery_peer worker`, configured
from PEER_* variables) and, run as a script, the client that measures it:

  celery_peer.py --redis-url URL --json PATH [--tasks N] [--rounds R] [--rate R] [--seconds S]

Two settings, each with its own worker: "celery_reliable" (task_acks_late=True,
worker_prefetch_multiplier=1: a task survives a worker crash, the usual advice for tasks that
matter) and "celery_default" (Celery's defaults: ack on receipt, prefetch 4 per process).
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
import uuid

import redis
from celery import Celery
from celery.result import ResultSet

import measure
from worker_process import PeakRss, WorkerProcess, wait_until

SETTINGS = {
    "celery_reliable": {"task_acks_late": True, "worker_prefetch_multiplier": 1},
    "celery_default": {},
}
RESULT_KEY_PREFIX = "celery-task-meta-"  # the Redis backend's key and channel per result

app = Celery("celery_peer")


def configure(redis_url, setting):
    app.conf.update(broker_url=redis_url, result_backend=redis_url,
                    broker_connection_retry_on_startup=True, **SETTINGS[setting])


# The worker process learns its broker and setting from the environment the client gives it.
configure(os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/0"),
          os.environ.get("PEER_CELERY_SETTING", "celery_default"))


@app.task(name="noop")
def noop(payload):
    return payload


class ResultListener(threading.Thread):
    """Timestamps each result when the backend publishes it.

    The Redis backend stores a result and publishes it on the channel of the same name in one
    transaction; AsyncResult.get() waits on that channel. One pattern subscription sees them
    all, so the client learns of each result as early as .get() would, at no cost per task.
    """

    def __init__(self, redis_url):
        super().__init__(daemon=True)
        self.pubsub = redis.Redis.from_url(redis_url).pubsub()
        self.pubsub.psubscribe(RESULT_KEY_PREFIX + "*")
        # Confirmed before any task is sent, so no result can be missed.
        confirmation = self.pubsub.get_message(timeout=10)
        if not confirmation or confirmation["type"] != "psubscribe":
            raise RuntimeError(f"no psubscribe confirmation from Redis at {redis_url}")
        self.arrived = {}  # task id -> (time.monotonic(), status)

    def run(self):
        for msg in self.pubsub.listen():
            if msg["type"] != "pmessage":
                continue
            now = time.monotonic()
            task_id = msg["channel"].decode()[len(RESULT_KEY_PREFIX):]
            self.arrived[task_id] = (now, json.loads(msg["data"])["status"])

    def wait_all(self, ids, timeout_s, worker):
        """Waits until every id has a result; returns the monotonic time of each, in order."""
        wait_until(lambda: len(self.arrived) >= len(ids) and all(i in self.arrived for i in ids),
                   timeout_s, f"{len(ids)} Celery results", alive=worker.check_alive)
        failed = [i for i in ids if self.arrived[i][1] != "SUCCESS"]
        if failed:
            raise RuntimeError(f"{len(failed)} Celery tasks did not succeed, e.g. {failed[0]}")
        return [self.arrived[i][0] for i in ids]


def new_ids(n):
    return [str(uuid.uuid4()) for _ in range(n)]


def check_results(results, body):
    """Reads every result back through Celery's own API (untimed): all there, all the payload.

    This also drains the subscriptions the client made per task when it sent them.
    """
    values = ResultSet(results).join_native(timeout=120)
    wrong = sum(1 for v in values if v != body)
    if wrong:
        raise RuntimeError(f"{wrong} of {len(values)} Celery results differ from the payload")


def start_worker(setting, redis_url, tmp):
    env = dict(os.environ, PEER_REDIS_URL=redis_url, PEER_CELERY_SETTING=setting)
    argv = [sys.executable, "-m", "celery", "-A", "celery_peer", "worker",
            "--pool", "prefork", "--concurrency", str(measure.cores()),
            "--loglevel", "WARNING", "--hostname", f"{setting}@%h"]
    return WorkerProcess(setting, argv, env=env, cwd=os.path.dirname(os.path.abspath(__file__)),
                         log_path=os.path.join(tmp, f"{setting}.log"))


def wait_ready(listener, worker, body):
    """Ready = a first task made the round trip; then a warm-up so every pool process has run
    tasks before anything is measured."""
    first = new_ids(1)
    noop.apply_async((body,), task_id=first[0])
    listener.wait_all(first, 120, worker)
    warm = new_ids(50 * measure.cores())
    results = [noop.apply_async((body,), task_id=i) for i in warm]
    listener.wait_all(warm, 120, worker)
    check_results(results, body)


def throughput_round(listener, worker, out, body, tasks, round_):
    """Tasks/s from the first send to the last result; returns the peak RSS on the way."""
    ids = new_ids(tasks)
    cpu_before = worker.cpu_s()
    with PeakRss(worker) as rss:
        start = time.monotonic()
        results = [noop.apply_async((body,), task_id=i) for i in ids]
        done = listener.wait_all(ids, 120 + tasks / 20, worker)
    cpu = worker.cpu_s() - cpu_before
    out.emit("tasks_per_s", tasks / (max(done) - start), round_=round_)
    out.emit("cpu_s_per_1k", cpu * 1000.0 / tasks, round_=round_)
    check_results(results, body)
    return rss.peak_kib


def open_loop_latency(listener, worker, out, body, rate, seconds):
    """Task i is due at start + i/rate and sent then, however late the earlier ones are; its
    latency runs from that due time, so a backlog shows up in full (coordinated omission)."""
    ids = new_ids(rate * seconds)
    start = time.monotonic() + 0.01
    results = []
    for i, task_id in enumerate(ids):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        results.append(noop.apply_async((body,), task_id=task_id))
    done = listener.wait_all(ids, 120 + len(ids) / 20, worker)
    out.emit_latency([t - (start + i / rate) for i, t in enumerate(done)], rate)
    check_results(results, body)


def measure_setting(setting, listener, args):
    out = measure.JsonLines(args.json, setting, workers=1, concurrency=measure.cores())
    body = measure.payload().decode()  # Celery's JSON serializer takes text, not bytes
    redis.Redis.from_url(args.redis_url).flushall()  # each setting starts on an empty broker
    worker = start_worker(setting, args.redis_url, args.tmp)
    try:
        wait_ready(listener, worker, body)
        out.emit("rss_idle_kib", worker.rss_kib())
        peaks = [throughput_round(listener, worker, out, body, args.tasks, round_)
                 for round_ in range(1, args.rounds + 1)]
        out.emit("rss_load_kib", max(peaks))  # the peak over all rounds, as worker_bench has it
        open_loop_latency(listener, worker, out, body, args.rate, args.seconds)
    except Exception:
        worker.print_log_tail()
        raise
    finally:
        worker.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--json", required=True, help="results file; JSON lines are appended")
    parser.add_argument("--tasks", type=int, default=20000, help="tasks per throughput round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=int, default=200, help="open-loop send rate, tasks/s")
    parser.add_argument("--seconds", type=int, default=5, help="length of the open-loop run")
    parser.add_argument("--tmp", default=".", help="where the worker's log goes")
    parser.add_argument("--settings", default=",".join(SETTINGS),
                        help="comma-separated subset of: " + ", ".join(SETTINGS))
    args = parser.parse_args()
    # A SIGTERM from the runner unwinds like Ctrl-C, so the worker is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.setswitchinterval(0.0005)  # the listener thread timestamps promptly while we send
    configure(args.redis_url, "celery_default")
    listener = ResultListener(args.redis_url)
    listener.start()
    for setting in args.settings.split(","):
        print(f"== peers: {setting} (prefork, concurrency {measure.cores()})", flush=True)
        measure_setting(setting, listener, args)


if __name__ == "__main__":
    main()
