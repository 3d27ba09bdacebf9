"""FlattenJson: NiFi's TestFlattenJson cases and json-flattener's own examples."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowyard.processors._json_flatten import (
    DOT_NOTATION,
    KEEP_ARRAYS,
    KEEP_PRIMITIVE_ARRAYS,
    NORMAL,
    FlattenError,
    flatten,
    pretty_print,
    unflatten,
)
from flowyard.processors.flatten_json import FlattenJson
from flowyard.runtime.sdk.testing import ProcessorRunner

NESTED = {"first": {"second": {"third": ["one", "two", "three", "four", "five"]}}}
MIXED = {"first": {"second": [{"x": 1, "y": 2, "z": [3, 4, 5]}, [6, 7, 8], [[9, 10], 11, 12]],
                   "third": {"a": "b", "c": "d", "e": "f"}}}


def run(content: str | bytes, attributes: dict[str, str] | None = None, **properties: str) -> ProcessorRunner:
    r = ProcessorRunner(FlattenJson)
    for name, value in properties.items():
        r.set_property(name.replace("_", " "), value)
    r.enqueue(content, attributes or {})
    r.run()
    return r


def result(r: ProcessorRunner) -> Any:
    r.assert_all_transferred("success", 1)
    return json.loads(r.flowfiles_for("success")[0].content)


def test_flatten_default_keeps_arrays() -> None:
    parsed = result(run(json.dumps({"test": {"msg": "Hello, world"}, **NESTED})))
    assert parsed == {"test.msg": "Hello, world", "first.second.third": ["one", "two", "three", "four", "five"]}


def test_flatten_record_set() -> None:
    parsed = result(run(json.dumps([{"first": {"second": "Hello"}}, {"first": {"second": "World"}}])))
    assert parsed == [{"first.second": "Hello"}, {"first.second": "World"}]


def test_different_separator_and_expression_language() -> None:
    assert result(run(json.dumps(NESTED), Separator="_")) == {"first_second_third": NESTED["first"]["second"]["third"]}
    parsed = result(run(json.dumps(NESTED), {"separator.char": "_"}, Separator="${separator.char}"))
    assert list(parsed) == ["first_second_third"]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (NORMAL, {"first.second.third[0]": "one", "first.second.third[4]": "five"}),
        (DOT_NOTATION, {"first.second.third.0": "one", "first.second.third.4": "five"}),
    ],
)
def test_flatten_modes_on_arrays(mode: str, expected: dict[str, str]) -> None:
    parsed = result(run(json.dumps(NESTED), Flatten_Mode=mode))
    assert len(parsed) == 5
    for key, value in expected.items():
        assert parsed[key] == value


def test_keep_arrays_mode() -> None:
    parsed = result(run(json.dumps(MIXED), Flatten_Mode=KEEP_ARRAYS))
    assert len(parsed) == 4
    assert parsed["first.second"][1] == [6, 7, 8]
    assert parsed["first.second"][0] == {"x": 1, "y": 2, "z": [3, 4, 5]}
    assert parsed["first.third.a"] == "b"


def test_keep_primitive_arrays_mode() -> None:
    parsed = result(run(json.dumps(MIXED), Flatten_Mode=KEEP_PRIMITIVE_ARRAYS))
    assert len(parsed) == 10
    assert parsed["first.second[0].x"] == 1
    assert parsed["first.second[0].z"] == [3, 4, 5]
    assert parsed["first.second[2][0]"] == [9, 10]
    assert parsed["first.second[2][1]"] == 11
    assert parsed["first.third.c"] == "d"


def test_slashes_and_unicode_are_escaped_as_nifi_does() -> None:
    r = run('{"first": {"u": ["http://localhost/value1"]}, "name": "Jos\\u00e9", "p": "a/b"}', Flatten_Mode=NORMAL)
    out = r.flowfiles_for("success")[0]
    out.assert_content_equals('{"first.u[0]":"http:\\/\\/localhost\\/value1","name":"Jos\\u00E9","p":"a\\/b"}')
    assert json.loads(out.content)["name"] == "Jos\u00e9"


def test_unflatten() -> None:
    parsed = result(run(json.dumps({"test.msg": "Hello, world", "first.second.third": ["one", "two"]}),
                        Return_Type="unflatten"))
    assert parsed == {"test": {"msg": "Hello, world"}, "first": {"second": {"third": ["one", "two"]}}}


def test_unflatten_with_separator() -> None:
    parsed = result(run('{"first_second_third": ["one", "two"]}', Separator="_", Return_Type="unflatten"))
    assert parsed == {"first": {"second": {"third": ["one", "two"]}}}


def test_unflatten_keep_arrays() -> None:
    flat = {"a.b": 1, "a.c": [False, {"i.j": [False, True, "xy"]}]}
    parsed = result(run(json.dumps(flat), Flatten_Mode=KEEP_ARRAYS, Return_Type="unflatten"))
    assert parsed == {"a": {"b": 1, "c": [False, {"i": {"j": [False, True, "xy"]}}]}}


def test_unflatten_keep_primitive_arrays_round_trip() -> None:
    flat = flatten(json.dumps(MIXED), mode=KEEP_PRIMITIVE_ARRAYS)
    parsed = result(run(flat, Flatten_Mode=KEEP_PRIMITIVE_ARRAYS, Return_Type="unflatten"))
    assert parsed == MIXED


def test_unflatten_dot_notation() -> None:
    parsed = result(run('{"first.second.third.0": ["one", "two"]}', Flatten_Mode=DOT_NOTATION,
                        Return_Type="unflatten"))
    assert parsed["first"]["second"]["third"][0] == ["one", "two"]


def test_ignore_reserved_characters() -> None:
    doc = json.dumps({"first": {"second.third": "Hello", "fourth": "World"}})
    assert result(run(doc, Ignore_Reserved_Characters="true")) == {"first.second.third": "Hello",
                                                                     "first.fourth": "World"}
    assert result(run(doc)) == {'first["second.third"]': "Hello", "first.fourth": "World"}


def test_record_set_with_ignore_reserved_characters() -> None:
    doc = json.dumps([{"first": {"second_third": "Hello"}}, {"first": {"second_third": "World"}}])
    parsed = result(run(doc, Separator="_", Ignore_Reserved_Characters="true"))
    assert parsed == [{"first_second_third": "Hello"}, {"first_second_third": "World"}]


def test_pretty_print() -> None:
    r = run(json.dumps({"a": {"b": 1}, "c": [1, 2]}), Pretty_Print_JSON="true")
    r.flowfiles_for("success")[0].assert_content_equals('{\n  "a.b" : 1,\n  "c" : [ 1, 2 ]\n}')


def test_character_set() -> None:
    r = run('{"a": {"b": "caf\u00e9"}}'.encode("utf-16"), Character_Set="UTF-16", Flatten_Mode=NORMAL)
    out = r.flowfiles_for("success")[0]
    assert out.content.decode("utf-16") == '{"a.b":"caf\\u00E9"}'


@pytest.mark.parametrize("content", [b"not json", b"", b"{\"a\": ", b"[1, NaN]"])
def test_invalid_json_goes_to_failure(content: bytes) -> None:
    r = run(content)
    r.assert_all_transferred("failure", 1)
    r.flowfiles_for("failure")[0].assert_content_equals(content)
    assert r.bulletins


@pytest.mark.parametrize(
    ("content", "properties"),
    [
        ('{"a": {"b.c": 1}}', {"Flatten_Mode": DOT_NOTATION}),
        ('{"a": 1, "a.b": 2}', {"Return_Type": "unflatten"}),
        ('{"a": 1}', {"Separator": "${sep}"}),
    ],
)
def test_refused_documents_go_to_failure(content: str, properties: dict[str, str]) -> None:
    r = run(content, {"sep": ""}, **properties)
    r.assert_all_transferred("failure", 1)


@pytest.mark.parametrize("separator", ["", "ab", '"', "\\"])
def test_invalid_separator(separator: str) -> None:
    r = ProcessorRunner(FlattenJson)
    r.set_property("Separator", separator)
    r.assert_not_valid()


@pytest.mark.parametrize("legacy", ["flatten-json-separator", "flatten-mode", "flatten-json-return-type",
                                    "flatten-json-character-set", "flatten-json-pretty-print-json"])
def test_legacy_names_load(legacy: str) -> None:
    r = ProcessorRunner(FlattenJson)
    value = {"flatten-json-separator": "_", "flatten-mode": "normal", "flatten-json-return-type": "flatten",
             "flatten-json-character-set": "UTF-8", "flatten-json-pretty-print-json": "true"}[legacy]
    r.set_property(legacy, value)
    r.assert_valid()


# -- json-flattener's own examples -----------------------------------------------------------

@pytest.mark.parametrize(
    ("source", "mode", "expected"),
    [
        ('{ "a" : { "b" : 1, "c": null, "d": [false, true] }, "e": "f", "g":2.3 }', NORMAL,
         '{"a.b":1,"a.c":null,"a.d[0]":false,"a.d[1]":true,"e":"f","g":2.3}'),
        ('[{"a":1},2,{"c":[3,4]}]', NORMAL, '{"[0].a":1,"[1]":2,"[2].c[0]":3,"[2].c[1]":4}'),
        ('[{"a.a.[":1},2,{"c":[3,4]}]', NORMAL, '{"[0][\\"a.a.[\\"]":1,"[1]":2,"[2].c[0]":3,"[2].c[1]":4}'),
        ('{"39473331":{"mega":6.0,"goals":1.0}}', NORMAL, '{"39473331.mega":6.0,"39473331.goals":1.0}'),
        ("{}", NORMAL, "{}"),
        ("[]", NORMAL, "[]"),
        ("[]", KEEP_ARRAYS, "[]"),
        ('{"no":"1","name":"riya","marks":[]}', NORMAL, '{"no":"1","name":"riya","marks":[]}'),
        ('{"no":"1","name":"riya","marks":[{}]}', NORMAL, '{"no":"1","name":"riya","marks[0]":{}}'),
        ('[{"abc":123},456,[null]]', NORMAL, '{"[0].abc":123,"[1]":456,"[2][0]":null}'),
        ('{"ab":[1,2,3],"cd":{"ef":[4,5,{"g":{"hi":[6,"j"],"k":[[7]],"l":[[]]}}]}}', KEEP_ARRAYS,
         '{"ab":[1,2,3],"cd.ef":[4,5,{"g.hi":[6,"j"],"g.k":[[7]],"g.l":[[]]}]}'),
        ("null", NORMAL, "null"),
        ("123", NORMAL, "123"),
        ('"abc"', NORMAL, '"abc"'),
        ("true", NORMAL, "true"),
        ('[[{"abc":{"def":123}}]]', KEEP_ARRAYS, '[[{"abc.def":123}]]'),
        ('{"matrix":{"agent.smith":"1999"}}', NORMAL, '{"matrix[\\"agent.smith\\"]":"1999"}'),
        ('{"a":{"b":1.50,"c":12345678901234567890.5}}', NORMAL, '{"a.b":1.50,"a.c":12345678901234567890.5}'),
    ],
)
def test_library_flatten_examples(source: str, mode: str, expected: str) -> None:
    assert flatten(source, mode=mode) == expected


def test_library_ignore_reserved_characters_examples() -> None:
    doc = '{"matrix":{"agent.smith":"1999"}}'
    assert flatten(doc, ignore_reserved=True) == '{"matrix.agent.smith":"1999"}'
    with pytest.raises(FlattenError):
        flatten(doc, mode=DOT_NOTATION)
    assert flatten(doc, mode=DOT_NOTATION, ignore_reserved=True) == '{"matrix.agent.smith":"1999"}'
    array = '[{"matrix":"reloaded","agent":{"smith_no":"1"}},{"matrix":"reloaded","agent":{"smith_no":"2"}}]'
    assert flatten(array, mode=DOT_NOTATION, separator="_", ignore_reserved=True) == (
        '{"_0_matrix":"reloaded","_0_agent_smith_no":"1","_1_matrix":"reloaded","_1_agent_smith_no":"2"}')


@pytest.mark.parametrize(
    "source",
    ['{"a":{"b":1,"c":null,"d":[false,true]},"e":"f","g":2.3}', "[]", "{}", '[{"abc":123},456,[null]]',
     '{"no":"1","name":"riya","marks":[{}]}', '[{"a.a.[":1},2,{"c":[3,4]}]'],
)
def test_library_round_trips(source: str) -> None:
    assert unflatten(flatten(source, mode=NORMAL), mode=NORMAL) == source


def test_library_pretty_print() -> None:
    assert flatten('[{"a.a.[":1},2,{"c":[3,4]}]', mode=NORMAL, pretty=True) == (
        '{\n  "[0][\\"a.a.[\\"]" : 1,\n  "[1]" : 2,\n  "[2].c[0]" : 3,\n  "[2].c[1]" : 4\n}')
    assert pretty_print('[{"x":1},2,{"c":[3,4]}]') == '[ {\n  "x" : 1\n}, 2, {\n  "c" : [ 3, 4 ]\n} ]'


@pytest.mark.parametrize("separator", ['"', " ", "[", "]", "ab"])
def test_library_refuses_separators(separator: str) -> None:
    with pytest.raises(FlattenError):
        flatten("{}", separator=separator)


# -- NiFi's TestFlattenJson, one row per case: (properties, attributes, input, expected parsed output) --------

_THIRD = ["one", "two", "three", "four", "five"]
_RECORDS = [{"first": {"second_third": "Hello"}}, {"first": {"second_third": "World"}}]
_MIXED_PRIMITIVE = {"first.second[0].x": 1, "first.second[0].y": 2, "first.second[0].z": [3, 4, 5],
                    "first.second[1]": [6, 7, 8], "first.second[2][0]": [9, 10], "first.second[2][1]": 11,
                    "first.second[2][2]": 12, "first.third.a": "b", "first.third.c": "d", "first.third.e": "f"}
NIFI_CASES = [
    pytest.param({}, {}, {"test": {"msg": "Hello, world"}, **NESTED},
                 {"test.msg": "Hello, world", "first.second.third": _THIRD}, id="flatten"),
    pytest.param({}, {}, [{"first": {"second": "Hello"}}, {"first": {"second": "World"}}],
                 [{"first.second": "Hello"}, {"first.second": "World"}], id="flatten-record-set"),
    pytest.param({"Separator": "_"}, {}, NESTED, {"first_second_third": _THIRD}, id="different-separator"),
    pytest.param({"Separator": "${separator.char}"}, {"separator.char": "_"}, NESTED, {"first_second_third": _THIRD},
                 id="expression-language"),
    pytest.param({"Flatten Mode": "normal"}, {}, NESTED, {f"first.second.third[{i}]": v for i, v in enumerate(_THIRD)},
                 id="flatten-mode-normal"),
    pytest.param({"Flatten Mode": "keep arrays"}, {}, MIXED,
                 {"first.second": [{"x": 1, "y": 2, "z": [3, 4, 5]}, [6, 7, 8], [[9, 10], 11, 12]],
                  "first.third.a": "b", "first.third.c": "d", "first.third.e": "f"}, id="flatten-mode-keep-arrays"),
    pytest.param({"Flatten Mode": "keep primitive arrays"}, {}, MIXED, _MIXED_PRIMITIVE,
                 id="flatten-mode-keep-primitive-arrays"),
    pytest.param({"Flatten Mode": "dot notation"}, {}, NESTED,
                 {f"first.second.third.{i}": v for i, v in enumerate(_THIRD)}, id="flatten-mode-dot-notation"),
    pytest.param({"Flatten Mode": "normal"}, {},
                 {"first": {"second": {"third": ["http://localhost/value1", "http://localhost/value2"]}}},
                 {"first.second.third[0]": "http://localhost/value1", "first.second.third[1]": "http://localhost/value2"},
                 id="flatten-slash"),
    pytest.param({"Flatten Mode": "normal"}, {}, {"name": "Jos\u00e9"}, {"name": "Jos\u00e9"}, id="escape-for-json"),
    pytest.param({"Return Type": "unflatten"}, {}, {"test.msg": "Hello, world", "first.second.third": _THIRD},
                 {"test": {"msg": "Hello, world"}, **NESTED}, id="unflatten"),
    pytest.param({"Return Type": "unflatten", "Separator": "_"}, {}, {"first_second_third": _THIRD}, NESTED,
                 id="unflatten-with-different-separator"),
    pytest.param({"Return Type": "unflatten", "Flatten Mode": "keep arrays"}, {},
                 {"a.b": 1, "a.c": [False, {"i.j": [False, True, "xy"]}]},
                 {"a": {"b": 1, "c": [False, {"i": {"j": [False, True, "xy"]}}]}}, id="unflatten-keep-arrays"),
    pytest.param({"Return Type": "unflatten", "Flatten Mode": "keep primitive arrays"}, {}, _MIXED_PRIMITIVE, MIXED,
                 id="unflatten-keep-primitive-arrays"),
    pytest.param({"Return Type": "unflatten", "Flatten Mode": "dot notation"}, {}, {"first.second.third.0": _THIRD},
                 {"first": {"second": {"third": [_THIRD]}}}, id="unflatten-dot-notation"),
    pytest.param({"Ignore Reserved Characters": "true"}, {}, {"first": {"second.third": "Hello", "fourth": "World"}},
                 {"first.second.third": "Hello", "first.fourth": "World"}, id="ignore-reserved-characters"),
    pytest.param({"Separator": "_", "Ignore Reserved Characters": "true"}, {}, _RECORDS,
                 [{"first_second_third": "Hello"}, {"first_second_third": "World"}],
                 id="record-set-with-ignore-reserved-characters"),
    pytest.param({"Separator": "_", "Ignore Reserved Characters": "true", "Flatten Mode": "normal"}, {}, _RECORDS,
                 {"[0]_first_second_third": "Hello", "[1]_first_second_third": "World"},
                 id="mode-normal-with-ignore-reserved-characters"),
]


@pytest.mark.parametrize(("properties", "attributes", "document", "expected"), NIFI_CASES)
def test_nifi_flatten_json(properties: dict[str, str], attributes: dict[str, str], document: object,
                           expected: object) -> None:
    r = ProcessorRunner(FlattenJson)
    for name, value in properties.items():
        r.set_property(name, value)
    r.enqueue(json.dumps(document, indent=4), attributes)
    r.run()
    assert result(r) == expected



@pytest.mark.parametrize("return_type", ["flatten", "unflatten"])
def test_a_document_nested_too_deeply_is_handled(return_type: str) -> None:
    deep = b'{"a": ' * 450 + b"[" * 450 + b"1" + b"]" * 450 + b"}" * 450
    r = ProcessorRunner(FlattenJson)
    r.set_property("Return Type", return_type)
    r.enqueue(deep)
    r.run()
    assert not r.errors  # never escapes on_trigger (no endless rollback)
    assert len(r.flowfiles_for("success")) + len(r.flowfiles_for("failure")) == 1
    if r.flowfiles_for("failure"):
        assert any("nested too deeply" in message for _, message in r.bulletins)
