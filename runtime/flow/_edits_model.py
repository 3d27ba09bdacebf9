"""The edit commands: what a change to a flow is, as data (docs/design/flow-edits.md §2.2).

Every command is a frozen dataclass naming components by identifier and
properties by key. Values are the model's (``_model``): positions are
``(x, y)`` tuples of floats; list-valued fields are given as tuples (``apply``
stores lists, as the model holds them). What validation needs beyond the flow
comes in an ``EditContext``; ``EditRefused`` is what it raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowyard.runtime.flow._edits_context import NO_SPECS, EditContext, EditRefused, SpecCatalog, TypeCatalog
from flowyard.runtime.flow._model import (
    GroupDef,
    ParameterContextDef,
    ParameterDef,
)

__all__ = [
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
    "ImportGroup",
    "MoveComponents",
    "SetRunState",
    "SetServiceState",
    "SpecCatalog",
    "TypeCatalog",
    "UpdateComponent",
    "UpdateParameterContext",
    "connect",
]


@dataclass(frozen=True)
class CreateComponent:
    """Add ``component`` (a ``*Def`` of ``kind``; a ``GroupDef`` with everything
    in it) to group ``group_id``, at ``index`` of its list (None: at the end)."""

    kind: str
    group_id: str
    component: Any
    index: int | None = None


@dataclass(frozen=True)
class DeleteComponent:
    """Remove component ``component_id`` of ``kind`` (a group with everything in
    it). ``drop_queued``: the caller accepts losing queued flowfiles (checked by
    the engine, not by ``validate``)."""

    kind: str
    component_id: str
    drop_queued: bool = False


@dataclass(frozen=True)
class UpdateComponent:
    """Change fields of component ``component_id``.

    ``changes``: model field (snake_case) -> new value; ``properties``: property
    key -> new value (None unsets it); ``expect``: model field (or
    ``properties.<key>``) -> the value the caller saw, refused when the flow
    holds another (the precondition undo relies on)."""

    component_id: str
    changes: Mapping[str, Any] = field(default_factory=dict)
    properties: Mapping[str, str | None] = field(default_factory=dict)
    expect: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MoveComponents:
    """Move components of one group into a child group or the parent group
    (NiFi's rules, see ``_edits_move``). ``positions``: new positions by id;
    ``indexes``: where each goes in its list of the target group (the inverse
    uses it to put components back where they were; default: at the end)."""

    component_ids: tuple[str, ...]
    to_group_id: str
    positions: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    indexes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SetRunState:
    """Desired run state (RUNNING, STOPPED, DISABLED) of processors and ports, by id."""

    states: Mapping[str, str]


@dataclass(frozen=True)
class SetServiceState:
    """Desired state (ENABLED, DISABLED) of controller services, by id.
    ``stop_referencing``: disabling also stops the running processors that
    reference a disabled service (NiFi's "disable and stop referencing")."""

    states: Mapping[str, str]
    stop_referencing: bool = False


@dataclass(frozen=True)
class BindParameterContext:
    """Bind group ``group_id`` to context ``context_id`` (None: unbind)."""

    group_id: str
    context_id: str | None


@dataclass(frozen=True)
class CreateParameterContext:
    """Add a parameter context (at ``index`` of the flow's list; None: at the end)."""

    context: ParameterContextDef
    index: int | None = None


@dataclass(frozen=True)
class DeleteParameterContext:
    """Remove a parameter context no group is bound to."""

    context_id: str


@dataclass(frozen=True)
class UpdateParameterContext:
    """Change a context: its ``name``/``description`` (None: unchanged), set the
    parameters of ``set`` (added or replaced by name; a new one is appended),
    remove those named in ``remove``."""

    context_id: str
    name: str | None = None
    description: str | None = None
    set: tuple[ParameterDef, ...] = ()
    remove: tuple[str, ...] = ()
    #: Where removed parameters go back (the inverse's; name -> index in the list).
    indexes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportGroup:
    """Add ``group`` (fresh identifiers already assigned) to group ``group_id``,
    with the parameter contexts it brings (``new_contexts``): one undo step."""

    group_id: str
    group: GroupDef
    new_contexts: tuple[ParameterContextDef, ...] = ()


@dataclass(frozen=True)
class Batch:
    """Edits applied in order as one (paste, auto-layout, multi-delete); all or nothing."""

    edits: tuple[Edit, ...]
    description: str = ""


Edit = (CreateComponent | DeleteComponent | UpdateComponent | MoveComponents | SetRunState | SetServiceState
        | BindParameterContext | CreateParameterContext | DeleteParameterContext | UpdateParameterContext
        | ImportGroup | Batch)


def connect(group_id: str, connection: Any, index: int | None = None) -> CreateComponent:
    """``Connect``: a ``CreateComponent`` of a connection (validation checks its ends)."""
    return CreateComponent("connection", group_id, connection, index)
