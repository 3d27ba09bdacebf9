"""File-system helpers shared by GetFile, ListFile, FetchFile and PutFile.

Timestamps are written the way NiFi writes them (``yyyy-MM-dd'T'HH:mm:ssZ``
in the local time zone, e.g. ``2024-05-01T12:30:00+0200``), owners and groups
by name, permissions as ``rw-r--r--``.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from flowyard.processors._common import boolean_property
from flowyard.runtime.sdk import ProcessContext, PropertySpec, validators

__all__ = [
    "READ_CHUNK",
    "FileCandidate",
    "FileFilter",
    "FileFilterSpecs",
    "file_attributes",
    "file_filter_specs",
    "format_timestamp",
    "parse_timestamp",
    "read_chunks",
    "readable",
    "relative_dir",
    "walk_files",
]

READ_CHUNK = 1 << 20
"""Bytes read from or written to disk at a time (the content repository's chunk size)."""

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def format_timestamp(epoch_seconds: float) -> str:
    """``epoch_seconds`` as NiFi's ``yyyy-MM-dd'T'HH:mm:ssZ`` in the local zone."""
    return datetime.fromtimestamp(epoch_seconds).astimezone().strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> float:
    """Epoch seconds for a ``yyyy-MM-dd'T'HH:mm:ssZ`` text (``+0100``, ``+01:00``
    and ``Z`` offsets are accepted). Raises ``ValueError`` for anything else."""
    return datetime.strptime(text.strip(), TIMESTAMP_FORMAT).timestamp()


def readable(text: str) -> str:
    """``text`` (a path or name from the file system) as text that can be stored and shown.

    Python keeps the bytes of a file name that are not UTF-8 as surrogate escapes, which
    cannot be encoded for attributes, state or logs; Java decodes them as U+FFFD, and so
    does this. Names that are valid UTF-8 come back unchanged (the same object)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def read_chunks(handle: BinaryIO, size: int = READ_CHUNK) -> Iterator[bytes]:
    """The rest of ``handle`` in pieces of at most ``size`` bytes."""
    while True:
        piece = handle.read(size)
        if not piece:
            return
        yield piece


def _owner(st: os.stat_result) -> str:
    try:
        return pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        return str(st.st_uid)


def _group(st: os.stat_result) -> str:
    try:
        return grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        return str(st.st_gid)


def file_attributes(st: os.stat_result) -> dict[str, str]:
    """NiFi's ``file.*`` attributes for a stat result.

    ``file.creationTime`` is the birth time where the platform reports one and
    the modification time otherwise (as Java reports it on Linux).
    """
    created = getattr(st, "st_birthtime", None)
    return {
        "file.creationTime": format_timestamp(created if created is not None else st.st_mtime),
        "file.lastModifiedTime": format_timestamp(st.st_mtime),
        "file.lastAccessTime": format_timestamp(st.st_atime),
        "file.owner": _owner(st),
        "file.group": _group(st),
        "file.permissions": stat.filemode(st.st_mode)[1:],
    }


def relative_dir(root: str, path: str) -> str:
    """The directory of ``path`` relative to ``root``; ``""`` for ``root`` itself."""
    rel = os.path.relpath(os.path.dirname(path), root)
    return "" if rel == "." else rel


@dataclass(frozen=True, slots=True)
class FileCandidate:
    """A regular file found under a listing root."""

    path: str
    """Absolute path of the file, as the file system has it (may hold surrogate escapes):
    the one to open. Everything shown or stored goes through ``readable``."""
    name: str
    """The file's name, ``readable``."""
    rel_dir: str
    """Directory relative to the root, ``""`` for files directly in it; ``readable``."""
    stat: os.stat_result

    @property
    def path_attribute(self) -> str:
        """NiFi's ``path`` attribute: ``./`` at the root, else ``sub/dir/``."""
        return f"{self.rel_dir}/" if self.rel_dir else "./"

    @property
    def absolute_path_attribute(self) -> str:
        """NiFi's ``absolute.path`` attribute: the file's directory with a trailing ``/``."""
        return readable(os.path.dirname(self.path).rstrip("/") + "/")

    @property
    def shown_path(self) -> str:
        """The absolute path, ``readable`` (for state and logs)."""
        return readable(self.path)

    @property
    def mtime_ms(self) -> int:
        """Modification time in epoch milliseconds."""
        return self.stat.st_mtime_ns // 1_000_000


def walk_files(root: str, recurse: bool) -> Iterator[FileCandidate]:
    """Every regular file under ``root`` (``root`` made absolute), following
    symbolic links. Directories seen before (a link cycle) and entries that
    cannot be read are skipped; a missing or unreadable ``root`` yields nothing.
    Entries of one directory come in name order."""
    base = os.path.abspath(root)
    seen: set[tuple[int, int]] = set()
    pending = [base]
    while pending:
        directory = pending.pop()
        try:
            dir_stat = os.stat(directory)
            identity = (dir_stat.st_dev, dir_stat.st_ino)
            if identity in seen:
                continue
            seen.add(identity)
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=True):
                    if recurse:
                        subdirs.append(entry.path)
                elif entry.is_file(follow_symlinks=True):
                    yield FileCandidate(entry.path, readable(entry.name), readable(relative_dir(base, entry.path)),
                                        entry.stat(follow_symlinks=True))
            except OSError:
                continue
        pending.extend(reversed(subdirs))


