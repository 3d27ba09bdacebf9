"""RouteText, with the cases of NiFi's TestRouteText."""

from __future__ import annotations

import pytest

from flowyard.processors.route_text import RouteText
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

MATCHING = "Matching Strategy"
ROUTING = "Routing Strategy"
ANY = "Route to 'matched' if lines matches any condition"
ALL = "Route to 'matched' if line matches all conditions"
TEXT = "start middle end\nnot match"


def route(properties: dict[str, str], content: str | bytes = TEXT, attributes: dict[str, str] | None = None,
          ) -> ProcessorRunner:
    r = ProcessorRunner(RouteText)
    for name, value in properties.items():
        r.set_property(name, value)
    r.enqueue(content, attributes or {})
    r.run()
    return r


def contents(r: ProcessorRunner, relationship: str) -> list[bytes]:
    return [ff.content for ff in r.flowfiles_for(relationship)]


@pytest.mark.parametrize(
    ("strategy", "dynamic", "expected"),
    [
        (None, {"simple": "x"}, ["original", "unmatched", "simple"]),
        (ANY, {"simple": "x"}, ["original", "unmatched", "matched"]),
        (ALL, {"a": "x", "b": "y"}, ["original", "unmatched", "matched"]),
        (None, {"original": "x", "b": "y"}, ["original", "unmatched", "b"]),
    ],
)
def test_relationships(strategy: str | None, dynamic: dict[str, str], expected: list[str]) -> None:
    assert [r.name for r in RouteText.relationships_for(dynamic, {"routing-strategy": strategy})] == expected


