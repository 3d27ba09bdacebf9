"""Schemathesis against the OpenAPI description of a real server: no request,
however odd, gets a 5xx.

``test_no_server_errors`` uses the description the server serves, whose request
bodies are only ``{"type": "object"}``. ``test_editing_routes_with_component_schemas``
gives schemathesis what the editing routes really take (``editing_document``:
each component kind's fields with their types and limits, the ids of a flow
holding every kind, revisions, run states, group imports of flow files), so its
positive cases are edits the server applies and its negative cases break one
rule at a time; its stateful phase follows links from each creation to the
change and removal of what was created. Afterwards the flow the server shows
must be the flow it saved, and the flow it shows after a restart.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowyard.canvas_ui.app import PLURALS, RUNNABLE
from flowyard.runtime.flow import (
    BULLETIN_LEVELS,
    MAX_CONCURRENT_TASKS,
    MAX_IDENTIFIER,
    PRIORITIZERS,
    SCHEDULED_STATES,
    SCHEDULING_STRATEGIES,
    SERVICE_STATES,
)

from flow_checks import (
    SEED_FLOW,
    client_for,
    definition,
    difference,
    saved_definition,
    start_server,
    stop_server,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def schemathesis_cli() -> Path:
    cli = Path(sys.executable).parent / "schemathesis"
    return cli if cli.exists() else Path(shutil.which("schemathesis") or "schemathesis")


def test_no_server_errors(tmp_path: Path) -> None:
    env = {**os.environ, "FLOWYARD_USERNAME": "alice", "FLOWYARD_PASSWORD": "s3cret-pass"}
    server = subprocess.Popen([sys.executable, "-m", "flowyard.bootstrap.cli", "serve", "--data-dir",
                               str(tmp_path / "d"), "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert server.stdout is not None
        url = None
        for line in server.stdout:
            m = re.search(r"serving (http://127\.0\.0\.1:\d+)", line)
            if m:
                url = m.group(1)
                break
        assert url is not None
        token = httpx.post(f"{url}/api/login", json={"username": "alice", "password": "s3cret-pass"},
                           timeout=10).json()["token"]
        result = subprocess.run(
            [str(schemathesis_cli()), "run", f"{url}/api/openapi.json", "--checks", "not_a_server_error",
             "-H", f"Authorization: Bearer {token}", "--max-examples", "5", "--no-color"],
            capture_output=True, text=True, timeout=600,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


# -- what the editing routes take ------------------------------------------------------------

def seed_ids() -> dict[str, list[str]]:
    """The identifiers of ``SEED_FLOW`` by kind (the root group among the groups)."""
    keys = {"processors": "processor", "connections": "connection", "funnels": "funnel",
            "inputPorts": "input-port", "outputPorts": "output-port", "labels": "label",
            "controllerServices": "controller-service"}
    found: dict[str, list[str]] = {kind: [] for kind in PLURALS}
    found["parameter-context"] = [c["identifier"] for c in SEED_FLOW["parameterContexts"]]
    stack = [SEED_FLOW["rootGroup"]]
    while stack:
        group = stack.pop()
        found["process-group"].append(group["identifier"])
        for key, kind in keys.items():
            found[kind] += [c["identifier"] for c in group.get(key, [])]
        stack.extend(group.get("processGroups", []))
    return found


IDS = seed_ids()
IDENTIFIER = {"type": "string", "minLength": 1, "maxLength": MAX_IDENTIFIER, "pattern": "^[A-Za-z0-9._-]+$"}
NAME = {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": "\\S"}
TEXT = {"type": "string", "maxLength": 10_000}
DURATION = {"type": "string", "pattern": "^[0-9]{1,3}(\\.[0-9]{1,2})? ?(nanos|millis|ms|sec|secs|min|mins|hr|day)$"}
DATA_SIZE = {"type": "string", "pattern": "^[0-9]{1,4}(\\.[0-9])? ?(B|KB|MB|GB|TB)$"}
POSITION = {"type": "object", "required": ["x", "y"], "additionalProperties": False,
            "properties": {"x": {"type": "number", "minimum": -1e9, "maximum": 1e9},
                           "y": {"type": "number", "minimum": -1e9, "maximum": 1e9}}}
PROPERTIES = {"type": "object", "maxProperties": 20, "propertyNames": {"minLength": 1, "maxLength": 1000},
              "additionalProperties": {"type": ["string", "null"], "maxLength": 10_000}}
GROUP_ID = {"type": "string", "enum": IDS["process-group"]}
SAFE_TYPES = ["GenerateFlowFile", "UpdateAttribute", "RouteOnAttribute", "LogAttribute", "LogMessage",
              "ControlRate", "RetryFlowFile", "DetectDuplicate", "LookupAttribute", "Secretive"]
RELATIONSHIPS = ["success", "failure", "matched", "unmatched", "retry", "retries_exceeded", "duplicate",
                 "non-duplicate", "rate exceeded"]


def obj(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


def component_schemas() -> dict[str, dict[str, Any]]:
    """Each kind's JSON form (docs/flow-format.md) as JSON Schema, with the limits of
    ``flow._limits``. Values a processor works on (File Size, Batch Size) are not
    among the properties it may be given, so that what runs stays small."""
    processor = obj({
        "identifier": IDENTIFIER, "name": NAME, "type": {"enum": SAFE_TYPES}, "position": POSITION,
        "properties": {**PROPERTIES, "propertyNames": {"minLength": 1, "maxLength": 1000,
                                                        "not": {"enum": ["file-size", "File Size", "batch-size",
                                                                         "Batch Size"]}}},
        "schedulingStrategy": {"enum": [s for s in SCHEDULING_STRATEGIES if s != "CRON_DRIVEN"]},
        "schedulingPeriod": DURATION,
        "concurrentlySchedulableTaskCount": {"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENT_TASKS},
        "runDuration": {"type": "string", "enum": ["0 ms", "25 ms", "1 sec", "60 sec"]},
        "penaltyDuration": DURATION, "yieldDuration": DURATION,
        "autoTerminatedRelationships": {"type": "array", "maxItems": 4, "items": {"enum": RELATIONSHIPS}},
        "scheduledState": {"enum": list(SCHEDULED_STATES)}, "comments": TEXT,
        "bulletinLevel": {"enum": list(BULLETIN_LEVELS)}}, "type")
    ends = [i for kind in ("processor", "funnel", "input-port", "output-port") for i in IDS[kind]]
    connection = obj({
        "identifier": IDENTIFIER, "name": TEXT,
        "source": obj({"id": {"enum": ends}}, "id"), "destination": obj({"id": {"enum": ends}}, "id"),
        "selectedRelationships": {"type": "array", "minItems": 1, "maxItems": 3, "uniqueItems": True,
                                  "items": {"enum": RELATIONSHIPS}},
        "backPressureObjectThreshold": {"type": "integer", "minimum": 0, "maximum": 1_000_000_000},
        "backPressureDataSizeThreshold": DATA_SIZE, "flowFileExpiration": DURATION,
        "prioritizers": {"type": "array", "uniqueItems": True, "items": {"enum": list(PRIORITIZERS)}},
        "bends": {"type": "array", "maxItems": 5, "items": POSITION}}, "source", "destination")
    port = obj({"identifier": IDENTIFIER, "name": NAME, "position": POSITION,
                "scheduledState": {"enum": list(SCHEDULED_STATES)}, "comments": TEXT})
    colour = {"type": "string", "pattern": "^(#[0-9a-fA-F]{6}|[a-z]{3,12})$"}
    label = obj({"identifier": IDENTIFIER, "label": TEXT, "position": POSITION,
                 "width": {"type": "number", "exclusiveMinimum": 0, "maximum": 1e9},
                 "height": {"type": "number", "exclusiveMinimum": 0, "maximum": 1e9},
                 "style": obj({"background-color": colour, "color": colour,
                               "font-size": {"type": "string", "pattern": "^[0-9]{1,3}px$"}})})
    service = obj({"identifier": IDENTIFIER, "name": NAME,
                   "type": {"enum": ["LocalMapCacheService", "SimpleKeyValueLookupService"]},
                   "properties": PROPERTIES, "scheduledState": {"enum": list(SERVICE_STATES)}, "comments": TEXT},
                  "type")
    context_ref = {"anyOf": [obj({"id": {"enum": IDS["parameter-context"]}}, "id"), {"type": "null"}]}
    group = obj({"identifier": IDENTIFIER, "name": NAME, "position": POSITION, "comments": TEXT,
                 "parameterContext": context_ref,
                 "processors": {"type": "array", "maxItems": 3, "items": {"$ref": "#/components/schemas/processor"}},
                 "funnels": {"type": "array", "maxItems": 2, "items": {"$ref": "#/components/schemas/funnel"}},
                 "inputPorts": {"type": "array", "maxItems": 2, "items": {"$ref": "#/components/schemas/port"}},
                 "outputPorts": {"type": "array", "maxItems": 2, "items": {"$ref": "#/components/schemas/port"}},
                 "labels": {"type": "array", "maxItems": 2, "items": {"$ref": "#/components/schemas/label"}},
                 "processGroups": {"type": "array", "maxItems": 2,
                                   "items": {"$ref": "#/components/schemas/process-group"}}})
    parameter = obj({"name": {"type": "string", "pattern": "^[A-Za-z0-9 ._-]{1,30}$"},
                     "value": {"type": ["string", "null"], "maxLength": 1000}, "sensitive": {"type": "boolean"},
                     "description": TEXT}, "name")
    context = obj({"identifier": IDENTIFIER, "name": NAME, "description": TEXT,
                   "parameters": {"type": "array", "maxItems": 5, "items": parameter}}, "name")
    flow_file = obj({"flowyardFlowVersion": {"const": 1},
                     "parameterContexts": {"type": "array", "maxItems": 2, "items": context},
                     "rootGroup": {"$ref": "#/components/schemas/process-group"}}, "flowyardFlowVersion", "rootGroup")
    return {"processor": processor, "connection": connection, "funnel": obj({"identifier": IDENTIFIER,
                                                                              "position": POSITION}),
            "input-port": port, "output-port": port, "port": port, "label": label, "controller-service": service,
            "process-group": group, "parameter-context": context, "flow-file": flow_file}


def editing_document(served: dict[str, Any]) -> dict[str, Any]:
    """The served OpenAPI description cut down to the routes that edit the flow, each
    with the body it takes, its path parameter limited to ids that exist, DELETE's
    query parameters, and links from a creation to the change and removal of what
    it created (for schemathesis's stateful phase). What ``openapi_document`` should
    say of these routes."""
    doc = copy.deepcopy(served)
    schemas = component_schemas()
    doc["components"]["schemas"] = {k: v for k, v in schemas.items() if k != "flow-file"}
    ref = {kind: {"$ref": f"#/components/schemas/{kind}"} for kind in schemas if kind != "flow-file"}
    paths: dict[str, Any] = {}
    items: list[dict[str, Any]] = []  # the items of POST /api/edits, per kind and action

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    def ident(kind: str) -> list[dict[str, Any]]:
        return [{"name": "component_id", "in": "path", "required": True,
                 "schema": {"type": "string", "enum": IDS[kind]}}]

    for kind, plural in PLURALS.items():
        base, item = f"/api/{plural}", f"/api/{plural}/{{component_id}}"
        create = doc["paths"][base]["post"]
        create["requestBody"] = body(ref[kind] if kind == "parameter-context" else {  # in the root group, or
            **schemas[kind], "properties": {**schemas[kind]["properties"], "parentGroupId": GROUP_ID}})  # this one
        operation = create["operationId"].replace("create_", "")
        create["responses"]["201"] = {"description": "created", "links": {
            "Change": {"operationId": f"update_{operation}",
                       "parameters": {"component_id": "$response.body#/identifier"}},
            "Remove": {"operationId": f"delete_{operation}",
                       "parameters": {"component_id": "$response.body#/identifier", "revision": 0}}}}
        paths[base] = {"post": create}
        update = doc["paths"][item]["put"]
        changes = copy.deepcopy(schemas[kind])
        if kind == "process-group":  # a group's own fields; its contents change through their own routes
            changes["properties"] = {k: v for k, v in changes["properties"].items()
                                     if k in ("name", "position", "comments", "parameterContext")}
        if kind == "connection":  # its source cannot change
            del changes["properties"]["source"]
        changes["properties"]["revision"] = {"type": "integer", "minimum": 0, "maximum": 3}
        changes["required"] = ["revision"]
        update["requestBody"] = body(changes)
        update["parameters"] = ident(kind)
        delete = doc["paths"][item]["delete"]
        delete["parameters"] = [*ident(kind),
                                {"name": "revision", "in": "query", "required": True,
                                 "schema": {"type": "integer", "minimum": 0, "maximum": 3}},
                                {"name": "drop", "in": "query", "schema": {"enum": ["true", "false"]}}]
        paths[item] = {"put": update, "delete": delete}
        items.append(obj({"action": {"enum": ["create"]}, "kind": {"enum": [kind]},
                          "data": create["requestBody"]["content"]["application/json"]["schema"]},
                         "action", "kind", "data"))
        items.append(obj({"action": {"enum": ["update"]}, "kind": {"enum": [kind]},
                          "id": {"enum": IDS[kind]}, "revision": {"type": "integer", "minimum": 0, "maximum": 3},
                          "changes": {k: v for k, v in changes.items() if k != "required"}},
                         "action", "kind", "id", "revision", "changes"))
        items.append(obj({"action": {"enum": ["delete"]}, "kind": {"enum": [kind]}, "id": {"enum": IDS[kind]},
                          "revision": {"type": "integer", "minimum": 0, "maximum": 3}, "drop": {"type": "boolean"}},
                         "action", "kind", "id", "revision"))
        if kind in RUNNABLE:
            states = ["RUNNING", "STOPPED", "DISABLED", "ENABLED"] + (["RUN_ONCE"] if kind == "processor" else [])
            run = doc["paths"][f"{item}/run-state"]["put"]
            run["requestBody"] = body(obj({"state": {"enum": states}}, "state"))
            run["parameters"] = ident(kind)
            paths[f"{item}/run-state"] = {"put": run}
    every_id = sorted({i for ids in IDS.values() for i in ids})
    selection = doc["paths"]["/api/run-state"]["put"]
    selection["requestBody"] = body(obj({"ids": {"type": "array", "maxItems": 5, "items": {"enum": every_id}},
                                         "state": {"enum": ["RUNNING", "STOPPED", "DISABLED", "ENABLED"]}},
                                        "ids", "state"))
    paths["/api/run-state"] = {"put": selection}
    service_state = doc["paths"]["/api/controller-services/{component_id}/state"]["put"]
    service_state["requestBody"] = body(obj({"state": {"enum": list(SERVICE_STATES)},
                                             "stopReferencing": {"type": "boolean"}}, "state"))
    service_state["parameters"] = ident("controller-service")
    paths["/api/controller-services/{component_id}/state"] = {"put": service_state}
    imports = doc["paths"]["/api/process-groups/{component_id}/import"]["post"]
    imports["requestBody"] = body(obj({"flow": schemas["flow-file"], "position": POSITION}, "flow"))
    imports["parameters"] = ident("process-group")
    paths["/api/process-groups/{component_id}/import"] = {"post": imports}
    edits = doc["paths"]["/api/edits"]["post"]
    edits["requestBody"] = body(obj({"description": {"type": "string", "maxLength": 200},
                                     "edits": {"type": "array", "minItems": 1, "maxItems": 4,
                                               "items": {"oneOf": items}}}, "edits"))
    paths["/api/edits"] = {"post": edits}
    move = doc["paths"]["/api/process-groups/{component_id}/move"]["post"]
    move["requestBody"] = body(obj({"ids": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"enum": every_id}},
                                    "positions": {"type": "object", "additionalProperties": POSITION}}, "ids"))
    move["parameters"] = ident("process-group")
    paths["/api/process-groups/{component_id}/move"] = {"post": move}
    for path in ("/api/undo", "/api/redo"):  # no body
        paths[path] = {"post": {k: v for k, v in doc["paths"][path]["post"].items() if k != "requestBody"}}
    doc["paths"] = paths
    return doc


def test_editing_routes_with_component_schemas(tmp_path: Path) -> None:
    """Schemathesis on the editing routes, told what they take: no 5xx, and the
    flow shown afterwards is the flow saved, and the flow shown after a restart."""
    data_dir, seed = tmp_path / "data", tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED_FLOW))
    process, url = start_server(data_dir, initial_flow=seed)
    try:
        with client_for(url) as client:
            document = editing_document(client.get("/api/openapi.json").json())
            token = client.headers["Authorization"]
        (tmp_path / "editing.json").write_text(json.dumps(document))
        result = subprocess.run(
            [str(schemathesis_cli()), "run", str(tmp_path / "editing.json"), "--url", url,
             "--checks", "not_a_server_error", "-H", f"Authorization: {token}", "--max-examples", "8",
             "--seed", "10", "--generation-database", "none", "--no-color", "--workers", "1",
             "--suppress-health-check", "all", "--request-timeout", "60"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,
        )
        fuzzed = result.stdout[-6000:] + result.stderr[-2000:]
        if result.returncode == 0:
            with client_for(url) as client:
                live = definition(client.get("/api/flow").json())
            saved = saved_definition(data_dir)
    finally:
        output = stop_server(process)
    assert result.returncode == 0, fuzzed + "\nthe server said:\n" + output[-6000:]
    assert "Traceback" not in output, output[-3000:]
    where = difference(live, saved)
    assert where is None, f"live flow != saved flow at {where}"
    process, url = start_server(data_dir)
    try:
        with client_for(url) as client:
            restarted = definition(client.get("/api/flow").json())
    finally:
        stop_server(process)
    where = difference(live, restarted)
    assert where is None, f"flow before != after the restart at {where}"


def test_editing_document_names_every_editing_route() -> None:
    """The cut-down description keeps every editing route of the served one (a new
    editing route must get its body here too)."""
    from flowyard.canvas_ui.app import openapi_document
    served = openapi_document()
    editing = editing_document(served)
    wanted = {(path, method) for path, ops in served["paths"].items() for method in ops
              if method in ("post", "put", "delete") and not path.startswith(("/api/login", "/api/logout",
                                                                             "/api/provenance",
                                                                             "/api/connections/{connection_id}",
                                                                             # node actions: 404 on a single node
                                                                             "/api/cluster"))}
    kept = {(path, method) for path, ops in editing["paths"].items() for method in ops}
    assert wanted == kept, wanted ^ kept
    assert all(op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema") != {
        "type": "object"} for ops in editing["paths"].values() for op in ops.values()), \
        "every editing route says what it takes"
