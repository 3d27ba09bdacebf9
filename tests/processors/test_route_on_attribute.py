from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from flowyard.processors.route_on_attribute import (
    ROUTE_ALL_MATCH,
    ROUTE_ANY_MATCHES,
    ROUTE_TO_PROPERTY_NAME,
    RouteOnAttribute,
)
from flowyard.runtime.sdk import InvalidComponentError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

Evaluator = Callable[[str, Mapping[str, str] | None], str]

# Conditions must be boolean expressions (NiFi refuses a plain 'true'): constant ones.
T = "${literal('yes'):equals('yes')}"
F = "${literal('yes'):equals('no')}"


def runner(properties: dict[str, str], evaluator: Evaluator | None = None) -> ProcessorRunner:
    r = ProcessorRunner(RouteOnAttribute, evaluator=evaluator)
    for name, value in properties.items():
        r.set_property(name, value)
    return r


@pytest.mark.parametrize(
    ("strategy", "dynamic", "expected"),
    [
        (None, {}, ["unmatched"]),
        (ROUTE_TO_PROPERTY_NAME, {"b": "true", "a": "false"}, ["unmatched", "a", "b"]),
        (ROUTE_TO_PROPERTY_NAME, {"unmatched": "true"}, ["unmatched"]),
        (ROUTE_ALL_MATCH, {"a": "true"}, ["matched", "unmatched"]),
        (ROUTE_ANY_MATCHES, {"a": "true", "b": "true"}, ["matched", "unmatched"]),
    ],
)
def test_relationships_depend_on_the_strategy(
    strategy: str | None, dynamic: dict[str, str], expected: list[str]
) -> None:
    rels = RouteOnAttribute.relationships_for(dynamic, {"routing-strategy": strategy})
    assert [r.name for r in rels] == expected


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"a": T, "b": F}, {"a": 1, "b": 0, "unmatched": 0}),
        ({"a": F, "b": F}, {"a": 0, "b": 0, "unmatched": 1}),
        ({"a": T, "b": T}, {"a": 1, "b": 1, "unmatched": 0}),
    ],
)
def test_route_to_property_name(conditions: dict[str, str], expected: dict[str, int]) -> None:
    r = runner(conditions)
    r.enqueue(b"payload", {"filename": "f"})
    r.run()
    for relationship, count in expected.items():
        r.assert_transferred(relationship, count)
        for ff in r.flowfiles_for(relationship):
            ff.assert_attribute_equals("RouteOnAttribute.Route", relationship)
            ff.assert_content_equals(b"payload")


def test_a_flowfile_matching_several_conditions_is_cloned() -> None:
    r = runner({"a": T, "b": T, "c": T})
    r.enqueue(b"x", {})
    r.run()
    uuids = {r.flowfiles_for(name)[0].attributes["uuid"] for name in "abc"}
    assert len(uuids) == 3
    routes = r.provenance_events(ProvenanceEventType.ROUTE)
    assert sorted(e.relationship or "" for e in routes) == ["a", "b", "c"]
    (clone_event,) = r.provenance_events(ProvenanceEventType.CLONE)
    assert len(clone_event.child_uuids) == 2


@pytest.mark.parametrize(
    ("strategy", "conditions", "destination"),
    [
        (ROUTE_ALL_MATCH, {"a": T, "b": T}, "matched"),
        (ROUTE_ALL_MATCH, {"a": T, "b": F}, "unmatched"),
        (ROUTE_ALL_MATCH, {}, "matched"),  # as in NiFi, zero of zero conditions is "all"
        (ROUTE_ANY_MATCHES, {"a": F, "b": T}, "matched"),
        (ROUTE_ANY_MATCHES, {"a": F, "b": F}, "unmatched"),
        (ROUTE_ANY_MATCHES, {}, "unmatched"),
    ],
)
def test_matched_strategies(strategy: str, conditions: dict[str, str], destination: str) -> None:
    r = runner({"Routing Strategy": strategy, **conditions})
    r.enqueue(b"", {})
    r.run()
    r.assert_all_transferred(destination, 1)
    r.flowfiles_for(destination)[0].assert_attribute_equals("RouteOnAttribute.Route", destination)
    (event,) = r.provenance_events(ProvenanceEventType.ROUTE)
    assert event.relationship == destination


