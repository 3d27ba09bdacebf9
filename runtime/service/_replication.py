"""What the service hands a cluster instead of applying an edit itself: a
``Proposal``, committed by the cluster as an ``Entry``, through a ``Replicator``
(``clusters.replication.ClusterReplicator``, wired by bootstrap; the runtime
never imports ``clusters``).

::

    request -> edit, revisions checked here -> Proposal -> replicator.submit
            coordinator: revisions re-checked, check_entry on every connected node,
                         fenced commit of Entry(seq)
            every node:  apply_entry(Entry) in seq order
            submit returns once this node has applied the seq

Both records are plain data: ``to_dict`` gives msgpack-able dicts (str keys,
lists, ints, None), ``from_dict`` reads them back and raises ``ValueError``
naming the field. ``undoes``/``redoes`` are CLUSTER seqs (every node maps
them to its own log, ``EditLog.seq_of_cluster``).

Errors travel too (``error_to_dict``/``error_from_dict``), so that a refusal
on the coordinator or on another node is raised on the proposer as the local
path would raise it: ``RevisionConflict`` (409), ``EditRefused`` /
``FlowDefinitionError`` (400, by field), ``ReconcileRefused`` and any other
``FlowyardError`` (400). ``NotConnected`` (a ``RevisionConflict``: 409) is
what a node that is not connected answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from flowyard.runtime.flow.edits import EditRefused
from flowyard.runtime.sdk._errors import FlowDefinitionError, FlowyardError
from flowyard.runtime.service._base import FlowNotSavedError, RevisionConflict

if TYPE_CHECKING:
    pass

__all__ = ["Entry", "NotConnected", "Proposal", "Replicator", "error_from_dict", "error_to_dict"]


class NotConnected(RevisionConflict):
    """This node is not connected to the cluster (or cannot reach its coordinator
    in a state to commit): the edit was not made. A ``RevisionConflict`` so the
    API answers 409; ``current`` is empty."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"this node is disconnected from the cluster: {reason}", {})
        self.reason = reason


def _int(doc: Mapping[str, Any], name: str, *, optional: bool = False) -> Any:
    value = doc.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name}: expected a whole number >= 0, not {value!r}")
    return value


