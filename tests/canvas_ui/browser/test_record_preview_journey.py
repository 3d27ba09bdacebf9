"""Records in the canvas, in Chromium against a real server: a queued CSV flowfile
shown as a table (header, types, cells) with the raw text one click away; a
Record Reader created from the property's own list and chosen; a Schema Text
checked as it is typed. Screenshots go to the test output folder and /tmp."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import Server, log_in, start_server, stop_server

pytestmark = pytest.mark.integration

CSV = "id,name,city\n1,Ann,Oslo\n2,<b>Bo</b>,Rome\n3,Cy,Lima\n"
FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"name": "Records", "processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "schedulingPeriod": "1 min",
     "properties": {"Batch Size": "1", "Custom Text": CSV, "Mime Type": "text/csv", "filename": "people.csv"}},
    {"identifier": "numbers", "type": "GenerateFlowFile", "schedulingPeriod": "1 min", "position": {"x": 400, "y": 0},
     "properties": {"Batch Size": "1", "Custom Text": "[1, 2, 3]", "Mime Type": "application/json"}},
    {"identifier": "convert", "type": "ConvertRecord", "scheduledState": "STOPPED", "position": {"x": 0, "y": 300},
     "autoTerminatedRelationships": ["success", "failure"]},
], "connections": [
    {"identifier": "q", "source": {"id": "gen"}, "destination": {"id": "convert"},
     "selectedRelationships": ["success"]},
    {"identifier": "q2", "source": {"id": "numbers"}, "destination": {"id": "convert"},
     "selectedRelationships": ["success"]},
]}}


@pytest.fixture
def records_server(tmp_path: Path) -> Any:
    srv = start_server(tmp_path, FLOW)
    yield srv
    stop_server(srv)


def _copy(shot: Path, name: str) -> None:
    shutil.copy(shot, Path("/tmp") / f"flowyard-{name}.png")


def test_queued_csv_as_a_table_and_a_reader_created_from_the_property(page: Any, records_server: Server,
                                                                     shoot: Any) -> None:
    server = records_server
    with server.api() as client:
        for _ in range(300):  # GenerateFlowFile runs at once on start: wait for its flowfiles, bounded
            if client.get("/api/connections/q/flowfiles").json() and client.get("/api/connections/q2/flowfiles").json():
                break
            page.wait_for_timeout(50)
        queued = client.get("/api/connections/q/flowfiles").json()
        numbers = client.get("/api/connections/q2/flowfiles").json()
    assert len(queued) == 1 and len(numbers) == 1
    uuid = queued[0]["uuid"]
    log_in(page, server.url)

    # the queue: view the flowfile; a CSV opens as a table
    page.goto(f"{server.url}/?queue=q")
    page.get_by_test_id(f"queue-view-{uuid}").click()
    viewer = page.get_by_test_id("content-viewer")
    expect(viewer.get_by_test_id("view-table")).to_have_attribute("aria-pressed", "true")
    table = viewer.get_by_test_id("record-table")
    expect(table).to_be_visible()
    headers = table.locator("thead th")
    expect(headers).to_have_count(4)  # the row number, then the three columns
    expect(viewer.get_by_test_id("record-col-0")).to_have_text("idINT")
    expect(viewer.get_by_test_id("record-col-1")).to_have_text("nameSTRING")
    expect(viewer.get_by_test_id("record-col-2")).to_have_text("citySTRING")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0).locator("td")).to_have_text(["1", "1", "Ann", "Oslo"])
    # markup in the data is text, never HTML
    expect(rows.nth(1).locator("td").nth(2)).to_have_text("<b>Bo</b>")
    expect(table.locator("b")).to_have_count(0)
    expect(viewer.get_by_test_id("record-meta")).to_have_text("CSV · 3 records")
    _copy(shoot(page, "record-preview-table"), "record-preview-table")
    # the raw text is one click away, and back
    viewer.get_by_test_id("view-text").click()
    expect(viewer.get_by_test_id("content-body")).to_have_text(CSV.rstrip("\n"), use_inner_text=True)
    viewer.get_by_test_id("view-table").click()
    expect(rows).to_have_count(3)

    # JSON that holds no records opens as pretty JSON; Table says why not
    page.goto(f"{server.url}/?queue=q2")
    page.get_by_test_id(f"queue-view-{numbers[0]['uuid']}").click()
    expect(viewer.get_by_test_id("view-json")).to_have_attribute("aria-pressed", "true")
    expect(viewer.get_by_test_id("content-body")).to_contain_text("[\n  1,")
    expect(viewer.get_by_test_id("view-table")).to_have_attribute("title", re.compile("record 1 is a number"))
    viewer.get_by_test_id("view-table").click()
    expect(viewer.get_by_test_id("record-error")).to_contain_text(
        "record 1 is a number, not a JSON object (record content is an array of objects or one object per line)")

    # provenance: the content GenerateFlowFile created, as a table too
    with server.api() as client:
        created = client.get(f"/api/provenance?uuid={uuid}&type=CREATE").json()
    assert len(created) == 1
    page.goto(f"{server.url}/?panel=provenance&flowfile={uuid}")
    page.get_by_test_id(f"prov-row-{created[0]['eventId']}").click()
    page.get_by_test_id("prov-content-output").click()
    after = page.get_by_test_id("prov-detail").get_by_test_id("record-table")
    expect(after.locator("tbody tr")).to_have_count(3)
    expect(after.locator("tbody tr").nth(2).locator("td")).to_have_text(["3", "3", "Cy", "Lima"])

    # ConvertRecord's Record Reader: no reader yet, so create one from the list
    page.goto(f"{server.url}/?configure=convert")
    page.get_by_test_id("tab-properties").click()
    combo = page.get_by_test_id("prop-record-reader")
    expect(combo.locator("option", has_text="Create new service…")).to_have_count(1)
    combo.select_option(label="Create new service…")
    box = page.get_by_test_id("prop-create-record-reader")
    expect(box).to_be_visible()
    box.get_by_test_id("prop-create-type-record-reader").select_option("JsonTreeReader")
    # only readers are offered for a reader
    offered = box.get_by_test_id("prop-create-type-record-reader").locator("option").all_inner_texts()
    assert "JsonTreeReader" in offered and "CSVReader" in offered and "JsonRecordSetWriter" not in offered
    box.get_by_test_id("prop-create-confirm-record-reader").click()
    expect(box).to_have_count(0)
    expect(combo.locator("option:checked")).to_contain_text("JsonTreeReader")
    _copy(shoot(page, "record-reader-created"), "record-reader-created")
    page.get_by_test_id("configure-save").click()
    with server.api() as client:
        for _ in range(200):
            reader = client.get("/api/processors/convert").json()["properties"].get("record-reader")
            if reader:
                break
            page.wait_for_timeout(50)
        services = client.get("/api/flow").json()["rootGroup"]["controllerServices"]
    assert [(s["identifier"], s["type"]) for s in services] == [(reader, "JsonTreeReader")]

    # the new reader's Schema Text: a multi-line editor that checks the Avro schema
    page.goto(f"{server.url}/?configure={reader}&kind=controller-service")
    page.get_by_test_id("tab-properties").click()
    page.get_by_test_id("prop-schema-access-strategy").select_option("schema-text-property")
    editor = page.get_by_test_id("prop-schema-text")
    assert editor.evaluate("e => e.tagName") == "TEXTAREA"
    editor.fill('{"type": "record", "name": "person", "fields": [\n  {"name": "id", "type": "int"},\n'
                '  {"name": "name", "type": "strng"}\n]}')
    check = page.get_by_test_id("prop-schema-check-schema-text")
    expect(check).to_have_text('Line 3, column 28 (schema.fields[1].type): unknown type "strng": a primitive '
                               "(null, boolean, int, long, float, double, bytes, string) or a named type defined "
                               "before it")
    check.scroll_into_view_if_needed()
    _copy(shoot(page, "schema-text-check"), "schema-text-check")
    editor.fill('{"type": "record", "name": "person", "fields": [{"name": "id", "type": "int"}]}')
    expect(check).to_have_text("An Avro record schema: person with 1 field.")
    editor.fill('{"type": "record", "name": "person",\n "fields": [{"name": "id" "type": "int"}]}')
    expect(check).to_have_text("Line 2, column 27: Not valid JSON: expected ',' or '}', found '\"'")
    editor.fill('{"type": "array", "items": "string"}')
    expect(check).to_have_text("Line 1, column 1 (schema): The schema is an array: record readers and writers need a "
                               "record schema")
    editor.fill("${avro.schema}")
    expect(check).to_have_text("Holds an expression or a parameter: the schema is checked when it is used.")
