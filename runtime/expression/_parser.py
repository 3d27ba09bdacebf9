"""Parse Expression Language text and compile it into closures. Pure.

A property value is *text*: literal characters with embedded expressions
``${...}`` and parameter references ``#{...}``. Rules (NiFi's):

- ``$$`` before a complete ``${...}`` escapes one ``$`` (pairs left to right:
  ``$${a}`` is the literal ``${a}``, ``$$${a}`` is ``$`` followed by the value of
  ``a``); anywhere else ``$`` is literal. An unclosed ``${`` is literal text.
- ``##{`` is a literal ``#{``.
- Inside an expression: a subject — an attribute name (unquoted, or quoted
  with ``'``/``"``), an embedded expression naming the attribute, a parameter,
  or a subjectless or multi-attribute function call — followed by ``:fn(args)``
  calls. Arguments are string literals (themselves text with embedded
  expressions), numbers, ``true``/``false``, embedded expressions or parameters.
  Whitespace between tokens is ignored; ``#`` not followed by ``{`` starts a
  comment to the end of the line.

Compilation produces one closure per node (``_nodes``: the node types, the
closures calling functions, and ``ExpressionError``, re-exported here); evaluation
calls them with an ``EvalContext``, or with the attributes mapping when the text reads
nothing else (``compile_text``: no context is built per evaluation). Nothing here uses
``eval``, ``exec`` or attribute access on arbitrary objects: functions are looked up in the
registry by name only.
"""

from __future__ import annotations

import re
from typing import Any

from flowyard.runtime.expression._environment import ENVIRONMENT
from flowyard.runtime.expression._nodes import ExpressionError, Node, _Const, _literal, compile_call
from flowyard.runtime.expression._registry import (
    REGISTRY,
    EvalContext,
    Function,
    load_functions,
)
from flowyard.runtime.expression._types import as_bool, as_text

__all__ = ["ExpressionError", "Node", "compile_expression", "compile_text"]

_NAME_CHARS = re.compile(r"[^\s${}:,()'\"#\[\]]+")
_FUNC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# NiFi's lexer: WHOLE_NUMBER and DECIMAL both take an optional sign ('+' or '-'), ASCII digits only.
_NUMBER = re.compile(
    r"[+-]?(?:[0-9]+\.[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|[0-9]+)")
_MAX_DEPTH = 200


