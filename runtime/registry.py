"""Processor discovery. The engine never imports a processor module itself.

Processor types come from:

1. the ``flowyard.processors`` entry point group: each entry point names a
   mapping of type name to ``Processor`` class (flowyard's standard library
   registers ``flowyard.processors:PROCESSORS``);
2. the environment variable ``FLOWYARD_PROCESSOR_MODULES``: a comma-separated
   list of ``module:attribute`` naming further mappings (used by tests to load
   fault-injection processors into a real engine process).

Later definitions of the same type name win, with a warning. An entry point's
mapping that says it is lazy (a true ``lazy`` attribute, as the standard
library's ``LazyTypes``) is not loaded at start: each of its classes is imported
and checked when first looked up (``TypeRegistry``), so a start imports only
what its flow uses. Every other mapping, and every one named by
``FLOWYARD_PROCESSOR_MODULES``, is loaded and checked at start. Controller
service types come the same way from the ``flowyard.controller_services`` entry
point group (``discover_controller_services``), and content viewers (what the
canvas uses to show content as a table, e.g. flowyard's record preview) from
the ``flowyard.content_viewers`` group (``discover_content_viewers``).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, BinaryIO, Generic, NamedTuple, TypeVar

from flowyard.runtime.sdk._errors import ConfigurationError
from flowyard.runtime.sdk._processor import Processor
from flowyard.runtime.sdk._service import ControllerService

__all__ = [
    "ENV_MODULES",
    "Catalogue",
    "ContentViewer",
    "TypeRegistry",
    "discover",
    "discover_content_viewers",
    "discover_controller_services",
    "discover_processors",
]

ENV_MODULES = "FLOWYARD_PROCESSOR_MODULES"
log = logging.getLogger("flowyard.registry")


T = TypeVar("T")


class _Pending(NamedTuple):
    """A type of a lazy plug-in mapping, not looked up yet."""

    mapping: Mapping[str, Any]
    origin: str


class TypeRegistry(Mapping[str, "type[T]"], Generic[T]):
    """Type name → class, as discovery found them: read-only. A name from a
    lazy plug-in mapping (one with a true ``lazy`` attribute, as flowyard's
    standard library's) is loaded and checked the first time it is looked up,
    so a start imports only the classes its flow uses; listing the names loads
    nothing, ``values()`` and ``items()`` load as they go. Looking up a lazy
    name whose class cannot be loaded, or is not of the expected base, raises
    ``ConfigurationError`` naming the plug-in and the type."""

    __slots__ = ("_base", "_entries")

    def __init__(self, base: type) -> None:
        self._base = base
        self._entries: dict[str, type[T] | _Pending] = {}

    def __getitem__(self, name: str) -> type[T]:
        found = self._entries[name]  # KeyError: no such type
        if not isinstance(found, _Pending):
            return found
        try:
            cls: type[T] = found.mapping[name]
        except Exception as exc:  # a broken plug-in may raise anything while importing
            raise ConfigurationError(f"cannot load {found.origin}[{name!r}]: {exc!r}") from None
        _check(cls, name, found.origin, self._base)
        self._entries[name] = cls
        return cls

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))  # a snapshot: a lookup while iterating replaces a value

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        return f"TypeRegistry({sorted(self._entries)!r})"


def _check(cls: object, name: str, origin: str, base: type) -> None:
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigurationError(f"{origin}[{name!r}] is not a {base.__name__} class")


def _same(earlier: type | _Pending, cls: type, name: str) -> bool:
    if isinstance(earlier, _Pending):
        try:
            return earlier.mapping[name] is cls
        except Exception:  # a class that cannot be loaded is not the same one
            return False
    return earlier is cls


def _merge(into: TypeRegistry[Any], found: object, origin: str, *, lazy: bool = True) -> None:
    """Add the types of plug-in mapping ``found`` (from ``origin``) to ``into``:
    a lazy mapping's names only (unless not ``lazy``), the classes of any other
    one checked now."""
    base = into._base
    if not isinstance(found, Mapping):
        raise ConfigurationError(f"{origin} is not a mapping of type names to {base.__name__} classes")
    what = "processor" if base is Processor else "controller service"
    entries = into._entries
    if lazy and getattr(found, "lazy", False) is True:
        for name in found:
            earlier = entries.get(name)
            if earlier is not None and not (isinstance(earlier, _Pending) and earlier.mapping is found):
                log.warning("%s type %s from %s replaces an earlier definition", what, name, origin)
            entries[name] = _Pending(found, origin)
        return
    for name in found:
        try:
            cls = found[name]
        except Exception as exc:  # a broken plug-in may raise anything while importing
            raise ConfigurationError(f"cannot load {origin}[{name!r}]: {exc!r}") from None
        _check(cls, name, origin, base)
        earlier = entries.get(name)
        if earlier is not None and not _same(earlier, cls, name):
            log.warning("%s type %s from %s replaces an earlier definition", what, name, origin)
        entries[name] = cls


def discover_controller_services(*, entries: Iterable[EntryPoint] | None = None) -> TypeRegistry[ControllerService]:
    """Every controller service type available, by type name (entry point group
    ``flowyard.controller_services``; ``entries``: that group's entry points, when
    the caller has them already). Raises ``ConfigurationError`` naming a
    plug-in that cannot be loaded."""
    registry: TypeRegistry[ControllerService] = TypeRegistry(ControllerService)
    for ep in entry_points(group="flowyard.controller_services") if entries is None else entries:
        origin = f"entry point {ep.name} ({ep.value})"
        try:
            found = ep.load()
        except Exception as exc:  # a broken plug-in may raise anything while importing
            raise ConfigurationError(f"cannot load controller services from {origin}: {exc!r}") from None
        _merge(registry, found, origin)
    return registry


ContentViewer = Callable[[BinaryIO, str, int], "dict[str, Any] | None"]
"""``viewer(stream, mime_type, max_rows)``: a view of content (e.g. its first
``max_rows`` records as ``{format, columns, rows, truncated}``), or None when
the content is of no kind it shows. ``stream`` is seekable and bounded: past
the caller's budget a read answers fewer bytes than asked while ``tell()`` is
before the end. Content that is not what its type says raises ``ValueError``
with a sentence naming what is wrong and where."""


def discover_content_viewers() -> dict[str, ContentViewer]:
    """Every content viewer, by name (entry point group ``flowyard.content_viewers``:
    each entry point names a mapping of viewer name to viewer). Raises
    ``ConfigurationError`` naming a plug-in that cannot be loaded or is not such a mapping."""
    viewers: dict[str, ContentViewer] = {}
    for ep in entry_points(group="flowyard.content_viewers"):
        origin = f"entry point {ep.name} ({ep.value})"
        try:
            found = ep.load()
        except Exception as exc:  # a broken plug-in may raise anything while importing
            raise ConfigurationError(f"cannot load content viewers from {origin}: {exc!r}") from None
        if not isinstance(found, Mapping):
            raise ConfigurationError(f"{origin} is not a mapping of viewer names to callables")
        for name, viewer in found.items():
            if not callable(viewer):
                raise ConfigurationError(f"{origin}[{name!r}] is not callable")
            if name in viewers and viewers[name] is not viewer:
                log.warning("content viewer %s from %s replaces an earlier definition", name, origin)
            viewers[str(name)] = viewer
    return viewers


def discover_processors(environ: Mapping[str, str] | None = None, *,
                        entries: Iterable[EntryPoint] | None = None) -> TypeRegistry[Processor]:
    """Every processor type available, by type name (``entries``: the
    ``flowyard.processors`` entry points, when the caller has them already).
    Raises ``ConfigurationError`` naming a module that cannot be loaded."""
    env = os.environ if environ is None else environ
    registry: TypeRegistry[Processor] = TypeRegistry(Processor)
    for ep in entry_points(group="flowyard.processors") if entries is None else entries:
        origin = f"entry point {ep.name} ({ep.value})"
        try:
            found = ep.load()
        except Exception as exc:  # a broken plug-in may raise anything while importing
            raise ConfigurationError(f"cannot load processors from {origin}: {exc!r}") from None
        _merge(registry, found, origin)
    for spec in filter(None, (s.strip() for s in env.get(ENV_MODULES, "").split(","))):
        module_name, _, attr = spec.partition(":")
        if not module_name or module_name.startswith("."):
            raise ConfigurationError(f"{ENV_MODULES}: {spec!r} does not name a module (expected module:attribute)")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigurationError(f"{ENV_MODULES}: cannot import {module_name!r}: {exc}") from None
        except Exception as exc:  # a broken module may raise anything while importing
            raise ConfigurationError(
                f"{ENV_MODULES}: cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
        found = getattr(module, attr or "PROCESSORS", None)
        if found is None:
            raise ConfigurationError(f"{ENV_MODULES}: module {module_name!r} has no {attr or 'PROCESSORS'!r}")
        _merge(registry, found, spec, lazy=False)
    return registry


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every type a flow can name: processors and controller services."""

    processors: Mapping[str, type[Processor]]
    controller_services: Mapping[str, type[ControllerService]]


def discover() -> Catalogue:
    """The processor and controller service types, as every entry point
    (``run``, ``serve``, ``demo``) loads them. Raises ``ConfigurationError``."""
    # One scan of the installed distributions' metadata for both groups (each scan
    # reads every distribution's entry points: a noticeable part of a start).
    found = entry_points()
    return Catalogue(discover_processors(entries=found.select(group="flowyard.processors")),
                     discover_controller_services(entries=found.select(group="flowyard.controller_services")))
