"""What ``flowyard serve`` loads before it answers: not the client libraries that
only some processors need.

The standard catalogue is lazy: a start imports a processor module only when
its flow uses the type, but the canvas's palette (``GET /api/processor-types``)
soon imports every one to list its spec. A processor module imports its broker
client, database driver or format library in the function that uses it (when
the processor or service is scheduled, enabled or first triggered), so neither
pays for them. A module-level ``import redis`` in a processor module would bring
~0.1 s back; this test loads every type, as the palette does, and names the
module that did. Startup time itself is measured by
``bench/bench_api.py`` (``serve_ready``), not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flowyard.bootstrap.compose import Options, build
from flowyard.canvas_ui.auth import CREDENTIALS_FILE, store_credentials
from flowyard.runtime.sdk import FlowDefinitionError

# Libraries the serve path must not load (each is a processor's or service's own).
HEAVY = ("redis", "nats", "jsonschema", "referencing", "duckdb", "pyarrow", "fastavro", "httpx", "pika", "paho",
         "puremagic", "cramjam", "smtplib", "psycopg", "pymysql")

# Opens a data directory the way `flowyard serve` does (the command line's modules,
# the catalogue, the service and the web app), without listening, and reports which
# of HEAVY got loaded and, for each, the flowyard module that imported it first.
_PROBE = """
import json, sys, traceback
from pathlib import Path
from typing import Any

heavy = set(sys.argv[2].split(","))
first = {}

class Watch:
    def find_spec(self, name, path=None, target=None):
        root = name.partition(".")[0]
        if root in heavy and root not in first:
            frames = [f"{f.filename}:{f.lineno}" for f in traceback.extract_stack() if "flowyard" in f.filename
                      or "/processors/" in f.filename or "/bootstrap/" in f.filename]
            first[root] = frames[-1] if frames else "?"
        return None

sys.meta_path.insert(0, Watch())
import flowyard.bootstrap.cli
import flowyard.bootstrap.serve
from flowyard.bootstrap.compose import build

with build(Path(sys.argv[1])) as app:
    assert "UpdateAttribute" in app.service.registry and "PutRedisHashRecord" in app.service.registry
    for types in (app.service.registry, app.service.service_types):
        for name in types:
            types[name]  # as the palette lists them: every module imported
    loaded = sorted(m for m in heavy if m in sys.modules)
print(json.dumps({m: first.get(m, "?") for m in loaded}))
"""


def test_serving_a_data_directory_loads_no_processor_client_library(tmp_path: Path) -> None:
    env = {**os.environ, "FLOWYARD_USERNAME": "probe", "FLOWYARD_PASSWORD": "probe-password"}
    env.pop("FLOWYARD_PROCESSOR_MODULES", None)
    done = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path / "data"), ",".join(HEAVY)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == {}, f"loaded at start (module: first importer): {loaded}"


def test_the_probe_sees_a_library_that_is_loaded(tmp_path: Path) -> None:
    """The check above can fail: a library imported on the way is reported."""
    env = {**os.environ, "FLOWYARD_USERNAME": "probe", "FLOWYARD_PASSWORD": "probe-password"}
    env.pop("FLOWYARD_PROCESSOR_MODULES", None)
    probe = _PROBE.replace("import flowyard.bootstrap.cli\n", "import flowyard.bootstrap.cli\nimport redis\n")
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "data"), "redis,pika"],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert list(json.loads(done.stdout.strip().splitlines()[-1])) == ["redis"]


def _unknown_type_flow(tmp_path: Path) -> Path:
    flow = tmp_path / "flow-in.json"
    flow.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [{"identifier": "p", "type": "NoSuchType", "properties": {}}], "connections": []}}))
    return flow


def test_a_start_refused_once_the_directory_is_locked_leaves_no_credentials(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The credentials are set up on a thread while the service is built; a start the
    service refuses takes back the password generated for it (nobody saw it)."""
    monkeypatch.delenv("FLOWYARD_USERNAME", raising=False)
    monkeypatch.delenv("FLOWYARD_PASSWORD", raising=False)
    data = tmp_path / "data"
    with pytest.raises(FlowDefinitionError, match="NoSuchType"):
        build(data, Options(initial_flow=_unknown_type_flow(tmp_path)))
    assert (data / "repository").is_dir()  # refused after the lock was taken
    assert not (data / CREDENTIALS_FILE).exists()


