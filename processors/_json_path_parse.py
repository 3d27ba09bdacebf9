"""The JsonPath parser (Jayway's grammar) behind ``_json_path.compile_path``.

Turns path text into the tokens ``_json_path`` evaluates and filter
expressions into predicates; raises ``InvalidJsonPath`` naming the position.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flowyard.processors._json_path import (
    _AGGREGATES,
    _FUNCTIONS,
    InvalidJsonPath,
    JsonPath,
    Predicate,
    _binary,
    _Filter,
    _Function,
    _Index,
    _operand_value,
    _PathOperand,
    _Property,
    _Regex,
    _Scan,
    _Slice,
    _Token,
    _Wildcard,
)

__all__ = ["parse_path"]


_NAME_END = set(".[( )=!<>&|,]")
_TOP_NAME_END = set(".[( \t\r\n")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> InvalidJsonPath:
        return InvalidJsonPath(f"{message} at position {self.pos} of {self.text!r}")

    def peek(self, n: int = 0) -> str:
        index = self.pos + n
        return self.text[index] if index < len(self.text) else ""

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def startswith(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    # path: ($|@) steps ; stops at the first character that cannot continue a path
    def path(self, in_filter: bool) -> tuple[list[_Token], bool]:
        first = self.peek()
        if first not in ("$", "@"):
            raise self.error("a path must start with '$' or '@'")
        relative = first == "@"
        self.pos += 1
        tokens: list[_Token] = []
        while self.pos < len(self.text):
            ch = self.peek()
            if ch == ".":
                if self.peek(1) == ".":
                    self.pos += 2
                    tokens.append(_Scan())
                    if self.peek() == "[":
                        continue
                    if self.peek() == "*":
                        self.pos += 1
                        tokens.append(_Wildcard())
                        continue
                    tokens.append(self.dot_name(in_filter))
                    continue
                self.pos += 1
                if self.peek() == "*":
                    self.pos += 1
                    tokens.append(_Wildcard())
                    continue
                if self.peek() == "[":
                    continue  # Jayway accepts $.['a']
                tokens.append(self.dot_name(in_filter))
            elif ch == "[":
                tokens.append(self.bracket())
            elif in_filter:
                break
            elif ch in " \t\r\n":
                self.skip_space()
                if self.pos < len(self.text):
                    raise self.error("use bracket notation ['my prop'] for a name with blanks")
            elif tokens:
                tokens.append(self.dot_name(in_filter))  # Jayway: ['a']b is ['a'].b
            else:
                raise self.error(f"unexpected character {ch!r}")
        if tokens and isinstance(tokens[-1], _Scan):
            raise self.error("a path must not end with '..'")
        return tokens, relative

    def dot_name(self, in_filter: bool) -> _Token:
        start = self.pos
        stop = _NAME_END if in_filter else _TOP_NAME_END
        while self.pos < len(self.text) and self.text[self.pos] not in stop:
            self.pos += 1
        if not in_filter and self.peek() in (" ", "\t", "\r", "\n"):
            raise self.error("use bracket notation ['my prop'] for a name with blanks")
        name = self.text[start : self.pos]
        if not name:
            raise self.error("a property name is missing")
        if self.peek() == "(":
            if name not in _FUNCTIONS:
                raise self.error(f"unknown function {name}()")
            self.pos += 1
            params = self.function_params()
            return _Function(name=name, params=params)
        return _Property(names=(name,))

    def function_params(self) -> list[Any]:
        params: list[Any] = []
        self.skip_space()
        if self.peek() == ")":
            self.pos += 1
            return params
        while True:
            self.skip_space()
            if self.peek() in ("$", "@"):
                tokens, _ = self.path(in_filter=True)
                params.append(JsonPath(self.text, tokens))
            else:
                params.append(self.literal())
            self.skip_space()
            if self.peek() == ",":
                self.pos += 1
                continue
            if self.peek() == ")":
                self.pos += 1
                return params
            raise self.error("expected ',' or ')' in the function's parameters")

    def quoted(self) -> str:
        quote = self.peek()
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                nxt = self.text[self.pos + 1]
                out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(nxt, nxt))
                self.pos += 2
                continue
            if ch == quote:
                self.pos += 1
                return "".join(out)
            out.append(ch)
            self.pos += 1
        raise self.error("unterminated string")

    def bracket(self) -> _Token:
        self.pos += 1  # [
        self.skip_space()
        ch = self.peek()
        if ch == "?":
            self.pos += 1
            self.skip_space()
            if self.peek() != "(":
                raise self.error("a filter must be written [?(...)]")
            self.pos += 1
            predicate = self.expression()
            self.skip_space()
            if self.peek() != ")":
                raise self.error("expected ')' closing the filter")
            self.pos += 1
            self.skip_space()
            if self.peek() != "]":
                raise self.error("expected ']' closing the filter")
            self.pos += 1
            return _Filter(predicate=predicate)
        if ch == "*":
            self.pos += 1
            self.skip_space()
            if self.peek() != "]":
                raise self.error("expected ']' after '*'")
            self.pos += 1
            return _Wildcard()
        if ch in ("'", '"'):
            names = []
            while True:
                self.skip_space()
                if self.peek() not in ("'", '"'):
                    raise self.error("expected a quoted property name")
                names.append(self.quoted())
                self.skip_space()
                if self.peek() == ",":
                    self.pos += 1
                    continue
                if self.peek() == "]":
                    self.pos += 1
                    return _Property(names=tuple(names))
                raise self.error("expected ',' or ']' after a property name")
        # indexes or slice
        end = self.text.find("]", self.pos)
        if end < 0:
            raise self.error("unterminated '['")
        inner = self.text[self.pos : end].replace(" ", "")
        self.pos = end + 1
        if not inner:
            raise self.error("empty brackets")
        if ":" in inner:
            parts = inner.split(":")
            if len(parts) != 2:
                raise self.error("a slice takes [from:to]")
            try:
                start = int(parts[0]) if parts[0] else None
                stop = int(parts[1]) if parts[1] else None
            except ValueError:
                raise self.error(f"invalid slice [{inner}]") from None
            return _Slice(start=start, end=stop)
        try:
            indexes = tuple(int(part) for part in inner.split(","))
        except ValueError:
            raise self.error(f"invalid array index [{inner}]") from None
        return _Index(indexes=indexes)

    # filter expressions
    def expression(self) -> Predicate:
        left = self.conjunction()
        while True:
            self.skip_space()
            if self.startswith("||"):
                self.pos += 2
                right = self.conjunction()
                left = _or(left, right)
            else:
                return left

    def conjunction(self) -> Predicate:
        left = self.unary()
        while True:
            self.skip_space()
            if self.startswith("&&"):
                self.pos += 2
                right = self.unary()
                left = _and(left, right)
            else:
                return left

    def unary(self) -> Predicate:
        self.skip_space()
        if self.peek() == "!" and self.peek(1) != "=":
            self.pos += 1
            inner = self.unary()
            return lambda current, root: not inner(current, root)
        if self.peek() == "(":
            self.pos += 1
            inner = self.expression()
            self.skip_space()
            if self.peek() != ")":
                raise self.error("expected ')'")
            self.pos += 1
            return inner
        return self.relation()

    _OPERATORS = ("===", "!==", "==", "!=", "<=", ">=", "=~", "<", ">")
    _WORD_OPERATORS = ("subsetof", "contains", "noneof", "anyof", "empty", "size", "nin", "in")

    def relation(self) -> Predicate:
        left = self.operand()
        self.skip_space()
        op = next((o for o in self._OPERATORS if self.startswith(o)), None)
        if op is None:
            for word in self._WORD_OPERATORS:
                if self.startswith(word) and not self.peek(len(word)).isalnum():
                    op = word
                    break
        if op is None:
            if isinstance(left, _PathOperand):
                operand = left
                return lambda current, root: operand.exists(current, root)
            value = left
            return lambda current, root: value is True
        self.pos += len(op)
        self.skip_space()
        right = self.operand()
        if op == "=~" and not isinstance(right, _Regex):
            raise self.error("=~ needs a /regular expression/")

        def relation(current: Any, root: Any) -> bool:
            return _binary(op, _operand_value(left, current, root), _operand_value(right, current, root))

        return relation

    def operand(self) -> Any:
        self.skip_space()
        ch = self.peek()
        if ch in ("@", "$"):
            tokens, relative = self.path(in_filter=True)
            return _PathOperand(JsonPath(self.text, tokens), relative)
        if ch == "/":
            return self.regex()
        return self.literal()

    def regex(self) -> _Regex:
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos : self.pos + 2])
                self.pos += 2
                continue
            if ch == "/":
                break
            out.append(ch)
            self.pos += 1
        else:
            raise self.error("unterminated regular expression")
        self.pos += 1
        from flowyard.runtime.sdk import javaregex as java

        flag_bits = {"i": java.CASE_INSENSITIVE, "m": java.MULTILINE, "s": java.DOTALL, "x": java.COMMENTS,
                     "d": java.UNIX_LINES, "u": java.UNICODE_CASE, "U": java.UNICODE_CHARACTER_CLASS}
        flags = 0
        while self.peek() and self.peek() in flag_bits:
            flags |= flag_bits[self.peek()]
            self.pos += 1
        try:
            return _Regex(java.compile_java("".join(out), flags).regex)
        except java.JavaRegexError as exc:
            raise self.error(f"invalid regular expression: {exc}") from None

    def literal(self) -> Any:
        self.skip_space()
        ch = self.peek()
        if ch in ("'", '"'):
            return self.quoted()
        if ch in ("[", "{"):
            return self.json_literal()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.startswith(word):
                self.pos += len(word)
                return value
        match = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?").match(self.text, self.pos)
        if match:
            self.pos = match.end()
            text = match.group(0)
            return float(text) if ("." in text or "e" in text or "E" in text) else int(text)
        raise self.error("expected a value")

    def json_literal(self) -> Any:
        decoder = json.JSONDecoder()
        # JsonPath allows single quotes in literal arrays: ['a','b']
        depth = 0
        start = self.pos
        quote = ""
        index = self.pos
        while index < len(self.text):
            ch = self.text[index]
            if quote:
                if ch == "\\":
                    index += 2
                    continue
                if ch == quote:
                    quote = ""
            elif ch in ("'", '"'):
                quote = ch
            elif ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
                if depth == 0:
                    break
            index += 1
        raw = self.text[start : index + 1]
        self.pos = index + 1
        converted = re.sub(r"'((?:[^'\\]|\\.)*)'", lambda m: json.dumps(m.group(1)), raw)
        try:
            return decoder.decode(converted)
        except ValueError:
            raise self.error(f"invalid JSON literal {raw}") from None


def _or(left: Predicate, right: Predicate) -> Predicate:
    return lambda current, root: left(current, root) or right(current, root)


def _and(left: Predicate, right: Predicate) -> Predicate:
    return lambda current, root: left(current, root) and right(current, root)


def parse_path(text: str) -> JsonPath:
    """Compile ``text`` as Jayway compiles it. Raises ``InvalidJsonPath``
    naming the position for anything it cannot parse, including an empty
    path."""
    source = text.strip()
    if not source:
        raise InvalidJsonPath("the path is empty")
    if not source.startswith("$") and not source.startswith("@"):
        source = "$." + source
    parser = _Parser(source)
    tokens, _ = parser.path(in_filter=False)
    if parser.pos != len(source):
        raise parser.error("unexpected text")
    # Jayway: $..x.fn() applies the function to the whole scan result
    if len(tokens) >= 2 and isinstance(tokens[0], _Scan) and isinstance(tokens[-1], _Function):
        function = tokens[-1]
        if function.name in _AGGREGATES or function.name in ("length", "size"):
            inner = JsonPath(source, tokens[:-1])
            tokens = [_Function(name=function.name, params=[inner])]
    return JsonPath(source, tokens)
