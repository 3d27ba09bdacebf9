"""Damaged repositories (issue 11): each start either recovers everything or
refuses with ``RepositoryCorruptedError`` naming the damage, and a refused
start changes no file. The damage is done to a copy of a repository taken
while it was open (what kill -9 leaves), with its durable point recorded."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_repositories_contract import commit, new_queue, pattern, session

from flowyard.runtime.repository import Repositories
from flowyard.runtime.repository._codec import queue_range
from flowyard.runtime.repository._rocks import MARKER
from flowyard.runtime.repository.repair import repair
from flowyard.runtime.sdk._errors import RepositoryCorruptedError

from engine_process import write_flow

pytestmark = pytest.mark.integration
QUEUES = ("conn-a", "conn-b")
PER_QUEUE = 300


def crashed_repository(tmp_path: Path, *, flush: bool) -> tuple[Path, dict[str, int]]:
    """A repository with ``PER_QUEUE`` flowfiles (with content) in each of two
    queues, copied while open: the files of a process killed after its last
    durable mark. ``flush``: the tables hold the data (else only the log does)."""
    live = tmp_path / "live" / "repository"
    repos = Repositories.open(live)
    queues = {name: new_queue(repos, name) for name in QUEUES}
    for batch in range(3):
        s = session(repos, dest={name: [q] for name, q in queues.items()})
        for i in range(PER_QUEUE // 3):
            for name in QUEUES:
                ff = s.write(s.create(), pattern(200 + i + batch))
                s.transfer(ff, name)
        commit(repos, s)
    if flush:
        for view in repos.store._views.values():  # type: ignore[attr-defined]
            view.flush()
    repos.store.mark_durable()
    copy = tmp_path / "crashed"
    shutil.copytree(live.parent, copy)
    repos.close()
    return copy / "repository", {name: q.count for name, q in queues.items()}


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "logs" not in p.parts}


def open_and_count(path: Path) -> dict[str, int]:
    repos = Repositories.open(path)
    try:
        repos.recover()
        ids = repos.flowfiles.queue_ids
        return {name: repos.flowfiles.count_queue(ids[name])[0] if name in ids else 0 for name in QUEUES}
    finally:
        repos.close()


def newest(path: Path, prefix: str = "", suffix: str = "") -> Path:
    files = [p for p in path.iterdir() if p.name.startswith(prefix) and p.name.endswith(suffix)]
    return max(files, key=lambda p: p.stat().st_mtime_ns)


def truncate(fraction: float, pick: Callable[[Path], Path]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        target = pick(path)
        size = target.stat().st_size
        os.truncate(target, max(0, int(size * fraction)) if fraction < 1 else size - 1)
    return damage


def flip(pick: Callable[[Path], Path]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        target = pick(path)
        data = bytearray(target.read_bytes())
        for offset in (len(data) // 3, len(data) // 2):
            data[offset] ^= 0xFF
        target.write_bytes(bytes(data))
    return damage


def table_of(cf: str) -> Callable[[Path], Path]:
    """The table file holding column family ``cf``'s data (the name is in its properties, at the end)."""
    def pick(path: Path) -> Path:
        for table in sorted(path.glob("*.sst")):
            if cf.encode() in table.read_bytes()[-4096:]:
                return table
        raise AssertionError(f"no table file of {cf}")
    return pick


