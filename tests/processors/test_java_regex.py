"""The Java regular expression translator the text processors share."""

from __future__ import annotations

import pytest

from flowyard.runtime.sdk.javaregex import (
    CASE_INSENSITIVE,
    COMMENTS,
    DOTALL,
    LITERAL,
    MULTILINE,
    UNICODE_CASE,
    UNICODE_CHARACTER_CLASS,
    UNIX_LINES,
    JavaRegexError,
    JavaReplacement,
    compile_java,
    java_regex_problem,
    quote_literal,
)


def found(pattern: str, text: str, flags: int = 0) -> list[str]:
    return [m.group() for m in compile_java(pattern, flags).regex.finditer(text)]


@pytest.mark.parametrize(
    ("pattern", "flags", "text", "expected"),
    [
        # Java's '.' stops at every line terminator; with DOTALL or (?s) it does not.
        (r"a.c", 0, "a\rc a\nc a\u2028c abc", ["abc"]),
        (r"a.c", UNIX_LINES, "a\rc a\nc", ["a\rc"]),
        (r"a.c", DOTALL, "a\rc a\nc", ["a\rc", "a\nc"]),
        (r"(?s)a.c", 0, "a\nc", ["a\nc"]),
        (r"(?s:a.)c.", 0, "a\nc\n", []),
        # '$' matches before a final line terminator, \r\n being one.
        (r"\w+$", 0, "ab\r\n", ["ab"]),
        (r"\w+$", 0, "ab\n\n", []),
        (r"(?m)^\w+$", 0, "ab\r\ncd\ref\n", ["ab", "cd", "ef"]),
        (r"^\w+$", MULTILINE, "ab\r\ncd", ["ab", "cd"]),
        (r"(?m)^", 0, "a\n", [""]),  # Java's multiline ^ never matches at the very end
        (r"x\Z", 0, "x\r\n", ["x"]),
        (r"x\z", 0, "x\n", []),
        # Flags, bits and inline.
        (r"abc", CASE_INSENSITIVE, "ABC", ["ABC"]),
        (r"a(?i)bc", 0, "aBC ABC", ["aBC"]),
        (r"(?i:a)b", 0, "Ab AB", ["Ab"]),
        (r"é", CASE_INSENSITIVE, "É", []),
        (r"é", CASE_INSENSITIVE | UNICODE_CASE, "É", ["É"]),
        ("a b # comment\n c", COMMENTS, "abc", ["abc"]),
        (r"(?x) [a b]+ ", 0, "ab a", ["ab", "a"]),
        (r"a.c", LITERAL, "abc a.c", ["a.c"]),
        # ASCII classes unless UNICODE_CHARACTER_CLASS.
        (r"\d+", 0, "12٣4", ["12", "4"]),
        (r"\d+", UNICODE_CHARACTER_CLASS, "12٣4", ["12٣4"]),
        (r"\w+", 0, "naïve", ["na", "ve"]),
        (r"[^\s]+", 0, "a b", ["a", "b"]),
        (r"[\D]+", 0, "a1b", ["a", "b"]),
        # Java syntax Python spells differently.
        (r"(?<y>\d{2})-\k<y>", 0, "12-12 12-13", ["12-12"]),
        (r"a++b", 0, "aaab", ["aaab"]),
        (r"(?>a|ab)c", 0, "abc ac", ["ac"]),
        (r"\Q.*\E+", 0, ".**.* x", [".**", ".*"]),
        (r"\p{Alpha}+\p{Digit}", 0, "abc1", ["abc1"]),
        (r"\p{Lu}\p{javaLowerCase}+", 0, "Été", ["Été"]),
        (r"\P{Punct}+", 0, "a,b", ["a", "b"]),
        (r"[\p{Upper}\d]+", 0, "AB12cd", ["AB12"]),
        (r"[a-c[x-z]]+", 0, "abxyz-", ["abxyz"]),
        (r"\h\v", 0, "\t\n", ["\t\n"]),
        (r"\x{41}\u0042\0103", 0, "ABC", ["ABC"]),
        (r"a\R", 0, "a\r\n", ["a\r\n"]),
        (r"(a)\11", 0, "aa1", ["aa1"]),  # \11 is group 1 then '1': only one group exists
        (r"x{2,3}", 0, "xxxx", ["xxx"]),
        (r"[&|~]+", 0, "&|~", ["&|~"]),
        (r"[\w-.]+@[\w.-]+", 0, "a-b.c@x-y.z!", ["a-b.c@x-y.z"]),  # "-" after a class shorthand is literal
        (r"[\p{Digit}-x]+", 0, "1-x5y", ["1-x5"]),
    ],
)
def test_matches_like_java(pattern: str, flags: int, text: str, expected: list[str]) -> None:
    assert found(pattern, text, flags) == expected


