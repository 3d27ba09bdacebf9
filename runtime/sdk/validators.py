"""Property validators: named checks on a configured text value.

A ``Validator`` is a frozen record of a short ``name`` (shown in docs, e.g.
``"time period"``), a one-line ``description`` of a valid value, and a
``check`` function. Calling it with a value returns ``None`` when the value is
valid, otherwise a human explanation that quotes the value::

    >>> TIME_PERIOD("30 sec") is None
    True
    >>> POSITIVE_INTEGER("0")
    "'0' is not a positive integer: expected a whole number >= 1"

The built-in validators never raise, whatever string they are given; write
custom ``check`` functions the same way. Number-like validators (integers,
numbers, booleans, time periods, data sizes, ports) ignore surrounding
whitespace, exactly as ``PropertyValue.as_int`` and friends do; the others
check the value verbatim.

Compose with ``all_of`` (every check must pass) and ``one_of_values``.
"""

from __future__ import annotations

import codecs
import functools
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flowyard.runtime.sdk._units import _show, parse_data_size, parse_duration

__all__ = [
    "BOOLEAN",
    "BOOLEAN_EXPRESSION",
    "CHARACTER_SET",
    "CREATABLE_DIRECTORY",
    "DATA_SIZE",
    "DIRECTORY_EXISTS",
    "EXPRESSION",
    "FILE_EXISTS",
    "INTEGER",
    "NON_EMPTY",
    "NON_NEGATIVE_INTEGER",
    "NUMBER",
    "PORT",
    "POSITIVE_INTEGER",
    "REGEX",
    "TIME_PERIOD",
    "URL",
    "Validator",
    "all_of",
    "integer_range",
    "one_of_values",
]


@dataclass(frozen=True, slots=True)
class Validator:
    """A named check of a property value.

    ``check(value)`` returns ``None`` for a valid value and otherwise an
    explanation without a trailing period, quoting the value. It must not
    raise for any string. Instances are immutable and hashable, so specs
    holding them can be compared and shared.

    A validator normally judges only literal values: in a property that takes
    Expression Language, a value holding ``${`` is checked after evaluation.
    ``checks_expressions=True`` marks a validator of the expression text itself
    (``BOOLEAN_EXPRESSION``), which runs on such values too.
    """

    name: str
    description: str
    check: Callable[[str], str | None]
    checks_expressions: bool = False

    def __call__(self, value: str) -> str | None:
        """``None`` if ``value`` is valid, else why it is not."""
        return self.check(value)


# -- parsing shared with PropertyValue's conversions -------------------------

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
# Python refuses longer integer strings (sys.int_info.default_max_str_digits).
_MAX_DIGITS = 4000


def _parse_int(value: str) -> int | None:
    """``value`` as an int (ASCII digits, optional sign, surrounding
    whitespace ignored), or ``None``."""
    text = value.strip()
    if len(text) > _MAX_DIGITS or _INTEGER_TEXT.fullmatch(text) is None:
        return None
    return int(text)


def _parse_float(value: str) -> float | None:
    """``value`` as a finite float (decimal or exponent notation, surrounding
    whitespace ignored; no ``nan``/``inf``), or ``None``."""
    text = value.strip()
    if len(text) > _MAX_DIGITS or _NUMBER_TEXT.fullmatch(text) is None:
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def _parse_bool(value: str) -> bool | None:
    """``True``/``False`` for ``"true"``/``"false"`` in any case, else ``None``."""
    text = value.strip().lower()
    if text == "true":
        return True
    if text == "false":
        return False
    return None


@functools.lru_cache(maxsize=1024)
def _regex_problem(value: str) -> str | None:
    """Why ``value`` is not a Java regular expression flowyard can run (NiFi's
    properties take ``java.util.regex`` patterns; see ``flowyard.runtime.sdk.javaregex``),
    or ``None`` (remembered: validating thousands of processors must not compile
    the same pattern thousands of times)."""
    from flowyard.runtime.expression._javaregex import JavaRegexError, compile_java

    try:
        with warnings.catch_warnings():
            # "Possible nested set" and similar are advice about a valid
            # pattern, not errors; when warnings are errors they must not
            # escape a validator that promises never to raise.
            warnings.simplefilter("ignore", FutureWarning)
            compile_java(value)
    except JavaRegexError as exc:
        return f"{_show(value)} is not a valid regular expression: {exc}"
    except (OverflowError, RecursionError, ValueError) as exc:
        # Huge repeat counts and extreme nesting escape the translator's checks.
        return f"{_show(value)} is not a valid regular expression: {exc}"
    return None


