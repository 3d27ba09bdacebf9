"""The canvas journeys of issue 5, in Chromium against a real server. Each saves
screenshots in the test output folder (test-results/)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import Server, log_in

pytestmark = pytest.mark.integration


def node(page: Any, text: str) -> Any:
    return page.locator(".react-flow__node", has_text=text).first


def drag_from_palette(page: Any, type_name: str, x: int, y: int) -> None:
    page.get_by_test_id("palette-search").fill(type_name)
    item = page.get_by_test_id(f"palette-item-{type_name}")
    item.drag_to(page.get_by_test_id("canvas"), target_position={"x": x, "y": y})
    page.get_by_test_id("palette-search").fill("")


def connect(page: Any, source: Any, target: Any) -> None:
    start = source.locator(".react-flow__handle.source").first.bounding_box()
    end = target.locator(".react-flow__handle.target").first.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def test_build_run_inspect_and_undo_a_flow(page: Any, server: Server, shoot: Any) -> None:
    log_in(page, server.url)
    # drag GenerateFlowFile and LogAttribute from the palette
    drag_from_palette(page, "GenerateFlowFile", 260, 180)
    expect(node(page, "GenerateFlowFile")).to_be_visible()
    drag_from_palette(page, "LogAttribute", 260, 460)
    generate, log = node(page, "GenerateFlowFile"), node(page, "LogAttribute")
    expect(log).to_be_visible()
    # connect them: a single relationship is picked for us
    connect(page, generate, log)
    dialog = page.get_by_test_id("connect-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("connect-rel-success")).to_be_checked()
    page.get_by_test_id("connect-confirm").click()
    expect(page.locator("[data-testid^=edge-queued-]")).to_have_count(1)
    shoot(page, "connected")
    # set an invalid property and see the error next to the field
    generate.dblclick()
    expect(page.get_by_test_id("configure-panel")).to_be_visible()
    page.get_by_test_id("tab-properties").click()
    page.get_by_test_id("prop-batch-size").fill("0")
    page.get_by_test_id("configure-save").click()
    expect(page.get_by_test_id("prop-error-batch-size")).to_contain_text("Batch Size")
    shoot(page, "invalid-property")
    # fix it
    page.get_by_test_id("prop-batch-size").fill("5")
    page.get_by_test_id("tab-scheduling").click()
    page.get_by_test_id("sched-period").fill("1 sec")
    page.get_by_test_id("configure-save").click()
    expect(page.get_by_test_id("prop-error-batch-size")).to_have_count(0)
    page.get_by_test_id("panel-close").click()
    # start the generator; the edge's queued count and sparkline change
    generate.click(button="right")
    page.get_by_test_id("menu-start").click()
    queued = page.locator("[data-testid^=edge-queued-]").first
    expect(queued).not_to_have_text(re.compile(r"^0\b"), timeout=15_000)
    sparkline = page.locator("[data-testid^=edge-sparkline-]").first
    first_shape = sparkline.inner_html()
    expect(sparkline).not_to_have_attribute("data-points", "", timeout=15_000)
    page.wait_for_function("(s) => document.querySelector('[data-testid^=edge-sparkline-]').innerHTML !== s",
                           arg=first_shape, timeout=15_000)
    shoot(page, "running")
    # list the queue and view a flowfile's content
    page.locator("[data-testid^=edge-label-]").first.click(button="right")
    page.get_by_test_id("menu-list-queue").click()
    expect(page.get_by_test_id("queue-panel")).to_be_visible()
    first_row = page.locator("[data-testid^=queue-row-]").first
    expect(first_row).to_be_visible()
    page.locator("[data-testid^=queue-view-]").first.click()
    expect(page.get_by_test_id("content-viewer")).to_be_visible()
    shoot(page, "queue-content")
    page.get_by_test_id("panel-close").click()
    # stop it, then undo the last edit (the configuration change)
    generate.click(button="right")
    page.get_by_test_id("menu-stop").click()
    expect(generate.get_by_test_id("node-state")).to_have_text(re.compile("STOPPED"), timeout=15_000)
    page.get_by_test_id("btn-undo").click()
    # the last edit was the fix: undoing it brings back Batch Size 0, and the node says it is invalid
    expect(generate.get_by_test_id("node-invalid")).to_be_visible(timeout=15_000)
    with server.api() as api:
        processors = api.get("/api/flow").json()["rootGroup"]["processors"]
    gen = next(p for p in processors if p["type"] == "GenerateFlowFile")
    assert "0" in (gen["properties"].get("batch-size"), gen["properties"].get("Batch Size"))
    shoot(page, "after-undo")


def test_search_lineage_and_dark_theme(page: Any, demo_server: Server, shoot: Any) -> None:
    log_in(page, demo_server.url)
    expect(node(page, "Throttle orders")).to_be_visible()
    # search for a component and jump to it
    page.get_by_test_id("search-input").fill("Retry")
    page.get_by_test_id("search-result-retry").click()
    expect(page.locator('.react-flow__node[data-id="retry"]')).to_have_class(re.compile("selected"))
    # open a lineage graph from provenance
    with_events: list[Any] = []
    with demo_server.api() as api:
        for _ in range(100):  # bounded: 20 s
            with_events = api.get("/api/provenance", params={"component": "write", "limit": "1"}).json()
            if with_events:
                break
            page.wait_for_timeout(200)
    assert with_events, "the demo wrote orders"
    page.get_by_test_id("btn-provenance").click()
    expect(page.get_by_test_id("provenance-panel")).to_be_visible()
    page.get_by_test_id("prov-search-component").fill("write")
    page.get_by_test_id("prov-search-button").click()
    page.locator("[data-testid^=prov-row-]").first.click()
    page.get_by_test_id("prov-lineage").click()
    expect(page.get_by_test_id("lineage-graph")).to_be_visible()
    expect(page.locator("[data-testid^=lineage-node-]").first).to_be_visible()
    shoot(page, "lineage")
    page.get_by_test_id("panel-close").click()
    # switch to the dark theme
    page.get_by_test_id("theme-select").select_option("dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.get_by_test_id("btn-fit").click()
    page.wait_for_timeout(400)  # the fit-view animation, for a steady picture only
    shoot(page, "demo-dark")
    page.get_by_test_id("theme-select").select_option("light")
    shoot(page, "demo-light")
