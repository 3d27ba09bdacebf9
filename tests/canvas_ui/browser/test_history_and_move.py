"""Edits as commands on the canvas (issue 14), in Chromium against a real server: a
paste, an auto-layout and a multiple delete are one undo step each; the Flow
Configuration History lists the edits with their user, pages with "Load more" and
filters by the selection; a selection dropped on a process group moves into it,
"Move to parent group" moves it back, and undo takes a move back as one step."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import PASSWORD, USER, Server, log_in, start_server, stop_server

pytestmark = pytest.mark.integration

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {
    "identifier": "root", "name": "History",
    "processors": [
        {"identifier": "gen", "name": "Gen", "type": "GenerateFlowFile", "position": {"x": 80, "y": 80},
         "scheduledState": "STOPPED", "properties": {"Batch Size": "1"}},
        {"identifier": "log", "name": "Log", "type": "LogAttribute", "position": {"x": 80, "y": 400},
         "autoTerminatedRelationships": ["success"], "scheduledState": "STOPPED"},
        {"identifier": "solo", "name": "Solo", "type": "LogAttribute", "position": {"x": 560, "y": 400},
         "autoTerminatedRelationships": ["success"], "scheduledState": "STOPPED"},
    ],
    "connections": [{"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "log"},
                     "selectedRelationships": ["success"]}],
    "processGroups": [{"identifier": "child", "name": "Child", "position": {"x": 560, "y": 80}}],
}}
# Where the screenshot of the history panel goes (outside the repository: look at it by hand).
SCREENSHOT = Path(os.environ.get("FLOWYARD_HISTORY_SHOT", "/tmp/flow-history-panel.png"))


@pytest.fixture
def history_server(tmp_path: Path) -> Any:
    srv = start_server(tmp_path, FLOW)
    yield srv
    stop_server(srv)


def node(page: Any, text: str) -> Any:
    return page.locator(".react-flow__node", has_text=text).first


def still(page: Any) -> None:
    """Wait until the canvas's viewport has not moved for a quarter of a second."""
    page.wait_for_function("""() => {
        const t = document.querySelector('.react-flow__viewport')?.style.transform;
        const now = performance.now();
        if (window.__fyViewport !== t) { window.__fyViewport = t; window.__fyViewportAt = now; return false; }
        return now - window.__fyViewportAt > 250;
    }""", polling=50, timeout=10_000)


def drag_onto(page: Any, what: Any, target: Any) -> None:
    """Drag `what` by its middle and drop it on the middle of `target`, in small steps."""
    a, b = what.bounding_box(), target.bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + 12)  # the node's head (not a handle)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=20)
    expect(target).to_have_class(re.compile(r"\bis-drop-target\b"))  # marked while the drag is over it
    page.mouse.up()


def group_of(server: Server, ident: str) -> str | None:
    """The id of the group holding processor `ident` (None: not in the flow)."""
    with server.api() as api:
        root = api.get("/api/flow").json()["rootGroup"]

    def find(group: dict[str, Any]) -> str | None:
        if any(p["identifier"] == ident for p in group["processors"]):
            return str(group["identifier"])
        return next((g for g in (find(child) for child in group["processGroups"]) if g), None)
    return find(root)


def latest(server: Server, **query: Any) -> list[dict[str, Any]]:
    with server.api() as api:
        answer = api.get("/api/history", params={"limit": 10, **query})
        assert answer.status_code == 200, answer.text
        return list(answer.json()["entries"])


def test_paste_is_one_step_history_lists_it_and_moves_go_between_groups(page: Any, history_server: Server) -> None:
    server = history_server
    log_in(page, server.url)
    still(page)
    nodes = page.locator(".react-flow__node")
    expect(nodes).to_have_count(4)

    # copy Gen and Log (and the connection between them), paste with the pointer off the canvas
    node(page, "Gen").click()
    node(page, "Log").click(modifiers=["Control"])
    page.keyboard.press("Control+c")
    palette = page.get_by_test_id("palette").bounding_box()
    page.mouse.move(palette["x"] + 20, palette["y"] + palette["height"] - 20)
    page.keyboard.press("Control+v")
    expect(nodes).to_have_count(6)
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    [paste] = [e for e in latest(server) if e["description"].startswith("Paste")][:1]
    assert paste["description"] == "Paste 3 components"
    assert paste["user"] == USER and len(paste["components"]) == 3 and not paste["undone"]

    # one undo takes the whole paste back
    page.get_by_test_id("btn-undo").click()
    expect(nodes).to_have_count(4)
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    assert next(e for e in latest(server) if e["seq"] == paste["seq"])["undone"]

    # the history panel: newest first, the user, the paste struck through as undone
    page.get_by_test_id("btn-flow-history").click()
    panel = page.get_by_test_id("flow-history-panel")
    expect(panel).to_be_visible()
    rows = panel.get_by_test_id("flow-history-row")
    pasted = rows.filter(has=page.get_by_test_id("flow-history-description").get_by_text("Paste 3 components",
                                                                                        exact=True))
    expect(pasted).to_have_count(1)
    expect(pasted).to_have_attribute("data-undone", "true")
    expect(pasted.get_by_test_id("flow-history-user-cell")).to_have_text(USER)
    expect(pasted).to_contain_text("undone")
    seqs = [int(rows.nth(i).get_attribute("data-seq")) for i in range(rows.count())]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) >= 2, seqs
    page.screenshot(path=str(SCREENSHOT))
    # the user filter: nobody else edited
    panel.get_by_test_id("flow-history-user").fill("nobody")
    expect(panel).to_contain_text("No edit matches the filters.")
    panel.get_by_test_id("flow-history-user").fill("")
    expect(pasted).to_have_count(1)
    page.get_by_test_id("panel-close").click()
    still(page)

    # a processor whose connection would be cut cannot move: the server's reason is shown
    drag_onto(page, node(page, "Log"), node(page, "Child"))
    toast = page.locator(".toast.error")
    expect(toast).to_contain_text("Moving into 'Child' failed")
    assert group_of(server, "log") == "root"

    # Solo dropped on Child moves into it
    drag_onto(page, node(page, "Solo"), node(page, "Child"))
    expect(node(page, "Solo")).to_have_count(0)
    assert group_of(server, "solo") == "child"

    # inside Child: "Move to parent group" takes it back out
    node(page, "Child").dblclick()
    expect(page.get_by_test_id("breadcrumb-child")).to_have_attribute("aria-current", "page")
    still(page)
    node(page, "Solo").click(button="right")
    page.get_by_test_id("menu-move-to-parent").click()
    expect(node(page, "Solo")).to_have_count(0)
    assert group_of(server, "solo") == "root"

    # undo takes the move back as one step
    page.get_by_test_id("btn-undo").click()
    expect(node(page, "Solo")).to_be_visible()
    assert group_of(server, "solo") == "child"

    # from the root, a history row's component leads to it (entering its group, selected)
    page.get_by_test_id("breadcrumb-root").click()
    still(page)
    page.get_by_test_id("btn-flow-history").click()
    first_solo = panel.get_by_test_id("flow-history-component").filter(has_text="Solo").first
    expect(first_solo).to_be_visible()
    first_solo.click()
    expect(page.get_by_test_id("breadcrumb-child")).to_have_attribute("aria-current", "page")
    expect(page.locator(".react-flow__node.selected", has_text="Solo")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOT.with_name(f"{SCREENSHOT.stem}-moves.png")))


