"""ExtractText, with the cases of NiFi's TestExtractText."""

from __future__ import annotations

import pytest

from flowyard.processors.extract_text import ExtractText
from flowyard.runtime.sdk import InvalidComponentError
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

SAMPLE = "foo\r\nbar1\r\nbar2\r\nbar3\r\nhello\r\nworld\r\n"


def extract(properties: dict[str, str], content: str | bytes = SAMPLE) -> ProcessorRunner:
    r = ProcessorRunner(ExtractText)
    for name, value in properties.items():
        r.set_property(name, value)
    r.enqueue(content)
    r.run()
    return r


def matched(r: ProcessorRunner) -> MockFlowFile:
    r.assert_all_transferred("matched", 1)
    return r.flowfiles_for("matched")[0]


PATTERNS = {
    "regex.result1": "(.*)",
    "regex.result2": ".*(bar1).*",
    "regex.result3": ".*?(bar\\d).*",
    "regex.result4": ".*?(?:bar\\d).*?(bar\\d).*",
    "regex.result5": ".*(bar\\d).*",
    "regex.result6": "^(.*)$",
    "regex.result7": "^(XXX)$",
}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"Enable DOTALL Mode": "true"},
         {"regex.result1": SAMPLE, "regex.result2": "bar1", "regex.result3": "bar1", "regex.result4": "bar2",
          "regex.result5": "bar3", "regex.result6": SAMPLE, "regex.result7": None}),
        ({"Enable Multiline Mode": "true"},
         {"regex.result1": "foo", "regex.result2": "bar1", "regex.result3": "bar1", "regex.result4": None,
          "regex.result5": "bar1", "regex.result6": "foo", "regex.result7": None}),
        ({"Enable Multiline Mode": "true", "Enable DOTALL Mode": "true"},
         {"regex.result1": SAMPLE, "regex.result3": "bar1", "regex.result4": "bar2", "regex.result5": "bar3",
          "regex.result6": SAMPLE, "regex.result7": None}),
    ],
)
def test_flags_change_what_matches(flags: dict[str, str], expected: dict[str, str | None]) -> None:
    out = matched(extract({**flags, **PATTERNS}))
    for key, value in expected.items():
        out.assert_attribute_equals(key, value)


def test_processor_with_embedded_flags() -> None:
    out = matched(extract({
        "regex.result1": "(?s)(.*)", "regex.result2": "(?s).*(bar1).*", "regex.result3": "(?s).*?(bar\\d).*",
        "regex.result4": "(?s).*?(?:bar\\d).*?(bar\\d).*?(bar3).*", "regex.result5": "(?s).*(bar\\d).*",
        "regex.result6": "(?s)^(.*)$", "regex.result7": "(?s)(XXX)",
    }))
    out.assert_attribute_equals("regex.result1", SAMPLE)
    out.assert_attribute_equals("regex.result2", "bar1")
    out.assert_attribute_equals("regex.result3", "bar1")
    out.assert_attribute_equals("regex.result4", "bar2")
    out.assert_attribute_equals("regex.result4.0", SAMPLE)
    out.assert_attribute_equals("regex.result4.1", "bar2")
    out.assert_attribute_equals("regex.result4.2", "bar3")
    out.assert_attribute_equals("regex.result4.3", None)
    out.assert_attribute_equals("regex.result5", "bar3")
    out.assert_attribute_equals("regex.result6", SAMPLE)
    out.assert_attribute_equals("regex.result7", None)


def test_multiline_patterns_that_include_line_endings() -> None:
    out = matched(extract({"Enable Multiline Mode": "true", "regex.result4b": "bar\\d\\r\\n(bar\\d)",
                           "regex.result5b": "(?:bar\\d\\r?\\n)*(bar\\d)"}))
    out.assert_attribute_equals("regex.result4b", "bar2")
    out.assert_attribute_equals("regex.result5b", "bar3")


def test_unmatched_optional_group_adds_no_attribute() -> None:
    out = matched(extract({"regex": "abc(def)?(g)"}, "abcg"))
    out.assert_attribute_equals("regex.1", None)
    out.assert_attribute_equals("regex.2", "g")
    out = matched(extract({"regex": "abc(def)?(g)"}, "abcdefg"))
    out.assert_attribute_equals("regex.1", "def")
    out.assert_attribute_equals("regex.2", "g")


def test_no_matches_route_to_unmatched_without_attributes() -> None:
    r = extract({"regex.result2": "(bar1)", "regex.result7": "^(XXX)$"}, "YYY")
    r.assert_all_transferred("unmatched", 1)
    assert not any(k.startswith("regex") for k in r.flowfiles_for("unmatched")[0].attributes)


def test_no_flowfile_does_nothing() -> None:
    r = ProcessorRunner(ExtractText)
    r.set_property("a", "(a)")
    r.run()
    r.assert_transferred("matched", 0)


def test_only_the_buffer_is_evaluated() -> None:
    out = matched(extract({"Maximum Buffer Size": "3 B", "regex.result1": "(foo)", "regex.result2": "(world)"}))
    out.assert_attribute_equals("regex.result1", "foo")
    out.assert_attribute_equals("regex.result2", None)


