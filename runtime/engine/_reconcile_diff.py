"""What changed between two flows: ``diff(old, new) -> Changes``, by identity first,
then by value. Pure: no engine, no trio.

Both group trees are walked in parallel from the root; a group that is the same
object in both flows is skipped with everything below it (edits build new flows
by path copying, so an unchanged subtree costs nothing). Inside the changed
groups every component is classified per kind:

* ``added`` — its identifier is in the new flow only;
* ``removed`` — in the old flow only (a removed group's whole subtree, minus
  what moved out of it);
* ``moved`` — in both, under different groups (``Change.old_group``/``new_group``);
* ``changed`` — in both, a different object with a different value
  (``Change.fields``: the names of the fields that differ);
* ``same`` — in both, a different object with the same value (the engine keeps
  the new object as its definition, nothing else happens).

A component both moved and changed is in ``moved`` and in ``changed``. For
process groups only the group's own fields count (name, position, comments,
parameter context), not its contents. An identifier that changes kind (a
processor in the old flow, a funnel in the new one) is removed as the one and
added as the other.

Parameter contexts: per context the names of the parameters added, removed or
changed (value or sensitivity), and the groups bound to it in the new flow;
``rebound`` lists the groups whose binding changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowyard.runtime.flow import COMPONENT_KINDS, FlowDef, GroupDef, ParameterContextDef

__all__ = ["GROUP_FIELDS", "Change", "Changes", "ContextChange", "KindChanges", "Placed", "changed_parameters",
           "diff"]

#: The fields of a process group that are its own (the rest are its contents).
GROUP_FIELDS = ("name", "position", "comments", "parameter_context", "execution_engine", "max_concurrent_tasks",
                "stateless_flow_timeout")
#: Component kinds below a group, without child groups (they are walked).
_LEAF_KINDS = tuple(k for k in COMPONENT_KINDS if k != "process-group")


@dataclass(frozen=True, slots=True)
class Placed:
    """A component added or removed, with the group it is (was) in."""

    group_id: str
    definition: Any


@dataclass(frozen=True, slots=True)
class Change:
    """A component present in both flows whose object differs."""

    old: Any
    new: Any
    old_group: str
    new_group: str
    #: Names of the fields whose values differ (empty: moved only).
    fields: frozenset[str]

    @property
    def moved(self) -> bool:
        return self.old_group != self.new_group


@dataclass(slots=True)
class KindChanges:
    """The changes of one component kind, by identifier."""

    added: dict[str, Placed] = field(default_factory=dict)
    removed: dict[str, Placed] = field(default_factory=dict)
    moved: dict[str, Change] = field(default_factory=dict)
    changed: dict[str, Change] = field(default_factory=dict)
    same: dict[str, Change] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.moved or self.changed)


@dataclass(frozen=True, slots=True)
class ContextChange:
    """A parameter context added, removed or changed."""

    old: ParameterContextDef | None
    new: ParameterContextDef | None
    #: Parameters added, removed, or with another value or sensitivity.
    parameters: frozenset[str]
    #: Groups bound to this context in the new flow.
    bound: frozenset[str]


@dataclass(slots=True)
class Changes:
    """Everything ``diff`` found; empty (falsy) when the flows are equal."""

    kinds: dict[str, KindChanges] = field(default_factory=lambda: {k: KindChanges() for k in COMPONENT_KINDS})
    contexts: dict[str, ContextChange] = field(default_factory=dict)
    #: Groups (present in both flows) bound to another context: new id -> (old, new) context id.
    rebound: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> KindChanges:
        return self.kinds[kind]

    def __bool__(self) -> bool:
        return any(self.kinds.values()) or bool(self.contexts or self.rebound)


def changed_parameters(old: ParameterContextDef | None, new: ParameterContextDef | None) -> set[str]:
    """Names of parameters added, removed, or with another value or sensitivity."""
    before = {p.name: (p.value, p.sensitive) for p in old.parameters} if old is not None else {}
    after = {p.name: (p.value, p.sensitive) for p in new.parameters} if new is not None else {}
    return {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}


def _fields(old: Any, new: Any, names: Iterable[str] | None = None) -> frozenset[str]:
    if names is None:
        names = [f.name for f in dataclasses.fields(old)] if type(old) is type(new) else ["type"]
    return frozenset(n for n in names if getattr(old, n, None) != getattr(new, n, None))


class _Side:
    """The components of one flow's changed region, per kind: id -> (group id, definition)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, tuple[str, Any]]] = {k: {} for k in COMPONENT_KINDS}

    def take(self, group: GroupDef) -> None:
        """``group``'s own components (not its child groups)."""
        gid = group.identifier
        for kind in _LEAF_KINDS:
            bucket = self.items[kind]
            for c in getattr(group, COMPONENT_KINDS[kind][0]):
                bucket[c.identifier] = (gid, c)

    def take_subtree(self, group: GroupDef, parent_id: str) -> None:
        """``group`` (as a child of ``parent_id``) and everything below it."""
        self.items["process-group"][group.identifier] = (parent_id, group)
        self.take(group)
        for child in group.groups:
            self.take_subtree(child, group.identifier)


