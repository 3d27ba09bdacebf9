"""FlowFile repository: the committed state of every live flowfile and its queue.

A queued flowfile is one record under ``queue id | entry sequence``. Moving a
flowfile from one queue to another deletes its old key and puts a new one in
the same commit batch. Queue ids are small integers persisted per connection
id, so records map back to their connections after a restart.

Every commit batch also writes how many records each queue it touched now
holds (``count/<queue id>`` in the state table). At start the records are
counted and compared with it: a table that lost records (damage RocksDB could
not see) stops the start instead of losing flowfiles silently.

Start-up reads the table once. That count is one pass over every record
(``survey``): records counted and their content sizes summed per queue, with
the first and last entry sequence, nothing decoded. ``Repositories.open`` runs
it on the read-only view it checks before RocksDB may change a file; what it
found is handed to the repository opened next on the same directory
(``_SURVEYS``, one hand-over, taken by the next ``FlowFileRepository`` built on
that path), so ``load_queue`` then reads only each queue's head: recovery of 10
million queued flowfiles decodes 20,000 per queue and keeps only figures for
the rest. A survey is exact only until the next commit touching a queue:
``stage_counts`` forgets it for those queues, and ``load_queue`` falls back to
a full scan of a queue it has no survey for.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from flowyard.runtime.repository._codec import (
    _FF_SIZE_OFFSET,
    decode_flowfile,
    flowfile_key,
    queue_range,
    record_size,
    split_flowfile_key,
)
from flowyard.runtime.repository._rocks import _ProbeStore
from flowyard.runtime.repository._store import Store
from flowyard.runtime.repository.content import IdAllocator
from flowyard.runtime.sdk._flowfile import FlowFile

__all__ = ["FlowFileRepository", "QueueLoad", "QueueSurvey"]

_QUEUE_PREFIX = b"queue/"
_COUNT_PREFIX = b"count/"
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_U64_AT = _U64.unpack_from

#: Store path -> the survey taken of it on the read-only view ``Repositories.open``
#: verifies, for the repository it opens right after (under the directory's lock,
#: so nothing writes in between). Taken (popped) by the next ``FlowFileRepository``
#: built on that path, the read-only one included, so a survey is never used twice.
_SURVEYS: dict[str, dict[int, QueueSurvey]] = {}
_SURVEYS_LOCK = threading.Lock()


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


@dataclass(slots=True, frozen=True)
class QueueSurvey:
    """What one pass over a queue's records found (see ``FlowFileRepository.survey``)."""

    count: int
    size: int
    first_seq: int
    last_seq: int


def _store_path(store: Store) -> str | None:
    path = getattr(store, "path", None)
    return None if path is None else os.fspath(path)


class FlowFileRepository:
    """Records of live flowfiles, addressed by queue and entry sequence."""

    def __init__(self, store: Store) -> None:
        self._store = store
        path = _store_path(store)
        #: Queue id -> figures of its records, exact until a commit touches the queue
        #: (see the module docstring); empty when no survey was taken.
        self._survey: dict[int, QueueSurvey] = {}
        if path is not None:
            with _SURVEYS_LOCK:
                self._survey = _SURVEYS.pop(path, {})
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

    def survey(self) -> dict[int, QueueSurvey]:
        """Count and size every queue's records in one pass over the table (no
        record decoded); queues without records are absent. Also kept for
        ``load_queue`` (and handed to the next repository opened on the same path
        when this one reads a read-only view). Raises the store's error for
        what cannot be read."""
        found: dict[int, QueueSurvey] = {}
        qid = count = size = first = 0
        end = b""  # the first key past the current queue's range
        last = b""
        unpack = _U64_AT
        off = _FF_SIZE_OFFSET
        for key, value in self._store.scan(self.cf, b""):
            if key >= end:
                if count:
                    found[qid] = QueueSurvey(count, size, first, split_flowfile_key(last)[1])
                qid, first = split_flowfile_key(key)
                end = queue_range(qid)[1]
                count = size = 0
            count += 1
            size += unpack(value, off)[0]
            last = key
        if count:
            found[qid] = QueueSurvey(count, size, first, split_flowfile_key(last)[1])
        self._survey = dict(found)
        path = _store_path(self._store)
        if path is not None and isinstance(self._store, _ProbeStore):
            with _SURVEYS_LOCK:
                _SURVEYS[path] = dict(found)
        return found

    def surveyed(self, queue_id: int) -> QueueSurvey | None:
        """The figures of ``queue_id`` from the last ``survey`` if still exact, else None."""
        return self._survey.get(queue_id)

    def load_queue(self, queue_id: int, head_limit: int) -> QueueLoad:
        """Read a queue back at start-up: up to ``head_limit`` flowfiles into memory,
        the rest only counted and sized. With a survey of the queue only the head
        is read; otherwise every record is (their sizes)."""
        load = QueueLoad(queue_id)
        begin, end = queue_range(queue_id)
        head = load.head
        survey = self._survey.pop(queue_id, None)  # used once: the queue changes from now on
        if survey is not None:
            if head_limit > 0:
                for key, value in self._store.scan(self.cf, begin, end, limit=head_limit):
                    head.append(decode_flowfile(value, split_flowfile_key(key)[1]))
            if len(head) != min(head_limit, survey.count) or (head and head[0][7] != survey.first_seq):
                head.clear()  # the survey is not of these records: read them all
            else:
                head_size = 0
                for ff in head:
                    head_size += ff[3]
                load.swapped_count = survey.count - len(head)
                load.swapped_size = survey.size - head_size
                load.swap_from_seq = head[-1][7] if head else 0
                load.last_seq = survey.last_seq
                return load
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
        found = {_U32.pack(qid): figures.count for qid, figures in self.survey().items()}
        problems = []
        for prefix in sorted(stored.keys() | found.keys()):
            expected, actual = stored.get(prefix, 0), found.get(prefix, 0)
            if expected != actual:
                name = names.get(prefix, f"queue {_U32.unpack(prefix)[0]}")
                problems.append(f"connection {name!r} should hold {expected:,} flowfile(s) but {actual:,} "
                                f"{'is' if actual == 1 else 'are'} stored")
        path = _store_path(self._store)
        if problems and path is not None:  # the start is refused: nothing to hand over
            with _SURVEYS_LOCK:
                _SURVEYS.pop(path, None)
        return problems

    def load_counts(self) -> dict[str, int]:
        """Bring the per-queue counts into memory (at start, after ``check_counts``
        passed); for a store from before counts were kept, count the records
        and write the counts. Returns the count per connection id."""
        counts = self.stored_counts()
        if not counts:
            for qid, figures in self.survey().items():  # a store from before counts: once
                counts[_U32.pack(qid)] = figures.count
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
        if self._survey:  # these queues change: their survey no longer holds
            for prefix in deltas:
                self._survey.pop(_U32.unpack(prefix)[0], None)
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
