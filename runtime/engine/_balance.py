"""Load-balanced connections, the engine's side (docs/cluster-internals.md,
"Load-balanced connections").

A load-balanced connection's queue has one part per node, as in NiFi: the
queue itself is this node's (*local*) part and feeds the destination; the
flowfiles the ``Partitioner`` gives another node wait in a ``PartitionQueue``
of that node (``queue.partitions``), durable under their own queue id in the
flowfile repository (named ``<connection id>#lb:<node id>``), counted in the
connection's figures (back pressure, status) and never handed to the
destination. A sender (``flowyard.clusters.loadbalance``) drains them with
``take_batch``, and once the receiving node has committed a batch
(``receive_batch`` there) removes it with ``confirm_sent``, or puts it back
with ``give_back``; ``rebalance`` routes a partition's flowfiles again (a
ROUND_ROBIN connection's node left, or the connection is no longer balanced).

``Balancing`` (one per engine, ``balancing(engine)``) attaches the routing to
the queues of load-balanced connections and takes the partitions found on
disk back after a restart (``configure``: to run after the engine recovered
its queues and after each change of the flow). Without a partitioner, or when
no connection is load-balanced, nothing is attached and a commit pays one
attribute test per placed flowfile.

Transfers are idempotent: the sender names each batch (``batch_id``: its node,
the partition's queue id, the first and last repository sequence, the count
and a digest of the flowfiles' uuids, so a batch sent again, even after the
sender restarted, has the same id), and the receiver stores the last
``RECEIVED_KEEP`` batch ids per (sender, connection) in its state key space,
in the same repository commit as the flowfiles (``receive_batch``). A batch
it already committed is answered with the earlier ``(count, bytes)``
(``committed_batch``) and not committed again, so a sender whose call timed
out after the receiver committed gets no duplicate when it sends again (the
receiver's side is in ``_balance_receive``).

A connection that leaves the flow leaves no partition behind:
``drop_orphaned_partitions`` drops the flowfiles of the partitions whose
connection is gone (a DROP event each, a bulletin per partition), whether
the connection was removed while this node ran or was gone at recovery.

Provenance follows NiFi: the sender records SEND (``nifi://<address>/loadbalance/<connection>``,
"Re-distributed for Load-balanced connection") and DROP for each flowfile it
removes; the receiver records RECEIVE, at the connection ("Load Balanced
Connection"), for each flowfile it commits, which gets a new uuid there.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from flowyard.runtime.engine._node import Bulletin
from flowyard.runtime.engine._partition import DO_NOT_LOAD_BALANCE, Partitioner
from flowyard.runtime.engine._queue import FlowFileQueue, QueueMoves
from flowyard.runtime.engine._session_commit import PreparedCommit
from flowyard.runtime.flow import FlowDef
from flowyard.runtime.repository import ProvenanceRecord, Repositories, Transaction
from flowyard.runtime.repository._codec import pack_attrs
from flowyard.runtime.sdk._errors import ContentNotFoundError
from flowyard.runtime.sdk._flowfile import ContentClaim, FlowFile, make_flowfile
from flowyard.runtime.sdk._provenance import ProvenanceEventType as E

__all__ = ["PARTITION_SEPARATOR", "BalancedEngine", "Balancing", "PartitionQueue", "balancing", "confirm_sent",
           "drop_lost", "drop_orphaned_partitions", "empty_partitions", "expire_batch", "figures", "give_back",
           "partition_name", "read_contents", "rebalance", "take_batch"]

log = logging.getLogger("flowyard.engine.balance")

#: Between connection id and node id in a partition's queue name.
PARTITION_SEPARATOR = "#lb:"
#: A "now" after every penalty: a transfer takes penalized flowfiles too.
_FAR_FUTURE_MS = 1 << 62
SEND_DETAILS = "Re-distributed for Load-balanced connection"
#: Flowfiles sharing a content resource are read in one piece up to this span.
_SHARED_READ_MAX = 16 << 20
ORPHAN_DETAILS = "Connection removed from the flow"


def partition_name(connection_id: str, node_id: str) -> str:
    """The flowfile repository's queue name of a connection's partition for ``node_id``."""
    return f"{connection_id}{PARTITION_SEPARATOR}{node_id}"


class BalancedEngine(Protocol):
    """What of the engine load balancing uses (``EngineCore`` has it all)."""

    flow: FlowDef
    queues: dict[str, FlowFileQueue]
    repositories: Repositories
    partitioner: Partitioner | None
    orphaned_queues: dict[int, int]
    swap_threshold: int
    nodes: dict[str, Any]
    bulletins: Any
    bulletin_count: int

    async def stop_processor(self, component_id: str) -> None: ...

    def start_if_scheduled(self, node: Any) -> bool: ...

    @property
    def committer(self) -> Any: ...

    def clock(self) -> int: ...


class PartitionQueue(FlowFileQueue):
    """The flowfiles of ``parent``'s connection waiting for node ``node_id``.

    A plain FIFO queue (no back pressure, expiry or prioritizers of its own)
    whose changes are mirrored into the parent's ``count`` and ``size``, so the
    connection's back pressure and figures include it; when it shrinks below
    the parent's threshold the parent's ``on_space`` listeners run."""

    def __init__(self, parent: FlowFileQueue, node_id: str, queue_id: int,
                 loader: Callable[[int, int, int, int], list[FlowFile]]) -> None:
        super().__init__(parent.connection_id, queue_id, object_threshold=0, size_threshold=0,
                         swap_threshold=parent.swap_threshold, loader=loader)
        self.parent = parent
        self.node_id = node_id

    def _grow(self, n: int, size: int) -> None:
        parent = self.parent
        was_full = parent.is_full()
        parent.count += n
        parent.size += size
        if n < 0 and ((was_full and not parent.is_full()) or parent.count == 0):
            for callback in parent.on_space:
                callback()

    def put_all(self, ffs: Sequence[FlowFile], now_ms: int) -> None:
        size = sum(ff[3] for ff in ffs)
        self.parent.enqueued_total += len(ffs)
        self.parent.enqueued_bytes += size
        self._grow(len(ffs), size)
        super().put_all(ffs, now_ms)

    def restore(self, head: Sequence[FlowFile], swapped_count: int, swapped_size: int,
                swap_after: int, swap_last: int, now_ms: int) -> None:
        before = (self.count, self.size)
        super().restore(head, swapped_count, swapped_size, swap_after, swap_last, now_ms)
        self._grow(self.count - before[0], self.size - before[1])

    def acknowledge(self, ffs: Sequence[FlowFile]) -> None:
        size = sum(ff[3] for ff in ffs)
        self.parent.dequeued_total += len(ffs)
        self.parent.dequeued_bytes += size
        super().acknowledge(ffs)
        self._grow(-len(ffs), -size)

    def _swap_in(self, now_ms: int) -> None:
        before = (self.count, self.size)
        super()._swap_in(now_ms)
        if (self.count, self.size) != before:  # the swapped range was found empty: resynchronised
            self._grow(self.count - before[0], self.size - before[1])


class _Router:
    """``queue.route`` of one load-balanced connection."""

    __slots__ = ("attribute", "balancing", "partitioner", "queue", "strategy")

    def __init__(self, balancing: Balancing, queue: FlowFileQueue, partitioner: Partitioner, strategy: str,
                 attribute: str) -> None:
        self.balancing = balancing
        self.queue = queue
        self.partitioner = partitioner
        self.strategy = strategy
        self.attribute = attribute

    def __call__(self, attributes: dict[str, str]) -> FlowFileQueue:
        queue = self.queue
        node = self.partitioner.node_for(queue.connection_id, self.strategy,
                                         attributes.get(self.attribute) if self.attribute else None)
        if node is None:
            return queue
        part = queue.partitions.get(node)
        return part if part is not None else self.balancing.partition(queue, node)


class Balancing:
    """The load balancing of one engine's queues (see the module docstring)."""

    def __init__(self, engine: BalancedEngine) -> None:
        self.engine = engine
        #: Called with a partition whenever flowfiles enter it (the sender wakes up).
        self.listeners: list[Callable[[PartitionQueue], None]] = []
        #: Every partition made, by queue name (those of a removed connection too, until dropped).
        self.made: dict[str, PartitionQueue] = {}

    def partition(self, queue: FlowFileQueue, node_id: str) -> PartitionQueue:
        """The partition of ``queue`` for ``node_id`` (made, with its durable queue id, on first use)."""
        found = queue.partitions.get(node_id)
        if isinstance(found, PartitionQueue):
            return found
        flowfiles = self.engine.repositories.flowfiles
        part = PartitionQueue(queue, node_id, flowfiles.queue_id(partition_name(queue.connection_id, node_id)),
                              flowfiles.read_range)
        part.on_data.append(lambda: self._notify(part))
        queue.partitions[node_id] = part
        self.made[partition_name(queue.connection_id, node_id)] = part
        return part

    def _notify(self, part: PartitionQueue) -> None:
        for listener in self.listeners:
            listener(part)

    def partitions(self) -> Iterator[PartitionQueue]:
        """Every partition of every queue (empty ones too)."""
        for queue in list(self.engine.queues.values()):
            for part in list(queue.partitions.values()):
                if isinstance(part, PartitionQueue):
                    yield part

    def configure(self) -> None:
        """Take back the partitions the engine's recovery left aside (their queue
        names say connection and node), then give every load-balanced
        connection's queue its routing (none without a partitioner).
        Idempotent; run after recovery and after each change of the flow."""
        engine = self.engine
        flowfiles = engine.repositories.flowfiles
        orphaned = engine.orphaned_queues
        for name, qid in flowfiles.queue_ids.items():
            cid, sep, node = name.rpartition(PARTITION_SEPARATOR)
            queue = engine.queues.get(cid) if sep else None
            if queue is None:
                continue
            part = self.partition(queue, node)
            if qid in orphaned:
                load = flowfiles.load_queue(qid, engine.swap_threshold)
                part.restore(load.head, load.swapped_count, load.swapped_size, load.swap_from_seq, load.last_seq,
                             engine.clock())
                del orphaned[qid]
                if part.count:
                    self._notify(part)
        defs = {c.identifier: c for g in engine.flow.walk() for c in g.connections}
        for cid, queue in engine.queues.items():
            self.configure_queue(queue, defs.get(cid))

    def configure_queue(self, queue: FlowFileQueue, cdef: Any) -> None:
        """Give ``queue`` the routing its connection definition ``cdef`` asks for
        (none without a partitioner, for DO_NOT_LOAD_BALANCE or without a
        definition); the engine calls it when it adds or reconfigures a
        connection, so a changed strategy applies at once."""
        partitioner = self.engine.partitioner
        strategy = getattr(cdef, "load_balance_strategy", DO_NOT_LOAD_BALANCE) if cdef else DO_NOT_LOAD_BALANCE
        if partitioner is None or strategy == DO_NOT_LOAD_BALANCE:
            queue.route = None
            return
        attribute = getattr(cdef, "partitioning_attribute", "") or ""
        route = queue.route
        if not (isinstance(route, _Router) and route.partitioner is partitioner and route.strategy == strategy
                and route.attribute == attribute):
            queue.route = _Router(self, queue, partitioner, strategy, attribute)

    def compression(self, connection_id: str) -> str:
        """The connection's ``loadBalanceCompression`` (DO_NOT_COMPRESS if unknown)."""
        for group in self.engine.flow.walk():
            for c in group.connections:
                if c.identifier == connection_id:
                    return str(getattr(c, "load_balance_compression", "DO_NOT_COMPRESS"))
        return "DO_NOT_COMPRESS"


