"""Disk space as back pressure, in-process (issue 11): below the floor nothing
is triggered, with one bulletin; above the resume mark processing resumes by
itself; a write that fails for want of space is held and written again once
there is room (the store reopened first), never failed or lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from test_engine import REGISTRY, conn, flow, proc, wait_for
from trio.testing import MockClock

from flowyard.runtime.engine import Engine
from flowyard.runtime.engine._diskguard import DiskGuard
from flowyard.runtime.repository import FaultyStore, Repositories, RocksStore
from flowyard.runtime.sdk._errors import StorageFullError

MB = 1024 * 1024


def test_the_guard_pauses_below_the_floor_and_resumes_above_the_mark() -> None:
    guard = DiskGuard(Path("."), pause_below=10 * MB, resume_above=20 * MB)
    assert guard.observe(50 * MB) is None and not guard.paused
    assert guard.observe(9 * MB) == "pause" and guard.paused
    assert "9 MB free, less than the 10 MB needed" in guard.reason and "once 20 MB are free" in guard.reason
    assert guard.observe(15 * MB) is None and guard.paused, "no flapping between the marks"
    assert guard.observe(None) is None
    assert guard.observe(25 * MB) == "resume"
    guard.resumed()
    assert not guard.paused and guard.reason == ""
    assert guard.write_failed(OSError("no space")) and guard.failed and guard.paused
    assert not guard.write_failed(OSError("again")), "one pause, one bulletin"
    with pytest.raises(ValueError, match="must not be below"):
        DiskGuard(None, pause_below=20 * MB, resume_above=10 * MB)


def engine_on(tmp_path: Path, free: list[int]) -> tuple[Engine, FaultyStore]:
    store = FaultyStore(RocksStore(tmp_path / "repository"))
    f = flow([proc("src", "SequenceSource", schedulingPeriod="100 ms",
                   properties={"Count": "100000", "Batch Size": "10"}),
              proc("sink", "AsyncSlow", properties={"Delay": "1 ms"}, autoTerminatedRelationships=["success"])],
             [conn("c1", "src", "sink")])
    engine = Engine(f, Repositories(store), registry=REGISTRY, disk_pause_below=10 * MB, disk_resume_above=20 * MB)
    engine.disk.free_space = lambda path: free[0]
    return engine, store


async def _pass(clock: MockClock, seconds: int) -> None:
    """``seconds`` of engine time, a second at a time, with real time for worker threads between."""
    for _ in range(seconds):
        clock.jump(1)
        await trio.sleep(0.01)


async def test_below_the_floor_nothing_runs_until_there_is_room(tmp_path: Path,
                                                                real_rate_clock: MockClock) -> None:
    free = [100 * MB]
    engine, _ = engine_on(tmp_path, free)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            src = engine.nodes["src"]
            await wait_for(lambda: src.stats.flowfiles_out >= 50, timeout=60)
            free[0] = 5 * MB
            await wait_for(lambda: engine.disk.paused, timeout=60)
            tasks = src.stats.tasks
            await _pass(real_rate_clock, 30)
            assert src.stats.tasks <= tasks + 1, "no trigger while paused (one in flight may finish)"
            assert [b.message for b in engine.bulletins if "paused" in b.message] == [engine.disk.reason]
            free[0] = 15 * MB
            await _pass(real_rate_clock, 10)
            assert engine.disk.paused, "between the marks it stays paused"
            free[0] = 30 * MB
            await wait_for(lambda: not engine.disk.paused, timeout=60)
            await wait_for(lambda: src.stats.tasks > tasks + 5, timeout=60)
            assert any("processing resumed" in b.message for b in engine.bulletins)
            engine.request_stop()
    finally:
        engine.repositories.close()


async def test_a_write_that_fails_for_space_is_held_and_written_again(tmp_path: Path,
                                                                      real_rate_clock: MockClock) -> None:
    # Real time, jumped on purpose: under autojump the clock raced through the waits' bounds while
    # a worker thread reopened the store.
    free = [100 * MB]
    engine, store = engine_on(tmp_path, free)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            src = engine.nodes["src"]
            await wait_for(lambda: src.stats.flowfiles_out >= 50, timeout=60)
            fault = store.fail("write", error=lambda: StorageFullError("simulated: no space left on device"),
                               times=None)
            free[0] = 2 * MB
            await wait_for(lambda: fault.raised >= 1 and engine.disk.paused, timeout=60)
            raised = fault.raised
            await _pass(real_rate_clock, 60)
            assert fault.raised <= raised + 6, f"retries back off ({fault.raised - raised} in 60 s)"
            assert src.stats.errors == 0, "the session is held, not failed"
            store.heal()
            free[0] = 100 * MB
            reopened = store.fail("reopen", times=0)  # counts the reopen without failing it
            await wait_for(lambda: not engine.disk.paused, timeout=60)
            assert reopened.seen == 1, "the store was reopened before writing again"
            before = src.stats.flowfiles_out
            await wait_for(lambda: src.stats.flowfiles_out > before + 50, timeout=60)
            engine.request_stop()
        assert src.stats.errors == 0
    finally:
        engine.repositories.close()
    repos = Repositories.open(tmp_path / "repository")
    try:
        repos.recover()
        state = repos.state.get("src").values
        stored = sum(repos.flowfiles.count_queue(qid)[0] for qid in repos.flowfiles.queue_ids.values())
        assert stored == 0 or int(state["next"]) >= stored, "nothing committed twice"
    finally:
        repos.close()


async def test_flowfiles_whose_content_is_lost_go_to_failure_once(tmp_path: Path, patient_clock: Any) -> None:
    """Issue 11: damaged or missing content was retried forever with 30 s pauses."""
    from flowyard.runtime.engine._session import CONTENT_ERROR_ATTRIBUTE
    from flowyard.runtime.repository._codec import resource_range

    out = tmp_path / "out"
    f = flow([proc("src", "SequenceSource", properties={"Count": "5", "Batch Size": "5", "Content Size": "100"}),
              proc("put", "PutFile", scheduledState="STOPPED", autoTerminatedRelationships=["success"],
                   properties={"Directory": str(out)}),
              proc("sink", "AsyncSlow", scheduledState="STOPPED", autoTerminatedRelationships=["success"])],
             [conn("c1", "src", "put"), conn("c2", "put", "sink", rels=("failure",))])
    repos = Repositories.in_memory()
    engine = Engine(f, repos, registry={**REGISTRY, **_standard()})
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["c1"].count == 5)
        queued = engine.list_queue("c1")
        content = repos.store.handle("content")
        for ff in queued[:2]:  # lost behind the engine's back
            repos.store.delete_range(content, *resource_range(ff.claim.resource))
        engine.start_processor("put")
        await wait_for(lambda: engine.queues["c2"].count == 2 and len(list(out.iterdir())) == 3)
        failed = engine.list_queue("c2")
        assert {ff.uuid for ff in failed} == {ff.uuid for ff in queued[:2]}
        assert all("is missing from the content repository" in ff.attributes[CONTENT_ERROR_ATTRIBUTE]
                   for ff in failed)
        assert engine.nodes["put"].stats.errors == 0, "no retry loop"
        assert sum("cannot be read" in b.message for b in engine.bulletins) == 2, "one bulletin each, once"
        engine.request_stop()


def _standard() -> dict[str, Any]:
    from flowyard.runtime.registry import discover_processors
    return discover_processors()
