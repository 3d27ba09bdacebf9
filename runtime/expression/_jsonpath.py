"""The JsonPath subset NiFi users write, evaluated as Jayway JsonPath does. Pure; no eval.

Supported: root ``$`` (a path without it gets ``$.`` prepended, as Jayway does),
``.name``, ``['name']``, ``['a','b']``, ``.*``, ``[*]``, ``[n]`` (negative from
the end), ``[n,m]``, slices ``[a:b]``, deep scan ``..name`` / ``..*`` / ``..[n]``,
filters ``[?(...)]`` with ``@``/``$`` paths, literals (strings, numbers,
``true``/``false``/``null``, JSON arrays, ``/regex/i``), ``== != < <= > >= =~ in
nin contains size empty anyof noneof subsetof``, ``&& || !`` and parentheses,
and the trailing functions ``length() size() sum() min() max() avg() keys()
first() last()``.

``select`` returns the matched values plus whether the path is definite (one
result or Jayway's PathNotFoundException); ``refs`` returns (container, key)
locations for the update operations. ``JsonPathError`` means the path text is
invalid.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from flowyard.runtime.expression._javaregex import JavaRegexError, compile_java

__all__ = ["JsonPathError", "Path", "compile_path"]


class JsonPathError(ValueError):
    """The JsonPath text is invalid."""


@dataclass(frozen=True, slots=True)
class _Props:
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Wildcard:
    pass


@dataclass(frozen=True, slots=True)
class _Indexes:
    indexes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Slice:
    start: int | None
    end: int | None


@dataclass(frozen=True, slots=True)
class _Filter:
    expr: Any


@dataclass(frozen=True, slots=True)
class _Scan:
    pass


_Token = _Props | _Wildcard | _Indexes | _Slice | _Filter | _Scan
_FUNCTIONS = ("length", "size", "sum", "min", "max", "avg", "keys", "first", "last")
_UNDEFINED = object()
_NAME_END = re.compile(r"[.\[( ]")


class _Reader:
    """A cursor over path (or filter) text."""

    def __init__(self, text: str, pos: int = 0) -> None:
        self.text = text
        self.pos = pos

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos:self.pos + n]

    def skip_spaces(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def expect(self, s: str) -> None:
        self.skip_spaces()
        if not self.text.startswith(s, self.pos):
            raise JsonPathError(f"expected {s!r} at position {self.pos} of {self.text!r}")
        self.pos += len(s)

    def quoted(self) -> str:
        quote = self.text[self.pos]
        out: list[str] = []
        self.pos += 1
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
            elif c == quote:
                self.pos += 1
                return "".join(out)
            else:
                out.append(c)
                self.pos += 1
        raise JsonPathError(f"unterminated string in {self.text!r}")


@dataclass(frozen=True, slots=True)
class Path:
    """A compiled JsonPath."""

    text: str
    tokens: tuple[_Token, ...]
    function: str | None
    root: str  # "$" or "@"

    @property
    def definite(self) -> bool:
        """Jayway's notion: no wildcard, deep scan, filter, slice, or multiple names/indexes."""
        for t in self.tokens:
            if isinstance(t, _Wildcard | _Slice | _Filter | _Scan):
                return False
            if isinstance(t, _Props) and len(t.names) > 1:
                return False
            if isinstance(t, _Indexes) and len(t.indexes) > 1:
                return False
        return True

    def select(self, document: object) -> list[object]:
        """The values the path matches in ``document`` (multi-name leaves merged into one object)."""
        hits = [value for _, _, value in self._walk(document, merge=True)]
        if self.function is not None:
            return [_apply_function(self.function, hits[0] if self.definite and hits else hits)]
        return hits

    def refs(self, document: object) -> list[tuple[object, object]]:
        """(container, key) of every match, for updates; key None means the document itself."""
        return [(parent, key) for parent, key, _ in self._walk(document, merge=False)]

    def _walk(self, document: object, *, merge: bool) -> list[tuple[object, object, object]]:
        current: list[tuple[object, object, object]] = [(None, None, document)]
        tokens = self.tokens
        i = 0
        while i < len(tokens):
            token = tokens[i]
            leaf = i == len(tokens) - 1
            if isinstance(token, _Scan):
                nxt = tokens[i + 1]
                nxt_leaf = i + 1 == len(tokens) - 1
                found: list[tuple[object, object, object]] = []
                for _, _, value in current:
                    for node in _preorder(value, document):
                        found.extend(_step(nxt, node, document, merge=merge and nxt_leaf))
                current = found
                i += 2
                continue
            current = [hit for _, _, value in current for hit in _step(token, value, document, merge=merge and leaf)]
            i += 1
        return current


