"""The typed transaction: its builders, and the bytes ``Repositories.write`` stores
for it — the same as before transactions were typed (the expected values below
were written by the build that stored hand-built rows and encoded records)."""

from __future__ import annotations

import msgpack

from flowyard.runtime.repository import (
    FlowFileRecord,
    FlowFileRemoval,
    ProvenanceRecord,
    Repositories,
    Transaction,
)
from flowyard.runtime.repository._codec import encode_flowfile, flowfile_key, pack_attrs, previous_attributes, u64
from flowyard.runtime.repository.provenance import EVENT_FIELDS
from flowyard.runtime.sdk import ContentClaim, FlowFile
from flowyard.runtime.sdk._flowfile import make_flowfile
from flowyard.runtime.sdk._provenance import ProvenanceEventType as E

NOW = 1_700_000_000_000

FF = make_flowfile(42, {"uuid": "u-42", "filename": "a.txt"}, ContentClaim(7, 3, 5), 5, NOW - 10, NOW - 20, 0, 9)
PREV = make_flowfile(42, {"uuid": "u-42", "filename": "old.txt"}, ContentClaim(6, 0, 4), 4, NOW - 10, NOW - 20, 0, 8)
EMPTY = make_flowfile(43, {"uuid": "u-43"}, None, 0, NOW, NOW, NOW + 99, 10)

STORED_RECORDS = {
    flowfile_key(3, 9): bytes.fromhex(
        "01000000000000002a0000018bcfe567f60000018bcfe567ec0000000000000000000000000000000500000000000000"
        "07000000000000000382a475756964a4752d3432a866696c656e616d65a5612e747874"),
    flowfile_key(3, 10): bytes.fromhex(
        "01000000000000002b0000018bcfe568000000018bcfe568000000018bcfe56863000000000000000000000000000000"
        "00000000000000000081a475756964a4752d3433"),
}
#: The group as format 1 stored it (before previous attributes were told as a
#: delta): written by the previous version, so it must still read the same.
STORED_GROUP_V1 = bytes.fromhex(
    "920193dc00130dcf0000018bcfe56800a4752d3432a27031a450726f63c41a82a475756964a4752d3432a866696c656e"
    "616d65a5612e747874c41c82a475756964a4752d3432a866696c656e616d65a76f6c642e747874c0c0c0c0c005930703"
    "050493060004cf0000018bcfe567f6cf0000018bcfe567eca26331dc00130bcf0000018bcfe56800a4752d3433a27031"
    "a450726f63c40b81a475756964a4752d3433c092a3752d31a3752d32c0c0c0c000c0c0c0cf0000018bcfe56800cf0000"
    "018bcfe56800c0dc00130fcf0000018bcfe56800a4752d3432a27031a450726f63c41a82a475756964a4752d3432a866"
    "696c656e616d65a5612e747874c0c0c0a2676fa164a8687474703a2f2f780593070305c0c0cf0000018bcfe567f6cf00"
    "00018bcfe567ecc0")
#: Format 2 stores these events alike (each changed its attributes or has no
#: input); only an event with unchanged attributes differs (``UNCHANGED``).
STORED_GROUP = b"\x92\x02" + STORED_GROUP_V1[2:]


def sample() -> Transaction:
    txn = Transaction()
    txn.claim(6, 1)
    txn.place(3, FF)
    txn.place(3, EMPTY)
    txn.events.append(ProvenanceRecord.of(E.CONTENT_MODIFIED, FF, pack_attrs(FF[1]), "p1", "Proc", NOW,
                                          prev=PREV, source="c1"))
    txn.events.append(ProvenanceRecord.of(E.JOIN, EMPTY, pack_attrs(EMPTY[1]), "p1", "Proc", NOW,
                                          parents=["u-1", "u-2"]))
    txn.events.append(ProvenanceRecord.of(E.ROUTE, FF, pack_attrs(FF[1]), "p1", "Proc", NOW,
                                          relationship="go", details="d", uri="http://x"))
    return txn


def test_write_stores_the_same_bytes_as_before_transactions_were_typed() -> None:
    repos = Repositories.in_memory()
    assert repos.write([sample()], NOW) == []
    store = repos.store
    records = dict(store.scan(store.handle("flowfiles"), b"", b"\xff" * 12))
    assert records == STORED_RECORDS
    assert records[flowfile_key(3, 9)] == encode_flowfile(FF)  # the inlined encoding is the codec's
    assert store.get(store.handle("provenance"), u64(1)) == STORED_GROUP
    assert repos.content.counts == {7: 1, 6: 1}
    assert [e.event_type for e in repos.provenance.events()] == [E.CONTENT_MODIFIED, E.JOIN, E.ROUTE]


