"""The typed transaction: everything one commit writes, as data.

A ``Transaction`` says *what* changes (flowfiles placed in and removed from
queues, content, claimant counts, provenance events, component state) without
any storage format: only ``Repositories.write`` turns transactions into a
store batch (keys, flowfile records, event groups). Sessions, emptying a
queue and replaying an event all build one.

Records are named tuples built with ``tuple.__new__`` on the hot path (a
NamedTuple's own constructor costs twice as much). A ``ProvenanceRecord`` is
packed exactly as the 19-item event row of the provenance log
(``provenance.EVENT_FIELDS`` is its field list): a tuple packs as a msgpack
array, an ``IntEnum`` as an integer and a ``ContentClaim`` as ``[resource,
offset, length]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from flowyard.runtime.repository._codec import UNCHANGED, pack_attrs
from flowyard.runtime.sdk._flowfile import FlowFile
from flowyard.runtime.sdk._provenance import ProvenanceEventType

__all__ = ["FlowFileRecord", "FlowFileRemoval", "ProvenanceRecord", "Transaction"]


class FlowFileRecord(NamedTuple):
    """A flowfile placed in queue ``queue_id`` at entry sequence ``seq``, with
    its attributes already packed (msgpack)."""

    queue_id: int
    seq: int
    flowfile: FlowFile
    packed_attributes: bytes


class FlowFileRemoval(NamedTuple):
    """The flowfile at entry sequence ``seq`` of queue ``queue_id`` leaves it."""

    queue_id: int
    seq: int


class ProvenanceRecord(NamedTuple):
    """One provenance event as the log stores it (see the module docstring).

    ``attributes`` are msgpack bytes; ``previous_attributes`` are msgpack
    bytes, or ``UNCHANGED`` (a reference to ``attributes``, 3 bytes) when the
    component did not change them (``_codec.previous_attributes`` decodes
    both). ``previous_*`` describe the flowfile as it entered the component
    (None when it did not come from a queue), ``source_connection`` that
    queue's connection.
    """

    event_type: int
    timestamp: int
    flowfile_uuid: str
    component_id: str
    component_type: str
    attributes: bytes
    previous_attributes: bytes | list[Any] | None
    parent_uuids: list[str] | None
    child_uuids: list[str] | None
    relationship: str | None
    details: str | None
    transit_uri: str | None
    size: int
    claim: Sequence[int] | None
    previous_size: int | None
    previous_claim: Sequence[int] | None
    entry_date: int
    lineage_start_date: int
    source_connection: str | None

    @classmethod
    def of(
        cls,
        event_type: int,
        ff: FlowFile,
        packed: bytes,
        component_id: str,
        component_type: str,
        now: int,
        *,
        prev: FlowFile | None = None,
        relationship: str | None = None,
        details: str | None = None,
        uri: str | None = None,
        parents: list[str] | None = None,
        children: list[str] | None = None,
        source: str | None = None,
        prev_packed: bytes | list[Any] | None = None,
    ) -> ProvenanceRecord:
        """The event ``event_type`` of ``ff`` (attributes packed as ``packed``) at
        ``component_id``. ``prev`` is the flowfile as it entered the component,
        taken from the queue of connection ``source`` (provenance shows and
        replays it); ``prev_packed`` its attributes if already packed.
        Unchanged attributes are stored once: the previous ones as ``UNCHANGED``."""
        if prev is None:
            return tuple.__new__(cls, (
                event_type, now, ff[1]["uuid"], component_id, component_type, packed, None,
                parents, children, relationship, details, uri, ff[3], ff[2], None, None, ff[4], ff[5], source))
        attrs = ff[1]
        stored = UNCHANGED if prev[1] is attrs else prev_packed or pack_attrs(prev[1])
        return tuple.__new__(cls, (
            event_type, now, attrs["uuid"], component_id, component_type, packed, stored,
            parents, children, relationship, details, uri, ff[3], ff[2], prev[3], prev[2], ff[4], ff[5], source))


@dataclass(slots=True)
class Transaction:
    """Everything one commit writes; pure data. Built by a session's
    ``prepare_commit``, by emptying a queue and by replay; written (together
    with others, atomically) by ``Repositories.write``."""

    #: Flowfiles put into queues.
    placed: list[FlowFileRecord] = field(default_factory=list)
    #: Flowfiles taken out of queues for good (moved on, dropped, expired).
    removed: list[FlowFileRemoval] = field(default_factory=list)
    #: Content chunks small enough to go into the commit batch: (chunk key, bytes).
    inline_content: list[tuple[bytes, bytes]] = field(default_factory=list)
    #: Content resource -> change of its claimant count.
    claim_deltas: dict[int, int] = field(default_factory=dict)
    #: Content resource -> length, for resources written by this commit.
    new_lengths: dict[int, int] = field(default_factory=dict)
    #: Resources whose content was streamed to the store before the commit.
    streamed: list[int] = field(default_factory=list)
    events: list[ProvenanceRecord] = field(default_factory=list)
    #: Component id -> (expected version, new values).
    states: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        """True if writing this transaction would change nothing."""
        return not (self.placed or self.removed or self.inline_content or self.claim_deltas
                    or self.new_lengths or self.events or self.states or self.streamed)

    def claim(self, resource: int, delta: int) -> None:
        """Change the claimant count of content ``resource`` by ``delta``."""
        self.claim_deltas[resource] = self.claim_deltas.get(resource, 0) + delta

    def place(self, queue_id: int, ff: FlowFile, packed: bytes | None = None) -> None:
        """Put ``ff`` (its entry sequence set) into queue ``queue_id``; it claims its content."""
        self.placed.append(FlowFileRecord(queue_id, ff[7], ff, pack_attrs(ff[1]) if packed is None else packed))
        if ff[2] is not None:
            self.claim(ff[2][0], 1)

    def remove(self, queue_id: int, ff: FlowFile) -> None:
        """``ff`` leaves queue ``queue_id`` for good; its content claim is released."""
        self.removed.append(FlowFileRemoval(queue_id, ff[7]))
        if ff[2] is not None:
            self.claim(ff[2][0], -1)

    def drop(self, queue_id: int, ffs: Iterable[FlowFile], component_id: str, component_type: str, now: int, *,
             details: str, event_type: int = ProvenanceEventType.DROP, with_input: bool = False,
             source: str | None = None) -> None:
        """Remove ``ffs`` from queue ``queue_id`` with an event ``event_type``
        (DROP, EXPIRE) each, recorded at ``component_id``; ``with_input`` records
        each as it was queued (its input, for replay)."""
        events = self.events
        for ff in ffs:
            self.remove(queue_id, ff)
            packed = pack_attrs(ff[1])
            events.append(ProvenanceRecord.of(event_type, ff, packed, component_id, component_type, now,
                                              details=details, prev=ff if with_input else None,
                                              prev_packed=packed, source=source))