@pytest.mark.parametrize(
    ("pattern", "message", "position"),
    [
        ("(abc", "Unclosed group", 4),
        ("abc)", "Unmatched closing ')'", 3),
        ("a{", "Illegal repetition", 1),
        ("{1}", "Illegal repetition", 0),
        ("x{3,2}", "Illegal repetition range", 1),
        ("[a-z&&[^m]]", "intersection", 4),
        ("[a[^b]]", "negated nested", 2),
        ("\\p{IsLatin}", "unsupported character property", 0),
        ("\\Gabc", "not supported", 0),
        ("(?<n>a)(?<n>b)", "already defined", 10),
        ("\\k<m>", "does not exist", 0),
        ("(?P<n>a)", "Unknown inline modifier", 2),
        ("[abc", "Unclosed character class", 0),
        ("ab\\", "trailing backslash", 2),
        ("a**", "multiple repeat", 2),
        ("ab(?<!c+)", "look-behind requires fixed-width pattern", None),  # Python knows no position
    ],
)
def test_errors_name_the_position(pattern: str, message: str, position: int | None) -> None:
    with pytest.raises(JavaRegexError) as caught:
        compile_java(pattern)
    assert message in str(caught.value)
    assert caught.value.position == position


def test_group_count_and_names() -> None:
    compiled = compile_java(r"(?<a>x)(y)(?:z)(?=w)")
    assert compiled.group_count == 2
    assert compiled.group_names == ("a",)


def test_problem_checks_the_group_count() -> None:
    assert java_regex_problem("(a)(b)", min_groups=1, max_groups=40) is None
    problem = java_regex_problem("ab", min_groups=1)
    assert problem is not None and "at least 1" in problem
    problem = java_regex_problem("(ab", min_groups=1)
    assert problem is not None and "position 3" in problem


def test_quote_literal_round_trips() -> None:
    text = "a.b*c\\d$e(f)[g]{h}|i?j+k^l #m\nn"
    assert found(quote_literal(text), "xx" + text + "yy") == [text]


@pytest.mark.parametrize(
    ("pattern", "replacement", "text", "expected"),
    [
        ("(ell)", "[$1]", "Hello", "H[ell]o"),
        ("(ell)", "$123", "Hello", "Hell23o"),
        ("ell", "$0123", "Hello", "Hell123o"),
        ("(?<mid>ell)", "<${mid}>", "Hello", "H<ell>o"),
        ("(ell)", "\\$1\\\\", "Hello", "H$1\\o"),
        ("(e)?(x)?ll", "[$2]", "Hello", "H[]o"),
    ],
)
def test_replacement_strings(pattern: str, replacement: str, text: str, expected: str) -> None:
    compiled = compile_java(pattern)
    assert compiled.regex.sub(JavaReplacement(replacement, compiled).as_function(), text) == expected


@pytest.mark.parametrize(
    ("replacement", "message"),
    [("$", "group index is missing"), ("$x", "Illegal group reference"), ("$2", "No group 2"),
     ("\\", "character to be escaped is missing"), ("${nope}", "No group with name {nope}"),
     ("${a", "missing trailing '}'")],
)
def test_bad_replacement_strings(replacement: str, message: str) -> None:
    with pytest.raises(JavaRegexError, match=message.replace("{", r"\{").replace("}", r"\}")):
        JavaReplacement(replacement, compile_java("(a)"))