_BALANCING: weakref.WeakKeyDictionary[Any, Balancing] = weakref.WeakKeyDictionary()


def balancing(engine: BalancedEngine) -> Balancing:
    """The ``Balancing`` of ``engine`` (one per engine, made on first use)."""
    found = _BALANCING.get(engine)
    if found is None:
        found = _BALANCING[engine] = Balancing(engine)
    return found


# -- the sender's side ----------------------------------------------------------


def take_batch(queue: FlowFileQueue, max_count: int, max_bytes: int) -> list[FlowFile]:
    """Take up to ``max_count`` flowfiles of ``queue`` (a partition, or a whole
    local queue when offloading), penalized ones too, stopping before
    ``max_bytes`` of content (at least one). They are in flight until
    ``confirm_sent`` or ``give_back``."""
    if max_count < 1 or max_bytes < 1:
        raise ValueError(f"a transfer batch needs max_count and max_bytes >= 1, not {max_count} and {max_bytes}")
    taken, expired = queue.poll(max_count, _FAR_FUTURE_MS)
    batch = taken + expired  # "expired" at the far future: see expire_batch for the real test
    total = 0
    for i, ff in enumerate(batch):
        total += ff[3]
        if total > max_bytes and i > 0:
            rest = batch[i:]
            queue.requeue(rest)
            return batch[:i]
    return batch


