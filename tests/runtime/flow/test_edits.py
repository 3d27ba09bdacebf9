"""Flow edits as data (issue 14, D1): per command, what is accepted and what is
refused (the message names the edit and the place), and properties on random
flows and random edit sequences (tests/support/flow_strategies.py)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from flow_strategies import SPECS, edits, flows, moves
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowyard.runtime.flow import (
    ControllerServiceDef,
    FlowDef,
    ParameterContextDef,
    ParameterDef,
    PortDef,
    ProcessorDef,
    flow_from_dict,
    flow_to_dict,
    group_from_dict,
)
from flowyard.runtime.flow.edits import (
    Batch,
    BindParameterContext,
    CreateComponent,
    CreateParameterContext,
    DeleteComponent,
    DeleteParameterContext,
    Edit,
    EditContext,
    EditRefused,
    ImportGroup,
    MoveComponents,
    SetRunState,
    SetServiceState,
    UpdateComponent,
    UpdateParameterContext,
    apply,
    check_flow,
    connect,
    describe,
    edit_from_dict,
    edit_to_dict,
    inverse,
    touched,
    undoable,
    validate,
)
from flowyard.runtime.sdk import FlowDefinitionError

CTX = EditContext(SPECS)
PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _proc(ident: str, type_name: str, name: str, **props: str | None) -> dict[str, Any]:
    return {"identifier": ident, "type": type_name, "name": name, "properties": props}


def _conn(ident: str, source: str, destination: str, name: str = "") -> dict[str, Any]:
    return {"identifier": ident, "name": name, "source": {"id": source}, "destination": {"id": destination},
            "selectedRelationships": ["success"]}


SAMPLE: dict[str, Any] = {
    "flowyardFlowVersion": 1,
    "parameterContexts": [
        {"identifier": "settings", "name": "Settings", "parameters": [
            {"name": "host", "value": "example.com"}, {"name": "secret", "value": "x", "sensitive": True}]},
        {"identifier": "other", "name": "Other", "parameters": [{"name": "host", "value": "other.com"}]},
        {"identifier": "hush", "name": "Hush", "parameters": [{"name": "host", "value": "h", "sensitive": True}]},
    ],
    "rootGroup": {
        "identifier": "root", "name": "Flow", "parameterContext": {"id": "settings"},
        "processors": [
            _proc("gen", "GenerateFlowFile", "Generate"),
            _proc("http", "InvokeHTTP", "Fetch", **{"http-url": "https://#{host}/", "ssl-context-service": "ssl",
                                                    "request-password": "#{secret}"}),
            _proc("log", "LogAttribute", "Log"),
        ],
        "funnels": [{"identifier": "fun"}],
        "controllerServices": [{"identifier": "ssl", "type": "StandardSSLContextService", "name": "SSL"}],
        "connections": [_conn("c1", "gen", "http", "to fetch"), _conn("c2", "http", "fun"),
                        _conn("c3", "log", "in")],
        "processGroups": [
            {"identifier": "child", "name": "Child", "parameterContext": {"id": "settings"},
             "inputPorts": [{"identifier": "in", "name": "in"}],
             "outputPorts": [{"identifier": "out", "name": "out"}],
             "processors": [_proc("upd", "UpdateAttribute", "Update"),
                            _proc("call", "InvokeHTTP", "Call", **{"ssl-context-service": "ssl2"})],
             "controllerServices": [{"identifier": "ssl2", "type": "StandardSSLContextService", "name": "SSL 2",
                                     "scheduledState": "DISABLED"}],
             "connections": [_conn("ci", "in", "upd")],
             "processGroups": [{"identifier": "grand", "name": "Grand"}]},
            {"identifier": "child2", "name": "Child 2", "parameterContext": {"id": "other"},
             "inputPorts": [{"identifier": "in2", "name": "in"}]},
        ],
    },
}


@pytest.fixture
def flow() -> FlowDef:
    return flow_from_dict(SAMPLE)


def refused(flow: FlowDef, edit: Edit, where: str, *words: str, ctx: EditContext = CTX) -> EditRefused:
    """Assert ``edit`` is refused at ``where`` with a message holding ``words``; ``apply`` then must not be trusted."""
    with pytest.raises(EditRefused) as info:
        validate(flow, edit, ctx)
    exc = info.value
    assert exc.where == where, str(exc)
    for word in words:
        assert word in str(exc), str(exc)
    assert exc.edit in str(exc)
    return exc


def accepted(flow: FlowDef, edit: Edit) -> FlowDef:
    """Validate, apply, check the result loads and that the inverse gives ``flow`` back."""
    before = flow_to_dict(flow)
    validate(flow, edit, CTX)
    after = apply(flow, edit)
    assert flow_to_dict(flow) == before  # the input is never changed
    assert flow_from_dict(flow_to_dict(after)) == after
    assert check_flow(after, SPECS) == []
    assert apply(after, inverse(flow, edit)) == flow
    assert edit_from_dict(edit_to_dict(edit)) == edit
    return after


def _processor(flow: FlowDef, ident: str) -> Any:
    found = flow.owner(ident)
    assert found is not None
    group = found[0]
    items: list[Any] = [*group.processors, *group.controller_services, *group.input_ports, *group.output_ports]
    return next(c for c in items if c.identifier == ident)


# -- create ------------------------------------------------------------------------------


def test_create_processor_at_an_index(flow: FlowDef) -> None:
    new = ProcessorDef("p9", "LogAttribute", "Audit", properties={"log-prefix": "#{host}"})
    after = accepted(flow, CreateComponent("processor", "root", new, 1))
    assert [p.identifier for p in after.processors] == ["gen", "p9", "http", "log"]
    assert describe(flow, CreateComponent("processor", "root", new)) == "Create processor 'Audit'"


@pytest.mark.parametrize(("edit", "where", "words"), [
    (CreateComponent("processor", "root", ProcessorDef("gen", "LogAttribute")), "component.identifier",
     ("'gen' is already used",)),
    (CreateComponent("processor", "nowhere", ProcessorDef("p9", "LogAttribute")), "groupId", ("'nowhere'",)),
    (CreateComponent("processor", "root", ProcessorDef("p9", "LogAttribute", scheduling_period="soon")),
     "component.schedulingPeriod", ()),
    (CreateComponent("processor", "root", ProcessorDef("p9", "LogAttribute", properties={"log-prefix": "#{secret}"})),
     "component.properties.log-prefix", ("sensitive parameter 'secret'",)),
    (CreateComponent("processor", "root", ProcessorDef("p9", "LogAttribute", name="   ")), "component.name",
     ("blank",)),
    (CreateComponent("processor", "root", ProcessorDef("a/b", "LogAttribute")), "component.identifier", ()),
    (CreateComponent("processor", "root", ProcessorDef("p9", "LogAttribute"), 9), "index", ()),
    (CreateComponent("funnel", "root", ProcessorDef("p9", "LogAttribute")), "component", ("not a funnel",)),
    (connect("root", dataclasses.replace(flow_from_dict(SAMPLE).connections[0], identifier="c9", destination="upd")),
     "component.destination.id", ("'upd'",)),
    (connect("root", dataclasses.replace(flow_from_dict(SAMPLE).connections[0], identifier="c9", source="in")),
     "component.source.id", ("'in'",)),
])
def test_create_refused(flow: FlowDef, edit: Edit, where: str, words: tuple[str, ...]) -> None:
    refused(flow, edit, where, *words)


def test_connect_to_a_child_group_port(flow: FlowDef) -> None:
    edit = connect("root", dataclasses.replace(flow.connections[0], identifier="c9", destination="in2"))
    after = accepted(flow, edit)
    assert after.connections[-1].destination == "in2"


def test_create_group_depth_room_and_contexts(flow: FlowDef) -> None:
    deep = group_from_dict({"identifier": "g1", "name": "G1", "processGroups": [{"identifier": "g2", "name": "G2"}]})
    accepted(flow, CreateComponent("process-group", "grand", deep))
    refused(flow, CreateComponent("process-group", "grand", deep), "component", "at most 3 levels", "level 4",
            ctx=EditContext(SPECS, max_depth=3))
    refused(flow, CreateComponent("process-group", "root", deep), "component", "at most 20 components",
            ctx=EditContext(SPECS, max_components=20))
    bound = dataclasses.replace(deep, groups=(dataclasses.replace(deep.groups[0], parameter_context="nope"),))
    refused(flow, CreateComponent("process-group", "root", bound), "component.processGroups[0].parameterContext.id",
            "'nope'")
    clash = group_from_dict({"identifier": "g1", "name": "G1", "funnels": [{"identifier": "fun"}]})
    refused(flow, CreateComponent("process-group", "root", clash), "component", "'fun' is already used")


# -- delete ------------------------------------------------------------------------------


def test_delete_refused_while_connected(flow: FlowDef) -> None:
    refused(flow, DeleteComponent("processor", "http"), "componentId", "processor 'Fetch'", "'to fetch'", "'c2'")
    refused(flow, DeleteComponent("input-port", "in"), "componentId", "'c3'", "'ci'")
    refused(flow, DeleteComponent("process-group", "child"), "componentId", "process group 'Child'", "'c3'")
    refused(flow, DeleteComponent("process-group", "root"), "componentId", "root process group")
    refused(flow, DeleteComponent("funnel", "log"), "kind", "no funnel has id 'log'", "it is a processor")
    refused(flow, DeleteComponent("processor", "ghost"), "componentId", "'ghost'")


def test_delete_and_inverse_put_it_back_where_it_was(flow: FlowDef) -> None:
    after = accepted(flow, DeleteComponent("connection", "c1"))
    assert [c.identifier for c in after.connections] == ["c2", "c3"]
    assert inverse(flow, DeleteComponent("connection", "c1")) == CreateComponent("connection", "root",
                                                                                flow.connections[0], 0)
    after = accepted(flow, DeleteComponent("process-group", "child2"))
    assert [g.identifier for g in after.groups] == ["child"]


# -- update ------------------------------------------------------------------------------


def test_update_properties_and_fields(flow: FlowDef) -> None:
    edit = UpdateComponent("http", {"name": "Get", "position": (5.0, 6.0)}, {"http-url": None, "x": "1"},
                           {"name": "Fetch"})
    after = accepted(flow, edit)
    http = _processor(after, "http")
    assert (http.name, http.position) == ("Get", (5.0, 6.0))
    assert "http-url" not in http.properties and http.properties["x"] == "1"
    assert describe(flow, edit) == "Update processor 'Fetch' (name, position, properties)"
    undo = inverse(flow, edit)
    assert isinstance(undo, UpdateComponent)
    assert undo.expect == {"name": "Get", "position": (5.0, 6.0), "properties.http-url": None, "properties.x": "1"}
    assert undo.properties == {"http-url": "https://#{host}/", "x": None}


def test_update_group_and_connection(flow: FlowDef) -> None:
    accepted(flow, UpdateComponent("child", {"name": "Renamed", "comments": "c"}))
    accepted(flow, UpdateComponent("root", {"name": "Top"}))
    accepted(flow, UpdateComponent("c1", {"relationships": ("success", "failure"), "bends": ((1.0, 2.0),)}))
    accepted(flow, UpdateComponent("c1", {"destination": "fun"}))


@pytest.mark.parametrize(("edit", "where", "words"), [
    (UpdateComponent("http", {"name": "X"}, expect={"name": "Other"}), "expect.name", ("'Fetch' now",)),
    (UpdateComponent("http", {"type": "LogAttribute"}), "changes.type", ("cannot change",)),
    (UpdateComponent("child", {"processors": ()}), "changes.processors", ("changes through its own resources",)),
    (UpdateComponent("child", {"parameter_context": "other"}), "changes.parameter_context", ("binding",)),
    (UpdateComponent("http", {"wings": 2}), "changes.wings", ("no field 'wings'",)),
    (UpdateComponent("http", {"scheduling_period": "soon"}), "changes.scheduling_period", ()),
    (UpdateComponent("http", {"concurrent_tasks": 0}), "changes.concurrent_tasks", ()),
    (UpdateComponent("http", {"name": " "}), "changes.name", ("blank",)),
    (UpdateComponent("http", {}, {"http-url": "#{secret}"}), "properties.http-url", ("sensitive parameter",)),
    (UpdateComponent("fun", {}, {"a": "b"}), "properties", ("no properties",)),
    (UpdateComponent("ssl", {}, {"keystore-type": "JKS"}), "properties", ("'SSL' is enabled",)),
    (UpdateComponent("c1", {"source": "log"}), "changes.source", ("cannot change",)),
    (UpdateComponent("c1", {"destination": "gen2"}), "changes.destination", ("'gen2'",)),
    (UpdateComponent("ghost", {"name": "x"}), "componentId", ("'ghost'",)),
])
def test_update_refused(flow: FlowDef, edit: Edit, where: str, words: tuple[str, ...]) -> None:
    refused(flow, edit, where, *words)


def test_a_service_changes_while_disabled_or_with_the_change_that_disables_it(flow: FlowDef) -> None:
    accepted(flow, UpdateComponent("ssl", {"scheduled_state": "DISABLED"}, {"keystore-type": "JKS"}))
    accepted(flow, UpdateComponent("ssl2", {"name": "Renamed"}, {"keystore-type": "JKS"}))
    accepted(flow, UpdateComponent("ssl", {"comments": "only a comment"}))


def test_update_of_a_property_held_as_null_comes_back_exactly() -> None:
    doc = {**SAMPLE, "rootGroup": {**SAMPLE["rootGroup"], "connections": [],
                                   "processors": [_proc("n", "LogAttribute", "N", **{"log-prefix": None})]}}
    flow = flow_from_dict(doc)
    accepted(flow, UpdateComponent("n", {}, {"log-prefix": "p"}))


# -- move --------------------------------------------------------------------------------


def test_move_into_a_child_takes_the_connections_between_moved_components(flow: FlowDef) -> None:
    edit = MoveComponents(("gen", "http", "fun", "ssl"), "child", {"gen": (1.0, 1.0)})
    after = accepted(flow, edit)
    child = after.groups[0]
    assert [c.identifier for c in child.connections] == ["ci", "c1", "c2"]
    assert [p.identifier for p in after.processors] == ["log"]
    assert after.groups[1] is flow.groups[1]  # untouched groups are shared
    assert describe(flow, edit) == "Move 4 components to process group 'Child'"
    assert touched(edit) == {"gen", "http", "fun", "ssl"}
    assert touched(edit, flow) == {"gen", "http", "fun", "ssl", "c1", "c2"}


def test_move_to_the_parent_and_back(flow: FlowDef) -> None:
    edit = MoveComponents(("grand",), "root", {"grand": (3.0, 4.0)})
    after = accepted(flow, edit)
    assert [g.identifier for g in after.groups] == ["child", "child2", "grand"]
    assert inverse(flow, edit) == MoveComponents(("grand",), "child", {"grand": (0.0, 0.0)}, {"grand": 0})


@pytest.mark.parametrize(("edit", "where", "words"), [
    (MoveComponents(("gen",), "child"), "componentIds[0]", ("connection 'to fetch'", "processor 'Fetch'",
                                                            "which stays")),
    (MoveComponents(("c1",), "child"), "componentIds[0]", ("'to fetch'", "only with both its ends")),
    (MoveComponents(("log", "c1"), "child"), "componentIds[1]", ("'to fetch'",)),
    (MoveComponents(("gen", "upd"), "child"), "componentIds[1]", ("one group",)),
    (MoveComponents(("gen",), "grand"), "toGroupId", ("neither a child nor the parent",)),
    (MoveComponents(("gen",), "root"), "toGroupId", ("already in",)),
    (MoveComponents(("child",), "child"), "toGroupId", ("into itself",)),
    (MoveComponents(("in", "upd", "ci"), "root"), "componentIds[0]", ("connected outside", "'c3'")),
    (MoveComponents(("call",), "root"), "componentIds[0]", ("property 'ssl-context-service'",
                                                                  "'SSL 2'", "out of its scope")),
    (MoveComponents(("ssl2",), "grand"), "componentIds[0]", ("processor 'Call'", "'SSL 2'")),
    (MoveComponents(("log",), "child2"), "componentIds[0]", ("connection 'c3'",)),
    (MoveComponents(("upd",), "root"), "componentIds[0]", ("'ci'",)),
    (MoveComponents(("root",), "child"), "componentIds[0]", ("root process group",)),
    (MoveComponents(("gen", "gen"), "child"), "componentIds[1]", ("twice",)),
    (MoveComponents((), "child"), "componentIds", ()),
    (MoveComponents(("child2",), "child", {"child2": (float("inf"), 0.0)}), "positions.child2", ()),
])
def test_move_refused(flow: FlowDef, edit: Edit, where: str, words: tuple[str, ...]) -> None:
    refused(flow, edit, where, *words)


def test_move_keeps_parameters_defined_and_ports_named_uniquely(flow: FlowDef) -> None:
    http = _processor(flow, "http")
    lone = dataclasses.replace(http, identifier="lone", properties={"http-url": "#{host}", "request-password":
                                                                    "#{secret}"})
    flow = apply(flow, CreateComponent("processor", "root", lone))
    refused(flow, MoveComponents(("lone",), "child2"), "componentIds[0]", "parameter 'secret'",
            "parameter context 'Other'")
    flow = apply(flow, UpdateComponent("lone", {}, {"request-password": None}))
    accepted(flow, MoveComponents(("lone",), "child2"))  # 'host' is defined there too
    port = PortDef("in3", "in")
    flow = apply(flow, CreateComponent("input-port", "grand", port))
    refused(flow, MoveComponents(("in3",), "child"), "componentIds[0]", "already has an input port named 'in'")


def test_root_ports_do_not_move(flow: FlowDef) -> None:
    flow = apply(flow, CreateComponent("output-port", "root", PortDef("rootout", "top")))
    refused(flow, MoveComponents(("rootout",), "child2"), "componentIds[0]", "out of the root group")
    refused(flow, MoveComponents(("out",), "root"), "componentIds[0]", "into the root group")


# -- run states ----------------------------------------------------------------------------


def test_run_states_are_logged_not_undone(flow: FlowDef) -> None:
    edit = SetRunState({"gen": "STOPPED", "in": "DISABLED"})
    after = accepted(flow, edit)
    assert _processor(after, "gen").scheduled_state == "STOPPED"
    assert not undoable(edit) and undoable(Batch((edit, DeleteComponent("funnel", "x"))))
    assert describe(flow, SetRunState({"gen": "STOPPED"})) == "Stop processor 'Generate'"
    refused(flow, SetRunState({"fun": "RUNNING"}), "states.fun", "is a funnel")
    refused(flow, SetRunState({"gen": "ENABLED"}), "states.gen", "not one of")
    refused(flow, SetRunState({"ssl": "RUNNING"}), "states.ssl", "controller service")
    disabled = apply(flow, SetRunState({"gen": "DISABLED"}))
    refused(disabled, SetRunState({"gen": "RUNNING"}), "states.gen", "'Generate' is disabled: enable it first")
    accepted(disabled, SetRunState({"gen": "STOPPED"}))


def test_disabling_a_service_with_running_referencing_processors(flow: FlowDef) -> None:
    refused(flow, SetServiceState({"ssl": "DISABLED"}), "states.ssl", "running processor(s) 'Fetch'")
    edit = SetServiceState({"ssl": "DISABLED"}, stop_referencing=True)
    after = accepted(flow, edit)
    assert _processor(after, "http").scheduled_state == "STOPPED"
    assert _processor(after, "ssl").scheduled_state == "DISABLED"
    assert touched(edit, flow) == {"ssl", "http"} and touched(edit) == {"ssl"}
    accepted(flow, SetServiceState({"ssl2": "ENABLED"}))
    refused(flow, SetServiceState({"gen": "ENABLED"}), "states.gen", "is a processor")
    uses_ssl = ControllerServiceDef("pool", "StandardProxyConfigurationService", "Pool", {"x": "ssl"})
    flow = apply(flow, CreateComponent("controller-service", "root", uses_ssl))
    refused(flow, SetServiceState({"ssl": "DISABLED"}, True), "states.ssl", "enabled controller service(s) 'Pool'")
    after = accepted(flow, SetServiceState({"ssl": "DISABLED", "pool": "DISABLED"}, True))
    assert _processor(after, "pool").scheduled_state == "DISABLED"


def test_an_enabled_service_is_not_deleted(flow: FlowDef) -> None:
    refused(flow, DeleteComponent("controller-service", "ssl"), "componentId", "'SSL' is enabled",
            "disable it before removing it")
    accepted(flow, DeleteComponent("controller-service", "ssl2"))


# -- parameter contexts --------------------------------------------------------------------


def test_bind(flow: FlowDef) -> None:
    accepted(flow, BindParameterContext("child", None))
    accepted(flow, BindParameterContext("root", "other"))
    refused(flow, BindParameterContext("root", "hush"), "contextId", "processor 'Fetch' property 'http-url'",
            "sensitive parameter 'host'")
    refused(flow, BindParameterContext("root", "nope"), "contextId", "'nope'")
    refused(flow, BindParameterContext("nope", None), "groupId", "'nope'")


def test_parameter_contexts(flow: FlowDef) -> None:
    new = ParameterContextDef("fresh", "Fresh", parameters=(ParameterDef("a", "1"),))
    accepted(flow, CreateParameterContext(new, 0))
    refused(flow, CreateParameterContext(dataclasses.replace(new, name="Other")), "context.name", "already named")
    refused(flow, CreateParameterContext(dataclasses.replace(new, identifier="gen")), "context.identifier")
    refused(flow, CreateParameterContext(dataclasses.replace(new, name=" ")), "context.name")
    accepted(flow, DeleteParameterContext("hush"))
    refused(flow, DeleteParameterContext("other"), "contextId", "process group(s) 'Child 2'")
    edit = UpdateParameterContext("settings", "Renamed", "d", (ParameterDef("secret", "y", True),
                                                               ParameterDef("new", "n")), ("host",))
    edit = UpdateParameterContext("other", "Renamed", "d", (ParameterDef("new", "n"),), ("host",))
    after = accepted(flow, edit)
    assert [p.name for p in after.parameter_contexts[1].parameters] == ["new"]
    edit = UpdateParameterContext("settings", None, None, (ParameterDef("token", "t", True),))
    uses_token = apply(flow, UpdateComponent("log", {}, {"log-prefix": "#{token}"}))
    refused(uses_token, edit, "set", "processor 'Log' property 'log-prefix'", "sensitive parameter 'token'")
    refused(flow, UpdateParameterContext("settings", remove=("nope",)), "remove[0]", "no parameter 'nope'")
    refused(flow, UpdateParameterContext("settings", set=(ParameterDef("bad{", "1"),)), "set[0].name")
    refused(flow, UpdateParameterContext("settings", name="Other"), "name", "already named")
    refused(flow, UpdateParameterContext("settings", set=(ParameterDef("secret", "s"),)), "set[0].sensitive",
            "cannot change")
    refused(flow, UpdateParameterContext("settings", set=(ParameterDef("z", "1"),), indexes={"z": 5}), "indexes.z")
    refused(flow, UpdateParameterContext("settings", indexes={"host": 0}), "indexes.host", "adds")
    after = accepted(flow, UpdateParameterContext("settings", set=(ParameterDef("z", "1"),), indexes={"z": 0}))
    assert [p.name for p in after.parameter_contexts[0].parameters] == ["z", "host", "secret"]
    edit = UpdateParameterContext("settings", set=(ParameterDef("host", "z"),), remove=("secret",))
    accepted(flow, edit)


def test_import_group_with_its_contexts_is_one_step(flow: FlowDef) -> None:
    ctx = ParameterContextDef("imp-ctx", "Imported", parameters=(ParameterDef("k", "v"),))
    group = group_from_dict({"identifier": "imp", "name": "Imported", "parameterContext": {"id": "imp-ctx"},
                             "processors": [_proc("imp-p", "LogAttribute", "L", **{"log-prefix": "#{k}"})]})
    edit = ImportGroup("child2", group, (ctx,))
    after = accepted(flow, edit)
    assert after.parameter_contexts[-1] == ctx
    assert touched(edit) == {"imp", "imp-p", "imp-ctx"}
    assert inverse(flow, edit) == Batch((DeleteComponent("process-group", "imp"), DeleteParameterContext("imp-ctx")))
    refused(flow, ImportGroup("child2", group, ()), "group.parameterContext.id", "'imp-ctx'")
    refused(flow, ImportGroup("child2", group, (dataclasses.replace(ctx, name="Other"),)), "newContexts[0].name")
    clash = dataclasses.replace(ctx, identifier="imp-p")
    bound = dataclasses.replace(group, parameter_context="imp-p")
    refused(flow, ImportGroup("child2", bound, (clash,)), "group", "'imp-p' is already used")


def test_batch_is_all_or_nothing_and_names_the_part(flow: FlowDef) -> None:
    edit = Batch((DeleteComponent("connection", "c1"), DeleteComponent("processor", "gen"),
                  UpdateComponent("http", {"position": (1.0, 1.0)})), "tidy")
    after = accepted(flow, edit)
    assert describe(flow, edit) == "tidy"
    assert touched(edit) == {"c1", "gen", "http"}
    exc = refused(flow, Batch((DeleteComponent("connection", "c1"), DeleteComponent("processor", "http"))),
                  "edits[1].componentId", "'c2'")
    assert "Delete processor 'Fetch'" in exc.edit
    assert len(after.processors) == 2


@pytest.mark.parametrize(("edit", "text"), [
    (DeleteComponent("connection", "c1"), "Delete connection 'to fetch'"),
    (UpdateComponent("child", {"name": "X"}), "Update process group 'Child' (name)"),
    (MoveComponents(("gen",), "child"), "Move processor 'Generate' to process group 'Child'"),
    (SetRunState({"gen": "RUNNING", "log": "STOPPED"}), "Change the run state of 2 components"),
    (SetServiceState({"ssl": "DISABLED"}), "Disable controller service 'SSL'"),
    (BindParameterContext("child", "other"), "Bind process group 'Child' to parameter context 'Other'"),
    (BindParameterContext("child", None), "Unbind process group 'Child' from its parameter context"),
    (DeleteParameterContext("hush"), "Delete parameter context 'Hush'"),
    (UpdateParameterContext("other", set=(ParameterDef("a"),), remove=("host",)),
     "Update parameter context 'Other' (set a; remove host)"),
    (ImportGroup("root", group_from_dict({"identifier": "i", "name": "Imp"})), "Import process group 'Imp'"),
    (Batch((DeleteComponent("funnel", "fun"),)), "1 edit"),
    (DeleteComponent("processor", "ghost"), "Delete 'ghost'"),
])
def test_describe(flow: FlowDef, edit: Edit, text: str) -> None:
    assert describe(flow, edit) == text


# -- structure ------------------------------------------------------------------------------


def test_apply_copies_only_the_path(flow: FlowDef) -> None:
    after = apply(flow, UpdateComponent("upd", {"comments": "x"}))
    child, child_after = flow.groups[0], after.groups[0]
    assert child_after is not child and after is not flow
    assert child_after.groups[0] is child.groups[0]  # the grandchild is shared
    assert child_after.processors[1] is child.processors[1]  # so is the other processor
    assert child_after.connections is child.connections  # and the lists that did not change
    assert after.groups[1] is flow.groups[1] and after.processors is flow.processors
    assert after.parameter_contexts is flow.parameter_contexts
    empty = apply(flow, Batch(()))
    assert empty == flow and empty is not flow and empty.groups is flow.groups


# -- JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "where"), [
    ({"op": "fly"}, "op"),
    ([], "edit"),
    ({"op": "update", "componentId": "x", "changes": {"schedulingPeriod": "soon"}}, "changes.schedulingPeriod"),
    ({"op": "update", "componentId": "x", "changes": {"wings": 1}}, "changes.wings"),
    ({"op": "update", "componentId": "x", "properties": {"a": 1}}, "properties.a"),
    ({"op": "update", "changes": {}}, "componentId"),
    ({"op": "create", "kind": "processor", "groupId": "g", "component": {"identifier": "p"}}, "component.type"),
    ({"op": "create", "kind": "gizmo", "groupId": "g", "component": {}}, "kind"),
    ({"op": "move", "componentIds": ["a", 1], "toGroupId": "g"}, "componentIds[1]"),
    ({"op": "move", "componentIds": ["a"], "toGroupId": "g", "positions": {"a": {"x": "1"}}}, "positions.a"),
    ({"op": "batch", "edits": [{"op": "delete", "kind": "funnel", "componentId": 3}]}, "edits[0].componentId"),
    ({"op": "update-parameter-context", "contextId": "c", "set": [{"name": "a{"}]}, "set[0].name"),
    ({"op": "set-service-state", "states": {"s": "ENABLED"}, "stopReferencing": "yes"}, "stopReferencing"),
])
def test_edit_from_dict_names_the_field(data: Any, where: str) -> None:
    with pytest.raises(FlowDefinitionError) as info:
        edit_from_dict(data)
    assert info.value.where == where, str(info.value)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                 max_size=3), max_leaves=10)
_OPS = st.sampled_from(["create", "delete", "update", "move", "set-run-state", "set-service-state",
                        "bind-parameter-context", "create-parameter-context", "delete-parameter-context",
                        "update-parameter-context", "import-group", "batch"])
_KEYS = st.sampled_from(["kind", "groupId", "component", "componentId", "changes", "properties", "expect",
                         "componentIds", "toGroupId", "positions", "indexes", "states", "contextId", "context",
                         "set", "remove", "group", "newContexts", "edits", "index", "dropQueued", "name"])


@PROPERTIES
@given(_OPS, st.dictionaries(_KEYS, _JSON, max_size=6))
def test_edit_from_dict_refuses_bad_input_only_with_flow_definition_errors(op: str, rest: dict[str, Any]) -> None:
    try:
        edit = edit_from_dict({"op": op, **rest})
    except FlowDefinitionError:
        return
    edit_to_dict(edit)


# -- properties on random flows ----------------------------------------------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows())
def test_random_flows_save_and_load_as_they_are(flow: FlowDef) -> None:
    assert flow_from_dict(flow_to_dict(flow)) == flow
    assert check_flow(flow, SPECS) == []


def _loads(flow: FlowDef) -> bool:
    try:
        flow_from_dict(flow_to_dict(flow))
    except FlowDefinitionError:
        return False
    return True


@PROPERTIES
@given(flows(), st.data())
def test_random_edit_sequences(flow: FlowDef, data: st.DataObject) -> None:
    """Accepted edits give flows that load and keep the rules, and their inverse
    gives the flow back; a refusal for a broken invariant is one ``apply``
    cannot do (it raises, or its flow does not load or breaks a rule); the
    input is never changed."""
    for _ in range(6):
        edit = data.draw(edits(flow))
        before = flow_to_dict(flow)
        try:
            validate(flow, edit, CTX)
        except EditRefused as exc:
            if exc.invariant:
                try:
                    broken = apply(flow, edit)
                except (KeyError, IndexError, StopIteration, TypeError, AttributeError, ValueError):
                    pass
                else:
                    assert not _loads(broken) or check_flow(broken, SPECS), exc
            assert flow_to_dict(flow) == before
            continue
        after = apply(flow, edit)
        assert flow_to_dict(flow) == before
        assert flow_from_dict(flow_to_dict(after)) == after
        assert check_flow(after, SPECS) == []
        assert apply(after, inverse(flow, edit)) == flow
        assert edit_from_dict(json.loads(json.dumps(edit_to_dict(edit)))) == edit
        undo = inverse(flow, edit)
        assert edit_from_dict(edit_to_dict(undo)) == undo
        assert describe(flow, edit)
        assert touched(edit) or isinstance(edit, Batch)
        flow = after


@PROPERTIES
@given(flows(max_depth=3), st.data())
def test_random_moves(flow: FlowDef, data: st.DataObject) -> None:
    """Moves back and forth between random groups: accepted ones keep the flow
    loadable and within the rules, and moving back gives the flow again."""
    for _ in range(6):
        edit = data.draw(moves(flow))
        try:
            validate(flow, edit, CTX)
        except EditRefused:
            continue
        after = apply(flow, edit)
        assert flow_from_dict(flow_to_dict(after)) == after
        assert check_flow(after, SPECS) == []
        back = inverse(flow, edit)
        validate(after, back, CTX)  # the way back is open, too
        assert apply(after, back) == flow
        flow = after
