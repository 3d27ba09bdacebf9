"""ProcessorSpec and Processor (the author's declarations) and ProcessContext with
its ComponentLog (what a running processor sees)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest

from flowyard.runtime.sdk import (
    AllowableValue,
    ComponentLog,
    DynamicPropertySpec,
    DynamicRelationshipSpec,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    PropertySpec,
    PropertyValueError,
    Relationship,
    SchedulingDefaults,
)

SUCCESS = Relationship("success", "All good", auto_terminate_default=True)
FAILURE = Relationship("failure")
COUNT = PropertySpec("count", "Count", default="1")
MODE = PropertySpec("mode", "Mode", allowed_values=(AllowableValue("a"),))

# -- ProcessorSpec ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"properties": [COUNT, MODE, PropertySpec("count", "Other")]},
         "duplicate property keys in ['count', 'mode', 'count']"),
        ({"relationships": [SUCCESS, FAILURE, Relationship("success")]},
         "duplicate relationship names in ['success', 'failure', 'success']"),
    ],
)
def test_spec_refuses_duplicates(kwargs: dict[str, list[object]], message: str) -> None:
    with pytest.raises(ValueError) as info:
        ProcessorSpec("d", **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_spec_allows_a_display_name_equal_to_another_key() -> None:
    spec = ProcessorSpec("d", properties=[COUNT, PropertySpec("other", "count")])
    assert [p.key for p in spec.properties] == ["count", "other"]


def test_spec_stores_sequences_as_tuples() -> None:
    spec = ProcessorSpec(
        "d", tags=["a"], properties=[COUNT], relationships=[SUCCESS],  # type: ignore[arg-type]
        writes_attributes=[("filename", "The name")], reads_attributes=[],  # type: ignore[arg-type]
    )
    assert (spec.tags, spec.properties, spec.relationships) == (("a",), (COUNT,), (SUCCESS,))
    assert (spec.writes_attributes, spec.reads_attributes) == ((("filename", "The name"),), ())


def test_spec_property_lookup() -> None:
    spec = ProcessorSpec("d", properties=(COUNT, MODE))
    assert spec.property("mode") is MODE
    with pytest.raises(KeyError) as info:
        spec.property("Mode")  # display names are not keys
    assert info.value.args[0] == "no property 'Mode'; known: count, mode"


def test_spec_to_dict() -> None:
    spec = ProcessorSpec(
        "Does things.", tags=("x", "y"), properties=(COUNT,), relationships=(SUCCESS, FAILURE),
        dynamic_properties=DynamicPropertySpec("A name", "A value"),
        dynamic_relationships=DynamicRelationshipSpec("Matches of the property"),
        input_requirement=InputRequirement.REQUIRED, stateful=True,
        writes_attributes=(("w", "Written"),), reads_attributes=(("r", "Read"),),
    )
    assert spec.to_dict() == {
        "description": "Does things.",
        "tags": ["x", "y"],
        "properties": [COUNT.to_dict()],
        "relationships": [{"name": "success", "description": "All good"}, {"name": "failure", "description": ""}],
        "dynamic_properties": DynamicPropertySpec("A name", "A value").to_dict(),
        "dynamic_relationships": {"description": "Matches of the property"},
        "input_requirement": "INPUT_REQUIRED",
        "stateful": True,
        "writes_attributes": [["w", "Written"]],
        "reads_attributes": [["r", "Read"]],
    }
    bare = ProcessorSpec("Bare.").to_dict()
    assert (bare["dynamic_properties"], bare["dynamic_relationships"], bare["input_requirement"]) == (
        None, None, "INPUT_ALLOWED"
    )


def test_scheduling_defaults() -> None:
    assert ProcessorSpec("d").scheduling == SchedulingDefaults(
        strategy="TIMER_DRIVEN", period="0 sec", concurrent_tasks=1, penalty="30 sec", yield_duration="1 sec",
        run_duration="0 ms",
    )


@pytest.mark.parametrize("name", ["", " success", "success\n"])
def test_relationship_names_must_not_be_blank_or_padded(name: str) -> None:
    with pytest.raises(ValueError, match="must be non-empty without surrounding whitespace"):
        Relationship(name)


def test_relationship_str_is_its_name() -> None:
    assert str(SUCCESS) == "success"


# -- Processor ----------------------------------------------------------------------------


class Router(Processor):
    spec = ProcessorSpec("Routes.", relationships=(Relationship("unmatched"), Relationship("b-rule")),
                         dynamic_relationships=DynamicRelationshipSpec("Flowfiles matching the rule"))


class Plain(Processor):
    spec = ProcessorSpec("Plain.", relationships=(SUCCESS,))


class Renamed(Processor):
    spec = Plain.spec
    type_name = "Custom"


class RenamedChild(Renamed):
    pass


@pytest.mark.parametrize(
    ("processor", "dynamic", "expected"),
    [
        (Router, {}, [("unmatched", ""), ("b-rule", "")]),
        (Router, {"z-rule": "x", "a-rule": "y", "b-rule": "z"},
         [("unmatched", ""), ("b-rule", ""), ("a-rule", "Flowfiles matching the rule"),
          ("z-rule", "Flowfiles matching the rule")]),
        (Plain, {"z-rule": "x"}, [("success", "All good")]),
    ],
)
def test_relationships_for(
    processor: type[Processor], dynamic: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    relationships = processor.relationships_for(dynamic, {})
    assert isinstance(relationships, tuple)
    assert [(r.name, r.description) for r in relationships] == expected


@pytest.mark.parametrize(
    ("processor", "type_name"), [(Plain, "Plain"), (Renamed, "Custom"), (RenamedChild, "RenamedChild")]
)
def test_type_name_is_the_class_name_unless_set(processor: type[Processor], type_name: str) -> None:
    assert processor.type_name == type_name


def test_processor_defaults() -> None:
    processor = Plain()
    context = make_context()
    assert Plain.blocking is True
    assert list(processor.validate(context)) == []
    assert processor.on_scheduled(context) is None
    assert processor.on_stopped(context) is None
    with pytest.raises(NotImplementedError, match="Plain does not implement on_trigger"):
        processor.on_trigger(context, None)  # type: ignore[arg-type]


# -- ProcessContext -----------------------------------------------------------------------


def make_context(
    properties: Mapping[str, str | None] | None = None,
    dynamic: Mapping[str, str] | None = None,
    **kwargs: object,
) -> ProcessContext:
    return ProcessContext(
        component_id="c1", name="My Proc", component_type="Thing", specs=(COUNT, MODE),
        properties={"count": "3", "mode": None} if properties is None else properties,
        dynamic={} if dynamic is None else dynamic, **kwargs,  # type: ignore[arg-type]
    )


def test_context_property_by_key_or_spec() -> None:
    context = make_context()
    assert context.property("count").as_int() == 3
    assert context.property(COUNT).spec is COUNT
    assert not context.property(MODE).is_set
    with pytest.raises(PropertyValueError, match=r"^'Mode' is invalid because it has no value$"):
        context.property("mode").as_str()


@pytest.mark.parametrize("key", ["Count", "nope", PropertySpec("nope", "Nope")])
def test_context_property_refuses_undeclared_keys(key: str | PropertySpec) -> None:
    with pytest.raises(KeyError) as info:
        make_context().property(key)
    assert info.value.args[0] == f"Thing has no property {getattr(key, 'key', key)!r}; known: count, mode"


def test_context_properties_are_a_read_only_copy() -> None:
    configured: dict[str, str | None] = {"count": "3", "mode": "a"}
    context = make_context(configured)
    configured["count"] = "4"
    assert context.properties == {"count": "3", "mode": "a"}
    with pytest.raises(TypeError):
        context.properties["count"] = "5"  # type: ignore[index]


def test_context_dynamic_properties_are_labelled_values() -> None:
    calls: list[tuple[str, Mapping[str, str] | None]] = []

    def evaluator(text: str, attributes: Mapping[str, str] | None) -> str:
        calls.append((text, attributes))
        return text.upper()

    context = make_context(dynamic={"my.attr": "$v", "other": "12"}, evaluator=evaluator)
    values = context.dynamic_properties
    assert sorted(values) == ["my.attr", "other"]
    assert values["other"].as_int() == 12
    assert values["other"].evaluate({"k": "x"}).raw == "12", "text without $ or # is not evaluated"
    assert values["my.attr"].evaluate({"k": "x"}).raw == "$V"
    assert calls == [("$v", {"k": "x"})]
    with pytest.raises(PropertyValueError, match=r"^'my.attr' is invalid because '\$v' is not an integer$"):
        values["my.attr"].as_int()


def test_context_settings_and_yield() -> None:
    plain = make_context()
    assert not plain.expression_language_enabled
    assert (plain.component_id, plain.name, plain.component_type) == ("c1", "My Proc", "Thing")
    assert (plain.max_concurrent_tasks, plain.penalty_seconds, plain.yield_seconds) == (1, 30.0, 1.0)
    assert not plain.yield_requested
    plain.yield_()
    assert plain.yield_requested
    tuned = make_context(evaluator=lambda text, attributes: text, concurrent_tasks=4, penalty_seconds=2.0,
                         yield_seconds=0.5)
    assert tuned.expression_language_enabled
    assert (tuned.max_concurrent_tasks, tuned.penalty_seconds, tuned.yield_seconds) == (4, 2.0, 0.5)


# -- ComponentLog ---------------------------------------------------------------------------

LOGGER = "flowyard.processor.Thing"


@pytest.mark.parametrize(
    ("level", "python_level", "bulletin"),
    [
        ("TRACE", logging.DEBUG, "DEBUG"),  # every level reaches the sink: the bulletin level filters
        ("debug", logging.DEBUG, "DEBUG"),
        ("Info", logging.INFO, "INFO"),
        ("WARN", logging.WARNING, "WARNING"),
        ("warning", logging.WARNING, "WARNING"),
        ("error", logging.ERROR, "ERROR"),
        ("FATAL", logging.ERROR, "ERROR"),
        ("CRITICAL", logging.ERROR, "ERROR"),
    ],
)
def test_log_levels_and_bulletins(
    caplog: pytest.LogCaptureFixture, level: str, python_level: int, bulletin: str | None
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    bulletins: list[tuple[str, str]] = []
    log = make_context(bulletins=lambda lvl, message: bulletins.append((lvl, message))).logger
    log.log(level, "hello")
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        (LOGGER, python_level, "My Proc[c1] hello")
    ]
    assert bulletins == ([] if bulletin is None else [(bulletin, "hello")])


def test_log_shortcuts() -> None:
    bulletins: list[tuple[str, str]] = []
    log = ComponentLog("Thing", "c1", "My Proc", lambda level, message: bulletins.append((level, message)))
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    assert bulletins == [("DEBUG", "d"), ("INFO", "i"), ("WARNING", "w"), ("ERROR", "e")]


@pytest.mark.parametrize("level", ["VERBOSE", "", "warnings", "5"])
def test_unknown_levels_are_refused(level: str) -> None:
    log = ComponentLog("Thing", "c1", "My Proc", None)
    message = f"unknown log level {level!r}: expected one of TRACE, DEBUG, INFO, WARN, WARNING, ERROR, FATAL, CRITICAL"
    for call in (lambda: log.log(level, "x"), lambda: log.is_enabled(level)):
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == message


@pytest.mark.parametrize(
    ("logger_level", "with_sink", "enabled"),
    [
        (logging.DEBUG, False, {"TRACE": True, "INFO": True, "WARN": True, "FATAL": True}),
        (logging.INFO, False, {"TRACE": False, "INFO": True, "WARN": True, "FATAL": True}),
        (logging.CRITICAL, False, {"TRACE": False, "INFO": False, "WARN": False, "FATAL": False}),
        # a bulletin is raised for WARNING and ERROR even when the logger would drop them
        (logging.CRITICAL, True, {"TRACE": False, "INFO": False, "WARN": True, "FATAL": True}),
    ],
)
def test_is_enabled(
    caplog: pytest.LogCaptureFixture, logger_level: int, with_sink: bool, enabled: dict[str, bool]
) -> None:
    caplog.set_level(logger_level, logger=LOGGER)
    log = ComponentLog("Thing", "c1", "My Proc", (lambda level, message: None) if with_sink else None)
    assert {level: log.is_enabled(level) for level in enabled} == enabled


def test_only_properties_with_an_expression_scope_are_evaluated() -> None:
    from flowyard.runtime.sdk import ExpressionScope, ProcessContext

    specs = (PropertySpec("literal", "Literal"),
             PropertySpec("expr", "Expr", expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES))
    context = ProcessContext(component_id="c", name="n", component_type="T", specs=specs,
                             properties={"literal": "${x}", "expr": "${x}"}, dynamic={},
                             evaluator=lambda text, attrs: text.replace("${x}", (attrs or {}).get("x", "")))
    assert context.property("literal").evaluate({"x": "1"}).as_str() == "${x}"
    assert context.property("expr").evaluate({"x": "1"}).as_str() == "1"
    assert context.expression_language_enabled


def test_a_dynamic_relationship_with_an_unusable_name_is_a_configuration_error() -> None:
    from flowyard.runtime.engine._component import ConfiguredProcessor
    from flowyard.runtime.sdk import ConfigurationError, DynamicPropertySpec, DynamicRelationshipSpec, Processor

    class Router(Processor):
        spec = ProcessorSpec("routes", dynamic_properties=DynamicPropertySpec("rel", "cond"),
                             dynamic_relationships=DynamicRelationshipSpec("one per property"))

    with pytest.raises(ConfigurationError, match="relationship name"):
        ConfiguredProcessor(Router, component_id="r", properties={" padded ": "true"})


def test_context_time_is_the_runner_clock_and_stop_calls_on_stopped() -> None:
    from flowyard.runtime.sdk import InputRequirement, Processor, Relationship
    from flowyard.runtime.sdk.testing import ProcessorRunner

    class Clocked(Processor):
        blocking = False
        spec = ProcessorSpec("stamps", relationships=(Relationship("success"),),
                             input_requirement=InputRequirement.FORBIDDEN)
        stopped = 0

        def on_trigger(self, context: Any, session: Any) -> None:
            ff = session.put_attribute(session.create(), "at", str(context.now_ms()))
            session.transfer(ff, "success")

        def on_stopped(self, context: Any) -> None:
            type(self).stopped += 1

    runner = ProcessorRunner(Clocked)
    runner.run(stop_on_finish=False)
    runner.clock.advance(2.5)
    runner.run(stop_on_finish=False, initialize=False)
    stamps = [int(ff.attributes["at"]) for ff in runner.flowfiles_for("success")]
    assert stamps[1] - stamps[0] == 2500
    assert Clocked.stopped == 0
    runner.stop()
    assert Clocked.stopped == 1
