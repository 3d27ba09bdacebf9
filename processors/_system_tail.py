"""TailFile's file logic, without sessions: where whole lines end, CRC32
checksums of file prefixes, rolled-over files, and the per-file state record
in NiFi's state-map layout (``file.<index>.<key>``)."""

from __future__ import annotations

import fnmatch
import os
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "FileState",
    "crc_of_prefix",
    "last_line_end",
    "line_start_cut",
    "read_range",
    "rolled_files",
    "scan_whole_lines",
    "states_from_map",
    "states_to_map",
]

_PREFIX = "file."
_KEYS = ("filename", "position", "length", "timestamp", "checksum", "tailingPostRollover")


@dataclass(frozen=True, slots=True)
class FileState:
    """Where tailing of one file stands (NiFi's TailFileState).

    ``position`` is the byte offset up to which lines were sent; ``checksum``
    the CRC32 of the file's bytes before ``position`` (None when nothing was
    read from the current file); ``timestamp`` the newest modification time
    (epoch ms) consumed, so rolled-over files older than it are not read
    again; ``length`` the file size seen last; ``post_rollover`` (NiFi's
    ``tailingPostRollover``) that reading is still on the rolled file. ``inode`` (``dev:ino``) is
    flowyard's addition, kept in memory only (the stored state has NiFi's six
    keys): a different file under the same name is a rollover even when its
    first bytes look the same.
    """

    filename: str
    index: int
    position: int = 0
    length: int = 0
    timestamp: int = 0
    checksum: int | None = None
    inode: str | None = None
    post_rollover: bool = False

    def to_map(self) -> dict[str, str]:
        """The state-map entries of this file."""
        prefix = f"{_PREFIX}{self.index}."
        entries = {
            prefix + "filename": self.filename,
            prefix + "position": str(self.position),
            prefix + "length": str(self.length),
            prefix + "timestamp": str(self.timestamp),
            prefix + "tailingPostRollover": "true" if self.post_rollover else "false",
            # NiFi's six keys per file: a checksum not known yet is stored empty (NiFi: null)
            prefix + "checksum": "" if self.checksum is None else str(self.checksum),
        }
        return entries

    def restarted(self, timestamp: int, length: int) -> FileState:
        """After a rollover: read the (new) file from its start."""
        return replace(self, position=0, checksum=None, inode=None, timestamp=timestamp, length=length,
                       post_rollover=False)


