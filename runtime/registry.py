"""Processor discovery. The engine never imports a processor module itself.

Processor types come from:

1. the ``flowyard.processors`` entry point group: each entry point names a
   mapping of type name to ``Processor`` class (flowyard's standard library
   registers ``flowyard.processors:PROCESSORS``);
2. the environment variable ``FLOWYARD_PROCESSOR_MODULES``: a comma-separated
   list of ``module:attribute`` naming further mappings (used by tests to load
   fault-injection processors into a real engine process).

Later definitions of the same type name win, with a warning. Controller
service types come the same way from the ``flowyard.controller_services`` entry
point group (``discover_controller_services``), and content viewers (what the
canvas uses to show content as a table, e.g. flowyard's record preview) from
the ``flowyard.content_viewers`` group (``discover_content_viewers``).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, BinaryIO

from flowyard.runtime.sdk._errors import ConfigurationError
from flowyard.runtime.sdk._processor import Processor
from flowyard.runtime.sdk._service import ControllerService

__all__ = [
    "ENV_MODULES",
    "Catalogue",
    "ContentViewer",
    "discover",
    "discover_content_viewers",
    "discover_controller_services",
    "discover_processors",
]

ENV_MODULES = "FLOWYARD_PROCESSOR_MODULES"
log = logging.getLogger("flowyard.registry")


def _merge(into: dict[str, Any], found: object, origin: str, base: type = Processor) -> None:
    if not isinstance(found, Mapping):
        raise ConfigurationError(f"{origin} is not a mapping of type names to {base.__name__} classes")
    for name, cls in found.items():
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise ConfigurationError(f"{origin}[{name!r}] is not a {base.__name__} class")
        if name in into and into[name] is not cls:
            what = "processor" if base is Processor else "controller service"
            log.warning("%s type %s from %s replaces an earlier definition", what, name, origin)
        into[name] = cls


def discover_controller_services(*, entries: Iterable[EntryPoint] | None = None) -> dict[str, type[ControllerService]]:
    """Every controller service type available, by type name (entry point group
    ``flowyard.controller_services``; ``entries``: that group's entry points, when
    the caller has them already). Raises ``ConfigurationError`` naming a
    plug-in that cannot be loaded."""
    registry: dict[str, type[ControllerService]] = {}
    for ep in entry_points(group="flowyard.controller_services") if entries is None else entries:
        origin = f"entry point {ep.name} ({ep.value})"
        try:
            found = ep.load()
        except Exception as exc:  # a broken plug-in may raise anything while importing
            raise ConfigurationError(f"cannot load controller services from {origin}: {exc!r}") from None
        _merge(registry, found, origin, ControllerService)
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
                        entries: Iterable[EntryPoint] | None = None) -> dict[str, type[Processor]]:
    """Every processor type available, by type name (``entries``: the
    ``flowyard.processors`` entry points, when the caller has them already).
    Raises ``ConfigurationError`` naming a module that cannot be loaded."""
    env = os.environ if environ is None else environ
    registry: dict[str, type[Processor]] = {}
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
        _merge(registry, found, spec)
    return registry


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every type a flow can name: processors and controller services."""

    processors: dict[str, type[Processor]]
    controller_services: dict[str, type[ControllerService]]


def discover() -> Catalogue:
    """The processor and controller service types, as every entry point
    (``run``, ``serve``, ``demo``) loads them. Raises ``ConfigurationError``."""
    # One scan of the installed distributions' metadata for both groups (each scan
    # reads every distribution's entry points: a noticeable part of a start).
    found = entry_points()
    return Catalogue(discover_processors(entries=found.select(group="flowyard.processors")),
                     discover_controller_services(entries=found.select(group="flowyard.controller_services")))
