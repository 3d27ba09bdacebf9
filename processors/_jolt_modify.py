"""Jolt's Modifier transforms (``modify-overwrite-beta``, ``modify-default-beta``,
``modify-define-beta``) and their stock functions.

A spec mirrors the input: keys are literals, ``*`` patterns, ``a|b`` or
``&`` references (as in shift); a leaf value is the new value — a literal,
``@(n,path)`` (a copy of data found there) or ``=function`` /
``=function(arg, ...)`` whose arguments are literals (``'quoted'`` or bare;
numbers and booleans are converted), ``@(n,path)`` references, ``^path``
context lookups (NiFi gives no context) or ``$`` keys. Without arguments the
function applies to the current value. A function that has no result
(``=toInteger`` of ``"abc"``) writes nothing; a list of values is a list of
alternatives, the first with a result wins (``["=notNull", 3]``). Key
sugar: ``+key``, ``~key`` and ``_key`` force overwrite, default and define
for that key; ``key?`` applies only where the key exists.

- overwrite: always writes (and creates missing keys and objects);
- default: writes only where the key is missing or its value is null;
- define: writes only where the key is missing.

Functions: toLower, toUpper, concat, join, split, substring, trim, leftPad,
rightPad, min, max, abs, avg, intSum, doubleSum, longSum, intSubtract,
doubleSubtract, longSubtract, divide (also ``div``), divideAndRound, toInteger, toDouble,
toLong, toBoolean, toString, size, squashNulls, recursivelySquashNulls,
squashDuplicates, noop, isPresent, notNull, isNull, firstElement,
lastElement, elementAt, toList, sort. Another name is what Jolt makes of a
name missing from its function map: the first argument's value, or nothing
without arguments. The functions live in ``_jolt_functions`` (``FUNCTIONS``,
re-exported here).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flowyard.processors._jolt_functions import FUNCTIONS
from flowyard.processors._jolt_path import (
    MISSING,
    ArrayElement,
    AtElement,
    DollarElement,
    JoltSpecError,
    LiteralElement,
    Matched,
    PathReader,
    TransposeElement,
    WalkedPath,
    parse_lhs,
)
from flowyard.processors._jolt_shift import ROOT, Transform, _children, _process, _sort_computed, _strategy
from flowyard.processors._jolt_walk import remove_escape_chars

__all__ = ["FUNCTIONS", "modify"]


# -- RHS values ---------------------------------------------------------------------------


def _split_args(text: str) -> list[str]:
    args = []
    depth = 0
    quote = False
    current: list[str] = []
    for ch in text:
        if ch == "'" and depth == 0:
            quote = not quote
        if not quote:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 0:
                args.append("".join(current).strip())
                current = []
                continue
        current.append(ch)
    tail = "".join(current).strip()
    if tail or args:
        args.append(tail)
    return args


def _literal(text: str) -> Any:
    if len(text) >= 2 and text.startswith("'") and text.endswith("'"):
        return remove_escape_chars(text[1:-1])
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d*([eE][-+]?\d+)?|-?\d+[eE][-+]?\d+", text):
        return float(text)
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    return text


class _Value:
    """A leaf's right-hand side: how to compute the new value."""

    def __init__(self, rhs: Any) -> None:
        self.function: Callable[[list[Any]], Any] | None = None
        self.args: list[Any] | None = None
        self.reference: TransposeElement | None = None
        self.literal: Any = rhs
        self.context_lookup: PathReader | None = None
        self.dollar: DollarElement | None = None
        if isinstance(rhs, str) and rhs.startswith("="):
            body = rhs[1:].strip()
            name, paren, rest = body.partition("(")
            name = name.strip()
            # Jolt looks the name up in its function map; a name it does not
            # know leaves no function, and the evaluator then yields the first
            # argument's value, or nothing without arguments.
            if paren and not rest.endswith(")"):
                raise JoltSpecError(f"unbalanced parentheses in {rhs!r}")
            args = [self._arg(a) for a in _split_args(rest[:-1]) if a] if paren else None
            if name in FUNCTIONS:
                self.function = FUNCTIONS[name]
                self.args = args
            elif args:
                self._set_reference(args[0])
            else:
                self.literal = MISSING
        elif isinstance(rhs, str) and rhs.startswith("^"):
            self.context_lookup = PathReader(rhs[1:])
        elif isinstance(rhs, str) and rhs.startswith("@"):
            element = parse_lhs(rhs)
            if not isinstance(element, (TransposeElement, AtElement)):
                raise JoltSpecError(f"invalid reference {rhs!r}")
            self.reference = element if isinstance(element, TransposeElement) else TransposeElement("@(0,)")

    def _set_reference(self, arg: Any) -> None:
        """The value of one parsed function argument, as the whole RHS."""
        if isinstance(arg, TransposeElement):
            self.reference = arg
        elif isinstance(arg, PathReader):
            self.context_lookup = arg
        elif isinstance(arg, DollarElement):
            self.dollar = arg
        else:
            self.literal = arg

    @staticmethod
    def _arg(text: str) -> Any:
        if text.startswith("@"):
            element = parse_lhs(text)
            return element if isinstance(element, TransposeElement) else TransposeElement("@(0,)")
        if text.startswith("$"):
            return DollarElement(text)
        if text.startswith("^"):
            return PathReader(text[1:])
        return _literal(text)

    def evaluate(self, current: Any, path: WalkedPath, context: Any) -> Any:
        """The new value, or ``MISSING`` for none."""
        if self.function is not None:
            if self.args is None:
                if current is MISSING:
                    return MISSING
                return self.function([current])
            values = []
            for arg in self.args:
                if isinstance(arg, TransposeElement):
                    found = arg.data(path)
                    values.append(None if found is MISSING else found)
                elif isinstance(arg, DollarElement):
                    values.append(arg.evaluate(path))
                elif isinstance(arg, PathReader):
                    found = arg.read(context, path)
                    values.append(None if found is MISSING else found)
                else:
                    values.append(arg)
            return self.function(values)
        if self.reference is not None:
            return self.reference.data(path)
        if self.context_lookup is not None:
            return self.context_lookup.read(context, path)
        if self.dollar is not None:
            return self.dollar.evaluate(path)
        return self.literal


