"""Jolt JSON-to-JSON transforms in pure Python, with bazaarvoice/jolt's semantics.

    transform = build_transform("shift", {"rating": {"primary": {"value": "Rating"}}})
    output = transform(input_document)

Transforms (names as in a Chainr spec's ``operation``): ``shift`` (Shiftr),
``default`` (Defaultr), ``remove`` (Removr), ``cardinality``, ``sort``
(Sortr), ``modify-overwrite-beta``, ``modify-default-beta``,
``modify-define-beta`` (Modifier, see ``_jolt_modify``) and ``chain``
(Chainr: a list of ``{"operation": ..., "spec": ...}``; Jolt's class names
such as ``com.bazaarvoice.jolt.Shiftr`` are accepted too). Custom Java
transforms are not supported.

The transforms work on parsed JSON (dicts, lists, str, int, float, bool,
None). Like Jolt, ``default``, ``remove``, ``cardinality`` and ``modify``
change their input in place and ``shift`` shares values with its input.
``build_transform`` raises ``JoltSpecError`` for a bad spec; applying a
transform raises ``JoltError`` when the input cannot be handled.

Shiftr and the composite-spec helpers are in ``_jolt_shift``, the modifiers in
``_jolt_modify``, the path machinery in ``_jolt_path``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from flowyard.processors._jolt_path import (
    AtElement,
    Element,
    JoltError,
    JoltSpecError,
    LiteralElement,
    Matched,
    StarElement,
    WalkedPath,
    parse_lhs,
)
from flowyard.processors._jolt_shift import ROOT, Transform, _children, _process, _sort_computed, shift

__all__ = ["OPERATIONS", "JoltError", "JoltSpecError", "Transform", "build_transform"]


# -- Defaultr -----------------------------------------------------------------------------------

class _DefaultKey:
    def __init__(self, raw_key: str, spec: Any, parent_is_array: bool) -> None:
        key = raw_key
        self.array_output = key.endswith("[]")
        if self.array_output:
            key = key.replace("[]", "")
        self.raw = key
        if "*" in key:
            if key != "*":
                raise JoltSpecError(f"default key {raw_key!r} is invalid: * keys can only contain *")
            self.op, self.names = 2, []
        elif "|" in key:
            self.op, self.names = 1, key.split("|")
        else:
            self.op, self.names = 0, [key]
        self.parent_is_array = parent_is_array
        self.indexes: list[int] = []
        if parent_is_array:
            try:
                self.indexes = [int(name) for name in self.names]
            except ValueError:
                raise JoltSpecError(f"default key {raw_key!r} must be an array index under an array key") from None
        self.children: list[_DefaultKey] | None = None
        self.literal: Any = None
        self.array_size = -1
        if isinstance(spec, dict):
            self.children = [_DefaultKey(k, v, self.array_output) for k, v in spec.items()]
            self.children.sort(key=lambda c: (c.op, len(c.names) if c.op == 1 else 0, c.raw if c.op == 1 else ""))
            if self.array_output:
                self.array_size = max((c.indexes[0] for c in self.children if c.op == 0), default=-1)
        else:
            self.literal = spec

    def apply_children(self, container: Any) -> None:
        if self.array_output and isinstance(container, list):
            while len(container) <= self.array_size:
                container.append(None)
        for child in self.children or ():
            child.apply(container)

    def apply(self, container: Any) -> None:
        if self.parent_is_array:
            if not isinstance(container, list):
                return
            if self.op == 0:
                targets: list[Any] = self.indexes
            elif self.op == 2:
                targets = list(range(len(container)))
            else:
                targets = [i for i in self.indexes if i < len(container)]
        else:
            if not isinstance(container, dict):
                return
            if self.op == 0:
                targets = list(self.names)
            elif self.op == 2:
                targets = list(container)
            else:
                targets = [name for name in container if name in self.names]
        for target in targets:
            self._apply_one(container, target)

    def _apply_one(self, container: Any, target: Any) -> None:
        if isinstance(container, list):
            current = container[target] if target < len(container) else None
        else:
            current = container.get(target)
        if self.children is None:
            if current is None:
                _put(container, target, copy.deepcopy(self.literal))
            return
        if current is None:
            current = [] if self.array_output else {}
            _put(container, target, current)
        self.apply_children(current)


def _put(container: Any, target: Any, value: Any) -> None:
    if isinstance(container, list):
        while len(container) <= target:
            container.append(None)
    container[target] = value


def default(spec: Any) -> Transform:
    """Defaultr: fill in missing (or null) values of the input."""
    if not isinstance(spec, dict):
        raise JoltSpecError(f"default expects a spec of Map type, got {type(spec).__name__}")
    map_root = _DefaultKey(ROOT, spec, False)
    try:
        array_root: _DefaultKey | None = _DefaultKey(ROOT + "[]", spec, False)
    except JoltSpecError:
        array_root = None

    def transform(data: Any) -> Any:
        if data is None:
            data = {}
        if isinstance(data, list):
            if array_root is None:
                raise JoltError("the default spec can not handle input that is a top level JSON array")
            array_root.apply_children(data)
        else:
            map_root.apply_children(data)
        return data

    return transform


# -- Removr -------------------------------------------------------------------------------------

class _RemoveSpec:
    def __init__(self, key: str, spec: Any) -> None:
        stars = key.count("*")
        self.element: Element = StarElement(key) if stars else LiteralElement(key)
        self.children: list[_RemoveSpec] | None = None
        if isinstance(spec, dict):
            self.children = [_RemoveSpec(k, v) for raw, v in spec.items() for k in raw.split("|")]
        elif not isinstance(spec, str) or any(ch > " " for ch in spec):  # String.trim()
            raise JoltSpecError(f"Invalid Removr spec RHS for {key!r}. Should be an empty string or Map")

    def _keys(self, data: Any) -> list[Any]:
        element = self.element
        if isinstance(data, dict):
            if isinstance(element, LiteralElement):
                return [element.raw] if element.raw in data else []
            return [k for k in data if element.string_match(k)]
        if isinstance(data, list):
            if isinstance(element, LiteralElement):
                return [int(element.raw)] if element.raw.isdigit() and int(element.raw) < len(data) else []
            if isinstance(element, StarElement) and element.all:
                return list(range(len(data)))
            return [i for i in range(len(data)) if element.string_match(str(i))]
        return []

    def apply(self, data: Any) -> None:
        """Remove what this spec names from ``data`` (leaf), or recurse (composite)."""
        _remove_all([self], data)


def _remove_all(specs: list[_RemoveSpec], data: Any) -> None:
    """Apply sibling specs to ``data``: list indexes are collected from all of
    them first and removed at the end, so one removal does not shift another."""
    doomed: set[int] = set()
    for spec in specs:
        keys = spec._keys(data)
        if spec.children is None:
            if isinstance(data, dict):
                for key in keys:
                    data.pop(key, None)
            else:
                doomed.update(keys)
            continue
        for key in keys:
            child_data = data[key]
            if isinstance(child_data, (dict, list)):
                _remove_all(spec.children, child_data)
    if isinstance(data, list):
        for index in sorted(doomed, reverse=True):
            del data[index]


def remove(spec: Any) -> Transform:
    """Removr: remove keys (and array elements) from the input."""
    if not isinstance(spec, dict):
        raise JoltSpecError(f"remove expects a spec of Map type, got {type(spec).__name__}")
    children = [_RemoveSpec(k, v) for raw, v in spec.items() for k in raw.split("|")]

    def transform(data: Any) -> Any:
        if isinstance(data, (dict, list)):
            _remove_all(children, data)
        return data

    return transform


# -- Cardinality --------------------------------------------------------------------------------

class _CardinalityLeaf:
    def __init__(self, key: str, rhs: Any) -> None:
        self.element = parse_lhs(key)
        if not isinstance(rhs, str) or rhs.upper() not in ("ONE", "MANY"):
            raise JoltSpecError(f"invalid cardinality type: {rhs!r}")
        self.many = rhs.upper() == "MANY"

    def apply(self, key: str, data: Any, path: WalkedPath, parent: Any) -> bool:
        matched = self.element.match(key, path)
        if matched is None:
            return False
        self.adjust(key, data, parent)
        return True

    def adjust(self, key: str, data: Any, parent: Any) -> Any:
        if self.many:
            if isinstance(data, list):
                value: Any = data
            elif data is None:
                value = []
            else:
                value = [data]
            _set_child(parent, key, value)
            return value
        if isinstance(data, list):
            value = data[0] if data else None
            _set_child(parent, key, value)
            return value
        return data


def _set_child(parent: Any, key: str, value: Any) -> None:
    if isinstance(parent, dict):
        parent[key] = value
    elif isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
        parent[int(key)] = value


class _CardinalityComposite:
    def __init__(self, key: str, spec: dict[str, Any]) -> None:
        self.element = parse_lhs(key)
        if isinstance(self.element, AtElement):
            raise JoltSpecError("an @ cardinality key can not have children")
        if not spec:
            raise JoltSpecError(f"a cardinality spec key can not have an empty {{}} as value: {key!r}")
        self.special: _CardinalityLeaf | None = None
        self.literals: dict[str, Any] = {}
        computed = []
        for child in _children(spec, _make_cardinality, split_or=False):
            if isinstance(child.element, LiteralElement):
                self.literals[child.element.raw] = child
            elif isinstance(child.element, AtElement):
                if not isinstance(child, _CardinalityLeaf):
                    raise JoltSpecError("an @ cardinality key can not have children")
                self.special = child
            else:
                computed.append(child)
        self.computed = _sort_computed(computed)
        self.strategy = "conflict"

    def apply(self, key: str, data: Any, path: WalkedPath, parent: Any) -> bool:
        matched = self.element.match(key, path)
        if matched is None:
            return False
        path.add(data, matched)
        if self.special is not None:
            data = self.special.adjust(key, data, parent)
        if isinstance(data, (dict, list)):
            container = data
            _process(self, data, path, lambda child, k, v: child.apply(k, v, path, container))
        path.pop()
        return True


def _make_cardinality(key: str, value: Any) -> Any:
    return _CardinalityComposite(key, value) if isinstance(value, dict) else _CardinalityLeaf(key, value)


def cardinality(spec: Any) -> Transform:
    """CardinalityTransform: make values ONE (first element of a list) or MANY (a list)."""
    if not isinstance(spec, dict):
        raise JoltSpecError(f"cardinality expects a spec of Map type, got {type(spec).__name__}")
    root = _CardinalityComposite(ROOT, spec)

    def transform(data: Any) -> Any:
        holder = {ROOT: data}
        root.apply(ROOT, data, WalkedPath(data, Matched(ROOT)), holder)
        return holder[ROOT]

    return transform


# -- Sortr --------------------------------------------------------------------------------------

def _sorted(data: Any) -> Any:
    if isinstance(data, dict):
        keys = sorted(data, key=lambda k: (not k.startswith("~"), k))
        return {key: _sorted(data[key]) for key in keys}
    if isinstance(data, list):
        return [_sorted(item) for item in data]
    return data


def sort(spec: Any = None) -> Transform:
    """Sortr: every map's keys in alphabetical order, ``~`` keys first (a copy)."""
    return _sorted


