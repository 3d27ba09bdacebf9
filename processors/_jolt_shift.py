"""Jolt's Shiftr (``shift``), and what the composite transforms share with it: the
``Transform`` type, the building of a spec's children (literal keys first, then computed
ones in Jolt's order) and the walk that matches input keys against them. ``_jolt``
re-exports ``Transform`` and ``shift``; cardinality and modify build on the helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flowyard.processors._jolt_path import (
    MISSING,
    AtElement,
    DollarElement,
    HashElement,
    JoltSpecError,
    LiteralElement,
    Matched,
    PathWriter,
    StarElement,
    TransposeElement,
    WalkedPath,
    parse_lhs,
)
from flowyard.processors._json_text import java_string

Transform = Callable[[Any], Any]
ROOT = "root"


# -- composite-spec helpers shared by shift, cardinality and modify ---------------------------

def _sort_computed(children: list[Any]) -> list[Any]:
    def key(child: Any) -> tuple[int, int, str]:
        element = child.element
        return (element.order, -len(element.canonical), element.canonical)

    return sorted(children, key=key)


def _children(spec: dict[str, Any], make: Callable[[str, Any], Any], split_or: bool = True) -> list[Any]:
    out = []
    seen: set[str] = set()
    for raw_key, value in spec.items():
        for key in (raw_key.split("|") if split_or else [raw_key]):
            child = make(key, value)
            canonical = child.element.canonical
            if canonical in seen:
                raise JoltSpecError(f"duplicate canonical key found: {canonical}")
            seen.add(canonical)
            out.append(child)
    return out


def _items(data: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        yield from list(data.items())
    elif isinstance(data, list):
        for index, value in enumerate(list(data)):
            yield str(index), value


def _scalar_text(data: Any) -> str:
    return java_string(data, "null")


# -- Shiftr -------------------------------------------------------------------------------------

class _ShiftLeaf:
    def __init__(self, key: str, rhs: Any) -> None:
        self.element = parse_lhs(key)
        if isinstance(rhs, str):
            writers = [PathWriter(rhs)]
        elif isinstance(rhs, list):
            if not all(isinstance(item, str) for item in rhs):
                raise JoltSpecError(f"a shift output list must hold strings: {rhs!r}")
            writers = [PathWriter(item) for item in rhs]
        elif rhs is None:
            writers = []
        else:
            raise JoltSpecError(f"invalid shift spec value: should be a map, string or list of strings: {rhs!r}")
        self.writers = writers

    def apply(self, key: str, data: Any, path: WalkedPath, output: dict[str, Any]) -> bool:
        matched = self.element.match(key, path)
        if matched is None:
            return False
        real = False
        element = self.element
        if isinstance(element, (DollarElement, HashElement)):
            value: Any = matched.key
        elif isinstance(element, AtElement):
            value = data
        elif isinstance(element, TransposeElement):
            value = element.data(path)
            if value is MISSING:
                return False
        else:
            value = data
            real = True
        path.add(data, matched)
        for writer in self.writers:
            writer.write(value, output, path)
        path.pop()
        if real:
            path.last().hash_count += 1
        return real


class _ShiftComposite:
    def __init__(self, key: str, spec: dict[str, Any]) -> None:
        self.element = parse_lhs(key)
        if isinstance(self.element, AtElement):
            raise JoltSpecError("an @ shift key can not have children")
        if isinstance(self.element, DollarElement):
            raise JoltSpecError("a $ shift key can not have children")
        if not spec:
            raise JoltSpecError(f"a shift spec key can not have an empty {{}} as value: {key!r}")
        self.special: list[Any] = []
        self.literals: dict[str, Any] = {}
        computed: list[Any] = []
        for child in _children(spec, _make_shift):
            element = child.element
            if isinstance(element, LiteralElement):
                self.literals[element.raw] = child
            elif isinstance(element, (AtElement, HashElement, DollarElement, TransposeElement)):
                self.special.append(child)
            else:
                computed.append(child)
        self.computed = _sort_computed(computed)
        self.strategy = _strategy(self.literals, self.computed)

    def apply(self, key: str, data: Any, path: WalkedPath, output: dict[str, Any]) -> bool:
        matched = self.element.match(key, path)
        if matched is None:
            return False
        if isinstance(self.element, TransposeElement):
            data = self.element.data(path)
            if data is MISSING:
                return False
        path.add(data, matched)
        for child in self.special:
            child.apply(key, data, path, output)
        _process(self, data, path, lambda child, k, v: child.apply(k, v, path, output))
        path.pop()
        path.last().hash_count += 1
        return True


def _make_shift(key: str, value: Any) -> Any:
    return _ShiftComposite(key, value) if isinstance(value, dict) else _ShiftLeaf(key, value)


def _strategy(literals: dict[str, Any], computed: list[Any], all_literals: bool = False) -> str:
    if not computed:
        return "all-literals" if all_literals else "literals"
    if not literals:
        return "computed"
    if all_literals:
        return "all-literals+computed"  # Modifier never checks for conflicts
    for child in computed:
        element = child.element
        if not isinstance(element, StarElement):
            return "conflict"
        if any(element.string_match(literal) for literal in literals):
            return "conflict"
    return "all-literals+computed" if all_literals else "literals+computed"


Apply = Callable[[Any, str, Any], bool]


def _process(spec: Any, data: Any, path: WalkedPath, apply: Apply) -> None:
    """Jolt's ExecutionStrategy: which children see which input keys, in which order."""
    strategy = spec.strategy
    if isinstance(data, dict):
        if strategy in ("literals", "literals+computed", "all-literals", "all-literals+computed"):
            for key, child in spec.literals.items():
                if key in data:
                    apply(child, key, data[key])
                elif strategy.startswith("all-"):
                    apply(child, key, MISSING)
            if strategy in ("literals+computed", "all-literals+computed"):
                for key, value in list(data.items()):
                    _apply_computed(spec.computed, key, value, apply)
        elif strategy == "computed":
            for key, value in list(data.items()):
                _apply_computed(spec.computed, key, value, apply)
        else:
            for key, value in list(data.items()):
                child = spec.literals.get(key)
                if child is not None:
                    apply(child, key, value)
                else:
                    _apply_computed(spec.computed, key, value, apply)
    elif isinstance(data, list):
        if strategy in ("literals", "literals+computed", "all-literals", "all-literals+computed"):
            for key, child in spec.literals.items():
                index = int(key) if key.isdigit() else None
                if index is not None and index < len(data):
                    apply(child, key, data[index])
                elif strategy.startswith("all-"):
                    apply(child, key, MISSING)
            if strategy in ("literals+computed", "all-literals+computed"):
                for index, value in enumerate(list(data)):
                    _apply_computed(spec.computed, str(index), value, apply)
        elif strategy == "computed":
            for index, value in enumerate(list(data)):
                _apply_computed(spec.computed, str(index), value, apply)
        else:
            for index, value in enumerate(list(data)):
                child = spec.literals.get(str(index))
                if child is not None:
                    apply(child, str(index), value)
                else:
                    _apply_computed(spec.computed, str(index), value, apply)
    elif data is not None and data is not MISSING:
        scalar = _scalar_text(data)
        if strategy != "computed":
            child = spec.literals.get(scalar)
            if child is not None:
                apply(child, scalar, None)
                if strategy == "conflict":
                    return
        if strategy != "literals" and strategy != "all-literals":
            _apply_computed(spec.computed, scalar, None, apply)


def _apply_computed(computed: list[Any], key: str, value: Any, apply: Apply) -> None:
    for child in computed:
        if apply(child, key, value):
            break


def shift(spec: Any) -> Transform:
    """Shiftr: copy data from the input tree to places in a new output tree."""
    if not isinstance(spec, dict):
        raise JoltSpecError(f"shift expects a spec of Map type, got {type(spec).__name__}")
    root = _ShiftComposite(ROOT, spec)

    def transform(data: Any) -> Any:
        output: dict[str, Any] = {}
        path = WalkedPath(data, Matched(ROOT))
        root.apply(ROOT, data, path, output)
        return output.get(ROOT)

    return transform
