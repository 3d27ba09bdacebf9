"""The wire format of a load-balance transfer (``flowyard.clusters.loadbalance``).

A msgpack map: ``connection`` (id), ``batch`` (the batch id, ``batch_id``),
``compression`` (NiFi's name), ``meta`` (msgpack list of ``[attributes,
entry date, lineage start, size]``, zlib-compressed unless DO_NOT_COMPRESS),
``content`` (the contents one after the other, zlib-compressed for
COMPRESS_ATTRIBUTES_AND_CONTENT). Reply: ``{count, bytes}`` committed.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import msgpack

from flowyard.runtime.engine._balance_receive import Received
from flowyard.runtime.engine._partition import COMPRESSIONS
from flowyard.runtime.sdk._flowfile import FlowFile

__all__ = ["MAX_BATCH_ID", "batch_of", "decode_batch", "encode_batch"]

#: The longest batch id accepted.
MAX_BATCH_ID = 512


def encode_batch(connection_id: str, compression: str, batch: Sequence[FlowFile],
                 contents: Sequence[bytes], batch_id: str | None = None) -> dict[str, Any]:
    """The payload of a transfer of ``batch`` (with its ``contents``), named ``batch_id``."""
    if compression not in COMPRESSIONS:
        raise ValueError(f"unknown load-balance compression {compression!r}: expected one of {', '.join(COMPRESSIONS)}")
    meta = msgpack.packb([[ff[1], ff[4], ff[5], ff[3]] for ff in batch])
    body = b"".join(contents)
    if compression != "DO_NOT_COMPRESS":
        meta = zlib.compress(meta, 1)
    if compression == "COMPRESS_ATTRIBUTES_AND_CONTENT":
        body = zlib.compress(body, 1)
    payload = {"connection": connection_id, "compression": compression, "meta": meta, "content": body}
    if batch_id is not None:
        payload["batch"] = batch_id
    return payload


def batch_of(payload: Any) -> str | None:
    """The batch id of a transfer payload (None: a sender that names none);
    ``ValueError`` for one that is not a short non-empty string."""
    found = payload.get("batch") if isinstance(payload, dict) else None
    if found is None:
        return None
    if not isinstance(found, str) or not found or len(found) > MAX_BATCH_ID:
        raise ValueError(f"transfer.batch: a batch id is a string of 1 to {MAX_BATCH_ID} characters")
    return found


def decode_batch(payload: Any) -> tuple[str, list[Received]]:
    """``(connection id, flowfiles)`` of a transfer payload; ``ValueError`` naming
    the field for anything malformed."""
    if not isinstance(payload, dict):
        raise ValueError(f"a transfer is a map, not {type(payload).__name__}")
    cid, compression = payload.get("connection"), payload.get("compression")
    meta, body = payload.get("meta"), payload.get("content")
    if not isinstance(cid, str) or not cid:
        raise ValueError("transfer.connection: a connection id is required")
    if compression not in COMPRESSIONS:
        raise ValueError(f"transfer.compression: {compression!r} is not one of {', '.join(COMPRESSIONS)}")
    if not isinstance(meta, bytes) or not isinstance(body, bytes):
        raise ValueError("transfer.meta and transfer.content must be bytes")
    try:
        if compression != "DO_NOT_COMPRESS":
            meta = zlib.decompress(meta)
        if compression == "COMPRESS_ATTRIBUTES_AND_CONTENT":
            body = zlib.decompress(body)
        rows = msgpack.unpackb(meta)
    except (zlib.error, ValueError, msgpack.UnpackException) as exc:
        raise ValueError(f"transfer.meta/content cannot be read: {exc}") from None
    if not isinstance(rows, list):
        raise ValueError("transfer.meta: a list of flowfiles is expected")
    items: list[Received] = []
    view = memoryview(body)
    offset = 0
    for i, row in enumerate(rows):
        if not (isinstance(row, list) and len(row) == 4 and isinstance(row[0], dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in row[0].items())
                and all(isinstance(x, int) and x >= 0 for x in row[1:])):
            raise ValueError(f"transfer.meta[{i}]: expected [attributes, entry date, lineage start, size]")
        size = row[3]
        if offset + size > len(body):
            raise ValueError(f"transfer.content: flowfile {i} needs {size} bytes past offset {offset}, "
                             f"but the content has {len(body)}")
        items.append(Received(row[0], view[offset:offset + size], row[1], row[2]))
        offset += size
    if offset != len(body):
        raise ValueError(f"transfer.content: {len(body) - offset} byte(s) left over after the last flowfile")
    return cid, items
