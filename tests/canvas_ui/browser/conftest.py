"""Browser tests: Debian's Chromium driven by Playwright (sync API: it does not run
under trio), against a real `flowyard serve` in a subprocess on a free port.

Screenshots go to pytest-playwright's output folder (``test-results/``); with
``FLOWYARD_DOC_SCREENSHOTS=1`` they are also copied to ``docs/img/`` (how the
pictures of docs/canvas.md are made)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser_support import CHROMIUM, CHROMIUM_ARGS, DOC_IMAGES, Server, start_server, stop_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs it (make test does)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path)
    yield srv
    stop_server(srv)


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path, demo=True)
    yield srv
    stop_server(srv)


@pytest.fixture
def shoot(output_path: str) -> Any:
    """``shoot(page, name)``: a full-window PNG in the test output folder (and in
    docs/img/ with FLOWYARD_DOC_SCREENSHOTS=1)."""
    def take(page: Any, name: str) -> Path:
        target = Path(output_path) / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target))
        if os.environ.get("FLOWYARD_DOC_SCREENSHOTS") == "1":
            DOC_IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copy(target, DOC_IMAGES / f"{name}.png")
        return target
    return take
