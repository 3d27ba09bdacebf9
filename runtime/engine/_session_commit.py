"""A session's routing and commit: ``Routing`` (where its flowfiles come from
and go to), ``ProvenanceReporter`` (the events only the processor knows), the
``Transaction`` and ``QueueMoves`` built from what the session did
(``prepare``), and ``PreparedCommit``, which holds them until the transaction
is written (``apply``) or not (``abort``).

Emptying a queue and replaying an event build a ``PreparedCommit`` (or just
a ``Transaction`` and ``QueueMoves``) the same way, without a session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flowyard.runtime.engine._queue import FlowFileQueue, QueueMoves
from flowyard.runtime.repository import FlowFileRecord, FlowFileRemoval, ProvenanceRecord, Transaction
from flowyard.runtime.repository._codec import pack_attrs
from flowyard.runtime.repository.content import ContentRepository, ContentWriter
from flowyard.runtime.sdk._errors import FlowFileHandlingError
from flowyard.runtime.sdk._flowfile import FlowFile, make_flowfile
from flowyard.runtime.sdk._provenance import ProvenanceEventType as E

if TYPE_CHECKING:
    from flowyard.runtime.engine._session import StandardProcessSession

__all__ = ["PreparedCommit", "ProvenanceReporter", "Routing", "SessionStats", "prepare"]

#: Destinations of a flowfile in a session besides relationship names.
REMOVED = "\0removed"
SELF = "\0self"


class Routing:
    """Where a processor's flowfiles come from and go to. Built by the engine
    (or the test runner) from the flow graph; replaced when the graph changes."""

    __slots__ = (
        "auto_terminated",
        "component_id",
        "component_type",
        "destinations",
        "inputs",
        "packed",
        "penalty_ms",
        "private",
        "relationships",
        "unreadable",
    )

    def __init__(
        self,
        component_id: str,
        component_type: str,
        *,
        inputs: Sequence[FlowFileQueue] = (),
        destinations: Mapping[str, Sequence[FlowFileQueue]] | None = None,
        auto_terminated: Iterable[str] = (),
        relationships: Iterable[str] = (),
        penalty_ms: int = 30_000,
        unreadable: dict[int, str] | None = None,
        private: Iterable[FlowFileQueue] = (),
        packed: dict[int, tuple[dict[str, str], bytes]] | None = None,
    ) -> None:
        self.component_id = component_id
        self.component_type = component_type
        self.inputs = tuple(inputs)
        self.destinations = {k: tuple(v) for k, v in (destinations or {}).items()}
        self.auto_terminated = frozenset(auto_terminated)
        self.relationships = frozenset(relationships) | set(self.destinations) | self.auto_terminated
        self.penalty_ms = penalty_ms
        #: Flowfiles (by id) whose content could not be read, with why: a session
        #: does not hand them to the processor but sends them to ``failure``
        #: (or drops them when there is none), with ``CONTENT_ERROR_ATTRIBUTE``.
        self.unreadable = unreadable if unreadable is not None else {}
        #: Queues that live only in memory (a stateless invocation's connections): a commit
        #: moves flowfiles on them but builds no flowfile records for them, as none is written.
        self.private = frozenset(private)
        #: The attributes a step packed, by ``id`` of the (never mutated) attribute dict
        #: (with the dict itself, so an id reused after the dict died cannot match): shared
        #: by the steps of one stateless invocation, whose next step packs the same dict
        #: again as the flowfile's previous attributes. None: no such sharing.
        self.packed = packed


class ProvenanceReporter:  # implements sdk.ProvenanceReporter
    """``session.provenance``: events only the processor can know about."""

    __slots__ = ("_session",)

    def __init__(self, session: StandardProcessSession) -> None:
        self._session = session

    def receive(self, ff: FlowFile, transit_uri: str, details: str | None = None) -> None:
        """The flowfile's data was received from outside (``transit_uri``)."""
        self._session._report(E.RECEIVE, ff, transit_uri=transit_uri, details=details)

    def fetch(self, ff: FlowFile, transit_uri: str, details: str | None = None) -> None:
        """The content of an existing flowfile was replaced by data fetched from ``transit_uri``."""
        self._session._report(E.FETCH, ff, transit_uri=transit_uri, details=details)

    def send(self, ff: FlowFile, transit_uri: str, details: str | None = None) -> None:
        """The flowfile's data was sent to ``transit_uri``."""
        self._session._report(E.SEND, ff, transit_uri=transit_uri, details=details)

    def route(self, ff: FlowFile, relationship: object, details: str | None = None) -> None:
        """The flowfile was routed to ``relationship`` by a decision worth recording."""
        name = getattr(relationship, "name", relationship)
        self._session._report(E.ROUTE, ff, relationship=str(name), details=details)

    def add_info(self, ff: FlowFile, details: str) -> None:
        """Free-form information about the flowfile."""
        self._session._report(E.ADDINFO, ff, details=details)


