"""Replay of provenance events through a running engine (trio's MockClock): the
flowfile goes back, as it entered the component, into the queue it came from;
refusals say why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from trio.testing import MockClock
from trio_wait import wait_for

from flowyard.runtime.engine import Engine
from flowyard.runtime.engine._replay import ReplayError, content_retained, replay_event, replay_refusal
from flowyard.runtime.flow import FlowDef, flow_from_dict
from flowyard.runtime.repository import ProvenanceRecord, Repositories, Transaction
from flowyard.runtime.repository._codec import pack_attrs
from flowyard.runtime.sdk import (
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    ProvenanceEvent,
    Relationship,
)
from flowyard.runtime.sdk._flowfile import make_flowfile
from flowyard.runtime.sdk._provenance import ProvenanceEventType as E

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS
from flowyard_test_processors import expected_content

SUCCESS = Relationship("success")


class Uppercase(Processor):
    """Upper-cases the content and marks the flowfile (a CONTENT_MODIFIED event)."""

    blocking = False
    spec = ProcessorSpec(description="Upper-cases content.", relationships=(SUCCESS,),
                         input_requirement=InputRequirement.REQUIRED)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        for ff in session.get_batch(10):
            ff = session.write(ff, session.read_bytes(ff).upper())
            session.transfer(session.put_attribute(ff, "upper", "yes"), SUCCESS)


REGISTRY: dict[str, type[Processor]] = {**TEST_PROCESSORS, "Uppercase": Uppercase}


def proc(ident: str, type_: str, **kw: Any) -> dict[str, Any]:
    return {"identifier": ident, "type": type_, **kw}


def conn(ident: str, src: str, dst: str) -> dict[str, Any]:
    return {"identifier": ident, "source": {"id": src}, "destination": {"id": dst},
            "selectedRelationships": ["success"]}


def upper_flow(count: int = 3, *, extra: bool = False) -> FlowDef:
    """gen (SequenceSource) → c1 → upper → c2 → sink (auto-terminated); with ``extra``
    a second source feeds upper one flowfile through c3."""
    processors = [proc("gen", "SequenceSource", properties={"Count": str(count), "Content Size": "16"}),
                  proc("upper", "Uppercase"),
                  proc("sink", "AsyncSlow", properties={"Delay": "1 ms"}, autoTerminatedRelationships=["success"])]
    connections = [conn("c1", "gen", "upper"), conn("c2", "upper", "sink")]
    if extra:
        processors.append(proc("other", "SequenceSource", properties={"Count": "1", "Content Size": "16"}))
        connections.append(conn("c3", "other", "upper"))
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": processors, "connections": connections}})


@asynccontextmanager
async def running(engine: Engine) -> AsyncIterator[Engine]:
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        yield engine
        engine.request_stop()


def events(repos: Repositories, component: str, event_type: E) -> list[ProvenanceEvent]:
    return list(repos.provenance.search(component_id=component, event_type=event_type))


async def test_replay_queues_the_content_and_attributes_the_flowfile_entered_with(autojump_clock: Any) -> None:
    repos = Repositories.in_memory()
    engine = Engine(upper_flow(), repos, registry=REGISTRY)
    async with running(engine):
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 3)
        modified = events(repos, "upper", E.CONTENT_MODIFIED)
        assert len(modified) == 3
        event = modified[-1]
        seq = int(event.previous_attributes["seq"])
        assert "upper" not in event.previous_attributes and event.attributes["upper"] == "yes"
        await engine.stop_processor("upper")  # so the replayed flowfile waits in c1

        placed, connection_id = await replay_event(engine, event.event_id, requested_by="alice")

        assert connection_id == "c1"
        [queued] = engine.list_queue("c1")
        assert queued.uuid == placed.uuid != event.flowfile_uuid
        assert dict(queued.attributes) == {**event.previous_attributes, "uuid": placed.uuid}
        assert repos.content.read_bytes(queued.claim) == expected_content(seq, 16)
        assert queued.lineage_start_date == event.lineage_start_date
        [replay] = list(repos.provenance.search(flowfile_uuid=placed.uuid))
        assert replay.event_type is E.REPLAY and replay.parent_uuids == (event.flowfile_uuid,)
        assert replay.component_id == "upper" and replay.details == (
            f"Replay of provenance event {event.event_id} requested by alice")
        assert next(repos.provenance.search(flowfile_uuid=event.flowfile_uuid)).event_type is E.REPLAY

        engine.start_processor("upper")  # the replayed flowfile goes through again
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 4)
        [again] = [e for e in events(repos, "upper", E.CONTENT_MODIFIED) if e.flowfile_uuid == placed.uuid]
        assert repos.content.read_bytes(again.claim) == expected_content(seq, 16).upper()
        assert repos.provenance.verify_indexes() == []


async def test_replay_is_refused_once_the_content_left_the_archive(real_rate_clock: MockClock) -> None:
    repos = Repositories.in_memory(archive_max_age_ms=60_000)
    engine = Engine(upper_flow(), repos, registry=REGISTRY)
    async with running(engine):
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 3, timeout=30)
        event = events(repos, "upper", E.CONTENT_MODIFIED)[0]
        stored = repos.provenance.stored(event.event_id)
        assert stored is not None and replay_refusal(engine, stored) is None, "archived: still replayable"
        # the original content was released when Uppercase replaced it; the
        # archive keeps it a minute, and housekeeping (every 5 s) deletes it
        real_rate_clock.jump(61)
        await wait_for(lambda: not content_retained(repos.content, event.previous_claim), timeout=30)
        reason = replay_refusal(engine, stored)
        assert reason is not None and "no longer retained" in reason
        with pytest.raises(ReplayError, match=r"input content .* is no longer retained"):
            await replay_event(engine, event.event_id)
        assert engine.queues["c1"].count == 0, "nothing was queued"


async def test_events_without_input_and_unknown_events_are_refused(autojump_clock: Any) -> None:
    repos = Repositories.in_memory()
    engine = Engine(upper_flow(1), repos, registry=REGISTRY)
    async with running(engine):
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 1)
        created = events(repos, "gen", E.CREATE)[0]
        with pytest.raises(ReplayError, match="did not come from a queue"):
            await replay_event(engine, created.event_id)
        with pytest.raises(ReplayError, match="unknown or no longer retained"):
            await replay_event(engine, 10_000)
        dropped = events(repos, "sink", E.DROP)[0]
        assert dropped.previous_attributes == dropped.attributes, "auto-terminated as it came in"
    with pytest.raises(ReplayError, match="not running"):
        await replay_event(engine, dropped.event_id)


async def test_replay_goes_back_to_the_source_connection_else_the_first_one(autojump_clock: Any) -> None:
    repos = Repositories.in_memory()
    engine = Engine(upper_flow(1, extra=True), repos, registry=REGISTRY)
    async with running(engine):
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 2)
        await engine.stop_processor("upper")
        by_source = {}
        for e in events(repos, "upper", E.CONTENT_MODIFIED):
            stored = repos.provenance.stored(e.event_id)
            assert stored is not None
            by_source[stored.source_connection] = e
        assert set(by_source) == {"c1", "c3"}
        first, connection_id = await replay_event(engine, by_source["c3"].event_id)
        assert connection_id == "c3", "the queue it came from, though c1 is upper's first input"
        await engine.stop_processor("gen")
        await engine.remove_connection("c1")
        second, connection_id = await replay_event(engine, by_source["c1"].event_id)
        assert connection_id == "c3", "c1 is gone: upper's first remaining input"
        assert [ff.uuid for ff in engine.list_queue("c3")] == [first.uuid, second.uuid]
        await engine.remove_connection("c3", drop=True)
        stored = repos.provenance.stored(by_source["c1"].event_id)
        assert stored is not None
        reason = replay_refusal(engine, stored)
        assert reason is not None and "no incoming connection" in reason


async def test_replay_after_a_restart(tmp_path: Path, autojump_clock: Any) -> None:
    repos = Repositories.open(tmp_path / "repo")
    engine = Engine(upper_flow(2), repos, registry=REGISTRY)
    async with running(engine):
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 2)
    event_id = events(repos, "upper", E.CONTENT_MODIFIED)[0].event_id
    repos.close()

    repos = Repositories.open(tmp_path / "repo")
    try:
        assert repos.provenance.verify_indexes() == []
        engine = Engine(upper_flow(2), repos, registry=REGISTRY)
        async with running(engine):
            placed, _ = await replay_event(engine, event_id)
            await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 1)
            out = [e for e in events(repos, "upper", E.CONTENT_MODIFIED) if e.flowfile_uuid == placed.uuid]
            assert len(out) == 1 and repos.content.read_bytes(out[0].claim).isupper()
    finally:
        repos.close()


async def test_an_event_of_a_connection_replays_into_that_connection(autojump_clock: Any) -> None:
    repos = Repositories.in_memory()
    engine = Engine(upper_flow(1), repos, registry=REGISTRY)
    async with running(engine):
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 1)
        await engine.stop_processor("upper")
        created = events(repos, "gen", E.CREATE)[0]
        # what emptying queue c1 would record for that flowfile, with its input
        ff = make_flowfile(1, dict(created.attributes), created.claim, created.size, 0, 0)
        txn = Transaction()
        txn.events.append(ProvenanceRecord.of(E.DROP, ff, pack_attrs(ff[1]), "c1", "Connection",
                                              engine.clock(), prev=ff, source="c1"))
        await engine.committer.exclusive(lambda: repos.write([txn], engine.clock()))
        [dropped] = events(repos, "c1", E.DROP)
        placed, connection_id = await replay_event(engine, dropped.event_id)
        assert connection_id == "c1" and [f.uuid for f in engine.list_queue("c1")] == [placed.uuid]
        assert repos.content.read_bytes(placed.claim) == repos.content.read_bytes(created.claim)
