"""A module's names loaded on first use (PEP 562), for packages whose start must stay light."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(namespace: MutableMapping[str, Any], modules: Mapping[str, Sequence[str]]) -> Callable[[str], Any]:
    """The ``__getattr__`` of the module whose ``globals()`` is ``namespace``: each name of
    ``modules`` (submodule -> names) is imported from its submodule
    the first time it is asked for and kept in ``namespace``; any other name raises
    ``AttributeError`` as a module does. Submodules are named relative to the module's
    package (``__package__``: the package itself for an ``__init__``)."""
    owner, package = namespace["__name__"], namespace["__package__"]
    where = {name: f"{package}.{module}" for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {owner!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
