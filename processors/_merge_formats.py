"""MergeContent's output formats and attribute strategies.

Each writer streams the merged content into the session (``session.write``
with an iterable or a callback), reading the inputs through the session; none
holds a whole input in memory.
"""

from __future__ import annotations

import re
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import IO, Any

from flowyard.processors._files import parse_timestamp
from flowyard.processors._flowfile_v3 import MIME_TYPE_V1, MIME_TYPE_V2, MIME_TYPE_V3, package, package_v1
from flowyard.runtime.sdk import FlowFile, ProcessSession

__all__ = [
    "BINARY_CONCATENATION",
    "FLOWFILE_STREAM_V2",
    "FLOWFILE_STREAM_V3",
    "FLOWFILE_TAR_V1",
    "TAR",
    "ZIP",
    "bundle_filename",
    "concatenation",
    "entry_path",
    "flowfile_stream",
    "keep_common",
    "keep_unique",
    "tar_writer",
    "zip_writer",
]

TAR = "TAR"
ZIP = "ZIP"
FLOWFILE_STREAM_V3 = "FlowFile Stream, v3"
FLOWFILE_STREAM_V2 = "FlowFile Stream, v2"
FLOWFILE_TAR_V1 = "FlowFile Tar, v1"
BINARY_CONCATENATION = "Binary Concatenation"
AVRO = "Avro"

#: mime.type of the merged FlowFile per format (concatenation: see ``concatenation_mime_type``).
MIME_TYPES = {TAR: "application/tar", ZIP: "application/zip", FLOWFILE_STREAM_V3: MIME_TYPE_V3,
              FLOWFILE_STREAM_V2: MIME_TYPE_V2, FLOWFILE_TAR_V1: MIME_TYPE_V1}
#: Extension added to the merged FlowFile's filename per format.
EXTENSIONS = {TAR: ".tar", ZIP: ".zip", FLOWFILE_STREAM_V3: ".pkg", FLOWFILE_STREAM_V2: ".pkg", FLOWFILE_TAR_V1: ".pkg"}

_PERMISSIONS = re.compile(r"[0-7]{3}")
_CHUNK = 1 << 20


def _attributes(ff: FlowFile) -> dict[str, str]:
    return {key: ff.get_attribute(key) or "" for key in ff.attributes}


def keep_common(flowfiles: Sequence[FlowFile]) -> dict[str, str]:
    """NiFi's 'Keep Only Common Attributes': those every FlowFile has with the same value (no uuid)."""
    first, *others = flowfiles
    result = _attributes(first)
    for other in others:
        if not result:
            break
        for key in [k for k, v in result.items() if other.get_attribute(k) != v]:
            del result[key]
    result.pop("uuid", None)
    return result


def keep_unique(flowfiles: Sequence[FlowFile]) -> dict[str, str]:
    """NiFi's 'Keep All Unique Attributes': every attribute whose values do not conflict (no uuid)."""
    result: dict[str, str] = {}
    conflicting: set[str] = set()
    for ff in flowfiles:
        for key in ff.attributes:
            value = ff.get_attribute(key) or ""
            existing = result.get(key)
            if existing is not None and existing != value:
                conflicting.add(key)
            else:
                result[key] = value
    for key in conflicting:
        result.pop(key, None)
    result.pop("uuid", None)
    return result


def bundle_filename(flowfiles: Sequence[FlowFile]) -> str:
    """NiFi's createFilename: the only FlowFile's filename; else the first one's
    ``segment.original.filename``; else the current time in nanoseconds."""
    if len(flowfiles) == 1:
        return flowfiles[0].attributes.get("filename", "")
    original = flowfiles[0].attributes.get("segment.original.filename")
    return original if original is not None else str(time.monotonic_ns())


def entry_path(path: str | None) -> str:
    """NiFi's getPath for Keep Path: the ``path`` attribute without a leading
    ``.`` segment, with a trailing ``/``; ``""`` for ``./`` or none."""
    if not path:
        return ""
    absolute = path.startswith("/")
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] == ".":
        parts = parts[1:]
        absolute = False
    if not parts:
        return ""
    return ("/" if absolute else "") + "/".join(parts) + "/"


