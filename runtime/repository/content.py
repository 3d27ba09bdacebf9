"""Content repository: immutable content resources with claimant counts.

A *resource* is an immutable run of bytes named by an id. A flowfile's
``ContentClaim`` names a resource and a byte range of it, so clones and
zero-copy splits share one resource. The claimant count of a resource is the
number of live flowfiles whose claims point at it; counts change only inside
a commit batch, together with the flowfile records that justify them.

A resource is stored in one of three ways:

*inline*
    content of at most ``inline_max`` bytes is one chunk (``chunk_key(resource,
    0)``) written inside the commit batch, so it can never be orphaned;
*file*
    with a content directory (``RocksStore.content_directory``), larger
    content goes to a file of its own, ``<directory>/<resource id>``, appended
    with ``os.write`` as the processor writes (no RocksDB call, and the GIL is
    released during every write), or copied into by the kernel from a file the
    processor names (``ContentWriter.copy_from``), and read with ``os.pread``
    (or copied out by the kernel: ``ContentReader.copy_to``);
*chunks*
    without a content directory (the in-memory store), larger content is
    streamed into the store in chunks of ``CHUNK_SIZE`` under a *pending*
    marker that the commit batch removes. Large content written before content
    files existed is stored this way too, and is still read.

A content file is kept only while its resource has a claims record (live or
archived). A rollback deletes the file at once; the commit that releases or
expires a resource deletes its file once the batch is written; and recovery
deletes every file whose resource has no claims record: written by a session
that never committed, or released by a commit that a crash cut off before the
file went. So nothing is orphaned, as with pending markers, and no marker
needs writing.

Durability of content files follows the store's (``docs/architecture.md``):
a file is complete in the page cache before the commit that references it is
written, which survives kill -9. Every file finished since the last sync, and
the directory holding it, is fsynced first whenever the store makes writes
durable (the store calls ``sync_files``): before the batch of a ``sync``
commit is written, and before the write-ahead log is synced for the durable
watermark (``mark_durable``, once a second), so no durable commit refers to
content that an OS crash could lose.

A resource whose count reaches zero is *archived* (kept for provenance content
views and replay) until it is older than ``archive_max_age`` or the archive
outgrows ``archive_max_bytes`` / ``archive_max_count``; with
``archive_max_age == 0`` it is deleted in the same commit.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from flowyard.runtime.repository._codec import (
    CHUNK_SIZE,
    chunk_key,
    content_file_name,
    decode_claim,
    encode_claim,
    from_u64,
    resource_range,
    u64,
)
from flowyard.runtime.repository._store import Batch, Store
from flowyard.runtime.sdk._errors import (
    ContentNotFoundError,
    RepositoryCorruptedError,
    RepositoryError,
    StorageFullError,
)
from flowyard.runtime.sdk._flowfile import ContentClaim

__all__ = ["FILE_INLINE_MAX", "ContentReader", "ContentRepository", "ContentWriter", "IdAllocator"]

_PENDING = b"pending/"
#: With a content directory, content larger than this goes to a content file
#: (RocksDB put values of 64 KiB and more into blob files: written twice, WAL
#: then blob, with the GIL held throughout).
FILE_INLINE_MAX = 64 * 1024
#: Pieces at least this large are written to a content file as they come,
#: smaller ones are gathered into writes of ``CHUNK_SIZE``.
_DIRECT_WRITE = 256 * 1024
log = logging.getLogger("flowyard.repository")


def _fsync(fd: int) -> None:
    os.fsync(fd)  # looked up at each call, so that a test can stand in for it


def _write(fd: int, data: memoryview) -> int:
    return os.write(fd, data)  # looked up at each call, so that a test can stand in for it


def _storage_error(exc: OSError, what: str) -> RepositoryError:
    """The repository error for ``exc``, raised while ``what``: a full disk is a
    ``StorageFullError`` (the engine pauses and retries), anything else a
    ``RepositoryError``."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFullError(f"{what}: the disk is full: {exc.strerror}")
    return RepositoryError(f"{what}: {exc.strerror or exc}")


