"""A process group's execution engine fields (issue 16: stateless groups):
``executionEngine``, ``maxConcurrentTasks``, ``statelessFlowTimeout`` — read
with NiFi's defaults, refused with errors naming the place, written back,
changed by the edit that changes a group's name."""

from __future__ import annotations

from typing import Any

import pytest

from flowyard.runtime.flow import EXECUTION_ENGINES, flow_from_dict, flow_to_dict
from flowyard.runtime.flow.edits import EditRefused, UpdateComponent, apply, edit_from_dict, validate
from flowyard.runtime.sdk import FlowDefinitionError


def _doc(**group: Any) -> dict[str, Any]:
    return {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processGroups": [
        {"identifier": "g", "name": "Work", **group}]}}


def test_defaults_are_nifis() -> None:
    assert EXECUTION_ENGINES == ("INHERITED", "STANDARD", "STATELESS")
    g = flow_from_dict(_doc()).groups[0]
    assert (g.execution_engine, g.max_concurrent_tasks, g.stateless_flow_timeout) == ("INHERITED", 1, "1 min")


def test_they_are_read_and_written_back() -> None:
    flow = flow_from_dict(_doc(executionEngine="STATELESS", maxConcurrentTasks=3, statelessFlowTimeout="30 sec"))
    written = flow_to_dict(flow)["rootGroup"]["processGroups"][0]
    assert (written["executionEngine"], written["maxConcurrentTasks"], written["statelessFlowTimeout"]) == (
        "STATELESS", 3, "30 sec")
    assert flow_from_dict(flow_to_dict(flow)) == flow


@pytest.mark.parametrize(("group", "where", "words"), [
    ({"executionEngine": "FAST"}, "executionEngine", "is not one of INHERITED, STANDARD, STATELESS"),
    ({"maxConcurrentTasks": 0}, "maxConcurrentTasks", "must be from 1"),
    ({"maxConcurrentTasks": "2"}, "maxConcurrentTasks", "whole number"),
    ({"statelessFlowTimeout": "soon"}, "statelessFlowTimeout", ""),
])
def test_bad_values_are_named(group: dict[str, Any], where: str, words: str) -> None:
    with pytest.raises(FlowDefinitionError) as info:
        flow_from_dict(_doc(**group))
    assert any(w.endswith(f"processGroups[0].{where}") and words in m for w, m in info.value.problems), \
        info.value.problems


def test_an_edit_changes_them_and_a_bad_value_is_refused_at_its_field() -> None:
    flow = flow_from_dict(_doc())
    edit = edit_from_dict({"op": "update", "componentId": "g",
                           "changes": {"executionEngine": "STATELESS", "statelessFlowTimeout": "10 sec"}})
    validate(flow, edit)
    g = apply(flow, edit).groups[0]
    assert (g.execution_engine, g.stateless_flow_timeout) == ("STATELESS", "10 sec")
    with pytest.raises(EditRefused) as info:
        validate(flow, UpdateComponent("g", {"execution_engine": "TURBO"}))
    assert info.value.where.startswith("changes.execution_engine")
