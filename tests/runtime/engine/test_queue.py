"""FlowFileQueue: ordering, penalties, expiration, back pressure, swapping, requeue.

Pure bookkeeping, so flowfiles are built with ``make_flowfile`` and time is an
explicit ``now_ms``. A flowfile's id and entry sequence are both ``seq``.
"""

from __future__ import annotations

import pytest

from flowyard.runtime.engine import _queue
from flowyard.runtime.engine._queue import PRIORITIZERS, FlowFileQueue, QueueMoves
from flowyard.runtime.sdk import FlowFile
from flowyard.runtime.sdk._flowfile import make_flowfile

FAR = 1 << 60  # a time when every penalty has passed


def ff(seq: int, *, size: int = 0, entry: int = 0, lineage: int | None = None, penalty: int = 0,
       priority: str | None = None) -> FlowFile:
    attrs = {"uuid": f"u{seq}"}
    if priority is not None:
        attrs["priority"] = priority
    return make_flowfile(seq, attrs, None, size, entry, entry if lineage is None else lineage, penalty, seq)


def seqs(ffs: list[FlowFile]) -> list[int]:
    return [f[7] for f in ffs]


def drain(queue: FlowFileQueue, now: int = FAR, step: int = 1) -> list[int]:
    """Poll ``step`` at a time until nothing is available; the sequences taken."""
    out: list[int] = []
    while queue.has_available(now):
        taken, expired = queue.poll(step, now)
        assert expired == []
        if not taken:
            break
        out += seqs(taken)
    return out


class Loader:
    """The flowfile repository's ``read_range`` over a dict of flowfiles on "disk"."""

    def __init__(self, ffs: list[FlowFile]) -> None:
        self.disk = {f[7]: f for f in ffs}
        self.calls: list[tuple[int, int, int, int]] = []

    def __call__(self, queue_id: int, after: int, upto: int, limit: int) -> list[FlowFile]:
        self.calls.append((queue_id, after, upto, limit))
        return [self.disk[s] for s in sorted(self.disk) if after < s <= upto][:limit]


# -- order ------------------------------------------------------------------------------


def test_fifo_without_prioritizers() -> None:
    q = FlowFileQueue("c", 1)
    q.put_all([ff(1), ff(2), ff(3)], 0)
    q.put_all([ff(4)], 0)
    assert seqs(q.poll(2, 0)[0]) == [1, 2]
    q.put_all([ff(5)], 0)
    assert seqs(q.poll(10, 0)[0]) == [3, 4, 5]
    assert q.poll(10, 0) == ([], [])


@pytest.mark.parametrize(
    ("prioritizers", "arrivals", "expected"),
    [
        (["FirstInFirstOutPrioritizer"], [ff(3), ff(1), ff(2)], [1, 2, 3]),
        (["OldestFlowFileFirstPrioritizer"], [ff(1, lineage=30), ff(2, lineage=10), ff(3, lineage=20)], [2, 3, 1]),
        (["OldestFlowFileFirstPrioritizer"], [ff(1, lineage=5, entry=9), ff(2, lineage=5, entry=7)], [2, 1]),
        (["NewestFlowFileFirstPrioritizer"], [ff(1, lineage=10), ff(2, lineage=30), ff(3, lineage=20)], [2, 3, 1]),
        (["NewestFlowFileFirstPrioritizer"], [ff(1, lineage=5, entry=7), ff(2, lineage=5, entry=9)], [2, 1]),
        # lowest first, numbers (numerically) before text before none; ties in arrival order
        (["PriorityAttributePrioritizer"],
         [ff(1, priority="10"), ff(2), ff(3, priority="b"), ff(4, priority="9"), ff(5, priority="a"),
          ff(6, priority="-1.5"), ff(7, priority="9")],
         [6, 4, 7, 1, 5, 3, 2]),
        (["PriorityAttributePrioritizer", "NewestFlowFileFirstPrioritizer"],
         [ff(1, priority="1", lineage=1), ff(2, priority="1", lineage=2), ff(3, priority="0", lineage=0)],
         [3, 2, 1]),
    ],
)
def test_prioritizers(prioritizers: list[str], arrivals: list[FlowFile], expected: list[int]) -> None:
    q = FlowFileQueue("c", 1, prioritizers=prioritizers)
    for f in arrivals:
        q.put_all([f], 0)
    assert seqs(q.listing(100)) == expected
    assert drain(q) == expected


