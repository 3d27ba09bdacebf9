"""The cluster fields of connections and processors (issue 15) over the web
API against a real server on port 0: created with POST, changed with PUT,
read back with GET, refused naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from served_api import served_api

pytestmark = pytest.mark.integration

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "schedulingPeriod": "1 min", "scheduledState": "STOPPED"},
    {"identifier": "log", "type": "LogAttribute", "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success"]},
]}}


@pytest.fixture
async def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Any, dict[str, str]]]:
    async with served_api(tmp_path, monkeypatch, FLOW) as served:
        yield served


async def test_load_balancing_and_execution_node_round_trip(api: Any) -> None:
    client, auth = api
    created = await client.post("/api/connections", headers=auth, json={
        "source": {"id": "gen"}, "destination": {"id": "log"}, "selectedRelationships": ["success"],
        "loadBalanceStrategy": "PARTITION_BY_ATTRIBUTE", "partitioningAttribute": "customer",
        "loadBalanceCompression": "COMPRESS_ATTRIBUTES_ONLY"})
    assert created.status_code == 201, created.text
    conn = created.json()
    cid = conn["identifier"]
    assert (conn["loadBalanceStrategy"], conn["partitioningAttribute"], conn["loadBalanceCompression"]) == (
        "PARTITION_BY_ATTRIBUTE", "customer", "COMPRESS_ATTRIBUTES_ONLY")
    changed = await client.put(f"/api/connections/{cid}", headers=auth, json={
        "revision": conn["revision"], "loadBalanceStrategy": "ROUND_ROBIN", "partitioningAttribute": ""})
    assert changed.status_code == 200, changed.text
    got = (await client.get(f"/api/connections/{cid}", headers=auth)).json()
    assert (got["loadBalanceStrategy"], got["partitioningAttribute"], got["loadBalanceCompression"]) == (
        "ROUND_ROBIN", "", "COMPRESS_ATTRIBUTES_ONLY")
    refused = await client.put(f"/api/connections/{cid}", headers=auth, json={
        "revision": got["revision"], "loadBalanceStrategy": "PARTITION_BY_ATTRIBUTE"})
    assert refused.status_code == 400, refused.text
    assert "PARTITION_BY_ATTRIBUTE" in refused.text and "attribute" in refused.text

    proc = (await client.get("/api/processors/gen", headers=auth)).json()
    assert proc["executionNode"] == "ALL"
    primary = await client.put("/api/processors/gen", headers=auth,
                               json={"revision": proc["revision"], "executionNode": "PRIMARY"})
    assert primary.status_code == 200, primary.text
    assert (await client.get("/api/processors/gen", headers=auth)).json()["executionNode"] == "PRIMARY"
    bad = await client.put("/api/processors/gen", headers=auth,
                           json={"revision": primary.json()["revision"], "executionNode": "SOMETIMES"})
    assert bad.status_code == 400 and "executionNode" in bad.text, bad.text
    made = await client.post("/api/processors", headers=auth,
                             json={"type": "LogAttribute", "executionNode": "PRIMARY", "scheduledState": "STOPPED"})
    assert made.status_code == 201 and made.json()["executionNode"] == "PRIMARY", made.text