def concatenation_mime_type(flowfiles: Sequence[FlowFile]) -> str:
    """The mime.type all inputs share, else application/octet-stream (NiFi's rule)."""
    first = flowfiles[0].get_attribute("mime.type")
    if first is not None and all(ff.get_attribute("mime.type") == first for ff in flowfiles[1:]):
        return first
    return "application/octet-stream"


def concatenation(session: ProcessSession, flowfiles: Sequence[FlowFile], header: bytes | None,
                  demarcator: bytes | None, footer: bytes | None) -> Iterator[bytes]:
    """Header, the contents with the demarcator between them, footer."""
    if header:
        yield header
    last = len(flowfiles) - 1
    for i, ff in enumerate(flowfiles):
        yield from session.iter_content(ff)
        if demarcator and i < last:
            yield demarcator
    if footer:
        yield footer


def flowfile_stream(session: ProcessSession, flowfiles: Sequence[FlowFile], version: int, now_s: float = 0,
                    drop: frozenset[str] = frozenset()) -> Iterator[bytes]:
    """Every FlowFile packaged (attributes but those in ``drop``, and content) as FlowFile
    Stream ``version`` (1: one FlowFile Tar after the other, entries dated ``now_s``)."""
    for ff in flowfiles:
        attributes = {k: v for k, v in ff.attributes.items() if k not in drop} if drop else ff.attributes
        if version == 1:
            yield from package_v1(attributes, session.iter_content(ff), ff.size, int(now_s))
        else:
            yield from package(attributes, session.iter_content(ff), ff.size, version)


def _mtime(text: str | None, now_s: float) -> float:
    """Tar Modified Time: ISO 8601 (``2024-01-02T03:04:05Z``) or NiFi's
    ``yyyy-MM-dd'T'HH:mm:ssZ``; anything else (or nothing) gives ``now_s``."""
    if text and text.strip():
        try:
            return datetime.fromisoformat(text.strip()).timestamp()
        except ValueError:
            pass
        try:
            return parse_timestamp(text)
        except ValueError:
            pass
    return now_s


def tar_writer(session: ProcessSession, flowfiles: Sequence[FlowFile], *, keep_path: bool,
               modified_times: Sequence[str | None], now_s: float) -> Callable[[IO[bytes]], Any]:
    """A callback writing a GNU tar of the FlowFiles (``tar.permissions`` as the mode, default 644)."""

    import tarfile
    def write(out: IO[bytes]) -> None:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.GNU_FORMAT) as archive:
            for ff, modified in zip(flowfiles, modified_times, strict=True):
                attrs = ff.attributes
                name = (entry_path(attrs.get("path")) if keep_path else "") + attrs.get("filename", "")
                info = tarfile.TarInfo(name)
                info.size = ff.size
                permissions = attrs.get("tar.permissions")
                info.mode = int(permissions, 8) if permissions and _PERMISSIONS.fullmatch(permissions) else 0o644
                info.mtime = int(_mtime(modified, now_s))
                with session.read(ff) as content:
                    archive.addfile(info, content)

    return write


def zip_writer(session: ProcessSession, flowfiles: Sequence[FlowFile], *, keep_path: bool, level: int,
               now_s: float, unmerged: list[FlowFile]) -> Callable[[IO[bytes]], Any]:
    """A callback writing a ZIP (deflate at ``level``); a FlowFile whose entry
    name repeats an earlier one is left out and added to ``unmerged``."""

    def write(out: IO[bytes]) -> None:
        names: set[str] = set()
        stamp = time.localtime(now_s)[:6]
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
            for ff in flowfiles:
                attrs = ff.attributes
                name = (entry_path(attrs.get("path")) if keep_path else "") + attrs.get("filename", "")
                if name in names:
                    unmerged.append(ff)  # NiFi: ZipException "duplicate entry"
                    continue
                names.add(name)
                info = zipfile.ZipInfo(name, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.file_size = ff.size
                with archive.open(info, "w", force_zip64=ff.size > zipfile.ZIP64_LIMIT) as entry:
                    for piece in session.iter_content(ff):
                        entry.write(piece)

    return write


def attributes_for_original(merge_uuid: str) -> Mapping[str, str]:
    """What each original FlowFile gets."""
    return {"merge.uuid": merge_uuid}
