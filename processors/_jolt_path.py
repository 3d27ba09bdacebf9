"""Jolt's path machinery: spec keys (``*``, ``&1``, ``@(1,a.b)``, ``$``, ``#x``,
``[#2]``), the walked path they are evaluated against, and the traversal
that reads and writes output paths.

Semantics follow bazaarvoice/jolt (``common.pathelement`` and ``traversr``):

- A LHS key is a literal, a star pattern (``*`` matches anything; each
  ``*`` of ``a-*-*`` captures at least one character, non-greedily), an
  ``&`` reference that must equal the input key, ``@`` (the input itself),
  ``@(n,path)`` (data looked up elsewhere), ``$``/``$(n,m)`` (a matched key as
  data), ``#text`` (the text as data) or ``[...]``. ``\\`` escapes.
- A RHS path is dot separated; ``a[1]`` is ``a.[1]``; ``&(n,m)`` is capture
  ``m`` (0 = the whole key) of the key matched ``n`` levels up; ``@(n,path)``
  uses the data found there as a key; ``[]`` appends, ``[n]``, ``[&n]``,
  ``[#n]`` (how many siblings matched before, n levels up) and ``[@(...)]``
  index an array.

Pure code; spec mistakes raise ``JoltSpecError``. The errors, ``MISSING``, the
walked path, escapes and reference parsing are in ``_jolt_walk`` (re-exported here).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flowyard.processors._jolt_walk import (
    MISSING,
    JoltError,
    JoltSpecError,
    Matched,
    WalkedPath,
    _reference,
    remove_escape_chars,
    remove_escaped_values,
    scalar_key,
)

__all__ = [
    "MISSING",
    "AmpElement",
    "ArrayElement",
    "AtElement",
    "DollarElement",
    "HashElement",
    "JoltError",
    "JoltSpecError",
    "LiteralElement",
    "Matched",
    "PathReader",
    "PathWriter",
    "StarElement",
    "TransposeElement",
    "WalkedPath",
    "parse_lhs",
    "parse_rhs",
    "scalar_key",
]


# -- path elements ---------------------------------------------------------------------------

class Element:
    """A parsed spec key."""

    raw: str = ""
    canonical: str = ""
    #: ordering class for computed keys (lower first), see ``sort_key``
    order: int = 0

    def match(self, key: str, path: WalkedPath) -> Matched | None:
        raise JoltSpecError(f"{self.raw!r} is not a valid LHS key")

    def evaluate(self, path: WalkedPath) -> str | None:
        raise JoltSpecError(f"{self.raw!r} is not a valid RHS key")

    def string_match(self, literal: str) -> bool:
        return False


class LiteralElement(Element):
    def __init__(self, key: str) -> None:
        self.raw = self.canonical = key

    def match(self, key: str, path: WalkedPath) -> Matched | None:
        return Matched(key) if key == self.raw else None

    def evaluate(self, path: WalkedPath) -> str | None:
        return self.raw


class StarElement(Element):
    """``*`` and star patterns: each star captures one or more characters."""

    def __init__(self, key: str) -> None:
        self.raw = self.canonical = key
        stars = key.count("*")
        self.order = 5 if key == "*" else {1: 4, 2: 3}.get(stars, 2)
        self.all = key == "*"
        self.regex = re.compile("^" + "(.+?)".join(re.escape(part) for part in key.split("*")) + "$", re.DOTALL)

    def string_match(self, literal: str) -> bool:
        return self.all or self.regex.match(literal) is not None

    def match(self, key: str, path: WalkedPath) -> Matched | None:
        if self.all:
            return Matched(key, orig_size=path.steps[-1][1].orig_size)
        found = self.regex.match(key)
        if found is None:
            return None
        return Matched(key, list(found.groups()))


class AmpElement(Element):
    """A key built from ``&`` references (and text): matches when it evaluates to the input key."""

    order = 1

    def __init__(self, key: str) -> None:
        self.raw = key
        self.tokens: list[str | tuple[int, int]] = []
        canonical: list[str] = []
        literal: list[str] = []
        index = 0
        while index < len(key):
            ch = key[index]
            if ch == "&":
                if literal:
                    self.tokens.append("".join(literal))
                    canonical.append("".join(literal))
                    literal = []
                end = index + 1
                while end < len(key) and (key[end].isdigit() or key[end] in "(),"):
                    end += 1
                level, group = _reference(key[index:end], "&")
                self.tokens.append((level, group))
                canonical.append(f"&({level},{group})")
                index = end
                continue
            literal.append(ch)
            index += 1
        if literal:
            self.tokens.append("".join(literal))
            canonical.append("".join(literal))
        self.canonical = "".join(canonical)

    def evaluate(self, path: WalkedPath) -> str | None:
        out = []
        for token in self.tokens:
            if isinstance(token, str):
                out.append(token)
            else:
                out.append(path.from_end(token[0])[1].group(token[1]))
        return "".join(out)

    def match(self, key: str, path: WalkedPath) -> Matched | None:
        evaluated = self.evaluate(path)
        return Matched(evaluated) if evaluated == key else None


class AtElement(Element):
    """``@``: the input itself."""

    def __init__(self, key: str) -> None:
        self.raw = key
        self.canonical = "@"

    def match(self, key: str, path: WalkedPath) -> Matched | None:
        return path.last()


class DollarElement(Element):
    """``$``, ``$n``, ``$(n,m)``: a matched key (or capture) as data."""

    def __init__(self, key: str) -> None:
        self.raw = key
        self.level, self.group = _reference(key, "$")
        self.canonical = f"$({self.level},{self.group})"

    def evaluate(self, path: WalkedPath) -> str | None:
        return path.from_end(self.level)[1].group(self.group)

    def match(self, key: str, path: WalkedPath) -> Matched | None:
        return Matched(self.evaluate(path) or "")


class HashElement(Element):
    """``#text`` / ``#(text)``: the text as data."""

    def __init__(self, key: str) -> None:
        self.raw = key
        if not key.startswith("#") or len(key) <= 1:
            raise JoltSpecError(f"a # key needs text after the #: {key!r}")
        if key[1] == "(":
            if not key.endswith(")"):
                raise JoltSpecError(f"a # key has mismatched parens: {key!r}")
            self.value = key[2:-1]
        else:
            self.value = key[1:]
        self.canonical = f"#({self.value})"

    def match(self, key: str, path: WalkedPath) -> Matched | None:
        return Matched(self.value)


