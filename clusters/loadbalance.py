"""Load-balanced connections across the cluster (docs/cluster-internals.md,
"Load-balanced connections"), and offloading a node's queued data.

``ClusterPartitioner`` is the engine's ``Partitioner`` in a cluster: which
node each flowfile entering a load-balanced connection belongs to, among the
CONNECTED nodes (this one included), as NiFi decides it:

- ``ROUND_ROBIN``: the next node, per connection, in node-id order;
- ``PARTITION_BY_ATTRIBUTE``: a stable hash of the attribute's value (jump
  consistent hashing over the sorted node ids, so a node joining or leaving
  moves few values); flowfiles without the attribute hash as the empty value,
  so they all go to one node (NiFi hashes the missing value alike);
- ``SINGLE_NODE``: every flowfile to the first node ordered by address (NiFi's
  first partition; its partitions are sorted by address).

A node that is not connected gets nothing new. What already waits for it: for
ROUND_ROBIN it is routed again to the connected nodes (NiFi rebalances on
failure); for PARTITION_BY_ATTRIBUTE and SINGLE_NODE it stays in its partition
(durable, counted) until the node is connected again or this node is
offloaded (as NiFi), unless the node was removed from the cluster (no longer
a member at all): then it is routed again too. When a connection stops being
load-balanced, its partitions go back to its local part; when it is removed
from the flow, what its partitions hold is dropped (``drop_orphaned_partitions``:
a DROP event each and a bulletin), and their senders stop.

``LoadBalancer`` moves the flowfiles: one sender task per partition holding
flowfiles takes batches of up to ``batch_count`` flowfiles or ``batch_bytes``
of content, sends them to the node's ``/lb/v1/transfer`` (compressed with zlib
per the connection's ``loadBalanceCompression``), and removes them only after
the receiver answered that it committed them (``confirm_sent``); on a failure
the batch goes back to the partition and is sent again after a back-off, the
same flowfiles under the same batch id (``batch_id``). The receiver keeps the
last batch ids it committed per (sender, connection) in the commit of the
flowfiles, and answers a batch it already committed with the earlier
``{count, bytes}`` without committing it again: a retry after a timeout, a
lost reply or a crash of the sender before it removed the batch makes no
duplicate (an offload sends such a batch to the same node again). One could
only come from a batch whose flowfiles changed between the two sends (some
expired in between, or a restart with another batch size), or that went to
another node after its node left (ROUND_ROBIN routes it again).
The receiver refuses a batch with 503 while its own state is not CONNECTED
(OFFLOADING, OFFLOADED, DISCONNECTED: the sender's view of the cluster will
route elsewhere) or while its own part of the connection is over its
back-pressure threshold (NiFi looks at the local partition only): back
pressure there slows the sender. ``offload`` empties this node: it stops the
processors (remembered: ``resume_processors`` starts those the flow marks
RUNNING again once the node connects) and moves every queued flowfile to the
connected peers, round robin, through ``/lb/v1/offload`` (same rules; the
receiver routes them through the connection's own balancing and never
refuses for back pressure); it gives up with ``OffloadError`` after
``offload_attempts`` failed transfers in a row or while no peer is connected.

The wire format is in ``clusters._lbwire``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import trio

from flowyard.clusters._lbwire import batch_of, decode_batch, encode_batch
from flowyard.clusters._members import NodeState
from flowyard.clusters.channel import ChannelRefusal, ClusterError
from flowyard.runtime.engine._balance import (
    BalancedEngine,
    PartitionQueue,
    balancing,
    confirm_sent,
    drop_lost,
    drop_orphaned_partitions,
    expire_batch,
    give_back,
    read_contents,
    rebalance,
    take_batch,
)
from flowyard.runtime.engine._balance_receive import batch_id, committed_batch, receive_batch
from flowyard.runtime.engine._partition import PARTITION_BY_ATTRIBUTE, ROUND_ROBIN, SINGLE_NODE
from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.repository import StateConflict
from flowyard.runtime.sdk._errors import FlowyardError

__all__ = ["OFFLOAD_PATH", "TRANSFER_PATH", "ClusterPartitioner", "LoadBalancer", "OffloadError", "batch_of",
           "decode_batch", "encode_batch", "jump_hash"]

log = logging.getLogger("flowyard.cluster.loadbalance")

TRANSFER_PATH = "/lb/v1/transfer"
OFFLOAD_PATH = "/lb/v1/offload"
#: NiFi's batch bounds for a load-balance transaction.
BATCH_COUNT = 1_000
BATCH_BYTES = 4 << 20


class OffloadError(FlowyardError):
    """Offloading cannot proceed (no connected node to take the data)."""


class _Peer(Protocol):
    """A cluster member (``Member``)."""

    @property
    def node_id(self) -> str: ...

    @property
    def address(self) -> str: ...


class _NodeConfig(Protocol):
    """This node's configuration (``ClusterConfig``)."""

    @property
    def node_id(self) -> str: ...

    @property
    def address(self) -> str: ...


