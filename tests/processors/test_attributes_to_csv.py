"""AttributesToCSV: NiFi's TestAttributesToCSV cases."""

from __future__ import annotations

import re

import pytest

from flowyard.processors.attributes_to_csv import AttributesToCSV, escape_csv, split_attribute_list
from flowyard.runtime.sdk.testing import ProcessorRunner

ENDORSEMENT = "This is our family's favorite beach. We highly recommend it. \n\nThanks, Jim"
BEACH = {"beach-name": "Malibu Beach", "beach-location": "California, US", "beach-endorsement": ENDORSEMENT}
QUOTED = ["Malibu Beach", '"California, US"', f'"{ENDORSEMENT}"']


def run(properties: dict[str, str], attributes: dict[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(AttributesToCSV)
    for name, value in properties.items():
        r.set_property(name, value)
    r.enqueue(b"original", attributes or {})
    r.run()
    return r


_OUTSIDE_QUOTES = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)')


def values(text: str) -> list[str]:
    """The CSV fields of ``text``, still quoted (NiFi's tests split the same way)."""
    return _OUTSIDE_QUOTES.split(text)


@pytest.mark.parametrize(
    ("listed", "null_value", "expected"),
    [("beach-type", "false", ""), ("beach-type,beach-length", "false", ","),
     ("beach-type,beach-length", "true", "null,null")],
)
def test_missing_listed_attributes(listed: str, null_value: str, expected: str) -> None:
    r = run({"Include Core Attributes": "false", "Null Value": null_value, "Attribute List": listed})
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_attribute_equals("CSVData", expected)


@pytest.mark.parametrize("null_value", ["false", "true"])
def test_no_attributes_and_no_core_attributes_is_empty(null_value: str) -> None:
    r = run({"Include Core Attributes": "false", "Null Value": null_value})
    r.flowfiles_for("success")[0].assert_attribute_equals("CSVData", "")


def test_all_attributes_with_core_to_content() -> None:
    r = run({"Destination": "flowfile-content"}, BEACH)
    out = r.flowfiles_for("success")[0]
    out.assert_attribute_equals("mime.type", "text/csv")
    assert set(values(out.content.decode())) == {*QUOTED, out.attributes["filename"], out.attributes["path"],
                                                  out.attributes["uuid"]}
    out.assert_attribute_equals("CSVData", None)


def test_all_attributes_without_core_to_attribute() -> None:
    r = run({"Include Core Attributes": "false"}, BEACH)
    out = r.flowfiles_for("success")[0]
    assert values(out.attributes["CSVData"]) == QUOTED
    out.assert_attribute_equals("mime.type", None)
    out.assert_content_equals("original")


def test_listed_attributes_with_core_appended() -> None:
    r = run({"Attribute List": "beach-name,beach-location,beach-endorsement"},
            {**BEACH, "attribute-should-be-eliminated": "x"})
    out = r.flowfiles_for("success")[0]
    assert values(out.attributes["CSVData"]) == [*QUOTED, out.attributes["path"], out.attributes["filename"],
                                                 out.attributes["uuid"]]


def test_the_list_wins_over_excluded_core_attributes() -> None:
    r = run({"Include Core Attributes": "false", "Attribute List": "beach-name,uuid"}, BEACH)
    out = r.flowfiles_for("success")[0]
    assert values(out.attributes["CSVData"]) == ["Malibu Beach", out.attributes["uuid"]]


def test_schema_to_attribute_and_content() -> None:
    r = run({"Include Core Attributes": "false", "Attribute List": "beach-name,beach-location",
             "Include Schema": "true"}, BEACH)
    out = r.flowfiles_for("success")[0]
    out.assert_attribute_equals("CSVSchema", "beach-name,beach-location")
    out.assert_attribute_equals("CSVData", 'Malibu Beach,"California, US"')
    r = run({"Include Core Attributes": "false", "Attribute List": "beach-name,beach-location",
             "Include Schema": "true", "Destination": "flowfile-content"}, BEACH)
    r.flowfiles_for("success")[0].assert_content_equals('beach-name,beach-location\nMalibu Beach,"California, US"')


def test_attribute_names_with_commas_and_quotes() -> None:
    attrs = {"beach,name": "Malibu", 'say "hi"': "hello", "plain": 'a "quoted" word'}
    r = run({"Include Core Attributes": "false", "Include Schema": "true",
             "Attribute List": '"beach,name", "say ""hi""",plain'}, attrs)
    out = r.flowfiles_for("success")[0]
    out.assert_attribute_equals("CSVData", 'Malibu,hello,"a ""quoted"" word"')
    out.assert_attribute_equals("CSVSchema", '"beach,name","say ""hi""",plain')


def test_regex_and_list_combine() -> None:
    r = run({"Include Core Attributes": "false", "Attribute List": "beach-name",
             "Attributes Regular Expression": "beach-l.*"}, {**BEACH, "beach-length": "3 mi"})
    r.flowfiles_for("success")[0].assert_attribute_equals("CSVData", 'Malibu Beach,"California, US",3 mi')


def test_regex_must_match_the_whole_name() -> None:
    r = run({"Include Core Attributes": "false", "Attributes Regular Expression": "beach"}, BEACH)
    r.flowfiles_for("success")[0].assert_attribute_equals("CSVData", "")


def test_expression_language_in_the_list() -> None:
    r = run({"Include Core Attributes": "false", "Attribute List": "${which}"}, {**BEACH, "which": "beach-name"})
    r.flowfiles_for("success")[0].assert_attribute_equals("CSVData", "Malibu Beach")


def test_empty_listed_attribute_is_null_when_asked() -> None:
    r = run({"Include Core Attributes": "false", "Null Value": "true", "Attribute List": "e,f"}, {"e": "", "f": "x"})
    r.flowfiles_for("success")[0].assert_attribute_equals("CSVData", "null,x")


def test_regex_evaluating_to_an_invalid_pattern_fails() -> None:
    r = run({"Attributes Regular Expression": "${bad}"}, {"bad": "(unclosed"})
    r.assert_all_transferred("failure", 1)
    assert r.bulletins


@pytest.mark.parametrize("regex", ["(", "[a-"])
def test_invalid_regex_is_invalid(regex: str) -> None:
    r = ProcessorRunner(AttributesToCSV)
    r.set_property("Attributes Regular Expression", regex)
    r.assert_not_valid()


def test_split_attribute_list() -> None:
    assert split_attribute_list(' a , "b,c","d""e",a') == ["a", "b,c", 'd"e']
    assert split_attribute_list("  ") == []


@pytest.mark.parametrize(("value", "escaped"), [("a", "a"), ("a,b", '"a,b"'), ('a"b', '"a""b"'), ("a\nb", '"a\nb"'),
                                                ("a\rb", '"a\rb"'), ("", ""), ("a b", "a b")])
def test_escape_csv(value: str, escaped: str) -> None:
    assert escape_csv(value) == escaped


@pytest.mark.parametrize("legacy", ["attribute-list", "include-core-attributes", "include-schema"])
def test_legacy_names_load(legacy: str) -> None:
    r = ProcessorRunner(AttributesToCSV)
    r.set_property(legacy, "true" if legacy.startswith("include") else "a")
    r.assert_valid()


def test_the_regular_expression_is_javas() -> None:
    r = run({"Include Core Attributes": "false", "Attributes Regular Expression": "beach-\\p{Lower}+"}, BEACH)
    expected = 'Malibu Beach,"California, US","' + ENDORSEMENT + '"'
    r.flowfiles_for("success")[0].assert_attribute_equals("CSVData", expected)


def test_a_java_feature_flowyard_lacks_is_invalid() -> None:
    r = ProcessorRunner(AttributesToCSV)
    r.set_property("Attributes Regular Expression", "[a-z&&[def]]")
    r.assert_not_valid()


# -- NiFi's TestAttributesToCSV cases not covered above ------------------------------------------------------

ELIMINATED = {"attribute-should-be-eliminated": "This should not be in CSVData!"}


@pytest.mark.parametrize("destination", ["flowfile-attribute", "flowfile-content"])
def test_nifi_schema_with_core_attributes(destination: str) -> None:
    r = run({"Destination": destination, "Include Schema": "true", "Attributes Regular Expression": "beach-.*"},
            {"beach-name": "Malibu Beach", "beach-location": "California, US", **ELIMINATED})
    out = r.flowfiles_for("success")[0]
    core = f"{out.attributes['path']},{out.attributes['filename']},{out.attributes['uuid']}"
    if destination == "flowfile-attribute":
        out.assert_attribute_equals("CSVSchema", "beach-name,beach-location,path,filename,uuid")
        out.assert_attribute_equals("CSVData", f'Malibu Beach,"California, US",{core}')
    else:
        out.assert_attribute_equals("CSVSchema", None)
        out.assert_attribute_equals("CSVData", None)
        lines = out.content.decode().split("\n")
        assert lines == ["beach-name,beach-location,path,filename,uuid", f'Malibu Beach,"California, US",{core}']


@pytest.mark.parametrize(
    ("properties", "extra", "expected", "core"),
    [
        pytest.param({"Attribute List": "${myAttribs}"}, {"myAttribs": "beach-name,beach-location,beach-endorsement"},
                     QUOTED, True, id="attr-list-from-exp-core"),
        pytest.param({"Attribute List": "${myAttribs}", "Include Core Attributes": "false"},
                     {"myAttribs": "beach-name,beach-location,beach-endorsement"}, QUOTED, False,
                     id="attr-list-from-exp-no-core"),
        pytest.param({"Attributes Regular Expression": "${myRegEx}", "Include Core Attributes": "false"},
                     {"myRegEx": "beach-.*"}, QUOTED, False, id="attributes-regex"),
        pytest.param({"Attributes Regular Expression": "${myRegEx}", "Attribute List": "moreInfo1,moreInfo2",
                      "Include Core Attributes": "false"},
                     {"myRegEx": "beach-.*", "moreInfo1": "A+ Rating", "moreInfo2": "Avg Temp: 61f"},
                     [*QUOTED, "A+ Rating", "Avg Temp: 61f"], False, id="attributes-regex-and-list"),
    ],
)
def test_nifi_lists_and_regexes(properties: dict[str, str], extra: dict[str, str], expected: list[str],
                                core: bool) -> None:
    r = run(properties, {**BEACH, **ELIMINATED, **extra})
    out = r.flowfiles_for("success")[0]
    found = set(values(out.attributes["CSVData"]))
    cores = {out.attributes[name] for name in ("filename", "path", "uuid")}
    assert found == set(expected) | (cores if core else set())


def test_nifi_attribute_names_with_commas_from_an_expression() -> None:
    attributes = {"beach,name": "Malibu Beach", "beach,location": "California, US", "beach,endorsement": ENDORSEMENT,
                  **ELIMINATED, "myAttribs": '"beach,name","beach,location","beach,endorsement"'}
    out = run({"Attribute List": "${myAttribs}"}, attributes).flowfiles_for("success")[0]
    assert set(values(out.attributes["CSVData"])) == {*QUOTED, out.attributes["filename"], out.attributes["path"],
                                                       out.attributes["uuid"]}


def test_nifi_no_list_with_core_null_off_to_attribute_and_content() -> None:
    for destination, count in (("flowfile-attribute", 6), ("flowfile-content", 6)):
        # NiFi's mock FlowFile names itself apart from its uuid; flowyard's runner reuses the uuid
        out = run({"Destination": destination}, {**BEACH, "filename": "beach.mockFlowFile"}).flowfiles_for("success")[0]
        text = out.attributes["CSVData"] if destination == "flowfile-attribute" else out.content.decode()
        assert len(set(values(text))) == count
    r = run({"Destination": "flowfile-content", "Include Core Attributes": "false"}, BEACH)
    out = r.flowfiles_for("success")[0]
    assert set(values(out.content.decode())) == set(QUOTED)