class TransposeElement(Element):
    """``@(n,path)``: data found ``n`` levels up and down ``path``."""

    def __init__(self, key: str) -> None:
        self.raw = key
        if len(key) < 2 or not key.startswith("@"):
            raise JoltSpecError(f"invalid @ key {key!r}")
        meat = key[1:]
        if "@" in meat:
            raise JoltSpecError(f"@ path element can not contain a nested @: {key!r}")
        if "*" in meat or "[]" in meat:
            raise JoltSpecError(f"@ path element can not contain * or []: {key!r}")
        if meat.startswith("("):
            if not meat.endswith(")"):
                raise JoltSpecError(f"@ path element that starts with '(' must have a matching ')': {key!r}")
            meat = meat[1:-1]
        level = 0
        sub_path: str | None = meat
        if meat and meat[0].isdigit():
            digits, comma, rest = meat.partition(",")
            if not digits.isdigit():
                raise JoltSpecError(f"@ path element with non/mixed numeric key is not valid: {key!r}")
            level = int(digits)
            sub_path = rest if comma else None
        self.level = level
        self.reader = PathReader(sub_path) if sub_path else None
        self.canonical = f"@({level},{self.reader.canonical if self.reader else ''})"

    def data(self, path: WalkedPath) -> Any:
        """The data found, or ``MISSING``."""
        tree = path.from_end(self.level)[0]
        if self.reader is None:
            return tree
        return self.reader.read(tree, path)

    def evaluate(self, path: WalkedPath) -> str | None:
        found = self.data(path)
        return None if found is MISSING else scalar_key(found)

    def match(self, key: str, path: WalkedPath) -> Matched | None:
        return path.last()


