"""The client against a real nats-server and a real C++ ``smith worker`` (role ``test``, with
the built-in handlers echo, sleep and fail): tasks submitted from Python run there, and their
results, states, progress and cancels read back as the C++ API reads them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import mistersmith
import mistersmith._watch
from mistersmith import AlreadyFinished, NotFound, ResultTimeout, TaskStatus
from smith_cluster import Cluster, run, until


def new_id(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


def test_python_tasks_run_on_the_cpp_worker(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            as_json = await client.submit("test", "echo", {"text": "hé", "n": [1, 2]})
            as_text = await client.submit("test", "echo", "plain text")
            as_bytes = await client.submit("test", "echo", b"\x00\xffraw")
            assert not as_json.duplicate and as_json.stream_seq
            result = await as_json.result(timeout=30)
            assert result.ok and result.status == "succeeded" and result.error is None
            assert result.json() == {"text": "hé", "n": [1, 2]}
            assert result.output == '{"text":"hé","n":[1,2]}'.encode()
            assert result.attempts == 1 and result.worker and result.started <= result.finished
            assert (await as_text.result(timeout=30)).text() == "plain text"
            assert (await as_bytes.result(timeout=30)).output == b"\x00\xffraw"
            # A stored result is found however late one asks, by id alone too.
            again = await client.task(as_json.id).result(timeout=30)
            assert again == result

    run(scenario())


def test_the_same_id_is_one_task(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            task_id = new_id("dup")
            first = await client.submit("test", "echo", "first", id=task_id)
            second = await client.submit("test", "echo", "second", id=task_id)
            assert (first.duplicate, second.duplicate) == (False, True)
            assert second.stream_seq == first.stream_seq
            assert (await second.result(timeout=30)).text() == "first"

    run(scenario())


def test_a_result_the_subscription_missed_is_still_found(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server hands a result to subscribers before its stream stores it: one published
    just before the waiter subscribed reaches neither its subscription nor its first read of
    the stream. Here no result ever reaches the subscriptions (they listen elsewhere); the
    waits still end, by reading the stream again."""
    real_subscribe = mistersmith._watch._subscribe

    async def deaf(link: Any, subject: str, cb: Any) -> Any:
        return await real_subscribe(link, f"nobody.{uuid.uuid4().hex}", cb)

    monkeypatch.setattr(mistersmith._watch, "_subscribe", deaf)

    async def scenario() -> None:
        async with await cluster.client() as client:
            slow = await client.submit("test", "sleep", {"ms": 300})
            assert (await slow.result(timeout=5)).text() == "slept 300 ms"
            followed = await client.submit("test", "sleep", {"ms": 300})
            assert [p async for p in followed.progress()] == []  # no events reach it either
            assert (await followed.result(timeout=0.5)).ok  # it ended: the result is stored

    run(scenario())