def test_conditions_evaluate_per_flowfile() -> None:
    r = runner({"big": "${is_big:equals('true')}", "small": "${is_small:equalsIgnoreCase('TRUE')}"})
    r.enqueue_many([
        (b"1", {"is_big": "true", "is_small": "false"}),
        (b"2", {"is_big": "false", "is_small": "True"}),
        (b"3", {"is_big": "false"}),
        (b"4", {"is_big": "maybe"}),
    ])
    r.run()
    assert [ff.content for ff in r.flowfiles_for("big")] == [b"1"]
    assert [ff.content for ff in r.flowfiles_for("small")] == [b"2"]
    assert [ff.content for ff in r.flowfiles_for("unmatched")] == [b"3", b"4"]


def test_a_flowfile_whose_condition_fails_is_penalized_and_kept() -> None:
    r = runner({"ok": T, "bad": "${a:matches(${boom})}"})
    r.enqueue_many([(b"1", {"a": "x", "boom": "[unclosed"}), (b"2", {"a": "x", "boom": "("})])
    r.run()
    assert r.queue_size == 2
    assert r.penalized_count == 2
    r.assert_transferred("ok", 0)
    assert any(level == "ERROR" for level, _ in r.bulletins)


def test_processes_a_batch_per_run() -> None:
    r = runner({"yes": T})
    r.enqueue_many([(b"", {}) for _ in range(150)])
    r.run()
    r.assert_transferred("yes", 100)


# TestRouteOnAttribute: testInvalidOnMisconfiguredProperty ("${a:equals('b')", missing brace) and
# testInvalidOnNonBooleanProperty ("${a:length()", not boolean); NiFi's validator also refuses a
# value that is not exactly one expression.
@pytest.mark.parametrize(
    ("properties", "subject"),
    [
        ({"Routing Strategy": "sometimes"}, "Routing Strategy"),
        ({"a": "yes"}, "a"),
        ({"a": "true"}, "a"),
        ({"a": "${flag:equals(}"}, "a"),  # an expression that does not compile
        ({"RouteA": "${a:equals('b')"}, "RouteA"),  # unclosed
        ({"RouteA": "${a:length()"}, "RouteA"),
        ({"RouteA": "${a:length()}"}, "RouteA"),  # WHOLE_NUMBER
        ({"RouteA": "${a}"}, "RouteA"),  # STRING
        ({"RouteA": "${a:toUpper()}"}, "RouteA"),
        ({"RouteA": "${a:equals('b')} "}, "RouteA"),
        ({"RouteA": "$${a:equals('b')}"}, "RouteA"),
    ],
)
def test_invalid_configurations(properties: dict[str, str], subject: str) -> None:
    r = runner(properties)
    assert subject in [result.subject for result in r.validation_results()]
    with pytest.raises(InvalidComponentError):
        r.run()


@pytest.mark.parametrize("condition", [
    "${a:equals('b')}", "${a:isEmpty():not()}", "${a:toNumber():gt(5)}", "${a:matches('x.*'):or(${b:isNull()})}",
    "${anyAttribute('a', 'b'):equals('x')}", "${allMatchingAttributes('a.*'):isEmpty()}",
    "${ a:equals('b') }",  # whitespace inside the braces is fine
])
def test_boolean_expressions_are_valid(condition: str) -> None:
    runner({"RouteA": condition}).assert_valid()


def test_the_message_names_the_property_and_the_position() -> None:
    (result,) = runner({"RouteA": "${a:equals('b')"}).validation_results()
    assert str(result) == ("'RouteA' is invalid because \"${a:equals('b')\" is not a valid boolean expression: "
                           "unclosed expression: '${' has no matching '}' at position 0")
    (result,) = runner({"RouteA": "${a:toUpper()}"}).validation_results()
    assert str(result).endswith("expected the expression to return type BOOLEAN but it returns type STRING "
                                "(at position 0)")