def _str(doc: Mapping[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected text, not {type(value).__name__}")
    return value


def _dict(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name)
    if not isinstance(value, dict):
        raise ValueError(f"{name}: expected a map, not {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class Proposal:
    """An edit a node asks the cluster to commit. ``edit``/``inverse``:
    ``edit_to_dict`` forms (the inverse is what the log keeps for undo, computed
    against the proposer's flow at ``base``; the coordinator recomputes it when
    its flow is further on). ``revisions``: every component revision the request
    checked, ``{id: revision}``; ``base``: the cluster seq the proposer's flow
    was at. ``undoes``/``redoes``: cluster seqs."""

    edit: dict[str, Any]
    inverse: dict[str, Any]
    user: str
    description: str
    components: tuple[str, ...]
    undoable: bool
    undoes: int | None = None
    redoes: int | None = None
    revisions: Mapping[str, int] = field(default_factory=dict)
    base: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The msgpack-able form (``from_dict`` reads it)."""
        return {"edit": self.edit, "inverse": self.inverse, "user": self.user, "description": self.description,
                "components": list(self.components), "undoable": self.undoable, "undoes": self.undoes,
                "redoes": self.redoes, "revisions": dict(self.revisions), "base": self.base}

    @classmethod
    def from_dict(cls, doc: Any) -> Proposal:
        """Read ``to_dict``'s form; ``ValueError`` naming the field that is wrong."""
        if not isinstance(doc, dict):
            raise ValueError(f"a proposal is a map, not {type(doc).__name__}")
        components = doc.get("components")
        if not isinstance(components, list | tuple) or not all(isinstance(c, str) for c in components):
            raise ValueError("components: expected a list of component ids")
        revisions = _dict(doc, "revisions")
        for ident, rev in revisions.items():
            if not isinstance(ident, str) or not isinstance(rev, int) or isinstance(rev, bool):
                raise ValueError(f"revisions.{ident}: expected a whole number")
        undoable = doc.get("undoable")
        if not isinstance(undoable, bool):
            raise ValueError("undoable: expected true or false")
        return cls(_dict(doc, "edit"), _dict(doc, "inverse"), _str(doc, "user"), _str(doc, "description"),
                   tuple(components), undoable, _int(doc, "undoes", optional=True),
                   _int(doc, "redoes", optional=True), dict(revisions), _int(doc, "base"))


@dataclass(frozen=True, slots=True)
class Entry:
    """A committed proposal: the edit every node applies at cluster seq ``seq``
    (>= 1), in seq order."""

    seq: int
    proposal: Proposal

    def to_dict(self) -> dict[str, Any]:
        """The msgpack-able form (``from_dict`` reads it)."""
        return {"seq": self.seq, **self.proposal.to_dict()}

    @classmethod
    def from_dict(cls, doc: Any) -> Entry:
        """Read ``to_dict``'s form; ``ValueError`` naming the field that is wrong."""
        if not isinstance(doc, dict):
            raise ValueError(f"an entry is a map, not {type(doc).__name__}")
        seq = _int(doc, "seq")
        if seq < 1:
            raise ValueError("seq: an entry's seq is >= 1")
        return cls(seq, Proposal.from_dict({k: v for k, v in doc.items() if k != "seq"}))


class Replicator(Protocol):
    """Commits proposals across a cluster (``FlowService.replicator``)."""

    async def submit(self, proposal: Proposal) -> int:
        """Have ``proposal`` committed and applied here; returns its cluster seq
        once this node has applied it. Raises what the local path would:
        ``RevisionConflict`` (``NotConnected`` included), ``EditRefused`` /
        ``FlowDefinitionError``, ``ReconcileRefused``, ``FlowNotSavedError``
        (not committed: the coordinator could not be reached or could not write),
        or another ``FlowyardError``."""
        ...


# -- errors on the wire -------------------------------------------------------------------


def error_to_dict(exc: FlowyardError) -> dict[str, Any]:
    """The msgpack-able form of a refusal (``error_from_dict`` raises it again)."""
    from flowyard.runtime.engine import ReconcileRefused

    if isinstance(exc, NotConnected):
        return {"type": "not-connected", "reason": exc.reason}
    if isinstance(exc, RevisionConflict):
        return {"type": "revision", "message": str(exc), "current": exc.current}
    if isinstance(exc, EditRefused):
        return {"type": "edit", "edit": exc.edit, "message": exc.reason, "where": exc.where,
                "invariant": exc.invariant}
    if isinstance(exc, FlowDefinitionError):
        return {"type": "definition", "message": exc.reason, "source": exc.source, "where": exc.where,
                "problems": [list(p) for p in exc.problems]}
    if isinstance(exc, ReconcileRefused):
        return {"type": "reconcile", "message": str(exc), "queued": exc.queued}
    if isinstance(exc, FlowNotSavedError):
        return {"type": "not-saved", "message": str(exc), "diskFull": exc.disk_full}
    return {"type": "error", "message": str(exc)}


def error_from_dict(doc: Any, *, node: str | None = None) -> FlowyardError:
    """The exception ``error_to_dict`` described; ``node``: the node that refused,
    named at the start of the message (not for a revision conflict, which is the
    same everywhere). Something unreadable is a plain ``FlowyardError``."""
    from flowyard.runtime.engine import ReconcileRefused

    if not isinstance(doc, dict) or not isinstance(doc.get("message", doc.get("reason")), str):
        return FlowyardError(f"node {node or '?'} refused the edit with an unreadable answer")
    kind = doc.get("type")
    prefix = f"node {node}: " if node else ""
    message = str(doc.get("message", ""))

    def origin(what: Any) -> str:
        text = str(what or "")
        return f"node {node}" + (f", {text}" if text else "") if node else text

    if kind == "not-connected":
        return NotConnected(str(doc["reason"]))
    if kind == "revision":
        current = doc.get("current")
        return RevisionConflict(message, current if isinstance(current, dict) else {})
    if kind == "edit":
        return EditRefused(origin(doc.get("edit")), message, where=str(doc.get("where", "")),
                           invariant=doc.get("invariant") is True)
    if kind == "definition":
        problems = doc.get("problems")
        pairs = [(str(p[0]), str(p[1])) for p in problems if isinstance(p, list | tuple) and len(p) == 2] \
            if isinstance(problems, list) else []
        return FlowDefinitionError(message, source=origin(doc.get("source")),
                                   where=str(doc.get("where", "")), problems=pairs)
    if kind == "reconcile":
        queued = doc.get("queued")
        return ReconcileRefused(prefix + message, queued if isinstance(queued, dict) else {})
    if kind == "not-saved":
        return FlowNotSavedError(prefix + message, disk_full=doc.get("diskFull") is True)
    return FlowyardError(prefix + message)
