"""Where everything of a flow is: identifier -> (group, kind), group -> parent,
group by identifier (docs/design/flow-edits.md §2.1).

``FlowIndex.of(flow)`` builds the index on first use and remembers it for that
flow object (by identity, for a few flows); ``edits.apply`` hands the index of
the flow it returns over without walking it again. ``FlowDef.owner`` and
``FlowDef.group`` answer through it. A flow's records are frozen and hold
tuples, so what the index records cannot change under it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flowyard.runtime.flow._model import COMPONENT_KINDS, FlowDef, GroupDef

__all__ = ["FlowIndex", "forget", "remember"]

_REMEMBERED = 16


@dataclass(frozen=True)
class FlowIndex:
    """The places of a flow's components.

    ``location``: identifier -> (identifier of the group holding it, kind) for
    every component, child groups included (kind ``process-group``; the root
    group is not a component). ``parent``: group identifier -> its parent's
    (None for the root). ``groups``: group identifier -> the ``GroupDef``.
    ``size``: what the loader counts against ``MAX_COMPONENTS`` (groups, the
    root included, components and parameter contexts)."""

    root: str
    location: Mapping[str, tuple[str, str]]
    parent: Mapping[str, str | None]
    groups: Mapping[str, GroupDef]
    size: int

    @staticmethod
    def build(flow: FlowDef) -> FlowIndex:
        """The index of ``flow``, built by one walk (not remembered)."""
        location: dict[str, tuple[str, str]] = {}
        parent: dict[str, str | None] = {flow.identifier: None}
        groups: dict[str, GroupDef] = {}
        size = len(flow.parameter_contexts)
        stack: list[GroupDef] = [flow]
        while stack:
            g = stack.pop()
            gid = g.identifier
            groups[gid] = g
            size += 1
            for kind, (attr, _) in COMPONENT_KINDS.items():
                items = getattr(g, attr)
                for c in items:
                    location[c.identifier] = (gid, kind)
                if kind != "process-group":
                    size += len(items)
            for child in g.groups:
                parent[child.identifier] = gid
                stack.append(child)
        return FlowIndex(flow.identifier, location, parent, groups, size)

    @staticmethod
    def of(flow: FlowDef) -> FlowIndex:
        """The index of ``flow``: remembered, or built and remembered."""
        with _lock:
            found = _remembered.get(id(flow))
            if found is not None and found[0] is flow:
                _remembered.move_to_end(id(flow))
                return found[1]
        index = FlowIndex.build(flow)
        remember(flow, index)
        return index

    # -- queries --------------------------------------------------------------------

    def find(self, identifier: str) -> tuple[GroupDef, str, Any] | None:
        """(group holding it, kind, the component) of ``identifier``, or None."""
        place = self.location.get(identifier)
        if place is None:
            return None
        group = self.groups[place[0]]
        if place[1] == "process-group":
            return group, place[1], self.groups[identifier]
        for c in getattr(group, COMPONENT_KINDS[place[1]][0]):
            if c.identifier == identifier:
                return group, place[1], c
        return None  # pragma: no cover - an index out of step with its flow

    def group(self, identifier: str | None) -> GroupDef | None:
        return None if identifier is None else self.groups.get(identifier)

    def ancestors(self, group_id: str) -> Iterator[str]:
        """``group_id`` and the groups above it, up to the root."""
        current: str | None = group_id
        while current is not None:
            yield current
            current = self.parent.get(current)

    def depth(self, group_id: str) -> int:
        """How many levels below the root group ``group_id`` is (the root: 0)."""
        return sum(1 for _ in self.ancestors(group_id)) - 1

    def is_inside(self, group_id: str, ancestor_id: str) -> bool:
        """Whether ``group_id`` is ``ancestor_id`` or below it."""
        return any(g == ancestor_id for g in self.ancestors(group_id))


_lock = threading.Lock()
_remembered: OrderedDict[int, tuple[FlowDef, FlowIndex]] = OrderedDict()


def remember(flow: FlowDef, index: FlowIndex) -> None:
    """Let ``FlowIndex.of(flow)`` answer ``index`` (which must be ``flow``'s)."""
    with _lock:
        _remembered[id(flow)] = (flow, index)
        _remembered.move_to_end(id(flow))
        while len(_remembered) > _REMEMBERED:
            _remembered.popitem(last=False)


def forget(flow: FlowDef) -> None:
    """Drop the index remembered for ``flow`` (``of`` builds it again when asked)."""
    with _lock:
        found = _remembered.get(id(flow))
        if found is not None and found[0] is flow:
            del _remembered[id(flow)]
