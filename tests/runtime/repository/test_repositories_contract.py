"""Contract of ``Repositories``: every test runs over the in-memory and the RocksDB store.

"Reopen" means new repositories over the data written so far (a restart, or
a crash when nothing was closed cleanly); see ``Backend`` in conftest.py.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack
import pytest

from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._session import Routing, StandardProcessSession
from flowyard.runtime.repository import (
    FlowFileRecord,
    FlowFileRemoval,
    ProvenanceRecord,
    Repositories,
    Transaction,
)
from flowyard.runtime.repository._codec import CHUNK_SIZE, chunk_key, decode_claim, flowfile_key, resource_range, u64
from flowyard.runtime.repository.content import FILE_INLINE_MAX
from flowyard.runtime.sdk import ContentClaim, ContentNotFoundError, DataDirectoryInUseError, FlowFile
from flowyard.runtime.sdk import ProvenanceEventType as E
from flowyard.runtime.sdk._flowfile import make_flowfile

if TYPE_CHECKING:
    from conftest import Backend

NOW = 1_700_000_000_000


def pattern(size: int) -> bytes:
    return (bytes(range(251)) * (size // 251 + 1))[:size]


def write_content(repos: Repositories, data: bytes, *, piece: int = 300_007) -> tuple[Any, ContentClaim | None]:
    writer = repos.content.writer()
    for i in range(0, len(data), piece):
        writer.write(data[i : i + piece])
    return writer, writer.finish()


def commit_content(repos: Repositories, writer: Any, claimants: int = 1) -> None:
    txn = Transaction()
    txn.new_lengths[writer.resource] = writer.length
    txn.claim_deltas[writer.resource] = claimants
    if writer.streamed:
        txn.streamed.append(writer.resource)
    else:
        txn.inline_content.extend(writer.inline)
    assert repos.write([txn], NOW) == []


def content_keys(repos: Repositories, resource: int) -> list[bytes]:
    begin, end = resource_range(resource)
    return [k for k, _ in repos.store.scan(repos.store.handle("content"), begin, end)]


def has_file(repos: Repositories, resource: int) -> bool:
    """Whether ``resource`` has a content file (only stores with a content directory have any)."""
    return repos.content.directory is not None and repos.content.file_path(resource).exists()


def stored(repos: Repositories, resource: int) -> list[bytes]:
    """Where the content of ``resource`` is: its chunk keys in the store, or ``[b"file"]``."""
    return [b"file"] * has_file(repos, resource) + content_keys(repos, resource)


def new_queue(repos: Repositories, name: str) -> FlowFileQueue:
    return FlowFileQueue(name, repos.flowfiles.queue_id(name), swap_threshold=1 << 30,
                         loader=repos.flowfiles.read_range)


def commit(repos: Repositories, session: StandardProcessSession, now: int = NOW) -> None:
    prepared = session.prepare_commit()
    assert repos.write([prepared.transaction], now) == []
    prepared.apply(now)


def session(repos: Repositories, *, inputs: tuple[FlowFileQueue, ...] = (),
            dest: dict[str, list[FlowFileQueue]] | None = None) -> StandardProcessSession:
    routing = Routing("proc", "TestProcessor", inputs=inputs, destinations=dest or {})
    return StandardProcessSession(routing, repos, lambda: NOW)


def claim_record(repos: Repositories, resource: int) -> tuple[int, int, int] | None:
    raw = repos.store.get(repos.store.handle("claims"), u64(resource))
    return None if raw is None else decode_claim(raw)


# -- content ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size", [1, 1000, FILE_INLINE_MAX, FILE_INLINE_MAX + 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1,
             2 * CHUNK_SIZE, 2 * CHUNK_SIZE + 12_345]
)
def test_content_round_trip(repos: Repositories, size: int) -> None:
    data = pattern(size)
    writer, claim = write_content(repos, data)
    assert claim == ContentClaim(writer.resource, 0, size)
    # up to inline_max bytes go into the commit batch; more to a content file if there is a directory
    assert writer.streamed == (size > repos.content.inline_max)
    assert writer.in_file == (writer.streamed and repos.content.directory is not None)
    commit_content(repos, writer)
    assert repos.content.read_bytes(claim) == data
    pieces = list(repos.content.iter_chunks(claim))
    assert [len(p) for p in pieces] == [min(CHUNK_SIZE, size - i) for i in range(0, size, CHUNK_SIZE)]
    with repos.content.reader(claim) as stream:
        assert stream.read() == data
    if writer.in_file:
        assert content_keys(repos, writer.resource) == []
        assert repos.content.file_path(writer.resource).read_bytes() == data
    else:
        assert len(content_keys(repos, writer.resource)) == len(pieces)


def test_content_of_inline_max_bytes_is_written_inline(repos: Repositories) -> None:
    assert repos.content.inline_max == (CHUNK_SIZE if repos.content.directory is None else FILE_INLINE_MAX)
    writer, _ = write_content(repos, pattern(repos.content.inline_max))
    assert not writer.streamed
    assert stored(repos, writer.resource) == []


def test_small_content_is_not_stored_before_its_commit(repos: Repositories) -> None:
    writer, claim = write_content(repos, b"hello")
    assert not writer.streamed
    assert content_keys(repos, writer.resource) == []
    with pytest.raises(ContentNotFoundError, match="missing"):
        repos.content.read_bytes(claim)
    # A session reads its own uncommitted content through the overlay.
    assert repos.content.read_bytes(claim, dict(writer.inline)) == b"hello"
    commit_content(repos, writer)
    assert repos.content.read_bytes(claim) == b"hello"


def test_large_content_streams_under_a_pending_marker(repos: Repositories) -> None:
    if repos.content.directory is not None:
        pytest.skip("large content goes to content files here (test_large_content_goes_to_a_content_file)")
    data = pattern(2 * CHUNK_SIZE + 10)
    writer = repos.content.writer()
    writer.write(data[: CHUNK_SIZE + 5])
    marker = repos.content.pending_marker(writer.resource)
    state = repos.store.handle("state")
    # The first full chunk is in the store before finish, with its marker.
    assert content_keys(repos, writer.resource) == [chunk_key(writer.resource, 0)]
    assert repos.store.get(state, marker) == b""
    writer.write(data[CHUNK_SIZE + 5 :])
    claim = writer.finish()
    assert writer.inline == []
    commit_content(repos, writer)
    assert repos.store.get(state, marker) is None
    assert repos.content.read_bytes(claim) == data


def test_large_content_goes_to_a_content_file(repos: Repositories) -> None:
    if repos.content.directory is None:
        pytest.skip("no content directory: large content is streamed into the store")
    data = pattern(2 * CHUNK_SIZE + 10)
    writer = repos.content.writer()
    writer.write(data[:FILE_INLINE_MAX])
    assert not has_file(repos, writer.resource)  # still inline-sized
    writer.write(data[FILE_INLINE_MAX : CHUNK_SIZE + 5])
    # In its file before finish; nothing in the store, no pending marker.
    path = repos.content.file_path(writer.resource)
    assert path.read_bytes() == data[: CHUNK_SIZE + 5]
    assert path.parent == repos.store.path / "content"  # type: ignore[attr-defined]
    writer.write(data[CHUNK_SIZE + 5 :])
    claim = writer.finish()
    assert writer.inline == [] and writer.streamed and writer.in_file
    commit_content(repos, writer)
    assert content_keys(repos, writer.resource) == []
    assert repos.store.get(repos.store.handle("state"), repos.content.pending_marker(writer.resource)) is None
    assert path.read_bytes() == data
    assert repos.content.read_bytes(claim) == data


def test_empty_content_has_no_claim(repos: Repositories) -> None:
    writer = repos.content.writer()
    writer.write(b"")
    assert writer.finish() is None
    assert repos.content.read_bytes(None) == b""
    assert list(repos.content.iter_chunks(None)) == []


@pytest.mark.parametrize(
    ("offset", "length"),
    [(0, 10), (CHUNK_SIZE - 3, 6), (CHUNK_SIZE, CHUNK_SIZE), (5, 2 * CHUNK_SIZE), (2 * CHUNK_SIZE, 7)],
)
def test_a_claim_on_part_of_a_resource_reads_only_that_part(repos: Repositories, offset: int, length: int) -> None:
    data = pattern(2 * CHUNK_SIZE + 7)
    writer, claim = write_content(repos, data)
    commit_content(repos, writer)
    assert claim is not None
    part = ContentClaim(claim.resource, offset, length)
    assert repos.content.read_bytes(part) == data[offset : offset + length]
    with repos.content.reader(part) as stream:
        assert stream.seek(2) == 2
        assert stream.read() == data[offset + 2 : offset + length]
        assert stream.seek(-1, io.SEEK_END) == length - 1
        assert stream.read() == data[offset + length - 1 : offset + length]


@pytest.mark.parametrize(
    ("offset", "length", "message"),
    [(0, 10, "chunk 1 is missing"), (5, 3, "shorter than its claim"), (CHUNK_SIZE, 1, "chunk 1 is missing")],
)
def test_a_claim_beyond_its_resource_raises(repos: Repositories, offset: int, length: int, message: str) -> None:
    writer, claim = write_content(repos, b"short")
    commit_content(repos, writer)
    assert claim is not None
    with pytest.raises(ContentNotFoundError, match=message):
        repos.content.read_bytes(ContentClaim(claim.resource, offset, length))


@pytest.mark.parametrize("finished", [True, False])
def test_discarded_streamed_content_is_deleted_at_once(repos: Repositories, finished: bool) -> None:
    writer = repos.content.writer()
    writer.write(pattern(CHUNK_SIZE + 1))
    if finished:
        writer.finish()
    assert stored(repos, writer.resource) != []
    repos.content.discard(writer)
    assert stored(repos, writer.resource) == []
    assert repos.store.get(repos.store.handle("state"), repos.content.pending_marker(writer.resource)) is None


# -- claimant counts ----------------------------------------------------------------------


@pytest.mark.parametrize("archive_max_age_ms", [0, 60_000])
def test_a_claim_is_released_only_when_its_last_claimant_goes(backend: Backend, archive_max_age_ms: int) -> None:
    repos = backend.open(archive_max_age_ms=archive_max_age_ms)
    q1, q2 = new_queue(repos, "q1"), new_queue(repos, "q2")
    source = session(repos, dest={"success": [q1]})
    ff = source.write(source.create(), b"shared bytes")
    source.transfer(ff, "success")
    commit(repos, source)
    resource = ff.claim.resource
    assert repos.content.counts[resource] == 1
    assert claim_record(repos, resource) == (1, 12, 0)

    cloner = session(repos, inputs=(q1,), dest={"success": [q2]})
    original = cloner.get()
    copy = cloner.clone(original)
    assert copy.claim == original.claim
    cloner.transfer_all([original, copy], "success")
    commit(repos, cloner)
    assert repos.content.counts[resource] == 2
    assert claim_record(repos, resource) == (2, 12, 0)

    remover = session(repos, inputs=(q2,))
    first, second = remover.get_batch(2)
    remover.remove(first)
    remover.transfer(second)
    commit(repos, remover, now=NOW + 1)
    assert repos.content.counts[resource] == 1
    assert repos.content.read_bytes(second.claim) == b"shared bytes"

    last = session(repos, inputs=(q2,))
    last.remove(last.get())
    commit(repos, last, now=NOW + 2)
    assert resource not in repos.content.counts
    if archive_max_age_ms:
        assert repos.content.archived[resource] == (NOW + 2, 12)
        assert claim_record(repos, resource) == (0, 12, NOW + 2)
        assert repos.content.read_bytes(second.claim) == b"shared bytes"
        assert repos.content.expire_archive(NOW + 2 + archive_max_age_ms - 1) == 0
        assert repos.content.expire_archive(NOW + 2 + archive_max_age_ms) == 1
    else:
        assert resource not in repos.content.archived
    assert claim_record(repos, resource) is None
    assert stored(repos, resource) == []
    with pytest.raises(ContentNotFoundError):
        repos.content.read_bytes(second.claim)


@pytest.mark.parametrize("archive_max_age_ms", [0, 60_000])
def test_large_content_is_deleted_when_released_or_expired(backend: Backend, archive_max_age_ms: int) -> None:
    repos = backend.open(archive_max_age_ms=archive_max_age_ms)
    data = pattern(CHUNK_SIZE + 77)
    writer, claim = write_content(repos, data)
    commit_content(repos, writer)
    assert stored(repos, writer.resource) != []
    txn = Transaction()
    txn.claim(writer.resource, -1)
    assert repos.write([txn], NOW + 1) == []
    if archive_max_age_ms:  # archived: still readable (provenance views, replay)
        assert repos.content.read_bytes(claim) == data
        assert repos.content.expire_archive(NOW + 1 + archive_max_age_ms) == 1
    assert stored(repos, writer.resource) == []
    with pytest.raises(ContentNotFoundError):
        repos.content.read_bytes(claim)


def test_claimant_counts_and_the_archive_are_recovered(backend: Backend) -> None:
    def populate() -> tuple[int, int]:
        repos = backend.open()
        live, _ = write_content(repos, b"live")
        commit_content(repos, live, claimants=3)
        gone, _ = write_content(repos, pattern(CHUNK_SIZE + 9))
        commit_content(repos, gone, claimants=1)
        txn = Transaction()
        txn.claim_deltas[gone.resource] = -1
        assert repos.write([txn], NOW + 5) == []
        repos.close()
        return live.resource, gone.resource

    live, gone = populate()
    repos = backend.reopen()
    assert repos.content.counts == {}
    report = repos.recover()
    assert report == {"live_resources": 1, "archived": 1, "orphans": 0}
    assert repos.content.counts == {live: 3}
    assert repos.content.archived == {gone: (NOW + 5, CHUNK_SIZE + 9)}
    assert repos.content.archived_bytes == CHUNK_SIZE + 9


def test_a_count_below_zero_is_refused_and_nothing_is_written(repos: Repositories) -> None:
    writer, _ = write_content(repos, b"x")
    commit_content(repos, writer)
    txn = Transaction()
    txn.claim_deltas[writer.resource] = -2
    txn.place(1, make_flowfile(1, {"uuid": "u1"}, None, 0, NOW, NOW, 0, 5))
    with pytest.raises(AssertionError, match="would be -1"):
        repos.write([txn], NOW)
    assert repos.content.counts[writer.resource] == 1
    assert repos.store.get(repos.store.handle("flowfiles"), flowfile_key(1, 5)) is None


# -- flowfile records ------------------------------------------------------------------------


def _populate_queues(backend: Backend) -> tuple[dict[str, int], list[FlowFile], list[FlowFile], dict[int, bytes]]:
    repos = backend.open()
    qa, qb = new_queue(repos, "conn-a"), new_queue(repos, "conn-b")
    s = session(repos, dest={"a": [qa], "b": [qb]})
    contents = {}
    for i in range(7):
        ff = s.put_attributes(s.create(), {"n": str(i), "kind": "even" if i % 2 == 0 else "odd"})
        if i % 3:
            ff = s.write(ff, pattern(10 * i))
        if i == 4:
            ff = s.penalize(ff)
        contents[ff.id] = pattern(10 * i) if i % 3 else b""
        s.transfer(ff, "a" if i < 5 else "b")
    commit(repos, s)
    ids = repos.flowfiles.queue_ids
    a, b = qa.listing(100), qb.listing(100)
    repos.close()
    return ids, sorted(a, key=lambda f: f[7]), b, contents


def test_flowfile_records_reload_per_queue_in_order(backend: Backend) -> None:
    queue_ids, in_a, in_b, contents = _populate_queues(backend)
    assert [ff.get_attribute("n") for ff in in_a] == ["0", "1", "2", "3", "4"]
    repos = backend.reopen()
    repos.recover()
    assert repos.flowfiles.queue_ids == queue_ids
    assert sorted(repos.flowfiles.queues_with_records()) == sorted(queue_ids.values())
    load_a = repos.flowfiles.load_queue(queue_ids["conn-a"], head_limit=100)
    assert load_a.head == in_a  # every field: id, attributes, claim, size, dates, penalty, sequence
    assert load_a.swapped_count == 0
    assert load_a.last_seq == in_a[-1][7]
    assert load_a.head[4].penalty_expires == NOW + 30_000
    assert repos.flowfiles.load_queue(queue_ids["conn-b"], head_limit=100).head == in_b
    assert repos.flowfiles.count_queue(queue_ids["conn-a"]) == (5, sum(ff.size for ff in in_a))
    for ff in in_a + in_b:
        assert repos.content.read_bytes(ff.claim) == contents[ff.id]


def test_a_reloaded_queue_beyond_its_head_comes_back_through_the_loader(backend: Backend) -> None:
    queue_ids, in_a, _, _ = _populate_queues(backend)
    repos = backend.reopen()
    qid = queue_ids["conn-a"]
    load = repos.flowfiles.load_queue(qid, head_limit=2)
    assert load.head == in_a[:2]
    assert (load.swapped_count, load.swapped_size) == (3, sum(ff.size for ff in in_a[2:]))
    assert (load.swap_from_seq, load.last_seq) == (in_a[1][7], in_a[-1][7])
    assert repos.flowfiles.read_range(qid, load.swap_from_seq, load.last_seq, 2) == in_a[2:4]
    queue = FlowFileQueue("conn-a", qid, loader=repos.flowfiles.read_range)
    queue.restore(load.head, load.swapped_count, load.swapped_size, load.swap_from_seq, load.last_seq, NOW)
    assert (queue.count, queue.size) == (5, sum(ff.size for ff in in_a))
    taken = []
    while queue.has_available(NOW + 60_000):
        taken += queue.poll(1, NOW + 60_000)[0]
    assert taken == [in_a[i] for i in (0, 1, 2, 3, 4)]


def test_ids_stay_unique_across_a_reopen(backend: Backend) -> None:
    _, in_a, in_b, _ = _populate_queues(backend)
    before = in_a + in_b
    repos = backend.reopen()
    q = new_queue(repos, "conn-c")
    assert q.queue_id == 3
    s = session(repos, dest={"c": [q]})
    ff = s.write(s.create(), b"new")
    s.transfer(ff, "c")
    commit(repos, s)
    placed = q.listing(1)[0]
    assert placed.id > max(f.id for f in before)
    assert placed[7] > max(f[7] for f in before)
    assert placed.claim.resource > max(f.claim.resource for f in before if f.claim)


# -- provenance -------------------------------------------------------------------------------


def event_row(event_type: E, uuid: str, timestamp: int, **extra: Any) -> ProvenanceRecord:
    return ProvenanceRecord(
        event_type, timestamp, uuid, "comp-1", "TestProcessor",
        msgpack.packb({"uuid": uuid, "filename": f"{uuid}.txt"}), extra.get("previous"),
        extra.get("parents"), extra.get("children"), extra.get("relationship"), extra.get("details"),
        extra.get("uri"), extra.get("size", 0), extra.get("claim"), None, None, timestamp - 5, timestamp - 10, None,
    )


def write_events(repos: Repositories, rows: list[ProvenanceRecord], now: int = NOW) -> None:
    txn = Transaction()
    txn.events.extend(rows)
    assert repos.write([txn], now) == []


GROUPS = [
    [event_row(E.RECEIVE, "u1", NOW, uri="http://in", size=3, claim=[7, 0, 3]),
     event_row(E.FORK, "u1", NOW, children=["u2", "u3"]),
     event_row(E.ROUTE, "u2", NOW, relationship="success", details="matched")],
    [event_row(E.SEND, "u2", NOW + 1, uri="sftp://out"),
     event_row(E.DROP, "u3", NOW + 1, details="Auto-Terminated by failure Relationship")],
]


def test_provenance_events_read_back_in_order_with_types_and_fields(repos: Repositories) -> None:
    for rows in GROUPS:
        write_events(repos, rows)
    events = list(repos.provenance.events())
    assert [(e.event_id, e.event_type, e.flowfile_uuid) for e in events] == [
        (1, E.RECEIVE, "u1"), (2, E.FORK, "u1"), (3, E.ROUTE, "u2"), (4, E.SEND, "u2"), (5, E.DROP, "u3"),
    ]
    assert all(isinstance(e.event_type, E) for e in events)
    receive, fork, route, send, drop = events
    assert receive.transit_uri == "http://in"
    assert receive.claim == ContentClaim(7, 0, 3)
    assert receive.size == 3
    assert receive.attributes == {"uuid": "u1", "filename": "u1.txt"}
    assert (receive.entry_date, receive.lineage_start_date) == (NOW - 5, NOW - 10)
    assert fork.child_uuids == ("u2", "u3")
    assert (route.relationship, route.details) == ("success", "matched")
    assert (send.timestamp, send.transit_uri) == (NOW + 1, "sftp://out")
    assert drop.details == "Auto-Terminated by failure Relationship"


@pytest.mark.parametrize(
    ("from_id", "limit", "expected"),
    [(1, None, [1, 2, 3, 4, 5]), (2, None, [2, 3, 4, 5]), (3, 2, [3, 4]), (4, 1, [4]), (5, 9, [5]), (6, None, [])],
)
def test_provenance_events_from_an_id(repos: Repositories, from_id: int, limit: int | None,
                                      expected: list[int]) -> None:
    for rows in GROUPS:
        write_events(repos, rows)
    assert [e.event_id for e in repos.provenance.events(from_id, limit)] == expected


@pytest.mark.parametrize(("event_id", "expected"), [(1, E.RECEIVE), (3, E.ROUTE), (4, E.SEND), (6, None), (0, None)])
def test_provenance_event_by_id(repos: Repositories, event_id: int, expected: E | None) -> None:
    for rows in GROUPS:
        write_events(repos, rows)
    event = repos.provenance.event(event_id)
    assert (event.event_type if event else None) == expected
    if event is not None:
        assert event.event_id == event_id


def test_provenance_ids_continue_after_a_reopen(backend: Backend) -> None:
    first = backend.open()
    for rows in GROUPS:
        write_events(first, rows)
    first.close()
    del first
    repos = backend.reopen()
    assert repos.provenance.next_id == 6
    write_events(repos, [event_row(E.CREATE, "u9", NOW + 2)])
    assert [(e.event_id, e.event_type) for e in repos.provenance.events(5)] == [(5, E.DROP), (6, E.CREATE)]


# -- component state -----------------------------------------------------------------------------


def state_txn(component: str, expected: int, values: dict[str, str], seq: int | None = None) -> Transaction:
    txn = Transaction()
    txn.states[component] = (expected, values)
    if seq is not None:
        txn.place(1, make_flowfile(seq, {"uuid": f"u{seq}"}, None, 0, NOW, NOW, 0, seq))
    return txn


def test_state_versions_increase_and_a_stale_version_is_rejected(repos: Repositories) -> None:
    assert repos.state_version("comp") == 0
    assert repos.write([state_txn("comp", 0, {"a": "1"})], NOW) == []
    assert (repos.state.get("comp").version, repos.state.get("comp").values) == (1, {"a": "1"})
    stale = state_txn("comp", 0, {"a": "stale"}, seq=1)
    ok = state_txn("other", 0, {"b": "2"}, seq=2)
    assert repos.write([stale, ok], NOW) == [stale]
    assert repos.state.get("comp").values == {"a": "1"}
    assert repos.state.get("other").values == {"b": "2"}
    ffs = repos.store.handle("flowfiles")
    assert repos.store.get(ffs, flowfile_key(1, 1)) is None
    assert repos.store.get(ffs, flowfile_key(1, 2)) is not None
    assert repos.write([state_txn("comp", 1, {"a": "2"})], NOW) == []
    assert repos.state_version("comp") == 2


def test_two_changes_of_one_state_in_one_write_only_the_first_wins(repos: Repositories) -> None:
    first, second = state_txn("comp", 0, {"who": "first"}), state_txn("comp", 0, {"who": "second"})
    assert repos.write([first, second], NOW) == [second]
    assert repos.state.get("comp").values == {"who": "first"}
    assert repos.state_version("comp") == 1


def test_state_versions_survive_a_reopen(backend: Backend) -> None:
    first = backend.open()
    assert first.write([state_txn("comp", 0, {"a": "1"})], NOW) == []
    assert first.write([state_txn("comp", 1, {"a": "2"})], NOW) == []
    first.close()
    del first
    repos = backend.reopen()
    assert repos.state_version("comp") == 2
    stale = state_txn("comp", 1, {"a": "x"})
    assert repos.write([stale], NOW) == [stale]
    assert repos.write([state_txn("comp", 2, {"a": "3"})], NOW) == []
    assert repos.state.get("comp").values == {"a": "3"}


def test_clearing_state_keeps_the_version_readable(repos: Repositories) -> None:
    assert repos.write([state_txn("comp", 0, {"a": "1"})], NOW) == []
    assert repos.write([state_txn("comp", 1, {})], NOW) == []
    assert repos.state.get("comp").values == {}
    read_version = repos.state.get("comp").version
    assert read_version == repos.state_version("comp")
    assert repos.write([state_txn("comp", read_version, {"a": "again"})], NOW) == []


# -- recovery ------------------------------------------------------------------------------------


def test_recovery_deletes_streamed_content_that_was_never_committed(backend: Backend) -> None:
    def crash_mid_session() -> tuple[int, int]:
        repos = backend.open()
        kept, _ = write_content(repos, pattern(CHUNK_SIZE + 100))
        commit_content(repos, kept)
        orphan = repos.content.writer()
        orphan.write(pattern(2 * CHUNK_SIZE + 1))  # written (two chunks or a file), never committed
        assert len(content_keys(repos, orphan.resource)) == (0 if orphan.in_file else 2)
        assert has_file(repos, orphan.resource) == orphan.in_file
        repos.close()
        return kept.resource, orphan.resource

    kept, orphan = crash_mid_session()
    repos = backend.reopen()
    assert repos.recover() == {"live_resources": 1, "archived": 0, "orphans": 1}
    assert stored(repos, orphan) == []
    assert repos.store.get(repos.store.handle("state"), repos.content.pending_marker(orphan)) is None
    assert repos.content.read_bytes(ContentClaim(kept, 0, CHUNK_SIZE + 100)) == pattern(CHUNK_SIZE + 100)
    assert repos.recover()["orphans"] == 0


def test_recovery_drops_a_leftover_marker_of_committed_content(repos: Repositories) -> None:
    writer, claim = write_content(repos, pattern(CHUNK_SIZE + 3))
    commit_content(repos, writer)
    state = repos.store.handle("state")
    repos.store.put(state, repos.content.pending_marker(writer.resource), b"")
    assert repos.recover()["orphans"] == 0
    assert repos.store.get(state, repos.content.pending_marker(writer.resource)) is None
    assert repos.content.read_bytes(claim) == pattern(CHUNK_SIZE + 3)


# -- the repositories as a whole ----------------------------------------------------------------


def test_an_unknown_durability_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown durability mode 'fast': expected one of os, sync"):
        Repositories.in_memory(durability="fast")


@pytest.mark.parametrize("durability", ["os", "sync"])
def test_each_durability_mode_writes(backend: Backend, durability: str) -> None:
    repos = backend.open(durability=durability)
    assert repos.write([state_txn("comp", 0, {"a": "1"})], NOW) == []
    assert repos.batches_written == 1
    assert repos.state.get("comp").values == {"a": "1"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("placed", [FlowFileRecord(1, 1, make_flowfile(1, {"uuid": "u"}, None, 0, 0, 0), b"")]),
     ("removed", [FlowFileRemoval(1, 1)]), ("inline_content", [(b"k", b"v")]),
     ("claim_deltas", {1: 1}), ("new_lengths", {1: 5}), ("streamed", [1]), ("events", [event_row(E.CREATE, "u", NOW)]),
     ("states", {"c": (0, {})})],
)
def test_a_transaction_is_empty_until_anything_is_added(field: str, value: Any) -> None:
    txn = Transaction()
    assert txn.is_empty()
    setattr(txn, field, value)
    assert not txn.is_empty()


def test_opening_open_repositories_again_is_refused(tmp_path: Path) -> None:
    repos = Repositories.open(tmp_path / "data")
    try:
        with pytest.raises(DataDirectoryInUseError, match="already in use by another flowyard process"):
            Repositories.open(tmp_path / "data")
    finally:
        repos.close()


def test_provenance_expiry_keeps_the_newest_events(repos: Repositories) -> None:
    from flowyard.runtime.engine._queue import FlowFileQueue
    from flowyard.runtime.engine._session import Routing, StandardProcessSession

    queue = FlowFileQueue("q", repos.flowfiles.queue_id("q"), object_threshold=0, size_threshold=0)
    routing = Routing("p", "P", destinations={"success": [queue]})
    for _ in range(10):  # ten commits of 100 CREATE events
        s = StandardProcessSession(routing, repos, lambda: 1_000)
        s.transfer_all(s.create_batch(100), "success")
        prepared = s.prepare_commit()
        repos.write([prepared.transaction], 1_000)
        prepared.apply(1_000)
    assert repos.provenance.first_id() == 1
    kept_from = repos.provenance.expire(250)
    ids = [e.event_id for e in repos.provenance.events()]
    assert kept_from == 701 and ids == list(range(701, 1001)), "the group holding the cut-off stays"
    assert repos.provenance.expire(400) == 0, "nothing more to do"
