"""Queue inspection: listing, content, emptying."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flowyard.runtime.service._base import ServiceState, UnknownComponentError


class QueueMixin(ServiceState):
    """NiFi's "List queue", flowfile content and "Empty queue"."""

    def queue_listing(self, connection_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The first ``limit`` flowfiles of a connection's queue with attributes and sizes."""
        if connection_id not in self.engine.queues:
            raise UnknownComponentError(f"no connection has id {connection_id!r}")
        return [{"uuid": ff.uuid, "filename": ff.attributes.get("filename"), "size": ff.size,
                 "entryDate": ff.entry_date, "lineageStartDate": ff.lineage_start_date,
                 "penalized": ff.penalty_expires > self.engine.clock(), "attributes": dict(ff.attributes)}
                for ff in self.engine.list_queue(connection_id, limit)]

    def queued_content(self, connection_id: str, flowfile_uuid: str) -> tuple[str, str, int, Iterator[bytes]]:
        """``(mime type, filename, size, chunks)`` of a flowfile waiting in a queue
        (streamed from the content repository, never loaded whole)."""
        if connection_id not in self.engine.queues:
            raise UnknownComponentError(f"no connection has id {connection_id!r}")
        for ff in self.engine.list_queue(connection_id, 1 << 20):
            if ff.uuid == flowfile_uuid:
                attrs = ff.attributes
                mime = attrs.get("mime.type") or "application/octet-stream"
                chunks: Iterator[bytes] = iter(self.repositories.content.iter_chunks(ff.claim))
                return mime, attrs.get("filename") or flowfile_uuid, ff.size, chunks
        raise UnknownComponentError(f"no flowfile {flowfile_uuid!r} is waiting in connection {connection_id!r}")

    async def empty_queue(self, connection_id: str) -> int:
        """Drop everything waiting in a connection's queue; returns how many."""
        if connection_id not in self.engine.queues:
            raise UnknownComponentError(f"no connection has id {connection_id!r}")
        return await self.engine.empty_queue(connection_id)
