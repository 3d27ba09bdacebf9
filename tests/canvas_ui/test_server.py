"""``flowyard serve`` against a real server on port 0: health, login, auth,
reading the flow and the catalogues, changing a run state."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from flowyard.bootstrap.serve import serve

pytestmark = pytest.mark.integration

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "properties": {"Batch Size": "5"},
     "schedulingPeriod": "1 sec", "scheduledState": "STOPPED", "autoTerminatedRelationships": ["success"]},
]}}


async def start(tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FLOWYARD_USERNAME", "alice")
    monkeypatch.setenv("FLOWYARD_PASSWORD", "s3cret-pass")
    flow = tmp_path / "initial.json"
    flow.write_text(json.dumps(FLOW))
    binds = await nursery.start(lambda task_status: serve(tmp_path / "data", port=0, initial_flow=flow,
                                                          out=io.StringIO(), task_status=task_status))
    return str(binds[0])


async def test_health_login_and_authenticated_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with trio.open_nursery() as nursery:
        url = await start(tmp_path, nursery, monkeypatch)
        async with httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/api/health")).json() == {"status": "ok"}
            for path in ("/api/flow", "/api/status", "/api/processor-types", "/api/expression-functions",
                         "/api/bulletins"):
                assert (await client.get(path)).status_code == 401, path
            assert (await client.post("/api/login", json={"username": "alice", "password": "nope"})).status_code == 401
            assert (await client.post("/api/login", content=b"not json")).status_code == 415, "JSON only"
            bad = await client.post("/api/login", content=b"not json", headers={"content-type": "application/json"})
            assert bad.status_code == 400
            login = await client.post("/api/login", json={"username": "alice", "password": "s3cret-pass"})
            assert login.status_code == 200
            token = login.json()["token"]
            bearer = {"Authorization": f"Bearer {token}"}
            flow = (await client.get("/api/flow", headers=bearer)).json()
            [gen] = flow["rootGroup"]["processors"]
            assert gen["runState"] == "STOPPED" and gen["validationErrors"] == []
            types = {t["type"]: t for t in (await client.get("/api/processor-types", headers=bearer)).json()}
            assert "GenerateFlowFile" in types and types["PutFile"]["relationships"]
            names = {f["name"] for f in (await client.get("/api/expression-functions", headers=bearer)).json()}
            assert {"substringBeforeLast", "toUpper", "jsonPath"} <= names
            bad = {"Authorization": "Bearer forged"}
            assert (await client.get("/api/flow", headers=bad)).status_code == 401
        nursery.cancel_scope.cancel()


async def test_run_state_changes_are_applied_and_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with trio.open_nursery() as nursery:
        url = await start(tmp_path, nursery, monkeypatch)
        async with httpx.AsyncClient(base_url=url) as client:
            login = (await client.post("/api/login", json={"username": "alice", "password": "s3cret-pass"})).json()
            bearer = {"Authorization": f"Bearer {login['token']}"}
            r = await client.put("/api/processors/gen/run-state", json={"state": "RUNNING"}, headers=bearer)
            assert r.status_code == 200
            with trio.fail_after(30):
                while (await client.get("/api/status", headers=bearer)).json()["processors"]["gen"]["removed"] < 5:
                    await trio.sleep(0.05)
            saved = json.loads((tmp_path / "data" / "flow.json").read_text())
            assert saved["rootGroup"]["processors"][0]["scheduledState"] == "RUNNING"
            missing = await client.put("/api/processors/nope/run-state", json={"state": "RUNNING"}, headers=bearer)
            assert missing.status_code == 404
            odd = await client.put("/api/processors/gen/run-state", json={"state": "SIDEWAYS"}, headers=bearer)
            assert odd.status_code == 400 and "unknown run state" in odd.json()["error"]
            # cookie sessions must send the CSRF token on state-changing requests
            cookie_client = httpx.AsyncClient(base_url=url)
            async with cookie_client:
                session = (await cookie_client.post(
                    "/api/login", json={"username": "alice", "password": "s3cret-pass"})).json()
                assert (await cookie_client.get("/api/flow")).status_code == 200
                refused = await cookie_client.put("/api/processors/gen/run-state", json={"state": "STOPPED"})
                assert refused.status_code == 403
                allowed = await cookie_client.put("/api/processors/gen/run-state", json={"state": "STOPPED"},
                                                  headers={"X-CSRF-Token": session["csrfToken"]})
                assert allowed.status_code == 200
        nursery.cancel_scope.cancel()


def test_credentials_are_stored_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowyard.canvas_ui.auth import AuthManager

    monkeypatch.delenv("FLOWYARD_USERNAME", raising=False)
    monkeypatch.delenv("FLOWYARD_PASSWORD", raising=False)
    auth = AuthManager(tmp_path)
    password = auth.generated_password
    assert password and auth.username == "admin"
    stored: dict[str, Any] = json.loads((tmp_path / "credentials.json").read_text())
    assert password not in json.dumps(stored) and stored["password_hash"].startswith("$argon2")
    assert oct((tmp_path / "credentials.json").stat().st_mode & 0o777) == "0o600"
    again = AuthManager(tmp_path)
    assert again.generated_password is None and again.login("admin", password) is not None
    assert again.login("admin", "wrong") is None


def test_cli_serve_prints_url_and_stops_cleanly(tmp_path: Path) -> None:
    import os
    import re
    import signal
    import subprocess
    import sys

    from engine_process import wait_until

    env = {**os.environ, "FLOWYARD_USERNAME": "alice", "FLOWYARD_PASSWORD": "s3cret-pass"}
    command = [sys.executable, "-m", "flowyard.bootstrap.cli", "serve", "--data-dir", str(tmp_path / "d"),
               "--port", "0"]
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        def serving() -> bool:
            assert proc.poll() is None, f"serve exited with {proc.returncode}:\n{log.read_text()}"
            return "log in as 'alice'" in log.read_text()

        wait_until(serving, timeout=60, what="serve to print its URL and login")
        m = re.search(r"serving (http://127\.0\.0\.1:\d+) ", log.read_text())
        assert m is not None, log.read_text()
        assert httpx.get(f"{m.group(1)}/api/health", timeout=10).json() == {"status": "ok"}
        second = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
        assert second.returncode == 2 and "already in use" in second.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "stopped cleanly" in log.read_text()


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_every_option_of_serve_and_demo_is_documented(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from flowyard.bootstrap.cli import _parser, main

    [subparsers] = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    options = [a for a in subparsers.choices[command]._actions if a.option_strings and a.dest != "help"]
    assert options and all(a.help and len(a.help) > 20 for a in options), [a.dest for a in options if not a.help]
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert all(a.option_strings[0] in text for a in options)
    expected = {"serve": ["--data-dir DIR", "(default: data)", "--flow FLOW.json", "--host ADDRESS",
                          "(default: 127.0.0.1", "(default: 8080;", "--durability {os,sync}", "--certfile CERT.pem",
                          "needs --keyfile", "--keyfile KEY.pem", "unencrypted", "exit status"],
                "demo": ["(default: data/demo,", "data/demo-connectors with --flow connectors", "(default: 8080;",
                         "--headless", "127.0.0.1", "--flow {standard,connectors}"]}[command]
    assert [e for e in expected if e not in text] == []


@pytest.mark.parametrize(("password", "code"), [("long-enough-pass", 0), ("short", 2)])
def test_set_credentials_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, password: str, code: int) -> None:
    import subprocess
    import sys

    from flowyard.canvas_ui.auth import AuthManager

    monkeypatch.delenv("FLOWYARD_USERNAME", raising=False)
    monkeypatch.delenv("FLOWYARD_PASSWORD", raising=False)
    result = subprocess.run([sys.executable, "-m", "flowyard.bootstrap.cli", "set-credentials", "--data-dir",
                             str(tmp_path), "--username", "bob"], input=password + "\n", capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == code, result.stderr
    if code == 0:
        auth = AuthManager(tmp_path)
        assert auth.username == "bob" and auth.login("bob", password) is not None
        assert password not in (tmp_path / "credentials.json").read_text()
    else:
        assert "at least 8 characters" in result.stderr and not (tmp_path / "credentials.json").exists()