def test_a_group_written_by_format_1_reads_as_before() -> None:
    """A repository written before format 2 holds full previous attributes:
    its events read exactly as the same events written today."""
    today = Repositories.in_memory()
    assert today.write([sample()], NOW) == []
    old = Repositories.in_memory()
    old.store.put(old.store.handle("provenance"), u64(1), STORED_GROUP_V1)
    reopened = Repositories(old.store)  # open: ids continue after the old group, indexes are rebuilt
    assert reopened.provenance.next_id == 4
    assert list(reopened.provenance.events()) == list(today.provenance.events())
    [modified] = reopened.provenance.search(flowfile_uuid="u-42", event_type=E.CONTENT_MODIFIED)
    assert modified.previous_attributes == {"uuid": "u-42", "filename": "old.txt"}
    assert reopened.provenance.stored(1) == today.provenance.stored(1)


def test_a_provenance_record_names_the_fields_of_the_stored_row() -> None:
    record = ProvenanceRecord.of(E.CONTENT_MODIFIED, FF, pack_attrs(FF[1]), "p1", "Proc", NOW, prev=PREV,
                                 source="c1")
    assert type(record) is ProvenanceRecord and record._fields == EVENT_FIELDS and len(EVENT_FIELDS) == 19
    assert (record.flowfile_uuid, record.claim, record.previous_claim, record.previous_size) == (
        "u-42", (7, 3, 5), (6, 0, 4), 4)
    assert msgpack.unpackb(record.previous_attributes) == {"uuid": "u-42", "filename": "old.txt"}
    same = ProvenanceRecord.of(E.ROUTE, FF, b"x", "p1", "Proc", NOW, prev=FF)
    assert same.previous_attributes == [{}, []]  # unchanged attributes are stored once
    assert previous_attributes(same.previous_attributes, FF[1]) == FF[1]


def test_dropping_removes_releases_and_records_each_flowfile() -> None:
    txn = Transaction()
    txn.drop(5, [FF, EMPTY], "c9", "Connection", NOW, details="emptied")
    assert txn.removed == [FlowFileRemoval(5, 9), FlowFileRemoval(5, 10)]
    assert txn.claim_deltas == {7: -1}
    assert [(e.event_type, e.flowfile_uuid, e.details, e.previous_attributes) for e in txn.events] == [
        (E.DROP, "u-42", "emptied", None), (E.DROP, "u-43", "emptied", None)]
    expired = Transaction()
    expired.drop(5, [FF], "p", "P", NOW, details="old", event_type=E.EXPIRE, with_input=True, source="c5")
    [event] = expired.events
    assert (event.event_type, event.previous_claim, event.source_connection) == (E.EXPIRE, (7, 3, 5), "c5")
    assert event.previous_attributes == [{}, []]  # the same as its attributes (stored once)


def test_builders_and_emptiness() -> None:
    txn = Transaction()
    assert txn.is_empty()
    txn.claim(1, 2)
    txn.claim(1, -2)
    assert txn.claim_deltas == {1: 0} and not txn.is_empty()
    placed = Transaction()
    placed.place(2, EMPTY, b"packed")
    assert placed.placed == [FlowFileRecord(2, 10, EMPTY, b"packed")] and placed.claim_deltas == {}
    removed = Transaction()
    removed.remove(2, FF)
    assert removed.removed == [FlowFileRemoval(2, 9)] and removed.claim_deltas == {7: -1}
    assert isinstance(placed.placed[0].flowfile, FlowFile)


def test_removed_and_placed_records_move_a_flowfile_between_queues() -> None:
    repos = Repositories.in_memory()
    assert repos.write([sample()], NOW) == []
    move = Transaction()
    move.remove(3, FF)
    moved = FlowFile((*FF[:7], 11))
    move.place(4, moved)
    assert repos.write([move], NOW) == []
    store = repos.store
    keys = [k for k, _ in store.scan(store.handle("flowfiles"), b"", b"\xff" * 12)]
    assert keys == [flowfile_key(3, 10), flowfile_key(4, 11)]
    assert repos.flowfiles.counts == {b"\0\0\0\3": 1, b"\0\0\0\4": 1}
    assert repos.content.counts == {7: 1, 6: 1}
