"""The one way the flow changes: an edit (``flow.edits``) validated, applied to a
new flow, logged, saved, and the engine reconciled to it; undo and redo as
inverse edits from the edit log.

::

    request -> edit (property keys, masked values left out)
            -> validate(flow, edit)                      EditRefused: 400, nothing changed
            -> new = apply(flow, edit)                   the old flow is left as it is
            -> plan = engine plan(new, drop=...)         ReconcileRefused: nothing changed
            -> log.append(edit, inverse)                 flow-edits.jsonl, fsync
            -> save new (editSeq = the entry)            FlowNotSavedError: entry discarded
            -> reconcile(engine, plan)                   per-component failures reported
            -> flow = new; revisions of touched move

The flow file is the commit point: an entry past its ``editSeq`` was never
applied and is cut off when the log is opened. Run-state changes are logged but
not undone (an undo leaves run states as they are, like before); ``RUN_ONCE`` is
an engine action, not an edit. An edit made without a user (the service called
directly) is logged as ``system`` and nobody's to undo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from flowyard.runtime.flow import (
    FlowDef,
    component_to_dict,
    flow_to_dict,
)
from flowyard.runtime.flow.edits import EditContext, EditRefused, FlowIndex, TypeCatalog
from flowyard.runtime.sdk._errors import FlowyardError
from flowyard.runtime.service._base import RevisionConflict
from flowyard.runtime.service._log import EditLog
from flowyard.runtime.service._lookup import LookupMixin, serialized

if TYPE_CHECKING:
    from flowyard.runtime.engine import ReconcileReport
    from flowyard.runtime.flow.edits import Edit

__all__ = ["SYSTEM_USER", "Committed", "EditsMixin"]

#: Who an edit made without a user (the service called directly) is logged as.
SYSTEM_USER = "system"


@dataclass(frozen=True, slots=True)
class Committed:
    """What an applied edit did: its log entry and what the engine reported."""

    seq: int
    report: ReconcileReport


class EditsMixin(LookupMixin):
    """Applying edits, the edit log, undo and redo."""

    log: EditLog
    _unsaved: bool
    _edit_ctx: EditContext | None = None

    def _edit_context(self) -> EditContext:
        if self._edit_ctx is None:
            self._edit_ctx = EditContext(specs=TypeCatalog(self.registry, self.service_types))
        return self._edit_ctx

    async def _commit(self, edit: Edit, *, user: str | None, adding: int = 0,
                      undoes: int | None = None, redoes: int | None = None,
                      redo_edit: Edit | None = None, description: str | None = None) -> Committed:
        """Apply ``edit`` (see the module docstring). Flowfiles queued in the
        connections a delete with ``drop_queued`` removes are dropped; any other
        removal of queued flowfiles is refused (``ReconcileRefused``).
        ``adding``: components the edit brings in (large edits save off the loop).
        ``undoes``/``redoes``: the log entry this undoes/redoes;
        ``redo_edit``: what redoes this undo (logged as its inverse);
        ``description``: for the history (default: ``describe``).
        In a cluster ``ReplicaMixin._commit`` proposes the edit instead."""
        from flowyard.runtime.flow.edits import describe, edit_to_dict, validate

        before = self.flow
        validate(before, edit, self._edit_context())
        can_undo, back = _logged_inverse(before, edit, user, undoes, redoes, redo_edit)
        return await self._apply_edit(
            before, edit, user=user if user is not None else SYSTEM_USER,
            description=description or describe(before, edit), components=self._components_of(before, edit),
            back=edit_to_dict(back), can_undo=can_undo, undoes=undoes, redoes=redoes, adding=adding)

    async def _apply_edit(self, before: FlowDef, edit: Edit, *, user: str, description: str,
                          components: list[str], back: dict[str, Any], can_undo: bool, undoes: int | None,
                          redoes: int | None, adding: int = 0, cluster: int | None = None) -> Committed:
        """Apply ``edit`` (validated against ``before``, the live flow): plan, log
        (``cluster``: the cluster seq, which also numbers the entry when it is past
        the log's last), save, reconcile, move revisions."""
        from flowyard.runtime.engine import plan, reconcile
        from flowyard.runtime.flow.edits import apply, edit_to_dict

        new = apply(before, edit)
        drops = _dropped_connections(before, edit)
        p = plan(self.engine, new, drop=drops)
        number = cluster if cluster is not None and cluster > self.log.last_seq else None
        entry = await self._off_loop(lambda: self.log.append(
            user=user, description=description, components=components, edit=edit_to_dict(edit), inverse=back,
            undoable=can_undo, undoes=undoes, redoes=redoes, seq=number, cluster=cluster), adding)
        object.__setattr__(new, "edit_seq", entry.seq)  # the file's bookkeeping (not compared); ``new`` is ours alone
        try:
            await self._write(flow_to_dict(new), adding)
        except BaseException:
            self.log.discard(entry.seq)
            raise
        with trio.CancelScope(shield=True):  # saved: the engine must follow, whatever happens to the request
            report = await reconcile(self.engine, p)
            self.flow = new
            self._moved_revisions(before, new, edit)
            if cluster is None:  # in a cluster every node must hold the same flow: see ``apply_entry``
                await self._not_enabled(report)
        return Committed(entry.seq, report)

    def _components_of(self, before: FlowDef, edit: Edit) -> list[str]:
        """What the history lists ``edit`` under."""
        from flowyard.runtime.flow.edits import touched

        return sorted(touched(edit, before) | self._removed_inside(before, edit))

    def _removed_inside(self, before: FlowDef, edit: Edit) -> frozenset[str]:
        """What a delete of a process group removes with it (the history lists
        the entry under each of those components too)."""
        from flowyard.runtime.flow.edits import Batch, DeleteComponent

        if isinstance(edit, Batch):
            return frozenset().union(*(self._removed_inside(before, e) for e in edit.edits))
        if isinstance(edit, DeleteComponent) and edit.kind == "process-group":
            group = FlowIndex.of(before).groups.get(edit.component_id)
            if group is not None:
                return frozenset(self._ids_of("process-group", group))
        return frozenset()

    async def _not_enabled(self, report: ReconcileReport) -> None:
        """Services the engine could not enable stay DISABLED in the flow too (as
        NiFi shows them; their validation errors and a bulletin say why): a
        system edit, logged, not undoable."""
        from flowyard.runtime.flow.edits import SetServiceState

        registry = self.engine.controller_services.registry
        index = FlowIndex.of(self.flow)
        failed = {}
        for ident in report.failed:
            found = index.find(ident)
            if found is not None and found[1] == "controller-service" and found[2].scheduled_state == "ENABLED" \
                    and not registry.is_enabled(ident):
                failed[ident] = "DISABLED"
        if failed:
            try:
                await self._commit(SetServiceState(failed), user=None)
            except FlowyardError as exc:  # the next edit or the shutdown saves the flow as it runs
                self._unsaved = True
                self.engine.controller_services.bulletin(self.flow.identifier, "flow", "ERROR",
                                                         f"the running flow could not be saved: {exc}")

    def _moved_revisions(self, before: FlowDef, after: FlowDef, edit: Edit) -> None:
        """Revision 0 for what ``edit`` created, +1 for what it changed, none for
        what it removed (a group with everything in it). A change of run state
        moves no revision (as before edits were data: the canvas keeps editing
        a component it has just started)."""
        from flowyard.runtime.flow.edits import Batch, SetRunState, SetServiceState, touched

        if isinstance(edit, SetRunState | SetServiceState):
            return
        if isinstance(edit, Batch):
            for part in edit.edits:
                self._moved_revisions(before, after, part)
            return
        now = FlowIndex.of(after)
        then = FlowIndex.of(before)
        contexts = {c.identifier for c in after.parameter_contexts}
        for ident in touched(edit, before):
            if ident in now.location or ident in now.groups or ident in contexts:
                self.revisions[ident] = self.revisions.get(ident, -1) + 1
                continue
            self.revisions.pop(ident, None)
            group = then.groups.get(ident)
            if group is not None:
                for inner in self._ids_of("process-group", group):
                    self.revisions.pop(inner, None)

    # -- undo / redo --------------------------------------------------------------------

    @serialized
    async def undo(self, user: str) -> str:
        """Undo ``user``'s newest edit not undone yet (an inverse edit, logged as
        such). Raises ``RevisionConflict`` when what the edit changed has been
        changed since (nothing is undone then), ``FlowyardError`` when there is
        nothing to undo."""
        from flowyard.runtime.flow.edits import edit_from_dict, inverse

        entry = self.log.next_undo(user)
        if entry is None:
            raise FlowyardError("there is nothing to undo")
        payload = self.log.payload(entry.seq)
        back = edit_from_dict(payload.inverse)
        self._still_as_left(entry.description, edit_from_dict(payload.edit), back, "undone")
        redo = inverse(self.flow, back)
        await self._commit(back, user=user, undoes=entry.seq, redo_edit=redo, description=f"Undo {entry.description}")
        return entry.description

    @serialized
    async def redo(self, user: str) -> str:
        """Redo the edit ``user`` undid last (same rules as ``undo``)."""
        from flowyard.runtime.flow.edits import edit_from_dict

        target = self.log.next_redo(user)
        if target is None:
            raise FlowyardError("there is nothing to redo")
        undo_seq = self.log.undo_entry_of(target.seq)
        again = edit_from_dict(self.log.payload(undo_seq).inverse)
        self._still_as_left(target.description, edit_from_dict(self.log.payload(undo_seq).edit), again, "redone")
        await self._commit(again, user=user, redoes=target.seq, description=f"Redo {target.description}")
        return target.description

    def _still_as_left(self, description: str, done: Edit, back: Edit, verb: str) -> None:
        """Refuse (``RevisionConflict``) to take back ``done`` with ``back`` when
        the flow is no longer as ``done`` left it: ``back`` refused (its expected
        values differ), a component ``done`` created (and ``back`` deletes)
        changed since, run state aside, or a parameter or a group's binding that
        ``done`` set holds another value now. The message names the field as the
        API does, never a value (it may be a secret)."""
        from flowyard.runtime.flow.edits import validate

        try:
            validate(self.flow, back, self._edit_context())
        except EditRefused as exc:
            raise RevisionConflict(f"{description} cannot be {verb}: {_api_field(exc.where) or 'it'} changed since",
                                   {}) from None
        changed = _changed_since(self.flow, done)
        if changed:
            raise RevisionConflict(f"{description} cannot be {verb}: {changed} changed since", {})

    def history(self, user: str, *, limit: int = 50, before: int | None = None, component: str | None = None,
                of_user: str | None = None) -> dict[str, Any]:
        """The flow's configuration history (newest first; see ``EditLog.history``)
        and what ``user`` can undo and redo now."""
        return {"entries": self.log.history(limit, before, component, of_user),
                "undo": self.log.undo_descriptions(user), "redo": self.log.redo_descriptions(user)}


def _logged_inverse(before: FlowDef, edit: Edit, user: str | None, undoes: int | None, redoes: int | None,
                    redo_edit: Edit | None) -> tuple[bool, Edit]:
    """Whether ``edit`` (made on ``before``) can be undone by ``user``, and the
    inverse its log entry keeps: what redoes it for an undo, the inverse for an
    undoable edit, nothing (an empty batch) otherwise."""
    from flowyard.runtime.flow.edits import Batch, inverse, undoable, without_run_states

    can_undo = user is not None and undoes is None and redoes is None and undoable(edit)
    if redo_edit is not None:
        return can_undo, redo_edit
    if can_undo:
        return can_undo, inverse(before, without_run_states(edit))
    return can_undo, Batch(())


def _api_field(where: str) -> str:
    """An edit's place (``expect.scheduling_period``) as the API names it (``schedulingPeriod``)."""
    from flowyard.runtime.flow.edits import FIELD_KEYS

    place = where.removeprefix("expect.").removeprefix("changes.")
    if place.startswith("properties."):
        return f"property {place[len('properties.'):]!r}"
    return FIELD_KEYS.get(place, place)


def _changed_since(flow: FlowDef, done: Edit) -> str | None:
    """What of the flow ``done`` left that is no longer so (None: all of it is):
    a component it created (run state aside), a parameter it set or removed, a
    context's name or description, a group's binding."""
    from flowyard.runtime.flow.edits import Batch, BindParameterContext, UpdateParameterContext

    if isinstance(done, Batch):
        return next((c for c in (_changed_since(flow, e) for e in done.edits) if c), None)
    index = FlowIndex.of(flow)
    if isinstance(done, BindParameterContext):
        group = index.groups.get(done.group_id)
        if group is not None and group.parameter_context != done.context_id:
            return f"the parameter context of process group {group.name or group.identifier!r}"
        return None
    if isinstance(done, UpdateParameterContext):
        ctx = next((c for c in flow.parameter_contexts if c.identifier == done.context_id), None)
        if ctx is None:
            return None  # gone: ``validate`` refuses the edit
        params = {p.name: p for p in ctx.parameters}
        for p in done.set:
            if params.get(p.name) != p:
                return f"parameter {p.name!r} of {ctx.name!r}"
        for name in done.remove:
            if name in params:
                return f"parameter {name!r} of {ctx.name!r}"
        if done.name is not None and ctx.name != done.name:
            return f"the name of parameter context {ctx.name!r}"
        if done.description is not None and ctx.description != done.description:
            return f"the description of parameter context {ctx.name!r}"
        return None
    for created in _created(done):
        found = index.find(created.identifier)
        if found is None:
            continue  # gone: ``validate`` refuses the delete
        _, kind, now = found
        if _runless(component_to_dict(kind, now)) != _runless(component_to_dict(kind, created)):
            return f"the {kind.replace('-', ' ')} {getattr(now, 'name', '') or created.identifier!r}"
    return None


def _created(edit: Edit) -> list[Any]:
    """The components ``edit`` creates (what an undo deletes)."""
    from flowyard.runtime.flow.edits import Batch, CreateComponent, ImportGroup

    if isinstance(edit, CreateComponent):
        return [edit.component]
    if isinstance(edit, ImportGroup):
        return [edit.group]
    if isinstance(edit, Batch):
        return [c for e in edit.edits for c in _created(e)]
    return []


def _dropped_connections(flow: FlowDef, edit: Edit) -> frozenset[str]:
    """The connections whose queued flowfiles ``edit`` may drop: those removed
    by its deletes that say ``drop_queued`` (a group: all of its connections)."""
    from flowyard.runtime.flow.edits import Batch, DeleteComponent

    if isinstance(edit, Batch):
        return frozenset().union(*(_dropped_connections(flow, e) for e in edit.edits))
    if not isinstance(edit, DeleteComponent) or not edit.drop_queued:
        return frozenset()
    if edit.kind == "connection":
        return frozenset({edit.component_id})
    group = FlowIndex.of(flow).groups.get(edit.component_id) if edit.kind == "process-group" else None
    if group is None:
        return frozenset()
    return frozenset(c.identifier for g in group.walk() for c in g.connections)


def _runless(doc: Any) -> Any:
    """``doc`` without run states (they change without being edits)."""
    if isinstance(doc, dict):
        return {k: _runless(v) for k, v in doc.items() if k != "scheduledState"}
    if isinstance(doc, list):
        return [_runless(v) for v in doc]
    return doc

