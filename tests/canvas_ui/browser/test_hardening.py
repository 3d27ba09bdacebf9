"""Journeys for the canvas defects of issue 10 ("Hardening what exists"), in Chromium
against a real server: addresses for groups and panels, field errors in plain words,
paste at the pointer, confirmations that name what they destroy, no Start for an
invalid component, edge labels off the nodes, parameters offered after ``#{``, a new
group asking for its name."""

from __future__ import annotations

import re
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
    # panels: provenance, then configure, with Back and Forward
    page.get_by_test_id("btn-provenance").click()
    expect(page.get_by_test_id("provenance-panel")).to_be_visible()
    expect(page).to_have_url(url + "/process-groups/inner?panel=provenance")
    still(page)
    node(page, "Deep proc").dblclick()
    expect(page.get_by_test_id("configure-panel")).to_be_visible()
    expect(page).to_have_url(url + "/process-groups/inner?configure=deep-proc")
    page.go_back()
    expect(page.get_by_test_id("provenance-panel")).to_be_visible()
    page.go_back()
    expect(page.get_by_test_id("side-panel")).to_have_count(0)
    expect(page).to_have_url(url + "/process-groups/inner")
    page.go_forward()
    expect(page.get_by_test_id("provenance-panel")).to_be_visible()
    page.go_forward()
    expect(page.get_by_test_id("configure-panel")).to_be_visible()
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
    shoot(page, "field-errors-connection")
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
