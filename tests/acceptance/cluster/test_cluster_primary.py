"""Acceptance of issue 15: kill -9 of the primary node. A primary-only ListFile
of a shared directory (Input Directory Location: Remote, so its listing state
is the cluster's, in etcd) goes on on the new primary without listing a file
again or skipping one."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from cluster_harness import NodeProcess, cluster, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LEASE_TTL = 3
BATCH = 30


def make_files(directory: Path, prefix: str, age: float) -> list[str]:
    """``BATCH`` files modified ``age`` seconds ago (past ListFile's listing lag)."""
    names = []
    when = time.time() - age
    for i in range(BATCH):
        path = directory / f"{prefix}-{i:03d}.txt"
        path.write_text(f"{prefix} {i}\n")
        os.utime(path, (when, when))
        names.append(path.name)
    return names


def listed(node: NodeProcess) -> list[str]:
    """The filenames queued in ``q`` on ``node`` itself."""
    rows: Any = node.get("/api/connections/q/flowfiles", params={"node": node.node_id}).json()
    items = rows["flowfiles"] if isinstance(rows, dict) else rows
    return sorted(r["attributes"]["filename"] for r in items)


def queued(node: NodeProcess) -> int:
    status = node.get("/api/status", params={"node": node.node_id}).json()
    return int(status["connections"].get("q", {}).get("queuedCount", 0))


def test_a_primary_only_listing_goes_on_on_the_new_primary_without_repeats_or_gaps(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [
            {"identifier": "list", "name": "List", "type": "ListFile", "executionNode": "PRIMARY",
             "schedulingPeriod": "200 ms",
             "properties": {"input-directory": str(shared), "input-directory-location": "Remote"}},
            {"identifier": "hold", "name": "Hold", "type": "UpdateAttribute", "scheduledState": "STOPPED"},
        ],
        "connections": [{"identifier": "q", "source": {"id": "list"}, "destination": {"id": "hold"},
                         "selectedRelationships": ["success"]}],
    }}))
    with cluster(tmp_path / "c", 3, flow, lease_ttl=LEASE_TTL) as harness:
        first_id = harness.node("n1").overview()["primary"]
        first = harness.node(first_id)
        before = make_files(shared, "before", age=20)
        wait_for(lambda: queued(first) == BATCH, timeout=30, what="the first files listed on the primary")
        assert all(queued(n) == 0 for n in harness.nodes.values() if n is not first), "listed on the primary only"

        first.kill9()
        after = make_files(shared, "after", age=10)
        survivor = next(n for n in harness.nodes.values() if n is not first)
        second_id = wait_for(lambda: (p := survivor.overview()["primary"]) not in (None, first_id) and p,
                             timeout=LEASE_TTL + 10, what="a new primary")
        second = harness.node(second_id)
        wait_for(lambda: queued(second) >= BATCH, timeout=30, what="the new files listed on the new primary")
        time.sleep(1.0)  # more listing rounds: nothing more may come (not a wait for a result)
        assert listed(second) == sorted(after), "the new primary lists only what the old one had not"

        first.start()
        harness.wait_connected(first_id, via=second_id, timeout=60)
        assert listed(first) == sorted(before), "the old primary's listing is kept, not repeated"
        others = [n for n in harness.nodes.values() if n.node_id not in (first_id, second_id)]
        assert all(queued(n) == 0 for n in others)
