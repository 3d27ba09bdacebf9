"""The edit log: the flow's history (NiFi's Flow Configuration History) and the
basis of undo and redo.

``DATA/flow-edits.jsonl`` holds one JSON object per line, one per applied edit::

    {"seq": 1042, "time": 1765089600123, "user": "alice", "description": "Paste 12 components",
     "components": ["id1", "id2"], "undoable": true, "undoes": null, "redoes": null,
     "edit": "enc:v1:...", "inverse": "enc:v1:..."}

An entry applied from a cluster's log also holds ``"cluster": <its cluster
seq>`` (and is numbered with it when that is past the last entry: ``append``
takes an explicit ``seq``, gaps allowed); undo and redo across the cluster name
entries by that number (``seq_of_cluster``).

``edit`` and ``inverse`` are the edit and the edit that takes it back, as the
caller gave them (JSON-able dicts; the log does not look inside), each sealed as
a whole with the flow's ``SecretBox`` and bound to its ``seq``: an inverse holds
old sensitive values, and no secret sits in clear in the file. ``history()``
never returns them; ``payload(seq)`` does, for undo and redo only.

Commit point (the crash story). The flow file stays the commit point: the
caller appends the entry (written and fsynced before ``append`` returns), then
saves the flow file with ``"editSeq": entry.seq``; if that save fails it calls
``discard(entry.seq)``. So an entry with ``seq`` greater than the flow file's
``editSeq`` was never applied, and ``EditLog.open`` cuts it off. A line torn by
a crash in the middle of an append is the last line, and is removed too
(its edit cannot have been saved). A damaged line anywhere else is a
``RepositoryCorruptedError`` naming the file and the line: history is never
dropped silently. Whatever ``open`` removes, and entries past retention (the
last ``max_entries``, none older than ``max_age`` seconds), go by one atomic
rewrite (temporary file, fsync, rename, fsync of the directory), as the flow
file is written. The file is readable by its owner only (0600), like the flow file.

Undo and redo are queries over the log (the pure functions ``undone_seqs``,
``undo_stack``, ``redo_stack``), so they survive restarts: an entry with
``undoes: n`` marks entry ``n`` undone, one with ``redoes: n`` marks it done
again. A user's next undo is their newest undoable entry not undone; their redo
stack is what their undos undid, as long as they made no new undoable edit
since (undos, redos and edits that cannot be undone, such as a change of run
state, do not end it).
"""

from __future__ import annotations

import bisect
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from flowyard.runtime.flow import write_flow_bytes
from flowyard.runtime.sdk._errors import RepositoryCorruptedError
from flowyard.runtime.sensitive import PREFIX, SecretBox

__all__ = ["LOG_FILE", "EditLog", "Entry", "Payload", "redo_stack", "undo_stack", "undone_seqs"]

LOG_FILE = "flow-edits.jsonl"
#: Retention defaults: the last 10,000 entries, none older than 30 days.
MAX_ENTRIES = 10_000
MAX_AGE = 30 * 24 * 3600.0
#: ``history(limit=...)`` accepts 1 to this many entries.
MAX_HISTORY_LIMIT = 1000
#: Descriptions listed by ``undo_descriptions``/``redo_descriptions`` by default.
LISTED = 100

_log = logging.getLogger("flowyard.service")


@dataclass(frozen=True, slots=True)
class Entry:
    """One applied edit, without its payload. ``undoes``/``redoes``: the entry an
    undo (redo) took back (re-applied). ``undoable`` is false for undos and redos
    themselves (they are taken back by redoing or undoing their target)."""

    seq: int
    time: int  #: epoch milliseconds
    user: str
    description: str
    components: tuple[str, ...]
    undoable: bool
    undoes: int | None
    redoes: int | None
    #: The cluster seq of an entry applied from the cluster's log (or of a flow
    #: taken from the cluster), ``None`` for a local edit.
    cluster: int | None = None


class Payload(NamedTuple):
    """An entry's edit and its inverse, decrypted, as given to ``append``."""

    edit: dict[str, Any]
    inverse: dict[str, Any]


