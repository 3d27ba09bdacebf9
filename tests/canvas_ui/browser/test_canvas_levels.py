"""Journey: the canvas's levels of detail on a large flow. Zoomed far out a processor is
a box in its state's colour (its name and state kept for screen readers and tests) and
connections lose their labels; zoomed back in, every node and label shows everything
again. (How fast that is, is the `canvas_2000` benchmark's job.)"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import ROOT, log_in, start_server, stop_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def zoom_of(page: Any) -> float:
    transform = page.locator(".react-flow__viewport").evaluate("(el) => getComputedStyle(el).transform")
    return float(transform.split("(", 1)[1].split(",")[0]) if "(" in transform else 1.0


def test_zoomed_out_boxes_and_zoomed_in_detail(page: Any, tmp_path: Path, shoot: Any) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_canvas import grid_flow

    server = start_server(tmp_path, grid_flow())
    try:
        log_in(page, server.url)
        node = page.locator('.react-flow__node[data-id="p21"]')
        expect(node).to_be_visible(timeout=30_000)
        # Zoomed out below the tiny level (0.2): a box, no visible text, the label gone.
        for _ in range(12):
            if zoom_of(page) < 0.15:
                break
            page.locator(".react-flow__controls-zoomout").click()
        assert zoom_of(page) < 0.2
        expect(node.locator(".fy-proc")).to_have_class(re.compile("is-tiny"))
        expect(node.get_by_test_id("node-name")).to_have_text("Step 21")
        expect(node.get_by_test_id("node-state")).to_have_text(re.compile("RUNNING"), timeout=30_000)
        expect(node.get_by_test_id("node-stats")).to_have_count(0)
        expect(page.get_by_test_id("edge-label-c21")).to_have_count(0)
        shoot(page, "large-flow-zoomed-out")
        # Jumping to a component zooms in on it: all its detail and its connection's label are back.
        page.get_by_test_id("search-input").fill("Step 21")
        page.get_by_test_id("search-result-p21").click()
        expect(node.locator(".fy-proc")).not_to_have_class(re.compile("is-far|is-tiny"))
        expect(node.get_by_test_id("node-stats")).to_be_visible()
        expect(node.get_by_test_id("node-type")).to_have_text("UpdateAttribute")
        expect(node.get_by_test_id("node-state")).to_have_text(re.compile("RUNNING"), timeout=30_000)
        expect(page.get_by_test_id("edge-label-c21")).to_be_visible()
        shoot(page, "large-flow-zoomed-in")
    finally:
        stop_server(server)
