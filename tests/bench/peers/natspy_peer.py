"""Measures the hand-written nats-py JetStream worker (natspy_worker.py), run as its own process:
throughput with a nats-py client, and open-loop latency with the C++ latency_bench when given.

  natspy_peer.py --url URL --json PATH [--tasks N] [--rounds R] [--rate R] [--seconds S]
                 [--latency-bench PATH] [--tmp DIR]
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid

import nats
import nats.js.errors

import measure
from worker_process import PeakRss, WorkerProcess

HERE = os.path.dirname(os.path.abspath(__file__))


class Results:
    """Sees every result as it is published (a core subscription, as latency_bench has)."""

    def __init__(self):
        self.arrived = {}  # task id -> time.monotonic()
        self.expected = None
        self.all_in = asyncio.Event()

    async def subscribe(self, nc):
        self.sub = await nc.subscribe("peer.result.>", cb=self.on_result)
        await nc.flush()  # the server has the subscription before any task is sent

    async def on_result(self, msg):
        self.arrived[msg.subject.rsplit(".", 1)[-1]] = time.monotonic()
        if self.expected is not None and len(self.arrived) >= self.expected:
            self.all_in.set()

    async def wait_all(self, ids, timeout_s, worker):
        """Waits until every id has a result; returns the time of the last one."""
        while True:
            try:
                await asyncio.wait_for(self.all_in.wait(), timeout=1)
            except asyncio.TimeoutError:
                worker.check_alive()
                timeout_s -= 1
                if timeout_s <= 0:
                    raise TimeoutError(f"{len(self.arrived)} of {len(ids)} nats-py results")
                continue
            missing = [i for i in ids if i not in self.arrived]
            if not missing:
                return max(self.arrived[i] for i in ids)
            raise RuntimeError(f"{len(missing)} results missing, e.g. {missing[0]}")

    def expect(self, n):
        self.arrived.clear()
        self.expected = n
        self.all_in.clear()


async def send(js, ids, body):
    """Publishes tasks with up to nats-py's default window of PubAcks outstanding; each task is
    stored, not duplicated, or this raises."""
    acks = [await js.publish_async(f"peer.task.{i}", body, headers={"Nats-Msg-Id": i})
            for i in ids]
    for ack in await asyncio.gather(*acks):
        if ack.duplicate:
            raise RuntimeError(f"task {ack.seq} of stream {ack.stream} was taken as a duplicate")


def new_ids(n, tag):
    # Distinct from any id latency_bench sends, so the stream's dedup window never drops one.
    prefix = f"{tag}{uuid.uuid4().hex[:8]}x"
    return [f"{prefix}{i}" for i in range(n)]


async def wait_ready(nc, js, results, worker, body):
    """Ready = the worker has made its streams and a first task made the round trip; then a
    warm-up batch."""
    async def streams_exist():
        try:
            await js.stream_info("PEER_TASKS")
            await js.stream_info("PEER_RESULTS")
            return True
        except nats.js.errors.NotFoundError:
            return False

    deadline = time.monotonic() + 60
    while not await streams_exist():
        worker.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError("the nats-py worker made no streams within 60 s")
        await asyncio.sleep(0.01)
    for n in (1, 500):
        ids = new_ids(n, "w")
        results.expect(n)
        await send(js, ids, body)
        await results.wait_all(ids, 60, worker)


async def throughput_round(js, results, worker, out, body, tasks, round_):
    """Tasks/s from the first send to the last result; returns the peak RSS on the way."""
    ids = new_ids(tasks, "t")
    results.expect(tasks)
    cpu_before = worker.cpu_s()
    with PeakRss(worker) as rss:
        start = time.monotonic()
        await send(js, ids, body)
        last = await results.wait_all(ids, 120 + tasks / 100, worker)
    cpu = worker.cpu_s() - cpu_before
    out.emit("tasks_per_s", tasks / (last - start), round_=round_)
    out.emit("cpu_s_per_1k", cpu * 1000.0 / tasks, round_=round_)
    return rss.peak_kib


async def run_latency_bench(args):
    if not args.latency_bench:
        print("  natspy latency: not measured (no --latency-bench given)", flush=True)
        return
    argv = [args.latency_bench, "--url", args.url, "--task-prefix", "peer.task",
            "--result-prefix", "peer.result", "--rates", str(args.rate),
            "--seconds", str(args.seconds), "--system", "natspy", "--json", args.json]
    print("  " + " ".join(argv), flush=True)
    await asyncio.to_thread(subprocess.run, argv, check=True, stdin=subprocess.DEVNULL)


async def measure_natspy(args):
    out = measure.JsonLines(args.json, "natspy", workers=1, concurrency=1)
    body = measure.payload()
    worker = WorkerProcess("natspy worker",
                           [sys.executable, os.path.join(HERE, "natspy_worker.py"),
                            "--url", args.url],
                           log_path=os.path.join(args.tmp, "natspy_worker.log"))
    nc = await nats.connect(args.url)
    try:
        js = nc.jetstream()
        results = Results()
        await results.subscribe(nc)
        await wait_ready(nc, js, results, worker, body)
        out.emit("rss_idle_kib", worker.rss_kib())
        peaks = [await throughput_round(js, results, worker, out, body, args.tasks, round_)
                 for round_ in range(1, args.rounds + 1)]
        out.emit("rss_load_kib", max(peaks))  # the peak over all rounds, as worker_bench has it
        await results.sub.unsubscribe()  # latency_bench is the only client from here
        await run_latency_bench(args)
        worker.check_alive()
    except Exception:
        worker.print_log_tail()
        raise
    finally:
        await nc.close()
        worker.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--json", required=True, help="results file; JSON lines are appended")
    parser.add_argument("--tasks", type=int, default=20000, help="tasks per throughput round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=int, default=200, help="open-loop send rate, tasks/s")
    parser.add_argument("--seconds", type=int, default=5, help="length of the open-loop run")
    parser.add_argument("--latency-bench", help="path of the C++ latency_bench; else no latency")
    parser.add_argument("--tmp", default=".", help="where the worker's log goes")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind, so the worker is stopped
    print("== peers: natspy (one asyncio process, one task at a time)", flush=True)
    asyncio.run(measure_natspy(args))


if __name__ == "__main__":
    main()
