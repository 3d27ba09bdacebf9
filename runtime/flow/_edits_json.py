"""The JSON form of edits: ``edit_to_dict`` and ``edit_from_dict``.

``{"op": "update", "componentId": "...", "changes": {"schedulingPeriod": "5 sec"},
"properties": {"http-url": "..."}, "expect": {"name": "Fetch"}}``: components,
contexts and changed fields are written as the flow file writes them (the
same keys and value shapes, through ``_json``), so the reader's checks and
messages apply. ``edit_from_dict`` raises ``FlowDefinitionError`` naming the
place (``edits[2].changes.schedulingPeriod``) for anything wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from flowyard.runtime.flow._edits_model import (
    Batch,
    BindParameterContext,
    CreateComponent,
    CreateParameterContext,
    DeleteComponent,
    DeleteParameterContext,
    Edit,
    ImportGroup,
    MoveComponents,
    SetRunState,
    SetServiceState,
    UpdateComponent,
    UpdateParameterContext,
)
from flowyard.runtime.flow._json import (
    component_from_dict,
    component_to_dict,
    group_from_dict,
    group_to_dict,
    parameter_context_from_dict,
    parameter_context_to_dict,
    position_from_dict,
)
from flowyard.runtime.flow._limits import MAX_IDENTIFIER, MAX_LIST_ITEMS, MAX_NAME, MAX_TEXT
from flowyard.runtime.flow._model import (
    COMPONENT_KINDS,
    ConnectionDef,
    ControllerServiceDef,
    FunnelDef,
    GroupDef,
    LabelDef,
    ParameterDef,
    PortDef,
    ProcessorDef,
)
from flowyard.runtime.sdk._errors import FlowDefinitionError

__all__ = ["FIELD_KEYS", "KIND_CLASSES", "edit_from_dict", "edit_to_dict"]

#: The class of each kind's definition.
KIND_CLASSES: dict[str, type] = {
    "processor": ProcessorDef, "connection": ConnectionDef, "funnel": FunnelDef, "input-port": PortDef,
    "output-port": PortDef, "label": LabelDef, "controller-service": ControllerServiceDef,
    "process-group": GroupDef}
#: Model field -> its key in the flow file.
FIELD_KEYS = {
    "identifier": "identifier", "type": "type", "name": "name", "position": "position", "properties": "properties",
    "scheduling_strategy": "schedulingStrategy", "scheduling_period": "schedulingPeriod",
    "concurrent_tasks": "concurrentlySchedulableTaskCount", "run_duration": "runDuration",
    "penalty_duration": "penaltyDuration", "yield_duration": "yieldDuration",
    "auto_terminated": "autoTerminatedRelationships", "scheduled_state": "scheduledState", "comments": "comments",
    "bulletin_level": "bulletinLevel", "source": "source", "destination": "destination",
    "relationships": "selectedRelationships", "back_pressure_object_threshold": "backPressureObjectThreshold",
    "back_pressure_data_size_threshold": "backPressureDataSizeThreshold",
    "flowfile_expiration": "flowFileExpiration", "prioritizers": "prioritizers", "bends": "bends",
    "label": "label", "width": "width", "height": "height", "style": "style",
    "execution_node": "executionNode", "load_balance_strategy": "loadBalanceStrategy",
    "partitioning_attribute": "partitioningAttribute", "load_balance_compression": "loadBalanceCompression",
    "execution_engine": "executionEngine", "max_concurrent_tasks": "maxConcurrentTasks",
    "stateless_flow_timeout": "statelessFlowTimeout"}
_FIELDS = {key: name for name, key in FIELD_KEYS.items()}
#: A component of each kind that carries a field, to write and read one field as the flow file does
#: (the connection's partitioning attribute set, so that a strategy alone reads; the rule that joins the
#: two is checked on the whole component by ``validate``).
_CARRIERS: tuple[Any, ...] = (ProcessorDef("x", "x"), ConnectionDef("x", "a", "b", partitioning_attribute="x"),
                              LabelDef("x"),
                              ControllerServiceDef("x", "x"), GroupDef("x"))
_CARRIER_KINDS = ("processor", "connection", "label", "controller-service", "process-group")
_FREE_TEXT = ("scheduled_state", "type")  # their allowed values depend on the component's kind


def _carrier(field: str) -> tuple[str, Any] | None:
    for kind, c in zip(_CARRIER_KINDS, _CARRIERS):
        if field in {f.name for f in dataclasses.fields(c)}:
            return kind, c
    return None


def _field_to_json(field: str, value: Any) -> Any:
    if field in _FREE_TEXT or field == "identifier":
        return value
    found = _carrier(field)
    if found is None:
        return value
    kind, carrier = found
    return component_to_dict(kind, dataclasses.replace(carrier, **{field: value}))[FIELD_KEYS[field]]


def _fields_to_json(fields: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for field, value in fields.items():
        if field.startswith("properties."):
            out[field] = value
        else:
            out[FIELD_KEYS.get(field, field)] = _field_to_json(field, value)
    return out


def edit_to_dict(edit: Edit) -> dict[str, Any]:
    """The JSON form of ``edit`` (inverse of ``edit_from_dict``)."""
    if isinstance(edit, CreateComponent):
        return {"op": "create", "kind": edit.kind, "groupId": edit.group_id,
                "component": component_to_dict(edit.kind, edit.component), "index": edit.index}
    if isinstance(edit, DeleteComponent):
        return {"op": "delete", "kind": edit.kind, "componentId": edit.component_id, "dropQueued": edit.drop_queued}
    if isinstance(edit, UpdateComponent):
        return {"op": "update", "componentId": edit.component_id, "changes": _fields_to_json(edit.changes),
                "properties": dict(edit.properties), "expect": _fields_to_json(edit.expect)}
    if isinstance(edit, MoveComponents):
        return {"op": "move", "componentIds": list(edit.component_ids), "toGroupId": edit.to_group_id,
                "positions": {i: {"x": p[0], "y": p[1]} for i, p in edit.positions.items()},
                "indexes": dict(edit.indexes)}
    if isinstance(edit, SetRunState):
        return {"op": "set-run-state", "states": dict(edit.states)}
    if isinstance(edit, SetServiceState):
        return {"op": "set-service-state", "states": dict(edit.states), "stopReferencing": edit.stop_referencing}
    if isinstance(edit, BindParameterContext):
        return {"op": "bind-parameter-context", "groupId": edit.group_id, "contextId": edit.context_id}
    if isinstance(edit, CreateParameterContext):
        return {"op": "create-parameter-context", "context": parameter_context_to_dict(edit.context),
                "index": edit.index}
    if isinstance(edit, DeleteParameterContext):
        return {"op": "delete-parameter-context", "contextId": edit.context_id}
    if isinstance(edit, UpdateParameterContext):
        return {"op": "update-parameter-context", "contextId": edit.context_id, "name": edit.name,
                "description": edit.description,
                "set": [{"name": p.name, "value": p.value, "sensitive": p.sensitive, "description": p.description}
                        for p in edit.set],
                "remove": list(edit.remove), "indexes": dict(edit.indexes)}
    if isinstance(edit, ImportGroup):
        return {"op": "import-group", "groupId": edit.group_id, "group": group_to_dict(edit.group),
                "newContexts": [parameter_context_to_dict(c) for c in edit.new_contexts]}
    if isinstance(edit, Batch):
        return {"op": "batch", "description": edit.description, "edits": [edit_to_dict(e) for e in edit.edits]}
    raise TypeError(f"not an edit: {type(edit).__name__}")


class _Reader:
    """Typed access to an edit's JSON; each error names the place and stops reading."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> FlowDefinitionError:
        return FlowDefinitionError(message, source=self.source, where=where)

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "expected an object")
        return value

    def get(self, obj: Mapping[str, Any], key: str, where: str) -> Any:
        if key not in obj:
            raise self.fail(_join(where, key), "is required")
        return obj[key]

    def text(self, obj: Mapping[str, Any], key: str, where: str, *, optional: bool = False,
             limit: int = MAX_IDENTIFIER) -> Any:
        value = obj.get(key) if optional else self.get(obj, key, where)
        if value is None and optional:
            return None
        if not isinstance(value, str) or len(value) > limit:
            raise self.fail(_join(where, key), f"must be text of at most {limit:,} characters")
        return value

    def flag(self, obj: Mapping[str, Any], key: str, where: str) -> bool:
        value = obj.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(_join(where, key), "must be true or false")
        return value

    def index(self, obj: Mapping[str, Any], key: str, where: str) -> int | None:
        value = obj.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise self.fail(_join(where, key), "must be a whole number from 0, or null")
        return value

    def mapping(self, obj: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
        value = self.obj(obj.get(key, {}), _join(where, key))
        if len(value) > MAX_LIST_ITEMS:
            raise self.fail(_join(where, key), f"holds more than {MAX_LIST_ITEMS:,} entries")
        return value

    def items(self, obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
        value = obj.get(key, [])
        if not isinstance(value, list) or len(value) > MAX_LIST_ITEMS:
            raise self.fail(_join(where, key), f"must be a list of at most {MAX_LIST_ITEMS:,} items")
        return value

    def names(self, obj: Mapping[str, Any], key: str, where: str, limit: int = MAX_IDENTIFIER) -> tuple[str, ...]:
        values = self.items(obj, key, where)
        for i, v in enumerate(values):
            if not isinstance(v, str) or len(v) > limit:
                raise self.fail(f"{_join(where, key)}[{i}]", f"must be text of at most {limit:,} characters")
        return tuple(values)

    def nested(self, fn: Any, *args: Any, where: str, **kwargs: Any) -> Any:
        """Call a reader of ``_json`` and put ``where`` in front of the place of its error."""
        try:
            return fn(*args, source=self.source, **kwargs)
        except FlowDefinitionError as exc:
            def place(inner: str) -> str:  # the reader's own top name ("processor.", "parameterContext.") goes
                return _join(where, inner.split(".", 1)[1] if "." in inner else "")
            raise FlowDefinitionError(exc.reason, source=self.source, where=place(exc.where),
                                      problems=[(place(w), m) for w, m in exc.problems]) from None

    def fields(self, obj: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
        """Changed fields in the flow file's form -> model fields (edits' values)."""
        found: dict[str, Any] = {}
        for k, value in self.mapping(obj, key, where).items():
            place = f"{_join(where, key)}.{k}"
            if k.startswith("properties."):
                if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
                    raise self.fail(place, "must be text or null")
                found[k] = value
                continue
            field = _FIELDS.get(k)
            if field is None:
                raise self.fail(place, f"unknown field; fields are {', '.join(sorted(_FIELDS))}")
            found[field] = self.field(field, value, place)
        return found

    def field(self, field: str, value: Any, where: str) -> Any:
        if field in _FREE_TEXT or field == "identifier":
            if not isinstance(value, str) or len(value) > MAX_NAME:
                raise self.fail(where, f"must be text of at most {MAX_NAME:,} characters")
            return value
        found = _carrier(field)
        assert found is not None
        kind, carrier = found
        raw = component_to_dict(kind, carrier)
        raw[FIELD_KEYS[field]] = value
        parsed = self.nested(component_from_dict, kind, raw, where=where.rsplit(".", 1)[0])
        result = getattr(parsed, field)  # as the model holds it: tuples (bends: of pairs)
        return dict(result) if isinstance(result, dict) else result


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where and key else where or key


def edit_from_dict(data: Any, *, source: str = "edit", where: str = "") -> Edit:
    """An edit from its JSON form. Raises ``FlowDefinitionError`` naming the place of the problem."""
    r = _Reader(source)
    d = r.obj(data, where or "edit")
    op = d.get("op")
    if op == "create":
        kind = r.text(d, "kind", where)
        if kind not in COMPONENT_KINDS:
            raise r.fail(_join(where, "kind"), f"{kind!r} is not one of {', '.join(COMPONENT_KINDS)}")
        component = r.nested(component_from_dict, kind, r.get(d, "component", where),
                             where=_join(where, "component"))
        return CreateComponent(kind, r.text(d, "groupId", where), component, r.index(d, "index", where))
    if op == "delete":
        kind = r.text(d, "kind", where)
        if kind not in COMPONENT_KINDS:
            raise r.fail(_join(where, "kind"), f"{kind!r} is not one of {', '.join(COMPONENT_KINDS)}")
        return DeleteComponent(kind, r.text(d, "componentId", where), r.flag(d, "dropQueued", where))
    if op == "update":
        props = r.mapping(d, "properties", where)
        for key, value in props.items():
            if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
                raise r.fail(f"{_join(where, 'properties')}.{key}", "must be text or null")
        return UpdateComponent(r.text(d, "componentId", where), r.fields(d, "changes", where), props,
                               r.fields(d, "expect", where))
    if op == "move":
        positions = {i: r.nested(position_from_dict, p, where=f"{_join(where, 'positions')}.{i}")
                     for i, p in r.mapping(d, "positions", where).items()}
        indexes = r.mapping(d, "indexes", where)
        for i in indexes:
            r.index(indexes, i, _join(where, "indexes"))
        return MoveComponents(r.names(d, "componentIds", where), r.text(d, "toGroupId", where), positions, indexes)
    if op in ("set-run-state", "set-service-state"):
        states = r.mapping(d, "states", where)
        for i in states:
            r.text(states, i, _join(where, "states"), limit=MAX_NAME)
        if op == "set-run-state":
            return SetRunState(states)
        return SetServiceState(states, r.flag(d, "stopReferencing", where))
    if op == "bind-parameter-context":
        return BindParameterContext(r.text(d, "groupId", where), r.text(d, "contextId", where, optional=True))
    if op == "create-parameter-context":
        ctx = r.nested(parameter_context_from_dict, r.get(d, "context", where), where=_join(where, "context"))
        return CreateParameterContext(ctx, r.index(d, "index", where))
    if op == "delete-parameter-context":
        return DeleteParameterContext(r.text(d, "contextId", where))
    if op == "update-parameter-context":
        try:
            wrapped = parameter_context_from_dict({"identifier": "x", "name": "x",
                                                   "parameters": r.items(d, "set", where)}, source=source)
        except FlowDefinitionError as exc:  # parameterContext.parameters[2].name -> set[2].name
            raise r.fail(_join(where, exc.where.replace("parameterContext.parameters", "set", 1)),
                         exc.reason) from None
        indexes = r.mapping(d, "indexes", where)
        for i in indexes:
            r.index(indexes, i, _join(where, "indexes"))
        return UpdateParameterContext(
            r.text(d, "contextId", where), r.text(d, "name", where, optional=True, limit=MAX_NAME),
            r.text(d, "description", where, optional=True, limit=MAX_TEXT),
            tuple(ParameterDef(p.name, p.value, p.sensitive, p.description) for p in wrapped.parameters),
            r.names(d, "remove", where, MAX_NAME), indexes)
    if op == "import-group":
        group = r.nested(group_from_dict, r.get(d, "group", where), where=_join(where, "group"))
        contexts = tuple(r.nested(parameter_context_from_dict, c, where=f"{_join(where, 'newContexts')}[{i}]")
                         for i, c in enumerate(r.items(d, "newContexts", where)))
        return ImportGroup(r.text(d, "groupId", where), group, contexts)
    if op == "batch":
        edits = tuple(edit_from_dict(e, source=source, where=f"{_join(where, 'edits')}[{i}]")
                      for i, e in enumerate(r.items(d, "edits", where)))
        return Batch(edits, r.text(d, "description", where, optional=True, limit=MAX_TEXT) or "")
    ops = ("create", "delete", "update", "move", "set-run-state", "set-service-state", "bind-parameter-context",
           "create-parameter-context", "delete-parameter-context", "update-parameter-context", "import-group",
           "batch")
    raise r.fail(_join(where, "op"), f"{op!r} is not one of {', '.join(ops)}")
