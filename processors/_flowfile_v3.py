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

Pure code: no flowyard imports, usable on any binary stream.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Mapping
from typing import BinaryIO

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