def test_every_prioritizer_is_named() -> None:
    assert set(PRIORITIZERS) == {
        "FirstInFirstOutPrioritizer", "OldestFlowFileFirstPrioritizer",
        "NewestFlowFileFirstPrioritizer", "PriorityAttributePrioritizer",
    }


def test_an_unknown_prioritizer_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown prioritizer 'Nope': expected one of FirstInFirstOutPrioritizer"):
        FlowFileQueue("c", 1, prioritizers=["PriorityAttributePrioritizer", "Nope"])


def test_changing_prioritizers_reorders_what_is_queued() -> None:
    q = FlowFileQueue("c", 1)
    q.put_all([ff(1, priority="3"), ff(2, priority="1"), ff(3, priority="2")], 0)
    q.set_prioritizers(["PriorityAttributePrioritizer"])
    assert q.prioritizers == ("PriorityAttributePrioritizer",)
    assert drain(q) == [2, 3, 1]


def test_removing_prioritizers_restores_first_in_first_out() -> None:
    q = FlowFileQueue("c", 1, prioritizers=["PriorityAttributePrioritizer"])
    q.put_all([ff(i, priority=str(6 - i)) for i in range(1, 6)], 0)
    q.set_prioritizers([])
    assert drain(q) == [1, 2, 3, 4, 5]


# -- penalties and expiration -------------------------------------------------------------


def test_a_penalized_flowfile_waits_until_its_penalty_expires() -> None:
    q = FlowFileQueue("c", 1)
    q.put_all([ff(1, penalty=1_000), ff(2), ff(3, penalty=500)], 0)
    assert q.status().penalized == 2
    assert q.next_penalty_expiry() == 500
    assert seqs(q.poll(10, 0)[0]) == [2]
    assert not q.has_available(499)
    assert q.poll(10, 499) == ([], [])
    assert q.has_available(500)
    assert seqs(q.poll(10, 500)[0]) == [3]
    assert q.next_penalty_expiry() == 1_000
    assert seqs(q.poll(10, 1_000)[0]) == [1]
    assert q.next_penalty_expiry() is None
    assert q.status().penalized == 0


def test_a_penalty_already_over_at_enqueue_is_ignored() -> None:
    q = FlowFileQueue("c", 1)
    q.put_all([ff(1, penalty=100)], 100)
    assert q.status().penalized == 0
    assert seqs(q.poll(1, 100)[0]) == [1]


@pytest.mark.parametrize(
    ("expiration_ms", "now", "expired", "taken"),
    [
        (100, 160, [1, 2], [3, 4]),  # cutoff 60: entries 0 and 50 are older
        (100, 150, [1], [2, 3, 4]),  # entry 50 is exactly at the cutoff: not expired
        (100, 100, [], [1, 2, 3, 4]),
        (0, 10**9, [], [1, 2, 3, 4]),  # 0 disables expiration
    ],
)
def test_poll_returns_expired_flowfiles_separately(expiration_ms: int, now: int, expired: list[int],
                                                   taken: list[int]) -> None:
    q = FlowFileQueue("c", 1, expiration_ms=expiration_ms)
    q.put_all([ff(1, entry=0, size=1), ff(2, entry=50, size=2), ff(3, entry=100, size=4), ff(4, entry=130, size=8)],
              0)
    got, gone = q.poll(10, now)
    assert (seqs(gone), seqs(got)) == (expired, taken)
    assert (q.in_flight, q.count) == (4, 4)  # both lists are in flight until acknowledged
    q.acknowledge(gone)
    q.acknowledge(got)
    assert (q.in_flight, q.count, q.size) == (0, 0, 0)


# -- back pressure --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("object_threshold", "size_threshold", "sizes", "full"),
    [
        (3, 1000, [1, 1], False),
        (3, 1000, [1, 1, 1], True),  # count reached
        (3, 1000, [1, 1, 1, 1], True),
        (10, 100, [60, 39], False),
        (10, 100, [60, 40], True),  # size reached
        (10, 100, [150], True),
        (0, 100, [1] * 50, False),  # 0 disables the count threshold
        (5, 0, [1 << 40], False),  # 0 disables the size threshold
        (0, 0, [1] * 10, False),
    ],
)
def test_is_full_by_count_or_size(object_threshold: int, size_threshold: int, sizes: list[int], full: bool) -> None:
    q = FlowFileQueue("c", 1, object_threshold=object_threshold, size_threshold=size_threshold)
    q.put_all([ff(i + 1, size=s) for i, s in enumerate(sizes)], 0)
    assert q.is_full() is full