def _preorder(value: object, root: object) -> list[object]:
    out = [value]
    if isinstance(value, dict):
        for child in value.values():
            out.extend(_preorder(child, root))
    elif isinstance(value, list):
        for child in value:
            out.extend(_preorder(child, root))
    return out


def _step(token: _Token, value: object, root: object, *, merge: bool) -> list[tuple[object, object, object]]:
    if isinstance(token, _Props):
        if not isinstance(value, dict):
            return []
        if len(token.names) > 1 and merge:
            return [(value, None, {n: value[n] for n in token.names if n in value})]
        return [(value, n, value[n]) for n in token.names if n in value]
    if isinstance(token, _Wildcard):
        if isinstance(value, dict):
            return [(value, k, v) for k, v in value.items()]
        if isinstance(value, list):
            return [(value, k, v) for k, v in enumerate(value)]
        return []
    if isinstance(token, _Indexes):
        if not isinstance(value, list):
            return []
        out: list[tuple[object, object, object]] = []
        for index in token.indexes:
            real = index + len(value) if index < 0 else index
            if 0 <= real < len(value):
                out.append((value, real, value[real]))
        return out
    if isinstance(token, _Slice):
        if not isinstance(value, list):
            return []
        start, end, size = token.start, token.end, len(value)
        first = 0 if start is None else (max(0, size + start) if start < 0 else start)
        last = size if end is None else (max(0, size + end) if end < 0 else min(end, size))
        return [(value, k, value[k]) for k in range(first, last)]
    if isinstance(token, _Filter):
        if isinstance(value, list):
            return [(value, k, v) for k, v in enumerate(value) if _truth(token.expr, v, root)]
        if isinstance(value, dict) and _truth(token.expr, value, root):
            return [(None, None, value)]
        return []
    return []


def _apply_function(name: str, value: object) -> object:
    if name in ("length", "size"):
        if isinstance(value, list | dict | str):
            return len(value)
        raise JsonPathError(f"{name}() needs an array, object or string")
    if name == "keys":
        if isinstance(value, dict):
            return list(value)
        raise JsonPathError("keys() needs an object")
    items = value if isinstance(value, list) else [value]
    if name in ("first", "last"):
        if not items:
            raise JsonPathError(f"{name}() of an empty array")
        return items[0] if name == "first" else items[-1]
    numbers = [float(v) for v in items if isinstance(v, int | float) and not isinstance(v, bool)]
    if not numbers:
        raise JsonPathError(f"aggregation function {name}() attempted to calculate value using empty array")
    if name == "sum":
        return math.fsum(numbers)
    if name == "min":
        return min(numbers)
    if name == "max":
        return max(numbers)
    return math.fsum(numbers) / len(numbers)


# -- parsing ------------------------------------------------------------------------------

def compile_path(text: str) -> Path:
    """``text`` compiled; raises ``JsonPathError`` if it is not a valid path."""
    stripped = text.strip()
    if not stripped:
        raise JsonPathError("path must not be empty")
    if stripped[0] not in "$@":
        stripped = "$." + stripped
    reader = _Reader(stripped, 1)
    path, end = _parse_tokens(reader, stripped[0], stop=None)
    if end < len(stripped):
        raise JsonPathError(f"unexpected {stripped[end]!r} at position {end} of {text!r}")
    return path


def _parse_tokens(r: _Reader, root: str, *, stop: str | None) -> tuple[Path, int]:
    """Tokens from ``r.pos`` until the text ends (or, inside a filter, a char not part of a path)."""
    tokens: list[_Token] = []
    function: str | None = None
    text = r.text
    while r.pos < len(text):
        c = text[r.pos]
        if function is not None:
            break
        if text.startswith("..", r.pos):
            r.pos += 2
            if r.pos >= len(text) or text[r.pos] in ". " or (stop and text[r.pos] in stop):
                raise JsonPathError(f"path must not end with a '..' ({text!r})")
            tokens.append(_Scan())
            if text[r.pos] == "[":
                continue
            tokens.append(_name_or_wildcard(r))
        elif c == ".":
            r.pos += 1
            if r.pos >= len(text) or text[r.pos] in ".[" or (stop and text[r.pos] in stop):
                raise JsonPathError(f"path must not end with a '.' ({text!r})")
            token = _name_or_wildcard(r)
            if isinstance(token, _Props) and text.startswith("()", r.pos):
                if token.names[0] not in _FUNCTIONS:
                    raise JsonPathError(f"function {token.names[0]}() is not supported")
                function = token.names[0]
                r.pos += 2
            else:
                tokens.append(token)
        elif c == "[":
            tokens.append(_bracket(r))
        else:
            break
    if tokens and isinstance(tokens[-1], _Scan):
        raise JsonPathError(f"path must not end with a '..' ({text!r})")
    return Path(text, tuple(tokens), function, root), r.pos


