"""Execution engines of process groups: which groups run stateless, and what a
stateless group may not contain.

A group's ``execution_engine`` is STANDARD, STATELESS or INHERITED (its
parent's; the root group's INHERITED is STANDARD). A *stateless unit* is a
group that runs stateless while its parent does not: it and every group inside
it run as one, each invocation taking flowfiles at the unit's input ports (or
from a source processor inside it) through every processor in memory, with one
commit where they leave through an output port or are dropped
(``runtime/engine/_stateless.py``; docs/stateless.md).

What a stateless unit refuses (``engine_problems``), each with the reason:

* a group inside it set to STANDARD: everything inside a stateless group runs
  in its invocations;
* a load-balanced connection inside it: its flowfiles never wait in a queue
  that another node could take them from;
* processors that wait for more flowfiles across triggers (``WAITING_TYPES``):
  an invocation ends when nothing inside can move, so what they wait for would
  never come within one.
"""

from __future__ import annotations

from collections.abc import Iterator

from flowyard.runtime.flow._index import FlowIndex
from flowyard.runtime.flow._model import FlowDef, GroupDef

__all__ = ["WAITING_TYPES", "effective_engine", "engine_problems", "stateless_units", "unit_of"]

#: Processor types that hold flowfiles back until more arrive in later triggers (bins,
#: counters, release signals): refused inside a stateless group.
WAITING_TYPES = frozenset({"MergeContent", "MergeRecord", "Wait", "EnforceOrder", "ControlRate"})


def effective_engine(flow: FlowDef, group_id: str) -> str:
    """STANDARD or STATELESS: how group ``group_id`` runs (INHERITED resolved)."""
    index = FlowIndex.of(flow)
    gid: str | None = group_id
    while gid is not None:
        group = index.groups.get(gid)
        if group is None:
            break
        if group.execution_engine != "INHERITED":
            return group.execution_engine
        gid = index.parent.get(gid)
    return "STANDARD"


def stateless_units(flow: FlowDef) -> Iterator[GroupDef]:
    """Every stateless unit of ``flow``: a group that runs stateless under a parent that does not."""
    def walk(group: GroupDef, parent_engine: str) -> Iterator[GroupDef]:
        engine = parent_engine if group.execution_engine == "INHERITED" else group.execution_engine
        if engine == "STATELESS":
            yield group
            return
        for child in group.groups:
            yield from walk(child, engine)
    yield from walk(flow, "STANDARD")


def unit_of(flow: FlowDef, group_id: str) -> GroupDef | None:
    """The stateless unit group ``group_id`` belongs to, or None when it runs on the standard engine."""
    if effective_engine(flow, group_id) != "STATELESS":
        return None
    index = FlowIndex.of(flow)
    gid = group_id
    while (parent := index.parent.get(gid)) is not None and effective_engine(flow, parent) == "STATELESS":
        gid = parent
    return index.groups.get(gid)


def engine_problems(flow: FlowDef) -> list[tuple[str, str]]:
    """What the stateless groups of ``flow`` contain that they may not, as
    (component or group identifier, message)."""
    problems: list[tuple[str, str]] = []
    for unit in stateless_units(flow):
        for group in unit.walk():
            if group is not unit and group.execution_engine == "STANDARD":
                problems.append((group.identifier, f"process group {group.name!r} is inside the stateless group "
                                                   f"{unit.name!r} and cannot run on the standard engine; set its "
                                                   "execution engine to INHERITED or STATELESS"))
            for c in group.connections:
                if c.load_balance_strategy != "DO_NOT_LOAD_BALANCE":
                    problems.append((c.identifier, f"connection {c.name or c.identifier!r} inside the stateless group "
                                                   f"{unit.name!r} cannot be load-balanced "
                                                   f"({c.load_balance_strategy}); set DO_NOT_LOAD_BALANCE"))
            for p in group.processors:
                if p.type in WAITING_TYPES:
                    problems.append((p.identifier, f"processor {p.name or p.identifier!r} ({p.type}) waits for "
                                                   "flowfiles across triggers and cannot run inside the stateless "
                                                   f"group {unit.name!r}; move it out or run the group on the "
                                                   "standard engine"))
    return problems