CASES: dict[str, tuple[bool, Callable[[Path], None]]] = {
    "deleted CURRENT": (True, lambda p: (p / "CURRENT").unlink()),
    "deleted MANIFEST": (True, lambda p: newest(p, "MANIFEST").unlink()),
    "truncated MANIFEST (half)": (True, truncate(0.5, lambda p: newest(p, "MANIFEST"))),
    "truncated MANIFEST (last byte)": (True, truncate(1.0, lambda p: newest(p, "MANIFEST"))),
    **{f"truncated log at {int(f * 100)}%": (False, truncate(f, lambda p: newest(p, suffix=".log")))
       for f in (0.1, 0.5, 0.9)},
    "truncated log (last byte)": (False, truncate(1.0, lambda p: newest(p, suffix=".log"))),
    "flipped bytes in the log": (False, flip(lambda p: newest(p, suffix=".log"))),
    **{f"flipped bytes in the {cf} table": (True, flip(table_of(cf)))
       for cf in ("flowfiles", "claims", "state", "content", "provenance")},
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_damaged_repository_recovers_whole_or_refuses_untouched(tmp_path: Path, case: str) -> None:
    flush, damage = CASES[case]
    path, committed = crashed_repository(tmp_path, flush=flush)
    damage(path)
    before = digest(path)
    try:
        counts = open_and_count(path)
    except RepositoryCorruptedError as exc:
        assert str(path) in str(exc), "the message names the repository"
        assert digest(path) == before, "a refused start changes no file"
        assert (path / MARKER).exists()
    else:
        assert counts == committed, f"recovered {counts}, committed {committed}: a silent loss"


def test_records_lost_without_rocksdb_noticing_stop_the_start(tmp_path: Path) -> None:
    """Each commit writes every touched queue's count with its records; a table
    that lost records (e.g. an SST file RocksDB dropped) no longer matches."""
    path, committed = crashed_repository(tmp_path, flush=False)
    repos = Repositories.open(path)
    repos.recover()
    qid = repos.flowfiles.queue_ids["conn-b"]
    lost = [key for key, _ in repos.store.scan(repos.flowfiles.cf, *queue_range(qid), limit=7)]
    batch = repos.store.batch()
    for key in lost:
        batch.delete(repos.flowfiles.cf, key)  # behind the counts' back
    repos.store.write(batch)
    repos.close()
    before = digest(path)
    with pytest.raises(RepositoryCorruptedError) as info:
        open_and_count(path)
    assert f"connection 'conn-b' should hold {committed['conn-b']:,} flowfile(s) but " \
           f"{committed['conn-b'] - 7:,} are stored" in str(info.value)
    assert "conn-a" not in str(info.value)
    assert digest(path) == before


def test_counts_are_written_for_a_repository_from_before_them(tmp_path: Path) -> None:
    path, committed = crashed_repository(tmp_path, flush=False)
    repos = Repositories.open(path)
    state = repos.store.handle("state")
    repos.store.delete_range(state, b"count/", b"count0")  # as an older flowyard left it
    repos.close()
    assert open_and_count(path) == committed
    repos = Repositories.open(path)
    try:
        assert sum(repos.flowfiles.stored_counts().values()) == sum(committed.values())
    finally:
        repos.close()


@pytest.mark.parametrize("case", [c for c in CASES if c not in ("truncated MANIFEST (last byte)",)])
def test_repair_reports_exactly_what_was_lost_and_the_repository_opens_again(tmp_path: Path, case: str) -> None:
    flush, damage = CASES[case]
    path, committed = crashed_repository(tmp_path, flush=flush)
    damage(path)
    report = repair(path)
    assert report.backup.is_dir() and any(report.backup.iterdir()), "the files as they were are kept"
    counts = open_and_count(path)  # the repaired repository opens
    by_name = {q.connection: q for q in report.queues}
    text = "\n".join(report.lines())
    for name in QUEUES:
        found = by_name[name].found if name in by_name else 0
        assert counts[name] == found, "the report counts what is there"
        if report.lost_writes == 0 and name in by_name and by_name[name].expected is not None:
            assert by_name[name].expected == committed[name]
            assert by_name[name].lost == committed[name] - found
    found_in_all = sum(q.found for q in report.queues)
    if found_in_all < sum(committed.values()):
        assert report.lost_writes > 0 or sum(q.lost or 0 for q in report.queues) > 0, "a loss is never silent"
    if report.lost_writes:
        assert f"its last {report.lost_writes:,} writes are lost" in text
    assert "flowfile(s) lost" in text


def test_repair_from_the_command_line(tmp_path: Path) -> None:
    path, committed = crashed_repository(tmp_path, flush=False)
    truncate(0.5, lambda p: newest(p, suffix=".log"))(path)
    with pytest.raises(RepositoryCorruptedError, match="flowyard repair --data-dir"):
        open_and_count(path)
    result = subprocess.run([sys.executable, "-m", "flowyard.bootstrap.cli", "repair", "--data-dir",
                             str(path.parent)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    found = open_and_count(path)
    assert sum(found.values()) < sum(committed.values()), "half the log was cut off"
    assert "writes are lost" in result.stdout, result.stdout


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_damaged_repository_is_refused_by_the_command_line_with_exit_2(tmp_path: Path, command: str) -> None:
    path, _ = crashed_repository(tmp_path, flush=True)
    (path / "CURRENT").unlink()
    before = digest(path.parent)
    flow = write_flow(tmp_path / "flow.json", [], [])
    args = [str(flow)] if command == "run" else ["--port", "0"]
    result = subprocess.run([sys.executable, "-m", "flowyard.bootstrap.cli", command, *args, "--data-dir",
                             str(path.parent)], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "FLOWYARD_PASSWORD": "long-enough"})
    assert result.returncode == 2, result.stderr
    assert "CURRENT file" in result.stderr and "flowyard repair --data-dir" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert digest(path.parent) == before, "a refused start changes no file"
