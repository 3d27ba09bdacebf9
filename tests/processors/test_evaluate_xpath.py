"""EvaluateXPath through ProcessorRunner; cases from NiFi's TestEvaluateXPath."""

from __future__ import annotations

import pytest

from flowyard.processors.evaluate_xpath import EvaluateXPath, compile_xpath
from flowyard.runtime.sdk import InvalidComponentError
from flowyard.runtime.sdk.testing import ProcessorRunner

SNIPPET = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment before the root -->
<bundle>
    <node>
        <subNode>
            <value>Hello</value>
        </subNode>
        <subNode>
            <value>World!</value>
        </subNode>
    </node>
</bundle>"""

EMBEDDED_DOCTYPE = SNIPPET.replace(
    b"<!-- a comment",
    b"<!DOCTYPE bundle\n[\n<!ELEMENT bundle (node)>\n<!ELEMENT node (subNode*)>\n<!ELEMENT subNode (value)>\n"
    b"<!ELEMENT value (#PCDATA)>\n]>\n<!-- a comment",
)
EXTERNAL_DOCTYPE = SNIPPET.replace(b"<!-- a comment", b'<!DOCTYPE bundle SYSTEM "http://127.0.0.1:9/none.dtd">\n<!--')

NAMESPACED = b'<r:root xmlns:r="urn:r" xmlns="urn:d"><item id="1">a</item><r:item id="2">b</r:item></r:root>'


def runner(properties: dict[str, str]) -> ProcessorRunner:
    r = ProcessorRunner(EvaluateXPath)
    for name, value in properties.items():
        r.set_property(name, value)
    return r


def test_as_attribute() -> None:
    r = runner({"Destination": "flowfile-attribute", "xpath.result1": "/",
                "xpath.result2": "/*:bundle/node/subNode/value/text()"})
    r.enqueue(SNIPPET)
    r.run()
    r.assert_all_transferred("matched", 1)
    out = r.flowfiles_for("matched")[0]
    out.assert_attribute_equals("xpath.result2", "Hello")
    assert "Hello" in out.attributes["xpath.result1"] and "World!" in out.attributes["xpath.result1"]
    out.assert_content_equals(SNIPPET)


def test_check_if_element_exists() -> None:
    r = runner({"Destination": "flowfile-attribute", "exists.1": "boolean(/*:bundle/node)",
                "exists.2": "boolean(/*:bundle/node2)", "count": "count(//subNode)", "half": "1 div 2"})
    r.enqueue(SNIPPET)
    r.run()
    out = r.flowfiles_for("matched")[0]
    assert (out.attributes["exists.1"], out.attributes["exists.2"]) == ("true", "false")
    assert (out.attributes["count"], out.attributes["half"]) == ("2", "0.5")


def test_string_attribute_matching_nothing_is_empty_and_matched() -> None:
    r = runner({"Destination": "flowfile-attribute", "missing": "/bundle/nothing"})
    r.enqueue(SNIPPET)
    r.run()
    r.assert_all_transferred("matched", 1)
    r.flowfiles_for("matched")[0].assert_attribute_equals("missing", "")


def test_unmatched_keeps_the_content() -> None:
    r = runner({"Destination": "flowfile-content", "x": "/*:bundle/node2"})
    r.enqueue(SNIPPET)
    r.run()
    r.assert_all_transferred("unmatched", 1)
    r.flowfiles_for("unmatched")[0].assert_content_equals(SNIPPET)


def test_nodeset_to_attribute_with_no_node_is_unmatched() -> None:
    r = runner({"Destination": "flowfile-attribute", "Return Type": "nodeset", "a": "/bundle", "b": "/none"})
    r.enqueue(SNIPPET)
    r.run()
    r.assert_all_transferred("unmatched", 1)
    assert "a" not in r.flowfiles_for("unmatched")[0].attributes


def test_multiple_xpaths_for_content_are_invalid() -> None:
    r = runner({"Destination": "flowfile-content", "a": "/*:bundle/node/subNode[1]", "b": "/*:bundle/node/subNode[2]"})
    r.enqueue(SNIPPET)
    with pytest.raises(InvalidComponentError, match="Exactly one XPath"):
        r.run()


def test_no_xpath_for_content_is_invalid() -> None:
    runner({}).assert_not_valid()
    runner({"Destination": "flowfile-attribute"}).assert_valid()


def test_write_node_to_content() -> None:
    r = runner({"x": "/*:bundle/node/subNode[1]"})
    r.enqueue(SNIPPET)
    r.run()
    r.assert_all_transferred("matched", 1)
    r.flowfiles_for("matched")[0].assert_content_equals(
        '<?xml version="1.0" encoding="UTF-8"?><subNode>\n  <value>Hello</value>\n</subNode>'
    )


def test_failure_if_content_matches_multiple_nodes() -> None:
    r = runner({"x": "/*:bundle/node/subNode"})
    r.enqueue(SNIPPET)
    r.run()
    r.assert_all_transferred("failure", 1)
    r.flowfiles_for("failure")[0].assert_content_equals(SNIPPET)
    assert any("selected 2 nodes" in message for _, message in r.bulletins)


def test_nodeset_of_a_number_is_a_failure() -> None:
    r = runner({"Return Type": "nodeset", "x": "count(//value)"})
    r.enqueue(SNIPPET)
    r.run()
    r.assert_all_transferred("failure", 1)


@pytest.mark.parametrize(
    ("xpath", "expected"),
    [
        ("/*:bundle/node/subNode[1]/value/text()", "Hello"),
        ("//subNode[2]/value", "World!"),
        ("/bundle/missing", ""),
        ("concat(//subNode[1]/value, ' ', //subNode[2]/value)", "Hello World!"),
    ],
)
def test_write_string_to_content(xpath: str, expected: str) -> None:
    r = runner({"Return Type": "string", "x": xpath})
    r.enqueue(SNIPPET)
    r.run()
    r.assert_all_transferred("matched", 1)
    r.flowfiles_for("matched")[0].assert_content_equals(expected)


def test_write_nodeset_to_attribute() -> None:
    r = runner({"Destination": "flowfile-attribute", "Return Type": "nodeset", "p": "/*:bundle/node/subNode[1]",
                "t": "//subNode[2]/value/text()"})
    r.enqueue(SNIPPET)
    r.run()
    out = r.flowfiles_for("matched")[0]
    assert "<subNode>" in out.attributes["p"] and "Hello" in out.attributes["p"]
    out.assert_attribute_equals("t", "World!")


@pytest.mark.parametrize(
    ("allow_dtd", "document", "relationship"),
    [
        ("true", EMBEDDED_DOCTYPE, "matched"),
        ("false", EMBEDDED_DOCTYPE, "failure"),
        ("true", EXTERNAL_DOCTYPE, "failure"),
        ("false", EXTERNAL_DOCTYPE, "failure"),
    ],
)
def test_doctype_handling(allow_dtd: str, document: bytes, relationship: str) -> None:
    r = runner({"Return Type": "string", "Allow DTD": allow_dtd, "x": "/*:bundle/node/subNode[1]/value/text()"})
    r.enqueue(document)
    r.run()
    r.assert_all_transferred(relationship, 1)
    if relationship == "matched":
        r.flowfiles_for("matched")[0].assert_content_equals("Hello")


def test_legacy_validate_dtd_name_is_accepted() -> None:
    r = runner({"Return Type": "string", "Validate DTD": "true", "x": "//subNode[1]/value"})
    r.enqueue(EMBEDDED_DOCTYPE)
    r.run()
    r.assert_all_transferred("matched", 1)


@pytest.mark.parametrize(
    "content",
    [b"", b"not xml", b"<a><b></a>", b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'],
    ids=["empty", "text", "malformed", "xxe"],
)
def test_bad_input_goes_to_failure_unchanged(content: bytes) -> None:
    r = runner({"Destination": "flowfile-attribute", "Allow DTD": "true", "x": "/a"})
    r.enqueue(content, {"filename": "bad.xml"})
    r.run()
    r.assert_all_transferred("failure", 1)
    out = r.flowfiles_for("failure")[0]
    out.assert_content_equals(content)
    assert "x" not in out.attributes
    assert r.bulletins and r.bulletins[0][0] == "ERROR"


def test_namespaces_wildcard_and_default_namespace() -> None:
    r = runner({"Destination": "flowfile-attribute", "first": "/*:root/*:item[1]/@id",
                "second": "//*[local-name()='item'][2]", "lit": "'*:root'"})
    r.enqueue(NAMESPACED)
    r.run()
    out = r.flowfiles_for("matched")[0]
    assert (out.attributes["first"], out.attributes["second"], out.attributes["lit"]) == ("1", "b", "*:root")


def test_namespaced_node_keeps_its_declarations() -> None:
    r = runner({"x": "/*:root/*:item[2]"})
    r.enqueue(NAMESPACED)
    r.run()
    content = r.flowfiles_for("matched")[0].content.decode()
    assert 'xmlns:r="urn:r"' in content and "<r:item" in content


@pytest.mark.parametrize(
    "xpath", ["//a[", "", "//ns:foo", "unknown-function()", "$variable", "lower-case('A', 'B')", "///"],
)
def test_invalid_xpaths_are_validation_errors(xpath: str) -> None:
    r = runner({"Destination": "flowfile-attribute", "bad": xpath})
    results = r.validation_results()
    assert [result.subject for result in results] == ["bad"]


def test_batch_routes_each_flowfile_on_its_own() -> None:
    r = runner({"x": "/a/b"})
    r.enqueue_many([(b"<a><b>1</b></a>", {}), (b"<a/>", {}), (b"<a>", {}), (b"<a><b/><b/></a>", {})])
    r.run()
    r.assert_transferred("matched", 1)
    r.assert_transferred("unmatched", 1)
    r.assert_transferred("failure", 2)


def test_compiled_xpaths_are_cached() -> None:
    assert compile_xpath("/a") is compile_xpath("/a")


@pytest.mark.parametrize(
    ("xpath", "expected"),
    [
        ("lower-case(//subNode[1]/value)", "hello"),
        ("upper-case('abc')", "ABC"),
        ("ends-with(//subNode[2]/value, '!')", "true"),
        ("matches(//subNode[1]/value, '^h', 'i')", "true"),
        ("matches(//subNode[1]/value, '^h')", "false"),
        ("replace(//subNode[2]/value, '(W)(o)', '$2$1')", "oWrld!"),
        ("replace('a$b', '\\$', '\\$\\\\')", "a$\\b"),
        ("string-join(//value, ', ')", "Hello, World!"),
        ("abs(-2.5)", "2.5"),
        ("abs(count(//value) - 5)", "3"),
    ],
)
def test_xpath2_string_functions(xpath: str, expected: str) -> None:
    r = runner({"Destination": "flowfile-attribute", "x": xpath})
    r.enqueue(SNIPPET)
    r.run()
    r.assert_all_transferred("matched", 1)
    r.flowfiles_for("matched")[0].assert_attribute_equals("x", expected)


@pytest.mark.parametrize("xpath", ["matches('a', '(')", "matches('a', 'a', 'q')", "replace('a', 'a', '$')",
                                   "tokenize('a', ',')"])
def test_invalid_xpath2_function_calls(xpath: str) -> None:
    r = runner({"Destination": "flowfile-attribute", "bad": xpath})
    assert [result.subject for result in r.validation_results()] == ["bad"]


def test_a_regex_error_on_the_data_goes_to_failure() -> None:
    r = runner({"Destination": "flowfile-attribute", "x": "matches('a', /bundle/@pattern)"})
    r.enqueue(b'<bundle pattern="("/>')
    r.run()
    r.assert_all_transferred("failure", 1)