async def expire_batch(engine: BalancedEngine, queue: FlowFileQueue, batch: list[FlowFile]) -> list[FlowFile]:
    """The flowfiles of ``batch`` (taken from ``queue``) older than their
    connection's expiration leave it in one commit, an EXPIRE event each (as
    a session expires them); returns the others, to send. If that commit
    fails the whole batch is back in ``queue`` and the error is raised."""
    owner = queue.parent if isinstance(queue, PartitionQueue) else queue
    exp = owner.expiration_ms
    if not exp or not batch:
        return batch
    now = engine.clock()
    cutoff = now - exp
    expired = [ff for ff in batch if ff[4] < cutoff]
    if not expired:
        return batch
    keep = [ff for ff in batch if ff[4] >= cutoff]
    txn = Transaction()
    txn.drop(queue.queue_id, expired, queue.connection_id, "Connection", now, details="Expiration Threshold exceeded",
             event_type=E.EXPIRE, with_input=True, source=queue.connection_id)
    try:
        await engine.committer.commit(PreparedCommit(txn, QueueMoves(acks={queue: expired})))
    except BaseException:
        give_back(queue, keep)
        raise
    return keep


def read_contents(engine: BalancedEngine, batch: Sequence[FlowFile]) -> list[bytes | None]:
    """The content of each flowfile of ``batch`` (read from the content
    repository); None for a flowfile whose content is gone (``drop_lost``).
    Flowfiles whose claims share a resource (received together, split without
    copying) are read with one read of the range they span."""
    content = engine.repositories.content
    spans: dict[int, list[int]] = {}
    for ff in batch:
        claim = ff[2]
        if claim is not None and claim.length:
            span = spans.get(claim.resource)
            if span is None:
                spans[claim.resource] = [claim.offset, claim.offset + claim.length, 1]
            else:
                span[0] = min(span[0], claim.offset)
                span[1] = max(span[1], claim.offset + claim.length)
                span[2] += 1
    shared: dict[int, tuple[int, bytes]] = {}
    for resource, span in spans.items():
        if span[2] > 1 and span[1] - span[0] <= _SHARED_READ_MAX:
            try:
                shared[resource] = (span[0], content.read_bytes(ContentClaim(resource, span[0], span[1] - span[0])))
            except ContentNotFoundError:
                pass  # read one by one below: only the lost ones are None
    out: list[bytes | None] = []
    for ff in batch:
        claim = ff[2]
        if claim is None or not claim.length:
            out.append(b"")
            continue
        found = shared.get(claim.resource)
        if found is not None:
            start = claim.offset - found[0]
            out.append(found[1][start:start + claim.length])
            continue
        try:
            out.append(content.read_bytes(claim))
        except ContentNotFoundError:
            out.append(None)
    return out


