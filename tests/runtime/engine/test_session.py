"""StandardProcessSession over in-memory repositories, real queues and a fake clock.

A commit is what the engine does: ``prepare_commit``, ``Repositories.write``,
``PreparedCommit.apply``. Seeded flowfiles come from a separate "source" session,
so they are committed exactly like production flowfiles.
"""

from __future__ import annotations

import gc
import re
import weakref
from collections.abc import Callable
from typing import IO, Any

import pytest

from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._session import PreparedCommit, Routing, StandardProcessSession
from flowyard.runtime.repository import Repositories
from flowyard.runtime.repository._codec import CHUNK_SIZE, resource_range
from flowyard.runtime.sdk import FlowFile, FlowFileHandlingError, ProvenanceEvent
from flowyard.runtime.sdk import ProvenanceEventType as E

START = 1_700_000_000_000
PENALTY = 5_000


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now


class Flow:
    """One processor ``proc``: input ``inq``; ``success`` -> out, ``failure`` -> other,
    ``both`` -> out and other; ``discard`` is auto-terminated."""

    def __init__(self, *, expiration_ms: int = 0) -> None:
        self.clock = Clock()
        self.repos = Repositories.in_memory()
        self.inq = self.queue("in", expiration_ms=expiration_ms)
        self.out = self.queue("out")
        self.other = self.queue("other")

    def queue(self, name: str, **kw: Any) -> FlowFileQueue:
        return FlowFileQueue(name, self.repos.flowfiles.queue_id(name), object_threshold=0, size_threshold=0,
                             loader=self.repos.flowfiles.read_range, **kw)

    def session(self, *, inputs: list[FlowFileQueue] | None = None, **kw: Any) -> StandardProcessSession:
        kw.setdefault("destinations", {"success": [self.out], "failure": [self.other],
                                       "both": [self.out, self.other]})
        kw.setdefault("auto_terminated", ["discard"])
        routing = Routing("proc", "TestProcessor", inputs=[self.inq] if inputs is None else inputs,
                          penalty_ms=PENALTY, **kw)
        return StandardProcessSession(routing, self.repos, self.clock, state_reader=self.read_state)

    def read_state(self, component_id: str) -> tuple[int, dict[str, str]]:
        return self.repos.state.get(component_id).version, dict(self.repos.state.get(component_id).values)

    def seed(self, *items: bytes | tuple[bytes, dict[str, str]], queue: FlowFileQueue | None = None
             ) -> list[FlowFile]:
        queue = queue or self.inq
        routing = Routing("source", "Source", destinations={"success": [queue]})
        s = StandardProcessSession(routing, self.repos, self.clock)
        for item in items:
            content, attrs = item if isinstance(item, tuple) else (item, {})
            ff = s.create()
            if content:
                ff = s.write(ff, content)
            s.transfer(s.put_attributes(ff, attrs), "success")
        return list(self.commit(s).enqueued[queue])

    def commit(self, session: StandardProcessSession) -> PreparedCommit:
        prepared = session.prepare_commit()
        assert self.repos.write([prepared.transaction], self.clock()) == []
        prepared.apply(self.clock())
        return prepared

    def events(self) -> list[ProvenanceEvent]:
        return [e for e in self.repos.provenance.events() if e.component_id == "proc"]

    def queued(self, queue: FlowFileQueue) -> list[FlowFile]:
        return sorted(queue.listing(1 << 30), key=lambda f: f[7])

    def content(self, ff: FlowFile) -> bytes:
        return self.repos.content.read_bytes(ff.claim)


def types(events: list[ProvenanceEvent]) -> list[E]:
    return [e.event_type for e in events]


@pytest.fixture
def flow() -> Flow:
    return Flow()


# -- taking and creating ------------------------------------------------------------------------


def test_get_and_get_batch_take_flowfiles_in_queue_order(flow: Flow) -> None:
    seeded = flow.seed(b"a", b"b", b"c", b"d")
    s = flow.session()
    assert (s.get_batch(0), s.get_batch(-1)) == ([], [])
    assert s.get() == seeded[0]
    assert s.get_batch(2) == seeded[1:3]
    assert s.get_batch(10) == seeded[3:]
    assert s.get() is None
    assert (s.taken, flow.inq.count, flow.inq.in_flight) == (4, 4, 4)
    assert [s.read_bytes(f) for f in seeded] == [b"a", b"b", b"c", b"d"]