# -- undo/redo bookkeeping: pure functions over entries in log order ------------------


def _mark(undone: set[int], entry: Entry) -> None:
    if entry.undoes is not None:
        undone.add(entry.undoes)
    elif entry.redoes is not None:
        undone.discard(entry.redoes)


def undone_seqs(entries: Iterable[Entry]) -> set[int]:
    """The seqs of the entries currently undone (undone and not redone since)."""
    undone: set[int] = set()
    for entry in entries:
        _mark(undone, entry)
    return undone


def undo_stack(entries: Sequence[Entry], user: str, undone: Set[int]) -> Iterator[Entry]:
    """What ``user`` can undo, newest first: their undoable entries not undone."""
    return (e for e in reversed(entries) if e.user == user and e.undoable and e.seq not in undone)


def redo_stack(entries: Sequence[Entry], user: str, undone: Set[int]) -> list[Entry]:
    """What ``user`` can redo, newest first: the targets of the undos in the run
    of their newest entries that holds no undoable edit (a new undoable edit
    ends redo, as in every editor), less what was redone since. Entries no
    longer in ``entries`` (past retention) are left out."""
    run: list[Entry] = []
    for entry in reversed(entries):
        if entry.user == user:
            if entry.undoable:
                break
            run.append(entry)
    targets: list[int] = []
    for entry in reversed(run):
        if entry.undoes is not None:
            targets.append(entry.undoes)
        elif entry.redoes is not None and entry.redoes in targets:
            targets.remove(entry.redoes)
    found = [_find(entries, seq) for seq in reversed(targets) if seq in undone]
    return [e for e in found if e is not None]


def _find(entries: Sequence[Entry], seq: int) -> Entry | None:
    i = bisect.bisect_left(entries, seq, key=lambda e: e.seq)
    return entries[i] if i < len(entries) and entries[i].seq == seq else None


# -- the file ---------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _parse(raw: bytes) -> tuple[Entry, dict[str, Any]]:
    """The entry of one line and the line's JSON; ``ValueError`` naming what is wrong."""
    doc = json.loads(raw)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")

    def field(name: str, *types: type) -> Any:
        value = doc.get(name)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ValueError(f"{name!r} is missing or of the wrong type")
        return value

    components = field("components", list)
    if not all(isinstance(c, str) for c in components):
        raise ValueError("'components' must hold strings")
    for name in ("edit", "inverse"):
        if not field(name, str).startswith(PREFIX):
            raise ValueError(f"{name!r} is not encrypted")
    cluster = doc.get("cluster")
    if cluster is not None and (not isinstance(cluster, int) or isinstance(cluster, bool) or cluster < 0):
        raise ValueError("'cluster' must be a whole number >= 0")
    entry = Entry(field("seq", int), field("time", int), field("user", str), field("description", str),
                  tuple(components), field("undoable", bool), field("undoes", int, type(None)),
                  field("redoes", int, type(None)), cluster)
    if entry.seq < 1:
        raise ValueError("'seq' must be positive")
    return entry, doc


