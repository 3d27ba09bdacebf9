"""FlowFile repository: the committed state of every live flowfile and its queue.

A queued flowfile is one record under ``queue id | entry sequence``. Moving a
flowfile from one queue to another deletes its old key and puts a new one in
the same commit batch. Queue ids are small integers persisted per connection
id, so records map back to their connections after a restart.

Every commit batch also writes how many records each queue it touched now
holds (``count/<queue id>`` in the state table). At start the records are
counted and compared with it: a table that lost records (damage RocksDB could
not see) stops the start instead of losing flowfiles silently.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from flowyard.runtime.repository._codec import (
    decode_flowfile,
    flowfile_key,
    queue_range,
    record_size,
    split_flowfile_key,
)
from flowyard.runtime.repository._store import Store
from flowyard.runtime.repository.content import IdAllocator
from flowyard.runtime.sdk._flowfile import FlowFile

__all__ = ["FlowFileRepository", "QueueLoad"]

_QUEUE_PREFIX = b"queue/"
_COUNT_PREFIX = b"count/"
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


@dataclass(slots=True)
class QueueLoad:
    """What recovery found for one queue.

    ``head`` holds the first flowfiles in enqueue order (at most the requested
    limit); the rest stay on disk as the swapped region ``(swap_from_seq, last_seq]``
    with ``swapped_count`` entries of ``swapped_size`` bytes.
    """

    queue_id: int
    head: list[FlowFile] = field(default_factory=list)
    swapped_count: int = 0
    swapped_size: int = 0
    swap_from_seq: int = 0
    last_seq: int = 0


class FlowFileRepository:
    """Records of live flowfiles, addressed by queue and entry sequence."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.cf = store.handle("flowfiles")
        self._state = store.handle("state")
        self.ids = IdAllocator(store, b"meta/next-flowfile-id")
        self.seqs = IdAllocator(store, b"meta/next-entry-seq", block=1 << 18)
        self._queue_ids: dict[str, int] = {}
        for key, value in store.scan(self._state, _QUEUE_PREFIX, _QUEUE_PREFIX[:-1] + b"0"):
            self._queue_ids[key[len(_QUEUE_PREFIX) :].decode()] = _U32.unpack(value)[0]
        #: Records per queue as of the last commit, by the queue id's 4 key bytes
        #: (None: not yet known, see ``load_counts``).
        self.counts: dict[bytes, int] | None = None

    def queue_id(self, connection_id: str) -> int:
        """The persistent numeric id of a connection's queue (allocated on first use)."""
        qid = self._queue_ids.get(connection_id)
        if qid is None:
            qid = max(self._queue_ids.values(), default=0) + 1
            self._store.put(self._state, _QUEUE_PREFIX + connection_id.encode(), _U32.pack(qid))
            self._queue_ids[connection_id] = qid
        return qid

    @property
    def queue_ids(self) -> dict[str, int]:
        """Connection id -> queue id, for every queue ever allocated."""
        return dict(self._queue_ids)

    def queues_with_records(self) -> Iterator[int]:
        """Queue ids that have at least one record, by a seek per queue."""
        begin = b""
        while True:
            first = next(iter(self._store.scan(self.cf, begin, limit=1)), None)
            if first is None:
                return
            qid, _ = split_flowfile_key(first[0])
            yield qid
            begin = queue_range(qid)[1]

    def load_queue(self, queue_id: int, head_limit: int) -> QueueLoad:
        """Read a queue back at start-up: up to ``head_limit`` flowfiles into memory,
        the rest only counted and sized."""
        load = QueueLoad(queue_id)
        begin, end = queue_range(queue_id)
        head = load.head
        for key, value in self._store.scan(self.cf, begin, end):
            _, seq = split_flowfile_key(key)
            if len(head) < head_limit:
                head.append(decode_flowfile(value, seq))
                load.swap_from_seq = seq
            else:
                load.swapped_count += 1
                load.swapped_size += record_size(value)
            load.last_seq = seq
        return load

    def read_range(self, queue_id: int, after_seq: int, upto_seq: int, limit: int) -> list[FlowFile]:
        """Flowfiles of a queue with ``after_seq < seq <= upto_seq``, at most ``limit``."""
        begin = flowfile_key(queue_id, after_seq + 1)
        end = flowfile_key(queue_id, upto_seq + 1)
        return [
            decode_flowfile(value, split_flowfile_key(key)[1])
            for key, value in self._store.scan(self.cf, begin, end, limit=limit)
        ]

    def stored_counts(self) -> dict[bytes, int]:
        """The record counts written with the last commits, by queue key prefix."""
        return {key[len(_COUNT_PREFIX):]: _U64.unpack(value)[0]
                for key, value in self._store.scan(self._state, _COUNT_PREFIX, _COUNT_PREFIX[:-1] + b"0")}

    def check_counts(self) -> list[str]:
        """Compare every queue's records with the count written with them; the
        differences, in words naming the connection (empty: all agree). For a
        store from before counts were kept, nothing is compared."""
        stored = self.stored_counts()
        if not stored:
            return []
        names = {_U32.pack(qid): name for name, qid in self._queue_ids.items()}
        found: dict[bytes, int] = {}
        for qid in self.queues_with_records():
            found[_U32.pack(qid)] = self.count_queue(qid)[0]
        problems = []
        for prefix in sorted(stored.keys() | found.keys()):
            expected, actual = stored.get(prefix, 0), found.get(prefix, 0)
            if expected != actual:
                name = names.get(prefix, f"queue {_U32.unpack(prefix)[0]}")
                problems.append(f"connection {name!r} should hold {expected:,} flowfile(s) but {actual:,} "
                                f"{'is' if actual == 1 else 'are'} stored")
        return problems

    def load_counts(self) -> dict[str, int]:
        """Bring the per-queue counts into memory (at start, after ``check_counts``
        passed); for a store from before counts were kept, count the records
        and write the counts. Returns the count per connection id."""
        counts = self.stored_counts()
        if not counts:
            for qid in self.queues_with_records():
                counts[_U32.pack(qid)] = self.count_queue(qid)[0]
            if counts:
                batch = self._store.batch()
                for prefix, n in counts.items():
                    batch.put(self._state, _COUNT_PREFIX + prefix, _U64.pack(n))
                self._store.write(batch)
        self.counts = counts
        return {name: counts.get(_U32.pack(qid), 0) for name, qid in self._queue_ids.items()}

    def stage_counts(self, batch: object, deltas: dict[bytes, int]) -> dict[bytes, int]:
        """Put the new counts of the queues in ``deltas`` (records added minus
        removed, by queue key prefix) into ``batch``; returns them, for
        ``apply_counts`` once the batch is written."""
        if self.counts is None:  # written before ``recover``: start from what is stored
            self.load_counts()
        counts = self.counts or {}
        new = {prefix: counts.get(prefix, 0) + d for prefix, d in deltas.items() if d}
        put = batch.put  # type: ignore[attr-defined]
        for prefix, n in new.items():
            put(self._state, _COUNT_PREFIX + prefix, _U64.pack(n))
        return new

    def apply_counts(self, new: dict[bytes, int]) -> None:
        if self.counts is not None:
            self.counts.update(new)

    def count_queue(self, queue_id: int) -> tuple[int, int]:
        """``(count, total size)`` of the records of a queue (a full scan)."""
        begin, end = queue_range(queue_id)
        count = size = 0
        for _, value in self._store.scan(self.cf, begin, end):
            count += 1
            size += record_size(value)
        return count, size