def test_inputs_are_taken_round_robin(flow: Flow) -> None:
    flow.seed(b"a1", b"a2", queue=flow.inq)
    flow.seed(b"b1", b"b2", queue=flow.other)
    s = flow.session(inputs=[flow.inq, flow.other])
    assert [s.read_bytes(s.get()) for _ in range(4)] == [b"a1", b"b1", b"a2", b"b2"]
    assert s.has_input
    without = flow.session(inputs=[])
    assert (without.has_input, without.get(), without.get_batch(5)) == (False, None, [])


def test_create_makes_an_empty_flowfile_with_core_attributes(flow: Flow) -> None:
    s = flow.session()
    ff = s.create()
    assert set(ff.attributes) == {"uuid", "filename", "path"}
    assert (ff.get_attribute("filename"), ff.get_attribute("path")) == (ff.uuid, "./")
    assert (ff.size, ff.claim, ff.entry_date, ff.lineage_start_date) == (0, None, START, START)
    s.transfer(ff, "success")
    flow.clock.now += 7
    flow.commit(s)
    [placed] = flow.queued(flow.out)
    assert (placed.uuid, placed.size) == (ff.uuid, 0)
    assert flow.repos.flowfiles.load_queue(flow.out.queue_id, 10).head == [placed]
    [event] = flow.events()
    assert (event.event_type, event.flowfile_uuid, event.timestamp) == (E.CREATE, ff.uuid, START + 7)
    assert (event.component_id, event.component_type) == ("proc", "TestProcessor")


def test_create_batch(flow: Flow) -> None:
    s = flow.session()
    ffs = s.create_batch(3)
    assert [f.id - ffs[0].id for f in ffs] == [0, 1, 2]
    s.transfer_all(ffs, "success")
    flow.commit(s)
    assert [(e.event_type, e.flowfile_uuid) for e in flow.events()] == [(E.CREATE, f.uuid) for f in ffs]
    assert [f.uuid for f in flow.queued(flow.out)] == [f.uuid for f in ffs]


def test_create_with_one_parent_forks(flow: Flow) -> None:
    flow.seed((b"p", {"a": "1"}))
    flow.clock.now += 100
    s = flow.session()
    parent = s.get()
    child = s.create(parent)
    assert child.uuid != parent.uuid
    assert child.get_attribute("a") == "1"
    assert (child.entry_date, child.lineage_start_date, child.size) == (START + 100, START, 0)
    s.transfer(parent, "success")
    s.transfer(child, "failure")
    flow.commit(s)
    [fork] = flow.events()
    assert (fork.event_type, fork.flowfile_uuid, fork.child_uuids) == (E.FORK, parent.uuid, (child.uuid,))


def test_create_with_several_parents_joins(flow: Flow) -> None:
    flow.seed((b"x", {"a": "1", "b": "x"}))
    flow.clock.now += 10
    flow.seed((b"y", {"a": "1", "b": "y"}))
    s = flow.session()
    p1, p2 = s.get_batch(2)
    merged = s.create([p1, p2])
    assert merged.get_attribute("a") == "1"
    assert merged.get_attribute("b") is None
    assert (merged.get_attribute("filename"), merged.get_attribute("path")) == (merged.uuid, "./")
    assert merged.lineage_start_date == START
    s.transfer(merged, "success")
    s.remove(p1)
    s.remove(p2)
    flow.commit(s)
    join, drop1, drop2 = flow.events()
    assert (join.event_type, join.flowfile_uuid, join.parent_uuids) == (E.JOIN, merged.uuid, (p1.uuid, p2.uuid))
    assert [(drop1.event_type, drop1.flowfile_uuid), (drop2.event_type, drop2.flowfile_uuid)] == [
        (E.DROP, p1.uuid), (E.DROP, p2.uuid)]


