#!/usr/bin/env python3
"""Publish a MisterSmith task and read its result from Python (docs/WIRE.md).

Needs only the pip packages nats-py and msgpack. Connects to $SMITH_NATS_URL (default
nats://127.0.0.1:4222) and uses the prefix $SMITH_PREFIX (default "smith").

It plays both sides so that it runs on an empty server: it creates SMITH_TASKS and SMITH_RESULTS
when they are missing (a deployment's `smith orchestrator` normally declares them), publishes
one task, then acts as a worker of role "demo" (durable pull consumer role-demo), and finally
reads the result back twice: from a subscription made before publishing, and from the stream.
Against a real deployment, keep the submitter half and let the workers answer.

With $SMITH_DELAY_MS above 0 the task is a delayed one: it is published as a message schedule
(nats-server 2.12+) that the server turns into the task that many milliseconds later.

    pip install nats-py msgpack
    SMITH_NATS_URL=nats://127.0.0.1:4222 python3 submit_task.py
    SMITH_DELAY_MS=2000 SMITH_NATS_URL=nats://127.0.0.1:4222 python3 submit_task.py
"""

import asyncio
import json
import os
import secrets
import sys
import time

import msgpack
import nats
from nats.js.api import (AckPolicy, ConsumerConfig, RetentionPolicy, StorageType,
                         StreamConfig)
from nats.js.errors import NotFoundError

WIRE_VERSION = 2
ROLE = "demo"
TYPE = "echo"

# The bytes our C++ encoder produces for one known task (tests/unit/transport/wire/envelope_test.cpp).
# A Python encoder that matches them writes the wire format correctly.
GOLDEN_TASK = bytes.fromhex(
    "87a17602a26964a3742d31a474797065a46563686fa77061796c6f6164c4077b226e223a317d"
    "aa637265617465645f6d73cf0000018bcfe56800ab646561646c696e655f6d73cf0000018bcfe6"
    "5260a46d65746181a674656e616e74a461636d65")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def rfc3339(unix_ms: int) -> str:
    """The UTC time a "Nats-Schedule: @at ..." header takes, e.g. 2026-11-29T07:31:28.387Z."""
    secs, ms = divmod(unix_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{ms:03d}Z"


def stream_name(prefix: str, kind: str) -> str:
    """SMITH_TASKS for prefix "smith": letters and digits upper-cased, anything else '_'."""
    return "".join(c.upper() if c.isascii() and c.isalnum() else "_" for c in prefix) + "_" + kind


def encode_task(task_id: str, task_type: str, payload: bytes, created_ms: int,
                deadline_ms: int | None = None, meta: dict[str, str] | None = None) -> bytes:
    body = {"v": WIRE_VERSION, "id": task_id, "type": task_type,
            "payload": bytes(payload),  # bytes -> msgpack bin; a str here would be refused
            "created_ms": created_ms}
    if deadline_ms is not None:
        body["deadline_ms"] = deadline_ms
    if meta:
        body["meta"] = meta
    return msgpack.packb(body, use_bin_type=True)


def encode_result(task_id: str, ok: bool, output: bytes, attempts: int, worker: str,
                  started_ms: int, finished_ms: int, error: str | None = None) -> bytes:
    body = {"v": WIRE_VERSION, "id": task_id, "ok": ok, "output": bytes(output)}
    if error is not None:
        body["error"] = error
    body.update(attempts=attempts, worker=worker, started_ms=started_ms, finished_ms=finished_ms)
    return msgpack.packb(body, use_bin_type=True)


def decode(body: bytes) -> dict:
    """Decodes a task or result body; str stays str, bin becomes bytes."""
    record = msgpack.unpackb(body, raw=False)
    if not isinstance(record, dict) or record.get("v") != WIRE_VERSION:
        raise ValueError(f"not a version {WIRE_VERSION} record: {record!r}")
    return record


async def ensure_stream(js, config: StreamConfig) -> None:
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)


async def last_result(nc, stream: str, prefix: str, task_id: str) -> bytes:
    """The stored result of a task known only by its id (any role): a direct get of the last
    message on <prefix>.result.*.<id>. The subject has a wildcard, so it goes in the JSON body
    of a request to $JS.API.DIRECT.GET.<stream>, not after that subject."""
    reply = await nc.request(f"$JS.API.DIRECT.GET.{stream}",
                             json.dumps({"last_by_subj": f"{prefix}.result.*.{task_id}"}).encode(),
                             timeout=5)
    if reply.headers and reply.headers.get("Status"):  # 404: no result stored yet
        raise LookupError(f"no result for {task_id}: {reply.headers}")
    return reply.data