@dataclass(frozen=True, slots=True)
class FileFilter:
    """The size, age, name and path conditions GetFile and ListFile share.

    Ages are compared with the modification time; ``now`` is epoch seconds.
    Patterns must match whole names (Java's ``Matcher.matches``). With
    ``path_filter_excludes_root`` (GetFile), files directly in the root never
    pass a Path Filter; otherwise (ListFile) the filter is tried on ``""``.
    """

    file_pattern: re.Pattern[str]
    path_pattern: re.Pattern[str] | None = None
    min_size: int = 0
    max_size: int | None = None
    min_age: float = 0.0
    max_age: float | None = None
    ignore_hidden: bool = True
    path_filter_excludes_root: bool = False

    def accepts(self, candidate: FileCandidate, now: float) -> bool:
        """Whether ``candidate`` passes every condition."""
        size = candidate.stat.st_size
        if size < self.min_size or (self.max_size is not None and size > self.max_size):
            return False
        age = now - candidate.stat.st_mtime
        if age < self.min_age or (self.max_age is not None and age > self.max_age):
            return False
        if self.ignore_hidden and candidate.name.startswith("."):
            return False
        if self.path_pattern is not None:
            if self.path_filter_excludes_root and not candidate.rel_dir:
                return False
            if self.path_pattern.fullmatch(candidate.rel_dir) is None:
                return False
        return self.file_pattern.fullmatch(candidate.name) is not None


@dataclass(frozen=True, slots=True)
class FileFilterSpecs:
    """The filter properties GetFile and ListFile share (same keys and NiFi names;
    descriptions say what the processor does with a file that passes)."""

    file_filter: PropertySpec
    path_filter: PropertySpec
    recurse: PropertySpec
    ignore_hidden: PropertySpec
    min_age: PropertySpec
    max_age: PropertySpec
    min_size: PropertySpec
    max_size: PropertySpec

    def build(self, context: ProcessContext, *, path_filter_excludes_root: bool = False) -> FileFilter:
        """The configured ``FileFilter``."""
        path_filter = context.property(self.path_filter)
        max_age, max_size = context.property(self.max_age), context.property(self.max_size)
        return FileFilter(
            file_pattern=context.property(self.file_filter).as_regex(),
            path_pattern=path_filter.as_regex()
            if path_filter.is_set and context.property(self.recurse).as_bool() else None,
            min_size=context.property(self.min_size).as_data_size(),
            max_size=max_size.as_data_size() if max_size.is_set else None,
            min_age=context.property(self.min_age).as_duration(),
            max_age=max_age.as_duration() if max_age.is_set else None,
            ignore_hidden=context.property(self.ignore_hidden).as_bool(),
            path_filter_excludes_root=path_filter_excludes_root,
        )


def file_filter_specs(verb: str, *, recurse_description: str, path_filter_description: str) -> FileFilterSpecs:
    """The shared filter specs; ``verb`` is what happens to a matching file ("taken", "listed")."""
    return FileFilterSpecs(
        file_filter=PropertySpec(
            key="file-filter", display_name="File Filter",
            description=f"Only files whose whole name matches this regular expression are {verb}.",
            required=True, default=r"[^\.].*", validator=validators.REGEX,
        ),
        path_filter=PropertySpec(
            key="path-filter", display_name="Path Filter", description=path_filter_description,
            validator=validators.REGEX,
        ),
        recurse=boolean_property("recurse-subdirectories", "Recurse Subdirectories", recurse_description, "true"),
        ignore_hidden=boolean_property(
            "ignore-hidden-files", "Ignore Hidden Files", "Skip hidden files (names starting with a dot).", "true",
        ),
        min_age=PropertySpec(
            key="minimum-file-age", display_name="Minimum File Age",
            description=f"Files modified more recently than this are not {verb} yet.",
            required=True, default="0 sec", validator=validators.TIME_PERIOD,
        ),
        max_age=PropertySpec(
            key="maximum-file-age", display_name="Maximum File Age",
            description=f"Files last modified longer ago than this are not {verb}.",
            validator=validators.TIME_PERIOD,
        ),
        min_size=PropertySpec(
            key="minimum-file-size", display_name="Minimum File Size",
            description=f"Files smaller than this are not {verb}.",
            required=True, default="0 B", validator=validators.DATA_SIZE,
        ),
        max_size=PropertySpec(
            key="maximum-file-size", display_name="Maximum File Size",
            description=f"Files larger than this are not {verb}.", validator=validators.DATA_SIZE,
        ),
    )