def test_clone_shares_the_claim_and_can_take_a_range(flow: Flow) -> None:
    flow.seed(b"hello world")
    s = flow.session()
    ff = s.get()
    whole, tail, head, empty = s.clone(ff), s.clone(ff, 6), s.clone(ff, 0, 5), s.clone(ff, 11)
    assert whole.claim == ff.claim
    assert (tail.claim.resource, tail.claim.offset, tail.size) == (ff.claim.resource, 6, 5)
    assert (empty.claim, empty.size) == (None, 0)
    assert [s.read_bytes(f) for f in (whole, tail, head, empty)] == [b"hello world", b"world", b"hello", b""]
    s.transfer_all([ff, whole, tail, head, empty], "success")
    flow.commit(s)
    assert flow.repos.content.counts[ff.claim.resource] == 4
    fork, clone = sorted(flow.events(), key=lambda e: e.event_type.value)
    assert (clone.event_type, clone.flowfile_uuid) == (E.CLONE, ff.uuid)
    assert clone.child_uuids == (whole.uuid,), "a copy of the whole content is a CLONE (NiFi)"
    assert (fork.event_type, fork.flowfile_uuid) == (E.FORK, ff.uuid)
    assert fork.child_uuids == tuple(f.uuid for f in (tail, head, empty)), "a part of it is a FORK (NiFi)"
    assert [flow.content(f) for f in flow.queued(flow.out)] == [b"hello world", b"hello world", b"world", b"hello", b""]


@pytest.mark.parametrize(("offset", "size"), [(-1, None), (12, None), (0, 12), (6, 6), (0, -1)])
def test_clone_outside_the_content_is_refused(flow: Flow, offset: int, size: int | None) -> None:
    flow.seed(b"hello world")
    s = flow.session()
    with pytest.raises(FlowFileHandlingError, match="outside content of size 11"):
        s.clone(s.get(), offset, size)


# -- content -----------------------------------------------------------------------------------


def _write_via_stream(out: IO[bytes]) -> None:
    out.write(b"abc")
    out.write(b"def")


BIG = bytes(range(256)) * 1024 * 10  # 2.5 MiB: streamed to the store in chunks


@pytest.mark.parametrize("op", ["write", "append"])
@pytest.mark.parametrize(
    ("source", "data"),
    [(lambda: b"abcdef", b"abcdef"), (lambda: bytearray(b"abcdef"), b"abcdef"),
     (lambda: memoryview(b"abcdef"), b"abcdef"), (lambda: [b"ab", b"", b"cdef"], b"abcdef"),
     (lambda: (p for p in (b"abc", b"def")), b"abcdef"), (lambda: _write_via_stream, b"abcdef"),
     (lambda: (BIG[i : i + 300_000] for i in range(0, len(BIG), 300_000)), BIG)],
    ids=["bytes", "bytearray", "memoryview", "list", "generator", "callable", "streamed"],
)
def test_write_and_append_accept_every_content_source(flow: Flow, op: str, source: Callable[[], Any],
                                                      data: bytes) -> None:
    flow.seed(b"old")
    s = flow.session()
    ff = getattr(s, op)(s.get(), source())
    ff = s.append(ff, b"!")  # onto content written in this session, not committed yet
    expected = (b"old" if op == "append" else b"") + data + b"!"
    assert (ff.size, s.read_bytes(ff)) == (len(expected), expected)
    with s.read(ff) as stream:
        assert stream.read() == expected
    chunks = list(s.iter_content(ff))
    assert b"".join(chunks) == expected
    assert max(len(c) for c in chunks) <= CHUNK_SIZE
    s.transfer(ff, "success")
    flow.commit(s)
    assert [flow.content(f) for f in flow.queued(flow.out)] == [expected]


