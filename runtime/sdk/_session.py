"""``ProcessSession``: the interface of the transaction a processor works in.

The engine's implementation is ``StandardProcessSession``; the same class
backs ``sdk.testing.ProcessorRunner``. Every flowfile the session takes or
creates must be transferred or removed before the framework commits, or the
commit fails with ``FlowFileHandlingError`` and the session rolls back.
FlowFiles are immutable: each change returns the new version, and only the
latest version may be used again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any, BinaryIO, Protocol

from flowyard.runtime.sdk._flowfile import FlowFile

__all__ = ["ContentSource", "ProcessSession", "ProvenanceReporter"]

#: Content given in one piece, as an iterable of pieces, or by a callback
#: that writes to a binary output stream.
ContentSource = bytes | bytearray | memoryview | Iterable[bytes] | Callable[[IO[bytes]], Any]
"""What ``write`` and ``append`` accept: bytes in one piece, an iterable of
pieces (streamed, never joined in memory), or a callback that writes to a
binary output stream."""


class ProvenanceReporter(Protocol):
    """Events only the processor can know about (``session.provenance``)."""

    def receive(self, ff: FlowFile, transit_uri: str, details: str | None = None) -> None:
        """Data of ``ff`` was received from outside."""

    def fetch(self, ff: FlowFile, transit_uri: str, details: str | None = None) -> None:
        """Content of ``ff`` was replaced by data fetched from outside."""

    def send(self, ff: FlowFile, transit_uri: str, details: str | None = None) -> None:
        """Data of ``ff`` was sent outside."""

    def route(self, ff: FlowFile, relationship: object, details: str | None = None) -> None:
        """``ff`` was routed by a decision worth recording."""

    def add_info(self, ff: FlowFile, details: str) -> None:
        """Free-form information about ``ff``."""


class ProcessSession(Protocol):
    """The processor's transaction. Raises ``FlowFileHandlingError`` when a
    flowfile is used that is not (the latest version) in this session."""

    @property
    def provenance(self) -> ProvenanceReporter:
        """Report RECEIVE, FETCH, SEND, ROUTE and other events the processor knows of."""

    def get(self) -> FlowFile | None:
        """The next flowfile from the input queues, or None."""

    def get_batch(self, max_count: int = 100) -> list[FlowFile]:
        """Up to ``max_count`` flowfiles from the input queues."""

    def create(self, parent: FlowFile | Sequence[FlowFile] | None = None) -> FlowFile:
        """A new empty flowfile (child of ``parent``, or joining several parents)."""

    def create_batch(self, count: int) -> list[FlowFile]:
        """``count`` new empty flowfiles (cheaper than ``create`` in a loop)."""

    def clone(self, ff: FlowFile, offset: int = 0, size: int | None = None) -> FlowFile:
        """A copy sharing ``ff``'s content (or the ``offset``/``size`` slice of it) without copying."""

    def put_attribute(self, ff: FlowFile, key: str, value: str) -> FlowFile:
        """``ff`` with one attribute set."""

    def put_attributes(self, ff: FlowFile, attributes: Mapping[str, str]) -> FlowFile:
        """``ff`` with several attributes set (``uuid`` cannot change)."""

    def remove_attribute(self, ff: FlowFile, key: str) -> FlowFile:
        """``ff`` without ``key``."""

    def remove_attributes(self, ff: FlowFile, keys: Iterable[str]) -> FlowFile:
        """``ff`` without ``keys``."""

    def read(self, ff: FlowFile) -> BinaryIO:
        """A binary stream over ``ff``'s content (streamed, never loaded whole)."""

    def read_bytes(self, ff: FlowFile) -> bytes:
        """``ff``'s whole content (only for content known to be small)."""

    def iter_content(self, ff: FlowFile) -> Iterable[bytes]:
        """``ff``'s content in chunks."""

    def write(self, ff: FlowFile, data: ContentSource) -> FlowFile:
        """``ff`` with its content replaced by ``data``."""

    def append(self, ff: FlowFile, data: ContentSource) -> FlowFile:
        """``ff`` with ``data`` appended to its content."""

    def transfer(self, ff: FlowFile, relationship: object = None) -> None:
        """Route ``ff`` to ``relationship``; without one, back to its input queue."""

    def transfer_all(self, ffs: Iterable[FlowFile], relationship: object = None) -> None:
        """``transfer`` each flowfile."""

    def remove(self, ff: FlowFile) -> None:
        """Drop ``ff`` (a DROP event records it)."""

    def penalize(self, ff: FlowFile) -> FlowFile:
        """``ff`` penalized for the processor's penalty duration."""

    def available_relationships(self) -> frozenset[str]:
        """The relationships whose connections all have room now (not
        back-pressured); auto-terminated and unconnected ones always do."""

    def get_state(self) -> dict[str, str]:
        """The component's state (a copy)."""

    def set_state(self, values: Mapping[str, str]) -> None:
        """Replace the component's state when the session commits."""

    def commit_async(
        self,
        on_success: Callable[[], Any] | None = None,
        on_failure: Callable[[BaseException | None], Any] | None = None,
    ) -> None:
        """Run ``on_success`` after the durable commit, ``on_failure`` after a rollback."""

    def commit(self) -> None:
        """Commit the work so far now (rarely needed: the framework commits)."""

    def rollback(self, penalize: bool = False) -> None:
        """Undo the session; taken flowfiles return to their queues."""
