"""FlowIndex (issue 14, D2): where everything of a flow is, built once per flow
and carried from flow to flow by ``apply``."""

from __future__ import annotations

from flow_strategies import edits, flows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowyard.runtime.flow import COMPONENT_KINDS, FlowDef, FunnelDef, GroupDef, flow_from_dict
from flowyard.runtime.flow._index import FlowIndex, forget
from flowyard.runtime.flow.edits import CreateComponent, EditRefused, apply, validate

FLOW = {"flowyardFlowVersion": 1, "parameterContexts": [{"identifier": "ctx", "name": "C"}],
        "rootGroup": {"identifier": "root", "name": "Flow", "funnels": [{"identifier": "f"}],
                      "processGroups": [{"identifier": "a", "name": "A", "processGroups": [
                          {"identifier": "b", "name": "B", "processors": [
                              {"identifier": "p", "type": "LogAttribute"}]}]}]}}


def test_places_parents_depth_and_size() -> None:
    flow = flow_from_dict(FLOW)
    index = FlowIndex.of(flow)
    assert index.location == {"f": ("root", "funnel"), "a": ("root", "process-group"),
                              "b": ("a", "process-group"), "p": ("b", "processor")}
    assert index.parent == {"root": None, "a": "root", "b": "a"}
    assert index.groups["b"] is flow.groups[0].groups[0]
    assert index.size == 6  # three groups (the root included), two components, one context
    assert list(index.ancestors("b")) == ["b", "a", "root"]
    assert [index.depth(g) for g in ("root", "a", "b")] == [0, 1, 2]
    assert index.is_inside("b", "a") and not index.is_inside("a", "b")
    found = index.find("p")
    assert found is not None and found[0] is flow.groups[0].groups[0] and found[1] == "processor"
    assert index.find("nope") is None and index.find("root") is None


def test_remembered_per_flow_and_carried_by_apply() -> None:
    flow = flow_from_dict(FLOW)
    assert FlowIndex.of(flow) is FlowIndex.of(flow)
    after = apply(flow, CreateComponent("funnel", "b", FunnelDef("g")))
    carried = FlowIndex.of(after)
    assert carried.location["g"] == ("b", "funnel") and "g" not in FlowIndex.of(flow).location
    assert carried == FlowIndex.build(after)
    forget(flow)
    assert FlowIndex.of(flow) == FlowIndex.build(flow)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows(), st.data())
def test_the_carried_index_is_the_one_a_walk_builds(flow: FlowDef, data: st.DataObject) -> None:
    for _ in range(5):
        edit = data.draw(edits(flow))
        try:
            validate(flow, edit)
        except EditRefused:
            continue
        flow = apply(flow, edit)
        assert FlowIndex.of(flow) == FlowIndex.build(flow)


def _walked_owner(flow: FlowDef, identifier: str) -> tuple[GroupDef, str] | None:
    for group in flow.walk():
        for kind, (attr, _) in COMPONENT_KINDS.items():
            if any(c.identifier == identifier for c in getattr(group, attr)):
                return group, kind
    return None


def test_owner_and_group_answer_through_the_index() -> None:
    flow = flow_from_dict(FLOW)
    assert flow.owner("p") == (flow.groups[0].groups[0], "processor")
    assert flow.owner("b") == (flow.groups[0], "process-group")
    assert flow.owner("root") is None and flow.owner("nope") is None
    assert flow.group("root") is flow and flow.group("b") is flow.groups[0].groups[0] and flow.group("p") is None
    assert FlowIndex.of(flow) is FlowIndex.of(flow), "built once for the flow"


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows())
def test_owner_and_group_answer_as_a_walk_does(flow: FlowDef) -> None:
    groups = {g.identifier: g for g in flow.walk()}
    for ident in [*FlowIndex.build(flow).location, "nope"]:
        assert flow.owner(ident) == _walked_owner(flow, ident)
        assert flow.group(ident) is groups.get(ident)