# -- simple values -----------------------------------------------------------


def _check_non_empty(value: str) -> str | None:
    return None if value.strip() else f"{_show(value)} is blank: expected some text"


NON_EMPTY = Validator("non-empty", "any text that is not blank", _check_non_empty)
"""Text that is not empty after stripping whitespace."""


#: NiFi's integer validators parse with Java's ``Integer.parseInt``: nothing beyond a 32-bit int.
INT_MAX = 2_147_483_647


def _integer_checker(
    minimum: int | None, maximum: int | None, what: str, expected: str, *, java_int: bool = False
) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        number = _parse_int(value)
        if number is None:
            return f"{_show(value)} is not {what}: expected a whole number such as '10'"
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            return f"{_show(value)} is not {what}: expected {expected}"
        if java_int and not -INT_MAX - 1 <= number <= INT_MAX:
            return f"{_show(value)} is too large: at most {INT_MAX} (as NiFi, whose integers are 32-bit)"
        return None

    return check


INTEGER = Validator(
    "integer",
    "a whole number, such as '10' or '-3'",
    _integer_checker(None, None, "an integer", "", java_int=True),
)
"""A whole number in Java's int range (ASCII digits, optional sign), as NiFi's INTEGER_VALIDATOR."""

POSITIVE_INTEGER = Validator(
    "positive integer",
    "a whole number >= 1",
    _integer_checker(1, None, "a positive integer", "a whole number >= 1", java_int=True),
)
"""A whole number from 1 to 2147483647 (NiFi's POSITIVE_INTEGER_VALIDATOR)."""

NON_NEGATIVE_INTEGER = Validator(
    "non-negative integer",
    "a whole number >= 0",
    _integer_checker(0, None, "a non-negative integer", "a whole number >= 0", java_int=True),
)
"""A whole number from 0 to 2147483647 (NiFi's NON_NEGATIVE_INTEGER_VALIDATOR)."""

PORT = Validator(
    "port",
    "a TCP/UDP port number from 1 to 65535",
    _integer_checker(1, 65535, "a valid port", "a whole number from 1 to 65535"),
)
"""A network port number, 1 to 65535."""


def integer_range(minimum: int | None, maximum: int | None) -> Validator:
    """A whole number from ``minimum`` to ``maximum``, both inclusive.

    ``None`` leaves that end open. Raises ``ValueError`` when
    ``minimum > maximum``, since no value could ever pass.
    """
    if minimum is not None and maximum is not None and minimum > maximum:
        raise ValueError(f"integer_range: minimum {minimum} is greater than maximum {maximum}")
    if minimum is None and maximum is None:
        expected = "a whole number"
    elif maximum is None:
        expected = f"a whole number >= {minimum}"
    elif minimum is None:
        expected = f"a whole number <= {maximum}"
    else:
        expected = f"a whole number from {minimum} to {maximum}"
    return Validator(
        "integer range", expected, _integer_checker(minimum, maximum, "in range", expected)
    )


def _check_number(value: str) -> str | None:
    if _parse_float(value) is None:
        return f"{_show(value)} is not a number: expected a finite decimal such as '2.5' or '1e-3'"
    return None


NUMBER = Validator("number", "a finite decimal number, such as '2.5' or '1e-3'", _check_number)
"""A finite decimal number (``nan`` and ``inf`` are rejected)."""


def _check_boolean(value: str) -> str | None:
    if _parse_bool(value) is None:
        return f"{_show(value)} is not a boolean: expected 'true' or 'false'"
    return None


BOOLEAN = Validator("boolean", "'true' or 'false' (any case)", _check_boolean)
"""``true`` or ``false``, case-insensitive."""

_NIFI_TYPES = {"whole_number": "WHOLE_NUMBER", "decimal": "DECIMAL", "number": "NUMBER", "string": "STRING",
               "boolean": "BOOLEAN", "date": "DATE", "instant": "INSTANT"}


def _check_boolean_expression(value: str) -> str | None:
    from flowyard.runtime import expression  # loaded on first use: importing the SDK stays light

    if "#{" in value and "${" not in value:
        return None  # only parameter references: only their substituted value can be judged
    try:
        expression.compile(value)
    except expression.ExpressionError:
        return None  # the framework reports expressions that do not compile (EXPRESSION says it too)
    try:
        result = expression.result_type(value)
    except expression.ExpressionError as exc:
        return f"{_show(value)} is not a valid boolean expression: {exc.reason} at position {exc.position}"
    if result != "boolean":
        return (f"{_show(value)} is not a valid boolean expression: expected the expression to return type "
                f"BOOLEAN but it returns type {_NIFI_TYPES.get(result, result.upper())} (at position 0)")
    return None