def positions(server: Server) -> dict[str, tuple[float, float]]:
    with server.api() as api:
        root = api.get("/api/flow").json()["rootGroup"]
    placed = [*root["processors"], *root["processGroups"]]
    return {c["identifier"]: (c["position"]["x"], c["position"]["y"]) for c in placed}


def newest(server: Server, prefix: str) -> dict[str, Any]:
    """The newest history entry, once it is one whose description starts with `prefix` (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        entries = latest(server, limit=1)
        if (entries and entries[0]["description"].startswith(prefix)) or time.monotonic() > deadline:
            assert entries and entries[0]["description"].startswith(prefix), entries
            return entries[0]
        time.sleep(0.05)


def test_auto_layout_and_a_multiple_delete_are_one_undo_step_each(page: Any, history_server: Server) -> None:
    server = history_server
    log_in(page, server.url)
    still(page)
    nodes = page.locator(".react-flow__node")
    expect(nodes).to_have_count(4)
    before = positions(server)

    # auto-layout of the whole group: one edit, and one undo puts every node back
    page.get_by_test_id("btn-auto-layout").click()
    entry = newest(server, "Auto-layout")
    moved = positions(server)
    assert moved != before and len(entry["components"]) >= 2, (moved, entry)
    page.get_by_test_id("btn-undo").click()
    expect(page.locator(".toast")).to_contain_text("Undone: Auto-layout")
    assert positions(server) == before

    # deleting Gen and Log (and the connection between them): one edit, one undo brings all three back
    node(page, "Gen").click()
    node(page, "Log").click(modifiers=["Control"])
    page.keyboard.press("Delete")
    expect(nodes).to_have_count(2)
    expect(page.locator(".react-flow__edge")).to_have_count(0)
    entry = newest(server, "Delete")
    assert entry["description"] == "Delete 2 components" and set(entry["components"]) >= {"gen", "log", "c1"}, entry
    page.get_by_test_id("btn-undo").click()
    expect(nodes).to_have_count(4)
    expect(page.locator(".react-flow__edge")).to_have_count(1)


def test_history_pages_with_load_more_and_filters_by_the_selection(page: Any, history_server: Server) -> None:
    server = history_server
    with server.api() as api:
        revision = 0
        for i in range(55):  # more than a page (50) of edits of Solo
            answer = api.put("/api/processors/solo", json={"revision": revision, "position": {"x": 960, "y": 400 + i}})
            assert answer.status_code == 200, answer.text
            revision = answer.json()["revision"]
        answer = api.put("/api/processors/gen", json={"revision": 0, "comments": "the only edit of Gen"})
        assert answer.status_code == 200, answer.text
    page.goto(server.url + "/?panel=flow-history")  # the panel has an address
    page.get_by_placeholder("User name").fill(USER)
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    panel = page.get_by_test_id("flow-history-panel")
    rows = panel.get_by_test_id("flow-history-row")
    expect(rows).to_have_count(50)
    panel.get_by_test_id("flow-history-more").click()
    expect(rows).to_have_count(56)
    expect(panel.get_by_test_id("flow-history-more")).to_have_count(0)
    seqs = [int(rows.nth(i).get_attribute("data-seq")) for i in range(56)]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 56
    # only the edits of the selected component
    node(page, "Gen").click()
    only = panel.get_by_test_id("flow-history-only-selection")
    only.check()
    expect(rows).to_have_count(1)
    expect(panel).to_contain_text("Only Gen")
    only.uncheck()
    expect(rows).to_have_count(50)
