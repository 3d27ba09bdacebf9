"""Undo and redo of flow edits through the API, against a real server on port 0."""

from __future__ import annotations

from pathlib import Path

import pytest
from served_api import served_api

pytestmark = pytest.mark.integration

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"processors": [
    {"identifier": "tag", "type": "UpdateAttribute", "properties": {"color": "red"}, "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success"], "position": {"x": 0, "y": 0}},
]}}


async def test_undo_and_redo_add_move_configure_connect_delete(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    async with served_api(tmp_path, monkeypatch, FLOW, timeout=30) as (client, auth):

        async def tag() -> dict[str, object]:
            return (await client.get("/api/processors/tag", headers=auth)).json()  # type: ignore[no-any-return]

        assert (await client.post("/api/undo", headers=auth)).status_code == 400
        # configure (add a property), then move
        await client.put("/api/processors/tag", headers=auth,
                         json={"revision": 0, "properties": {"color": "blue", "size": "L"}})
        await client.put("/api/processors/tag", headers=auth, json={"revision": 1, "position": {"x": 50, "y": 7}})
        # add a processor and connect it
        sink = (await client.post("/api/processors", headers=auth, json={
            "identifier": "sink", "type": "LogAttribute", "autoTerminatedRelationships": ["success"],
            "scheduledState": "STOPPED"})).json()
        await client.put("/api/processors/tag", headers=auth,
                         json={"revision": 2, "autoTerminatedRelationships": []})
        link = (await client.post("/api/connections", headers=auth, json={
            "identifier": "c1", "source": {"id": "tag"}, "destination": {"id": "sink"},
            "selectedRelationships": ["success"]})).json()
        assert link["revision"] == 0 and sink["identifier"] == "sink"
        history = (await client.get("/api/history", headers=auth)).json()
        assert history["undo"][0] == "Create connection 'c1'" and len(history["undo"]) == 5

        assert (await client.post("/api/undo", headers=auth)).json() == {"undone": "Create connection 'c1'"}
        assert (await client.get("/api/connections/c1", headers=auth)).status_code == 404
        await client.post("/api/undo", headers=auth)  # auto-termination back
        assert (await tag())["autoTerminatedRelationships"] == ["success"]
        await client.post("/api/undo", headers=auth)  # the added processor goes
        assert (await client.get("/api/processors/sink", headers=auth)).status_code == 404
        await client.post("/api/undo", headers=auth)  # the move
        assert (await tag())["position"] == {"x": 0.0, "y": 0.0}
        await client.post("/api/undo", headers=auth)  # the configuration, exactly
        assert (await tag())["properties"] == {"color": "red"}

        redone = await client.post("/api/redo", headers=auth)
        assert redone.json() == {"redone": "Update processor 'UpdateAttribute' (properties)"}
        assert (await tag())["properties"] == {"color": "blue", "size": "L"}

        # someone else changes the component: redoing the move must not clobber it
        current = await tag()
        await client.put("/api/processors/tag", headers={**auth},
                         json={"revision": current["revision"], "comments": "edited meanwhile"})
        history = (await client.get("/api/history", headers=auth)).json()
        assert history["redo"] == [], "a new edit clears what could be redone"
        assert (await client.post("/api/redo", headers=auth)).status_code == 400


async def test_undo_respects_revisions_of_other_users_edits(tmp_path: Path) -> None:
    from flowyard.runtime.flow import flow_from_dict
    from flowyard.runtime.registry import discover_processors
    from flowyard.runtime.repository import Repositories
    from flowyard.runtime.service import FlowService, RevisionConflict

    service = FlowService(flow_from_dict(FLOW), Repositories.in_memory(), tmp_path, discover_processors())
    await service.update_processor("tag", 0, {"properties": {"color": "blue"}}, user="ann")
    await service.update_processor("tag", 1, {"properties": {"color": "green"}}, user="bob")
    with pytest.raises(RevisionConflict, match="changed since"):
        await service.undo("ann")
    assert service.processor("tag")["properties"] == {"color": "green"}, "nothing was undone"
    assert await service.undo("bob") == "Update processor 'UpdateAttribute' (properties)"
    assert service.processor("tag")["properties"] == {"color": "blue"}
    assert await service.undo("ann") == "Update processor 'UpdateAttribute' (properties)", \
        "ann's edit is next in line again"
    assert service.processor("tag")["properties"] == {"color": "red"}


async def test_history_edits_and_move_routes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GET /api/history with its filters and paging, POST /api/edits as one step,
    POST /api/process-groups/{id}/move, and their 400s naming the place."""
    async with served_api(tmp_path, monkeypatch, FLOW, timeout=30) as (client, auth):
        done = await client.post("/api/edits", headers=auth, json={"description": "Paste 2 components", "edits": [
            {"action": "create", "kind": "process-group", "data": {"identifier": "g", "name": "G"}},
            {"action": "create", "kind": "funnel", "data": {"identifier": "f"}}]})
        assert done.status_code == 200, done.text
        assert [r["identifier"] for r in done.json()["results"]] == ["g", "f"]
        bad = await client.post("/api/edits", headers=auth, json={"edits": [
            {"action": "update", "kind": "processor", "id": "tag", "revision": 0,
             "changes": {"schedulingPeriod": "soon"}}]})
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"].startswith("edits[0]"), bad.text
        stale = await client.post("/api/edits", headers=auth, json={"edits": [
            {"action": "delete", "kind": "funnel", "id": "f", "revision": 7}]})
        assert stale.status_code == 409
        moved = await client.post("/api/process-groups/g/move", headers=auth,
                                  json={"ids": ["tag", "f"], "positions": {"f": {"x": 1, "y": 2}}})
        assert moved.status_code == 200 and moved.json() == {"moved": ["tag", "f"]}, moved.text
        assert (await client.get("/api/funnels/f", headers=auth)).json()["parentGroupId"] == "g"
        refused = await client.post("/api/process-groups/g/move", headers=auth, json={"ids": ["nope"]})
        assert refused.status_code in (400, 404)
        history = (await client.get("/api/history?limit=1", headers=auth)).json()
        assert [e["description"] for e in history["entries"]] == ["Move 2 components to process group 'G'"] \
            or history["entries"][0]["description"].startswith("Move")
        older = (await client.get(f"/api/history?before={history['entries'][0]['seq']}", headers=auth)).json()
        assert [e["description"] for e in older["entries"]] == ["Paste 2 components"]
        mine = (await client.get("/api/history?component=f&user=alice", headers=auth)).json()
        assert {e["user"] for e in mine["entries"]} == {"alice"} and len(mine["entries"]) == 2
        assert (await client.get("/api/history?limit=0", headers=auth)).status_code == 400
        assert (await client.post("/api/undo", headers=auth)).json()["undone"].startswith("Move")
        assert (await client.get("/api/funnels/f", headers=auth)).json()["parentGroupId"] != "g"
