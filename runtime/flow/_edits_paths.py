"""Path copying: a new flow that differs from an old one in a few places and
shares everything else with it by identity (docs/design/flow-edits.md §2.1).

A ``Paths`` starts from a flow and its index; each operation replaces one
group (``dataclasses.replace`` with a new list for the changed kind) and the
chain of its ancestors up to the ``FlowDef``. The old flow, its groups, lists
and components are never changed. ``result`` gives the new flow and remembers
its index (updated as the operations went, not rebuilt).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from flowyard.runtime.flow._index import FlowIndex, remember
from flowyard.runtime.flow._model import (
    COMPONENT_KINDS,
    ControllerServiceDef,
    FlowDef,
    GroupDef,
    ParameterContextDef,
    ProcessorDef,
)

__all__ = ["Paths", "moving_components", "referencing_processors", "referencing_services", "subtree_ids"]


def subtree_ids(group: GroupDef) -> list[tuple[str, str, str]]:
    """(identifier, holding group, kind) of ``group``'s contents, at every depth."""
    found = []
    for g in group.walk():
        for kind, (attr, _) in COMPONENT_KINDS.items():
            found += [(c.identifier, g.identifier, kind) for c in getattr(g, attr)]
    return found


def _count(group: GroupDef) -> int:
    return sum(1 for _ in group.walk()) + sum(1 for _, _, k in subtree_ids(group) if k != "process-group")


class Paths:
    """A flow being rebuilt by path copying (see the module docstring)."""

    def __init__(self, flow: FlowDef, index: FlowIndex | None = None) -> None:
        index = index or FlowIndex.of(flow)
        self.flow = flow
        self.root = flow.identifier
        self.location = dict(index.location)
        self.parent = dict(index.parent)
        self.groups = dict(index.groups)
        self.size = index.size

    # -- groups -------------------------------------------------------------------------

    def replace_group(self, group_id: str, change: Callable[[GroupDef], GroupDef]) -> GroupDef:
        """Put ``change(group)`` in place of group ``group_id`` and copy the path above it."""
        new = change(self.groups[group_id])
        self.groups[group_id] = new
        child_id, child = group_id, new
        parent_id = self.parent[child_id]
        while parent_id is not None:
            parent = self.groups[parent_id]
            kids = tuple(child if g.identifier == child_id else g for g in parent.groups)
            child = self.groups[parent_id] = dataclasses.replace(parent, groups=kids)
            child_id, parent_id = parent_id, self.parent[parent_id]
        assert isinstance(child, FlowDef)
        self.flow = child
        return new

    def items(self, group_id: str, kind: str) -> list[Any]:
        return list(getattr(self.groups[group_id], COMPONENT_KINDS[kind][0]))

    def _set_items(self, group_id: str, kind: str, items: list[Any]) -> None:
        changes: dict[str, Any] = {COMPONENT_KINDS[kind][0]: tuple(items)}
        self.replace_group(group_id, lambda g: dataclasses.replace(g, **changes))

    # -- components ---------------------------------------------------------------------

    def insert(self, group_id: str, kind: str, component: Any, index: int | None = None, *,
               moving: bool = False) -> None:
        """Add ``component`` to group ``group_id`` (at ``index``; None: at the end).
        ``moving``: it comes from another group of the flow (``remove(..., moving=True)``)."""
        items = self.items(group_id, kind)
        if index is None:
            items.append(component)
        elif not 0 <= index <= len(items):
            raise IndexError(f"index {index} is outside 0..{len(items)}")
        else:
            items.insert(index, component)
        self._set_items(group_id, kind, items)
        self.location[component.identifier] = (group_id, kind)
        if moving:
            if kind == "process-group":
                self.parent[component.identifier] = group_id
            return
        self.size += 1
        if kind == "process-group":
            self._add_subtree(component, group_id)

    def _add_subtree(self, group: GroupDef, parent_id: str) -> None:
        self.size += _count(group) - 1
        self.parent[group.identifier] = parent_id
        for g in group.walk():
            self.groups[g.identifier] = g
            for child in g.groups:
                self.parent[child.identifier] = g.identifier
        for ident, gid, kind in subtree_ids(group):
            self.location[ident] = (gid, kind)

    def remove(self, group_id: str, kind: str, identifier: str, *, moving: bool = False) -> tuple[Any, int]:
        """Take component ``identifier`` out of group ``group_id``; returns it and its
        index. ``moving``: it goes to another group (``insert(..., moving=True)``)."""
        items = self.items(group_id, kind)
        at = next(i for i, c in enumerate(items) if c.identifier == identifier)
        component = items.pop(at)
        self._set_items(group_id, kind, items)
        if moving:
            return component, at
        del self.location[identifier]
        self.size -= 1
        if kind == "process-group":
            self.size -= _count(component) - 1
            for g in component.walk():
                del self.groups[g.identifier]
                del self.parent[g.identifier]
            for ident, _, _ in subtree_ids(component):
                del self.location[ident]
        return component, at

    def replace(self, identifier: str, change: Callable[[Any], Any]) -> Any:
        """Put ``change(component)`` in place of component ``identifier`` (a child
        group too); returns the new component."""
        if identifier == self.root:
            return self.replace_group(identifier, change)
        group_id, kind = self.location[identifier]
        if kind == "process-group":
            return self.replace_group(identifier, change)
        items = self.items(group_id, kind)
        at = next(i for i, c in enumerate(items) if c.identifier == identifier)
        items[at] = new = change(items[at])
        self._set_items(group_id, kind, items)
        return new

    def component(self, identifier: str) -> Any:
        group_id, kind = self.location[identifier]
        if kind == "process-group":
            return self.groups[identifier]
        return next(c for c in getattr(self.groups[group_id], COMPONENT_KINDS[kind][0])
                    if c.identifier == identifier)

    # -- parameter contexts -------------------------------------------------------------

    def set_contexts(self, contexts: list[ParameterContextDef]) -> None:
        self.size += len(contexts) - len(self.flow.parameter_contexts)
        changes: dict[str, Any] = {"parameter_contexts": tuple(contexts)}
        self.replace_group(self.root, lambda g: dataclasses.replace(g, **changes))

    # -- the result -----------------------------------------------------------------------

    def result(self, *, copy_root: bool = False) -> FlowDef:
        """The new flow (its index remembered for ``FlowIndex.of``); ``copy_root``:
        a new ``FlowDef`` object even when nothing changed."""
        if copy_root:
            self.replace_group(self.root, dataclasses.replace)
        remember(self.flow, FlowIndex(self.root, self.location, self.parent, self.groups, self.size))
        return self.flow