@pytest.mark.parametrize(
    ("zero", "pattern", "expected"),
    [
        ("true", "(?s)(.*)", {"regex.result": SAMPLE, "regex.result.0": SAMPLE}),
        ("false", "(?s)(.*)", {"regex.result": SAMPLE, "regex.result.0": None}),
        ("true", "(?s).*", {"regex.result": None, "regex.result.0": SAMPLE}),
    ],
)
def test_capture_group_zero(zero: str, pattern: str, expected: dict[str, str | None]) -> None:
    out = matched(extract({"Include Capture Group 0": zero, "regex.result": pattern}))
    for key, value in expected.items():
        out.assert_attribute_equals(key, value)


def test_no_capture_group_is_invalid_without_group_zero() -> None:
    r = ProcessorRunner(ExtractText)
    r.set_property("Include Capture Group 0", "false")
    r.set_property("regex.result", "(?s).*")
    r.enqueue(SAMPLE)
    with pytest.raises(InvalidComponentError):
        r.run()


@pytest.mark.parametrize(
    ("pattern", "content", "expected"),
    [
        ("(?s)(\\w+)", "This is my text",
         {"r": "This", "r.0": "This", "r.1": "This", "r.2": "is", "r.3": "my", "r.4": "text", "r.5": None}),
        ("(\\w+)=(\\d+)", "a=1,b=10,c=100",
         {"r": "a", "r.0": "a=1", "r.1": "a", "r.2": "1", "r.3": "b", "r.4": "10", "r.5": "c", "r.6": "100",
          "r.7": None}),
    ],
)
def test_repeating_capture_group(pattern: str, content: str, expected: dict[str, str | None]) -> None:
    out = matched(extract({"Enable Repeating Capture Group": "true", "r": pattern}, content))
    for key, value in expected.items():
        out.assert_attribute_equals(key, value)


def test_legacy_property_names() -> None:
    out = matched(extract({"extract-text-enable-repeating-capture-group": "true", "r": "(\\d)"}, "1 2"))
    out.assert_attribute_equals("r.2", "2")


@pytest.mark.parametrize(
    ("repeating", "expected"),
    [
        ("false", {"r": "a=1", "r.key": "a", "r.value": "1", "r.key.1": None}),
        ("true", {"r": "a=1", "r.key": "a", "r.value": "1", "r.key.1": "b", "r.value.1": "10", "r.key.2": "c"}),
    ],
)
def test_named_groups(repeating: str, expected: dict[str, str | None]) -> None:
    out = matched(extract({"Enable Named Groups": "true", "Enable Repeating Capture Group": repeating,
                           "r": "(?<key>\\w+)=(?<value>\\d+)"}, "a=1,b=10,c=100"))
    for key, value in expected.items():
        out.assert_attribute_equals(key, value)
    out.assert_attribute_equals("r.1", None)


def test_named_groups_need_every_group_named() -> None:
    r = ProcessorRunner(ExtractText)
    r.set_property("Enable named group support", "true")
    r.set_property("r", "(?<key>\\w+)=(\\d+)")
    (problem,) = r.validation_results()
    assert problem.subject == "r" and "Named group count" in problem.explanation


@pytest.mark.parametrize(
    ("properties", "content", "expected"),
    [
        ({"Enable Case-insensitive Matching": "true", "r": "(HELLO)"}, SAMPLE, "hello"),
        ({"Permit Whitespace and Comments in Pattern": "true", "r": "( w o r l d ) # the word"}, SAMPLE, "world"),
        ({"Enable Literal Parsing of the Pattern": "true", "r": "a.c"}, "abc a.c", None),
        ({"Enable Unix Lines Mode": "true", "r": "(bar1.)"}, SAMPLE, "bar1\r"),
        ({"Enable Unicode Predefined Character Classes": "true", "r": "(\\w+)"}, "ünï", "ünï"),
        ({"r": "(\\w+)"}, "ünï", "n"),
        ({"Enable Case-insensitive Matching": "true", "Enable Unicode-aware Case Folding": "true", "r": "(É)"}, "é",
         "é"),
        ({"Maximum Capture Group Length": "3", "r": "(\\w+)"}, "abcdef", "abc"),
        ({"Enable Canonical Equivalence": "true", "r": "(b)"}, "abc", "b"),
    ],
)
def test_flags_and_limits(properties: dict[str, str], content: str, expected: str | None) -> None:
    r = extract(properties, content)
    if properties.get("Enable Literal Parsing of the Pattern") == "true":
        matched(r).assert_attribute_equals("r.0", "a.c")
        return
    matched(r).assert_attribute_equals("r", expected)


def test_invalid_bytes_read_as_replacement_characters() -> None:
    out = matched(extract({"r": "a(.)c"}, b"a\xffc"))
    out.assert_attribute_equals("r", "\ufffd")


