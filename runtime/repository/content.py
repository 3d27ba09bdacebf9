"""Content repository: immutable, chunked content resources with claimant counts.

A *resource* is a run of bytes stored as chunks of ``CHUNK_SIZE`` under
consecutive keys. A flowfile's ``ContentClaim`` names a resource and a byte
range of it, so clones and zero-copy splits share one resource. The claimant
count of a resource is the number of live flowfiles whose claims point at it;
counts change only inside a commit batch, together with the flowfile records
that justify them.

A resource whose count reaches zero is *archived* (kept for provenance content
views and replay) until it is older than ``archive_max_age`` or the archive
outgrows ``archive_max_bytes`` / ``archive_max_count``; with
``archive_max_age == 0`` it is deleted in the same commit.

Small content (one chunk or less) is written inside the commit batch, so it can
never be orphaned. Larger content is streamed to the store as it is written,
under a *pending* marker; the commit batch removes the marker, a rollback
deletes the chunks, and recovery deletes every resource whose marker survived
a crash.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping

from flowyard.runtime.repository._codec import (
    CHUNK_SIZE,
    chunk_key,
    decode_claim,
    encode_claim,
    from_u64,
    resource_range,
    u64,
)
from flowyard.runtime.repository._store import Batch, Store
from flowyard.runtime.sdk._errors import ContentNotFoundError, RepositoryCorruptedError, RepositoryError
from flowyard.runtime.sdk._flowfile import ContentClaim

__all__ = ["ContentReader", "ContentRepository", "ContentWriter", "IdAllocator"]

_PENDING = b"pending/"
log = logging.getLogger("flowyard.repository")


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
    the commit batch, and a ``streamed`` resource must be either committed
    (its pending marker removed in the batch) or discarded.
    """

    __slots__ = ("_buffer", "_index", "_repo", "finished", "inline", "length", "resource", "streamed")

    def __init__(self, repo: ContentRepository, resource: int) -> None:
        self._repo = repo
        self.resource = resource
        self._buffer = bytearray()
        self._index = 0
        self.length = 0
        self.streamed = False
        self.finished = False
        self.inline: list[tuple[bytes, bytes]] = []

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append ``data``. Full chunks are streamed to the store at once."""
        if self.finished:
            raise ValueError("write to a finished content writer")
        n = len(data)
        self._buffer += data
        self.length += n
        # Keep a full chunk buffered until more arrives: content of exactly
        # one chunk then still goes inline into the commit batch.
        while len(self._buffer) > CHUNK_SIZE:
            self._flush_chunk(bytes(self._buffer[:CHUNK_SIZE]))
            del self._buffer[:CHUNK_SIZE]
        return n

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
            if self._buffer:
                chunk = bytes(self._buffer)
                self._buffer = bytearray()
                if self.streamed:
                    self._flush_chunk(chunk)
                else:
                    self.inline.append((chunk_key(self.resource, self._index), chunk))
        if self.length == 0:
            return None
        return ContentClaim(self.resource, 0, self.length)


class ContentReader(io.RawIOBase):
    """A read-only binary stream over one claim; reads chunk by chunk.

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
        if claim is None or self._pos >= self._length:
            return 0
        absolute = claim.offset + self._pos
        index, within = divmod(absolute, CHUNK_SIZE)
        if index != self._chunk_index:
            self._chunk = self._repo._chunk(claim.resource, index, self._overlay)
            self._chunk_index = index
        n = min(len(buffer), len(self._chunk) - within, self._length - self._pos)
        if n <= 0:
            raise ContentNotFoundError(
                f"content resource {claim.resource} is shorter than its claim {claim}", resource=claim.resource
            )
        buffer[:n] = self._chunk[within : within + n]
        self._pos += n
        return n


class ContentRepository:
    """Content resources, their claimant counts and the archive. See module docstring."""

    def __init__(
        self,
        store: Store,
        *,
        archive_max_age_ms: int = 3 * 3600 * 1000,
        archive_max_bytes: int = 1 << 30,
        archive_max_count: int = 100_000,
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

    # -- writing and reading ------------------------------------------------

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
        return b"".join(self.iter_chunks(claim, overlay))

    def iter_chunks(
        self, claim: ContentClaim | None, overlay: Mapping[bytes, bytes] | None = None
    ) -> Iterator[bytes]:
        """The bytes of ``claim`` as a sequence of chunks (at most ``CHUNK_SIZE`` each)."""
        if claim is None or claim.length == 0:
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
        it, and never raises for the store: when its streamed chunks cannot be
        deleted now (a full disk), its pending marker makes the next start
        delete them."""
        writer.finished = True
        writer._buffer = bytearray()  # the unwritten rest is simply not written
        if writer.streamed:
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
                begin, end = resource_range(resource)
                batch.delete_range(self._content, begin, end)
            rows.append((resource, count, length))
        return rows

    def apply_counts(self, rows: list[tuple[int, int, int]], now_ms: int) -> None:
        """Make written count changes visible in memory."""
        archive = self.archive_max_age_ms > 0
        for resource, count, length in rows:
            if count > 0:
                self.counts[resource] = count
                self.lengths[resource] = length
                previous = self.archived.pop(resource, None)
                if previous is not None:
                    self.archived_bytes -= previous[1]
            else:
                self.counts.pop(resource, None)
                self.lengths.pop(resource, None)
                if archive:
                    self.archived[resource] = (now_ms, length)
                    self.archived_bytes += length

    def pending_marker(self, resource: int) -> bytes:
        """State key of the pending marker of a streamed resource."""
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
        for resource in victims:
            begin, end = resource_range(resource)
            batch.delete_range(self._content, begin, end)
            batch.delete(self._claims, u64(resource))
        self._store.write(batch)
        for resource in victims:
            _, length = self.archived.pop(resource)
            self.archived_bytes -= length
        return len(victims)

    # -- recovery -----------------------------------------------------------

    def recover(self) -> dict[str, int]:
        """Load counts and the archive; delete content orphaned by a crash.

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
