"""The standard library's lazy catalogue: ``PROCESSORS`` and ``CONTROLLER_SERVICES``
list exactly the classes of the ``_catalog_*`` families, and naming the types
imports no processor module."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from types import ModuleType

import pytest

import flowyard.processors
from flowyard.processors import CONTROLLER_SERVICES, PROCESSORS, LazyTypes
from flowyard.runtime.sdk import ControllerService, Processor


def families() -> list[ModuleType]:
    found = [importlib.import_module(f"flowyard.processors.{m.name}")
             for m in pkgutil.iter_modules(flowyard.processors.__path__) if m.name.startswith("_catalog_")]
    assert len(found) >= 17  # _catalog_core and the sixteen others at least
    return found


def by_name(classes: list[type]) -> dict[str, type]:
    table = {cls.type_name: cls for cls in classes}  # type: ignore[attr-defined]
    assert len(table) == len(classes), "a type listed twice"
    return table


def test_the_tables_list_exactly_the_classes_of_the_families() -> None:
    expected = by_name([cls for family in families() for cls in family.PROCESSORS])
    assert dict(PROCESSORS.items()) == expected
    expected_services = by_name([cls for family in families() for cls in family.SERVICES])
    assert dict(CONTROLLER_SERVICES.items()) == expected_services
    assert all(issubclass(cls, Processor) for cls in PROCESSORS.values())
    assert all(issubclass(cls, ControllerService) for cls in CONTROLLER_SERVICES.values())
    for table in (PROCESSORS, CONTROLLER_SERVICES):
        for name, cls in table.items():
            assert table.module_of(name) == cls.__module__, name


def test_a_lookup_loads_once_and_a_missing_name_is_a_key_error() -> None:
    assert PROCESSORS["PutFile"] is PROCESSORS["PutFile"]
    assert PROCESSORS.get("NoSuchProcessor") is None
    assert "NoSuchProcessor" not in PROCESSORS
    with pytest.raises(KeyError):
        PROCESSORS["NoSuchProcessor"]


def test_a_table_naming_a_missing_class_fails_on_lookup_only() -> None:
    table: LazyTypes[Processor] = LazyTypes({"NotThere": "put_file"})
    assert list(table) == ["NotThere"] and len(table) == 1 and "NotThere" in table
    with pytest.raises(AttributeError, match="NotThere"):
        table["NotThere"]


_PROBE = """
import sys
from flowyard.processors import CONTROLLER_SERVICES, PROCESSORS
names = sorted(PROCESSORS) + sorted(CONTROLLER_SERVICES)
assert len(names) == len(PROCESSORS) + len(CONTROLLER_SERVICES) > 100 and "PutFile" in PROCESSORS
before = sorted(m for m in sys.modules if m.startswith("flowyard.processors."))
PROCESSORS["PutFile"]
after = "flowyard.processors.put_file" in sys.modules and "flowyard.processors.execute_sql" not in sys.modules
print(before, after)
"""


def test_naming_the_types_imports_no_processor_module() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "True"]
