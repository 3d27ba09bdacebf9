"""The repositories: content, flowfiles, provenance and state in one store.

``Repositories.write`` turns the transactions of one or more sessions into one
atomic store batch: flowfile records, small content, claimant counts,
provenance events and component state together. Nothing is visible in memory
(counts, queues) until that batch is written.

Durability modes (``durability``):

``os``
    (default) each batch goes to RocksDB's write-ahead log without fsync. A
    committed session survives kill -9 of flowyard; an operating-system crash or
    power loss can lose the last few hundred milliseconds of commits.
``sync``
    the write-ahead log is fsynced before a commit returns. Survives power loss.
    The engine's committer groups concurrent sessions so one fsync covers many.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from typing import Any

from flowyard.runtime.repository._codec import _FF_HEADER, FLOWFILE_FORMAT, chunk_key, flowfile_key
from flowyard.runtime.repository._faulty import Fault, FaultyStore
from flowyard.runtime.repository._rocks import RocksStore
from flowyard.runtime.repository._store import COLUMN_FAMILIES, Batch, MemoryStore, Store
from flowyard.runtime.repository._transaction import FlowFileRecord, FlowFileRemoval, ProvenanceRecord, Transaction
from flowyard.runtime.repository.content import ContentRepository, ContentWriter, IdAllocator
from flowyard.runtime.repository.flowfiles import FlowFileRepository, QueueLoad
from flowyard.runtime.repository.provenance import ProvenanceRepository, decode_event
from flowyard.runtime.repository.state import ComponentState, StateRepository
from flowyard.runtime.sdk._errors import RepositoryCorruptedError

__all__ = [
    "COLUMN_FAMILIES",
    "DURABILITY_MODES",
    "Batch",
    "ComponentState",
    "ContentRepository",
    "ContentWriter",
    "Fault",
    "FaultyStore",
    "FlowFileRecord",
    "FlowFileRemoval",
    "FlowFileRepository",
    "IdAllocator",
    "MemoryStore",
    "ProvenanceRecord",
    "ProvenanceRepository",
    "QueueLoad",
    "Repositories",
    "RocksStore",
    "StateConflict",
    "StateRepository",
    "Store",
    "Transaction",
    "chunk_key",
    "decode_event",
]

DURABILITY_MODES = ("os", "sync")
_QUEUE_PREFIX = struct.Struct(">I").pack  # the first key bytes of every record of a queue


class StateConflict(Exception):
    """A session's state change lost a race with another change of the same state."""


