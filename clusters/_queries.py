"""The node-protocol reads a ``ClusterView`` answers from its local
``FlowService`` (``/cluster/v1/query``): a whitelist, each checking its
arguments (``ValueError`` naming the argument). A result may be awaitable."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

import trio

from flowyard.runtime.service import FlowService

__all__ = ["CONTENT_CHUNK", "MAX_LINEAGE_UUIDS", "QUERY_OPS", "text_arg", "whole_arg"]

#: Bytes of content per call when another node's content is streamed through this one.
CONTENT_CHUNK = 1 << 20
#: At most this many flowfile uuids per lineage lookup.
MAX_LINEAGE_UUIDS = 10_000


def text_arg(args: Mapping[str, Any], name: str, *, optional: bool = False) -> str | None:
    value = args.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > 1000:
        raise ValueError(f"query argument {name!r} must be a non-empty string of at most 1000 characters")
    return value


def whole_arg(args: Mapping[str, Any], name: str, *, default: int | None = None) -> int | None:
    value = args.get(name, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"query argument {name!r} must be a whole number, found {value!r:.40}")
    return value


# -- the query operations (whitelist): each reads the local service ---------------------------

def _queue_listing(service: FlowService, args: Mapping[str, Any]) -> Any:
    limit = whole_arg(args, "limit", default=100) or 100
    return service.queue_listing(text_arg(args, "connectionId") or "", min(max(limit, 1), 1000))


def _provenance_search(service: FlowService, args: Mapping[str, Any]) -> Any:
    attrs = args.get("attributes") or {}
    if not isinstance(attrs, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in attrs.items()):
        raise ValueError("query argument 'attributes' must map names to strings")
    limit = whole_arg(args, "limit", default=100) or 100
    return service.provenance_search(
        flowfile_uuid=text_arg(args, "uuid", optional=True),
        component_id=text_arg(args, "component", optional=True), event_type=text_arg(args, "type", optional=True),
        start_ms=whole_arg(args, "start"), end_ms=whole_arg(args, "end"),
        attributes=dict(attrs), limit=min(max(limit, 1), 1000))


def _provenance_event(service: FlowService, args: Mapping[str, Any]) -> Any:
    return service.provenance_event(whole_arg(args, "eventId") or 0)


def _events_mentioning(service: FlowService, args: Mapping[str, Any]) -> Any:
    uuids = args.get("uuids")
    if not isinstance(uuids, list) or len(uuids) > MAX_LINEAGE_UUIDS or not all(
            isinstance(u, str) and 0 < len(u) <= 200 for u in uuids):
        raise ValueError(f"query argument 'uuids' must be a list of at most {MAX_LINEAGE_UUIDS} flowfile uuids")
    return [{"eventId": e.event_id, "eventType": e.event_type.name, "flowfileUuid": e.flowfile_uuid,
             "parentUuids": list(e.parent_uuids), "childUuids": list(e.child_uuids),
             "componentId": e.component_id, "timestamp": e.timestamp}
            for e in service.repositories.provenance.events_mentioning(uuids)]


def _slice(chunks: Iterator[bytes], offset: int, length: int) -> bytes:
    """``length`` bytes from ``offset`` of the content ``chunks``."""
    out = bytearray()
    position = 0
    for chunk in chunks:
        end = position + len(chunk)
        if end > offset:
            out += chunk[max(0, offset - position):offset + length - position]
            if len(out) >= length:
                break
        position = end
    return bytes(out[:length])


async def _content_of(found: tuple[str, str, int, Iterator[bytes]], args: Mapping[str, Any]) -> Any:
    mime, filename, size, chunks = found
    offset = whole_arg(args, "offset", default=0) or 0
    length = whole_arg(args, "length", default=CONTENT_CHUNK) or CONTENT_CHUNK
    if offset < 0 or not 0 < length <= CONTENT_CHUNK:
        raise ValueError(f"query arguments 'offset' must be >= 0 and 'length' 1 to {CONTENT_CHUNK}")
    data = await trio.to_thread.run_sync(partial(_slice, chunks, offset, length))
    return {"mime": mime, "filename": filename, "size": size, "data": data}


def _queued_content(service: FlowService, args: Mapping[str, Any]) -> Any:
    return _content_of(service.queued_content(text_arg(args, "connectionId") or "", text_arg(args, "uuid") or ""), args)


def _provenance_content(service: FlowService, args: Mapping[str, Any]) -> Any:
    return _content_of(service.provenance_content(whole_arg(args, "eventId") or 0, text_arg(args, "direction") or ""),
                       args)


def _rows(args: Mapping[str, Any]) -> int:
    rows = whole_arg(args, "rows", default=100) or 100
    return min(max(rows, 1), 1000)


def _queued_preview(service: FlowService, args: Mapping[str, Any]) -> Any:
    return service.queued_preview(text_arg(args, "connectionId") or "", text_arg(args, "uuid") or "", _rows(args))


def _provenance_preview(service: FlowService, args: Mapping[str, Any]) -> Any:
    return service.provenance_preview(whole_arg(args, "eventId") or 0, text_arg(args, "direction") or "", _rows(args))


def _statistics(service: FlowService, args: Mapping[str, Any]) -> Any:
    return service.component_statistics(text_arg(args, "id") or "")


def _group_statistics(service: FlowService, args: Mapping[str, Any]) -> Any:
    return service.group_statistics(text_arg(args, "id") or "")


def _status_history(service: FlowService, args: Mapping[str, Any]) -> Any:
    return service.status_history(text_arg(args, "id") or "", resolution=text_arg(args, "resolution") or "1s")


#: ``/cluster/v1/query`` operations: name -> reader of the local service (a result may be awaitable).
QUERY_OPS: dict[str, Callable[[FlowService, Mapping[str, Any]], Any]] = {
    "queue_listing": _queue_listing,
    "provenance_search": _provenance_search,
    "provenance_event": _provenance_event,
    "events_mentioning": _events_mentioning,
    "bulletins": lambda service, args: service.bulletins(),
    "component_statistics": _statistics,
    "group_statistics": _group_statistics,
    "status_history": _status_history,
    "queued_content": _queued_content,
    "provenance_content": _provenance_content,
    "queued_preview": _queued_preview,
    "provenance_preview": _provenance_preview,
}
