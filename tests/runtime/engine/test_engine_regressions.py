"""Regression tests for defects a review of the engine core found (all fixed):
crashes of blocking processors, explicit commits overtaking the committer,
concurrent writers planning claimant counts and state versions from stale
figures, run-once and start/stop races, unbounded shutdown, swapped penalized
flowfiles, dropped commit callbacks, archive growth, CLI bulletins.
"""

from __future__ import annotations

import io
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio_wait

from flowyard.runtime.engine import Engine, _queue
from flowyard.runtime.engine._committer import Committer
from flowyard.runtime.engine._node import Bulletin
from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._session import Routing, StandardProcessSession
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import MemoryStore, Repositories
from flowyard.runtime.sdk import (
    FlowyardError,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    Relationship,
)
from flowyard.runtime.sdk._flowfile import make_flowfile

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS
from flowyard_test_processors import AsyncSlow

SUCCESS = Relationship("success")
START = 1_700_000_000_000


# -- helpers ---------------------------------------------------------------------------

async def wait_for(condition: Callable[[], bool], *, timeout: float = 30.0) -> None:
    await trio_wait.wait_for(condition, timeout, step=0.01)


def proc(ident: str, type_: str, **kw: Any) -> dict[str, Any]:
    return {"identifier": ident, "type": type_, **kw}


def conn(ident: str, src: str, dst: str, rels: tuple[str, ...] = ("success",), **kw: Any) -> dict[str, Any]:
    return {"identifier": ident, "source": {"id": src}, "destination": {"id": dst},
            "selectedRelationships": list(rels), **kw}


def flow(processors: list[dict[str, Any]], connections: list[dict[str, Any]]) -> Any:
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": processors, "connections": connections, "funnels": []}})


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now