def moving_components(group: GroupDef, ids: set[str]) -> Iterator[tuple[str, Any]]:
    """(kind, component) of ``group`` that move: those of ``ids`` and the
    connections whose both ends move, in the group's order, kind by kind."""
    ends = {c.identifier for kind, (attr, _) in COMPONENT_KINDS.items() if kind != "connection"
            for c in getattr(group, attr) if c.identifier in ids}
    ends |= {p.identifier for g in group.groups if g.identifier in ids for p in (*g.input_ports, *g.output_ports)}
    for kind, (attr, _) in COMPONENT_KINDS.items():
        for c in getattr(group, attr):
            if c.identifier in ids or (kind == "connection" and c.source in ends and c.destination in ends):
                yield kind, c


def referencing_processors(paths_or_index: Paths | FlowIndex, service_id: str) -> list[ProcessorDef]:
    """The processors that reference controller service ``service_id``: those of
    its group and the groups below with a property holding its identifier
    (the canvas stores a service reference as the service's identifier)."""
    groups, location = paths_or_index.groups, paths_or_index.location
    top = groups[location[service_id][0]]
    return [p for g in top.walk() for p in g.processors if service_id in p.properties.values()]


def referencing_services(index: FlowIndex, service_id: str) -> list[ControllerServiceDef]:
    """The controller services that reference service ``service_id`` (as ``referencing_processors``)."""
    top = index.groups[index.location[service_id][0]]
    return [s for g in top.walk() for s in g.controller_services
            if s.identifier != service_id and service_id in s.properties.values()]
