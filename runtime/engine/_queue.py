"""The flowfile queue of one connection. Pure bookkeeping: no trio, no I/O of its own.

Every queued flowfile is already committed in the flowfile repository; the
queue only decides who gets what next. Its parts:

- *active*: flowfiles in memory, FIFO (a deque) or ordered by the chained
  prioritizers (a heap);
- *penalized*: a heap by penalty expiry; they rejoin active when it passes;
- *swapped*: beyond ``swap_threshold`` in memory, new arrivals stay only on
  disk. They form one contiguous range of entry sequences
  ``(swap_after, swap_last]`` and are read back ``SWAP_BATCH`` at a time by the
  ``loader`` when active runs dry, so memory stays bounded;
- *in flight*: taken by a session that has not committed yet. They still count
  towards the queue's size (as in NiFi), so back pressure sees them.

Back pressure: the queue is full when its count reaches ``object_threshold``
or its size reaches ``size_threshold`` (0 disables either).

Listeners (``on_data``, ``on_space``) are plain callables the scheduler uses to
wake processors; they are called synchronously after the change.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flowyard.runtime.sdk._flowfile import FlowFile

__all__ = ["PRIORITIZERS", "SWAP_BATCH", "FlowFileQueue", "QueueMoves", "QueueStatus"]

#: Flowfiles read back from disk per swap-in (NiFi swaps 10,000 per file).
SWAP_BATCH = 10_000

SwapLoader = Callable[[int, int, int, int], list[FlowFile]]


def _priority_key(ff: FlowFile) -> tuple[int, float | str]:
    # NiFi's PriorityAttributePrioritizer: lowest value first; numbers before
    # text; flowfiles without the attribute last.
    value = ff[1].get("priority")
    if value is None:
        return (2, "")
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


#: Prioritizer name -> sort key function (smaller comes out first).
PRIORITIZERS: dict[str, Callable[[FlowFile], Any]] = {
    "FirstInFirstOutPrioritizer": lambda ff: ff[7],
    "OldestFlowFileFirstPrioritizer": lambda ff: (ff[5], ff[4]),
    "NewestFlowFileFirstPrioritizer": lambda ff: (-ff[5], -ff[4]),
    "PriorityAttributePrioritizer": _priority_key,
}


class QueueStatus:
    """A snapshot of a queue's figures."""

    __slots__ = ("count", "in_flight", "penalized", "size", "swapped")

    def __init__(self, count: int, size: int, in_flight: int, penalized: int, swapped: int) -> None:
        self.count = count
        self.size = size
        self.in_flight = in_flight
        self.penalized = penalized
        self.swapped = swapped

    def __repr__(self) -> str:
        return (
            f"QueueStatus(count={self.count}, size={self.size}, in_flight={self.in_flight}, "
            f"penalized={self.penalized}, swapped={self.swapped})"
        )


