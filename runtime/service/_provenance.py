"""Provenance: search, event detail and lineage."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import networkx as nx

from flowyard.runtime.sdk._provenance import ProvenanceEvent
from flowyard.runtime.service._base import ServiceState, UnknownComponentError


def _event_summary(event: ProvenanceEvent) -> dict[str, Any]:
    return {"eventId": event.event_id, "eventType": event.event_type.name, "timestamp": event.timestamp,
            "flowfileUuid": event.flowfile_uuid, "componentId": event.component_id,
            "componentType": event.component_type, "relationship": event.relationship,
            "size": event.size, "filename": event.attributes.get("filename")}


class ProvenanceMixin(ServiceState):
    """Provenance search, event detail and lineage graphs."""

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

        Scans the retained events (no secondary indexes yet); attribute criteria
        match exact values."""
        wanted_type = event_type.upper() if event_type else None
        found: list[dict[str, Any]] = []
        for event in self._events_newest_first():
            if flowfile_uuid and event.flowfile_uuid != flowfile_uuid and flowfile_uuid not in (
                    *event.parent_uuids, *event.child_uuids):
                continue
            if component_id and event.component_id != component_id:
                continue
            if wanted_type and event.event_type.name != wanted_type:
                continue
            if start_ms is not None and event.timestamp < start_ms:
                continue
            if end_ms is not None and event.timestamp > end_ms:
                continue
            if attributes and any(event.attributes.get(k) != v for k, v in attributes.items()):
                continue
            found.append(_event_summary(event))
            if len(found) >= limit:
                break
        return found

    def _events_newest_first(self) -> Iterator[ProvenanceEvent]:
        provenance = self.repositories.provenance
        first = provenance.first_id()
        if first is None:
            return
        end = provenance.next_id
        step = 1000
        while end > first:
            begin = max(first, end - step)
            chunk = list(provenance.events(begin, limit=end - begin))
            yield from reversed([e for e in chunk if e.event_id < end])
            end = begin

    def provenance_event(self, event_id: int) -> dict[str, Any]:
        """One event with attributes before and after. Raises ``UnknownComponentError``."""
        event = self.repositories.provenance.event(event_id)
        if event is None:
            raise UnknownComponentError(f"no provenance event has id {event_id}")
        detail = _event_summary(event)
        detail.update({
            "attributes": dict(event.attributes),
            "previousAttributes": dict(event.previous_attributes),
            "updatedAttributes": event.updated_attributes,
            "parentUuids": list(event.parent_uuids), "childUuids": list(event.child_uuids),
            "transitUri": event.transit_uri, "details": event.details,
            "previousSize": event.previous_size,
        })
        return detail

    def lineage(self, flowfile_uuid: str) -> dict[str, Any]:
        """The lineage of a flowfile as a graph: flowfiles and events as nodes, edges
        from each flowfile to its events and across FORK/JOIN/CLONE to the children."""
        graph = nx.DiGraph()
        by_uuid: dict[str, list[ProvenanceEvent]] = {}
        for e in self._events_newest_first():
            for ffid in {e.flowfile_uuid, *e.parent_uuids, *e.child_uuids}:
                by_uuid.setdefault(ffid, []).append(e)
        pending = [flowfile_uuid]
        seen: set[str] = set()
        while pending:
            ffid = pending.pop()
            if ffid in seen:
                continue
            seen.add(ffid)
            graph.add_node(ffid, kind="flowfile")
            for e in by_uuid.get(ffid, []):
                node = f"event:{e.event_id}"
                graph.add_node(node, kind="event", eventType=e.event_type.name, componentId=e.component_id,
                               timestamp=e.timestamp)
                if e.parent_uuids:  # JOIN: the parents flow into the new flowfile
                    for parent in e.parent_uuids:
                        graph.add_edge(parent, node)
                    graph.add_edge(node, e.flowfile_uuid)
                else:
                    graph.add_edge(e.flowfile_uuid, node)
                for child in e.child_uuids:  # FORK, CLONE
                    graph.add_edge(node, child)
                pending.extend([e.flowfile_uuid, *e.parent_uuids, *e.child_uuids])
        if flowfile_uuid not in by_uuid:
            raise UnknownComponentError(f"no provenance event mentions flowfile {flowfile_uuid!r}")
        return {
            "nodes": [{"id": n, **attrs} for n, attrs in graph.nodes(data=True)],
            "edges": [{"source": a, "target": b} for a, b in graph.edges()],
        }