class SessionStats:
    """What one commit moved, for component statistics."""

    __slots__ = ("bytes_in", "bytes_out", "bytes_read", "bytes_written", "flowfiles_in",
                 "flowfiles_out", "flowfiles_removed")

    def __init__(self) -> None:
        self.flowfiles_in = 0
        self.bytes_in = 0
        self.flowfiles_out = 0
        self.bytes_out = 0
        self.flowfiles_removed = 0
        self.bytes_read = 0
        self.bytes_written = 0


class PreparedCommit:
    """A commit whose ``transaction`` is built but not yet written; ``moves``
    is what it does to the queues once it is.

    ``streamed`` content (already in the store) is discarded by ``abort``
    through ``content``; ``abort(penalize=True)`` penalizes the returned input
    for ``penalty_ms`` from ``clock()``.
    """

    __slots__ = ("_clock", "_content", "_failure", "_penalty_ms", "_streamed", "_success", "moves", "stats",
                 "transaction")

    def __init__(
        self,
        transaction: Transaction,
        moves: QueueMoves,
        *,
        stats: SessionStats | None = None,
        on_success: Sequence[Callable[[], Any]] = (),
        on_failure: Sequence[Callable[[BaseException | None], Any]] = (),
        streamed: Sequence[ContentWriter] = (),
        content: ContentRepository | None = None,
        penalty_ms: int = 0,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.transaction = transaction
        self.moves = moves
        self.stats = stats if stats is not None else SessionStats()
        self._success = on_success
        self._failure = on_failure
        self._streamed = streamed
        self._content = content
        self._penalty_ms = penalty_ms
        self._clock = clock

    @property
    def enqueued(self) -> Mapping[FlowFileQueue, list[FlowFile]]:
        """Flowfiles each downstream queue receives on ``apply``."""
        return self.moves.enqueue

    def apply(self, now_ms: int) -> list[BaseException]:
        """The transaction is written: move the flowfiles, run success callbacks.

        Returns exceptions raised by callbacks (the commit stands regardless).
        """
        self.moves.apply(now_ms)
        errors: list[BaseException] = []
        for callback in self._success:
            try:
                callback()
            except Exception as exc:  # a callback's failure does not undo a durable commit
                errors.append(exc)
        return errors

    def abort(self, error: BaseException | None, *, penalize: bool = False) -> None:
        """The transaction was not written: return the input, drop new content,
        run failure callbacks."""
        until = self._clock() + self._penalty_ms if penalize and self._clock is not None else 0
        self.moves.give_back(until)
        if self._content is not None:
            for writer in self._streamed:
                self._content.discard(writer)
        for callback in self._failure:
            try:
                callback(error)
            except Exception:
                pass


def prepare(s: StandardProcessSession) -> PreparedCommit:
    """``s.prepare_commit()``: check the session and build its commit (the
    session is reset by the caller). Raises ``FlowFileHandlingError`` (and
    changes nothing) if a flowfile has no destination."""
    dest = s._dest
    undecided = [ff for fid, ff in s._current.items() if fid not in dest]
    if undecided:
        names = ", ".join(repr(ff.uuid) for ff in undecided[:5])
        more = f" and {len(undecided) - 5} more" if len(undecided) > 5 else ""
        raise FlowFileHandlingError(
            f"{len(undecided)} flowfile(s) were neither transferred nor removed: {names}{more}"
        )
    now = s._clock()
    routing = s._routing
    repos = s._repos
    cid, ctype = routing.component_id, routing.component_type
    txn = Transaction()
    stats = SessionStats()
    acks: dict[FlowFileQueue, list[FlowFile]] = {}
    enqueue: dict[FlowFileQueue, list[FlowFile]] = {}
    deltas = txn.claim_deltas
    events = txn.events
    drops: list[ProvenanceRecord] = []  # auto-terminations, recorded after the reported events
    placed_records, removed = txn.placed, txn.removed
    origin, created = s._origin, s._created
    changed = s._content_changed
    reported = s._reported_ids
    destinations = routing.destinations
    auto = routing.auto_terminated
    record = ProvenanceRecord.of
    private = routing.private

    # Placements first, so sequence numbers are taken in one block. They
    # follow the order of the (last) transfers: the processor decides the
    # order downstream, as in NiFi's sessions (EnforceOrder relies on it).
    plans: list[tuple[int, FlowFile, tuple[FlowFileQueue, ...], str]] = []
    n_seq = 0
    current = s._current
    for fid, rel in dest.items():
        ff = current.get(fid)
        if ff is None:
            continue  # removed
        if rel == SELF:
            queues: tuple[FlowFileQueue, ...] = (origin[fid][0],)
        else:
            queues = destinations.get(rel, ())
            if not queues and rel not in auto:
                raise FlowFileHandlingError(
                    f"relationship {rel!r} of {ctype} is neither connected nor auto-terminated"
                )
        plans.append((fid, ff, queues, rel))
        n_seq += len(queues)
    seq = repos.flowfiles.seqs.take(n_seq) if n_seq else 0

    forks: dict[str, list[str]] = {}
    clones: dict[str, list[str]] = {}
    packed_of: dict[int, bytes] = {}
    n_in = bytes_in = n_out = bytes_out = 0
    new = tuple.__new__
    attributes_modified = E.ATTRIBUTES_MODIFIED
    last_queue: FlowFileQueue | None = None
    last_acks: list[FlowFile] = []
    last_written = True
    last_into: FlowFileQueue | None = None
    last_enqueue: list[FlowFile] = []
    packs = routing.packed
    for fid, ff, queues, rel in plans:
        attrs = ff[1]
        if packs is None:
            packed = pack_attrs(attrs)
        else:
            hit = packs.get(id(attrs))
            if hit is not None and hit[0] is attrs:
                packed = hit[1]
            else:
                packed = pack_attrs(attrs)
                packs[id(attrs)] = (attrs, packed)
        opacked = None  # the attributes as the flowfile entered, once packed
        packed_of[fid] = packed
        claim = ff[2]
        src = origin.get(fid)
        if src is not None:
            queue, orig = src
            if queue is not last_queue:
                last_queue = queue
                last_acks = acks.setdefault(queue, [])
                last_written = not (private and queue in private)
            if last_written:
                removed.append(new(FlowFileRemoval, (queue.queue_id, orig[7])))
            last_acks.append(orig)
            n_in += 1
            bytes_in += orig[3]
            oclaim = orig[2]
            if oclaim is not claim or len(queues) != 1:
                if oclaim is not None:
                    deltas[oclaim[0]] = deltas.get(oclaim[0], 0) - 1
                if claim is not None:
                    deltas[claim[0]] = deltas.get(claim[0], 0) + len(queues)
            # As NiFi: changed content always gets CONTENT_MODIFIED (RECEIVE
            # and FETCH already cover it, see _report); changed attributes get
            # ATTRIBUTES_MODIFIED only if no other event describes the flowfile.
            if fid in changed:
                events.append(record(E.CONTENT_MODIFIED, ff, packed, cid, ctype, now,
                                     prev=orig, relationship=None, source=queue.connection_id))
            elif fid not in reported and attrs is not orig[1] and attrs != orig[1]:
                # the most common event, built inline (as ProvenanceRecord.of)
                if packs is None:
                    opacked = pack_attrs(orig[1])
                else:
                    hit = packs.get(id(orig[1]))
                    opacked = hit[1] if hit is not None and hit[0] is orig[1] else pack_attrs(orig[1])
                events.append(new(ProvenanceRecord, (
                    attributes_modified, now, attrs["uuid"], cid, ctype, packed, opacked,
                    None, None, None, None, None, ff[3], claim, orig[3], oclaim, ff[4], ff[5],
                    queue.connection_id)))
        else:
            kind, parents = created[fid]
            if claim is not None:
                deltas[claim[0]] = deltas.get(claim[0], 0) + len(queues)
            if kind is E.CREATE:
                if fid not in reported:
                    events.append(record(E.CREATE, ff, packed, cid, ctype, now))
            elif kind is E.FORK:
                forks.setdefault(parents[0], []).append(ff.uuid)
            elif kind is E.CLONE:
                clones.setdefault(parents[0], []).append(ff.uuid)
            else:
                events.append(record(E.JOIN, ff, packed, cid, ctype, now, parents=list(parents)))
        if not queues:
            drops.append(record(E.DROP, ff, packed, cid, ctype, now,
                                details=f"Auto-Terminated by {rel} Relationship",
                                prev=src[1] if src is not None else None, prev_packed=opacked,
                                source=src[0].connection_id if src is not None else None))
            stats.flowfiles_removed += 1
            continue
        for i, queue in enumerate(queues):
            if i == 0:
                target = ff
                tpacked = packed
            else:
                cattrs = dict(attrs)
                cattrs["uuid"] = s._uuid()
                target = make_flowfile(repos.flowfiles.ids.take(), cattrs, claim, ff[3], ff[4], ff[5], ff[6])
                tpacked = pack_attrs(cattrs)
                clones.setdefault(ff.uuid, []).append(cattrs["uuid"])
            placed = new(FlowFile, (target[0], target[1], claim, ff[3], ff[4], ff[5], ff[6], seq))
            route = queue.route  # load-balanced (a cluster): this node's part or another node's
            into = queue if route is None or rel == SELF else route(target[1])
            if not (private and into in private):
                placed_records.append(new(FlowFileRecord, (into.queue_id, seq, placed, tpacked)))
            if into is not last_into:
                last_into = into
                last_enqueue = enqueue.get(into)  # type: ignore[assignment]
                if last_enqueue is None:
                    last_enqueue = enqueue[into] = []
            last_enqueue.append(placed)
            seq += 1
            n_out += 1
            bytes_out += ff[3]

    stats.flowfiles_in, stats.bytes_in = n_in, bytes_in
    stats.flowfiles_out, stats.bytes_out = n_out, bytes_out
    for fid, ff in s._removed.items():
        packed = pack_attrs(ff[1])
        src = origin.get(fid)
        if src is not None:
            queue, orig = src
            txn.remove(queue.queue_id, orig)
            acks.setdefault(queue, []).append(orig)
            stats.flowfiles_in += 1
            stats.bytes_in += orig.size
            events.append(record(E.DROP, ff, packed, cid, ctype, now, prev=orig, source=queue.connection_id))
            stats.flowfiles_removed += 1
        packed_of[fid] = packed

    for queue, ff in s._expired:
        acks.setdefault(queue, []).append(ff)
        txn.drop(queue.queue_id, (ff,), cid, ctype, now, details="Expiration Threshold exceeded",
                 event_type=E.EXPIRE, with_input=True, source=queue.connection_id)

    by_uuid = (
        {ff.uuid: (fid, ff) for fid, ff in list(s._current.items()) + list(s._removed.items())}
        if forks or clones else {}
    )
    for kind, families in ((E.FORK, forks), (E.CLONE, clones)):
        for parent_uuid, children in families.items():
            fid, parent = by_uuid.get(parent_uuid, (0, None))
            if parent is not None:
                src = origin.get(fid)
                events.append(record(kind, parent, packed_of[fid], cid, ctype, now, children=children,
                                     prev=src[1] if src is not None else None,
                                     source=src[0].connection_id if src is not None else None))

    for event_type, fid, uri, details, rel_name in s._reported:
        ff_or_none = s._current.get(fid) or s._removed.get(fid)
        if ff_or_none is None:
            continue
        packed = packed_of.get(fid) or pack_attrs(ff_or_none[1])
        src = origin.get(fid)
        events.append(record(event_type, ff_or_none, packed, cid, ctype, now,
                             prev=src[1] if src is not None else None,
                             relationship=rel_name, details=details, uri=uri,
                             source=src[0].connection_id if src is not None else None))

    events.extend(drops)  # after what the processor reported (SEND, ROUTE ...): NiFi's order
    for resource, writer in s._writers.items():
        writer.finish()
        txn.new_lengths[resource] = writer.length
        deltas.setdefault(resource, 0)
        if writer.streamed:
            txn.streamed.append(resource)
        else:
            txn.inline_content.extend(writer.inline)
    txn.claim_deltas = {r: d for r, d in deltas.items() if d or r in txn.new_lengths}
    if s._state_dirty and s._state is not None:
        txn.states[routing.component_id] = s._state
    stats.bytes_read = s._bytes_read
    stats.bytes_written = s._bytes_written
    return PreparedCommit(
        txn, QueueMoves(acks, enqueue), stats=stats, on_success=s._on_success, on_failure=s._on_failure,
        streamed=[w for w in s._writers.values() if w.streamed], content=repos.content,
        penalty_ms=routing.penalty_ms, clock=s._clock,
    )
