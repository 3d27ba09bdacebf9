"""The flow file: JSON <-> FlowDef, atomic saving, and a FlowDefinitionError naming
the exact place of the first problem in a bad flow."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

import flowyard.runtime.engine  # noqa: F401  (registers the cron check, as every program that reads flows does)
from flowyard.runtime import flow as flow_module
from flowyard.runtime.flow import (
    ConnectionDef,
    ControllerServiceDef,
    FlowDef,
    FunnelDef,
    LabelDef,
    ProcessorDef,
    flow_from_dict,
    flow_to_dict,
    load_flow,
    save_flow,
)
from flowyard.runtime.sdk import ConfigurationError, FlowDefinitionError


def full_flow() -> dict[str, Any]:
    """A flow that sets every field to a non-default value."""
    return {
        "flowyardFlowVersion": 1,
        "parameterContexts": [{
            "identifier": "ctx", "name": "Demo parameters", "description": "for the demo",
            "parameters": [{"name": "dir", "value": "/data", "sensitive": False, "description": "where"},
                           {"name": "token", "value": None, "sensitive": True, "description": ""}],
        }],
        "rootGroup": {
            "identifier": "root",
            "name": "Demo",
            "position": {"x": 0.0, "y": 0.0},
            "comments": "the root", "executionEngine": "INHERITED", "maxConcurrentTasks": 1,
            "statelessFlowTimeout": "1 min",
            "parameterContext": {"id": "ctx"},
            "processors": [
                {
                    "identifier": "gen", "name": "Generate", "type": "GenerateFlowFile",
                    "position": {"x": 10.5, "y": -20.0},
                    "properties": {"file-size": "1 KB", "Custom Text": None, "my.attr": "${now()}"},
                    "schedulingStrategy": "CRON_DRIVEN", "schedulingPeriod": "0 */5 * * * ?",
                    "concurrentlySchedulableTaskCount": 3, "runDuration": "25 ms", "penaltyDuration": "10 sec",
                    "yieldDuration": "2 sec", "autoTerminatedRelationships": ["failure"],
                    "scheduledState": "STOPPED", "comments": "hello", "bulletinLevel": "ERROR",
                    "executionNode": "PRIMARY",
                },
                {
                    "identifier": "log", "name": "", "type": "LogAttribute", "position": {"x": 0.0, "y": 0.0},
                    "properties": {}, "schedulingStrategy": "EVENT_DRIVEN", "schedulingPeriod": "anything",
                    "concurrentlySchedulableTaskCount": 1, "runDuration": "0 ms", "penaltyDuration": "30 sec",
                    "yieldDuration": "1 sec", "autoTerminatedRelationships": [], "scheduledState": "DISABLED",
                    "comments": "", "bulletinLevel": "WARN", "executionNode": "ALL",
                },
            ],
            "funnels": [{"identifier": "fun", "position": {"x": 1.0, "y": 2.0}}],
            "inputPorts": [],
            "outputPorts": [],
            "labels": [{"identifier": "lab", "label": "Read me", "position": {"x": -5.0, "y": 3.0},
                        "width": 200.0, "height": 80.0, "style": {"background-color": "#fff7d7"}}],
            "controllerServices": [{"identifier": "svc", "name": "Lookup", "type": "SimpleKeyValueLookupService",
                                    "properties": {"a": "1"}, "scheduledState": "DISABLED", "comments": "c"}],
            "processGroups": [{
                "identifier": "child", "name": "Child", "position": {"x": 300.0, "y": 400.0}, "comments": "",
                "executionEngine": "STATELESS", "maxConcurrentTasks": 2, "statelessFlowTimeout": "30 sec",
                "parameterContext": None, "processors": [], "funnels": [],
                "inputPorts": [{"identifier": "in", "name": "In", "position": {"x": 0.0, "y": 0.0},
                                "scheduledState": "RUNNING", "comments": ""}],
                "outputPorts": [{"identifier": "out", "name": "Out", "position": {"x": 0.0, "y": 100.0},
                                 "scheduledState": "STOPPED", "comments": "x"}],
                "labels": [], "controllerServices": [], "processGroups": [],
                "connections": [{
                    "identifier": "c3", "name": "", "source": {"id": "in"}, "destination": {"id": "out"},
                    "selectedRelationships": [], "backPressureObjectThreshold": 10000,
                    "backPressureDataSizeThreshold": "1 GB", "flowFileExpiration": "0 sec", "prioritizers": [],
                    "bends": [], "loadBalanceStrategy": "DO_NOT_LOAD_BALANCE", "partitioningAttribute": "",
                    "loadBalanceCompression": "DO_NOT_COMPRESS",
                }],
            }],
            "connections": [
                {
                    "identifier": "c1", "name": "to funnel", "source": {"id": "gen"}, "destination": {"id": "fun"},
                    "selectedRelationships": ["success"], "backPressureObjectThreshold": 0,
                    "backPressureDataSizeThreshold": "10 MB", "flowFileExpiration": "1 hour",
                    "prioritizers": ["PriorityAttributePrioritizer", "FirstInFirstOutPrioritizer"],
                    "bends": [{"x": 5.0, "y": 6.0}, {"x": 7.0, "y": 8.0}],
                    "loadBalanceStrategy": "PARTITION_BY_ATTRIBUTE", "partitioningAttribute": "customer",
                    "loadBalanceCompression": "COMPRESS_ATTRIBUTES_AND_CONTENT",
                },
                {
                    "identifier": "c2", "name": "", "source": {"id": "fun"}, "destination": {"id": "log"},
                    "selectedRelationships": [], "backPressureObjectThreshold": 10000,
                    "backPressureDataSizeThreshold": "1 GB", "flowFileExpiration": "0 sec", "prioritizers": [],
                    "bends": [], "loadBalanceStrategy": "DO_NOT_LOAD_BALANCE", "partitioningAttribute": "",
                    "loadBalanceCompression": "DO_NOT_COMPRESS",
                },
            ],
        },
    }


def test_round_trip_keeps_every_field() -> None:
    data = full_flow()
    flow = flow_from_dict(copy.deepcopy(data))
    assert flow_to_dict(flow) == data
    assert flow_from_dict(flow_to_dict(flow)) == flow


def test_from_dict_builds_the_records() -> None:
    flow = flow_from_dict(full_flow())
    assert (flow.identifier, flow.name) == ("root", "Demo")
    gen = flow.processors[0]
    assert gen == ProcessorDef(
        identifier="gen", type="GenerateFlowFile", name="Generate", position=(10.5, -20.0),
        properties={"file-size": "1 KB", "Custom Text": None, "my.attr": "${now()}"},
        scheduling_strategy="CRON_DRIVEN", scheduling_period="0 */5 * * * ?", concurrent_tasks=3,
        run_duration="25 ms", penalty_duration="10 sec", yield_duration="2 sec", auto_terminated=("failure",),
        scheduled_state="STOPPED", comments="hello", bulletin_level="ERROR", execution_node="PRIMARY",
    )
    assert flow.funnels == (FunnelDef("fun", (1.0, 2.0)),)
    assert flow.connections[0] == ConnectionDef(
        identifier="c1", source="gen", destination="fun", relationships=("success",), name="to funnel",
        back_pressure_object_threshold=0, back_pressure_data_size_threshold="10 MB", flowfile_expiration="1 hour",
        prioritizers=("PriorityAttributePrioritizer", "FirstInFirstOutPrioritizer"), bends=((5.0, 6.0), (7.0, 8.0)),
        load_balance_strategy="PARTITION_BY_ATTRIBUTE", partitioning_attribute="customer",
        load_balance_compression="COMPRESS_ATTRIBUTES_AND_CONTENT",
    )
    assert flow.component_ids() == {"gen", "log", "fun"}
    assert [g.identifier for g in flow.walk()] == ["root", "child"]
    assert flow.parameters_for(flow) == {"dir": "/data"}
    assert flow.parameters_for(flow.groups[0]) == {}, "a child group without a context has no parameters"
    assert flow.owner("out") == (flow.groups[0], "output-port")
    assert flow.labels == (LabelDef("lab", "Read me", (-5.0, 3.0), 200.0, 80.0, {"background-color": "#fff7d7"}),)
    assert flow.controller_services == (
        ControllerServiceDef("svc", "SimpleKeyValueLookupService", "Lookup", {"a": "1"}, "DISABLED", "c"),)


def test_minimal_flow_gets_the_defaults() -> None:
    flow = flow_from_dict({
        "flowyardFlowVersion": 1,
        "rootGroup": {
            "processors": [{"identifier": "p", "type": "T"}],
            "connections": [{"identifier": "c", "source": {"id": "p"}, "destination": {"id": "p"}}],
        },
    })
    assert flow.name == "Flow"
    assert flow.identifier  # a fresh uuid
    assert flow.processors == (ProcessorDef(identifier="p", type="T"),)
    assert flow.connections == (ConnectionDef(identifier="c", source="p", destination="p"),)
    assert flow.funnels == ()


def test_an_empty_root_group_is_a_valid_flow() -> None:
    flow = flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {"identifier": "r"}})
    assert flow == FlowDef(identifier="r")


# -- bad flows: (change to the full flow, .where, message fragment) ---------------------------

P0 = "rootGroup.processors[0]"
C0 = "rootGroup.connections[0]"


def _set(path: str, value: Any) -> Any:
    """A change setting ``path`` (dotted, with [i] indexes) of the full flow; ``...`` deletes."""
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.replace("[", ".").replace("]", "").split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        key: Any = int(last) if last.isdigit() else last
        if value is ...:
            del target[key]
        else:
            target[key] = value
    return change


BAD_FLOWS = [
    ("version", _set("flowyardFlowVersion", 2), "flowyardFlowVersion", "expected 1, found 2"),
    ("no version", _set("flowyardFlowVersion", ...), "flowyardFlowVersion", "expected 1, found None"),
    ("boolean version", _set("flowyardFlowVersion", True), "flowyardFlowVersion", "expected 1, found True"),
    ("no root group", _set("rootGroup", ...), "rootGroup", "expected an object, found null"),
    ("processors not a list", _set("rootGroup.processors", {}), "rootGroup.processors",
     "expected a list, found an object"),
    ("processor not an object", _set("rootGroup.processors[1]", "p"), "rootGroup.processors[1]",
     "expected an object, found text"),
    ("missing type", _set(f"{P0}.type", ...), f"{P0}.type", "is required"),
    ("type not a string", _set(f"{P0}.type", 5), f"{P0}.type", "must be text, found a number"),
    ("missing identifier", _set(f"{P0}.identifier", ...), f"{P0}.identifier", "is required"),
    ("duplicate processor", _set("rootGroup.processors[1].identifier", "gen"), "rootGroup.processors[1].identifier",
     f"'gen' is already used by {P0}"),
    ("funnel reuses a processor id", _set("rootGroup.funnels[0].identifier", "log"),
     "rootGroup.funnels[0].identifier", "'log' is already used by rootGroup.processors[1]"),
    ("connection reuses an id", _set(f"{C0}.identifier", "fun"), f"{C0}.identifier",
     "'fun' is already used by rootGroup.funnels[0]"),
    ("unknown source", _set(f"{C0}.source", {"id": "nope"}), f"{C0}.source.id",
     "'nope' is not a processor, funnel or input port of this group"),
    ("unknown destination", _set("rootGroup.connections[1].destination.id", "c1"),
     "rootGroup.connections[1].destination.id", "'c1' is not a processor, funnel or output port of this group"),
    ("destination not an object", _set(f"{C0}.destination", "log"), f"{C0}.destination",
     "expected an object, found text"),
    ("bad penalty", _set(f"{P0}.penaltyDuration", "10 parsecs"), f"{P0}.penaltyDuration",
     "'10 parsecs' is not a valid time period: unknown unit 'parsecs'"),
    ("bad period", _set("rootGroup.processors[1].schedulingStrategy", "TIMER_DRIVEN"),
     "rootGroup.processors[1].schedulingPeriod", "'anything' is not a valid time period"),
    ("bad expiration", _set(f"{C0}.flowFileExpiration", "-1 sec"), f"{C0}.flowFileExpiration",
     "a time period cannot be negative"),
    ("bad data size", _set(f"{C0}.backPressureDataSizeThreshold", "10 sec"), f"{C0}.backPressureDataSizeThreshold",
     "'10 sec' is not a valid data size: unknown unit 'sec'"),
    ("bad cron", _set(f"{P0}.schedulingPeriod", "0 0 25 * * ?"), f"{P0}.schedulingPeriod",
     "cron expression '0 0 25 * * ?' is not valid"),
    ("cron field count", _set(f"{P0}.schedulingPeriod", "*/5 * * * *"), f"{P0}.schedulingPeriod",
     "has 5 fields; expected 6 or 7"),
    ("unknown strategy", _set(f"{P0}.schedulingStrategy", "PRIMARY_NODE"), f"{P0}.schedulingStrategy",
     "'PRIMARY_NODE' is not one of TIMER_DRIVEN, CRON_DRIVEN, EVENT_DRIVEN"),
    ("unknown state", _set(f"{P0}.scheduledState", "ENABLED"), f"{P0}.scheduledState",
     "'ENABLED' is not one of RUNNING, STOPPED, DISABLED"),
    ("unknown prioritizer", _set(f"{C0}.prioritizers[1]", "LargestFirst"), f"{C0}.prioritizers[1]",
     "unknown prioritizer 'LargestFirst'; known: FirstInFirstOutPrioritizer"),
    ("negative threshold", _set(f"{C0}.backPressureObjectThreshold", -1), f"{C0}.backPressureObjectThreshold",
     "must be from 0 to 1,000,000,000, found -1"),
    ("fractional threshold", _set(f"{C0}.backPressureObjectThreshold", 1.5), f"{C0}.backPressureObjectThreshold",
     "must be a whole number, found 1.5"),
    ("boolean threshold", _set(f"{C0}.backPressureObjectThreshold", True), f"{C0}.backPressureObjectThreshold",
     "must be a whole number, found true"),
    ("zero tasks", _set(f"{P0}.concurrentlySchedulableTaskCount", 0), f"{P0}.concurrentlySchedulableTaskCount",
     "must be from 1 to 100, found 0"),
    ("number property", _set(f"{P0}.properties.file-size", 1024), f"{P0}.properties.file-size",
     "must be text or null, found a number"),
    ("properties not an object", _set(f"{P0}.properties", ["a"]), f"{P0}.properties",
     "expected an object, found a list"),
    ("bad auto-terminate", _set(f"{P0}.autoTerminatedRelationships", ["ok", 1]), f"{P0}.autoTerminatedRelationships",
     "must be a list of relationship names"),
    ("bad relationships", _set(f"{C0}.selectedRelationships", [None]), f"{C0}.selectedRelationships",
     "must be a list of relationship names"),
    ("bad position", _set(f"{P0}.position", {"x": "1", "y": 2}), f"{P0}.position",
     'must be {"x": number, "y": number}'),
    ("bad bend", _set(f"{C0}.bends[1]", [1, 2]), f"{C0}.bends[1]", 'must be {"x": number, "y": number}'),
]


@pytest.mark.parametrize(("change", "where", "fragment"), [b[1:] for b in BAD_FLOWS], ids=[b[0] for b in BAD_FLOWS])
def test_bad_flows_name_the_place(change: Any, where: str, fragment: str) -> None:
    data = full_flow()
    change(data)
    with pytest.raises(FlowDefinitionError) as info:
        flow_from_dict(data, source="my.json")
    assert info.value.where == where
    assert info.value.source == "my.json"
    assert str(info.value).startswith(f"my.json: {where}: ")
    assert fragment in str(info.value)
    assert isinstance(info.value, ConfigurationError)


@pytest.mark.parametrize("data", [[], "flow", None, 1])
def test_the_top_level_must_be_an_object(data: Any) -> None:
    with pytest.raises(FlowDefinitionError) as info:
        flow_from_dict(data)
    shown = {list: "a list", str: "text", type(None): "null", int: "a number"}[type(data)]
    assert (info.value.where, str(info.value)) == ("", f"flow: expected an object, found {shown}")


# -- files ----------------------------------------------------------------------------------


def test_save_then_load(tmp_path: Path) -> None:
    flow = flow_from_dict(full_flow())
    path = tmp_path / "new" / "dir" / "flow.json"
    save_flow(flow, path)
    assert load_flow(path) == flow
    assert json.loads(path.read_text(encoding="utf-8")) == full_flow()
    assert path.read_bytes().endswith(b"}\n")
    assert sorted(p.name for p in path.parent.iterdir()) == ["flow.json"]  # no temporary file left


def test_save_replaces_an_existing_flow(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    save_flow(FlowDef(identifier="old"), path)
    save_flow(FlowDef(identifier="new"), str(path))
    assert load_flow(str(path)).identifier == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["flow.json"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_save_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    path = tmp_path / "flow.json"
    save_flow(FlowDef(identifier="old"), path)
    before = path.read_bytes()

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(flow_module.os, failing, fail)
    with pytest.raises(OSError, match="No space left on device"):
        save_flow(FlowDef(identifier="new"), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["flow.json"]  # the temporary file was removed


def test_load_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    path.write_text('{\n  "flowyardFlowVersion": 1,\n  "rootGroup": {,}\n}\n', encoding="utf-8")
    with pytest.raises(FlowDefinitionError) as info:
        load_flow(path)
    assert (info.value.source, info.value.where) == (str(path), "line 3 column 17")
    assert str(info.value) == (
        f"{path}: line 3 column 17: not valid JSON: Expecting property name enclosed in double quotes"
    )


def test_load_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    path.write_bytes(b'{"flowyardFlowVersion": 1, "rootGroup": {"name": "caf\xe9"}}')
    with pytest.raises(FlowDefinitionError) as info:
        load_flow(path)
    assert info.value.source == str(path)


def test_load_names_the_file_and_the_place(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    path.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": {"processors": [{"identifier": "p"}]}}))
    with pytest.raises(FlowDefinitionError) as info:
        load_flow(path)
    assert str(info.value) == f"{path}: rootGroup.processors[0].type: is required"


@pytest.mark.parametrize("make", [lambda p: None, lambda p: p.mkdir()], ids=["missing", "directory"])
def test_load_an_unreadable_file(tmp_path: Path, make: Any) -> None:
    path = tmp_path / "flow.json"
    make(path)
    with pytest.raises(FlowDefinitionError) as info:
        load_flow(path)
    assert (info.value.source, info.value.where) == (str(path), "")
    assert str(info.value).startswith(f"{path}: cannot read the flow file: ")
    assert os.path.exists(path) == path.is_dir()


def test_parameters_round_trip_and_feed_expressions(tmp_path: Path) -> None:
    from flowyard.processors import PROCESSORS
    from flowyard.runtime.engine import Engine
    from flowyard.runtime.repository import Repositories

    data = {"flowyardFlowVersion": 1, "rootGroup": {"parameters": {"dir": "/data"}, "processors": [
        {"identifier": "u", "type": "UpdateAttribute", "properties": {"where": "#{dir}/${filename}"},
         "autoTerminatedRelationships": ["success"]}]}}
    flow = flow_from_dict(data)
    assert flow.parameters_for(flow) == {"dir": "/data"}, "the shorthand becomes a context bound to the root"
    again = flow_from_dict(flow_to_dict(flow))
    assert again.parameters_for(again) == {"dir": "/data"}
    assert again == flow
    engine = Engine(flow, Repositories.in_memory(), registry=PROCESSORS)
    assert engine.evaluator_for("u")("#{dir}/${filename}", {"filename": "a.txt"}) == "/data/a.txt"


def test_parameter_values_must_be_strings() -> None:
    with pytest.raises(FlowDefinitionError) as info:
        flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {"parameters": {"n": 5}}})
    assert info.value.where == "rootGroup.parameters.n"


def test_single_components_parse_with_errors_naming_the_field() -> None:
    from flowyard.runtime.flow import connection_from_dict, processor_from_dict

    conn = connection_from_dict({"identifier": "c", "source": {"id": "anywhere"}, "destination": {"id": "x"},
                                 "selectedRelationships": ["success"]})
    assert (conn.source, conn.destination) == ("anywhere", "x"), "endpoints are the caller's to check"
    with pytest.raises(FlowDefinitionError) as info:
        processor_from_dict({"identifier": "p", "type": "T", "schedulingPeriod": "soon"})
    assert info.value.where == "processor.schedulingPeriod"


def _nested(**overrides: Any) -> dict[str, Any]:
    child = {"identifier": "child", "inputPorts": [{"identifier": "in"}], "outputPorts": [{"identifier": "out"}],
             "processors": [{"identifier": "p", "type": "T"}],
             "connections": [{"identifier": "c1", "source": {"id": "in"}, "destination": {"id": "p"}},
                             {"identifier": "c2", "source": {"id": "p"}, "destination": {"id": "out"}}]}
    root = {"identifier": "root", "processors": [{"identifier": "src", "type": "T"}], "processGroups": [child],
            "connections": [{"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "in"}}]}
    root.update(overrides)
    return {"flowyardFlowVersion": 1, "rootGroup": root}


def test_connections_join_ports_of_direct_child_groups() -> None:
    flow = flow_from_dict(_nested())
    assert flow.connections[0].destination == "in"
    assert flow.groups[0].name == "Process Group", "a nested group's default name"
    assert [c.identifier for c in flow.groups[0].connections] == ["c1", "c2"]


@pytest.mark.parametrize(("connections", "where", "message"), [
    ([{"identifier": "x", "source": {"id": "p"}, "destination": {"id": "src"}}],
     "rootGroup.connections[0].source.id", "is not a processor, funnel or input port of this group"),
    ([{"identifier": "x", "source": {"id": "src"}, "destination": {"id": "out"}}],
     "rootGroup.connections[0].destination.id", "is not a processor, funnel or output port of this group"),
])
def test_a_connection_may_not_reach_inside_another_group(connections: list[Any], where: str, message: str) -> None:
    with pytest.raises(FlowDefinitionError) as info:
        flow_from_dict(_nested(connections=connections))
    assert info.value.where == where
    assert message in str(info.value)


def test_identifiers_are_unique_across_groups() -> None:
    data = _nested()
    data["rootGroup"]["processors"].append({"identifier": "p", "type": "T"})
    with pytest.raises(FlowDefinitionError) as info:
        flow_from_dict(data)
    assert info.value.where == "rootGroup.processGroups[0].processors[0].identifier"
    assert "already used by rootGroup.processors[1]" in str(info.value)


@pytest.mark.parametrize(("data", "where", "message"), [
    ({"parameterContexts": [{"identifier": "a", "name": "n"}], "rootGroup": {"parameterContext": {"id": "b"}}},
     "rootGroup.parameterContext.id", "no parameter context has identifier 'b'"),
    ({"parameterContexts": [{"identifier": "a", "name": "n"}, {"identifier": "b", "name": "n"}], "rootGroup": {}},
     "parameterContexts[1].name", "already the name of parameterContexts[0]"),
    ({"parameterContexts": [{"identifier": "a", "name": "n", "parameters": [{"name": "bad/name"}]}],
      "rootGroup": {}}, "parameterContexts[0].parameters[0].name", "not a valid parameter name"),
    ({"parameterContexts": [{"identifier": "a", "name": "n", "parameters": [{"name": "x"}, {"name": "x"}]}],
      "rootGroup": {}}, "parameterContexts[0].parameters[1].name", "defined twice"),
    ({"parameterContexts": [{"identifier": "a", "name": "n", "parameters": [{"name": "x", "sensitive": "yes"}]}],
      "rootGroup": {}}, "parameterContexts[0].parameters[0].sensitive", "must be true or false"),
    ({"parameterContexts": [{"identifier": "a", "name": "n"}],
      "rootGroup": {"parameterContext": {"id": "a"}, "parameters": {"x": "1"}}},
     "rootGroup.parameters", "not both"),
    ({"rootGroup": {"labels": [{"identifier": "l", "width": 0}]}}, "rootGroup.labels[0].width",
     "must be a positive number"),
    ({"rootGroup": {"controllerServices": [{"identifier": "s", "type": "T", "scheduledState": "RUNNING"}]}},
     "rootGroup.controllerServices[0].scheduledState", "is not one of ENABLED, DISABLED"),
    ({"rootGroup": {"inputPorts": [{"identifier": "i", "scheduledState": "ON"}]}},
     "rootGroup.inputPorts[0].scheduledState", "is not one of RUNNING, STOPPED, DISABLED"),
])
def test_group_level_errors_name_the_place(data: dict[str, Any], where: str, message: str) -> None:
    with pytest.raises(FlowDefinitionError) as info:
        flow_from_dict({"flowyardFlowVersion": 1, **data})
    assert info.value.where == where
    assert message in str(info.value)


def test_edit_seq_is_kept_by_the_file_but_not_part_of_the_flow() -> None:
    """``editSeq`` (the last edit-log entry the file contains) round-trips, is
    written only when set, is checked like any number, and equality ignores it."""
    plain = flow_to_dict(FlowDef(identifier="root"))
    assert "editSeq" not in plain
    loaded = flow_from_dict({**plain, "editSeq": 42})
    assert loaded.edit_seq == 42
    assert flow_to_dict(loaded)["editSeq"] == 42
    assert loaded == flow_from_dict(plain)
    with pytest.raises(FlowDefinitionError) as err:
        flow_from_dict({**plain, "editSeq": "7"})
    assert err.value.where == "editSeq"