async def drop_lost(engine: BalancedEngine, queue: FlowFileQueue, lost: Sequence[FlowFile]) -> None:
    """Flowfiles taken from ``queue`` whose content is gone leave it in one
    commit with a DROP event each ("Content Not Found", as NiFi's sender)."""
    if lost:
        txn = Transaction()
        txn.drop(queue.queue_id, lost, queue.connection_id, "Connection", engine.clock(),
                 details="Content Not Found", source=queue.connection_id)
        await engine.committer.commit(PreparedCommit(txn, QueueMoves(acks={queue: list(lost)})))


def give_back(queue: FlowFileQueue, batch: Sequence[FlowFile]) -> None:
    """A transfer failed: ``batch`` returns to the front of ``queue`` unchanged."""
    if batch:
        queue.requeue(sorted(batch, key=lambda f: f[7]))


async def confirm_sent(engine: BalancedEngine, queue: FlowFileQueue, batch: Sequence[FlowFile],
                       address: str) -> None:
    """The receiving node (at ``address``) committed ``batch``: remove it from
    ``queue`` in one repository commit, with NiFi's SEND and DROP events. If
    that commit fails the batch is back in the queue (and is sent again: a
    bounded duplicate) and the error is raised."""
    if not batch:
        return
    cid = queue.connection_id
    now = engine.clock()
    txn = Transaction()
    uri = f"nifi://{address}/loadbalance/{cid}"
    events = txn.events
    record = ProvenanceRecord.of
    for ff in batch:
        txn.remove(queue.queue_id, ff)
        packed = pack_attrs(ff[1])
        events.append(record(E.SEND, ff, packed, cid, "Connection", now, prev=ff, prev_packed=packed,
                             details=SEND_DETAILS, uri=uri, source=cid))
        events.append(record(E.DROP, ff, packed, cid, "Connection", now, prev=ff, prev_packed=packed, source=cid))
    await engine.committer.commit(PreparedCommit(txn, QueueMoves(acks={queue: list(batch)})))


