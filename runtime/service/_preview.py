"""Content previews: a queued flowfile's or a provenance event's content shown as a
table by a content viewer (entry point group ``flowyard.content_viewers``; the
standard library's shows records: CSV, JSON, Avro, Parquet).

A preview reads at most ``PREVIEW_BUDGET`` bytes of the content, whatever its
size (a viewer sees a stream that ends there), in a worker thread, at most
``PREVIEW_THREADS`` at a time. What those bytes decode to is the viewer's to
bound (the record viewer decompresses and decodes a bounded amount and refuses
content that would expand past it: a 422 naming the limit).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from typing import Any, BinaryIO

import trio

from flowyard.runtime.engine import content_retained
from flowyard.runtime.registry import ContentViewer, discover_content_viewers
from flowyard.runtime.sdk._errors import ContentNotFoundError, FlowyardError
from flowyard.runtime.sdk._flowfile import ContentClaim
from flowyard.runtime.service._base import ServiceState, UnknownComponentError

__all__ = ["MAX_PREVIEW_ROWS", "PREVIEW_BUDGET", "ContentPreviewError", "PreviewMixin"]

#: Bytes of content a preview reads at most.
PREVIEW_BUDGET = 8 * 1024 * 1024
#: Rows a preview may ask for.
MAX_PREVIEW_ROWS = 1_000
#: Previews parsed at once (each holds up to the budget in memory, plus what its viewer decodes).
PREVIEW_THREADS = 2
log = logging.getLogger("flowyard.service.preview")


class ContentPreviewError(FlowyardError):
    """The content cannot be shown as a table: no viewer knows its kind
    (``unsupported``), or it is not what its type says."""

    def __init__(self, message: str, *, unsupported: bool = False, format: str | None = None) -> None:
        super().__init__(message)
        self.unsupported = unsupported
        self.format = format


class _Budget(io.RawIOBase):
    """A seekable stream over ``inner`` that hands out at most ``budget`` bytes in all."""

    def __init__(self, inner: BinaryIO, size: int, budget: int) -> None:
        super().__init__()
        self._inner = inner
        self._size = size
        self.left = budget

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._inner.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._inner.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        """At most what is left of the budget: a length declared in the content never
        sizes a buffer beyond it."""
        return super().read(self.left if size is None or size < 0 else min(size, max(self.left, 0)))

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        if n <= 0:
            return 0
        data = self._inner.read(n)
        self.left -= len(data)
        buffer[:len(data)] = data
        return len(data)


class PreviewMixin(ServiceState):
    """``queued_preview`` and ``provenance_preview``: content as a table."""

    _viewers: Mapping[str, ContentViewer] | None = None
    _preview_limiter: trio.CapacityLimiter | None = None

    def content_viewers(self) -> Mapping[str, ContentViewer]:
        """The content viewers installed (discovered once)."""
        if self._viewers is None:
            self._viewers = discover_content_viewers()
        return self._viewers

    async def queued_preview(self, connection_id: str, flowfile_uuid: str, max_rows: int = 100) -> dict[str, Any]:
        """The content of a flowfile waiting in a queue as a table (see ``_preview``)."""
        if connection_id not in self.engine.queues:
            raise UnknownComponentError(f"no connection has id {connection_id!r}")
        for ff in self.engine.list_queue(connection_id, 1 << 20):
            if ff.uuid == flowfile_uuid:
                return await self._preview(ff.claim, ff.size, ff.attributes, max_rows)
        raise UnknownComponentError(f"no flowfile {flowfile_uuid!r} is waiting in connection {connection_id!r}")

    async def provenance_preview(self, event_id: int, direction: str, max_rows: int = 100) -> dict[str, Any]:
        """An event's ``input`` or ``output`` content as a table (the errors of ``provenance_content``)."""
        if direction not in ("input", "output"):
            raise FlowyardError(f"content direction must be 'input' or 'output', not {direction!r}")
        stored = self.repositories.provenance.stored(event_id)
        if stored is None:
            raise UnknownComponentError(f"no provenance event has id {event_id}")
        event = stored.event
        if direction == "input":
            if not stored.has_input:
                raise ContentNotFoundError(f"provenance event {event_id} ({event.event_type.name}) has no input "
                                           "content: its flowfile was created by the component")
            claim, size, attrs = event.previous_claim, event.previous_size or 0, event.previous_attributes
        else:
            claim, size, attrs = event.claim, event.size, event.attributes
        if not content_retained(self.repositories.content, claim):
            raise ContentNotFoundError(f"the {direction} content of provenance event {event_id} is no longer "
                                       "retained (released content is archived only for a while)")
        return await self._preview(claim if size else None, size, attrs or {}, max_rows)

    async def _preview(self, claim: ContentClaim | None, size: int, attributes: Mapping[str, str],
                       max_rows: int) -> dict[str, Any]:
        """``{format, columns, rows, truncated, mimeType, size, bytesRead}`` from the
        first viewer that knows the content; ``ContentPreviewError`` otherwise."""
        mime = attributes.get("mime.type") or "application/octet-stream"
        max_rows = min(max(1, max_rows), MAX_PREVIEW_ROWS)
        viewers = list(self.content_viewers().items())
        if self._preview_limiter is None:
            self._preview_limiter = trio.CapacityLimiter(PREVIEW_THREADS)
        content = self.repositories.content

        def work() -> tuple[dict[str, Any] | None, int]:
            reader = content.reader(claim)
            try:
                for name, viewer in viewers:
                    stream = _Budget(reader, size, PREVIEW_BUDGET)  # type: ignore[arg-type]
                    reader.seek(0)
                    try:
                        found = viewer(stream, mime, max_rows)  # type: ignore[arg-type]
                    except ContentNotFoundError:
                        raise
                    except ValueError as exc:
                        raise ContentPreviewError(str(exc)) from None
                    except Exception as exc:  # a plug-in may fail in any way: say so, never a 500
                        log.warning("content viewer %s failed", name, exc_info=True)
                        raise ContentPreviewError(f"the {name} viewer failed: {type(exc).__name__}: {exc}") from None
                    if found is not None:
                        return found, PREVIEW_BUDGET - stream.left
                return None, 0
            finally:
                reader.close()

        found, read = await trio.to_thread.run_sync(work, limiter=self._preview_limiter)
        if found is None:
            raise ContentPreviewError(f"no table view for content of type {mime!r}: record previews show CSV, "
                                      "JSON, Avro and Parquet", unsupported=True)
        return {**found, "mimeType": mime, "size": size, "bytesRead": read}
