"""Encode/decode and JSON functions, called through their declarations."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pytest

from flowyard.runtime.expression import evaluate
from flowyard.runtime.expression._jsonpath import JsonPathError, compile_path
from flowyard.runtime.expression._registry import REGISTRY, EvaluationError, coerce

MODULES = ("flowyard.runtime.expression._fn_encode", "flowyard.runtime.expression._fn_json")
DATA = Path(__file__).parent / "data"


def call(name: str, subject: object, *args: object) -> object:
    """What the evaluator does: convert to the declared types, honour null_subject, call."""
    fn = REGISTRY[name]
    assert fn.subject is not None
    subject = coerce(subject, fn.subject)
    if subject is None and fn.null_subject == "null":
        return None
    return fn.impl(subject, *(coerce(arg, spec.type) for arg, spec in zip(args, fn.args)))


@pytest.mark.parametrize(("name", "subject", "expected"), [
    ("escapeJson", "He didn't say, \"Stop!\"", "He didn't say, \\\"Stop!\\\""),
    ("escapeJson", "a/b\\c\n\t\x01", "a\\/b\\\\c\\n\\t\\u0001"),
    ("escapeJson", "é😀\x7f", "\\u00E9\\uD83D\\uDE00\x7f"),
    ("escapeJson", None, None),
    ("unescapeJson", "He didn't say, \\\"Stop!\\\"", "He didn't say, \"Stop!\""),
    ("unescapeJson", "\\u00E9\\uD83D\\uDE00\\/\\101\\n\\x", "é😀/A\nx"),
    ("escapeXml", "\"bread\" & 'butter' <>", "&quot;bread&quot; &amp; &apos;butter&apos; &lt;&gt;"),
    ("escapeXml", "M & M", "M &amp; M"),
    ("escapeXml", "a\x00\x0bb\x7f\x85é", "ab&#127;\x85é"),
    ("unescapeXml", "&quot;bread&quot; &amp; &#65;&#x42;&apos;&nbsp;", "\"bread\" & AB'&nbsp;"),
    ("escapeCsv", "But finally, she left", "\"But finally, she left\""),
    ("escapeCsv", "making air \"QUOTES\".", "\"making air \"\"QUOTES\"\".\""),
    ("escapeCsv", "plain", "plain"),
    ("unescapeCsv", "\"But finally, she left\"", "But finally, she left"),
    ("unescapeCsv", "\"making air \"\"QUOTES\"\".\"", "making air \"QUOTES\"."),
    ("unescapeCsv", "\"plain\"", "\"plain\""),
    ("escapeHtml3", "\"bread\" & \"butter\"", "&quot;bread&quot; &amp; &quot;butter&quot;"),
    ("escapeHtml3", "¡'♣", "&iexcl;'♣"),
    ("escapeHtml4", "¡'♣", "&iexcl;'&clubs;"),
    ("unescapeHtml3", "&iexcl;&clubs;&amp", "¡&clubs;&amp"),
    ("unescapeHtml4", "&iexcl;&clubs;&#9827;", "¡♣♣"),
    ("urlEncode", "https://nifi.apache.org/some value with spaces",
     "https%3A%2F%2Fnifi.apache.org%2Fsome+value+with+spaces"),
    ("urlEncode", "a~*._-é", "a%7E*._-%C3%A9"),
    ("urlDecode", "https%3A%2F%2Fnifi.apache.org%2Fsome+value+with+spaces",
     "https://nifi.apache.org/some value with spaces"),
    ("urlDecode", "a%20b%C3%A9", "a bé"),
    ("base64Encode", "admin:admin", "YWRtaW46YWRtaW4="),
    ("base64Encode", "", ""),
    ("base64Decode", "YWRtaW46YWRtaW4=", "admin:admin"),
    ("base64Decode", "YWRtaW46YWRtaW4", "admin:admin"),
    ("base64Decode", None, None),
])
def test_escaping_and_encoding(name: str, subject: str | None, expected: str | None) -> None:
    assert call(name, subject) == expected


@pytest.mark.parametrize(("name", "subject"), [
    ("urlDecode", "100%"),
    ("urlDecode", "%zz"),
    ("base64Decode", "YWRt aW4="),
    ("base64Decode", "Y"),
    ("base64Decode", "YQ=x"),
    ("base64Decode", "YWE=="),
    ("unescapeJson", "\\u12"),
])
def test_decoding_errors(name: str, subject: str) -> None:
    with pytest.raises(EvaluationError):
        call(name, subject)


def test_hash_matches_the_guide() -> None:
    assert call("hash", "string value", "SHA-256") == \
        "9b6a1a9167a5caf3f5948413faa89e0ec0de89e12bef55327442e60dcc0e8c9b"


@pytest.mark.parametrize(("algorithm", "hashlib_name"), [
    ("sha-256", "sha256"), ("MD5", "md5"), ("SHA", "sha1"), ("SHA-1", "sha1"), ("SHA1", "sha1"),
    ("SHA-224", "sha224"), ("SHA-384", "sha384"), ("SHA-512", "sha512"), ("SHA3-256", "sha3_256"),
])
def test_hash_algorithm_names(algorithm: str, hashlib_name: str) -> None:
    assert call("hash", "string value", algorithm) == hashlib.new(hashlib_name, b"string value").hexdigest()


def test_hash_of_a_number_uses_its_text() -> None:
    assert call("hash", 123, "MD5") == call("hash", "123", "MD5")


@pytest.mark.parametrize("algorithm", ["NOPE", "", None])
def test_hash_unknown_algorithm(algorithm: str | None) -> None:
    with pytest.raises(EvaluationError):
        call("hash", "x", algorithm)


def test_name_based_uuids() -> None:
    assert call("UUID3", "string value", "b9e81de3-7047-4b5e-a822-8fff5b49f808") == \
        "bf0ea246-a177-3300-bd7e-d4c9e973dc6f"
    assert call("UUID5", "string value", "245b55a8-397d-4480-a41e-16603c8cf9ad") == \
        "4d111477-5100-5f2d-ae79-b38bbe15aa78"
    assert call("UUID3", None, "b9e81de3-7047-4b5e-a822-8fff5b49f808") is None
    assert call("UUID5", "x", None) == str(uuid.uuid5(uuid.UUID(int=0), "x"))
    assert call("UUID3", "x", "1-2-3-4-5") == str(uuid.uuid3(uuid.UUID("00000001-0002-0003-0004-000000000005"), "x"))
    for bad in ("", "not-a-uuid", "b9e81de37047-4b5e-a822-8fff5b49f808"):
        with pytest.raises(EvaluationError, match="UUID"):
            call("UUID3", "x", bad)


JSON = json.dumps({
    "firstName": "John", "age": 25, "height": 6.1, "big": 1e20, "alive": True, "spouse": None,
    "address": {"city": "New York", "zip": "10021"},
    "phoneNumbers": [{"type": "home", "number": "212"}, {"type": "office", "number": "646"}],
    "tags": ["a", "b", "c"], "empty": [],
})


@pytest.mark.parametrize(("path", "expected"), [
    ("$.firstName", "John"),
    ("firstName", "John"),
    ("$.age", "25"),
    ("$.height", "6.1"),
    ("$.big", "1.0E20"),
    ("$.alive", "true"),
    ("$.spouse", ""),
    ("$.missing", ""),
    ("$.address.missing.deeper", ""),
    ("$.address", '{"city":"New York","zip":"10021"}'),
    ("$['address']['city']", "New York"),
    ("$.address['city','zip']", '{"city":"New York","zip":"10021"}'),
    ("$.phoneNumbers[0].number", "212"),
    ("$.phoneNumbers[-1].type", "office"),
    ("$.phoneNumbers[5]", ""),
    ("$.phoneNumbers[*].number", '["212","646"]'),
    ("$.phoneNumbers[?(@.type=='home')].number", "212"),
    ('$.phoneNumbers[?(@.type == "office" || @.number == "212")].type', '["home","office"]'),
    ("$.phoneNumbers[?(@.type != 'home' && !(@.number == '1'))].number", "646"),
    ("$.phoneNumbers[?(@.type =~ /HO.*/i)].number", "212"),
    ("$.phoneNumbers[?(@.type in ['office'])].number", "646"),
    ("$.phoneNumbers[?(@.nothing)]", "[]"),
    ("$..number", '["212","646"]'),
    ("$..city", "New York"),
    ("$.tags[1:]", '["b","c"]'),
    ("$.tags[:-1]", '["a","b"]'),
    ("$.tags[0,2]", '["a","c"]'),
    ("$.tags.length()", "3"),
    ("$.empty", "[]"),
    ("$.address.*", '["New York","10021"]'),
])
def test_json_path(path: str, expected: str) -> None:
    assert call("jsonPath", JSON, path) == expected


@pytest.mark.parametrize(("subject", "path"), [
    (JSON, "$.bad-json-path.."),
    (JSON, "$."),
    (JSON, "$.tags[x]"),
    (JSON, "$.x.unknown()"),
    (JSON, "$[?(@.a == )]"),
    ("", "$.a"),
    (None, "$.a"),
    ("{not json", "$.a"),
    ("[NaN]", "$[0]"),
])
def test_json_path_errors(subject: str | None, path: str) -> None:
    with pytest.raises(EvaluationError):
        call("jsonPath", subject, path)


def test_compile_path_rejects_bad_text() -> None:
    with pytest.raises(JsonPathError):
        compile_path("   ")


@pytest.mark.parametrize(("name", "args", "expected"), [
    ("jsonPathDelete", ("$.firstName",), {"age": 25}),
    ("jsonPathDelete", ("$.missing",), {}),
    ("jsonPathDelete", ("$.phoneNumbers[?(@.type=='home')]",),
     {"phoneNumbers": [{"type": "office", "number": "646"}]}),
    ("jsonPathDelete", ("$.tags[*]",), {"tags": []}),
    ("jsonPathSet", ("$.firstName", "James"), {"firstName": "James"}),
    ("jsonPathSet", ("$.age", False), {"age": False}),
    ("jsonPathSet", ("$.age", 5.9), {"age": 5.9}),
    ("jsonPathSet", ("$.missing", "x"), {}),
    ("jsonPathSet", ("$.phoneNumbers[*].number", "0"),
     {"phoneNumbers": [{"type": "home", "number": "0"}, {"type": "office", "number": "0"}]}),
    ("jsonPathAdd", ("$.empty", "Jimmy"), {"empty": ["Jimmy"]}),
    ("jsonPathAdd", ("$.missing", "Jimmy"), {}),
    ("jsonPathAdd", ("$.spouse", "Jimmy"), {}),
    ("jsonPathPut", ("$", "middlename", "Turon"), {"middlename": "Turon"}),
    ("jsonPathPut", ("$.phoneNumbers[1]", "backup", 7),
     {"phoneNumbers": [{"type": "home", "number": "212"}, {"type": "office", "number": "646", "backup": 7}]}),
    ("jsonPathPut", ("$.address", "city", "Boston"), {"address": {"city": "Boston", "zip": "10021"}}),
])
def test_json_updates(name: str, args: tuple[object, ...], expected: dict[str, object]) -> None:
    document = json.loads(JSON)
    result = call(name, JSON, *args)
    assert isinstance(result, str)
    changed = json.loads(result)
    if name == "jsonPathDelete" and args[0] == "$.firstName":
        document.pop("firstName")
    document.update(expected)
    assert changed == document
    assert " " not in result.replace("New York", "")  # compact, as Jackson writes it


@pytest.mark.parametrize(("name", "args"), [
    ("jsonPathAdd", ("$.firstName", "Jimmy")),
    ("jsonPathPut", ("$.tags", "k", "v")),
    ("jsonPathSet", ("$", "x")),
    ("jsonPathDelete", ("$",)),
])
def test_impossible_updates_give_empty_text(name: str, args: tuple[object, ...]) -> None:
    assert call(name, JSON, *args) == ""


def test_updates_need_a_json_subject() -> None:
    with pytest.raises(EvaluationError):
        call("jsonPathSet", "", "$.a", "x")


def test_json_output_formats_like_jackson() -> None:
    assert call("jsonPathSet", '{"a":1}', "$.a", "x\ny\x01\"é") == '{"a":"x\\ny\\u0001\\"é"}'
    assert call("jsonPathSet", '{"a":1}', "$.a", 100000.0) == '{"a":100000.0}'


@pytest.mark.parametrize(("subject", "expected"), [
    ('{"name":"John", "age":30, "car":null}', True),
    ('  ["Ford", "BMW"]  ', True),
    ('"name":"John"}', False),
    ('{"name":"John"', False),
    ('["Ford"', False),
    ('""', False), ('"text"', False), ("1234", False), ("18.36", False), ("true", False), ("null", False),
    ("", False),
    (None, False),
])
def test_is_json(subject: str | None, expected: bool) -> None:
    assert call("isJson", subject) is expected


def guide_examples() -> list[object]:
    """The guide's examples of this module's functions, as pytest params."""
    mine = {n for n, f in REGISTRY.items() if f.impl.__module__ in MODULES}
    out: list[object] = []
    for example in json.loads((DATA / "el_guide_examples.json").read_text()):
        expected = example.get("expected_actual", example["expected"])
        if example["function"] not in mine or expected is None:
            continue
        out.append(pytest.param(example.get("corrected_expression", example["expression"]), example["attributes"],
                                expected, id=example["id"]))
    return out


@pytest.mark.parametrize(("expression", "attributes", "expected"), guide_examples())
def test_guide_examples(expression: str, attributes: dict[str, str], expected: str) -> None:
    assert evaluate(expression, attributes) == expected


def test_guide_example_with_an_invalid_path_fails() -> None:
    with pytest.raises(ValueError, match="JsonPath"):
        evaluate("${j:jsonPath('$.bad-json-path..')}", {"j": "{}"})
