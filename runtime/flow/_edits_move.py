"""Moving components between process groups, with NiFi's rules.

NiFi moves a selection ("snippet") from one group into a child group (drag
onto it) or into the parent group ("Move to parent group");
``StandardProcessGroup.verifyCanMove`` refuses the move when:

* the components are not all in one group, or the target is inside the selection;
* a connection joins a selected component and one that stays (a connection
  moves with its ends, only when both move);
* ports move out of or into the root group;
* a port of the same direction and name exists in the target group;
* a processor references a controller service that would not be in its scope
  in the target group.

flowyard follows these, and adds: the target is a child or the parent of the
source group (what the canvas offers); a moved port must not be connected
outside its group (that connection would be left dangling); controller
services may move too, and no component (moved or staying) may lose a
service it references; the target group's parameter context must define the
parameters the moved processors and services use (those the source group's
context defines), and sensitive parameters stay in sensitive properties;
groups nest at most ``max_depth`` levels.

Where flowyard differs: NiFi's snippets hold no controller services, here
they may move (with the scope rule above); components may move while they run,
as in NiFi (the engine keeps their nodes and queues, docs/design/flow-edits.md
§2.3). NiFi's remote process groups and templates have no counterpart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from flowyard.runtime.flow._edits_checks import parameters_used, sensitive_problem, service_references
from flowyard.runtime.flow._edits_describe import kind_label, named
from flowyard.runtime.flow._edits_model import EditContext, MoveComponents
from flowyard.runtime.flow._edits_paths import Paths, moving_components
from flowyard.runtime.flow._index import FlowIndex
from flowyard.runtime.flow._json import group_height, position_from_dict
from flowyard.runtime.flow._model import COMPONENT_KINDS, FlowDef, GroupDef
from flowyard.runtime.sdk._errors import FlowDefinitionError

__all__ = ["apply_move", "inverse_move", "validate_move"]

Fail = Callable[..., NoReturn]
_PORTS = ("input-port", "output-port")


def validate_move(flow: FlowDef, index: FlowIndex, edit: MoveComponents, ctx: EditContext, fail: Fail) -> None:
    """Raise (through ``fail(where, message, invariant=False)``) when ``edit`` breaks a rule above."""
    ids = list(edit.component_ids)
    if not ids:
        fail("componentIds", "names no component")
    where = {ident: f"componentIds[{i}]" for i, ident in reversed(list(enumerate(ids)))}
    source_id: str | None = None
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            fail(f"componentIds[{i}]", f"{ident!r} is named twice")
        seen.add(ident)
        if ident == flow.identifier:
            fail(f"componentIds[{i}]", "the root process group cannot move")
        place = index.location.get(ident)
        if place is None:
            fail(f"componentIds[{i}]", f"no component has id {ident!r}", invariant=True)
        if source_id is None:
            source_id = place[0]
        elif place[0] != source_id:
            fail(f"componentIds[{i}]", f"{_what(index, ident)} is in {_group(index, place[0])}, "
                                       f"{_what(index, ids[0])} in {_group(index, source_id)}: the components "
                                       "of one move come from one group")
    assert source_id is not None
    source = index.groups[source_id]
    target = index.group(edit.to_group_id)
    if target is None:
        fail("toGroupId", f"no process group has id {edit.to_group_id!r}", invariant=True)
    if target.identifier == source_id:
        fail("toGroupId", f"the components are already in {_group(index, source_id)}")
    if target.identifier in where:
        fail("toGroupId", "a process group cannot move into itself")
    if index.parent.get(target.identifier) != source_id and index.parent.get(source_id) != target.identifier:
        fail("toGroupId", f"{_group(index, target.identifier)} is neither a child nor the parent of "
                          f"{_group(index, source_id)}, where the components are")
    moving = list(moving_components(source, set(ids)))
    moved = {c.identifier for _, c in moving}
    _check_connections(index, source, set(ids), moved, where, fail)
    ports = [(kind, c) for kind, c in moving if kind in _PORTS]
    if ports and flow.identifier in (source_id, target.identifier):
        fail(where[ports[0][1].identifier], f"ports cannot move {'out of' if source_id == flow.identifier else 'into'}"
                                            " the root group (NiFi's rule: its ports are the flow's own entry and "
                                            "exit points)")
    for kind, port in ports:
        clash = next((p for p in getattr(target, COMPONENT_KINDS[kind][0]) if port.name and p.name == port.name),
                     None)
        if clash is not None:
            fail(where[port.identifier], f"{_group(index, target.identifier)} already has an {kind_label(kind)} "
                                         f"named {port.name!r}")
    _check_scope(index, source, target, moving, where, ctx, fail)
    _check_parameters(flow, source, target, moving, where, ctx, fail)
    for kind, c in moving:
        if kind == "process-group" and index.depth(target.identifier) + 1 + group_height(c) > ctx.max_depth:
            fail(where[c.identifier], f"process groups nest at most {ctx.max_depth} levels deep; "
                                      f"{_what(index, c.identifier)} would reach level "
                                      f"{index.depth(target.identifier) + 1 + group_height(c)}", invariant=True)
    _check_layout(index, edit, target, moving, where, fail)


def _check_connections(index: FlowIndex, source: GroupDef, listed: set[str], moved: set[str],
                       where: dict[str, str], fail: Fail) -> None:
    ends = moved | {p.identifier for g in source.groups if g.identifier in moved
                    for p in (*g.input_ports, *g.output_ports)}
    for c in source.connections:
        if (c.source in ends) != (c.destination in ends):
            inside, outside = (c.source, c.destination) if c.source in ends else (c.destination, c.source)
            place = where.get(c.identifier) or where.get(inside) or where.get(index.location[inside][0], "componentIds")
            fail(place, f"connection {named(c)!r} joins {_what(index, inside)}, which moves, and "
                        f"{_what(index, outside)}, which stays: move both ends, or remove the connection first")
        if c.identifier in listed and c.source not in ends:
            fail(where[c.identifier], f"connection {named(c)!r} moves only with both its ends")
    parent_id = index.parent.get(source.identifier)
    ports = {p.identifier for p in (*source.input_ports, *source.output_ports) if p.identifier in moved}
    if parent_id is not None and ports:
        for c in index.groups[parent_id].connections:
            port = c.source if c.source in ports else c.destination if c.destination in ports else None
            if port is not None:
                fail(where[port], f"{_what(index, port)} is connected outside {_group(index, source.identifier)} "
                                  f"by connection {named(c)!r}: remove that connection first")


def _check_scope(index: FlowIndex, source: GroupDef, target: GroupDef, moving: list[tuple[str, Any]],
                 where: dict[str, str], ctx: EditContext, fail: Fail) -> None:
    """No processor or service (moved or staying) may lose a controller service it references."""
    direct = {c.identifier for _, c in moving}
    parent_after = {c.identifier: target.identifier for kind, c in moving if kind == "process-group"}

    def chain_after(group_id: str) -> Iterator[str]:
        current: str | None = group_id
        while current is not None:
            yield current
            current = parent_after.get(current, index.parent.get(current))

    def service_group(ident: str) -> str:
        return target.identifier if ident in direct else index.location[ident][0]

    services = _Services(index)
    for g in source.walk():
        for kind, items in (("processor", g.processors), ("controller-service", g.controller_services)):
            for c in items:
                group_after = target.identifier if c.identifier in direct else g.identifier
                for key, sid in service_references(c, kind, ctx.specs, services):
                    home = index.location[sid][0]
                    if home in index.ancestors(g.identifier) and service_group(sid) not in chain_after(group_after):
                        moved_one = c.identifier if c.identifier in direct else sid
                        fail(where.get(moved_one, "componentIds"),
                             f"{_what(index, c.identifier)} property {key!r} references "
                             f"{_what(index, sid)}, which would be out of its scope after the move to "
                             f"{_group(index, target.identifier)}")


class _Services:
    """The identifiers of a flow's controller services, as a container."""

    def __init__(self, index: FlowIndex) -> None:
        self.location = index.location

    def __contains__(self, ident: object) -> bool:
        place = self.location.get(ident) if isinstance(ident, str) else None
        return place is not None and place[1] == "controller-service"


