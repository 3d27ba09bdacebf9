"""``flowyard repair``: bring a damaged repository back to a state that opens,
and say exactly what was lost. Never automatic: a damaged repository stops
the start (see ``_rocks``), and an operator decides to repair it.

In order:

1. what the repository says it held is read where it still can be (the queue
   counts written with every commit, read-only);
2. the repository directory is kept as it was, as hard links in
   ``repository.before-repair-<time>/`` (RocksDB writes new files and never
   changes old ones in place, so this costs no space until they are deleted);
3. RocksDB's repair rebuilds the MANIFEST from the table files and the logs;
4. every queue is counted and every flowfile's content looked up (its chunks,
   or its content file in ``content/``): the report names, per connection,
   how many flowfiles were lost and how many are still queued but without
   their content (those go to their processor's ``failure`` when read, with
   ``flowyard.content.error`` saying why);
5. the counts and the durable watermark are set to what is there now, so the
   next start opens it (accepting the loss reported). A content resource that
   queued flowfiles still hold but whose claims record was lost gets one
   again (counting those flowfiles): without it the next start would delete
   its content file as an orphan.

Content files are neither copied nor changed (RocksDB's repair does not touch
them); only claims records are written for them.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

from rocksdict import AccessType, Options, Rdict

from flowyard.runtime.repository._codec import (
    CHUNK_SIZE,
    chunk_key,
    decode_flowfile,
    encode_claim,
    split_flowfile_key,
)
from flowyard.runtime.repository._rocks import (
    CONTENT_DIRECTORY,
    WATERMARK,
    RocksStore,
    _cf_options,
    _write_file,
    classify,
    read_watermark,
)
from flowyard.runtime.repository._store import COLUMN_FAMILIES
from flowyard.runtime.sdk._errors import RepositoryError

__all__ = ["QueueReport", "RepairReport", "repair"]

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


@dataclass
class QueueReport:
    """One connection's queue after the repair."""

    connection: str
    expected: int | None  # what its last commit said it held (None: unknown)
    found: int = 0
    without_content: list[str] = field(default_factory=list)  # flowfile uuids

    @property
    def lost(self) -> int | None:
        return None if self.expected is None else max(0, self.expected - self.found)


@dataclass
class RepairReport:
    """What ``repair`` found and did."""

    path: Path
    backup: Path
    queues: list[QueueReport] = field(default_factory=list)
    counts_known: bool = True
    #: RocksDB sequence numbers: what had been made durable, and what the repair recovered.
    watermark: int = 0
    sequence: int = 0

    @property
    def lost_writes(self) -> int:
        """Writes (RocksDB operations) recorded durable but not recovered: a lost log or MANIFEST range."""
        return max(0, self.watermark - self.sequence)

    def lines(self) -> list[str]:
        out = [f"repaired the repository at {self.path} (the files as they were are in {self.backup})"]
        if self.lost_writes:
            out.append(f"its last {self.lost_writes:,} writes are lost (it recovered up to sequence number "
                       f"{self.sequence:,}; {self.watermark:,} had been durable): the flowfiles committed in "
                       "them are gone, and the counts below only cover what the repository still describes")
        if not self.counts_known:
            out.append("the queue counts could not be read before the repair: losses cannot be counted, only "
                       "what is left")
        for q in self.queues:
            lost = "" if q.lost is None else (f", {q.lost:,} lost" if q.lost else ", none lost")
            expected = "" if q.expected is None else f" of {q.expected:,}"
            if q.connection.startswith("queue "):
                out.append(f"{q.connection} (the name of its connection was lost: the engine keeps these aside "
                           f"at start): {q.found:,}{expected} flowfile(s) found{lost}")
            else:
                out.append(f"connection {q.connection!r}: {q.found:,}{expected} flowfile(s) found{lost}")
            if q.without_content:
                sample = ", ".join(q.without_content[:5]) + (" ..." if len(q.without_content) > 5 else "")
                out.append(f"  {len(q.without_content):,} of them lost their content ({sample}): they go to "
                           "their processor's failure relationship when processed")
        total = sum(q.lost or 0 for q in self.queues)
        gone = sum(len(q.without_content) for q in self.queues)
        out.append(f"in all: {total:,} flowfile(s) lost, {gone:,} without content")
        return out


def _b(value: object) -> bytes:
    """A key or value of a raw-mode database (bytes, whatever rocksdict's stubs say)."""
    assert isinstance(value, bytes)
    return value


