"""Java regular expressions (``java.util.regex``) on Python's ``re``. Pure.

NiFi users write patterns and replacement strings in Java's dialect, in the
Expression Language and in processor properties alike; this module (the one
implementation of both, public to processors as ``flowyard.runtime.sdk.javaregex``)
translates a Java pattern into an equivalent Python one and compiles it
(``compile_java``); ``_javareplace`` implements the replacement strings of
``Matcher.appendReplacement``.

What is translated so that it behaves as in Java:

- line terminators: ``.`` excludes ``\\n``, ``\\r``, ``\\u0085``, ``\\u2028``,
  ``\\u2029`` (only ``\\n`` with UNIX_LINES ``(?d)``), ``^`` and ``$`` (plain and
  MULTILINE) see ``\\r\\n`` as one terminator, ``$`` matches before a final
  terminator, MULTILINE ``^`` never matches at the very end; ``\\Z``, ``\\z``;
- the flags CASE_INSENSITIVE, MULTILINE, DOTALL, COMMENTS, UNIX_LINES,
  UNICODE_CASE, UNICODE_CHARACTER_CLASS and LITERAL, as bits or inline
  (``(?i)`` holds to the end of the enclosing group, ``(?s:...)`` scoped);
- ``\\d \\w \\s`` (and negations) are ASCII unless UNICODE_CHARACTER_CLASS,
  case-insensitive matching is ASCII unless UNICODE_CASE;
- named groups ``(?<name>...)`` and ``\\k<name>``; numbered back references
  take further digits only while that group exists, as Java does;
- possessive quantifiers and atomic groups (native since Python 3.11);
- ``\\Q...\\E``; ``\\p{...}``/``\\P{...}`` for the POSIX classes (``Alpha``,
  ``Punct``...), ``javaLowerCase``/``javaUpperCase``/``javaWhitespace``, the
  Unicode general categories (``L``, ``Lu``, ``IsL``, ``gc=Nd``...) and a few
  binary properties (``IsAlphabetic``, ``IsDigit``, ``IsLetter``...);
  ``\\h \\H \\v \\V \\R \\e \\cX \\x{h..h} \\0ooo``; unions of nested classes
  ``[a-z[0-9]]``; a repetition ``{`` that is not a valid quantifier is an error.

Not supported (a ``JavaRegexError`` naming the position): character class
intersection ``&&``, negated nested classes, ``\\G``, ``\\X``, ``\\b{g}``,
Unicode scripts and blocks (``\\p{IsLatin}``, ``\\p{InGreek}``). CANON_EQ is
accepted and ignored. Residual differences: ``\\b`` is ASCII-based unless a
Unicode flag is on (then Unicode for the whole pattern); a (?u)/(?U) written
inside the pattern applies to all of it; lengths are counted in code points,
not UTF-16 units.
"""

from __future__ import annotations

import bisect
import functools
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CANON_EQ",
    "CASE_INSENSITIVE",
    "COMMENTS",
    "DOTALL",
    "LITERAL",
    "MULTILINE",
    "UNICODE_CASE",
    "UNICODE_CHARACTER_CLASS",
    "UNIX_LINES",
    "JavaPattern",
    "JavaRegexError",
    "compile_java",
    "java_regex_problem",
    "quote_literal",
]

# java.util.regex.Pattern's flag bits.
UNIX_LINES = 0x01
CASE_INSENSITIVE = 0x02
COMMENTS = 0x04
MULTILINE = 0x08
LITERAL = 0x10
DOTALL = 0x20
UNICODE_CASE = 0x40
CANON_EQ = 0x80
UNICODE_CHARACTER_CLASS = 0x100

_INLINE = {"d": UNIX_LINES, "i": CASE_INSENSITIVE, "x": COMMENTS, "m": MULTILINE, "s": DOTALL,
           "u": UNICODE_CASE, "c": CANON_EQ, "U": UNICODE_CHARACTER_CLASS}