# -- Chainr -------------------------------------------------------------------------------------

def _modify(mode: str) -> Callable[[Any], Transform]:
    def make(spec: Any) -> Transform:
        from flowyard.processors._jolt_modify import modify

        return modify(spec, mode)

    return make


OPERATIONS: dict[str, Callable[[Any], Transform]] = {
    "shift": shift,
    "default": default,
    "remove": remove,
    "cardinality": cardinality,
    "sort": sort,
    "modify-overwrite-beta": _modify("overwrite"),
    "modify-default-beta": _modify("default"),
    "modify-define-beta": _modify("define"),
}
"""Chainr operation names → transform factories."""

_CLASS_NAMES = {
    "Shiftr": "shift", "Defaultr": "default", "Removr": "remove", "CardinalityTransform": "cardinality",
    "Sortr": "sort", "Modifier$Overwritr": "modify-overwrite-beta", "Modifier$Defaultr": "modify-default-beta",
    "Modifier$Definr": "modify-define-beta",
}


def _operation(name: str) -> Callable[[Any], Transform]:
    if name in OPERATIONS:
        return OPERATIONS[name]
    for prefix in ("com.bazaarvoice.jolt.", "io.joltcommunity.jolt."):
        if name.startswith(prefix) and name[len(prefix):] in _CLASS_NAMES:
            return OPERATIONS[_CLASS_NAMES[name[len(prefix):]]]
    raise JoltSpecError(f"unknown or unsupported Jolt operation {name!r} (custom transforms are not supported)")