async def rebalance(engine: BalancedEngine, part: PartitionQueue, max_count: int = 10_000) -> int:
    """Route up to ``max_count`` flowfiles waiting in ``part`` again, through the
    connection's routing as it is now (its local part when the connection is no
    longer load-balanced), in one repository commit without events: NiFi moves
    a ROUND_ROBIN connection's flowfiles for a node that left to the others,
    and a connection that stops being load-balanced back to the local part.
    Returns how many left ``part`` (those routed to it again stay)."""
    batch = take_batch(part, max_count, 1 << 62)
    if not batch:
        return 0
    parent = part.parent
    route = parent.route
    targets = [parent if route is None else route(ff[1]) for ff in batch]
    moving = [(ff, q) for ff, q in zip(batch, targets, strict=True) if q is not part]
    staying = [ff for ff, q in zip(batch, targets, strict=True) if q is part]
    give_back(part, staying)
    if not moving:
        return 0
    flowfiles = engine.repositories.flowfiles
    seq = flowfiles.seqs.take(len(moving))
    txn = Transaction()
    enqueue: dict[FlowFileQueue, list[FlowFile]] = {}
    taken = []
    for i, (ff, into) in enumerate(moving):
        txn.remove(part.queue_id, ff)
        moved = make_flowfile(ff[0], ff[1], ff[2], ff[3], ff[4], ff[5], ff[6], seq + i)
        txn.place(into.queue_id, moved)
        enqueue.setdefault(into, []).append(moved)
        taken.append(ff)
    txn.claim_deltas = {r: d for r, d in txn.claim_deltas.items() if d}  # a move: every claim stays
    await engine.committer.commit(PreparedCommit(txn, QueueMoves(acks={part: taken}, enqueue=enqueue)))
    return len(moving)


