"""Journeys for the canvas defects of issue 10 ("Hardening what exists"), in Chromium
against a real server: addresses for groups and panels, field errors in plain words,
paste at the pointer, confirmations that name what they destroy, no Start for an
invalid component, edge labels off the nodes, parameters offered after ``#{``, a new
group asking for its name."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from browser_support import PASSWORD, USER, Server, log_in, start_server, stop_server

pytestmark = pytest.mark.integration

NESTED = {"flowyardFlowVersion": 1, "rootGroup": {
    "identifier": "top", "name": "Top",
    "processors": [{"identifier": "root-proc", "name": "Root proc", "type": "LogAttribute",
                    "position": {"x": 400, "y": 80}, "autoTerminatedRelationships": ["success"]}],
    "processGroups": [{
        "identifier": "inner", "name": "Inner", "position": {"x": 80, "y": 80},
        "processors": [{"identifier": "deep-proc", "name": "Deep proc", "type": "LogAttribute",
                        "position": {"x": 400, "y": 80}, "autoTerminatedRelationships": ["success"]}],
        "processGroups": [{"identifier": "deeper", "name": "Deeper", "position": {"x": 80, "y": 80},
                           "processors": [{"identifier": "deepest", "name": "Deepest proc", "type": "LogAttribute",
                                           "position": {"x": 80, "y": 80},
                                           "autoTerminatedRelationships": ["success"]}]}],
    }],
}}


def node(page: Any, text: str) -> Any:
    return page.locator(".react-flow__node", has_text=text).first


def still(page: Any) -> None:
    """Wait until the canvas's viewport has not moved for a quarter of a second (it fits
    the view a moment after a group is shown: a click before that may land elsewhere)."""
    page.wait_for_function("""() => {
        const t = document.querySelector('.react-flow__viewport')?.style.transform;
        const now = performance.now();
        if (window.__fyViewport !== t) { window.__fyViewport = t; window.__fyViewportAt = now; return false; }
        return now - window.__fyViewportAt > 250;
    }""", polling=50, timeout=10_000)


def path_of(page: Any) -> str:
    return str(page.evaluate("location.pathname + location.search"))


@pytest.fixture
def nested_server(tmp_path: Path) -> Any:
    srv = start_server(tmp_path, NESTED)
    yield srv
    stop_server(srv)


def test_groups_and_panels_have_addresses(page: Any, nested_server: Server, browser: Any, shoot: Any) -> None:
    url = nested_server.url
    # The server answers the canvas for any page path and JSON for an unknown API path.
    assert httpx.get(url + "/process-groups/inner?panel=provenance").headers["content-type"].startswith("text/html")
    missing = httpx.get(url + "/api/no-such-thing")
    assert missing.status_code in (401, 404) and "error" in missing.json()
    assert httpx.get(url + "/metrics").status_code == 401  # not a page: still needs a login
    assert httpx.get(url + "/assets/no-such-file.js").status_code == 404
    with nested_server.api() as api:
        unknown = api.get("/api/no-such-thing")
        assert unknown.status_code == 404 and "error" in unknown.json()
        assert api.get("/process-groups/inner").headers["content-type"].startswith("text/html")

    log_in(page, url)
    expect(page).to_have_url(url + "/")
    still(page)
    node(page, "Inner").dblclick()
    expect(page).to_have_url(url + "/process-groups/inner")
    expect(page.get_by_test_id("breadcrumb-inner")).to_have_attribute("aria-current", "page")
    still(page)
    node(page, "Deeper").dblclick()
    expect(page).to_have_url(url + "/process-groups/deeper")
    expect(node(page, "Deepest proc")).to_be_visible()
    # Back and Forward walk the groups
    page.go_back()
    expect(page).to_have_url(url + "/process-groups/inner")
    expect(node(page, "Deep proc")).to_be_visible()
    expect(page.get_by_test_id("breadcrumb-inner")).to_have_attribute("aria-current", "page")
    page.go_back()
    expect(page).to_have_url(url + "/")
    expect(node(page, "Root proc")).to_be_visible()
    page.go_forward()
    expect(page).to_have_url(url + "/process-groups/inner")
    expect(node(page, "Deep proc")).to_be_visible()
    # a reload stays in the group
    page.reload()
    expect(node(page, "Deep proc")).to_be_visible()
    expect(page.get_by_test_id("breadcrumb-inner")).to_have_attribute("aria-current", "page")
    # panels: configure, then provenance, with Back and Forward (the node is clicked while no
    # panel covers part of the canvas)
    still(page)
    node(page, "Deep proc").dblclick()
    expect(page.get_by_test_id("configure-panel")).to_be_visible()
    expect(page).to_have_url(url + "/process-groups/inner?configure=deep-proc")
    page.get_by_test_id("btn-provenance").click()
    expect(page.get_by_test_id("provenance-panel")).to_be_visible()
    expect(page).to_have_url(url + "/process-groups/inner?panel=provenance")
    page.go_back()
    expect(page.get_by_test_id("configure-panel")).to_be_visible()
    page.go_back()
    expect(page.get_by_test_id("side-panel")).to_have_count(0)
    expect(page).to_have_url(url + "/process-groups/inner")
    page.go_forward()
    expect(page.get_by_test_id("configure-panel")).to_be_visible()
    page.go_forward()
    expect(page.get_by_test_id("provenance-panel")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(url + "/process-groups/inner?configure=deep-proc")
    page.reload()
    expect(page.get_by_test_id("setting-name")).to_have_value("Deep proc")
    shoot(page, "address-configure")

    # A deep link opened while logged out: the login page, then where it pointed.
    other = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        fresh = other.new_page()
        fresh.goto(url + "/process-groups/deeper?panel=provenance")
        expect(fresh.get_by_role("button", name="Log in")).to_be_visible()
        shoot(fresh, "address-login")
        fresh.get_by_placeholder("User name").fill(USER)
        fresh.get_by_placeholder("Password").fill(PASSWORD)
        fresh.get_by_role("button", name="Log in").click()
        expect(node(fresh, "Deepest proc")).to_be_visible()
        expect(fresh.get_by_test_id("breadcrumb-deeper")).to_have_attribute("aria-current", "page")
        expect(fresh.get_by_test_id("provenance-panel")).to_be_visible()
        assert path_of(fresh) == "/process-groups/deeper?panel=provenance"
        # a group that does not exist: said so, and the root shown
        fresh.goto(url + "/process-groups/no-such-group")
        expect(fresh.get_by_role("status")).to_contain_text("no-such-group")
        expect(node(fresh, "Root proc")).to_be_visible()
        expect(fresh).to_have_url(url + "/")
    finally:
        other.close()
    assert re.match(r"^/process-groups/inner\?configure=deep-proc$", path_of(page))


PAIR = {"flowyardFlowVersion": 1, "rootGroup": {
    "identifier": "root", "name": "Pair",
    "processors": [
        {"identifier": "gen", "name": "Gen", "type": "GenerateFlowFile", "position": {"x": 80, "y": 80},
         "schedulingPeriod": "1 sec"},
        {"identifier": "log", "name": "Log", "type": "LogAttribute", "position": {"x": 80, "y": 400},
         "autoTerminatedRelationships": ["success"]},
    ],
    "connections": [{"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "log"},
                     "selectedRelationships": ["success"]}],
}}


@pytest.fixture
def pair_server(tmp_path: Path) -> Any:
    srv = start_server(tmp_path, PAIR)
    yield srv
    stop_server(srv)


def test_field_errors_next_to_their_fields_in_plain_words(page: Any, pair_server: Server, shoot: Any) -> None:
    log_in(page, pair_server.url)
    still(page)
    # a connection: "lots", "yesterday" and "big" are refused before anything is sent, each by its field
    page.get_by_test_id("edge-label-c1").dblclick()
    expect(page.get_by_test_id("configure-panel")).to_be_visible()
    page.get_by_test_id("conn-bp-count").fill("lots")
    page.get_by_test_id("conn-expiration").fill("yesterday")
    page.get_by_test_id("conn-bp-size").fill("big")
    page.get_by_test_id("configure-save").click()
    expect(page.get_by_test_id("field-error-backPressureObjectThreshold")).to_contain_text("not a whole number")
    expect(page.get_by_test_id("field-error-flowFileExpiration")).to_contain_text("not a time period")
    expect(page.get_by_test_id("field-error-backPressureDataSizeThreshold")).to_contain_text("not a data size")
    shoot(page, "field-errors")
    with pair_server.api() as api:
        conn = api.get("/api/connections/c1").json()
    assert conn["backPressureObjectThreshold"] == 10000 and conn["flowFileExpiration"] == "0 sec"
    # the server's answer, in the format that lists every field error: each next to its field
    page.get_by_test_id("conn-bp-count").fill("500")
    page.get_by_test_id("conn-expiration").fill("5 mins")
    page.get_by_test_id("conn-bp-size").fill("1 GB")
    expect(page.get_by_test_id("field-error-backPressureObjectThreshold")).to_have_count(0)
    refusal = {"error": "The connection was not changed: 2 fields are wrong.", "errors": [
        {"field": "backPressureObjectThreshold", "message": "must be at most 100"},
        {"field": "flowFileExpiration", "message": "must be at most 1 min"},
    ]}
    page.route("**/api/connections/c1", lambda route: route.fulfill(status=400, json=refusal)
               if route.request.method == "PUT" else route.continue_())
    page.get_by_test_id("configure-save").click()
    expect(page.get_by_test_id("field-error-backPressureObjectThreshold")).to_have_text("Must be at most 100")
    expect(page.get_by_test_id("field-error-flowFileExpiration")).to_have_text("Must be at most 1 min")
    # ... and in the older format: one message with an internal path, shown without it
    page.unroute("**/api/connections/c1")
    page.route("**/api/connections/c1", lambda route: route.fulfill(status=400, json={
        "error": "request: connection.backPressureDataSizeThreshold: must be at most 10 GB, found '1 GB'"})
               if route.request.method == "PUT" else route.continue_())
    page.get_by_test_id("configure-save").click()
    error = page.get_by_test_id("field-error-backPressureDataSizeThreshold")
    expect(error).to_have_text("Must be at most 10 GB, found '1 GB'")
    page.unroute("**/api/connections/c1")
    assert "request:" not in page.get_by_test_id("side-panel").inner_text()
    page.get_by_test_id("panel-close").click()

    # a processor: an empty name, a period of "yesterday" and "lots" of tasks, all shown at once
    node(page, "Gen").dblclick()
    page.get_by_test_id("setting-name").fill("")
    page.get_by_test_id("tab-scheduling").click()
    page.get_by_test_id("sched-period").fill("yesterday")
    page.get_by_test_id("sched-concurrent").fill("lots")
    page.get_by_test_id("configure-save").click()
    expect(page.get_by_test_id("field-error-schedulingPeriod")).to_contain_text("not a time period")
    expect(page.get_by_test_id("field-error-concurrentlySchedulableTaskCount")).to_contain_text("not a whole number")
    expect(page.get_by_test_id("tab-settings")).to_contain_text("1")
    shoot(page, "field-errors-scheduling")
    page.get_by_test_id("tab-settings").click()
    expect(page.get_by_test_id("field-error-name")).to_contain_text("cannot be empty")
    with pair_server.api() as api:
        gen = api.get("/api/processors/gen").json()
    assert gen["name"] == "Gen" and gen["schedulingPeriod"] == "1 sec"
    page.get_by_test_id("panel-close").click()

    # the connect dialog: refused next to its fields, the dialog stays open
    source, target = node(page, "Gen"), node(page, "Log")
    start = source.locator(".react-flow__handle.source").first.bounding_box()
    end = target.locator(".react-flow__handle.target").first.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()
    expect(page.get_by_test_id("connect-dialog")).to_be_visible()
    page.get_by_test_id("connect-bp-count").fill("lots")
    page.get_by_test_id("connect-expiration").fill("yesterday")
    page.get_by_test_id("connect-confirm").click()
    expect(page.get_by_test_id("connect-dialog").get_by_test_id("field-error-backPressureObjectThreshold")).to_be_visible()
    expect(page.get_by_test_id("connect-dialog").get_by_test_id("field-error-flowFileExpiration")).to_be_visible()
    shoot(page, "field-errors-connect")
    page.get_by_test_id("connect-cancel").click()
    with pair_server.api() as api:
        assert len(api.get("/api/flow").json()["rootGroup"]["connections"]) == 1


def box_of(page: Any, node_id: str) -> dict[str, float]:
    box = page.locator(f'.react-flow__node[data-id="{node_id}"]').bounding_box()
    assert box is not None
    return dict(box)


def new_node_id(page: Any, known: set[str], count: int) -> str:
    nodes = page.locator(".react-flow__node")
    expect(nodes).to_have_count(count)
    ids = {nodes.nth(i).get_attribute("data-id") for i in range(count)}
    [fresh] = [i for i in ids if i not in known]
    return str(fresh)


def test_paste_lands_at_the_pointer(page: Any, pair_server: Server, shoot: Any) -> None:
    log_in(page, pair_server.url)
    still(page)
    node(page, "Gen").click()
    page.keyboard.press("Control+c")
    canvas = page.get_by_test_id("canvas").bounding_box()
    gen = box_of(page, "gen")
    # the pointer over an empty part of the canvas, left of the nodes: the copy's top-left goes there
    pointer = {"x": canvas["x"] + 40, "y": gen["y"] + gen["height"] + 60}
    assert pointer["x"] + gen["width"] < gen["x"], "the spot is clear of the original"
    page.mouse.move(pointer["x"], pointer["y"])
    page.keyboard.press("Control+v")
    first = new_node_id(page, {"gen", "log"}, 3)
    copy = box_of(page, first)
    zoom = float(page.evaluate(
        "document.querySelector('.react-flow__viewport').style.transform.match(/scale\\(([^)]+)\\)/)[1]"))
    tolerance = 16 * zoom + 2  # the grid snap
    assert abs(copy["x"] - pointer["x"]) <= tolerance and abs(copy["y"] - pointer["y"]) <= tolerance, (copy, pointer)
    overlap_x = min(copy["x"] + copy["width"], gen["x"] + gen["width"]) - max(copy["x"], gen["x"])
    overlap_y = min(copy["y"] + copy["height"], gen["y"] + gen["height"]) - max(copy["y"], gen["y"])
    assert overlap_x <= 0 or overlap_y <= 0, "the copy does not cover the original"
    shoot(page, "paste-at-pointer")
    # the pointer off the canvas (over the palette): the copy is centred in the view
    palette = page.get_by_test_id("palette").bounding_box()
    page.mouse.move(palette["x"] + 20, palette["y"] + palette["height"] - 20)
    page.keyboard.press("Control+v")
    second = new_node_id(page, {"gen", "log", first}, 4)
    centred = box_of(page, second)
    middle = {"x": canvas["x"] + canvas["width"] / 2, "y": canvas["y"] + canvas["height"] / 2}
    assert abs(centred["x"] + centred["width"] / 2 - middle["x"]) <= tolerance + 4, (centred, middle)
    assert abs(centred["y"] + centred["height"] / 2 - middle["y"]) <= tolerance + 4, (centred, middle)


QUEUED = {"flowyardFlowVersion": 1, "rootGroup": {
    "identifier": "root", "name": "Queued",
    "processors": [
        {"identifier": "gen", "name": "Gen", "type": "GenerateFlowFile", "position": {"x": 80, "y": 80},
         "schedulingPeriod": "100 ms",
         "properties": {"Batch Size": "5", "Data Format": "Text", "Custom Text": "hello"}},
        {"identifier": "log", "name": "Log", "type": "LogAttribute", "position": {"x": 80, "y": 400},
         "autoTerminatedRelationships": ["success"], "scheduledState": "STOPPED"},
        {"identifier": "broken-a", "name": "Broken A", "type": "LogAttribute", "position": {"x": 480, "y": 80},
         "autoTerminatedRelationships": ["success"], "scheduledState": "STOPPED"},
        {"identifier": "broken-b", "name": "Broken B", "type": "LogAttribute", "position": {"x": 480, "y": 400},
         "autoTerminatedRelationships": ["success"], "scheduledState": "STOPPED"},
    ],
    "connections": [{"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "log"},
                     "selectedRelationships": ["success"]}],
}}


@pytest.fixture
def queued_server(tmp_path: Path) -> Any:
    srv = start_server(tmp_path, QUEUED)
    with srv.api() as api:
        for _ in range(200):  # bounded: 20 s
            if api.get("/api/connections/c1").json()["queuedCount"] >= 10:
                break
            time.sleep(0.1)
        assert api.put("/api/processors/gen/run-state", json={"state": "STOPPED"}).status_code == 200
    yield srv
    stop_server(srv)


def test_confirmations_name_what_they_destroy_and_do_not_focus_it(page: Any, queued_server: Server,
                                                                  shoot: Any) -> None:
    with queued_server.api() as api:
        queued = api.get("/api/connections/c1").json()["queuedCount"]
    assert queued >= 10
    log_in(page, queued_server.url)
    still(page)
    expect(page.get_by_test_id("edge-queued-c1")).to_contain_text(f"{queued:,}")
    # deleting the connection: named, with its queued data; Cancel has the focus, so Enter keeps it
    page.get_by_test_id("edge-label-c1").click(button="right")
    page.get_by_test_id("menu-delete").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_contain_text(
        f"Delete connection 'success' from 'Gen' to 'Log' and drop its {queued:,} queued flowfiles ({queued * 5} B)?")
    expect(page.get_by_test_id("confirm-no")).to_be_focused()
    expect(page.get_by_test_id("confirm-yes")).not_to_be_focused()
    shoot(page, "confirm-delete-connection")
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    # deleting the source processor takes the connection and its data: both said
    node(page, "Gen").click(button="right")
    page.get_by_test_id("menu-delete").click()
    expect(dialog).to_contain_text("Delete processor 'Gen' and drop")
    expect(dialog).to_contain_text(f"connection 'success' from 'Gen' to 'Log': {queued:,} queued flowfiles")
    expect(page.get_by_test_id("confirm-no")).to_be_focused()
    page.get_by_test_id("confirm-no").click()
    # emptying the queue from the menu
    page.get_by_test_id("edge-label-c1").click(button="right")
    page.get_by_test_id("menu-empty-queue").click()
    expect(dialog).to_contain_text(f"Drop the {queued:,} queued flowfiles ({queued * 5} B) of connection 'success' "
                                   "from 'Gen' to 'Log'?")
    expect(page.get_by_test_id("confirm-no")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    # ... and from the queue panel
    page.get_by_test_id("edge-label-c1").click(button="right")
    page.get_by_test_id("menu-list-queue").click()
    page.get_by_test_id("queue-empty").click()
    expect(page.get_by_test_id("confirm-text")).to_contain_text(
        f"Drop all {queued:,} flowfiles ({queued * 5} B) waiting in connection 'success' from 'Gen' to 'Log'?")
    expect(page.get_by_test_id("confirm-no")).to_be_focused()
    shoot(page, "confirm-empty-queue")
    page.get_by_test_id("confirm-no").click()
    with queued_server.api() as api:
        conn = api.get("/api/connections/c1").json()
    assert conn["queuedCount"] == queued, "nothing was dropped by a cancelled confirmation"


def test_start_is_not_offered_for_an_invalid_component(page: Any, queued_server: Server, shoot: Any) -> None:
    log_in(page, queued_server.url)
    still(page)
    broken = node(page, "Broken A")
    expect(broken.get_by_test_id("node-invalid")).to_be_visible()
    broken.click(button="right")
    start = page.get_by_test_id("menu-start")
    expect(start).to_be_disabled()
    expect(start).to_have_attribute("title", re.compile("Cannot start Broken A: it is invalid.*Upstream", re.S))
    shoot(page, "start-invalid-menu")
    page.keyboard.press("Escape")
    broken.click()
    toolbar_start = page.get_by_test_id("btn-start")
    expect(toolbar_start).to_be_disabled()
    expect(toolbar_start).to_have_attribute("title", re.compile("Cannot start Broken A"))
    # a valid one can be started
    node(page, "Log").click()
    expect(toolbar_start).to_be_enabled()
    # the whole group: the failures, one component per line
    page.get_by_test_id("canvas").locator(".react-flow__pane").click(position={"x": 20, "y": 20})
    expect(toolbar_start).to_be_enabled()
    toolbar_start.click()
    toast = page.locator(".toast.error")
    expect(toast).to_contain_text("Broken A")
    lines = [line for line in toast.inner_text().splitlines() if line.strip()]
    assert any(line.startswith("Broken A") and "Upstream" in line for line in lines), lines
    assert any(line.startswith("Broken B") and "Upstream" in line for line in lines), lines
    assert not any("Broken A" in line and "Broken B" in line for line in lines), lines
    shoot(page, "start-failures-toast")


LABELS_OVER_NODES = """() => {
    const nodes = [...document.querySelectorAll('.react-flow__node')]
        .map((n) => ({ id: n.dataset.id, r: n.getBoundingClientRect() }));
    const labels = [...document.querySelectorAll('[data-testid^=edge-label-]')];
    if (!labels.length) return ['no labels'];
    return labels.flatMap((l) => {
        const r = l.getBoundingClientRect();
        return nodes.filter(({ r: n }) => r.left < n.right && r.right > n.left && r.top < n.bottom && r.bottom > n.top)
            .map(({ id }) => `${l.dataset.testid} over ${id}`);
    });
}"""

TIGHT = {"flowyardFlowVersion": 1, "rootGroup": {
    "identifier": "root", "name": "Tight",
    "processors": [
        {"identifier": "left", "name": "Left", "type": "GenerateFlowFile", "position": {"x": 80, "y": 80},
         "scheduledState": "STOPPED"},
        {"identifier": "right", "name": "Right", "type": "LogAttribute", "position": {"x": 352, "y": 80},
         "autoTerminatedRelationships": ["success"], "scheduledState": "STOPPED"},
        {"identifier": "below", "name": "Below", "type": "LogAttribute", "position": {"x": 80, "y": 256},
         "autoTerminatedRelationships": ["success"], "scheduledState": "STOPPED"},
    ],
    "connections": [
        {"identifier": "side", "source": {"id": "left"}, "destination": {"id": "right"},
         "selectedRelationships": ["success"]},
        {"identifier": "down", "source": {"id": "left"}, "destination": {"id": "below"},
         "selectedRelationships": ["success"]},
    ],
}}


def labels_clear_of_nodes(page: Any) -> None:
    try:
        page.wait_for_function(f"({LABELS_OVER_NODES})().length === 0", timeout=10_000)
    except Exception:
        raise AssertionError(f"edge labels over nodes: {page.evaluate(LABELS_OVER_NODES)}") from None


def test_edge_labels_do_not_sit_on_nodes(page: Any, demo_server: Server, tmp_path: Path, shoot: Any) -> None:
    log_in(page, demo_server.url)
    expect(node(page, "Retry refund")).to_be_visible()
    still(page)
    labels_clear_of_nodes(page)
    expect(page.get_by_test_id("edge-label-c-declined")).to_be_visible()
    shoot(page, "demo-labels")
    # two nodes closer than a label is wide: the label moves off the line, with a leader to it
    (tmp_path / "tight").mkdir()
    tight = start_server(tmp_path / "tight", TIGHT)
    try:
        log_in(page, tight.url)
        still(page)
        labels_clear_of_nodes(page)
        expect(page.locator(".fy-edge-leader")).to_have_count(2)  # both gaps are narrower than a label
        shoot(page, "label-beside-line")
        # dragging a node onto the other label moves that label off it
        down = page.get_by_test_id("edge-label-down").bounding_box()
        right = node(page, "Right")
        grip = right.get_by_test_id("node-name").bounding_box()
        page.mouse.move(grip["x"] + 10, grip["y"] + 5)
        page.mouse.down()
        page.mouse.move(down["x"] + down["width"] + 30, down["y"] - 10, steps=10)
        page.mouse.up()
        labels_clear_of_nodes(page)
    finally:
        stop_server(tight)


PARAMETERS = {"flowyardFlowVersion": 1, "parameterContexts": [{
    "identifier": "ctx", "name": "Shop", "parameters": [
        {"name": "greeting", "value": "hello", "sensitive": False, "description": "How to greet"},
        {"name": "output.dir", "value": "out", "sensitive": False, "description": ""},
        {"name": "api.key", "value": "s3cret", "sensitive": True, "description": ""},
    ]}], "rootGroup": {
    "identifier": "root", "name": "With parameters", "parameterContext": {"id": "ctx"},
    "processors": [{"identifier": "gen", "name": "Gen", "type": "GenerateFlowFile", "position": {"x": 80, "y": 80},
                    "scheduledState": "STOPPED", "autoTerminatedRelationships": ["success"]}],
}}


def test_what_is_typed_survives_the_types_arriving_late(page: Any, tmp_path: Path) -> None:
    """The controller service types answer after the user has begun typing into a processor's
    property: the panel lays its fields out again but keeps the text (it used to load the
    processor again and throw the text away)."""
    server = start_server(tmp_path, PARAMETERS)
    held: list[Any] = []
    page.route("**/api/controller-service-types", lambda route: held.append(route))
    try:
        log_in(page, server.url)
        still(page)
        node(page, "Gen").dblclick()
        page.get_by_test_id("tab-properties").click()
        text = page.get_by_test_id("prop-custom-text")
        text.click()
        text.press_sequentially("Hello #{")
        expect(page.get_by_test_id("param-suggestion-greeting")).to_be_visible()
        assert len(held) == 1, "the canvas asked for the controller service types once, and is still waiting"
        with page.expect_response(lambda r: r.url.endswith("/api/controller-service-types")):
            held[0].continue_()
        # the next answer for the processor (a reload, before the fix; else the 3 s poll)
        with page.expect_response(lambda r: "/api/processors/gen" in r.url, timeout=10_000):
            pass
        text.press_sequentially("gr")
        expect(text).to_have_value("Hello #{gr")
        expect(page.get_by_test_id("param-suggestions").locator("[data-testid^=param-suggestion-]")).to_have_count(1)
        text.press("Enter")
        expect(text).to_have_value("Hello #{greeting}")
        page.get_by_test_id("configure-save").click()
        with server.api() as api:
            wait = time.monotonic() + 10
            while api.get("/api/processors/gen").json()["properties"].get("custom-text") != "Hello #{greeting}":
                assert time.monotonic() < wait, "the typed text never reached the server"
                time.sleep(0.05)
    finally:
        stop_server(server)


def test_parameters_offered_after_hash_brace_and_a_new_group_asks_its_name(page: Any, tmp_path: Path,
                                                                            shoot: Any) -> None:
    server = start_server(tmp_path, PARAMETERS)
    try:
        log_in(page, server.url)
        still(page)
        node(page, "Gen").dblclick()
        page.get_by_test_id("tab-properties").click()
        text = page.get_by_test_id("prop-custom-text")
        text.click()
        text.press_sequentially("Hello #{")
        suggestions = page.get_by_test_id("param-suggestions")
        expect(suggestions.get_by_test_id("param-suggestion-greeting")).to_be_visible()
        expect(suggestions.get_by_test_id("param-suggestion-output.dir")).to_be_visible()
        expect(suggestions.get_by_test_id("param-suggestion-api.key")).to_have_count(0)  # sensitive: not here
        text.press_sequentially("gr")
        expect(suggestions.locator("[data-testid^=param-suggestion-]")).to_have_count(1)
        shoot(page, "parameter-completion")
        text.press("Enter")
        expect(text).to_have_value("Hello #{greeting}")
        # Expression Language completion is still there
        text.press_sequentially(" ${")
        expect(page.get_by_test_id("el-suggestions")).to_be_visible()
        text.press("Escape")
        page.get_by_test_id("panel-close").click()

        # a new process group asks for its name: the default is offered, an empty one refused
        page.get_by_test_id("palette-item-process-group").drag_to(
            page.get_by_test_id("canvas"), target_position={"x": 600, "y": 500})
        dialog = page.get_by_test_id("prompt-dialog")
        expect(dialog).to_contain_text("New process group")
        name = page.get_by_test_id("prompt-input")
        expect(name).to_have_value("Process group")
        name.fill("  ")
        page.get_by_test_id("prompt-ok").click()
        expect(dialog.get_by_test_id("field-error-name")).to_contain_text("cannot be empty")
        shoot(page, "new-group-name")
        name.fill("Billing")
        name.press("Enter")
        expect(node(page, "Billing")).to_be_visible()
        # cancelling adds nothing
        page.get_by_test_id("palette-item-process-group").drag_to(
            page.get_by_test_id("canvas"), target_position={"x": 300, "y": 600})
        page.get_by_test_id("prompt-cancel").click()
        expect(dialog).to_have_count(0)
        with server.api() as api:
            groups = api.get("/api/flow").json()["rootGroup"]["processGroups"]
        assert [g["name"] for g in groups] == ["Billing"]
    finally:
        stop_server(server)
