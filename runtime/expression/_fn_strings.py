"""EL functions of the "string manipulation" and "searching" families (minus jsonPath*). Pure.

Behaviour follows NiFi's evaluators, including their null handling: several
functions answer a null subject with ``""`` (``substring*``), ``0``
(``length``), ``false`` (``startsWith``...) or ``-1`` (``indexOf``) rather than
null, so they declare ``null_subject="pass"``.

Regular expressions are Java's (see ``_javaregex``); an invalid one raises
``EvaluationError`` naming the pattern. Deviation: positions and lengths count
Unicode code points, where Java counts UTF-16 units (they differ only for
characters outside the Basic Multilingual Plane, e.g. emoji).
"""

from __future__ import annotations

import random
import re

from flowyard.runtime.expression._javaregex import JavaPattern, JavaRegexError, compile_java
from flowyard.runtime.expression._javareplace import JavaReplacement
from flowyard.runtime.expression._registry import Arg, EvaluationError, function

__all__ = ["java_is_blank", "java_trim", "regex"]

_STR = "string manipulation"
_SEARCH = "searching"
_INT_MAX = 2**31 - 1
#: ``Character.isWhitespace``: Unicode space separators except the no-break ones, plus \t-\r and \x1c-\x1f.
_NO_BREAK = "\xa0\u2007\u202f"


def java_trim(text: str) -> str:
    """``String.trim``: strips every character up to U+0020 (controls included) from both ends."""
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def java_is_blank(text: str | None) -> bool:
    """``StringUtils.isBlank``: null, empty, or only ``Character.isWhitespace`` characters."""
    return text is None or all(c.isspace() and c not in _NO_BREAK for c in text)


def java_pattern(pattern: str) -> JavaPattern:
    """``pattern`` (Java syntax) compiled; ``EvaluationError`` naming the pattern if it is invalid."""
    try:
        return compile_java(pattern)
    except JavaRegexError as exc:
        raise EvaluationError(f"invalid regular expression {pattern!r}: {exc}") from None


def regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` (Java syntax) as Python's equivalent; ``EvaluationError`` if it is invalid."""
    return java_pattern(pattern).regex


def _index(value: int | None, what: str) -> int:
    if value is None:
        raise EvaluationError(f"{what} is not a whole number")
    return value


# -- case and white space ---------------------------------------------------------------

@function("toUpper", family=_STR, subject="string", returns="string",
          description="Upper-cases every letter of the subject.")
def to_upper(subject: str) -> str:
    return subject.upper()


@function("toLower", family=_STR, subject="string", returns="string",
          description="Lower-cases every letter of the subject.")
def to_lower(subject: str) -> str:
    return subject.lower()


@function("trim", family=_STR, subject="string", returns="string",
          description="Strips leading and trailing white space (every character up to U+0020, as Java's trim).")
def trim(subject: str) -> str:
    return java_trim(subject)


@function("isEmpty", family="boolean logic", subject="string", returns="boolean", null_subject="pass",
          description="True when the subject is null, zero-length, or made only of white space.")
def is_empty(subject: str | None) -> bool:
    return subject is None or not java_trim(subject)


# -- substrings ---------------------------------------------------------------------------

@function("substring", family=_STR, subject="string", returns="string", null_subject="pass",
          args=(Arg("startIndex", "whole_number"), Arg("endIndex", "whole_number", optional=True)),
          description="The characters from a 0-based start index up to (not including) an optional end "
                      "index; an index out of range, or start after end, gives ''.")
def substring(subject: str | None, start: int | None, *end: int | None) -> str:
    if subject is None:
        return ""
    first = _index(start, "substring start index")
    last = _index(end[0], "substring end index") if end else len(subject)
    if not 0 <= first <= last <= len(subject):
        return ""
    return subject[first:last]


@function("substringBefore", family=_STR, subject="string", returns="string", null_subject="pass",
          args=(Arg("value"),),
          description="Text before the first occurrence of the argument; the whole subject if it is absent.")
def substring_before(subject: str | None, value: str | None) -> str:
    if subject is None:
        return ""
    index = subject.find(value) if value else -1
    return subject if index < 0 else subject[:index]


@function("substringBeforeLast", family=_STR, subject="string", returns="string", null_subject="pass",
          args=(Arg("value"),),
          description="Text before the last occurrence of the argument; the whole subject if it is absent.")
def substring_before_last(subject: str | None, value: str | None) -> str:
    if subject is None:
        return ""
    index = subject.rfind(value) if value else -1
    return subject if index < 0 else subject[:index]


@function("substringAfter", family=_STR, subject="string", returns="string", null_subject="pass",
          args=(Arg("value"),),
          description="Text after the first occurrence of the argument; the whole subject if it is absent.")
def substring_after(subject: str | None, value: str | None) -> str:
    if subject is None:
        return ""
    index = subject.find(value) if value else -1
    return subject if index < 0 else subject[index + len(value or ""):]


@function("substringAfterLast", family=_STR, subject="string", returns="string", null_subject="pass",
          args=(Arg("value"),),
          description="Text after the last occurrence of the argument; the whole subject if it is absent.")
def substring_after_last(subject: str | None, value: str | None) -> str:
    if subject is None:
        return ""
    index = subject.rfind(value) if value else -1
    return subject if index < 0 else subject[index + len(value or ""):]


def _single_char(value: str | None, what: str) -> str:
    if not value:
        raise EvaluationError(f"getDelimitedField: the {what} was not specified")
    if len(value) != 1:
        raise EvaluationError(f"getDelimitedField: the {what} must be a single character, not {value!r}")
    return value


@function("getDelimitedField", family=_STR, subject="string", returns="string", null_subject="pass",
          args=(Arg("index", "whole_number"), Arg("delimiter", optional=True), Arg("quoteChar", optional=True),
                Arg("escapeChar", optional=True), Arg("stripChars", "boolean", optional=True)),
          description="Treats the subject as one delimited (CSV-like) line and returns the n-th (1-based) "
                      "field; quote and escape characters are kept unless stripChars is true.")
def get_delimited_field(subject: str | None, index: int | None, *options: object) -> str:
    if not subject:
        return ""
    wanted = _index(index, "getDelimitedField index")
    defaults: list[object] = [",", '"', "\\", False]
    opts = [*options, *defaults[len(options):]]
    delimiter = _single_char(opts[0] if isinstance(opts[0], str) else None, "delimiter")
    quote = _single_char(opts[1] if isinstance(opts[1], str) else None, "quote character")
    escape = _single_char(opts[2] if isinstance(opts[2], str) else None, "escape character")
    if opts[3] is None:
        raise EvaluationError("getDelimitedField: stripChars is not a boolean")
    strip = bool(opts[3])
    if len({delimiter, quote, escape}) != 3:
        raise EvaluationError("getDelimitedField: delimiter, quote and escape characters must all differ")
    if wanted < 1:
        return ""
    field: list[str] = []
    current = 1
    in_quote = escaped = False
    for c in subject:
        if c == quote and not escaped:
            in_quote = not in_quote
            if not strip and current == wanted:
                field.append(c)
        elif c == delimiter and not escaped and not in_quote:
            if current == wanted:
                return "".join(field)
            current += 1
        elif current == wanted and (c != escape or escaped or not strip):
            field.append(c)
        escaped = c == escape and not escaped
    return "".join(field)


# -- delimited lists ----------------------------------------------------------------------

@function("compactDelimitedList", family=_STR, subject="string", returns="string", null_subject="pass",
          args=(Arg("delimiter"),),
          description="Splits on the (literal) delimiter, drops every empty token, and joins the rest.")
def compact_delimited_list(subject: str | None, delimiter: str | None) -> str:
    if not subject:
        return ""
    if not delimiter:
        return subject
    return delimiter.join(token for token in subject.split(delimiter) if token)


@function("trimDelimitedList", family=_STR, subject="string", returns="string", null_subject="pass",
          args=(Arg("delimiter"),),
          description="Removes empty tokens at the start and end of a delimited list; inner ones stay.")
def trim_delimited_list(subject: str | None, delimiter: str | None) -> str:
    if not subject:
        return ""
    if not delimiter:
        return subject
    tokens = subject.split(delimiter)
    while tokens and not tokens[0]:
        tokens.pop(0)
    while tokens and not tokens[-1]:
        tokens.pop()
    return delimiter.join(tokens)


@function("unique", family=_STR, subject="string", returns="string", null_subject="pass",
          args=(Arg("delimiter"),),
          description="Removes duplicate tokens from a delimited list, keeping first occurrences in order.")
def unique(subject: str | None, delimiter: str | None) -> str:
    if subject is None:
        return ""
    if not delimiter:
        return subject
    return delimiter.join(dict.fromkeys(subject.split(delimiter)))


# -- building -----------------------------------------------------------------------------

@function("append", family=_STR, subject="string", returns="string", null_subject="pass",
          args=(Arg("value"),), description="Adds the argument to the end of the subject (a null part counts as '').")
def append(subject: str | None, value: str | None) -> str:
    return (subject or "") + (value or "")


@function("prepend", family=_STR, subject="string", returns="string", null_subject="pass",
          args=(Arg("value"),), description="Adds the argument to the start of the subject (a null part counts as '').")
def prepend(subject: str | None, value: str | None) -> str:
    return (value or "") + (subject or "")


def _pad(subject: str, length: int | None, padding: tuple[str | None, ...], *, left: bool) -> str:
    if length is None or length <= 0 or length > _INT_MAX or len(subject) >= length:
        return subject
    pad = "_" if not padding else (padding[0] or " ")  # commons-lang pads with a space for null/''
    need = length - len(subject)
    fill = (pad * (need // len(pad) + 1))[:need]
    return fill + subject if left else subject + fill


@function("padLeft", family=_STR, subject="string", returns="string",
          args=(Arg("desiredLength", "whole_number"), Arg("padding", optional=True)),
          description="Pads the start of the subject with the padding string (default '_', repeated and cut "
                      "to fit) up to the desired length.")
def pad_left(subject: str, length: int | None, *padding: str | None) -> str:
    return _pad(subject, length, padding, left=True)


@function("padRight", family=_STR, subject="string", returns="string",
          args=(Arg("desiredLength", "whole_number"), Arg("padding", optional=True)),
          description="Pads the end of the subject with the padding string (default '_') up to the desired length.")
def pad_right(subject: str, length: int | None, *padding: str | None) -> str:
    return _pad(subject, length, padding, left=False)


@function("repeat", family=_STR, subject="string", returns="string", null_subject="pass",
          args=(Arg("minRepeats", "whole_number"), Arg("maxRepeats", "whole_number", optional=True)),
          description="Repeats the subject exactly min times, or a random number of times between min and "
                      "max inclusive.")
def repeat(subject: str | None, min_repeats: int | None, *max_repeats: int | None) -> str:
    if subject is None:
        return ""
    low = _index(min_repeats, "repeat count")
    if low <= 0:
        raise EvaluationError(f"repeat: the minimum repeat count must be positive, but was {low}")
    count = low
    if max_repeats:
        high = _index(max_repeats[0], "maximum repeat count")
        if high < low:
            raise EvaluationError(f"repeat: the maximum repeat count {high} is below the minimum {low}")
        count = random.randint(low, high)
    if len(subject) * count > _INT_MAX:
        raise EvaluationError("repeat: the result would exceed the largest possible string")
    return subject * count


# -- replacing ----------------------------------------------------------------------------

@function("replace", family=_STR, subject="string", returns="string", args=(Arg("search"), Arg("replacement")),
          description="Replaces every literal occurrence of the search string (no regex, no $ groups).")
def replace(subject: str, search: str | None, replacement: str | None) -> str:
    if search is None or replacement is None:
        return subject
    return subject.replace(search, replacement)


def _regex_replace(subject: str, pattern: str | None, replacement: str | None, count: int) -> str:
    if pattern is None or replacement is None:
        return subject
    java = java_pattern(pattern)
    compiled = java.regex
    try:
        expand = JavaReplacement(replacement, java).as_function()
    except JavaRegexError as exc:
        if compiled.search(subject) is None:
            return subject  # Java only reads the replacement when there is a match
        raise EvaluationError(f"invalid replacement {replacement!r}: {exc}") from None
    return compiled.sub(expand, subject, count=count)


@function("replaceFirst", family=_STR, subject="string", returns="string", args=(Arg("regex"), Arg("replacement")),
          description="Replaces the first match of a Java regular expression ($n back-references allowed).")
def replace_first(subject: str, pattern: str | None, replacement: str | None) -> str:
    return _regex_replace(subject, pattern, replacement, 1)


@function("replaceAll", family=_STR, subject="string", returns="string", args=(Arg("regex"), Arg("replacement")),
          description="Replaces every match of a Java regular expression ($n back-references allowed).")
def replace_all(subject: str, pattern: str | None, replacement: str | None) -> str:
    return _regex_replace(subject, pattern, replacement, 0)


@function("replaceNull", family=_STR, subject="any", returns="any", null_subject="pass",
          args=(Arg("replacement", "any"),),
          description="The argument when the subject is null, else the subject (an empty string is not null).")
def replace_null(subject: object, replacement: object) -> object:
    return replacement if subject is None else subject


@function("replaceEmpty", family=_STR, subject="string", returns="string", null_subject="pass",
          args=(Arg("replacement"),),
          description="The argument when the subject is null, empty or only white space, else the subject.")
def replace_empty(subject: str | None, replacement: str | None) -> str | None:
    return replacement if java_is_blank(subject) else subject


@function("replaceByPattern", family=_STR, subject="string", returns="string", args=(Arg("mappingRule"),),
          description="Comma-separated 'regex:replacement' rules: the replacement of the first rule whose "
                      "regex matches the whole subject, else the subject.")
def replace_by_pattern(subject: str, rules: str | None) -> str:
    for rule in (rules or "").split(","):
        pattern, sep, replacement = rule.strip().partition(":")
        if sep and regex(pattern).fullmatch(subject):
            return replacement
    return subject


@function("length", family=_STR, subject="string", returns="whole_number", null_subject="pass",
          description="Number of characters in the subject (0 for null).")
def length(subject: str | None) -> int:
    return len(subject or "")


# -- searching ----------------------------------------------------------------------------

@function("startsWith", family=_SEARCH, subject="string", returns="boolean", null_subject="pass",
          args=(Arg("value"),), description="True if the subject begins with the argument (case-sensitive).")
def starts_with(subject: str | None, value: str | None) -> bool:
    return subject is not None and value is not None and subject.startswith(value)


@function("endsWith", family=_SEARCH, subject="string", returns="boolean", null_subject="pass",
          args=(Arg("value"),), description="True if the subject ends with the argument (case-sensitive).")
def ends_with(subject: str | None, value: str | None) -> bool:
    return subject is not None and value is not None and subject.endswith(value)


@function("contains", family=_SEARCH, subject="string", returns="boolean", null_subject="pass",
          args=(Arg("value"),), description="True if the argument occurs anywhere in the subject.")
def contains(subject: str | None, value: str | None) -> bool:
    return subject is not None and value is not None and value in subject


@function("in", family=_SEARCH, subject="string", returns="boolean", null_subject="pass",
          args=(Arg("values", variadic=True),), description="True if the subject equals any of the arguments.")
def in_(subject: str | None, *values: str | None) -> bool:
    return subject is not None and subject in values


@function("find", family=_SEARCH, subject="string", returns="boolean", null_subject="pass",
          args=(Arg("regex"),), description="True if the Java regular expression matches somewhere in the subject.")
def find(subject: str | None, pattern: str | None) -> bool:
    if subject is None or pattern is None:
        return False
    return regex(pattern).search(subject) is not None


@function("matches", family=_SEARCH, subject="string", returns="boolean", null_subject="pass",
          args=(Arg("regex"),), description="True if the Java regular expression matches the entire subject.")
def matches(subject: str | None, pattern: str | None) -> bool:
    if subject is None or pattern is None:
        return False
    return regex(pattern).fullmatch(subject) is not None


@function("indexOf", family=_SEARCH, subject="string", returns="whole_number", null_subject="pass",
          args=(Arg("value"),), description="0-based position of the first literal occurrence of the argument, or -1.")
def index_of(subject: str | None, value: str | None) -> int:
    if subject is None or value is None:
        return -1
    return subject.find(value)


@function("lastIndexOf", family=_SEARCH, subject="string", returns="whole_number", null_subject="pass",
          args=(Arg("value"),), description="0-based position of the last literal occurrence of the argument, or -1.")
def last_index_of(subject: str | None, value: str | None) -> int:
    if subject is None or value is None:
        return -1
    return subject.rfind(value)
