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
from collections.abc import Sequence
from typing import Any

from flowyard.runtime.repository._codec import chunk_key
from flowyard.runtime.repository._faulty import Fault, FaultyStore
from flowyard.runtime.repository._rocks import RocksStore
from flowyard.runtime.repository._store import COLUMN_FAMILIES, Batch, MemoryStore, Store
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
    "FlowFileRepository",
    "IdAllocator",
    "MemoryStore",
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


class StateConflict(Exception):
    """A session's state change lost a race with another change of the same state."""


class Transaction:
    """Everything one session commit writes. Built by the session, written by
    ``Repositories.write``; pure data."""

    __slots__ = (
        "claim_deltas",
        "content_puts",
        "events",
        "ff_deletes",
        "ff_puts",
        "new_lengths",
        "states",
        "streamed",
    )

    def __init__(self) -> None:
        self.ff_puts: list[tuple[bytes, bytes]] = []
        self.ff_deletes: list[bytes] = []
        self.content_puts: list[tuple[bytes, bytes]] = []
        self.claim_deltas: dict[int, int] = {}
        self.new_lengths: dict[int, int] = {}
        self.streamed: list[int] = []
        self.events: list[list[Any]] = []
        #: component id -> (expected version, new values)
        self.states: dict[str, tuple[int, dict[str, str]]] = {}

    def is_empty(self) -> bool:
        """True if writing this transaction would change nothing."""
        return not (
            self.ff_puts
            or self.ff_deletes
            or self.content_puts
            or self.claim_deltas
            or self.new_lengths
            or self.events
            or self.states
            or self.streamed
        )


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
        """Write ``txns`` as one atomic batch.

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
        events: list[list[Any]] = []
        content = self.content
        queues: dict[bytes, int] = {}  # records added minus removed, by queue key prefix
        for txn in accepted:
            put = batch.put
            for key in txn.ff_deletes:
                batch.delete(ff_cf, key)
                queues[key[:4]] = queues.get(key[:4], 0) - 1
            for key, value in txn.ff_puts:
                put(ff_cf, key, value)
                queues[key[:4]] = queues.get(key[:4], 0) + 1
            for key, value in txn.content_puts:
                put(content_cf, key, value)
            for resource in txn.streamed:
                batch.delete(state_cf, content.pending_marker(resource))
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
        counts = self.flowfiles.stage_counts(batch, queues) if queues else {}
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