class Repositories:
    """The four repositories over one store. Create with ``open`` or ``in_memory``."""

    def __init__(
        self,
        store: Store,
        *,
        durability: str = "os",
        archive_max_age_ms: int = 3 * 3600 * 1000,
    ) -> None:
        if durability not in DURABILITY_MODES:
            raise ValueError(
                f"unknown durability mode {durability!r}: expected one of {', '.join(DURABILITY_MODES)}"
            )
        self.store = store
        self.durability = durability
        self.content = ContentRepository(store, archive_max_age_ms=archive_max_age_ms)
        self.flowfiles = FlowFileRepository(store)
        self.provenance = ProvenanceRepository(store)
        self.state = StateRepository(store)
        self._ff_cf = store.handle("flowfiles")
        self._content_cf = store.handle("content")
        self._state_cf = store.handle("state")
        self._versions: dict[str, int] = {}
        self.batches_written = 0
        #: Whether everything ``recover`` checks was checked when the store was opened.
        self.verified = False

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, durability: str = "os", **kw: Any) -> Repositories:
        """Open (or create) the durable repositories in directory ``path``.

        Before RocksDB may change a file, everything recovery reads is read
        once from a read-only view (``verify_readable``), so damage is reported
        with every file as it was. Raises ``DataDirectoryInUseError`` when
        another process has them open, ``RepositoryCorruptedError`` for damage.
        """
        repos = cls(RocksStore(path, verify=cls.verify_readable), durability=durability, **kw)
        repos.verified = True
        return repos

    @classmethod
    def verify_readable(cls, store: Store) -> None:
        """Read what opening and recovering ``store`` reads (ids, queues,
        provenance's last group, claims, every flowfile record); raises the
        store's error for what cannot be read. Writes are not needed."""
        repos = cls(store)
        repos.recover()  # compares every queue's records with its count

    @classmethod
    def in_memory(cls, **kw: Any) -> Repositories:
        """Repositories that live in memory only (tests, the ProcessorRunner)."""
        return cls(MemoryStore(), **kw)

    def state_version(self, component_id: str) -> int:
        """Current version of a component's state."""
        version = self._versions.get(component_id)
        if version is None:
            version = self.state.get(component_id).version
            self._versions[component_id] = version
        return version

    def write(self, txns: Sequence[Transaction], now_ms: int) -> list[Transaction]:
        """Write ``txns`` as one atomic batch: the only place where transactions
        become storage records (flowfile keys and records, event groups).

        Returns the transactions that were rejected and not written (state
        conflicts); all others are durable per the durability mode when this
        returns. If the store fails, raises and nothing in memory changed.
        """
        rejected: list[Transaction] = []
        accepted: list[Transaction] = []
        versions: dict[str, int] = {}
        for txn in txns:
            ok = True
            for component_id, (expected, _) in txn.states.items():
                current = versions.get(component_id)
                if current is None:
                    current = self.state_version(component_id)
                if current != expected:
                    ok = False
            if not ok:
                rejected.append(txn)
                continue
            for component_id in txn.states:
                versions[component_id] = txn.states[component_id][0] + 1
            accepted.append(txn)

        batch = self.store.batch()
        ff_cf, content_cf, state_cf = self._ff_cf, self._content_cf, self._state_cf
        deltas: dict[int, int] = {}
        lengths: dict[int, int] = {}
        events: list[ProvenanceRecord] = []
        content = self.content
        queues: dict[int, int] = {}  # records added minus removed, by queue id
        key, header, fmt = flowfile_key, _FF_HEADER.pack, FLOWFILE_FORMAT
        for txn in accepted:
            put, delete = batch.put, batch.delete
            for qid, seq in txn.removed:
                delete(ff_cf, key(qid, seq))
                queues[qid] = queues.get(qid, 0) - 1
            for qid, seq, ff, packed in txn.placed:
                # the record as ``encode_flowfile`` writes it, inlined for speed
                claim = ff[2]
                if claim is None:
                    put(ff_cf, key(qid, seq), header(fmt, ff[0], ff[4], ff[5], ff[6], ff[3], 0, 0) + packed)
                else:
                    put(ff_cf, key(qid, seq),
                        header(fmt, ff[0], ff[4], ff[5], ff[6], ff[3], claim[0], claim[1]) + packed)
                queues[qid] = queues.get(qid, 0) + 1
            for chunk, value in txn.inline_content:
                put(content_cf, chunk, value)
            for resource in txn.streamed:
                delete(state_cf, content.pending_marker(resource))
            if txn.claim_deltas:
                for resource, delta in txn.claim_deltas.items():
                    deltas[resource] = deltas.get(resource, 0) + delta
            if txn.new_lengths:
                lengths.update(txn.new_lengths)
            if txn.events:
                events.extend(txn.events)
            for component_id, (expected, values) in txn.states.items():
                self.state.stage(batch, component_id, ComponentState(values, expected + 1))
        planned = content.plan_counts(deltas, lengths) if (deltas or lengths) else {}
        rows = content.stage_counts(batch, planned, lengths, now_ms) if planned else []
        if events:
            self.provenance.stage(batch, events)
        counts = self.flowfiles.stage_counts(batch, {_QUEUE_PREFIX(q): n for q, n in queues.items()}) if queues else {}
        self.store.write(batch, sync=self.durability == "sync")
        if counts:
            self.flowfiles.apply_counts(counts)
        if events:
            self.provenance.confirm()
        self.batches_written += 1
        if rows:
            content.apply_counts(rows, now_ms)
        self._versions.update(versions)
        return rejected

    def recover(self) -> dict[str, int]:
        """Bring in-memory bookkeeping back from the store (call once at start).
        Raises ``RepositoryCorruptedError`` when a queue holds other than the
        number of flowfiles written with its last commit."""
        problems = [] if self.verified else self.flowfiles.check_counts()
        if problems:
            raise RepositoryCorruptedError(
                f"the flowfile table of {getattr(self.store, 'path', 'the repository')} is damaged: "
                + "; ".join(problems[:10]) + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else "")
                + ". Nothing was changed; flowyard repair --data-dir DIR reports and accepts the loss")
        figures = self.content.recover()
        self.flowfiles.load_counts()
        return figures

    def close(self) -> None:
        """Close the store. Idempotent."""
        self.store.close()

