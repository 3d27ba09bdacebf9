"""Keys at the boundary: normalising stores every property under its spec key
(display names, aliases and NiFi legacy names renamed), keeps dynamic properties
and the names of uninstalled types, never changes what the runtime makes of the
properties, and never mutates its input. Every flow flowyard ships holds keys only."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowyard.runtime.flow import (
    ControllerServiceDef,
    FlowDef,
    GroupDef,
    ProcessorDef,
    flow_from_dict,
    flow_to_dict,
)
from flowyard.runtime.flow._edits_model import TypeCatalog
from flowyard.runtime.flow.normalize import (
    Outcome,
    Renamed,
    normalize_flow,
    normalize_properties,
)
from flowyard.runtime.registry import discover
from flowyard.runtime.sdk import DynamicPropertySpec, PropertySpec, resolve_properties

SPECS = (
    PropertySpec("batch-size", "Batch Size", default="1", aliases=("Batch",)),
    PropertySpec("file-size", "File Size", aliases=("generate-ff-file-size",)),
    PropertySpec("mode", "Mode"),
)
DYNAMIC = DynamicPropertySpec("An attribute", "Its value")


class Catalog:
    """A SpecCatalog with fixed specs, one processor and one service type."""

    def property_specs(self, kind: str, type_name: str) -> Sequence[PropertySpec] | None:
        if (kind, type_name) in (("processor", "Gen"), ("controller-service", "Svc")):
            return SPECS
        return None


def renamed(name: str, key: str, outcome: Outcome = Outcome.RENAMED, *, cid: str = "",
            type_name: str = "Gen") -> Renamed:
    return Renamed(cid, type_name, name, key, outcome)


# -- one component -------------------------------------------------------------------


def test_display_names_and_aliases_become_keys_in_place_and_are_reported() -> None:
    props, report = normalize_properties(
        "Gen", {"Batch Size": "5", "kind": "x", "generate-ff-file-size": "1 KB", "mode": "a"}, SPECS)
    assert list(props.items()) == [("batch-size", "5"), ("kind", "x"), ("file-size", "1 KB"), ("mode", "a")]
    assert report == [renamed("Batch Size", "batch-size"), renamed("generate-ff-file-size", "file-size")]
    assert str(report[0]) == "component (Gen): property 'Batch Size' stored as its key 'batch-size'"


def test_keys_and_dynamic_properties_are_left_as_they_are() -> None:
    configured = {"batch-size": "5", "file size": "dynamic, not 'File Size'", "Mode ": "dynamic too"}
    props, report = normalize_properties("Gen", configured, SPECS)
    assert props == configured and list(props) == list(configured)
    assert report == []


def test_the_key_wins_over_a_display_name_of_the_same_property_and_the_loser_is_reported() -> None:
    props, report = normalize_properties("Gen", {"Batch Size": "9", "batch-size": "5", "Batch": "7"}, SPECS)
    assert props == {"batch-size": "5"}
    assert report == [renamed("Batch Size", "batch-size", Outcome.DROPPED),
                      renamed("Batch", "batch-size", Outcome.DROPPED)]
    assert "dropped" in str(report[0]) and "9" not in str(report[0])  # values never in the report


def test_a_set_value_beats_an_unset_more_specific_name() -> None:
    props, report = normalize_properties("Gen", {"batch-size": None, "Batch": "7", "Batch Size": None}, SPECS)
    assert props == {"batch-size": "7"}
    assert report == [renamed("Batch", "batch-size"), renamed("Batch Size", "batch-size", Outcome.DROPPED)]
    props, report = normalize_properties("Gen", {"Batch Size": None}, SPECS)
    assert props == {"batch-size": None}  # unset stays unset, under the key
    assert report == [renamed("Batch Size", "batch-size")]


def test_a_name_claimed_by_several_specs_means_the_most_specific_claim() -> None:
    specs = (
        PropertySpec("a", "Shared", aliases=("b", "Old")),  # display "Shared", alias "b"
        PropertySpec("b", "Other", aliases=("Shared", "Old")),  # key "b", alias "Shared"
        PropertySpec("c", "Third", aliases=("Old",)),
    )
    props, report = normalize_properties("T", {"Shared": "1", "b": "2", "Old": "3"}, specs)
    # key beats display name beats alias; among equal claims the first spec wins
    assert props == {"a": "1", "b": "2"}
    assert report == [renamed("Shared", "a", type_name="T"), renamed("Old", "a", Outcome.DROPPED, type_name="T")]
    assert normalize_properties("T", {"Old": "3"}, specs)[0] == {"a": "3"}


def test_a_type_not_installed_keeps_its_names_and_is_reported_once() -> None:
    configured = {"Batch Size": "5", "x": None}
    props, report = normalize_properties("Missing", configured, None, component_id="p1")
    assert props == configured and props is not configured
    assert report == [Renamed("p1", "Missing", "", None, Outcome.NOT_INSTALLED)]
    assert str(report[0]) == "p1 (Missing): type not installed, property names kept as they are"


NAMES = ("batch-size", "Batch Size", "Batch", "file-size", "File Size", "generate-ff-file-size", "mode", "Mode",
         "kind", "Other")


@given(st.dictionaries(st.sampled_from(NAMES), st.one_of(st.none(), st.sampled_from(["1", "2", "3"]))))
def test_normalising_never_changes_what_the_runtime_makes_of_the_properties(
        configured: dict[str, str | None]) -> None:
    props, report = normalize_properties("Gen", configured, SPECS)
    assert resolve_properties(SPECS, props, DYNAMIC) == resolve_properties(SPECS, configured, DYNAMIC)
    display = {n for s in SPECS for n in (s.display_name, *s.aliases)}
    assert not display & set(props)
    assert {r.name for r in report} == display & set(configured)
    assert normalize_properties("Gen", props, SPECS) == (props, [])  # idempotent


# -- a whole flow ---------------------------------------------------------------------


def nested_flow() -> FlowDef:
    inner = GroupDef(
        "inner", name="Inner",
        processors=(ProcessorDef("p2", "Gen", properties={"File Size": "2 KB", "kind": "a"}),),
        controller_services=(ControllerServiceDef("s1", "Svc", properties={"Mode": "m"}),),
    )
    untouched = GroupDef("untouched", processors=(ProcessorDef("p3", "Gen", properties={"mode": "k"}),))
    return FlowDef(
        identifier="root",
        processors=(ProcessorDef("p1", "Gen", properties={"Batch Size": "5"}),
                    ProcessorDef("keyed", "Gen", properties={"batch-size": "1"}),
                    ProcessorDef("px", "Gone", properties={"Batch Size": "5"})),
        groups=(untouched, inner),
    )


def test_a_flow_is_normalised_in_every_group_without_touching_the_input() -> None:
    flow = nested_flow()
    before = copy.deepcopy(flow_to_dict(flow))
    new, report = normalize_flow(flow, Catalog())
    assert flow_to_dict(flow) == before
    assert report == [
        renamed("Batch Size", "batch-size", cid="p1"),
        Renamed("px", "Gone", "", None, Outcome.NOT_INSTALLED),
        renamed("File Size", "file-size", cid="p2"),
        renamed("Mode", "mode", cid="s1", type_name="Svc"),
    ]
    assert new.processors[0].properties == {"batch-size": "5"}
    assert new.processors[2].properties == {"Batch Size": "5"}  # type not installed: kept
    assert new.groups[1].processors[0].properties == {"file-size": "2 KB", "kind": "a"}
    assert new.groups[1].controller_services[0].properties == {"mode": "m"}
    expected = flow_to_dict(flow)
    expected["rootGroup"]["processors"][0]["properties"] = {"batch-size": "5"}
    inner = expected["rootGroup"]["processGroups"][1]
    inner["processors"][0]["properties"] = {"file-size": "2 KB", "kind": "a"}
    inner["controllerServices"][0]["properties"] = {"mode": "m"}
    assert flow_to_dict(new) == expected
    # path copying: changed components and their groups are new, the rest is shared
    assert isinstance(new, FlowDef) and new is not flow
    assert new.processors is not flow.processors and new.groups is not flow.groups
    assert new.processors[1] is flow.processors[1] and new.processors[2] is flow.processors[2]
    assert new.groups[0] is flow.groups[0]
    assert new.groups[1] is not flow.groups[1] and new.groups[1].processors[0] is not flow.groups[1].processors[0]


def test_a_flow_with_keys_only_comes_back_as_itself() -> None:
    flow = FlowDef(processors=(ProcessorDef("p", "Gen", properties={"batch-size": "5", "kind": "x"}),),
                   controller_services=(ControllerServiceDef("s", "Gone", properties={"Any Name": "1"}),))
    new, report = normalize_flow(flow, Catalog())
    assert new is flow
    assert report == [Renamed("s", "Gone", "", None, Outcome.NOT_INSTALLED)]


def test_nifi_names_of_installed_types_become_keys() -> None:
    """A NiFi 1.x export: fully qualified type, a legacy name (``generate-ff-custom-text``)
    and NiFi 2's display names."""
    catalogue = discover()
    doc = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "name": "Flow", "processors": [{
        "identifier": "gen", "type": "org.apache.nifi.processors.standard.GenerateFlowFile",
        "properties": {"generate-ff-custom-text": "hi", "Batch Size": "2", "Data Format": "Text", "kind": "x"}}],
        "controllerServices": [{"identifier": "csv", "type": "CSVReader",
                                "properties": {"Skip Header Line": "true"}}]}}
    new, report = normalize_flow(flow_from_dict(doc), TypeCatalog(catalogue.processors,
                                                                  catalogue.controller_services))
    assert new.processors[0].properties == {"custom-text": "hi", "batch-size": "2", "data-format": "Text",
                                            "kind": "x"}
    assert new.controller_services[0].properties == {"skip-header-line": "true"}
    assert [r.outcome for r in report] == [Outcome.RENAMED] * 4


# -- what flowyard ships ---------------------------------------------------------------

BUNDLED = sorted(p.name for p in resources.files("flowyard.runtime").joinpath("demo").iterdir()
                 if p.name.endswith(".json"))


def test_the_bundled_flows_are_found() -> None:
    assert {"demo-flow.json", "connectors-flow.json"} <= set(BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_flow_holds_property_keys_only(name: str) -> None:
    text = resources.files("flowyard.runtime").joinpath("demo", name).read_text(encoding="utf-8")
    catalogue = discover()
    flow = flow_from_dict(json.loads(text), source=name)
    new, report = normalize_flow(flow, TypeCatalog(catalogue.processors, catalogue.controller_services))
    assert [str(r) for r in report] == [], f"{name} must name installed types and property keys only"
    assert new is flow
