"""The provenance repository's indexes and retention, against both stores: lookups
give exactly what a full scan of the log gives, and expiry, restarts, failed
batches and stores written before the indexes existed leave them consistent."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import msgpack
import pytest

from flowyard.runtime.repository import ProvenanceRecord, Repositories, Transaction
from flowyard.runtime.repository._codec import u64
from flowyard.runtime.repository.provenance import ProvenanceRepository
from flowyard.runtime.sdk import ProvenanceEvent
from flowyard.runtime.sdk._provenance import ProvenanceEventType as E

if TYPE_CHECKING:
    from conftest import Backend

NOW = 1_700_000_000_000
COMPONENTS = ("gen", "split", "merge", "route", "sink")
TYPES = (E.CREATE, E.ATTRIBUTES_MODIFIED, E.CONTENT_MODIFIED, E.ROUTE, E.DROP, E.FORK, E.JOIN)


def row(event_type: E, uuid: str, ts: int, component: str, *, parents: list[str] | None = None,
        children: list[str] | None = None, source: str | None = None) -> ProvenanceRecord:
    """A stored event row; ``source`` given means the flowfile came from that queue."""
    attrs = msgpack.packb({"uuid": uuid, "filename": f"{uuid}.txt"})
    taken = source is not None
    return ProvenanceRecord(event_type, ts, uuid, component, "Test", attrs, attrs if taken else None, parents,
                            children, None, None, None, 3, [7, 0, 3], 3 if taken else None,
                            [7, 0, 3] if taken else None, ts, ts, source)


def random_groups(seed: int, n_groups: int, *, max_rows: int = 12, start: int = NOW) -> list[list[ProvenanceRecord]]:
    rng = random.Random(seed)
    pool = [f"{rng.getrandbits(128):032x}" for _ in range(60)]
    groups = []
    ts = start
    for _ in range(n_groups):
        rows = []
        for _ in range(rng.randint(1, max_rows)):
            kind = rng.choice(TYPES)
            uuid = rng.choice(pool)
            linked = rng.sample(pool, 3)
            rows.append(row(kind, uuid, ts, rng.choice(COMPONENTS),
                            parents=linked if kind is E.JOIN else None,
                            children=linked if kind is E.FORK else None,
                            source=None if kind in (E.CREATE, E.JOIN) else "c1"))
        groups.append(rows)
        ts += rng.randint(0, 1000)
    return groups


def write(repos: Repositories, groups: list[list[ProvenanceRecord]]) -> None:
    for rows in groups:
        txn = Transaction()
        txn.events.extend(rows)
        assert repos.write([txn], NOW) == []


def scan(repos: Repositories, *, uuid: str | None = None, component: str | None = None, event_type: E | None = None,
         start: int | None = None, end: int | None = None) -> list[int]:
    """Event ids, newest first, found the slow way: every event read."""
    def keep(e: ProvenanceEvent) -> bool:
        return ((uuid is None or uuid in (e.flowfile_uuid, *e.parent_uuids, *e.child_uuids))
                and (component is None or e.component_id == component)
                and (event_type is None or e.event_type == event_type)
                and (start is None or e.timestamp >= start) and (end is None or e.timestamp <= end))
    return [e.event_id for e in reversed(list(repos.provenance.events())) if keep(e)]


def some_uuids(repos: Repositories, n: int = 5) -> list[str]:
    events = list(repos.provenance.events())
    return sorted({e.flowfile_uuid for e in events})[:n] + sorted({c for e in events for c in e.child_uuids})[:2]


def assert_lookups_match_scans(repos: Repositories) -> None:
    provenance = repos.provenance
    assert provenance.verify_indexes() == []
    for uuid in some_uuids(repos):
        assert [e.event_id for e in provenance.search(flowfile_uuid=uuid)] == scan(repos, uuid=uuid)
    for component in COMPONENTS:
        assert [e.event_id for e in provenance.search(component_id=component)] == scan(repos, component=component)
    for event_type in TYPES:
        assert [e.event_id for e in provenance.search(event_type=event_type)] == scan(repos, event_type=event_type)


@pytest.mark.parametrize("criteria", [
    {}, {"component": "split"}, {"event_type": E.DROP}, {"component": "route", "event_type": E.ROUTE},
    {"start": NOW + 20_000}, {"end": NOW + 10_000}, {"start": NOW + 5_000, "end": NOW + 15_000, "component": "gen"},
    {"uuid": 0}, {"uuid": 1, "event_type": E.FORK}, {"uuid": 2, "start": NOW + 10_000},
])
def test_search_gives_exactly_what_a_full_scan_gives(repos: Repositories, criteria: dict[str, Any]) -> None:
    write(repos, random_groups(1, 80))
    criteria = dict(criteria)  # the parameter is shared by both backends
    if "uuid" in criteria:
        criteria["uuid"] = some_uuids(repos)[criteria["uuid"]]
    expected = scan(repos, **criteria)
    found = [e.event_id for e in repos.provenance.search(
        flowfile_uuid=criteria.get("uuid"), component_id=criteria.get("component"),
        event_type=criteria.get("event_type"), start_ms=criteria.get("start"), end_ms=criteria.get("end"))]
    assert found == expected
    if not criteria:
        assert len(found) == repos.provenance.next_id - 1


def test_events_mentioning_reads_several_uuids_at_once(repos: Repositories) -> None:
    write(repos, random_groups(2, 60))
    wanted = some_uuids(repos, 8)
    found = repos.provenance.events_mentioning(wanted)
    expected = sorted({i for uuid in wanted for i in scan(repos, uuid=uuid)}, reverse=True)
    assert [e.event_id for e in found] == expected
    assert repos.provenance.events_mentioning(["not-a-uuid"]) == []


def test_children_and_parents_are_indexed(repos: Repositories) -> None:
    write(repos, [[row(E.CREATE, "p", NOW, "gen"), row(E.FORK, "p", NOW, "split", children=["k1", "k2"], source="c")],
                  [row(E.JOIN, "m", NOW + 1, "merge", parents=["k1", "k2"])]])
    assert [e.event_type for e in repos.provenance.search(flowfile_uuid="k1")] == [E.JOIN, E.FORK]
    assert [e.event_type for e in repos.provenance.search(flowfile_uuid="p")] == [E.FORK, E.CREATE]


@pytest.mark.parametrize("rule", ["count", "age", "bytes"])
def test_expiry_deletes_oldest_groups_with_their_index_records(repos: Repositories, rule: str) -> None:
    groups = random_groups(3, 100)
    write(repos, groups)
    provenance = repos.provenance
    total, before = provenance.next_id - 1, provenance.stored_bytes
    newest_of = [max(r[1] for r in rows) for rows in groups]
    if rule == "count":
        deleted = provenance.expire_due(NOW, max_events=total // 2)
        assert total - deleted <= total // 2 + max(len(rows) for rows in groups)
        assert total - deleted >= total // 2
    elif rule == "age":
        now = newest_of[60] + 60_000  # groups 0..60 are at least a minute old
        deleted = provenance.expire_due(now, max_age_ms=60_000)
        kept = [rows for rows, newest in zip(groups, newest_of, strict=True) if now - newest < 60_000]
        assert deleted == total - sum(len(rows) for rows in kept)
        assert min(e.timestamp for e in provenance.events()) >= min(r[1] for r in kept[0])
    else:
        deleted = provenance.expire_due(NOW, max_bytes=before // 3)
        assert provenance.stored_bytes <= before // 3
    assert 0 < deleted < total
    assert provenance.first_id() == total - deleted + 1 or provenance.first_id() is not None
    assert sum(1 for _ in provenance.events()) == total - deleted
    assert provenance.stored_bytes < before
    assert_lookups_match_scans(repos)
    assert provenance.expire_due(NOW, max_events=total, max_age_ms=None, max_bytes=before) == 0, "nothing more due"


def test_expiry_works_in_slices(repos: Repositories) -> None:
    write(repos, random_groups(4, 50, max_rows=2))
    provenance = repos.provenance
    calls = []
    while n := provenance.expire_due(NOW, max_events=10, limit=7):
        calls.append(n)
        assert provenance.verify_indexes() == []
    assert len(calls) > 2 and provenance.next_id - provenance.first_id() <= 10 + 2  # type: ignore[operator]


def test_expiring_many_small_groups_uses_range_deletions(repos: Repositories) -> None:
    # over 4,096 index and group records: deleted by ranges rather than one by one
    write(repos, random_groups(5, 1_500, max_rows=3))
    provenance = repos.provenance
    assert provenance.expire_due(NOW, max_events=30, limit=100_000) > 0
    assert provenance.next_id - provenance.first_id() <= 33  # type: ignore[operator]
    assert_lookups_match_scans(repos)


def test_indexes_and_figures_survive_a_restart(backend: Backend) -> None:
    repos = backend.open()
    write(repos, random_groups(6, 40))
    repos.provenance.expire_due(NOW, max_events=100)
    figures = (repos.provenance.next_id, repos.provenance.first_id(), repos.provenance.stored_bytes)
    repos.close()
    del repos
    again = backend.reopen()
    assert (again.provenance.next_id, again.provenance.first_id(), again.provenance.stored_bytes) == figures
    assert_lookups_match_scans(again)
    write(again, random_groups(7, 5))
    assert_lookups_match_scans(again)


def test_a_store_written_before_the_indexes_is_indexed_when_opened(backend: Backend) -> None:
    store = backend.open_store()
    cf = store.handle("provenance")
    first = 1
    groups = random_groups(8, 20)
    for rows in groups:  # the old layout: groups only, 18-field rows
        store.put(cf, u64(first), msgpack.packb([1, [r[:18] for r in rows]]))
        first += len(rows)
    if backend.kind != "memory":
        store.close()
    repos = backend.open()
    assert repos.provenance.next_id == first
    assert repos.provenance.stored_bytes > 0
    assert_lookups_match_scans(repos)
    old = repos.provenance.stored(1)
    assert old is not None and old.source_connection is None


def test_a_batch_that_was_never_written_is_not_counted(repos: Repositories) -> None:
    write(repos, random_groups(9, 3))
    provenance = repos.provenance
    before = provenance.stored_bytes
    lost = repos.store.batch()  # staged, then the write "failed": never written
    first = provenance.stage(lost, random_groups(10, 1)[0])
    assert provenance.stored_bytes > before
    write(repos, random_groups(11, 2))
    assert provenance.verify_indexes() == []
    assert provenance.event(first) is None, "the ids of the lost batch are skipped"


def test_stored_event_says_where_the_flowfile_came_from(repos: Repositories) -> None:
    write(repos, [[row(E.CREATE, "a", NOW, "gen"), row(E.CONTENT_MODIFIED, "a", NOW, "upper", source="c1")]])
    created, modified = repos.provenance.stored(1), repos.provenance.stored(2)
    assert created is not None and modified is not None
    assert (created.has_input, created.source_connection) == (False, None)
    assert (modified.has_input, modified.source_connection) == (True, "c1")
    assert repos.provenance.stored(3) is None and repos.provenance.stored(0) is None


def test_a_new_repository_over_an_empty_store_starts_clean(repos: Repositories) -> None:
    provenance = ProvenanceRepository(repos.store)
    assert (provenance.next_id, provenance.stored_bytes, provenance.first_id()) == (1, 0, None)
    assert list(provenance.search()) == [] and provenance.expire_due(NOW, max_events=0) == 0
