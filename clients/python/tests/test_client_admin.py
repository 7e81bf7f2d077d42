"""Dead letters, recurring schedules, refused input, errors, and the ``smith`` CLI reading what
Python wrote (and the other way round), against a real nats-server and ``smith worker``."""

from __future__ import annotations

import json
import socket
import uuid
from datetime import timedelta
from typing import Any

import nats
import pytest

import mistersmith
from mistersmith import (DeadLetter, InvalidTask, NotFound, NotRequeueable, OutcomeUnknown,
                         ScheduleExists, ScheduleInfo, Unavailable)
from mistersmith._wire import decode_task
from smith_cluster import Cluster, run, until


def new_id(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


async def dead_letter_of(client: mistersmith.Client, task_id: str) -> DeadLetter:
    async def find() -> DeadLetter | None:
        return next((d for d in await client.dead_letters(1000) if d.id == task_id), None)

    return await until(find, f"a dead letter of {task_id}")


def test_a_dead_task_is_listed_requeued_and_then_succeeds(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            # The topology allows 2 deliveries: the worker fails both, and the task is dead.
            task = await client.submit("test", "fail", {"fail_times": 2, "mode": "error"},
                                       meta={"tenant": "acme"})
            dead = await task.result(timeout=30)
            assert (dead.ok, dead.status, dead.attempts) == (False, "dead", 2)
            letter = await dead_letter_of(client, task.id)
            assert (letter.role, letter.type, letter.attempts) == ("test", "fail", 2)
            assert letter.subject == f"smith.task.test.fail.{task.id}"
            assert letter.stream_seq == task.stream_seq and "attempt 2 of 2" in letter.reason
            assert decode_task(letter.original).meta == {"tenant": "acme"}
            again = await client.requeue(letter.seq)
            assert (again.id, again.role, again.type) == (task.id, "test", "fail")
            result = await again.result(timeout=30)
            assert (result.ok, result.attempts) == (True, 3)
            assert result.text() == "succeeded on attempt 3"
            assert (await task.status()).state == "succeeded"
            assert all(d.seq != letter.seq for d in await client.dead_letters(1000))
            with pytest.raises(NotFound):
                await client.requeue(letter.seq)

    run(scenario())


def test_a_dead_letter_can_be_deleted(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            full_meta = {f"k{i}": "v" for i in range(64)}  # the most a worker decodes
            task = await client.submit("test", "fail", {"fail_times": 9, "mode": "error"},
                                       meta=full_meta)
            assert (await task.result(timeout=30)).status == "dead"
            letter = await dead_letter_of(client, task.id)
            # A requeue adds meta prior_attempts: with 65 entries no worker could decode it.
            with pytest.raises(NotRequeueable):
                await client.requeue(letter.seq)
            await client.delete_dead_letter(letter.seq)
            assert all(d.seq != letter.seq for d in await client.dead_letters(1000))
            with pytest.raises(NotFound):
                await client.delete_dead_letter(letter.seq)

    run(scenario())


def test_a_recurring_schedule_is_created_fires_and_is_deleted(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            name = new_id("beat")
            try:
                made = await client.schedule(name, "test", "echo", "beat", every="1s")
                assert (made.schedule, made.replaced) == ("@every 1s", False)
                listed = [s for s in await client.schedules() if s.name == name]
                assert [(s.role, s.type, s.schedule) for s in listed] == [
                    ("test", "echo", "@every 1s")]
                again = await client.schedule(name, "test", "echo", "beat", every="1s")
                assert again.replaced
                assert len([s for s in await client.schedules() if s.name == name]) == 1
                with pytest.raises(ScheduleExists):
                    await client.schedule(name, "test", "sleep", every="1s")

                async def fired() -> ScheduleInfo | None:
                    info = await client.schedule_info(name)
                    return info if info.last_tasks else None

                info = await until(fired, "the schedule fires", timeout=10)
                firing = info.last_tasks[0]
                assert firing.id.startswith(f"{name}-") and info.next_due_at is not None
                result = await client.task(firing.id, "test").result(timeout=30)
                assert (result.ok, result.text()) == (True, "beat")
            finally:
                await client.unschedule(name)
            assert all(s.name != name for s in await client.schedules())
            with pytest.raises(NotFound):
                await client.schedule_info(name)
            with pytest.raises(NotFound):
                await client.unschedule(name)

    run(scenario())


def test_a_cron_schedule_keeps_its_time_zone(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            name = new_id("nightly")
            made = await client.schedule(name, "test", "echo", {"report": True},
                                         cron="0 30 2 * * *", time_zone="Europe/Amsterdam")
            try:
                listed = [s for s in await client.schedules() if s.name == name]
                assert [(s.schedule, s.time_zone, s.stream_seq) for s in listed] == [
                    ("0 30 2 * * *", "Europe/Amsterdam", made.stream_seq)]
            finally:
                await client.unschedule(name)

    run(scenario())


async def tasks_last_seq(url: str) -> int:
    nc = await nats.connect(url)
    try:
        reply = await nc.request("$JS.API.STREAM.INFO.SMITH_TASKS", b"")
        return int(json.loads(reply.data)["state"]["last_seq"])
    finally:
        await nc.close()


@pytest.mark.parametrize("call", [
    {"role": "no.such", "type": "echo"},
    {"role": "ghost", "type": "echo"},  # a token, but no consumer role-ghost
    {"role": "test", "type": "ec ho"},
    {"role": "test", "type": "echo", "id": "a*b"},
    {"role": "test", "type": "echo", "meta": {"k": 7}},
    {"role": "test", "type": "echo", "payload": b"x" * (1024 * 1024)},
    {"role": "test", "type": "echo", "delay": -1.0},
    {"role": "test", "type": "echo", "deadline": timedelta(seconds=-5)},
])
def test_invalid_input_is_refused_and_publishes_nothing(cluster: Cluster,
                                                        call: dict[str, Any]) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            before = await tasks_last_seq(cluster.url)
            fields = dict(call)
            role, type_ = fields.pop("role"), fields.pop("type")
            with pytest.raises(InvalidTask):
                await client.submit(role, type_, **fields)
            with pytest.raises(InvalidTask):
                await client.schedule(new_id("n"), role, type_, every="0s")
            assert await tasks_last_seq(cluster.url) == before

    run(scenario())


def test_the_cli_reads_what_python_wrote_and_the_other_way_round(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            done = await client.submit("test", "echo", b"\xffbinary")
            await done.result(timeout=30)
            queued = await client.submit("idle", "echo", "waits")
            delayed = await client.submit("test", "echo", "later", delay=300)
            for task in (done, queued, delayed):
                cli = cluster.smith("status", task.id, "--json")
                assert cli.returncode == 0, cli.stderr
                theirs, ours = json.loads(cli.stdout), (await task.status()).as_json()
                if "queued_ms" in theirs:  # the C++ side reads the stored time to the second
                    assert theirs.pop("queued_ms") == ours.pop("queued_ms") // 1000 * 1000
                assert theirs == ours
            cancelled = cluster.smith("cancel", delayed.id)
            assert cancelled.returncode == 0, cancelled.stderr
            assert (await delayed.result(timeout=30)).status == "cancelled"
            await queued.cancel()
            task_id = new_id("from-cli")
            submitted = cluster.smith("submit", "--role", "test", "--type", "echo",
                                      "--payload", '{"n": 1}', "--id", task_id)
            assert submitted.returncode == 0, submitted.stderr
            assert (await client.task(task_id).result(timeout=30)).json() == {"n": 1}

    run(scenario())


def test_connection_and_publish_failures(cluster: Cluster) -> None:
    async def scenario() -> None:
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with pytest.raises(Unavailable):
            await mistersmith.Client.connect(f"nats://127.0.0.1:{port}", timeout=1)
        async with await cluster.client(prefix="nostreams") as client:
            with pytest.raises(Unavailable, match="does not exist"):
                await client.submit("test", "echo")
        # Something takes the message and never acks it: sent, outcome unknown.
        watcher = await nats.connect(cluster.url)
        try:
            await watcher.subscribe("blackhole.task.>")
            await watcher.flush()
            async with await cluster.client(prefix="blackhole", timeout=0.3,
                                            check_topology=False) as client:
                with pytest.raises(OutcomeUnknown) as unknown:
                    await client.submit("test", "echo", id="retry-me")
                assert unknown.value.id == "retry-me"
            closed = await cluster.client()
            await closed.close()
            with pytest.raises(Unavailable):
                await closed.submit("test", "echo")
        finally:
            await watcher.close()

    run(scenario())