def chain(spec: Any) -> Transform:
    """Chainr: apply each ``{"operation", "spec"}`` entry in turn."""
    if not isinstance(spec, list):
        raise JoltSpecError("a chain spec must be a JSON array of objects")
    if not spec:
        raise JoltSpecError("a chain spec must not be an empty array")
    steps = []
    for index, entry in enumerate(spec):
        if not isinstance(entry, dict):
            raise JoltSpecError(f"chain entry {index} must be a JSON object")
        operation = entry.get("operation")
        if not isinstance(operation, str):
            raise JoltSpecError(f"chain entry {index} needs an 'operation'")
        factory = _operation(operation)
        if factory is not sort and "spec" not in entry:
            raise JoltSpecError(f"chain entry {index} ({operation}) needs a 'spec'")
        try:
            steps.append(factory(entry.get("spec")))
        except JoltSpecError as exc:
            raise JoltSpecError(f"chain entry {index} ({operation}): {exc}") from None

    def transform(data: Any) -> Any:
        for step in steps:
            data = step(data)
        return data

    return transform


def build_transform(operation: str, spec: Any) -> Transform:
    """The transform ``operation`` (an OPERATIONS name, ``chain``, or a Jolt class
    name) configured with ``spec``. Raises ``JoltSpecError``."""
    if operation == "chain":
        return chain(spec)
    return _operation(operation)(spec)

