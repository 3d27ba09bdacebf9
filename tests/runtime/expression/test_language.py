"""The Expression Language's syntax, types and errors (the function families have
their own test modules). Uses only functions of the core family, so it does not
depend on the others."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowyard.runtime import expression
from flowyard.runtime.expression import ExpressionError, TypedValue

ATTRS = {"filename": "report.final.txt", "size": "2048", "type": "a", "x": "abc", "empty": "",
         "my attr": "spaced", "name.of": "dotted", "pointer": "x"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("${filename}", "report.final.txt"),
        ("a ${x} b ${type}", "a abc b a"),
        ("${missing}", ""),
        ("${'my attr'}", "spaced"),
        ('${"my attr"}', "spaced"),
        ("${name.of}", "dotted"),
        ("${ x }", "abc"),
        ("${${pointer}}", "abc"),
        ("$${x}", "${x}"),
        ("$$${x}", "$abc"),
        ("$$$${x}", "$${x}"),
        ("$$$$${x}", "$$abc"),
        ("You owe me $$5", "You owe me $$5"),
        ("${x", "${x"),
        ("cost: $5", "cost: $5"),
        ("#{p}/${x}", "P/abc"),
        ("#{'p q'}", "PQ"),
        ("##{p}", "#{p}"),
        ("${#{p}}", "P"),
        ("abc ${x:equals('unterminated)}", "abc ${x:equals('unterminated)}"),
        ("${x:equals('abc')}", "true"),
        ("${x:equals(\"abc\")}", "true"),
        ("${x:equals('${x}')}", "true"),
        ("${x:equals( 'abc' )}", "true"),
        ("${size:gt(1000):and(${type:equals('a')})}", "true"),
        ("${size:gt(1000):and(${type:equals('b')})}", "false"),
        ("${missing:isNull():ifElse('yes', 'no')}", "yes"),
        ("${literal('it\\'s')}", "it's"),
        ("${literal('tab\\there')}", "tab\there"),
        ("${literal('\\d+')}", "\\d+"),
        ("${literal(12)}", "12"),
        ("${literal(1.5)}", "1.5"),
        ("${literal(true)}", "true"),
        ("${x:equals('abc') # a comment\n}", "true"),
        ("${anyAttribute('x', 'type'):equals('a')}", "true"),
        ("${allAttributes('x', 'type'):equals('a')}", "false"),
        ("${allMatchingAttributes('x|type'):join('+')}", "a+abc"),
        ("${allAttributes('x', 'missing'):notNull():count()}", "1"),
        ("${anyDelineatedValue('a,b,c', ','):equals('b')}", "true"),
        ("${allDelineatedValues('/my/path', '/'):notNull()}", "true"),
        ("${getStateValue('seen')}", "42"),
    ],
)
def test_text_evaluates_like_nifi(text: str, expected: str) -> None:
    got = expression.evaluate(text, ATTRS, parameters={"p": "P", "p q": "PQ"}, state={"seen": "42"})
    assert got == expected


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("${}", 2, "expected an attribute name or a function"),
        ("${x:}", 4, "expected a function name"),
        ("${x:nope()}", 4, "unknown function 'nope'"),
        ("${x:equals(}", 11, "expected an argument"),
        ("${x:equals('a'}", 14, "expected ',' or ')'"),
        ("${x:isNull(1)}", 4, "takes 0 argument(s), found 1"),
        ("${x:equals()}", 4, "takes 1 argument(s), found 0"),
        ("${5}", 2, "cannot start with a digit"),
        ("${x y}", 4, "expected ':' and a function"),
        ("${literal('a'):literal('b')}", 15, "takes no subject"),
        ("${isNull()}", 2, "needs a subject"),
        ("${anyAttribute('a')}", 2, "must end with a boolean function"),
        ("${anyAttribute('a'):isNull():count()}", 29, "cannot follow anyAttribute"),
        ("${x:equals('${y:}')}", 16, "in the string"),
    ],
)
def test_invalid_expressions_name_the_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        expression.compile(text)
    assert info.value.position == position, info.value
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${x}", TypedValue("string", "abc")),
        ("${missing}", TypedValue(None, None)),
        ("${literal(5)}", TypedValue("whole_number", 5)),
        ("${literal(2.5)}", TypedValue("decimal", 2.5)),
        ("${x:isNull()}", TypedValue("boolean", False)),
        ("  ${x:equals('abc')}  ", TypedValue("boolean", True)),
    ],
)
def test_evaluate_typed(text: str, expected: TypedValue) -> None:
    assert expression.evaluate_typed(text, ATTRS) == expected


@pytest.mark.parametrize("text", ["plain", "${x} and ${y}", "${x"])
def test_evaluate_typed_wants_one_expression(text: str) -> None:
    with pytest.raises(ExpressionError, match="a single expression"):
        expression.evaluate_typed(text, ATTRS)


def test_compiled_text_is_reusable_and_cached() -> None:
    compiled = expression.compile("${x}-${type}")
    assert compiled is expression.compile("${x}-${type}")
    assert compiled.evaluate({"x": "1", "type": "2"}) == "1-2"
    assert compiled.evaluate({"x": "3"}) == "3-"
    assert not compiled.is_literal and expression.compile("no expression").is_literal


def test_catalogue_lists_functions_with_their_signatures() -> None:
    entries = {e["name"]: e for e in expression.catalogue()}
    assert entries["ifElse"] == {
        "name": "ifElse", "family": "boolean logic", "subject": "boolean",
        "arguments": [{"name": "if_true", "type": "any", "optional": False, "variadic": False},
                      {"name": "if_false", "type": "any", "optional": False, "variadic": False}],
        "returns": "string", "description": entries["ifElse"]["description"]}
    assert all(e["description"] for e in entries.values())


# -- safety ---------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, database=None)
@given(st.text(alphabet=st.sampled_from(list("${}#:()'\",. \\abcx0123456789-_")), max_size=60))
def test_arbitrary_text_only_ever_raises_expression_error(text: str) -> None:
    try:
        result = expression.evaluate(text, ATTRS)
    except ExpressionError as exc:
        assert 0 <= exc.position <= len(text)
    else:
        assert isinstance(result, str)


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=80))
def test_arbitrary_unicode_only_ever_raises_expression_error(text: str) -> None:
    try:
        expression.evaluate(text, ATTRS)
    except ExpressionError:
        pass


@pytest.mark.parametrize(
    "text",
    [
        "${x:__class__()}",
        "${__import__('os'):system('touch /tmp/flowyard-pwned')}",
        "${x:equals(__import__('os'))}",
        "${open('/etc/passwd')}",
        "${x:__getattribute__('upper')}",
        "${eval('1+1')}",
    ],
)
def test_expressions_cannot_reach_python(text: str) -> None:
    with pytest.raises(ExpressionError):
        expression.evaluate(text, ATTRS)
    assert not Path("/tmp/flowyard-pwned").exists()


def test_the_registry_holds_only_declared_functions() -> None:
    from flowyard.runtime.expression._registry import REGISTRY

    for name, fn in REGISTRY.items():
        assert name.isidentifier() and not name.startswith("_"), name
        assert fn.impl.__module__.startswith("flowyard.runtime.expression."), (name, fn.impl.__module__)


def test_deeply_nested_expressions_fail_cleanly() -> None:
    text = "${x:equals(" * 300 + "'a'" + ")}" * 300
    with pytest.raises(ExpressionError, match="nested more than 200 deep"):
        expression.compile(text)
    assert expression.evaluate("${x:equals(" * 150 + "'a'" + ")}" * 150, ATTRS) == "false"


def test_a_10_kb_expression_compiles_and_evaluates() -> None:
    # Its compile time is a benchmark (bench/bench_expression.py: el_compile_10kb), not a timed test.
    text = "${x:equals('abc'):and(${type:equals('a')})}" * 250
    assert len(text) > 10_000
    assert expression.compile(text).evaluate(ATTRS) == "true" * 250


# -- the command line -------------------------------------------------------------------------------


def run_el(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowyard.bootstrap.cli", "el", *args],
                          capture_output=True, text=True, timeout=60)


def test_cli_evaluates_with_attributes_and_parameters(tmp_path: Path) -> None:
    attrs = tmp_path / "a.json"
    attrs.write_text(json.dumps({"x": "abc", "n": 5}))
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"dir": "/data"}))
    result = run_el("#{dir}/${x} ${n}", "--attributes", str(attrs), "--parameters", str(params))
    assert (result.returncode, result.stdout) == (0, "/data/abc 5\n")
    typed = run_el("${x:equals('abc')}", "--attributes", str(attrs), "--typed")
    assert (typed.returncode, typed.stdout) == (0, "boolean: true\n")


def test_cli_shows_the_error_position_and_exits_2() -> None:
    result = run_el("ab ${x:nope()}")
    assert result.returncode == 2
    assert "unknown function 'nope' at position 7" in result.stderr
    assert result.stderr.splitlines()[-1] == "         ^"


def test_every_function_of_nifis_guide_is_implemented() -> None:
    guide = json.loads((Path(__file__).parent / "data" / "el_functions.json").read_text())
    names = {e["name"] for e in expression.catalogue()}
    assert {f["name"] for f in guide} == names


def test_next_int_counts_up_per_process() -> None:
    first = int(expression.evaluate("${nextInt()}"))
    second = int(expression.evaluate("${nextInt()}"))
    assert second == first + 1
