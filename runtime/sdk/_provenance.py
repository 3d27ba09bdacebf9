"""Provenance event types and the event record as processors and tests see it.

Events are produced by the session, not by hand: CREATE, FORK, JOIN, CLONE,
CONTENT_MODIFIED, ATTRIBUTES_MODIFIED, DROP and EXPIRE follow from what the
processor did with its flowfiles. Processors report only what the session
cannot know: where data came from or went to (RECEIVE, FETCH, SEND) and
routing decisions (ROUTE), through ``session.provenance``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from flowyard.runtime.sdk._flowfile import ContentClaim

__all__ = ["ProvenanceEvent", "ProvenanceEventType"]


class ProvenanceEventType(enum.IntEnum):
    """NiFi's eighteen provenance event types. The numbers are stored on disk."""

    CREATE = 1
    RECEIVE = 2
    FETCH = 3
    SEND = 4
    UPLOAD = 5
    REMOTE_INVOCATION = 6
    DOWNLOAD = 7
    DROP = 8
    EXPIRE = 9
    FORK = 10
    JOIN = 11
    CLONE = 12
    CONTENT_MODIFIED = 13
    ATTRIBUTES_MODIFIED = 14
    ROUTE = 15
    ADDINFO = 16
    REPLAY = 17
    UNKNOWN = 18


@dataclass(frozen=True, slots=True)
class ProvenanceEvent:
    """One provenance event, as read back from the repository or a test runner.

    ``attributes`` are the flowfile's attributes after the event;
    ``previous_attributes`` are those before it, for events that changed them
    (empty otherwise). ``event_id`` is assigned when the session commits.
    """

    event_type: ProvenanceEventType
    flowfile_uuid: str
    timestamp: int
    component_id: str
    component_type: str
    attributes: Mapping[str, str]
    previous_attributes: Mapping[str, str] = field(default_factory=dict)
    parent_uuids: tuple[str, ...] = ()
    child_uuids: tuple[str, ...] = ()
    relationship: str | None = None
    details: str | None = None
    transit_uri: str | None = None
    size: int = 0
    claim: ContentClaim | None = None
    previous_size: int | None = None
    previous_claim: ContentClaim | None = None
    entry_date: int = 0
    lineage_start_date: int = 0
    event_id: int = -1

    @property
    def updated_attributes(self) -> dict[str, str | None]:
        """Attributes this event changed: new values, None for removed ones."""
        changed: dict[str, str | None] = {
            k: v for k, v in self.attributes.items() if self.previous_attributes.get(k) != v
        }
        if self.previous_attributes:
            for k in self.previous_attributes:
                if k not in self.attributes:
                    changed[k] = None
        return changed
