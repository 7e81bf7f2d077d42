"""Python handlers under a real C++ ``smith worker --handler-process``: the smith CLI submits to
them, a handler process that dies mid-task is started again and the task retried, and cancel and
deadline reach a running handler."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from smith_cluster import Cluster, run, until

HANDLERS = Path(__file__).resolve().parent / "worker_handlers.py"


@pytest.fixture(scope="module")
def py_worker(cluster: Cluster) -> Cluster:
    run(cluster.start_handler_worker("py", HANDLERS))
    return cluster


def test_the_cli_submits_to_python_handlers(py_worker: Cluster) -> None:
    done = py_worker.smith("submit", "--role", "py", "--type", "echo", "--payload",
                           '{"from": "the CLI"}', "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"from": "the CLI"}


def test_a_handler_process_that_dies_is_restarted_and_the_task_retried(py_worker: Cluster
                                                                        ) -> None:
    async def scenario() -> None:
        async with await py_worker.client() as client:
            task = await client.submit("py", "crash_once")
            result = await task.result(timeout=60)
            assert result.ok, result.error
            assert result.text() == "survived, attempt 2"
            assert result.attempts == 2
            # The restarted processes serve the next task as any other.
            again = await client.submit("py", "echo", "still here")
            assert (await again.result(timeout=30)).text() == "still here"

    run(scenario())


def test_cancel_and_deadline_reach_a_python_handler(py_worker: Cluster, tmp_path: Path) -> None:
    async def marked(mark: Path) -> str | None:
        return mark.read_text() if mark.exists() and mark.stat().st_size > 0 else None

    async def scenario() -> None:
        async with await py_worker.client() as client:
            stopped = tmp_path / "cancelled"
            task = await client.submit("py", "nap", {"ms": 60_000, "mark": str(stopped)})

            async def running() -> bool:
                return await py_worker.in_flight("py") == 1

            await until(running, "the nap to be in a handler's hands", timeout=20)
            await task.cancel()
            assert (await task.result(timeout=20)).status == "cancelled"
            # The handler itself was told (a cancel frame) and stopped, long before its 60 s.
            assert await until(lambda: marked(stopped), "the handler to stop", timeout=20) \
                == "cancelled"

            late_mark = tmp_path / "deadline"
            late = await client.submit("py", "nap", {"ms": 60_000, "mark": str(late_mark)},
                                       deadline=timedelta(seconds=1))
            failed = await late.result(timeout=20)
            assert not failed.ok
            assert "deadline" in (failed.error or "")
            assert await until(lambda: marked(late_mark), "the handler to stop", timeout=20) \
                == "deadline"

    run(scenario())
