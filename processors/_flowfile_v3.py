"""NiFi's FlowFile Stream packaging (versions 3 and 2), byte for byte.

A package is a sequence of FlowFiles, each written as::

    [magic "NiFiFF3" (version 3 only)]
    field length: number of attributes
    per attribute: field length + UTF-8 key, field length + UTF-8 value
    8 bytes, big endian: content length
    the content

A *field length* is two bytes, big endian, when the value is below 65535;
otherwise the two bytes ``FF FF`` followed by the length in four bytes, big
endian (so 65535 itself takes the long form, as NiFi's
``FlowFilePackagerV3.writeFieldLength`` writes it). Reading mirrors NiFi's
``FlowFileUnpackagerV3``: an empty stream, a wrong magic, a FlowFile with
zero attributes, or a stream that ends inside a FlowFile are errors
(``FlowFileStreamError``); a stream that ends exactly between two FlowFiles
is complete.

Version 1 ("FlowFile Tar", deprecated in NiFi 2.12) is a tar of two entries,
``flowfile.attributes`` (a Java properties XML document) and
``flowfile.content``, one tar per FlowFile (``package_v1``/``read_v1``).

Pure code: no flowyard imports, usable on any binary stream.
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, BinaryIO

__all__ = [
    "MAGIC_V3",
    "MIME_TYPE_V1",
    "MIME_TYPE_V2",
    "MIME_TYPE_V3",
    "FlowFileStreamError",
    "FlowFileUnpackager",
    "encode_field_length",
    "package",
    "package_header",
    "package_v1",
    "read_v1",
]

MAGIC_V3 = b"NiFiFF3"
"""The seven bytes each version 3 FlowFile starts with."""
MIME_TYPE_V3 = "application/flowfile-v3"
MIME_TYPE_V2 = "application/flowfile-v2"
MIME_TYPE_V1 = "application/flowfile-v1"

_MAX_VALUE_2_BYTES = 65535
_LONG = struct.Struct(">Q")
_SHORT = struct.Struct(">H")
_INT = struct.Struct(">I")
_CHUNK = 1 << 16


class FlowFileStreamError(ValueError):
    """The bytes are not a well-formed FlowFile Stream of the expected version."""


def encode_field_length(n: int) -> bytes:
    """A length or count as NiFi writes it: 2 bytes below 65535, else ``FF FF`` + 4 bytes."""
    if n < 0 or n > 0xFFFFFFFF:
        raise ValueError(f"field length {n} does not fit in 4 bytes")
    if n < _MAX_VALUE_2_BYTES:
        return _SHORT.pack(n)
    return b"\xff\xff" + _INT.pack(n)


def _encode_string(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    return encode_field_length(len(data)) + data


def package_header(attributes: Mapping[str, str], size: int, version: int = 3) -> bytes:
    """Everything that precedes a FlowFile's ``size`` content bytes in a package."""
    if version not in (2, 3):
        raise ValueError(f"FlowFile Stream version {version} is not supported (2 or 3)")
    parts = [MAGIC_V3] if version == 3 else []
    parts.append(encode_field_length(len(attributes)))
    for key, value in attributes.items():
        parts.append(_encode_string(key))
        parts.append(_encode_string(value if value is not None else ""))
    parts.append(_LONG.pack(size))
    return b"".join(parts)


def package(attributes: Mapping[str, str], content: Iterable[bytes], size: int, version: int = 3) -> Iterator[bytes]:
    """One packaged FlowFile as pieces: the header, then ``content`` (which must
    hold exactly ``size`` bytes; ``ValueError`` otherwise, after the pieces)."""
    yield package_header(attributes, size, version)
    written = 0
    for piece in content:
        written += len(piece)
        yield piece
    if written != size:
        raise ValueError(f"content was {written} bytes, expected {size}")


