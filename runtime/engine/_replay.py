"""Replay of a provenance event (NiFi's "Replay").

The flowfile as it *entered* the event's component — the attributes it had and
its "content before" — is queued again, as a new flowfile (new uuid, same
lineage start), into the connection it was taken from; if that connection is
gone, into the component's first incoming connection. A REPLAY event records
it, with the original flowfile as parent.

Only events of flowfiles taken from a queue can be replayed: for those the
session recorded the attributes, content claim and source connection as they
entered (events of flowfiles a component created have no input). An event of
a connection itself (emptying its queue drops its flowfiles) replays into that
connection. The content
must still be retained: in use by a queued flowfile, or released but still in
the content archive.

The write is an ordinary commit through the committer, submitted from a
committer job: the retention check, the entry sequence and the submission
happen with no other write in between, so the archive cannot expire the
content between the check and the write, and entry sequences reach the queue
in order (every commit already pending took its sequences earlier and is
applied first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from flowyard.runtime.engine._committer import PendingCommit
from flowyard.runtime.engine._queue import FlowFileQueue, QueueMoves
from flowyard.runtime.engine._session_commit import PreparedCommit
from flowyard.runtime.repository import ProvenanceRecord, Transaction
from flowyard.runtime.repository._codec import pack_attrs
from flowyard.runtime.repository.content import ContentRepository
from flowyard.runtime.repository.provenance import StoredEvent
from flowyard.runtime.sdk._errors import FlowyardError
from flowyard.runtime.sdk._flowfile import ContentClaim, FlowFile, make_flowfile, new_uuid
from flowyard.runtime.sdk._provenance import ProvenanceEventType as E

if TYPE_CHECKING:
    from flowyard.runtime.engine._engine import Engine

__all__ = ["ReplayError", "content_retained", "replay_event", "replay_refusal"]


class ReplayError(FlowyardError):
    """A provenance event cannot be replayed now; the message says why."""


def content_retained(content: ContentRepository, claim: ContentClaim | None) -> bool:
    """True if the bytes of ``claim`` are still stored: in use by a live flowfile
    or kept in the archive. Empty content (no claim) always is."""
    if claim is None or claim.length == 0:
        return True
    return claim.resource in content.counts or claim.resource in content.archived


def _target(engine: Engine, stored: StoredEvent) -> FlowFileQueue:
    """The queue a replay of ``stored`` goes to. Raises ``ReplayError``."""
    event = stored.event
    what = f"provenance event {event.event_id} ({event.event_type.name})"
    if not stored.has_input:
        raise ReplayError(f"{what} cannot be replayed: its flowfile did not come from a queue "
                          f"(component {event.component_id!r} created it), so there is no input to replay")
    own = engine.queues.get(event.component_id)
    if own is not None:  # an event of a connection itself (its queue was emptied): back into it
        return own
    node = engine.nodes.get(event.component_id)
    if node is None:
        raise ReplayError(f"{what} cannot be replayed: component {event.component_id!r} is no longer in the flow")
    source = engine.queues.get(stored.source_connection or "")
    if source is not None and source in node.inputs:
        return source
    if not node.inputs:
        raise ReplayError(f"{what} cannot be replayed: {node.name} has no incoming connection to queue it in")
    return node.inputs[0]


def replay_refusal(engine: Engine, stored: StoredEvent) -> str | None:
    """Why ``stored`` cannot be replayed now (None if it can): no input recorded,
    component or incoming connection gone, or input content no longer retained."""
    try:
        _target(engine, stored)
    except ReplayError as exc:
        return str(exc)
    event = stored.event
    if not content_retained(engine.repositories.content, event.previous_claim):
        claim = event.previous_claim
        assert claim is not None
        return (f"provenance event {event.event_id} ({event.event_type.name}) cannot be replayed: its input "
                f"content ({claim.length} bytes, content resource {claim.resource}) is no longer retained; the "
                "content archive keeps released content only for a while (see the content archive settings)")
    return None


def _prepare(engine: Engine, event_id: int, requested_by: str | None) -> tuple[PendingCommit, FlowFile, str]:
    """Runs as a committer job: check, build and submit the replay commit."""
    repos = engine.repositories
    stored = repos.provenance.stored(event_id)
    if stored is None:
        raise ReplayError(f"provenance event {event_id} is unknown or no longer retained")
    reason = replay_refusal(engine, stored)
    if reason is not None:
        raise ReplayError(reason)
    queue = _target(engine, stored)
    event = stored.event
    now = engine.clock()
    attrs = dict(event.previous_attributes)
    attrs["uuid"] = new_uuid()
    claim = event.previous_claim if event.previous_claim and event.previous_claim.length else None
    size = claim.length if claim is not None else 0
    seq = repos.flowfiles.seqs.take(1)
    placed = make_flowfile(repos.flowfiles.ids.take(), attrs, claim, size, now, event.lineage_start_date, 0, seq)
    packed = pack_attrs(attrs)
    txn = Transaction()
    txn.place(queue.queue_id, placed, packed)
    details = f"Replay of provenance event {event_id}"
    if requested_by:
        details += f" requested by {requested_by}"
    txn.events.append(ProvenanceRecord.of(
        E.REPLAY, placed, packed, event.component_id, event.component_type, now, prev=placed,
        parents=[event.flowfile_uuid], details=details, source=queue.connection_id))
    prepared = PreparedCommit(txn, QueueMoves(enqueue={queue: [placed]}))
    return engine.committer.submit(prepared), placed, queue.connection_id


async def replay_event(engine: Engine, event_id: int, *, requested_by: str | None = None) -> tuple[FlowFile, str]:
    """Replay provenance event ``event_id`` (see the module docstring); returns the
    new flowfile and the id of the connection it was queued in, once the commit
    is durable. Raises ``ReplayError`` when the event cannot be replayed (unknown,
    no input, component or connection gone, content no longer retained, engine
    not running) and the commit's error if the write failed; nothing changed then.
    """
    if engine._nursery is None or engine.finished.is_set():
        raise ReplayError("the engine is not running: start the flow to replay an event")
    pending, placed, connection_id = await engine.committer.exclusive(
        lambda: _prepare(engine, event_id, requested_by))
    if not pending.done.is_set():
        async with trio.open_nursery() as nursery:
            async def until(event: trio.Event) -> None:
                await event.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(until, pending.done)
            nursery.start_soon(until, engine.finished)
    if not pending.done.is_set():
        raise ReplayError("the engine stopped before the replay was written")
    await pending.wait()
    return placed, connection_id
