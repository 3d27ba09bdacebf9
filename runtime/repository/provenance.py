"""Provenance repository: the event log, its search indexes, and retention.

An event is encoded as a msgpack list (``EVENT_FIELDS`` gives the order);
attributes are stored as their msgpack bytes, which the session already has
from encoding the flowfile record. Previous attributes (the flowfile as it
entered the component) are stored by reference to them when the component did
not change them: ``[old values, added keys]`` told against the attributes, the
empty ``[{}, []]`` (3 bytes) instead of a second full copy (group format 2;
otherwise, and in format 1 groups written before, full msgpack bytes; both are
read, see ``_codec.previous_attributes``). The events of one commit batch form a
*group*: they get consecutive ids and are stored as one value under the id of
the first, so appending costs one put per batch and reading an event is one
seek.

Everything lives in the ``provenance`` column family; the first key byte says
what a record is::

    0x00 | first id (u64, < 2**56)     group      msgpack [2, [event row, ...]] (format 1 is read too)
    0x01 | bucket | ~group id (u64)    by uuid    fingerprints (CRC-32, 4 bytes each, ascending) of
                                                  the uuids in that bucket that the group's events
                                                  name (flowfile, parents, children)
    0x02 | bucket | ~group id (u64)    by comp.   msgpack list of the component ids in that bucket
    0x03 | event type | ~group id      by type    empty
    0x04 | group id (u64)              directory  oldest and newest timestamp, event count, bytes
                                                  used (group and every record above), buckets used
    0x05 "stats"                       stats      msgpack [1, bytes used by all groups]

The indexes are coarse on purpose: one record per group and bucket rather than
one per event, and uuids only as 4-byte fingerprints (the bucket is the top four
bits), which keeps indexing to about 0.3 µs per event on the commit path. A
lookup reads the bucket's records (newest group first, thanks to the
complemented id), opens only the groups that name the value (or, rarely, a
fingerprint twin of it) and filters their events exactly. Index records are
written in the same batch as their group and deleted with it, so they are never
ahead of or behind the log; the log stays the source of truth and
``rebuild_indexes`` derives everything else from it (done at open for a store
written before the indexes existed).

Retention (``expire_due``) walks the directory from the oldest group and
deletes whole groups while a limit is exceeded: event count, age of the
group's newest event, or bytes used. Bytes are the encoded size of the records
above, before RocksDB's compression.
"""

from __future__ import annotations

import struct
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from zlib import crc32

import msgpack

from flowyard.runtime.repository._codec import from_u64, previous_attributes, u64
from flowyard.runtime.repository._store import Batch, Store
from flowyard.runtime.repository._transaction import ProvenanceRecord
from flowyard.runtime.sdk._errors import RepositoryError
from flowyard.runtime.sdk._flowfile import ContentClaim
from flowyard.runtime.sdk._provenance import ProvenanceEvent, ProvenanceEventType

__all__ = ["EVENT_FIELDS", "ProvenanceRepository", "StoredEvent", "decode_event"]

GROUP_FORMAT = 2  # 2: previous attributes may be [old values, added keys]; 1 is still read
DIRECTORY_FORMAT = 1
STATS_FORMAT = 1

#: Order of the fields of a stored event (old rows lack ``source_connection``).
EVENT_FIELDS = ProvenanceRecord._fields

_unpackb = msgpack.unpackb
_MAX_U64 = (1 << 64) - 1
_MAX_ID = 1 << 56
_GROUPS_END = b"\x01"
_BY_UUID = 0x01
_BY_COMPONENT = 0x02
_BY_TYPE = 0x03
_DIRECTORY = b"\x04"
_STATS_KEY = b"\x05stats"
_INDEX_BEGIN = b"\x01"
_INDEX_END = b"\x06"
UUID_BUCKETS = 16
COMPONENT_BUCKETS = 16
_UUID_KEYS = [bytes((_BY_UUID, b)) for b in range(UUID_BUCKETS)]
_UUID_SHIFT = 32 - 4
_SWAP = sys.byteorder == "big"  # fingerprints are stored little-endian
assert array("I").itemsize == 4
_COMPONENT_KEYS = [bytes((_BY_COMPONENT, b)) for b in range(COMPONENT_BUCKETS)]
_TYPE_KEYS = [bytes((_BY_TYPE, t)) for t in range(32)]
# format, oldest ts, newest ts, events, bytes used, uuid buckets, component buckets, types
_DIR_RECORD = struct.Struct(">BqqIQQII")
_DIR_RECORD_BYTES = len(_DIRECTORY) + 8 + _DIR_RECORD.size
#: Deleting more index and group records than this at once uses range deletions.
_POINT_DELETE_LIMIT = 4096