# (properties, content, {relationship: [contents]})
CASES = [
    pytest.param({MATCHING: "Starts With", "simple": "start"}, TEXT,
                 {"simple": [b"start middle end\n"], "unmatched": [b"not match"]}, id="starts"),
    pytest.param({MATCHING: "Starts With", "Ignore Case": "false", "simple": "start"},
                 "STart middle end\nstart middle end",
                 {"simple": [b"start middle end"], "unmatched": [b"STart middle end\n"]}, id="starts-case-sensitive"),
    pytest.param({MATCHING: "Starts With", "Ignore Case": "true", "simple": "start"},
                 "start middle end\nSTart middle end",
                 {"simple": [b"start middle end\nSTart middle end"], "unmatched": []}, id="starts-ignore-case"),
    pytest.param({MATCHING: "Ends With", "simple": "end"}, TEXT,
                 {"simple": [b"start middle end\n"], "unmatched": [b"not match"]}, id="ends"),
    pytest.param({MATCHING: "Contains", "t": "t", "e": "e", "z": "z"}, TEXT,
                 {"t": [TEXT.encode()], "e": [b"start middle end\n"], "z": [], "unmatched": []},
                 id="line-to-several-relationships"),
    pytest.param({MATCHING: "Contains", "simple": "middle"}, TEXT,
                 {"simple": [b"start middle end\n"], "unmatched": [b"not match"]}, id="contains"),
    pytest.param({MATCHING: "Contains", "Ignore Case": "true", "simple": "miDDlE"}, TEXT,
                 {"simple": [b"start middle end\n"], "unmatched": [b"not match"]}, id="contains-ignore-case"),
    pytest.param({MATCHING: "Equals", "simple": "start middle end"}, TEXT,
                 {"simple": [b"start middle end\n"], "unmatched": [b"not match"]}, id="equals"),
    pytest.param({MATCHING: "Equals", "Ignore Case": "true", "simple": "START Middle end"}, TEXT,
                 {"simple": [b"start middle end\n"], "unmatched": [b"not match"]}, id="equals-ignore-case"),
    pytest.param({MATCHING: "Matches Regular Expression", "simple": ".*(mid).*"}, TEXT,
                 {"simple": [b"start middle end\n"], "unmatched": [b"not match"]}, id="matches-regex"),
    pytest.param({MATCHING: "Matches Regular Expression", "Ignore Case": "true", "simple": ".*(MID).*"}, TEXT,
                 {"simple": [b"start middle end\n"], "unmatched": [b"not match"]}, id="matches-regex-ignore-case"),
    pytest.param({MATCHING: "Contains Regular Expression", "simple": "(m.d)"}, TEXT,
                 {"simple": [b"start middle end\n"], "unmatched": [b"not match"]}, id="contains-regex"),
    pytest.param({MATCHING: "Starts With", ROUTING: ANY, "simple": "start", "no": "no match"}, TEXT,
                 {"matched": [b"start middle end\n"], "unmatched": [b"not match"]}, id="any-starts"),
    pytest.param({MATCHING: "Ends With", ROUTING: ANY, "simple": "end", "no": "no match"}, TEXT,
                 {"matched": [b"start middle end\n"], "unmatched": [b"not match"]}, id="any-ends"),
    pytest.param({MATCHING: "Matches Regular Expression", ROUTING: ANY, "simple": ".*(m.d).*", "no": "no match"},
                 TEXT, {"matched": [b"start middle end\n"], "unmatched": [b"not match"]}, id="any-regex"),
    pytest.param({MATCHING: "Equals", ROUTING: ANY, "simple": "start middle end", "no": "no match"}, TEXT,
                 {"matched": [b"start middle end\n"], "unmatched": [b"not match"]}, id="any-equals"),
    pytest.param({MATCHING: "Contains Regular Expression", ROUTING: ANY, "simple": "(m.d)", "no": "no match"},
                 TEXT, {"matched": [b"start middle end\n"], "unmatched": [b"not match"]}, id="any-contains-regex"),
    pytest.param({MATCHING: "Equals", ROUTING: ALL, "simple": "start middle end", "second": "start middle end"},
                 TEXT, {"matched": [b"start middle end\n"], "unmatched": [b"not match"]}, id="all-equals"),
    pytest.param({MATCHING: "Matches Regular Expression", ROUTING: ALL, "simple": ".*(m.d).*",
                  "second": ".*(t.*m).*"}, TEXT,
                 {"matched": [b"start middle end\n"], "unmatched": [b"not match"]}, id="all-matches-regex"),
    pytest.param({MATCHING: "Starts With", ROUTING: ALL, "simple": "start middle", "second": "star"}, TEXT,
                 {"matched": [b"start middle end\n"], "unmatched": [b"not match"]}, id="all-starts"),
    pytest.param({MATCHING: "Ends With", ROUTING: ALL, "simple": "middle end", "second": "nd"}, TEXT,
                 {"matched": [b"start middle end\n"], "unmatched": [b"not match"]}, id="all-ends"),
    pytest.param({MATCHING: "Contains Regular Expression", ROUTING: ALL, "simple": "(m.d)", "second": "(t.*m)"},
                 TEXT, {"matched": [b"start middle end\n"], "unmatched": [b"not match"]}, id="all-contains-regex"),
    pytest.param({MATCHING: "Contains", ROUTING: ALL, "a": "start", "b": "nothing"}, TEXT,
                 {"matched": [], "unmatched": [TEXT.encode()]}, id="all-needs-every-condition"),
    pytest.param({MATCHING: "Starts With", "simple": "start"}, "start middle end\r\nnot match",
                 {"simple": [b"start middle end\r\n"], "unmatched": [b"not match"]}, id="crlf"),
    pytest.param({MATCHING: "Starts With", "simple": "start"}, "start middle end\rnot match",
                 {"simple": [b"start middle end\r"], "unmatched": [b"not match"]}, id="lone-cr"),
    pytest.param({MATCHING: "Ends With", "Ignore Leading/Trailing Whitespace": "false", "end": "end"},
                 "start middle end  \nthe end\r\n",
                 {"end": [b"the end\r\n"], "unmatched": [b"start middle end  \n"]}, id="no-trim"),
    pytest.param({MATCHING: "Equals", "id": "${wanted}"}, "a\nb\nc", {"id": [b"b\n"], "unmatched": [b"a\nc"]},
                 id="value-from-attribute"),
    pytest.param({MATCHING: "Starts With", "simple": "start"}, "", {"simple": [], "unmatched": []},
                 id="empty-content"),
]


