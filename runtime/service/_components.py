"""Editing the live flow: every component kind created, changed and deleted with
revisions, live.

Kinds (``KINDS``): processor, connection, funnel, input-port, output-port,
label, controller-service, process-group (the parts of a group, see
``flow.COMPONENT_KINDS``) and parameter-context (top level). Every change
names the revision it saw; a stale one raises ``RevisionConflict`` carrying the
component as it is now. Each change is saved atomically before it returns, and
is recorded for undo (``_history``).
"""

from __future__ import annotations

import contextlib
import copy
import gc
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import trio

from flowyard.runtime.flow import (
    COMPONENT_KINDS,
    MAX_COMPONENTS,
    MAX_GROUP_DEPTH,
    ControllerServiceDef,
    GroupDef,
    ParameterContextDef,
    PortDef,
    component_from_dict,
    component_to_dict,
    doc_components,
    doc_group,
    group_from_dict,
    group_height,
    parameter_context_from_dict,
    parameter_context_to_dict,
)
from flowyard.runtime.sdk._errors import FlowDefinitionError, FlowyardError
from flowyard.runtime.service._base import (
    HISTORY,
    SENSITIVE_MASK,
    UnknownComponentError,
)
from flowyard.runtime.service._lookup import (
    _DECORATIONS,
    _PASS_THROUGH,
    GROUP_FIELDS,
    KINDS,
    _label,
    _node_ids,
    _only_layout,
    serialized,
)
from flowyard.runtime.service._runstate import RunStateMixin

__all__ = ["ComponentsMixin", "Edit"]


@dataclass(slots=True)
class Edit:
    """One recorded change: enough to undo and redo it."""

    action: str  # create | update | delete
    kind: str
    component_id: str
    parent: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    revision: int  # the component's revision right after the change (-1: it no longer exists)

    @property
    def description(self) -> str:
        return f"{self.action} {_label(self.kind)} {self.component_id}"



