"""Java's replacement strings (``Matcher.appendReplacement``) for patterns
compiled by ``_javaregex``: ``$n``, ``${name}`` and ``\\x``. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable

from flowyard.runtime.expression._javaregex import JavaPattern, JavaRegexError

__all__ = ["JavaReplacement", "quote_replacement"]

_GROUP_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9]*")


def quote_replacement(text: str) -> str:
    """``Matcher.quoteReplacement``: ``text`` as a replacement string inserted literally."""
    return text.replace("\\", "\\\\").replace("$", "\\$")


class JavaReplacement:
    """A replacement string with ``Matcher.appendReplacement``'s syntax:
    ``$n`` (further digits only while that group exists), ``${name}``, and
    ``\\x`` for a literal ``x``. Raises ``JavaRegexError`` on construction for
    a malformed string, with Java's messages (``No group 3``, ``Illegal group
    reference``...). A group that did not take part expands to nothing."""

    __slots__ = ("_literal", "_pieces")

    def __init__(self, replacement: str, pattern: JavaPattern) -> None:
        self._pieces = _parse_replacement(replacement, pattern)
        literal = all(isinstance(piece, str) for piece in self._pieces)
        self._literal: str | None = "".join(str(p) for p in self._pieces) if literal else None

    @property
    def literal(self) -> str | None:
        """The text when the replacement refers to no group, else None."""
        return self._literal

    def expand(self, match: re.Match[str]) -> str:
        """The replacement for ``match``."""
        if self._literal is not None:
            return self._literal
        return "".join(piece if isinstance(piece, str) else (match.group(piece) or "") for piece in self._pieces)

    def as_function(self) -> Callable[[re.Match[str]], str]:
        """A ``re.sub`` callback."""
        literal = self._literal
        if literal is not None:
            return lambda _m: literal
        return self.expand


def _parse_replacement(replacement: str, pattern: JavaPattern) -> list[str | int]:
    pieces: list[str | int] = []
    literal: list[str] = []
    groups = pattern.group_count
    names = pattern.regex.groupindex
    i = 0
    n = len(replacement)
    while i < n:
        c = replacement[i]
        if c == "\\":
            if i + 1 >= n:
                raise JavaRegexError("character to be escaped is missing", i)
            literal.append(replacement[i + 1])
            i += 2
            continue
        if c != "$":
            literal.append(c)
            i += 1
            continue
        at = i
        i += 1
        if i >= n:
            raise JavaRegexError("Illegal group reference: group index is missing", at)
        if replacement[i] == "{":
            end = replacement.find("}", i)
            name = replacement[i + 1:end] if end >= 0 else replacement[i + 1:]
            if end < 0 or not name or not _GROUP_NAME.fullmatch(name):
                if end < 0:
                    raise JavaRegexError("named capturing group is missing trailing '}'", at)
                raise JavaRegexError("named capturing group has 0 length name" if not name
                                     else f"No group with name {{{name}}}", at)
            if name not in names:
                raise JavaRegexError(f"No group with name {{{name}}}", at)
            ref = names[name]
            i = end + 1
        else:
            if not "0" <= replacement[i] <= "9":
                raise JavaRegexError("Illegal group reference", at)
            ref = int(replacement[i])
            i += 1
            while i < n and "0" <= replacement[i] <= "9" and ref * 10 + int(replacement[i]) <= groups:
                ref = ref * 10 + int(replacement[i])
                i += 1
            if ref > groups:
                raise JavaRegexError(f"No group {ref}", at)
        if literal:
            pieces.append("".join(literal))
            literal = []
        pieces.append(ref)
    if literal:
        pieces.append("".join(literal))
    return pieces