def uuid_fingerprint(value: str) -> int:
    """The uuid-index fingerprint of a flowfile uuid (stable across processes);
    its top four bits are its bucket."""
    return crc32(value.encode())


def _fingerprints(value: bytes) -> array[int]:
    fps = array("I")
    fps.frombytes(value)
    if _SWAP:
        fps.byteswap()
    return fps


def component_bucket(value: str) -> int:
    """The component-index bucket of a component id."""
    return crc32(value.encode()) & (COMPONENT_BUCKETS - 1)


def _claim(value: Any) -> ContentClaim | None:
    return ContentClaim(*value) if value else None


def decode_event(row: Sequence[Any], event_id: int = -1) -> ProvenanceEvent:
    """Turn a stored (or session-built) event row into a ``ProvenanceEvent``."""
    attrs = _unpackb(row[5], raw=False) if row[5] is not None else {}
    prev = previous_attributes(row[6], attrs) if row[6] is not None else {}
    return ProvenanceEvent(
        event_type=ProvenanceEventType(row[0]),
        timestamp=row[1],
        flowfile_uuid=row[2],
        component_id=row[3],
        component_type=row[4],
        attributes=attrs,
        previous_attributes=prev,
        parent_uuids=tuple(row[7] or ()),
        child_uuids=tuple(row[8] or ()),
        relationship=row[9],
        details=row[10],
        transit_uri=row[11],
        size=row[12],
        claim=_claim(row[13]),
        previous_size=row[14],
        previous_claim=_claim(row[15]),
        entry_date=row[16],
        lineage_start_date=row[17],
        event_id=event_id,
    )


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event with what only the repository knows about it.

    ``has_input`` is true when the event's flowfile was taken from a queue, so
    the event recorded its attributes and content as they entered the
    component (``previous_attributes``, ``previous_claim``, ``previous_size``);
    ``source_connection`` names that queue's connection when it was recorded.
    """

    event: ProvenanceEvent
    has_input: bool
    source_connection: str | None


@dataclass(frozen=True, slots=True)
class _Directory:
    group: int
    oldest: int
    newest: int
    count: int
    footprint: int
    uuid_mask: int
    component_mask: int
    type_mask: int


def _directory(key: bytes, value: bytes) -> _Directory:
    fmt, oldest, newest, count, footprint, umask, cmask, tmask = _DIR_RECORD.unpack(value)
    if fmt != DIRECTORY_FORMAT:
        raise RepositoryError(f"unknown provenance directory record format {fmt}")
    return _Directory(from_u64(key[1:]), oldest, newest, count, footprint, umask, cmask, tmask)


def _bits(mask: int) -> Iterator[int]:
    bit = 0
    while mask:
        if mask & 1:
            yield bit
        mask >>= 1
        bit += 1


def _index_records(
    first: int, rows: Sequence[Sequence[Any]], group_bytes: int, pack: Any
) -> tuple[list[tuple[bytes, bytes]], int]:
    """Index and directory records of the group of ``rows`` starting at ``first``
    (``group_bytes``: size of its key and value). Returns them and the bytes the
    whole group uses."""
    inv = u64(_MAX_U64 - first)
    out: list[tuple[bytes, bytes]] = []
    footprint = group_bytes + _DIR_RECORD_BYTES
    uuids = {row[2] for row in rows}
    for row in [r for r in rows if r[7] or r[8]]:
        uuids.update(row[7] or ())
        uuids.update(row[8] or ())
    fps = sorted([crc32(u.encode()) for u in uuids])
    umask = 0
    lo, n = 0, len(fps)
    while lo < n:  # sorted, so each bucket (the top bits) is one run
        b = fps[lo] >> _UUID_SHIFT
        hi = bisect_left(fps, (b + 1) << _UUID_SHIFT, lo)
        part = array("I", fps[lo:hi])
        if _SWAP:
            part.byteswap()
        key, packed = _UUID_KEYS[b] + inv, part.tobytes()
        out.append((key, packed))
        footprint += len(key) + len(packed)
        umask |= 1 << b
        lo = hi
    buckets: dict[int, list[str]] = {}
    for value in {row[3] for row in rows}:
        buckets.setdefault(crc32(value.encode()) & (COMPONENT_BUCKETS - 1), []).append(value)
    cmask = 0
    for b, members in buckets.items():
        key, packed = _COMPONENT_KEYS[b] + inv, pack(members)
        out.append((key, packed))
        footprint += len(key) + len(packed)
        cmask |= 1 << b
    tmask = 0
    for event_type in {row[0] for row in rows}:
        key = _TYPE_KEYS[event_type] + inv
        out.append((key, b""))
        footprint += len(key)
        tmask |= 1 << event_type
    stamps = [row[1] for row in rows]
    out.append((_DIRECTORY + u64(first), _DIR_RECORD.pack(
        DIRECTORY_FORMAT, min(stamps), max(stamps), len(rows), footprint, umask, cmask, tmask)))
    return out, footprint


def _mentions(row: Sequence[Any], uuids: set[str] | frozenset[str]) -> bool:
    return row[2] in uuids or any(u in uuids for u in row[7] or ()) or any(u in uuids for u in row[8] or ())


class ProvenanceRepository:
    """Append-only provenance event log with ids, indexes and retention."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.cf = store.handle("provenance")
        self._pack = msgpack.Packer(use_bin_type=True).pack
        #: Bytes used by the retained groups with their index records (see module docstring).
        self.stored_bytes = 0
        #: Groups staged but not yet seen in the store: (key, bytes) to take back if their batch failed.
        self._unconfirmed: list[tuple[bytes, int]] = []
        self.next_id = 1
        last = store.last_before(self.cf, _GROUPS_END)
        if last is not None:
            directory = store.get(self.cf, _DIRECTORY + last[0])
            if directory is not None:
                count = _directory(_DIRECTORY + last[0], directory).count
            else:
                count = len(_unpackb(last[1], raw=False)[1])
            self.next_id = from_u64(last[0]) + count
        stats = store.get(self.cf, _STATS_KEY)
        if stats is not None:
            self.stored_bytes = _unpackb(stats, raw=False)[1]
        elif last is not None:  # written before the indexes existed
            self.rebuild_indexes()

    # -- writing ------------------------------------------------------------------------

    def stage(self, batch: Batch, rows: Sequence[ProvenanceRecord]) -> int:
        """Put ``rows`` into ``batch`` as one group, with its index records;
        returns the first event id.

        Ids are taken at once; if the batch is never written they are skipped,
        which leaves a gap but never a duplicate (and the group's bytes are taken
        back from ``stored_bytes`` at the next write).
        """
        first = self.next_id
        if not rows:
            return first
        if first >= _MAX_ID:
            raise RepositoryError("provenance event ids are exhausted")
        self._settle()
        key = u64(first)
        value = self._pack([GROUP_FORMAT, rows])
        put, cf = batch.put, self.cf
        put(cf, key, value)
        records, footprint = _index_records(first, rows, len(key) + len(value), self._pack)
        for record_key, record_value in records:
            put(cf, record_key, record_value)
        self.stored_bytes += footprint
        put(cf, _STATS_KEY, self._pack([STATS_FORMAT, self.stored_bytes]))
        self._unconfirmed.append((key, footprint))
        self.next_id = first + len(rows)
        return first

    def confirm(self) -> None:
        """The batch holding the staged groups was written: nothing to take back."""
        self._unconfirmed.clear()

    def _settle(self) -> None:
        """Take back the bytes of staged groups whose batch was never written.
        Called by the single writer before it changes ``stored_bytes`` again."""
        if self._unconfirmed:
            staged, self._unconfirmed = self._unconfirmed, []
            for key, footprint in staged:
                if self._store.get(self.cf, key) is None:
                    self.stored_bytes -= footprint

    # -- reading by id ------------------------------------------------------------------

    def events(self, from_id: int = 1, limit: int | None = None) -> Iterator[ProvenanceEvent]:
        """Events with ids from ``from_id`` on, in id order."""
        if from_id >= _MAX_ID:
            return
        start_key = u64(max(from_id, 0))
        group = self._store.last_before(self.cf, u64(max(from_id, 0) + 1))
        begin = group[0] if group is not None else start_key
        n = 0
        for key, value in self._store.scan(self.cf, begin, _GROUPS_END):
            first = from_u64(key)
            _, rows = _unpackb(value, raw=False)
            for i, row in enumerate(rows):
                event_id = first + i
                if event_id < from_id:
                    continue
                if limit is not None and n >= limit:
                    return
                n += 1
                yield decode_event(row, event_id)

    def first_id(self) -> int | None:
        """Id of the oldest event still stored, or None if there is none."""
        first = next(iter(self._store.scan(self.cf, b"", _GROUPS_END, limit=1)), None)
        return from_u64(first[0]) if first is not None else None

    def _row(self, event_id: int) -> list[Any] | None:
        if not 1 <= event_id < _MAX_ID:
            return None
        group = self._store.last_before(self.cf, u64(event_id + 1))
        if group is None:
            return None
        rows: list[list[Any]] = _unpackb(group[1], raw=False)[1]
        index = event_id - from_u64(group[0])
        return rows[index] if index < len(rows) else None

    def event(self, event_id: int) -> ProvenanceEvent | None:
        """The event with ``event_id``, or None if unknown or aged off."""
        row = self._row(event_id)
        return decode_event(row, event_id) if row is not None else None

    def stored(self, event_id: int) -> StoredEvent | None:
        """The event with ``event_id`` and where its flowfile came from, or None."""
        row = self._row(event_id)
        if row is None:
            return None
        return StoredEvent(decode_event(row, event_id), row[6] is not None, row[18] if len(row) > 18 else None)

    # -- search -------------------------------------------------------------------------

    def _group_rows(self, group: int) -> list[list[Any]] | None:
        value = self._store.get(self.cf, u64(group))
        return _unpackb(value, raw=False)[1] if value is not None else None

    def _indexed_groups(self, prefix: bytes, wanted: str | None) -> Iterator[int]:
        """Group ids, newest first, of one component or type index bucket whose
        record names ``wanted`` (every group of the bucket when None)."""
        for key, value in self._store.scan(self.cf, prefix, prefix + b"\xff" * 9):
            if wanted is None or wanted in _unpackb(value, raw=False):
                yield _MAX_U64 - from_u64(key[2:])

    def _groups_naming(self, fingerprints: Iterable[int]) -> Iterator[int]:
        """Group ids whose uuid index records hold one of ``fingerprints``: newest
        first within each bucket, each bucket read once."""
        by_bucket: dict[int, set[int]] = {}
        for fp in fingerprints:
            by_bucket.setdefault(fp >> _UUID_SHIFT, set()).add(fp)
        for b, wanted in by_bucket.items():
            prefix = _UUID_KEYS[b]
            only = next(iter(wanted)) if len(wanted) == 1 else None
            for key, value in self._store.scan(self.cf, prefix, prefix + b"\xff" * 9):
                held = _fingerprints(value)
                if (only in held) if only is not None else not wanted.isdisjoint(held):
                    yield _MAX_U64 - from_u64(key[2:])

    def _directory_newest_first(self) -> Iterator[_Directory]:
        upper = _DIRECTORY + u64(_MAX_U64)
        while True:
            item = self._store.last_before(self.cf, upper)
            if item is None or not item[0].startswith(_DIRECTORY):
                return
            upper = item[0]
            yield _directory(*item)

    def search(
        self,
        *,
        flowfile_uuid: str | None = None,
        component_id: str | None = None,
        event_type: ProvenanceEventType | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> Iterator[ProvenanceEvent]:
        """Events matching every given criterion, newest first (lazily).

        ``flowfile_uuid`` matches the event's flowfile and its parents and
        children. The most selective index is used (uuid, then component, then
        type); without any of them the directory skips groups outside the time
        range.
        """
        if flowfile_uuid is not None:
            groups: Iterable[int] = self._groups_naming([uuid_fingerprint(flowfile_uuid)])
        elif component_id is not None:
            groups = self._indexed_groups(_COMPONENT_KEYS[component_bucket(component_id)], component_id)
        elif event_type is not None:
            groups = self._indexed_groups(_TYPE_KEYS[int(event_type)], None)
        else:
            groups = (d.group for d in self._directory_newest_first()
                      if (start_ms is None or d.newest >= start_ms) and (end_ms is None or d.oldest <= end_ms))
        wanted_uuid = {flowfile_uuid} if flowfile_uuid is not None else None
        wanted_type = int(event_type) if event_type is not None else None
        for group in groups:
            rows = self._group_rows(group)
            if rows is None:  # expired meanwhile
                continue
            for i in range(len(rows) - 1, -1, -1):
                row = rows[i]
                if ((wanted_uuid is not None and not _mentions(row, wanted_uuid))
                        or (component_id is not None and row[3] != component_id)
                        or (wanted_type is not None and row[0] != wanted_type)
                        or (start_ms is not None and row[1] < start_ms)
                        or (end_ms is not None and row[1] > end_ms)):
                    continue
                yield decode_event(row, group + i)

    def events_mentioning(self, uuids: Iterable[str]) -> list[ProvenanceEvent]:
        """Every retained event whose flowfile, parents or children include one of
        ``uuids``, newest first. Reads each needed index bucket once, so a lineage
        walk costs one call per generation, however wide."""
        wanted = frozenset(uuids)
        groups = set(self._groups_naming({uuid_fingerprint(u) for u in wanted}))
        found: list[ProvenanceEvent] = []
        for group in sorted(groups, reverse=True):
            rows = self._group_rows(group)
            for i in range(len(rows or ()) - 1, -1, -1):
                assert rows is not None
                if _mentions(rows[i], wanted):
                    found.append(decode_event(rows[i], group + i))
        return found

    # -- retention ------------------------------------------------------------------------

    def expire_due(
        self,
        now_ms: int,
        *,
        max_events: int | None = None,
        max_age_ms: int | None = None,
        max_bytes: int | None = None,
        limit: int = 10_000,
    ) -> int:
        """Delete the oldest groups while a limit is exceeded: more than
        ``max_events`` events retained, the group's newest event at least
        ``max_age_ms`` old at ``now_ms``, or more than ``max_bytes`` used. None
        disables a limit. Whole groups go, with their index records, at most
        ``limit`` groups per call; returns how many events were deleted (0 when
        nothing more is due). Call from the single writer.
        """
        self._settle()
        cutoff = self.next_id - max_events if max_events is not None else None
        remaining = self.stored_bytes
        victims: list[_Directory] = []
        for key, value in self._store.scan(self.cf, _DIRECTORY, _DIRECTORY + b"\xff" * 9, limit=limit):
            d = _directory(key, value)
            if not ((cutoff is not None and d.group + d.count <= cutoff)
                    or (max_age_ms is not None and now_ms - d.newest >= max_age_ms)
                    or (max_bytes is not None and remaining > max_bytes)):
                break
            victims.append(d)
            remaining -= d.footprint
        if not victims:
            return 0
        batch = self._store.batch()
        cf = self.cf
        n_keys = sum(2 + d.uuid_mask.bit_count() + d.component_mask.bit_count() + d.type_mask.bit_count()
                     for d in victims)
        if n_keys <= _POINT_DELETE_LIMIT:
            for d in victims:
                inv = u64(_MAX_U64 - d.group)
                batch.delete(cf, u64(d.group))
                batch.delete(cf, _DIRECTORY + u64(d.group))
                for b in _bits(d.uuid_mask):
                    batch.delete(cf, _UUID_KEYS[b] + inv)
                for b in _bits(d.component_mask):
                    batch.delete(cf, _COMPONENT_KEYS[b] + inv)
                for t in _bits(d.type_mask):
                    batch.delete(cf, _TYPE_KEYS[t] + inv)
        else:
            # Everything older than the newest victim goes: its complemented id
            # starts each bucket's range of older records.
            last = victims[-1].group
            end = u64(last + 1)
            batch.delete_range(cf, u64(victims[0].group), end)
            batch.delete_range(cf, _DIRECTORY + u64(victims[0].group), _DIRECTORY + end)
            inv = u64(_MAX_U64 - last)
            umask = cmask = tmask = 0
            for d in victims:
                umask |= d.uuid_mask
                cmask |= d.component_mask
                tmask |= d.type_mask
            for prefixes, mask in ((_UUID_KEYS, umask), (_COMPONENT_KEYS, cmask), (_TYPE_KEYS, tmask)):
                for b in _bits(mask):
                    batch.delete_range(cf, prefixes[b] + inv, prefixes[b] + b"\xff" * 9)
        batch.put(cf, _STATS_KEY, self._pack([STATS_FORMAT, remaining]))
        self._store.write(batch)
        self.stored_bytes = remaining
        return sum(d.count for d in victims)

    def expire(self, max_events: int) -> int:
        """Delete the oldest events so that at most about ``max_events`` remain
        (whole commit groups go; the group holding the cut-off stays). Returns
        the id of the oldest event kept, or 0 if nothing was deleted."""
        deleted = 0
        while True:
            n = self.expire_due(0, max_events=max_events)
            if not n:
                break
            deleted += n
        if not deleted:
            return 0
        first = self.first_id()
        return first if first is not None else self.next_id

    # -- maintenance ------------------------------------------------------------------------

    def rebuild_indexes(self, *, batch_groups: int = 1_000) -> int:
        """Derive every index, directory and stats record from the groups again
        (deleting the old ones first). Returns how many groups were indexed.
        Call before the engine runs (it writes outside the committer)."""
        self._store.delete_range(self.cf, _INDEX_BEGIN, _INDEX_END)
        total = groups = 0
        batch = self._store.batch()
        pending = 0
        for key, value in self._store.scan(self.cf, b"", _GROUPS_END):
            rows = _unpackb(value, raw=False)[1]
            records, footprint = _index_records(from_u64(key), rows, len(key) + len(value), self._pack)
            for record_key, record_value in records:
                batch.put(self.cf, record_key, record_value)
            total += footprint
            groups += 1
            pending += 1
            if pending >= batch_groups:
                self._store.write(batch)
                batch, pending = self._store.batch(), 0
        batch.put(self.cf, _STATS_KEY, self._pack([STATS_FORMAT, total]))
        self._store.write(batch)
        self.stored_bytes = total
        self._unconfirmed = []
        return groups

    def verify_indexes(self) -> list[str]:
        """Differences between the stored index, directory and stats records and
        what the groups imply (empty when consistent). Reads everything."""
        expected: dict[bytes, bytes] = {}
        total = 0
        for key, value in self._store.scan(self.cf, b"", _GROUPS_END):
            rows = _unpackb(value, raw=False)[1]
            records, footprint = _index_records(from_u64(key), rows, len(key) + len(value), self._pack)
            expected.update(records)
            total += footprint
        actual = dict(self._store.scan(self.cf, _INDEX_BEGIN, _STATS_KEY))
        problems = [f"missing index record {k.hex()}" for k in expected.keys() - actual.keys()]
        problems += [f"index record {k.hex()} has no group" for k in actual.keys() - expected.keys()]
        problems += [f"index record {k.hex()} differs" for k in expected.keys() & actual.keys()
                     if _normal(k, expected[k]) != _normal(k, actual[k])]
        stats = self._store.get(self.cf, _STATS_KEY)
        stored = _unpackb(stats, raw=False)[1] if stats is not None else 0
        if stored != total or self.stored_bytes != total:
            problems.append(f"stored bytes: record {stored}, in memory {self.stored_bytes}, groups imply {total}")
        return problems


def _normal(key: bytes, value: bytes) -> Any:
    """A record's value with the order of index members ignored (they come from sets)."""
    if key[0] == _BY_COMPONENT:
        return sorted(_unpackb(value, raw=False))
    return value
