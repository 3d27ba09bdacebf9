"""Flow edits as data (docs/design/flow-edits.md §2.2): every change to a flow
is a small serializable command with a pure ``validate``, ``apply`` and
``inverse``.

* The commands (frozen dataclasses): ``CreateComponent`` (``connect``),
  ``DeleteComponent``, ``UpdateComponent`` (with ``expect``),
  ``MoveComponents``, ``SetRunState``, ``SetServiceState``,
  ``BindParameterContext``, ``CreateParameterContext``,
  ``DeleteParameterContext``, ``UpdateParameterContext``, ``ImportGroup``,
  ``Batch``; ``Edit`` is their union.
* ``validate(flow, edit, ctx) -> None`` raises ``EditRefused`` (a
  ``FlowDefinitionError``) naming the edit and the place. What it needs of
  component types comes through ``EditContext.specs`` (a ``SpecCatalog``;
  ``TypeCatalog`` wraps registries of classes).
* ``apply(flow, edit) -> FlowDef`` never changes ``flow``: it copies the path
  from the changed component to the ``FlowDef`` and shares the rest.
* ``inverse(before, edit)``: ``apply(apply(f, e), inverse(f, e)) == f``.
  ``undoable(edit)``: run states are logged, not undone.
* ``touched(edit, before=None)``, ``describe(before, edit)``, ``check_flow(flow, specs)``.
* ``edit_to_dict`` / ``edit_from_dict``: the JSON form (components as the flow file holds them).

Beyond docs/design/flow-edits.md §2.2: ``MoveComponents.indexes`` and
``UpdateParameterContext.indexes`` say where things go in their lists (the
inverses use them, so that undo restores the order exactly);
``UpdateComponent.changes["properties"]`` replaces the whole map (the
inverse uses it only to bring back a key held with a null value).
``EditRefused.invariant`` tells a refusal that protects what every flow
must satisfy (the loader's rules, ``check_flow``) from a rule about the
change itself (``expect``, NiFi's move rules, an enabled service...).

Pure: no engine, no registry, no I/O.
"""

from __future__ import annotations

import dataclasses

from flowyard.runtime.flow._edits_apply import apply, inverse, touched
from flowyard.runtime.flow._edits_checks import check_flow
from flowyard.runtime.flow._edits_describe import describe
from flowyard.runtime.flow._edits_json import FIELD_KEYS, edit_from_dict, edit_to_dict
from flowyard.runtime.flow._edits_model import (
    NO_SPECS,
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
    SpecCatalog,
    TypeCatalog,
    UpdateComponent,
    UpdateParameterContext,
    connect,
)
from flowyard.runtime.flow._edits_validate import validate
from flowyard.runtime.flow._index import FlowIndex

__all__ = [
    "FIELD_KEYS",
    "NO_SPECS",
    "Batch",
    "BindParameterContext",
    "CreateComponent",
    "CreateParameterContext",
    "DeleteComponent",
    "DeleteParameterContext",
    "Edit",
    "EditContext",
    "EditRefused",
    "FlowIndex",
    "ImportGroup",
    "MoveComponents",
    "SetRunState",
    "SetServiceState",
    "SpecCatalog",
    "TypeCatalog",
    "UpdateComponent",
    "UpdateParameterContext",
    "apply",
    "check_flow",
    "connect",
    "describe",
    "edit_from_dict",
    "edit_to_dict",
    "inverse",
    "touched",
    "undoable",
    "validate",
    "without_run_states",
]


def undoable(edit: Edit) -> bool:
    """Whether undo reverses ``edit``: run and service states are logged, not
    undone (NiFi's history lists them; undo never starts or stops anything) —
    nor is an update that changes only ``scheduled_state``; a batch is undoable
    when any part is (its inverse then holds only those, ``without_run_states``)."""
    if isinstance(edit, SetRunState | SetServiceState):
        return False
    if isinstance(edit, Batch):
        return any(undoable(e) for e in edit.edits)
    if isinstance(edit, UpdateComponent):
        return bool(edit.properties) or any(k != "scheduled_state" for k in edit.changes)
    return True


def without_run_states(edit: Edit) -> Edit:
    """``edit`` less its changes of run state: what undo takes back (its inverse
    leaves run states as they are)."""
    if isinstance(edit, Batch):
        return Batch(tuple(without_run_states(e) for e in edit.edits if undoable(e)), edit.description)
    if isinstance(edit, UpdateComponent) and "scheduled_state" in edit.changes:
        return dataclasses.replace(edit, changes={k: v for k, v in edit.changes.items() if k != "scheduled_state"},
                                   expect={k: v for k, v in edit.expect.items() if k != "scheduled_state"})
    return edit
