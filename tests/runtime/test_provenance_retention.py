"""Provenance retention in engine housekeeping (trio's MockClock, no real waiting):
by age, by bytes used and by event count, with the indexes kept consistent,
also across a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
from trio.testing import MockClock
from trio_wait import wait_for

from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import FlowDef, flow_from_dict
from flowyard.runtime.repository import Repositories

from flowyard_test_processors import PROCESSORS as REGISTRY


def source_to_sink(count: int, batch: int = 10) -> FlowDef:
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [
            {"identifier": "gen", "type": "SequenceSource",
             "properties": {"Count": str(count), "Batch Size": str(batch), "Content Size": "8"}},
            {"identifier": "sink", "type": "AsyncSlow", "properties": {"Delay": "1 ms"},
             "autoTerminatedRelationships": ["success"]}],
        "connections": [{"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "sink"},
                         "selectedRelationships": ["success"]}]}})


def retained(repos: Repositories) -> int:
    return sum(1 for _ in repos.provenance.events())


async def test_defaults_follow_nifi_for_a_single_machine() -> None:
    engine = Engine(source_to_sink(1), Repositories.in_memory(), registry=REGISTRY)
    assert engine.provenance_max_age_ms == 24 * 3600 * 1000
    assert engine.provenance_max_bytes == 1 << 30
    assert engine.provenance_max_events == 1_000_000


async def test_events_older_than_the_maximum_age_are_deleted(real_rate_clock: MockClock) -> None:
    repos = Repositories.in_memory()
    engine = Engine(source_to_sink(50), repos, registry=REGISTRY, provenance_max_age_ms=60_000,
                    provenance_max_bytes=0, provenance_max_events=0)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 50)
        done_at = engine.clock()
        assert retained(repos) == 100, "CREATE and DROP of every flowfile"
        real_rate_clock.jump(30)
        await trio.sleep(0.2)  # housekeeping, due after the jump, runs
        assert retained(repos) == 100, "half a minute: still kept"
        real_rate_clock.jump(30)
        await wait_for(lambda: retained(repos) == 0)
        assert engine.clock() - done_at >= 60_000
        assert engine.clock() - done_at <= 60_000 + 5_000 + 1_000, "within one housekeeping round"
        assert repos.provenance.stored_bytes == 0 and repos.provenance.verify_indexes() == []
        engine.request_stop()


async def test_the_oldest_events_go_beyond_the_maximum_size(autojump_clock: Any) -> None:
    repos = Repositories.in_memory()
    limit = 20_000
    engine = Engine(source_to_sink(400), repos, registry=REGISTRY, provenance_max_bytes=limit,
                    provenance_max_events=0)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 400)
        assert repos.provenance.stored_bytes > limit, "the test must overflow the limit"
        await wait_for(lambda: repos.provenance.stored_bytes <= limit)
        newest = max(e.event_id for e in repos.provenance.events())
        assert newest == repos.provenance.next_id - 1, "the newest are kept"
        assert 0 < retained(repos) < 800
        assert repos.provenance.verify_indexes() == []
        engine.request_stop()


async def test_count_limit_still_holds_and_indexes_survive_a_restart(tmp_path: Path, autojump_clock: Any) -> None:
    repos = Repositories.open(tmp_path / "repo")
    engine = Engine(source_to_sink(500), repos, registry=REGISTRY, provenance_max_events=100)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 500)
        await wait_for(lambda: retained(repos) <= 100 + 20)  # whole groups go; commits hold ≤ 20 events here
        assert retained(repos) >= 100
        engine.request_stop()
    figures = (repos.provenance.first_id(), repos.provenance.next_id, repos.provenance.stored_bytes)
    sink_events = [e.event_id for e in repos.provenance.search(component_id="sink")]
    repos.close()

    repos = Repositories.open(tmp_path / "repo")
    try:
        assert (repos.provenance.first_id(), repos.provenance.next_id, repos.provenance.stored_bytes) == figures
        assert repos.provenance.verify_indexes() == []
        assert [e.event_id for e in repos.provenance.search(component_id="sink")] == sink_events
        oldest = repos.provenance.first_id()
        assert oldest is not None and all(e >= oldest for e in sink_events)
    finally:
        repos.close()
