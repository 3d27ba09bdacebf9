"""Controller services in a running engine: enabled before processors start,
scoped to their group and descendants, and enabled/disabled live."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import trio
from trio_wait import wait_for

from flowyard.processors import CONTROLLER_SERVICES, PROCESSORS
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk import FlowDefinitionError, FlowyardError

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS

REGISTRY = {**PROCESSORS, **TEST_PROCESSORS}


def lookup_flow(service_group: str = "root", service_state: str = "ENABLED") -> Any:
    """src -> [child: in -> lookup (LookupAttribute using 'colours')] ; the service lives in ``service_group``."""
    service = {"identifier": "colours", "type": "SimpleKeyValueLookupService", "properties": {"sky": "blue"},
               "scheduledState": service_state}
    child: dict[str, Any] = {
        "identifier": "child",
        "inputPorts": [{"identifier": "in"}],
        "processors": [{"identifier": "lookup", "type": "LookupAttribute",
                        "properties": {"Lookup Service": "colours", "colour": "sky"},
                        "autoTerminatedRelationships": ["matched", "unmatched", "failure"]}],
        "connections": [{"identifier": "c1", "source": {"id": "in"}, "destination": {"id": "lookup"}}],
        "controllerServices": [service] if service_group == "child" else [],
    }
    root: dict[str, Any] = {
        "identifier": "root",
        "processors": [{"identifier": "src", "type": "SequenceSource",
                        "properties": {"Count": "10", "Batch Size": "5"}}],
        "processGroups": [child],
        "connections": [{"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "in"},
                         "selectedRelationships": ["success"]}],
        "controllerServices": [service] if service_group == "root" else [],
    }
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": root})


def engine_for(flow: Any) -> tuple[Engine, Repositories]:
    repos = Repositories.in_memory()
    return Engine(flow, repos, registry=REGISTRY, service_types=CONTROLLER_SERVICES), repos


async def test_a_processor_uses_a_service_of_an_ancestor_group(autojump_clock: Any) -> None:
    engine, repos = engine_for(lookup_flow("root"))
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        assert engine.controller_services.registry.is_enabled("colours")
        await wait_for(lambda: engine.nodes["lookup"].stats.flowfiles_in == 10)
        engine.request_stop()
    assert not engine.controller_services.registry.is_enabled("colours"), "disabled at shutdown"
    colours = {e.attributes.get("colour") for e in repos.provenance.events(0, limit=1000)
               if e.component_id == "lookup" and e.event_type.name == "ATTRIBUTES_MODIFIED"}
    assert colours == {"blue"}


def test_a_service_of_a_child_group_is_not_visible_to_the_parent() -> None:
    flow = lookup_flow("child")
    # move the processor to the root group: it names a service it cannot see
    child = flow.groups[0]
    lookup = child.processors[-1]
    flow = dataclasses.replace(flow, processors=(*flow.processors, lookup), groups=(
        dataclasses.replace(child, processors=child.processors[:-1], connections=()),))
    engine, _ = engine_for(flow)
    reasons = " ".join(map(str, engine.nodes["lookup"].validation))
    assert "no controller service with id 'colours' exists in this component's scope" in reasons


async def test_enable_and_disable_live(autojump_clock: Any) -> None:
    engine, _ = engine_for(lookup_flow("root", service_state="DISABLED"))
    services = engine.controller_services
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        lookup = engine.nodes["lookup"]
        assert not lookup.running
        assert "is not enabled" in " ".join(map(str, lookup.validation))
        await wait_for(lambda: engine.queues["c1"].count == 10)
        assert services.enable("colours") == ["lookup"], "the scheduled processor starts once valid"
        await wait_for(lambda: lookup.stats.flowfiles_in == 10)
        with pytest.raises(FlowyardError, match=r"used by running processor\(s\) LookupAttribute \(lookup\)"):
            await services.disable("colours")
        assert await services.disable("colours", stop_referencing=True) == ["lookup"]
        assert not lookup.running and not lookup.is_valid
        engine.request_stop()


def test_unknown_service_type_names_the_place() -> None:
    flow = lookup_flow("child")
    child = flow.groups[0]
    services = child.controller_services
    flow = dataclasses.replace(flow, groups=(dataclasses.replace(child, controller_services=(
        dataclasses.replace(services[0], type="NoSuchService"), *services[1:])),))
    with pytest.raises(FlowDefinitionError) as info:
        engine_for(flow)
    assert info.value.where == "rootGroup.processGroups[0].controllerServices[0].type"
    assert "unknown controller service type 'NoSuchService'" in str(info.value)
