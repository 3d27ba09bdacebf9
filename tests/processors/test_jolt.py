"""The Jolt engine against Jolt's own spec examples (input, spec, expected),
kept as data in ``data/jolt/``, plus spec validation and chains."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from flowyard.processors._jolt import JoltError, JoltSpecError, build_transform
from flowyard.processors._jolt_modify import modify

DATA = Path(__file__).parent / "data" / "jolt"


def _cases(name: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return cases


@pytest.mark.parametrize("operation", ["shift", "default", "remove", "cardinality"])
def test_jolt_examples(operation: str) -> None:
    failures = []
    for case in _cases(operation):
        result = build_transform(operation, case["spec"])(copy.deepcopy(case["input"]))
        if result != case["expected"]:
            failures.append(f"{case['name']}: {json.dumps(result)[:300]}")
    assert not failures, failures
    assert len(_cases(operation)) >= 4


@pytest.mark.parametrize("case", _cases("shift"), ids=lambda c: c["name"])
def test_shift_example(case: dict[str, Any]) -> None:
    assert build_transform("shift", case["spec"])(copy.deepcopy(case["input"])) == case["expected"]


@pytest.mark.parametrize(
    ("case", "mode"),
    [(case, mode) for case in _cases("modify") for mode in ("overwrite", "default", "define") if mode in case],
    ids=lambda v: v["name"] if isinstance(v, dict) else v,
)
def test_modify_examples(case: dict[str, Any], mode: str) -> None:
    assert modify(case["spec"], mode, case.get("context"))(copy.deepcopy(case["input"])) == case[mode]


def test_a_function_jolt_does_not_know_yields_its_first_argument_or_nothing() -> None:
    # Jolt finds no function for the name and evaluates the first argument alone
    spec = {"a": "=noSuchFunction", "b": "=noSuchFunction(@(1,x), 'y')", "c": "=noSuchFunction('lit')",
            "d": "=noSuchFunction(@(1,missing))", "e": ["=noSuchFunction", "fallback"]}
    result = build_transform("modify-overwrite-beta", spec)({"a": 1, "x": "X"})
    assert result == {"a": 1, "x": "X", "b": "X", "c": "lit", "e": "fallback"}


def test_context_lookups_find_nothing_without_a_context() -> None:
    spec = {"a": "^value", "b": "literal"}
    assert build_transform("modify-overwrite-beta", spec)({}) == {"b": "literal"}


MODIFY_INPUT = {"rating": {"primary": {
    "value": 3, "value1": "ABC", "value2": "dnf", "value7": " yy ", "n": [6, 5, 4, 3, 2, 1],
    "nulls": ["a", None, 1, None, "b"],
    "deep": ["a", None, {"x": "X", "y": None, "zList": ["z1", None, "z3"]}, None, "b"],
    "dups": ["abc", "abc", "xyz", "cde", "bcd"], "s1": "3", "s2": 2, "s3": "33", "s4": "false", "s5": 1999,
    "s6": "123456789", "bad": "abc"}}}


@pytest.mark.parametrize(
    ("rhs", "key", "expected"),
    [
        ("=toString", "value", "3"), ("=toLower", "value1", "abc"), ("=toUpper", "value2", "DNF"),
        ("=concat(a,b,c,d,e,c,g)", "x", "abcdecg"), ("=join('_',5,4,5,6,7,8,9,90,0)", "x", "5_4_5_6_7_8_9_90_0"),
        ("=split('_','order_item_info')", "x", ["order", "item", "info"]), ("=trim", "value7", "yy"),
        ("=leftPad('abc',5,c)", "x", "ccabc"), ("=rightPad('abc',5,d)", "x", "abcdd"),
        ("=substring('abcdefg',1,3)", "x", "bc"),
        ("=min(1,3,4,6)", "x", 1), ("=max(1,3,4,6)", "x", 6), ("=abs(-100)", "x", 100), ("=avg(1,2,3)", "x", 2.0),
        ("=intSum(1,2,3)", "x", 6), ("=doubleSum(1.0,2.0,3.0)", "x", 6.0), ("=longSum(10000,20000,30000)", "x", 60000),
        ("=intSubtract(6,2)", "x", 4), ("=doubleSubtract(6.0,2.2)", "x", 3.8), ("=divide(10,2)", "x", 5.0),
        ("=divideAndRound(2,30,7)", "x", 4.29), ("=toInteger", "s1", 3), ("=toDouble", "s2", 2.0),
        ("=toLong", "s3", 33), ("=toBoolean", "s4", False), ("=toString", "s5", "1999"), ("=size", "s6", 9),
        ("=size(1,2,3,4,5,6,7,8)", "x", 8), ("=squashNulls", "nulls", ["a", 1, "b"]),
        ("=recursivelySquashNulls", "deep", ["a", {"x": "X", "zList": ["z1", "z3"]}, "b"]),
        ("=squashDuplicates", "dups", ["abc", "xyz", "cde", "bcd"]), ("=firstElement", "dups", "abc"),
        ("=lastElement", "dups", "bcd"), ("=elementAt(2,@(1,n))", "x", 4), ("=toList(10)", "x", [10]),
        ("=sort(@(1,n))", "x", [1, 2, 3, 4, 5, 6]), ("=max(@(1,n))", "x", 6), ("=toUpper(@(1,value1))", "x", "ABC"),
        ("@(1,value1)", "x", "ABC"), ("=concat(@(1,value1),'-',@(1,value))", "x", "ABC-3"),
    ],
)
def test_modify_functions(rhs: str, key: str, expected: Any) -> None:
    spec = {"rating": {"primary": {key: rhs}}}
    result = build_transform("modify-overwrite-beta", spec)(copy.deepcopy(MODIFY_INPUT))
    assert result["rating"]["primary"][key] == expected


@pytest.mark.parametrize(("rhs", "key"), [("=toInteger", "bad"), ("=substring('abcdefg',3,3)", "x"),
                                          ("=divide(1,0)", "x"), ("=toUpper", "s5"), ("=firstElement", "value"),
                                          ("=noop", "value1")])
def test_functions_without_a_result_write_nothing(rhs: str, key: str) -> None:
    spec = {"rating": {"primary": {key: rhs}}}
    result = build_transform("modify-overwrite-beta", spec)(copy.deepcopy(MODIFY_INPUT))
    assert result["rating"]["primary"].get(key, "absent") == MODIFY_INPUT["rating"]["primary"].get(key, "absent")


def test_sort_puts_tilde_keys_first_and_recurses() -> None:
    result = build_transform("sort", None)({"b": 1, "~z": 2, "a": [{"d": 1, "c": 2}]})
    assert json.dumps(result) == '{"~z": 2, "a": [{"c": 2, "d": 1}], "b": 1}'


def test_chain_runs_each_step_in_turn() -> None:
    chain = [
        {"operation": "shift", "spec": {"rating": {"*": {"value": "ratings.&1"}}}},
        {"operation": "default", "spec": {"ratings": {"count": 0}}},
        {"operation": "remove", "spec": {"ratings": {"bad": ""}}},
        {"operation": "modify-overwrite-beta", "spec": {"ratings": {"good": "=toString"}}},
        {"operation": "com.bazaarvoice.jolt.Sortr"},
        {"operation": "cardinality", "spec": {"ratings": {"count": "MANY"}}},
    ]
    result = build_transform("chain", chain)({"rating": {"good": {"value": 5}, "bad": {"value": 1}}})
    assert result == {"ratings": {"count": [0], "good": "5"}}


@pytest.mark.parametrize(
    ("operation", "spec"),
    [
        ("shift", []), ("shift", {"a": {}}), ("shift", {"a": 5}), ("shift", {"@": {"a": "b"}}),
        ("shift", {"a": "b.*"}), ("shift", {"a": "b.$"}), ("shift", {"a": "@(1,x"}), ("shift", {"a*&": "x"}),
        ("shift", {"a": "x[-1]"}), ("default", {"a*": 1}), ("default", "x"), ("cardinality", {"a": "SOME"}),
        # Jolt's removr/negativeTestCases and cardinality/failCardinalityType
        ("remove", {"ineedtoberemoved": "eh?"}), ("remove", {"a": {"b": 1}}), ("cardinality", {"photos": "pants"}),
        ("modify-default-beta", {"a": "=toUpper("}),
        ("chain", {}), ("chain", []), ("chain", [{"operation": "shift"}]), ("chain", [{"spec": {}}]),
        ("chain", [{"operation": "com.example.Custom", "spec": {}}]), ("unknown", {}),
    ],
)
def test_invalid_specs(operation: str, spec: Any) -> None:
    with pytest.raises(JoltSpecError):
        build_transform(operation, spec)


def test_default_refuses_a_top_level_array_it_cannot_handle() -> None:
    with pytest.raises(JoltError):
        build_transform("default", {"a": 1})([1, 2])


def test_shift_with_nothing_matched_is_null() -> None:
    assert build_transform("shift", {"missing": "x"})({"a": 1}) is None


def test_shift_writes_into_a_root_array() -> None:
    assert build_transform("shift", {"*": "[]"})({"a": 1, "b": 2}) == [1, 2]


@pytest.mark.parametrize("case", _cases("chain"), ids=lambda c: c["name"])
def test_chain_examples(case: dict[str, Any]) -> None:
    result = build_transform("chain", case["spec"])(copy.deepcopy(case["input"]))
    if case.get("ordered"):
        assert json.dumps(result) == json.dumps(case["expected"])
    else:
        assert result == case["expected"]
