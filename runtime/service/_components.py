"""Editing the live flow through the API: every component kind created, changed
and deleted with revisions.

Kinds (``KINDS``): processor, connection, funnel, input-port, output-port,
label, controller-service, process-group (the parts of a group, see
``flow.COMPONENT_KINDS``) and parameter-context (top level). Every change
names the revision it saw; a stale one raises ``RevisionConflict`` carrying the
component as it is now. A request becomes an edit (``flow.edits``) with
property keys, applied by ``EditsMixin._commit`` — validated, logged, saved,
then reconciled by the engine — before it returns.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import trio

from flowyard.runtime.flow import (
    COMPONENT_KINDS,
    ControllerServiceDef,
    ParameterContextDef,
    ProcessorDef,
    component_from_dict,
    group_from_dict,
    map_group,
    parameter_context_from_dict,
    position_from_dict,
)
from flowyard.runtime.flow.edits import EditRefused, FlowIndex
from flowyard.runtime.flow.normalize import normalize_properties
from flowyard.runtime.sdk._errors import FlowDefinitionError, FlowyardError
from flowyard.runtime.service._base import SENSITIVE_MASK, RevisionConflict, UnknownComponentError
from flowyard.runtime.service._lookup import _DECORATIONS, GROUP_FIELDS, KINDS, _label, serialized
from flowyard.runtime.service._replica import ReplicaMixin
from flowyard.runtime.service._runstate import RunStateMixin

if TYPE_CHECKING:
    from flowyard.runtime.flow.edits import Edit

__all__ = ["ComponentsMixin"]

#: The most items one ``apply_edits`` request may hold.
MAX_BATCH = 10_000
#: Kinds whose name, when given, must not be blank (NiFi requires their names).
_NAMED = ("processor", "process-group", "input-port", "output-port")
#: Model fields an update never changes itself (identity, and what has its own edits).
_FIXED = ("identifier", "type", "processors", "connections", "funnels", "input_ports", "output_ports", "labels",
          "controller_services", "groups", "parameter_context")


class ComponentsMixin(RunStateMixin, ReplicaMixin):
    """Creating, changing and deleting components (in a cluster, every edit
    through ``ReplicaMixin``)."""

    @serialized
    async def create(self, kind: str, data: Any, *, parent_group_id: str | None = None,
                     user: str | None = None, check_names: bool = True) -> dict[str, Any]:
        """Add a component of ``kind`` from its JSON form (``identifier`` optional;
        ``parentGroupId`` names the group, the root by default). A name given blank
        is refused (``check_names``)."""
        edit, ident = self._create_edit(kind, data, parent_group_id, check_names=check_names)
        await self._commit(edit, user=user, adding=_adding(edit))
        await trio.sleep(0)  # a large group: let the loop run between the steps of the edit
        return self.component(kind, ident)

    def _create_edit(self, kind: str, data: Any, parent_group_id: str | None, *,
                     check_names: bool = True) -> tuple[Edit, str]:
        """The edit that creates a component of ``kind`` from its JSON form, and its id."""
        from flowyard.runtime.flow.edits import CreateComponent, CreateParameterContext

        if kind not in KINDS:
            raise UnknownComponentError(f"unknown component kind {kind!r}")
        if not isinstance(data, dict):
            raise FlowyardError(f"expected a JSON object describing the {_label(kind)}")
        parent_id = data.get("parentGroupId")
        if parent_id is not None and not isinstance(parent_id, str):
            raise FlowyardError("parentGroupId: expected the id of a process group")
        parent_id = parent_id or parent_group_id or self.flow.identifier
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
        if kind == "parameter-context":
            ctx = parameter_context_from_dict(data)
            return CreateParameterContext(ctx), ctx.identifier
        obj = self._with_keys(kind, component_from_dict(kind, data, require_names=check_names and kind in _NAMED))
        if kind == "controller-service" and self._edit_context().specs.property_specs(kind, obj.type) is None:
            raise FlowDefinitionError(f"unknown controller service type {obj.type!r}; known types: "
                                      f"{', '.join(sorted(self.service_types)) or 'none'}",
                                      source="request", where="controllerService.type")
        parent = self._group(parent_id)
        return CreateComponent(kind, parent.identifier, obj), obj.identifier

    def _with_keys(self, kind: str, obj: Any) -> Any:
        """``obj`` (a group: everything in it) with its property names as keys."""
        if kind == "process-group":
            return map_group(obj, self._with_keys)
        if kind not in ("processor", "controller-service") or not obj.properties:
            return obj
        specs = self._edit_context().specs.property_specs(kind, obj.type)
        props, _ = normalize_properties(obj.type, obj.properties, specs, component_id=obj.identifier)
        return obj if props == obj.properties else dataclasses.replace(obj, properties=props)

    # -- changing -----------------------------------------------------------------------

    @serialized
    async def update(self, kind: str, ident: str, revision: Any, changes: Any, *,
                     user: str | None = None, check_names: bool = True) -> dict[str, Any]:
        """Change a component, live. ``changes`` holds the fields to change;
        ``properties`` are merged (null unsets one, the mask leaves it unchanged)."""
        edit = self._change_edit(kind, ident, revision, changes, check_names=check_names)
        if edit is None:
            if self.replicator is None:  # in a cluster it would move on this node only
                self.revisions[ident] += 1  # nothing to change: the request still counts, as in NiFi
        else:
            await self._commit(edit, user=user)
        return self.component(kind, ident)

    def _change_edit(self, kind: str, ident: str, revision: Any, changes: Any, *,
                     check_names: bool = True) -> Edit | None:
        """The edit that makes ``changes`` to component ``ident`` (None: nothing changes)."""
        obj, _ = self._find(kind, ident)
        current = self.component(kind, ident)
        self._check_revision(ident, revision, current)
        if not isinstance(changes, dict):
            raise FlowyardError("expected a JSON object with the fields to change")
        if "identifier" in changes and changes["identifier"] != ident:
            raise FlowyardError("the identifier of a component cannot change")
        before = self._raw(kind, ident)
        merged = self._merge(kind, obj, before, {k: v for k, v in changes.items() if k not in _DECORATIONS})
        return self._update_edit(kind, obj, merged, renamed=check_names and "name" in changes)

    def _merge(self, kind: str, obj: Any, before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """The component's JSON form with ``changes`` applied; properties merged by
        key (names given as display names or aliases are read as their keys)."""
        merged = copy.deepcopy(before)
        for key, value in changes.items():
            if kind == "process-group" and key not in GROUP_FIELDS:
                raise FlowyardError(f"{key!r} of a process group changes through its own resources; "
                                    f"a group's own fields are {', '.join(GROUP_FIELDS[1:])}")
            if key == "type" and value != before.get("type"):
                raise FlowyardError(f"the type of a {_label(kind)} cannot change; add a new one instead")
            if key == "properties" and isinstance(value, dict) and kind in ("processor", "controller-service"):
                merged["properties"] = self._merged_properties(kind, obj, value)
            elif key == "parameters" and kind == "parameter-context" and isinstance(value, list):
                merged["parameters"] = _merged_parameters(before["parameters"], value)
            else:
                merged[key] = value
        return merged

    def _merged_properties(self, kind: str, obj: ProcessorDef | ControllerServiceDef,
                           given: Mapping[str, Any]) -> dict[str, Any]:
        """``obj``'s properties with ``given`` merged in: null unsets, the mask of a
        sensitive value leaves it as it is; names are read as keys."""
        if not all(isinstance(v, str | None) for v in given.values()):
            return {**obj.properties, **given}  # wrong types: the parser names them
        specs = self._edit_context().specs.property_specs(kind, obj.type)
        keyed, _ = normalize_properties(obj.type, given, specs, component_id=obj.identifier)
        secret = self._sensitive_names(obj.type, keyed, kind)
        props = dict(obj.properties)
        for name, value in keyed.items():
            if value == SENSITIVE_MASK and name in secret:
                continue  # the mask sent back means "unchanged"
            if value is None:
                props.pop(name, None)
            else:
                props[name] = value
        return props

    def _update_edit(self, kind: str, obj: Any, merged: dict[str, Any], *, renamed: bool) -> Edit | None:
        """The edit that turns ``obj`` into ``merged`` (None: nothing changes)."""
        from flowyard.runtime.flow.edits import Batch, BindParameterContext, UpdateComponent

        if kind == "parameter-context":
            return _context_edit(obj, parameter_context_from_dict(merged))
        if kind == "process-group":
            new = group_from_dict({k: merged.get(k) for k in GROUP_FIELDS if merged.get(k) is not None},
                                  require_names=renamed)
            edits: list[Edit] = []
            fields = {f: getattr(new, f) for f in ("name", "position", "comments", "execution_engine",
                                                   "max_concurrent_tasks", "stateless_flow_timeout")
                      if getattr(new, f) != getattr(obj, f)}
            if fields:
                edits.append(UpdateComponent(obj.identifier, fields))
            if new.parameter_context != obj.parameter_context:
                edits.append(BindParameterContext(obj.identifier, new.parameter_context))
            return None if not edits else edits[0] if len(edits) == 1 else Batch(tuple(edits))
        new_obj = component_from_dict(kind, merged, require_names=renamed and kind in _NAMED)
        fields = {f.name: _field(getattr(new_obj, f.name)) for f in dataclasses.fields(new_obj)
                  if f.name not in _FIXED and f.name != "properties"
                  and getattr(new_obj, f.name) != getattr(obj, f.name)}
        props: dict[str, str | None] = {}
        if hasattr(obj, "properties") and new_obj.properties != obj.properties:
            old_props, new_props = obj.properties, new_obj.properties
            if any(new_props.get(k, "") is None or old_props.get(k, "") is None
                   for k in {*old_props, *new_props}):
                fields["properties"] = dict(new_props)  # a key held with no value: the whole map
            else:
                props = {k: new_props.get(k) for k in {*old_props, *new_props}
                         if old_props.get(k) != new_props.get(k)}
        if not fields and not props:
            return None
        return UpdateComponent(obj.identifier, fields, props)

    # -- deleting -----------------------------------------------------------------------

    @serialized
    async def delete(self, kind: str, ident: str, revision: Any, *, drop: bool = False,
                     user: str | None = None) -> int:
        """Remove a component. Something holding queued flowfiles is refused unless
        ``drop``; returns how many flowfiles were dropped."""
        done = await self._commit(self._delete_edit(kind, ident, revision, drop=drop), user=user)
        return done.report.dropped

    def _delete_edit(self, kind: str, ident: str, revision: Any, *, drop: bool = False) -> Edit:
        from flowyard.runtime.flow.edits import DeleteComponent, DeleteParameterContext

        _, parent = self._find(kind, ident)
        current = self.component(kind, ident)
        self._check_revision(ident, revision, current)
        if kind == "parameter-context":
            return DeleteParameterContext(ident)
        if parent is None:
            raise FlowyardError("the root process group cannot be deleted")
        return DeleteComponent(kind, ident, drop_queued=bool(drop))

    # -- several at once ----------------------------------------------------------------

    @serialized
    async def apply_edits(self, description: Any, items: Any, *, user: str | None = None) -> dict[str, Any]:
        """Several creates, updates and deletes as ONE edit (all or nothing, one
        undo step, one history entry): paste, auto-layout, align, deleting a
        selection. Each item is ``{"action": "create", "kind", "data"}``,
        ``{"action": "update", "kind", "id", "revision", "changes"}`` or
        ``{"action": "delete", "kind", "id", "revision", "drop"}``, read as the
        single routes read them; each sees the flow as the items before it left
        it. A problem names its item (``edits[2].properties``). Returns
        ``{"description", "results": [component JSON | {"deleted", "dropped"}]}``."""
        from flowyard.runtime.flow.edits import Batch, apply, describe, validate

        if not isinstance(items, list) or not items:
            raise FlowyardError("edits: expected a non-empty list of edits")
        if len(items) > MAX_BATCH:
            raise FlowyardError(f"edits: at most {MAX_BATCH:,} edits at once, not {len(items):,}")
        if description is not None and (not isinstance(description, str) or len(description) > 200):
            raise FlowyardError("description: expected text of at most 200 characters")
        live, edits, done_ids = self.flow, [], []
        acted: dict[str, int] = {}  # id -> the item that created, changed or deleted it
        try:
            for i, item in enumerate(items):
                try:
                    edit, ident = self._item_edit(item)
                    for j in (acted.get(x) for x in _ids_acted_on(self, edit, ident)):
                        if j is not None:  # the results, and the queues, must be what the request says
                            raise FlowyardError(f"{ident!r} is created, changed or removed by edits[{j}] of this "
                                                "request already: one item per component")
                    if edit is not None:
                        validate(self.flow, edit, self._edit_context())
                        acted.update(dict.fromkeys(_ids_acted_on(self, edit, ident), i))
                        self.flow = apply(self.flow, edit)  # what the next item sees (nothing reads meanwhile)
                        edits.append(edit)
                    done_ids.append((item["action"], item["kind"], ident))
                except FlowDefinitionError as exc:
                    problems = [(_item_field(i, w, exc.source), m) for w, m in exc.problems]
                    raise FlowDefinitionError(problems[0][1], source="edits", where=problems[0][0],
                                              problems=problems) from None
                except UnknownComponentError as exc:
                    raise UnknownComponentError(f"edits[{i}]: {exc}") from None
                except RevisionConflict as exc:
                    raise RevisionConflict(f"edits[{i}]: {exc}", exc.current) from None
                except FlowyardError as exc:
                    raise FlowyardError(f"edits[{i}]: {exc}") from None
            index = FlowIndex.of(self.flow)
            for i, (action, kind, ident) in enumerate(done_ids):  # nothing created or changed is then removed
                if action != "delete" and ident not in index.location and ident not in index.groups \
                        and all(c.identifier != ident for c in self.flow.parameter_contexts):
                    raise FlowyardError(f"edits[{i}]: {_label(kind)} {ident!r} is removed by a later edit of this "
                                        "request")
            final = self.flow
        finally:
            self.flow = live
        if not edits:
            return {"description": description or "nothing", "dropped": 0,
                    "results": [{"deleted": i} if a == "delete" else self.component(k, i) for a, k, i in done_ids]}
        text = description or (describe(live, edits[0]) if len(edits) == 1 else f"{len(edits)} edits")
        try:
            done = await self._commit(Batch(tuple(edits), text), user=user, adding=sum(map(_adding, edits)))
        except FlowDefinitionError as exc:  # found by the engine's preflight on the whole new flow: name the item
            item = acted.get(_component_at(final, exc.where) or "")
            if item is None:
                raise
            raise FlowDefinitionError(exc.reason, source="edits", where=f"edits[{item}]") from None
        results: list[dict[str, Any]] = []
        for action, kind, ident in done_ids:
            if action == "delete":
                results.append({"deleted": ident})
            else:
                results.append(self.component(kind, ident))
        return {"description": text, "results": results, "dropped": done.report.dropped}

    def _item_edit(self, item: Any) -> tuple[Edit | None, str]:
        if not isinstance(item, dict):
            raise FlowyardError("expected an object with an action")
        action, kind = item.get("action"), item.get("kind")
        if action not in ("create", "update", "delete"):
            raise FlowyardError(f"action: expected create, update or delete, not {action!r}")
        if kind not in KINDS:
            raise FlowyardError(f"kind: expected one of {', '.join(KINDS)}, not {str(kind)[:40]!r}")
        if action == "create":
            return self._create_edit(kind, item.get("data"), None)
        ident = item.get("id")
        if not isinstance(ident, str):
            raise FlowyardError("id: expected the id of the component")
        if ident not in self.revisions:
            self._find(kind, ident)  # UnknownComponentError, or it was created by an earlier item
            raise FlowyardError(f"{_label(kind)} {ident!r} is created by this same request: change it in its "
                                "create item instead")
        if action == "update":
            return self._change_edit(kind, ident, item.get("revision"), item.get("changes")), ident
        return self._delete_edit(kind, ident, item.get("revision"), drop=item.get("drop") is True), ident

    @serialized
    async def move(self, group_id: str, ids: Any, *, revisions: Any = None, positions: Any = None,
                   user: str | None = None) -> dict[str, Any]:
        """Move components (all of one group) into group ``group_id``, a child or
        the parent of their group, by NiFi's rules (``flow.edits``'s
        ``MoveComponents``): queues and run states are kept. ``revisions``: id ->
        revision seen (each checked when given); ``positions``: id -> {x, y}."""
        from flowyard.runtime.flow.edits import MoveComponents

        self._find("process-group", group_id)
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise FlowyardError("ids: expected a non-empty list of component ids")
        if revisions is not None:
            if not isinstance(revisions, dict):
                raise FlowyardError("revisions: expected an object of component id -> revision")
            for ident, revision in revisions.items():
                if not isinstance(revision, int) or isinstance(revision, bool):
                    raise FlowyardError(f"revisions.{ident}: expected the component's revision (a whole number)")
                self._check_revision(ident, revision, self.component(self.kind_of(ident), ident))
        places: dict[str, tuple[float, float]] = {}
        if positions is not None:
            if not isinstance(positions, dict):
                raise FlowyardError("positions: expected an object of component id -> {x, y}")
            for ident, pos in positions.items():
                places[str(ident)] = position_from_dict(pos, where=f"move.positions.{ident}")
        try:
            await self._commit(MoveComponents(tuple(ids), group_id, places), user=user)
        except EditRefused as exc:  # named as the request names them
            problems = [(w.replace("componentIds", "ids", 1).replace("toGroupId", "groupId", 1), m)
                        for w, m in exc.problems]
            raise EditRefused(exc.edit, problems[0][1], where=problems[0][0]) from None
        return {"moved": list(ids)}

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


def _component_at(flow: Any, where: str) -> str | None:
    """The id of the component at ``where`` in ``flow`` (``rootGroup.processGroups[0].processors[2].type``),
    or None."""
    attrs = {"processGroups": "groups", "processors": "processors", "connections": "connections",
             "controllerServices": "controller_services", "funnels": "funnels", "inputPorts": "input_ports",
             "outputPorts": "output_ports", "labels": "labels"}
    node = flow
    for name, at in re.findall(r"(\w+)\[(\d+)\]", where):
        items = getattr(node, attrs.get(name, ""), None)
        if items is None or int(at) >= len(items):
            return None
        node = items[int(at)]
    return None if node is flow else str(node.identifier)


def _ids_acted_on(service: Any, edit: Edit | None, ident: str) -> list[str]:
    """The ids an item of ``apply_edits`` creates, changes or removes (a group:
    everything in it)."""
    from flowyard.runtime.flow.edits import CreateComponent, DeleteComponent

    if isinstance(edit, CreateComponent):
        ids: list[str] = service._ids_of(edit.kind, edit.component)
        return ids
    if isinstance(edit, DeleteComponent) and edit.kind == "process-group":
        found = FlowIndex.of(service.flow).groups.get(edit.component_id)
        if found is not None:
            inside: list[str] = service._ids_of("process-group", found)
            return inside
    return [ident]


def _item_field(i: int, where: str, source: str) -> str:
    """Where a problem of item ``i`` of ``apply_edits`` is: ``edits[i].<field>``,
    the field named as in the item's JSON (a request's leading kind dropped)."""
    if source == "request":
        where = where.split(".", 1)[1] if "." in where else ""
    return f"edits[{i}].{where}" if where else f"edits[{i}]"


def _adding(edit: Edit) -> int:
    """How many components ``edit`` brings in (a large edit is saved off the loop)."""
    from flowyard.runtime.flow.edits import CreateComponent

    if isinstance(edit, CreateComponent):
        group = edit.component if edit.kind == "process-group" else None
        return 1 + (sum(1 for g in group.walk() for k, (a, _) in COMPONENT_KINDS.items()
                        for _ in getattr(g, a)) if group is not None else 0)
    return 0


def _field(value: Any) -> Any:
    """A model value as an edit holds it (lists as tuples)."""
    return tuple(_field(v) for v in value) if isinstance(value, list) else value


def _merged_parameters(before: list[dict[str, Any]], given: list[Any]) -> list[Any]:
    """The parameters given, each sensitive one sent back masked keeping its value;
    whether a parameter is sensitive cannot change."""
    old = {p["name"]: p for p in before}
    params = []
    for p in given:
        name = p.get("name") if isinstance(p, dict) else None
        if isinstance(name, str) and name in old:
            if bool(p.get("sensitive", False)) != old[name]["sensitive"]:
                raise FlowyardError(f"parameter {name!r}: whether a parameter is sensitive cannot "
                                    "change; remove it and add it again")
            if old[name]["sensitive"] and p.get("value") == SENSITIVE_MASK:
                p = {**p, "value": old[name]["value"]}
        params.append(p)
    return params


def _context_edit(old: ParameterContextDef, new: ParameterContextDef) -> Edit | None:
    """The edit that turns context ``old`` into ``new`` (None: the same)."""
    from flowyard.runtime.flow.edits import UpdateParameterContext

    before = {p.name: p for p in old.parameters}
    after = {p.name: p for p in new.parameters}
    changed = tuple(p for p in new.parameters if before.get(p.name) != p)
    removed = tuple(n for n in before if n not in after)
    name = new.name if new.name != old.name else None
    description = new.description if new.description != old.description else None
    if not changed and not removed and name is None and description is None:
        return None
    return UpdateParameterContext(old.identifier, name, description, changed, removed)


def _default_stopped(group: Any) -> None:
    """A group's processors given without a ``scheduledState`` are created STOPPED (in place)."""
    if not isinstance(group, dict):
        return
    for p in group.get("processors") or []:
        if isinstance(p, dict):
            p.setdefault("scheduledState", "STOPPED")
    for child in group.get("processGroups") or []:
        _default_stopped(child)

