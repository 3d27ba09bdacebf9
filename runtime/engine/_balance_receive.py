"""Load-balanced connections, the receiver's side (see ``_balance`` and
docs/cluster-internals.md, "Load-balanced connections"): the id of a
transfer batch, the batch ids a receiver committed, and the commit of a
received batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple

from flowyard.runtime.engine._balance import BalancedEngine
from flowyard.runtime.engine._queue import FlowFileQueue, QueueMoves
from flowyard.runtime.engine._session_commit import PreparedCommit
from flowyard.runtime.repository import ProvenanceRecord, Transaction
from flowyard.runtime.repository._codec import pack_attrs
from flowyard.runtime.sdk._flowfile import ContentClaim, FlowFile, make_flowfile, new_uuids
from flowyard.runtime.sdk._provenance import ProvenanceEventType as E

__all__ = ["RECEIVED_KEEP", "Received", "batch_id", "committed_batch", "receive_batch", "received_key"]

#: How many committed batch ids a receiver keeps per (sender, connection).
RECEIVED_KEEP = 8
#: The state key space of those ids (not a component id: component ids never start with NUL).
_RECEIVED_PREFIX = "\0lb-received/"


def batch_id(node_id: str, queue_id: int, batch: Sequence[FlowFile]) -> str:
    """The id of a transfer of ``batch`` taken from queue ``queue_id`` of node
    ``node_id``: the same flowfiles give the same id (in any order, after a
    restart too), other flowfiles another (a digest of their uuids)."""
    if not batch:
        raise ValueError("a transfer batch id needs at least one flowfile")
    seqs = [ff[7] for ff in batch]
    digest = hashlib.blake2b(b"\n".join(sorted(f"{ff[0]}/{ff[1].get('uuid', '')}".encode() for ff in batch)),
                             digest_size=12).hexdigest()
    return f"{node_id}:{queue_id}:{min(seqs)}-{max(seqs)}:{len(batch)}:{digest}"


def received_key(sender: str, connection_id: str) -> str:
    """The state key under which a receiver keeps the batch ids it committed from ``sender`` into a connection."""
    return f"{_RECEIVED_PREFIX}{sender}/{connection_id}"


def committed_batch(engine: BalancedEngine, sender: str, connection_id: str, batch: str) -> tuple[int, int] | None:
    """``(count, bytes)`` this node committed for batch ``batch`` of ``sender``
    into ``connection_id`` (one of the last ``RECEIVED_KEEP``), None if none."""
    found = engine.repositories.state.get(received_key(sender, connection_id)).values.get(batch)
    if found is None:
        return None
    count, size, _ = found.split()
    return int(count), int(size)


def _remember(engine: BalancedEngine, txn: Transaction, sender: str, connection_id: str, batch: str, count: int,
              size: int) -> None:
    """Record ``batch`` as committed in ``txn`` (the commit of its flowfiles);
    the oldest beyond ``RECEIVED_KEEP`` are forgotten."""
    key = received_key(sender, connection_id)
    state = engine.repositories.state.get(key)
    values = dict(state.values)
    order = sorted(values, key=lambda k: int(values[k].split()[2]))
    last = int(values[order[-1]].split()[2]) if order else 0
    for old in order[:max(0, len(order) + 1 - RECEIVED_KEEP)]:
        del values[old]
    values[batch] = f"{count} {size} {last + 1}"
    txn.states[key] = (state.version, values)


class Received(NamedTuple):
    """One flowfile of a transfer as the receiver gets it."""

    attributes: dict[str, str]
    content: bytes | memoryview
    entry_date: int
    lineage_start: int


async def receive_batch(engine: BalancedEngine, connection_id: str, items: Sequence[Received], *, peer: str,
                        offload: bool = False, batch: str | None = None) -> tuple[int, int]:
    """Commit flowfiles sent by node ``peer`` into connection ``connection_id``
    in one repository transaction: content, records and a RECEIVE event each
    (a new uuid each, as NiFi), and the id ``batch`` (when given) among the
    ones ``committed_batch`` knows. A load-balance transfer goes to this node's
    part of the queue; an ``offload`` goes through the connection's routing
    (an offloaded node's data is balanced again). Returns ``(count, bytes)``.
    The caller checks ``committed_batch`` first, one call per (peer,
    connection) at a time (a concurrent change of the ids fails the commit
    with ``StateConflict``).

    Raises ``LookupError`` if the connection is unknown here; ``FlowyardError``
    if the commit failed (nothing was written)."""
    queue = engine.queues.get(connection_id)
    if queue is None:
        raise LookupError(f"connection {connection_id!r} is not in this node's flow")
    if not items:
        return 0, 0
    repos = engine.repositories
    flowfiles = repos.flowfiles
    n = len(items)
    seq = flowfiles.seqs.take(n)
    fid = flowfiles.ids.take(n)
    uuids = new_uuids(n)
    now = engine.clock()
    txn = Transaction()
    writer = None
    total = sum(len(item.content) for item in items)
    if total:
        writer = repos.content.writer()
    route = queue.route if offload else None
    enqueue: dict[FlowFileQueue, list[FlowFile]] = {}
    uri = f"nifi://{peer}/loadbalance/{connection_id}"
    offset = 0
    for i, item in enumerate(items):
        attrs = dict(item.attributes)
        remote_uuid = attrs.get("uuid", "")
        attrs["uuid"] = uuids[i]
        size = len(item.content)
        claim = None
        if size and writer is not None:
            writer.write(item.content)
            claim = ContentClaim(writer.resource, offset, size)
            offset += size
        ff = make_flowfile(fid + i, attrs, claim, size, item.entry_date, item.lineage_start, 0, seq + i)
        into = queue if route is None else route(attrs)
        packed = pack_attrs(attrs)
        txn.place(into.queue_id, ff, packed)
        enqueue.setdefault(into, []).append(ff)
        txn.events.append(ProvenanceRecord.of(E.RECEIVE, ff, packed, connection_id, "Load Balanced Connection", now,
                                              uri=uri, details=f"source flowfile {remote_uuid}" if remote_uuid
                                              else None))
    streamed = []
    if writer is not None:
        writer.finish()
        txn.new_lengths[writer.resource] = writer.length
        if writer.streamed:
            txn.streamed.append(writer.resource)
            streamed.append(writer)
        else:
            txn.inline_content.extend(writer.inline)
    if batch is not None:
        _remember(engine, txn, peer, connection_id, batch, n, total)
    prepared = PreparedCommit(txn, QueueMoves(enqueue=enqueue), streamed=streamed, content=repos.content)
    await engine.committer.commit(prepared)
    return n, total
