"""Merging the nodes' answers into cluster answers: pure functions over the
JSON shapes of ``FlowService`` (see ``docs/api.md``, "Cluster").

Each function takes ``[(node id, that node's answer), ...]``, this node first.
Numbers add up; ``valid`` holds only if it holds everywhere; other state
(``runState``, ``kind``, a repository's figures) is the first node's, which
is this node. Every merged record gains ``nodes``: the per-node breakdown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["bulletins", "entries", "group_statistics", "lineage", "provenance", "queue", "statistics",
           "status", "status_history", "sum_tree"]

Answers = Sequence[tuple[str, Any]]

#: ``FlowService.status()`` totals that add up over the nodes.
STATUS_TOTALS = ("flowfilesIn", "flowfilesOut", "queuedCount", "queuedBytes", "running", "stopped", "invalid")
#: Fields of a status entry that are state, not figures; each node's go into its breakdown too.
STATE_FIELDS = ("runState", "valid")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _add(values: Iterable[Any]) -> Any:
    total = 0
    floats = False
    for v in values:
        total += v
        floats = floats or isinstance(v, float)
    return round(total, 3) if floats else total


def sum_tree(docs: Sequence[Mapping[str, Any]], *,
             latest: Iterable[str] = ("timestamp", "windowMillis")) -> dict[str, Any]:
    """Numbers added key by key, nested mappings merged the same way, fields in
    ``latest`` the largest, anything else the first document's."""
    latest = frozenset(latest)
    out: dict[str, Any] = {}
    for doc in docs:
        for key in doc:
            if key in out:
                continue
            values = [d[key] for d in docs if key in d]
            if key in latest and all(_number(v) for v in values):
                out[key] = max(values)
            elif all(_number(v) for v in values):
                out[key] = _add(values)
            elif all(isinstance(v, Mapping) for v in values):
                out[key] = sum_tree(values, latest=latest)
            else:
                out[key] = values[0]
    return out