class GatedStore(MemoryStore):
    """A MemoryStore whose next batch write *from a worker thread* (the
    committer's group write) waits, once armed, until ``release`` is set.
    Writes from the event loop thread pass straight through."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, batch: Any, *, sync: bool = False) -> None:
        if self.armed and threading.current_thread() is not threading.main_thread():
            self.armed = False
            self.entered.set()
            self.release.wait(10)
        super().write(batch, sync=sync)


class BlockingBoom(Processor):
    """A blocking (worker-thread) processor that takes a flowfile and raises."""

    spec = ProcessorSpec(description="Fails in a worker thread.", relationships=(SUCCESS,),
                         input_requirement=InputRequirement.REQUIRED)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        if session.get() is not None:
            raise RuntimeError("boom in a worker thread")


class SlowAsyncSource(Processor):
    """Each trigger lasts 5 s (trio sleep) and emits one flowfile; counts how
    many triggers of the class run at the same time."""

    blocking = False  # lifecycle hooks on the event loop: no thread racing MockClock's autojump
    active = 0
    max_active = 0
    spec = ProcessorSpec(description="Slow source.", relationships=(SUCCESS,),
                         input_requirement=InputRequirement.FORBIDDEN)

    async def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        cls = type(self)
        cls.active += 1
        cls.max_active = max(cls.max_active, cls.active)
        try:
            await trio.sleep(5)
        finally:
            cls.active -= 1
        session.transfer(session.create(), SUCCESS)


class StuckOnStopped(Processor):
    """A source whose on_stopped never finishes in reasonable time (a remote
    that does not answer a close, say)."""

    blocking = False
    spec = ProcessorSpec(description="Hangs in on_stopped.", relationships=(SUCCESS,),
                         input_requirement=InputRequirement.FORBIDDEN)

    async def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        context.yield_()

    async def on_stopped(self, context: ProcessContext) -> None:
        await trio.sleep(3600)


class LoopSlow(AsyncSlow):  # type: ignore[misc]
    """AsyncSlow whose lifecycle hooks run on the event loop (no worker thread,
    so MockClock's autojump does not race a thread)."""

    blocking = False


REGISTRY: dict[str, type[Processor]] = {
    **TEST_PROCESSORS,
    "BlockingBoom": BlockingBoom,
    "SlowAsyncSource": SlowAsyncSource,
    "StuckOnStopped": StuckOnStopped,
    "LoopSlow": LoopSlow,
}


class Graph:
    """Queues and sessions over one Repositories, as in test_session.py."""

    def __init__(self, repos: Repositories, *, swap_threshold: int = 20_000) -> None:
        self.clock = Clock()
        self.repos = repos
        self.inq = self.queue("in")
        self.out = self.queue("out", swap_threshold=swap_threshold)
        self.other = self.queue("other")

    def queue(self, name: str, **kw: Any) -> FlowFileQueue:
        return FlowFileQueue(name, self.repos.flowfiles.queue_id(name), object_threshold=0, size_threshold=0,
                             loader=self.repos.flowfiles.read_range, **kw)

    def session(self, component: str = "proc", *, inputs: list[FlowFileQueue] | None = None,
                **kw: Any) -> StandardProcessSession:
        routing = Routing(component, "TestProcessor", inputs=[self.inq] if inputs is None else inputs,
                          destinations={"success": [self.out], "both": [self.out, self.other]},
                          auto_terminated=["discard"])
        return StandardProcessSession(routing, self.repos, self.clock, state_reader=self.read_state, **kw)

    def read_state(self, component_id: str) -> tuple[int, dict[str, str]]:
        state = self.repos.state.get(component_id)
        return state.version, dict(state.values)

    def commit(self, session: StandardProcessSession) -> None:
        prepared = session.prepare_commit()
        assert self.repos.write([prepared.transaction], self.clock()) == []
        prepared.apply(self.clock())


# -- 1. blocking processors: rollback on the event loop ---------------------------------


async def test_blocking_processor_error_rolls_back_and_engine_keeps_running() -> None:
    f = flow([proc("src", "SequenceSource", properties={"Count": "3", "Batch Size": "3"}),
              proc("boom", "BlockingBoom", autoTerminatedRelationships=["success"])],
             [conn("c1", "src", "boom")])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    crashed: list[BaseException] = []

    async def run_engine(task_status: trio.TaskStatus[Engine] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            await engine.run(task_status=task_status)
        except Exception as exc:  # the bug: the engine dies
            crashed.append(exc)

    async with trio.open_nursery() as nursery:
        await nursery.start(run_engine)
        await wait_for(lambda: engine.nodes["boom"].stats.errors >= 1 or bool(crashed))
        await trio.sleep(0.2)
        engine.request_stop()
    assert not crashed, f"the engine crashed: {crashed!r}"
    queue = engine.queues["c1"]
    assert queue.in_flight == 0 and queue.status().penalized == 1


# -- 2. An explicit commit on the event loop must not bypass the committer ----------------

EARLY: list[Any] = []


def _engine_hook(committer: Committer) -> Callable[[StandardProcessSession], None]:
    """The commit hook Engine.new_session gives a session on the event loop: the
    commit is queued behind earlier ones (collected in EARLY for the test to await)."""
    def hook(session: StandardProcessSession) -> None:
        EARLY.append(committer.submit(session.prepare_commit()))
    return hook


async def _await_early() -> None:
    while EARLY:
        await EARLY.pop(0).wait()


def _emit(g: Graph, session: StandardProcessSession, label: str) -> None:
    session.transfer(session.put_attribute(session.create(), "label", label), "success")


async def test_explicit_commit_does_not_overtake_an_earlier_submitted_commit() -> None:
    g = Graph(Repositories.in_memory())
    committer = Committer(g.repos, g.clock)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(committer.run)
        await trio.sleep(0)
        first = g.session()
        _emit(g, first, "first")
        pending = committer.submit(first.prepare_commit())  # the framework commit of one trigger
        second = g.session(commit_hook=_engine_hook(committer))
        _emit(g, second, "second")
        second.commit()  # an async processor committing early, in another task
        await pending.wait()
        await _await_early()
        nursery.cancel_scope.cancel()
    taken, _ = g.out.poll(10, g.clock())
    assert [ff.attributes["label"] for ff in taken] == ["first", "second"]


async def test_explicit_commit_into_a_swapped_queue_loses_nothing() -> None:
    g = Graph(Repositories.in_memory(), swap_threshold=0)  # every arrival is swapped out
    committer = Committer(g.repos, g.clock)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(committer.run)
        await trio.sleep(0)
        first = g.session()
        _emit(g, first, "first")
        pending = committer.submit(first.prepare_commit())
        second = g.session(commit_hook=_engine_hook(committer))
        _emit(g, second, "second")
        second.commit()
        await pending.wait()
        await _await_early()
        nursery.cancel_scope.cancel()
    assert g.repos.flowfiles.count_queue(g.out.queue_id)[0] == 2, "both records are on disk"
    taken, _ = g.out.poll(10, g.clock())
    assert sorted(ff.attributes["label"] for ff in taken) == ["first", "second"]
    assert g.out.count == 2


# -- 3. Repositories.write on the event loop while the committer writes in a thread ------


def _seed_shared_content(g: Graph, content: bytes) -> int:
    """Two flowfiles in ``inq`` sharing one content resource (count 2)."""
    s = StandardProcessSession(Routing("seed", "Seed", destinations={"success": [g.inq]}), g.repos, g.clock)
    ff = s.write(s.create(), content)
    twin = s.clone(ff)
    s.transfer(ff, "success")
    s.transfer(twin, "success")
    g.commit(s)
    assert ff[2] is not None
    resource = ff[2][0]
    assert g.repos.content.counts[resource] == 2
    return resource


async def test_claimant_counts_survive_a_write_now_during_a_threaded_group_write() -> None:
    store = GatedStore()
    g = Graph(Repositories(store, durability="sync", archive_max_age_ms=0))
    resource = _seed_shared_content(g, b"precious")
    committer = Committer(g.repos, g.clock)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(committer.run)
        store.armed = True
        a = g.session()
        x = a.get()
        assert x is not None
        a.transfer(x, "discard")  # count 2 -> 1, planned in the worker thread
        pending = committer.submit(a.prepare_commit())
        await trio.to_thread.run_sync(store.entered.wait)
        b = g.session(commit_hook=_engine_hook(committer))
        y = b.get()
        assert y is not None
        b.transfer(y, "both")  # one copy in out, one in other: count +1
        b.commit()
        store.release.set()
        await pending.wait()
        await _await_early()
        nursery.cancel_scope.cancel()
    # consume the copy in ``out``; the copy in ``other`` must still be readable
    c = g.session(inputs=[g.out])
    copy = c.get()
    assert copy is not None
    c.transfer(copy, "discard")
    g.commit(c)
    reader = g.session(inputs=[g.other])
    survivor = reader.get()
    assert survivor is not None
    assert reader.read_bytes(survivor) == b"precious"  # today: ContentNotFoundError
    assert g.repos.content.counts.get(resource) == 1


async def test_state_conflict_detected_between_write_now_and_a_threaded_group_write() -> None:
    store = GatedStore()
    g = Graph(Repositories(store, durability="sync"))
    committer = Committer(g.repos, g.clock)

    def emit_next(session: StandardProcessSession) -> None:
        n = int(session.get_state().get("next", "0"))
        _emit(g, session, f"item-{n}")
        session.set_state({"next": str(n + 1)})

    async with trio.open_nursery() as nursery:
        nursery.start_soon(committer.run)
        store.armed = True
        a = g.session("src")
        emit_next(a)
        pending = committer.submit(a.prepare_commit())  # one task of "src": framework commit
        await trio.to_thread.run_sync(store.entered.wait)
        b = g.session("src", commit_hook=_engine_hook(committer))
        emit_next(b)  # another task of "src" read the same state version
        b.commit()
        store.release.set()
        await pending.wait()
        with pytest.raises(Exception, match="state changed concurrently"):
            await _await_early()  # a StateConflict is the right outcome
        nursery.cancel_scope.cancel()
    taken, _ = g.out.poll(10, g.clock())
    assert [ff.attributes["label"] for ff in taken] == ["item-0"], "item-0 emitted once"


async def test_empty_queue_during_a_threaded_group_write_keeps_claimant_counts_right() -> None:
    f = flow([proc("a", "SequenceSource", scheduledState="STOPPED",
                   properties={"Count": "1", "Batch Size": "1", "Content Size": "8"}),
              proc("b", "AsyncSlow", scheduledState="STOPPED", autoTerminatedRelationships=["success"]),
              proc("h", "AsyncSlow", scheduledState="STOPPED", autoTerminatedRelationships=["success"])],
             [conn("c1", "a", "b"), conn("c2", "a", "h")])
    store = GatedStore()
    repos = Repositories(store, durability="sync")
    engine = Engine(f, repos, registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await engine.run_once("a")  # one flowfile, cloned into c1 and c2: claimant count 2
        [ff] = engine.list_queue("c1")
        assert ff[2] is not None
        resource = ff[2][0]
        assert repos.content.counts[resource] == 2
        store.armed = True
        session = engine.new_session(engine.nodes["b"], [])
        taken = session.get()
        assert taken is not None
        session.transfer(taken, "success")  # auto-terminated: count -1, in the worker thread
        pending = engine.committer.submit(session.prepare_commit())
        await trio.to_thread.run_sync(store.entered.wait)
        assert await engine.empty_queue("c2") == 1  # count -1, on the event loop
        store.release.set()
        await pending.wait()
        engine.request_stop()
    assert resource not in repos.content.counts, "no flowfile refers to the content any more"
    assert resource in repos.content.archived


# -- 4. run_once and stop/start races -------------------------------------------------------


async def test_shutdown_during_run_once_finishes(autojump_clock: Any) -> None:
    f = flow([proc("s", "SlowAsyncSource", scheduledState="STOPPED", autoTerminatedRelationships=["success"])], [])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY, grace_seconds=10)
    finished_in_time = False
    with trio.move_on_after(300):
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            nursery.start_soon(engine.run_once, "s")
            await trio.sleep(1)  # the run-once trigger is in progress (5 s)
            engine.request_stop()
            await engine.finished.wait()
            finished_in_time = True
    assert finished_in_time, "shutdown hung"


async def test_start_while_stopping_does_not_double_the_task_loops(autojump_clock: Any) -> None:
    SlowAsyncSource.active = SlowAsyncSource.max_active = 0
    f = flow([proc("s", "SlowAsyncSource", autoTerminatedRelationships=["success"])], [])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    stopped = trio.Event()

    async def stop() -> None:
        with trio.move_on_after(120):
            await engine.stop_processor("s")
            stopped.set()

    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await trio.sleep(1)  # a trigger (5 s) is in progress
        nursery.start_soon(stop)
        await trio.sleep(0.1)
        try:
            engine.start_processor("s")  # accepted today: node.running is already False
        except FlowyardError:
            pass  # refusing while the processor is still stopping would be fine
        await trio.sleep(30)
        engine.request_stop()
    assert SlowAsyncSource.max_active <= 1, "one concurrent task is configured"
    assert stopped.is_set(), "stop_processor returned"


async def test_shutdown_is_bounded_when_on_stopped_hangs(autojump_clock: Any) -> None:
    f = flow([proc("s", "StuckOnStopped", autoTerminatedRelationships=["success"])], [])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY, grace_seconds=1)
    finished_at: list[float] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await trio.sleep(1)
        start = trio.current_time()
        engine.request_stop()
        await engine.finished.wait()
        finished_at.append(trio.current_time() - start)
    assert finished_at[0] <= 60, f"shutdown took {finished_at[0]:.0f} s with a 1 s grace period"


async def test_run_once_after_shutdown_does_not_hang(autojump_clock: Any) -> None:
    f = flow([proc("src", "SequenceSource", scheduledState="STOPPED", properties={"Count": "5"},
                   autoTerminatedRelationships=["success"])], [])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        engine.request_stop()
    outcome = "hung"
    with trio.move_on_after(60):
        try:
            await engine.run_once("src")
            outcome = "ran"
        except Exception:
            outcome = "refused"
    assert outcome != "hung"


async def test_an_invalid_running_processor_does_not_stop_the_engine_from_starting(autojump_clock: Any) -> None:
    f = flow([proc("ok", "SequenceSource", properties={"Count": "10"}, autoTerminatedRelationships=["success"]),
              proc("bad", "SequenceSource", autoTerminatedRelationships=["success"])], [])  # Count missing
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    assert not engine.nodes["bad"].is_valid
    started = False
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            started = True
            await wait_for(lambda: engine.nodes["ok"].stats.flowfiles_removed == 10)
            engine.request_stop()
    except Exception:
        pass
    assert started
    assert not engine.nodes["bad"].running


# -- 5. queue: penalized flowfiles in the swapped region --------------------------------------


def test_swapped_penalized_flowfiles_stay_swapped_and_are_not_reported_available(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_queue, "SWAP_BATCH", 10)
    now = START
    backlog = [make_flowfile(seq, {"uuid": f"u{seq}"}, None, 0, now, now, now + 3_600_000, seq)
               for seq in range(1, 1001)]
    disk = {ff[7]: ff for ff in backlog}

    def loader(queue_id: int, after: int, upto: int, limit: int) -> list[Any]:
        return [disk[s] for s in sorted(disk) if after < s <= upto][:limit]

    queue = FlowFileQueue("c", 1, object_threshold=0, size_threshold=0, swap_threshold=10, loader=loader)
    queue.put_all(backlog, now)  # penalized for an hour, e.g. routed to 'failure' with session.penalize
    empty_triggers = 0
    while queue.has_available(now) and empty_triggers < 10_000:  # what the scheduler does
        taken, expired = queue.poll(1, now)
        assert not taken and not expired
        empty_triggers += 1
    in_memory = queue.status().penalized
    assert in_memory <= queue.swap_threshold + _queue.SWAP_BATCH, f"{in_memory} flowfiles paged into memory"
    assert empty_triggers == 0, f"{empty_triggers} triggers found nothing"


# -- 6. commit_async callbacks of a session without flowfiles ---------------------------------


class CallbackOnly(Processor):
    """Registers commit callbacks without touching a flowfile (an acknowledgement
    to a remote system that must follow the commit, say)."""

    blocking = False
    calls: list[str] = []
    spec = ProcessorSpec(description="Callbacks only.", relationships=(SUCCESS,),
                         input_requirement=InputRequirement.FORBIDDEN)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        session.commit_async(on_success=lambda: self.calls.append("success"),
                             on_failure=lambda _exc: self.calls.append("failure"))
        context.yield_()


REGISTRY["CallbackOnly"] = CallbackOnly


async def test_commit_async_callbacks_run_for_a_session_without_flowfiles(autojump_clock: Any) -> None:
    CallbackOnly.calls = []
    f = flow([proc("cb", "CallbackOnly", scheduledState="STOPPED", autoTerminatedRelationships=["success"])], [])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await engine.run_once("cb")
        engine.request_stop()
    assert CallbackOnly.calls == ["success"]


# -- 7. run_once of a disabled processor --------------------------------------------------------


async def test_run_once_refuses_a_disabled_processor(autojump_clock: Any) -> None:
    f = flow([proc("src", "SequenceSource", scheduledState="DISABLED", properties={"Count": "5"},
                   autoTerminatedRelationships=["success"])], [])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    refused = False
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        try:
            await engine.run_once("src")
        except Exception:
            refused = True
        engine.request_stop()
    assert refused
    assert engine.nodes["src"].stats.flowfiles_removed == 0


# -- 8. CLI: bulletins stop being printed after the first 1,000 --------------------------------


async def test_cli_prints_bulletins_after_the_first_thousand(autojump_clock: Any) -> None:
    from flowyard.bootstrap.headless import print_status
    from flowyard.runtime.engine import EngineStatus

    class FakeEngine:
        def __init__(self) -> None:
            self.bulletins: deque[Bulletin] = deque(maxlen=1000)
            self.bulletin_count = 0

        def add(self, b: Bulletin) -> None:
            self.bulletins.append(b)
            self.bulletin_count += 1

        def status(self) -> EngineStatus:
            return EngineStatus(0, 0, 0, 0, 0, 0, 0, len(self.bulletins))

    engine = FakeEngine()
    out = io.StringIO()
    for i in range(1000):
        engine.add(Bulletin(0, "p", "P", "WARNING", f"old {i}"))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(print_status, engine, out, 1.0)  # type: ignore[arg-type]
        await trio.sleep(1.5)  # the first 1000 are printed
        engine.add(Bulletin(0, "p", "P", "ERROR", "the newest problem"))
        await trio.sleep(2)
        nursery.cancel_scope.cancel()
    assert "the newest problem" in out.getvalue()


# -- 9. the content archive outgrows its limits under sustained load ----------------------------


async def test_archive_stays_within_its_count_limit_under_sustained_load(autojump_clock: Any) -> None:
    repos = Repositories.in_memory()
    repos.content.archive_max_count = 1_000
    # 4,000 flowfiles/s, each with its own small content, auto-terminated at once
    f = flow([proc("src", "SequenceSource", schedulingPeriod="250 ms",
                   properties={"Count": "60000", "Batch Size": "1000", "Content Size": "8"},
                   autoTerminatedRelationships=["success"])], [])
    engine = Engine(f, repos, registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await trio.sleep(15.5)  # housekeeping ran at 5, 10 and 15 s
        archived = len(repos.content.archived)
        engine.request_stop()
    assert engine.nodes["src"].stats.flowfiles_removed == 60_000
    # after a housekeeping pass at most what was released in the last 0.5 s may exceed the limit
    assert archived <= repos.content.archive_max_count + 3_000, f"{archived} resources archived"


# -- 10. a cancelled trigger keeps its input in flight for ever ---------------------------------


async def test_cancelled_run_once_returns_its_input_to_the_queue(autojump_clock: Any) -> None:
    f = flow([proc("src", "SequenceSource", properties={"Count": "1", "Batch Size": "1"}),
              proc("slow", "LoopSlow", scheduledState="STOPPED", properties={"Delay": "10 sec"},
                   autoTerminatedRelationships=["success"])],
             [conn("c1", "src", "slow")])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    queue = engine.queues["c1"]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: queue.count == 1)
        with trio.move_on_after(1):  # e.g. the HTTP request that asked for "run once" went away
            await engine.run_once("slow")
        assert queue.in_flight == 0, "the flowfile went back to its queue"
        engine.start_processor("slow")
        await wait_for(lambda: engine.nodes["slow"].stats.flowfiles_in == 1, timeout=60)
        engine.request_stop()


class _StartsOnThirdTry(Processor):
    """Fails ``on_scheduled`` twice (like a listener whose port is still taken)."""

    spec = ProcessorSpec(description="test", tags=("test",), relationships=(Relationship("success", "out"),),
                         input_requirement=InputRequirement.FORBIDDEN)
    blocking = False

    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_scheduled(self, context: ProcessContext) -> None:
        self.calls.append("scheduled")
        if self.calls.count("scheduled") < 3:
            raise OSError("address already in use")

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        self.calls.append("trigger")
        context.yield_()

    def on_stopped(self, context: ProcessContext) -> None:
        self.calls.append("stopped")


async def test_a_processor_that_fails_to_start_is_tried_again_after_the_administrative_yield(
        autojump_clock: Any) -> None:
    f = flow([proc("p", "StartsOnThirdTry", schedulingPeriod="1 sec", autoTerminatedRelationships=["success"])], [])
    engine = Engine(f, Repositories.in_memory(), registry={**REGISTRY, "StartsOnThirdTry": _StartsOnThirdTry})
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        node = engine.nodes["p"]
        calls = node.configured.processor.calls  # type: ignore[attr-defined]
        started = trio.current_time()
        await wait_for(lambda: "trigger" in calls, timeout=120)
        assert trio.current_time() - started >= 2 * node.admin_yield_seconds, "tried again after 30 s, twice"
        assert calls[:5] == ["scheduled", "stopped", "scheduled", "stopped", "scheduled"], "cleaned up each time"
        assert node.state == "RUNNING"
        failures = [b for b in engine.bulletins if "failed to start" in b.message]
        assert len(failures) == 2 and "trying again in 30 s" in failures[0].message
        engine.request_stop()


async def test_stopping_a_processor_waiting_to_start_again_is_immediate(autojump_clock: Any) -> None:
    f = flow([proc("p", "StartsOnThirdTry", schedulingPeriod="1 sec", autoTerminatedRelationships=["success"])], [])
    engine = Engine(f, Repositories.in_memory(), registry={**REGISTRY, "StartsOnThirdTry": _StartsOnThirdTry})
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        node = engine.nodes["p"]
        await wait_for(lambda: any("failed to start" in b.message for b in engine.bulletins))
        before = trio.current_time()
        await engine.stop_processor("p")
        assert trio.current_time() - before < 1
        assert node.state == "STOPPED"
        assert node.configured.processor.calls == ["scheduled", "stopped"]  # type: ignore[attr-defined]
        engine.request_stop()


async def test_a_connection_into_a_processor_at_work_is_removed_once_the_processor_has_stopped(
        autojump_clock: Any) -> None:
    """Removing a connection whose destination is running and holds one of its flowfiles
    stops the destination first (its trigger ends) instead of refusing at once; nothing
    is lost: what the trigger finished went on, the rest was dropped with the queue."""
    repos = Repositories.in_memory()
    engine = Engine(flow([
        proc("src", "SequenceSource", properties={"Count": "5", "Batch Size": "5"}),
        proc("slow", "AsyncSlow", properties={"Delay": "1 min"}),
        proc("sink", "AsyncSlow", properties={"Delay": "0 ms"}, autoTerminatedRelationships=["success"],
             scheduledState="STOPPED"),
        proc("idle", "SequenceSource", properties={"Count": "0"}),
    ], [conn("c1", "src", "slow"), conn("c2", "slow", "sink"), conn("c3", "idle", "slow")]),
        repos, registry=TEST_PROCESSORS)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["c1"].in_flight == 1 and engine.queues["c1"].count == 4)
        dropped = await engine.remove_connection("c1", drop=True)
        assert "c1" not in engine.queues
        assert dropped + engine.queues["c2"].count == 5
        assert engine.nodes["slow"].running, "started again once the connection was gone (c3 still feeds it)"
        engine.request_stop()
