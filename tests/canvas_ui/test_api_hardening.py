"""Issue 10 against a real server on port 0: content that cannot run on the
app's origin, security headers, Host and Origin checks, bounded request bodies
and JSON, login off the event loop and throttled, errors per field, edits that
are saved or not applied, secrets kept from expressions."""

from __future__ import annotations

import errno
import io
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import trio

from flowyard.bootstrap.serve import serve
from flowyard.canvas_ui.auth import LoginThrottle
from flowyard.canvas_ui.content import content_disposition, served_type
from flowyard.canvas_ui.guard import APP_CSP, HostPolicy
from flowyard.runtime.sdk import RepositoryCorruptedError, StorageFullError

pytestmark = pytest.mark.integration

HTML = "<script>window.__pwned = 1</script><img src=x onerror=alert(1)>"
FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "name": "Gen", "schedulingPeriod": "1 sec",
     "properties": {"Custom Text": HTML, "Data Format": "Text", "Batch Size": "1"}},
    {"identifier": "tag", "type": "UpdateAttribute", "name": "Tag", "properties": {
        "mime.type": "${kind}", "filename": "${name}"}},
    {"identifier": "gen2", "type": "GenerateFlowFile", "name": "Gen2", "scheduledState": "STOPPED",
     "properties": {"Custom Text": "${FLOWYARD_PASSWORD}|${FLOWYARD_USERNAME}", "Data Format": "Text"}},
    {"identifier": "log", "type": "LogAttribute", "name": "Log", "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success"]},
], "connections": [
    {"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "tag"}, "selectedRelationships": ["success"]},
    {"identifier": "c2", "source": {"id": "tag"}, "destination": {"id": "log"}, "selectedRelationships": ["success"]},
    {"identifier": "c3", "source": {"id": "gen2"}, "destination": {"id": "log"}, "selectedRelationships": ["success"]},
]}}
PASSWORD = "s3cret-pass"


@pytest.fixture
async def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    monkeypatch.setenv("FLOWYARD_USERNAME", "alice")
    monkeypatch.setenv("FLOWYARD_PASSWORD", PASSWORD)
    monkeypatch.setattr("flowyard.canvas_ui.body.BODY_TIMEOUT_SECONDS", 1.0)
    initial = tmp_path / "initial.json"
    initial.write_text(json.dumps(FLOW))
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(lambda task_status: serve(tmp_path / "data", port=0, initial_flow=initial,
                                                              out=io.StringIO(), task_status=task_status))
        yield str(binds[0])
        nursery.cancel_scope.cancel()