def _find_close(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${``/``#{`` whose ``{`` is at ``start``, or -1.

    Skips quoted strings and nested braces."""
    depth = 0
    i = start
    n = len(text)
    quote = ""
    while i < n:
        c = text[i]
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
                return i
        i += 1
    return -1


def _current_item(ctx: EvalContext) -> Any:
    return ctx.item


class _NeedsContext(Exception):
    """Raised while compiling on attributes (``_Parser.on_attributes``) at the first part that
    reads more than attributes: ``compile_text`` then compiles the text for an EvalContext."""


class _Parser:
    """Recursive descent over one piece of text, with absolute positions."""

    def __init__(self, text: str, depth: int = 0, *, on_attributes: bool = False) -> None:
        self.text = text
        self.depth = depth
        #: Compile nodes that take the attributes mapping itself instead of an EvalContext
        #: (no context to build per evaluation); raises _NeedsContext at the first part
        #: that reads anything else (a parameter, state, a multi-attribute value...).
        self.on_attributes = on_attributes
        self.nesting = depth
        #: The static result type of each expression node compiled (by node identity): NiFi's
        #: ``ResultType`` as a declared type name (``string``, ``boolean``, ``whole_number``...).
        self.types: dict[int, str] = {}
        #: The attribute nodes with a literal name (by node identity; the node is kept so that
        #: its identity is not reused), for compile_call's ``attribute``.
        self.named: dict[int, tuple[Node, str]] = {}
        if depth > _MAX_DEPTH:
            raise ExpressionError("expressions are nested too deeply", 0, text)

    def fail(self, message: str, pos: int) -> ExpressionError:
        return ExpressionError(message, pos, self.text)

    def needs_context(self) -> None:
        """This part reads more than attributes: it cannot be compiled on attributes."""
        if self.on_attributes:
            raise _NeedsContext

    def call_node(self, fn: Function, subject: Node | None, args: list[Node], pos: int) -> Node:
        """``compile_call`` for this text (its nodes' calling convention; the subject's
        attribute name when the subject is a named attribute)."""
        if fn.context:
            self.needs_context()
        named = self.named.get(id(subject)) if subject is not None else None
        return compile_call(fn, subject, args, pos, self.text, attribute=named[1] if named is not None else None,
                            on_attributes=self.on_attributes)

    # -- text -------------------------------------------------------------------------

    def parse_text(self, start: int, end: int) -> list[Node | str]:
        """Segments of text[start:end]: literal strings and expression nodes."""
        text = self.text
        parts: list[Node | str] = []
        buf: list[str] = []
        i = start
        while i < end:
            c = text[i]
            if c == "$":
                j = i
                while j < end and text[j] == "$":
                    j += 1
                run = j - i
                if j < end and text[j] == "{":
                    close = _find_close(text[:end], j)
                    if close != -1:
                        if run % 2 == 0:  # every $ escaped: the braces are literal
                            buf.append("$" * (run // 2))
                            buf.append(text[j:close + 1])
                        else:
                            buf.append("$" * (run // 2))
                            if buf:
                                parts.append("".join(buf))
                                buf = []
                            parts.append(self.parse_expression(j + 1, close))
                        i = close + 1
                        continue
                buf.append("$" * run)
                i = j
            elif c == "#":
                if text.startswith("##{", i) and i + 2 < end:
                    buf.append("#{")
                    i += 3
                    continue
                if i + 1 < end and text[i + 1] == "{":
                    close = _find_close(text[:end], i + 1)
                    if close != -1:
                        if buf:
                            parts.append("".join(buf))
                            buf = []
                        parts.append(self.parameter(i + 2, close))
                        i = close + 1
                        continue
                buf.append(c)
                i += 1
            else:
                buf.append(c)
                i += 1
        if buf:
            parts.append("".join(buf))
        return parts

    def parameter(self, start: int, end: int) -> Node:
        """``#{name}`` or ``#{'name'}`` between start and end (exclusive)."""
        raw = self.text[start:end].strip()
        name = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" else raw
        if not name:
            raise self.fail("expected a parameter name after '#{'", start)
        self.needs_context()

        def param(ctx: EvalContext) -> Any:
            return ctx.parameters.get(name)
        return param

    # -- expressions ---------------------------------------------------------------

    def skip(self, i: int, end: int) -> int:
        """Skip whitespace and comments."""
        text = self.text
        while i < end:
            c = text[i]
            if c.isspace():
                i += 1
            elif c == "#" and not text.startswith("#{", i):
                nl = text.find("\n", i, end)
                i = end if nl == -1 else nl + 1
            else:
                break
        return i

    def parse_expression(self, start: int, end: int) -> Node:
        """The expression between ``${`` (start: after the brace) and its ``}`` (end)."""
        self.nesting += 1
        try:
            if self.nesting > _MAX_DEPTH:
                raise self.fail(f"expressions are nested more than {_MAX_DEPTH} deep", start)
            return self._parse_expression(start, end)
        finally:
            self.nesting -= 1

    def _parse_expression(self, start: int, end: int) -> Node:
        i = self.skip(start, end)
        if i >= end:
            raise self.fail("expected an attribute name or a function after '${'", i)
        subject, i, multi = self.subject(i, end)
        calls: list[tuple[Function, list[Node], int]] = []
        while True:
            i = self.skip(i, end)
            if i >= end:
                break
            if self.text[i] != ":":
                raise self.fail(f"expected ':' and a function, or '}}', found {self.text[i]!r}", i)
            i = self.skip(i + 1, end)
            fn, args, i, pos = self.call(i, end)
            if fn.subject is None:
                raise self.fail(f"{fn.name}() takes no subject: use it as ${{{fn.name}(...)}}", pos)
            if fn.multi is not None and fn.multi != "aggregate":
                raise self.fail(f"{fn.name}() must be the subject of an expression", pos)
            calls.append((fn, args, pos))
        return self.chain(subject, calls, multi, start)

    def subject(self, i: int, end: int) -> tuple[Node, int, Function | None]:
        text = self.text
        c = text[i]
        if c in "'\"":
            value, j = self.string(i, end)
            name_node = value
            return self.typed(self.attribute(name_node), "string"), j, None
        if text.startswith("${", i):
            close = _find_close(text[:end], i + 1)
            if close == -1:
                raise self.fail("unclosed embedded expression: expected '}'", i)
            inner = self.parse_expression(i + 2, close)
            return self.typed(self.attribute(inner), "string"), close + 1, None
        if text.startswith("#{", i):
            close = _find_close(text[:end], i + 1)
            if close == -1:
                raise self.fail("unclosed parameter reference: expected '}'", i)
            return self.typed(self.parameter(i + 2, close), "string"), close + 1, None
        m = _FUNC_NAME.match(text, i, end)
        if m:
            after = self.skip(m.end(), end)
            if after < end and text[after] == "(":
                fn, args, j, pos = self.call(i, end)
                if fn.subject is not None:
                    if not fn.subject_optional:
                        raise self.fail(f"{fn.name}() needs a subject, e.g. ${{attribute:{fn.name}(...)}}", pos)
                    return self.typed(self.call_node(fn, _literal(None), args, pos), _returns(fn)), j, None
                if fn.multi == "aggregate":
                    raise self.fail(f"{fn.name}() aggregates a multi-attribute expression and cannot start one",
                                    pos)
                node = self.typed(self.call_node(fn, None, args, pos), _returns(fn))
                return node, j, fn if fn.multi else None
        m = _NAME_CHARS.match(text, i, end)
        if not m:
            raise self.fail(f"expected an attribute name or a function, found {c!r}", i)
        name = m.group(0)
        if name[0].isdigit():
            raise self.fail(f"an attribute name cannot start with a digit: quote it, as ${{'{name}'}}", i)
        return self.typed(self.attribute(_literal(name)), "string"), m.end(), None

    def typed(self, node: Node, type_name: str) -> Node:
        """``node``, remembering ``type_name`` as its static result type."""
        self.types[id(node)] = type_name
        return node

    def attribute(self, name: Node) -> Node:
        if isinstance(name, _Const) and type(name.value) is str:
            node = _attribute_in(name.value) if self.on_attributes else _named_attribute(name.value)
            self.named[id(node)] = (node, name.value)
            return node
        self.needs_context()

        def attr(ctx: EvalContext) -> Any:
            n = name(ctx)
            return None if n is None else ctx.lookup(as_text(n) or "")
        return attr

    def string(self, i: int, end: int) -> tuple[Node, int]:
        """A quoted string literal at i: itself text that may embed expressions."""
        text = self.text
        quote = text[i]
        j = i + 1
        out: list[str] = []
        while j < end:
            c = text[j]
            if c == "\\" and j + 1 < end:
                nxt = text[j + 1]
                mapped = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t"}.get(nxt)
                out.append(mapped if mapped is not None else "\\" + nxt)
                j += 2
                continue
            if c == quote:
                break
            out.append(c)
            j += 1
        else:
            raise self.fail(f"unterminated string: expected a closing {quote}", i)
        body = "".join(out)
        if "${" in body or "#{" in body:
            try:
                inner = _compile_text(body, self.depth + 1, self.on_attributes)
            except ExpressionError as exc:
                raise self.fail(f"in the string: {exc.reason}", i + 1 + exc.position) from None
            return inner.node, j + 1
        return _literal(body), j + 1

    def argument(self, i: int, end: int) -> tuple[Node, int]:
        text = self.text
        c = text[i]
        if c in "'\"":
            return self.string(i, end)
        if text.startswith("${", i):
            close = _find_close(text[:end], i + 1)
            if close == -1:
                raise self.fail("unclosed embedded expression: expected '}'", i)
            return self.parse_expression(i + 2, close), close + 1
        if text.startswith("#{", i):
            close = _find_close(text[:end], i + 1)
            if close == -1:
                raise self.fail("unclosed parameter reference: expected '}'", i)
            return self.parameter(i + 2, close), close + 1
        m = _NUMBER.match(text, i, end)
        if m:
            literal = m.group(0)
            is_whole = re.fullmatch(r"[+-]?[0-9]+", literal) is not None
            value: Any = int(literal) if is_whole else float(literal)
            return _literal(value), m.end()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, i) and not (i + len(word) < end and text[i + len(word)].isalnum()):
                return _literal(value), i + len(word)
        raise self.fail("expected an argument: a quoted string, a number, true, false, null or ${...}", i)

    def call(self, i: int, end: int) -> tuple[Function, list[Node], int, int]:
        text = self.text
        m = _FUNC_NAME.match(text, i, end)
        if not m:
            found = repr(text[i]) if i < end else "the end of the expression"
            raise self.fail(f"expected a function name, found {found}", i)
        name = m.group(0)
        fn = REGISTRY.get(name)
        if fn is None and load_functions():
            fn = REGISTRY.get(name)
        if fn is None:
            raise self.fail(f"unknown function {name!r}", i)
        j = self.skip(m.end(), end)
        if j >= end or text[j] != "(":
            raise self.fail(f"expected '(' after {name}", j)
        j = self.skip(j + 1, end)
        args: list[Node] = []
        if j < end and text[j] == ")":
            j += 1
        else:
            while True:
                node, j = self.argument(j, end)
                args.append(node)
                j = self.skip(j, end)
                if j < end and text[j] == ",":
                    j = self.skip(j + 1, end)
                    continue
                if j < end and text[j] == ")":
                    j += 1
                    break
                raise self.fail(f"expected ',' or ')' in the arguments of {name}", j)
        if len(args) < fn.min_args or (fn.max_args is not None and len(args) > fn.max_args):
            expected = (str(fn.min_args) if fn.max_args == fn.min_args
                        else f"{fn.min_args} or more" if fn.max_args is None
                        else f"{fn.min_args} to {fn.max_args}")
            raise self.fail(f"{name}() takes {expected} argument(s), found {len(args)}", i)
        return fn, args, j, i

    # -- compiling calls ---------------------------------------------------------------

    def check_subject_type(self, fn: Function, args: list[Node], subject_type: str, pos: int) -> None:
        """What NiFi's compiler refuses: a boolean used as a date or an instant ("Cannot
        implicitly convert Data Type BOOLEAN to DATE"), toInstant with one argument (none or
        two), toMicros/toNanos on anything but an instant."""
        if fn.name == "toInstant" and len(args) == 1:
            raise self.fail("toInstant() takes no arguments, or a pattern and a time zone", pos)
        if fn.name in ("toMicros", "toNanos") and subject_type not in ("instant", "any"):
            raise self.fail(f"{fn.name}() needs an instant subject (such as toInstant(...)), found "
                            f"{subject_type.upper()}", pos)
        if subject_type != "boolean":
            return
        target = _TEMPORAL_SUBJECT.get(fn.name)
        if target is None or (fn.name in ("toDate", "toInstant") and args):
            return
        raise self.fail(f"{fn.name}() cannot take a boolean subject: cannot implicitly convert BOOLEAN to {target}",
                        pos)

    def chain(self, subject: Node, calls: list[tuple[Function, list[Node], int]], multi: Function | None,
              start: int) -> Node:
        if multi is None:
            node = subject
            for fn, args, pos in calls:
                self.check_subject_type(fn, args, self.types.get(id(node), "string"), pos)
                if fn.multi == "aggregate":
                    # NiFi's join/count reduce over however many values the subject gives: one here
                    # (join: the value, null as ''; count: 1 unless null or false).
                    node = self.typed(self.call_node(fn, _one_value(node), args, pos), _returns(fn))
                    continue
                node = self.typed(self.call_node(fn, node, args, pos), _returns(fn))
            return node
        self.needs_context()  # the chain reads each value from the context (ctx.item)
        aggregate = None
        if calls and calls[-1][0].multi == "aggregate":
            aggregate = calls.pop()
        for fn, _, pos in calls:
            if fn.multi == "aggregate":
                raise self.fail(f"{fn.name}() must be the last function", pos)
        if aggregate is None and (not calls or calls[-1][0].returns != "boolean"):
            raise self.fail(f"an expression on {multi.name}() must end with a boolean function "
                            "(or join/count for the all* functions)", start)
        if aggregate is not None and multi.multi == "any":
            raise self.fail(f"{aggregate[0].name}() cannot follow {multi.name}(); use an all* function", aggregate[2])

        # The chain is compiled once over "the current value", which each
        # evaluation sets in its own context (thread-safe, re-entrant).
        per_value: Node = _current_item
        for fn, args, pos in calls:
            per_value = self.call_node(fn, per_value, args, pos)
        combine_any = multi.multi == "any"

        def evaluate_each(ctx: EvalContext) -> list[Any]:
            saved = ctx.item
            results = []
            try:
                for value in subject(ctx) or ():
                    ctx.item = value
                    results.append(per_value(ctx))
            finally:
                ctx.item = saved
            return results

        if aggregate is not None:
            agg_fn, agg_args, agg_pos = aggregate
            agg_node = self.call_node(agg_fn, evaluate_each, agg_args, agg_pos)
            return self.typed(agg_node, _returns(agg_fn))

        def combined(ctx: EvalContext) -> Any:
            results = [as_bool(v) for v in evaluate_each(ctx)]
            return any(bool(r) for r in results) if combine_any else all(bool(r) for r in results)
        return self.typed(combined, "boolean")


#: Functions whose subject NiFi casts to a date or an instant (toDate/toInstant only without a pattern).
_TEMPORAL_SUBJECT = {
    "format": "DATE", "toDate": "WHOLE_NUMBER", "plusDuration": "DATE", "minusDuration": "DATE",
    "formatInstant": "INSTANT", "toInstant": "INSTANT", "toMicros": "INSTANT", "toNanos": "INSTANT",
    "plusInstantDuration": "INSTANT", "minusInstantDuration": "INSTANT",
}


def _named_attribute(name: str) -> Node:
    """The value of the attribute called ``name`` (``EvalContext.lookup``, inlined: most
    expressions start here)."""
    def named_attribute(ctx: EvalContext) -> Any:
        value = ctx.attributes.get(name)
        if value is None:
            value = ctx.environment.get(name)
        return value
    return named_attribute


def _attribute_in(name: str) -> Node:
    """``_named_attribute`` for nodes compiled on attributes (they are given the mapping)."""
    environment = ENVIRONMENT

    def attribute_in(attributes: Any) -> Any:
        value = attributes.get(name)
        if value is None:
            value = environment.get(name)
        return value
    return attribute_in


def _one_value(node: Node) -> Node:
    """A subject of a single value as the list of values a reducing function takes."""
    def values(ctx: EvalContext) -> list[Any]:
        return [node(ctx)]
    return values


def _returns(fn: Function) -> str:
    """The static result type of a call of ``fn``. NiFi's ``literal()`` and ``replaceNull()``
    return STRING whatever their argument (flowyard keeps the value, which prints the same)."""
    return "string" if fn.returns == "any" and fn.multi is None else fn.returns


class CompiledText:
    """Property text compiled once; evaluate as often as needed.

    ``node`` gives the text's value: the literal text, or the parts joined as text (one
    ``#{...}`` alone and nothing else gives the parameter's value as it is). ``expression``
    is the node of the text's only expression when the text is exactly one ``${...}``:
    ``node`` is then that value as text (null as ''), and callers may convert the value
    themselves instead of calling ``node``. The nodes take the attributes mapping when
    ``on_attributes`` (see ``compile_text``), else an ``EvalContext``."""

    __slots__ = ("expression", "node", "on_attributes", "parts", "text")

    def __init__(self, text: str, parts: list[Node | str], *, on_attributes: bool = False) -> None:
        self.text = text
        self.parts = parts
        self.on_attributes = on_attributes
        self.expression: Node | None = None
        nodes = [p for p in parts if not isinstance(p, str)]
        if not parts:
            self.node: Node = _literal("")
        elif len(parts) == 1:
            only = parts[0]
            self.node = _literal(only) if isinstance(only, str) else only
        elif len(nodes) == 1 and all(p == "" for p in parts if isinstance(p, str)):
            # "${...}" parses as '' and the expression: the join of the two is the value's text.
            (value,) = nodes
            self.expression = value

            def text_of(ctx: EvalContext) -> str:
                v = value(ctx)
                return v if type(v) is str else (as_text(v) or "")
            self.node = text_of
        else:
            def concat(ctx: EvalContext) -> str:
                out = []
                for p in parts:
                    if isinstance(p, str):
                        out.append(p)
                    else:
                        out.append(as_text(p(ctx)) or "")
                return "".join(out)
            self.node = concat

    @property
    def is_literal(self) -> bool:
        """True if the text holds no expression or parameter."""
        return all(isinstance(p, str) for p in self.parts)


def compile_text(text: str, depth: int = 0) -> CompiledText:
    """Compile property text; raises ``ExpressionError`` with the position of the first problem.

    Text whose expressions read nothing but attributes (most) is compiled on attributes
    (``CompiledText.on_attributes``): its node is called with the attributes mapping, and
    no EvalContext is built per evaluation. Other text's node takes an EvalContext."""
    try:
        return _compile_text(text, depth, True)
    except _NeedsContext:
        return _compile_text(text, depth, False)


def _compile_text(text: str, depth: int, on_attributes: bool) -> CompiledText:
    parser = _Parser(text, depth, on_attributes=on_attributes)
    return CompiledText(text, parser.parse_text(0, len(text)), on_attributes=on_attributes)


def compile_expression(text: str) -> Node:
    """Compile text that is exactly one ``${...}`` expression (surrounding whitespace allowed)."""
    stripped = text.strip()
    offset = text.find(stripped) if stripped else 0
    if not (stripped.startswith("${") and stripped.endswith("}")):
        raise ExpressionError("expected a single expression of the form ${...}", offset, text)
    close = _find_close(text, offset + 1)
    if close != offset + len(stripped) - 1:
        raise ExpressionError("expected a single expression of the form ${...}", offset, text)
    return _Parser(text).parse_expression(offset + 2, close)


def expression_ranges(text: str) -> tuple[list[tuple[int, int]], int | None]:
    """Where the expressions of ``text`` are, by the escaping rules of ``compile_text``:
    ``(start, end)`` (the ``$`` and the closing ``}``, inclusive) of each unescaped complete
    ``${...}``, and the position of the first unescaped ``${`` that is never closed (or None)."""
    ranges: list[tuple[int, int]] = []
    unclosed: int | None = None
    i, n = 0, len(text)
    while i < n:
        if text[i] != "$":
            i += 1
            continue
        j = i
        while j < n and text[j] == "$":
            j += 1
        if j < n and text[j] == "{":
            close = _find_close(text, j)
            if close != -1:
                if (j - i) % 2 == 1:
                    ranges.append((j - 1, close))
                i = close + 1
                continue
            if unclosed is None and (j - i) % 2 == 1:
                unclosed = j - 1
        i = j
    return ranges, unclosed


def single_expression_type(text: str) -> str:
    """The static result type of ``text``, which must be exactly one ``${...}`` and nothing else
    (NiFi's ``validateExpression(text, false)`` then ``getResultType``).

    Returns a declared type name (``boolean``, ``string``, ``whole_number``, ``decimal``,
    ``number``, ``date``, ``instant``). Raises ``ExpressionError`` with the position for text
    with no expression (an escaped ``$${...}`` is none), an unclosed ``${``, several
    expressions, characters outside the expression, or an expression that does not compile.
    """
    ranges, unclosed = expression_ranges(text)
    if unclosed is not None:
        raise ExpressionError("unclosed expression: '${' has no matching '}'", unclosed, text)
    if not ranges:
        raise ExpressionError("no expression found: expected one ${...}", 0, text)
    if len(ranges) > 1:
        raise ExpressionError(f"found {len(ranges)} expressions but expected only one", ranges[1][0], text)
    start, end = ranges[0]
    if start > 0 or end < len(text) - 1:
        raise ExpressionError("found characters outside of the expression", 0 if start > 0 else end + 1, text)
    parser = _Parser(text)
    node = parser.parse_expression(start + 2, end)
    return parser.types.get(id(node), "string")