def test_in_flight_flowfiles_count_until_acknowledged_and_space_is_announced() -> None:
    q = FlowFileQueue("c", 1, object_threshold=2)
    spaces: list[int] = []
    q.on_space.append(lambda: spaces.append(q.count))
    q.put_all([ff(1, size=5), ff(2, size=7)], 0)
    taken, _ = q.poll(2, 0)
    assert q.is_full()
    assert (q.count, q.size, q.in_flight, q.active_count) == (2, 12, 2, 0)
    assert not q.is_empty()
    q.acknowledge(taken[:1])
    assert not q.is_full()
    assert spaces == [1]
    q.acknowledge(taken[1:])
    assert spaces == [1, 0]  # emptied
    assert q.is_empty()
    assert (q.enqueued_total, q.dequeued_total) == (2, 2)


def test_new_data_is_announced() -> None:
    q = FlowFileQueue("c", 1)
    calls: list[int] = []
    q.on_data.append(lambda: calls.append(q.count))
    q.put_all([], 0)
    q.put_all([ff(1)], 0)
    taken, _ = q.poll(1, 0)
    q.requeue(taken)
    assert calls == [1, 1]


# -- swapping ----------------------------------------------------------------------------------


def test_beyond_the_swap_threshold_the_tail_stays_on_disk_and_comes_back_in_order() -> None:
    all_ffs = [ff(i, size=i) for i in range(1, 9)]
    loader = Loader(all_ffs)
    q = FlowFileQueue("c", 7, swap_threshold=3, loader=loader)
    q.put_all(all_ffs[:5], 0)
    q.put_all(all_ffs[5:], 0)  # while swapped, every arrival stays on disk
    status = q.status()
    assert (status.count, status.size, status.swapped) == (8, 36, 5)
    assert q.active_count == 3
    assert seqs(q.listing(100)) == [1, 2, 3]  # swapped ones are not listed
    assert drain(q, now=0) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert loader.calls == [(7, 3, 8, _queue.SWAP_BATCH)]
    assert q.status().swapped == 0
    assert q.count == 8  # still in flight


def test_swap_in_reads_one_batch_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_queue, "SWAP_BATCH", 2)
    all_ffs = [ff(i, size=10) for i in range(1, 7)]
    loader = Loader(all_ffs)
    q = FlowFileQueue("c", 1, swap_threshold=1, loader=loader)
    q.put_all(all_ffs, 0)
    assert q.status().swapped == 5
    assert drain(q, now=0, step=10) == [1, 2, 3, 4, 5, 6]
    assert [c[1:3] for c in loader.calls] == [(1, 6), (3, 6), (5, 6)]


def test_swapped_flowfiles_without_a_loader_are_an_error() -> None:
    q = FlowFileQueue("wired-wrong", 1, swap_threshold=1)
    q.put_all([ff(1), ff(2)], 0)
    q.poll(1, 0)
    with pytest.raises(RuntimeError, match="queue wired-wrong has swapped flowfiles but no loader"):
        q.poll(1, 0)


def test_a_swapped_range_missing_on_disk_is_forgotten() -> None:
    q = FlowFileQueue("c", 1, swap_threshold=1, loader=Loader([]))
    q.put_all([ff(1, size=1), ff(2, size=2), ff(3, size=4)], 0)
    assert seqs(q.poll(1, 0)[0]) == [1]
    assert q.poll(1, 0) == ([], [])
    assert (q.count, q.size, q.status().swapped) == (1, 1, 0)


def test_restore_puts_a_reloaded_queue_back() -> None:
    loader = Loader([ff(4, size=4), ff(5, size=5)])
    q = FlowFileQueue("c", 1, loader=loader)
    q.restore([ff(2, size=2), ff(3, size=3, penalty=50)], 2, 9, 3, 5, now_ms=0)
    status = q.status()
    assert (status.count, status.size, status.penalized, status.swapped) == (4, 14, 1, 2)
    assert drain(q, now=0) == [2, 4, 5]
    assert drain(q, now=50) == [3]


