"""What Jolt's path machinery stands on: the errors (``JoltError``, ``JoltSpecError``),
``MISSING`` (no data, as opposed to null), what a key matched (``Matched``), the
path walked down the input (``WalkedPath``), a value as a key (``scalar_key``),
escapes in keys and the parsing of ``&``/``$``/``@`` references. ``_jolt_path``
re-exports the public names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class JoltError(ValueError):
    """A transform cannot be applied to this input."""


class JoltSpecError(JoltError):
    """A Jolt spec is not valid; the message names the offending part."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""No data (as opposed to JSON ``null``)."""


@dataclass(slots=True)
class Matched:
    """What a spec key matched: the key and its captures (index 0 is the key)."""

    key: str
    groups: list[str] = field(default_factory=list)
    hash_count: int = 0
    orig_size: int | None = None

    def group(self, index: int) -> str:
        captures = [self.key, *self.groups]
        if index >= len(captures):
            raise JoltError(f"the key {self.key!r} has no capture group {index}")
        return captures[index]


class WalkedPath:
    """The steps taken down the input: (data, what matched) per level."""

    __slots__ = ("steps",)

    def __init__(self, data: Any, matched: Matched) -> None:
        self.steps: list[tuple[Any, Matched]] = [(data, matched)]

    def add(self, data: Any, matched: Matched) -> None:
        self.steps.append((data, matched))

    def pop(self) -> None:
        self.steps.pop()

    def from_end(self, index: int) -> tuple[Any, Matched]:
        if index >= len(self.steps):
            raise JoltError(f"a reference goes {index} levels up, but the path is only {len(self.steps) - 1} deep")
        return self.steps[-1 - index]

    def last(self) -> Matched:
        return self.steps[-1][1]


def scalar_key(data: Any) -> str | None:
    """The text a value stands for when used as a key (Jolt coerces numbers and
    booleans; containers and null give no key)."""
    if isinstance(data, str):
        return data
    if data is True:
        return "true"
    if data is False:
        return "false"
    if isinstance(data, int):
        return str(data)
    if isinstance(data, float):
        from flowyard.processors._json_text import java_double

        return str(int(data)) if data.is_integer() and abs(data) < 2**63 else java_double(data)
    return None


# -- escapes --------------------------------------------------------------------------------

def remove_escaped_values(key: str) -> str:
    """``\\@pants`` → ``pants``: the key without escaped characters (to decide its kind)."""
    out = []
    escaped = False
    for ch in key:
        if ch == "\\":
            escaped = not escaped
            continue
        if not escaped:
            out.append(ch)
        escaped = False
    return "".join(out)


def remove_escape_chars(key: str) -> str:
    """``\\@pants`` → ``@pants``: the key with its escape characters removed."""
    out = []
    escaped = False
    for ch in key:
        if ch == "\\" and not escaped:
            escaped = True
            continue
        out.append(ch)
        escaped = False
    return "".join(out)


# -- references ------------------------------------------------------------------------------

def _reference(text: str, token: str, with_group: bool = True) -> tuple[int, int]:
    if not text.startswith(token):
        raise JoltSpecError(f"invalid reference {text!r}")
    meat = text[1:]
    try:
        if not meat:
            return 0, 0
        if len(meat) >= 3 and meat.startswith("(") and meat.endswith(")"):
            parts = meat[1:-1].split(",")
            if len(parts) > (2 if with_group else 1):
                raise JoltSpecError(f"invalid reference {text!r}")
            level = int(parts[0])
            group = int(parts[1]) if len(parts) == 2 else 0
        else:
            level, group = int(meat), 0
    except ValueError:
        raise JoltSpecError(f"unable to parse {token!r} reference {text!r}") from None
    if level < 0 or group < 0:
        raise JoltSpecError(f"reference {text!r} can not have a negative value")
    return level, group