def _name_or_wildcard(r: _Reader) -> _Token:
    if r.peek() == "*":
        r.pos += 1
        return _Wildcard()
    m = _NAME_END.search(r.text, r.pos)
    end = m.start() if m else len(r.text)
    # Inside filters a name also ends at an operator or closing parenthesis.
    m2 = re.compile(r"[)=!<>&|~,\]]").search(r.text, r.pos, end)
    end = m2.start() if m2 else end
    name = r.text[r.pos:end]
    if not name:
        raise JsonPathError(f"empty property name at position {r.pos} of {r.text!r}")
    r.pos = end
    return _Props((name,))


def _bracket(r: _Reader) -> _Token:
    r.pos += 1
    r.skip_spaces()
    c = r.peek()
    if c == "*":
        r.pos += 1
        r.expect("]")
        return _Wildcard()
    if c == "?":
        r.pos += 1
        r.expect("(")
        expr = _FilterParser(r).parse_or()
        r.expect(")")
        r.expect("]")
        return _Filter(expr)
    if c in "'\"":
        names = [r.quoted()]
        r.skip_spaces()
        while r.peek() == ",":
            r.pos += 1
            r.skip_spaces()
            if r.peek() not in ("'", '"'):
                raise JsonPathError(f"expected a quoted name in {r.text!r}")
            names.append(r.quoted())
            r.skip_spaces()
        r.expect("]")
        return _Props(tuple(names))
    end = r.text.find("]", r.pos)
    if end < 0:
        raise JsonPathError(f"unclosed '[' in {r.text!r}")
    body = r.text[r.pos:end].replace(" ", "")
    r.pos = end + 1
    try:
        if ":" in body:
            start_text, _, end_text = body.partition(":")
            return _Slice(int(start_text) if start_text else None, int(end_text) if end_text else None)
        return _Indexes(tuple(int(part) for part in body.split(",")))
    except ValueError:
        raise JsonPathError(f"invalid array index [{body}] in {r.text!r}") from None


# -- filters ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Literal:
    value: object


@dataclass(frozen=True, slots=True)
class _Regex:
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class _Compare:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True, slots=True)
class _Logic:
    op: str  # "&&", "||", "!"
    parts: tuple[Any, ...]


_OPS = ("==", "!=", "<=", ">=", "=~", "<", ">", " in ", " nin ", " contains ", " size ", " empty ",
        " anyof ", " noneof ", " subsetof ")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


