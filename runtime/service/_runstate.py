"""Run state: per component, per selection, per group; controller service state."""

from __future__ import annotations

from typing import Any

from flowyard.runtime.flow import (
    COMPONENT_KINDS,
    GroupDef,
)
from flowyard.runtime.sdk._errors import FlowyardError
from flowyard.runtime.service._lookup import RUN_STATES, LookupMixin, _label, _node_ids, serialized

__all__ = ["RunStateMixin"]


class RunStateMixin(LookupMixin):
    """Start, stop, enable, disable, run once; enable and disable services."""

    async def _set_node_state(self, component_id: str, state: str) -> None:
        """Run state of a processor or port (its scheduled state is saved by the caller)."""
        engine = self.engine
        node = engine.nodes[component_id]
        if state in ("RUNNING", "STOPPED", "RUN_ONCE") and node.state == "DISABLED":
            raise FlowyardError(f"{node.name} is disabled: enable it first")
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
        else:
            raise FlowyardError(f"unknown run state {state!r}: expected one of {', '.join(RUN_STATES)}")

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
        process group (everything in it). Saved in the flow file. Returns
        ``{"changed": [ids], "failed": {id: reason}}``; for a single processor or
        port a failure raises ``FlowyardError`` instead."""
        kind = self.kind_of(component_id)
        result: dict[str, Any] = {"changed": [], "failed": {}}
        if kind == "process-group":
            group = self._group(component_id)
            await self._group_state(group, state, result)
        elif kind == "controller-service":
            await self._service_state(component_id, state)
            result["changed"].append(component_id)
        elif kind == "processor" or kind in ("input-port", "output-port"):
            await self._set_node_state(component_id, state)
            self._sync_port_state(component_id)
            result["changed"].append(component_id)
        else:
            raise FlowyardError(f"a {_label(kind)} has no run state")
        self._save()
        return result

    async def _service_state(self, service_id: str, state: str, *, stop_referencing: bool = False) -> None:
        sdef, _ = self._find("controller-service", service_id)
        services = self.engine.controller_services
        if state == "ENABLED":
            services.enable(service_id)
        elif state == "DISABLED":
            for pid in await services.disable(service_id, stop_referencing=stop_referencing):
                self.engine.nodes[pid].definition.scheduled_state = "STOPPED"  # they stay stopped
        else:
            raise FlowyardError(f"a controller service is ENABLED or DISABLED, not {state!r}")
        sdef.scheduled_state = state

    @serialized
    async def set_service_state(self, service_id: str, state: str, *, stop_referencing: bool = False) -> None:
        """Enable or disable a controller service (disabling stops the processors using
        it first when ``stop_referencing``)."""
        await self._service_state(service_id, state, stop_referencing=stop_referencing)
        self._save()

    async def _group_state(self, group: GroupDef, state: str, result: dict[str, Any]) -> None:
        if state not in ("RUNNING", "STOPPED", "DISABLED", "ENABLED"):
            raise FlowyardError(f"a process group can be RUNNING, STOPPED, ENABLED or DISABLED, not {state!r}")
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
                try:
                    await self._set_node_state(cid, state)
                except FlowyardError as exc:
                    result["failed"][cid] = str(exc)
                else:
                    result["changed"].append(cid)
                    self._sync_port_state(cid)

    @serialized
    async def set_run_states(self, component_ids: Any, state: str) -> dict[str, Any]:
        """Run state of a selection: each component as ``set_run_state`` would, the
        failures reported per id instead of stopping at the first."""
        if not isinstance(component_ids, list) or not all(isinstance(i, str) for i in component_ids):
            raise FlowyardError("ids: expected a list of component ids")
        result: dict[str, Any] = {"changed": [], "failed": {}}
        for ident in component_ids:
            try:
                one = await self.set_run_state(ident, state)
            except FlowyardError as exc:  # UnknownComponentError included
                result["failed"][ident] = str(exc)
            else:
                result["changed"] += one["changed"]
                result["failed"].update(one["failed"])
        return result

    # -- export / import ----------------------------------------------------------------
