"""Discovery keeps a lazy plug-in mapping (the standard library's) lazy: a class
is imported and checked when first looked up, so a start imports only the
processors its flow uses. Every other mapping, and every one named by
FLOWYARD_PROCESSOR_MODULES, is loaded and checked at start as before."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from flowyard.runtime.registry import ENV_MODULES, TypeRegistry, discover_controller_services, discover_processors
from flowyard.runtime.sdk import ConfigurationError, Processor

MODULE_SOURCE = '''
from collections.abc import Mapping

from flowyard.runtime.sdk import Processor, ProcessorSpec

LOADED = []


class Extra(Processor):
    spec = ProcessorSpec("An extra processor.")


class Lazy(Mapping):
    lazy = True

    def __init__(self, table):
        self.table = table

    def __getitem__(self, name):
        LOADED.append(name)
        return self.table[name]()

    def __iter__(self):
        return iter(self.table)

    def __len__(self):
        return len(self.table)


def broken():
    raise ImportError("no module named fy_lazy_absent")


PROCESSORS = Lazy({"Extra": lambda: Extra, "Broken": broken, "NotAProcessor": lambda: dict})
GOOD = Lazy({"Extra": lambda: Extra})
'''


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The name of a module on sys.path holding MODULE_SOURCE (forgotten after the test)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "fy_lazy_plugin.py").write_text(textwrap.dedent(MODULE_SOURCE), encoding="utf-8")
    yield "fy_lazy_plugin"
    sys.modules.pop("fy_lazy_plugin", None)


def entry(module: str, attribute: str = "PROCESSORS", group: str = "flowyard.processors") -> EntryPoint:
    return EntryPoint(name="lazy", value=f"{module}:{attribute}", group=group)


def test_a_lazy_mapping_loads_a_class_when_it_is_looked_up(module: str) -> None:
    found = discover_processors({}, entries=[entry(module)])
    plugin = sys.modules[module]
    assert isinstance(found, TypeRegistry)
    assert list(found) == ["Extra", "Broken", "NotAProcessor"] and len(found) == 3 and "Broken" in found
    assert plugin.LOADED == []
    assert found["Extra"] is plugin.Extra and found.get("Extra") is plugin.Extra
    assert plugin.LOADED == ["Extra"]  # once: the class is kept
    assert found.get("Missing") is None and "Missing" not in found


def test_a_lazy_class_that_cannot_be_loaded_names_the_plug_in_and_the_type(module: str) -> None:
    found = discover_processors({}, entries=[entry(module)])
    with pytest.raises(ConfigurationError) as info:
        found["Broken"]
    assert str(info.value) == (f"cannot load entry point lazy ({module}:PROCESSORS)['Broken']: "
                               "ImportError('no module named fy_lazy_absent')")
    with pytest.raises(ConfigurationError) as info:
        found.get("NotAProcessor")
    assert str(info.value) == f"entry point lazy ({module}:PROCESSORS)['NotAProcessor'] is not a Processor class"
    with pytest.raises(ConfigurationError):  # not kept as if it were fine
        found["NotAProcessor"]


def test_controller_services_are_checked_against_their_base(module: str) -> None:
    found = discover_controller_services(entries=[entry(module, "GOOD", "flowyard.controller_services")])
    assert list(found) == ["Extra"]
    with pytest.raises(ConfigurationError, match=r"\['Extra'\] is not a ControllerService class$"):
        found["Extra"]


def test_a_lazy_mapping_named_by_the_environment_is_loaded_at_start(module: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        discover_processors({ENV_MODULES: f"{module}:PROCESSORS"}, entries=[])
    assert str(info.value) == (f"cannot load {module}:PROCESSORS['Broken']: "
                               "ImportError('no module named fy_lazy_absent')")
    found = discover_processors({ENV_MODULES: f"{module}:GOOD"}, entries=[])
    assert sys.modules[module].LOADED[-1:] == ["Extra"] and issubclass(found["Extra"], Processor)


def test_an_eager_definition_replaces_a_lazy_one_with_a_warning(module: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="flowyard.registry")
    found = discover_processors({}, entries=[entry(module, "GOOD"), entry(module, "GOOD")])
    assert caplog.records == [] and list(found) == ["Extra"]  # the same mapping twice
    found = discover_processors({}, entries=[EntryPoint(name="std", value="flowyard.processors:PROCESSORS",
                                                        group="flowyard.processors"), entry(module, "GOOD")])
    assert caplog.records == [] and "PutFile" in found
    sys.modules[module].GOOD.table["PutFile"] = lambda: sys.modules[module].Extra
    found = discover_processors({}, entries=[EntryPoint(name="std", value="flowyard.processors:PROCESSORS",
                                                        group="flowyard.processors"), entry(module, "GOOD")])
    assert [r.getMessage() for r in caplog.records] == [
        f"processor type PutFile from entry point lazy ({module}:GOOD) replaces an earlier definition"]
    assert found["PutFile"] is sys.modules[module].Extra


# Opens a data directory as `flowyard serve` does, for a flow of GenerateFlowFile
# into LogAttribute, and reports which standard processor modules got imported.
_PROBE = """
import json, sys
from pathlib import Path
from flowyard.bootstrap.compose import open_service

service = open_service(Path(sys.argv[1]), initial_flow=Path(sys.argv[2]))
try:
    loaded = sorted(m.rpartition(".")[2] for m in sys.modules if m.startswith("flowyard.processors."))
    named = "PutFile" in service.registry and "RedisConnectionPoolService" in service.service_types
    service.registry["PutFile"]
    print(json.dumps({"loaded": loaded, "named": named,
                      "later": "flowyard.processors.put_file" in sys.modules}))
finally:
    service.close()
"""

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {
    "processors": [
        {"identifier": "gen", "type": "GenerateFlowFile", "scheduledState": "STOPPED"},
        {"identifier": "log", "type": "LogAttribute", "scheduledState": "STOPPED",
         "autoTerminatedRelationships": ["success"]},
    ],
    "connections": [{"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "log"},
                     "selectedRelationships": ["success"]}],
}}


def test_a_start_imports_only_the_processors_its_flow_uses(tmp_path: Path) -> None:
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps(FLOW), encoding="utf-8")
    env = dict(os.environ)
    env.pop(ENV_MODULES, None)
    done = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path / "data"), str(flow)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"generate_flowfile", "log_attribute"} <= set(report["loaded"])
    assert not {"put_file", "execute_sql", "redis_connection_pool", "invoke_http", "query_record",
                "csv_record_services"} & set(report["loaded"]), report["loaded"]
    assert report["named"] is True and report["later"] is True
