"""discover_processors: the standard library through its entry point, and extra
processor mappings named by FLOWYARD_PROCESSOR_MODULES (passed as ``environ``)."""

from __future__ import annotations

import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowyard.processors import PROCESSORS
from flowyard.runtime.registry import ENV_MODULES, discover_processors
from flowyard.runtime.sdk import ConfigurationError, Processor

MODULE_SOURCE = '''
from flowyard.runtime.sdk import Processor, ProcessorSpec


class Extra(Processor):
    spec = ProcessorSpec("An extra processor.")


class GenerateFlowFile(Processor):
    spec = ProcessorSpec("Replaces the standard one.")


PROCESSORS = {"Extra": Extra}
OVERRIDES = {"GenerateFlowFile": GenerateFlowFile}
NOT_A_MAPPING = [Extra]
NOT_A_CLASS = {"Extra": Extra()}
NOT_A_PROCESSOR = {"Extra": dict}
'''


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path; modules written into it are forgotten after the test."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("fy_registry_"):
            del sys.modules[name]


def write_module(folder: Path, name: str, source: str = MODULE_SOURCE) -> str:
    (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return name


def test_the_standard_processors_come_from_the_entry_point() -> None:
    found = discover_processors({})
    assert found == PROCESSORS
    assert {
        "FetchFile", "GenerateFlowFile", "GetFile", "ListFile", "LogAttribute", "LogMessage", "PutFile",
        "RouteOnAttribute", "UpdateAttribute",
    } <= set(found)
    assert all(issubclass(cls, Processor) and cls.type_name == name for name, cls in found.items())


def test_environ_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_MODULES, "fy_registry_nowhere")
    with pytest.raises(ConfigurationError, match="fy_registry_nowhere"):
        discover_processors()
    assert discover_processors({}) == PROCESSORS  # an explicit environ replaces os.environ


@pytest.mark.parametrize("setting", ["{m}", "{m}:PROCESSORS", " {m} , ", ",{m}:PROCESSORS,,"])
def test_modules_from_the_environment(module_dir: Path, setting: str) -> None:
    name = write_module(module_dir, "fy_registry_extra")
    found = discover_processors({ENV_MODULES: setting.format(m=name)})
    assert found["Extra"].__module__ == name
    assert set(found) == {*PROCESSORS, "Extra"}


def test_later_definitions_win_with_a_warning(module_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    name = write_module(module_dir, "fy_registry_override")
    caplog.set_level(logging.WARNING, logger="flowyard.registry")
    found = discover_processors({ENV_MODULES: f"{name}:OVERRIDES"})
    assert found["GenerateFlowFile"].__module__ == name
    assert [r.getMessage() for r in caplog.records] == [
        f"processor type GenerateFlowFile from {name}:OVERRIDES replaces an earlier definition"
    ]


def test_the_same_class_twice_is_not_a_replacement(module_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    name = write_module(module_dir, "fy_registry_twice")
    caplog.set_level(logging.WARNING, logger="flowyard.registry")
    found = discover_processors({ENV_MODULES: f"{name},{name}:PROCESSORS,flowyard.processors"})
    assert set(found) == {*PROCESSORS, "Extra"}
    assert caplog.records == []


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("MISSING", "FLOWYARD_PROCESSOR_MODULES: module '{m}' has no 'MISSING'"),
        ("NOT_A_MAPPING", "{m}:NOT_A_MAPPING is not a mapping of type names to Processor classes"),
        ("NOT_A_CLASS", "{m}:NOT_A_CLASS['Extra'] is not a Processor class"),
        ("NOT_A_PROCESSOR", "{m}:NOT_A_PROCESSOR['Extra'] is not a Processor class"),
    ],
)
def test_bad_attributes(module_dir: Path, attribute: str, message: str) -> None:
    name = write_module(module_dir, "fy_registry_bad")
    with pytest.raises(ConfigurationError) as info:
        discover_processors({ENV_MODULES: f"{name}:{attribute}"})
    assert str(info.value) == message.format(m=name)


def test_a_module_without_processors(module_dir: Path) -> None:
    name = write_module(module_dir, "fy_registry_empty", "X = 1\n")
    with pytest.raises(ConfigurationError) as info:
        discover_processors({ENV_MODULES: name})
    assert str(info.value) == f"FLOWYARD_PROCESSOR_MODULES: module '{name}' has no 'PROCESSORS'"


@pytest.mark.parametrize(
    ("module", "message"),
    [
        ("fy_registry_missing", "FLOWYARD_PROCESSOR_MODULES: cannot import 'fy_registry_missing': "
                                "No module named 'fy_registry_missing'"),
        ("fy_registry_missing.sub", "FLOWYARD_PROCESSOR_MODULES: cannot import 'fy_registry_missing.sub': "
                                    "No module named 'fy_registry_missing'"),
        ("fy_registry_imports_missing", "FLOWYARD_PROCESSOR_MODULES: cannot import 'fy_registry_imports_missing': "
                                        "No module named 'fy_registry_absent_dependency'"),
    ],
)
def test_unimportable_modules(module_dir: Path, module: str, message: str) -> None:
    write_module(module_dir, "fy_registry_imports_missing", "import fy_registry_absent_dependency\n")
    with pytest.raises(ConfigurationError) as info:
        discover_processors({ENV_MODULES: f"{module}:PROCESSORS"})
    assert str(info.value) == message


@pytest.mark.parametrize(
    "setting",
    [
        "fy_registry_syntax",
        ":PROCESSORS",
        ".fy_registry_relative",
    ],
)
def test_every_module_that_cannot_be_loaded_is_a_configuration_error(module_dir: Path, setting: str) -> None:
    write_module(module_dir, "fy_registry_syntax", "def broken(:\n")
    with pytest.raises(ConfigurationError, match=f"^{ENV_MODULES}: "):
        discover_processors({ENV_MODULES: setting})