async def main() -> int:
    url = os.environ.get("SMITH_NATS_URL", "nats://127.0.0.1:4222")
    prefix = os.environ.get("SMITH_PREFIX", "smith")
    delay_ms = int(os.environ.get("SMITH_DELAY_MS", "0"))
    tasks_stream, results_stream = stream_name(prefix, "TASKS"), stream_name(prefix, "RESULTS")

    golden = encode_task("t-1", "echo", b'{"n":1}', 1_700_000_000_000,
                         deadline_ms=1_700_000_060_000, meta={"tenant": "acme"})
    assert golden == GOLDEN_TASK, f"encoder differs from the golden bytes: {golden.hex()}"

    nc = await nats.connect(url, name="submit_task.py")
    js = nc.jetstream()
    try:
        # -- the streams (normally declared by the deployment) ---------------------------------
        # Delayed tasks wait in the tasks stream too, under <prefix>.schedule.>.
        await ensure_stream(js, StreamConfig(
            name=tasks_stream, subjects=[f"{prefix}.task.>", f"{prefix}.schedule.>"],
            retention=RetentionPolicy.WORK_QUEUE, storage=StorageType.FILE,
            duplicate_window=120.0, max_msg_size=1024 * 1024, allow_msg_schedules=True))
        await ensure_stream(js, StreamConfig(
            name=results_stream, subjects=[f"{prefix}.result.>"],
            retention=RetentionPolicy.LIMITS, storage=StorageType.FILE,
            max_age=86_400.0, duplicate_window=120.0, max_msg_size=1024 * 1024,
            allow_direct=True))

        # -- submit ----------------------------------------------------------------------------
        task_id = "t-" + secrets.token_hex(8)  # one subject token: no '.', '*', '>', spaces
        created = now_ms()
        deadline = created + delay_ms + 60_000
        body = encode_task(task_id, TYPE, b'{"text":"hello \x00 world"}', created,
                           deadline_ms=deadline, meta={"submitted_by": "submit_task.py"})
        headers = {
            "Nats-Msg-Id": task_id,            # JetStream drops a resend inside 2 minutes
            "Smith-Type": TYPE,
            "Smith-Deadline": str(deadline),   # unix ms, decimal
            "traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01",
        }
        subject = f"{prefix}.task.{ROLE}.{TYPE}.{task_id}"
        if delay_ms > 0:
            # A delayed task: the same body and headers on the schedule subject; the server
            # publishes them to the task subject (without Nats-Msg-Id) when they are due.
            headers["Nats-Schedule"] = "@at " + rfc3339(created + delay_ms)
            headers["Nats-Schedule-Target"] = subject
            subject = f"{prefix}.schedule.{ROLE}.{TYPE}.{task_id}"
        # Subscribe to the result before publishing, so a fast worker cannot answer unseen.
        results = await nc.subscribe(f"{prefix}.result.{ROLE}.{task_id}")
        ack = await js.publish(subject, body, headers=headers)
        print(f"published {task_id} as {tasks_stream} seq {ack.seq}"
              + (f" (due {headers['Nats-Schedule'][4:]})" if delay_ms > 0 else ""))
        again = await js.publish(subject, body, headers=headers)
        assert again.duplicate, "a second publish with the same Nats-Msg-Id is dropped"

        # -- the worker side: what a MisterSmith worker of role "demo" does --------------------
        durable = f"role-{ROLE}"
        sub = await js.pull_subscribe(
            f"{prefix}.task.{ROLE}.>", durable=durable, stream=tasks_stream,
            config=ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
                                  ack_wait=300.0, max_deliver=3, max_ack_pending=1000))
        (msg,) = await sub.fetch(1, timeout=5 + delay_ms / 1000)
        task = decode(msg.data)
        # The id is the last token of <prefix>.task.<role>.<type>.<id>; a delayed task has no
        # Nats-Msg-Id header by then.
        assert msg.subject.rsplit(".", 1)[-1] == task["id"] == task_id
        assert isinstance(task["payload"], bytes) and isinstance(task["id"], str)
        started = now_ms()
        result_body = encode_result(task["id"], True, task["payload"].upper(),
                                    attempts=msg.metadata.num_delivered, worker="python/demo",
                                    started_ms=started, finished_ms=now_ms())
        await js.publish(f"{prefix}.result.{ROLE}.{task['id']}", result_body,
                         headers={"traceparent": msg.headers["traceparent"]})
        await msg.ack_sync()
        await sub.unsubscribe()

        # -- read the result -------------------------------------------------------------------
        live = decode((await results.next_msg(timeout=5)).data)
        kept = decode(await last_result(nc, results_stream, prefix, task_id))
        assert live == kept
        print(f"result of {kept['id']}: ok={kept['ok']} output={kept['output']!r} "
              f"attempts={kept['attempts']} worker={kept['worker']} "
              f"took {kept['finished_ms'] - kept['started_ms']} ms")
        return 0 if kept["ok"] and kept["output"] == b'{"TEXT":"HELLO \x00 WORLD"}' else 1
    finally:
        await nc.drain()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
