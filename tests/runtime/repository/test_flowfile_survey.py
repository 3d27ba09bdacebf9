"""Start-up reads the flowfile table once (issue 16): the count check's pass on
the read-only view sizes every queue, and recovery then reads only each queue's
head. Figures stay exact; a survey a commit made stale is never used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_repositories_contract import NOW, commit, new_queue, pattern, session

from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.repository import Repositories

pytestmark = pytest.mark.integration


def populate(path: Path, sizes: dict[str, list[int]]) -> dict[str, list[Any]]:
    """Commit flowfiles of the given content sizes into each named queue, a few per session."""
    repos = Repositories.open(path)
    try:
        queues = {name: new_queue(repos, name) for name in sizes}
        placed: dict[str, list[Any]] = {name: [] for name in sizes}
        longest = max(len(s) for s in sizes.values())
        for start in range(0, longest, 7):
            s = session(repos, dest={name: [q] for name, q in queues.items()})
            for name, queue_sizes in sizes.items():
                for i, size in enumerate(queue_sizes[start:start + 7], start):
                    ff = s.write(s.create(), pattern(size)) if size else s.create()
                    ff = s.put_attribute(ff, "n", str(i))
                    s.transfer(ff, name)
            commit(repos, s)
        for name, queue in queues.items():
            while queue.has_available(NOW):
                placed[name] += queue.poll(1000, NOW)[0]
        return placed
    finally:
        repos.close()


class CountingScans:
    """Counts the records every ``scan`` of the flowfile table yields."""

    def __init__(self, repos: Repositories) -> None:
        self.records = 0
        store, cf = repos.store, repos.flowfiles.cf
        inner = store.scan

        def scan(handle: object, begin: bytes, end: bytes | None = None, *,
                 limit: int | None = None) -> Iterator[tuple[bytes, bytes]]:
            for item in inner(handle, begin, end, limit=limit):
                if handle == cf:
                    self.records += 1
                yield item

        store.scan = scan  # type: ignore[method-assign]


def test_recovery_reads_only_heads_and_keeps_counts_and_bytes_exact(tmp_path: Path) -> None:
    sizes = {"conn-a": [(i * 37) % 500 for i in range(230)], "conn-b": [3] * 40, "conn-c": [0] * 5}
    placed = populate(tmp_path / "repo", sizes)
    repos = Repositories.open(tmp_path / "repo")  # the check's pass surveys the read-only view
    try:
        scans = CountingScans(repos)
        repos.recover()
        ids = repos.flowfiles.queue_ids
        loads = {name: repos.flowfiles.load_queue(ids[name], head_limit=25) for name in sizes}
        assert scans.records == 25 + 25 + 5, "only the heads were read"
        for name, load in loads.items():
            ffs = placed[name]
            assert load.head == ffs[:25]
            assert load.swapped_count == len(ffs) - len(load.head)
            assert load.swapped_size == sum(ff.size for ff in ffs[25:])
            assert load.last_seq == ffs[-1][7]
        a = loads["conn-a"]
        queue = FlowFileQueue("conn-a", ids["conn-a"], swap_threshold=25, loader=repos.flowfiles.read_range)
        queue.restore(a.head, a.swapped_count, a.swapped_size, a.swap_from_seq, a.last_seq, NOW)
        assert (queue.count, queue.size) == (230, sum(sizes["conn-a"]))
        taken: list[Any] = []
        while queue.has_available(NOW):
            batch = queue.poll(10, NOW)[0]
            queue.acknowledge(batch)
            taken += batch
        assert taken == placed["conn-a"], "every flowfile once, in entry order"
        assert (queue.count, queue.size) == (0, 0)
    finally:
        repos.close()


def test_a_survey_is_used_once_and_a_second_load_reads_the_records(tmp_path: Path) -> None:
    placed = populate(tmp_path / "repo", {"conn-a": [5] * 30})
    repos = Repositories.open(tmp_path / "repo")
    try:
        qid = repos.flowfiles.queue_ids["conn-a"]
        survey = repos.flowfiles.surveyed(qid)
        assert survey is not None
        assert (survey.count, survey.size, survey.first_seq, survey.last_seq) == \
            (30, 150, placed["conn-a"][0][7], placed["conn-a"][-1][7])
        first = repos.flowfiles.load_queue(qid, head_limit=10)
        assert repos.flowfiles.surveyed(qid) is None
        scans = CountingScans(repos)
        second = repos.flowfiles.load_queue(qid, head_limit=10)
        assert scans.records == 30, "without a survey every record is read"
        assert second == first
    finally:
        repos.close()


def test_a_commit_makes_the_survey_of_its_queues_stale(tmp_path: Path) -> None:
    placed = populate(tmp_path / "repo", {"conn-a": [10] * 30, "conn-b": [1] * 12})
    repos = Repositories.open(tmp_path / "repo")
    try:
        repos.recover()
        ids = repos.flowfiles.queue_ids
        a = new_queue(repos, "conn-a")
        load = repos.flowfiles.load_queue(ids["conn-a"], head_limit=30)
        a.restore(load.head, 0, 0, 0, 0, NOW)
        assert repos.flowfiles.surveyed(ids["conn-b"]) is not None
        s = session(repos, inputs=(a,), dest={"out": [new_queue(repos, "conn-d")]})
        for ff in s.get_batch(4):
            s.transfer(s.put_attribute(ff, "moved", "yes"), "out")
        commit(repos, s)  # conn-a loses 4 records, conn-d gains them
        assert repos.flowfiles.surveyed(ids["conn-a"]) is None
        assert repos.flowfiles.surveyed(ids["conn-b"]) is not None, "an untouched queue keeps its survey"
        remaining = repos.flowfiles.load_queue(ids["conn-a"], head_limit=10)
        assert (remaining.head, remaining.swapped_count, remaining.swapped_size) == (placed["conn-a"][4:14], 16, 160)
    finally:
        repos.close()


def test_an_in_memory_repository_is_surveyed_by_its_recover() -> None:
    repos = Repositories.in_memory()
    queue = new_queue(repos, "conn-a")
    s = session(repos, dest={"conn-a": [queue]})
    for i in range(12):
        s.transfer(s.write(s.create(), pattern(i)), "conn-a")
    commit(repos, s)
    repos.recover()
    qid = repos.flowfiles.queue_ids["conn-a"]
    assert repos.flowfiles.surveyed(qid) is not None
    load = repos.flowfiles.load_queue(qid, head_limit=5)
    assert (len(load.head), load.swapped_count, load.swapped_size) == (5, 7, sum(range(5, 12)))


def test_a_refused_start_hands_no_survey_over(tmp_path: Path) -> None:
    from flowyard.runtime.repository import flowfiles
    from flowyard.runtime.repository._codec import queue_range
    from flowyard.runtime.sdk._errors import RepositoryCorruptedError

    populate(tmp_path / "repo", {"conn-a": [5] * 30})
    repos = Repositories.open(tmp_path / "repo")
    lost = [key for key, _ in repos.store.scan(repos.flowfiles.cf, *queue_range(repos.flowfiles.queue_ids["conn-a"]),
                                               limit=3)]
    batch = repos.store.batch()
    for key in lost:
        batch.delete(repos.flowfiles.cf, key)  # behind the counts' back
    repos.store.write(batch)
    repos.close()
    with pytest.raises(RepositoryCorruptedError, match="should hold 30 flowfile"):
        Repositories.open(tmp_path / "repo")
    assert str(tmp_path / "repo") not in flowfiles._SURVEYS
