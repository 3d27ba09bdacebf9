"""Editing the live flow: every component kind created, read, changed and deleted
with revisions; run state per component, selection and group; controller
services; parameter contexts; export and import of groups; undo and redo per user.

Kinds (``KINDS``): processor, connection, funnel, input-port, output-port,
label, controller-service, process-group (the parts of a group, see
``flow.COMPONENT_KINDS``) and parameter-context (top level). Every change
names the revision it saw; a stale one raises ``RevisionConflict`` carrying the
component as it is now. Each change is saved atomically before it returns.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import trio

from flowyard.runtime import expression
from flowyard.runtime.flow import (
    COMPONENT_KINDS,
    FORMAT_VERSION,
    ConnectionDef,
    ControllerServiceDef,
    FlowDef,
    GroupDef,
    ParameterContextDef,
    PortDef,
    ProcessorDef,
    component_from_dict,
    component_to_dict,
    flow_from_dict,
    group_from_dict,
    group_to_dict,
    parameter_context_from_dict,
    parameter_context_to_dict,
)
from flowyard.runtime.sdk._errors import FlowyardError
from flowyard.runtime.sdk._service import ControllerService
from flowyard.runtime.service._base import (
    HISTORY,
    SENSITIVE_MASK,
    RevisionConflict,
    ServiceState,
    UnknownComponentError,
)

__all__ = ["KINDS", "ComponentsMixin"]

#: Every kind of component the API edits.
KINDS = (*COMPONENT_KINDS, "parameter-context")
#: The fields of a process group itself (its contents change through their own resources).
GROUP_FIELDS = ("identifier", "name", "position", "comments", "parameterContext")
#: Run states a component can be asked for.
RUN_STATES = ("RUNNING", "STOPPED", "DISABLED", "ENABLED", "RUN_ONCE")
_DECORATIONS = ("revision", "runState", "validationErrors", "queuedCount", "queuedBytes", "parentGroupId",
                "state", "referencingComponents", "provides", "boundGroups", "runningCount", "stoppedCount",
                "invalidCount", "disabledCount")
_PASS_THROUGH = {"funnel": "Funnel", "input-port": "InputPort", "output-port": "OutputPort"}


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _serialized(method: Callable[Concatenate[ComponentsMixin, _P], Coroutine[Any, Any, _R]]
                ) -> Callable[Concatenate[ComponentsMixin, _P], Coroutine[Any, Any, _R]]:
    """One flow edit at a time: a change awaits (stopping a processor, say), and
    another request must not act on the half-changed flow meanwhile. Re-entrant
    for the task holding it (undo calls update, import calls create)."""
    async def call(self: ComponentsMixin, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        async with self._editing():
            return await method(self, *args, **kwargs)
    call.__name__, call.__qualname__, call.__doc__ = method.__name__, method.__qualname__, method.__doc__
    return call


def _label(kind: str) -> str:
    return kind.replace("-", " ")


@dataclass(slots=True)
class _Edit:
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


def _rebase(stack: list[_Edit], component_id: str, revision: int) -> None:
    """After undoing (redoing) an edit, the component is exactly as the previous
    edit of it left it, at a new revision: that edit may be undone (redone) next."""
    for edit in reversed(stack):
        if edit.component_id == component_id:
            edit.revision = revision
            return


def _comparable(kind: str, doc: dict[str, Any] | None) -> dict[str, Any] | None:
    if doc is None or kind != "process-group":
        return doc
    return {k: doc.get(k) for k in GROUP_FIELDS}


class ComponentsMixin(ServiceState):
    """Creating, changing and deleting components; run state; undo and redo."""

    service_types: dict[str, type[ControllerService]]
    #: Per user: edits that can be undone (newest last, at most HISTORY) and redone.
    _undo: dict[str, list[_Edit]]
    _redo: dict[str, list[_Edit]]

    _edit_lock: trio.Lock | None = None
    _edit_owner: Any = None

    def _save(self) -> None:
        raise NotImplementedError

    @asynccontextmanager
    async def _editing(self) -> AsyncIterator[None]:
        task = trio.lowlevel.current_task()
        if self._edit_owner is task:
            yield
            return
        if self._edit_lock is None:
            self._edit_lock = trio.Lock()
        async with self._edit_lock:
            self._edit_owner = task
            try:
                yield
            finally:
                self._edit_owner = None

    # -- finding ------------------------------------------------------------------------

    def _find(self, kind: str, ident: str) -> tuple[Any, GroupDef | None]:
        """The definition of component ``ident`` of ``kind`` and the group holding it.
        Raises ``UnknownComponentError``."""
        if kind not in KINDS:
            raise UnknownComponentError(f"unknown component kind {kind!r}")
        if kind == "parameter-context":
            ctx = self.flow.context(ident)
            if ctx is None:
                raise UnknownComponentError(f"no parameter context has id {ident!r}")
            return ctx, None
        if kind == "process-group":
            if ident == self.flow.identifier:
                return self.flow, None
            for group in self.flow.walk():
                for child in group.groups:
                    if child.identifier == ident:
                        return child, group
            raise UnknownComponentError(f"no process group has id {ident!r}")
        owner = self.flow.owner(ident)
        if owner is None or owner[1] != kind:
            raise UnknownComponentError(f"no {_label(kind)} has id {ident!r}")
        group = owner[0]
        return next(c for c in getattr(group, COMPONENT_KINDS[kind][0]) if c.identifier == ident), group

    def kind_of(self, ident: str) -> str:
        """The kind of component ``ident``. Raises ``UnknownComponentError``."""
        if self.flow.context(ident) is not None:
            return "parameter-context"
        if self.flow.group(ident) is not None:
            return "process-group"
        owner = self.flow.owner(ident)
        if owner is None:
            raise UnknownComponentError(f"no component has id {ident!r}")
        return owner[1]

    def _group(self, group_id: str | None) -> GroupDef:
        group = self.flow.group(group_id or self.flow.identifier)
        if group is None:
            raise UnknownComponentError(f"no process group has id {group_id!r}")
        return group

    def _raw(self, kind: str, ident: str) -> dict[str, Any]:
        """The definition as JSON, unmasked (kept in memory for undo; never returned)."""
        obj, _ = self._find(kind, ident)
        if kind == "parameter-context":
            return parameter_context_to_dict(obj)
        return component_to_dict(kind, obj)

    def component(self, kind: str, ident: str) -> dict[str, Any]:
        """A component as JSON with its revision and live state (sensitive values masked)."""
        _, parent = self._find(kind, ident)
        doc = self._decorate(kind, self._raw(kind, ident))
        if kind != "parameter-context":
            doc["parentGroupId"] = parent.identifier if parent is not None else None
        return doc

    def processor(self, component_id: str) -> dict[str, Any]:
        return self.component("processor", component_id)

    def connection(self, connection_id: str) -> dict[str, Any]:
        return self.component("connection", connection_id)

    def _decorate(self, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Add revision, run state, validity and figures to a component's JSON, in place."""
        ident = doc["identifier"]
        doc["revision"] = self.revisions.get(ident, 0)
        engine = self.engine
        if kind == "processor" or kind in _PASS_THROUGH:
            node = engine.nodes[ident]
            doc["runState"] = "RUNNING" if node.running else node.state
            if kind == "processor":
                doc["validationErrors"] = [str(r) for r in node.validation]
                self._mask(doc)
        elif kind == "connection":
            queue = engine.queues[ident]
            doc.update(queuedCount=queue.count, queuedBytes=queue.size)
        elif kind == "controller-service":
            services = engine.controller_services
            snode = services.registry.node(ident)
            doc["state"] = snode.state
            doc["validationErrors"] = [] if snode.enabled else [str(r) for r in snode.validation_results()]
            doc["referencingComponents"] = services.referencing_processors(ident)
            doc["provides"] = list(snode.provides)
            self._mask(doc, "controller-service")
        elif kind == "parameter-context":
            for p in doc["parameters"]:
                if p["sensitive"] and p["value"] is not None:
                    p["value"] = SENSITIVE_MASK
            doc["boundGroups"] = [g.identifier for g in self.flow.walk() if g.parameter_context == ident]
        elif kind == "process-group":
            counts = dict.fromkeys(("runningCount", "stoppedCount", "invalidCount", "disabledCount"), 0)
            queued = [0, 0]
            for child_kind, (_, key) in COMPONENT_KINDS.items():
                for child in doc[key]:
                    self._decorate(child_kind, child)
                    if child_kind == "processor":
                        state = child["runState"]
                        counts["disabledCount" if state == "DISABLED" else
                               "runningCount" if state == "RUNNING" else
                               "invalidCount" if child["validationErrors"] else "stoppedCount"] += 1
                    elif child_kind == "process-group":
                        for name in counts:
                            counts[name] += child[name]
                        queued[0] += child["queuedCount"]
                        queued[1] += child["queuedBytes"]
                    elif child_kind == "connection":
                        queued[0] += child["queuedCount"]
                        queued[1] += child["queuedBytes"]
            doc.update(counts, queuedCount=queued[0], queuedBytes=queued[1])
        return doc

    def controller_service_types(self) -> list[dict[str, Any]]:
        """Every controller service type with its spec (for the canvas's forms)."""
        return [{"type": name, **cls.spec.to_dict()} for name, cls in sorted(self.service_types.items())]

    # -- revisions ----------------------------------------------------------------------

    def _check_revision(self, component_id: str, revision: Any, current: dict[str, Any]) -> None:
        if not isinstance(revision, int) or isinstance(revision, bool):
            raise FlowyardError("the change must name the component's revision (a whole number)")
        if revision != self.revisions[component_id]:
            raise RevisionConflict(
                f"component {component_id!r} is at revision {self.revisions[component_id]}, not {revision}: "
                "someone changed it meanwhile", current)

    @staticmethod
    def _ids_of(kind: str, obj: Any) -> list[str]:
        if kind != "process-group":
            return [obj.identifier]
        ids = []
        for g in obj.walk():
            ids.append(g.identifier)
            for k, (attr, _) in COMPONENT_KINDS.items():
                if k != "process-group":
                    ids += [c.identifier for c in getattr(g, attr)]
        return ids

    # -- creating -----------------------------------------------------------------------

    @_serialized
    async def create(self, kind: str, data: Any, *, parent_group_id: str | None = None,
                     user: str | None = None) -> dict[str, Any]:
        """Add a component of ``kind`` from its JSON form (``identifier`` optional;
        ``parentGroupId`` names the group, the root by default)."""
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
        ident = str(data["identifier"])
        if kind == "parameter-context":
            ctx = parameter_context_from_dict(data)
            if ident in self.revisions:
                raise FlowyardError(f"identifier {ident!r} is already used")
            if any(c.name == ctx.name for c in self.flow.parameter_contexts):
                raise FlowyardError(f"a parameter context is already named {ctx.name!r}")
            self.flow.parameter_contexts.append(ctx)
            self.revisions[ident] = 0
            parent_id = None
        else:
            parent = self._group(parent_id)
            await self._attach(kind, component_from_dict(kind, data), parent)
        self._save()
        doc = self.component(kind, ident)
        self._record(user, _Edit("create", kind, ident, parent_id, None, self._raw(kind, ident), 0))
        return doc

    async def _attach(self, kind: str, obj: Any, parent: GroupDef) -> None:
        """Put ``obj`` into ``parent`` and the running engine; all or nothing."""
        ids = self._ids_of(kind, obj)
        clash = next((i for i in ids if i in self.revisions), None)
        if clash is not None:
            raise FlowyardError(f"identifier {clash!r} is already used")
        engine = self.engine
        gid = parent.identifier
        if kind == "processor":
            self._check_sensitive_parameters(obj, parent)
            engine.add_processor(obj, gid)
        elif kind == "connection":
            self._check_ends(obj, parent)
            engine.add_connection(obj, gid)
        elif kind in _PASS_THROUGH:
            engine.add_pass_through(obj, _PASS_THROUGH[kind], gid)
        elif kind == "controller-service":
            self._check_sensitive_parameters(obj, parent, "controller-service")
            wanted = obj.scheduled_state
            obj.scheduled_state = "DISABLED"
            engine.controller_services.add(obj, gid)
            parent.controller_services.append(obj)
            self.revisions[obj.identifier] = 0
            if wanted == "ENABLED":
                self._try_enable(obj)
            return
        elif kind == "process-group":
            self._check_contexts(obj)
            parent.groups.append(obj)
            try:
                await self._materialize(obj)
            except BaseException:
                await self._teardown(obj)
                parent.groups.remove(obj)
                raise
            for ident in ids:
                self.revisions[ident] = 0
            return
        getattr(parent, COMPONENT_KINDS[kind][0]).append(obj)
        self.revisions[obj.identifier] = 0

    def _try_enable(self, sdef: ControllerServiceDef) -> None:
        """Enable a service; if it cannot be, it stays DISABLED and says why (its
        ``validationErrors``, and a bulletin for a failing ``on_enabled``)."""
        services = self.engine.controller_services
        try:
            services.enable(sdef.identifier)
        except FlowyardError as exc:
            sdef.scheduled_state = "DISABLED"
            services.bulletin(sdef.identifier, sdef.name or sdef.type, "WARNING", f"not enabled: {exc}")
        else:
            sdef.scheduled_state = "ENABLED"

    def _check_contexts(self, group: GroupDef) -> None:
        for g in group.walk():
            if g.parameter_context is not None and self.flow.context(g.parameter_context) is None:
                raise FlowyardError(f"process group {g.name!r}: no parameter context has id {g.parameter_context!r}")

    def _check_ends(self, cdef: ConnectionDef, group: GroupDef) -> None:
        if cdef.source not in group.connectable_sources():
            raise FlowyardError(f"connection.source.id: {cdef.source!r} is not a processor, funnel or input port "
                                f"of group {group.name!r}, or an output port of one of its child groups")
        if cdef.destination not in group.connectable_destinations():
            raise FlowyardError(f"connection.destination.id: {cdef.destination!r} is not a processor, funnel or "
                                f"output port of group {group.name!r}, or an input port of one of its child groups")

    def _check_sensitive_parameters(self, component: ProcessorDef | ControllerServiceDef, group: GroupDef,
                                    kind: str = "processor") -> None:
        """NiFi's rule: a sensitive parameter may be referenced only by a sensitive
        property (of a processor or a controller service, ``kind``)."""
        ctx = self.flow.context(group.parameter_context)
        secret = ctx.sensitive_names() if ctx is not None else frozenset()
        if not secret:
            return
        for name, value in component.properties.items():
            if value and "#{" in value:
                used = expression.parameter_references(value) & secret
                if used and name not in self._sensitive_names(component.type, {name: value}, kind):
                    raise FlowyardError(
                        f"property {name!r} of {component.name or component.type} references the sensitive "
                        f"parameter {sorted(used)[0]!r}: sensitive parameters can only be used in sensitive "
                        "properties")

    def _check_group_parameters(self, group: GroupDef) -> None:
        """The sensitive-parameter rule for every processor and service of ``group``."""
        for pdef in group.processors:
            self._check_sensitive_parameters(pdef, group)
        for sdef in group.controller_services:
            self._check_sensitive_parameters(sdef, group, "controller-service")

    async def _materialize(self, group: GroupDef) -> None:
        """Create the engine side of a new group (and its descendants), then start
        what is scheduled to run."""
        engine = self.engine
        services = engine.controller_services
        for g in group.walk():
            self._check_group_parameters(g)
        for g in group.walk():
            for sdef in g.controller_services:
                services.add(sdef, g.identifier)
        services.changed()
        failed = services.registry.enable_all([s.identifier for g in group.walk() for s in g.controller_services
                                               if s.scheduled_state == "ENABLED"])
        for g in group.walk():
            for sdef in g.controller_services:
                if sdef.identifier in failed:
                    sdef.scheduled_state = "DISABLED"
                    services.bulletin(sdef.identifier, sdef.name or sdef.type, "WARNING",
                                      f"not enabled: {failed[sdef.identifier]}")
        for g in group.walk():
            for pdef in g.processors:
                engine.add_processor(pdef, g.identifier)
            for kind, attr in (("funnel", "funnels"), ("input-port", "input_ports"), ("output-port", "output_ports")):
                for c in getattr(g, attr):
                    engine.add_pass_through(c, _PASS_THROUGH[kind], g.identifier)
        for g in group.walk():
            for cdef in g.connections:
                engine.add_connection(cdef, g.identifier)
        for g in group.walk():
            for pdef in g.processors:
                node = engine.nodes[pdef.identifier]
                node.set_routing(pdef.auto_terminated)
                if pdef.scheduled_state == "RUNNING" and node.is_valid and not node.running and engine.is_running:
                    engine.start_processor(pdef.identifier)

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

    @_serialized
    async def update(self, kind: str, ident: str, revision: Any, changes: Any, *,
                     user: str | None = None) -> dict[str, Any]:
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
        await self._replace(kind, obj, parent, merged)
        self.revisions[ident] += 1
        self._save()
        self._record(user, _Edit("update", kind, ident, parent.identifier if parent else None, before,
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

    async def _replace(self, kind: str, obj: Any, parent: GroupDef | None, merged: dict[str, Any]) -> None:
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
            except FlowyardError:
                obj.name, obj.description, obj.parameters = old
                raise
            await engine.parameters_changed(bound, changed)
            return
        assert parent is not None or kind == "process-group"
        if kind == "process-group":
            new = group_from_dict({k: merged.get(k) for k in GROUP_FIELDS if merged.get(k) is not None})
            if new.parameter_context is not None and self.flow.context(new.parameter_context) is None:
                raise FlowyardError(f"parameterContext.id: no parameter context has id {new.parameter_context!r}")
            rebound = new.parameter_context != obj.parameter_context
            if rebound:
                old_ctx = obj.parameter_context
                obj.parameter_context = new.parameter_context
                try:
                    self._check_group_parameters(obj)
                except FlowyardError:
                    obj.parameter_context = old_ctx
                    raise
            obj.name, obj.position, obj.comments = new.name, new.position, new.comments
            if rebound:
                await engine.parameters_changed({obj.identifier})
            return
        assert parent is not None
        new_obj = component_from_dict(kind, merged)
        if kind == "processor" and _only_layout(obj, new_obj):
            engine.nodes[obj.identifier].definition = new_obj  # moved or commented: keeps running as it is
        elif kind == "processor":
            self._check_sensitive_parameters(new_obj, parent)
            await engine.reconfigure_processor(new_obj)
        elif kind == "connection":
            self._check_ends(new_obj, parent)
            engine.reconfigure_connection(new_obj)
        elif kind in ("input-port", "output-port"):
            await self._port_changed(obj, new_obj)
        elif kind == "controller-service":
            await self._service_changed(obj, new_obj, parent)
        items = getattr(parent, COMPONENT_KINDS[kind][0])
        items[items.index(obj)] = new_obj

    async def _port_changed(self, old: PortDef, new: PortDef) -> None:
        node = self.engine.nodes[old.identifier]
        node.definition.name = new.name or node.definition.type
        node.definition.position = new.position
        if new.scheduled_state != old.scheduled_state:
            await self._set_node_state(old.identifier, new.scheduled_state)

    async def _service_changed(self, old: ControllerServiceDef, new: ControllerServiceDef,
                               group: GroupDef) -> None:
        """Disable (if asked), reconfigure (only while disabled), enable (if asked:
        when that fails the service stays DISABLED and says why)."""
        services = self.engine.controller_services
        self._check_sensitive_parameters(new, group, "controller-service")
        configured = (new.properties, new.name) != (old.properties, old.name)
        if configured and services.registry.is_enabled(new.identifier) and new.scheduled_state == "ENABLED":
            raise FlowyardError(f"controller service {old.name or old.type!r} is enabled; disable it before "
                                "changing it (or send scheduledState DISABLED with the change)")
        if new.scheduled_state == "DISABLED" and services.registry.is_enabled(new.identifier):
            await services.disable(new.identifier)
        if configured:
            services.reconfigure(new)
        if new.scheduled_state == "ENABLED" and not services.registry.is_enabled(new.identifier):
            self._try_enable(new)

    # -- deleting -----------------------------------------------------------------------

    @_serialized
    async def delete(self, kind: str, ident: str, revision: Any, *, drop: bool = False,
                     user: str | None = None) -> int:
        """Remove a component. Something holding queued flowfiles is refused unless
        ``drop``; returns how many flowfiles were dropped."""
        obj, parent = self._find(kind, ident)
        current = self.component(kind, ident)
        self._check_revision(ident, revision, current)
        before = self._raw(kind, ident)
        dropped = await self._detach(kind, obj, parent, drop)
        self._save()
        self._record(user, _Edit("delete", kind, ident, parent.identifier if parent else None, before, None, -1))
        return dropped

    async def _detach(self, kind: str, obj: Any, parent: GroupDef | None, drop: bool) -> int:
        engine = self.engine
        dropped = 0
        if kind == "parameter-context":
            bound = [g.name or g.identifier for g in self.flow.walk() if g.parameter_context == obj.identifier]
            if bound:
                raise FlowyardError(f"parameter context {obj.name!r} is used by process group(s) "
                                    f"{', '.join(map(repr, bound))}: bind them to another context first")
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
            ids = self._ids_of(kind, obj)
            dropped = await self._teardown(obj)
            parent.groups.remove(obj)
            for i in ids:
                self.revisions.pop(i, None)
            return dropped
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

    @_serialized
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

    @_serialized
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

    @_serialized
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

    def export_group(self, group_id: str) -> dict[str, Any]:
        """A process group and everything in it as a flowyard flow file (the group
        as its ``rootGroup``, with the parameter contexts it uses). Sensitive
        property and parameter values are left out."""
        group = copy.deepcopy(self._group(group_id))
        for g in group.walk():
            for kind, items in (("processor", g.processors), ("controller-service", g.controller_services)):
                for c in items:
                    for name in self._sensitive_names(c.type, c.properties, kind):
                        c.properties[name] = None
        used = {g.parameter_context for g in group.walk() if g.parameter_context is not None}
        contexts = []
        for ctx in self.flow.parameter_contexts:
            if ctx.identifier in used:
                ctx = copy.deepcopy(ctx)
                for p in ctx.parameters:
                    if p.sensitive:
                        p.value = None
                contexts.append(parameter_context_to_dict(ctx))
        return {"flowyardFlowVersion": FORMAT_VERSION, "parameterContexts": contexts,
                "rootGroup": group_to_dict(group)}

    @_serialized
    async def import_group(self, parent_group_id: str, data: Any, *, position: Any = None,
                           user: str | None = None) -> dict[str, Any]:
        """Add a flowyard flow file (an export, or a whole flow) as a new process group
        in ``parent_group_id``, with fresh identifiers. Its parameter contexts are
        matched by name to existing ones, or created. One undoable edit."""
        imported = flow_from_dict(data, source="import")
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
        renamed = _renamed(imported, fresh, contexts)
        for g in renamed.walk():  # NiFi imports everything stopped
            for pdef in g.processors:
                if pdef.scheduled_state != "DISABLED":
                    pdef.scheduled_state = "STOPPED"
            for port in (*g.input_ports, *g.output_ports):
                if port.scheduled_state != "DISABLED":
                    port.scheduled_state = "STOPPED"
        doc = group_to_dict(renamed)
        doc["name"] = imported.name if imported.name != "Flow" else "Imported flow"
        if position is not None:
            doc["position"] = position
        self.flow.parameter_contexts += added
        try:
            created = await self.create("process-group", doc, parent_group_id=parent_group_id, user=user)
        except BaseException:
            for ctx in added:
                self.flow.parameter_contexts.remove(ctx)
            raise
        for ctx in added:
            self.revisions[ctx.identifier] = 0
        self._save()
        return created

    # -- undo / redo --------------------------------------------------------------------

    def _record(self, user: str | None, edit: _Edit) -> None:
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

    def _unchanged_since(self, edit: _Edit, state: dict[str, Any] | None, *, whole: bool = False) -> bool:
        """Whether the component is still as ``edit`` left it (``state``): the same
        revision, or — after others' undos — the same definition. ``whole``: a
        process group about to be deleted must also hold what it held then."""
        current = self.revisions.get(edit.component_id, -1)
        exists = edit.component_id in self.revisions
        if state is None or not exists:
            return state is None and not exists
        if whole and edit.kind == "process-group":
            return bool(_runless(self._raw(edit.kind, edit.component_id)) == _runless(state))
        if current == edit.revision:
            return True
        if _comparable(edit.kind, self._raw(edit.kind, edit.component_id)) == _comparable(edit.kind, state):
            edit.revision = current
            return True
        return False

    async def _apply(self, action: str, edit: _Edit, doc: dict[str, Any] | None) -> int:
        """Perform one change without recording it; returns the component's new revision."""
        if action == "create":
            await self.create(edit.kind, dict(doc or {}), parent_group_id=edit.parent)
            return self.revisions[edit.component_id]
        if action == "delete":
            await self.delete(edit.kind, edit.component_id, edit.revision)
            return -1
        target = dict(doc or {})
        if edit.kind == "process-group":
            target = {k: target.get(k) for k in GROUP_FIELDS}
        target.pop("scheduledState", None)  # run state is not an edit: undo leaves it as it is
        if "properties" in target:  # restore exactly: properties the target lacks are unset
            props: dict[str, Any] = dict(target.get("properties") or {})
            for name in self._raw(edit.kind, edit.component_id).get("properties") or {}:
                props.setdefault(name, None)
            target["properties"] = props
        await self.update(edit.kind, edit.component_id, edit.revision, target)
        return self.revisions[edit.component_id]

    _INVERSE = {"create": "delete", "delete": "create", "update": "update"}

    @_serialized
    async def undo(self, user: str) -> str:
        """Undo ``user``'s last edit. Raises ``RevisionConflict`` if the component
        changed since (nothing is undone then), ``FlowyardError`` if there is nothing."""
        stack = self._undo.get(user)
        if not stack:
            raise FlowyardError("there is nothing to undo")
        edit = stack[-1]
        if not self._unchanged_since(edit, edit.after, whole=edit.action == "create"):
            raise RevisionConflict(f"{edit.description} cannot be undone: the component changed since", {})
        new_revision = await self._apply(self._INVERSE[edit.action], edit, edit.before)
        stack.pop()
        _rebase(stack, edit.component_id, new_revision)
        self._redo.setdefault(user, []).append(
            _Edit(edit.action, edit.kind, edit.component_id, edit.parent, edit.before, edit.after, new_revision))
        return edit.description

    @_serialized
    async def redo(self, user: str) -> str:
        """Redo the edit ``user`` undid last (same rules as ``undo``)."""
        stack = self._redo.get(user)
        if not stack:
            raise FlowyardError("there is nothing to redo")
        edit = stack[-1]
        if not self._unchanged_since(edit, edit.before, whole=edit.action == "delete"):
            raise RevisionConflict(f"{edit.description} cannot be redone: the component changed since", {})
        new_revision = await self._apply(edit.action, edit, edit.after)
        stack.pop()
        _rebase(stack, edit.component_id, new_revision)
        self._undo.setdefault(user, []).append(
            _Edit(edit.action, edit.kind, edit.component_id, edit.parent, edit.before, edit.after, new_revision))
        return edit.description


def _changed_parameters(old: ParameterContextDef, new: ParameterContextDef) -> set[str]:
    """Names of parameters added, removed, or with another value or sensitivity."""
    before = {p.name: (p.value, p.sensitive) for p in old.parameters}
    after = {p.name: (p.value, p.sensitive) for p in new.parameters}
    return {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}


def _renamed(flow: FlowDef, fresh: dict[str, str], contexts: dict[str, str]) -> GroupDef:
    """A copy of ``flow``'s root group with every identifier replaced by ``fresh``'s,
    parameter contexts by ``contexts``', and property values naming a controller
    service of the flow pointed at the service's new identifier."""
    group = GroupDef(**{name: copy.deepcopy(getattr(flow, name)) for name in GroupDef.__slots__})
    for g in group.walk():
        g.identifier = fresh[g.identifier]
        if g.parameter_context is not None:
            g.parameter_context = contexts.get(g.parameter_context)
        for kind, (attr, _) in COMPONENT_KINDS.items():
            if kind == "process-group":
                continue
            for c in getattr(g, attr):
                c.identifier = fresh[c.identifier]
                if kind == "connection":
                    c.source, c.destination = fresh[c.source], fresh[c.destination]
                props = getattr(c, "properties", None)
                if props:
                    for name, value in props.items():
                        if value in fresh:
                            props[name] = fresh[value]
    return group


def _node_ids(group: GroupDef, *, funnels: bool) -> list[str]:
    """Identifiers of a group's engine nodes: processors and ports (and funnels)."""
    ids = [p.identifier for p in group.processors]
    ids += [p.identifier for p in (*group.input_ports, *group.output_ports)]
    return ids + ([f.identifier for f in group.funnels] if funnels else [])


def _default_stopped(group: Any) -> None:
    """A group's processors given without a ``scheduledState`` are created STOPPED (in place)."""
    if not isinstance(group, dict):
        return
    for p in group.get("processors") or []:
        if isinstance(p, dict):
            p.setdefault("scheduledState", "STOPPED")
    for child in group.get("processGroups") or []:
        _default_stopped(child)


def _runless(doc: Any) -> Any:
    """``doc`` without run states (they change without being edits)."""
    if isinstance(doc, dict):
        return {k: _runless(v) for k, v in doc.items() if k != "scheduledState"}
    if isinstance(doc, list):
        return [_runless(v) for v in doc]
    return doc


def _only_layout(old: ProcessorDef, new: ProcessorDef) -> bool:
    """Whether two processor definitions differ in position and comments at most."""
    return dataclasses.replace(old, position=new.position, comments=new.comments) == new