@pytest.mark.parametrize(("properties", "content", "expected"), CASES)
def test_routing(properties: dict[str, str], content: str, expected: dict[str, list[bytes]]) -> None:
    r = route(properties, content, {"wanted": "b"})
    for relationship, data in expected.items():
        assert contents(r, relationship) == data, relationship
    (original,) = r.flowfiles_for("original")
    original.assert_content_equals(content)
    original.assert_attribute_equals("RouteText.Route", "original")


def test_children_carry_route_and_group_attributes_and_events() -> None:
    r = route({MATCHING: "Starts With", "simple": "start"})
    child = r.flowfiles_for("simple")[0]
    child.assert_attribute_equals("RouteText.Route", "simple")
    child.assert_attribute_equals("RouteText.Group", "")
    routes = sorted(e.relationship or "" for e in r.provenance_events(ProvenanceEventType.ROUTE))
    assert routes == ["original", "simple", "unmatched"]


@pytest.mark.parametrize(
    ("grouping", "content", "expected"),
    [
        ("(.*?),.*", "1,hello\n2,world\n1,good-bye", {"o": {"1": b"1,hello\n1,good-bye", "2": b"2,world\n"}}),
        ("(.*?),(.*?),.*", "1,5,hello\n2,5,world\n1,8,good-bye\n1,5,overt",
         {"o": {"1, 5": b"1,5,hello\n1,5,overt", "2, 5": b"2,5,world\n", "1, 8": b"1,8,good-bye\n"}}),
        ("(.*?),.*", "1,hello\n2,world\n1,good-bye\n3,ciao",
         {"l": {"1": b"1,hello\n", "2": b"2,world\n"}, "unmatched": {"1": b"1,good-bye\n", "3": b"3,ciao"}}),
    ],
)
def test_grouping(grouping: str, content: str, expected: dict[str, dict[str, bytes]]) -> None:
    name = next(iter(k for k in expected if k != "unmatched"))
    r = route({MATCHING: "Contains", "Grouping Regular Expression": grouping, name: name}, content)
    for relationship, groups in expected.items():
        got = {ff.attributes["RouteText.Group"]: ff.content for ff in r.flowfiles_for(relationship)}
        assert got == groups


def test_satisfies_expression() -> None:
    r = ProcessorRunner(RouteText)
    r.set_property(MATCHING, "Satisfies Expression")
    r.set_property("empty", "${incomplete expression")
    r.assert_not_valid()
    r.set_property("empty", "${line:isEmpty()}")
    r.set_property("third-line", "${lineNo:equals(3)}")
    r.set_property("second-field-you", "${line:getDelimitedField(2):trim():equals('you')}")
    r.enqueue("hello\n\ngood-bye, you\n    \t\t\n")
    r.run()
    assert contents(r, "empty") == [b"\n    \t\t\n"]
    assert contents(r, "third-line") == [b"good-bye, you\n"]
    assert contents(r, "second-field-you") == [b"good-bye, you\n"]
    assert contents(r, "unmatched") == [b"hello\n"]
    r.assert_transferred("original", 1)


def test_satisfies_expression_sees_attributes() -> None:
    r = route({MATCHING: "Satisfies Expression", "mine": "${line:contains(${who})}"}, "a bob\nan alice\n",
              {"who": "alice"})
    assert contents(r, "mine") == [b"an alice\n"]


def test_a_failing_expression_keeps_the_flowfile_penalized() -> None:
    r = route({MATCHING: "Satisfies Expression", "date": "${line:toDate('yyyy'):isNull()}"}, "not a date\n")
    assert r.queue_size == 1 and r.penalized_count == 1
    assert r.flowfiles_for("original") == [] and r.flowfiles_for("unmatched") == []
    assert any(level == "ERROR" for level, _ in r.bulletins)