# -- attributes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s, f: s.put_attribute(f, "k", 5), {"k": "5"}),
        (lambda s, f: s.put_attribute(f, "uuid", "x"), {}),
        (lambda s, f: s.put_attributes(f, {"k": "v", "color": "blue", "uuid": "x"}), {"k": "v", "color": "blue"}),
        (lambda s, f: s.put_attributes(f, {}), {}),
        (lambda s, f: s.remove_attribute(f, "color"), {"color": None}),
        (lambda s, f: s.remove_attributes(f, ["color", "filename", "uuid", "missing"]), {"color": None,
                                                                                          "filename": None}),
    ],
)
def test_attribute_changes(flow: Flow, change: Callable[[StandardProcessSession, FlowFile], FlowFile],
                           expected: dict[str, str | None]) -> None:
    flow.seed((b"", {"color": "red"}))
    s = flow.session()
    before = s.get()
    after = change(s, before)
    assert after.uuid == before.uuid
    want = {k: v for k, v in {**before.attributes, **expected}.items() if v is not None}
    assert dict(after.attributes) == want
    s.transfer(after, "success")
    flow.commit(s)
    assert dict(flow.queued(flow.out)[0].attributes) == want


@pytest.mark.parametrize(
    ("misuse", "message"),
    [
        (lambda s, stale, latest, foreign: s.transfer(stale, "success"), "not the latest version of flowfile"),
        (lambda s, stale, latest, foreign: s.write(stale, b"x"), "not the latest version of flowfile"),
        (lambda s, stale, latest, foreign: s.read_bytes(foreign), "does not belong to this session"),
        (lambda s, stale, latest, foreign: s.provenance.send(foreign, "x://y"), "does not belong to this session"),
        (lambda s, stale, latest, foreign: s.transfer(latest, "nope"),
         r"unknown relationship 'nope' for TestProcessor \(known: both, discard, failure, success\)"),
        (lambda s, stale, latest, foreign: s.transfer(s.create(), None), "created in this session"),
        (lambda s, stale, latest, foreign: (s.remove(latest), s.read_bytes(latest)), "already removed"),
        (lambda s, stale, latest, foreign: s.create([]), "at least one parent"),
    ],
)
def test_misuse_is_refused(flow: Flow, misuse: Callable[..., Any], message: str) -> None:
    flow.seed(b"a", b"b")
    foreign = flow.session().get()
    s = flow.session()
    stale = s.get()
    latest = s.put_attribute(stale, "k", "v")
    with pytest.raises(FlowFileHandlingError, match=message):
        misuse(s, stale, latest, foreign)


# -- routing -------------------------------------------------------------------------------------


def test_transfer_without_relationship_goes_back_to_the_input_queue(flow: Flow) -> None:
    a, b = flow.seed(b"a", b"b")
    s = flow.session()
    s.transfer(s.get())
    flow.commit(s)
    assert [f.uuid for f in flow.queued(flow.inq)] == [b.uuid, a.uuid]
    assert (flow.inq.count, flow.inq.in_flight) == (2, 0)
    assert flow.events() == []


def test_a_relationship_neither_connected_nor_auto_terminated_fails_the_commit(flow: Flow) -> None:
    flow.seed(b"a")
    s = flow.session(relationships=["unmatched"])
    s.transfer(s.get(), "unmatched")
    with pytest.raises(FlowFileHandlingError, match="'unmatched' of TestProcessor is neither connected"):
        s.prepare_commit()


def test_a_flowfile_to_two_queues_is_cloned_sharing_its_claim(flow: Flow) -> None:
    class Relationship:  # anything with a ``name`` names a relationship
        name = "both"

    [seeded] = flow.seed(b"data")
    s = flow.session()
    s.transfer(s.get(), Relationship())
    flow.commit(s)
    [in_out], [in_other] = flow.queued(flow.out), flow.queued(flow.other)
    assert in_out.uuid == seeded.uuid
    assert in_other.uuid != seeded.uuid
    assert in_out.claim == in_other.claim == seeded.claim
    assert flow.repos.content.counts[seeded.claim.resource] == 2
    [clone] = flow.events()
    assert (clone.event_type, clone.flowfile_uuid, clone.child_uuids) == (E.CLONE, seeded.uuid, (in_other.uuid,))


