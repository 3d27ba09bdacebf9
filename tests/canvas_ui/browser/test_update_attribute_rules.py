"""UpdateAttribute's Advanced rules editor in the configure panel, in Chromium against a real
server: add rules, conditions and actions, remove one, choose the FlowFile policy, see a
rule's problem (a condition that is not boolean) next to the rules, save, and watch the rules
apply to the flowfiles of the running flow."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import Server, log_in, start_server, stop_server

pytestmark = pytest.mark.integration

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"name": "Rules", "processors": [
    {"identifier": "gen", "name": "Generate", "type": "GenerateFlowFile", "scheduledState": "STOPPED",
     "schedulingPeriod": "1 min", "properties": {"Batch Size": "1"}},
    {"identifier": "ua", "name": "Tag", "type": "UpdateAttribute", "scheduledState": "STOPPED",
     "properties": {"kind": "default", "other": "set"}},
    {"identifier": "sink", "name": "Sink", "type": "LogAttribute", "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success"]},
], "connections": [
    {"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "ua"}, "selectedRelationships": ["success"]},
    {"identifier": "c2", "source": {"id": "ua"}, "destination": {"id": "sink"}, "selectedRelationships": ["success"]},
]}}


@pytest.fixture
def rules_server(tmp_path: Path) -> Any:
    srv = start_server(tmp_path, FLOW)
    yield srv
    stop_server(srv)


def _processor(server: Server, ident: str) -> dict[str, Any]:
    with server.api() as api:
        found: dict[str, Any] = api.get(f"/api/processors/{ident}").json()
        return found


def test_edit_rules_and_see_them_apply(page: Any, rules_server: Server, shoot: Any) -> None:
    log_in(page, rules_server.url)
    page.goto(rules_server.url + "/?configure=ua")
    expect(page.get_by_test_id("configure-panel")).to_be_visible()
    page.get_by_test_id("tab-advanced").click()
    expect(page.get_by_test_id("rules-none")).to_be_visible()

    # two rules; the second is removed again
    page.get_by_test_id("rule-add").click()
    page.get_by_test_id("rule-name-0").fill("always")
    page.get_by_test_id("rule-condition-0-0").fill("${kind}")  # not a boolean: NiFi refuses it
    page.get_by_test_id("rule-action-attribute-0-0").fill("kind")
    page.get_by_test_id("rule-action-value-0-0").fill("from-rule")
    page.get_by_test_id("rule-action-add-0").click()
    page.get_by_test_id("rule-action-attribute-0-1").fill("size")
    page.get_by_test_id("rule-action-value-0-1").fill("${fileSize}")
    page.get_by_test_id("rule-add").click()
    page.get_by_test_id("rule-name-1").fill("never")
    page.get_by_test_id("rule-condition-1-0").fill("${literal('a'):equals('b')}")
    expect(page.locator("[data-testid^=rule-name-]")).to_have_count(2)
    page.get_by_test_id("rule-remove-1").click()
    expect(page.locator("[data-testid^=rule-name-]")).to_have_count(1)
    page.get_by_test_id("rules-policy").select_option("USE_ORIGINAL")
    page.get_by_test_id("configure-save").click()

    # the rule's problem shows above the rules, naming the rule and the type
    errors = page.get_by_test_id("rules-errors")
    expect(errors).to_contain_text("Condition for rule 'always'", timeout=15_000)
    expect(errors).to_contain_text("BOOLEAN")
    shoot(page, "update-attribute-rules-invalid")

    # fix the condition with a second condition added and removed on the way
    page.get_by_test_id("rule-condition-add-0").click()
    page.get_by_test_id("rule-condition-0-1").fill("${uuid:isEmpty()}")
    page.get_by_test_id("rule-condition-remove-0-1").click()
    page.get_by_test_id("rule-condition-0-0").fill("${uuid:isEmpty():not()}")
    page.get_by_test_id("configure-save").click()
    expect(page.get_by_test_id("rules-errors")).to_have_count(0, timeout=15_000)
    shoot(page, "update-attribute-rules")

    stored = json.loads(_processor(rules_server, "ua")["properties"]["advanced-rules"])
    assert stored == {"flowFilePolicy": "USE_ORIGINAL", "rules": [{
        "name": "always", "conditions": ["${uuid:isEmpty():not()}"],
        "actions": [{"attribute": "kind", "value": "from-rule"}, {"attribute": "size", "value": "${fileSize}"}]}]}

    # run: the flowfile gets the rule's values, the other property, and the matched rule's name
    with rules_server.api() as api:
        for ident in ("ua", "gen"):
            revision = api.get(f"/api/processors/{ident}").json()["revision"]
            response = api.put(f"/api/processors/{ident}", json={"revision": revision, "scheduledState": "RUNNING"})
            assert response.status_code == 200, response.text
        listing: list[Any] = []
        deadline = time.monotonic() + 20
        while not listing and time.monotonic() < deadline:
            body = api.get("/api/connections/c2/flowfiles").json()
            listing = body.get("flowfiles", body) if isinstance(body, dict) else body
            time.sleep(0.1)
    assert listing, "the rule's flowfile reached the sink's queue"
    attributes = listing[0]["attributes"]
    assert attributes["kind"] == "from-rule"
    assert attributes["size"] == "0"
    assert attributes["other"] == "set"
    assert attributes["UpdateAttribute.matchedRule"] == "always"
