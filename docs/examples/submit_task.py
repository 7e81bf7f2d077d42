#!/usr/bin/env python3
"""Publish a MisterSmith task and read its result from Python (docs/WIRE.md).

Needs only the pip packages nats-py and msgpack. Connects to $SMITH_NATS_URL (default
nats://127.0.0.1:4222) and uses the prefix $SMITH_PREFIX (default "smith").

It plays both sides so that it runs on an empty server: it creates SMITH_TASKS and SMITH_RESULTS
when they are missing (a deployment's `smith orchestrator` normally declares them), publishes
one task, then acts as a worker of role "demo" (durable pull consumer role-demo), and finally
reads the result back twice: from a subscription made before publishing, and from the stream.
Against a real deployment, keep the submitter half and let the workers answer.

    pip install nats-py msgpack
    SMITH_NATS_URL=nats://127.0.0.1:4222 python3 submit_task.py
"""

import asyncio
import os
import secrets
import sys
import time

import msgpack
import nats
from nats.js.api import (AckPolicy, ConsumerConfig, RetentionPolicy, StorageType,
                         StreamConfig)
from nats.js.errors import NotFoundError

WIRE_VERSION = 1
ROLE = "demo"
TYPE = "echo"

# The bytes our C++ encoder produces for one known task (tests/unit/transport/wire/envelope_test.cpp).
# A Python encoder that matches them writes the wire format correctly.
GOLDEN_TASK = bytes.fromhex(
    "87a17601a26964a3742d31a474797065a46563686fa77061796c6f6164c4077b226e223a317d"
    "aa637265617465645f6d73cf0000018bcfe56800ab646561646c696e655f6d73cf0000018bcfe6"
    "5260a46d65746181a674656e616e74a461636d65")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


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


async def main() -> int:
    url = os.environ.get("SMITH_NATS_URL", "nats://127.0.0.1:4222")
    prefix = os.environ.get("SMITH_PREFIX", "smith")
    tasks_stream, results_stream = stream_name(prefix, "TASKS"), stream_name(prefix, "RESULTS")

    golden = encode_task("t-1", "echo", b'{"n":1}', 1_700_000_000_000,
                         deadline_ms=1_700_000_060_000, meta={"tenant": "acme"})
    assert golden == GOLDEN_TASK, f"encoder differs from the golden bytes: {golden.hex()}"

    nc = await nats.connect(url, name="submit_task.py")
    js = nc.jetstream()
    try:
        # -- the streams (normally declared by the deployment) ---------------------------------
        await ensure_stream(js, StreamConfig(
            name=tasks_stream, subjects=[f"{prefix}.task.>"],
            retention=RetentionPolicy.WORK_QUEUE, storage=StorageType.FILE,
            duplicate_window=120.0, max_msg_size=1024 * 1024))
        await ensure_stream(js, StreamConfig(
            name=results_stream, subjects=[f"{prefix}.result.>"],
            retention=RetentionPolicy.LIMITS, storage=StorageType.FILE,
            max_age=86_400.0, duplicate_window=120.0, max_msg_size=1024 * 1024,
            allow_direct=True))

        # -- submit ----------------------------------------------------------------------------
        task_id = "t-" + secrets.token_hex(8)  # one subject token: no '.', '*', '>', spaces
        created = now_ms()
        deadline = created + 60_000
        body = encode_task(task_id, TYPE, b'{"text":"hello \x00 world"}', created,
                           deadline_ms=deadline, meta={"submitted_by": "submit_task.py"})
        headers = {
            "Nats-Msg-Id": task_id,            # JetStream drops a resend inside 2 minutes
            "Smith-Type": TYPE,
            "Smith-Deadline": str(deadline),   # unix ms, decimal
            "traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01",
        }
        # Subscribe to the result before publishing, so a fast worker cannot answer unseen.
        results = await nc.subscribe(f"{prefix}.result.{task_id}")
        ack = await js.publish(f"{prefix}.task.{ROLE}.{TYPE}", body, headers=headers)
        print(f"published {task_id} as {tasks_stream} seq {ack.seq}")
        again = await js.publish(f"{prefix}.task.{ROLE}.{TYPE}", body, headers=headers)
        assert again.duplicate, "a second publish with the same Nats-Msg-Id is dropped"

        # -- the worker side: what a MisterSmith worker of role "demo" does --------------------
        durable = f"role-{ROLE}"
        sub = await js.pull_subscribe(
            f"{prefix}.task.{ROLE}.>", durable=durable, stream=tasks_stream,
            config=ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
                                  ack_wait=300.0, max_deliver=3, max_ack_pending=1000))
        (msg,) = await sub.fetch(1, timeout=5)
        task = decode(msg.data)
        assert msg.headers["Nats-Msg-Id"] == task["id"] == task_id
        assert isinstance(task["payload"], bytes) and isinstance(task["id"], str)
        started = now_ms()
        result_body = encode_result(task["id"], True, task["payload"].upper(),
                                    attempts=msg.metadata.num_delivered, worker="python/demo",
                                    started_ms=started, finished_ms=now_ms())
        await js.publish(f"{prefix}.result.{task['id']}", result_body,
                         headers={"traceparent": msg.headers["traceparent"]})
        await msg.ack_sync()
        await sub.unsubscribe()

        # -- read the result -------------------------------------------------------------------
        live = decode((await results.next_msg(timeout=5)).data)
        stored = await js.get_last_msg(results_stream, f"{prefix}.result.{task_id}", direct=True)
        kept = decode(stored.data)
        assert live == kept
        print(f"result of {kept['id']}: ok={kept['ok']} output={kept['output']!r} "
              f"attempts={kept['attempts']} worker={kept['worker']} "
              f"took {kept['finished_ms'] - kept['started_ms']} ms")
        return 0 if kept["ok"] and kept["output"] == b'{"TEXT":"HELLO \x00 WORLD"}' else 1
    finally:
        await nc.drain()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