def test_remove_drops_the_flowfile_its_record_and_its_claim(flow: Flow) -> None:
    [seeded] = flow.seed(b"data")
    s = flow.session()
    s.remove(s.get())
    flow.commit(s)
    assert flow.inq.is_empty()
    assert flow.repos.flowfiles.count_queue(flow.inq.queue_id) == (0, 0)
    assert seeded.claim.resource not in flow.repos.content.counts
    assert types(flow.events()) == [E.DROP]


def test_penalize_holds_the_flowfile_back_downstream(flow: Flow) -> None:
    flow.seed(b"a")
    flow.clock.now += 50
    s = flow.session()
    ff = s.penalize(s.get())
    assert ff.penalty_expires == START + 50 + PENALTY
    s.transfer(ff, "success")
    flow.commit(s)
    assert flow.out.status().penalized == 1
    assert not flow.out.has_available(START + 50 + PENALTY - 1)
    assert flow.out.has_available(START + 50 + PENALTY)


# -- commit ------------------------------------------------------------------------------------


@pytest.mark.parametrize("then", ["complete", "rollback"])
def test_an_unaccounted_flowfile_fails_the_commit_and_changes_nothing(flow: Flow, then: str) -> None:
    a, b = flow.seed(b"a", b"b")
    batches = flow.repos.batches_written
    s = flow.session()
    got_a, got_b = s.get_batch(2)
    s.transfer(got_a, "success")
    expected = re.escape(f"1 flowfile(s) were neither transferred nor removed: '{b.uuid}'")
    with pytest.raises(FlowFileHandlingError, match=f"^{expected}$"):
        s.prepare_commit()
    assert flow.repos.batches_written == batches
    assert (flow.inq.count, flow.inq.in_flight, flow.out.count) == (2, 2, 0)
    assert flow.events() == []
    if then == "complete":
        s.transfer(got_b, "failure")
        flow.commit(s)
        assert (flow.inq.count, len(flow.queued(flow.out)), len(flow.queued(flow.other))) == (0, 1, 1)
    else:
        s.rollback()
        assert flow.queued(flow.inq) == [a, b]
        assert flow.inq.in_flight == 0


def test_the_unaccounted_message_lists_five_and_counts_the_rest(flow: Flow) -> None:
    s = flow.session()
    s.create_batch(7)
    with pytest.raises(FlowFileHandlingError, match=r"^7 flowfile\(s\) .* and 2 more$"):
        s.prepare_commit()


PROVENANCE_CASES = {
    "unchanged": (lambda s, f: s.transfer(f, "success"), []),
    "same attribute value": (lambda s, f: s.transfer(s.put_attribute(f, "color", "red"), "success"), []),
    "attributes": (lambda s, f: s.transfer(s.put_attribute(f, "k", "v"), "success"), [E.ATTRIBUTES_MODIFIED]),
    "content": (lambda s, f: s.transfer(s.write(f, b"new"), "success"), [E.CONTENT_MODIFIED]),
    "content and attributes": (
        lambda s, f: s.transfer(s.put_attribute(s.write(f, b"new"), "k", "v"), "success"), [E.CONTENT_MODIFIED]),
    "auto-terminated": (lambda s, f: s.transfer(f, "discard"), [E.DROP]),
    "removed": (lambda s, f: s.remove(f), [E.DROP]),
    "created": (lambda s, f: (s.transfer(s.create(), "success"), s.transfer(f)), [E.CREATE]),
    "received": (lambda s, f: (s.provenance.receive(n := s.create(), "http://in"), s.transfer(n, "success"),
                               s.transfer(f)), [E.RECEIVE]),
    "sent": (lambda s, f: (s.provenance.send(f, "sftp://out", "12 ms"), s.transfer(f, "discard")), [E.SEND, E.DROP]),
    "routed": (lambda s, f: (s.provenance.route(f, "success", "matched"), s.transfer(f, "success")), [E.ROUTE]),
    "content changed and sent": (
        lambda s, f: (s.provenance.send(g := s.write(f, b"new"), "sftp://out"), s.transfer(g, "success")),
        [E.CONTENT_MODIFIED, E.SEND]),
    "attributes changed and routed": (
        lambda s, f: (s.provenance.route(g := s.put_attribute(f, "k", "v"), "success"), s.transfer(g, "success")),
        [E.ROUTE]),
    "fetched": (lambda s, f: (s.provenance.fetch(g := s.write(f, b"fetched"), "file:///x"), s.transfer(g, "success")),
                [E.FETCH]),
    "info": (lambda s, f: (s.provenance.add_info(f, "note"), s.transfer(f, "success")), [E.ADDINFO]),
    "forked": (lambda s, f: (s.transfer(s.create(f), "success"), s.transfer(f, "success")), [E.FORK]),
    "cloned": (lambda s, f: (s.transfer(s.clone(f), "success"), s.transfer(f, "success")), [E.CLONE]),
    "two queues": (lambda s, f: s.transfer(f, "both"), [E.CLONE]),
}


