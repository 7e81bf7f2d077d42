"""A plain nats-py JetStream worker: what a careful Python team would write instead of a task
runtime. Tasks arrive on PEER_TASKS (work-queue retention, `peer.task.<id>`) through a durable
pull consumer; each result is published to PEER_RESULTS as `peer.result.<id>` with the task's
body, and the task is acked only after JetStream has acknowledged the result (at least once,
deduplicated by Nats-Msg-Id).

  natspy_worker.py --url nats://127.0.0.1:4222 [--batch 64]
"""

import argparse
import asyncio
import signal
import sys

import nats
import nats.errors
from nats.js.api import ConsumerConfig, RetentionPolicy

TASKS_STREAM = "PEER_TASKS"
RESULTS_STREAM = "PEER_RESULTS"
DURABLE = "peer-worker"


async def ensure_streams(js):
    # add_stream is idempotent for an identical config, so every worker may call it at start.
    await js.add_stream(name=TASKS_STREAM, subjects=["peer.task.>"],
                        retention=RetentionPolicy.WORK_QUEUE)
    await js.add_stream(name=RESULTS_STREAM, subjects=["peer.result.>"])


async def work(url, batch):
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_streams(js)
    sub = await js.pull_subscribe("peer.task.>", durable=DURABLE, stream=TASKS_STREAM,
                                  config=ConsumerConfig(ack_wait=30))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    while not stopping.is_set():
        try:
            msgs = await sub.fetch(batch, timeout=1)
        except asyncio.TimeoutError:  # nats-py's own timeout errors derive from it
            continue  # nothing to do for a second: ask again (and notice a stop)
        for msg in msgs:
            task_id = msg.subject.rsplit(".", 1)[-1]
            try:
                # Awaits the PubAck: the result is stored before the task is acked.
                await js.publish(f"peer.result.{task_id}", msg.data,
                                 headers={"Nats-Msg-Id": task_id})
            except (asyncio.TimeoutError, nats.errors.Error) as err:
                # Redelivered later; the Nats-Msg-Id keeps a second result out of the stream.
                print(f"task {task_id}: result not stored ({err!r}), nak", file=sys.stderr)
                await msg.nak()
                continue
            await msg.ack()
    # Every task taken is answered and acked by now; flush the acks and go. (nc.drain() waits
    # out its whole timeout here, on the pull subscription's inbox.)
    await nc.flush()
    await nc.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--batch", type=int, default=64, help="messages per fetch")
    args = parser.parse_args()
    asyncio.run(work(args.url, args.batch))


if __name__ == "__main__":
    main()
