"""Secret canary: a sensitive value set through the API never appears in logs,
the flow file, provenance, or any GET response — and still reaches the processor."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path

import httpx
import pytest
import trio

from flowyard.bootstrap.serve import serve
from flowyard.canvas_ui.app import ROUTES

pytestmark = pytest.mark.integration

CANARY = "canary-7f3a91-do-not-leak"
PARAM_CANARY = "canary-parameter-55e1-do-not-leak"
FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "properties": {"Batch Size": "2"}, "schedulingPeriod": "1 min"},
    {"identifier": "held", "type": "LogAttribute", "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success"]},
]}}


async def test_sensitive_values_never_leak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("FLOWYARD_USERNAME", "alice")
    monkeypatch.setenv("FLOWYARD_PASSWORD", "s3cret-pass")
    monkeypatch.setenv("FLOWYARD_PROCESSOR_MODULES", "flowyard_test_processors:PROCESSORS")
    caplog.set_level(logging.DEBUG)
    initial = tmp_path / "initial.json"
    initial.write_text(json.dumps(FLOW))
    out = io.StringIO()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(lambda task_status: serve(tmp_path / "data", port=0, initial_flow=initial,
                                                              out=out, task_status=task_status))
        async with httpx.AsyncClient(base_url=str(binds[0]), timeout=30) as client:
            token = (await client.post("/api/login", json={"username": "alice", "password": "s3cret-pass"})
                     ).json()["token"]
            client.cookies.clear()
            auth = {"Authorization": f"Bearer {token}"}
            stopped = await client.put("/api/processors/gen/run-state", headers=auth, json={"state": "STOPPED"})
            assert stopped.status_code == 200, "until everything is connected"
            created = await client.post("/api/processors", headers=auth, json={
                "identifier": "secret", "type": "Secretive",
                "properties": {"Password": CANARY, "Expected SHA-256": hashlib.sha256(CANARY.encode()).hexdigest()}})
            assert created.status_code == 201 and created.json()["properties"]["password"] == "********"
            for cid, src, dst in (("c1", "gen", "secret"), ("c2", "secret", "held")):
                r = await client.post("/api/connections", headers=auth, json={
                    "identifier": cid, "source": {"id": src}, "destination": {"id": dst},
                    "selectedRelationships": ["success"]})
                assert r.status_code == 201, r.text
            # a sensitive parameter, used through a sensitive property of a processor in a child group
            ctx = await client.post("/api/parameter-contexts", headers=auth, json={
                "identifier": "ctx", "name": "Secrets",
                "parameters": [{"name": "pw", "value": PARAM_CANARY, "sensitive": True}]})
            assert ctx.status_code == 201 and ctx.json()["parameters"][0]["value"] == "********"
            group = await client.post("/api/process-groups", headers=auth, json={
                "identifier": "vault", "name": "Vault", "parameterContext": {"id": "ctx"}})
            assert group.status_code == 201, group.text
            inner = await client.post("/api/processors", headers=auth, json={
                "identifier": "inner", "type": "Secretive", "parentGroupId": "vault", "scheduledState": "RUNNING",
                "properties": {"Password": "#{pw}",
                               "Expected SHA-256": hashlib.sha256(PARAM_CANARY.encode()).hexdigest()}})
            assert inner.status_code == 201, inner.text
            for kind, body in (
                ("input-ports", {"identifier": "vin", "parentGroupId": "vault"}),
                ("processors", {"identifier": "held2", "type": "LogAttribute", "parentGroupId": "vault",
                                "scheduledState": "STOPPED", "autoTerminatedRelationships": ["success"]}),
                ("connections", {"identifier": "v1", "source": {"id": "vin"}, "destination": {"id": "inner"},
                                 "parentGroupId": "vault"}),
                ("connections", {"identifier": "v2", "source": {"id": "inner"}, "destination": {"id": "held2"},
                                 "selectedRelationships": ["success"], "parentGroupId": "vault"}),
                ("connections", {"identifier": "v0", "source": {"id": "gen"}, "destination": {"id": "vin"},
                                 "selectedRelationships": ["success"]}),
            ):
                r = await client.post(f"/api/{kind}", headers=auth, json=body)
                assert r.status_code == 201, r.text
            for pid in ("secret", "gen"):  # valid now that they are connected
                started = await client.put(f"/api/processors/{pid}/run-state", headers=auth, json={"state": "RUNNING"})
                assert started.status_code == 200, started.text
            with trio.fail_after(30):
                while not (listing := (await client.get("/api/connections/c2/flowfiles", headers=auth)).json()):
                    await trio.sleep(0.05)
            assert listing[0]["attributes"]["password.ok"] == "true", "the processor got the real value"
            with trio.fail_after(30):
                while not (inner_listing := (await client.get("/api/connections/v2/flowfiles", headers=auth)).json()):
                    await trio.sleep(0.05)
            assert inner_listing[0]["attributes"]["password.ok"] == "true", "the sensitive parameter reached it"
            # an update that sends the mask back keeps the value
            current = (await client.get("/api/processors/secret", headers=auth)).json()
            kept = await client.put("/api/processors/secret", headers=auth, json={
                "revision": current["revision"], "properties": current["properties"], "comments": "touched"})
            assert kept.status_code == 200
            bodies = [(path, (await client.get(path, headers=auth)).text) for path in (
                "/api/parameter-contexts/ctx", "/api/process-groups/vault", "/api/process-groups/vault/export")]
            for route in ROUTES:
                if route.method != "GET" or "stream" in route.path:
                    continue
                path = (route.path.replace("{component_id}", "secret").replace("{connection_id}", "c2")
                        .replace("{event_id}", "1").replace("{flowfile_uuid}", listing[0]["uuid"]))
                if path.endswith("/content"):
                    continue
                bodies.append((path, (await client.get(path, headers=auth)).text))
            search = await client.get("/api/provenance?limit=1000", headers=auth)
            for event in search.json():
                bodies.append(("event", (await client.get(f"/api/provenance/events/{event['eventId']}",
                                                          headers=auth)).text))
        nursery.cancel_scope.cancel()
    for canary in (CANARY, PARAM_CANARY):
        for path, body in bodies:
            assert canary not in body, f"leaked by GET {path}"
        flow_file = (tmp_path / "data" / "flow.json").read_text()
        assert canary not in flow_file and "enc:v1:" in flow_file
        assert canary not in out.getvalue()
        assert canary not in caplog.text
        for path in (tmp_path / "data").rglob("*"):  # flow file, credentials, key, RocksDB files and logs
            if path.is_file():
                assert canary.encode() not in path.read_bytes(), path