def _read(path: Path) -> tuple[list[tuple[Entry, bytes]], bool]:
    """The entries of the file with their lines (without the newline), and
    whether a torn last line was left out. Raises ``RepositoryCorruptedError``
    for any other damaged line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], False
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline (as every complete append does)
    torn = bool(tail)
    if not tail and lines:
        try:  # a crash can also leave the last line complete in length but not in content
            _parse(lines[-1])
        except ValueError:
            lines.pop()
            torn = True
    entries: list[tuple[Entry, bytes]] = []
    for number, raw in enumerate(lines, 1):
        try:
            entry, _ = _parse(raw)
        except ValueError as exc:
            raise RepositoryCorruptedError(
                f"{path}, line {number}: not an edit log entry ({exc}); the flow's history cannot be "
                "read (move the file away to start a new history)") from None
        if entries and entry.seq <= entries[-1][0].seq:
            raise RepositoryCorruptedError(
                f"{path}, line {number}: seq {entry.seq} does not follow {entries[-1][0].seq}; the flow's "
                "history cannot be read (move the file away to start a new history)")
        entries.append((entry, raw))
    return entries, torn


class EditLog:
    """The edit log of one data directory (see the module docstring).

    Every method is synchronous and quick except ``append`` and ``discard``,
    which fsync, and ``open``, which may rewrite the file: running them off the
    event loop is the caller's concern. Not thread-safe: one caller at a time
    (the service serializes its edits)."""

    def __init__(self, path: Path, fd: int, secrets: SecretBox, entries: list[tuple[Entry, bytes]], *,
                 last_seq: int, clock: Callable[[], float]) -> None:
        """Use ``EditLog.open``. ``fd``: the file, opened for appending; ``entries``
        are its lines."""
        self.path = path
        self._fd: int | None = fd
        self._secrets = secrets
        self._clock = clock
        self._entries = [e for e, _ in entries]
        self._offsets: list[int] = []
        size = 0
        for _, raw in entries:
            self._offsets.append(size)
            size += len(raw) + 1
        #: Length of the file as the entries make it; the file is cut back to it
        #: before the next append if a failed append or discard left more.
        self._size = size
        self._dirty = False
        self._last_seq = last_seq
        self._undone = undone_seqs(self._entries)

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str], secrets: SecretBox, *, edit_seq: int,
             max_entries: int = MAX_ENTRIES, max_age: float = MAX_AGE,
             clock: Callable[[], float] = time.time) -> EditLog:
        """Open (or create) ``data_dir/flow-edits.jsonl``. ``edit_seq``: the last
        seq the flow file contains (0 for a flow file without one: the log starts
        anew); later entries were never applied and are cut off. A torn last
        line is removed, then entries past retention (``max_entries``, ``max_age``
        seconds before ``clock()``); new entries are numbered from ``edit_seq + 1``.
        Raises ``RepositoryCorruptedError`` naming the line of a damaged entry
        (nothing is changed then), ``OSError`` if the file cannot be read or written."""
        if edit_seq < 0 or max_entries < 1 or max_age <= 0:
            raise ValueError("edit_seq must be >= 0, max_entries >= 1 and max_age > 0")
        directory = Path(data_dir)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = directory / LOG_FILE
        entries, torn = _read(path)
        applied = [(e, raw) for e, raw in entries if e.seq <= edit_seq]
        kept = applied[-max_entries:]
        oldest = int((clock() - max_age) * 1000)
        aged = next((i for i, (e, _) in enumerate(kept) if e.time >= oldest), len(kept))
        kept = kept[aged:]  # a leading run only: an entry stays whenever a later one does
        if torn or len(kept) < len(entries):
            if torn:
                _log.warning("%s: removed a last line torn by a crash", path)
            if len(applied) < len(entries):
                _log.warning("%s: removed %d edits the flow file does not contain (seq > %d)",
                             path, len(entries) - len(applied), edit_seq)
            write_flow_bytes(b"".join(raw + b"\n" for _, raw in kept), path)
        elif not entries and not path.exists():  # created as the flow file is: durably, owner-only
            write_flow_bytes(b"", path)
        fd = os.open(path, os.O_RDWR | os.O_APPEND)
        try:
            os.fchmod(fd, 0o600)  # left group- or world-readable by something else
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, secrets, kept, last_seq=edit_seq, clock=clock)

    # -- writing --------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The seq of the newest entry (``edit_seq`` given to ``open`` while there is none since)."""
        return self._last_seq

    def append(self, *, user: str, description: str, components: Iterable[str], edit: dict[str, Any],
               inverse: dict[str, Any], undoable: bool = True, undoes: int | None = None,
               redoes: int | None = None, seq: int | None = None, cluster: int | None = None) -> Entry:
        """Write one entry and fsync it; returns it (its ``seq`` goes into the flow
        file). An undo names its target in ``undoes`` (an undoable entry not undone),
        a redo in ``redoes`` (an undone entry); either is recorded as not undoable.
        ``seq``: the entry's number, past ``last_seq`` (gaps allowed; default
        ``last_seq + 1``); ``cluster``: the cluster seq it was committed at.
        Raises ``KeyError`` for a target not in the log, ``ValueError`` for a
        target in the wrong state or both, or a ``seq`` not past ``last_seq``,
        ``TypeError`` for a payload JSON cannot hold, ``OSError`` if the write
        fails (the log is then as before: a partial line is cut off)."""
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or seq <= self._last_seq):
            raise ValueError(f"an entry's seq must be a whole number past {self._last_seq}, not {seq!r}")
        if cluster is not None and cluster < 0:
            raise ValueError(f"a cluster seq is >= 0, not {cluster}")
        if undoes is not None and redoes is not None:
            raise ValueError("an entry cannot both undo and redo")
        if undoes is not None:
            target = self.entry(undoes)
            if not target.undoable or undoes in self._undone:
                raise ValueError(f"edit {undoes} cannot be undone (it is an undo or redo, or already undone)")
        if redoes is not None:
            self.entry(redoes)
            if redoes not in self._undone:
                raise ValueError(f"edit {redoes} cannot be redone: it is not undone")
        if seq is None:
            seq = self._last_seq + 1
        entry = Entry(seq, int(self._clock() * 1000), user, description, tuple(components),
                      undoable and undoes is None and redoes is None, undoes, redoes, cluster)
        record = {"seq": entry.seq, "time": entry.time, "user": user, "description": description,
                  "components": list(entry.components), "undoable": entry.undoable,
                  "undoes": undoes, "redoes": redoes,
                  "edit": self._secrets.encrypt(_dumps(edit), _context(seq, "edit")),
                  "inverse": self._secrets.encrypt(_dumps(inverse), _context(seq, "inverse"))}
        if cluster is not None:  # only then: a single node's file is as it always was
            record["cluster"] = cluster
        line = (_dumps(record) + "\n").encode()
        fd = self._open_fd()
        self._cut_back(fd)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException:
            self._dirty = True
            try:
                self._cut_back(fd)
            except OSError:
                pass  # cut before the next append
            raise
        self._entries.append(entry)
        self._offsets.append(self._size)
        self._size += len(line)
        self._last_seq = seq
        _mark(self._undone, entry)
        return entry

    def discard(self, seq: int) -> None:
        """Forget entry ``seq`` and any after it: the flow file holding it could not
        be saved, so it was never applied. Raises ``KeyError`` if there is no such
        entry; ``OSError`` if the file cannot be cut (the entries are forgotten
        anyway, and the file is cut before the next append, or by ``open``,
        whose ``edit_seq`` is older)."""
        i = self._index(seq)
        fd = self._open_fd()
        self._size = self._offsets[i]
        del self._entries[i:], self._offsets[i:]
        self._last_seq = self._entries[-1].seq if self._entries else seq - 1
        self._undone = undone_seqs(self._entries)
        self._dirty = True
        self._cut_back(fd)

    def _cut_back(self, fd: int) -> None:
        if self._dirty:
            os.ftruncate(fd, self._size)
            os.fsync(fd)
            self._dirty = False

    def close(self) -> None:
        """Close the file (entries are on disk already). Idempotent."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> EditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_fd(self) -> int:
        if self._fd is None:
            raise ValueError(f"{self.path} is closed")
        return self._fd

    # -- reading --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def last_cluster_seq(self) -> int | None:
        """The cluster seq of the newest entry when it is ``last_seq`` (the flow
        file's ``editSeq``) and came from the cluster; ``None`` otherwise (a local
        edit, or the entry is past retention)."""
        if self._entries and self._entries[-1].seq == self._last_seq:
            return self._entries[-1].cluster
        return None

    def seq_of_cluster(self, cluster: int) -> int | None:
        """The seq of the newest entry committed at cluster seq ``cluster``, or
        ``None`` (never applied here, or past retention)."""
        for entry in reversed(self._entries):
            if entry.cluster == cluster:
                return entry.seq
            if entry.cluster is not None and entry.cluster < cluster:
                break
        return None

    def entry(self, seq: int) -> Entry:
        """Entry ``seq``; ``KeyError`` if it is not in the log (never was, or past retention)."""
        return self._entries[self._index(seq)]

    def payload(self, seq: int) -> Payload:
        """Entry ``seq``'s edit and inverse, decrypted (for undo and redo; never
        shown). Raises ``KeyError`` as ``entry``, ``ConfigurationError`` if the
        data directory's key cannot decrypt it."""
        i = self._index(seq)
        end = self._offsets[i + 1] if i + 1 < len(self._offsets) else self._size
        doc = json.loads(os.pread(self._open_fd(), end - self._offsets[i], self._offsets[i]))
        return Payload(json.loads(self._secrets.decrypt(doc["edit"], _context(seq, "edit"))),
                       json.loads(self._secrets.decrypt(doc["inverse"], _context(seq, "inverse"))))

    def _index(self, seq: int) -> int:
        i = bisect.bisect_left(self._entries, seq, key=lambda e: e.seq)
        if i == len(self._entries) or self._entries[i].seq != seq:
            raise KeyError(f"edit {seq} is not in the flow's history")
        return i

    def is_undone(self, seq: int) -> bool:
        """Whether entry ``seq`` is undone now."""
        return seq in self._undone

    def next_undo(self, user: str) -> Entry | None:
        """``user``'s newest undoable entry not undone yet, or ``None``."""
        return next(undo_stack(self._entries, user, self._undone), None)

    def undo_entry_of(self, seq: int) -> int:
        """The newest entry that undid entry ``seq`` (its inverse is what redoes
        ``seq``). Raises ``KeyError`` when ``seq`` was never undone."""
        for entry in reversed(self._entries):
            if entry.undoes == seq:
                return entry.seq
        raise KeyError(seq)

    def next_redo(self, user: str) -> Entry | None:
        """The entry ``user`` undid last and may redo now, or ``None`` (see ``redo_stack``)."""
        stack = redo_stack(self._entries, user, self._undone)
        return stack[0] if stack else None

    def undo_descriptions(self, user: str, limit: int = LISTED) -> list[str]:
        """What ``user`` can undo, newest first (at most ``limit``)."""
        return [e.description for e in itertools.islice(undo_stack(self._entries, user, self._undone), limit)]

    def redo_descriptions(self, user: str, limit: int = LISTED) -> list[str]:
        """What ``user`` can redo, newest first (at most ``limit``)."""
        return [e.description for e in redo_stack(self._entries, user, self._undone)[:limit]]

    def history(self, limit: int = 50, before: int | None = None, component: str | None = None,
                user: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` (1 to 1000) entries with ``seq < before``, of
        ``user``, touching ``component`` (each criterion when given), newest
        first, as ``{seq, time, user, description, components, undoable, undone}``
        (never the payload). Page on with ``before`` = the last seq returned.
        Raises ``ValueError`` for a limit out of range."""
        if not 1 <= limit <= MAX_HISTORY_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_HISTORY_LIMIT}")
        end = len(self._entries) if before is None else bisect.bisect_left(self._entries, before,
                                                                          key=lambda e: e.seq)
        out: list[dict[str, Any]] = []
        for i in range(end - 1, -1, -1):
            e = self._entries[i]
            if (user is None or e.user == user) and (component is None or component in e.components):
                out.append({"seq": e.seq, "time": e.time, "user": e.user, "description": e.description,
                            "components": list(e.components), "undoable": e.undoable,
                            "undone": e.seq in self._undone})
                if len(out) == limit:
                    break
        return out


def _context(seq: int, part: str) -> str:
    """The associated data a payload is sealed with: it cannot be moved to another entry."""
    return f"{LOG_FILE}/{seq}/{part}"


