"""The Jayway-compatible JsonPath evaluator: the examples of Jayway's README
and the definite/indefinite rules NiFi users see."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowyard.processors._json_path import (
    InvalidJsonPath,
    JsonPathEvaluationError,
    PathNotFound,
    compile_path,
)
from flowyard.processors._json_text import java_double, java_string, parse_jackson, to_json

STORE = json.loads("""{ "store": {
  "book": [
    {"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95},
    {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99},
    {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3",
     "price": 8.99},
    {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings",
     "isbn": "0-395-19395-8", "price": 22.99}
  ],
  "bicycle": {"color": "red", "price": 19.95}
}, "expensive": 10 }""")
AUTHORS = ["Nigel Rees", "Evelyn Waugh", "Herman Melville", "J. R. R. Tolkien"]
BOOKS = STORE["store"]["book"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.store.book[*].author", AUTHORS),
        ("$..author", AUTHORS),
        ("$.store.*", [BOOKS, STORE["store"]["bicycle"]]),
        ("$.store..price", [8.95, 12.99, 8.99, 22.99, 19.95]),
        ("$..book[2]", [BOOKS[2]]),
        ("$..book[-2]", [BOOKS[2]]),
        ("$..book[0,1]", BOOKS[:2]),
        ("$..book[:2]", BOOKS[:2]),
        ("$..book[1:2]", BOOKS[1:2]),
        ("$..book[-2:]", BOOKS[-2:]),
        ("$..book[2:]", BOOKS[2:]),
        ("$..book[?(@.isbn)]", BOOKS[2:]),
        ("$.store.book[?(@.price < 10)]", [BOOKS[0], BOOKS[2]]),
        ("$..book[?(@.price <= $['expensive'])]", [BOOKS[0], BOOKS[2]]),
        ("$..book[?(@.author =~ /.*REES/i)]", [BOOKS[0]]),
        ("$..book.length()", 4),
        ("$.store.book.length()", 4),
        ("$.store.book[0]['title','price']", {"title": "Sayings of the Century", "price": 8.95}),
        ("$.store.book[*].missing", []),
        ("store.bicycle.color", "red"),
        ("$.store.book[?(@.category == 'fiction' && @.price > 10)].title",
         ["Sword of Honour", "The Lord of the Rings"]),
        ("$.store.book[?(@.category == 'reference' || @.price > 20)].price", [8.95, 22.99]),
        ("$.store.book[?(@.category in ['reference'])].title", ["Sayings of the Century"]),
        ("$.store.book[?(@.category nin ['fiction'])].title", ["Sayings of the Century"]),
        ("$.store.book[?(!@.isbn)].title", ["Sayings of the Century", "Sword of Honour"]),
        ("$.store.book[?(!(@.price > 10))].price", [8.95, 8.99]),
        ("$.store.book[?(@.title size 9)].title", ["Moby Dick"]),
        ("$.store.bicycle[?(@.color == 'red')].price", [19.95]),
        ("$.store.book[0].title.length()", 22),
        ("$", STORE),
        ("$['store']['bicycle']['color']", "red"),
        ('$["store"].bicycle.price', 19.95),
        ("$.expensive", 10),
        ("$..bicycle.*", ["red", 19.95]),
        ("$.store.book[*]['author','price']", [{"author": a, "price": b["price"]} for a, b in zip(AUTHORS, BOOKS)]),
    ],
)
def test_jayway_readme_examples(path: str, expected: Any) -> None:
    assert compile_path(path).read(STORE) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$..price.sum()", 73.87),
        ("$..price.min()", 8.95),
        ("$..price.max()", 22.99),
        ("$.nums.avg()", 2.0),
        ("$.nums.sum()", 6.0),
        ("$.nums.stddev()", 0.816496580927726),
        ("$.nums.first()", 1),
        ("$.nums.last()", 3),
        ("$.nums.index(1)", 2),
        ("$.nums.append(4)", [1, 2, 3, 4]),
        ("$.words.concat('!')", "ab!"),
        ("$.obj.keys()", ["x", "y"]),
        ("$.obj.length()", 2),
    ],
)
def test_functions(path: str, expected: Any) -> None:
    doc = {**STORE, "nums": [1, 2, 3], "words": ["a", "b"], "obj": {"x": 1, "y": 2}}
    assert compile_path(path).read(doc) == pytest.approx(expected) if isinstance(expected, float) else \
        compile_path(path).read(doc) == expected


def test_aggregate_of_nothing_is_an_error() -> None:
    with pytest.raises(JsonPathEvaluationError):
        compile_path("$.a.sum()").read({"a": []})


@pytest.mark.parametrize(
    ("path", "definite"),
    [("$", True), ("$.a.b[0]", True), ("$['a','b']", True), ("$.a[*]", False), ("$..a", False),
     ("$.a[0,1]", False), ("$.a[1:2]", False), ("$.a[?(@.x)]", False), ("$['a','b'].c", False),
     ("$.a.length()", True)],
)
def test_definite_paths(path: str, definite: bool) -> None:
    assert compile_path(path).definite is definite


@pytest.mark.parametrize(
    ("path", "document"),
    [("$.missing", {}), ("$.a.b", {"a": 1}), ("$.a.b", {"a": None}), ("$.a[3]", {"a": [1]}),
     ("$.a[0]", {"a": {"0": 1}}), ("$.a.b.c", {"a": {}})],
)
def test_definite_path_not_found(path: str, document: Any) -> None:
    with pytest.raises(PathNotFound):
        compile_path(path).read(document)


@pytest.mark.parametrize(
    ("path", "document", "expected"),
    [("$[*].a", [{"a": 1}, 2, {"b": 3}, {"a": None}], [1, None]),
     ("$..a.b", {"a": 1, "c": {"a": {"b": 2}}}, [2]),
     ("$.*[0]", {"x": [1], "y": 2, "z": []}, [1])],
)
def test_indefinite_paths_skip_what_does_not_fit(path: str, document: Any, expected: Any) -> None:
    assert compile_path(path).read(document) == expected


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [("@.v == 1", ["int", "str"]), ("@.v == '1'", ["int", "str"]), ("@.v != 1", ["t", "none", "missing"]),
     ("@.v == true", ["t"]), ("@.v == null", ["none"]), ("@.v > 0", ["int"]), ("@.v", ["int", "str", "t", "none"]),
     ("@.v =~ /\\d/", ["str"]), ("@.v empty false", ["str"]),
     ("@.k =~ /\\p{Lower}{3}/", ["int", "str"])],
)
def test_filter_comparisons(filter_: str, expected: list[str]) -> None:
    doc = [{"k": "int", "v": 1}, {"k": "str", "v": "1"}, {"k": "t", "v": True}, {"k": "none", "v": None},
           {"k": "missing"}]
    assert compile_path(f"$[?({filter_})].k").read(doc) == expected


@pytest.mark.parametrize("path", ["", "$..", "$.a.", "$[", "$['a'", "$[?(@.a)", "$[a]", "$.a b", "$.x.foo()",
                                  "$[?(@.a =~ 'x')]"])
def test_invalid_paths(path: str) -> None:
    with pytest.raises(InvalidJsonPath):
        compile_path(path)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1.0"), (0.001, "0.001"), (1e-4, "1.0E-4"), (1e7, "1.0E7"), (9999999.0, "9999999.0"),
     (12345678.9, "1.23456789E7"), (-2.5e-10, "-2.5E-10"), (0.0, "0.0"), (-0.0, "-0.0"), (1.5e300, "1.5E300")],
)
def test_java_double(value: float, text: str) -> None:
    assert java_double(value) == text


def test_java_strings_and_json() -> None:
    assert [java_string(v) for v in (True, False, None, 3, "s")] == ["true", "false", "", "3", "s"]
    assert java_string(None, "null") == "null"
    assert to_json({"a": [1, 2.0, {"b": None}], "c": {}, "d": []}, pretty=True) == (
        '{\n  "a" : [ 1, 2.0, {\n    "b" : null\n  } ],\n  "c" : { },\n  "d" : [ ]\n}'
    )
    assert to_json({"a": "\x01", "b": 1e-5}) == '{"a":"\\u0001","b":1.0E-5}'


def test_jackson_parsing() -> None:
    assert parse_jackson(' {"a": 1} tail') == {"a": 1}
    for bad in ("", "  ", "{", "NaN", '{"a": Infinity}'):
        with pytest.raises(ValueError):
            parse_jackson(bad)