@pytest.mark.parametrize(("action", "expected"), PROVENANCE_CASES.values(), ids=PROVENANCE_CASES.keys())
def test_provenance_events_follow_from_what_the_session_did(flow: Flow, action: Callable[..., Any],
                                                            expected: list[E]) -> None:
    flow.seed((b"seed", {"color": "red"}))
    flow.clock.now += 1_000
    s = flow.session()
    action(s, s.get())
    flow.commit(s)
    events = flow.events()
    assert types(events) == expected
    assert all(e.timestamp == START + 1_000 and e.component_type == "TestProcessor" for e in events)
    assert all(e.event_id > 0 for e in events)


def test_provenance_event_details(flow: Flow) -> None:
    seeded, _ = flow.seed((b"seed", {"color": "red"}), b"other")
    s = flow.session()
    ff, other = s.get_batch(2)
    changed = s.put_attribute(s.write(ff, b"new!!"), "k", "v")
    s.transfer(changed, "discard")
    s.provenance.send(other, "sftp://host/a", "took 12 ms")
    s.provenance.route(other, "success", "matched rule 1")
    s.transfer(other, "success")
    flow.commit(s)
    modified, send, route, drop = flow.events()  # auto-terminations come last, as in NiFi
    assert modified.event_type == E.CONTENT_MODIFIED
    assert (modified.size, modified.previous_size, modified.previous_claim) == (5, 4, seeded.claim)
    assert modified.claim == changed.claim != seeded.claim
    assert modified.previous_attributes == dict(seeded.attributes)
    assert modified.updated_attributes == {"k": "v"}
    assert (drop.event_type, drop.details) == (E.DROP, "Auto-Terminated by discard Relationship")
    assert (drop.entry_date, drop.lineage_start_date) == (seeded.entry_date, seeded.lineage_start_date)
    assert (send.event_type, send.transit_uri, send.details) == (E.SEND, "sftp://host/a", "took 12 ms")
    assert (route.event_type, route.relationship, route.details) == (E.ROUTE, "success", "matched rule 1")


@pytest.mark.parametrize("then", ["commit", "rollback"])
def test_expired_flowfiles(then: str) -> None:
    flow = Flow(expiration_ms=1_000)
    [old] = flow.seed(b"old")
    flow.clock.now += 1_001
    [new] = flow.seed(b"new")
    s = flow.session()
    assert s.get_batch(10) == [new]
    assert s.taken == 2
    s.transfer(new)
    if then == "commit":
        flow.commit(s)
        [expire] = flow.events()
        assert (expire.event_type, expire.flowfile_uuid, expire.details) == (
            E.EXPIRE, old.uuid, "Expiration Threshold exceeded")
        assert old.claim.resource not in flow.repos.content.counts
        assert [f.uuid for f in flow.queued(flow.inq)] == [new.uuid]
    else:
        s.rollback()
        assert flow.queued(flow.inq) == [old, new]


