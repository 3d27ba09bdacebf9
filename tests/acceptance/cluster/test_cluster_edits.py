"""Acceptance of issue 15 on real processes: etcd and three ``flowyard serve``
nodes on loopback. One flow edited anywhere; a stale revision refused on every
node; the coordinator killed -9 and replaced within the lease time, edits going
on, and the killed node back with its queued data."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from cluster_harness import ClusterHarness, NodeProcess, cluster, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LEASE_TTL = 3


def small_flow(path: Path) -> Path:
    """A generator into a queue that nothing empties (its destination stays stopped)."""
    path.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [
            {"identifier": "gen", "name": "Generate", "type": "GenerateFlowFile",
             "properties": {"batch-size": "10", "file-size": "100 B"}, "schedulingPeriod": "100 ms",
             "scheduledState": "STOPPED"},
            {"identifier": "sink", "name": "Sink", "type": "UpdateAttribute", "scheduledState": "STOPPED"},
        ],
        "connections": [{"identifier": "q", "source": {"id": "gen"}, "destination": {"id": "sink"},
                         "selectedRelationships": ["success"]}],
    }}))
    return path


def processor(node: NodeProcess, ident: str) -> dict[str, Any]:
    answer: dict[str, Any] = node.get(f"/api/processors/{ident}").json()
    return answer


def rename(node: NodeProcess, ident: str, name: str, revision: int) -> Any:
    return node.request("PUT", f"/api/processors/{ident}", json={"revision": revision, "name": name})


def everywhere(harness: ClusterHarness, check: Any, *, what: str, timeout: float = 20) -> None:
    for node in harness.nodes.values():
        if node.proc is not None and node.proc.poll() is None:
            wait_for(lambda n=node: check(n), timeout=timeout, what=f"{what} on {node.node_id}")


def queued(node: NodeProcess, connection: str) -> int:
    status = node.get("/api/status", params={"node": node.node_id}).json()
    return int(status["connections"].get(connection, {}).get("queuedCount", 0))


def test_an_edit_on_any_node_shows_on_all_and_a_stale_revision_is_refused_everywhere(tmp_path: Path) -> None:
    flow = small_flow(tmp_path / "flow.json")
    with cluster(tmp_path / "c", 3, flow, lease_ttl=LEASE_TTL) as harness:
        n1, n2, n3 = (harness.node(i) for i in ("n1", "n2", "n3"))
        overview = n1.overview()
        assert overview["clustered"] is True
        roles = [m["roles"] for m in overview["nodes"]]
        assert sum("coordinator" in r for r in roles) == 1 and sum("primary" in r for r in roles) == 1

        before = processor(n3, "gen")
        answer = rename(n3, "gen", "Generate (edited on n3)", before["revision"])
        assert answer.status_code == 200, answer.text
        revision = answer.json()["revision"]
        everywhere(harness, lambda n: processor(n, "gen")["name"] == "Generate (edited on n3)"
                   and processor(n, "gen")["revision"] == revision, what="the edit made on n3")

        for node in (n1, n2, n3):  # the revision n3's edit replaced is stale on every node
            stale = rename(node, "gen", "stale", before["revision"])
            assert stale.status_code == 409, (node.node_id, stale.text)
        assert all(processor(n, "gen")["name"] == "Generate (edited on n3)" for n in (n1, n2, n3))

        # an edit on the next node builds on the one before
        second = rename(n1, "gen", "Generate (then n1)", revision)
        assert second.status_code == 200, second.text
        everywhere(harness, lambda n: processor(n, "gen")["name"] == "Generate (then n1)", what="n1's edit")


def test_the_coordinator_killed_is_replaced_within_the_lease_and_comes_back_with_its_data(tmp_path: Path) -> None:
    flow = small_flow(tmp_path / "flow.json")
    with cluster(tmp_path / "c", 3, flow, lease_ttl=LEASE_TTL) as harness:
        first = harness.node("n1").overview()["coordinator"]
        coordinator = harness.node(first)
        others = [n for n in harness.nodes.values() if n.node_id != first]
        # data queued on the coordinator: its generator runs until it has some, then stops
        assert coordinator.request("PUT", "/api/processors/gen/run-state", json={"state": "RUNNING"}).status_code == 200
        wait_for(lambda: queued(coordinator, "q") >= 50, timeout=30, what="flowfiles queued on the coordinator")
        assert coordinator.request("PUT", "/api/processors/gen/run-state", json={"state": "STOPPED"}).status_code == 200
        held = wait_for(lambda: _steady(coordinator, "q"), timeout=20, what="the coordinator's queue to settle")

        coordinator.kill9()
        killed_at = time.monotonic()
        survivor = others[0]
        new = wait_for(lambda: (survivor.overview()["coordinator"] or "") not in ("", first)
                       and survivor.overview()["coordinator"], timeout=LEASE_TTL + 5 + 5, what="a new coordinator")
        assert time.monotonic() - killed_at <= LEASE_TTL + 5 + 1, "a new coordinator within lease TTL + 5 s"
        assert new != first

        # edits go on without the old coordinator
        current = processor(others[1], "sink")
        answer = others[1].request("PUT", "/api/processors/sink", json={"revision": current["revision"],
                                                                        "name": "Sink (while n-old was dead)"})
        assert answer.status_code == 200, answer.text
        for node in others:
            wait_for(lambda n=node: processor(n, "sink")["name"] == "Sink (while n-old was dead)", timeout=20,
                     what=f"the edit on {node.node_id}")

        # the killed node comes back: its queued flowfiles are all there, and it caught up
        coordinator.start()
        harness.wait_connected(first, via=survivor.node_id, timeout=60)
        wait_for(lambda: processor(coordinator, "sink")["name"] == "Sink (while n-old was dead)", timeout=30,
                 what="the restarted node to catch up with the edit it missed")
        assert queued(coordinator, "q") == held


def _steady(node: NodeProcess, connection: str) -> int | None:
    a = queued(node, connection)
    time.sleep(0.3)
    b = queued(node, connection)
    return a if a == b and a > 0 else None