class _FilterParser:
    def __init__(self, r: _Reader) -> None:
        self.r = r

    def parse_or(self) -> Any:
        parts = [self.parse_and()]
        while self._take("||"):
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else _Logic("||", tuple(parts))

    def parse_and(self) -> Any:
        parts = [self.parse_unary()]
        while self._take("&&"):
            parts.append(self.parse_unary())
        return parts[0] if len(parts) == 1 else _Logic("&&", tuple(parts))

    def parse_unary(self) -> Any:
        r = self.r
        r.skip_spaces()
        if r.peek() == "!" and r.peek(2) != "!=":
            r.pos += 1
            return _Logic("!", (self.parse_unary(),))
        if r.peek() == "(":
            r.pos += 1
            inner = self.parse_or()
            r.expect(")")
            return inner
        left = self.operand()
        r.skip_spaces()
        for op in _OPS:
            probe = op.strip() if not op.startswith(" ") else op.strip() + " "
            if r.text.startswith(probe, r.pos):
                r.pos += len(probe)
                return _Compare(op.strip(), left, self.operand())
        return _Compare("exists", left, None)

    def _take(self, s: str) -> bool:
        self.r.skip_spaces()
        if self.r.text.startswith(s, self.r.pos):
            self.r.pos += len(s)
            return True
        return False

    def operand(self) -> Any:
        r = self.r
        r.skip_spaces()
        c = r.peek()
        if c in ("@", "$"):
            r.pos += 1
            path, _ = _parse_tokens(r, c, stop=")")
            return path
        if c in ("'", '"'):
            return _Literal(r.quoted())
        if c == "/":
            end = r.text.find("/", r.pos + 1)
            while end > 0 and r.text[end - 1] == "\\":
                end = r.text.find("/", end + 1)
            if end < 0:
                raise JsonPathError(f"unterminated regex in {r.text!r}")
            body = r.text[r.pos + 1:end]
            r.pos = end + 1
            flags = ""
            while r.peek() and r.peek() in "imsx":
                flags += r.peek()
                r.pos += 1
            try:
                return _Regex(compile_java(f"(?{flags}){body}" if flags else body).regex)
            except JavaRegexError as exc:
                raise JsonPathError(f"invalid regex /{body}/: {exc}") from None
        if c == "[":
            return _Literal(self._array())
        for word, value in (("true", True), ("false", False), ("null", None)):
            if r.text.startswith(word, r.pos):
                r.pos += len(word)
                return _Literal(value)
        m = _NUMBER.match(r.text, r.pos)
        if m:
            r.pos = m.end()
            return _Literal(float(m.group()) if m.group(1) or m.group(2) else int(m.group()))
        raise JsonPathError(f"unexpected {c!r} at position {r.pos} of filter in {r.text!r}")

    def _array(self) -> list[object]:
        r = self.r
        r.pos += 1
        items: list[object] = []
        r.skip_spaces()
        if r.peek() == "]":
            r.pos += 1
            return items
        while True:
            item = self.operand()
            if not isinstance(item, _Literal):
                raise JsonPathError("array literals in filters may hold only literals")
            items.append(item.value)
            r.skip_spaces()
            if r.peek() == ",":
                r.pos += 1
                continue
            r.expect("]")
            return items


def _operand_value(node: Any, current: object, root: object) -> object:
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _Regex):
        return node
    assert isinstance(node, Path)
    hits = node.select(current if node.root == "@" else root)
    if node.definite or node.function is not None:
        return hits[0] if hits else _UNDEFINED
    return hits


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _equal(a: object, b: object) -> bool:
    if a is _UNDEFINED or b is _UNDEFINED:
        return False
    if (_is_number(a) and isinstance(b, str)) or (_is_number(b) and isinstance(a, str)):
        num, text = (a, b) if _is_number(a) else (b, a)
        try:
            return float(str(text)) == num
        except ValueError:
            return False
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b


def _order(op: str, a: object, b: object) -> bool:
    if (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
        x: Any = a
        y: Any = b
        return bool({"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op])
    return False


def _truth(expr: Any, current: object, root: object) -> bool:
    if isinstance(expr, _Logic):
        if expr.op == "!":
            return not _truth(expr.parts[0], current, root)
        results = (_truth(part, current, root) for part in expr.parts)
        return all(results) if expr.op == "&&" else any(results)
    assert isinstance(expr, _Compare)
    left = _operand_value(expr.left, current, root)
    if expr.op == "exists":
        if isinstance(expr.left, Path):
            return left is not _UNDEFINED and not (isinstance(left, list) and not left and not expr.left.definite)
        return bool(left)
    right = _operand_value(expr.right, current, root)
    op = expr.op
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op in ("<", "<=", ">", ">="):
        return _order(op, left, right)
    if op == "=~":
        return isinstance(right, _Regex) and isinstance(left, str) and right.pattern.fullmatch(left) is not None
    if op in ("in", "nin"):
        found = isinstance(right, list) and any(_equal(left, item) for item in right)
        return found if op == "in" else not found
    if op == "contains":
        if isinstance(left, str) and isinstance(right, str):
            return right in left
        return isinstance(left, list) and any(_equal(item, right) for item in left)
    if op == "size":
        return isinstance(left, list | str) and _is_number(right) and len(left) == right
    if op == "empty":
        return isinstance(left, list | str) and isinstance(right, bool) and (len(left) == 0) == right
    if not isinstance(left, list) or not isinstance(right, list):
        return False
    if op == "subsetof":
        return all(any(_equal(x, y) for y in right) for x in left)
    if op == "anyof":
        return any(any(_equal(x, y) for y in right) for x in left)
    return not any(any(_equal(x, y) for y in right) for x in left)  # noneof