def _check_parameters(flow: FlowDef, source: GroupDef, target: GroupDef, moving: list[tuple[str, Any]],
                      where: dict[str, str], ctx: EditContext, fail: Fail) -> None:
    """The moved processors and services keep the parameters they use (groups bring their own binding)."""
    before, after = flow.context(source.parameter_context), flow.context(target.parameter_context)
    defined_before = {p.name for p in before.parameters} if before else set()
    defined_after = {p.name for p in after.parameters} if after else set()
    for kind, c in moving:
        if kind not in ("processor", "controller-service"):
            continue
        for name, key in parameters_used(c).items():
            if name in defined_before and name not in defined_after:
                context = (f"parameter context {after.name!r} of the target group does not" if after else
                           "the target group has no parameter context, so it does not")
                fail(where[c.identifier], f"{kind_label(kind)} {named(c)!r} property {key!r} uses parameter "
                                          f"{name!r}, which {context} define")
        problem = sensitive_problem(c, kind, after, ctx.specs)
        if problem is not None:
            fail(where[c.identifier], f"{kind_label(kind)} {named(c)!r} {problem[0]}: {problem[1]} "
                                      "(in the target group's parameter context)", invariant=True)


def _check_layout(index: FlowIndex, edit: MoveComponents, target: GroupDef, moving: list[tuple[str, Any]],
                  where: dict[str, str], fail: Fail) -> None:
    kinds = {c.identifier: kind for kind, c in moving}
    for ident, pos in edit.positions.items():
        if ident not in where:
            fail(f"positions.{ident}", "is not one of the components moved")
        if kinds[ident] in ("connection", "controller-service"):
            fail(f"positions.{ident}", f"a {kind_label(kinds[ident])} has no position on the canvas",
                 invariant=True)
        try:
            position_from_dict({"x": pos[0], "y": pos[1]} if isinstance(pos, tuple | list) and len(pos) == 2
                               else pos, where=f"positions.{ident}")
        except FlowDefinitionError as exc:
            fail(exc.where, exc.reason, invariant=True)
    room = {kind: len(getattr(target, COMPONENT_KINDS[kind][0])) + sum(1 for k, _ in moving if k == kind)
            for kind in set(kinds.values())}
    seen: set[tuple[str, int]] = set()
    for ident, at in edit.indexes.items():
        if ident not in kinds:
            fail(f"indexes.{ident}", "is not one of the components moved")
        if isinstance(at, bool) or not isinstance(at, int) or not 0 <= at < room[kinds[ident]] \
                or (kinds[ident], at) in seen:
            fail(f"indexes.{ident}", f"must be a distinct whole number from 0 to {room[kinds[ident]] - 1}",
                 invariant=True)
        seen.add((kinds[ident], at))


