"""The SDK's public surface is exactly this list; every name imports and says its contract.

Changing the list is an API change: update it here on purpose, never to make a test pass.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import types

import pytest

import flowyard.runtime.sdk as sdk

PUBLIC = [
    "AllowableValue",
    "ComponentLog",
    "ConfigurationContext",
    "ConfigurationError",
    "ContentClaim",
    "ContentNotFoundError",
    "ContentSource",
    "ControllerService",
    "ControllerServiceLookup",
    "ControllerServiceSpec",
    "CoreAttributes",
    "DataDirectoryInUseError",
    "DynamicPropertySpec",
    "DynamicRelationshipSpec",
    "ExpressionScope",
    "FlowDefinitionError",
    "FlowFile",
    "FlowFileHandlingError",
    "FlowyardError",
    "InputRequirement",
    "InvalidComponentError",
    "ProcessContext",
    "ProcessSession",
    "ProcessingError",
    "Processor",
    "ProcessorSpec",
    "PropertyDependency",
    "PropertySpec",
    "PropertyValue",
    "PropertyValueError",
    "ProvenanceEvent",
    "ProvenanceEventType",
    "ProvenanceReporter",
    "Relationship",
    "RepositoryCorruptedError",
    "RepositoryError",
    "SchedulingDefaults",
    "StorageFullError",
    "UnknownPropertyError",
    "ValidationResult",
    "format_data_size",
    "format_duration",
    "new_uuid",
    "new_uuids",
    "parse_data_size",
    "parse_duration",
    "resolve_properties",
    "validate_properties",
    "validate_service_references",
    "validators",
]


def _sdk_modules() -> list[types.ModuleType]:
    return [importlib.import_module(f"{sdk.__name__}.{m.name}") for m in pkgutil.iter_modules(sdk.__path__)]


@functools.cache
def _source_docstrings(module_name: str) -> dict[str, str | None]:
    """Top-level name -> its docstring as written in the module's source, for
    every class, function and assignment (an assignment's docstring is the
    string literal right after it). Read from source because runtime
    ``__doc__`` misleads: dataclasses invent one and a type alias shows its type's."""
    found: dict[str, str | None] = {}
    body = ast.parse(inspect.getsource(importlib.import_module(module_name))).body
    for node, after in zip(body, [*body[1:], None]):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = ast.get_docstring(node)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            literal = (
                after.value.value
                if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
                else None
            )
            found.update((t.id, literal) for t in targets if isinstance(t, ast.Name))
    return found


def _docstring(name: str, obj: object) -> str | None:
    if isinstance(obj, types.ModuleType):
        return obj.__doc__
    if inspect.isclass(obj) or inspect.isfunction(obj):
        return _source_docstrings(obj.__module__).get(obj.__name__)
    # an alias or constant: the SDK module that assigns it
    for module in _sdk_modules():
        docs = _source_docstrings(module.__name__)
        if name in docs:
            return docs[name]
    return None


def test_the_public_list_is_sorted_and_exact() -> None:
    assert sorted(PUBLIC) == PUBLIC
    assert sorted(sdk.__all__) == PUBLIC
    assert len(set(sdk.__all__)) == len(sdk.__all__)


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec(f"from {sdk.__name__} import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == PUBLIC


@pytest.mark.parametrize(
    "name",
    PUBLIC,
)
def test_every_public_name_imports_and_has_its_own_docstring(name: str) -> None:
    doc = _docstring(name, getattr(importlib.import_module(sdk.__name__), name))
    assert doc is not None and doc.strip(), f"{name} has no docstring"


def test_the_private_modules_are_not_public() -> None:
    assert not [n for n in PUBLIC if n.startswith("_")]
    assert {m.__name__.rpartition(".")[2] for m in _sdk_modules()} >= {"_units", "_properties", "testing"}