class IdAllocator:
    """Increasing integer ids that stay unique across restarts.

    Ids are reserved in blocks; the block's upper bound is written to the store
    before any id of it is handed out, so after a crash allocation resumes above
    every id that may have been used. When that write fails (a full disk), the
    error propagates and nothing is handed out or remembered: the next ``take``
    tries the reservation again. Thread-safe.
    """

    def __init__(self, store: Store, key: bytes, *, block: int = 1 << 16) -> None:
        self._store = store
        self._cf = store.handle("state")
        self._key = key
        self._block = block
        stored = store.get(self._cf, key)
        self._next = from_u64(stored) if stored else 1
        self._limit = self._next
        self._lock = threading.Lock()

    def take(self, n: int = 1) -> int:
        """Reserve ``n`` consecutive ids and return the first."""
        with self._lock:
            start = self._next
            end = start + n
            if end > self._limit:
                limit = end + self._block
                self._store.put(self._cf, self._key, u64(limit))  # durable first: raises, and nothing changed
                self._limit = limit
            self._next = end
            return start

    @property
    def next_id(self) -> int:
        """The id the next ``take`` will start at."""
        return self._next


class ContentWriter:
    """Writes one new resource. Obtain from ``ContentRepository.writer``.

    After ``finish`` the caller owns the result: ``inline`` chunks must go into
    the commit batch, and a ``streamed`` resource (in a content file, or
    streamed into the store) must be either committed or discarded
    (``ContentRepository.discard``). ``in_file`` tells that it went to a
    content file. Used by one thread at a time.
    """

    __slots__ = ("_buffer", "_fd", "_index", "_repo", "finished", "in_file", "inline", "length", "resource",
                 "streamed")

    def __init__(self, repo: ContentRepository, resource: int) -> None:
        self._repo = repo
        self.resource = resource
        self._buffer = bytearray()
        self._index = 0
        self._fd = -1
        self.length = 0
        self.streamed = False
        self.in_file = False
        self.finished = False
        self.inline: list[tuple[bytes, bytes]] = []

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append ``data``. Beyond ``inline_max`` bytes the content goes to its
        content file (or, without one, full chunks to the store) at once.
        Raises ``StorageFullError`` / ``RepositoryError`` when it cannot be
        written; the writer must then be discarded."""
        if self.finished:
            raise ValueError("write to a finished content writer")
        n = len(data)
        self.length += n
        if self._fd >= 0:
            if n >= _DIRECT_WRITE and not self._buffer:
                self._write_file(data)
            else:
                self._buffer += data
                if len(self._buffer) >= CHUNK_SIZE:
                    self._write_file(self._buffer)
                    self._buffer = bytearray()
            return n
        repo = self._repo
        if repo._directory is not None:
            if len(self._buffer) + n > repo.inline_max:
                self._open_file()
                if self._buffer:
                    self._buffer += data
                    self._write_file(self._buffer)
                    self._buffer = bytearray()
                else:
                    self._write_file(data)
            else:
                self._buffer += data
            return n
        self._buffer += data
        # Keep a full chunk buffered until more arrives: content of exactly
        # one chunk then still goes inline into the commit batch.
        while len(self._buffer) > CHUNK_SIZE:
            self._flush_chunk(bytes(self._buffer[:CHUNK_SIZE]))
            del self._buffer[:CHUNK_SIZE]
        return n

    def copy_from(self, fd: int, offset: int, length: int) -> int:
        """Append up to ``length`` bytes of file descriptor ``fd`` from ``offset``
        (``fd``'s own position is left alone) and return how many were
        appended: fewer only where ``fd`` ends before (a file truncated
        meanwhile), and exactly those count in ``length``. Content that goes to
        a content file is copied by the kernel (``os.copy_file_range``: no copy
        through Python, a clone where the file system shares blocks), piece by
        piece where it cannot (another file system, a file system without it);
        other content is read and written as by ``write``.

        Raises ``StorageFullError`` / ``RepositoryError`` when the content cannot
        be written (the writer must then be discarded), and ``OSError`` when
        ``fd`` cannot be read (what was appended before stays counted)."""
        if self.finished:
            raise ValueError("write to a finished content writer")
        if offset < 0 or length < 0:
            raise ValueError(f"copy_from needs an offset and a length of at least 0, not {offset} and {length}")
        repo = self._repo
        if self._fd < 0 and (repo._directory is None or len(self._buffer) + length <= repo.inline_max):
            return self._copy_pieces(fd, offset, length, self.write)
        if self._fd < 0:
            self._open_file()
        if self._buffer:
            self._write_file(self._buffer)
            self._buffer = bytearray()
        copied = 0
        while copied < length:
            try:
                n = os.copy_file_range(fd, self._fd, length - copied, offset + copied)
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise _storage_error(exc, f"writing content file {repo.file_path(self.resource)}") from None
                # Not between these files (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP...), or an I/O error
                # on one side: piece by piece below, which names the side at fault.
                break
            if n == 0:  # the end of fd, or a file system that copies nothing: piece by piece tells
                break
            copied += n
            self.length += n
        if copied < length:
            copied += self._copy_pieces(fd, offset + copied, length - copied, self._append_file)
        return copied

    def _append_file(self, data: memoryview) -> int:
        self.length += len(data)
        self._write_file(data)
        return len(data)

    @staticmethod
    def _copy_pieces(fd: int, offset: int, length: int, sink: Callable[[memoryview], int]) -> int:
        """Read ``length`` bytes of ``fd`` from ``offset`` in pieces into ``sink``
        (until ``fd`` ends); how many were read."""
        buffer = bytearray(min(length, CHUNK_SIZE))
        view = memoryview(buffer)
        copied = 0
        while copied < length:
            n = os.preadv(fd, [view[: length - copied]], offset + copied)
            if n == 0:
                break
            sink(view[:n])  # consumed before it returns: the buffer can be reused
            copied += n
        return copied

    def _open_file(self) -> None:
        repo = self._repo
        path = repo.file_path(self.resource)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        try:
            try:
                fd = os.open(path, flags, 0o600)
            except FileNotFoundError:  # the first content file: its directory comes first
                repo._make_directory()
                fd = os.open(path, flags, 0o600)
        except FileExistsError:
            raise RepositoryError(f"content file {path} exists already: resource {self.resource} was handed out "
                                  "twice (is another process writing to this repository?)") from None
        except OSError as exc:
            raise _storage_error(exc, f"creating content file {path}") from None
        self._fd = fd
        self.streamed = self.in_file = True
        repo._files.add(self.resource)

    def _write_file(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        try:
            while view:
                view = view[_write(self._fd, view):]
        except OSError as exc:
            raise _storage_error(exc, f"writing content file {self._repo.file_path(self.resource)}") from None

    def _flush_chunk(self, chunk: bytes) -> None:
        repo = self._repo
        if not self.streamed:
            self.streamed = True
            repo._store.put(repo._state, _PENDING + u64(self.resource), b"")
        repo._store.put(repo._content, chunk_key(self.resource, self._index), chunk)
        self._index += 1

    def finish(self) -> ContentClaim | None:
        """End the resource; the claim covering it (None if nothing was written)."""
        if not self.finished:
            self.finished = True
            if self._fd >= 0:
                if self._buffer:
                    self._write_file(self._buffer)
                    self._buffer = bytearray()
                self._close_file()
                self._repo._unsynced_file(self.resource)
            elif self._buffer:
                chunk = bytes(self._buffer)
                self._buffer = bytearray()
                if self.streamed:
                    self._flush_chunk(chunk)
                else:
                    self.inline.append((chunk_key(self.resource, self._index), chunk))
        if self.length == 0:
            return None
        return ContentClaim(self.resource, 0, self.length)

    def _close_file(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError as exc:  # a write-back error reported at close
                raise _storage_error(exc, f"closing content file {self._repo.file_path(self.resource)}") from None

    def __del__(self) -> None:
        if self._fd >= 0:  # neither finished nor discarded: recovery removes its file
            try:
                os.close(self._fd)
            except OSError:
                pass


class ContentReader(io.RawIOBase):
    """A read-only binary stream over one claim; reads chunk by chunk, or from
    the resource's content file.

    ``overlay`` supplies chunks written inline by a session that has not
    committed yet.
    """

    def __init__(
        self,
        repo: ContentRepository,
        claim: ContentClaim | None,
        overlay: Mapping[bytes, bytes] | None = None,
    ) -> None:
        super().__init__()
        self._repo = repo
        self._claim = claim
        self._overlay = overlay
        self._pos = 0
        self._length = claim.length if claim is not None else 0
        self._chunk_index = -1
        self._chunk = b""
        self._fd = -1

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, min(self._length, base + offset))
        return self._pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        claim = self._claim
        if claim is None or self._pos >= self._length or not len(buffer):
            return 0
        absolute = claim.offset + self._pos
        if self._fd >= 0 or claim.resource in self._repo._files:
            if self._fd < 0:
                self._fd = self._repo._open_file(claim.resource)
            want = min(len(buffer), self._length - self._pos)
            try:
                n = os.preadv(self._fd, [memoryview(buffer).cast("B")[:want]], absolute)
            except OSError as exc:
                raise self._repo._unreadable(claim.resource, exc) from None
        else:
            index, within = divmod(absolute, CHUNK_SIZE)
            if index != self._chunk_index:
                self._chunk = self._repo._chunk(claim.resource, index, self._overlay)
                self._chunk_index = index
            n = min(len(buffer), len(self._chunk) - within, self._length - self._pos)
            if n > 0:
                buffer[:n] = self._chunk[within : within + n]
        if n <= 0:
            raise ContentNotFoundError(
                f"content resource {claim.resource} is shorter than its claim {claim}", resource=claim.resource
            )
        self._pos += n
        return n

    def copy_to(self, fd: int) -> int:
        """Write the rest of the claim to file descriptor ``fd`` (at its current
        position) and return how many bytes. From a content file the kernel
        copies (``os.copy_file_range``: no copy through Python, and a clone
        where the file system can share blocks); otherwise chunk by chunk."""
        claim = self._claim
        if claim is None or self._pos >= self._length:
            return 0
        start = self._pos
        if self._fd >= 0 or claim.resource in self._repo._files:
            if self._fd < 0:
                self._fd = self._repo._open_file(claim.resource)
            while self._pos < self._length:
                try:
                    n = os.copy_file_range(self._fd, fd, self._length - self._pos, claim.offset + self._pos)
                except OSError as exc:
                    if exc.errno in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                        break  # not between these files: copied below
                    raise
                if n == 0:
                    raise ContentNotFoundError(f"content resource {claim.resource} is shorter than its claim "
                                               f"{claim}", resource=claim.resource)
                self._pos += n
        if self._pos < self._length:
            rest = ContentClaim(claim.resource, claim.offset + self._pos, self._length - self._pos)
            for piece in self._repo.iter_chunks(rest, self._overlay):  # chunks as stored: no copy in Python
                view = memoryview(piece)
                while view:
                    view = view[os.write(fd, view):]
                self._pos += len(piece)
        return self._pos - start

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)
        super().close()


class ContentRepository:
    """Content resources, their claimant counts and the archive. See module docstring.

    ``directory`` is where content files go (default: the store's
    ``content_directory``; None there: no content files, large content is
    streamed into the store in chunks). ``inline_max``: content of at most this
    many bytes goes into the commit batch (default ``FILE_INLINE_MAX`` with
    content files, ``CHUNK_SIZE`` without; at most ``CHUNK_SIZE``). A store
    with ``add_sync_hook`` calls ``sync_files`` whenever it makes writes
    durable; with another store, call it before a commit must be durable.
    """

    def __init__(
        self,
        store: Store,
        *,
        archive_max_age_ms: int = 3 * 3600 * 1000,
        archive_max_bytes: int = 1 << 30,
        archive_max_count: int = 100_000,
        directory: str | os.PathLike[str] | None = None,
        inline_max: int | None = None,
    ) -> None:
        self._store = store
        self._content = store.handle("content")
        self._claims = store.handle("claims")
        self._state = store.handle("state")
        self.resource_ids = IdAllocator(store, b"meta/next-resource", block=1 << 14)
        self.archive_max_age_ms = archive_max_age_ms
        self.archive_max_bytes = archive_max_bytes
        self.archive_max_count = archive_max_count
        #: claimant counts of live resources (count > 0)
        self.counts: dict[int, int] = {}
        self.lengths: dict[int, int] = {}
        #: resource -> (release time, length), oldest release first
        self.archived: OrderedDict[int, tuple[int, int]] = OrderedDict()
        self.archived_bytes = 0
        if directory is None:
            directory = getattr(store, "content_directory", None)
        self._directory = Path(directory) if directory is not None else None
        if inline_max is None:
            inline_max = FILE_INLINE_MAX if self._directory is not None else CHUNK_SIZE
        if not 0 <= inline_max <= CHUNK_SIZE:
            raise ValueError(f"inline_max must be between 0 and {CHUNK_SIZE} (one chunk), not {inline_max}")
        #: Content of at most this many bytes goes into the commit batch.
        self.inline_max = inline_max
        #: Resources stored in content files (finished or being written).
        self._files: set[int] = set()
        #: Content files finished and directories changed since the last ``sync_files``.
        self._unsynced: list[int] = []
        self._unsynced_dirs: set[Path] = set()
        #: Content files not synced because their resource was archived (see ``sync_files``).
        self._unsynced_archived: set[int] = set()
        self._unsynced_lock = threading.Lock()
        self._syncing = threading.Lock()
        if self._directory is not None:
            self._files.update(self._file_resources())
            add_hook = getattr(store, "add_sync_hook", None)
            if add_hook is not None:
                add_hook(self.sync_files)

    # -- writing and reading ------------------------------------------------

    @property
    def directory(self) -> Path | None:
        """Where content files are kept (None: none are)."""
        return self._directory

    def writer(self) -> ContentWriter:
        """A writer for a new resource."""
        return ContentWriter(self, self.resource_ids.take())

    def reader(
        self, claim: ContentClaim | None, overlay: Mapping[bytes, bytes] | None = None
    ) -> ContentReader:
        """A stream over the bytes of ``claim`` (empty for None)."""
        return ContentReader(self, claim, overlay)

    def read_bytes(
        self, claim: ContentClaim | None, overlay: Mapping[bytes, bytes] | None = None
    ) -> bytes:
        """All bytes of ``claim`` at once. For small content; stream large content."""
        if claim is None:
            return b""
        if claim.resource in self._files and claim.length:
            fd = self._open_file(claim.resource)
            try:
                data = self._pread(fd, claim, claim.offset, claim.length)
                if len(data) == claim.length:
                    return data
                return b"".join([data, *self._iter_file(fd, claim, claim.offset + len(data),
                                                        claim.length - len(data))])
            finally:
                os.close(fd)
        return b"".join(self.iter_chunks(claim, overlay))

    def iter_chunks(
        self, claim: ContentClaim | None, overlay: Mapping[bytes, bytes] | None = None
    ) -> Iterator[bytes]:
        """The bytes of ``claim`` as a sequence of chunks (at most ``CHUNK_SIZE`` each)."""
        if claim is None or claim.length == 0:
            return
        if claim.resource in self._files:
            fd = self._open_file(claim.resource)
            try:
                yield from self._iter_file(fd, claim, claim.offset, claim.length)
            finally:
                os.close(fd)
            return
        start, remaining = claim.offset, claim.length
        index, within = divmod(start, CHUNK_SIZE)
        while remaining > 0:
            chunk = self._chunk(claim.resource, index, overlay)
            piece = chunk[within : within + remaining]
            if not piece:
                raise ContentNotFoundError(
                    f"content resource {claim.resource} is shorter than its claim {claim}", resource=claim.resource
                )
            yield piece
            remaining -= len(piece)
            index, within = index + 1, 0

    def _iter_file(self, fd: int, claim: ContentClaim, position: int, remaining: int) -> Iterator[bytes]:
        """``remaining`` bytes of ``claim``'s file from ``position``, in pieces that
        end at multiples of ``CHUNK_SIZE`` (as chunked content comes)."""
        while remaining > 0:
            piece = self._pread(fd, claim, position, min(remaining, CHUNK_SIZE - position % CHUNK_SIZE))
            yield piece
            position += len(piece)
            remaining -= len(piece)

    def _pread(self, fd: int, claim: ContentClaim, position: int, size: int) -> bytes:
        try:
            piece = os.pread(fd, size, position)
        except OSError as exc:
            raise self._unreadable(claim.resource, exc) from None
        if not piece:
            raise ContentNotFoundError(
                f"content resource {claim.resource} is shorter than its claim {claim} (its file "
                f"{self.file_path(claim.resource)} holds {os.fstat(fd).st_size} bytes)", resource=claim.resource
            )
        return piece

    def file_path(self, resource: int) -> Path:
        """The content file of ``resource`` (whether it exists or not)."""
        assert self._directory is not None, "no content directory"
        return self._directory / content_file_name(resource)

    def _open_file(self, resource: int) -> int:
        path = self.file_path(resource)
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise ContentNotFoundError(f"content resource {resource} is missing: its file {path} is gone",
                                       resource=resource) from None
        except OSError as exc:
            raise self._unreadable(resource, exc) from None

    def _unreadable(self, resource: int, exc: OSError) -> ContentNotFoundError:
        return ContentNotFoundError(f"content resource {resource} cannot be read from {self.file_path(resource)}: "
                                    f"{exc.strerror or exc}", resource=resource)

    def _chunk(self, resource: int, index: int, overlay: Mapping[bytes, bytes] | None) -> bytes:
        key = chunk_key(resource, index)
        if overlay is not None:
            value = overlay.get(key)
            if value is not None:
                return value
        try:
            value = self._store.get(self._content, key)
        except RepositoryCorruptedError as exc:
            raise ContentNotFoundError(f"content resource {resource} chunk {index} cannot be read: {exc}",
                                       resource=resource) from None
        if value is None:
            raise ContentNotFoundError(
                f"content resource {resource} chunk {index} is missing from the content repository", resource=resource
            )
        return value

    def discard(self, writer: ContentWriter) -> None:
        """Drop an uncommitted resource (session rollback). Writes nothing more of
        it, and never raises for the store: when its content file or streamed
        chunks cannot be deleted now (a full disk), the next start deletes them."""
        writer.finished = True
        writer._buffer = bytearray()  # the unwritten rest is simply not written
        if writer.in_file:
            try:
                writer._close_file()
            except RepositoryError:
                pass  # its content is dropped anyway
            self._remove_file(writer.resource)
        elif writer.streamed:
            try:
                self._delete_streamed_now(writer.resource)
            except RepositoryError as exc:
                log.warning("could not delete the content of a rolled-back session now (%s); the next start "
                            "removes it", exc)

    def _delete_streamed_now(self, resource: int) -> None:
        batch = self._store.batch()
        begin, end = resource_range(resource)
        batch.delete_range(self._content, begin, end)
        batch.delete(self._state, _PENDING + u64(resource))
        self._store.write(batch)

    # -- content files --------------------------------------------------------

    def _make_directory(self) -> None:
        directory = self._directory
        assert directory is not None
        try:
            directory.mkdir()
        except FileExistsError:
            return
        with self._unsynced_lock:  # its entry in the repository directory must become durable too
            self._unsynced_dirs.add(directory.parent)

    def _unsynced_file(self, resource: int) -> None:
        assert self._directory is not None
        with self._unsynced_lock:
            self._unsynced.append(resource)
            self._unsynced_dirs.add(self._directory)

    def sync_files(self) -> None:
        """Fsync every content file finished since the last call, then the
        directories whose entries changed (the new files' names): after it
        returns they survive power loss. Files deleted meanwhile are skipped,
        and so are files of archived resources: no flowfile holds them any
        more, so the kernel may write them back in its own time (an OS crash
        may then lose the newest archived content, shown as missing by a
        provenance view, never the content of a queued flowfile); one that
        a replay claims again is synced by the next call. Raises
        ``StorageFullError`` / ``RepositoryError`` if a sync fails; what was not
        synced then is synced by the next call."""
        with self._syncing:  # a second caller must not return while the first is still syncing
            with self._unsynced_lock:
                files, self._unsynced = self._unsynced, []
                dirs, self._unsynced_dirs = self._unsynced_dirs, set()
            if not files and not dirs:
                return
            done = 0
            what = "syncing content files"
            archived = self.archived
            try:
                for resource in files:
                    with self._unsynced_lock:  # against a replay claiming it again (apply_counts)
                        skip = resource in archived
                        if skip:
                            self._unsynced_archived.add(resource)
                    if skip:
                        done += 1
                        continue
                    what = f"syncing content file {self.file_path(resource)}"
                    try:
                        fd = os.open(self.file_path(resource), os.O_RDONLY | os.O_CLOEXEC)
                    except FileNotFoundError:  # deleted meanwhile: nothing to keep
                        done += 1
                        continue
                    try:
                        _fsync(fd)
                    finally:
                        os.close(fd)
                    done += 1
                for directory in sorted(dirs, key=lambda d: len(d.parts), reverse=True):
                    what = f"syncing directory {directory}"
                    fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
                    try:
                        _fsync(fd)
                    finally:
                        os.close(fd)
            except OSError as exc:
                with self._unsynced_lock:
                    self._unsynced[:0] = files[done:]
                    self._unsynced_dirs |= dirs
                raise _storage_error(exc, what) from None

    def _resync(self, resource: int) -> None:
        """``resource`` left the archive (a replay claims it): if its file was
        skipped by ``sync_files``, the next call syncs it."""
        with self._unsynced_lock:
            if resource in self._unsynced_archived:
                self._unsynced_archived.discard(resource)
                self._unsynced.append(resource)

    def _remove_file(self, resource: int) -> None:
        """Delete the content file of ``resource``; never raises (what stays is
        deleted by the next start: its resource has no claims record)."""
        self._files.discard(resource)
        self._unsynced_archived.discard(resource)
        try:
            os.unlink(self.file_path(resource))
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not delete content file %s now (%s); the next start removes it",
                        self.file_path(resource), exc.strerror or exc)

    def _file_resources(self) -> list[int]:
        """The resources that have a content file."""
        assert self._directory is not None
        try:
            with os.scandir(self._directory) as entries:
                return [int(entry.name) for entry in entries if entry.name.isdigit()]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise RepositoryError(f"cannot list the content files in {self._directory}: "
                                  f"{exc.strerror or exc}") from None

    # -- claimant counts (called by Repositories.write, single writer) -------

    def plan_counts(
        self, deltas: Mapping[int, int], new_lengths: Mapping[int, int]
    ) -> dict[int, int]:
        """New counts after ``deltas``. Raises if a count would go negative."""
        planned: dict[int, int] = {}
        counts = self.counts
        for resource, delta in deltas.items():
            if delta == 0 and resource not in new_lengths:
                continue
            count = counts.get(resource, 0) + delta
            if count < 0:
                raise AssertionError(f"claimant count of resource {resource} would be {count}")
            planned[resource] = count
        return planned

    def stage_counts(
        self,
        batch: Batch,
        planned: Mapping[int, int],
        new_lengths: Mapping[int, int],
        now_ms: int,
    ) -> list[tuple[int, int, int]]:
        """Put the planned counts into ``batch``; returns (resource, count, length)
        rows to hand to ``apply_counts`` once the batch is written."""
        rows = []
        archive = self.archive_max_age_ms > 0
        files = self._files
        for resource, count in planned.items():
            length = new_lengths.get(resource)
            if length is None:
                length = self.lengths.get(resource)
                if length is None:
                    archived = self.archived.get(resource)
                    length = archived[1] if archived else 0
            key = u64(resource)
            if count > 0:
                batch.put(self._claims, key, encode_claim(count, length, 0))
            elif archive:
                batch.put(self._claims, key, encode_claim(0, length, now_ms))
            else:
                batch.delete(self._claims, key)
                if resource not in files:  # a content file goes once the batch is written (apply_counts)
                    begin, end = resource_range(resource)
                    batch.delete_range(self._content, begin, end)
            rows.append((resource, count, length))
        return rows

    def apply_counts(self, rows: list[tuple[int, int, int]], now_ms: int) -> None:
        """Make written count changes visible in memory (and delete the content
        files of resources that the written batch deleted)."""
        archive = self.archive_max_age_ms > 0
        for resource, count, length in rows:
            if count > 0:
                self.counts[resource] = count
                self.lengths[resource] = length
                previous = self.archived.pop(resource, None)
                if previous is not None:
                    self.archived_bytes -= previous[1]
                    self._resync(resource)
            else:
                self.counts.pop(resource, None)
                self.lengths.pop(resource, None)
                if archive:
                    self.archived[resource] = (now_ms, length)
                    self.archived_bytes += length
                elif resource in self._files:
                    self._remove_file(resource)

    def pending_marker(self, resource: int) -> bytes:
        """State key of the pending marker of a resource streamed into the store."""
        return _PENDING + u64(resource)

    # -- archive ------------------------------------------------------------

    def expire_archive(self, now_ms: int, *, limit: int = 10_000) -> int:
        """Delete archived resources beyond the archive limits; returns how many."""
        victims: list[int] = []
        max_age = self.archive_max_age_ms
        n_archived = len(self.archived)
        archived_bytes = self.archived_bytes
        for resource, (released, length) in self.archived.items():
            if len(victims) >= limit:
                break
            if (
                now_ms - released >= max_age
                or archived_bytes > self.archive_max_bytes
                or n_archived > self.archive_max_count
            ):
                victims.append(resource)
                archived_bytes -= length
                n_archived -= 1
            else:
                break
        if not victims:
            return 0
        batch = self._store.batch()
        files = self._files
        for resource in victims:
            if resource not in files:
                begin, end = resource_range(resource)
                batch.delete_range(self._content, begin, end)
            batch.delete(self._claims, u64(resource))
        self._store.write(batch)
        for resource in victims:
            _, length = self.archived.pop(resource)
            self.archived_bytes -= length
            if resource in files:
                self._remove_file(resource)
        return len(victims)

    # -- recovery -----------------------------------------------------------

    def recover(self) -> dict[str, int]:
        """Load counts and the archive; delete content orphaned by a crash:
        content files whose resource has no claims record, and resources
        streamed into the store whose pending marker survived.

        Returns figures for the recovery report.
        """
        rows = []
        for key, value in self._store.scan(self._claims, b""):
            count, length, released = decode_claim(value)
            resource = from_u64(key)
            if count > 0:
                self.counts[resource] = count
                self.lengths[resource] = length
            else:
                rows.append((released, resource, length))
        rows.sort()
        for released, resource, length in rows:
            self.archived[resource] = (released, length)
            self.archived_bytes += length
        orphans = 0
        if self._directory is not None:
            for resource in self._file_resources():
                if resource in self.counts or resource in self.archived:
                    self._files.add(resource)
                else:
                    orphans += 1
                    self._remove_file(resource)
        for key, _ in list(self._store.scan(self._state, _PENDING, _PENDING[:-1] + b"0")):
            resource = from_u64(key[len(_PENDING) :])
            if resource not in self.counts and resource not in self.archived:
                orphans += 1
                self._delete_streamed_now(resource)
            else:  # committed, marker left by an older version: drop the marker only
                batch = self._store.batch()
                batch.delete(self._state, key)
                self._store.write(batch)
        return {"live_resources": len(self.counts), "archived": len(self.archived), "orphans": orphans}