@pytest.mark.parametrize(
    "pattern",
    ["(unclosed", "[a&&b](c)", "(a)" * 41],
)
def test_invalid_patterns(pattern: str) -> None:
    r = ProcessorRunner(ExtractText)
    r.set_property("r", pattern)
    assert [res.subject for res in r.validation_results()] == ["r"]


@pytest.mark.parametrize(
    ("flags", "patterns", "expected"),
    [
        ({"Enable Multiline Mode": "true"},
         {"regex.result1": "(?<ALL>.*)", "regex.result4": ".*?(?:bar\\d).*?(?<NULL>bar\\d).*",
          "regex.result4b": "bar\\d\\r\\n(?<BAR2>bar\\d)", "regex.result5": ".*(?<BAR2>bar\\d).*",
          "regex.result5b": "(?:bar\\d\\r?\\n)*(?<BAR3>bar\\d)", "regex.result6": "^(?<ALL>.*)$"},
         {"regex.result1.ALL": "foo", "regex.result4.NULL": None, "regex.result4b.BAR2": "bar2",
          "regex.result5.BAR2": "bar1", "regex.result5b.BAR3": "bar3", "regex.result6.ALL": "foo"}),
        ({"Enable DOTALL Mode": "true"},
         {"regex.result1": "(?<TOUT>.*)", "regex.result4": ".*?(?:bar\\d).*?(?<BAR2>bar\\d).*",
          "regex.result7": "^(?<NO>XXX)$"},
         {"regex.result1.TOUT": SAMPLE, "regex.result1": SAMPLE, "regex.result4.BAR2": "bar2",
          "regex.result7.NO": None}),
        ({"Include Capture Group 0": "false"}, {"regex.result": "(?s)(?<ALL>.*)"},
         {"regex.result": None, "regex.result.ALL": SAMPLE}),
    ],
)
def test_named_groups_like_nifi(flags: dict[str, str], patterns: dict[str, str],
                                expected: dict[str, str | None]) -> None:
    out = matched(extract({"Enable Named Groups": "true", **flags, **patterns}))
    for key, value in expected.items():
        out.assert_attribute_equals(key, value)


def test_named_groups_optional_group() -> None:
    out = matched(extract({"Enable Named Groups": "true", "regex": "abc(?<DEF>def)?(?<G>g)"}, "abcg"))
    out.assert_attribute_equals("regex.DEF", None)
    out.assert_attribute_equals("regex.G", "g")


NIFI_MULTILINE_PATTERNS = {
    "regex.result1": "(.*)", "regex.result2": "(bar1)", "regex.result3": ".*?(bar\\d).*",
    "regex.result4": ".*?(?:bar\\d).*?(bar\\d).*", "regex.result4b": "bar\\d\\r\\n(bar\\d)",
    "regex.result5": ".*(bar\\d).*", "regex.result5b": "(?:bar\\d\\r?\\n)*(bar\\d)", "regex.result6": "^(.*)$",
    "regex.result7": "^(XXX)$",
}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        pytest.param({"Enable Multiline Mode": "true"},
                     ["foo", "bar1", "bar1", None, "bar2", "bar1", "bar3", "foo", None], id="multiline"),
        pytest.param({"Enable Multiline Mode": "true", "Enable DOTALL Mode": "true"},
                     [SAMPLE, "bar1", "bar1", "bar2", "bar2", "bar3", "bar3", SAMPLE, None], id="multiline-dotall"),
    ],
)
def test_nifi_multiline_cases(flags: dict[str, str], expected: list[str | None]) -> None:
    out = matched(extract({**flags, **NIFI_MULTILINE_PATTERNS}))
    assert [out.attributes.get(key) for key in NIFI_MULTILINE_PATTERNS] == expected


def test_nifi_no_matches_with_multiline_and_dotall() -> None:
    patterns = {k: v for k, v in NIFI_MULTILINE_PATTERNS.items() if k not in ("regex.result1", "regex.result6")}
    r = extract({"Enable Multiline Mode": "true", "Enable DOTALL Mode": "true", **patterns}, "YYY")
    r.assert_all_transferred("unmatched", 1)
    assert not any(k.startswith("regex") for k in r.flowfiles_for("unmatched")[0].attributes)


@pytest.mark.parametrize("flag", ["Enable Unix Lines Mode", "Enable Case-insensitive Matching",
                                  "Permit Whitespace and Comments in Pattern", "Enable Multiline Mode",
                                  "Enable Literal Parsing of the Pattern", "Enable DOTALL Mode",
                                  "Enable Unicode-aware Case Folding", "Enable Canonical Equivalence",
                                  "Enable Unicode Predefined Character Classes"])
def test_every_compile_flag_can_be_set_alone(flag: str) -> None:
    r = ProcessorRunner(ExtractText)
    r.set_property(flag, "true")
    r.set_property("regex.result", "(foo)")
    r.assert_valid()
    r.enqueue("(foo)")  # matched literally too
    r.run()
    r.assert_all_transferred("matched", 1)


def test_relationships_are_matched_and_unmatched() -> None:
    assert [rel.name for rel in ExtractText.spec.relationships] == ["matched", "unmatched"]
