"""What an edit is, in words and in identifiers: ``describe`` (the history's
text, and the name of the edit in ``EditRefused``) and ``touched``."""

from __future__ import annotations

from typing import Any

from flowyard.runtime.flow._edits_json import FIELD_KEYS
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
from flowyard.runtime.flow._edits_paths import subtree_ids
from flowyard.runtime.flow._index import FlowIndex
from flowyard.runtime.flow._model import FlowDef

__all__ = ["describe", "kind_label", "named", "touched"]

_VERBS = {"RUNNING": "Start", "STOPPED": "Stop", "DISABLED": "Disable", "ENABLED": "Enable"}


def kind_label(kind: str) -> str:
    """``input-port`` -> ``input port``."""
    return kind.replace("-", " ")


def named(component: Any) -> str:
    """How the user knows a component: its name, else its type or label text, else its identifier."""
    for attr in ("name", "label", "type"):
        text = getattr(component, attr, "")
        if isinstance(text, str) and text.strip():
            return text
    return str(component.identifier)


def _component(flow: FlowDef, index: FlowIndex, identifier: str) -> str:
    """``processor 'Fetch'`` for a component of ``flow``, ``'x'`` for an unknown identifier."""
    if identifier == flow.identifier:
        return f"process group {named(flow)!r}"
    found = index.find(identifier)
    if found is None:
        return repr(identifier)
    return f"{kind_label(found[1])} {named(found[2])!r}"


def _many(flow: FlowDef, index: FlowIndex, ids: Any, what: str = "components") -> str:
    ids = list(ids)
    return _component(flow, index, ids[0]) if len(ids) == 1 else f"{len(ids)} {what}"


def describe(before: FlowDef, edit: Edit) -> str:
    """The edit in words, naming components as they are in ``before``:
    ``Update processor 'Fetch' (properties)``. Never fails on an edit naming
    unknown components (it names them by identifier)."""
    index = FlowIndex.of(before)
    ctx_names = {c.identifier: c.name for c in before.parameter_contexts}
    if isinstance(edit, CreateComponent):
        return f"Create {kind_label(edit.kind)} {named(edit.component)!r}"
    if isinstance(edit, DeleteComponent):
        return f"Delete {_component(before, index, edit.component_id)}"
    if isinstance(edit, UpdateComponent):
        fields = [FIELD_KEYS.get(f, f) for f in edit.changes] + (["properties"] if edit.properties else [])
        return f"Update {_component(before, index, edit.component_id)} ({', '.join(fields) or 'nothing'})"
    if isinstance(edit, MoveComponents):
        return (f"Move {_many(before, index, edit.component_ids or ['?'])} to "
                f"{_component(before, index, edit.to_group_id)}")
    if isinstance(edit, SetRunState | SetServiceState):
        verbs = {_VERBS.get(s, f"Set to {s}") for s in edit.states.values()}
        verb = verbs.pop() if len(verbs) == 1 else "Change the run state of"
        return f"{verb} {_many(before, index, edit.states or ['?'])}"
    if isinstance(edit, BindParameterContext):
        group = _component(before, index, edit.group_id)
        if edit.context_id is None:
            return f"Unbind {group} from its parameter context"
        return f"Bind {group} to parameter context {ctx_names.get(edit.context_id, edit.context_id)!r}"
    if isinstance(edit, CreateParameterContext):
        return f"Create parameter context {edit.context.name!r}"
    if isinstance(edit, DeleteParameterContext):
        return f"Delete parameter context {ctx_names.get(edit.context_id, edit.context_id)!r}"
    if isinstance(edit, UpdateParameterContext):
        parts = [f"set {', '.join(p.name for p in edit.set)}"] if edit.set else []
        parts += [f"remove {', '.join(edit.remove)}"] if edit.remove else []
        parts += [f for f in ("name", "description") if getattr(edit, f) is not None]
        return (f"Update parameter context {ctx_names.get(edit.context_id, edit.context_id)!r} "
                f"({'; '.join(parts) or 'nothing'})")
    if isinstance(edit, ImportGroup):
        return f"Import process group {named(edit.group)!r}"
    if isinstance(edit, Batch):
        return edit.description or f"{len(edit.edits)} edit{'' if len(edit.edits) == 1 else 's'}"
    raise TypeError(f"not an edit: {type(edit).__name__}")


def touched(edit: Edit) -> frozenset[str]:
    """Identifiers whose revision an edit moves: the components it creates,
    deletes, changes or moves, the groups it binds, the contexts it changes
    (components changed as a consequence — processors stopped with a service —
    are the caller's to add from the flows before and after)."""
    if isinstance(edit, CreateComponent):
        ids = {edit.component.identifier}
        if edit.kind == "process-group":
            ids |= {i for i, _, _ in subtree_ids(edit.component)}
        return frozenset(ids)
    if isinstance(edit, DeleteComponent):
        return frozenset({edit.component_id})
    if isinstance(edit, UpdateComponent):
        return frozenset({edit.component_id})
    if isinstance(edit, MoveComponents):
        return frozenset(edit.component_ids)
    if isinstance(edit, SetRunState | SetServiceState):
        return frozenset(edit.states)
    if isinstance(edit, BindParameterContext):
        return frozenset({edit.group_id})
    if isinstance(edit, CreateParameterContext):
        return frozenset({edit.context.identifier})
    if isinstance(edit, DeleteParameterContext | UpdateParameterContext):
        return frozenset({edit.context_id})
    if isinstance(edit, ImportGroup):
        return frozenset({edit.group.identifier, *(i for i, _, _ in subtree_ids(edit.group)),
                          *(c.identifier for c in edit.new_contexts)})
    if isinstance(edit, Batch):
        return frozenset().union(*map(touched, edit.edits))
    raise TypeError(f"not an edit: {type(edit).__name__}")
