"""Every built-in validator: values it accepts, values it refuses with the exact
explanation, the combinators, and that no string makes one raise."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowyard.runtime.sdk import validators
from flowyard.runtime.sdk.validators import (
    BOOLEAN,
    CHARACTER_SET,
    DATA_SIZE,
    INTEGER,
    NON_EMPTY,
    NON_NEGATIVE_INTEGER,
    NUMBER,
    PORT,
    POSITIVE_INTEGER,
    REGEX,
    TIME_PERIOD,
    URL,
    Validator,
    all_of,
    integer_range,
    one_of_values,
)

URL_TAIL = "; expected an absolute URL such as 'https://example.com/path'"
BUILT_IN = [v for v in vars(validators).values() if isinstance(v, Validator)]


def shown(text: str) -> str:
    """``text`` as explanations quote it: repr, cut to 60 characters plus the length."""
    return repr(text) if len(text) <= 60 else f"{text[:60]!r}... ({len(text)} characters)"


@pytest.mark.parametrize(
    ("validator", "value"),
    [
        (NON_EMPTY, "x"),
        (NON_EMPTY, " x "),
        (INTEGER, "10"),
        (INTEGER, "-3"),
        (INTEGER, " +7 "),
        (INTEGER, "2147483647"),
        (INTEGER, "-2147483648"),
        (POSITIVE_INTEGER, "1"),
        (NON_NEGATIVE_INTEGER, "0"),
        (PORT, "1"),
        (PORT, "65535"),
        (PORT, " 80\n"),
        (NUMBER, "2.5"),
        (NUMBER, "1e-3"),
        (NUMBER, ".5"),
        (NUMBER, "5."),
        (NUMBER, "-0"),
        (NUMBER, " 3 "),
        (BOOLEAN, "true"),
        (BOOLEAN, "FALSE"),
        (BOOLEAN, " True "),
        (TIME_PERIOD, "30 sec"),
        (TIME_PERIOD, " 5 MIN "),
        (DATA_SIZE, "10 KB"),
        (REGEX, "a+"),
        (REGEX, ""),
        (URL, "https://example.com/path"),
        (URL, "http://host:8080"),
        (URL, "ftp://h"),
        (URL, "file:///tmp/data"),
        (URL, "mailto:someone@example.com"),
        (URL, "urn:isbn:0451450523"),
        (URL, "data:,x"),
        (CHARACTER_SET, "UTF-8"),
        (CHARACTER_SET, "utf8"),
        (CHARACTER_SET, "ISO-8859-1"),
    ],
)
def test_valid_values(validator: Validator, value: str) -> None:
    assert validator(value) is None


@pytest.mark.parametrize(
    ("validator", "value", "explanation"),
    [
        (NON_EMPTY, "", "'' is blank: expected some text"),
        (NON_EMPTY, " \t", "' \\t' is blank: expected some text"),
        (INTEGER, "1.5", "'1.5' is not an integer: expected a whole number such as '10'"),
        (INTEGER, "", "'' is not an integer: expected a whole number such as '10'"),
        (INTEGER, "٣", "'٣' is not an integer: expected a whole number such as '10'"),  # ASCII digits only
        (POSITIVE_INTEGER, "0", "'0' is not a positive integer: expected a whole number >= 1"),
        (POSITIVE_INTEGER, "2147483648", "'2147483648' is too large: at most 2147483647 (as NiFi, whose integers "
                                         "are 32-bit)"),
        (INTEGER, "9" * 30, f"'{'9' * 30}' is too large: at most 2147483647 (as NiFi, whose integers are 32-bit)"),
        (POSITIVE_INTEGER, "-1", "'-1' is not a positive integer: expected a whole number >= 1"),
        (POSITIVE_INTEGER, "x", "'x' is not a positive integer: expected a whole number such as '10'"),
        (NON_NEGATIVE_INTEGER, "-1", "'-1' is not a non-negative integer: expected a whole number >= 0"),
        (PORT, "0", "'0' is not a valid port: expected a whole number from 1 to 65535"),
        (PORT, "65536", "'65536' is not a valid port: expected a whole number from 1 to 65535"),
        (PORT, "http", "'http' is not a valid port: expected a whole number such as '10'"),
        (NUMBER, "nan", "'nan' is not a number: expected a finite decimal such as '2.5' or '1e-3'"),
        (NUMBER, "inf", "'inf' is not a number: expected a finite decimal such as '2.5' or '1e-3'"),
        (NUMBER, "1e400", "'1e400' is not a number: expected a finite decimal such as '2.5' or '1e-3'"),
        (NUMBER, "1,5", "'1,5' is not a number: expected a finite decimal such as '2.5' or '1e-3'"),
        (BOOLEAN, "yes", "'yes' is not a boolean: expected 'true' or 'false'"),
        (BOOLEAN, "1", "'1' is not a boolean: expected 'true' or 'false'"),
        (TIME_PERIOD, "30", "'30' is not a valid time period: the unit is missing; expected a number followed "
                            "by a unit, such as '30 sec'"),
        (TIME_PERIOD, "-1 sec", "'-1 sec' is not a valid time period: a time period cannot be negative"),
        (DATA_SIZE, "10 XB", "'10 XB' is not a valid data size: unknown unit 'XB'; expected one of B, KB, MB, GB, TB"),
        (REGEX, "(", "'(' is not a valid regular expression: Unclosed group at position 1"),
        (REGEX, "ab[c-", "'ab[c-' is not a valid regular expression: Unclosed character class at position 2"),
        (REGEX, "a{99999999999}", "'a{99999999999}' is not a valid regular expression: the pattern is too "
                                  "large or too deeply nested (the repetition number is too large)"),
        (URL, "", "'' is not a valid URL: it is empty or contains whitespace or control characters" + URL_TAIL),
        (URL, "http://a b", "'http://a b' is not a valid URL: it is empty or contains whitespace or control "
                            "characters" + URL_TAIL),
        (URL, "http://a\x7f", "'http://a\\x7f' is not a valid URL: it is empty or contains whitespace or control "
                              "characters" + URL_TAIL),
        (URL, "example.com/x", "'example.com/x' is not a valid URL: the scheme is missing" + URL_TAIL),
        (URL, "1http://x", "'1http://x' is not a valid URL: the scheme is missing" + URL_TAIL),
        (URL, "C:\\data", "'C:\\\\data' is not a valid URL: the scheme has one letter, which looks like a "
                          "Windows drive" + URL_TAIL),
        (URL, "http://", "'http://' is not a valid URL: the host is missing" + URL_TAIL),
        (URL, "http://user@/", "'http://user@/' is not a valid URL: the host is missing" + URL_TAIL),
        (URL, "http://host:0/", "'http://host:0/' is not a valid URL: port 0 is not a valid port" + URL_TAIL),
        (URL, "http://host:99999/", "'http://host:99999/' is not a valid URL: Port out of range 0-65535" + URL_TAIL),
        (URL, "file:tmp/data", "'file:tmp/data' is not a valid URL: a file URL needs an absolute path, such as "
                               "'file:///tmp/data'" + URL_TAIL),
        (URL, "mailto:", "'mailto:' is not a valid URL: nothing follows the scheme" + URL_TAIL),
        (CHARACTER_SET, "nope", "'nope' is not a known character set: expected a name such as 'UTF-8'"),
        (CHARACTER_SET, "", "'' is not a known character set: expected a name such as 'UTF-8'"),
        (CHARACTER_SET, "base64", "'base64' is not a text character set: expected a name such as 'UTF-8'"),
        (CHARACTER_SET, "rot13", "'rot13' is not a text character set: expected a name such as 'UTF-8'"),
    ],
)
def test_invalid_values_are_explained(validator: Validator, value: str, explanation: str) -> None:
    assert validator(value) == explanation


def test_a_long_value_is_shortened_in_the_explanation() -> None:
    assert INTEGER("x" * 60) == f"{'x' * 60!r} is not an integer: expected a whole number such as '10'"
    assert INTEGER("x" * 61) == (
        f"{'x' * 60!r}... (61 characters) is not an integer: expected a whole number such as '10'"
    )


# -- files and directories ------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file and a directory in the working directory, so relative paths stay short in messages."""
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "dir").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("validator", "path", "explanation"),
    [
        (validators.FILE_EXISTS, "file.txt", None),
        (validators.FILE_EXISTS, "dir", "'dir' is a directory, not a file"),
        (validators.FILE_EXISTS, "missing", "'missing' does not exist or is not a file"),
        (validators.DIRECTORY_EXISTS, "dir", None),
        (validators.DIRECTORY_EXISTS, "file.txt", "'file.txt' is not a directory"),
        (validators.DIRECTORY_EXISTS, "missing", "'missing' does not exist"),
        (validators.CREATABLE_DIRECTORY, "dir", None),
        (validators.CREATABLE_DIRECTORY, "missing/deeper/still", None),
        (validators.CREATABLE_DIRECTORY, "file.txt", "'file.txt' exists but is not a directory"),
    ],
)
def test_path_validators(tree: Path, validator: Validator, path: str, explanation: str | None) -> None:
    assert validator(path) == explanation


