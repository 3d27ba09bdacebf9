"""What the API fuzz tests share: comparing the flow a server shows with the flow
it saved, and a ``flowyard serve`` process to start, log in to and stop with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from flowyard.runtime.flow import COMPONENT_KINDS, flow_to_dict, load_flow
from flowyard.runtime.sensitive import PREFIX, SecretBox

__all__ = ["LIVE_ONLY", "MASK", "PASSWORD", "SEED_FLOW", "TEST_PROCESSORS", "USER", "client_for", "definition",
           "difference", "saved_definition", "start_server", "stop_server"]

USER, PASSWORD = "alice", "s3cret-pass"
#: What the API shows instead of a sensitive value.
MASK = "********"
#: The test processors (``Secretive`` has a sensitive property), as ``FLOWYARD_PROCESSOR_MODULES`` names them.
TEST_PROCESSORS = "flowyard_test_processors:PROCESSORS"
#: Fields the API adds to a component's definition (its live state); not saved.
LIVE_ONLY = frozenset({"revision", "runState", "validationErrors", "queuedCount", "queuedBytes", "parentGroupId",
                       "state", "referencingComponents", "provides", "boundGroups", "runningCount", "stoppedCount",
                       "invalidCount", "disabledCount"})
_GROUP_LISTS = tuple(key for _, key in COMPONENT_KINDS.values())

#: A flow holding every kind of component (a sensitive property and parameter among them), for edits to act on.
SEED_FLOW = {"flowyardFlowVersion": 1, "parameterContexts": [
    {"identifier": "ctx", "name": "Settings", "parameters": [
        {"name": "plain", "value": "hello", "sensitive": False},
        {"name": "secret", "value": "hunter2!", "sensitive": True}]}],
    "rootGroup": {"identifier": "root", "name": "Fuzz", "parameterContext": {"id": "ctx"}, "processors": [
        {"identifier": "gen", "type": "GenerateFlowFile", "schedulingPeriod": "1 sec",
         "properties": {"File Size": "10 B", "greeting": "#{plain}"}},
        {"identifier": "log", "type": "LogAttribute", "scheduledState": "STOPPED",
         "autoTerminatedRelationships": ["success"]},
        {"identifier": "sec", "type": "Secretive", "scheduledState": "STOPPED",
         "properties": {"password": "#{secret}"}, "autoTerminatedRelationships": ["success"]}],
        "funnels": [{"identifier": "fun"}],
        "labels": [{"identifier": "note", "label": "fuzzed", "style": {"background-color": "#fff7d6"}}],
        "controllerServices": [{"identifier": "svc", "type": "LocalMapCacheService", "scheduledState": "ENABLED"}],
        "connections": [
            {"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "fun"},
             "selectedRelationships": ["success"]},
            {"identifier": "c2", "source": {"id": "fun"}, "destination": {"id": "in"}},
        ],
        "processGroups": [{"identifier": "child", "name": "Child", "parameterContext": {"id": "ctx"},
                           "inputPorts": [{"identifier": "in", "name": "in"}],
                           "outputPorts": [{"identifier": "out", "name": "out"}],
                           "processors": [{"identifier": "upd", "type": "UpdateAttribute",
                                           "properties": {"seen": "yes"}}],
                           "connections": [
                               {"identifier": "c3", "source": {"id": "in"}, "destination": {"id": "upd"}},
                               {"identifier": "c4", "source": {"id": "upd"}, "destination": {"id": "out"},
                                "selectedRelationships": ["success"]}]}]}}


def definition(doc: dict[str, Any]) -> dict[str, Any]:
    """A flow's JSON (``GET /api/flow`` or ``flow_to_dict``) without the live-only
    fields (only those of components: a property may be called ``state``)."""
    def component(c: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in c.items() if k not in LIVE_ONLY}

    def group(g: dict[str, Any]) -> dict[str, Any]:
        out = component(g)
        for key in _GROUP_LISTS:
            out[key] = [group(x) if key == "processGroups" else component(x) for x in g[key]]
        return out
    return {"flowyardFlowVersion": doc["flowyardFlowVersion"],
            "parameterContexts": [component(c) for c in doc["parameterContexts"]],
            "rootGroup": group(doc["rootGroup"])}


def _groups(group: dict[str, Any]) -> Iterator[dict[str, Any]]:
    stack = [group]
    while stack:
        g = stack.pop()
        yield g
        stack.extend(g["processGroups"])


def saved_definition(data_dir: Path) -> dict[str, Any]:
    """``DATA/flow.json`` as ``load_flow`` reads it (``definition``), every encrypted
    value checked to decrypt for its place, then masked as the API masks it. A
    sensitive parameter saved in plain text fails an assertion."""
    doc = flow_to_dict(load_flow(data_dir / "flow.json"))
    box = SecretBox.open(data_dir)
    for g in _groups(doc["rootGroup"]):
        for c in (*g["processors"], *g["controllerServices"]):
            for name, value in c["properties"].items():
                if isinstance(value, str) and value.startswith(PREFIX):
                    box.decrypt(value, f"{c['identifier']}/{name}")
                    c["properties"][name] = MASK
    for ctx in doc["parameterContexts"]:
        for p in ctx["parameters"]:
            if p["sensitive"] and p["value"] is not None:
                assert p["value"].startswith(PREFIX), f"sensitive parameter {p['name']!r} saved in plain text"
                box.decrypt(p["value"], f"{ctx['identifier']}/#{{{p['name']}}}")
                p["value"] = MASK
    return definition(doc)


def difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where ``a`` and ``b`` first differ (a JSON path and both values), or None."""
    if type(a) is not type(b):
        return f"{path or '/'}: {a!r:.300} != {b!r:.300}"
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return f"{path or '/'}: keys {sorted(a.keys() ^ b.keys())!r:.300} differ"
        return next((d for k in a if (d := difference(a[k], b[k], f"{path}/{k}"))), None)
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path or '/'}: {len(a)} items != {len(b)}: {a!r:.300} != {b!r:.300}"
        return next((d for i, (x, y) in enumerate(zip(a, b)) if (d := difference(x, y, f"{path}[{i}]"))), None)
    return None if a == b else f"{path or '/'}: {a!r:.300} != {b!r:.300}"


