"""mistersmith.sync.Client: the same client without asyncio, against the real worker."""

from __future__ import annotations

import threading

import pytest

from mistersmith import AlreadyFinished, InvalidTask
from mistersmith.sync import Client
from smith_cluster import Cluster


def test_the_sync_client_does_what_the_async_one_does(cluster: Cluster) -> None:
    with Client.connect(cluster.url) as client:
        assert client.connected and client.prefix == "smith"
        task = client.submit("test", "echo", {"sync": True})
        result = task.result(timeout=30)
        assert result.ok and result.json() == {"sync": True}
        assert task.status().state == "succeeded"
        assert client.task(task.id).result(timeout=30) == result
        with pytest.raises(AlreadyFinished):
            task.cancel()

        sleeper = client.submit("test", "sleep", {"ms": 400})
        percents = [p.percent for p in sleeper.progress()]
        assert percents and percents == sorted(percents)
        assert sleeper.result(timeout=30).text() == "slept 400 ms"

        delayed = client.submit("test", "echo", delay=600)
        assert client.status(delayed.id).state == "scheduled"
        assert client.cancel(delayed.id) == "cancelled"

        assert isinstance(client.schedules(), list)
        assert isinstance(client.dead_letters(limit=5), list)
        with pytest.raises(InvalidTask):
            client.submit("test", "bad type")
        loop_threads = [t for t in threading.enumerate() if t.name == "mistersmith-sync"]
        assert len(loop_threads) >= 1
    assert not client.connected
    assert all(not t.is_alive() for t in loop_threads)