# -- requeue and listing ---------------------------------------------------------------------


def test_requeue_puts_flowfiles_back_at_the_front_in_their_order() -> None:
    q = FlowFileQueue("c", 1)
    q.put_all([ff(i, size=1) for i in range(1, 6)], 0)
    taken, _ = q.poll(3, 0)
    q.requeue(taken)
    assert q.in_flight == 0
    assert drain(q) == [1, 2, 3, 4, 5]


def test_requeue_with_a_penalty_holds_them_back() -> None:
    q = FlowFileQueue("c", 1)
    q.put_all([ff(1), ff(2), ff(3)], 0)
    taken, _ = q.poll(2, 0)
    q.requeue(taken, penalty_until_ms=1_000)
    assert q.status().penalized == 2
    assert seqs(q.listing(10)) == [3, 1, 2]  # ready ones first, then penalized ones
    assert drain(q, now=999) == [3]
    assert drain(q, now=1_000) == [1, 2]


def test_requeue_into_a_prioritized_queue_goes_back_to_its_place() -> None:
    q = FlowFileQueue("c", 1, prioritizers=["PriorityAttributePrioritizer"])
    q.put_all([ff(1, priority="1"), ff(2, priority="3")], 0)
    taken, _ = q.poll(2, 0)
    q.put_all([ff(3, priority="2")], 0)
    q.requeue(taken)
    assert drain(q) == [1, 3, 2]


def test_queue_moves_apply_takes_from_one_queue_and_enqueues_in_another() -> None:
    src, dst = FlowFileQueue("a", 1), FlowFileQueue("b", 2)
    src.put_all([ff(1, size=3), ff(2, size=4)], 0)
    taken, _ = src.poll(2, 0)
    moves = QueueMoves({src: taken}, {dst: [ff(7, size=3), ff(8, size=4)]})
    moves.apply(0)
    assert (src.count, src.size, src.in_flight, dst.count, dst.size) == (0, 0, 0, 2, 7)
    assert drain(dst) == [7, 8]


def test_giving_back_returns_what_was_taken_in_entry_order_and_enqueues_nothing() -> None:
    src, dst = FlowFileQueue("a", 1), FlowFileQueue("b", 2)
    src.put_all([ff(1), ff(2), ff(3), ff(4)], 0)
    taken, _ = src.poll(3, 0)
    moves = QueueMoves({src: [taken[2], taken[0], taken[1]]}, {dst: [ff(9)]})  # as a session may hold them
    moves.give_back()
    assert (src.in_flight, src.count, dst.count) == (0, 4, 0)
    assert drain(src) == [1, 2, 3, 4]


def test_giving_back_with_a_penalty_holds_them_back_until_then() -> None:
    src = FlowFileQueue("a", 1)
    src.put_all([ff(1), ff(2)], 0)
    taken, _ = src.poll(1, 0)
    QueueMoves({src: taken}).give_back(500)
    assert drain(src, now=100) == [2]
    assert drain(src, now=500) == [1]


@pytest.mark.parametrize(("limit", "expected"), [(0, []), (2, [2, 4]), (3, [2, 4, 3]), (10, [2, 4, 3, 1])])
def test_listing_respects_its_limit(limit: int, expected: list[int]) -> None:
    q = FlowFileQueue("c", 1)
    q.put_all([ff(1, penalty=20), ff(2), ff(3, penalty=10), ff(4)], 0)
    assert seqs(q.listing(limit)) == expected
    assert q.count == 4  # listing takes nothing


def test_status_counts_everything_including_in_flight() -> None:
    q = FlowFileQueue("c", 1, swap_threshold=3, loader=Loader([]))
    q.put_all([ff(1, size=1), ff(2, size=2, penalty=100), ff(3, size=4), ff(4, size=8), ff(5, size=16)], 0)
    q.poll(1, 0)
    status = q.status()
    assert (status.count, status.size, status.in_flight, status.penalized, status.swapped) == (5, 31, 1, 1, 2)
    assert repr(status) == "QueueStatus(count=5, size=31, in_flight=1, penalized=1, swapped=2)"
    assert repr(q) == "FlowFileQueue('c', count=5, size=31)"
