"""RouteOnContent."""

from __future__ import annotations

import pytest

from flowyard.processors.route_on_content import RouteOnContent
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

EXACT = "content must match exactly"
CONTAINS = "content must contain match"


def route(properties: dict[str, str], content: str | bytes, attributes: dict[str, str] | None = None,
          ) -> ProcessorRunner:
    r = ProcessorRunner(RouteOnContent)
    for name, value in properties.items():
        r.set_property(name, value)
    r.enqueue(content, attributes or {})
    r.run()
    return r


def test_relationships_are_unmatched_plus_one_per_property() -> None:
    rels = RouteOnContent.relationships_for({"b": "x", "a": "y"}, {})
    assert [r.name for r in rels] == ["unmatched", "a", "b"]


@pytest.mark.parametrize(
    ("requirement", "patterns", "content", "expected"),
    [
        (EXACT, {"hello": "Hello.*"}, "Hello, World!", ["hello"]),
        (EXACT, {"hello": "Hello"}, "Hello, World!", ["unmatched"]),
        (CONTAINS, {"hello": "World"}, "Hello, World!", ["hello"]),
        (CONTAINS, {"a": "l+", "b": "W", "c": "xyz"}, "Hello, World!", ["a", "b"]),
        (EXACT, {"dot": "a.c"}, "a\nc", ["unmatched"]),  # Java's '.' does not match a line terminator
        (EXACT, {"dot": "(?s)a.c"}, "a\nc", ["dot"]),
        (EXACT, {"line": "abc$"}, "abc\r\n", ["unmatched"]),  # matches() needs the whole input
        (CONTAINS, {"line": "^abc$"}, "abc\r\n", ["line"]),
        (EXACT, {"empty": ""}, "", ["empty"]),
    ],
)
def test_routing(requirement: str, patterns: dict[str, str], content: str, expected: list[str]) -> None:
    r = route({"Match Requirement": requirement, **patterns}, content)
    routed = sorted(name for name in ("unmatched", *patterns) if r.flowfiles_for(name))
    assert routed == expected
    for name in expected:
        (ff,) = r.flowfiles_for(name)
        ff.assert_attribute_equals("RouteOnContent.Route", name)
        ff.assert_content_equals(content)


def test_several_matches_clone_with_route_events() -> None:
    r = route({"Match Requirement": CONTAINS, "a": "x", "b": "x"}, "xx")
    assert len({r.flowfiles_for(n)[0].attributes["uuid"] for n in "ab"}) == 2
    routes = r.provenance_events(ProvenanceEventType.ROUTE)
    assert sorted(e.relationship or "" for e in routes) == ["a", "b"]
    assert len(r.provenance_events(ProvenanceEventType.CLONE)) == 1


def test_only_the_buffer_is_read() -> None:
    r = route({"Match Requirement": CONTAINS, "Content Buffer Size": "5 B", "late": "World"}, "Hello, World!")
    r.assert_all_transferred("unmatched", 1)
    r = route({"Content Buffer Size": "5 B", "start": "Hello"}, "Hello, World!")
    r.assert_all_transferred("start", 1)


def test_expression_values_match_literally() -> None:
    r = route({"Match Requirement": CONTAINS, "found": "id=${id}"}, "x id=a.c y", {"id": "a.c"})
    r.assert_all_transferred("found", 1)
    r = route({"Match Requirement": CONTAINS, "found": "id=${id}"}, "x id=abc y", {"id": "a.c"})
    r.assert_all_transferred("unmatched", 1)


def test_character_set_and_undecodable_bytes() -> None:
    r = route({"Character Set": "ISO-8859-1", "Match Requirement": CONTAINS, "e": "é"}, "café".encode("latin-1"))
    r.assert_all_transferred("e", 1)
    r = route({"Match Requirement": CONTAINS, "bad": "\\x{FFFD}"}, b"\xff")
    r.assert_all_transferred("bad", 1)
    r.flowfiles_for("bad")[0].assert_content_equals(b"\xff")


@pytest.mark.parametrize(
    ("properties", "subject"),
    [
        ({"a": "(unclosed"}, "a"),
        ({"a": "x{"}, "a"),
        ({"unmatched": "x"}, "unmatched"),
        ({"Match Requirement": "sometimes", "a": "x"}, "Match Requirement"),
        ({"Content Buffer Size": "lots", "a": "x"}, "Content Buffer Size"),
    ],
)
def test_invalid_configurations(properties: dict[str, str], subject: str) -> None:
    r = ProcessorRunner(RouteOnContent)
    for name, value in properties.items():
        r.set_property(name, value)
    assert subject in [res.subject for res in r.validation_results()]


def test_processes_a_batch_per_run() -> None:
    r = ProcessorRunner(RouteOnContent)
    r.set_property("digits", "\\d+")
    r.enqueue_many([(str(i), {}) for i in range(60)])
    r.run()
    r.assert_transferred("digits", 50)


# NiFi's TestRouteOnContent (src/test/resources/hello.txt is "Hello, World!")
@pytest.mark.parametrize(
    ("properties", "attributes", "routes"),
    [
        pytest.param({"Match Requirement": CONTAINS, "hello": "Hello", "world": "World"}, {}, ["hello", "world"],
                     id="cloning"),
        pytest.param({"Match Requirement": CONTAINS, "attr": "Hel${highLow}"}, {"highLow": "lo"}, ["attr"],
                     id="substitute-attributes"),
        pytest.param({"Match Requirement": EXACT, "Content Buffer Size": "3 B", "rel": "Hel"}, {}, ["rel"],
                     id="buffer-size"),
    ],
)
def test_nifi_cases(properties: dict[str, str], attributes: dict[str, str], routes: list[str]) -> None:
    r = route(properties, "Hello, World!", attributes)
    r.assert_transferred("unmatched", 0)
    for name in routes:
        r.assert_transferred(name, 1)
