"""A stateless process group from the canvas (issue 16): a stopped group is set to
the Stateless execution engine in its configure panel, with its max concurrent
tasks and flow timeout; the canvas marks it; and while it runs the engine select
is locked and a switch made before it started is refused by the server, whose
reason the panel shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import Server, log_in, start_server, stop_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

WAIT = 15_000  # ms: every expectation of this test gives up after this long

#: A group holding one stopped source whose output is dropped: valid on either engine.
FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"name": "Stateless test", "processGroups": [{
    "identifier": "enrich", "name": "Enrich", "position": {"x": 120, "y": 120},
    "processors": [{"identifier": "gen", "name": "Make records", "type": "GenerateFlowFile",
                    "position": {"x": 0, "y": 0}, "schedulingPeriod": "1 sec", "scheduledState": "STOPPED",
                    "autoTerminatedRelationships": ["success"]}],
}]}}


@pytest.fixture
def stateless_server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path, FLOW)
    yield srv
    stop_server(srv)


def group_doc(server: Server) -> dict[str, Any]:
    with server.api() as client:
        answer = client.get("/api/process-groups/enrich")
        answer.raise_for_status()
        doc: dict[str, Any] = answer.json()
        return doc


def test_set_a_stopped_group_stateless_and_be_refused_while_it_runs(
        page: Any, stateless_server: Server, shoot: Any) -> None:
    server = stateless_server
    log_in(page, server.url)
    group = page.locator('.react-flow__node[data-id="enrich"]')
    expect(group).to_be_visible(timeout=WAIT)
    expect(group.get_by_test_id("node-stateless")).to_have_count(0)

    # configure the stopped group: Stateless, 2 tasks, 30 sec
    group.click(button="right")
    page.get_by_test_id("menu-configure").click()
    panel = page.get_by_test_id("configure-panel")
    expect(panel).to_be_visible(timeout=WAIT)
    engine = page.get_by_test_id("group-engine")
    expect(engine).to_have_value("INHERITED", timeout=WAIT)
    expect(engine).to_be_enabled()
    expect(page.get_by_test_id("group-max-tasks")).to_have_count(0)  # only for a stateless group
    engine.select_option("STATELESS")
    page.get_by_test_id("group-max-tasks").fill("0")
    page.get_by_test_id("group-flow-timeout").fill("30 sec")
    page.get_by_test_id("configure-save").click()
    expect(page.get_by_test_id("field-error-maxConcurrentTasks")).to_contain_text("at least 1", timeout=WAIT)
    page.get_by_test_id("group-max-tasks").fill("2")
    page.get_by_test_id("configure-save").click()

    badge = group.get_by_test_id("node-stateless")
    expect(badge).to_be_visible(timeout=WAIT)
    expect(badge).to_have_attribute("title", re.compile("commits once"))
    doc = group_doc(server)
    engine_fields = (doc["executionEngine"], doc["maxConcurrentTasks"], doc["statelessFlowTimeout"])
    assert engine_fields == ("STATELESS", 2, "30 sec")
    shoot(page, "stateless-group")

    # a switch back is drafted while the group is stopped; then the group starts
    engine.select_option("STANDARD")
    expect(page.get_by_test_id("group-max-tasks")).to_have_count(0)
    with server.api() as client:
        client.put("/api/process-groups/enrich/run-state", json={"state": "RUNNING"}).raise_for_status()
    # the panel follows the run state: the select is locked and says why
    expect(engine).to_be_disabled(timeout=WAIT)
    expect(engine).to_have_attribute("title", re.compile("running: stop the group"))
    expect(page.get_by_test_id("group-engine-locked")).to_contain_text("stop the group", timeout=WAIT)
    # the draft made before the start is sent, and the server refuses it with its reason
    page.get_by_test_id("configure-save").click()
    banner = page.get_by_test_id("configure-banner")
    expect(banner).to_contain_text("would change from the stateless to the standard engine", timeout=WAIT)
    expect(banner).to_contain_text("stop the group first")
    shoot(page, "stateless-group-refused")
    assert group_doc(server)["executionEngine"] == "STATELESS"
    expect(badge).to_be_visible()

    with server.api() as client:
        client.put("/api/process-groups/enrich/run-state", json={"state": "STOPPED"}).raise_for_status()
    expect(engine).to_be_enabled(timeout=WAIT)

    # the canvas alone: the badge and the double border of a stateless group
    page.get_by_test_id("panel-close").click()
    expect(panel).to_have_count(0, timeout=WAIT)
    page.get_by_test_id("canvas").click(position={"x": 40, "y": 40})
    expect(group).not_to_have_class(re.compile(r"\bselected\b"), timeout=WAIT)
    assert group.locator(".fy-group").evaluate("e => getComputedStyle(e).borderTopStyle") == "double"
    shoot(page, "stateless-group-canvas")