# TestRouteOnAttribute.testSimpleEquals / testRouteAllMatch / testRouteAnyMatches, condensed.
@pytest.mark.parametrize(
    ("strategy", "attributes", "expected"),
    [
        (ROUTE_TO_PROPERTY_NAME, {"a": "b"}, "RouteA"),
        (ROUTE_TO_PROPERTY_NAME, {"a": "c"}, "unmatched"),
        (ROUTE_ALL_MATCH, {"a": "b", "x": "y"}, "matched"),
        (ROUTE_ALL_MATCH, {"a": "b"}, "unmatched"),
        (ROUTE_ANY_MATCHES, {"x": "y"}, "matched"),
        (ROUTE_ANY_MATCHES, {"a": "z", "x": "z"}, "unmatched"),
    ],
)
def test_nifi_equals_cases(strategy: str, attributes: dict[str, str], expected: str) -> None:
    r = runner({"Routing Strategy": strategy, "RouteA": "${a:equals('b')}", "RouteB": "${x:equals('y')}"})
    r.enqueue(b"", attributes)
    r.run()
    r.assert_transferred(expected, 1)


def test_requires_input() -> None:
    r = runner({})
    r.has_input_connection = False
    assert [res.subject for res in r.validation_results()] == ["Upstream Connections"]


@pytest.mark.parametrize(
    ("strategy", "conditions", "attributes", "expected"),
    [
        ("Route to Property name", {"big": "${size:toNumber():gt(1000)}", "csv": "${filename:endsWith('.csv')}"},
         {"size": "2048", "filename": "a.csv"}, ["big", "csv"]),
        ("Route to Property name", {"big": "${size:toNumber():gt(1000)}"}, {"size": "10"}, ["unmatched"]),
        ("Route to 'matched' if all match", {"a": "${x:equals('1')}", "b": "${y:isNull()}"}, {"x": "1"},
         ["matched"]),
        ("Route to 'matched' if all match", {"a": "${x:equals('1')}", "b": "${y:isNull()}"}, {"x": "1", "y": "2"},
         ["unmatched"]),
        ("Route to 'matched' if any matches", {"a": "${x:equals('1')}", "b": "${y:isNull()}"}, {"x": "2", "y": "2"},
         ["unmatched"]),
        ("Route to 'matched' if any matches", {"a": "${x:equals('1')}", "b": "${y:isNull()}"}, {"x": "1", "y": "2"},
         ["matched"]),
    ],
)
def test_routes_by_expression_with_every_strategy(strategy: str, conditions: dict[str, str],
                                                 attributes: dict[str, str], expected: list[str]) -> None:
    r = ProcessorRunner(RouteOnAttribute)  # the Expression Language is on by default, as in the engine
    r.set_property("Routing Strategy", strategy)
    for name, value in conditions.items():
        r.set_property(name, value)
    r.enqueue(b"x", attributes)
    r.run()
    routed = sorted(rel for rel in ("matched", "unmatched", *conditions) if r.flowfiles_for(rel))
    assert routed == sorted(expected)


# TestRouteOnAttribute.testMatchAll / testMatchAny, as NiFi writes them.
MATCH_INPUT = [{"a": "b", "b": "a"}, {"a": "b", "b": "b"}, {"a": "a", "b": "b"}, {}]


@pytest.mark.parametrize(("strategy", "matched", "unmatched"), [
    (ROUTE_ALL_MATCH, [{"a": "b", "b": "a"}], 3),
    (ROUTE_ANY_MATCHES, [{"a": "b", "b": "a"}, {"a": "b", "b": "b"}], 2),
])
def test_nifi_match_all_and_any(strategy: str, matched: list[dict[str, str]], unmatched: int) -> None:
    r = runner({"Routing Strategy": strategy, "RouteA": "${a:equals('b')}", "RouteB": "${b:equals('a')}"})
    r.enqueue_many([(b"", attributes) for attributes in MATCH_INPUT])
    r.run(4)
    assert [{k: f.attributes[k] for k in ("a", "b")} for f in r.flowfiles_for("matched")] == matched
    assert all(f.attributes["RouteOnAttribute.Route"] == "matched" for f in r.flowfiles_for("matched"))
    assert len(r.flowfiles_for("unmatched")) == unmatched
    assert all(f.attributes["RouteOnAttribute.Route"] == "unmatched" for f in r.flowfiles_for("unmatched"))