class FlowFileUnpackager:
    """Reads the FlowFiles of a package one after the other from ``stream``.

        unpackager = FlowFileUnpackager(stream, version=3)
        while (header := unpackager.next_flowfile()) is not None:
            attributes, size = header
            for piece in unpackager.content():   # exactly ``size`` bytes
                ...

    ``next_flowfile`` skips content the caller did not read. Raises
    ``FlowFileStreamError`` for malformed input (see the module docstring).
    """

    def __init__(self, stream: BinaryIO, version: int = 3) -> None:
        if version not in (2, 3):
            raise ValueError(f"FlowFile Stream version {version} is not supported (2 or 3)")
        self._in = stream
        self._version = version
        self._remaining = 0
        self._count = 0

    @property
    def count(self) -> int:
        """FlowFiles read so far."""
        return self._count

    def _read_exactly(self, n: int, what: str) -> bytes:
        data = self._in.read(n)
        if len(data) == n:
            return data
        parts = [data]
        got = len(data)
        while got < n:
            piece = self._in.read(n - got)
            if not piece:
                raise FlowFileStreamError(
                    f"FlowFile Stream ends inside {what} of FlowFile {self._count + 1} (expected {n} bytes, got {got})"
                )
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)

    def _field_length(self, what: str, *, at_start: bool = False) -> int | None:
        first = self._in.read(1)
        if not first:
            if at_start:
                return None
            raise FlowFileStreamError(f"FlowFile Stream ends before {what} of FlowFile {self._count + 1}")
        second = self._read_exactly(1, what)
        if first == b"\xff" and second == b"\xff":
            return int(_INT.unpack(self._read_exactly(4, what))[0])
        return (first[0] << 8) | second[0]

    def _string(self, what: str) -> str:
        n = self._field_length(what)
        assert n is not None
        data = self._read_exactly(n, what)
        return data.decode("utf-8", "replace")  # Java's new String(bytes, UTF_8) replaces malformed input too

    def next_flowfile(self) -> tuple[dict[str, str], int] | None:
        """The next FlowFile's attributes and content size, or None at the end.

        Raises ``FlowFileStreamError`` for an empty stream, a wrong magic,
        zero attributes or a truncated FlowFile.
        """
        while self._remaining:
            skipped = self._in.read(min(self._remaining, _CHUNK))
            if not skipped:
                raise FlowFileStreamError(
                    f"FlowFile Stream ends inside the content of FlowFile {self._count} "
                    f"({self._remaining} bytes missing)"
                )
            self._remaining -= len(skipped)
        fmt = f"FlowFile-v{self._version} format"
        if self._version == 3:
            first = self._in.read(1)
            if not first:
                if self._count == 0:
                    raise FlowFileStreamError(f"Not in {fmt}: the content is empty")
                return None
            magic = first + self._in.read(len(MAGIC_V3) - 1)
            if magic != MAGIC_V3:
                raise FlowFileStreamError(f"Not in {fmt}: FlowFile {self._count + 1} does not start with 'NiFiFF3'")
            n_attributes = self._field_length("the attribute count")
        else:
            n_attributes = self._field_length("the attribute count", at_start=True)
            if n_attributes is None:
                if self._count == 0:
                    raise FlowFileStreamError(f"Not in {fmt}: the content is empty")
                return None
        assert n_attributes is not None
        if n_attributes == 0:
            raise FlowFileStreamError("FlowFiles cannot have zero attributes")
        attributes: dict[str, str] = {}
        for _ in range(n_attributes):
            key = self._string("an attribute name")
            attributes[key] = self._string("an attribute value")
        (size,) = _LONG.unpack(self._read_exactly(8, "the content length"))
        if size >= 1 << 63:
            raise FlowFileStreamError(f"FlowFile {self._count + 1} declares a negative content length")
        self._remaining = size
        self._count += 1
        return attributes, size

    def content(self) -> Iterator[bytes]:
        """The content of the FlowFile ``next_flowfile`` returned last, in pieces.
        Raises ``FlowFileStreamError`` if the stream ends before all of it."""
        while self._remaining:
            piece = self._in.read(min(self._remaining, _CHUNK))
            if not piece:
                raise FlowFileStreamError(
                    f"FlowFile Stream ends inside the content of FlowFile {self._count} "
                    f"({self._remaining} bytes missing)"
                )
            self._remaining -= len(piece)
            yield piece


# -- version 1: FlowFile Tar --------------------------------------------------------------

V1_ATTRIBUTES = "flowfile.attributes"
V1_CONTENT = "flowfile.content"
_BLOCK = 512
_RECORD = 20 * _BLOCK
_MAX_V1_ATTRIBUTES = 64 << 20
_XML_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE properties\n'
             '  SYSTEM "http://java.sun.com/dtd/properties.dtd">\n<properties>')
