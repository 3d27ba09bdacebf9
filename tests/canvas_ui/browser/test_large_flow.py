"""Journey: a 500-processor group renders and stays usable (the timings are the
`canvas_500` benchmark's job, not this test's)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import ROOT, log_in, start_server, stop_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_500_processors_render_and_respond(page: Any, tmp_path: Path, shoot: Any) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_canvas import grid_flow

    server = start_server(tmp_path, grid_flow())
    try:
        log_in(page, server.url)
        expect(page.locator(".react-flow__node").first).to_be_visible(timeout=30_000)
        page.get_by_test_id("search-input").fill("Step 437")
        page.get_by_test_id("search-result-p437").click()
        chosen = page.locator('.react-flow__node[data-id="p437"]')
        expect(chosen).to_have_class(re.compile("selected"))
        expect(chosen.get_by_test_id("node-state")).to_have_text(re.compile("RUNNING"), timeout=30_000)
        page.get_by_test_id("btn-fit").click()
        shoot(page, "large-flow")
    finally:
        stop_server(server)
