"""Pieces the text processors (ReplaceText, ExtractText, RouteOnContent,
RouteText, ReplaceTextWithMapping) share: NiFi's line splitting and its
buffer limit, decoding, the ``${var}`` substitution of Commons Text's
``StringSubstitutor``, NiFi's back-reference escaping, and the property
specs they have in common. Pure: no session, no I/O.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator, Mapping

from flowyard.runtime.sdk import PropertySpec, PropertyValue, validators

__all__ = [
    "INITIAL_LINE_BUFFER",
    "LineBufferOverflow",
    "character_set_property",
    "data_size_property",
    "decode_chunks",
    "escape_back_references",
    "escape_literal_back_references",
    "evaluate_decorated",
    "is_single_expression",
    "iter_lines",
    "java_trim",
    "line_ending",
    "normalize_replacement",
    "split_line",
    "substitute_variables",
]

INITIAL_LINE_BUFFER = 8192
"""Characters NiFi's line reader buffers before it grows (LineDemarcator)."""
_GROWTH_CAP = 1_048_576
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+")


class LineBufferOverflow(ValueError):
    """A line is longer than the Maximum Buffer Size lets NiFi's line reader hold."""


def character_set_property(key: str = "character-set", description: str = "The character set the content is "
                           "encoded in.") -> PropertySpec:
    """NiFi's required 'Character Set' property (default UTF-8)."""
    return PropertySpec(key=key, display_name="Character Set", description=description, required=True,
                        default="UTF-8", validator=validators.CHARACTER_SET)


def data_size_property(key: str, display_name: str, description: str, default: str = "1 MB") -> PropertySpec:
    """A required data size property (NiFi's buffer sizes)."""
    return PropertySpec(key=key, display_name=display_name, description=description, required=True,
                        default=default, validator=validators.DATA_SIZE)


def _capacity_exceeded(need: int, maximum: int) -> bool:
    """Whether NiFi's line buffer (8192 characters, doubling, by at most 1 MiB
    a step, never beyond ``maximum``) cannot hold ``need`` characters."""
    size = INITIAL_LINE_BUFFER
    while size < need:
        size = min(size * 2, size + _GROWTH_CAP)
        if size > maximum:
            return True
    return False


def iter_lines(chunks: Iterable[str], max_buffer: int | None = None) -> Iterator[str]:
    """Lines of the text given in ``chunks``, each with its line ending
    (``\\n``, ``\\r\\n`` or a lone ``\\r``), as NiFi's LineDemarcator returns
    them; the last line may have none. No text, no lines.

    With ``max_buffer`` (characters), raises ``LineBufferOverflow`` for a line
    NiFi's reader could not buffer: lines up to 8192 characters always fit,
    longer ones need the buffer to grow and fail once it would pass the limit.
    """
    pending = ""
    for chunk in chunks:
        if not chunk:
            continue
        text = pending + chunk
        end = 0
        for m in _LINE.finditer(text):
            line = m.group()
            # The last piece may continue in the next chunk (no ending yet, or a
            # "\r" that a "\n" may follow): keep it.
            if m.end() == len(text) and (line[-1] not in "\r\n" or line[-1] == "\r"):
                break
            _check(line, max_buffer, at_end=False)
            yield line
            end = m.end()
        pending = text[end:]
        # An unfinished line that already cannot fit fails now, not after buffering the rest of it.
        if max_buffer is not None and len(pending) >= INITIAL_LINE_BUFFER and \
                _capacity_exceeded(len(pending) + 1, max_buffer):
            raise LineBufferOverflow(f"a line of more than {len(pending)} characters does not fit the Maximum "
                                     f"Buffer Size ({max_buffer} bytes)")
    if pending:
        for m in _LINE.finditer(pending):
            _check(m.group(), max_buffer, at_end=True)
            yield m.group()


def _check(line: str, max_buffer: int | None, *, at_end: bool) -> None:
    if max_buffer is None or len(line) < INITIAL_LINE_BUFFER:
        return
    # A line ending in "\n" is complete once read; otherwise the reader must look
    # one character further (a lone "\r", or the end of the data).
    need = len(line) if line.endswith("\n") else len(line) + 1
    if _capacity_exceeded(need, max_buffer):
        raise LineBufferOverflow(f"a line of {len(line)} characters does not fit the Maximum Buffer Size "
                                 f"({max_buffer} bytes)")


def decode_chunks(chunks: Iterable[bytes], charset: str, errors: str = "strict") -> Iterator[str]:
    """``chunks`` decoded incrementally (a character split between chunks is
    kept whole). ``errors="strict"`` raises ``UnicodeDecodeError``."""
    decoder = codecs.getincrementaldecoder(charset)(errors)
    for chunk in chunks:
        text = decoder.decode(chunk)
        if text:
            yield text
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def split_line(line: str) -> tuple[str, str]:
    """``line`` as (text, line ending)."""
    if line.endswith("\r\n"):
        return line[:-2], "\r\n"
    if line.endswith(("\n", "\r")):
        return line[:-1], line[-1]
    return line, ""


def line_ending(line: str) -> str:
    """The run of ``\\r``/``\\n`` characters ending ``line`` (ReplaceText's Always Replace keeps it)."""
    stripped = line.rstrip("\r\n")
    return line[len(stripped):]