class JavaRegexError(ValueError):
    """A pattern or replacement string Java would refuse, or a Java feature
    not supported here. ``position`` is the 0-based index in the text it
    concerns (``None`` when unknown); ``str()`` names it."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.message = message
        self.position = position
        super().__init__(message if position is None else f"{message} at position {position}")


_Ranges = list[tuple[int, int]]


def _chars(text: str) -> _Ranges:
    return [(ord(c), ord(c)) for c in text]


_LINE_TERMINATORS = "\n\r\x85\u2028\u2029"
_ASCII_DIGIT: _Ranges = [(0x30, 0x39)]
_ASCII_WORD: _Ranges = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
_ASCII_SPACE: _Ranges = [(0x09, 0x0D), (0x20, 0x20)]
_POSIX: dict[str, _Ranges] = {
    "Lower": [(0x61, 0x7A)],
    "Upper": [(0x41, 0x5A)],
    "ASCII": [(0, 0x7F)],
    "Alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "Digit": _ASCII_DIGIT,
    "Alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "Punct": _chars("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "Graph": [(0x21, 0x7E)],
    "Print": [(0x20, 0x7E)],
    "Blank": [(0x09, 0x09), (0x20, 0x20)],
    "Cntrl": [(0, 0x1F), (0x7F, 0x7F)],
    "XDigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
    "Space": _ASCII_SPACE,
}
# With UNICODE_CHARACTER_CLASS Java gives the POSIX names Unicode meanings; the nearest categories.
_POSIX_UNICODE = {"Lower": ("Ll",), "Upper": ("Lu",), "Alpha": ("L", "Nl"), "Digit": ("Nd",),
                  "Alnum": ("L", "Nl", "Nd"), "Punct": ("P",)}
_PROPERTY_ALIASES = {
    "javaLowerCase": ("Ll",), "javaUpperCase": ("Lu",), "javaTitleCase": ("Lt",), "javaDigit": ("Nd",),
    "javaLetter": ("L",), "javaLetterOrDigit": ("L", "Nd"), "javaAlphabetic": ("L", "Nl"),
    "IsLetter": ("L",), "IsDigit": ("Nd",), "IsPunctuation": ("P",), "IsUppercase": ("Lu",),
    "IsLowercase": ("Ll",), "IsAlphabetic": ("L", "Nl"), "IsControl": ("Cc",),
}
_GENERAL_CATEGORIES = frozenset((
    "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Ps", "Pe",
    "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Co", "Cs", "Cn"))
_HORIZONTAL = [*_chars(" \t\xa0\u1680\u180e\u202f\u205f\u3000"), (0x2000, 0x200A)]
_VERTICAL = _chars("\n\x0b\x0c\r\x85\u2028\u2029")


@functools.cache
def _categories() -> dict[str, _Ranges]:
    """Ranges of every Unicode general category and its one-letter major class
    (built once, on the first pattern that needs them)."""
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


def _union(keys: Sequence[str]) -> _Ranges:
    table = _categories()
    return sorted(r for key in keys for r in table.get(key, []))


def _property_ranges(name: str, unicode_classes: bool) -> _Ranges | None:
    """Ranges of ``\\p{name}``, or None for a name not supported."""
    if name.startswith("Is") and name[2:] in _POSIX:
        name = name[2:]
    if name in _POSIX:
        if unicode_classes and name in _POSIX_UNICODE:
            return _union(_POSIX_UNICODE[name])
        return _POSIX[name]
    if name in ("javaWhitespace", "IsWhite_Space", "IsWhiteSpace", "javaSpaceChar"):
        spaces = [r for r in _categories()["Z"] if r[0] not in (0xA0, 0x2007, 0x202F)]
        return sorted([(0x09, 0x0D), (0x1C, 0x1F), *spaces])
    if name in _PROPERTY_ALIASES:
        return _union(_PROPERTY_ALIASES[name])
    key = name
    for prefix in ("general_category=", "gc=", "Is"):
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    if key in _GENERAL_CATEGORIES:
        return _categories().get(key, [])
    return None


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


def _class_char(cp: int) -> str:
    if cp < 0x80 and (chr(cp).isalnum() or chr(cp) == "_"):
        return chr(cp)
    return f"\\x{cp:02x}" if cp <= 0xFF else f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"


def _set(ranges: _Ranges, *, in_class: bool) -> str:
    """``ranges`` as class members (inside a class) or as a class of their own."""
    text = "".join(_class_char(lo) if lo == hi else f"{_class_char(lo)}-{_class_char(hi)}" for lo, hi in ranges)
    if in_class:
        return text
    return f"[{text}]" if ranges else "(?!)"


# ``.``, ``^``, ``$`` and ``\Z`` as Java defines them, by (unix_lines, multiline).
_DOT = {True: "[^\\n]", False: "[^\\n\\r\\x85\\u2028\\u2029]"}
_CARET = {
    (False, False): "^", (True, False): "^",
    (True, True): "(?!\\Z)(?:\\A|(?<=\\n))",
    (False, True): "(?!\\Z)(?:\\A|(?<=[\\n\\r\\x85\\u2028\\u2029])(?!(?<=\\r)\\n))",
}
_DOLLAR = {
    (True, False): "(?=\\n?\\Z)",
    (False, False): "(?=(?:\\r\\n|[\\n\\r\\x85\\u2028\\u2029])?\\Z)(?!(?<=\\r)\\n)",
    (True, True): "(?=\\n|\\Z)",
    (False, True): "(?=[\\n\\r\\x85\\u2028\\u2029]|\\Z)(?!(?<=\\r)\\n)",
}
_QUANTIFIER = re.compile(r"\{(\d+)(,(\d*))?\}")
_GROUP_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9]*")
_FLAGS_GROUP = re.compile(r"\(\?([idmsuxUc]*)(?:-([idmsuxUc]*))?([:)])")
_WHITESPACE = " \t\n\x0b\f\r"


@dataclass(slots=True)
class _Frame:
    saved: int          # the flags in force when the group opened
    closers: int = 0    # scoped (?i:...) groups opened inside, closed with it


class _Translator:
    """One pass over a Java pattern, emitting Python regex text with the
    source position of every emitted piece (to place Python's errors)."""

    def __init__(self, pattern: str, flags: int) -> None:
        self.p = pattern
        self.i = 0
        self.flags = flags
        self.out: list[str] = []
        self.src: list[int] = []
        self.frames: list[_Frame] = [_Frame(flags)]
        self.groups = 0
        self.names: list[str] = []
        self.unicode = bool(flags & (UNICODE_CASE | UNICODE_CHARACTER_CLASS))

    def emit(self, text: str, at: int) -> None:
        self.out.append(text)
        self.src.append(at)

    def fail(self, message: str, at: int | None = None) -> JavaRegexError:
        return JavaRegexError(message, self.i if at is None else at)

    @property
    def _unix(self) -> bool:
        return bool(self.flags & UNIX_LINES)

    def run(self) -> str:
        p = self.p
        while self.i < len(p):
            start = self.i
            c = p[start]
            if self.flags & COMMENTS and self._skip_comment():
                continue
            if c == "\\":
                self.emit(self.escape(in_class=False), start)
            elif c == "[":
                self.emit(self.char_class(), start)
            elif c == "(":
                self.open_group()
            elif c == ")":
                if len(self.frames) == 1:
                    raise self.fail("Unmatched closing ')'")
                frame = self.frames.pop()
                self.emit(")" * (frame.closers + 1), start)
                self.flags = frame.saved
                self.i += 1
            elif c == ".":
                self.emit("." if self.flags & DOTALL else _DOT[self._unix], start)
                self.i += 1
            elif c == "^":
                self.emit(_CARET[(self._unix, bool(self.flags & MULTILINE))], start)
                self.i += 1
            elif c == "$":
                self.emit(_DOLLAR[(self._unix, bool(self.flags & MULTILINE))], start)
                self.i += 1
            elif c == "{":
                m = _QUANTIFIER.match(p, start)
                if m is None or not self.out:
                    raise self.fail("Illegal repetition")
                if m.group(3) and int(m.group(3)) < int(m.group(1)):
                    raise self.fail("Illegal repetition range")
                self.emit(m.group(), start)
                self.i = m.end()
            else:
                self.emit(c, start)
                self.i += 1
        if len(self.frames) > 1:
            raise self.fail("Unclosed group", len(p))
        self.emit(")" * self.frames[0].closers, len(p))
        return "".join(self.out)

    def _skip_comment(self) -> bool:
        """In COMMENTS mode, skip white space or a ``#`` comment; whether anything was skipped."""
        p = self.p
        if p[self.i] in _WHITESPACE:
            self.i += 1
            return True
        if p[self.i] == "#":
            while self.i < len(p) and p[self.i] not in _LINE_TERMINATORS:
                self.i += 1
            return True
        return False

    def _set_case(self, before: int) -> None:
        """Open a scoped group when an inline flag changed case sensitivity mid-group."""
        if (before ^ self.flags) & CASE_INSENSITIVE:
            self.emit("(?i:" if self.flags & CASE_INSENSITIVE else "(?-i:", self.i)
            self.frames[-1].closers += 1

    def open_group(self) -> None:
        p, start = self.p, self.i
        if not p.startswith("(?", start):
            self.groups += 1
            self.frames.append(_Frame(self.flags))
            self.emit("(", start)
            self.i += 1
            return
        m = _FLAGS_GROUP.match(p, start)
        if m and (m.group(1) or m.group(2) is not None):
            before = self.flags
            for letter in m.group(1):
                self.flags |= _INLINE[letter]
            for letter in m.group(2) or "":
                self.flags &= ~_INLINE[letter]
            if self.flags & (UNICODE_CASE | UNICODE_CHARACTER_CLASS):
                self.unicode = True
            self.i = m.end()
            if m.group(3) == ")":
                self._set_case(before)
            else:
                self.frames.append(_Frame(before))
                case = self.flags & CASE_INSENSITIVE
                changed = (before ^ self.flags) & CASE_INSENSITIVE
                self.emit(("(?i:" if case else "(?-i:") if changed else "(?:", start)
            return
        for prefix in ("(?:", "(?=", "(?!", "(?<=", "(?<!", "(?>"):
            if p.startswith(prefix, start):
                self.frames.append(_Frame(self.flags))
                self.emit(prefix, start)
                self.i += len(prefix)
                return
        if p.startswith("(?<", start):
            name = _GROUP_NAME.match(p, start + 3)
            if name is None or not p.startswith(">", name.end()):
                raise self.fail("named capturing group is missing trailing '>'", start + 3)
            if name.group() in self.names:
                raise self.fail(f"Named capturing group <{name.group()}> is already defined", start + 3)
            self.groups += 1
            self.names.append(name.group())
            self.frames.append(_Frame(self.flags))
            self.emit(f"(?P<{name.group()}>", start)
            self.i = name.end() + 1
            return
        raise self.fail("Unknown inline modifier", start + 2)

    def char_class(self) -> str:
        """A ``[...]`` class (with nested unions) as one Python class."""
        p = self.p
        start = self.i
        self.i += 1
        negated = p.startswith("^", self.i)
        if negated:
            self.i += 1
        members = self._class_members(start)
        if not members:
            return "[\\s\\S]" if negated else "(?!)"
        return f"[{'^' if negated else ''}{members}]"

    def _class_members(self, start: int) -> str:
        p = self.p
        parts: list[str] = []
        first = True
        after_set = False  # the last member was a set (\\w, \\p{..}, a nested class): a "-" after it is literal
        while self.i < len(p):
            c = p[self.i]
            if self.flags & COMMENTS and (c in _WHITESPACE or c == "#"):
                self._skip_comment()
                continue
            if c == "]" and not first:
                self.i += 1
                return "".join(parts)
            was_set = False
            if c == "\\":
                was_set = p[self.i + 1:self.i + 2] in tuple("dDwWsSpPhHvV")
                parts.append(self.escape(in_class=True))
            elif c == "[":
                if p.startswith("[^", self.i):
                    raise self.fail("negated nested character classes are not supported")
                self.i += 1
                parts.append(self._class_members(self.i - 1))
                was_set = True
            elif p.startswith("&&", self.i):
                raise self.fail("character class intersection (&&) is not supported")
            elif c in "&~|[" or (c == "-" and (after_set or (parts and parts[-1].endswith("-")))):
                parts.append("\\" + c)
                self.i += 1
            else:
                parts.append(c)
                self.i += 1
            first = False
            after_set = was_set
        raise self.fail("Unclosed character class", start)

    def _predefined(self, letter: str, *, in_class: bool) -> str:
        """``\\d \\w \\s`` and their negations, ASCII unless UNICODE_CHARACTER_CLASS."""
        if self.flags & UNICODE_CHARACTER_CLASS:
            self.unicode = True
            return "\\" + letter
        ranges = {"d": _ASCII_DIGIT, "w": _ASCII_WORD, "s": _ASCII_SPACE}[letter.lower()]
        if letter.isupper():
            if in_class:
                return _set(_complement(ranges), in_class=True)
            return "[^" + _set(ranges, in_class=True) + "]"
        return _set(ranges, in_class=in_class)

    def escape(self, *, in_class: bool) -> str:
        p = self.p
        at = self.i
        if self.i + 1 >= len(p):
            raise self.fail("Unexpected internal error: trailing backslash")
        c = p[self.i + 1]
        self.i += 2
        if c == "Q":
            end = p.find("\\E", self.i)
            literal = p[self.i:] if end < 0 else p[self.i:end]
            self.i = len(p) if end < 0 else end + 2
            return quote_literal(literal)
        if c in "dDwWsS":
            return self._predefined(c, in_class=in_class)
        if c in "pP":
            if p.startswith("{", self.i):
                end = p.find("}", self.i)
                if end < 0:
                    raise self.fail("Unclosed character family", at)
                name = p[self.i + 1:end]
                self.i = end + 1
            elif self.i < len(p):
                name = p[self.i]
                self.i += 1
            else:
                raise self.fail("Illegal character family", at)
            ranges = _property_ranges(name, bool(self.flags & UNICODE_CHARACTER_CLASS))
            if ranges is None:
                raise self.fail(f"Unknown or unsupported character property name {{{name}}}", at)
            return _set(ranges if c == "p" else _complement(ranges), in_class=in_class)
        if c in "hH":
            return _set(_HORIZONTAL if c == "h" else _complement(_HORIZONTAL), in_class=in_class)
        if c in "vV":
            return _set(_VERTICAL if c == "v" else _complement(_VERTICAL), in_class=in_class)
        if c == "e":
            return "\\x1b"
        if c == "c":
            if self.i >= len(p):
                raise self.fail("Illegal control escape sequence", at)
            self.i += 1
            return _class_char(ord(p[self.i - 1]) ^ 64)
        if c == "x" and p.startswith("{", self.i):
            end = p.find("}", self.i)
            try:
                cp = int(p[self.i + 1:end], 16) if end > self.i + 1 else -1
            except ValueError:
                cp = -1
            if not 0 <= cp <= sys.maxunicode:
                raise self.fail("Illegal hexadecimal escape sequence", at)
            self.i = end + 1
            return _class_char(cp)
        if c == "0":
            m = re.compile(r"[0-3][0-7]{2}|[0-7]{1,2}").match(p, self.i)
            if not m:
                raise self.fail("Illegal octal escape sequence", at)
            self.i = m.end()
            return _class_char(int(m.group(), 8))
        if c in "GX" or (c == "b" and p.startswith("{", self.i)):
            raise self.fail(f"\\{c} is not supported", at)
        if in_class:
            return "\\" + c
        if c == "R":
            return "(?:\\r\\n|[\\n\\x0b\\x0c\\r\\x85\\u2028\\u2029])"
        if c == "z":
            return "\\Z"
        if c == "Z":
            return "(?=\\n?\\Z)" if self._unix else "(?=(?:\\r\\n|[\\n\\r\\x85\\u2028\\u2029])?\\Z)"
        if c == "k":
            if not p.startswith("<", self.i):
                raise self.fail("\\k is not followed by '<' for named capturing group", at)
            ref_name = _GROUP_NAME.match(p, self.i + 1)
            if ref_name is None or not p.startswith(">", ref_name.end()):
                raise self.fail("named capturing group is missing trailing '>'", at)
            if ref_name.group() not in self.names:
                raise self.fail(f"named capturing group <{ref_name.group()}> does not exist", at)
            self.i = ref_name.end() + 1
            return f"(?P={ref_name.group()})"
        if "1" <= c <= "9":
            ref = int(c)
            while self.i < len(p) and "0" <= p[self.i] <= "9" and ref * 10 + int(p[self.i]) <= self.groups:
                ref = ref * 10 + int(p[self.i])
                self.i += 1
            # Java accepts a reference to a group that does not exist (yet): it never matches.
            return f"(?:\\{ref})" if ref <= self.groups else "(?!)"
        return "\\" + c


def quote_literal(text: str) -> str:
    """``text`` as a pattern (Java or Python) matching it literally: every
    ASCII character that is not a letter or digit is escaped."""
    return "".join("\\" + ch if ch < "\x80" and not ch.isalnum() else ch for ch in text)


@dataclass(frozen=True, slots=True)
class JavaPattern:
    """A compiled Java pattern: ``regex`` is the Python equivalent;
    ``group_count`` and ``group_names`` (in order of appearance) are Java's."""

    source: str
    flags: int
    regex: re.Pattern[str]
    group_count: int
    group_names: tuple[str, ...]


def _position(translator: _Translator, out_pos: int | None) -> int | None:
    if out_pos is None:
        return None
    offsets = []
    total = 0
    for piece in translator.out:
        offsets.append(total)
        total += len(piece)
    index = bisect.bisect_right(offsets, out_pos) - 1
    return translator.src[index] if index >= 0 else 0


@functools.lru_cache(maxsize=1024)
def compile_java(pattern: str, flags: int = 0) -> JavaPattern:
    """Translate and compile ``pattern`` with Java ``flags`` (the bits above).
    Raises ``JavaRegexError`` naming the position for a pattern Java refuses
    or that uses an unsupported feature. Results are cached."""
    if flags & LITERAL:
        translator = _Translator("", flags)
        text = quote_literal(pattern)
        ignore_case = bool(flags & CASE_INSENSITIVE)
        text = f"(?i:{text})" if ignore_case else text
    else:
        translator = _Translator(pattern, flags)
        text = translator.run()
        if flags & CASE_INSENSITIVE:
            text = f"(?i:{text})"
    python_flags = re.DOTALL | (0 if translator.unicode else re.ASCII)
    try:
        regex = re.compile(text, python_flags)
    except re.error as exc:
        position = _position(translator, exc.pos) if translator.out else exc.pos
        raise JavaRegexError(exc.msg, position) from None
    except (OverflowError, RecursionError) as exc:
        raise JavaRegexError(f"the pattern is too large or too deeply nested ({exc})") from None
    return JavaPattern(pattern, flags, regex, regex.groups, tuple(translator.names))


def java_regex_problem(pattern: str, flags: int = 0, *, min_groups: int = 0, max_groups: int | None = None) -> (
    str | None
):
    """Why ``pattern`` is not acceptable (not valid Java, unsupported, or a
    capturing group count outside ``min_groups..max_groups``), as a
    validation explanation quoting the pattern; ``None`` when it is fine."""
    try:
        compiled = compile_java(pattern, flags)
    except JavaRegexError as exc:
        return f"'{pattern}' is not a valid Java regular expression: {exc}"
    if compiled.group_count < min_groups or (max_groups is not None and compiled.group_count > max_groups):
        most = "" if max_groups is None else f" and at most {max_groups}"
        return (f"'{pattern}' has {compiled.group_count} capturing group(s); at least {min_groups}{most} "
                "are required")
    return None
