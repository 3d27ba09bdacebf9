"""StandardProcessSession: the transaction a processor works in. Pure bookkeeping.

The same class runs in production and in ``sdk.testing.ProcessorRunner``, so a
processor that leaves a flowfile unaccounted fails in tests exactly as it would
in a running flow.

Life of a session:

1. the processor takes flowfiles (``get``/``get_batch``), creates, clones,
   changes and routes them; every change returns a new FlowFile version and
   the session tracks the latest one per flowfile id;
2. ``prepare_commit`` checks that every flowfile has a destination, derives
   the provenance events, claimant-count changes and flowfile placements and
   removals, and returns a ``PreparedCommit`` holding a ``Transaction`` and the
   ``QueueMoves`` (see ``_session_commit``) — nothing visible has changed yet;
3. whoever owns the session writes the transaction (``Repositories.write``),
   then calls ``PreparedCommit.apply``: upstream queues forget the taken
   flowfiles and downstream queues receive the new ones; or ``abort`` if the
   write failed, which returns the input to its queues (``QueueMoves.give_back``,
   the same rollback as ``rollback``).

``rollback`` undoes everything: taken flowfiles go back to their queues
unchanged (optionally penalized), content written by the session is deleted.

Queue access goes through ``queue_access`` so that a session used from a worker
thread can run queue operations on the event loop (the engine passes
``trio.from_thread.run_sync``); in the loop and in tests it is a direct call.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any, TypeVar

from flowyard.runtime.engine._queue import FlowFileQueue, QueueMoves
from flowyard.runtime.engine._session_commit import REMOVED as _REMOVED
from flowyard.runtime.engine._session_commit import SELF as _SELF
from flowyard.runtime.engine._session_commit import PreparedCommit, ProvenanceReporter, Routing, SessionStats, prepare
from flowyard.runtime.repository import Repositories
from flowyard.runtime.repository.content import ContentWriter
from flowyard.runtime.sdk._errors import FlowFileHandlingError
from flowyard.runtime.sdk._flowfile import ContentClaim, FlowFile, make_flowfile, new_uuids
from flowyard.runtime.sdk._provenance import ProvenanceEventType as E

#: Set on a flowfile sent to ``failure`` because its content could not be read.
CONTENT_ERROR_ATTRIBUTE = "flowyard.content.error"

__all__ = ["CONTENT_ERROR_ATTRIBUTE", "PreparedCommit", "Routing", "SessionStats", "StandardProcessSession"]

T = TypeVar("T")

#: Content written in one piece, as an iterable of pieces, or by a callback
#: given a binary output stream.
ContentSource = bytes | bytearray | memoryview | Iterable[bytes] | Callable[[IO[bytes]], Any]


def _direct(fn: Callable[[], T]) -> T:
    return fn()


class StandardProcessSession:
    """The production session. See the module docstring for its life cycle."""

    def __init__(
        self,
        routing: Routing,
        repositories: Repositories,
        clock: Callable[[], int],
        *,
        queue_access: Callable[[Callable[[], Any]], Any] = _direct,
        state_reader: Callable[[str], tuple[int, dict[str, str]]] | None = None,
        commit_hook: Callable[[StandardProcessSession], None] | None = None,
        overlay: dict[bytes, bytes] | None = None,
    ) -> None:
        """``overlay``: content chunks written but not yet in the store, shared with other
        sessions (the steps of a stateless invocation, which commit once, together:
        each step reads what the steps before it wrote). None: this session's own."""
        self._routing = routing
        self._shared_overlay = overlay
        self._commit_hook = commit_hook
        self._repos = repositories
        self._clock = clock
        self._access = queue_access
        self._state_reader = state_reader
        self._next_input = 0
        self._uuids: list[str] = []
        self._reset()

    @property
    def provenance(self) -> ProvenanceReporter:
        """Events only the processor can know about. A new reporter each time, so the
        session is in no reference cycle and is freed as soon as its trigger ends."""
        return ProvenanceReporter(self)

    def _reset(self) -> None:
        self._current: dict[int, FlowFile] = {}
        self._origin: dict[int, tuple[FlowFileQueue, FlowFile]] = {}
        self._dest: dict[int, str] = {}
        self._created: dict[int, tuple[E, tuple[str, ...]]] = {}
        self._content_changed: set[int] = set()
        self._reported: list[tuple[E, int, str | None, str | None, str | None]] = []
        self._reported_ids: set[int] = set()
        self._expired: list[tuple[FlowFileQueue, FlowFile]] = []
        self._removed: dict[int, FlowFile] = {}
        self._writers: dict[int, ContentWriter] = {}
        self._overlay: dict[bytes, bytes] = {} if self._shared_overlay is None else self._shared_overlay
        self._state: tuple[int, dict[str, str]] | None = None
        self._state_dirty = False
        self._on_success: list[Callable[[], Any]] = []
        self._on_failure: list[Callable[[BaseException | None], Any]] = []
        self._bytes_read = 0
        self._bytes_written = 0

    # -- helpers ---------------------------------------------------------------

    def _uuid(self) -> str:
        if not self._uuids:
            self._uuids = new_uuids(256)
        return self._uuids.pop()

    def _latest(self, ff: FlowFile) -> int:
        """Check ``ff`` is the current version of a flowfile of this session."""
        fid = ff[0]
        current = self._current.get(fid)
        if current is not ff:
            if current is None:
                if self._dest.get(fid) == _REMOVED:
                    raise FlowFileHandlingError(f"{ff!r} was already removed from this session")
                raise FlowFileHandlingError(f"{ff!r} does not belong to this session")
            raise FlowFileHandlingError(
                f"{ff!r} is not the latest version of flowfile {fid}: use the FlowFile the "
                "session returned from the last change"
            )
        return fid

    def _replace(self, fid: int, new: FlowFile) -> FlowFile:
        self._current[fid] = new
        self._dest.pop(fid, None)
        return new

    # -- taking -------------------------------------------------------------------

    def get(self) -> FlowFile | None:
        """Take the next flowfile from the input queues, or None if there is none."""
        batch = self.get_batch(1)
        return batch[0] if batch else None

    def get_batch(self, max_count: int = 100) -> list[FlowFile]:
        """Take up to ``max_count`` flowfiles from the input queues (round robin)."""
        inputs = self._routing.inputs
        if not inputs or max_count <= 0:
            return []
        now = self._clock()

        def take() -> tuple[list[tuple[FlowFileQueue, FlowFile]], list[tuple[FlowFileQueue, FlowFile]]]:
            got: list[tuple[FlowFileQueue, FlowFile]] = []
            expired: list[tuple[FlowFileQueue, FlowFile]] = []
            n = len(inputs)
            for i in range(n):
                queue = inputs[(self._next_input + i) % n]
                want = max_count - len(got)
                if want <= 0:
                    break
                if not queue.has_available(now):
                    continue
                taken, gone = queue.poll(want, now)
                got.extend((queue, ff) for ff in taken)
                expired.extend((queue, ff) for ff in gone)
            self._next_input = (self._next_input + 1) % n
            return got, expired

        got, expired = self._access(take)
        if expired:
            self._expired.extend(expired)
        current, origin = self._current, self._origin
        out = []
        for queue, ff in got:
            fid = ff[0]
            current[fid] = ff
            origin[fid] = (queue, ff)
            out.append(ff)
        unreadable = self._routing.unreadable
        if unreadable:
            kept = []
            for ff in out:
                reason = unreadable.get(ff.id)  # kept: a rollback would bring the flowfile back
                if reason is None:
                    kept.append(ff)
                else:
                    self._send_away_unreadable(ff, reason)
            out = kept
        return out

    def _send_away_unreadable(self, ff: FlowFile, reason: str) -> None:
        """A flowfile whose content cannot be read: to ``failure`` with the reason
        in an attribute (dropped, DROP event, when the processor has no failure)."""
        ff = self.put_attribute(ff, CONTENT_ERROR_ATTRIBUTE, reason[:1000])
        if "failure" in self._routing.relationships:
            self.transfer(ff, "failure")
        else:
            self.remove(ff)

    def holding(self, resource: int) -> list[FlowFile]:
        """The flowfiles this session took from its queues whose content is ``resource``."""
        return [ff for _, ff in self._origin.values() if ff.claim is not None and ff.claim.resource == resource]

    @property
    def has_input(self) -> bool:
        """True if the processor has incoming connections."""
        return bool(self._routing.inputs)

    # -- creating ----------------------------------------------------------------

    def create(self, parent: FlowFile | Sequence[FlowFile] | None = None) -> FlowFile:
        """A new, empty flowfile.

        With one parent it inherits the parent's attributes and lineage (FORK);
        with several it keeps the attributes all parents share (JOIN).
        """
        now = self._clock()
        fid = self._repos.flowfiles.ids.take()
        uuid = self._uuid()
        if parent is None:
            attrs = {"uuid": uuid, "filename": uuid, "path": "./"}
            ff = make_flowfile(fid, attrs, None, 0, now, now)
            self._created[fid] = (E.CREATE, ())
        elif isinstance(parent, FlowFile):
            self._latest(parent)
            attrs = dict(parent[1])
            attrs["uuid"] = uuid
            ff = make_flowfile(fid, attrs, None, 0, now, parent.lineage_start_date)
            self._created[fid] = (E.FORK, (parent.uuid,))
        else:
            parents = list(parent)
            if not parents:
                raise FlowFileHandlingError("create() needs at least one parent in a sequence")
            for p in parents:
                self._latest(p)
            first = parents[0][1]
            attrs = {
                k: v for k, v in first.items() if all(p[1].get(k) == v for p in parents[1:])
            }
            attrs["uuid"] = uuid
            attrs.setdefault("filename", uuid)
            attrs.setdefault("path", "./")
            ff = make_flowfile(fid, attrs, None, 0, now, min(p.lineage_start_date for p in parents))
            self._created[fid] = (E.JOIN, tuple(p.uuid for p in parents))
        self._current[fid] = ff
        return ff

    def create_batch(self, count: int) -> list[FlowFile]:
        """``count`` new, empty flowfiles without parents (faster than a loop of ``create``)."""
        now = self._clock()
        first = self._repos.flowfiles.ids.take(count)
        uuids = new_uuids(count)
        out = []
        current, created = self._current, self._created
        mark = (E.CREATE, ())
        for i in range(count):
            fid = first + i
            uuid = uuids[i]
            ff = make_flowfile(fid, {"uuid": uuid, "filename": uuid, "path": "./"}, None, 0, now, now)
            current[fid] = ff
            created[fid] = mark
            out.append(ff)
        return out

    def clone(self, ff: FlowFile, offset: int = 0, size: int | None = None) -> FlowFile:
        """A copy of ``ff`` with a new uuid, sharing its content (no bytes copied).

        ``offset``/``size`` select a byte range of the content (zero-copy split).
        Provenance, as NiFi: a CLONE event for a copy of the whole content, a
        FORK event (one per parent, naming every child) for a part of it.
        """
        self._latest(ff)
        claim = ff.claim
        length = ff.size
        if offset < 0 or offset > length:
            raise FlowFileHandlingError(f"clone offset {offset} is outside content of size {length}")
        size = length - offset if size is None else size
        if size < 0 or offset + size > length:
            raise FlowFileHandlingError(
                f"clone range {offset}+{size} is outside content of size {length}"
            )
        new_claim = (
            ContentClaim(claim.resource, claim.offset + offset, size) if claim is not None and size else None
        )
        fid = self._repos.flowfiles.ids.take()
        attrs = dict(ff[1])
        attrs["uuid"] = self._uuid()
        child = make_flowfile(fid, attrs, new_claim, size, ff.entry_date, ff.lineage_start_date)
        self._current[fid] = child
        # As NiFi: a copy of the whole content is a CLONE, a part of it (a split) a FORK.
        whole = offset == 0 and size == length
        self._created[fid] = (E.CLONE if whole else E.FORK, (ff.uuid,))
        return child

    # -- attributes ----------------------------------------------------------------

    def put_attribute(self, ff: FlowFile, key: str, value: str) -> FlowFile:
        """``ff`` with attribute ``key`` set to ``value`` (``uuid`` cannot change)."""
        fid = self._latest(ff)
        if key == "uuid":
            return ff
        attrs = dict(ff[1])
        attrs[key] = str(value)
        return self._replace(fid, tuple.__new__(FlowFile, (fid, attrs, *ff[2:])))

    def put_attributes(self, ff: FlowFile, attributes: Mapping[str, str]) -> FlowFile:
        """``ff`` with all ``attributes`` set (``uuid`` is ignored)."""
        fid = self._latest(ff)
        if not attributes:
            return ff
        old = ff[1]
        attrs = {**old, **attributes}
        if "uuid" in attributes:
            attrs["uuid"] = old["uuid"]
        return self._replace(fid, tuple.__new__(FlowFile, (fid, attrs, *ff[2:])))

    def remove_attribute(self, ff: FlowFile, key: str) -> FlowFile:
        """``ff`` without attribute ``key`` (``uuid`` cannot be removed)."""
        return self.remove_attributes(ff, (key,))

    def remove_attributes(self, ff: FlowFile, keys: Iterable[str]) -> FlowFile:
        """``ff`` without the attributes named in ``keys`` (``uuid`` stays)."""
        fid = self._latest(ff)
        drop = {k for k in keys if k != "uuid" and k in ff[1]}
        if not drop:
            return ff
        attrs = {k: v for k, v in ff[1].items() if k not in drop}
        return self._replace(fid, tuple.__new__(FlowFile, (fid, attrs, *ff[2:])))

    # -- content --------------------------------------------------------------------

    def read(self, ff: FlowFile) -> io.BufferedReader:
        """A buffered binary stream over the content of ``ff`` (use it as a context manager)."""
        self._latest(ff)
        self._bytes_read += ff.size
        return io.BufferedReader(self._repos.content.reader(ff.claim, self._overlay), 1 << 16)

    def read_bytes(self, ff: FlowFile) -> bytes:
        """All content of ``ff``. For small content; stream large content with ``read``."""
        self._latest(ff)
        self._bytes_read += ff.size
        return self._repos.content.read_bytes(ff.claim, self._overlay)

    def iter_content(self, ff: FlowFile) -> Iterable[bytes]:
        """The content of ``ff`` as chunks (at most 1 MiB each)."""
        self._latest(ff)
        self._bytes_read += ff.size
        return self._repos.content.iter_chunks(ff.claim, self._overlay)

    def write(self, ff: FlowFile, data: ContentSource) -> FlowFile:
        """``ff`` with its content replaced by ``data``.

        ``data`` is bytes, an iterable of byte pieces (streamed with bounded
        memory), or a callable that receives a binary output stream.
        """
        fid = self._latest(ff)
        writer = self._repos.content.writer()
        self._writers[writer.resource] = writer
        _feed(writer, data)
        return self._finish_write(fid, ff, writer)

    def append(self, ff: FlowFile, data: ContentSource) -> FlowFile:
        """``ff`` with ``data`` added after its current content."""
        fid = self._latest(ff)
        writer = self._repos.content.writer()
        self._writers[writer.resource] = writer
        for chunk in self._repos.content.iter_chunks(ff.claim, self._overlay):
            writer.write(chunk)
        _feed(writer, data)
        return self._finish_write(fid, ff, writer)

    def _finish_write(self, fid: int, ff: FlowFile, writer: ContentWriter) -> FlowFile:
        claim = writer.finish()
        for key, value in writer.inline:
            self._overlay[key] = value
        self._bytes_written += writer.length
        self._content_changed.add(fid)
        return self._replace(fid, tuple.__new__(FlowFile, (fid, ff[1], claim, writer.length, *ff[4:])))

    # -- routing ----------------------------------------------------------------------

    def transfer(self, ff: FlowFile, relationship: object = None) -> None:
        """Route ``ff`` to ``relationship`` (a Relationship or its name).

        Without a relationship the flowfile goes back to the queue it came from
        (only for flowfiles taken from a queue).
        """
        fid = self._latest(ff)
        if relationship is None:
            if fid not in self._origin:
                raise FlowFileHandlingError(
                    f"{ff!r} was created in this session and cannot be transferred back to an input queue"
                )
            self._dest[fid] = _SELF
            return
        name = relationship if isinstance(relationship, str) else getattr(relationship, "name", None)
        if not isinstance(name, str) or name not in self._routing.relationships:
            known = ", ".join(sorted(self._routing.relationships)) or "none"
            raise FlowFileHandlingError(
                f"unknown relationship {relationship!r} for {self._routing.component_type} "
                f"(known: {known})"
            )
        self._dest[fid] = name

    def transfer_all(self, ffs: Iterable[FlowFile], relationship: object = None) -> None:
        """``transfer`` each of ``ffs`` to ``relationship``."""
        for ff in ffs:
            self.transfer(ff, relationship)

    def remove(self, ff: FlowFile) -> None:
        """Drop ``ff`` for good (a DROP event records it)."""
        fid = self._latest(ff)
        self._dest[fid] = _REMOVED
        del self._current[fid]
        if fid in self._origin or fid in self._created:
            self._removed[fid] = ff

    def penalize(self, ff: FlowFile) -> FlowFile:
        """``ff`` penalized for the processor's penalty duration: the next
        processor will not see it until then."""
        fid = self._latest(ff)
        until = self._clock() + self._routing.penalty_ms
        return self._replace(fid, tuple.__new__(FlowFile, (*ff[:6], until, ff[7])))

    def available_relationships(self) -> frozenset[str]:
        """The relationships none of whose queues is full (back pressure), as of now."""
        destinations = self._routing.destinations
        return frozenset(
            name for name in self._routing.relationships
            if not any(q.is_full() for q in destinations.get(name, ()))
        )

    # -- state -------------------------------------------------------------------

    def get_state(self) -> dict[str, str]:
        """The component's state as of this session (a copy)."""
        if self._state is None:
            if self._state_reader is None:
                self._state = (0, {})
            else:
                self._state = self._state_reader(self._routing.component_id)
        return dict(self._state[1])

    def set_state(self, values: Mapping[str, str]) -> None:
        """Replace the component's state when this session commits.

        The commit fails (and the session rolls back) if the state changed
        elsewhere since this session first read it.
        """
        self.get_state()
        assert self._state is not None
        self._state = (self._state[0], {str(k): str(v) for k, v in values.items()})
        self._state_dirty = True

    # -- callbacks ---------------------------------------------------------------

    def commit(self) -> None:
        """Commit what the session holds now and start afresh (for processors
        that commit part of their work early; normally the framework commits).

        Raises ``FlowFileHandlingError`` if a flowfile is unaccounted for (the
        session is unchanged and can still be completed or rolled back). From a
        worker thread (blocking processors) it returns once the commit is durable,
        or raises ``ProcessingError`` if the write failed (its input went back).
        On the event loop (async and non-blocking processors) it cannot wait: the
        commit is queued in order and completes before the trigger's own commit;
        side effects that must follow durability belong in ``commit_async``.
        """
        if self._commit_hook is None:
            raise FlowFileHandlingError("this session cannot be committed explicitly")
        self._commit_hook(self)

    def commit_async(
        self,
        on_success: Callable[[], Any] | None = None,
        on_failure: Callable[[BaseException | None], Any] | None = None,
    ) -> None:
        """Run ``on_success`` once this session's work is durably committed
        (or ``on_failure`` if it is rolled back). The framework commits when
        ``on_trigger`` returns; side effects that must follow the commit (such
        as deleting a source file) belong here."""
        if on_success is not None:
            self._on_success.append(on_success)
        if on_failure is not None:
            self._on_failure.append(on_failure)

    # -- provenance ----------------------------------------------------------------

    def _report(
        self,
        event_type: E,
        ff: FlowFile,
        *,
        transit_uri: str | None = None,
        details: str | None = None,
        relationship: str | None = None,
    ) -> None:
        fid = ff[0]
        if fid not in self._current and fid not in self._removed:
            raise FlowFileHandlingError(f"{ff!r} does not belong to this session")
        self._reported.append((event_type, fid, transit_uri, details, relationship))
        self._reported_ids.add(fid)
        if event_type in (E.RECEIVE, E.FETCH):
            self._content_changed.discard(fid)

    # -- commit ---------------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        """True if the session holds nothing to commit or roll back."""
        return not (self._current or self._expired or self._removed or self._state_dirty
                    or self._on_success or self._on_failure)

    def prepare_commit(self) -> PreparedCommit:
        """Check the session and build its commit (``Transaction`` and
        ``QueueMoves``, see ``_session_commit``). Resets the session.

        Raises ``FlowFileHandlingError`` (and changes nothing) if a flowfile has
        no destination; the caller must then roll back.
        """
        prepared = prepare(self)
        self._reset()
        return prepared

    def rollback(self, penalize: bool = False) -> None:
        """Undo the session: taken flowfiles return to their queues unchanged
        (penalized for the processor's penalty duration if asked); content
        written by the session is deleted; failure callbacks run."""
        until = self._clock() + self._routing.penalty_ms if penalize else 0
        back = QueueMoves()
        for queue, orig in self._origin.values():
            back.acks.setdefault(queue, []).append(orig)
        for queue, ff in self._expired:
            back.acks.setdefault(queue, []).append(ff)
        writers = list(self._writers.values())
        failure = self._on_failure
        self._reset()
        if back.acks:
            self._access(lambda: back.give_back(until))
        for writer in writers:
            self._repos.content.discard(writer)
        for callback in failure:
            try:
                callback(None)
            except Exception:
                pass

    @property
    def taken(self) -> int:
        """How many flowfiles the session has taken from queues so far."""
        return len(self._origin) + len(self._expired)


def _feed(writer: ContentWriter, data: ContentSource) -> None:
    if isinstance(data, bytes | bytearray | memoryview):
        writer.write(data)
    elif callable(data):
        data(_WriterStream(writer))  # type: ignore[arg-type]
    else:
        for piece in data:
            writer.write(piece)


class _WriterStream:
    """The binary output stream given to write callbacks.

    Besides ``write``, ``copy_from(fd, offset, length)`` appends up to
    ``length`` bytes of the file descriptor ``fd`` from ``offset`` and returns
    how many (fewer only where ``fd`` ends first): into a content file the
    kernel copies them (``ContentWriter.copy_from``). Not part of the sdk's
    stream: a processor looks for it (``getattr``) and writes otherwise.
    What it appends counts in the session's bytes written as what ``write``
    appends does (both go by the writer's ``length``)."""

    def __init__(self, writer: ContentWriter) -> None:
        self._writer = writer

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self._writer.write(data)

    def copy_from(self, fd: int, offset: int, length: int) -> int:
        return self._writer.copy_from(fd, offset, length)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass
