"""The service as one replica of a cluster's flow: edits proposed to the cluster
instead of applied here, committed entries applied in seq order, and the whole
flow taken from the cluster (see ``_replication`` for the records and
docs/cluster-internals.md, "Edit replication", for the protocol).

With ``replicator`` unset (a single node) nothing here changes anything:
``_commit`` is ``EditsMixin._commit``.

Locks. A request holds the edit lock (``serialized``) from its revision checks
through ``_commit``, so on a proposer that lock is held while the cluster
commits the edit — and the edit is applied here by the replicator's apply task
(``apply_entry``), which must therefore NOT take the edit lock: it would wait
for the request that waits for it. Committed entries (and ``take_flow``) are
applied under a second lock, the apply lock, one at a time; a proposer takes
it too, briefly, to build its proposal from a flow no entry is half-way through
(it is never held while waiting for the edit lock or the cluster, so the two
cannot wait for each other). A flow that moves on after the proposal is built
is what the coordinator's re-check of revisions and validation on every node
are for. After ``submit`` returns the entry is applied here, so the
answer the request builds includes it.

Differences from a single node: a controller service that cannot be enabled
stays ENABLED in the flow (its node reports why) rather than being turned into
a local DISABLED system edit, which would make this node's flow differ; an
update that changes nothing does not move the component's revision (it would
move on this node only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import trio

from flowyard.runtime.flow import flow_from_dict, flow_to_dict
from flowyard.runtime.flow.edits import EditRefused
from flowyard.runtime.sdk._errors import FlowyardError
from flowyard.runtime.service._base import RevisionConflict
from flowyard.runtime.service._edits import SYSTEM_USER, Committed, EditsMixin, _dropped_connections, _logged_inverse
from flowyard.runtime.service._replication import Entry, Proposal, Replicator

if TYPE_CHECKING:
    from flowyard.runtime.flow.edits import Edit

__all__ = ["TOOK_FLOW", "ReplicaMixin"]

#: The history's description of a flow taken from the cluster.
TOOK_FLOW = "Took the cluster's flow"
#: Reports of applied entries kept for the requests that proposed them.
_RECENT = 64


class ReplicaMixin(EditsMixin):
    """Proposing edits, applying committed entries, taking the cluster's flow."""

    #: Set (by the composition root) on a node of a cluster: edits go through it.
    replicator: Replicator | None = None
    _checked: dict[str, int] | None = None
    _recent: dict[int, Committed] | None = None
    _apply_lock: trio.Lock | None = None
    #: ``cluster_seq`` once known (read from the log at first use, then set as
    #: entries are applied: the log holds an entry before the flow does).
    _cluster: tuple[int | None] | None = None

    # -- what a request checked ----------------------------------------------------------

    @asynccontextmanager
    async def _editing(self) -> AsyncIterator[None]:
        """The edit lock; a request starting (not a re-entry) forgets the
        revisions an earlier request checked without committing."""
        outer = self._edit_owner is not trio.lowlevel.current_task()
        async with super()._editing():
            if outer:
                self._checked = {}
            yield

    def _check_revision(self, component_id: str, revision: Any, current: dict[str, Any]) -> None:
        super()._check_revision(component_id, revision, current)
        if self._checked is None:
            self._checked = {}
        self._checked[component_id] = revision

    # -- proposing -------------------------------------------------------------------------

    @property
    def cluster_seq(self) -> int | None:
        """The cluster seq of the flow this node holds (the last entry applied or
        flow taken), from the edit log entry at the flow file's ``editSeq``;
        ``None`` when the flow was not had from a cluster (a node must then take
        the cluster's flow). It moves once an entry is wholly applied (the flow,
        the engine and the revisions all include it)."""
        if self._cluster is None:
            self._cluster = (self.log.last_cluster_seq,)
        return self._cluster[0]

    async def _commit(self, edit: Edit, *, user: str | None, adding: int = 0,
                      undoes: int | None = None, redoes: int | None = None,
                      redo_edit: Edit | None = None, description: str | None = None) -> Committed:
        from flowyard.runtime.engine import ReconcileReport, plan
        from flowyard.runtime.flow.edits import apply, describe, edit_to_dict, validate

        if self.replicator is None:
            return await super()._commit(edit, user=user, adding=adding, undoes=undoes, redoes=redoes,
                                         redo_edit=redo_edit, description=description)
        checked, self._checked = dict(self._checked or {}), {}
        async with self._applying():  # not while an entry is half applied (the engine ahead of the flow)
            self.check_revisions(checked)  # an entry applied while this waited: 409, as the coordinator would
            before = self.flow
            validate(before, edit, self._edit_context())  # a clear error at once, without a round trip
            plan(self.engine, apply(before, edit), drop=_dropped_connections(before, edit))
            can_undo, back = _logged_inverse(before, edit, user, undoes, redoes, redo_edit)
            proposal = Proposal(
                edit_to_dict(edit), edit_to_dict(back), user if user is not None else SYSTEM_USER,
                description or describe(before, edit), tuple(self._components_of(before, edit)), can_undo,
                self._cluster_link(undoes, "undone"), self._cluster_link(redoes, "redone"), checked,
                self.cluster_seq or 0)
        seq = await self.replicator.submit(proposal)
        done = (self._recent or {}).pop(seq, None)
        return done if done is not None else Committed(seq, ReconcileReport())

    def _cluster_link(self, seq: int | None, verb: str) -> int | None:
        """The cluster seq of local entry ``seq`` (an undo's or redo's target)."""
        if seq is None:
            return None
        entry = self.log.entry(seq)
        if entry.cluster is None:
            raise FlowyardError(f"{entry.description} was made before this node joined the cluster: it cannot be "
                                f"{verb} in the cluster")
        return entry.cluster

    # -- checking and applying committed entries -------------------------------------------

    def check_revisions(self, revisions: Mapping[str, int]) -> None:
        """Raise ``RevisionConflict`` (with the component as it is here) for any
        of ``revisions`` (``{id: revision}``) that is not this node's."""
        for ident, revision in revisions.items():
            now = self.revisions.get(ident)
            if now == revision:
                continue
            if now is None:
                raise RevisionConflict(f"component {ident!r} was removed meanwhile", {})
            raise RevisionConflict(f"component {ident!r} is at revision {now}, not {revision}: someone changed "
                                   "it meanwhile", self.component(self.kind_of(ident), ident))

    def check_entry(self, entry: Entry) -> Entry:
        """Phase 1 on this node: would ``entry`` apply to the flow held now? Its
        revisions re-checked (``RevisionConflict``), the edit validated
        (``EditRefused``; for an undo or redo, ``RevisionConflict``: what it takes
        back changed since) and planned on the engine (``ReconcileRefused``:
        connections still holding flowfiles here, ``FlowDefinitionError``: what
        the engine cannot build). Nothing changes. Returns ``entry`` with its
        inverse and history components made against this node's flow (the
        coordinator commits that form)."""
        from flowyard.runtime.engine import plan
        from flowyard.runtime.flow.edits import (
            Batch,
            apply,
            edit_from_dict,
            edit_to_dict,
            inverse,
            undoable,
            validate,
            without_run_states,
        )

        p = entry.proposal
        edit = edit_from_dict(p.edit)
        self.check_revisions(p.revisions)
        before = self.flow
        self._check_targets(p)
        try:
            validate(before, edit, self._edit_context())
        except EditRefused as exc:
            if p.undoes is None and p.redoes is None:
                raise
            raise RevisionConflict(f"{p.description} cannot be made: {exc.reason}", {}) from None
        plan(self.engine, apply(before, edit), drop=_dropped_connections(before, edit))
        can_undo = p.undoable and p.undoes is None and p.redoes is None and undoable(edit)
        if p.undoes is not None:
            back: Edit = inverse(before, edit)  # what redoes the undone entry
        elif can_undo:
            back = inverse(before, without_run_states(edit))
        else:
            back = Batch(())
        return Entry(entry.seq, dataclasses.replace(p, inverse=edit_to_dict(back), undoable=can_undo,
                                                    components=tuple(self._components_of(before, edit))))

    def _check_targets(self, p: Proposal) -> None:
        """An undo's target must be undoable and not undone here, a redo's undone
        (when this node's log holds them)."""
        if p.undoes is not None:
            local = self.log.seq_of_cluster(p.undoes)
            if local is not None and (not self.log.entry(local).undoable or self.log.is_undone(local)):
                raise RevisionConflict(f"{self.log.entry(local).description} is undone already", {})
        if p.redoes is not None:
            local = self.log.seq_of_cluster(p.redoes)
            if local is not None and not self.log.is_undone(local):
                raise RevisionConflict(f"{self.log.entry(local).description} is not undone", {})

    def _local_link(self, cluster: int | None, *, undo: bool) -> int | None:
        """The local entry an applied undo (redo) takes back, when this node's log
        holds it in the right state; else ``None`` (logged without the link: the
        bookkeeping of undo never keeps a node from applying an entry)."""
        if cluster is None:
            return None
        local = self.log.seq_of_cluster(cluster)
        if local is None:
            return None
        wanted = self.log.entry(local).undoable and not self.log.is_undone(local) if undo \
            else self.log.is_undone(local)
        return local if wanted else None

    @asynccontextmanager
    async def _applying(self) -> AsyncIterator[None]:
        if self._apply_lock is None:
            self._apply_lock = trio.Lock()
        async with self._apply_lock:
            yield

    async def apply_entry(self, entry: Entry) -> Committed:
        """Apply committed ``entry`` as ``_commit`` applies an edit (validate,
        apply, plan, log, save, reconcile, move revisions), its log entry
        numbered with the cluster seq (or the next local number when the log is
        further on) and marked with it. Raises ``FlowyardError`` for an entry at
        or before ``cluster_seq``, and whatever refuses it (``EditRefused``,
        ``ReconcileRefused``, ``FlowNotSavedError``...): nothing changed then,
        and the caller must not apply later entries (the node disconnects)."""
        from flowyard.runtime.flow.edits import edit_from_dict, validate

        async with self._applying():
            current = self.cluster_seq
            if current is not None and entry.seq <= current:
                raise FlowyardError(f"cluster edit {entry.seq} is applied here already (this node is at {current})")
            p = entry.proposal
            edit = edit_from_dict(p.edit)
            before = self.flow
            validate(before, edit, self._edit_context())
            done = await self._apply_edit(
                before, edit, user=p.user, description=p.description, components=list(p.components),
                back=p.inverse, can_undo=p.undoable, undoes=self._local_link(p.undoes, undo=True),
                redoes=self._local_link(p.redoes, undo=False), adding=len(p.components), cluster=entry.seq)
            self._cluster = (entry.seq,)
            recent = self._recent = self._recent or {}
            recent[entry.seq] = done
            while len(recent) > _RECENT:
                del recent[next(iter(recent))]
            return done

    # -- whole flows -------------------------------------------------------------------------

    def snapshot(self) -> tuple[int, dict[str, Any], dict[str, int]]:
        """``(cluster_seq or 0, the flow's JSON form with secrets in plain text,
        revisions)``: what the cluster's snapshot holds (sealed before it leaves
        the node)."""
        return self.cluster_seq or 0, flow_to_dict(self.flow), dict(self.revisions)

    async def take_flow(self, seq: int, flow_doc: Any, revisions: Mapping[str, int]) -> Committed:
        """Make the cluster's flow at ``seq`` this node's flow: the engine
        reconciled to it, logged as a system entry ("Took the cluster's flow",
        cluster seq ``seq``), saved, revisions replaced by ``revisions``.
        Raises ``ReconcileRefused`` naming the connections holding flowfiles the
        cluster's flow does not have, ``FlowDefinitionError`` for a flow this
        node cannot read or build, ``FlowNotSavedError``: nothing changed then."""
        from flowyard.runtime.engine import plan, reconcile
        from flowyard.runtime.flow.edits import Batch, edit_to_dict

        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise FlowyardError(f"a cluster seq is a whole number >= 0, not {seq!r}")
        new = flow_from_dict(flow_doc, source="the cluster's flow")
        revs = {str(k): int(v) for k, v in dict(revisions).items()}
        async with self._applying():
            p = plan(self.engine, new)
            empty = edit_to_dict(Batch(()))
            number = seq if seq > self.log.last_seq else None
            entry = await self._off_loop(lambda: self.log.append(
                user=SYSTEM_USER, description=TOOK_FLOW, components=(), edit=empty, inverse=empty, undoable=False,
                seq=number, cluster=seq), len(revs))
            object.__setattr__(new, "edit_seq", entry.seq)  # bookkeeping; ``new`` is ours alone
            try:
                await self._write(flow_to_dict(new), len(revs))
            except BaseException:
                self.log.discard(entry.seq)
                raise
            with trio.CancelScope(shield=True):
                report = await reconcile(self.engine, p)
                self.flow = new
                self.revisions = revs
                self._cluster = (seq,)
            return Committed(entry.seq, report)
