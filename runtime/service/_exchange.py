"""Export and import of process groups as flowyard flow files."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from flowyard.runtime.flow import (
    FORMAT_VERSION,
    FlowDef,
    GroupDef,
    ParameterContextDef,
    flow_from_dict,
    group_to_dict,
    map_group,
    parameter_context_to_dict,
    position_from_dict,
)
from flowyard.runtime.service._components import ComponentsMixin
from flowyard.runtime.service._lookup import serialized

if TYPE_CHECKING:
    pass

__all__ = ["ExchangeMixin"]


class ExchangeMixin(ComponentsMixin):
    """A group as a flow file, and a flow file as a new group."""

    def export_group(self, group_id: str) -> dict[str, Any]:
        """A process group and everything in it as a flowyard flow file (the group
        as its ``rootGroup``, with the parameter contexts it uses). Sensitive
        property and parameter values are left out."""
        def without_secrets(kind: str, c: Any) -> Any:
            if kind not in ("processor", "controller-service"):
                return c
            names = self._sensitive_names(c.type, c.properties, kind)
            return dataclasses.replace(c, properties={**c.properties, **dict.fromkeys(names)}) if names else c

        group = map_group(self._group(group_id), without_secrets)
        used = {g.parameter_context for g in group.walk() if g.parameter_context is not None}
        contexts = [parameter_context_to_dict(dataclasses.replace(ctx, parameters=tuple(
                        dataclasses.replace(p, value=None) if p.sensitive else p for p in ctx.parameters)))
                    for ctx in self.flow.parameter_contexts if ctx.identifier in used]
        return {"flowyardFlowVersion": FORMAT_VERSION, "parameterContexts": contexts,
                "rootGroup": group_to_dict(group)}

    @serialized
    async def import_group(self, parent_group_id: str, data: Any, *, position: Any = None,
                           user: str | None = None) -> dict[str, Any]:
        """Add a flowyard flow file (an export, or a whole flow) as a new process group
        in ``parent_group_id``, with fresh identifiers. Its parameter contexts are
        matched by name to existing ones, or created. One undoable edit. A large
        file is read in a worker thread, and the group built in steps, so that
        neither holds up the engine or the API."""
        from flowyard.runtime.flow.edits import ImportGroup

        imported = await self._off_loop(lambda: flow_from_dict(data, source="import"), _rough_size(data))
        fresh: dict[str, str] = {}
        for ident in self._ids_of("process-group", imported):
            fresh[ident] = str(uuid.uuid4())
        contexts: dict[str, str] = {}
        added: list[ParameterContextDef] = []
        for ctx in imported.parameter_contexts:
            existing = next((c for c in self.flow.parameter_contexts if c.name == ctx.name), None)
            if existing is None:
                existing = ParameterContextDef(str(uuid.uuid4()), ctx.name, ctx.description, ctx.parameters)
                added.append(existing)
            contexts[ctx.identifier] = existing.identifier
        renamed = _renamed(imported, fresh, contexts, self._refers_to_service)
        renamed = map_group(renamed, _stopped)  # NiFi imports everything stopped
        renamed = dataclasses.replace(
            renamed, name=imported.name if imported.name != "Flow" else "Imported flow",
            position=renamed.position if position is None else position_from_dict(position, where="import.position"))
        parent = self._group(parent_group_id)
        group = self._with_keys("process-group", renamed)
        await self._commit(ImportGroup(parent.identifier, group, tuple(added)), user=user,
                           adding=len(self._ids_of("process-group", group)))
        await trio.sleep(0)
        return self.component("process-group", group.identifier)


def _rough_size(data: Any) -> int:
    """About how many components a flow file holds (items of its lists), cheaply."""
    count, stack = 0, [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(v for v in item.values() if isinstance(v, list | dict))
        elif isinstance(item, list):
            count += len(item)
            stack.extend(v for v in item if isinstance(v, dict))
    return count


def _stopped(kind: str, c: Any) -> Any:
    """A processor or port as imported: STOPPED unless DISABLED."""
    if kind in ("processor", "input-port", "output-port") and c.scheduled_state not in ("STOPPED", "DISABLED"):
        return dataclasses.replace(c, scheduled_state="STOPPED")
    return c


def _renamed(flow: FlowDef, fresh: dict[str, str], contexts: dict[str, str],
             refers_to_service: Callable[[str, str, str], bool]) -> GroupDef:
    """``flow``'s root group with every identifier replaced by ``fresh``'s,
    parameter contexts by ``contexts``', and the values of properties that name
    a controller service of the flow (``refers_to_service(kind, type,
    property)``) pointed at the service's new identifier. No other property
    value is touched, even one that happens to equal an identifier of the flow."""
    root = GroupDef(**{name: getattr(flow, name) for name in GroupDef.__slots__})
    services = {s.identifier for g in root.walk() for s in g.controller_services}

    def component(kind: str, c: Any) -> Any:
        changes: dict[str, Any] = {"identifier": fresh[c.identifier]}
        if kind == "connection":
            changes.update(source=fresh[c.source], destination=fresh[c.destination])
        props = getattr(c, "properties", None)
        if props and any(v in services for v in props.values()):
            changes["properties"] = {name: fresh[value] if value in services and refers_to_service(kind, c.type, name)
                                     else value for name, value in props.items()}
        return dataclasses.replace(c, **changes)

    def group(g: GroupDef) -> GroupDef:
        return dataclasses.replace(g, identifier=fresh[g.identifier], parameter_context=None
                                   if g.parameter_context is None else contexts.get(g.parameter_context))

    return map_group(root, component, group)
