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

from typing import TYPE_CHECKING

from flowyard.runtime.flow._edits_context import NO_SPECS, EditContext, EditRefused, SpecCatalog, TypeCatalog
from flowyard.runtime.flow._index import FlowIndex
from flowyard.runtime.sdk._lazy import lazy_names

if TYPE_CHECKING:
    from flowyard.runtime.flow._edits_apply import apply, inverse, touched
    from flowyard.runtime.flow._edits_checks import check_flow
    from flowyard.runtime.flow._edits_describe import describe
    from flowyard.runtime.flow._edits_json import FIELD_KEYS, edit_from_dict, edit_to_dict
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
        connect,
    )
    from flowyard.runtime.flow._edits_undo import undoable, without_run_states
    from flowyard.runtime.flow._edits_validate import validate

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

#: The commands and what works on them load on first use (the first name of them asked
#: for): opening a service needs only the names imported above.
__getattr__ = lazy_names(globals(), {
    "_edits_apply": ("apply", "inverse", "touched"),
    "_edits_checks": ("check_flow",),
    "_edits_describe": ("describe",),
    "_edits_json": ("FIELD_KEYS", "edit_from_dict", "edit_to_dict"),
    "_edits_model": ("Batch", "BindParameterContext", "CreateComponent", "CreateParameterContext",
                     "DeleteComponent", "DeleteParameterContext", "Edit", "ImportGroup", "MoveComponents",
                     "SetRunState", "SetServiceState", "UpdateComponent", "UpdateParameterContext", "connect"),
    "_edits_undo": ("undoable", "without_run_states"),
    "_edits_validate": ("validate",),
})
