"""Every route of the API: the auth matrix walks the OpenAPI description, and
each route is exercised with its error paths against a real server on port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio
from served_api import served_api

from flowyard.canvas_ui.app import ROUTES, openapi_document

pytestmark = pytest.mark.integration

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "properties": {"Batch Size": "7", "File Size": "3 B"},
     "schedulingPeriod": "1 min"},
    {"identifier": "held", "type": "LogAttribute", "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success"]},
    {"identifier": "bad", "type": "PutFile", "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success", "failure"]},
], "connections": [{"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "held"},
                    "selectedRelationships": ["success"]}]}}


@pytest.fixture
async def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Any, dict[str, str]]]:
    async with served_api(tmp_path, monkeypatch, FLOW) as served:
        yield served


def _concrete(path: str) -> str:
    return path.replace("{component_id}", "gen").replace("{connection_id}", "c1")


async def test_auth_matrix_every_non_public_route_answers_401(api: Any) -> None:
    client, _ = api
    doc = (await client.get("/api/openapi.json")).json()
    assert doc == openapi_document()
    operations = [(method.upper(), path, op) for path, ops in doc["paths"].items() for method, op in ops.items()]
    assert {(m, p) for m, p, _ in operations} == {(r.method, r.path) for r in ROUTES}, "the matrix covers every route"
    public = {("GET", "/api/health"), ("GET", "/api/openapi.json"), ("POST", "/api/login")}
    assert {(m, p) for m, p, op in operations if "security" not in op} == public
    for method, path, _ in operations:
        if (method, path) in public:
            continue
        response = await client.request(method, _concrete(path), json={})
        assert response.status_code == 401, (method, path, response.status_code)
        forged = await client.request(method, _concrete(path), json={}, headers={"Authorization": "Bearer x"})
        assert forged.status_code == 401, (method, path)


async def test_queue_listing_and_emptying(api: Any) -> None:
    client, auth = api
    with trio.fail_after(30):
        while not (listing := (await client.get("/api/connections/c1/flowfiles", headers=auth)).json()):
            await trio.sleep(0.05)
    assert len(listing) == 7 and all(item["size"] == 3 for item in listing)
    assert {"uuid", "filename", "attributes", "entryDate", "penalized"} <= set(listing[0])
    assert (await client.get("/api/connections/nope/flowfiles", headers=auth)).status_code == 404
    dropped = await client.delete("/api/connections/c1/flowfiles", headers=auth)
    assert dropped.json() == {"dropped": 7}
    assert (await client.get("/api/connections/c1/flowfiles", headers=auth)).json() == []
    assert (await client.delete("/api/connections/nope/flowfiles", headers=auth)).status_code == 404


async def test_flowfile_content_view_and_download(api: Any) -> None:
    client, auth = api
    with trio.fail_after(30):
        while not (listing := (await client.get("/api/connections/c1/flowfiles", headers=auth)).json()):
            await trio.sleep(0.05)
    first = listing[0]
    url = f"/api/connections/c1/flowfiles/{first['uuid']}/content"
    view = await client.get(url, headers=auth)
    assert view.status_code == 200, view.text
    assert len(view.content) == first["size"] == 3
    assert view.headers["content-type"].startswith("application/octet-stream")
    assert view.headers["content-disposition"].startswith("attachment"), "only a few safe types show inline"
    assert view.headers["content-security-policy"].startswith("sandbox")
    download = await client.get(url + "?download=true", headers=auth)
    assert download.headers["content-disposition"] == f'attachment; filename="{first["filename"]}"'
    assert download.content == view.content
    assert (await client.get("/api/connections/c1/flowfiles/nope/content", headers=auth)).status_code == 404


async def test_metrics_and_bulletins(api: Any) -> None:
    client, auth = api
    with trio.fail_after(30):
        while "flowyard_queued_flowfiles{connection=\"c1\"} 7" not in (
                text := (await client.get("/api/metrics", headers=auth)).text):
            await trio.sleep(0.05)
    assert 'flowyard_processor_flowfiles_out_total{processor="gen",type="GenerateFlowFile"} 7' in text
    assert (await client.get("/api/bulletins", headers=auth)).json() == []


@pytest.mark.parametrize(("body", "status", "fragment"), [
    (b"not json", 400, "not valid JSON"),
    (b'{"state": "SIDEWAYS"}', 400, "unknown run state"),
    # answered from Content-Length before the body is read: the client's unsent rest is dropped
    pytest.param(b"x" * (2 << 20), 413, "too large",
                 marks=pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")),
])
async def test_bad_request_bodies(api: Any, body: bytes, status: int, fragment: str) -> None:
    client, auth = api
    response = await client.put("/api/processors/held/run-state", content=body,
                                headers={**auth, "content-type": "application/json"})
    assert response.status_code == status and fragment in response.json()["error"]


async def test_an_invalid_processor_cannot_be_started(api: Any) -> None:
    client, auth = api
    response = await client.put("/api/processors/bad/run-state", json={"state": "RUNNING"}, headers=auth)
    assert response.status_code == 400
    assert "'Directory' is invalid" in response.json()["error"]
    flow = (await client.get("/api/flow", headers=auth)).json()
    bad = next(p for p in flow["rootGroup"]["processors"] if p["identifier"] == "bad")
    assert bad["runState"] == "STOPPED" and bad["validationErrors"]
    assert (await client.put("/api/processors/held/run-state", json={"state": "RUNNING"},
                             headers=auth)).status_code == 200
