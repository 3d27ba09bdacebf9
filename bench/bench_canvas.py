"""Canvas benchmark in headless Chromium (Debian's, driven by Playwright):

- ``canvas_500_first_render``: a 500-processor group (a 20 by 25 grid, each
  processor connected to the next: 499 connections, running); milliseconds
  from opening the page (already logged in) until the canvas shows its nodes
  with their live status. Target < 2,000 ms.
- ``canvas_500_frame``: milliseconds per frame (mean of the 95 % fastest) while
  the view is panned continuously for two seconds with status updates flowing.
  Target < 33 ms.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
USER, PASSWORD = "admin", "bench-pass"


def grid_flow(count: int = 500, columns: int = 20) -> dict[str, Any]:
    processors = []
    connections = []
    for i in range(count):
        processors.append({
            "identifier": f"p{i}", "name": f"Step {i}", "type": "UpdateAttribute" if i else "GenerateFlowFile",
            "position": {"x": (i % columns) * 280, "y": (i // columns) * 180},
            "properties": {"Batch Size": "5"} if i == 0 else {"step": str(i)},
            "schedulingPeriod": "200 ms" if i == 0 else "0 sec",
            "autoTerminatedRelationships": ["success"] if i == count - 1 else [],
        })
        if i:
            connections.append({"identifier": f"c{i}", "source": {"id": f"p{i - 1}"}, "destination": {"id": f"p{i}"},
                                "selectedRelationships": ["success"]})
    return {"flowyardFlowVersion": 1, "rootGroup": {"name": "500 processors", "processors": processors,
                                                     "connections": connections}}


def start(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    initial = tmp / "flow.json"
    initial.write_text(json.dumps(grid_flow()))
    log = tmp / "server.log"
    env = {**os.environ, "FLOWYARD_USERNAME": USER, "FLOWYARD_PASSWORD": PASSWORD}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flowyard.bootstrap.cli", "serve", "--data-dir",
                                 str(tmp / "data"), "--port", "0", "--flow", str(initial)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text()
        if "serving http://" in text:
            return proc, text.split("serving ", 1)[1].split()[0]
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"flowyard serve did not start: {log.read_text()}")


FRAME_PROBE = """() => new Promise((resolve) => {
  const times = []; let last = performance.now(); const end = last + 2000;
  function tick(now) {
    times.push(now - last); last = now;
    if (now < end) requestAnimationFrame(tick); else resolve(times);
  }
  requestAnimationFrame(tick);
})"""


def canvas_500() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp_name:
        proc, url = start(Path(tmp_name))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(url + "/")
                page.get_by_placeholder("User name").fill(USER)
                page.get_by_placeholder("Password").fill(PASSWORD)
                page.get_by_role("button", name="Log in").click()
                page.get_by_test_id("toolbar").wait_for(timeout=30_000)
                renders = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    page.reload()
                    page.locator(".react-flow__node").first.wait_for(timeout=30_000)
                    page.locator("[data-testid=node-state]").first.wait_for(timeout=30_000)
                    renders.append((time.perf_counter() - t0) * 1000)
                box = page.get_by_test_id("canvas").bounding_box()
                cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
                page.mouse.move(cx, cy)
                page.mouse.down()
                frames = page.evaluate_handle(FRAME_PROBE)
                for i in range(120):  # pan back and forth while the probe records frames
                    page.mouse.move(cx + (i % 40 - 20) * 12, cy + (i % 30 - 15) * 8)
                times = sorted(frames.json_value())
                page.mouse.up()
                kept = times[: max(1, int(len(times) * 0.95))]
                browser.close()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    print(f"BENCH canvas_500_first_render {sorted(renders)[1]:.0f} ms")
    print(f"BENCH canvas_500_frame {sum(kept) / len(kept):.1f} ms")


BENCHMARKS = {"canvas_500": canvas_500}