def test_creatable_directory_names_the_ancestor_that_is_a_file(tree: Path) -> None:
    ancestor = shown(str(tree / "file.txt"))
    assert validators.CREATABLE_DIRECTORY("file.txt/sub/deeper") == (
        f"'file.txt/sub/deeper' cannot be created: {ancestor} is not a directory"
    )


@pytest.mark.parametrize(
    "validator", [validators.FILE_EXISTS, validators.DIRECTORY_EXISTS, validators.CREATABLE_DIRECTORY]
)
@pytest.mark.parametrize(
    ("value", "explanation"),
    [
        ("", "'' is not a valid path: it is blank"),
        ("  ", "'  ' is not a valid path: it is blank"),
        ("a\x00b", "'a\\x00b' is not a valid path: it contains a NUL character"),
    ],
)
def test_path_validators_refuse_blank_and_nul(validator: Validator, value: str, explanation: str) -> None:
    assert validator(value) == explanation


def test_creatable_directory_needs_a_writable_ancestor(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, for whom every directory is writable: ask a fake os.access instead.
    monkeypatch.setattr(validators.os, "access", lambda path, mode: Path(path).name != "dir")
    assert validators.CREATABLE_DIRECTORY("dir/new/newer") == (
        f"'dir/new/newer' cannot be created: {shown(str(tree / 'dir'))} is not writable"
    )
    assert validators.CREATABLE_DIRECTORY("other/new") is None


# -- integer_range ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minimum", "maximum", "description", "valid", "invalid"),
    [
        (1, 10, "a whole number from 1 to 10", ["1", "5", "10", " 10 "], ["0", "11", "-1"]),
        (5, 5, "a whole number from 5 to 5", ["5"], ["4", "6"]),
        (0, None, "a whole number >= 0", ["0", "99999999999999999999"], ["-1"]),
        (None, 3, "a whole number <= 3", ["3", "-100"], ["4"]),
        (None, None, "a whole number", ["-5", "5"], []),
    ],
)
def test_integer_range(
    minimum: int | None, maximum: int | None, description: str, valid: list[str], invalid: list[str]
) -> None:
    validator = integer_range(minimum, maximum)
    assert (validator.name, validator.description) == ("integer range", description)
    for value in valid:
        assert validator(value) is None, value
    for value in invalid:
        assert validator(value) == f"{value!r} is not in range: expected {description}"
    assert validator("2.0") == "'2.0' is not in range: expected a whole number such as '10'"


