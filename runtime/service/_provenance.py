"""Provenance: search, event detail with content before and after, replay, lineage."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flowyard.runtime.engine import content_retained, replay_event, replay_refusal
from flowyard.runtime.sdk._errors import ContentNotFoundError, FlowyardError
from flowyard.runtime.sdk._provenance import ProvenanceEvent, ProvenanceEventType
from flowyard.runtime.service._base import ServiceState, UnknownComponentError

#: What ``provenance_content`` accepts: the content as the event's component got it, or as it left.
CONTENT_DIRECTIONS = ("input", "output")


def _event_summary(event: ProvenanceEvent) -> dict[str, Any]:
    return {"eventId": event.event_id, "eventType": event.event_type.name, "timestamp": event.timestamp,
            "flowfileUuid": event.flowfile_uuid, "componentId": event.component_id,
            "componentType": event.component_type, "relationship": event.relationship,
            "size": event.size, "filename": event.attributes.get("filename")}


class ProvenanceMixin(ServiceState):
    """Provenance search, event detail and content, replay and lineage graphs."""

    def provenance_search(
        self,
        *,
        flowfile_uuid: str | None = None,
        component_id: str | None = None,
        event_type: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        attributes: Mapping[str, str] | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Events matching every given criterion, newest first, at most ``limit``.

        ``flowfile_uuid`` also matches events naming the flowfile as a parent or
        child; uuid, component and event type are looked up in the repository's
        indexes; attribute criteria match exact values. An unknown event type
        matches nothing."""
        wanted_type: ProvenanceEventType | None = None
        if event_type:
            try:
                wanted_type = ProvenanceEventType[event_type.upper()]
            except KeyError:
                return []
        found: list[dict[str, Any]] = []
        if limit <= 0:
            return found
        for event in self.repositories.provenance.search(
                flowfile_uuid=flowfile_uuid or None, component_id=component_id or None, event_type=wanted_type,
                start_ms=start_ms, end_ms=end_ms):
            if attributes and any(event.attributes.get(k) != v for k, v in attributes.items()):
                continue
            found.append(_event_summary(event))
            if len(found) >= limit:
                break
        return found

    def provenance_event(self, event_id: int) -> dict[str, Any]:
        """One event with attributes before and after, whether its input and output
        content are still available (and their sizes), the connection its flowfile
        came from, and whether it can be replayed (else why not). Raises
        ``UnknownComponentError`` for an unknown or aged-off event."""
        stored = self.repositories.provenance.stored(event_id)
        if stored is None:
            raise UnknownComponentError(f"no provenance event has id {event_id}")
        event = stored.event
        content = self.repositories.content
        refusal = replay_refusal(self.engine, stored)
        detail = _event_summary(event)
        detail.update({
            "attributes": dict(event.attributes),
            "previousAttributes": dict(event.previous_attributes),
            "updatedAttributes": event.updated_attributes,
            "parentUuids": list(event.parent_uuids), "childUuids": list(event.child_uuids),
            "transitUri": event.transit_uri, "details": event.details,
            "previousSize": event.previous_size,
            "sourceConnectionId": stored.source_connection,
            "inputContentAvailable": stored.has_input and content_retained(content, event.previous_claim),
            "inputSize": event.previous_size if stored.has_input else None,
            "outputContentAvailable": content_retained(content, event.claim),
            "outputSize": event.size,
            "replayAvailable": refusal is None,
            "replayExplanation": refusal,
        })
        return detail

    def provenance_content(self, event_id: int, direction: str) -> tuple[str, str, int, Iterator[bytes]]:
        """``(mime type, filename, size, chunks)`` of an event's content: ``input``
        (as the flowfile entered the component) or ``output`` (as it left),
        streamed from the content repository or its archive, never loaded whole.

        Raises ``UnknownComponentError`` for an unknown event, ``FlowyardError``
        for a direction other than input/output, and ``ContentNotFoundError``
        when the event has no input or the content is no longer retained."""
        if direction not in CONTENT_DIRECTIONS:
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
        chunks: Iterator[bytes] = iter(self.repositories.content.iter_chunks(claim if size else None))
        mime = attrs.get("mime.type") or "application/octet-stream"
        return mime, attrs.get("filename") or event.flowfile_uuid, size, chunks

    async def replay_provenance_event(self, event_id: int, *, user: str | None = None) -> dict[str, Any]:
        """Queue the flowfile of event ``event_id`` again as it entered the event's
        component (NiFi's "Replay"): its previous attributes (with a new uuid) and
        its input content, into the connection it came from (or the component's
        first incoming connection), with a REPLAY event. Returns the new
        flowfile's uuid, the connection and the REPLAY event id.

        Raises ``UnknownComponentError`` for an unknown event and ``ReplayError``
        (a ``FlowyardError``) with the reason when it cannot be replayed; nothing
        changed then."""
        if self.repositories.provenance.stored(event_id) is None:
            raise UnknownComponentError(f"no provenance event has id {event_id}")
        placed, connection_id = await replay_event(self.engine, event_id, requested_by=user)
        replay = next(self.repositories.provenance.search(flowfile_uuid=placed.uuid,
                                                          event_type=ProvenanceEventType.REPLAY), None)
        return {"flowfileUuid": placed.uuid, "connectionId": connection_id, "size": placed.size,
                "eventId": replay.event_id if replay is not None else None}

    def lineage(self, flowfile_uuid: str) -> dict[str, Any]:
        """The lineage of a flowfile as a graph: flowfiles and events as nodes, edges
        from each flowfile to its events and across FORK/JOIN/CLONE/REPLAY to the
        other flowfiles. Each generation is one indexed lookup."""
        import networkx as nx  # the largest import of a start (~12% of its CPU); only lineage needs it

        provenance = self.repositories.provenance
        graph = nx.DiGraph()
        events: dict[int, ProvenanceEvent] = {}
        seen: set[str] = set()
        frontier = {flowfile_uuid}
        while frontier:
            seen |= frontier
            reached: set[str] = set()
            for e in provenance.events_mentioning(frontier):
                if e.event_id not in events:
                    events[e.event_id] = e
                    reached.update((e.flowfile_uuid, *e.parent_uuids, *e.child_uuids))
            frontier = reached - seen
        if not events:
            raise UnknownComponentError(f"no provenance event mentions flowfile {flowfile_uuid!r}")
        for ffid in sorted(seen):
            graph.add_node(ffid, kind="flowfile")
        for e in sorted(events.values(), key=lambda ev: ev.event_id):
            node = f"event:{e.event_id}"
            graph.add_node(node, kind="event", eventType=e.event_type.name, componentId=e.component_id,
                           timestamp=e.timestamp)
            if e.parent_uuids:  # JOIN, REPLAY: the parents flow into the new flowfile
                for parent in e.parent_uuids:
                    graph.add_edge(parent, node)
                graph.add_edge(node, e.flowfile_uuid)
            else:
                graph.add_edge(e.flowfile_uuid, node)
            for child in e.child_uuids:  # FORK, CLONE
                graph.add_edge(node, child)
        return {
            "nodes": [{"id": n, **attrs} for n, attrs in graph.nodes(data=True)],
            "edges": [{"source": a, "target": b} for a, b in graph.edges()],
        }
