"""Content files (issue 16): large content lives in files of its own, outside
RocksDB, with the guarantees chunked content had: round trips, nothing
orphaned (rollback, a crash before the commit, a crash before a released
file went), durability per mode (fsyncs stood in for), and content written
before content files existed still reads."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_repositories_contract import NOW, commit, commit_content, new_queue, pattern, session, write_content

from flowyard.processors.put_file import PutFile
from flowyard.runtime.repository import Repositories, RocksStore, Transaction
from flowyard.runtime.repository import content as content_module
from flowyard.runtime.repository._codec import CHUNK_SIZE, chunk_key, encode_claim, resource_range, u64
from flowyard.runtime.repository.repair import repair
from flowyard.runtime.sdk import ContentClaim, ContentNotFoundError
from flowyard.runtime.sdk._errors import RepositoryError, StorageFullError
from flowyard.runtime.sdk.testing import ProcessorRunner


def chunks_of(repos: Repositories, resource: int) -> list[bytes]:
    return [k for k, _ in repos.store.scan(repos.store.handle("content"), *resource_range(resource))]


@pytest.fixture
def repos(tmp_path: Path) -> Iterator[Repositories]:
    repos = Repositories.open(tmp_path / "repository")
    repos.recover()
    yield repos
    repos.close()


def test_large_content_round_trips_through_its_file_in_a_session(repos: Repositories) -> None:
    data = pattern(3 * CHUNK_SIZE + 5)
    queue = new_queue(repos, "out")
    s = session(repos, dest={"success": [queue]})
    ff = s.write(s.create(), [data[i : i + 100_000] for i in range(0, len(data), 100_000)])
    assert s.read_bytes(ff) == data  # before the commit too
    s.transfer(ff, "success")
    commit(repos, s)
    path = repos.content.file_path(ff.claim.resource)
    assert path.read_bytes() == data
    assert chunks_of(repos, ff.claim.resource) == []
    reader = session(repos, inputs=(queue,))
    got = reader.get()
    with reader.read(got) as stream:
        assert stream.read() == data
    assert b"".join(reader.iter_content(got)) == data


def test_a_rollback_removes_the_content_file(repos: Repositories) -> None:
    s = session(repos, dest={"success": [new_queue(repos, "out")]})
    ff = s.write(s.create(), pattern(CHUNK_SIZE + 1))
    path = repos.content.file_path(ff.claim.resource)
    assert path.exists()
    s.rollback()
    assert not path.exists()
    assert list(path.parent.iterdir()) == []


def test_an_aborted_commit_removes_the_content_file(repos: Repositories) -> None:
    s = session(repos, dest={"success": [new_queue(repos, "out")]})
    ff = s.write(s.create(), pattern(CHUNK_SIZE + 1))
    s.transfer(ff, "success")
    prepared = s.prepare_commit()
    prepared.abort(RuntimeError("the write failed"))
    assert not repos.content.file_path(ff.claim.resource).exists()


def test_a_full_disk_while_writing_content_raises_storage_full(repos: Repositories,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, data: memoryview) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    writer = repos.content.writer()
    writer.write(pattern(1000))
    monkeypatch.setattr(content_module, "_write", full)
    with pytest.raises(StorageFullError, match=f"writing content file .*{writer.resource}: the disk is full"):
        writer.write(pattern(CHUNK_SIZE))
    repos.content.discard(writer)
    assert not repos.content.file_path(writer.resource).exists()


_CRASHING = """
import sys, time
from flowyard.runtime.repository import Repositories, Transaction
repos = Repositories.open(sys.argv[1])
repos.recover()
def written(size):
    writer = repos.content.writer()
    writer.write(bytes(range(251)) * (size // 251) + bytes(size % 251))
    return writer
kept = written(2 * 1024 * 1024 + 1)
kept.finish()
txn = Transaction()
txn.new_lengths[kept.resource] = kept.length
txn.claim_deltas[kept.resource] = 1
txn.streamed.append(kept.resource)
assert repos.write([txn], 1) == []
finished = written(1024 * 1024 + 3)
finished.finish()                          # finished, its commit never written
open_one = written(3 * 1024 * 1024)        # still being written
print(kept.resource, kept.length, finished.resource, open_one.resource, flush=True)
time.sleep(600)
"""


def test_kill9_between_content_write_and_commit_leaves_no_file_after_recovery(tmp_path: Path) -> None:
    path = tmp_path / "repository"
    with subprocess.Popen([sys.executable, "-c", _CRASHING, str(path)], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            kept, length, finished, open_one = map(int, line.split())
            files = {p.name for p in (path / "content").iterdir()}
            assert files == {str(kept), str(finished), str(open_one)}
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
    repos = Repositories.open(path)
    try:
        assert repos.recover()["orphans"] == 2
        assert {p.name for p in (path / "content").iterdir()} == {str(kept)}
        data = repos.content.read_bytes(ContentClaim(kept, 0, length))
        assert data == (bytes(range(251)) * (length // 251) + bytes(length % 251))
        assert repos.content.counts == {kept: 1}
    finally:
        repos.close()


def test_a_file_whose_release_a_crash_cut_off_is_removed_at_recovery(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    repos = Repositories.open(tmp_path / "repository", archive_max_age_ms=0)
    repos.recover()
    writer, _ = write_content(repos, pattern(CHUNK_SIZE + 2))
    commit_content(repos, writer)
    path = repos.content.file_path(writer.resource)
    with monkeypatch.context() as m:  # the process dies after the batch, before the file goes
        m.setattr(repos.content, "_remove_file", lambda resource: None)
        txn = Transaction()
        txn.claim(writer.resource, -1)
        assert repos.write([txn], NOW) == []
    assert path.exists()
    repos.close()
    repos = Repositories.open(tmp_path / "repository", archive_max_age_ms=0)
    try:
        assert repos.recover()["orphans"] == 1
        assert not path.exists()
    finally:
        repos.close()


def recording_store(tmp_path: Path, events: list[tuple[object, ...]],
                    monkeypatch: pytest.MonkeyPatch) -> RocksStore:
    """A store whose WAL sync and content fsyncs are recorded in ``events``: an
    fsync as ``("fsync", path, whether the claims table already holds a resource)``."""
    store = RocksStore(tmp_path / "repository", wal_sync=lambda: events.append(("wal",)))
    claims = store.handle("claims")

    def fsync(fd: int) -> None:
        committed = any(True for _ in store.scan(claims, b""))
        events.append(("fsync", Path(os.readlink(f"/proc/self/fd/{fd}")), committed))

    monkeypatch.setattr(content_module, "_fsync", fsync)
    return store


def test_sync_durability_fsyncs_the_file_and_its_directory_before_the_commit_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[object, ...]] = []
    repos = Repositories(recording_store(tmp_path, events, monkeypatch), durability="sync")
    repos.recover()
    try:
        writer, claim = write_content(repos, pattern(CHUNK_SIZE + 10))
        assert events == []  # nothing synced while writing
        commit_content(repos, writer)
        directory = repos.content.file_path(writer.resource).parent
        assert events == [("fsync", repos.content.file_path(writer.resource), False),
                          ("fsync", directory, False),         # the file's name
                          ("fsync", directory.parent, False),  # the content directory's name (new)
                          ("wal",)]
        events.clear()
        second, _ = write_content(repos, pattern(CHUNK_SIZE + 11))
        commit_content(repos, second)
        assert events == [("fsync", repos.content.file_path(second.resource), True),
                          ("fsync", directory, True), ("wal",)]
        assert repos.content.read_bytes(claim) == pattern(CHUNK_SIZE + 10)
    finally:
        repos.close()


def test_os_durability_leaves_content_fsyncs_to_the_durable_mark(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[object, ...]] = []
    repos = Repositories(recording_store(tmp_path, events, monkeypatch), durability="os")
    repos.recover()
    try:
        writer, _ = write_content(repos, pattern(CHUNK_SIZE + 10))
        commit_content(repos, writer)
        assert events == []
        repos.store.mark_durable()  # the engine's once a second
        path = repos.content.file_path(writer.resource)
        assert events == [("fsync", path, True), ("fsync", path.parent, True),
                          ("fsync", path.parent.parent, True), ("wal",)]
        events.clear()
        repos.store.mark_durable()
        assert events == [("wal",)]  # synced once
    finally:
        repos.close()


def test_archived_content_is_left_to_the_kernel_until_a_replay_claims_it_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[object, ...]] = []
    repos = Repositories(recording_store(tmp_path, events, monkeypatch), durability="os")
    repos.recover()
    try:
        held, _ = write_content(repos, pattern(CHUNK_SIZE + 1))
        commit_content(repos, held)
        released, claim = write_content(repos, pattern(CHUNK_SIZE + 2))
        commit_content(repos, released)
        txn = Transaction()
        txn.claim(released.resource, -1)
        assert repos.write([txn], NOW) == []
        assert released.resource in repos.content.archived
        repos.store.mark_durable()
        synced = [e[1] for e in events if e[0] == "fsync"]
        assert repos.content.file_path(held.resource) in synced
        assert repos.content.file_path(released.resource) not in synced  # no flowfile holds it
        events.clear()
        txn = Transaction()
        txn.claim(released.resource, 1)  # a replay takes the archived content again
        assert repos.write([txn], NOW + 1) == []
        repos.store.mark_durable()
        assert events[0] == ("fsync", repos.content.file_path(released.resource), True)
        assert repos.content.read_bytes(claim) == pattern(CHUNK_SIZE + 2)
    finally:
        repos.close()


def test_a_failed_content_fsync_writes_no_commit_and_is_tried_again(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[object, ...]] = []
    repos = Repositories(recording_store(tmp_path, events, monkeypatch), durability="sync")
    repos.recover()
    try:
        writer, claim = write_content(repos, pattern(CHUNK_SIZE + 10))
        recorded = content_module._fsync

        def broken(fd: int) -> None:
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        monkeypatch.setattr(content_module, "_fsync", broken)
        txn = Transaction()
        txn.new_lengths[writer.resource] = writer.length
        txn.claim(writer.resource, 1)
        txn.streamed.append(writer.resource)
        with pytest.raises(RepositoryError, match=r"syncing content file .*Input/output error"):
            repos.write([txn], NOW)
        assert writer.resource not in repos.content.counts
        assert repos.store.get(repos.store.handle("claims"), u64(writer.resource)) is None
        monkeypatch.setattr(content_module, "_fsync", recorded)
        assert repos.write([txn], NOW) == []
        assert events[0] == ("fsync", repos.content.file_path(writer.resource), False)
        assert repos.content.read_bytes(claim) == pattern(CHUNK_SIZE + 10)
    finally:
        repos.close()


def test_content_chunked_into_rocksdb_before_content_files_still_reads(tmp_path: Path) -> None:
    """A resource as flowyard stored large content before content files: chunks in
    the content table, a claims record, no file."""
    path = tmp_path / "repository"
    data = pattern(2 * CHUNK_SIZE + 99)
    repos = Repositories.open(path, archive_max_age_ms=0)
    resource = repos.content.resource_ids.take()
    batch = repos.store.batch()
    for index, start in enumerate(range(0, len(data), CHUNK_SIZE)):
        batch.put(repos.store.handle("content"), chunk_key(resource, index), data[start : start + CHUNK_SIZE])
    batch.put(repos.store.handle("claims"), u64(resource), encode_claim(1, len(data), 0))
    repos.store.write(batch)
    repos.close()

    repos = Repositories.open(path, archive_max_age_ms=0)
    try:
        assert repos.recover() == {"live_resources": 1, "archived": 0, "orphans": 0}
        claim = ContentClaim(resource, 0, len(data))
        assert repos.content.read_bytes(claim) == data
        assert [len(p) for p in repos.content.iter_chunks(claim)] == [CHUNK_SIZE, CHUNK_SIZE, 99]
        part = ContentClaim(resource, CHUNK_SIZE - 5, 10)
        with repos.content.reader(part) as stream:
            assert stream.read() == data[CHUNK_SIZE - 5 : CHUNK_SIZE + 5]
        # a new large resource beside it goes to a file; releasing the old one deletes its chunks
        writer, new_claim = write_content(repos, pattern(CHUNK_SIZE + 1))
        commit_content(repos, writer)
        assert writer.in_file
        txn = Transaction()
        txn.claim(resource, -1)
        assert repos.write([txn], NOW) == []
        assert chunks_of(repos, resource) == []
        with pytest.raises(ContentNotFoundError):
            repos.content.read_bytes(claim)
        assert repos.content.read_bytes(new_claim) == pattern(CHUNK_SIZE + 1)
    finally:
        repos.close()


def test_a_missing_content_file_is_content_not_found(repos: Repositories) -> None:
    writer, claim = write_content(repos, pattern(CHUNK_SIZE + 1))
    commit_content(repos, writer)
    repos.content.file_path(writer.resource).unlink()
    with pytest.raises(ContentNotFoundError, match=f"content resource {writer.resource} is missing: its file"):
        repos.content.read_bytes(claim)
    with pytest.raises(ContentNotFoundError) as info:
        list(repos.content.iter_chunks(claim))
    assert info.value.resource == writer.resource


def test_a_truncated_content_file_is_shorter_than_its_claim(repos: Repositories) -> None:
    writer, claim = write_content(repos, pattern(CHUNK_SIZE + 1))
    commit_content(repos, writer)
    os.truncate(repos.content.file_path(writer.resource), 1000)
    with pytest.raises(ContentNotFoundError, match=r"shorter than its claim .* holds 1000 bytes"):
        repos.content.read_bytes(claim)
    with pytest.raises(ContentNotFoundError, match="shorter than its claim"), repos.content.reader(claim) as stream:
        stream.read()


@pytest.mark.parametrize(("offset", "length", "skip"), [(0, 2 * CHUNK_SIZE + 9, 0), (CHUNK_SIZE - 4, 1000, 0),
                                                      (7, CHUNK_SIZE + 1, 5000), (0, 10, 10)])
@pytest.mark.parametrize("kernel_copy", [True, False])
def test_a_reader_copies_the_rest_of_its_claim_to_a_file(repos: Repositories, tmp_path: Path, offset: int,
                                                         length: int, skip: int, kernel_copy: bool,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    if not kernel_copy:  # e.g. another file system: copied piece by piece
        def refused(*args: object, **kwargs: object) -> int:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        monkeypatch.setattr(os, "copy_file_range", refused)
    data = pattern(2 * CHUNK_SIZE + 9)
    writer, _ = write_content(repos, data)
    commit_content(repos, writer)
    target = tmp_path / "copy"
    with repos.content.reader(ContentClaim(writer.resource, offset, length)) as stream, open(target, "wb") as out:
        assert stream.read(skip) == data[offset : offset + skip]
        assert stream.copy_to(out.fileno()) == length - skip
        assert stream.read() == b""
    assert target.read_bytes() == data[offset + skip : offset + length]


def test_a_reader_copies_chunked_content_to_a_file(tmp_path: Path) -> None:
    repos = Repositories.in_memory()
    data = pattern(CHUNK_SIZE + 99)
    writer, claim = write_content(repos, data)
    commit_content(repos, writer)
    with repos.content.reader(claim) as stream, open(tmp_path / "copy", "wb") as out:
        assert stream.copy_to(out.fileno()) == len(data)
    assert (tmp_path / "copy").read_bytes() == data


def test_put_file_copies_content_files_in_the_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copied: list[int] = []
    real = os.copy_file_range

    def counting(src: int, dst: int, count: int, *args: object) -> int:
        n = real(src, dst, count, *args)  # type: ignore[arg-type]
        copied.append(n)
        return n

    monkeypatch.setattr(os, "copy_file_range", counting)
    repos = Repositories.open(tmp_path / "repository")
    repos.recover()
    try:
        runner = ProcessorRunner(PutFile, repositories=repos)
        runner.set_property("Directory", str(tmp_path / "out"))
        big, small = pattern(2 * CHUNK_SIZE + 3), b"small"
        runner.enqueue(big, {"filename": "big.bin"})
        runner.enqueue(small, {"filename": "small.txt"})
        runner.run(1)
        runner.assert_transferred("success", 2)
        assert sum(copied) == len(big)  # the small one came from the commit batch
        assert (tmp_path / "out" / "big.bin").read_bytes() == big
        assert (tmp_path / "out" / "small.txt").read_bytes() == small
    finally:
        repos.close()


INLINE_MAX = content_module.FILE_INLINE_MAX


def refuse_copy_file_range(monkeypatch: pytest.MonkeyPatch, how: str) -> list[int]:
    """Make ``os.copy_file_range`` refuse (``exdev``: another file system),
    copy nothing (``zero``), or count what it copies (``kernel``: the counts
    returned)."""
    copied: list[int] = []
    real = os.copy_file_range

    def fake(src: int, dst: int, count: int, *args: object) -> int:
        if how == "exdev":
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        if how == "zero":
            return 0
        n = real(src, dst, count, *args)  # type: ignore[arg-type]
        copied.append(n)
        return n

    monkeypatch.setattr(os, "copy_file_range", fake)
    return copied


@pytest.mark.parametrize("how", ["kernel", "exdev", "zero"])
@pytest.mark.parametrize(("before", "size"), [(0, 1000), (0, INLINE_MAX), (0, INLINE_MAX + 1), (10, INLINE_MAX),
                                              (0, 2 * CHUNK_SIZE + 3), (7, CHUNK_SIZE + 1)])
def test_a_writer_copies_from_a_file(repos: Repositories, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     how: str, before: int, size: int) -> None:
    copied = refuse_copy_file_range(monkeypatch, how)
    source = tmp_path / "source"
    data = pattern(size + 5)
    source.write_bytes(data)
    writer = repos.content.writer()
    writer.write(b"x" * before)
    fd = os.open(source, os.O_RDONLY)
    try:
        assert writer.copy_from(fd, 5, size) == size
        assert os.lseek(fd, 0, os.SEEK_CUR) == 0  # the descriptor's own position is left alone
    finally:
        os.close(fd)
    assert writer.length == before + size
    claim = writer.finish()
    assert claim == ContentClaim(writer.resource, 0, before + size)
    large = before + size > repos.content.inline_max
    assert writer.in_file is large and writer.streamed is large
    assert sum(copied) == (size if large and how == "kernel" else 0)  # the kernel copies only into a content file
    commit_content(repos, writer)
    assert repos.content.read_bytes(claim) == b"x" * before + data[5:]
    assert repos.content.file_path(writer.resource).exists() is large
    assert chunks_of(repos, writer.resource) == ([] if large else [chunk_key(writer.resource, 0)])


def test_a_writer_copies_into_a_content_file_it_is_writing_already(repos: Repositories, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.write_bytes(pattern(CHUNK_SIZE))
    writer = repos.content.writer()
    writer.write(b"a" * (INLINE_MAX + 1))  # the file is open
    writer.write(b"b" * 10)  # gathered, not yet written
    with open(source, "rb") as handle:
        assert writer.copy_from(handle.fileno(), 0, CHUNK_SIZE) == CHUNK_SIZE
    writer.write(b"c")
    claim = writer.finish()
    commit_content(repos, writer)
    expected = b"a" * (INLINE_MAX + 1) + b"b" * 10 + pattern(CHUNK_SIZE) + b"c"
    assert claim is not None and claim.length == len(expected)
    assert repos.content.file_path(writer.resource).read_bytes() == expected


@pytest.mark.parametrize("how", ["kernel", "exdev"])
def test_a_writer_copies_what_a_shrunk_file_still_holds_and_counts_only_that(
        repos: Repositories, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    refuse_copy_file_range(monkeypatch, how)
    source = tmp_path / "source"
    source.write_bytes(pattern(CHUNK_SIZE + 100))
    writer = repos.content.writer()
    with open(source, "rb") as handle:
        assert writer.copy_from(handle.fileno(), 0, 3 * CHUNK_SIZE) == CHUNK_SIZE + 100  # truncated meanwhile
    claim = writer.finish()
    assert claim is not None and claim.length == writer.length == CHUNK_SIZE + 100
    commit_content(repos, writer)
    assert repos.content.read_bytes(claim) == pattern(CHUNK_SIZE + 100)


def test_a_writer_copies_from_a_file_into_chunks_without_a_content_directory(tmp_path: Path) -> None:
    repos = Repositories.in_memory()
    source = tmp_path / "source"
    data = pattern(2 * CHUNK_SIZE + 1)
    source.write_bytes(data)
    writer = repos.content.writer()
    with open(source, "rb") as handle:
        assert writer.copy_from(handle.fileno(), 0, len(data)) == len(data)
    claim = writer.finish()
    assert writer.streamed and not writer.in_file
    commit_content(repos, writer)
    assert repos.content.read_bytes(claim) == data


def test_a_full_disk_while_copying_from_a_file_raises_storage_full(repos: Repositories, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    source = tmp_path / "source"
    source.write_bytes(pattern(CHUNK_SIZE))
    monkeypatch.setattr(os, "copy_file_range", full)
    writer = repos.content.writer()
    with open(source, "rb") as handle, pytest.raises(
            StorageFullError, match=f"writing content file .*{writer.resource}: the disk is full"):
        writer.copy_from(handle.fileno(), 0, CHUNK_SIZE)
    repos.content.discard(writer)
    assert not repos.content.file_path(writer.resource).exists()


def test_a_full_disk_while_copying_piece_by_piece_raises_storage_full(repos: Repositories, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, data: memoryview) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    refuse_copy_file_range(monkeypatch, "exdev")
    monkeypatch.setattr(content_module, "_write", full)
    source = tmp_path / "source"
    source.write_bytes(pattern(CHUNK_SIZE))
    writer = repos.content.writer()
    with open(source, "rb") as handle, pytest.raises(StorageFullError, match="the disk is full"):
        writer.copy_from(handle.fileno(), 0, CHUNK_SIZE)
    repos.content.discard(writer)
    assert not repos.content.file_path(writer.resource).exists()


def test_a_source_that_cannot_be_read_is_an_os_error_not_a_repository_error(repos: Repositories,
                                                                            tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.write_bytes(pattern(CHUNK_SIZE))
    writer = repos.content.writer()
    fd = os.open(source, os.O_WRONLY)  # the kernel refuses it (EBADF), and so does pread: the source's fault
    try:
        with pytest.raises(OSError) as raised:
            writer.copy_from(fd, 0, CHUNK_SIZE)
        assert not isinstance(raised.value, RepositoryError)
        assert raised.value.errno == errno.EBADF
    finally:
        os.close(fd)
    assert writer.length == 0
    repos.content.discard(writer)


def test_a_session_stream_copies_from_a_file_and_counts_the_bytes_written(repos: Repositories,
                                                                         tmp_path: Path) -> None:
    source = tmp_path / "source"
    data = pattern(CHUNK_SIZE + 3)
    source.write_bytes(data)
    queue = new_queue(repos, "out")
    s = session(repos, dest={"success": [queue]})

    def fill(out: object) -> None:
        with open(source, "rb") as handle:
            assert out.copy_from(handle.fileno(), 3, CHUNK_SIZE) == CHUNK_SIZE  # type: ignore[attr-defined]
        out.write(b"end")  # type: ignore[attr-defined]

    ff = s.write(s.create(), fill)
    assert ff.size == CHUNK_SIZE + 3
    assert s.read_bytes(ff) == data[3:] + b"end"
    s.transfer(ff, "success")
    prepared = s.prepare_commit()
    assert prepared.stats.bytes_written == CHUNK_SIZE + 3
    assert repos.write([prepared.transaction], NOW) == []
    prepared.apply(NOW)
    assert repos.content.file_path(ff.claim.resource).read_bytes() == data[3:] + b"end"


def test_repair_keeps_content_files_whose_claims_record_was_lost(tmp_path: Path) -> None:
    path = tmp_path / "repository"
    repos = Repositories.open(path)
    repos.recover()
    queue = new_queue(repos, "q")
    s = session(repos, dest={"success": [queue]})
    ff = s.write(s.create(), pattern(CHUNK_SIZE + 3))
    s.transfer(ff, "success")
    s.transfer(s.clone(ff), "success")
    commit(repos, s)
    repos.store.delete_range(repos.store.handle("claims"), b"", b"\xff" * 9)  # lost behind the counts' back
    repos.close()
    report = repair(path)
    assert [(q.connection, q.found, q.without_content) for q in report.queues] == [("q", 2, [])]
    repos = Repositories.open(path)
    try:
        assert repos.recover()["orphans"] == 0
        assert repos.content.counts == {ff.claim.resource: 2}
        assert repos.content.read_bytes(ff.claim) == pattern(CHUNK_SIZE + 3)
    finally:
        repos.close()
