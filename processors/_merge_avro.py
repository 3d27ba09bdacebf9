"""MergeContent's Avro format: Avro object container files joined into one.

The data blocks of every input are copied as they are (never decoded), so any
codec merges, as long as all inputs of a bundle use the same one; the header
(schema, codec, metadata) is the first input's, with a new sync marker. An
input whose schema, codec or (depending on the Metadata Strategy) metadata
differs from the first's is left out and reported back as unmerged, as NiFi's
AvroMerge does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import IO, Any

from flowyard.runtime.sdk import FlowFile, ProcessSession

__all__ = [
    "AVRO_MIME_TYPE",
    "DO_NOT_MERGE",
    "IGNORE",
    "KEEP_COMMON",
    "USE_FIRST",
    "AvroHeader",
    "avro_stream",
    "read_header",
]

AVRO_MIME_TYPE = "application/avro-binary"
USE_FIRST = "Use First Metadata"
KEEP_COMMON = "Keep Only Common Metadata"
IGNORE = "Ignore Metadata"
DO_NOT_MERGE = "Do Not Merge Uncommon Metadata"

_MAGIC = b"Obj\x01"
_SYNC_SIZE = 16
_SCHEMA = "avro.schema"
_CODEC = "avro.codec"


class AvroHeader:
    """What an Avro container file starts with: its metadata map and sync marker."""

    __slots__ = ("metadata", "sync")

    def __init__(self, metadata: dict[str, bytes], sync: bytes) -> None:
        self.metadata = metadata
        self.sync = sync

    @property
    def codec(self) -> str:
        """The codec name (``null`` when the file names none, as Avro reads it)."""
        raw = self.metadata.get(_CODEC)
        return raw.decode("utf-8", "replace") if raw else "null"

    def schema(self) -> Any:
        """The schema as parsed JSON, without ``doc`` texts (they do not make schemas differ)."""
        try:
            return _without_docs(json.loads(self.metadata.get(_SCHEMA, b"")))
        except ValueError as exc:
            raise ValueError(f"not an Avro data file: the schema is not JSON ({exc})") from exc

    def user_metadata(self) -> dict[str, bytes]:
        """Metadata outside Avro's reserved ``avro.`` names."""
        return {k: v for k, v in self.metadata.items() if not k.startswith("avro.")}


def _without_docs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_docs(v) for k, v in node.items() if k != "doc"}
    if isinstance(node, list):
        return [_without_docs(v) for v in node]
    return node


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise ValueError("not an Avro data file: truncated")
    return data


def _read_long(stream: IO[bytes], first: bytes | None = None) -> int:
    shift = 0
    value = 0
    while True:
        byte = first if first is not None else _read_exact(stream, 1)
        first = None
        b = byte[0]
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return (value >> 1) ^ -(value & 1)
        shift += 7
        if shift > 63:
            raise ValueError("not an Avro data file: bad variable-length integer")


def _read_bytes(stream: IO[bytes]) -> bytes:
    size = _read_long(stream)
    if size < 0:
        raise ValueError("not an Avro data file: negative length")
    return _read_exact(stream, size)


def _long(value: int) -> bytes:
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_header(stream: IO[bytes]) -> AvroHeader:
    """Read the container header; ValueError if ``stream`` is no Avro data file."""
    if stream.read(4) != _MAGIC:
        raise ValueError("not an Avro data file")
    metadata: dict[str, bytes] = {}
    while True:
        count = _read_long(stream)
        if count == 0:
            break
        if count < 0:
            count = -count
            _read_long(stream)  # the block's size in bytes
        for _ in range(count):
            key = _read_bytes(stream).decode("utf-8", "replace")
            metadata[key] = _read_bytes(stream)
    return AvroHeader(metadata, _read_exact(stream, _SYNC_SIZE))


def _blocks(stream: IO[bytes], sync: bytes) -> Iterator[tuple[int, bytes]]:
    while True:
        first = stream.read(1)
        if not first:
            return
        count = _read_long(stream, first)
        size = _read_long(stream)
        if count < 0 or size < 0:
            raise ValueError("not an Avro data file: bad block")
        data = _read_exact(stream, size)
        if _read_exact(stream, _SYNC_SIZE) != sync:
            raise ValueError("not an Avro data file: bad sync marker")
        yield count, data


def _header_bytes(metadata: dict[str, bytes], sync: bytes) -> bytes:
    out = bytearray(_MAGIC)
    if metadata:
        out += _long(len(metadata))
        for key, value in metadata.items():
            encoded = key.encode()
            out += _long(len(encoded)) + encoded + _long(len(value)) + value
    out += _long(0)
    return bytes(out) + sync


def _differs(strategy: str, first: dict[str, bytes], header: AvroHeader) -> bool:
    """Whether an input's metadata keeps it out of the bundle (NiFi's rule, per strategy)."""
    if strategy not in (DO_NOT_MERGE, KEEP_COMMON):
        return False
    for key, value in header.user_metadata().items():
        kept = first.get(key)
        if value != kept and (strategy != KEEP_COMMON or kept is not None):
            return True
    return False


def avro_stream(session: ProcessSession, flowfiles: Sequence[FlowFile], metadata_strategy: str,
                unmerged: list[FlowFile]) -> Iterator[bytes]:
    """The merged container file; inputs that cannot join the first are appended to
    ``unmerged``. ValueError if an input is no Avro data file."""
    sync = os.urandom(_SYNC_SIZE)
    first: AvroHeader | None = None
    schema: Any = None
    kept: dict[str, bytes] = {}
    for ff in flowfiles:
        with session.read(ff) as stream:
            header = read_header(stream)
            if first is None:
                first, schema = header, header.schema()
                kept = {} if metadata_strategy == IGNORE else header.user_metadata()
                out_meta = {_SCHEMA: header.metadata.get(_SCHEMA, b""), _CODEC: header.codec.encode(), **kept}
                yield _header_bytes(out_meta, sync)
            elif (header.schema() != schema or _differs(metadata_strategy, kept, header)
                  or header.codec != first.codec):
                unmerged.append(ff)
                continue
            for count, data in _blocks(stream, header.sync):
                yield _long(count) + _long(len(data)) + data + sync
