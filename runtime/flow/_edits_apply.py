"""``apply`` and ``inverse`` of the edit commands (docs/design/flow-edits.md §2.2).

``apply(flow, edit)`` returns a new flow and never changes ``flow``: the
changed component, its list, its group and the groups above it are copied
(``_edits_paths``), everything else is shared by identity. It assumes
``validate`` passed; on an edit ``validate`` refuses it may raise
(``KeyError``, ``IndexError``...) or return a flow the loader refuses.

``inverse(before, edit)`` is the edit that undoes ``edit`` applied to
``before``: ``apply(apply(before, e), inverse(before, e)) == before``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from flowyard.runtime.flow._edits_describe import touched as named_in
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
from flowyard.runtime.flow._edits_move import apply_move, inverse_move
from flowyard.runtime.flow._edits_paths import Paths, moving_components, referencing_processors
from flowyard.runtime.flow._index import FlowIndex
from flowyard.runtime.flow._model import (
    COMPONENT_KINDS,
    ControllerServiceDef,
    FlowDef,
    ParameterContextDef,
)

__all__ = ["apply", "field_value", "inverse", "touched", "updated_component", "updated_context"]


def field_value(value: Any) -> Any:
    """A model field's value as edits hold it: lists become tuples (of tuples), dicts stay."""
    if isinstance(value, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value


def _model_value(name: str, old: Any, new: Any) -> Any:
    """An edit's value as the model holds it (the type of the field's current value):
    a position a pair of floats, a list field a tuple (bends: of tuples)."""
    if name == "position":
        return tuple(float(v) for v in new)
    if isinstance(old, tuple):
        return tuple(tuple(v) if isinstance(v, list | tuple) else v for v in new)
    if isinstance(old, dict):
        return dict(new)
    return new


def updated_component(old: Any, changes: Mapping[str, Any], properties: Mapping[str, str | None]) -> Any:
    """``old`` with ``changes`` (model fields; ``properties`` in it replaces the
    whole map) and ``properties`` (key -> value, None removes the key)."""
    fields = {name: _model_value(name, getattr(old, name), value) for name, value in changes.items()}
    if properties:
        props = dict(fields.get("properties", old.properties))
        for key, value in properties.items():
            if value is None:
                props.pop(key, None)
            else:
                props[key] = value
        fields["properties"] = props
    return dataclasses.replace(old, **fields) if fields else old


def updated_context(old: ParameterContextDef, edit: UpdateParameterContext) -> ParameterContextDef:
    """``old`` with the changes of ``edit``: ``remove`` first, then ``set`` (in
    place for an existing name; else inserted at ``indexes[name]`` in ascending
    order, or appended)."""
    removed = set(edit.remove)
    params = [p for p in old.parameters if p.name not in removed]
    at = {p.name: i for i, p in enumerate(params)}
    placed = []
    for p in edit.set:
        if p.name in at:
            params[at[p.name]] = p
        elif p.name in edit.indexes:
            placed.append(p)
        else:
            params.append(p)
    for p in sorted(placed, key=lambda q: edit.indexes[q.name]):
        params.insert(edit.indexes[p.name], p)
    return dataclasses.replace(
        old, name=old.name if edit.name is None else edit.name,
        description=old.description if edit.description is None else edit.description, parameters=tuple(params))


def apply(flow: FlowDef, edit: Edit) -> FlowDef:
    """The flow after ``edit`` (see the module docstring); ``flow`` is unchanged.
    The result is always a new ``FlowDef`` object, even for an edit that
    changes nothing (its caller may set the file's bookkeeping, ``edit_seq``)."""
    if isinstance(edit, Batch):
        if not edit.edits:
            return Paths(flow).result(copy_root=True)
        for e in edit.edits:
            flow = apply(flow, e)
        return flow
    paths = Paths(flow)
    _apply(paths, edit)
    return paths.result()


def _with_state(state: str) -> Callable[[Any], Any]:
    return lambda c: dataclasses.replace(c, scheduled_state=state)


def _apply(paths: Paths, edit: Edit) -> None:
    if isinstance(edit, CreateComponent):
        paths.insert(edit.group_id, edit.kind, edit.component, edit.index)
    elif isinstance(edit, DeleteComponent):
        group_id, kind = paths.location[edit.component_id]
        if kind != edit.kind:
            raise KeyError(f"{edit.component_id!r} is a {kind}, not a {edit.kind}")
        paths.remove(group_id, kind, edit.component_id)
    elif isinstance(edit, UpdateComponent):
        paths.replace(edit.component_id, lambda c: updated_component(c, edit.changes, edit.properties))
    elif isinstance(edit, MoveComponents):
        apply_move(paths, edit)
    elif isinstance(edit, SetRunState):
        for ident, state in edit.states.items():
            paths.replace(ident, _with_state(state))
    elif isinstance(edit, SetServiceState):
        for ident, state in edit.states.items():
            if not isinstance(paths.component(ident), ControllerServiceDef):
                raise KeyError(f"{ident!r} is not a controller service")
            paths.replace(ident, _with_state(state))
            if state == "DISABLED" and edit.stop_referencing:
                for p in referencing_processors(paths, ident):
                    if p.scheduled_state == "RUNNING":
                        paths.replace(p.identifier, _with_state("STOPPED"))
    elif isinstance(edit, BindParameterContext):
        paths.replace_group(edit.group_id, lambda g: dataclasses.replace(g, parameter_context=edit.context_id))
    elif isinstance(edit, CreateParameterContext):
        contexts = list(paths.flow.parameter_contexts)
        if edit.index is None:
            contexts.append(edit.context)
        elif 0 <= edit.index <= len(contexts):
            contexts.insert(edit.index, edit.context)
        else:
            raise IndexError(f"index {edit.index} is outside 0..{len(contexts)}")
        paths.set_contexts(contexts)
    elif isinstance(edit, DeleteParameterContext):
        contexts = list(paths.flow.parameter_contexts)
        contexts.pop(next(i for i, c in enumerate(contexts) if c.identifier == edit.context_id))
        paths.set_contexts(contexts)
    elif isinstance(edit, UpdateParameterContext):
        paths.set_contexts([updated_context(c, edit) if c.identifier == edit.context_id else c
                            for c in paths.flow.parameter_contexts])
    elif isinstance(edit, ImportGroup):
        paths.set_contexts([*paths.flow.parameter_contexts, *edit.new_contexts])
        paths.insert(edit.group_id, "process-group", edit.group)
    else:
        raise TypeError(f"not an edit: {type(edit).__name__}")


def inverse(before: FlowDef, edit: Edit) -> Edit:
    """The edit that undoes ``edit`` on ``before`` (``edit`` valid on ``before``)."""
    index = FlowIndex.of(before)
    if isinstance(edit, CreateComponent):
        return DeleteComponent(edit.kind, edit.component.identifier)
    if isinstance(edit, DeleteComponent):
        group_id, kind = index.location[edit.component_id]
        items = getattr(index.groups[group_id], COMPONENT_KINDS[kind][0])
        at = next(i for i, c in enumerate(items) if c.identifier == edit.component_id)
        return CreateComponent(kind, group_id, items[at], at)
    if isinstance(edit, UpdateComponent):
        return _inverse_update(before, index, edit)
    if isinstance(edit, MoveComponents):
        return inverse_move(index, edit)
    if isinstance(edit, SetRunState):
        return SetRunState({i: _state(index, i) for i in edit.states})
    if isinstance(edit, SetServiceState):
        undo: Edit = SetServiceState({i: _state(index, i) for i in edit.states})
        if edit.stop_referencing:
            stopped = {p.identifier: "RUNNING" for i, s in edit.states.items() if s == "DISABLED"
                       for p in referencing_processors(index, i) if p.scheduled_state == "RUNNING"}
            if stopped:
                undo = Batch((undo, SetRunState(stopped)), "")
        return undo
    if isinstance(edit, BindParameterContext):
        return BindParameterContext(edit.group_id, index.groups[edit.group_id].parameter_context)
    if isinstance(edit, CreateParameterContext):
        return DeleteParameterContext(edit.context.identifier)
    if isinstance(edit, DeleteParameterContext):
        at = next(i for i, c in enumerate(before.parameter_contexts) if c.identifier == edit.context_id)
        return CreateParameterContext(before.parameter_contexts[at], at)
    if isinstance(edit, UpdateParameterContext):
        return _inverse_context(before, edit)
    if isinstance(edit, ImportGroup):
        return Batch((DeleteComponent("process-group", edit.group.identifier),
                      *(DeleteParameterContext(c.identifier) for c in reversed(edit.new_contexts))), "")
    if isinstance(edit, Batch):
        undo_steps = []
        for e in edit.edits:
            undo_steps.append(inverse(before, e))
            before = apply(before, e)
        return Batch(tuple(reversed(undo_steps)), edit.description and f"Undo {edit.description}")
    raise TypeError(f"not an edit: {type(edit).__name__}")


def _state(index: FlowIndex, ident: str) -> str:
    found = index.find(ident)
    if found is None:
        raise KeyError(ident)
    return str(found[2].scheduled_state)


def _inverse_update(before: FlowDef, index: FlowIndex, edit: UpdateComponent) -> UpdateComponent:
    found = None if edit.component_id == before.identifier else index.find(edit.component_id)
    if found is None and edit.component_id != before.identifier:
        raise KeyError(edit.component_id)
    old: Any = before if found is None else found[2]
    new = updated_component(old, edit.changes, edit.properties)
    changes = {name: field_value(getattr(old, name)) for name in edit.changes}
    expect = {name: field_value(getattr(new, name)) for name in edit.changes}
    properties: dict[str, str | None] = {}
    if edit.properties:
        if "properties" in edit.changes or any(old.properties.get(k, "") is None for k in edit.properties):
            # a key held with no value (null) comes back only with the whole map
            changes["properties"] = dict(old.properties)
            expect["properties"] = dict(new.properties)
        else:
            properties = {k: old.properties.get(k) for k in edit.properties}
            expect.update({f"properties.{k}": new.properties.get(k) for k in edit.properties})
    return UpdateComponent(edit.component_id, changes, properties, expect)


def _inverse_context(before: FlowDef, edit: UpdateParameterContext) -> UpdateParameterContext:
    old = next(c for c in before.parameter_contexts if c.identifier == edit.context_id)
    position = {p.name: i for i, p in enumerate(old.parameters)}
    removed = [n for n in edit.remove if n in position]
    added = tuple(p.name for p in edit.set if p.name not in position)
    restore = tuple(old.parameters[position[n]] for n in
                    [*(p.name for p in edit.set if p.name in position), *removed])
    return UpdateParameterContext(
        edit.context_id, None if edit.name is None else old.name,
        None if edit.description is None else old.description,
        restore, added, {n: position[n] for n in removed})


def touched(edit: Edit, before: FlowDef | None = None) -> frozenset[str]:
    """Identifiers whose revision ``edit`` moves: those it names (what it
    creates, deletes, changes, moves, binds). With ``before``, the flow it
    applies to, also what changes along: connections that move with their
    ends, running processors a service's disabling stops."""
    ids = set(named_in(edit))
    if before is None:
        return frozenset(ids)
    if isinstance(edit, Batch):
        for e in edit.edits:
            ids |= touched(e, before)
            before = apply(before, e)
        return frozenset(ids)
    index = FlowIndex.of(before)
    if isinstance(edit, MoveComponents) and edit.component_ids and edit.component_ids[0] in index.location:
        source = index.groups[index.location[edit.component_ids[0]][0]]
        ids |= {c.identifier for _, c in moving_components(source, set(edit.component_ids))}
    elif isinstance(edit, SetServiceState) and edit.stop_referencing:
        ids |= {p.identifier for i, s in edit.states.items() if s == "DISABLED" and i in index.location
                for p in referencing_processors(index, i) if p.scheduled_state == "RUNNING"}
    return frozenset(ids)