# escapeXml11: the five entities; characters XML 1.1 cannot hold are dropped, other controls become references
_XML_DROP = re.compile("[\x00\ud800-\udfff\ufffe\uffff]")
_XML_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")
_XML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}


def _escape_xml11(text: str) -> str:
    text = _XML_DROP.sub("", text)
    text = "".join(_XML_ENTITIES.get(c, c) for c in text)
    return _XML_CONTROL.sub(lambda m: f"&#{ord(m.group())};", text)


def _v1_attributes_xml(attributes: Mapping[str, str]) -> bytes:
    parts = [_XML_HEAD]
    for key, value in attributes.items():
        parts.append(f'\n  <entry key="{_escape_xml11(key)}">{_escape_xml11(value or "")}</entry>')
    parts.append("</properties>")
    return "".join(parts).encode("utf-8")


def _tar_header(name: str, size: int, mtime: int) -> bytes:
    import tarfile
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = mtime
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")


def _padding(n: int, unit: int) -> bytes:
    return bytes(-n % unit)


def package_v1(attributes: Mapping[str, str], content: Iterable[bytes], size: int, mtime: int = 0) -> Iterator[bytes]:
    """One FlowFile as NiFi's FlowFilePackagerV1 writes it: a complete tar
    (``flowfile.attributes`` then ``flowfile.content``, mode 644, end blocks,
    padded to a 10 KB record). ``content`` must hold exactly ``size`` bytes."""
    xml = _v1_attributes_xml(attributes)
    yield _tar_header(V1_ATTRIBUTES, len(xml), mtime) + xml + _padding(len(xml), _BLOCK)
    yield _tar_header(V1_CONTENT, size, mtime)
    written = 0
    for piece in content:
        written += len(piece)
        yield piece
    if written != size:
        raise ValueError(f"content was {written} bytes, expected {size}")
    total = 4 * _BLOCK + len(xml) + len(_padding(len(xml), _BLOCK)) + size + len(_padding(size, _BLOCK))
    yield _padding(size, _BLOCK) + bytes(2 * _BLOCK) + _padding(total, _RECORD)


def _parse_properties(data: bytes) -> dict[str, str]:
    try:
        root = ET.fromstring(data)  # expat loads no external DTD and bounds entity expansion
    except ET.ParseError as exc:
        raise FlowFileStreamError(f"{V1_ATTRIBUTES} is not a properties XML document: {exc}") from None
    if root.tag != "properties":
        raise FlowFileStreamError(f"{V1_ATTRIBUTES} is not a properties XML document")
    return {entry.get("key", ""): entry.text or "" for entry in root.iter("entry")}


def read_v1(stream: BinaryIO) -> Iterator[tuple[dict[str, str], IO[bytes], int]]:
    """Each FlowFile of a FlowFile Tar v1 package (concatenated tars are read
    one after the other): its attributes, a stream over its content and the
    content size (read the content before asking for the next FlowFile).
    Raises ``FlowFileStreamError`` unless every FlowFile is the pair of
    entries NiFi writes."""
    import tarfile
    try:
        archive = tarfile.open(fileobj=stream, mode="r:", ignore_zeros=True)  # noqa: SIM115 (closed below)
    except tarfile.ReadError as exc:
        raise FlowFileStreamError(f"Not in FlowFile-v1 format: {exc}") from None
    with archive:
        members = iter(archive)
        count = 0
        for first in members:
            second = next(members, None)
            if first.name != V1_ATTRIBUTES or second is None or second.name != V1_CONTENT:
                raise FlowFileStreamError(f"Expected two tar entries: {V1_CONTENT} and {V1_ATTRIBUTES}")
            meta = archive.extractfile(first)
            content = archive.extractfile(second)
            if meta is None or content is None:
                raise FlowFileStreamError(f"Expected two tar entries: {V1_CONTENT} and {V1_ATTRIBUTES}")
            if first.size > _MAX_V1_ATTRIBUTES:
                raise FlowFileStreamError(f"{V1_ATTRIBUTES} is {first.size} bytes, more than {_MAX_V1_ATTRIBUTES}")
            attributes = _parse_properties(meta.read())
            count += 1
            yield attributes, content, second.size
        if count == 0:
            raise FlowFileStreamError("Not in FlowFile-v1 format: the tar has no entries")
