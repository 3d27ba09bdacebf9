"""Journey: the overview of a large group. A group of more than 1,000 nodes seen whole is
drawn on one <canvas> (no React Flow node is mounted): processors in their state's colour,
full queues in red, live; hovering names a node, its menu works, panning moves the drawing,
and a double-click on a node zooms onto it, where React Flow's nodes are back.
(How fast that is, is the `canvas_2000` benchmark's job.)"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import ROOT, log_in, start_server, stop_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROC_W, PROC_H = 224, 136  # build.ts SIZES.processor

# The colour of one pixel of the overview at a point of the flow, and that point on the page.
PIXEL = """([fx, fy]) => {
  const canvas = document.querySelector('[data-testid=canvas-overview]');
  const m = new DOMMatrix(getComputedStyle(document.querySelector('.react-flow__viewport')).transform);
  const sx = m.a * fx + m.e, sy = m.d * fy + m.f;
  const dpr = canvas.width / canvas.clientWidth;
  const d = canvas.getContext('2d').getImageData(Math.floor(sx * dpr), Math.floor(sy * dpr), 1, 1).data;
  return [d[0], d[1], d[2]];
}"""
ON_PAGE = """([fx, fy]) => {
  const box = document.querySelector('.react-flow').getBoundingClientRect();
  const m = new DOMMatrix(getComputedStyle(document.querySelector('.react-flow__viewport')).transform);
  return [box.left + m.a * fx + m.e, box.top + m.d * fy + m.f];
}"""

# The theme's colours as red, green and blue (whatever notation the style sheet uses).
COLOURS = """() => {
  const style = getComputedStyle(document.documentElement);
  const ctx = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
  const out = {};
  for (const name of ['surface', 'running', 'stopped', 'invalid', 'disabled']) {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = style.getPropertyValue('--' + name).trim();
    ctx.fillRect(0, 0, 1, 1);
    out[name] = Array.from(ctx.getImageData(0, 0, 1, 1).data.slice(0, 3));
  }
  return out;
}"""


def the_flow() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_canvas import grouped_flow

    flow: dict[str, Any] = grouped_flow(flows=55)  # 1,100 processors: above the overview's 1,000
    group = flow["rootGroup"]
    # Flow 0: its step 1 stopped, so the queue into it fills (threshold: one flowfile).
    next(p for p in group["processors"] if p["identifier"] == "f0p1")["scheduledState"] = "STOPPED"
    next(c for c in group["connections"] if c["identifier"] == "f0c1")["backPressureObjectThreshold"] = 1
    return flow


def state_at(page: Any, fx: float, fy: float) -> str:
    """The state whose overview colour (35 % over the surface) is nearest the pixel at (fx, fy)."""
    pixel = page.evaluate(PIXEL, [fx, fy])
    styles = page.evaluate(COLOURS)
    surface = styles["surface"]
    best, distance = "", float("inf")
    for state in ("running", "stopped", "invalid", "disabled"):
        mix = [0.35 * c + 0.65 * s for c, s in zip(styles[state], surface, strict=True)]
        d = sum((a - b) ** 2 for a, b in zip(pixel, mix, strict=True))
        if d < distance:
            best, distance = state, d
    assert distance < 40 ** 2, f"pixel {pixel} at ({fx}, {fy}) is no state's colour"
    return best


def centre(flow: int, step: int) -> tuple[float, float]:
    """The centre of processor ``f{flow}p{step}`` (grouped_flow's layout, 10 flows a row)."""
    block_w, block_h = 4 * 280 + 320, 5 * 180 + 280
    column, row = step // 5, step % 5 if (step // 5) % 2 == 0 else 4 - step % 5
    return (flow % 10 * block_w + column * 280 + PROC_W / 2, flow // 10 * block_h + row * 180 + PROC_H / 2)


def red_on(page: Any, start: tuple[float, float], end: tuple[float, float]) -> bool:
    """Whether a pixel between two flow points (a connection's gap between its nodes) is red."""
    for i in range(1, 10):
        t = i / 10
        r, g, b = page.evaluate(PIXEL, [start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t])
        if r > 170 and g < 120 and b < 120:
            return True
    return False


def wait_until(check: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def test_overview_draws_states_and_full_queues_and_leads_in(page: Any, tmp_path: Path, shoot: Any) -> None:
    server = start_server(tmp_path, the_flow())
    try:
        log_in(page, server.url)
        overview = page.get_by_test_id("canvas-overview")
        expect(overview).to_have_attribute("data-live", "yes", timeout=60_000)
        # The whole flow in view and no React Flow node or connection mounted.
        expect(page.locator(".react-flow__node")).to_have_count(0)
        expect(page.locator(".react-flow__edge")).to_have_count(0)
        expect(overview).to_have_attribute("aria-label", re.compile(r"1,100 processors \(1,099 running, 1 stopped\)"))
        expect(overview).to_have_attribute("aria-label", re.compile(r"1,100 connections, 1 full"), timeout=30_000)

        # State colours, and the full queue in red (the one beside it is not).
        assert state_at(page, *centre(0, 0)) == "running"
        assert state_at(page, *centre(0, 1)) == "stopped"
        assert state_at(page, *centre(54, 19)) == "running"
        gap = (centre(0, 0)[0], PROC_H), (centre(0, 0)[0], 180)  # from step 0 down to step 1
        assert red_on(page, *gap)
        assert not red_on(page, (gap[0][0] + 1440, gap[0][1]), (gap[1][0] + 1440, gap[1][1]))  # flow 1's
        shoot(page, "large-flow-overview")

        # Hovering a node names it.
        x, y = page.evaluate(ON_PAGE, list(centre(0, 1)))
        page.mouse.move(x, y)
        tip = page.get_by_test_id("overview-tip")
        expect(tip).to_be_visible()
        expect(tip).to_contain_text("Flow 0 step 1")
        expect(tip).to_contain_text("stopped")

        # Its menu, from the overview: Start turns it green.
        page.mouse.click(x, y, button="right")
        expect(page.get_by_test_id("context-menu")).to_be_visible()
        page.get_by_test_id("menu-start").click()
        expect(overview).to_have_attribute("aria-label", re.compile(r"\(1,100 running\)"), timeout=30_000)
        wait_until(lambda: state_at(page, *centre(0, 1)) == "running", "the started processor is drawn green")

        # A click selects a node, Ctrl-click adds one (what Ctrl C then copies says so).
        page.keyboard.press("Escape")
        page.mouse.click(*page.evaluate(ON_PAGE, list(centre(2, 3))))
        page.keyboard.press("Control+c")
        expect(page.locator(".toast").last).to_have_text(re.compile("Copied 1 component$"))
        page.keyboard.down("Control")
        page.mouse.click(*page.evaluate(ON_PAGE, list(centre(2, 4))))
        page.keyboard.up("Control")
        page.keyboard.press("Control+c")
        expect(page.locator(".toast").last).to_have_text(re.compile("Copied 3 components"))  # and their connection

        # Panning moves the drawing with the view.
        before = page.evaluate(ON_PAGE, list(centre(0, 0)))
        page.mouse.move(x + 300, y + 200)
        page.mouse.down()
        page.mouse.move(x + 400, y + 260, steps=5)
        page.mouse.up()
        after = page.evaluate(ON_PAGE, list(centre(0, 0)))
        assert abs(after[0] - before[0] - 100) < 2 and abs(after[1] - before[1] - 60) < 2
        expect(page.locator(".react-flow__node")).to_have_count(0)
        assert state_at(page, *centre(0, 0)) == "running"

        # A double-click on a node zooms onto it: React Flow's nodes are back, that one selected.
        x, y = page.evaluate(ON_PAGE, list(centre(3, 5)))
        page.mouse.dblclick(x, y)
        expect(overview).to_have_count(0)
        chosen = page.locator('.react-flow__node[data-id="f3p5"]')
        expect(chosen).to_have_class(re.compile("selected"))
        expect(chosen.get_by_test_id("node-name")).to_have_text("Flow 3 step 5")
        expect(chosen.get_by_test_id("node-stats")).to_be_visible()
        # Only what is in view is mounted.
        assert page.locator(".react-flow__node").count() < 100

        # Fitting the whole flow again is the overview again.
        page.get_by_test_id("btn-fit").click()
        expect(overview).to_be_visible()
        expect(page.locator(".react-flow__node")).to_have_count(0)

        # Jumping to a connection from the overview: zoomed onto it, and it is selected.
        page.get_by_test_id("search-input").fill("f7c3")
        page.get_by_test_id("search-result-f7c3").click()
        expect(overview).to_have_count(0)
        expect(page.get_by_test_id("edge-label-f7c3")).to_have_class(re.compile("is-selected"))
    finally:
        stop_server(server)
