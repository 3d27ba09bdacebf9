"""The live status stream (Server-Sent Events): a numbered snapshot, then deltas.

Pure bookkeeping plus one async generator. Each event carries a sequence
number (``id:``); a client that sees a gap, or reconnects, gets a fresh
snapshot (a new connection always starts with one). Changes of run state,
validity and bulletins go out at the next fast tick (``state_interval``);
counters are merged and go out at most every ``counter_interval``.

Every field not in ``STATE_FIELDS`` is a counter: the totals since start, the
queue figures, and the statistics the engine samples once a second (5-minute
totals such as ``flowFilesOut``, rates such as ``flowFilesOutRate1s``; see
``FlowService.status_entries``), so a running component sends about one delta
a second and an idle one none.

In a cluster (``cluster_status_events``) the entries are the nodes' merged
(each with a ``nodes`` breakdown, a counter field) and events also carry the
cluster document (``cluster``), so the canvas can say when this node is
disconnected.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import trio

__all__ = ["STATE_FIELDS", "cluster_status_events", "diff", "status_events", "urgent"]

STATE_FIELDS = frozenset({"runState", "valid", "bulletins", "kind"})


def diff(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], *, counters: bool
         ) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Changed fields per component (state fields always, counters if ``counters``)
    and the components that disappeared."""
    changed: dict[str, dict[str, Any]] = {}
    for cid, fields in new.items():
        before = old.get(cid)
        if before is None:
            changed[cid] = dict(fields)
            continue
        delta = {k: v for k, v in fields.items()
                 if before.get(k) != v and (counters or k in STATE_FIELDS)}
        if delta:
            changed[cid] = delta
    removed = [cid for cid in old if cid not in new]
    return changed, removed


def _event(kind: str, seq: int, data: Any) -> str:
    return f"event: {kind}\nid: {seq}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def status_events(
    read: Callable[[], dict[str, dict[str, Any]]],
    *,
    state_interval: float = 0.1,
    counter_interval: float = 1.0,
) -> AsyncIterator[str]:
    """SSE text: ``snapshot`` first, then ``delta`` events with only what changed."""
    async def entries() -> tuple[dict[str, dict[str, Any]], None]:
        return read(), None
    return _events(entries, state_interval=state_interval, counter_interval=counter_interval)


def cluster_status_events(
    read: Callable[[], Awaitable[tuple[dict[str, dict[str, Any]], dict[str, Any]]]],
    *,
    state_interval: float = 0.1,
    counter_interval: float = 1.0,
) -> AsyncIterator[str]:
    """As ``status_events`` for a cluster: ``read`` answers the merged entries and
    the cluster document; every event's data carries ``cluster`` when it
    changed (the snapshot always): at once for a change of ``urgent`` (states,
    roles, reasons, unavailable nodes), else with the counters."""
    return _events(read, state_interval=state_interval, counter_interval=counter_interval)


def urgent(cluster: dict[str, Any]) -> tuple[Any, ...]:
    """What of the cluster document goes out at the next fast tick when it changes."""
    nodes = tuple((n.get("nodeId"), n.get("state"), n.get("reason"), tuple(n.get("roles") or ()), n.get("alive"))
                  for n in cluster.get("nodes", ()))
    gone = tuple(u.get("nodeId") for u in cluster.get("unavailable", ()))
    return (cluster.get("state"), cluster.get("reason"), cluster.get("coordinator"), cluster.get("primary"),
            nodes, gone)


async def _events(
    read: Callable[[], Awaitable[tuple[dict[str, dict[str, Any]], dict[str, Any] | None]]],
    *,
    state_interval: float,
    counter_interval: float,
) -> AsyncIterator[str]:
    seq = 1
    fresh, cluster = await read()
    sent = {cid: dict(fields) for cid, fields in fresh.items()}  # updated below; what read answers may be shared
    first: dict[str, Any] = {"components": sent}
    if cluster is not None:
        first["cluster"] = cluster
    yield _event("snapshot", seq, first)
    last_counters = trio.current_time()
    while True:
        await trio.sleep(state_interval)
        now = trio.current_time()
        counters_due = now - last_counters >= counter_interval
        current, cluster_now = await read()
        changed, removed = diff(sent, current, counters=counters_due)
        if counters_due:
            last_counters = now
        cluster_out = None
        if cluster_now is not None and cluster_now != cluster and (
                counters_due or cluster is None or urgent(cluster_now) != urgent(cluster)):
            cluster_out = cluster = cluster_now
        if not changed and not removed and cluster_out is None:
            continue
        for cid, fields in changed.items():
            sent.setdefault(cid, {}).update(fields)
        for cid in removed:
            sent.pop(cid, None)
        seq += 1
        data: dict[str, Any] = {"components": changed, "removed": removed}
        if cluster_out is not None:
            data["cluster"] = cluster_out
        yield _event("delta", seq, data)