def _check_expression(value: str) -> str | None:
    from flowyard.runtime import expression

    try:
        expression.compile(value)
    except expression.ExpressionError as exc:
        return f"{_show(value)} is not a valid expression: {exc.reason} at position {exc.position}"
    return None


EXPRESSION = Validator(
    "expression text", "text whose ${...} expressions compile", _check_expression, checks_expressions=True)
"""Text with embedded Expression Language whose expressions all compile (NiFi's
``createAttributeExpressionLanguageValidator(STRING, true)``), for text that is
evaluated but is not itself a property, such as a rule's action value."""


BOOLEAN_EXPRESSION = Validator(
    "boolean expression",
    "exactly one Expression Language expression, ${...}, whose result is a boolean",
    _check_boolean_expression,
    checks_expressions=True,
)
"""NiFi's ``createAttributeExpressionLanguageValidator(BOOLEAN, false)``: the whole value is one
``${...}`` (nothing before or after it, so plain ``true`` is refused) that compiles and whose
static result type is BOOLEAN (``${a:equals('b')}``, not ``${a}`` or ``${a:toUpper()}``).
The message names the position of the problem. A value made only of ``#{parameter}``
references is left to be judged after substitution, and an expression that does not compile
is left to the framework's check of every Expression Language property (which names the
position), so it is reported once; combine with ``EXPRESSION`` for text that is no property."""


def _check_time_period(value: str) -> str | None:
    try:
        parse_duration(value)
    except ValueError as exc:
        return str(exc)
    return None


TIME_PERIOD = Validator(
    "time period",
    "a number followed by a time unit, such as '30 sec' or '500 millis'",
    _check_time_period,
)
"""A time period in NiFi's format, as read by ``parse_duration``."""


def _check_data_size(value: str) -> str | None:
    try:
        parse_data_size(value)
    except ValueError as exc:
        return str(exc)
    return None


DATA_SIZE = Validator(
    "data size", "a number followed by a data unit, such as '10 KB' or '1 GB'", _check_data_size
)
"""A data size in NiFi's format, as read by ``parse_data_size``."""


REGEX = Validator("regex", "a Java regular expression (java.util.regex)", _regex_problem)
"""A Java regular expression flowyard runs (``flowyard.runtime.sdk.javaregex``); the
explanation gives the position of the error."""


# -- URLs and character sets -------------------------------------------------

# Schemes whose URLs need no host: file needs an absolute path instead, the
# others are opaque. Every other scheme must have ``//host``.
_HOSTLESS_SCHEMES = frozenset({"file", "mailto", "urn", "data", "tel", "news"})
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*", re.ASCII)
_URL_EXAMPLE = "expected an absolute URL such as 'https://example.com/path'"


def _url_problem(value: str) -> str | None:
    if not value or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in value):
        return "it is empty or contains whitespace or control characters"
    scheme, sep, _ = value.partition(":")
    if not sep or _SCHEME.fullmatch(scheme) is None:
        return "the scheme is missing"
    if len(scheme) == 1:
        return "the scheme has one letter, which looks like a Windows drive"
    try:
        parts = urlsplit(value)
        port = parts.port  # parsing the port raises for a malformed one
    except ValueError as exc:
        return str(exc)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if not parts.path.startswith("/"):
            return "a file URL needs an absolute path, such as 'file:///tmp/data'"
        return None
    if scheme in _HOSTLESS_SCHEMES:
        return None if parts.path else "nothing follows the scheme"
    if not parts.hostname:
        return "the host is missing"
    if port == 0:
        return "port 0 is not a valid port"
    return None


def _check_url(value: str) -> str | None:
    problem = _url_problem(value)
    if problem is None:
        return None
    return f"{_show(value)} is not a valid URL: {problem}; {_URL_EXAMPLE}"


URL = Validator(
    "URL",
    "an absolute URL with a scheme, such as 'https://example.com/path' or 'file:///tmp/data'",
    _check_url,
)
"""An absolute URL: a scheme and, for network schemes such as http, a host.

``file:`` URLs need an absolute path; ``mailto:``, ``urn:``, ``data:``,
``tel:`` and ``news:`` are accepted without a host. Whitespace and control
characters are never allowed, and a one-letter scheme (``C:\\data``) is
rejected as a probable Windows path.
"""


