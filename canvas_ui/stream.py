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
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import trio

__all__ = ["STATE_FIELDS", "diff", "status_events"]

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


async def status_events(
    read: Callable[[], dict[str, dict[str, Any]]],
    *,
    state_interval: float = 0.1,
    counter_interval: float = 1.0,
) -> AsyncIterator[str]:
    """SSE text: ``snapshot`` first, then ``delta`` events with only what changed."""
    seq = 1
    sent = read()
    yield _event("snapshot", seq, {"components": sent})
    last_counters = trio.current_time()
    while True:
        await trio.sleep(state_interval)
        now = trio.current_time()
        counters_due = now - last_counters >= counter_interval
        current = read()
        changed, removed = diff(sent, current, counters=counters_due)
        if counters_due:
            last_counters = now
        if not changed and not removed:
            continue
        for cid, fields in changed.items():
            sent.setdefault(cid, {}).update(fields)
        for cid in removed:
            sent.pop(cid, None)
        seq += 1
        yield _event("delta", seq, {"components": changed, "removed": removed})
