"""Java regular expressions and replacement strings on top of Python's ``re``. Pure.

NiFi hands regexes to ``java.util.regex``; users write them in Java's dialect.
``compile_java`` translates the differences that matter in practice and
compiles with ``re.ASCII``, because Java's ``\\d``, ``\\w``, ``\\s`` and
case-insensitive matching are ASCII-only by default, as are ours then.

Translated: ``\\Q...\\E`` quoting; ``\\p{..}``/``\\P{..}`` for the POSIX classes
(``Alpha``, ``Punct``...), ``javaLowerCase``/``javaUpperCase``/``javaWhitespace``
and the Unicode general categories (``L``, ``Lu``, ``IsL``, ``gc=Nd``...);
``\\h``, ``\\H``, ``\\v``, ``\\V``, ``\\R``, ``\\e``, ``\\cX``, ``\\x{h..h}``, ``\\0ooo``,
``\\z``, ``\\Z``; named groups ``(?<name>..)`` and ``\\k<name>``; inline flags
anywhere in the pattern (``a(?i)b`` scopes the flag to the rest of the group, as
Java does); unions of nested classes ``[a-z[0-9]]``.

Not supported (``EvaluationError``): class intersection ``&&`` and negated nested
classes, ``\\G``, Unicode scripts and blocks (``\\p{IsLatin}``, ``\\p{InGreek}``).
Known residual differences: ``.`` excludes only ``\\n`` (Java also excludes
``\\r``, ``\\u0085``, ``\\u2028``, ``\\u2029``); the ``d`` (UNIX_LINES) and ``c``
(CANON_EQ) flags are ignored; in comments mode (``x``) Java also ignores white
space inside classes.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable

__all__ = ["JavaRegexError", "compile_java", "java_replacer"]


class JavaRegexError(ValueError):
    """The pattern or replacement is invalid (or uses an unsupported Java feature)."""


_Ranges = list[tuple[int, int]]


def _chars(text: str) -> _Ranges:
    return [(ord(c), ord(c)) for c in text]


_POSIX: dict[str, _Ranges] = {
    "Lower": [(0x61, 0x7A)],
    "Upper": [(0x41, 0x5A)],
    "ASCII": [(0, 0x7F)],
    "Alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "Digit": [(0x30, 0x39)],
    "Alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "Punct": _chars("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "Graph": [(0x21, 0x7E)],
    "Print": [(0x20, 0x7E)],
    "Blank": [(0x20, 0x20), (0x09, 0x09)],
    "Cntrl": [(0, 0x1F), (0x7F, 0x7F)],
    "XDigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
    "Space": [(0x09, 0x0D), (0x20, 0x20)],
}
_GENERAL_CATEGORIES = frozenset((
    "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Ps", "Pe",
    "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Co", "Cs", "Cn"))
_HORIZONTAL = [*_chars(" \t\xa0\u1680\u180e\u202f\u205f\u3000"), (0x2000, 0x200A)]
_VERTICAL = _chars("\n\x0b\x0c\r\x85\u2028\u2029")


@functools.cache
def _categories() -> dict[str, _Ranges]:
    """Ranges of every Unicode general category (and its one-letter major class)."""
    found: dict[str, _Ranges] = {}
    for cp in range(sys.maxunicode + 1):
        cat = unicodedata.category(chr(cp))
        for key in (cat, cat[0]):
            ranges = found.setdefault(key, [])
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return found


def _property(name: str) -> _Ranges:
    if name in _POSIX:
        return _POSIX[name]
    aliases = {"javaLowerCase": "Ll", "javaUpperCase": "Lu", "IsLetter": "L", "IsDigit": "Nd",
               "IsPunctuation": "P", "IsUppercase": "Lu", "IsLowercase": "Ll", "IsAlphabetic": "L"}
    if name in ("javaWhitespace", "IsWhite_Space", "IsWhiteSpace"):
        return [(0x09, 0x0D), (0x1C, 0x20)] + [r for r in _categories()["Z"] if r[0] not in (0xA0, 0x2007, 0x202F)]
    key = aliases.get(name, name)
    for prefix in ("general_category=", "gc=", "Is"):
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    if key in _GENERAL_CATEGORIES:
        return _categories().get(key, [])
    raise JavaRegexError(f"unsupported character property \\p{{{name}}}")


def _complement(ranges: _Ranges) -> _Ranges:
    out: _Ranges = []
    nxt = 0
    for lo, hi in sorted(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = max(nxt, hi + 1)
    if nxt <= sys.maxunicode:
        out.append((nxt, sys.maxunicode))
    return out


def _ranges_text(ranges: _Ranges) -> str:
    parts = []
    for lo, hi in ranges:
        parts.append(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}")
    return "".join(parts)


def _set(ranges: _Ranges, *, in_class: bool) -> str:
    text = _ranges_text(ranges)
    if in_class:
        return text
    return f"[{text}]" if ranges else "(?!)"


_FLAG_MAP = {"i": "i", "m": "m", "s": "s", "x": "x", "u": "", "U": "u", "d": "", "c": ""}


def _translate_flags(flags: str) -> str:
    on, _, off = flags.partition("-")
    out_on = "".join(_FLAG_MAP.get(f, "?") for f in on)
    out_off = "".join(_FLAG_MAP.get(f, "?") for f in off).replace("u", "")
    if "?" in out_on + out_off:
        raise JavaRegexError(f"unknown inline flag in (?{flags})")
    return out_on + ("-" + out_off if out_off else "")


class _Translator:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0
        self.out: list[str] = []
        #: per open group: how many scoped-flag groups were opened inside it
        self.frames: list[int] = [0]

    def run(self) -> str:
        p = self.p
        while self.i < len(p):
            c = p[self.i]
            if c == "\\":
                self.out.append(self.escape(in_class=False))
            elif c == "[":
                self.char_class()
            elif c == "(":
                self.open_group()
            elif c == ")":
                extra = self.frames.pop() if len(self.frames) > 1 else 0
                self.out.append(")" * (extra + 1))
                self.i += 1
            else:
                self.out.append(c)
                self.i += 1
        self.out.append(")" * sum(self.frames))
        return "".join(self.out)

    def open_group(self) -> None:
        p, i = self.p, self.i
        m = re.compile(r"\(\?([a-zA-Z]*(?:-[a-zA-Z]*)?)([:)])").match(p, i)
        if m and m.group(1):
            flags = _translate_flags(m.group(1))
            if m.group(2) == ")":
                # Java: the flag holds until the enclosing group ends; Python only allows
                # global flags at the start, so scope it explicitly.
                self.out.append(f"(?{flags}:" if flags else "(?:")
                self.frames[-1] += 1
                self.i = m.end()
                return
            self.out.append(f"(?{flags}:" if flags else "(?:")
            self.frames.append(0)
            self.i = m.end()
            return
        named = re.compile(r"\(\?<([a-zA-Z][a-zA-Z0-9]*)>").match(p, i)
        if named:
            self.out.append(f"(?P<{named.group(1)}>")
            self.i = named.end()
        else:
            self.out.append("(")
            self.i += 1
        self.frames.append(0)

    def char_class(self) -> None:
        p = self.p
        self.out.append("[")
        self.i += 1
        if p.startswith("^", self.i):
            self.out.append("^")
            self.i += 1
        depth = 1
        first = True
        while self.i < len(p):
            c = p[self.i]
            if c == "\\":
                self.out.append(self.escape(in_class=True))
            elif c == "[" and not first:
                if p.startswith("[^", self.i):
                    raise JavaRegexError("negated nested character classes are not supported")
                depth += 1  # a union: the nested class's members simply join this one
                self.i += 1
            elif c == "]" and not first:
                self.i += 1
                depth -= 1
                if depth == 0:
                    self.out.append("]")
                    return
            elif p.startswith("&&", self.i):
                raise JavaRegexError("character class intersection (&&) is not supported")
            elif c in "&~|":
                self.out.append("\\" + c)
                self.i += 1
            else:
                self.out.append(c)
                self.i += 1
            first = False
        raise JavaRegexError("unclosed character class")

    def escape(self, *, in_class: bool) -> str:
        p = self.p
        if self.i + 1 >= len(p):
            raise JavaRegexError("unexpected trailing backslash")
        c = p[self.i + 1]
        self.i += 2
        if c == "Q":
            end = p.find("\\E", self.i)
            literal = p[self.i:] if end < 0 else p[self.i:end]
            self.i = len(p) if end < 0 else end + 2
            return "".join("\\" + ch if not ch.isalnum() else ch for ch in literal)
        if c in "pP":
            if p.startswith("{", self.i):
                end = p.find("}", self.i)
                if end < 0:
                    raise JavaRegexError("unclosed character property")
                name = p[self.i + 1:end]
                self.i = end + 1
            elif self.i < len(p):
                name = p[self.i]
                self.i += 1
            else:
                raise JavaRegexError("character property name is missing")
            ranges = _property(name)
            return _set(ranges if c == "p" else _complement(ranges), in_class=in_class)
        if c in "hH":
            return _set(_HORIZONTAL if c == "h" else _complement(_HORIZONTAL), in_class=in_class)
        if c in "vV":
            return _set(_VERTICAL if c == "v" else _complement(_VERTICAL), in_class=in_class)
        if c == "e":
            return "\\x1b"
        if c == "c":
            if self.i >= len(p):
                raise JavaRegexError("illegal control escape sequence")
            self.i += 1
            return f"\\x{ord(p[self.i - 1]) ^ 64:02x}"
        if c == "x" and p.startswith("{", self.i):
            end = p.find("}", self.i)
            try:
                cp = int(p[self.i + 1:end], 16) if end > 0 else -1
            except ValueError:
                cp = -1
            if not 0 <= cp <= sys.maxunicode:
                raise JavaRegexError("illegal hexadecimal escape sequence")
            self.i = end + 1
            return f"\\U{cp:08x}"
        if c == "0":
            m = re.compile(r"[0-3][0-7]{2}|[0-7]{1,2}").match(p, self.i)
            if not m:
                raise JavaRegexError("illegal octal escape sequence")
            self.i = m.end()
            return f"\\U{int(m.group(), 8):08x}"
        if in_class:
            return "\\" + c
        if c == "R":
            return "(?:\\r\\n|[\\n\\x0b\\x0c\\r\\x85\\u2028\\u2029])"
        if c == "z":
            return "\\Z"
        if c == "Z":
            return "(?=\\n?\\Z)"
        if c == "G":
            raise JavaRegexError("\\G is not supported")
        if c == "k" and p.startswith("<", self.i):
            end = p.find(">", self.i)
            if end < 0:
                raise JavaRegexError("named group reference is missing '>'")
            name = p[self.i + 1:end]
            self.i = end + 1
            return f"(?P={name})"
        return "\\" + c


@functools.lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(_Translator(pattern).run(), re.ASCII)
    except re.error as exc:
        raise JavaRegexError(str(exc)) from None


def compile_java(pattern: str) -> re.Pattern[str]:
    """``pattern`` (Java syntax) compiled; raises ``JavaRegexError`` if it is invalid or unsupported."""
    return _compile(pattern)


def _parse_replacement(pattern: re.Pattern[str], replacement: str) -> list[str | int]:
    """Java's ``Matcher.appendReplacement`` syntax: ``$n``, ``${name}``, ``\\x`` is a literal x."""
    pieces: list[str | int] = []
    literal: list[str] = []
    groups = pattern.groups
    i = 0
    while i < len(replacement):
        c = replacement[i]
        if c == "\\":
            i += 1
            if i >= len(replacement):
                raise JavaRegexError("character to be escaped is missing")
            literal.append(replacement[i])
            i += 1
        elif c == "$":
            i += 1
            if i >= len(replacement):
                raise JavaRegexError("Illegal group reference: group index is missing")
            if replacement[i] == "{":
                end = replacement.find("}", i)
                if end < 0:
                    raise JavaRegexError("named capturing group is missing trailing '}'")
                name = replacement[i + 1:end]
                if not name:
                    raise JavaRegexError("named capturing group has 0 length name")
                if name not in pattern.groupindex:
                    raise JavaRegexError(f"No group with name {{{name}}}")
                ref = pattern.groupindex[name]
                i = end + 1
            else:
                if not replacement[i].isdigit() or not replacement[i].isascii():
                    raise JavaRegexError("Illegal group reference")
                ref = int(replacement[i])
                i += 1
                # Java takes further digits only while they still name an existing group.
                while i < len(replacement) and replacement[i] in "0123456789":
                    longer = ref * 10 + int(replacement[i])
                    if longer > groups:
                        break
                    ref = longer
                    i += 1
                if ref > groups:
                    raise JavaRegexError(f"No group {ref}")
            if literal:
                pieces.append("".join(literal))
                literal = []
            pieces.append(ref)
        else:
            literal.append(c)
            i += 1
    if literal:
        pieces.append("".join(literal))
    return pieces


def java_replacer(pattern: re.Pattern[str], replacement: str) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` callback expanding a Java replacement string; raises ``JavaRegexError``
    if the replacement is malformed. A group that did not take part expands to nothing."""
    pieces = _parse_replacement(pattern, replacement)
    if all(isinstance(piece, str) for piece in pieces):
        text = "".join(str(piece) for piece in pieces)
        return lambda _m: text

    def expand(m: re.Match[str]) -> str:
        return "".join(piece if isinstance(piece, str) else (m.group(piece) or "") for piece in pieces)
    return expand