def _entry(per_node: list[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """One component's status entry over the nodes that have it."""
    first = per_node[0][1]
    if first.get("kind") == "repository":  # each node's own disk: this node's, with the breakdown
        merged = dict(first)
    else:
        merged = sum_tree([e for _, e in per_node], latest=())
        if "valid" in first:
            merged["valid"] = all(e.get("valid", True) for _, e in per_node)
    merged["nodes"] = [{"nodeId": nid, **{k: v for k, v in e.items() if _number(v) or k in STATE_FIELDS}}
                       for nid, e in per_node]
    return merged


def entries(answers: Answers) -> dict[str, dict[str, Any]]:
    """Merged live-stream entries (``FlowService.status_entries``) with a ``nodes``
    breakdown per component; a component is listed if any node has it."""
    by_component: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for nid, doc in answers:
        for cid, entry in doc.items():
            by_component.setdefault(cid, []).append((nid, entry))
    return {cid: _entry(per_node) for cid, per_node in by_component.items()}


def status(answers: Answers, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """``FlowService.status()`` over the nodes (see ``docs/api.md``)."""
    docs = [doc for _, doc in answers]
    out: dict[str, Any] = {key: _add(d.get(key, 0) for d in docs) for key in STATUS_TOTALS}
    out["repository"] = docs[0].get("repository") if docs else None
    for part in ("processors", "connections"):
        out[part] = entries([(nid, doc.get(part, {})) for nid, doc in answers])
    out["clustered"] = True
    out["nodes"] = [{"nodeId": nid, **{k: doc.get(k) for k in (*STATUS_TOTALS, "repository")}}
                    for nid, doc in answers] + errors
    return out


_STAT_PARTS = ("totals", "rates", "sinceStart", "current", "timestamp")


def statistics(answers: Answers, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """``component_statistics`` over the nodes: figures summed, ``timestamp`` the latest."""
    if not answers:
        return {"nodes": errors}
    merged = sum_tree([doc for _, doc in answers])
    merged["nodes"] = [{"nodeId": nid, **{k: doc.get(k) for k in _STAT_PARTS}} for nid, doc in answers] + errors
    return merged


def group_statistics(answers: Answers, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """``group_statistics`` over the nodes: each of ``processors`` and ``connections`` as ``statistics``."""
    if not answers:
        return {"nodes": errors}
    first = dict(answers[0][1])
    for part in ("processors", "connections"):
        merged = statistics([(nid, doc[part]) for nid, doc in answers], errors)
        merged["count"] = answers[0][1][part]["count"]
        first[part] = merged
    return first


def status_history(answers: Answers, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """``status_history`` over the nodes: samples summed per interval (a sample
    falls into the interval that ends at or after it)."""
    if not answers:
        return {"nodes": errors}
    first = dict(answers[0][1])
    interval = int(first.get("intervalMillis") or 1000)
    fields = [d["field"] for d in first.get("fieldDescriptors", [])]
    buckets: dict[int, dict[str, list[Any]]] = {}
    for _, doc in answers:
        series = doc.get("series", {})
        for i, ts in enumerate(doc.get("timestamps", [])):
            end = -(-int(ts) // interval) * interval
            bucket = buckets.setdefault(end, {})
            for f in fields:
                values = series.get(f, [])
                if i < len(values) and _number(values[i]):
                    bucket.setdefault(f, []).append(values[i])
    ends = sorted(buckets)
    first["timestamps"] = ends
    first["series"] = {f: [_add(buckets[end].get(f, [])) for end in ends] for f in fields}
    first["nodes"] = [{"nodeId": nid, "timestamps": doc.get("timestamps", []), "series": doc.get("series", {})}
                      for nid, doc in answers] + errors
    return first


def queue(answers: Answers, limit: int) -> list[dict[str, Any]]:
    """Queue listings merged by position (every node's first, then every node's second...)."""
    rows = [(position, order, {**item, "nodeId": nid, "position": position})
            for order, (nid, items) in enumerate(answers) for position, item in enumerate(items, start=1)]
    rows.sort(key=lambda r: (r[0], r[1]))
    return [row for _, _, row in rows[:limit]]


def provenance(answers: Answers, limit: int) -> list[dict[str, Any]]:
    """Provenance search results merged newest first, cut at ``limit``."""
    rows = [{**event, "nodeId": nid} for nid, events in answers for event in events]
    rows.sort(key=lambda e: (-int(e.get("timestamp") or 0), e["nodeId"], -int(e.get("eventId") or 0)))
    return rows[:limit]


def bulletins(answers: Answers) -> list[dict[str, Any]]:
    """Every node's bulletins with ``nodeId``, oldest first."""
    rows = [{**b, "nodeId": nid} for nid, items in answers for b in items]
    rows.sort(key=lambda b: int(b.get("timestamp") or 0))
    return rows


def lineage(events: Mapping[tuple[str, int], Mapping[str, Any]], seen: Iterable[str]) -> dict[str, Any]:
    """The lineage graph of events found on several nodes: flowfile nodes (with
    ``nodeIds``), event nodes ``event:NODE:ID`` (with ``nodeId`` and ``eventId``),
    edges as ``FlowService.lineage`` draws them."""
    where: dict[str, set[str]] = {}
    for (nid, _), e in events.items():
        for ff in (e["flowfileUuid"], *e["parentUuids"], *e["childUuids"]):
            where.setdefault(ff, set()).add(nid)
    nodes: dict[str, dict[str, Any]] = {}
    for ff in sorted(set(seen) | set(where)):
        nodes[ff] = {"id": ff, "kind": "flowfile", "nodeIds": sorted(where.get(ff, ()))}
    edges: dict[tuple[str, str], None] = {}
    for (nid, eid), e in sorted(events.items(), key=lambda item: (int(item[1].get("timestamp") or 0), item[0])):
        node = f"event:{nid}:{eid}"
        nodes[node] = {"id": node, "kind": "event", "eventType": e["eventType"], "componentId": e["componentId"],
                       "timestamp": e["timestamp"], "nodeId": nid, "eventId": eid}
        if e["parentUuids"]:  # JOIN, REPLAY: the parents flow into the new flowfile
            for parent in e["parentUuids"]:
                edges[(parent, node)] = None
            edges[(node, e["flowfileUuid"])] = None
        else:
            edges[(e["flowfileUuid"], node)] = None
        for child in e["childUuids"]:  # FORK, CLONE
            edges[(node, child)] = None
    return {"nodes": list(nodes.values()), "edges": [{"source": a, "target": b} for a, b in edges]}