class _Node(Protocol):
    """What of ``ClusterNode`` load balancing uses."""

    @property
    def config(self) -> _NodeConfig: ...

    @property
    def state(self) -> NodeState: ...

    def connected_peers(self) -> Sequence[_Peer]: ...

    def members(self) -> Sequence[_Peer]: ...


class _Channel(Protocol):
    """What of ``NodeChannel`` load balancing uses."""

    async def call(self, address: str, path: str, payload: Any, *, timeout: float, node: str | None = None) -> Any:
        ...


def jump_hash(key: int, buckets: int) -> int:
    """Jump consistent hash (Lamping and Veach): the bucket of ``key`` among
    ``buckets``; growing ``buckets`` by one moves only 1/n of the keys."""
    if buckets < 1:
        raise ValueError(f"jump_hash needs at least one bucket, not {buckets}")
    b, j = -1, 0
    key &= 0xFFFFFFFFFFFFFFFF
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


def _value_hash(value: str | None) -> int:
    return int.from_bytes(hashlib.blake2b((value or "").encode(), digest_size=8).digest(), "big")


class ClusterPartitioner:
    """The engine's ``Partitioner`` from the cluster's connected nodes (see the
    module docstring). The node list is read from ``node.connected_peers()``
    at most every ``refresh_seconds`` (it is asked once per flowfile)."""

    def __init__(self, node: _Node, *, refresh_seconds: float = 0.25,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.node = node
        self.self_id = node.config.node_id
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._next_refresh = float("-inf")
        self._ids: list[str] = [self.self_id]
        self._first: str = self.self_id
        self._counters: dict[str, int] = {}

    def refresh(self) -> None:
        """Read the connected nodes now."""
        peers = list(self.node.connected_peers())
        by_id = {p.node_id: p.address for p in peers if p.node_id != self.self_id}
        by_id[self.self_id] = self.node.config.address
        self._ids = sorted(by_id)
        self._first = min(by_id, key=lambda nid: (by_id[nid], nid))
        self._next_refresh = self._clock() + self.refresh_seconds

    def nodes(self) -> list[str]:
        """The node ids flowfiles are spread over (connected, this one included), sorted."""
        if self._clock() >= self._next_refresh:
            self.refresh()
        return self._ids

    def node_for(self, connection_id: str, strategy: str, attribute: str | None) -> str | None:
        ids = self.nodes()
        if strategy == ROUND_ROBIN:
            i = self._counters.get(connection_id, 0)
            self._counters[connection_id] = i + 1
            chosen = ids[i % len(ids)]
        elif strategy == PARTITION_BY_ATTRIBUTE:
            chosen = ids[jump_hash(_value_hash(attribute), len(ids))]
        elif strategy == SINGLE_NODE:
            chosen = self._first
        else:
            return None
        return None if chosen == self.self_id else chosen


# -- the load balancer -----------------------------------------------------------


class LoadBalancer:
    """Sends the partitions of this node's load-balanced connections to their
    nodes and receives the other nodes' (see the module docstring)."""

    def __init__(self, engine: BalancedEngine, channel: _Channel, node: _Node, *,
                 batch_count: int = BATCH_COUNT, batch_bytes: int = BATCH_BYTES, timeout: float = 30.0,
                 retry_first: float = 0.05, retry_max: float = 5.0, rescan_seconds: float = 1.0,
                 offload_attempts: int = 30) -> None:
        if batch_count < 1 or batch_bytes < 1:
            raise ValueError(f"batch_count and batch_bytes must be >= 1, not {batch_count} and {batch_bytes}")
        self.engine = engine
        self.channel = channel
        self.node = node
        self.node_id = node.config.node_id
        self.batch_count = batch_count
        self.batch_bytes = batch_bytes
        self.timeout = timeout
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.rescan_seconds = rescan_seconds
        self.offload_attempts = offload_attempts
        self.balancing = balancing(engine)
        self._wake = trio.Event()
        self._senders: set[tuple[str, str]] = set()
        #: Flowfiles (bytes) sent and confirmed, received and committed, since start.
        self.sent = [0, 0]
        self.received = [0, 0]
        #: Transfers refused by a peer for back pressure, and failed ones (peer unavailable or refusing).
        self.refused = 0
        self.failures = 0
        #: Back-offs of senders whose node was not connected.
        self.waits = 0
        #: Set by ``offload``: the partition senders stop, offload moves everything.
        self.offloading = False
        #: Batches received again and answered without a commit (a sender's retry).
        self.repeats = 0
        #: Why the last transfer failed ("" before any).
        self.last_error = ""
        #: The processors ``offload`` stopped (``resume_processors`` starts them again).
        self.stopped_by_offload: list[str] = []
        self._retry: dict[int, int] = {}  # queue id -> size of its unconfirmed batch (sent again as it was)
        self._retry_to: dict[int, str] = {}  # queue id -> the node that may have committed that batch
        self._receiving: dict[tuple[str, str], trio.Lock] = {}

    def routes(self) -> dict[str, Callable[[Any, str], Awaitable[Any]]]:
        """The node-protocol handlers to serve (``NodeChannel.serve``)."""
        return {TRANSFER_PATH: self._on_transfer, OFFLOAD_PATH: self._on_offload}

    # -- receiving ------------------------------------------------------------------

    async def _receive(self, payload: Any, peer: str, *, offload: bool) -> dict[str, int]:
        """Commit one batch of ``peer`` (one batch per sender and connection at
        a time); a batch committed before is answered as it was then."""
        try:
            cid, items = decode_batch(payload)
            batch = batch_of(payload)
        except ValueError as exc:
            raise ChannelRefusal(400, str(exc)) from None
        lock = self._receiving.get((peer, cid))
        if lock is None:
            lock = self._receiving[(peer, cid)] = trio.Lock()
        async with lock:
            if batch is not None:
                earlier = committed_batch(self.engine, peer, cid, batch)
                if earlier is not None:
                    self.repeats += 1
                    return {"count": earlier[0], "bytes": earlier[1]}
            state = getattr(self.node, "state", NodeState.CONNECTED)  # a fake without one (bench): connected
            if state is not NodeState.CONNECTED:
                raise ChannelRefusal(503, f"node {self.node_id} is {state.value}: it takes no load-balanced "
                                          "flowfiles")
            queue = self.engine.queues.get(cid)
            if queue is None:
                raise ChannelRefusal(404, f"connection {cid!r} is not in the flow of node {self.node_id}")
            if not offload and queue.is_local_full():
                raise ChannelRefusal(503, f"connection {cid!r} is full on node {self.node_id} (back pressure)")
            try:
                count, size = await receive_batch(self.engine, cid, items, peer=peer, offload=offload, batch=batch)
            except (FlowyardError, StateConflict) as exc:
                raise ChannelRefusal(503, f"node {self.node_id} could not commit the transfer: {exc}") from None
        self.received[0] += count
        self.received[1] += size
        return {"count": count, "bytes": size}

    async def _on_transfer(self, payload: Any, peer: str) -> dict[str, int]:
        return await self._receive(payload, peer, offload=False)

    async def _on_offload(self, payload: Any, peer: str) -> dict[str, int]:
        return await self._receive(payload, peer, offload=True)

    # -- sending --------------------------------------------------------------------

    def _peer(self, node_id: str) -> _Peer | None:
        for peer in self.node.connected_peers():
            if peer.node_id == node_id:
                return peer
        return None

    def _removed(self, node_id: str) -> bool:
        """Whether ``node_id`` is no longer a member of the cluster at all (this
        node sees a membership it is part of, without it)."""
        ids = {m.node_id for m in self.node.members()}
        return self.node_id in ids and node_id not in ids

    def _notify(self, part: PartitionQueue) -> None:
        if (part.connection_id, part.node_id) not in self._senders:
            self._wake.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep one sender per partition holding flowfiles (started when one
        gets flowfiles), until cancelled. Also keeps the engine's queues
        configured for load balancing (``Balancing.configure``, at start and
        every ``rescan_seconds``: a changed strategy applies within that), and
        drops what waits in the partitions of connections no longer in the
        flow (``drop_orphaned_partitions``, as often)."""
        self.balancing.listeners.append(self._notify)
        try:
            async with trio.open_nursery() as nursery:
                self.balancing.configure()
                configured = trio.current_time()
                task_status.started()
                orphans = True
                while True:
                    self._wake = trio.Event()
                    if trio.current_time() - configured >= self.rescan_seconds:
                        self.balancing.configure()
                        configured = trio.current_time()
                        orphans = True
                    if orphans:
                        orphans = False
                        try:
                            await drop_orphaned_partitions(self.engine)
                        except (FlowyardError, StateConflict) as exc:
                            log.error("dropping the partitions of removed connections failed: %s", exc)
                    for part in self.balancing.partitions():
                        key = (part.connection_id, part.node_id)
                        if part.count and key not in self._senders and not self.offloading:
                            self._senders.add(key)
                            nursery.start_soon(self._send_partition, part, key)
                    with trio.move_on_after(self.rescan_seconds):
                        await self._wake.wait()
        finally:
            self.balancing.listeners.remove(self._notify)

    async def _send_partition(self, part: PartitionQueue, key: tuple[str, str]) -> None:
        delay = self.retry_first
        try:
            while part.count > part.in_flight and not self.offloading:
                if self.engine.queues.get(part.connection_id) is not part.parent:
                    return  # the connection was removed: what waits is dropped (drop_orphaned_partitions)
                peer = self._peer(part.node_id)
                route = part.parent.route
                # No longer load-balanced: back to the local part; a ROUND_ROBIN connection's node
                # left, or any connection's node was removed: to the connected ones (NiFi).
                # What is routed to the same node again stays.
                gone = peer is None and (getattr(route, "strategy", None) == ROUND_ROBIN
                                         or self._removed(part.node_id))
                if (route is None or gone) and await rebalance(self.engine, part, 10 * self.batch_count):
                    continue
                if peer is None:  # not connected: its flowfiles wait (NiFi), checked again after the back-off
                    self.waits += 1
                    await trio.sleep(delay)
                    delay = min(delay * 2, self.retry_max)
                    continue
                done = await self._send_batch(part, peer, TRANSFER_PATH)
                if done is None:
                    await trio.sleep(delay)
                    delay = min(delay * 2, self.retry_max)
                elif done == (0, 0):
                    return
                else:
                    delay = self.retry_first
        finally:
            self._senders.discard(key)

    async def _send_batch(self, queue: FlowFileQueue, peer: _Peer, path: str) -> tuple[int, int] | None:
        """Send one batch of ``queue`` to ``peer``: ``(count, bytes)`` sent and
        removed, ``(0, 0)`` if the queue had nothing ready, None if the peer did not
        take it (the batch is back in the queue)."""
        while True:
            # a batch that failed is sent again as it was (same flowfiles, same id: the receiver knows it)
            batch = take_batch(queue, self._retry.pop(queue.queue_id, self.batch_count), self.batch_bytes)
            if not batch:
                return 0, 0
            try:
                batch = await expire_batch(self.engine, queue, batch)  # what expired waiting is not sent
            except FlowyardError as exc:  # the batch is back in the queue
                self.failures += 1
                self.last_error = f"expiring flowfiles failed: {exc}"
                log.error("expiring flowfiles of %s failed: %s", queue.connection_id, exc)
                return None
            if batch:
                break
        read = read_contents(self.engine, batch)
        if any(c is None for c in read):
            lost = [ff for ff, c in zip(batch, read, strict=True) if c is None]
            batch = [ff for ff, c in zip(batch, read, strict=True) if c is not None]
            log.error("%d flowfile(s) of %s lost their content: dropped", len(lost), queue.connection_id)
            try:
                await drop_lost(self.engine, queue, lost)
            except FlowyardError:  # not dropped: the failed commit gave them back; the rest goes back too
                give_back(queue, batch)
                return None
            if not batch:
                return None
        contents = [c for c in read if c is not None]
        try:
            payload = encode_batch(queue.connection_id, self.balancing.compression(queue.connection_id),
                                   batch, contents, batch_id(self.node_id, queue.queue_id, batch))
            size = sum(len(c) for c in contents)
            self._retry[queue.queue_id] = len(batch)
            reply = await self.channel.call(peer.address, path, payload, timeout=self.timeout, node=peer.node_id)
        except ClusterError as exc:  # unavailable, refused (503: back pressure there), not authenticated, too big
            give_back(queue, batch)
            self.failures += 1
            self.last_error = f"node {peer.node_id}: {exc}"
            status = getattr(exc, "status", None)
            if status in (400, 404, 409, 413, 503):  # refused before its commit: any node may take it
                self._retry_to.pop(queue.queue_id, None)
            else:  # it may have committed it: an offload sends it to that node again
                self._retry_to[queue.queue_id] = peer.node_id
            if status == 503:
                self.refused += 1
            log.debug("transfer of %d flowfile(s) of %s to %s failed: %s", len(batch), queue.connection_id,
                      peer.node_id, exc)
            return None
        except BaseException:
            give_back(queue, batch)  # cancelled or broken mid-transfer: the receiver may have it (same id next time)
            self._retry_to[queue.queue_id] = peer.node_id
            raise
        if not (isinstance(reply, dict) and reply.get("count") == len(batch) and reply.get("bytes") == size):
            give_back(queue, batch)
            self.failures += 1
            self.last_error = f"node {peer.node_id} answered {reply!r:.200}"
            self._retry_to[queue.queue_id] = peer.node_id
            log.warning("node %s answered a transfer of %d flowfile(s) (%d bytes) of %s with %r; sending again",
                        peer.node_id, len(batch), size, queue.connection_id, reply)
            return None
        try:
            await confirm_sent(self.engine, queue, batch, peer.address)
        except FlowyardError as exc:  # not removed (the batch is back in the queue): sent again, same id
            self.failures += 1
            self.last_error = f"removing a sent batch failed: {exc}"
            self._retry_to[queue.queue_id] = peer.node_id
            log.error("node %s committed %d flowfile(s) of %s but removing them here failed: %s",
                      peer.node_id, len(batch), queue.connection_id, exc)
            return None
        self._retry.pop(queue.queue_id, None)
        self._retry_to.pop(queue.queue_id, None)
        self.sent[0] += len(batch)
        self.sent[1] += size
        return len(batch), size

    # -- offloading -----------------------------------------------------------------

    async def offload(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> dict[str, int]:
        """Empty this (OFFLOADING) node: stop its processors, then move every
        queued flowfile of every connection, every partition included, to the
        connected peers round robin (the partition senders stop; a batch one of
        them has in flight is waited for; flowfiles past their connection's
        expiration are expired here, not moved). The processors it stops are
        remembered for ``resume_processors``. Returns ``{"count", "bytes"}``
        moved from the moment it started. Raises ``OffloadError`` while no peer
        is connected for ``retry_max`` * 10 s, or after ``offload_attempts``
        failed transfers in a row (naming the last failure); what was not
        moved stays queued here."""
        engine = self.engine
        self.offloading = True
        before = list(self.sent)
        task_status.started()
        try:
            for component_id, processor in list(engine.nodes.items()):
                if processor.running:
                    if component_id not in self.stopped_by_offload:
                        self.stopped_by_offload.append(component_id)
                    await engine.stop_processor(component_id)
            turn = [0]
            while any(q.count for q in engine.queues.values()):
                progress = False
                for queue in list(engine.queues.values()):
                    for part in [queue, *list(queue.partitions.values())]:
                        progress = await self._offload_part(part, turn) or progress
                if not progress:  # what is left is in flight elsewhere (a sender's batch): let it finish
                    await trio.sleep(self.retry_first)
        finally:
            self.offloading = False  # cancelled (the node is connected again): the senders resume
            self._wake.set()
        return {"count": self.sent[0] - before[0], "bytes": self.sent[1] - before[1]}

    def resume_processors(self) -> list[str]:
        """Start again the processors ``offload`` stopped that the flow still
        marks RUNNING (the node connects again after an offload, which stopped
        them without an edit of the flow); forgets them. Returns the ids started."""
        started = []
        for component_id in self.stopped_by_offload:
            processor = self.engine.nodes.get(component_id)
            try:
                if processor is not None and self.engine.start_if_scheduled(processor):
                    started.append(component_id)
            except FlowyardError as exc:  # invalid meanwhile: it stays stopped, as at a start
                log.warning("%s not started again after the offload: %s", component_id, exc)
        self.stopped_by_offload = []
        return started

    async def _offload_part(self, part: FlowFileQueue, turn: list[int]) -> bool:
        """Send what ``part`` holds ready to the connected peers in turn (``turn[0]``
        counts the batches); whether anything moved."""
        moved = False
        delay, waited, failed = self.retry_first, 0.0, 0
        while part.count > part.in_flight:
            peers = sorted((p for p in self.node.connected_peers() if p.node_id != self.node_id),
                           key=lambda p: p.node_id)
            if not peers:
                if waited >= self.retry_max * 10:
                    raise OffloadError(f"node {self.node_id} cannot offload: no other node is connected")
                await trio.sleep(delay)
                waited += delay
                delay = min(delay * 2, self.retry_max)
                continue
            # a batch that may have been committed goes to the same node again (it knows its id)
            peer = next((p for p in peers if p.node_id == self._retry_to.get(part.queue_id)), None)
            if peer is None:
                peer = peers[turn[0] % len(peers)]
                turn[0] += 1
            done = await self._send_batch(part, peer, OFFLOAD_PATH)
            if done is None:
                failed += 1
                if failed >= self.offload_attempts:
                    raise OffloadError(f"node {self.node_id} stopped offloading after {failed} failed transfers in "
                                       f"a row (the last: {self.last_error or 'unknown'})")
                await trio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
            elif done == (0, 0):
                break
            else:
                moved, delay, waited, failed = True, self.retry_first, 0.0, 0
        return moved