def start_server(data_dir: Path, *, initial_flow: Path | None = None) -> tuple[subprocess.Popen[str], str]:
    """``flowyard serve`` on 127.0.0.1, port 0, with the test processors: the process and its URL."""
    env = {**os.environ, "FLOWYARD_USERNAME": USER, "FLOWYARD_PASSWORD": PASSWORD,
           "FLOWYARD_PROCESSOR_MODULES": TEST_PROCESSORS,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "flowyard.bootstrap.cli", "serve", "--data-dir", str(data_dir), "--port", "0"]
    if initial_flow is not None:
        command += ["--flow", str(initial_flow)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if m := re.search(r"serving (http://127\.0\.0\.1:\d+)", line):
            return process, m.group(1)
    process.wait(30)
    raise AssertionError(f"the server did not start (exit {process.returncode}):\n{''.join(seen)[-3000:]}")


def stop_server(process: subprocess.Popen[str]) -> str:
    """Stop it with SIGTERM; what it printed meanwhile. Fails unless it stopped cleanly within 60 s."""
    process.send_signal(signal.SIGTERM)
    try:
        rest, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        rest, _ = process.communicate()
        raise AssertionError("the server did not stop within 60 s of SIGTERM:\n" + rest[-3000:]) from None
    assert process.returncode == 0 and "stopped cleanly" in rest, rest[-3000:]
    return rest


@contextmanager
def client_for(url: str) -> Iterator[httpx.Client]:
    """A client logged in with a bearer token (no cookie, so no CSRF token needed)."""
    with httpx.Client(base_url=url, timeout=120) as client:
        answer = client.post("/api/login", json={"username": USER, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        client.cookies.clear()
        client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        yield client
