"""The canvas says so while processing is paused for want of disk space (issue
11): a server whose pause mark is above any real free space pauses at its
first look at the disk, and the banner shows how much is free and why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import log_in, start_server, stop_server

pytestmark = [pytest.mark.integration]


def test_a_paused_repository_shows_a_banner(tmp_path: Path, page: Any, shoot: Any) -> None:
    server = start_server(tmp_path, extra_args=["--disk-pause-below", "1000 TB", "--disk-resume-above", "1000 TB"])
    try:
        log_in(page, server.url)
        banner = page.get_by_test_id("disk-banner")
        expect(banner).to_be_visible(timeout=15_000)
        expect(banner).to_contain_text("Processing is paused: the repository's disk has")
        expect(banner).to_contain_text("resumes by itself once 1000 TB are free")
        shoot(page, "disk-banner")
    finally:
        stop_server(server)
    assert "processing is paused" in (tmp_path / "server.log").read_text()