# -- specs --------------------------------------------------------------------------------

_MODE_PREFIXES = {"+": "overwrite", "~": "default", "_": "define"}


def _key_options(key: str, mode: str) -> tuple[str, str, bool]:
    """Jolt's key sugar: a ``+``/``~``/``_`` prefix overrides the mode for this
    key, a ``?`` suffix applies it only where the key exists."""
    if key[:1] in _MODE_PREFIXES and len(key) > 1:
        mode, key = _MODE_PREFIXES[key[0]], key[1:]
    optional = key.endswith("?") and len(key) > 1
    if optional:
        key = key[:-1]
    return key, mode, optional


class _ModifyLeaf:
    def __init__(self, key: str, rhs: Any, mode: str, context: Any) -> None:
        key, self.mode, self.optional = _key_options(key, mode)
        self.element = parse_lhs(key)
        # a list holds alternatives: the first that has a value wins
        self.values = [_Value(v) for v in rhs] if isinstance(rhs, list) and rhs else [_Value(rhs)]
        self.context = context

    def apply(self, key: str, data: Any, path: WalkedPath, parent: Any) -> bool:
        matched = self.element.match(key, path)
        if matched is None:
            return False
        if self.optional and data is MISSING:
            return True
        path.add(None if data is MISSING else data, matched)
        try:
            if self.mode == "define" and data is not MISSING:
                return True
            if self.mode == "default" and data is not MISSING and data is not None:
                return True
            result = MISSING
            for value in self.values:
                result = value.evaluate(data, path, self.context)
                if result is not MISSING:
                    break
        finally:
            path.pop()
        if result is not MISSING:
            _store(parent, matched.key if isinstance(self.element, LiteralElement) else key, result)
        return True