def storable_name(name: str) -> str:
    """``name`` as text that can be stored: a file name whose bytes are not UTF-8 (Python keeps them as
    surrogate escapes) has them decoded with U+FFFD, as Java decodes file names."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return name


def states_from_map(values: Mapping[str, str]) -> dict[str, FileState]:
    """The file states stored in ``values``, by file name. Entries that are
    incomplete or unparsable are ignored (that file starts afresh). A state
    written by NiFi before 1.1 (keys without the ``file.0.`` prefix) is read
    as index 0, as NiFi migrates it."""
    if "filename" in values and not any(k.startswith(_PREFIX) for k in values):
        values = {f"{_PREFIX}0.{k}": v for k, v in values.items()}
        values.setdefault(f"{_PREFIX}0.length", values.get(f"{_PREFIX}0.position", "0"))
    found: dict[str, FileState] = {}
    for key, name in values.items():
        match = re.fullmatch(r"file\.([0-9]+)\.filename", key)
        if match is None:
            continue
        index = int(match.group(1))
        prefix = f"{_PREFIX}{index}."
        try:
            checksum_text = values.get(prefix + "checksum")
            found[name] = FileState(
                filename=name, index=index,
                position=int(values[prefix + "position"]),
                length=int(values[prefix + "length"]),
                timestamp=int(values[prefix + "timestamp"]),
                checksum=int(checksum_text) if checksum_text not in (None, "", "null") else None,
                post_rollover=values.get(prefix + "tailingPostRollover", "false") == "true",
            )
        except (KeyError, ValueError):
            continue
    return found


def states_to_map(states: Mapping[str, FileState]) -> dict[str, str]:
    """The state map holding exactly ``states``."""
    values: dict[str, str] = {}
    for state in states.values():
        values.update(state.to_map())
    return values


def inode_of(stat: os.stat_result) -> str:
    """The identity of a file: ``dev:ino``."""
    return f"{stat.st_dev}:{stat.st_ino}"


def mtime_ms(stat: os.stat_result) -> int:
    """Modification time in epoch milliseconds (Java's ``File.lastModified``)."""
    return stat.st_mtime_ns // 1_000_000


def read_range(stream: BinaryIO, start: int, end: int, chunk: int) -> Iterator[bytes]:
    """The bytes of ``stream`` from ``start`` to ``end`` in pieces of at most ``chunk``."""
    stream.seek(start)
    remaining = end - start
    while remaining > 0:
        piece = stream.read(min(chunk, remaining))
        if not piece:
            return
        remaining -= len(piece)
        yield piece


def crc_of_prefix(path: Path, size: int, chunk: int = 1 << 20) -> int | None:
    """CRC32 of the first ``size`` bytes of ``path``; None when it has fewer."""
    crc = 0
    seen = 0
    with open(path, "rb") as stream:
        for piece in read_range(stream, 0, size, chunk):
            crc = zlib.crc32(piece, crc)
            seen += len(piece)
    return crc if seen == size else None


def last_line_end(data: bytes) -> int:
    """The offset just after the last complete line in ``data`` (0: none).

    A line ends with LF, CRLF, or a CR followed by anything but LF, as in
    NiFi's TailFile; a CR that is the last byte is undecided (an LF may
    follow) and so does not end a line yet.
    """
    lf = data.rfind(b"\n")
    # Past the last LF every CR is followed by some other byte, except a final one.
    cr = data.rfind(b"\r", lf + 1, max(lf + 1, len(data) - 1))
    return max(lf + 1, cr + 1)


def scan_whole_lines(stream: BinaryIO, start: int, end: int, chunk: int, stop_at_nul: bool) -> tuple[int, bool]:
    """Where the last complete line in ``stream[start:end]`` ends (absolute
    offset, ``start`` when there is none), reading with bounded memory. With
    ``stop_at_nul``, only data before the first NUL byte counts; the second
    value says whether a NUL was found."""
    best = start
    previous = b""
    offset = start
    for piece in read_range(stream, start, end, chunk):
        nul = piece.find(b"\0") if stop_at_nul else -1
        if nul >= 0:
            piece = piece[:nul]
        window = previous + piece  # the byte before lets a CR at a piece boundary be decided
        found = last_line_end(window)
        if found:
            best = max(best, offset - len(previous) + found)
        if nul >= 0:
            # The data before the NUL ends here: a final CR stays undecided, as at the end of the file.
            return best, True
        offset += len(piece)
        previous = piece[-1:]
    return best, False


def line_start_cut(data: bytes, pattern: re.Pattern[str], max_buffer: int) -> int:
    """How much of ``data`` (complete lines) to send when multi-line messages
    start with lines matching ``pattern``: everything before the last line
    that starts a message; the message it starts waits for the next one —
    unless it has reached ``max_buffer`` bytes, when everything is sent."""
    lines = data.splitlines(keepends=True)
    cut = 0
    offset = 0
    for line in lines:
        if offset and pattern.match(line.decode("utf-8", "replace")):
            cut = offset
        offset += len(line)
    if len(data) - cut >= max_buffer:
        return len(data)
    return cut


def rolled_files(tail_path: Path, pattern: str | None, min_timestamp: int) -> list[tuple[Path, os.stat_result]]:
    """Files in the tailed file's directory matching the Rolling Filename
    Pattern (a glob; ``${filename}`` is the tailed file's name without its
    extension), modified at or after ``min_timestamp`` (epoch ms), other than
    the tailed file itself — oldest first, then by name."""
    if not pattern:
        return []
    stem = tail_path.name.rsplit(".", 1)[0] if "." in tail_path.name else tail_path.name
    glob = pattern.replace("${filename}", stem)
    directory = tail_path.parent
    found = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        if entry.name == tail_path.name or not fnmatch.fnmatchcase(entry.name, glob):
            continue
        try:
            stat = entry.stat()
        except OSError:
            continue
        if not entry.is_file() or mtime_ms(stat) < min_timestamp:
            continue
        found.append((Path(entry.path), stat))
    found.sort(key=lambda item: (mtime_ms(item[1]), item[0].name))
    return found
