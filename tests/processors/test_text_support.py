"""The helpers the text processors share: NiFi's lines, its buffer limit, substitution and escaping."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from flowyard.processors._text_support import (
    LineBufferOverflow,
    SubstitutionCycleError,
    escape_back_references,
    escape_literal_back_references,
    is_single_expression,
    iter_lines,
    java_trim,
    line_ending,
    normalize_replacement,
    substitute_variables,
)


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", []),
        ("ABC\rXYZ\nABCXYZ\r\nhello", ["ABC\r", "XYZ\n", "ABCXYZ\r\n", "hello"]),
        ("a\r\r\nb\n\n", ["a\r", "\r\n", "b\n", "\n"]),
        ("\r", ["\r"]),
    ],
)
def test_lines_keep_their_endings(text: str, lines: list[str]) -> None:
    assert list(iter_lines([text])) == lines


def test_lines_do_not_depend_on_chunking() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        text = "".join(rng.choice("ab\r\n") for _ in range(rng.randint(0, 24)))
        cuts = sorted(rng.sample(range(len(text) + 1), min(len(text) + 1, rng.randint(0, 6))))
        chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
        assert list(iter_lines(chunks)) == list(iter_lines([text]))


@pytest.mark.parametrize(
    ("length", "maximum", "fits"),
    [
        (8000, 1, True),          # within the initial 8192-character buffer
        (8191, 1, True),
        (9000, 10_000, False),    # the buffer must grow to 16384 > 10000
        (9000, 16_384, True),
        (20_000, 32_768, True),
        (40_000, 32_768, False),
    ],
)
def test_line_buffer_grows_as_nifis(length: int, maximum: int, fits: bool) -> None:
    text = "x" * (length - 1) + "\n"
    if fits:
        assert list(iter_lines([text], maximum)) == [text]
    else:
        with pytest.raises(LineBufferOverflow):
            list(iter_lines([text], maximum))


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("${a} and ${b}", {"a": "1", "b": "2"}, "1 and 2"),
        ("$${a}", {"a": "1"}, "${a}"),
        ("${}", {}, "${}"),
        ("${x:-fallback}", {}, "fallback"),
        ("${x:-}", {}, ""),
        ("${a}", {"a": "${b}", "b": "deep"}, "deep"),
        ("${a${b}}", {"b": "c", "ac": "no"}, "${a${b}}"),
        ("${unclosed", {"unclosed": "x"}, "${unclosed"),
        ("$$", {}, "$$"),
    ],
)
def test_substitute_variables(text: str, variables: dict[str, str], expected: str) -> None:
    assert substitute_variables(text, variables) == expected


def test_substitution_cycles_are_refused() -> None:
    with pytest.raises(SubstitutionCycleError):
        substitute_variables("${a}", {"a": "x${b}", "b": "${a}"})


@pytest.mark.parametrize(
    ("value", "groups", "expected"),
    [
        ("$1$2", 1, "$1\\$2"),
        ("$123", 1, "$123"),        # read as $1 then "23"
        ("a$123", 0, "a$123"),      # no groups: left as is
        ("x$0123", 1, "x$0123"),    # starts with 0: left
        ("x$5", 2, "x\\$5"),
        ("$5", 2, "$5"),            # a leading $ is not considered, as in NiFi
    ],
)
def test_escape_literal_back_references(value: str, groups: int, expected: str) -> None:
    assert escape_literal_back_references(value, groups) == expected


def test_normalize_and_decorate() -> None:
    assert normalize_replacement("a$b\\c") == "a\\$b\\\\c"
    assert normalize_replacement("a$1") == "a$1"
    assert escape_back_references("cost $5 or $x") == "cost \\$5 or $x"


def test_trim_and_line_ending() -> None:
    assert java_trim("\x00 \tab c\x1f\n") == "ab c"
    assert line_ending("abc\r\n") == "\r\n"
    assert line_ending("abc") == ""


def test_an_endless_line_fails_before_it_is_all_buffered() -> None:
    def chunks() -> Iterator[str]:
        for _ in range(100):
            yield "x" * 10_000
        raise AssertionError("read on although the line could not fit")

    with pytest.raises(LineBufferOverflow):
        list(iter_lines(chunks(), 50_000))


@pytest.mark.parametrize(
    ("raw", "single"),
    [("${a}", True), ("${a:equals('}')}", True), ("${a:append(${b})}", True), ("${a}b", False), ("x${a}", False),
     ("${a}${b}", False), ("$${a}", False), ("${a", False), ("plain", False)],
)
def test_single_expression(raw: str, single: bool) -> None:
    assert is_single_expression(raw) is single