def test_a_refused_start_keeps_the_stored_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    store_credentials(data, "keeper", "the-stored-password")
    before = (data / CREDENTIALS_FILE).read_bytes()
    monkeypatch.setenv("FLOWYARD_USERNAME", "other")
    monkeypatch.setenv("FLOWYARD_PASSWORD", "another-password")
    with pytest.raises(FlowDefinitionError, match="NoSuchType"):
        build(data, Options(initial_flow=_unknown_type_flow(tmp_path)))
    assert (data / CREDENTIALS_FILE).read_bytes() == before
    assert (data / CREDENTIALS_FILE).stat().st_mode & 0o777 == 0o600


def test_a_start_sets_the_credentials_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWYARD_USERNAME", "env-user")
    monkeypatch.setenv("FLOWYARD_PASSWORD", "env-password")
    with build(tmp_path / "data") as app:
        assert app.auth.username == "env-user"
        assert app.auth.login("env-user", "env-password") is not None
        assert "FLOWYARD_PASSWORD" not in os.environ


# Loaded on first use, not by a start: the cron library (the first cron-driven
# processor), the Expression Language's function families (the first expression
# that calls a function), networkx (the first provenance lineage), the edit
# commands and what works on them, and the engine's reconciliation (the first edit).
LAZY = ("croniter", "dateutil", "networkx", "flowyard.runtime.expression._builtins",
        "flowyard.runtime.flow._edits_model", "flowyard.runtime.flow._edits_apply",
        "flowyard.runtime.flow._edits_validate", "flowyard.runtime.engine._reconcile")

# Opens a data directory as `flowyard serve` does, with the flow file argv[2] ("-": none),
# and reports which of argv[3] got loaded.
_LAZY_PROBE = """
import json, sys
from pathlib import Path
from typing import Any

import flowyard.bootstrap.cli
import flowyard.bootstrap.serve
from flowyard.bootstrap.compose import Options, build

flow = None if sys.argv[2] == "-" else Path(sys.argv[2])
with build(Path(sys.argv[1]), Options(initial_flow=flow)):
    print(json.dumps([m for m in sys.argv[3].split(",") if m in sys.modules]))
"""


def _loaded_at_start(tmp_path: Path, flow: Path | None) -> list[str]:
    env = {**os.environ, "FLOWYARD_USERNAME": "probe", "FLOWYARD_PASSWORD": "probe-password"}
    done = subprocess.run([sys.executable, "-c", _LAZY_PROBE, str(tmp_path / "data"), str(flow or "-"), ",".join(LAZY)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_a_start_loads_the_cron_library_and_el_functions_only_for_a_flow_that_uses_them(tmp_path: Path) -> None:
    assert _loaded_at_start(tmp_path, None) == []


def test_the_lazy_probe_sees_what_a_flow_uses(tmp_path: Path) -> None:
    """The check above can fail: a cron-driven processor whose property calls an EL
    function loads croniter and the function families at start."""
    flow = tmp_path / "flow-in.json"
    flow.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": {"processors": [
        {"identifier": "p", "type": "UpdateAttribute", "schedulingStrategy": "CRON_DRIVEN",
         "schedulingPeriod": "0 */5 * * * ?", "properties": {"upper": "${filename:toUpper()}"}}],
        "connections": []}}))
    assert set(_loaded_at_start(tmp_path, flow)) >= {"croniter", "flowyard.runtime.expression._builtins"}


def test_the_edit_commands_and_the_reconciliation_load_with_their_first_use() -> None:
    """``flow.edits`` and ``engine`` hand them out on first use (the probes above
    would not see an edit load them: a start makes none)."""
    code = ("import json, sys\n"
            "import flowyard.runtime.engine as engine, flowyard.runtime.flow.edits as edits\n"
            "watched = ('flowyard.runtime.flow._edits_model', 'flowyard.runtime.engine._reconcile')\n"
            "before = [m for m in watched if m in sys.modules]\n"
            "assert edits.Batch.__name__ == 'Batch' and engine.plan.__name__ == 'plan'\n"
            "print(json.dumps([before, [m for m in watched if m in sys.modules]]))\n")
    before, after = _probe(code)
    assert before == []
    assert after == ["flowyard.runtime.flow._edits_model", "flowyard.runtime.engine._reconcile"]


def test_the_command_line_is_parsed_before_the_engine_and_the_web_stack_load() -> None:
    """A first start hashes its generated password once the command line is parsed:
    the engine and the web stack load after that, overlapping the hashing."""
    code = ("import json, sys\n"
            "from flowyard.bootstrap.cli import _parser\n"
            "_parser().parse_args(['serve', '--port', '0'])\n"
            "watched = ('flowyard.runtime.engine._engine', 'flowyard.runtime.service', 'hypercorn', 'starlette')\n"
            "print(json.dumps([m for m in watched if m in sys.modules]))\n")
    assert _probe(code) == []


def _probe(code: str) -> Any:
    """What ``code``, run in a new interpreter, prints as JSON (it must succeed)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
