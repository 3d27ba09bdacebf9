"""Nested process groups in the engine: data crosses groups through ports, each
group sees its own parameter context, and changed parameters are re-applied live."""

from __future__ import annotations

import dataclasses
from typing import Any

import trio
from trio_wait import wait_for

from flowyard.processors import PROCESSORS
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS

REGISTRY = {**PROCESSORS, **TEST_PROCESSORS}


def nested_flow(out_port_state: str = "RUNNING") -> Any:
    """root: src -> [child: in -> tag (#{label}) -> out] -> sink."""
    child = {
        "identifier": "child", "name": "Child", "parameterContext": {"id": "child-params"},
        "inputPorts": [{"identifier": "in", "name": "In"}],
        "outputPorts": [{"identifier": "out", "name": "Out", "scheduledState": out_port_state}],
        "processors": [{"identifier": "tag", "type": "UpdateAttribute", "properties": {"label": "#{label}"}}],
        "connections": [
            {"identifier": "c-in", "source": {"id": "in"}, "destination": {"id": "tag"}},
            {"identifier": "c-out", "source": {"id": "tag"}, "destination": {"id": "out"},
             "selectedRelationships": ["success"]},
        ],
    }
    return flow_from_dict({
        "flowyardFlowVersion": 1,
        "parameterContexts": [
            {"identifier": "root-params", "name": "Root", "parameters": [{"name": "label", "value": "root"}]},
            {"identifier": "child-params", "name": "Child", "parameters": [{"name": "label", "value": "first"}]},
        ],
        "rootGroup": {
            "identifier": "root", "parameterContext": {"id": "root-params"},
            "processors": [
                {"identifier": "src", "type": "SequenceSource", "properties": {"Count": "40", "Batch Size": "10"},
                 "schedulingPeriod": "10 ms"},
                {"identifier": "sink", "type": "AsyncSlow", "properties": {"Delay": "0 ms"},
                 "autoTerminatedRelationships": ["success"]},
            ],
            "processGroups": [child],
            "connections": [
                {"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "in"},
                 "selectedRelationships": ["success"]},
                {"identifier": "c9", "source": {"id": "out"}, "destination": {"id": "sink"}},
            ],
        },
    })


async def test_flowfiles_cross_groups_through_ports_with_the_groups_parameters(autojump_clock: Any) -> None:
    flow = nested_flow()
    repos = Repositories.in_memory()
    engine = Engine(flow, repos, registry=REGISTRY)
    assert engine.group_of["tag"] == "child" and engine.group_of["c9"] == "root"
    assert engine.nodes["in"].type_name == "InputPort"
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 40)
        engine.request_stop()
    labels = {e.attributes.get("label") for e in repos.provenance.events(0, limit=10_000)
              if e.component_id == "tag"}
    assert labels == {"first"}, "the child group sees its own context, not the root's"


async def test_a_stopped_output_port_holds_the_data_in_its_queue(autojump_clock: Any) -> None:
    engine = Engine(nested_flow(out_port_state="STOPPED"), Repositories.in_memory(), registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["c-out"].count == 40)
        assert engine.nodes["sink"].stats.flowfiles_in == 0
        engine.start_processor("out")
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 40)
        engine.request_stop()


async def test_changed_parameters_are_reapplied_to_referencing_processors_live(autojump_clock: Any) -> None:
    flow = nested_flow()
    repos = Repositories.in_memory()
    engine = Engine(flow, repos, registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 40)
        ctx = flow.context("child-params")
        assert ctx is not None
        new = dataclasses.replace(ctx, parameters=(dataclasses.replace(ctx.parameters[0], value="second"),
                                                   *ctx.parameters[1:]))
        engine.flow = dataclasses.replace(flow, parameter_contexts=tuple(
            new if c is ctx else c for c in flow.parameter_contexts))
        changed = await engine.parameters_changed({"child"}, {"label"})
        assert changed == ["tag"]
        assert engine.nodes["tag"].running, "a running processor is restarted after the change"
        assert await engine.parameters_changed({"child"}, {"other"}) == [], "only processors that reference it"
        await engine.stop_processor("src")
        engine.nodes["src"].definition.properties["Count"] = "80"
        await engine.reconfigure_processor(engine.nodes["src"].definition)
        engine.start_processor("src")
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 80)
        engine.request_stop()
    labels = [e.attributes.get("label") for e in repos.provenance.events(0, limit=10_000)
              if e.component_id == "tag" and e.event_type.name == "ATTRIBUTES_MODIFIED"]
    assert labels[:40] == ["first"] * 40 and labels[40:] == ["second"] * 40


def test_the_bulletin_level_decides_what_becomes_a_bulletin() -> None:
    flow = nested_flow()
    engine = Engine(flow, Repositories.in_memory(), registry=REGISTRY)
    node = engine.nodes["tag"]
    node.bulletin(engine, "INFO", "just so you know")
    node.bulletin(engine, "WARNING", "careful")
    assert [b.message for b in node.bulletins] == ["careful"], "WARN by default, as NiFi"
    node.definition = dataclasses.replace(node.definition, bulletin_level="INFO")
    node.bulletin(engine, "INFO", "now shown")
    node.definition = dataclasses.replace(node.definition, bulletin_level="NONE")
    node.bulletin(engine, "ERROR", "silenced")
    assert [b.message for b in engine.bulletins] == ["careful", "now shown"]