@pytest.mark.parametrize("penalize", [False, True])
def test_rollback_returns_flowfiles_unchanged_in_order(flow: Flow, penalize: bool) -> None:
    seeded = flow.seed(b"a", b"b", b"c", b"d")
    flow.clock.now += 10
    s = flow.session()
    a, b, c = s.get_batch(3)
    s.remove(c)
    s.transfer(s.put_attribute(b, "k", "v"), "success")
    s.transfer(s.create(a), "failure")
    s.rollback(penalize=penalize)
    assert s.is_empty
    assert s.taken == 0
    assert (flow.inq.count, flow.inq.in_flight, flow.out.count, flow.other.count) == (4, 0, 0, 0)
    assert flow.events() == []
    if penalize:
        assert flow.inq.status().penalized == 3
        taken, _ = flow.inq.poll(10, START + 10 + PENALTY - 1)
        assert taken == [seeded[3]]
        flow.inq.requeue(taken)
    assert flow.inq.poll(10, START + 10 + PENALTY)[0] == (seeded[3:] + seeded[:3] if penalize else seeded)


def test_rollback_discards_content_written_in_the_session(flow: Flow) -> None:
    flow.seed(b"a")
    s = flow.session()
    ff = s.get()
    small = s.write(ff, b"small")
    big = s.write(small, [bytes(CHUNK_SIZE), b"tail"])
    content = flow.repos.store.handle("content")
    begin, end = resource_range(big.claim.resource)
    assert list(flow.repos.store.scan(content, begin, end)) != []
    s.rollback()
    assert list(flow.repos.store.scan(content, begin, end)) == []
    marker = flow.repos.content.pending_marker(big.claim.resource)
    assert flow.repos.store.get(flow.repos.store.handle("state"), marker) is None
    for claim in (small.claim, big.claim):
        assert claim.resource not in flow.repos.content.counts
        assert list(flow.repos.store.scan(content, *resource_range(claim.resource))) == []


def test_callbacks_run_after_commit_or_rollback(flow: Flow) -> None:
    calls: list[object] = []
    s = flow.session()
    s.commit_async(lambda: calls.append("ok"), calls.append)
    s.transfer(s.create(), "success")
    s.rollback()
    assert calls == [None]
    s.commit_async(lambda: calls.append("ok"), calls.append)
    s.commit_async(lambda: 1 / 0)
    s.transfer(s.create(), "success")
    prepared = s.prepare_commit()
    flow.repos.write([prepared.transaction], flow.clock())
    assert calls == [None]
    errors = prepared.apply(flow.clock())
    assert calls == [None, "ok"]
    assert [type(e) for e in errors] == [ZeroDivisionError]


def test_commit_needs_a_commit_hook(flow: Flow) -> None:
    with pytest.raises(FlowFileHandlingError, match="cannot be committed explicitly"):
        flow.session().commit()
    seen: list[StandardProcessSession] = []
    routing = Routing("proc", "TestProcessor")
    s = StandardProcessSession(routing, flow.repos, flow.clock, commit_hook=seen.append)
    s.commit()
    assert seen == [s]


def test_commit_statistics(flow: Flow) -> None:
    flow.seed(b"four", b"sixsix")
    s = flow.session()
    a, b = s.get_batch(2)
    s.read_bytes(b)
    s.transfer(s.write(a, b"xyz"), "both")
    s.remove(b)
    prepared = s.prepare_commit()
    stats = prepared.stats
    assert (stats.flowfiles_in, stats.bytes_in, stats.flowfiles_out, stats.bytes_out) == (2, 10, 2, 6)
    assert (stats.flowfiles_removed, stats.bytes_read, stats.bytes_written) == (1, 6, 3)
    assert {q.connection_id: len(ffs) for q, ffs in prepared.enqueued.items()} == {"out": 1, "other": 1}


def test_state_is_written_with_the_commit(flow: Flow) -> None:
    s = flow.session()
    assert s.get_state() == {}
    s.set_state({"n": 1})  # type: ignore[dict-item]  # values are stringified
    assert s.get_state() == {"n": "1"}
    assert flow.repos.state.get("proc").version == 0
    flow.commit(s)
    state = flow.repos.state.get("proc")
    assert (state.version, state.values) == (1, {"n": "1"})