def _what(index: FlowIndex, ident: str) -> str:
    found = index.find(ident)
    return repr(ident) if found is None else f"{kind_label(found[1])} {named(found[2])!r}"


def _group(index: FlowIndex, group_id: str) -> str:
    return f"group {named(index.groups[group_id])!r}"


def apply_move(paths: Paths, edit: MoveComponents) -> None:
    """Take the moving components out of their group and put them into the
    target (at ``indexes``, else at the end in their old order; at
    ``positions``); both groups and their ancestors are copied once."""
    source_id = paths.location[edit.component_ids[0]][0]
    target_id = edit.to_group_id
    moving = list(moving_components(paths.groups[source_id], set(edit.component_ids)))
    gone = {c.identifier for _, c in moving}
    changes: dict[str, Any] = {}
    for kind in {k for k, _ in moving}:
        attr = COMPONENT_KINDS[kind][0]
        changes[attr] = tuple(c for c in getattr(paths.groups[source_id], attr) if c.identifier not in gone)
    paths.replace_group(source_id, lambda g: dataclasses.replace(g, **changes))
    lists: dict[str, Any] = {COMPONENT_KINDS[k][0]: list(getattr(paths.groups[target_id], COMPONENT_KINDS[k][0]))
             for k, _ in moving}
    placed = []
    for kind, c in moving:
        if c.identifier in edit.positions:
            x, y = edit.positions[c.identifier]
            c = dataclasses.replace(c, position=(float(x), float(y)))
        if c.identifier in edit.indexes:
            placed.append((edit.indexes[c.identifier], kind, c))
        else:
            lists[COMPONENT_KINDS[kind][0]].append(c)
        paths.location[c.identifier] = (target_id, kind)
        if kind == "process-group":
            paths.parent[c.identifier] = target_id
            paths.groups[c.identifier] = c
    for at, kind, c in sorted(placed, key=lambda p: p[0]):
        items = lists[COMPONENT_KINDS[kind][0]]
        if at > len(items):
            raise IndexError(f"index {at} is outside 0..{len(items)}")
        items.insert(at, c)
    done: dict[str, Any] = {attr: tuple(items) for attr, items in lists.items()}
    paths.replace_group(target_id, lambda g: dataclasses.replace(g, **done))


def inverse_move(index: FlowIndex, edit: MoveComponents) -> MoveComponents:
    """The move back: every component that moved (connections that went with
    their ends included) to its old group, at its old index and position."""
    source_id = index.location[edit.component_ids[0]][0]
    source = index.groups[source_id]
    moving = list(moving_components(source, set(edit.component_ids)))
    kinds = {kind for kind, _ in moving}
    at = {c.identifier: i for kind in kinds for i, c in enumerate(getattr(source, COMPONENT_KINDS[kind][0]))}
    at = {c.identifier: at[c.identifier] for _, c in moving}
    listed = set(edit.component_ids)
    extra = tuple(c.identifier for _, c in moving if c.identifier not in listed)
    old = {c.identifier: c.position for _, c in moving if c.identifier in edit.positions}
    return MoveComponents((*edit.component_ids, *extra), source_id, old, at)
