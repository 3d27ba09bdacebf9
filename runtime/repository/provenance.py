"""Provenance repository: events, stored in groups, one group per commit batch.

An event is encoded as a msgpack list (``EVENT_FIELDS`` gives the order);
attributes are stored as their msgpack bytes, which the session already has
from encoding the flowfile record. A group of events gets consecutive ids and
is stored under the id of its first event, so appending costs one put per
commit, and reading an event is one ``last_before`` seek.

Search indexes are built from this log by the provenance indexer (a later
layer); the log is the source of truth and can always rebuild them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import msgpack

from flowyard.runtime.repository._codec import from_u64, u64
from flowyard.runtime.repository._store import Batch, Store
from flowyard.runtime.sdk._flowfile import ContentClaim
from flowyard.runtime.sdk._provenance import ProvenanceEvent, ProvenanceEventType

__all__ = ["EVENT_FIELDS", "ProvenanceRepository", "decode_event"]

GROUP_FORMAT = 1

#: Order of the fields of a stored event.
EVENT_FIELDS = (
    "event_type",
    "timestamp",
    "flowfile_uuid",
    "component_id",
    "component_type",
    "attributes",  # msgpack bytes
    "previous_attributes",  # msgpack bytes or None
    "parent_uuids",
    "child_uuids",
    "relationship",
    "details",
    "transit_uri",
    "size",
    "claim",  # [resource, offset, length] or None
    "previous_size",
    "previous_claim",
    "entry_date",
    "lineage_start_date",
)

_unpackb = msgpack.unpackb


def _claim(value: Any) -> ContentClaim | None:
    return ContentClaim(*value) if value else None


def decode_event(row: Sequence[Any], event_id: int = -1) -> ProvenanceEvent:
    """Turn a stored (or session-built) event row into a ``ProvenanceEvent``."""
    attrs = _unpackb(row[5], raw=False) if row[5] is not None else {}
    prev = _unpackb(row[6], raw=False) if row[6] is not None else {}
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


class ProvenanceRepository:
    """Append-only provenance event log with ids."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.cf = store.handle("provenance")
        last = store.last_before(self.cf, b"\xff" * 9)
        if last is None:
            self.next_id = 1
        else:
            _fmt, events = _unpackb(last[1], raw=False)
            self.next_id = from_u64(last[0]) + len(events)
        self._pack = msgpack.Packer(use_bin_type=True).pack

    def stage(self, batch: Batch, rows: list[list[Any]]) -> int:
        """Put ``rows`` into ``batch`` as one group; returns the first event id.

        Ids are taken at once; if the batch is never written they are skipped,
        which leaves a gap but never a duplicate.
        """
        first = self.next_id
        if rows:
            batch.put(self.cf, u64(first), self._pack([GROUP_FORMAT, rows]))
            self.next_id = first + len(rows)
        return first

    def events(self, from_id: int = 1, limit: int | None = None) -> Iterator[ProvenanceEvent]:
        """Events with ids from ``from_id`` on, in id order."""
        start_key = u64(from_id)
        group = self._store.last_before(self.cf, u64(from_id + 1))
        begin = group[0] if group is not None else start_key
        n = 0
        for key, value in self._store.scan(self.cf, begin):
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
        first = next(iter(self._store.scan(self.cf, b"", limit=1)), None)
        return from_u64(first[0]) if first is not None else None

    def expire(self, max_events: int) -> int:
        """Delete the oldest events so that at most about ``max_events`` remain
        (whole commit groups go; the group holding the cut-off stays). Returns
        the id of the oldest event kept, or 0 if nothing was deleted."""
        first = self.first_id()
        if first is None or self.next_id - first <= max_events:
            return 0
        cutoff = self.next_id - max_events
        keep = self._store.last_before(self.cf, u64(cutoff + 1))
        if keep is None or from_u64(keep[0]) <= first:
            return 0
        self._store.delete_range(self.cf, u64(first), keep[0])
        return from_u64(keep[0])

    def event(self, event_id: int) -> ProvenanceEvent | None:
        """The event with ``event_id``, or None if unknown or aged off."""
        for event in self.events(event_id, limit=1):
            return event if event.event_id == event_id else None
        return None
