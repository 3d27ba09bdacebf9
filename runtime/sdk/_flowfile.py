"""FlowFile and ContentClaim: the immutable records that move through a flow.

A FlowFile is a tuple underneath. That keeps creation at about a quarter of a
microsecond, which matters because every hop of every flowfile makes one.
It is never changed: the session returns a new FlowFile for every change
(copy-on-write), and the attribute dict inside is never mutated once the record
exists — it is exposed read-only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from operator import itemgetter
from typing import TYPE_CHECKING, NamedTuple

__all__ = [
    "ContentClaim",
    "CoreAttributes",
    "FlowFile",
    "new_uuid",
    "new_uuids",
]


class CoreAttributes:
    """Names of NiFi's core attributes, which every flowfile carries."""

    UUID = "uuid"
    FILENAME = "filename"
    PATH = "path"
    ABSOLUTE_PATH = "absolute.path"
    MIME_TYPE = "mime.type"
    ENTRY_DATE = "entryDate"
    LINEAGE_START_DATE = "lineageStartDate"
    FILE_SIZE = "fileSize"
    PRIORITY = "priority"
    DISCARD_REASON = "discard.reason"
    ALTERNATE_IDENTIFIER = "alternate.identifier"


class ContentClaim(NamedTuple):
    """Where a flowfile's bytes live: ``length`` bytes from ``offset`` of a
    resource in the content repository. Resources are immutable; several claims
    may share one (clone, zero-copy split) and the repository counts them."""

    resource: int
    offset: int
    length: int


_HEX_VARIANT = "89ab89ab89ab89ab"


def new_uuids(count: int) -> list[str]:
    """``count`` random (version 4) UUID strings, made in bulk.

    About ten times faster than ``str(uuid.uuid4())`` per id, which is on the
    hot path of every created flowfile.
    """
    raw = os.urandom(16 * count).hex()
    out = []
    for i in range(0, 32 * count, 32):
        h = raw[i : i + 32]
        out.append(
            f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-{_HEX_VARIANT[int(h[16], 16)]}{h[17:20]}-{h[20:32]}"
        )
    return out


def new_uuid() -> str:
    """One random (version 4) UUID string."""
    return new_uuids(1)[0]


_FlowFileFields = tuple[
    int,  # 0 id: repository id, unique among live flowfiles
    dict[str, str],  # 1 attributes (never mutated)
    "ContentClaim | None",  # 2 content claim, None for empty content
    int,  # 3 size in bytes
    int,  # 4 entry date, epoch millis
    int,  # 5 lineage start date, epoch millis
    int,  # 6 penalty expiry, epoch millis (0: not penalized)
    int,  # 7 queue entry sequence (engine bookkeeping; 0 when not queued)
]


_DERIVED = {
    CoreAttributes.FILE_SIZE: 3,
    CoreAttributes.ENTRY_DATE: 4,
    CoreAttributes.LINEAGE_START_DATE: 5,
}


class FlowFileAttributes(Mapping[str, str]):
    """A flowfile's attributes, with its derived core attributes readable by name."""

    __slots__ = ("_attrs", "_ff")

    def __init__(self, ff: FlowFile) -> None:
        self._ff = ff
        self._attrs: dict[str, str] = ff[1]

    def __getitem__(self, key: str) -> str:
        value = self._attrs.get(key)
        if value is not None:
            return value
        index = _DERIVED.get(key)
        if index is None:
            raise KeyError(key)
        return str(self._ff[index])

    def __iter__(self) -> Iterator[str]:
        return iter(self._attrs)

    def __len__(self) -> int:
        return len(self._attrs)

    def __repr__(self) -> str:
        return f"FlowFileAttributes({self._attrs!r})"


class FlowFile(_FlowFileFields):
    """An immutable flowfile: attributes plus a pointer to content.

    Obtain flowfiles from a session (``get``, ``create``, ``clone``) and change
    them only through it: each change returns a new FlowFile and the old one
    becomes stale (passing it back to the session raises
    ``FlowFileHandlingError``). Equality compares every field; the hash is the
    id, so different versions of one flowfile collide but never compare equal.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        @property
        def id(self) -> int:
            """Repository id: unique among live flowfiles, stable across restarts."""

        @property
        def claim(self) -> ContentClaim | None:
            """Where the content lives, or None when the content is empty."""

        @property
        def size(self) -> int:
            """Content size in bytes."""

        @property
        def entry_date(self) -> int:
            """When the flowfile entered flowyard, epoch milliseconds."""

        @property
        def lineage_start_date(self) -> int:
            """When the oldest ancestor entered flowyard, epoch milliseconds."""

        @property
        def penalty_expires(self) -> int:
            """Epoch milliseconds until which the flowfile is penalized (0: never)."""

    else:
        id = property(itemgetter(0))
        claim = property(itemgetter(2))
        size = property(itemgetter(3))
        entry_date = property(itemgetter(4))
        lineage_start_date = property(itemgetter(5))
        penalty_expires = property(itemgetter(6))

    @property
    def attributes(self) -> Mapping[str, str]:
        """All attributes, read-only. ``fileSize``, ``entryDate`` and
        ``lineageStartDate`` (derived from the record) can be looked up by name,
        as in NiFi's Expression Language, but are not listed when iterating."""
        return FlowFileAttributes(self)

    @property
    def uuid(self) -> str:
        """The ``uuid`` attribute: globally unique, used by provenance."""
        return self[1]["uuid"]

    def get_attribute(self, name: str, default: str | None = None) -> str | None:
        """The value of attribute ``name``, or ``default`` when it is absent."""
        return self[1].get(name, default)

    def is_penalized(self, now_millis: int) -> bool:
        """True while the penalty set by ``session.penalize`` has not expired."""
        return self[6] > now_millis

    def __hash__(self) -> int:
        return hash(self[0])

    def __repr__(self) -> str:
        """Names the flowfile as NiFi's records do (uuid, filename, size), never
        every attribute: it ends up in logs and bulletins, where attribute values
        may be large or private."""
        name = self[1].get("filename")
        shown = name if name is None or len(name) <= 100 else name[:100] + "…"
        return f"FlowFile(id={self[0]}, uuid={self[1].get('uuid')!r}, filename={shown!r}, size={self[3]})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (tuple(self),))


def _rebuild(fields: _FlowFileFields) -> FlowFile:
    return tuple.__new__(FlowFile, fields)


def make_flowfile(
    id: int,
    attributes: dict[str, str],
    claim: ContentClaim | None,
    size: int,
    entry_date: int,
    lineage_start: int,
    penalty_expires: int = 0,
    seq: int = 0,
) -> FlowFile:
    """Build a FlowFile. For the engine and test kits; processors use the session.

    ``attributes`` is owned by the new record from now on: never mutate it.
    """
    return tuple.__new__(
        FlowFile, (id, attributes, claim, size, entry_date, lineage_start, penalty_expires, seq)
    )