def diff(old: FlowDef, new: FlowDef) -> Changes:
    """What changed from ``old`` to ``new`` (see the module docstring). O(size of the
    changed groups); groups shared by identity are skipped."""
    before, after = _Side(), _Side()
    pending_old: dict[str, tuple[str, GroupDef]] = {}
    pending_new: dict[str, tuple[str, GroupDef]] = {}
    pairs: list[tuple[GroupDef, GroupDef, str, str]] = []

    def walk(a: GroupDef, b: GroupDef) -> None:
        if a is b:
            return
        before.take(a)
        after.take(b)
        old_children = {g.identifier: g for g in a.groups}
        new_children = {g.identifier: g for g in b.groups}
        for gid, child in old_children.items():
            if gid in new_children:
                pairs.append((child, new_children[gid], a.identifier, b.identifier))
                walk(child, new_children[gid])
            else:
                pending_old[gid] = (a.identifier, child)
        for gid, child in new_children.items():
            if gid not in old_children:
                pending_new[gid] = (b.identifier, child)

    if old is not new:
        pairs.append((old, new, "", ""))
    walk(old, new)
    # A group found under another parent moved: compare it like a paired one. Whatever
    # is left was removed or added, with everything below it.
    for gid in list(pending_old):
        if gid in pending_new:
            (pa, a), (pb, b) = pending_old.pop(gid), pending_new.pop(gid)
            pairs.append((a, b, pa, pb))
            walk(a, b)
    for pa, a in pending_old.values():
        before.take_subtree(a, pa)
    for pb, b in pending_new.values():
        after.take_subtree(b, pb)

    changes = Changes()
    groups = changes["process-group"]
    for a, b, pa, pb in pairs:
        if a is b and pa == pb:
            continue
        change = Change(a, b, pa, pb, _fields(a, b, GROUP_FIELDS))
        if change.fields:
            groups.changed[a.identifier] = change
        if change.moved:
            groups.moved[a.identifier] = change
        if a.parameter_context != b.parameter_context:
            changes.rebound[b.identifier] = (a.parameter_context, b.parameter_context)
    for kind in COMPONENT_KINDS:
        found = changes[kind]
        olds, news = before.items[kind], after.items[kind]
        for ident, (gid, definition) in olds.items():
            if ident not in news:
                found.removed[ident] = Placed(gid, definition)
        for ident, (gid, definition) in news.items():
            previous = olds.get(ident)
            if previous is None:
                found.added[ident] = Placed(gid, definition)
                continue
            if kind == "process-group":
                continue  # paired above
            old_gid, old_def = previous
            if old_def is definition and old_gid == gid:
                continue
            change = Change(old_def, definition, old_gid, gid,
                            frozenset() if old_def is definition else _fields(old_def, definition))
            if change.moved:
                found.moved[ident] = change
            if change.fields:
                found.changed[ident] = change
            elif not change.moved:
                found.same[ident] = change
    _diff_contexts(old, new, changes)
    return changes


def _diff_contexts(old: FlowDef, new: FlowDef, changes: Changes) -> None:
    if old.parameter_contexts is new.parameter_contexts:
        return
    olds = {c.identifier: c for c in old.parameter_contexts}
    news = {c.identifier: c for c in new.parameter_contexts}
    bound: dict[str, set[str]] | None = None
    for ident in olds.keys() | news.keys():
        a, b = olds.get(ident), news.get(ident)
        if a is b or a == b:
            continue
        names = changed_parameters(a, b)
        if bound is None:
            bound = _bindings(new.walk())
        changes.contexts[ident] = ContextChange(a, b, frozenset(names), frozenset(bound.get(ident, ())))


def _bindings(groups: Iterator[GroupDef]) -> dict[str, set[str]]:
    """Context id -> ids of the groups bound to it."""
    found: dict[str, set[str]] = {}
    for g in groups:
        if g.parameter_context is not None:
            found.setdefault(g.parameter_context, set()).add(g.identifier)
    return found


def locations(flow: FlowDef) -> Mapping[str, str]:
    """Every component and connection of ``flow`` -> the id of its group (what the engine's
    ``group_of`` holds for the engine's components)."""
    found: dict[str, str] = {}
    for g in flow.walk():
        for kind in _LEAF_KINDS:
            if kind == "label":
                continue
            for c in getattr(g, COMPONENT_KINDS[kind][0]):
                found[c.identifier] = g.identifier
    return found