def _store(parent: Any, key: str, value: Any) -> None:
    if isinstance(parent, dict):
        parent[key] = value
    elif isinstance(parent, list):
        index_text = key[1:-1] if key.startswith("[") and key.endswith("]") else key
        if index_text.isdigit():
            index = int(index_text)
            while len(parent) <= index:
                parent.append(None)
            parent[index] = value


class _ModifyComposite:
    def __init__(self, key: str, spec: dict[str, Any], mode: str, context: Any) -> None:
        key, self.mode, self.optional = _key_options(key, mode)
        mode = self.mode
        self.element = parse_lhs(key)
        if not spec:
            raise JoltSpecError(f"a modify spec key can not have an empty {{}} as value: {key!r}")
        self.literals: dict[str, Any] = {}
        computed = []
        self.max_index = -1
        has_index = False
        for child in _children(spec, lambda k, v: _make(k, v, mode, context)):
            element = child.element
            if isinstance(element, LiteralElement):
                self.literals[element.raw] = child
            elif isinstance(element, ArrayElement) and element.kind == "index":
                # "[7]": an explicit array index, applied like a literal key
                self.literals[element.index] = child
                has_index = True
                if not child.optional:  # "[7]?" does not expand the array
                    self.max_index = max(self.max_index, int(element.index))
            else:
                computed.append(child)
        self.list_spec = has_index
        self.map_spec = bool(self.literals) and not self.list_spec
        self.computed = _sort_computed(computed)
        self.strategy = _strategy(self.literals, self.computed, all_literals=True)
        if self.strategy == "all-literals+computed" and mode == "define" and self.list_spec:
            # Jolt: define on an array spec lets each index go to its literal
            # child, else to the computed ones
            self.strategy = "conflict"

    def apply(self, key: str, data: Any, path: WalkedPath, parent: Any) -> bool:
        matched = self.element.match(key, path)
        if matched is None:
            return False
        if self.optional and data is MISSING:
            return True
        if data is MISSING or data is None:
            if not (self.map_spec or self.list_spec) or (data is None and self.mode == "define"):
                return True
            data = [] if self.list_spec else {}
            _store(parent, key, data)
        elif (self.map_spec and not isinstance(data, dict)) or (self.list_spec and not isinstance(data, list)):
            return True
        original_size = len(data) if isinstance(data, list) else 0
        if isinstance(data, list):
            while len(data) <= self.max_index:
                data.append(None)
            matched = Matched(matched.key, matched.groups, orig_size=original_size)
        path.add(data, matched)
        container = data

        def apply_child(child: Any, child_key: str, value: Any) -> bool:
            if isinstance(container, list) and value is None and int(child_key) >= original_size:
                value = MISSING  # a slot the expansion added: the index is missing
            return bool(child.apply(child_key, value, path, container))

        _process(self, data, path, apply_child)
        path.pop()
        return True


def _make(key: str, value: Any, mode: str, context: Any) -> Any:
    # Jolt's TemplatrSpecBuilder: only a non-empty map is a nested spec; an
    # empty map (like an empty list) is a literal value to write
    if isinstance(value, dict) and value:
        return _ModifyComposite(key, value, mode, context)
    return _ModifyLeaf(key, value, mode, context)


def modify(spec: Any, mode: str, context: Any = None) -> Transform:
    """A Modifier transform; ``mode`` is ``overwrite``, ``default`` or ``define``.
    ``^path`` values read ``context`` (NiFi gives none, so they find nothing)."""
    if not isinstance(spec, dict):
        raise JoltSpecError(f"modify expects a spec of Map type, got {type(spec).__name__}")
    root = _ModifyComposite(ROOT, spec, mode, context if context is not None else {})

    def transform(data: Any) -> Any:
        holder = {ROOT: data}
        root.apply(ROOT, data, WalkedPath(data, Matched(ROOT)), holder)
        return holder[ROOT]

    return transform