class ArrayElement(Element):
    """``[]``, ``[3]``, ``[&1]``, ``[#2]``, ``[@(1,i)]``."""

    def __init__(self, key: str) -> None:
        self.raw = key
        if not key.startswith("[") or not key.endswith("]"):
            raise JoltSpecError(f"invalid array key {key!r}")
        meat = key[1:-1]
        self.kind = "auto"
        self.reference: tuple[int, int] = (0, 0)
        self.transpose: TransposeElement | None = None
        self.index = ""
        if not meat:
            self.canonical = "[]"
        elif meat.startswith("&"):
            self.kind = "ref"
            self.reference = _reference(meat, "&")
            self.canonical = f"[&({self.reference[0]},{self.reference[1]})]"
        elif meat.startswith("#"):
            self.kind = "hash"
            self.reference = _reference(meat, "#", with_group=False)
            self.canonical = f"[#({self.reference[0]})]"
        elif meat.startswith("@"):
            self.kind = "transpose"
            self.transpose = TransposeElement(meat)
            self.canonical = f"[{self.transpose.canonical}]"
        else:
            if _non_negative(meat) is None:
                raise JoltSpecError(f"bad explicit array index {meat!r} in {key!r}")
            self.kind = "index"
            self.index = meat
            self.canonical = f"[{meat}]"

    def evaluate(self, path: WalkedPath) -> str | None:
        if self.kind == "auto":
            return "[]"
        if self.kind == "index":
            return self.index
        if self.kind == "hash":
            return str(path.from_end(self.reference[0])[1].hash_count)
        if self.kind == "transpose":
            assert self.transpose is not None
            return _non_negative(self.transpose.evaluate(path))
        return _non_negative(path.from_end(self.reference[0])[1].group(self.reference[1]))

    def match(self, key: str, path: WalkedPath) -> Matched | None:
        evaluated = self.evaluate(path)
        return Matched(evaluated) if evaluated is not None and evaluated == key else None