async def _drop_all(engine: BalancedEngine, part: FlowFileQueue, details: str, batch: int) -> int:
    """Drop what ``part`` holds ready, a DROP event each, one commit per ``batch``."""
    dropped = 0
    while True:
        taken = take_batch(part, batch, 1 << 62)
        if not taken:
            return dropped
        txn = Transaction()
        txn.drop(part.queue_id, taken, part.connection_id, "Connection", engine.clock(), details=details,
                 source=part.connection_id)
        await engine.committer.commit(PreparedCommit(txn, QueueMoves(acks={part: taken})))
        dropped += len(taken)


async def empty_partitions(engine: BalancedEngine, queue: FlowFileQueue, *, batch: int = 10_000) -> int:
    """Drop every flowfile waiting in ``queue``'s partitions for other nodes
    (NiFi's "Empty queue" empties them too), a DROP event each, one commit per
    ``batch``; a batch a sender has in flight is not touched (it is sent, or
    dropped by the next call once given back). Returns how many."""
    dropped = 0
    for part in list(queue.partitions.values()):
        dropped += await _drop_all(engine, part, "FlowFile Queue emptied by user", batch)
    return dropped


async def drop_orphaned_partitions(engine: BalancedEngine, *, batch: int = 10_000) -> int:
    """Drop the flowfiles of every partition whose connection is no longer in
    the flow: those of a connection removed while the engine ran (its
    ``PartitionQueue`` is still known to ``Balancing``) and those recovery left
    aside (``engine.orphaned_queues``). A DROP event each ("Connection removed
    from the flow") and a WARNING bulletin per partition naming connection,
    node and count. A batch a sender has in flight is left (the next call
    drops it if it comes back). Returns how many were dropped."""
    bal = balancing(engine)
    flowfiles = engine.repositories.flowfiles
    orphaned = engine.orphaned_queues
    total = 0
    for name, qid in list(flowfiles.queue_ids.items()):
        cid, sep, node = name.rpartition(PARTITION_SEPARATOR)
        if not sep:
            continue
        live = engine.queues.get(cid)
        part: FlowFileQueue | None = bal.made.get(name)
        if live is not None and (part is None or live.partitions.get(node) is part):
            continue  # the connection is there (a partition of it, or one not made yet)
        if part is not None and live is None and not part.count:
            bal.made.pop(name, None)
            continue
        if part is None or live is not None:  # left aside at recovery, or a removed connection's old partition
            if qid not in orphaned:
                continue
            load = flowfiles.load_queue(qid, engine.swap_threshold)
            part = FlowFileQueue(cid, qid, object_threshold=0, size_threshold=0,
                                 swap_threshold=engine.swap_threshold, loader=flowfiles.read_range)
            part.restore(load.head, load.swapped_count, load.swapped_size, load.swap_from_seq, load.last_seq,
                         engine.clock())
            del orphaned[qid]
        dropped = await _drop_all(engine, part, ORPHAN_DETAILS, batch)
        if not part.count:
            bal.made.pop(name, None)
        if dropped:
            total += dropped
            message = (f"{dropped} flowfile(s) waiting in connection {cid!r} for node {node!r} were dropped: the "
                       "connection is no longer in the flow")
            engine.bulletins.append(Bulletin(engine.clock(), cid, "Connection", "WARNING", message))
            engine.bulletin_count += 1
            log.warning("%s", message)
    return total


def figures(queues: Mapping[str, FlowFileQueue]) -> dict[str, dict[str, int]]:
    """Per connection with partitions: how many flowfiles wait for each other node."""
    return {cid: {node: part.count for node, part in q.partitions.items()}
            for cid, q in queues.items() if q.partitions}

