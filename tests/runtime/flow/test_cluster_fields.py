"""The cluster fields of the flow model (issue 15): a connection's load
balancing (``loadBalanceStrategy``, ``partitioningAttribute``,
``loadBalanceCompression``) and a processor's ``executionNode`` — read with
defaults, refused with errors naming the place, written back, changed by
edits, and read from NiFi's own flows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowyard.runtime.flow import (
    EXECUTION_NODES,
    LOAD_BALANCE_COMPRESSIONS,
    LOAD_BALANCE_STRATEGIES,
    ConnectionDef,
    FlowDef,
    ProcessorDef,
    component_from_dict,
    component_to_dict,
    flow_from_dict,
    flow_to_dict,
)
from flowyard.runtime.flow.edits import EditRefused, UpdateComponent, apply, edit_from_dict, edit_to_dict, validate
from flowyard.runtime.sdk import FlowDefinitionError

_CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "nifi-flows"


def _doc(connection: dict[str, Any] | None = None, processor: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"flowyardFlowVersion": 1, "rootGroup": {
        "identifier": "root",
        "processors": [{"identifier": "gen", "type": "GenerateFlowFile", **(processor or {})},
                       {"identifier": "log", "type": "LogAttribute"}],
        "connections": [{"identifier": "c1", "name": "to log", "source": {"id": "gen"},
                         "destination": {"id": "log"}, "selectedRelationships": ["success"], **(connection or {})}]}}


def test_the_constants_are_nifis_names() -> None:
    assert LOAD_BALANCE_STRATEGIES == ("DO_NOT_LOAD_BALANCE", "ROUND_ROBIN", "PARTITION_BY_ATTRIBUTE", "SINGLE_NODE")
    assert LOAD_BALANCE_COMPRESSIONS == ("DO_NOT_COMPRESS", "COMPRESS_ATTRIBUTES_ONLY",
                                         "COMPRESS_ATTRIBUTES_AND_CONTENT")
    assert EXECUTION_NODES == ("ALL", "PRIMARY")


def test_a_flow_without_them_reads_the_defaults() -> None:
    flow = flow_from_dict(_doc())
    conn, proc = flow.connections[0], flow.processors[0]
    assert (conn.load_balance_strategy, conn.partitioning_attribute, conn.load_balance_compression) == (
        "DO_NOT_LOAD_BALANCE", "", "DO_NOT_COMPRESS")
    assert proc.execution_node == "ALL"


def test_they_are_read_and_written_back() -> None:
    flow = flow_from_dict(_doc({"loadBalanceStrategy": "PARTITION_BY_ATTRIBUTE", "partitioningAttribute": "customer",
                                "loadBalanceCompression": "COMPRESS_ATTRIBUTES_ONLY"},
                               {"executionNode": "PRIMARY"}))
    conn, proc = flow.connections[0], flow.processors[0]
    assert (conn.load_balance_strategy, conn.partitioning_attribute, conn.load_balance_compression) == (
        "PARTITION_BY_ATTRIBUTE", "customer", "COMPRESS_ATTRIBUTES_ONLY")
    assert proc.execution_node == "PRIMARY"
    doc = flow_to_dict(flow)
    written = doc["rootGroup"]["connections"][0]
    assert (written["loadBalanceStrategy"], written["partitioningAttribute"], written["loadBalanceCompression"]) == (
        "PARTITION_BY_ATTRIBUTE", "customer", "COMPRESS_ATTRIBUTES_ONLY")
    assert doc["rootGroup"]["processors"][0]["executionNode"] == "PRIMARY"
    assert flow_from_dict(json.loads(json.dumps(doc))) == flow


@pytest.mark.parametrize(("connection", "processor", "where", "message"), [
    ({"loadBalanceStrategy": "EVERYWHERE"}, None, "rootGroup.connections[0].loadBalanceStrategy",
     "'EVERYWHERE' is not one of DO_NOT_LOAD_BALANCE, ROUND_ROBIN, PARTITION_BY_ATTRIBUTE, SINGLE_NODE"),
    ({"loadBalanceCompression": "ZIP"}, None, "rootGroup.connections[0].loadBalanceCompression",
     "'ZIP' is not one of DO_NOT_COMPRESS, COMPRESS_ATTRIBUTES_ONLY, COMPRESS_ATTRIBUTES_AND_CONTENT"),
    ({"loadBalanceStrategy": 3}, None, "rootGroup.connections[0].loadBalanceStrategy", "must be text, found a number"),
    ({"partitioningAttribute": ["a"]}, None, "rootGroup.connections[0].partitioningAttribute",
     "must be text, found a list"),
    ({"loadBalanceStrategy": "PARTITION_BY_ATTRIBUTE"}, None, "rootGroup.connections[0].partitioningAttribute",
     "connection 'to log' is load balanced PARTITION_BY_ATTRIBUTE: name the attribute whose value picks the node"),
    ({"loadBalanceStrategy": "PARTITION_BY_ATTRIBUTE", "partitioningAttribute": "  "}, None,
     "rootGroup.connections[0].partitioningAttribute", "connection 'to log' is load balanced"),
    (None, {"executionNode": "PRIMARY_ONLY"}, "rootGroup.processors[0].executionNode",
     "'PRIMARY_ONLY' is not one of ALL, PRIMARY"),
])
def test_wrong_values_are_refused_naming_the_place(connection: Any, processor: Any, where: str, message: str) -> None:
    with pytest.raises(FlowDefinitionError) as err:
        flow_from_dict(_doc(connection, processor), source="f.json")
    assert err.value.where == where and err.value.reason.startswith(message)


def test_nifis_null_partitioning_attribute_reads_as_none_given() -> None:
    flow = flow_from_dict(_doc({"loadBalanceStrategy": "ROUND_ROBIN", "partitioningAttribute": None}))
    assert flow.connections[0].partitioning_attribute == ""
    with pytest.raises(FlowDefinitionError, match="name the attribute"):
        flow_from_dict(_doc({"loadBalanceStrategy": "PARTITION_BY_ATTRIBUTE", "partitioningAttribute": None}))


def test_components_round_trip_through_their_json_form() -> None:
    conn = ConnectionDef("c", "a", "b", load_balance_strategy="SINGLE_NODE",
                         load_balance_compression="COMPRESS_ATTRIBUTES_AND_CONTENT")
    assert component_from_dict("connection", component_to_dict("connection", conn)) == conn
    proc = ProcessorDef("p", "GenerateFlowFile", execution_node="PRIMARY")
    assert component_from_dict("processor", component_to_dict("processor", proc)) == proc


def _nifi_components(node: Any, key: str) -> list[dict[str, Any]]:
    """Every object under ``key`` lists anywhere in a NiFi flow document."""
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, list):
                found += [c for c in v if isinstance(c, dict)]
            found += _nifi_components(v, key)
    elif isinstance(node, list):
        for v in node:
            found += _nifi_components(v, key)
    return found


@pytest.mark.skipif(not _CORPUS.is_dir(), reason="the NiFi flow corpus is not here")
def test_nifis_connections_and_processors_carry_their_cluster_fields_over() -> None:
    """Every connection and processor of the NiFi flows of the corpus reads
    with the load balancing and execution node NiFi gave it (NiFi's own
    fields that flowyard does not know are ignored)."""
    strategies, nodes = set(), set()
    for path in sorted(_CORPUS.glob("*.json")) + sorted(_CORPUS.glob("*.snapshot")):
        doc = json.loads(path.read_text())
        for raw in _nifi_components(doc, "connections"):
            if "loadBalanceStrategy" not in raw:
                continue
            c = component_from_dict("connection", {**raw, "identifier": "c", "source": {"id": "a"},
                                                   "destination": {"id": "b"}, "bends": [],
                                                   "selectedRelationships": [], "prioritizers": []})
            assert c.load_balance_strategy == raw["loadBalanceStrategy"]
            assert c.partitioning_attribute == (raw.get("partitioningAttribute") or "")
            assert c.load_balance_compression == raw.get("loadBalanceCompression", "DO_NOT_COMPRESS")
            strategies.add(c.load_balance_strategy)
        for raw in _nifi_components(doc, "processors"):
            if "executionNode" in raw:
                assert _execution_node(raw) == raw["executionNode"]
                nodes.add(raw["executionNode"])
    assert "PARTITION_BY_ATTRIBUTE" in strategies and nodes == {"ALL", "PRIMARY"}


def _execution_node(raw: dict[str, Any]) -> str:
    """The execution node a NiFi processor's fields read as (only that field and
    the ones every processor needs: the rest of NiFi's processor is NiFi's)."""
    proc = component_from_dict("processor", {"identifier": "p", "type": "x", "executionNode": raw["executionNode"]})
    return str(proc.execution_node)


# -- edits ----------------------------------------------------------------------------------------


def _flow(**conn: Any) -> FlowDef:
    return flow_from_dict(_doc(conn or None))


def test_update_edits_change_them_and_their_json_round_trips() -> None:
    flow = _flow()
    edit = edit_from_dict({"op": "update", "componentId": "c1",
                           "changes": {"loadBalanceStrategy": "PARTITION_BY_ATTRIBUTE",
                                       "partitioningAttribute": "customer",
                                       "loadBalanceCompression": "COMPRESS_ATTRIBUTES_ONLY"}})
    assert edit == UpdateComponent("c1", {"load_balance_strategy": "PARTITION_BY_ATTRIBUTE",
                                          "partitioning_attribute": "customer",
                                          "load_balance_compression": "COMPRESS_ATTRIBUTES_ONLY"})
    assert edit_from_dict(json.loads(json.dumps(edit_to_dict(edit)))) == edit
    validate(flow, edit)
    new = apply(flow, edit)
    c = new.connections[0]
    assert (c.load_balance_strategy, c.partitioning_attribute, c.load_balance_compression) == (
        "PARTITION_BY_ATTRIBUTE", "customer", "COMPRESS_ATTRIBUTES_ONLY")
    primary = edit_from_dict({"op": "update", "componentId": "gen", "changes": {"executionNode": "PRIMARY"}})
    validate(new, primary)
    assert apply(new, primary).processors[0].execution_node == "PRIMARY"


def test_update_edits_refuse_bad_values_naming_the_field() -> None:
    with pytest.raises(FlowDefinitionError) as err:
        edit_from_dict({"op": "update", "componentId": "c1", "changes": {"loadBalanceStrategy": "EVERYWHERE"}})
    assert err.value.where == "changes.loadBalanceStrategy"
    with pytest.raises(FlowDefinitionError) as err:
        edit_from_dict({"op": "update", "componentId": "gen", "changes": {"executionNode": "SOMETIMES"}})
    assert err.value.where == "changes.executionNode"
    flow = _flow()
    with pytest.raises(EditRefused) as refused:  # built without the reader: validate reads it back
        validate(flow, UpdateComponent("gen", {"execution_node": "SOMETIMES"}))
    assert refused.value.where == "changes.execution_node"


def test_partition_by_attribute_needs_the_attribute_in_an_edit_too() -> None:
    flow = _flow()
    strategy_only = edit_from_dict({"op": "update", "componentId": "c1",
                                    "changes": {"loadBalanceStrategy": "PARTITION_BY_ATTRIBUTE"}})
    with pytest.raises(EditRefused) as refused:
        validate(flow, strategy_only)
    assert refused.value.where == "changes.load_balance_strategy"
    assert "connection 'to log' is load balanced PARTITION_BY_ATTRIBUTE" in refused.value.reason
    partitioned = _flow(loadBalanceStrategy="PARTITION_BY_ATTRIBUTE", partitioningAttribute="customer")
    emptied = UpdateComponent("c1", {"partitioning_attribute": ""})
    with pytest.raises(EditRefused) as refused:
        validate(partitioned, emptied)
    assert refused.value.where == "changes.partitioning_attribute"
    validate(partitioned, UpdateComponent("c1", {"partitioning_attribute": "", "load_balance_strategy": "ROUND_ROBIN"}))
