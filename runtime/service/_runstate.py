"""Run state: per component, per selection, per group; controller service state."""

from __future__ import annotations

from typing import Any

from flowyard.runtime.flow import COMPONENT_KINDS, GroupDef, doc_components
from flowyard.runtime.sdk._errors import FlowyardError
from flowyard.runtime.service._lookup import RUN_STATES, LookupMixin, _label, _node_ids, serialized

__all__ = ["RunStateMixin"]


class RunStateMixin(LookupMixin):
    """Start, stop, enable, disable, run once; enable and disable services."""

    def _planned_state(self, component_id: str, state: str) -> str | None:
        """The scheduled state a processor or port will have once ``state`` is
        applied (None: it stays as it is). Raises ``FlowyardError`` for a state that
        cannot be applied (unknown, or the component is disabled)."""
        node = self.engine.nodes[component_id]
        if state not in RUN_STATES:
            raise FlowyardError(f"unknown run state {state!r}: expected one of {', '.join(RUN_STATES)}")
        if state in ("RUNNING", "STOPPED", "RUN_ONCE") and node.state == "DISABLED":
            raise FlowyardError(f"{node.name} is disabled: enable it first")
        if state == "ENABLED":
            return "STOPPED" if node.state == "DISABLED" else None
        return None if state == "RUN_ONCE" else state

    async def _set_node_state(self, component_id: str, state: str) -> None:
        """Run state of a processor or port, live (saved by the caller, before: ``_stage_states``)."""
        engine = self.engine
        node = engine.nodes[component_id]
        self._planned_state(component_id, state)
        if state == "RUNNING":
            engine.start_processor(component_id)
            node.definition.scheduled_state = "RUNNING"
        elif state == "STOPPED":
            await engine.stop_processor(component_id)
            node.definition.scheduled_state = "STOPPED"
        elif state == "ENABLED" and node.state != "DISABLED":
            return  # enabling what is not disabled changes nothing
        elif state in ("DISABLED", "ENABLED"):
            await engine.stop_processor(component_id)
            node.definition.scheduled_state = "DISABLED" if state == "DISABLED" else "STOPPED"
            if node.type_name in ("InputPort", "OutputPort"):
                node.state = "DISABLED" if state == "DISABLED" else "STOPPED"
            else:
                await engine.reconfigure_processor(node.definition)
        elif state == "RUN_ONCE":
            await engine.run_once(component_id)
        self._sync_port_state(component_id)

    async def _stage_states(self, planned: dict[str, str | None]) -> None:
        """Save the flow with the scheduled states of ``planned`` (id -> state) before they are applied."""
        changes = {cid: st for cid, st in planned.items() if st is not None
                   and self.engine.nodes[cid].definition.scheduled_state != st}
        if not changes:
            return

        def change(doc: dict[str, Any]) -> None:
            components = doc_components(doc)
            for cid, state in changes.items():
                items, index = components[cid]
                items[index]["scheduledState"] = state
        await self._stage(change)

    def _sync_port_state(self, component_id: str) -> None:
        owner = self.flow.owner(component_id)
        if owner is not None and owner[1] in ("input-port", "output-port"):
            port = next(p for p in getattr(owner[0], COMPONENT_KINDS[owner[1]][0])
                        if p.identifier == component_id)
            port.scheduled_state = self.engine.nodes[component_id].definition.scheduled_state

    @serialized
    async def set_run_state(self, component_id: str, state: str) -> dict[str, Any]:
        """Run state of one component: a processor or port (RUNNING, STOPPED,
        DISABLED, ENABLED, RUN_ONCE), a controller service (ENABLED, DISABLED) or a
        process group (everything in it). Saved in the flow file before it is
        applied (``FlowNotSavedError``: nothing changed). Returns
        ``{"changed": [ids], "failed": {id: reason}}``; for a single processor or
        port a failure raises ``FlowyardError`` instead."""
        return await self.set_run_states([component_id], state, single=True)

    async def _service_state(self, service_id: str, state: str, *, stop_referencing: bool = False) -> None:
        sdef, _ = self._find("controller-service", service_id)
        if state not in ("ENABLED", "DISABLED"):
            raise FlowyardError(f"a controller service is ENABLED or DISABLED, not {state!r}")
        if sdef.scheduled_state != state:
            await self._stage(lambda d: _set_state(d, service_id, state))
        services = self.engine.controller_services
        if state == "ENABLED":
            services.enable(service_id)
        else:
            for pid in await services.disable(service_id, stop_referencing=stop_referencing):
                self.engine.nodes[pid].definition.scheduled_state = "STOPPED"  # they stay stopped
        sdef.scheduled_state = state

    @serialized
    async def set_service_state(self, service_id: str, state: str, *, stop_referencing: bool = False) -> None:
        """Enable or disable a controller service (disabling stops the processors using
        it first when ``stop_referencing``)."""
        await self._service_state(service_id, state, stop_referencing=stop_referencing)

    def _group_plan(self, group: GroupDef, state: str) -> list[str]:
        """The processors and ports of ``group`` (and below) that ``state`` changes."""
        if state not in ("RUNNING", "STOPPED", "DISABLED", "ENABLED"):
            raise FlowyardError(f"a process group can be RUNNING, STOPPED, ENABLED or DISABLED, not {state!r}")
        ids = []
        for g in group.walk():
            for cid in _node_ids(g, funnels=False):
                node = self.engine.nodes[cid]
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
    async def set_run_states(self, component_ids: Any, state: str, *, single: bool = False) -> dict[str, Any]:
        """Run state of a selection: each component as ``set_run_state`` would, the
        failures reported per id instead of stopping at the first. The new
        scheduled states are saved once, before any is applied."""
        if not isinstance(component_ids, list) or not all(isinstance(i, str) for i in component_ids):
            raise FlowyardError("ids: expected a list of component ids")
        result: dict[str, Any] = {"changed": [], "failed": {}}
        planned: dict[str, str | None] = {}
        services: list[str] = []
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
                    services.append(ident)
                elif kind == "processor" or kind in ("input-port", "output-port"):
                    planned[ident] = self._planned_state(ident, state)
                else:
                    raise FlowyardError(f"a {_label(kind)} has no run state")
            except FlowyardError as exc:  # UnknownComponentError included
                if single:
                    raise
                result["failed"][ident] = str(exc)
        await self._stage_states(planned)
        for cid in planned:
            try:
                await self._set_node_state(cid, state)
            except FlowyardError as exc:
                if single and cid in component_ids:
                    raise
                result["failed"][cid] = str(exc)
            else:
                result["changed"].append(cid)
        for sid in services:
            try:
                await self._service_state(sid, state)
            except FlowyardError as exc:
                if single:
                    raise
                result["failed"][sid] = str(exc)
            else:
                result["changed"].append(sid)
        return result

    # -- export / import ----------------------------------------------------------------


def _set_state(doc: dict[str, Any], ident: str, state: str) -> None:
    """In a flow's JSON form, set component ``ident``'s ``scheduledState``."""
    items, index = doc_components(doc)[ident]
    items[index]["scheduledState"] = state