def test_binary_content_reads_as_replacement_characters() -> None:
    binary = bytes([0xFF, 0xD8, 0xFF, 0xE0])
    r = route({MATCHING: "Starts With", "simple": "start"}, binary)
    r.assert_transferred("unmatched", 1)
    r.flowfiles_for("original")[0].assert_content_equals(binary)


@pytest.mark.parametrize(
    ("properties", "subject"),
    [
        ({MATCHING: "Starts With"}, "Dynamic Properties"),
        ({"simple": "start"}, "Matching Strategy"),
        ({MATCHING: "Matches Regular Expression", "simple": "["}, "simple"),
        ({MATCHING: "Starts With", "simple": "x", "Grouping Regular Expression": "no-group"},
         "Grouping Regular Expression"),
        ({MATCHING: "Satisfies Expression", "simple": "true"}, "simple"),
        ({MATCHING: "Satisfies Expression", "simple": "${line:toUpper()}"}, "simple"),
        ({MATCHING: "Satisfies Expression", "simple": "x ${line:isEmpty()}"}, "simple"),
    ],
)
def test_invalid_configurations(properties: dict[str, str], subject: str) -> None:
    r = ProcessorRunner(RouteText)
    for name, value in properties.items():
        r.set_property(name, value)
    assert subject in [res.subject for res in r.validation_results()]


def test_large_content_streams_in_order() -> None:
    lines = [f"{'keep' if i % 3 else 'drop'} {i}\n" for i in range(200_000)]
    r = route({MATCHING: "Starts With", "keep": "keep"}, "".join(lines))
    assert contents(r, "keep") == ["".join(line for line in lines if line.startswith("keep")).encode()]
    assert contents(r, "unmatched") == ["".join(line for line in lines if line.startswith("drop")).encode()]


def test_regex_from_an_attribute_is_a_regex_per_flowfile() -> None:
    """NiFi's testPatternCache: the evaluated value is compiled as a regular expression for each FlowFile."""
    r = ProcessorRunner(RouteText)
    r.set_property(MATCHING, "Matches Regular Expression")
    r.set_property("simple", ".*(${someValue}).*")
    r.enqueue_many([("some text", {"someValue": "a value"}), ("some other text", {"someValue": "a value"})])
    r.run(2)
    for i in range(2):
        r.enqueue(f"some text with {i}in it", {"someValue": str(i)})
        r.run()
    r.assert_transferred("simple", 2)
    r.assert_transferred("matched", 0)
    r.assert_transferred("unmatched", 2)
    r.assert_transferred("original", 4)


def test_not_text_goes_unmatched_and_original_is_unchanged() -> None:
    binary = bytes([0xFF, 0xD8, 0xFF, 0xE0])
    r = route({MATCHING: "Starts With", "simple": "start"}, binary)
    r.assert_transferred("unmatched", 1)
    r.assert_transferred("original", 1)
    r.flowfiles_for("original")[0].assert_content_equals(binary)


def test_json_lines_by_starting_text() -> None:
    """NiFi's testJson, on a document of the same shape: leading whitespace is ignored by default."""
    people = [f'    {{\n        "greeting": "hi {i}",\n        "address": "{i} Main St"\n    }}' for i in range(7)]
    content = "[\n" + ",\n".join(people) + "\n]\n"
    r = route({MATCHING: "Starts With", ROUTING: "Route to each matching Property Name", "greeting": '"greeting"',
               "address": '"address"'}, content)
    assert contents(r, "greeting")[0].count(b"\n") == 7
    assert contents(r, "address")[0].count(b"\n") == 7
    assert contents(r, "unmatched")[0].count(b"\n") == content.count("\n") - 14
    r.flowfiles_for("original")[0].assert_content_equals(content)