def _stored_counts(path: Path) -> tuple[dict[bytes, int], dict[bytes, str]] | None:
    """The per-queue counts and names as stored, read-only; None if unreadable."""
    try:
        existing = Rdict.list_cf(str(path), Options(raw_mode=True))
        db = Rdict(str(path), options=Options(raw_mode=True),
                   column_families={name: _cf_options(name) for name in existing},
                   access_type=AccessType.read_only())
    except Exception:  # damaged beyond a read-only open: repair first, count after
        return None
    try:
        state = db.get_column_family("state")
        counts = {_b(k)[len(b"count/"):]: _U64.unpack(v)[0] for k, v in state.items(from_key=b"count/")
                  if _b(k).startswith(b"count/")}
        names = {_b(v): _b(k)[len(b"queue/"):].decode() for k, v in state.items(from_key=b"queue/")
                 if _b(k).startswith(b"queue/")}
        return counts, names
    except Exception:
        return None
    finally:
        db.close()


def repair(path: Path) -> RepairReport:
    """Repair the RocksDB repository at ``path`` (the ``repository`` folder of a
    data directory) and report what was lost. Raises ``DataDirectoryInUseError``
    if a flowyard process has it open, ``RepositoryError`` if it cannot be
    repaired."""
    if not (path / "CURRENT").exists() and not any(path.glob("*.sst")) and not any(path.glob("*.log")):
        raise RepositoryError(f"{path} holds no repository to repair")
    lock = RocksStore._lock(path)
    try:
        before = _stored_counts(path)
        backup = path.with_name(f"{path.name}.before-repair-{time.strftime('%Y%m%d-%H%M%S')}")
        backup.mkdir()
        for item in path.iterdir():
            if item.is_file() and item.name != "FLOWYARD.LOCK":
                os.link(item, backup / item.name)
        try:
            Rdict.repair(str(path), Options(raw_mode=True))
        except Exception as exc:
            raise classify(exc, f"repairing {path}") from None
        report = RepairReport(path, backup, counts_known=before is not None, watermark=read_watermark(path))
        counts, names = before if before is not None else ({}, {})
        db = Rdict(str(path), options=_repair_open_options(),
                   column_families={name: _cf_options(name) for name in COLUMN_FAMILIES})
        try:
            _count(db, report, counts, names, path / CONTENT_DIRECTORY)
            report.sequence = db.latest_sequence_number()
        finally:
            db.close()
        _write_file(path / WATERMARK, f"{report.sequence}\n".encode())
        return report
    finally:
        os.close(lock)


def _repair_open_options() -> Options:
    opts = Options(raw_mode=True)
    opts.create_if_missing(False)
    opts.create_missing_column_families(True)
    return opts


def _count(db: Rdict, report: RepairReport, counts: dict[bytes, int], names: dict[bytes, str],
           content_dir: Path) -> None:
    """Count every queue, check every flowfile's content, store the counts found,
    and give content still held but without a claims record one."""
    flowfiles, content, state, claims = (db.get_column_family(n) for n in ("flowfiles", "content", "state", "claims"))
    file_sizes: dict[int, int] = {}
    if content_dir.is_dir():
        for entry in os.scandir(content_dir):
            if entry.name.isdigit() and entry.is_file():
                file_sizes[int(entry.name)] = entry.stat().st_size
    holders: dict[int, int] = {}  # resource -> flowfiles holding it
    stored_names = {_b(v): _b(k)[len(b"queue/"):].decode() for k, v in state.items(from_key=b"queue/")
                    if _b(k).startswith(b"queue/")}
    names = {**stored_names, **names}
    queues: dict[bytes, QueueReport] = {}
    for prefix, expected in counts.items():
        queues[prefix] = QueueReport(names.get(prefix, f"queue {_U32.unpack(prefix)[0]}"), expected)
    for key, value in flowfiles.items():
        key = _b(key)
        prefix = key[:4]
        q = queues.get(prefix)
        if q is None:
            q = queues[prefix] = QueueReport(names.get(prefix, f"queue {_U32.unpack(prefix)[0]}"),
                                             0 if counts else None)
        q.found += 1
        ff = decode_flowfile(_b(value), split_flowfile_key(key)[1])
        claim = ff.claim
        if claim is not None:
            holders[claim.resource] = holders.get(claim.resource, 0) + 1
        if claim is not None and claim.length:
            size = file_sizes.get(claim.resource)
            if size is not None:
                if size < claim.offset + claim.length:
                    q.without_content.append(ff.uuid)
                continue
            first, last = claim.offset // CHUNK_SIZE, (claim.offset + claim.length - 1) // CHUNK_SIZE
            if any(content.get(chunk_key(claim.resource, i)) is None for i in range(first, last + 1)):
                q.without_content.append(ff.uuid)
    for prefix, q in queues.items():
        state[b"count/" + prefix] = _U64.pack(q.found)
    for resource, held in holders.items():
        key = _U64.pack(resource)
        if claims.get(key) is None and resource in file_sizes:
            claims[key] = encode_claim(held, file_sizes[resource], 0)
    report.queues = sorted(queues.values(), key=lambda q: q.connection)