def test_integer_range_refuses_an_empty_range() -> None:
    with pytest.raises(ValueError, match="integer_range: minimum 2 is greater than maximum 1"):
        integer_range(2, 1)


# -- combinators ------------------------------------------------------------------------


def test_all_of_returns_the_first_explanation_in_order() -> None:
    validator = all_of(NON_EMPTY, POSITIVE_INTEGER, integer_range(None, 10))
    assert validator.name == "non-empty and positive integer and integer range"
    assert validator.description == "any text that is not blank; a whole number >= 1; a whole number <= 10"
    assert validator("5") is None
    assert validator(" ") == "' ' is blank: expected some text"
    assert validator("0") == "'0' is not a positive integer: expected a whole number >= 1"
    assert validator("11") == "'11' is not in range: expected a whole number <= 10"


def test_all_of_needs_a_validator() -> None:
    with pytest.raises(ValueError, match="all_of needs at least one validator"):
        all_of()


@pytest.mark.parametrize(
    ("case_sensitive", "value", "explanation"),
    [
        (True, "fast", None),
        (True, "Fast", "'Fast' is not one of 'fast', 'safe'"),
        (True, " fast", "' fast' is not one of 'fast', 'safe'"),
        (False, "Fast", None),
        (False, "SAFE", None),
        (False, "slow", "'slow' is not one of 'fast', 'safe'"),
    ],
)
def test_one_of_values(case_sensitive: bool, value: str, explanation: str | None) -> None:
    validator = one_of_values(iter(["fast", "safe"]), case_sensitive=case_sensitive)
    assert validator(value) == explanation
    suffix = "" if case_sensitive else " (any case)"
    assert validator.description == f"one of 'fast', 'safe'{suffix}"


def test_one_of_values_needs_a_value() -> None:
    with pytest.raises(ValueError, match="one_of_values needs at least one value"):
        one_of_values([])


def test_validators_are_hashable_records() -> None:
    assert {NON_EMPTY, NON_EMPTY} == {NON_EMPTY}
    with pytest.raises(AttributeError):
        NON_EMPTY.name = "other"  # type: ignore[misc]


@settings(database=None, max_examples=500)
@given(st.text())
def test_no_built_in_validator_raises(value: str) -> None:
    with warnings.catch_warnings():
        # re warns about some patterns such as '[['; see test_regex_does_not_leak_re_warnings.
        warnings.simplefilter("ignore", FutureWarning)
        for validator in BUILT_IN:
            explanation = validator(value)
            assert explanation is None or isinstance(explanation, str)


def test_regex_does_not_leak_re_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert REGEX("[[a]]") is None


@pytest.mark.parametrize("value", ["(" * 5000 + ")" * 5000, "http://[::1", "http://[x]/", "a" * 5000, "\x00"])
def test_no_built_in_validator_raises_on_hostile_text(value: str) -> None:
    for validator in BUILT_IN:
        explanation = validator(value)
        assert explanation is None or isinstance(explanation, str)