def test_status_goes_queued_running_succeeded(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            task = await client.submit("later", "sleep", {"ms": 1000}, meta={"who": "test"})
            queued = await task.status()
            assert (queued.state, queued.role, queued.type) == ("queued", "later", "sleep")
            assert queued.stream_seq == task.stream_seq and queued.queued is not None
            assert not queued.done
            await cluster.start_worker("later")  # no worker of `later` until now: it stayed queued

            async def state_beyond_queued() -> TaskStatus | None:
                status = await task.status()
                return None if status.state == "queued" else status

            running = await until(state_beyond_queued, "leaves queued")
            assert running.state == "running" and running.stream_seq == task.stream_seq

            async def finished() -> TaskStatus | None:
                status = await task.status()
                return status if status.done else None

            done = await until(finished, "finishes")
            assert done.state == "succeeded" and done.output == b"slept 1000 ms"
            assert done.attempts == 1 and done.worker and done.started and done.finished

    run(scenario())


def test_progress_is_followed_until_the_result(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            task = await client.submit("test", "sleep", {"ms": 600})
            seen = [p async for p in task.progress()]
            percents = [p.percent for p in seen]
            assert percents and percents == sorted(set(percents)), percents
            assert set(percents) <= set(range(10, 100, 10))
            assert all(p.message.startswith("slept ") and p.at for p in seen)
            # It ended because the result is there.
            assert (await task.result(timeout=0.5)).ok
            assert [p async for p in task.progress()] == []  # an ended task has none

    run(scenario())


def test_cancel_stops_a_running_task(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            task = await client.submit("test", "sleep", {"ms": 20000})

            async def running() -> bool:
                return (await task.status()).state == "running"

            await until(running, "runs")
            assert await task.cancel() == "cancelled"
            result = await task.result(timeout=30)
            assert (result.ok, result.status, result.error) == (False, "cancelled", "cancelled")
            assert (await task.status()).state == "cancelled"

            async def stopped() -> bool:
                return await cluster.in_flight("test") == 0

            await until(stopped, "the worker lets go of the cancelled sleep", timeout=5)
            with pytest.raises(AlreadyFinished) as ended:
                await task.cancel()
            assert ended.value.state == "cancelled"

    run(scenario())


def test_cancel_removes_a_queued_or_delayed_task(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            queued = await client.submit("idle", "echo", "never")
            delayed = await client.submit("test", "echo", "never", delay=timedelta(minutes=5))
            status = await delayed.status()
            assert (status.state, status.role, status.type) == ("scheduled", "test", "echo")
            assert status.due_at is not None and status.due is not None
            assert status.due_at > datetime.now(timezone.utc) + timedelta(minutes=4)
            for task in (queued, delayed):
                assert await client.cancel(task.id) == "cancelled"
                after = await task.status()
                assert (after.state, after.error) == ("cancelled", "cancelled")
                assert (await task.result(timeout=30)).status == "cancelled"

    run(scenario())


def test_a_delayed_task_is_scheduled_then_runs(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            task = await client.submit("test", "echo", "wake up", delay=0.8)
            status = await task.status()
            assert status.state == "scheduled" and status.due_at is not None
            result = await task.result(timeout=30)
            assert result.ok and result.text() == "wake up"
            assert result.started >= status.due_at - timedelta(milliseconds=50)

    run(scenario())


def test_a_deadline_fails_a_task_that_runs_past_it(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            late = await client.submit("test", "sleep", {"ms": 10000},
                                       deadline=timedelta(milliseconds=300))
            result = await late.result(timeout=30)
            assert (result.ok, result.status, result.error) == (False, "failed",
                                                                 "deadline exceeded")
            assert result.finished - result.started < timedelta(seconds=5)
            in_time = await client.submit(
                "test", "echo", "ok", deadline=datetime.now(timezone.utc) + timedelta(minutes=1))
            assert (await in_time.result(timeout=30)).ok

    run(scenario())


def test_unknown_tasks_and_timeouts(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with await cluster.client() as client:
            with pytest.raises(NotFound):
                await client.status(new_id("nobody"))
            with pytest.raises(NotFound):
                await client.cancel(new_id("nobody"))
            stuck = await client.submit("idle", "echo")
            with pytest.raises(ResultTimeout) as waited:
                await stuck.result(timeout=0.2)
            assert waited.value.id == stuck.id
            await stuck.cancel()
            with pytest.raises(mistersmith.InvalidTask):
                client.task("a.b")
        # A wait in progress ends when its client closes.
        client = await cluster.client()
        await client.schedules()  # a first request subscribes nats-py's reply inbox
        subscribed = len(client._nc._subs)
        waiting = asyncio.ensure_future(client.task(new_id("never")).result())
        following = asyncio.ensure_future(anext(aiter(client.task(new_id("never")).progress())))

        async def both_wait() -> bool:  # result: 1 subscription; progress: events and result
            return len(client._nc._subs) == subscribed + 3 and not waiting.done()

        await until(both_wait, "both wait")
        await client.close()
        for wait in (waiting, following):
            with pytest.raises(mistersmith.Unavailable):
                await wait

    run(scenario())
