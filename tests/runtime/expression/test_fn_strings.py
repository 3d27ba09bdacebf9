"""String manipulation and searching functions, called through their declarations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowyard.runtime.expression import evaluate
from flowyard.runtime.expression._javaregex import JavaRegexError, compile_java
from flowyard.runtime.expression._registry import REGISTRY, EvaluationError, coerce

MODULES = ("flowyard.runtime.expression._fn_strings",)
DATA = Path(__file__).parent / "data"


def call(name: str, subject: object, *args: object) -> object:
    """What the evaluator does: convert to the declared types, honour null_subject, call."""
    fn = REGISTRY[name]
    assert fn.subject is not None
    subject = coerce(subject, fn.subject)
    if subject is None and fn.null_subject == "null":
        return None
    declared = list(fn.args)
    converted = []
    for i, arg in enumerate(args):
        spec = declared[min(i, len(declared) - 1)]
        converted.append(coerce(arg, spec.type))
    return fn.impl(subject, *converted)


F = "a brand new filename.txt"


@pytest.mark.parametrize(("name", "subject", "args", "expected"), [
    ("toUpper", "abc123.txt", (), "ABC123.TXT"),
    ("toUpper", None, (), None),
    ("toUpper", 12, (), "12"),
    ("toLower", "ABC", (), "abc"),
    ("trim", "  1 2 3 \t\n", (), "1 2 3"),
    ("trim", "\x00x\x1f", (), "x"),
    ("trim", None, (), None),
    ("isEmpty", None, (), True),
    ("isEmpty", "", (), True),
    ("isEmpty", "        \n", (), True),
    ("isEmpty", "a", (), False),
    ("substring", F, (0, 1), "a"),
    ("substring", F, (2,), "brand new filename.txt"),
    ("substring", F, ("12",), "filename.txt"),
    ("substring", F, (-1,), ""),
    ("substring", F, (30,), ""),
    ("substring", F, (5, 2), ""),
    ("substring", F, (0, 100), ""),
    ("substring", None, (1,), ""),
    ("substring", "", (0,), ""),
    ("substringBefore", F, (".",), "a brand new filename"),
    ("substringBefore", F, ("missing",), F),
    ("substringBefore", F, ("",), F),
    ("substringBefore", F, ("a",), ""),
    ("substringBefore", None, ("a",), ""),
    ("substringBeforeLast", F, (" ",), "a brand new"),
    ("substringBeforeLast", F, ("",), F),
    ("substringAfter", F, (" n",), "ew filename.txt"),
    ("substringAfter", F, ("",), F),
    ("substringAfter", F, (None,), F),
    ("substringAfterLast", F, ("missing",), F),
    ("substringAfterLast", F, ("t",), ""),
    ("substringAfterLast", "C:\\dir\\file", ("\\",), "file"),
    ("append", F, (".gz",), F + ".gz"),
    ("append", None, ("x",), "x"),
    ("append", "x", (None,), "x"),
    ("prepend", "filename.txt", ("a brand new ",), F),
    ("prepend", None, ("x",), "x"),
    ("length", F, (), 24),
    ("length", None, (), 0),
    ("length", "", (), 0),
    ("replaceNull", None, ("abc",), "abc"),
    ("replaceNull", "", ("abc",), ""),
    ("replaceNull", 5, ("abc",), 5),
    ("replaceEmpty", "  ", ("abc",), "abc"),
    ("replaceEmpty", "        \n", ("abc",), "abc"),
    ("replaceEmpty", None, ("abc",), "abc"),
    ("replaceEmpty", "\xa0", ("abc",), "\xa0"),
    ("replaceEmpty", "x", ("abc",), "x"),
])
def test_string_functions(name: str, subject: object, args: tuple[object, ...], expected: object) -> None:
    assert call(name, subject, *args) == expected


@pytest.mark.parametrize(("args", "expected"), [
    ((10,), "_____hello"),
    ((10, "@"), "@@@@@hello"),
    ((10, "xy"), "xyxyxhello"),
    ((10, "aVeryLongPaddingString"), "aVeryhello"),
    ((3,), "hello"),
    ((-1,), "hello"),
    ((2**31,), "hello"),
    ((7, ""), "  hello"),
    ((None,), "hello"),
])
def test_pad_left(args: tuple[object, ...], expected: str) -> None:
    assert call("padLeft", "hello", *args) == expected


def test_pad_right_and_null_subject() -> None:
    assert call("padRight", "hello", 10, "xy") == "helloxyxyx"
    assert call("padRight", "", 3, "@") == "@@@"
    assert call("padLeft", None, 10) is None


@pytest.mark.parametrize(("subject", "args", "expected"), [
    ("\"Jacobson, John\", 32, Mr.", (2,), " 32"),
    ("\"Jacobson, John\", 32, Mr.", (1,), "\"Jacobson, John\""),
    ("\"Jacobson, John\", 32, Mr.", (1, ",", "\"", "\\", True), "Jacobson, John"),
    ("Jacobson, John|32|Mr.", (1, "|"), "Jacobson, John"),
    ("Jacobson, John|32|Mr.", (3, "|"), "Mr."),
    ("a,b", (5,), ""),
    ("a,b", (0,), ""),
    ("/my/path", (1, "/"), ""),
    ("a\\,b,c", (1,), "a\\,b"),
    ("a\\,b,c", (1, ",", "\"", "\\", "true"), "a,b"),
    ("", (1,), ""),
    (None, (1,), ""),
])
def test_get_delimited_field(subject: str | None, args: tuple[object, ...], expected: str) -> None:
    assert call("getDelimitedField", subject, *args) == expected


@pytest.mark.parametrize("args", [(None,), ("x",), (1, ""), (1, ",,"), (1, ",", ","), (1, ",", "'", "'")])
def test_get_delimited_field_bad_arguments(args: tuple[object, ...]) -> None:
    with pytest.raises(EvaluationError):
        call("getDelimitedField", "a,b", *args)


@pytest.mark.parametrize(("name", "subject", "delimiter", "expected"), [
    ("compactDelimitedList", ",,a,,b,,c,", ",", "a,b,c"),
    ("compactDelimitedList", ",,,", ",", ""),
    ("compactDelimitedList", "", ",", ""),
    ("compactDelimitedList", None, ",", ""),
    ("compactDelimitedList", "a, ,b", ",", "a, ,b"),
    ("compactDelimitedList", "a....b..", "..", "a..b"),
    ("compactDelimitedList", "|a||b", "|", "a|b"),
    ("trimDelimitedList", ",,a,,b,,c,,", ",", "a,,b,,c"),
    ("trimDelimitedList", "a,,b,,,c", ",", "a,,b,,,c"),
    ("trimDelimitedList", ",,,", ",", ""),
    ("trimDelimitedList", None, ",", ""),
    ("unique", "red,blue,red,green,blue,yellow", ",", "red,blue,green,yellow"),
    ("unique", "a,b,,c,,d,b", ",", "a,b,,c,d"),
    ("unique", "a,a", "", "a,a"),
    ("unique", "a,a", ";", "a,a"),
    ("unique", None, ",", ""),
])
def test_delimited_lists(name: str, subject: str | None, delimiter: str, expected: str) -> None:
    assert call(name, subject, delimiter) == expected


def test_repeat() -> None:
    assert call("repeat", "abc", 2) == "abcabc"
    assert call("repeat", None, 2) == ""
    assert call("repeat", "abc", 1, 3) in ("abc", "abcabc", "abcabcabc")
    for args in [(0,), (-1,), (3, 2), ("x",)]:
        with pytest.raises(EvaluationError):
            call("repeat", "abc", *args)


@pytest.mark.parametrize(("name", "subject", "args", "expected"), [
    ("replace", F, (".", "_"), "a brand new filename_txt"),
    ("replace", F, ("XYZ", "ZZZ"), F),
    ("replace", "a.b", (".", "$1"), "a$1b"),
    ("replace", "a\\b", ("\\", "/"), "a/b"),
    ("replace", None, ("a", "b"), None),
    ("replaceFirst", F, ("a", "the"), "the brand new filename.txt"),
    ("replaceFirst", F, ("[br]", "g"), "a grand new filename.txt"),
    ("replaceFirst", F, ("\\w{8}", "book"), "a brand new book.txt"),
    ("replaceAll", F, ("\\..*", ""), "a brand new filename"),
    ("replaceAll", F, ("a brand (new)", "$1"), "new filename.txt"),
    ("replaceAll", F, ("brand (new)", "somewhat $1"), "a somewhat new filename.txt"),
    ("replaceAll", "Value", ("(Val)ue{1,2}", "$1$0"), "ValValue"),
    ("replaceAll", "abc", ("x*", "-"), "-a-b-c-"),
    ("replaceAll", "a1", ("(a)(1)", "$2$1\\$"), "1a$"),
    ("replaceAll", "ab", ("(a)", "$11"), "a1b"),
    ("replaceAll", "ab", ("(?<first>a)", "<${first}>"), "<a>b"),
    ("replaceAll", "ab", ("(x)?a", "[$1]"), "[]b"),
    ("replaceAll", "ab", ("z", "$9"), "ab"),
    ("replaceAll", "a.b", ("\\Q.\\E", "!"), "a!b"),
    ("replaceAll", "Hello, World!", ("\\p{Punct}", ""), "Hello World"),
    ("replaceAll", "aXbx", ("(?i)x", "-"), "a-b-"),
    ("replaceAll", "xXaX", ("x(?i)x", "-"), "-aX"),
    ("replaceAll", "é1", ("\\w", "_"), "é_"),
    ("replaceAll", "Ab", ("\\p{Lu}", "_"), "_b"),
    ("replaceByPattern", "abc", ("abc:xyz,foo:poo",), "xyz"),
    ("replaceByPattern", "abc", ("foo:poo",), "abc"),
    ("replaceByPattern", "abc", ("a.c:xyz,.*:foo",), "xyz"),
    ("replaceByPattern", "b", ("a:1, b:2",), "2"),
    ("replaceByPattern", "b", ("",), "b"),
    ("replaceByPattern", "b", (None,), "b"),
])
def test_replacing(name: str, subject: object, args: tuple[object, ...], expected: object) -> None:
    assert call(name, subject, *args) == expected


@pytest.mark.parametrize(("name", "args"), [
    ("replaceAll", ("(", "x")),
    ("replaceAll", ("a", "$2")),
    ("replaceAll", ("a", "$x")),
    ("replaceAll", ("a", "x\\")),
    ("replaceFirst", ("[a-z&&[^b]]", "x")),
    ("find", ("[",)),
    ("matches", ("(?<n>a)\\k<m>",)),
])
def test_invalid_regex_names_the_pattern(name: str, args: tuple[object, ...]) -> None:
    with pytest.raises(EvaluationError, match="invalid"):
        call(name, "abc", *args)


@pytest.mark.parametrize(("name", "subject", "args", "expected"), [
    ("startsWith", F, ("a brand",), True),
    ("startsWith", F, ("A BRAND",), False),
    ("startsWith", None, ("a",), False),
    ("startsWith", "a", (None,), False),
    ("endsWith", F, ("txt",), True),
    ("endsWith", F, ("TXT",), False),
    ("endsWith", None, ("",), False),
    ("contains", F, ("new",), True),
    ("contains", F, ("NEW",), False),
    ("contains", None, ("a",), False),
    ("contains", "a", (None,), False),
    ("in", "JOHN", ("PAUL", "JOHN", "MIKE"), True),
    ("in", "JOHN", ("RED", "GREEN"), False),
    ("in", None, ("a",), False),
    ("in", "5", (5,), True),
    ("find", F, ("a [Bb]rand [Nn]ew",), True),
    ("find", F, ("Brand.*",), False),
    ("find", F, (None,), False),
    ("find", None, ("a",), False),
    ("find", "1234x4321", ("1234\\p{Alpha}4321",), True),
    ("matches", F, ("a.*txt",), True),
    ("matches", F, ("brand",), False),
    ("matches", "abc.xyz", ("abc\\.xyz",), True),
    ("matches", "abcXxyz", ("abc\\.xyz",), False),
    ("matches", None, (".*",), False),
    ("matches", "a", (None,), False),
    ("matches", "a\n", ("a\\z",), False),
    ("matches", "ÄB", ("\\p{L}+",), True),
    ("matches", "a b", ("a\\hb",), True),
    ("indexOf", F, ("a.*txt",), -1),
    ("indexOf", F, (".",), 20),
    ("indexOf", F, ("a",), 0),
    ("indexOf", None, ("a",), -1),
    ("lastIndexOf", F, ("a",), 17),
    ("lastIndexOf", F, (" ",), 11),
    ("lastIndexOf", None, ("a",), -1),
])
def test_searching(name: str, subject: object, args: tuple[object, ...], expected: object) -> None:
    assert call(name, subject, *args) == expected


@pytest.mark.parametrize(("java", "text", "matches"), [
    ("a(?i)b(c)", "aBc", True),
    ("a(?i)b(c)", "aBC", True),
    ("(a(?i)b)c", "aBC", False),
    ("[a-c[x-z]]+", "abyz", True),
    ("\\x{41}\\0101", "AA", True),
    ("\\cI", "\t", True),
    ("\\R", "\r\n", True),
    ("[\\p{Digit}&]+", "1&2", True),
    ("\\P{Alpha}", "1", True),
    ("[\\P{Alpha}]", "a", False),
    ("a++b", "aab", True),
])
def test_java_regex_translation(java: str, text: str, matches: bool) -> None:
    assert (compile_java(java).regex.fullmatch(text) is not None) is matches


@pytest.mark.parametrize("java", ["\\G", "\\p{IsLatin}", "[^a[^b]]", "(?q)a", "a\\"])
def test_unsupported_java_regex(java: str) -> None:
    with pytest.raises(JavaRegexError):
        compile_java(java)


def guide_examples(*modules: str) -> list[object]:
    """The guide's examples of the functions the given modules declare, as pytest params."""
    mine = {n for n, f in REGISTRY.items() if f.impl.__module__ in modules}
    out: list[object] = []
    for example in json.loads((DATA / "el_guide_examples.json").read_text()):
        expected = example.get("expected_actual", example["expected"])
        if example["function"] not in mine or expected is None:
            continue
        out.append(pytest.param(example.get("corrected_expression", example["expression"]), example["attributes"],
                                expected, id=example["id"]))
    return out


@pytest.mark.parametrize(("expression", "attributes", "expected"), guide_examples(MODULES[0]))
def test_guide_examples(expression: str, attributes: dict[str, str], expected: str) -> None:
    assert evaluate(expression, attributes) == expected
