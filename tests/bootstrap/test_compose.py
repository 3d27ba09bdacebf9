"""The composition root: the installed ``flowyard`` script reaches ``bootstrap.cli``,
``compose.build`` opens a data directory into a working web app, ``compose.open_engine``
builds the engine ``flowyard run`` runs, and both give the data directory back."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import pytest
import trio

from flowyard.bootstrap import cli
from flowyard.bootstrap.compose import Options, build, open_engine
from flowyard.bootstrap.serve import serve
from flowyard.runtime.sdk import ConfigurationError, DataDirectoryInUseError, FlowDefinitionError

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "properties": {"Batch Size": "5"},
     "schedulingPeriod": "1 sec", "scheduledState": "STOPPED", "autoTerminatedRelationships": ["success"]},
]}}


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "initial.json"
    path.write_text(json.dumps(FLOW), encoding="utf-8")
    return path


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.setenv("FLOWYARD_USERNAME", "alice")
    monkeypatch.setenv("FLOWYARD_PASSWORD", "s3cret-pass")
    return "alice", "s3cret-pass"


@pytest.mark.integration
def test_the_installed_console_script_runs_the_bootstrap_cli() -> None:
    [script] = [e for e in entry_points(group="console_scripts") if e.name == "flowyard"]
    assert script.value == "flowyard.bootstrap.cli:main"
    installed = Path(sys.executable).parent / "flowyard"
    assert installed.is_file(), f"{installed} missing: reinstall the package (pip install -e .)"
    result = subprocess.run([str(installed), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "{run,demo,serve,cluster-secret,repair,set-credentials,el}" in result.stdout
    served = subprocess.run([str(installed), "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert served.returncode == 0 and "--allowed-host" in served.stdout, served.stderr


def test_options_are_keyword_arguments_of_serve() -> None:
    """``cli`` hands ``Options.serve_arguments()`` to ``bootstrap.serve.serve``: every key must be one of its
    keyword parameters, or the command fails only when it starts."""
    parameters = inspect.signature(serve).parameters
    arguments = Options().serve_arguments()
    assert set(arguments) <= {name for name, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert {name for name in arguments if parameters[name].default != arguments[name]} == {"engine_options"}


def test_serve_options_follow_the_command_line(tmp_path: Path) -> None:
    args = cli._parser().parse_args(["serve", "--data-dir", str(tmp_path), "--flow", "f.json", "--host", "0.0.0.0",
                                     "--durability", "sync", "--allowed-host", "flows.example",
                                     "--provenance-max-events", "7"])
    chosen = cli.serve_options(args)
    assert (chosen.initial_flow, chosen.durability, chosen.host, chosen.allowed_hosts) == (
        Path("f.json"), "sync", "0.0.0.0", ("flows.example",))
    assert chosen.engine_options["provenance_max_events"] == 7 and chosen.engine_options["freeze_heap"] is True


async def test_build_opens_a_data_directory_into_a_web_app(tmp_path: Path, flow_file: Path,
                                                          credentials: tuple[str, str]) -> None:
    data = tmp_path / "data"
    chosen = Options(initial_flow=flow_file, engine_options={"provenance_max_events": 9},
                     allowed_hosts=("flows.example",))
    with build(data, chosen) as app:
        assert (data / "flow.json").is_file() and app.data_dir == data
        assert app.service.engine.provenance_max_events == 9
        assert "GenerateFlowFile" in app.service.registry and app.auth.username == "alice"
        transport = httpx.ASGITransport(app=app.web)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            with trio.fail_after(30):
                assert (await client.get("/api/health")).json() == {"status": "ok"}
                assert (await client.get("/api/flow")).status_code == 401
                login = await client.post("/api/login", json=dict(zip(("username", "password"), credentials,
                                                                      strict=True)))
                assert login.status_code == 200, login.text
                bearer = {"Authorization": f"Bearer {login.json()['token']}"}
                flow = (await client.get("/api/flow", headers=bearer)).json()
                assert [p["identifier"] for p in flow["rootGroup"]["processors"]] == ["gen"]
                # The app answers to the host names of the options, and to no other.
                assert (await client.get("/api/health", headers={"Host": "flows.example"})).status_code == 200
                foreign = await client.get("/api/health", headers={"Host": "evil.example"})
                assert foreign.status_code == 421, foreign.text
        with pytest.raises(DataDirectoryInUseError):
            build(data)
    with build(data) as again:  # closed: the directory is free, and its flow is the one saved
        assert [p.identifier for p in again.service.flow.processors] == ["gen"]


def test_build_refuses_bad_tls_files_before_opening_the_directory(tmp_path: Path, credentials: tuple[str, str]) -> None:
    data = tmp_path / "data"
    with pytest.raises(ConfigurationError):
        build(data, Options(certfile=tmp_path / "missing.pem", keyfile=tmp_path / "missing-key.pem"))
    assert not (data / "repository").exists()


def test_open_engine_builds_the_run_engine_and_gives_the_directory_back(tmp_path: Path, flow_file: Path) -> None:
    data = tmp_path / "data"
    before = flow_file.read_bytes()
    with open_engine(flow_file, data, engine_options={"freeze_heap": True}) as engine:
        assert set(engine.nodes) == {"gen"} and engine.nodes["gen"].is_valid
        assert engine.freeze_heap is True
        with pytest.raises(DataDirectoryInUseError), open_engine(flow_file, data):
            pass
    with open_engine(flow_file, data) as engine:  # the repositories were closed
        assert engine.freeze_heap is False
    assert flow_file.read_bytes() == before and not (data / "flow.json").exists()


def test_open_engine_refuses_a_bad_flow_before_touching_the_directory(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(FlowDefinitionError), open_engine(bad, tmp_path / "data"):
        pass
    assert not (tmp_path / "data").exists()


def test_the_command_loads_the_web_stack_only_to_serve() -> None:
    """``flowyard run`` and ``flowyard el`` start without starlette and hypercorn (memory, start-up time)."""
    code = ("import sys; import flowyard.bootstrap.cli, flowyard.bootstrap.headless; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'starlette', 'hypercorn', 'argon2'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