async def login(client: httpx.AsyncClient) -> dict[str, str]:
    answer = await client.post("/api/login", json={"username": "alice", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def queued(client: httpx.AsyncClient, auth: dict[str, str], connection: str) -> list[dict[str, Any]]:
    with trio.fail_after(30):
        while not (listing := (await client.get(f"/api/connections/{connection}/flowfiles", headers=auth)).json()):
            await trio.sleep(0.05)
    return list(listing)


# -- content that cannot run ------------------------------------------------------------

@pytest.mark.parametrize(("mime", "filename", "inline", "served"), [
    ("text/html", "page.html", False, "text/html"),
    ("image/svg+xml", "logo.svg", False, "image/svg+xml"),
    ("application/xml", "doc.xml", False, "application/xml"),
    ("text/plain", "notes.txt", True, "text/plain"),
    ("application/json", "a.json", True, "application/json"),
    ("image/png", "a.png", True, "image/png"),
    ("text/plain\r\nX-Injected: 1", "x", False, "application/octet-stream"),
    ("tëxt/plain", "x", False, "application/octet-stream"),
    ("text/plain", "naïve résumé\r\n.txt", True, "text/plain"),
    ("text/plain", "日本語.txt", True, "text/plain"),
])
async def test_content_is_served_so_it_cannot_run(server: str, mime: str, filename: str, inline: bool,
                                                  served: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        auth = await login(client)
        revision = (await client.get("/api/processors/tag", headers=auth)).json()["revision"]
        props = {"mime.type": mime, "filename": filename}
        changed = await client.put("/api/processors/tag", headers=auth, json={"revision": revision,
                                                                               "properties": props})
        assert changed.status_code == 200, changed.text
        await client.delete("/api/connections/c2/flowfiles", headers=auth)
        first = (await queued(client, auth, "c2"))[0]
        assert first["attributes"]["mime.type"] == mime
        url = f"/api/connections/c2/flowfiles/{first['uuid']}/content"
        for path in (url, url + "?download=true"):
            answer = await client.get(path, headers=auth)
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"].split(";")[0] == served
            disposition = answer.headers["content-disposition"]
            assert disposition.startswith("inline" if inline and "download" not in path else "attachment")
            assert "\r" not in disposition and "\n" not in disposition
            assert answer.headers["content-security-policy"].startswith("sandbox")
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert "x-injected" not in answer.headers
        if not filename.isascii():
            assert "filename*=UTF-8''" in disposition


def test_content_headers_unit() -> None:
    assert served_type("text/plain; charset=ISO-8859-1") == "text/plain; charset=ISO-8859-1"
    assert served_type("text/plain; charset=\"x\r\ny\"") == "text/plain"
    assert served_type("") == "application/octet-stream"
    assert content_disposition("attachment", 'a"b\\c/d\x00.txt') == 'attachment; filename="a_b_c_d_.txt"; ' \
        "filename*=UTF-8''a%22b_c_d_.txt"
    assert content_disposition("inline", "plain.txt") == 'inline; filename="plain.txt"'


# -- headers, Host and Origin --------------------------------------------------------------

async def test_security_headers_on_every_response(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        auth = await login(client)
        for path, headers in (("/", {}), ("/api/health", {}), ("/api/flow", auth), ("/api/flow", {}),
                              ("/api/nope", {}), ("/assets/missing.js", {})):
            answer = await client.get(path, headers=headers)
            assert answer.headers["content-security-policy"] == APP_CSP, path
            assert "frame-ancestors 'none'" in APP_CSP and "script-src 'self';" in APP_CSP
            assert answer.headers["x-frame-options"] == "DENY"
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "no-referrer"
            assert "strict-transport-security" not in answer.headers, "HSTS only under TLS"
            if path.startswith("/api/"):
                assert answer.headers["cache-control"] == "no-store"


async def test_host_and_origin_are_checked(server: str) -> None:
    port = urlsplit(server).port
    async with httpx.AsyncClient(base_url=server) as client:
        for host in (f"evil.example:{port}", "attacker.test", f"127.0.0.1.nip.io:{port}"):
            answer = await client.get("/api/health", headers={"Host": host})
            assert answer.status_code == 421, host
            assert "--allowed-host" in answer.json()["error"]
            assert (await client.get("/", headers={"Host": host})).status_code == 421
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "[::1]", f"LOCALHOST.:{port}"):
            assert (await client.get("/api/health", headers={"Host": host})).status_code == 200, host
        auth = await login(client)
        evil = await client.post("/api/undo", headers={**auth, "Origin": "http://evil.example"})
        assert evil.status_code == 403 and "cross-origin" in evil.json()["error"]
        same = await client.post("/api/undo", headers={**auth, "Origin": f"http://127.0.0.1:{port}"})
        assert same.status_code == 400, same.text  # nothing to undo: it got through
        assert (await client.get("/api/flow", headers={**auth, "Origin": "http://evil.example"})).status_code == 200


def test_host_policy_unit() -> None:
    loopback = HostPolicy("127.0.0.1")
    assert loopback.allows("127.0.0.1:8080") and loopback.allows("[::1]:8080") and loopback.allows("localhost")
    assert loopback.allows("10.1.2.3") and loopback.allows(None)
    assert not loopback.allows("flowyard.example.com") and not loopback.allows("localhost.evil.com")
    named = HostPolicy("127.0.0.1", ["flowyard.example.com"])
    assert named.allows("FLOWYARD.example.com:443") and named.allows_origin("https://flowyard.example.com", "x")
    assert not named.allows_origin("null", "127.0.0.1:8080")
    assert HostPolicy("0.0.0.0", ["*"]).allows("anything.at.all")
    assert HostPolicy("myhost.local").allows("myhost.local:8080")


# -- request bodies ------------------------------------------------------------------------

def raw_request(server: str, request: bytes, *, then: bytes = b"", wait: float = 0.0) -> bytes:
    """Send ``request`` on a new connection, optionally more after ``wait`` s; the answer."""
    parts = urlsplit(server)
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(request)
        if then:
            import time
            time.sleep(wait)
            try:
                sock.sendall(then)
            except OSError:
                pass
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data and b'"}' in data:
                break
        return data


async def test_request_bodies_are_bounded(server: str) -> None:
    host = urlsplit(server).netloc.encode()
    huge = (b"POST /api/login HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: application/json\r\n"
            b"Content-Length: 314572800\r\n\r\n")
    answer = await trio.to_thread.run_sync(raw_request, server, huge)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    chunk = b"x" * 65536
    chunked = (b"POST /api/login HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 20)
    answer = await trio.to_thread.run_sync(raw_request, server, chunked)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    slow = (b"POST /api/login HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: application/json\r\n"
            b"Content-Length: 40\r\n\r\n{\"username\": ")
    answer = await trio.to_thread.run_sync(lambda: raw_request(server, slow, then=b'"x"', wait=3.0))
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    async with httpx.AsyncClient(base_url=server) as client:
        plain = await client.post("/api/login", content=json.dumps({"username": "alice", "password": PASSWORD}),
                                  headers={"content-type": "text/plain"})
        assert plain.status_code == 415 and "application/json" in plain.json()["error"]
        auth = await login(client)
        for text in ("[" * 5000 + "]" * 5000, '{"revision": ' + "9" * 4000 + "}", '{"revision": 1e999}',
                     '{"revision": NaN}', '{"a": ' * 150 + "1" + "}" * 150):
            answer = await client.put("/api/processors/gen", content=text,
                                      headers={**auth, "content-type": "application/json"})
            assert answer.status_code == 400, (text[:30], answer.text)
        assert (await client.get("/api/health")).status_code == 200


# -- login ---------------------------------------------------------------------------------

async def test_failed_logins_are_throttled_then_the_right_password_works(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        for _ in range(5):
            wrong = await client.post("/api/login", json={"username": "alice", "password": "wrong-guess"})
            assert wrong.status_code == 401
        refused = await client.post("/api/login", json={"username": "alice", "password": "wrong-guess"})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "too many failed logins" in refused.json()["error"]
        with trio.fail_after(30):
            while (ok := await client.post("/api/login", json={"username": "alice", "password": PASSWORD})
                   ).status_code == 429:
                await trio.sleep(0.2)
        assert ok.status_code == 200


def test_login_throttle_unit() -> None:
    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0], free=2, max_delay=60, max_user_delay=10, lockout=6,
                             lockout_seconds=900, window=900)
    for _ in range(2):
        assert throttle.retry_after("1.2.3.4", "admin") == 0
        throttle.failed("1.2.3.4", "admin")
    throttle.failed("1.2.3.4", "admin")
    assert throttle.retry_after("1.2.3.4", "admin") == 2, "2 ** (3 - 2)"
    assert throttle.retry_after("5.6.7.8", "admin") == 2, "the user waits too, from anywhere"
    assert throttle.retry_after("5.6.7.8", "bob") == 0
    for _ in range(3):
        throttle.failed("1.2.3.4", "admin")
    assert throttle.retry_after("1.2.3.4", "admin") == 900, "a client that keeps failing is locked out"
    assert throttle.retry_after("5.6.7.8", "admin") == 10, "a user is never locked out, only slowed"
    now[0] += 901
    assert throttle.retry_after("1.2.3.4", "admin") == 0, "nothing is locked for good"
    throttle.failed("1.2.3.4", None)
    throttle.succeeded("1.2.3.4", "admin")
    assert throttle.retry_after("1.2.3.4", "admin") == 0
    small = LoginThrottle(clock=lambda: now[0], max_keys=3)
    for i in range(10):
        small.failed(f"10.0.0.{i}", None)
    assert len(small._clients) == 3, "memory is bounded"


# -- errors, saving, secrets ---------------------------------------------------------------

async def test_field_errors_are_listed_in_plain_words(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        auth = await login(client)
        answer = await client.put("/api/connections/c1", headers=auth, json={
            "revision": 0, "backPressureObjectThreshold": "lots", "flowFileExpiration": "yesterday", "name": ""})
        assert answer.status_code == 400
        errors = answer.json()["errors"]
        assert [e["field"] for e in errors] == ["backPressureObjectThreshold", "flowFileExpiration"]
        assert errors[0]["message"] == "must be a whole number, found 'lots'"
        assert "request:" not in answer.json()["error"] and "connection." not in answer.json()["error"]
        named = await client.put("/api/processors/gen", headers=auth, json={"revision": 0, "name": " "})
        assert named.status_code == 400 and named.json()["errors"] == [{"field": "name",
                                                                         "message": "must not be empty"}]


async def test_an_edit_that_cannot_be_saved_answers_507_and_changes_nothing(server: str, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        auth = await login(client)
        before = (await client.get("/api/flow", headers=auth)).json()
        saved = (tmp_path / "data" / "flow.json").read_bytes()

        def disk_full(data: bytes, path: Any) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr("flowyard.runtime.service._core.write_flow_bytes", disk_full)
        for method, path, body in (
                ("POST", "/api/processors", {"type": "LogAttribute", "name": "New"}),
                ("PUT", "/api/processors/log/run-state", {"state": "RUNNING"}),
                ("PUT", "/api/processors/gen", {"revision": 0, "name": "Renamed"}),
                ("POST", "/api/process-groups", {"name": "G"})):
            answer = await client.request(method, path, headers=auth, json=body)
            assert answer.status_code == 507, answer.text
            assert "No space left on device" in answer.json()["error"]
        after = (await client.get("/api/flow", headers=auth)).json()
        strip = ("queuedCount", "queuedBytes")

        def shape(doc: Any) -> Any:
            if isinstance(doc, dict):
                return {k: shape(v) for k, v in doc.items() if k not in strip}
            return [shape(v) for v in doc] if isinstance(doc, list) else doc
        assert shape(after) == shape(before)
        assert (tmp_path / "data" / "flow.json").read_bytes() == saved


async def test_expressions_cannot_read_flowyards_own_settings(server: str, tmp_path: Path) -> None:
    import os
    assert "FLOWYARD_PASSWORD" not in os.environ, "dropped from the environment once read"
    async with httpx.AsyncClient(base_url=server) as client:
        auth = await login(client)
        await client.put("/api/processors/gen2/run-state", headers=auth, json={"state": "RUN_ONCE"})
        first = (await queued(client, auth, "c3"))[0]
        content = await client.get(f"/api/connections/c3/flowfiles/{first['uuid']}/content", headers=auth)
        assert content.text == "|", "FLOWYARD_* variables are not visible to expressions"


async def test_the_fallback_page_runs_under_the_strict_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a built canvas, the small login page's one inline script is allowed
    by its hash, and nothing else inline is."""
    import base64
    import hashlib
    import re

    monkeypatch.setattr("flowyard.canvas_ui.pages.DIST", tmp_path / "not-built")
    from flowyard.canvas_ui import pages
    page = await pages._index(None)  # type: ignore[arg-type]
    body = bytes(page.body).decode()
    scripts = re.findall(r"<script>(.*?)</script>", body, re.S)
    assert len(scripts) == 1 and "<script " not in body
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    policy = page.headers["content-security-policy"]
    assert f"script-src 'self' 'sha256-{digest}';" in policy
    assert policy.replace(f" 'sha256-{digest}'", "") == APP_CSP


async def test_odd_header_bytes_are_refused_not_crashed(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        await client.post("/api/login", json={"username": "alice", "password": PASSWORD})  # keeps the cookie
        odd = await client.post("/api/undo", headers={"X-CSRF-Token": b"caf\xe9"})
        assert odd.status_code == 403
        forged = await client.get("/api/flow", headers={"Authorization": b"Bearer caf\xe9"})
        assert forged.status_code == 401


async def test_lone_surrogates_are_refused_with_400(server: str) -> None:
    """Found by the fuzz test: a lone UTF-16 surrogate passed the parser, then
    could not be hashed (500 at login) or saved (503 on every edit)."""
    async with httpx.AsyncClient(base_url=server) as client:
        refused = await client.post("/api/login", content=b'{"username": "alice", "password": "\\ud800"}',
                                    headers={"content-type": "application/json"})
        assert refused.status_code == 400 and "surrogate" in refused.json()["error"]
        auth = await login(client)
        for path, text in (("/api/processors", '{"type": "LogAttribute", "name": "\\ud800"}'),
                           ("/api/processors", '{"type": "LogAttribute", "properties": {"\\udfff": "x"}}'),
                           ("/api/parameter-contexts", '{"name": "p", "description": "a\\udfffb"}')):
            answer = await client.post(path, content=text.encode(),
                                       headers={**auth, "content-type": "application/json"})
            assert answer.status_code == 400, (text, answer.text)
        pair = await client.post("/api/processors",
                                 content=b'{"type": "LogAttribute", "name": "\\ud83d\\ude00"}',
                                 headers={**auth, "content-type": "application/json"})
        assert pair.status_code == 201 and pair.json()["name"] == "\U0001F600", "a valid pair is one character"


@pytest.mark.parametrize(("error", "status"), [
    (RepositoryCorruptedError("the provenance table is damaged: block checksum mismatch"), 503),
    (StorageFullError("the disk is full: No space left on device"), 507)])
async def test_a_repository_that_fails_a_read_answers_json_naming_it(server: str, monkeypatch: pytest.MonkeyPatch,
                                                                     error: Exception, status: int) -> None:
    def fail(self: Any, **_: Any) -> None:
        raise error
    monkeypatch.setattr("flowyard.runtime.service.FlowService.provenance_search", fail)
    async with httpx.AsyncClient(base_url=server) as client:
        auth = await login(client)
        answer = await client.get("/api/provenance", headers=auth)
        assert answer.status_code == status, answer.text
        assert answer.json()["error"] == str(error)
        assert (await client.get("/api/health")).status_code == 200, "the server goes on"
