"""Places where flowyard's Expression Language differed from NiFi, each checked against NiFi.

Sources: NiFi's lexer (``AttributeExpressionLexer.g``: ``WHOLE_NUMBER : OP? ('0'..'9')+``,
``DECIMAL`` likewise, ``OP: '+'|'-'``), ``DateCastEvaluator``/``InstantCastEvaluator`` (text is
epoch milliseconds when it matches ``\\d+``), ``DateAmountParser`` and ``DateAmountParserTest``
(``<integer> <unit>``, units nanosecond to year, no sign, checked when compiling),
``JoinEvaluator``/``CountEvaluator`` (reduce over the values the subject gives, one for a single
attribute), the Expression Language Guide's ``format`` examples, and ``TestQuery.testEscape`` /
``testIsValidExpression`` / ``testPrepareWithEscapeChar``.
"""

from __future__ import annotations

import pytest

from flowyard.runtime import expression
from flowyard.runtime.expression import ExpressionError, evaluate

ATTRS = {"x": "10", "time": "1420058163264", "abc": "xyz", "xyz": "hello", "$xyz": "good-bye",
         "${abc}": "good-bye", "foo": "bar", "word": "abc", "neg": "-5", "hex": "0x10",
         "iso": "2014-12-31T20:36:03.264Z"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # signed number literals
        ("${literal(+5.5)}", "5.5"),
        ("${literal(-5.5)}", "-5.5"),
        ("${literal(+5)}", "5"),
        ("${x:plus(-5)}", "5"),
        ("${x:plus(+5)}", "15"),
        ("${x:minus(-2.5)}", "12.5"),
        ("${x:multiply(-1):plus(+3)}", "-7"),
        ("${x:gt(-1)}", "true"),
        ("${literal(-.5e1)}", "-5.0"),
        # format and toInstant on epoch milliseconds (the guide's format examples)
        ("${time:format(\"yyyy/MM/dd HH:mm:ss.SSS'Z'\", \"GMT\")}", "2014/12/31 20:36:03.264Z"),
        ("${time:format(\"yyyy/MM/dd HH:mm:ss.SSS'Z'\", \"America/Los_Angeles\")}", "2014/12/31 12:36:03.264Z"),
        ("${time:format(\"yyyy/MM/dd HH:mm:ss.SSS'Z'\", \"Asia/Tokyo\")}", "2015/01/01 05:36:03.264Z"),
        ("${time:toNumber():format('yyyy', 'GMT')}", "2014"),
        ("${time:toInstant():toNumber()}", "1420058163264"),
        ("${time:toNumber():toInstant():formatInstant('yyyy-MM-dd', 'UTC')}", "2014-12-31"),
        ("${time:toDecimal():toInstant():toNumber()}", "1420058163264"),
        ("${time:formatInstant('HH:mm:ss', 'UTC')}", "20:36:03"),
        # toInstant()/toDate() without arguments: the subject as a whole number is epoch milliseconds
        # (NumberToInstantEvaluator / NumberToDateEvaluator over WholeNumberCastEvaluator)
        ("${time:toInstant():toNumber()}", "1420058163264"),
        ("${neg:toInstant():toNumber()}", "-5"),
        ("${neg:toDate():toNumber()}", "-5"),
        ("${hex:toInstant():toNumber()}", "16"),
        ("${iso:toInstant()}", ""),  # not a number: null (formatInstant parses it)
        ("${iso:formatInstant('yyyy', 'UTC')}", "2014"),
        ("${word:toDate()}", ""),
        # join and count after a single attribute: the one value
        ("${word:join(', ')}", "abc"),
        ("${missing:join(', ')}", ""),
        ("${word:join(','):toUpper()}", "ABC"),
        ("${word:count()}", "1"),
        ("${missing:count()}", "0"),
        ("${word:isEmpty():count()}", "0"),
        ("${allAttributes('word', 'missing', 'x'):join(',')}", "abc,,10"),  # JoinEvaluator: null joins as ''
        # durations NiFi accepts (DateAmountParserTest)
        ("${time:plusDuration('2 WEEKS'):toNumber()}", str(1420058163264 + 14 * 86400000)),
        ("${time:toInstant():plusInstantDuration('  2   weeks  '):toNumber()}", str(1420058163264 + 14 * 86400000)),
        ("${time:minusInstantDuration('0 days'):toNumber()}", "1420058163264"),
    ],
)
def test_evaluates_as_nifi(text: str, expected: str) -> None:
    assert evaluate(text, ATTRS) == expected