def test_a_state_change_that_lost_a_race_is_rejected(flow: Flow) -> None:
    [seeded] = flow.seed(b"a")
    slow, fast = flow.session(), flow.session(inputs=[])
    ff = slow.get()
    assert slow.get_state() == {}
    assert fast.get_state() == {}
    fast.set_state({"owner": "fast"})
    flow.commit(fast)
    slow.set_state({"owner": "slow"})
    slow.transfer(ff, "success")
    prepared = slow.prepare_commit()
    assert flow.repos.write([prepared.transaction], flow.clock()) == [prepared.transaction]
    prepared.abort(None)
    assert flow.repos.state.get("proc").values == {"owner": "fast"}
    assert flow.queued(flow.inq) == [seeded]
    assert (flow.inq.in_flight, flow.out.count) == (0, 0)


def test_state_can_be_set_again_after_clearing_it(flow: Flow) -> None:
    for values in ({"a": "1"}, {}, {"a": "2"}):
        s = flow.session(inputs=[])
        s.set_state(values)
        flow.commit(s)
    assert flow.repos.state.get("proc").values == {"a": "2"}


@pytest.mark.parametrize("penalize", [False, True])
def test_a_failed_commit_gives_the_input_back_as_a_rollback_does(penalize: bool) -> None:
    """One rollback: ``PreparedCommit.abort`` and ``rollback`` leave the queues alike."""
    outcomes = []
    for undo in ("rollback", "abort"):
        flow = Flow(expiration_ms=1_000)
        seeded = flow.seed(b"old")
        flow.clock.now += 2_000  # the first has expired
        seeded += flow.seed(b"a", b"b", b"c")
        s = flow.session()
        a, b, c = s.get_batch(4)  # and the expired one
        s.remove(c)
        s.transfer(s.write(b, b"B" * 10), "success")
        s.transfer(s.create(a), "failure")
        s.transfer(a)
        if undo == "rollback":
            s.rollback(penalize=penalize)
        else:
            s.prepare_commit().abort(None, penalize=penalize)
        status = flow.inq.status()
        outcomes.append(((status.count, status.in_flight, status.penalized), flow.out.count, flow.other.count,
                         [seeded.index(f) for f in flow.inq.listing(10)], flow.events()))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == (4, 0, 4 if penalize else 0)


def test_abort_returns_flowfiles_in_their_original_order(flow: Flow) -> None:
    seeded = flow.seed(b"a", b"b")
    s = flow.session()
    a, b = s.get_batch(2)
    s.remove(a)
    s.transfer(b, "success")
    s.prepare_commit().abort(None)
    assert flow.inq.poll(10, flow.clock())[0] == seeded


def test_a_private_queue_gets_moves_but_no_flowfile_records(flow: Flow) -> None:
    """A stateless invocation's in-memory connection: the commit moves flowfiles on it, but
    neither the placement there nor the taking from there becomes a record to write."""
    flow.seed(b"a", b"b")
    s = flow.session(private=[flow.out])
    for ff in s.get_batch(2):
        s.transfer(ff, "both")
    prepared = s.prepare_commit()
    assert [r.queue_id for r in prepared.transaction.placed] == [flow.other.queue_id] * 2
    assert [r.queue_id for r in prepared.transaction.removed] == [flow.inq.queue_id] * 2
    assert [len(v) for v in prepared.moves.enqueue.values()] == [2, 2]

    taken = flow.session(inputs=[flow.out], private=[flow.out])
    prepared.apply(flow.clock())
    for ff in taken.get_batch(2):
        taken.transfer(ff, "failure")
    after = taken.prepare_commit()
    assert after.transaction.removed == [], "taking from a private queue writes no removal"
    assert [r.queue_id for r in after.transaction.placed] == [flow.other.queue_id] * 2
    assert list(after.moves.acks) == [flow.out]


def test_a_session_is_freed_without_the_cycle_collector(flow: Flow) -> None:
    """No reference cycle: a finished session (and what it holds) goes as soon as it is dropped."""
    flow.seed(b"a")
    was = gc.isenabled()
    gc.disable()
    try:
        s = flow.session()
        ff = s.get()
        assert ff is not None
        s.provenance.route(ff, "success")
        s.transfer(s.put_attribute(ff, "k", "v"), "success")
        flow.commit(s)
        ref = weakref.ref(s)
        del s
        assert ref() is None
    finally:
        if was:
            gc.enable()