class FlowFileQueue:
    """The queue of one connection. See the module docstring."""

    def __init__(
        self,
        connection_id: str,
        queue_id: int,
        *,
        object_threshold: int = 10_000,
        size_threshold: int = 1 << 30,
        expiration_ms: int = 0,
        prioritizers: Sequence[str] = (),
        swap_threshold: int = 20_000,
        loader: SwapLoader | None = None,
    ) -> None:
        self.connection_id = connection_id
        self.queue_id = queue_id
        self.object_threshold = object_threshold
        self.size_threshold = size_threshold
        self.expiration_ms = expiration_ms
        self.swap_threshold = swap_threshold
        self._loader = loader
        self._fifo: deque[FlowFile] = deque()
        self._heap: list[tuple[Any, int, FlowFile]] = []
        self._key: Callable[[FlowFile], Any] | None = None
        self.set_prioritizers(prioritizers)
        self._penalized: list[tuple[int, int, FlowFile]] = []
        self._swapped_count = 0
        self._swapped_size = 0
        self._swap_after = 0
        self._swap_last = 0
        self.count = 0
        self.size = 0
        self.in_flight = 0
        self._in_flight_size = 0
        self.on_data: list[Callable[[], None]] = []
        self.on_space: list[Callable[[], None]] = []
        #: Flowfiles (bytes) that entered the queue, and that left it for good (acknowledged:
        #: taken by a committed session, expired, or dropped), since the engine started.
        self.enqueued_total = 0
        self.enqueued_bytes = 0
        self.dequeued_total = 0
        self.dequeued_bytes = 0
        #: Load-balanced connection in a cluster (``_balance``): picks the queue each
        #: flowfile a session transfers here goes to (this one, or the partition of
        #: another node); None (the single-node case) costs the commit nothing.
        self.route: Callable[[dict[str, str]], FlowFileQueue] | None = None
        #: Node id -> the flowfiles of this connection waiting for that node. They
        #: count in ``count`` and ``size`` (back pressure, status) but are never
        #: handed to the destination.
        self.partitions: dict[str, FlowFileQueue] = {}

    # -- configuration --------------------------------------------------------

    def set_prioritizers(self, names: Sequence[str]) -> None:
        """Order by the named prioritizers, first name first (empty: FIFO)."""
        unknown = [n for n in names if n not in PRIORITIZERS]
        if unknown:
            raise ValueError(
                f"unknown prioritizer {unknown[0]!r}: expected one of {', '.join(PRIORITIZERS)}"
            )
        self.prioritizers = tuple(names)
        active = list(self._fifo) + [entry[2] for entry in getattr(self, "_heap", [])]
        self._fifo = deque()
        self._heap = []
        if names:
            keys = [PRIORITIZERS[n] for n in names]
            if len(keys) == 1:
                self._key = keys[0]
            else:
                self._key = lambda ff: tuple(k(ff) for k in keys)
        else:
            self._key = None
        active.sort(key=lambda f: f[7])  # entry order, whatever order the heap held them in
        self._add_active(active)

    # -- state ----------------------------------------------------------------

    @property
    def active_count(self) -> int:
        """Flowfiles in memory and ready (not penalized, not in flight)."""
        return len(self._fifo) + len(self._heap)

    def is_full(self) -> bool:
        """True when back pressure applies: the source must not be triggered."""
        return (0 < self.object_threshold <= self.count) or (0 < self.size_threshold <= self.size)

    def local_figures(self) -> tuple[int, int]:
        """``(count, size)`` of the flowfiles for this node: the queue's figures
        less what waits in the partitions of other nodes."""
        count, size = self.count, self.size
        for partition in self.partitions.values():
            count -= partition.count
            size -= partition.size
        return count, size

    def is_local_full(self) -> bool:
        """Back pressure of this node's part alone: a peer's load-balanced transfer
        is refused while it holds (NiFi looks at the local partition only)."""
        if not self.partitions:
            return self.is_full()
        count, size = self.local_figures()
        return (0 < self.object_threshold <= count) or (0 < self.size_threshold <= size)

    def is_empty(self) -> bool:
        """True when nothing is queued, in flight or swapped."""
        return self.count == 0

    def has_available(self, now_ms: int) -> bool:
        """True if ``poll`` would return something now."""
        if self._fifo or self._heap or self._can_swap_in():
            return True
        pen = self._penalized
        return bool(pen) and pen[0][0] <= now_ms

    def _can_swap_in(self) -> bool:
        """Swapped flowfiles can be paged in: there are some, and the penalized
        ones already in memory leave room (swapped-in flowfiles may all turn out
        penalized; paging in more of them would defeat the swap threshold)."""
        return bool(self._swapped_count) and len(self._penalized) < max(self.swap_threshold, 1)

    def next_penalty_expiry(self) -> int | None:
        """Epoch ms when the earliest penalized flowfile becomes available."""
        return self._penalized[0][0] if self._penalized else None

    def status(self) -> QueueStatus:
        """Current figures."""
        return QueueStatus(self.count, self.size, self.in_flight, len(self._penalized), self._swapped_count)

    # -- adding ----------------------------------------------------------------

    def _add_active(self, ffs: Iterable[FlowFile]) -> None:
        key = self._key
        if key is None:
            self._fifo.extend(ffs)
        else:
            heap = self._heap
            for ff in ffs:
                heapq.heappush(heap, (key(ff), ff[7], ff))

    def put_all(self, ffs: Sequence[FlowFile], now_ms: int) -> None:
        """Enqueue committed flowfiles (entry sequences ascending, as committed)."""
        if not ffs:
            return
        size = 0
        for ff in ffs:
            size += ff[3]
        self.count += len(ffs)
        self.size += size
        self.enqueued_total += len(ffs)
        self.enqueued_bytes += size
        in_memory = len(self._fifo) + len(self._heap) + len(self._penalized)
        if self._swapped_count or in_memory + len(ffs) > self.swap_threshold:
            room = 0 if self._swapped_count else max(0, self.swap_threshold - in_memory)
            keep, spill = ffs[:room], ffs[room:]
            self._place(keep, now_ms)
            if spill:
                if not self._swapped_count:
                    self._swap_after = spill[0][7] - 1
                self._swapped_count += len(spill)
                for ff in spill:
                    self._swapped_size += ff[3]
                self._swap_last = spill[-1][7]
        else:
            self._place(ffs, now_ms)
        for callback in self.on_data:
            callback()

    def _place(self, ffs: Sequence[FlowFile], now_ms: int) -> None:
        penalized = [ff for ff in ffs if ff[6] > now_ms] if ffs else []
        if penalized:
            for ff in penalized:
                heapq.heappush(self._penalized, (ff[6], ff[7], ff))
            self._add_active(ff for ff in ffs if ff[6] <= now_ms)
        else:
            self._add_active(ffs)

    def restore(self, head: Sequence[FlowFile], swapped_count: int, swapped_size: int,
                swap_after: int, swap_last: int, now_ms: int) -> None:
        """Load a queue back after a restart (see ``FlowFileRepository.load_queue``)."""
        self._place(head, now_ms)
        size = sum(ff[3] for ff in head)
        self.count += len(head) + swapped_count
        self.size += size + swapped_size
        self._swapped_count = swapped_count
        self._swapped_size = swapped_size
        self._swap_after = swap_after
        self._swap_last = swap_last

    # -- taking ----------------------------------------------------------------

    def poll(self, max_count: int, now_ms: int) -> tuple[list[FlowFile], list[FlowFile]]:
        """Take up to ``max_count`` ready flowfiles; also returns the expired ones met.

        Both lists are in flight afterwards: the caller's session must either
        ``acknowledge`` them (after its commit) or ``requeue`` them.
        """
        pen = self._penalized
        while pen and pen[0][0] <= now_ms:
            self._add_active((heapq.heappop(pen)[2],))
        if not self._fifo and not self._heap and self._can_swap_in():
            self._swap_in(now_ms)
        taken: list[FlowFile] = []
        if self._key is None:
            fifo = self._fifo
            n = min(max_count, len(fifo))
            if n == len(fifo):
                taken = list(fifo)
                fifo.clear()
            else:
                popleft = fifo.popleft
                taken = [popleft() for _ in range(n)]
        else:
            heap = self._heap
            n = min(max_count, len(heap))
            taken = [heapq.heappop(heap)[2] for _ in range(n)]
        expired: list[FlowFile] = []
        exp = self.expiration_ms
        if exp and taken:
            cutoff = now_ms - exp
            if any(ff[4] < cutoff for ff in taken):
                expired = [ff for ff in taken if ff[4] < cutoff]
                taken = [ff for ff in taken if ff[4] >= cutoff]
        n_all = len(taken) + len(expired)
        if n_all:
            size = 0
            for ff in taken:
                size += ff[3]
            for ff in expired:
                size += ff[3]
            self.in_flight += n_all
            self._in_flight_size += size
        return taken, expired

    def _swap_in(self, now_ms: int) -> None:
        if self._loader is None:
            raise RuntimeError(f"queue {self.connection_id} has swapped flowfiles but no loader")
        batch = self._loader(self.queue_id, self._swap_after, self._swap_last, SWAP_BATCH)
        if not batch:
            # The range is empty on disk although counted: resynchronise.
            self.count -= self._swapped_count
            self.size -= self._swapped_size
            self._swapped_count = self._swapped_size = 0
            return
        self._swap_after = batch[-1][7]
        self._swapped_count -= len(batch)
        for ff in batch:
            self._swapped_size -= ff[3]
        if self._swapped_count <= 0:
            self._swapped_count = 0
            self._swapped_size = 0
        self._place(batch, now_ms)

    def acknowledge(self, ffs: Sequence[FlowFile]) -> None:
        """Flowfiles taken by ``poll`` are gone for good (their session committed)."""
        if not ffs:
            return
        size = 0
        for ff in ffs:
            size += ff[3]
        was_full = self.is_full()
        n = len(ffs)
        self.in_flight -= n
        self._in_flight_size -= size
        self.count -= n
        self.size -= size
        self.dequeued_total += n
        self.dequeued_bytes += size
        if (was_full and not self.is_full()) or self.count == 0:
            for callback in self.on_space:
                callback()

    def requeue(self, ffs: Sequence[FlowFile], penalty_until_ms: int = 0) -> None:
        """Give back flowfiles taken by ``poll`` (their session rolled back).

        With ``penalty_until_ms`` they wait until then; otherwise they go back
        to the front (FIFO) or to their place (prioritized).
        """
        if not ffs:
            return
        size = 0
        for ff in ffs:
            size += ff[3]
        self.in_flight -= len(ffs)
        self._in_flight_size -= size
        if penalty_until_ms:
            for ff in ffs:
                heapq.heappush(self._penalized, (penalty_until_ms, ff[7], ff))
        elif self._key is None:
            self._fifo.extendleft(reversed(ffs))
        else:
            self._add_active(ffs)
        for callback in self.on_data:
            callback()

    # -- inspection --------------------------------------------------------------

    def listing(self, limit: int = 100) -> list[FlowFile]:
        """The first ``limit`` flowfiles in the order they would be taken
        (ready ones first, then penalized ones). Swapped ones are not listed."""
        if self._key is None:
            ready = [self._fifo[i] for i in range(min(limit, len(self._fifo)))]
        else:
            ready = [entry[2] for entry in heapq.nsmallest(limit, self._heap)]
        if len(ready) < limit:
            ready.extend(entry[2] for entry in heapq.nsmallest(limit - len(ready), self._penalized))
        return ready

    def __repr__(self) -> str:
        return f"FlowFileQueue({self.connection_id!r}, count={self.count}, size={self.size})"