def _non_negative(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return text if int(text) >= 0 else None
    except ValueError:
        return None


def parse_lhs(original: str) -> Element:
    """A single spec key (no ``|``) parsed into its element, as Jolt's
    ``PathElementBuilder.parseSingleKeyLHS``. Raises ``JoltSpecError``."""
    if "\\" in original:
        inspect = remove_escaped_values(original)
        key = remove_escape_chars(original)
    else:
        inspect = key = original
    if inspect == "@":
        return AtElement(key)
    if inspect == "*":
        return StarElement(key)
    if inspect.startswith("["):
        if inspect.count("[") != 1 or inspect.count("]") != 1:
            raise JoltSpecError(f"invalid key {original!r}: too many [] references")
        return ArrayElement(key)
    if inspect.startswith("@") or "@(" in inspect:
        return TransposeElement(original)
    if "@" in inspect:
        raise JoltSpecError(f"invalid key {original!r}: an @ can only be at the front")
    if "$" in inspect:
        return DollarElement(key)
    if "[" in inspect:
        if inspect.count("[") != 1 or inspect.count("]") != 1:
            raise JoltSpecError(f"invalid key {original!r}: too many [] references")
        return ArrayElement(key)
    if "&" in inspect:
        if "*" in inspect:
            raise JoltSpecError(f"invalid key {original!r}: can't mix * with &")
        return AmpElement(key)
    if "*" in inspect:
        return StarElement(key)
    if "#" in inspect:
        return HashElement(key)
    return LiteralElement(key)


# -- RHS dot notation ------------------------------------------------------------------------

def _fix_leading_bracket_sugar(text: str) -> str:
    if not text:
        return ""
    out = [text[0]]
    previous = text[0]
    for ch in text[1:]:
        if ch == "[" and previous != "\\" and previous not in "@.":
            out.append(".")
        out.append(ch)
        previous = ch
    return "".join(out)


def _parse_at(chars: list[str], position: int, reference: str) -> tuple[str, int]:
    """The text of an ``@`` element after the ``@`` (``(...)`` or up to a dot)."""
    if position >= len(chars):
        return "", position
    first = chars[position]
    position += 1
    if first == ".":
        raise JoltSpecError(f"unable to parse the @ in {reference!r}")
    out = [first]
    if first == "(":
        depth = 1
        while position < len(chars):
            ch = chars[position]
            position += 1
            out.append(ch)
            if ch == "(":
                raise JoltSpecError(f"too many open parens in {reference!r}")
            if ch == ")":
                depth -= 1
                if depth == 0:
                    return "".join(out), position
        raise JoltSpecError(f"invalid @() in {reference!r}")
    while position < len(chars):
        ch = chars[position]
        position += 1
        if ch == ".":
            return "(" + "".join(out) + ")", position
        out.append(ch)
    return "".join(out), position


def split_dot_notation(text: str) -> list[str]:
    """Jolt's ``parseDotNotation``: the keys of a RHS path (escapes kept
    except before ``.`` and ``\\``)."""
    chars = list(_fix_leading_bracket_sugar(text))
    parts: list[str] = []
    current: list[str] = []
    previous_escape = False
    position = 0
    while position < len(chars):
        ch = chars[position]
        position += 1
        escape = ch == "\\" and not previous_escape
        if previous_escape and ch not in ".\\":
            current.append("\\" + ch)
        elif ch == "@":
            at, position = _parse_at(chars, position, text)
            current.append("@" + at)
            joined = "".join(current)
            if not ("[" in joined and "]" not in joined):
                parts.append(joined)
                current = []
        elif ch == ".":
            if previous_escape:
                current.append(".")
            else:
                if current:
                    parts.append("".join(current))
                current = []
        elif not escape:
            current.append(ch)
        previous_escape = escape
    if current:
        parts.append("".join(current))
    return parts


def parse_rhs(text: str) -> list[Element]:
    """A RHS output path parsed into evaluatable elements. Raises ``JoltSpecError``."""
    elements = []
    for part in split_dot_notation(text):
        element = parse_lhs(part)
        if isinstance(element, (AtElement, DollarElement, HashElement, StarElement)):
            raise JoltSpecError(f"{part!r} is not valid in an output path: {text!r}")
        elements.append(element)
    return elements


class _PathBase:
    def __init__(self, text: str, *, check: bool = True) -> None:
        if check and (("*" in text and "\\*" not in text) or ("$" in text and "\\$" not in text)):
            raise JoltSpecError(f"an output path can not contain '*' or '$': {text!r}")
        self.text = text
        self.elements = parse_rhs(text) if text.strip() else []
        self.canonical = ".".join(e.canonical for e in self.elements)

    def keys(self, path: WalkedPath) -> list[str] | None:
        out = []
        for element in self.elements:
            value = element.evaluate(path)
            if value is None:
                return None
            out.append(value)
        return out


class PathReader(_PathBase):
    """Reads data at a path below some data (the ``path`` of ``@(n,path)``)."""

    def __init__(self, text: str) -> None:
        super().__init__(text, check=False)

    def read(self, tree: Any, path: WalkedPath) -> Any:
        keys = self.keys(path)
        if keys is None:
            return MISSING
        current = tree
        for element, key in zip(self.elements, keys, strict=True):
            if isinstance(element, ArrayElement):
                if not isinstance(current, list) or key == "[]":
                    return MISSING
                index = int(key)
                if index >= len(current):
                    return MISSING
                current = current[index]
            elif isinstance(current, dict):
                if key not in current:
                    return MISSING
                current = current[key]
            elif isinstance(current, list) and key.isdigit():
                index = int(key)
                if index >= len(current):
                    return MISSING
                current = current[index]
            else:
                return MISSING
        return current


FinalSet = Callable[[Any, str | int, Any, bool], None]


class PathWriter(_PathBase):
    """Writes data at an output path below the root (Shiftr's writer: a value
    already there and the new one become a list)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.kinds = [_kind(e) for e in self.elements]
        literal = all(isinstance(e, LiteralElement) for e in self.elements)
        self.fixed_keys = [e.raw for e in self.elements] if literal else None

    def write(self, data: Any, output: dict[str, Any], path: WalkedPath, root_key: str = "root") -> None:
        keys = self.fixed_keys if self.fixed_keys is not None else self.keys(path)
        if keys is None:
            return
        container: Any = output
        kind, key = "map", root_key
        for next_kind, next_key in zip(self.kinds, keys, strict=True):
            if not _fits(container, kind):
                return  # Jolt skips a path whose containers do not fit
            child = _get(container, kind, key)
            if child is MISSING or child is None:
                child = {} if next_kind == "map" else []
                _overwrite(container, kind, key, child)
            container, kind, key = child, next_kind, next_key
        if _fits(container, kind):
            _final_set(container, kind, key, data)


def _kind(element: Element) -> str:
    if isinstance(element, ArrayElement):
        return "auto" if element.kind == "auto" else "list"
    return "map"


def _fits(container: Any, kind: str) -> bool:
    return isinstance(container, list) if kind in ("list", "auto") else isinstance(container, dict)


def _get(container: Any, kind: str, key: str) -> Any:
    if kind == "map":
        return container.get(key, MISSING)
    if kind == "auto":
        return MISSING
    index = int(key)
    return container[index] if index < len(container) else MISSING


def _overwrite(container: Any, kind: str, key: str, value: Any) -> None:
    if kind == "map":
        container[key] = value
    elif kind == "auto":
        container.append(value)
    else:
        index = int(key)
        while len(container) <= index:
            container.append(None)
        container[index] = value


def _final_set(container: Any, kind: str, key: str, data: Any) -> None:
    existing = _get(container, kind, key)
    if existing is MISSING or existing is None:
        _overwrite(container, kind, key, data)
    elif isinstance(existing, list):
        existing.append(data)
    else:
        _overwrite(container, kind, key, [existing, data])
