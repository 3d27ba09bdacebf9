"""Run state: per component, per selection, per group; controller service state.

A change of run state is an edit (``SetRunState`` / ``SetServiceState``):
saved, logged (not undoable) and reconciled like any other. ``RUN_ONCE`` is an
engine action, not an edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowyard.runtime.flow import GroupDef
from flowyard.runtime.flow.edits import EditRefused, FlowIndex
from flowyard.runtime.sdk._errors import FlowyardError
from flowyard.runtime.service._base import FlowNotSavedError
from flowyard.runtime.service._edits import EditsMixin
from flowyard.runtime.service._lookup import RUN_STATES, _label, _node_ids, serialized

if TYPE_CHECKING:
    from flowyard.runtime.flow.edits import Edit

__all__ = ["RunStateMixin"]


class RunStateMixin(EditsMixin):
    """Start, stop, enable, disable, run once; enable and disable services."""

    def _planned_state(self, component_id: str, state: str) -> str | None:
        """The scheduled state a processor or port will have once ``state`` is
        applied (None: it stays as it is). Raises ``FlowyardError`` for a state that
        cannot be applied (unknown, the component is disabled, or — to start it —
        invalid or still stopping, or the engine could not build it)."""
        node = self.engine.nodes.get(component_id)
        if node is None:
            raise FlowyardError(f"{component_id!r} is not in the running flow: its bulletins say why")
        if state not in RUN_STATES:
            raise FlowyardError(f"unknown run state {state!r}: expected one of {', '.join(RUN_STATES)}")
        if state in ("RUNNING", "STOPPED", "RUN_ONCE") and node.state == "DISABLED":
            raise FlowyardError(f"{node.name} is disabled: enable it first")
        if state == "RUNNING" and not node.running:
            if not node.stopped.is_set():
                raise FlowyardError(f"{node.name} is still stopping; start it again once it has stopped")
            if not node.is_valid:
                raise FlowyardError(f"{node.name} is invalid: " + "; ".join(map(str, node.validation)))
        if state == "ENABLED":
            return "STOPPED" if node.state == "DISABLED" else None
        return None if state == "RUN_ONCE" else state

    def _scheduled(self, component_id: str) -> str:
        found = FlowIndex.of(self.flow).find(component_id)
        if found is None:
            raise FlowyardError(f"no component has id {component_id!r}")
        return str(found[2].scheduled_state)

    @serialized
    async def set_run_state(self, component_id: str, state: str, *, user: str | None = None) -> dict[str, Any]:
        """Run state of one component: a processor or port (RUNNING, STOPPED,
        DISABLED, ENABLED, RUN_ONCE), a controller service (ENABLED, DISABLED) or a
        process group (everything in it). Saved in the flow file before it is
        applied (``FlowNotSavedError``: nothing changed). Returns
        ``{"changed": [ids], "failed": {id: reason}}``; for a single processor or
        port a failure raises ``FlowyardError`` instead."""
        return await self.set_run_states([component_id], state, single=True, user=user)

    @serialized
    async def set_service_state(self, service_id: str, state: str, *, stop_referencing: bool = False,
                                user: str | None = None) -> None:
        """Enable or disable a controller service (disabling stops the processors using
        it first when ``stop_referencing``). Raises ``FlowyardError`` when it cannot
        be enabled (it stays DISABLED then)."""
        self._find("controller-service", service_id)
        if state not in ("ENABLED", "DISABLED"):
            raise FlowyardError(f"a controller service is ENABLED or DISABLED, not {state!r}")
        failed = await self._apply_states({}, {service_id: state}, stop_referencing=stop_referencing, user=user)
        if service_id in failed:
            raise FlowyardError(failed[service_id])

    def _group_plan(self, group: GroupDef, state: str) -> list[str]:
        """The processors and ports of ``group`` (and below) that ``state`` changes."""
        if state not in ("RUNNING", "STOPPED", "DISABLED", "ENABLED"):
            raise FlowyardError(f"a process group can be RUNNING, STOPPED, ENABLED or DISABLED, not {state!r}")
        ids = []
        for g in group.walk():
            for cid in _node_ids(g, funnels=False):
                node = self.engine.nodes.get(cid)
                if node is None:
                    ids.append(cid)  # ``_planned_state`` says why it cannot change
                    continue
                if state == "RUNNING" and (node.running or node.state == "DISABLED"):
                    continue
                if state == "STOPPED" and (node.state == "DISABLED" or (
                        not node.running and node.definition.scheduled_state == "STOPPED")):
                    continue  # a processor waiting to become valid is stopped too, so it stays stopped
                if state == "ENABLED" and node.state != "DISABLED":
                    continue
                if state == "DISABLED" and node.state == "DISABLED":
                    continue
                ids.append(cid)
        return ids

    @serialized
    async def set_run_states(self, component_ids: Any, state: str, *, single: bool = False,
                             user: str | None = None) -> dict[str, Any]:
        """Run state of a selection: each component as ``set_run_state`` would, the
        failures reported per id instead of stopping at the first. The new
        scheduled states are one edit: saved once, before any is applied."""
        if not isinstance(component_ids, list) or not all(isinstance(i, str) for i in component_ids):
            raise FlowyardError("ids: expected a list of component ids")
        result: dict[str, Any] = {"changed": [], "failed": {}}
        planned: dict[str, str | None] = {}
        services: dict[str, str] = {}
        for ident in component_ids:
            try:
                kind = self.kind_of(ident)
                if kind == "process-group":
                    for cid in self._group_plan(self._group(ident), state):
                        try:
                            planned[cid] = self._planned_state(cid, state)
                        except FlowyardError as exc:
                            result["failed"][cid] = str(exc)
                elif kind == "controller-service":
                    if state not in ("ENABLED", "DISABLED"):
                        raise FlowyardError(f"a controller service is ENABLED or DISABLED, not {state!r}")
                    services[ident] = state
                elif kind == "processor" or kind in ("input-port", "output-port"):
                    planned[ident] = self._planned_state(ident, state)
                else:
                    raise FlowyardError(f"a {_label(kind)} has no run state")
            except FlowyardError as exc:  # UnknownComponentError included
                if single:
                    raise
                result["failed"][ident] = str(exc)
        if state == "RUN_ONCE":
            for cid in planned:
                try:
                    await self.engine.run_once(cid)
                except FlowyardError as exc:
                    if single:
                        raise
                    result["failed"][cid] = str(exc)
                else:
                    result["changed"].append(cid)
            return result
        states = {cid: s for cid, s in planned.items() if s is not None}
        failed = await self._apply_states(states, services, user=user)
        if single and failed:
            raise FlowyardError(next(iter(failed.values())))
        result["failed"].update(failed)
        result["changed"] += [i for i in (*planned, *services) if i not in failed]
        return result

    async def _apply_states(self, states: dict[str, str], services: dict[str, str], *,
                            stop_referencing: bool = False, user: str | None = None) -> dict[str, str]:
        """Make ``states`` (processors and ports) and ``services`` the scheduled
        states: one edit of those that differ from the flow's, and a start of the
        processors scheduled RUNNING that are not running. A refused edit of
        several components is applied one by one, so that each refusal names its
        component. Returns what failed, by id."""
        from flowyard.runtime.flow.edits import Batch, SetRunState, SetServiceState

        runs = {cid: s for cid, s in states.items() if self._scheduled(cid) != s}
        enables = {sid: s for sid, s in services.items() if self._scheduled(sid) != s}
        edits: list[Edit] = []
        if runs:
            edits.append(SetRunState(runs))
        if enables or (stop_referencing and services):
            edits.append(SetServiceState(enables, stop_referencing=stop_referencing))
        failed: dict[str, str] = {}
        if edits:
            try:
                done = await self._commit(edits[0] if len(edits) == 1 else Batch(tuple(edits)), user=user)
                failed.update(done.report.failed)
            except FlowNotSavedError:
                raise
            except (EditRefused, FlowyardError) as exc:
                ids = [*runs, *enables]
                if len(ids) == 1:
                    failed[ids[0]] = str(exc)
                else:
                    for one in ids:
                        part = await self._apply_states({one: runs[one]} if one in runs else {},
                                                        {one: enables[one]} if one in enables else {},
                                                        stop_referencing=stop_referencing, user=user)
                        failed.update(part)
                    return failed
        for cid, s in states.items():  # scheduled RUNNING already, yet not running (it was invalid): start
            node = self.engine.nodes.get(cid)
            if s == "RUNNING" and cid not in runs and cid not in failed and node is not None and not node.running:
                try:
                    self.engine.start_processor(cid)
                except FlowyardError as exc:
                    failed[cid] = str(exc)
        for sid, s in services.items():
            if s == "ENABLED" and sid not in failed and not self.engine.controller_services.registry.is_enabled(sid):
                failed[sid] = f"controller service {sid!r} could not be enabled"
        return failed