def _check_character_set(value: str) -> str | None:
    try:
        info = codecs.lookup(value)
    except (LookupError, ValueError, TypeError):
        return f"{_show(value)} is not a known character set: expected a name such as 'UTF-8'"
    # base64, rot13, zlib... are codecs but do not turn bytes into text.
    if not getattr(info, "_is_text_encoding", True):
        return f"{_show(value)} is not a text character set: expected a name such as 'UTF-8'"
    return None


CHARACTER_SET = Validator(
    "character set",
    "the name of a text encoding, such as 'UTF-8' or 'ISO-8859-1'",
    _check_character_set,
)
"""A text encoding Python knows (``codecs.lookup``); bytes-to-bytes codecs are rejected."""


# -- files and directories ---------------------------------------------------


def _path_problem(value: str) -> str | None:
    if not value.strip():
        return f"{_show(value)} is not a valid path: it is blank"
    if "\x00" in value:
        return f"{_show(value)} is not a valid path: it contains a NUL character"
    return None


def _check_file_exists(value: str) -> str | None:
    problem = _path_problem(value)
    if problem is not None:
        return problem
    if os.path.isfile(value):
        return None
    if os.path.isdir(value):
        return f"{_show(value)} is a directory, not a file"
    return f"{_show(value)} does not exist or is not a file"


FILE_EXISTS = Validator("existing file", "the path of an existing file", _check_file_exists)
"""The path of an existing regular file (checked when validated; it may vanish later)."""


def _check_directory_exists(value: str) -> str | None:
    problem = _path_problem(value)
    if problem is not None:
        return problem
    if os.path.isdir(value):
        return None
    if os.path.exists(value):
        return f"{_show(value)} is not a directory"
    return f"{_show(value)} does not exist"


DIRECTORY_EXISTS = Validator(
    "existing directory", "the path of an existing directory", _check_directory_exists
)
"""The path of an existing directory (checked when validated; it may vanish later)."""


def _check_creatable_directory(value: str) -> str | None:
    problem = _path_problem(value)
    if problem is not None:
        return problem
    try:
        path = Path(value).absolute()
        if path.is_dir():
            return None
        if path.exists():
            return f"{_show(value)} exists but is not a directory"
        ancestor = path.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            return f"{_show(value)} cannot be created: {_show(str(ancestor))} is not a directory"
        if not os.access(ancestor, os.W_OK | os.X_OK):
            return f"{_show(value)} cannot be created: {_show(str(ancestor))} is not writable"
    except (OSError, ValueError) as exc:
        return f"{_show(value)} cannot be checked: {exc}"
    return None


CREATABLE_DIRECTORY = Validator(
    "creatable directory",
    "an existing directory, or one that can be created",
    _check_creatable_directory,
)
"""An existing directory, or a path whose nearest existing ancestor is a
writable directory (so the component can create it when it starts)."""


# -- combinators -------------------------------------------------------------


def all_of(*validators: Validator) -> Validator:
    """A validator passing only values every one of ``validators`` accepts.

    They run in order and the first explanation is returned. Raises
    ``ValueError`` when called with no validators.
    """
    if not validators:
        raise ValueError("all_of needs at least one validator")
    chain = tuple(validators)

    def check(value: str) -> str | None:
        for validator in chain:
            explanation = validator(value)
            if explanation is not None:
                return explanation
        return None

    return Validator(
        " and ".join(v.name for v in chain), "; ".join(v.description for v in chain), check
    )


def one_of_values(values: Iterable[str], case_sensitive: bool = True) -> Validator:
    """A validator accepting exactly one of ``values`` (compared case-insensitively
    unless ``case_sensitive``). Raises ``ValueError`` when ``values`` is empty."""
    allowed = tuple(values)
    if not allowed:
        raise ValueError("one_of_values needs at least one value")
    folded = frozenset(allowed if case_sensitive else (v.casefold() for v in allowed))
    listed = ", ".join(_show(v) for v in allowed)

    def check(value: str) -> str | None:
        if (value if case_sensitive else value.casefold()) in folded:
            return None
        return f"{_show(value)} is not one of {listed}"

    suffix = "" if case_sensitive else " (any case)"
    return Validator("one of", f"one of {listed}{suffix}", check)
