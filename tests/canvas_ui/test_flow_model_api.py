"""The complete flow model over HTTP against a real server on port 0: every
component kind's resources with their error paths (404 unknown id, 400 naming
the field, 409 stale revision), run state per group and selection, controller
service state, export/import, and the status stream of one process group."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio
from served_api import served_api

from flowyard.canvas_ui.app import PLURALS

pytestmark = pytest.mark.integration

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "properties": {"Batch Size": "3", "File Size": "2 B"},
     "schedulingPeriod": "1 min"},
]}}


@pytest.fixture
async def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Any, dict[str, str]]]:
    async with served_api(tmp_path, monkeypatch, FLOW) as served:
        yield served


async def post(client: Any, auth: dict[str, str], path: str, body: dict[str, Any], status: int = 201) -> Any:
    response = await client.post(path, json=body, headers=auth)
    assert response.status_code == status, response.text
    return response.json()


async def test_build_a_group_with_ports_and_run_it(api: Any) -> None:
    client, auth = api
    group = await post(client, auth, "/api/process-groups", {"name": "Sink", "position": {"x": 400, "y": 0}})
    gid = group["identifier"]
    assert (group["parentGroupId"], group["revision"], group["runningCount"]) == ("root", 0, 0)
    port = await post(client, auth, "/api/input-ports", {"name": "In", "parentGroupId": gid})
    log = await post(client, auth, "/api/processors", {"type": "LogAttribute", "parentGroupId": gid,
                                                       "autoTerminatedRelationships": ["success"],
                                                       "scheduledState": "STOPPED"})
    inner = await post(client, auth, "/api/connections", {"source": {"id": port["identifier"]},
                                                           "destination": {"id": log["identifier"]},
                                                           "parentGroupId": gid})
    outer = await post(client, auth, "/api/connections", {"source": {"id": "gen"},
                                                           "destination": {"id": port["identifier"]},
                                                           "selectedRelationships": ["success"]})
    assert outer["parentGroupId"] == "root" and inner["parentGroupId"] == gid
    await post(client, auth, "/api/labels", {"label": "Logs everything", "parentGroupId": gid})
    await post(client, auth, "/api/funnels", {"position": {"x": 9, "y": 9}})
    with trio.fail_after(30):
        while (await client.get(f"/api/connections/{inner['identifier']}", headers=auth)).json()["queuedCount"] < 3:
            await trio.sleep(0.05)
    started = await client.put(f"/api/process-groups/{gid}/run-state", json={"state": "RUNNING"}, headers=auth)
    assert started.status_code == 200 and log["identifier"] in started.json()["changed"]
    with trio.fail_after(30):
        while (await client.get(f"/api/connections/{inner['identifier']}", headers=auth)).json()["queuedCount"]:
            await trio.sleep(0.05)
    flow = (await client.get("/api/flow", headers=auth)).json()
    sink = flow["rootGroup"]["processGroups"][0]
    assert sink["labels"][0]["label"] == "Logs everything" and sink["runningCount"] == 1
    stats = (await client.get(f"/api/process-groups/{gid}/statistics", headers=auth)).json()
    assert stats["id"] == gid and stats["processors"]["count"] == 2 and stats["connections"]["count"] == 1


@pytest.mark.parametrize("plural", sorted(PLURALS.values()))
async def test_unknown_ids_are_404_for_every_kind(api: Any, plural: str) -> None:
    client, auth = api
    for response in (await client.get(f"/api/{plural}/nope", headers=auth),
                     await client.put(f"/api/{plural}/nope", json={"revision": 0}, headers=auth),
                     await client.delete(f"/api/{plural}/nope?revision=0", headers=auth)):
        assert response.status_code == 404, (plural, response.text)
        assert "'nope'" in response.json()["error"]


async def test_errors_name_the_field_and_stale_revisions_conflict(api: Any) -> None:
    client, auth = api
    bad = await client.post("/api/labels", json={"width": -1}, headers=auth)
    assert bad.status_code == 400 and bad.json()["errors"] == [
        {"field": "width", "message": "must be a positive number up to 1e+09, found -1"}]
    bad = await client.post("/api/parameter-contexts", json={"name": "p", "parameters": [{"name": "a/b"}]},
                            headers=auth)
    assert bad.status_code == 400 and "parameters[0].name" in bad.json()["error"]
    bad = await client.post("/api/controller-services", json={"type": "NoSuchService"}, headers=auth)
    assert bad.status_code == 400 and "unknown controller service type 'NoSuchService'" in bad.json()["error"]
    port = await post(client, auth, "/api/output-ports", {"name": "Out"})
    pid = port["identifier"]
    renamed = await client.put(f"/api/output-ports/{pid}", json={"revision": 0, "name": "Result"}, headers=auth)
    assert renamed.status_code == 200 and renamed.json()["revision"] == 1
    stale = await client.put(f"/api/output-ports/{pid}", json={"revision": 0, "name": "Again"}, headers=auth)
    assert stale.status_code == 409 and stale.json()["current"]["name"] == "Result"
    wrong_kind = await client.get(f"/api/labels/{pid}", headers=auth)
    assert wrong_kind.status_code == 404


async def test_controller_service_state_and_types(api: Any) -> None:
    client, auth = api
    types = (await client.get("/api/controller-service-types", headers=auth)).json()
    assert {"SimpleKeyValueLookupService", "LocalMapCacheService"} <= {t["type"] for t in types}
    svc = await post(client, auth, "/api/controller-services",
                     {"type": "SimpleKeyValueLookupService", "properties": {"k": "v"}})
    assert svc["state"] == "DISABLED" and svc["provides"]
    url = f"/api/controller-services/{svc['identifier']}/state"
    enabled = await client.put(url, json={"state": "ENABLED"}, headers=auth)
    assert enabled.status_code == 200 and enabled.json()["state"] == "ENABLED"
    bad = await client.put(url, json={"state": "RUNNING"}, headers=auth)
    assert bad.status_code == 400 and "ENABLED or DISABLED" in bad.json()["error"]


async def test_selection_run_state_export_import_and_group_stream(api: Any) -> None:
    client, auth = api
    group = await post(client, auth, "/api/process-groups", {"name": "Copy me"})
    await post(client, auth, "/api/processors", {"type": "LogAttribute", "parentGroupId": group["identifier"],
                                                 "scheduledState": "STOPPED"})
    result = (await client.put("/api/run-state", json={"ids": ["gen", "nope"], "state": "STOPPED"},
                               headers=auth)).json()
    assert result["changed"] == ["gen"] and "nope" in result["failed"]
    exported = await client.get(f"/api/process-groups/{group['identifier']}/export", headers=auth)
    assert exported.headers["content-disposition"] == 'attachment; filename="Copy_me.json"'
    copy = await post(client, auth, "/api/process-groups/root/import",
                      {"flow": exported.json(), "position": {"x": 0, "y": 300}})
    assert copy["name"] == "Copy me" and copy["identifier"] != group["identifier"]
    assert (await client.post("/api/process-groups/root/import", json={"flow": {"rootGroup": {}}},
                              headers=auth)).status_code == 400
    assert (await client.get("/api/status/stream?group=nope", headers=auth)).status_code == 404
    snapshot: list[Any] = []

    async def first_event(cancel: trio.CancelScope) -> None:
        async with client.stream("GET", "/api/status/stream?group=root", headers=auth) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data:"):
                    snapshot.append(json.loads(line[5:]))
                    cancel.cancel()

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(first_event, nursery.cancel_scope)
    components = snapshot[0]["components"]
    assert components[copy["identifier"]]["kind"] == "process-group"
    assert components[copy["identifier"]]["invalidCount"] == 1, "its LogAttribute has success unrouted"
    assert "gen" in components and not any(c.get("kind") == "processor" and cid != "gen"
                                           for cid, c in components.items())


async def test_the_login_page_and_assets_are_public_and_the_api_is_not(api: Any) -> None:
    client, _ = api
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="login"' in page.text or "<div id=" in page.text
    assert (await client.get("/login")).status_code == 200
    assert (await client.get("/assets/missing.js")).status_code == 404, "public, and simply not there"
    assert (await client.get("/api/flow")).status_code == 401
    assert (await client.get("/metrics")).status_code == 401, "outside /api, but not a page"
    assert (await client.get("/api/anything")).status_code == 401, "an unknown API path is not a page"
    deep = await client.get("/process-groups/some-group")
    assert deep.status_code == 200 and deep.headers["content-type"].startswith("text/html"), "deep links: the canvas"


async def test_session_survives_a_reload_and_logout_ends_it(api: Any) -> None:
    client, _ = api
    login = (await client.post("/api/login", json={"username": "alice", "password": "s3cret-pass"})).json()
    session = (await client.get("/api/session")).json()  # with the cookie only, as a reloaded page
    assert session == {"username": "alice", "csrfToken": login["csrfToken"]}
    refused = await client.post("/api/logout")
    assert refused.status_code == 403, "the cookie alone cannot log out (CSRF)"
    out = await client.post("/api/logout", headers={"X-CSRF-Token": session["csrfToken"]})
    assert out.status_code == 200
    assert (await client.get("/api/flow")).status_code == 401
    assert (await client.get("/api/flow", headers={"Authorization": f"Bearer {login['token']}"})).status_code == 401