# TestQuery.testEscape, testPrepareWithEscapeChar
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$$$$${abc}", "$$xyz"),
        ("$${abc}", "${abc}"),
        ("$$${abc}", "$xyz"),
        ("$$$${abc}", "$${abc}"),
        ("Unescaped $$${5 because no closing brace", "Unescaped $$${5 because no closing brace"),
        ("Unescaped $$${'5'} because no closing brace", "Unescaped $ because no closing brace"),
        ("You owe me $$5 too", "You owe me $$5 too"),
        ("${abc} owes me ${5", "xyz owes me ${5"),
        ("${abc} owes me $$${'5'}", "xyz owes me $"),
        ("${literal('SNAP$$')}", "SNAP$$"),
        ("${'$$${abc}'}", "good-bye"),
        ("${foo}$${foo}$$${foo}", "bar${foo}$bar"),
        ("foo${foo}$${foo}bar${bar}$${bar}", "foobar${foo}bar${bar}"),
    ],
)
def test_escapes(text: str, expected: str) -> None:
    assert evaluate(text, ATTRS) == expected


def test_escaped_expression_validity() -> None:
    # Query.validateExpression("$${attr}", true) passes; with false ("only one expression") it throws.
    assert expression.compile("$${attr}").evaluate({}) == "${attr}"
    with pytest.raises(ExpressionError):
        expression.result_type("$${attr}")


@pytest.mark.parametrize(
    ("text", "attributes"),
    [
        # formatInstant casts as InstantCastEvaluator: \d+ (no sign), ISO-8601, RFC 1123, nothing else
        ("${t:formatInstant('yyyy', 'UTC')}", {"t": "-5"}),
        ("${t:formatInstant('yyyy', 'UTC')}", {"t": "+5"}),
        ("${t:formatInstant('yyyy', 'UTC')}", {"t": "1.5e3"}),
        ("${t:formatInstant('yyyy', 'UTC')}", {"t": "2014/12/31 20:36:03"}),  # a DATE form, not an INSTANT one
        ("${t:formatInstant('yyyy', 'UTC')}", {"t": "Wed Dec 31 20:36:03 UTC 2014"}),
        ("${t:format('yyyy', 'UTC')}", {"t": "2014.5"}),
        ("${t:format('yyyy', 'UTC')}", {"t": "-5"}),
        ("${t:format('yyyy', 'UTC')}", {"t": "\u0661\u0662"}),  # Java's \d is ASCII
        ("${t:formatInstant('yyyy', 'UTC')}", {"t": "\u00b2"}),
        ("${time:plusDuration(${d})}", {"time": "1", "d": "-1 day"}),  # a refused amount from an attribute
    ],
)
def test_refused_at_evaluation(text: str, attributes: dict[str, str]) -> None:
    with pytest.raises(ExpressionError):
        evaluate(text, attributes)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        # DateAmountParser.validate runs when the evaluator is built from a literal amount
        ("${time:plusDuration('-1 days')}", 7),
        ("${time:minusDuration('500 milliseconds')}", 7),
        ("${time:plusInstantDuration('1 fortnight')}", 7),
        ("${time:minusInstantDuration('1.5 days')}", 7),
        ("${time:plusDuration('1days')}", 7),
        # "Cannot implicitly convert Data Type BOOLEAN to DATE" is a parsing exception in NiFi
        ("${time:isEmpty():format('yyyy')}", 17),
        ("${time:isEmpty():toInstant()}", 17),
        ("${time:isEmpty():formatInstant('yyyy', 'UTC')}", 17),
        # toInstant takes no argument or two; formatInstant two; toMicros/toNanos an INSTANT subject
        ("${time:toInstant('yyyy')}", 7),
        ("${time:formatInstant('yyyy')}", 7),
        ("${time:toMicros()}", 7),
        ("${time:toNumber():toNanos()}", 18),
        # join cannot reduce an any* expression
        ("${anyAttribute('a', 'b'):join(',')}", 25),
    ],
)
def test_refused_when_compiling(text: str, position: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        expression.compile(text)
    assert caught.value.position == position
