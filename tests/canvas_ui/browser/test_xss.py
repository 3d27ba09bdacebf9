"""Journey: flowfile content is data, never code on the app's origin. A ``text/html``
flowfile whose content carries ``<script>`` and an ``onerror`` handler is viewed from
its queue and from provenance in the canvas, and its content URLs are opened directly;
no script of it may run anywhere (each would set ``window.__pwned``, change the title
and request a ``/api/pwned-…`` URL, all watched here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from browser_support import Server, log_in, start_server, stop_server

pytestmark = pytest.mark.integration

PAYLOAD = (
    "<!doctype html><html><head><title>payload</title></head><body>"
    "<script>window.__pwned = 'script'; document.title = 'PWNED'; fetch('/api/pwned-script');</script>"
    "<img src=x onerror=\"window.__pwned = 'img'; document.title = 'PWNED'; fetch('/api/pwned-img')\">"
    "<p>harmless text</p></body></html>"
)

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {
    "identifier": "root", "name": "XSS",
    "processors": [
        {"identifier": "gen", "name": "Make HTML", "type": "GenerateFlowFile", "position": {"x": 80, "y": 80},
         "schedulingPeriod": "1 sec",
         "properties": {"Batch Size": "1", "Data Format": "Text", "Custom Text": PAYLOAD, "Mime Type": "text/html"}},
        {"identifier": "sink", "name": "Sink", "type": "LogAttribute", "position": {"x": 80, "y": 400},
         "autoTerminatedRelationships": ["success"], "scheduledState": "STOPPED"},
    ],
    "connections": [{"identifier": "html", "source": {"id": "gen"}, "destination": {"id": "sink"},
                     "selectedRelationships": ["success"]}],
}}


@pytest.fixture
def xss_server(tmp_path: Path) -> Any:
    srv = start_server(tmp_path, FLOW)
    yield srv
    stop_server(srv)


def assert_no_script_ran(page: Any, requests: list[str]) -> None:
    assert page.evaluate("window.__pwned === undefined"), f"a script of the content ran in {page.url}"
    assert page.title() != "PWNED", page.url
    assert not [u for u in requests if "pwned" in u], requests


def open_directly(context: Any, url: str, requests: list[str]) -> None:
    """Open a content URL in a tab of its own, as a user following a link would: a download
    (served as an attachment) or a page whose scripts must not run."""
    tab = context.new_page()
    try:
        try:
            tab.goto(url)
        except PlaywrightError as exc:
            assert "Download is starting" in str(exc), exc  # an attachment: nothing rendered at all
        else:
            tab.wait_for_load_state("load")
            tab.wait_for_timeout(300)  # give an onerror handler its chance to fire, then look
            assert_no_script_ran(tab, requests)
    finally:
        tab.close()


def test_html_content_runs_no_script(page: Any, xss_server: Server, shoot: Any) -> None:
    requests: list[str] = []
    page.context.on("request", lambda r: requests.append(r.url))
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    with xss_server.api() as api:
        for _ in range(100):  # bounded: about 20 s
            queued = api.get("/api/connections/html/flowfiles").json()
            events = api.get("/api/provenance", params={"component": "gen", "limit": "5"}).json()
            if queued and events:
                break
            page.wait_for_timeout(200)
        assert queued and events, "the generator made an HTML flowfile"
        uuid = queued[0]["uuid"]
        assert queued[0]["attributes"]["mime.type"] == "text/html"
        event_id = events[0]["eventId"]

    log_in(page, xss_server.url)
    # from the queue
    page.get_by_test_id("edge-label-html").click(button="right")
    page.get_by_test_id("menu-list-queue").click()
    page.get_by_test_id(f"queue-view-{uuid}").click()
    body = page.get_by_test_id("content-body")
    expect(body).to_contain_text("<script>window.__pwned")  # shown as text
    expect(body).to_contain_text("onerror=")
    page.wait_for_timeout(300)
    assert_no_script_ran(page, requests)
    shoot(page, "xss-queue")
    # from provenance
    page.get_by_test_id("btn-provenance").click()
    page.get_by_test_id("prov-search-component").fill("gen")
    page.get_by_test_id("prov-search-button").click()
    page.get_by_test_id(f"prov-row-{event_id}").click()
    page.get_by_test_id("prov-content-output").click()
    expect(page.get_by_test_id("content-body")).to_contain_text("<script>window.__pwned")
    page.wait_for_timeout(300)
    assert_no_script_ran(page, requests)
    shoot(page, "xss-provenance")
    assert not violations, f"the canvas broke its Content-Security-Policy: {violations}"

    # the content URLs opened directly, with the session's cookie
    base = xss_server.url
    open_directly(page.context, f"{base}/api/connections/html/flowfiles/{uuid}/content", requests)
    open_directly(page.context, f"{base}/api/provenance/events/{event_id}/content/output", requests)
    assert_no_script_ran(page, requests)
    assert re.search(r"flowyard", page.title())
