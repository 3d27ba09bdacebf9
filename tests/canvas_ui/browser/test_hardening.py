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
    node(page, "Inner").dblclick()
    expect(page).to_have_url(url + "/process-groups/inner")
    expect(page.get_by_test_id("breadcrumb-inner")).to_have_attribute("aria-current", "page")
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