class ComponentsMixin(RunStateMixin):
    """Creating, changing and deleting components (and recording it for undo)."""

    #: Per user: edits that can be undone (newest last, at most HISTORY) and redone.
    _undo: dict[str, list[Edit]]
    _redo: dict[str, list[Edit]]

    @serialized
    async def create(self, kind: str, data: Any, *, parent_group_id: str | None = None,
                     user: str | None = None, check_names: bool = True) -> dict[str, Any]:
        """Add a component of ``kind`` from its JSON form (``identifier`` optional;
        ``parentGroupId`` names the group, the root by default). A name given blank
        is refused (``check_names``; undo restores what was there instead)."""
        if kind not in KINDS:
            raise UnknownComponentError(f"unknown component kind {kind!r}")
        if not isinstance(data, dict):
            raise FlowyardError(f"expected a JSON object describing the {_label(kind)}")
        parent_id = data.get("parentGroupId") or parent_group_id or self.flow.identifier
        data = {k: v for k, v in data.items() if k not in _DECORATIONS}
        if not data.get("identifier"):
            data["identifier"] = str(uuid.uuid4())
        if kind == "controller-service":
            data.setdefault("scheduledState", "DISABLED")  # NiFi creates services disabled
        elif kind == "processor":
            data.setdefault("scheduledState", "STOPPED")  # and processors stopped: start them when ready
        if kind == "process-group":
            if "parameterContext" not in data:
                inherited = self._group(parent_id).parameter_context  # NiFi's default for a new group
                data["parameterContext"] = None if inherited is None else {"id": inherited}
            _default_stopped(data)
        if kind == "processor" and "name" not in data and isinstance(data.get("type"), str):
            data["name"] = data["type"].rsplit(".", 1)[-1]  # NiFi names a new processor after its type
        ident = str(data["identifier"])
        if kind == "parameter-context":
            ctx = parameter_context_from_dict(data)
            if ident in self.revisions:
                raise FlowyardError(f"identifier {ident!r} is already used")
            if any(c.name == ctx.name for c in self.flow.parameter_contexts):
                raise FlowyardError(f"a parameter context is already named {ctx.name!r}")
            self._check_room(1)
            await self._stage(lambda d: d["parameterContexts"].append(parameter_context_to_dict(ctx)))
            self.flow.parameter_contexts.append(ctx)
            self.revisions[ident] = 0
            doc = self.component(kind, ident)
            self._record(user, Edit("create", kind, ident, None, None, self._raw(kind, ident), 0))
            return doc
        obj = component_from_dict(kind, data, require_names=check_names and kind in _NAMED)
        return await self._add(kind, obj, self._group(parent_id), user)

    async def _add(self, kind: str, obj: Any, parent: GroupDef, user: str | None) -> dict[str, Any]:
        """Add a parsed component to ``parent``: check, save, then attach live;
        recorded for undo. Returns its JSON with its live state."""
        self._check_new(kind, obj, parent)
        key, gid = COMPONENT_KINDS[kind][1], parent.identifier
        await self._stage(lambda d: doc_group(d, gid)[key].append(component_to_dict(kind, obj)),
                          adding=len(self._ids_of(kind, obj)))
        await self._attach(kind, obj, parent)
        ident = obj.identifier
        await trio.sleep(0)  # a large group: let the loop run between the steps of the edit
        doc = self.component(kind, ident)
        await trio.sleep(0)
        self._record(user, Edit("create", kind, ident, gid, None, self._raw(kind, ident), 0))
        return doc

    def _check_new(self, kind: str, obj: Any, parent: GroupDef) -> None:
        """What a new component must satisfy before anything is saved or changed:
        fresh identifiers, and room in the flow (size, group nesting)."""
        ids = self._ids_of(kind, obj)
        clash = next((i for i in ids if i in self.revisions), None)
        if clash is not None:
            raise FlowyardError(f"identifier {clash!r} is already used")
        self._check_room(len(ids))
        if kind == "processor":
            self._check_sensitive_parameters(obj, parent)
        elif kind == "connection":
            self._check_ends(obj, parent)
        elif kind == "controller-service":
            self._check_sensitive_parameters(obj, parent, "controller-service")
        elif kind == "process-group":
            self._check_contexts(obj)
            for g in obj.walk():
                self._check_group_parameters(g)
            depth = self._depth(parent) + 1 + group_height(obj)
            if depth > MAX_GROUP_DEPTH:
                raise FlowDefinitionError(
                    f"process groups nest at most {MAX_GROUP_DEPTH} levels deep; this group would reach level "
                    f"{depth}", source="request", where=kind)

    def _check_room(self, added: int) -> None:
        if len(self.revisions) + added > MAX_COMPONENTS:
            raise FlowyardError(f"a flow holds at most {MAX_COMPONENTS:,} components; it has "
                                f"{len(self.revisions):,}, and this change adds {added:,}")

    def _depth(self, group: GroupDef) -> int:
        """How many levels below the root group ``group`` is (the root: 0)."""
        def search(g: GroupDef, level: int) -> int | None:
            if g is group:
                return level
            for child in g.groups:
                found = search(child, level + 1)
                if found is not None:
                    return found
            return None
        return search(self.flow, 0) or 0

    async def _attach(self, kind: str, obj: Any, parent: GroupDef) -> None:
        """Put ``obj`` into ``parent`` and the running engine; all or nothing.
        (``_check_new`` first, then ``_stage``: this changes the live flow.)"""
        ids = self._ids_of(kind, obj)
        engine = self.engine
        gid = parent.identifier
        if kind == "processor":
            engine.add_processor(obj, gid)
        elif kind == "connection":
            engine.add_connection(obj, gid)
        elif kind in _PASS_THROUGH:
            engine.add_pass_through(obj, _PASS_THROUGH[kind], gid)
        elif kind == "controller-service":
            wanted = obj.scheduled_state
            obj.scheduled_state = "DISABLED"
            engine.controller_services.add(obj, gid)
            parent.controller_services.append(obj)
            self.revisions[obj.identifier] = 0
            if wanted == "ENABLED":
                self._try_enable(obj)
            return
        elif kind == "process-group":
            try:
                await self._materialize(obj)
            except BaseException:
                with trio.CancelScope(shield=True):
                    await self._teardown(obj)
                raise
            parent.groups.append(obj)
            for ident in ids:
                self.revisions[ident] = 0
            return
        getattr(parent, COMPONENT_KINDS[kind][0]).append(obj)
        self.revisions[obj.identifier] = 0

    async def _materialize(self, group: GroupDef) -> None:
        """Create the engine side of a new group (and its descendants), then start
        what is scheduled to run. The group joins the flow definition only once
        this is done, so that nothing reading the flow meanwhile sees half of it;
        a large group is built in steps with the event loop free in between."""
        engine = self.engine
        services = engine.controller_services
        steps = _Steps()
        with engine.adopting(group), _collector_paused():
            for g in group.walk():
                for sdef in g.controller_services:
                    services.add(sdef, g.identifier)
            services.changed()
            failed = services.registry.enable_all([s.identifier for g in group.walk()
                                                   for s in g.controller_services if s.scheduled_state == "ENABLED"])
            for g in group.walk():
                for sdef in g.controller_services:
                    if sdef.identifier in failed:
                        sdef.scheduled_state = "DISABLED"
                        services.bulletin(sdef.identifier, sdef.name or sdef.type, "WARNING",
                                          f"not enabled: {failed[sdef.identifier]}")
            for g in group.walk():
                for pdef in g.processors:
                    engine.add_processor(pdef, g.identifier)
                    await steps.step()
                for kind, attr in (("funnel", "funnels"), ("input-port", "input_ports"),
                                   ("output-port", "output_ports")):
                    for c in getattr(g, attr):
                        engine.add_pass_through(c, _PASS_THROUGH[kind], g.identifier)
                        await steps.step()
            for g in group.walk():
                for cdef in g.connections:
                    engine.add_connection(cdef, g.identifier)  # re-routes both ends
                    await steps.step()
            for g in group.walk():
                for pdef in g.processors:
                    engine.start_if_scheduled(engine.nodes[pdef.identifier])

    async def _teardown(self, group: GroupDef) -> int:
        """Remove the engine side of ``group`` and its descendants (whatever exists of
        it); queued flowfiles are dropped. Returns how many."""
        engine = self.engine
        dropped = 0
        for g in group.walk():
            for cid in _node_ids(g, funnels=True):
                if cid in engine.nodes:
                    await engine.stop_processor(cid)
        for g in group.walk():
            for cdef in g.connections:
                if cdef.identifier in engine.queues:
                    dropped += await engine.remove_connection(cdef.identifier, drop=True)
        for g in group.walk():
            for cid in _node_ids(g, funnels=True):
                if cid in engine.nodes:
                    await engine.remove_processor(cid)
        services = engine.controller_services
        ids = [s.identifier for g in group.walk() for s in g.controller_services
               if s.identifier in services.registry]
        for sid in ids:  # every processor that could use them has stopped
            node = services.registry.node(sid)
            if node.enabled:
                try:
                    node.disable()
                except FlowyardError as exc:  # disabled anyway; say what the service reported
                    services.bulletin(sid, node.name, "WARNING", str(exc))
            services.registry.remove(sid)
            engine.group_of.pop(sid, None)
        services.changed()
        return dropped

    # -- changing -----------------------------------------------------------------------

    @serialized
    async def update(self, kind: str, ident: str, revision: Any, changes: Any, *,
                     user: str | None = None, check_names: bool = True) -> dict[str, Any]:
        """Change a component, live. ``changes`` holds the fields to change;
        ``properties`` are merged (null unsets one, the mask leaves it unchanged)."""
        obj, parent = self._find(kind, ident)
        current = self.component(kind, ident)
        self._check_revision(ident, revision, current)
        if not isinstance(changes, dict):
            raise FlowyardError("expected a JSON object with the fields to change")
        if "identifier" in changes and changes["identifier"] != ident:
            raise FlowyardError("the identifier of a component cannot change")
        before = self._raw(kind, ident)
        merged = self._merge(kind, before, {k: v for k, v in changes.items() if k not in _DECORATIONS})
        await self._replace(kind, obj, parent, merged, renamed=check_names and "name" in changes)
        self.revisions[ident] += 1
        self._record(user, Edit("update", kind, ident, parent.identifier if parent else None, before,
                                 self._raw(kind, ident), self.revisions[ident]))
        return self.component(kind, ident)

    def _merge(self, kind: str, before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        merged = copy.deepcopy(before)
        for key, value in changes.items():
            if kind == "process-group" and key not in GROUP_FIELDS:
                raise FlowyardError(f"{key!r} of a process group changes through its own resources; "
                                    f"a group's own fields are {', '.join(GROUP_FIELDS[1:])}")
            if key == "type" and value != before.get("type"):
                raise FlowyardError(f"the type of a {_label(kind)} cannot change; add a new one instead")
            if key == "properties" and isinstance(value, dict):
                props = dict(merged.get("properties") or {})
                for name, v in value.items():
                    if v == SENSITIVE_MASK:
                        continue  # the mask sent back means "unchanged"
                    if v is None:
                        props.pop(name, None)
                    else:
                        props[name] = v
                merged["properties"] = props
            elif key == "parameters" and kind == "parameter-context" and isinstance(value, list):
                old = {p["name"]: p for p in before["parameters"]}
                params = []
                for p in value:
                    name = p.get("name") if isinstance(p, dict) else None
                    if isinstance(name, str) and name in old:
                        if bool(p.get("sensitive", False)) != old[name]["sensitive"]:
                            raise FlowyardError(f"parameter {name!r}: whether a parameter is sensitive cannot "
                                                "change; remove it and add it again")
                        if old[name]["sensitive"] and p.get("value") == SENSITIVE_MASK:
                            p = {**p, "value": old[name]["value"]}
                    params.append(p)
                merged["parameters"] = params
            else:
                merged[key] = value
        return merged

    async def _replace(self, kind: str, obj: Any, parent: GroupDef | None, merged: dict[str, Any], *,
                       renamed: bool = False) -> None:
        """Check the new definition, save the flow with it (``_stage``), then apply
        it live. A refusal or a failed save changes nothing. ``renamed``: the
        change names the component (a blank name is refused then)."""
        engine = self.engine
        if kind == "parameter-context":
            ctx = parameter_context_from_dict(merged)
            if any(c.name == ctx.name and c is not obj for c in self.flow.parameter_contexts):
                raise FlowyardError(f"a parameter context is already named {ctx.name!r}")
            changed = _changed_parameters(obj, ctx)
            bound = {g.identifier for g in self.flow.walk() if g.parameter_context == obj.identifier}
            old = (obj.name, obj.description, obj.parameters)
            obj.name, obj.description, obj.parameters = ctx.name, ctx.description, ctx.parameters
            try:
                for g in self.flow.walk():
                    if g.identifier in bound:
                        self._check_group_parameters(g)
                await self._stage()
            except BaseException:
                obj.name, obj.description, obj.parameters = old
                raise
            await engine.parameters_changed(bound, changed)
            return
        if kind == "process-group":
            new = group_from_dict({k: merged.get(k) for k in GROUP_FIELDS if merged.get(k) is not None},
                                  require_names=renamed)
            if new.parameter_context is not None and self.flow.context(new.parameter_context) is None:
                raise FlowDefinitionError(f"no parameter context has id {new.parameter_context!r}",
                                          source="request", where="processGroup.parameterContext.id")
            rebound = new.parameter_context != obj.parameter_context
            old_fields = (obj.parameter_context, obj.name, obj.position, obj.comments)
            obj.parameter_context = new.parameter_context
            obj.name, obj.position, obj.comments = new.name, new.position, new.comments
            try:
                if rebound:
                    self._check_group_parameters(obj)
                await self._stage()
            except BaseException:
                obj.parameter_context, obj.name, obj.position, obj.comments = old_fields
                raise
            if rebound:
                await engine.parameters_changed({obj.identifier})
            return
        assert parent is not None
        new_obj = component_from_dict(kind, merged, require_names=renamed and kind in _NAMED)
        if kind == "processor":
            self._check_sensitive_parameters(new_obj, parent)
        elif kind == "connection":
            self._check_ends(new_obj, parent)
        elif kind == "controller-service":
            self._check_service_change(obj, new_obj, parent)
        attr = COMPONENT_KINDS[kind][0]
        await self._stage(lambda d: _put_doc(d, component_to_dict(kind, new_obj)))
        if kind == "processor" and _only_layout(obj, new_obj):
            engine.nodes[obj.identifier].definition = new_obj  # moved or commented: keeps running as it is
        elif kind == "processor":
            await engine.reconfigure_processor(new_obj)
        elif kind == "connection":
            engine.reconfigure_connection(new_obj)
        elif kind in ("input-port", "output-port"):
            await self._port_changed(obj, new_obj)
        elif kind == "controller-service":
            await self._service_changed(obj, new_obj)
        _put(getattr(parent, attr), new_obj)

    async def _port_changed(self, old: PortDef, new: PortDef) -> None:
        node = self.engine.nodes[old.identifier]
        node.definition.name = new.name or node.definition.type
        node.definition.position = new.position
        if new.scheduled_state != old.scheduled_state:
            await self._set_node_state(old.identifier, new.scheduled_state)

    def _check_service_change(self, old: ControllerServiceDef, new: ControllerServiceDef, group: GroupDef) -> None:
        """A service's settings change only while it is disabled (or with the change that disables it)."""
        self._check_sensitive_parameters(new, group, "controller-service")
        configured = (new.properties, new.name) != (old.properties, old.name)
        if configured and self.engine.controller_services.registry.is_enabled(new.identifier) \
                and new.scheduled_state == "ENABLED":
            raise FlowyardError(f"controller service {old.name or old.type!r} is enabled; disable it before "
                                "changing it (or send scheduledState DISABLED with the change)")

    async def _service_changed(self, old: ControllerServiceDef, new: ControllerServiceDef) -> None:
        """Disable (if asked), reconfigure (only while disabled), enable (if asked:
        when that fails the service stays DISABLED and says why)."""
        services = self.engine.controller_services
        configured = (new.properties, new.name) != (old.properties, old.name)
        if new.scheduled_state == "DISABLED" and services.registry.is_enabled(new.identifier):
            await services.disable(new.identifier)
        if configured:
            services.reconfigure(new)
        if new.scheduled_state == "ENABLED" and not services.registry.is_enabled(new.identifier):
            self._try_enable(new)

    # -- deleting -----------------------------------------------------------------------

    @serialized
    async def delete(self, kind: str, ident: str, revision: Any, *, drop: bool = False,
                     user: str | None = None) -> int:
        """Remove a component. Something holding queued flowfiles is refused unless
        ``drop``; returns how many flowfiles were dropped."""
        obj, parent = self._find(kind, ident)
        current = self.component(kind, ident)
        self._check_revision(ident, revision, current)
        before = self._raw(kind, ident)
        dropped = await self._detach(kind, obj, parent, drop)
        self._record(user, Edit("delete", kind, ident, parent.identifier if parent else None, before, None, -1))
        return dropped

    async def _detach(self, kind: str, obj: Any, parent: GroupDef | None, drop: bool) -> int:
        """Check, save the flow without ``obj`` (``_stage``), then remove it live."""
        engine = self.engine
        dropped = 0
        ident = obj.identifier
        if kind == "parameter-context":
            bound = [g.name or g.identifier for g in self.flow.walk() if g.parameter_context == obj.identifier]
            if bound:
                raise FlowyardError(f"parameter context {obj.name!r} is used by process group(s) "
                                    f"{', '.join(map(repr, bound))}: bind them to another context first")
            await self._stage(lambda d: d["parameterContexts"].remove(
                next(c for c in d["parameterContexts"] if c["identifier"] == ident)))
            self.flow.parameter_contexts.remove(obj)
            del self.revisions[obj.identifier]
            return 0
        if parent is None:
            raise FlowyardError("the root process group cannot be deleted")
        if kind == "process-group":
            ports = {p.identifier for p in (*obj.input_ports, *obj.output_ports)}
            outside = [c.identifier for c in parent.connections if c.source in ports or c.destination in ports]
            if outside:
                raise FlowyardError(f"process group {obj.name!r} is connected by connection(s) "
                                    f"{', '.join(outside)}: remove them first")
            queued = sum(engine.queues[c.identifier].count for g in obj.walk() for c in g.connections)
            if queued and not drop:
                raise FlowyardError(f"process group {obj.name!r} holds {queued} queued flowfile(s): empty its "
                                    "queues first, or ask to drop them")
            await self._stage(lambda d: _remove_doc(d, ident))
            ids = self._ids_of(kind, obj)
            dropped = await self._teardown(obj)
            parent.groups.remove(obj)
            for i in ids:
                self.revisions.pop(i, None)
            return dropped
        if kind in ("processor", *_PASS_THROUGH):
            attached = [c.identifier for c in parent.connections if ident in (c.source, c.destination)]
            if attached:
                raise FlowyardError(f"{_label(kind)} {getattr(obj, 'name', '') or ident!r} still has connection(s) "
                                    f"{', '.join(attached)}: remove them first")
        elif kind == "connection" and not drop and engine.queues[ident].count:
            raise FlowyardError(f"connection {ident!r} holds {engine.queues[ident].count} queued flowfile(s): "
                                "empty it first, or ask to drop them")
        await self._stage(lambda d: _remove_doc(d, ident))
        if kind == "processor" or kind in _PASS_THROUGH:
            await engine.remove_processor(obj.identifier)
        elif kind == "connection":
            dropped = await engine.remove_connection(obj.identifier, drop=drop)
        elif kind == "controller-service":
            engine.controller_services.remove(obj.identifier)
        getattr(parent, COMPONENT_KINDS[kind][0]).remove(obj)
        del self.revisions[obj.identifier]
        return dropped

    # -- compatibility wrappers (processors and connections) -------------------------------

    async def create_processor(self, data: Any, *, user: str | None = None) -> dict[str, Any]:
        return await self.create("processor", data, user=user)

    async def update_processor(self, component_id: str, revision: Any, changes: Any, *,
                               user: str | None = None) -> dict[str, Any]:
        return await self.update("processor", component_id, revision, changes, user=user)

    async def delete_processor(self, component_id: str, revision: Any, *, user: str | None = None) -> None:
        await self.delete("processor", component_id, revision, user=user)

    async def create_connection(self, data: Any, *, user: str | None = None) -> dict[str, Any]:
        return await self.create("connection", data, user=user)

    async def delete_connection(self, connection_id: str, revision: Any, *, drop: bool = False,
                                user: str | None = None) -> int:
        return await self.delete("connection", connection_id, revision, drop=drop, user=user)

    # -- run state ----------------------------------------------------------------------

    def _record(self, user: str | None, edit: Edit) -> None:
        if user is None:
            return
        stack = self._undo.setdefault(user, [])
        stack.append(edit)
        del stack[:-HISTORY]
        self._redo.pop(user, None)

    def history(self, user: str) -> dict[str, list[str]]:
        """What ``user`` can undo and redo, newest first."""
        return {"undo": [e.description for e in reversed(self._undo.get(user, []))],
                "redo": [e.description for e in reversed(self._redo.get(user, []))]}

@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a large group is built: every object the
    build keeps would otherwise trigger full collections of the whole heap (each
    ~0.2 s with 10,000 processors), holding up the event loop again and again.
    Nothing the build makes is garbage; one collection may follow it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Steps:
    """Lets the event loop run whenever a long edit has held it for ``slice_seconds``."""

    def __init__(self, slice_seconds: float = 0.02) -> None:
        self.slice = slice_seconds
        self.since = time.perf_counter()

    async def step(self) -> None:
        if time.perf_counter() - self.since >= self.slice:
            await trio.sleep(0)
            self.since = time.perf_counter()


#: Kinds whose name, when given, must not be blank (NiFi requires their names).
_NAMED = ("processor", "process-group", "input-port", "output-port")


def _put_doc(doc: dict[str, Any], component: dict[str, Any]) -> None:
    """In a flow's JSON form, replace the component with ``component``'s identifier by it."""
    items, index = doc_components(doc)[component["identifier"]]
    items[index] = component


def _remove_doc(doc: dict[str, Any], ident: str) -> None:
    """In a flow's JSON form, remove component ``ident``."""
    items, index = doc_components(doc)[ident]
    del items[index]


def _put(items: list[Any], component: Any) -> None:
    """Replace the item of ``items`` with ``component``'s identifier by ``component``."""
    ident = component.identifier
    items[next(i for i, c in enumerate(items) if c.identifier == ident)] = component


def _changed_parameters(old: ParameterContextDef, new: ParameterContextDef) -> set[str]:
    """Names of parameters added, removed, or with another value or sensitivity."""
    before = {p.name: (p.value, p.sensitive) for p in old.parameters}
    after = {p.name: (p.value, p.sensitive) for p in new.parameters}
    return {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}


def _default_stopped(group: Any) -> None:
    """A group's processors given without a ``scheduledState`` are created STOPPED (in place)."""
    if not isinstance(group, dict):
        return
    for p in group.get("processors") or []:
        if isinstance(p, dict):
            p.setdefault("scheduledState", "STOPPED")
    for child in group.get("processGroups") or []:
        _default_stopped(child)