def java_trim(text: str) -> str:
    """Java's ``String.trim``: removes characters up to U+0020 from both ends."""
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


# -- ReplaceText's handling of $n in replacement values ------------------------------

_UNESCAPED_BACK_REFERENCE = re.compile(r"[^\\]\$([0-9]+)")
_DOLLAR_NOT_DIGIT = re.compile(r"\$[^0-9]")
_DOLLAR_DIGIT = re.compile(r"(\$[0-9])")


def escape_back_references(value: str) -> str:
    """ReplaceText's decorator for evaluated expressions: ``$n`` becomes
    ``\\$n``, so a value taken from an attribute or a group is inserted as is."""
    return _DOLLAR_DIGIT.sub(r"\\\1", value) if "$" in value else value


def escape_literal_back_references(value: str, group_count: int) -> str:
    """NiFi's ReplaceText: a ``$n`` naming no group of the pattern is escaped
    so it stays literal (``$123`` with one group is ``$1`` then ``23``). As in
    NiFi, a ``$`` at the very start is not considered, and the positions come
    from the unmodified value."""
    if group_count == 0:
        return value
    result = value
    for m in _UNESCAPED_BACK_REFERENCE.finditer(value):
        digits = m.group(1)
        if digits.startswith("0"):
            continue
        index = int(digits)
        while index > group_count and index >= 10:
            index //= 10
        if index > group_count:
            start = m.start(1)
            result = result[:start - 1] + "\\" + result[start - 1:]
    return result


def normalize_replacement(value: str) -> str:
    """NiFi's ReplaceText: a replacement holding ``$`` followed by anything but
    a digit is taken entirely literally (``Matcher.quoteReplacement``)."""
    if "$" in value and _DOLLAR_NOT_DIGIT.search(value):
        return value.replace("\\", "\\\\").replace("$", "\\$")
    return value


# -- Commons Text StringSubstitutor ------------------------------------------------------


class SubstitutionCycleError(ValueError):
    """A variable's value refers back to itself."""


def substitute_variables(text: str, variables: Mapping[str, str]) -> str:
    """``StringSubstitutor.replace(text, variables)`` as ReplaceText's
    'Substitute Variables' uses it: ``${name}`` becomes the variable's value
    (itself substituted), ``${name:-default}`` falls back to ``default``,
    unknown names and ``${}`` stay as written, ``$${`` is a literal ``${``.
    Raises ``SubstitutionCycleError`` for a value that refers back to itself."""
    if "${" not in text:
        return text
    return _substitute(text, variables, ())


def _substitute(text: str, variables: Mapping[str, str], prior: tuple[str, ...]) -> str:
    out: list[str] = []
    pos = 0
    n = len(text)
    while pos < n:
        start = text.find("${", pos)
        if start < 0:
            out.append(text[pos:])
            break
        if start > 0 and text[start - 1] == "$":
            # "$${" is an escaped "${": drop the escape, keep the rest literally.
            out.append(text[pos:start - 1])
            out.append("${")
            pos = start + 2
            continue
        out.append(text[pos:start])
        end = _closing(text, start + 2)
        if end < 0:
            out.append(text[start:])
            break
        expression = text[start + 2:end]
        name, _, default = expression.partition(":-")
        has_default = ":-" in expression
        if name in prior:
            raise SubstitutionCycleError(f"Infinite loop in property interpolation of {text}: {name}")
        value = variables.get(name) if name else None
        if value is None and has_default:
            value = default
        if value is None:
            out.append(text[start:end + 1])
        else:
            out.append(_substitute(value, variables, (*prior, name)) if "${" in value else value)
        pos = end + 1
    return "".join(out)


def _closing(text: str, pos: int) -> int:
    """Index of the ``}`` closing a ``${`` whose name starts at ``pos`` (nested ``${...}`` counted)."""
    depth = 0
    n = len(text)
    while pos < n:
        if text.startswith("${", pos):
            depth += 1
            pos += 2
            continue
        if text[pos] == "}":
            if depth == 0:
                return pos
            depth -= 1
        pos += 1
    return -1


# -- NiFi's AttributeValueDecorator ----------------------------------------------------------


def is_single_expression(raw: str) -> bool:
    """Whether ``raw`` is one ``${...}`` expression and nothing else (braces in
    quoted strings and nested expressions counted as the Expression Language does)."""
    if not raw.startswith("${"):
        return False
    depth = 0
    quote = ""
    i = 1
    n = len(raw)
    while i < n:
        c = raw[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in ("'", '"'):
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i == n - 1
        i += 1
    return False


def evaluate_decorated(value: PropertyValue, attributes: Mapping[str, str],
                       decorate: Callable[[str], str]) -> str:
    """``value`` evaluated against ``attributes`` with ``decorate`` applied to
    what expressions produce, as NiFi's ``AttributeValueDecorator`` (e.g. to
    quote attribute values put into a regular expression).

    Exact when the value is one expression (its result is decorated); for
    text mixing literals and expressions the attribute values are decorated
    before evaluation, which differs only for functions that build the
    decorated characters themselves. Evaluator errors (``ValueError``) propagate.
    """
    raw = value.raw or ""
    if "${" not in raw:
        return value.evaluate(attributes).value or ""
    if is_single_expression(raw):
        return decorate(value.evaluate(attributes).value or "")
    return value.evaluate({key: decorate(v) for key, v in attributes.items()}).value or ""