class QueueMoves:
    """What a commit does to the queues once its transaction is written: the
    flowfiles taken from each queue leave it (``acks``), new ones arrive
    (``enqueue``, entry sequences ascending per queue). If the transaction is
    not written, ``give_back`` returns what was taken: the one rollback of
    sessions, commits and emptying a queue."""

    __slots__ = ("acks", "enqueue")

    def __init__(self, acks: dict[FlowFileQueue, list[FlowFile]] | None = None,
                 enqueue: dict[FlowFileQueue, list[FlowFile]] | None = None) -> None:
        self.acks = acks if acks is not None else {}
        self.enqueue = enqueue if enqueue is not None else {}

    def apply(self, now_ms: int) -> None:
        """The transaction is written: taken flowfiles are gone, new ones queued."""
        for queue, ffs in self.acks.items():
            queue.acknowledge(ffs)
        for queue, ffs in self.enqueue.items():
            queue.put_all(ffs, now_ms)

    def give_back(self, penalty_until_ms: int = 0) -> None:
        """The transaction is not written: every taken flowfile returns to its
        queue in entry order, unchanged (penalized until ``penalty_until_ms``
        if not 0); nothing is enqueued."""
        for queue, ffs in self.acks.items():
            ffs.sort(key=lambda f: f[7])
            queue.requeue(ffs, penalty_until_ms)
