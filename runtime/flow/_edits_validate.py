"""``validate(flow, edit, ctx)``: whether an edit may be applied, with an
``EditRefused`` naming the edit and the place when not.

It holds every rule the service checked before changing the flow:
identifiers fresh and valid, room, depth, connection ends, sensitive
parameters only in sensitive properties, contexts exist, names not blank,
type unchanged, a group's own fields only, a parameter's sensitivity
unchanged, a service's configuration changed only while it is disabled in the
flow, nothing deleted that connections still join, ``expect``; the file
format's rules on every value (through the reader of ``_json``); and NiFi's
rules the engine enforced at run time, on the flow's desired states: a
connection's source never changes, an enabled service is not deleted, a
service is disabled only with the running processors and after the enabled
services that reference it, a disabled processor or port starts only once
enabled. What depends on the running engine (a queue
holding flowfiles) is not checked here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

from flowyard.runtime.flow._edits_apply import (
    apply,
    field_value,
    updated_component,
    updated_context,
)
from flowyard.runtime.flow._edits_checks import (
    configured,
    ends_problem,
    round_trip_problem,
    sensitive_problem,
)
from flowyard.runtime.flow._edits_describe import describe, kind_label, named
from flowyard.runtime.flow._edits_json import FIELD_KEYS
from flowyard.runtime.flow._edits_model import (
    Batch,
    BindParameterContext,
    CreateComponent,
    CreateParameterContext,
    DeleteComponent,
    DeleteParameterContext,
    Edit,
    EditContext,
    EditRefused,
    ImportGroup,
    MoveComponents,
    SetRunState,
    SetServiceState,
    UpdateComponent,
    UpdateParameterContext,
)
from flowyard.runtime.flow._edits_move import validate_move
from flowyard.runtime.flow._edits_paths import referencing_processors, referencing_services, subtree_ids
from flowyard.runtime.flow._index import FlowIndex
from flowyard.runtime.flow._json import group_height, parameter_context_from_dict, parameter_context_to_dict
from flowyard.runtime.flow._model import (
    COMPONENT_KINDS,
    SCHEDULED_STATES,
    SERVICE_STATES,
    ConnectionDef,
    ControllerServiceDef,
    FlowDef,
    FunnelDef,
    GroupDef,
    LabelDef,
    ParameterContextDef,
    PortDef,
    ProcessorDef,
)
from flowyard.runtime.sdk._errors import FlowDefinitionError

__all__ = ["validate"]

_CLASSES: dict[str, type] = {
    "processor": ProcessorDef, "connection": ConnectionDef, "funnel": FunnelDef, "input-port": PortDef,
    "output-port": PortDef, "label": LabelDef, "controller-service": ControllerServiceDef,
    "process-group": GroupDef}
#: Kinds whose name, when given, must not be blank.
_NAMED = ("processor", "input-port", "output-port", "process-group")
#: The fields of a process group itself (its contents and binding change through their own edits).
_GROUP_FIELDS = ("name", "position", "comments", "execution_engine", "max_concurrent_tasks",
                 "stateless_flow_timeout")
_KEY_FIELDS = {key: name for name, key in FIELD_KEYS.items()}


def validate(flow: FlowDef, edit: Edit, ctx: EditContext | None = None) -> None:
    """Raise ``EditRefused`` when ``edit`` cannot be applied to ``flow``."""
    _Check(flow, edit, ctx or EditContext()).run(edit)


class _Check:
    def __init__(self, flow: FlowDef, edit: Edit, ctx: EditContext) -> None:
        self.flow, self.ctx = flow, ctx
        self.index = FlowIndex.of(flow)
        self.label = describe(flow, edit)
        self.contexts = {c.identifier: c for c in flow.parameter_contexts}

    def fail(self, where: str, message: str, invariant: bool = False) -> NoReturn:
        raise EditRefused(self.label, message, where=where, invariant=invariant)

    def run(self, edit: Edit) -> None:
        if isinstance(edit, Batch):
            self.batch(edit)
        elif isinstance(edit, CreateComponent):
            self.create(edit)
        elif isinstance(edit, DeleteComponent):
            self.delete(edit)
        elif isinstance(edit, UpdateComponent):
            self.update(edit)
        elif isinstance(edit, MoveComponents):
            validate_move(self.flow, self.index, edit, self.ctx, self.fail)
        elif isinstance(edit, SetRunState):
            self.states(edit.states, ("processor", "input-port", "output-port"), SCHEDULED_STATES)
        elif isinstance(edit, SetServiceState):
            self.states(edit.states, ("controller-service",), SERVICE_STATES)
            self.service_states(edit)
        elif isinstance(edit, BindParameterContext):
            self.bind(edit)
        elif isinstance(edit, CreateParameterContext):
            self.new_context(edit.context, "context", set())
            self.room(1, "context")
            if edit.index is not None and not 0 <= edit.index <= len(self.flow.parameter_contexts):
                self.fail("index", f"must be from 0 to {len(self.flow.parameter_contexts)}", invariant=True)
        elif isinstance(edit, DeleteParameterContext):
            self.delete_context(edit)
        elif isinstance(edit, UpdateParameterContext):
            self.update_context(edit)
        elif isinstance(edit, ImportGroup):
            self.import_group(edit)
        else:
            raise TypeError(f"not an edit: {type(edit).__name__}")

    # -- components -------------------------------------------------------------------

    def batch(self, edit: Batch) -> None:
        current = self.flow
        for i, e in enumerate(edit.edits):
            try:
                validate(current, e, self.ctx)
            except EditRefused as exc:
                where = f"edits[{i}]" + (f".{exc.where}" if exc.where else "")
                # a broken middle step may be mended by a later one: only the last part's refusal says the
                # batch's result would break the flow's rules
                raise EditRefused(f"{self.label}: {exc.edit}", exc.reason, where=where,
                                  invariant=exc.invariant and i == len(edit.edits) - 1) from None
            current = apply(current, e)

    def group(self, group_id: str, where: str) -> GroupDef:
        group = self.index.group(group_id)
        if group is None:
            self.fail(where, f"no process group has id {group_id!r}", invariant=True)
        return group

    def create(self, edit: CreateComponent) -> None:
        if edit.kind not in COMPONENT_KINDS:
            self.fail("kind", f"{edit.kind!r} is not one of {', '.join(COMPONENT_KINDS)}", invariant=True)
        if not isinstance(edit.component, _CLASSES[edit.kind]) or isinstance(edit.component, FlowDef):
            self.fail("component", f"is not a {kind_label(edit.kind)}", invariant=True)
        group = self.group(edit.group_id, "groupId")
        items = getattr(group, COMPONENT_KINDS[edit.kind][0])
        if edit.index is not None and not 0 <= edit.index <= len(items):
            self.fail("index", f"must be from 0 to {len(items)}", invariant=True)
        self.new_component(edit.kind, edit.component, group, "component", self.contexts)

    def new_component(self, kind: str, component: Any, group: GroupDef, where: str,
                      contexts: Mapping[str, ParameterContextDef], added_contexts: int = 0) -> None:
        """What a component (a group with all in it) joining ``group`` must satisfy."""
        problem = round_trip_problem(kind, component)
        if problem is not None:
            self.fail(f"{where}.{problem[0]}".rstrip("."), problem[1], invariant=True)
        name = getattr(component, "name", "")
        if kind in _NAMED and name and not name.strip():
            self.fail(f"{where}.name", "must not be blank")
        ids = [component.identifier]
        if kind == "process-group":
            ids += [i for i, _, _ in subtree_ids(component)]
        for ident in ids:
            if ident in self.index.location or ident in self.index.groups or ident in contexts:
                self.fail(f"{where}.identifier" if ident == component.identifier else where,
                          f"identifier {ident!r} is already used", invariant=True)
        self.room(len(ids) + added_contexts, where)  # what the reader counts: every group and component
        if kind == "connection":
            found = ends_problem(component, group)
            if found is not None:
                self.fail(f"{where}.{found[0]}", found[1], invariant=True)
        elif kind in ("processor", "controller-service"):
            self.sensitive(component, kind, group.parameter_context, f"{where}.", contexts)
        elif kind == "process-group":
            depth = self.index.depth(group.identifier) + 1 + group_height(component)
            if depth > self.ctx.max_depth:
                self.fail(where, f"process groups nest at most {self.ctx.max_depth} levels deep; this group "
                                 f"would reach level {depth}", invariant=True)
            for path, g in _group_paths(component, where):
                if g.parameter_context is not None and g.parameter_context not in contexts:
                    self.fail(f"{path}.parameterContext.id",
                              f"no parameter context has identifier {g.parameter_context!r}", invariant=True)
                for key, k in (("processors", "processor"), ("controllerServices", "controller-service")):
                    for i, c in enumerate(getattr(g, COMPONENT_KINDS[k][0])):
                        self.sensitive(c, k, g.parameter_context, f"{path}.{key}[{i}].", contexts)

    def room(self, added: int, where: str) -> None:
        if self.index.size + added > self.ctx.max_components:
            self.fail(where, f"a flow holds at most {self.ctx.max_components:,} components; it has "
                             f"{self.index.size:,}, and this change adds {added:,}", invariant=True)

    def sensitive(self, component: Any, kind: str, context_id: str | None, where: str,
                  contexts: Mapping[str, ParameterContextDef], *, at: str | None = None) -> None:
        """The sensitive-parameter rule for ``component`` under context ``context_id``;
        refused at ``where`` + the property's place, or at ``at`` when given."""
        problem = sensitive_problem(component, kind, contexts.get(context_id or ""), self.ctx.specs)
        if problem is not None:
            key = problem[0].split(".", 1)[1]
            self.fail(at if at is not None else f"{where}{problem[0]}",
                      f"{kind_label(kind)} {named(component)!r} property {key!r} {problem[1]}", invariant=True)

    def find(self, ident: str, where: str) -> tuple[GroupDef | None, str, Any]:
        if ident == self.flow.identifier:
            return None, "process-group", self.flow
        found = self.index.find(ident)
        if found is None:
            self.fail(where, f"no component has id {ident!r}", invariant=True)
        return found

    def delete(self, edit: DeleteComponent) -> None:
        group, kind, component = self.find(edit.component_id, "componentId")
        if group is None:
            self.fail("componentId", "the root process group cannot be deleted")
        if kind != edit.kind:
            self.fail("kind", f"no {kind_label(edit.kind)} has id {edit.component_id!r} (it is a {kind_label(kind)})",
                      invariant=True)
        if kind == "controller-service" and component.scheduled_state == "ENABLED":
            self.fail("componentId", f"controller service {named(component)!r} is enabled; disable it before "
                                     "removing it")
        joined = {component.identifier}
        if kind == "process-group":
            joined = {p.identifier for p in (*component.input_ports, *component.output_ports)}
        outer = self.index.group(self.index.parent.get(group.identifier))
        places = [group, *([outer] if kind in ("input-port", "output-port") and outer else [])]
        attached = [c for g in places for c in g.connections if {c.source, c.destination} & joined]
        if attached:
            self.fail("componentId", f"{kind_label(kind)} {named(component)!r} still has connection(s) "
                                     f"{', '.join(repr(named(c)) for c in attached)}: remove them first",
                      invariant=True)

    def update(self, edit: UpdateComponent) -> None:
        group, kind, old = self.find(edit.component_id, "componentId")
        fields = {f.name for f in dataclasses.fields(_CLASSES[kind])} - {"identifier"}
        for key, value in edit.changes.items():
            where = f"changes.{key}"
            if key == "identifier" and value != old.identifier:
                self.fail(where, "the identifier of a component cannot change")
            if key == "type" and value != old.type:
                self.fail(where, f"the type of a {kind_label(kind)} cannot change; add a new one instead")
            if kind == "process-group" and key not in (*_GROUP_FIELDS, "identifier"):
                self.fail(where, f"{key!r} of a process group changes through its own resources; a group's own "
                                 "fields are name, position, comments, execution_engine, max_concurrent_tasks and "
                                 "stateless_flow_timeout (its parameter context changes by binding)")
            if key not in fields and key != "identifier":
                self.fail(where, f"a {kind_label(kind)} has no field {key!r}")
        if (edit.properties or "properties" in edit.changes) and kind not in ("processor", "controller-service"):
            self.fail("properties", f"a {kind_label(kind)} has no properties")
        for key, seen in edit.expect.items():
            self.expect(old, key, seen)
        try:
            new = updated_component(old, edit.changes, edit.properties)
        except (TypeError, ValueError) as exc:
            self.fail("changes", f"cannot be applied: {exc}", invariant=True)
        if kind == "process-group":  # its own fields only: check it without its contents
            problem = round_trip_problem(kind, GroupDef(
                new.identifier, new.name, new.position, new.comments, execution_engine=new.execution_engine,
                max_concurrent_tasks=new.max_concurrent_tasks, stateless_flow_timeout=new.stateless_flow_timeout))
        else:
            problem = round_trip_problem(kind, new)
        if problem is not None:
            self.fail(self.changed_place(problem[0], edit), problem[1], invariant=True)
        if kind in _NAMED and "name" in edit.changes and not str(new.name).strip():
            self.fail("changes.name", "must not be blank")
        if kind == "connection" and new.source != old.source:
            self.fail("changes.source", "the source of a connection cannot change; connect anew instead")
        if kind == "connection" and new.destination != old.destination:
            found = ends_problem(new, group) if group is not None else None
            if found is not None:
                self.fail(f"changes.{found[0].split('.')[0]}", found[1], invariant=True)
        if kind in ("processor", "controller-service") and new.properties != old.properties:
            assert group is not None
            self.sensitive(new, kind, group.parameter_context, "", self.contexts)
        if kind == "controller-service" and configured(old, new) and old.scheduled_state == "ENABLED" \
                and new.scheduled_state == "ENABLED":
            self.fail("properties" if new.properties != old.properties else "changes.name",
                      f"controller service {named(old)!r} is enabled; disable it before changing it "
                      "(or send scheduledState DISABLED with the change)")

    def changed_place(self, json_where: str, edit: UpdateComponent) -> str:
        """The place in ``edit`` of a problem the reader found at ``json_where`` of the new component."""
        head = json_where.split(".")[0].split("[")[0]
        if head == "properties":
            return json_where
        field = _KEY_FIELDS.get(head, head)
        if field == "partitioning_attribute" and field not in edit.changes and "load_balance_strategy" in edit.changes:
            return "changes.load_balance_strategy"  # the strategy changed to one that needs the attribute
        return f"changes.{field}" if field in edit.changes else f"changes.{json_where}"

    def expect(self, old: Any, key: str, seen: Any) -> None:
        if key.startswith("properties."):
            current = getattr(old, "properties", {}).get(key[len("properties."):])
        elif key in {f.name for f in dataclasses.fields(old)}:
            current = field_value(getattr(old, key))
        else:
            self.fail(f"expect.{key}", f"a {type(old).__name__} has no field {key!r}")
        if field_value(seen) != current and not (isinstance(current, tuple) and _same(current, seen)):
            if key.startswith("properties."):  # a property may be sensitive: its values are never shown
                self.fail(f"expect.{key}", "it changed meanwhile")
            self.fail(f"expect.{key}", f"is {current!r} now, not {seen!r}: it changed meanwhile")

    # -- run states -------------------------------------------------------------------

    def states(self, states: Mapping[str, str], kinds: tuple[str, ...], allowed: tuple[str, ...]) -> None:
        """Known components of ``kinds``, states of ``allowed``; a disabled processor
        or port starts only once enabled (NiFi: DISABLED -> STOPPED -> RUNNING)."""
        if not states:
            self.fail("states", "names no component")
        for ident, state in states.items():
            _, kind, component = self.find(ident, f"states.{ident}")
            if kind not in kinds:
                self.fail(f"states.{ident}", f"is a {kind_label(kind)}, not a "
                                             f"{' or '.join(map(kind_label, kinds))}", invariant=True)
            if state not in allowed:
                self.fail(f"states.{ident}", f"{state!r} is not one of {', '.join(allowed)}", invariant=True)
            if state == "RUNNING" and component.scheduled_state == "DISABLED":
                self.fail(f"states.{ident}", f"{kind_label(kind)} {named(component)!r} is disabled: enable it first")

    def service_states(self, edit: SetServiceState) -> None:
        """NiFi's rules: a service that running processors reference is disabled
        only with them stopped; one that enabled services reference, only after them."""
        for ident, state in edit.states.items():
            enabled = [s for s in referencing_services(self.index, ident)
                       if s.scheduled_state == "ENABLED" and edit.states.get(s.identifier) != "DISABLED"]
            if state == "DISABLED" and enabled:
                self.fail(f"states.{ident}", f"is referenced by enabled controller service(s) "
                                             f"{', '.join(repr(named(s)) for s in enabled)}: disable them first")
            if state == "DISABLED" and not edit.stop_referencing:
                running = [p for p in referencing_processors(self.index, ident) if p.scheduled_state == "RUNNING"]
                if running:
                    self.fail(f"states.{ident}", f"running processor(s) {', '.join(repr(named(p)) for p in running)}"
                                                 " reference this service: stop them first, or ask to stop them "
                                                 "with it (stop_referencing)")

    # -- parameter contexts ---------------------------------------------------------------

    def bind(self, edit: BindParameterContext) -> None:
        group = self.group(edit.group_id, "groupId")
        if edit.context_id is not None and edit.context_id not in self.contexts:
            self.fail("contextId", f"no parameter context has id {edit.context_id!r}", invariant=True)
        for kind, items in (("processor", group.processors), ("controller-service", group.controller_services)):
            for c in items:
                self.sensitive(c, kind, edit.context_id, "", self.contexts, at="contextId")

    def new_context(self, ctx: ParameterContextDef, where: str, names: set[str],
                    contexts: Mapping[str, ParameterContextDef] | None = None) -> None:
        try:
            back = parameter_context_from_dict(parameter_context_to_dict(ctx), where=where)
        except FlowDefinitionError as exc:
            self.fail(exc.where, exc.reason, invariant=True)
        except (AttributeError, TypeError) as exc:
            self.fail(where, f"is not a parameter context ({exc})", invariant=True)
        if back != ctx:
            self.fail(where, "would not read back the same", invariant=True)
        if ctx.identifier in self.index.location or ctx.identifier in self.index.groups \
                or ctx.identifier in (contexts or self.contexts):
            self.fail(f"{where}.identifier", f"identifier {ctx.identifier!r} is already used", invariant=True)
        taken = names | {c.name for c in self.flow.parameter_contexts}
        if ctx.name in taken:
            self.fail(f"{where}.name", f"a parameter context is already named {ctx.name!r}", invariant=True)

    def delete_context(self, edit: DeleteParameterContext) -> None:
        ctx = self.contexts.get(edit.context_id)
        if ctx is None:
            self.fail("contextId", f"no parameter context has id {edit.context_id!r}", invariant=True)
        bound = [g for g in self.flow.walk() if g.parameter_context == edit.context_id]
        if bound:
            self.fail("contextId", f"parameter context {ctx.name!r} is used by process group(s) "
                                   f"{', '.join(repr(named(g)) for g in bound)}: bind them to another context first",
                      invariant=True)

    def update_context(self, edit: UpdateParameterContext) -> None:
        old = self.contexts.get(edit.context_id)
        if old is None:
            self.fail("contextId", f"no parameter context has id {edit.context_id!r}", invariant=True)
        names = [p.name for p in edit.set]
        for i, name in enumerate(names):
            if names.index(name) != i:
                self.fail(f"set[{i}].name", f"parameter {name!r} is set twice", invariant=True)
            if name in edit.remove:
                self.fail(f"set[{i}].name", f"parameter {name!r} is both set and removed")
        present = {p.name: p for p in old.parameters}
        for i, p in enumerate(edit.set):
            if p.name in present and present[p.name].sensitive != p.sensitive:
                self.fail(f"set[{i}].sensitive", f"parameter {p.name!r}: whether a parameter is sensitive cannot "
                                                 "change; remove it and add it again")
        for i, name in enumerate(edit.remove):
            if name not in present:
                self.fail(f"remove[{i}]", f"parameter context {old.name!r} has no parameter {name!r}")
        added = [n for n in names if n not in present]
        for name, at in edit.indexes.items():
            if name not in added:
                self.fail(f"indexes.{name}", "names no parameter this edit adds")
            if isinstance(at, bool) or not isinstance(at, int) or not 0 <= at < len(present) - len(edit.remove) \
                    + len(added) or list(edit.indexes.values()).count(at) > 1:
                self.fail(f"indexes.{name}", "must be a distinct whole number within the new list of parameters")
        try:
            new = updated_context(old, edit)
        except (TypeError, AttributeError, IndexError) as exc:
            self.fail("set", f"cannot be applied: {exc}", invariant=True)
        try:
            back = parameter_context_from_dict(parameter_context_to_dict(new))
        except FlowDefinitionError as exc:
            self.fail(self.context_place(exc.where, new, edit), exc.reason, invariant=True)
        if back != new:
            self.fail("set", "would not read back the same", invariant=True)
        if new.name != old.name and new.name in {c.name for c in self.flow.parameter_contexts}:
            self.fail("name", f"a parameter context is already named {new.name!r}", invariant=True)
        contexts = {**self.contexts, new.identifier: new}
        for g in self.flow.walk():
            if g.parameter_context == new.identifier:
                for kind, items in (("processor", g.processors), ("controller-service", g.controller_services)):
                    for c in items:
                        self.sensitive(c, kind, new.identifier, "", contexts, at="set")

    @staticmethod
    def context_place(where: str, new: ParameterContextDef, edit: UpdateParameterContext) -> str:
        """The place in ``edit`` of a problem found at ``where`` (``parameterContext.parameters[3].name``)."""
        rest = where.split(".", 1)[1] if "." in where else where
        if rest.startswith("parameters["):
            i = int(rest[len("parameters["):rest.index("]")])
            name = new.parameters[i].name if i < len(new.parameters) else ""
            j = next((k for k, p in enumerate(edit.set) if p.name == name), None)
            return f"set[{j}]{rest[rest.index(']') + 1:]}" if j is not None else "set"
        return rest

    def import_group(self, edit: ImportGroup) -> None:
        parent = self.group(edit.group_id, "groupId")
        contexts = dict(self.contexts)
        names: set[str] = set()
        for i, ctx in enumerate(edit.new_contexts):
            self.new_context(ctx, f"newContexts[{i}]", names, contexts)
            contexts[ctx.identifier] = ctx
            names.add(ctx.name)
        if not isinstance(edit.group, GroupDef) or isinstance(edit.group, FlowDef):
            self.fail("group", "is not a process group", invariant=True)
        self.new_component("process-group", edit.group, parent, "group", contexts, len(edit.new_contexts))


def _same(current: tuple[Any, ...], seen: Any) -> bool:
    """A position or list as JSON gives it ([x, y], lists) equals the model's tuple."""
    try:
        return tuple(tuple(v) if isinstance(v, list) else v for v in seen) == current
    except TypeError:
        return False


def _group_paths(group: GroupDef, where: str) -> Iterator[tuple[str, GroupDef]]:
    """(place in the edit, group) of ``group`` and every group below it."""
    yield where, group
    for i, child in enumerate(group.groups):
        yield from _group_paths(child, f"{where}.processGroups[{i}]")
