"""A flow through the real engine: GenerateFlowFile → InvokeHTTP (POST) →
loopback → ListenHTTP → a connection nobody empties. ListenHTTP answers 200
only once its FlowFile is committed (InvokeHTTP never counts a success the
listening side has not queued), and 503 at once when that connection is full
(the server asks the engine whether the connection has room, as NiFi's
servlet asks ``getAvailableRelationships``)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import trio

from flowyard.processors import PROCESSORS
from flowyard.processors.listen_http import ListenHTTP
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories

pytestmark = pytest.mark.integration

THRESHOLD = 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_listening(port: int) -> None:
    """Until something accepts connections on ``port`` (the listener's on_scheduled ran)."""
    with trio.fail_after(10):
        while True:
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
            except OSError:
                await trio.sleep(0.01)
                continue
            await stream.aclose()
            return


def _flow(port: int) -> Any:
    def proc(ident: str, type_: str, properties: dict[str, str], **kw: Any) -> dict[str, Any]:
        return {"identifier": ident, "type": type_, "properties": properties, **kw}

    def conn(ident: str, src: str, dst: str, rels: list[str], **kw: Any) -> dict[str, Any]:
        return {"identifier": ident, "source": {"id": src}, "destination": {"id": dst},
                "selectedRelationships": rels, **kw}

    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [
            proc("gen", "GenerateFlowFile", {"Custom Text": "event", "Data Format": "Text"},
                 schedulingPeriod="20 ms", scheduledState="STOPPED"),
            proc("invoke", "InvokeHTTP", {"HTTP Method": "POST",
                                          "HTTP URL": f"http://127.0.0.1:{port}/contentListener",
                                          "Request Date Header Enabled": "False"},
                 autoTerminatedRelationships=["Response"]),
            proc("listen", "ListenHTTP", {"Listening Port": str(port)}),
            proc("sink", "UpdateAttribute", {}, scheduledState="STOPPED"),
        ],
        "connections": [
            conn("to-invoke", "gen", "invoke", ["success"], backPressureObjectThreshold=1),
            conn("original", "invoke", "sink", ["Original"]),
            conn("retry", "invoke", "sink", ["Retry"]),
            conn("other", "invoke", "sink", ["No Retry", "Failure"]),
            conn("received", "listen", "sink", ["success"], backPressureObjectThreshold=THRESHOLD),
        ],
    }})


async def test_listen_http_answers_after_commit_and_503_under_back_pressure() -> None:
    port = _free_port()
    engine = Engine(_flow(port), Repositories.in_memory(), registry=PROCESSORS)
    original, retry, received, other = (engine.queues[q] for q in ("original", "retry", "received", "other"))
    violations: list[tuple[int, int]] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await _wait_listening(port)
        listen = engine.nodes["listen"].configured.processor
        assert isinstance(listen, ListenHTTP)
        listen.untaken_limit = 60.0  # only the check of the connection can answer 503 in time
        engine.start_processor("gen")
        with trio.fail_after(20):
            while retry.count == 0 or received.count < THRESHOLD:  # full, and then refused
                # a 200 InvokeHTTP has seen was committed by ListenHTTP first
                if original.count > received.count:
                    violations.append((original.count, received.count))
                await trio.sleep(0.005)
        counts = (received.count, original.count, other.count)
        engine.request_stop()
    assert violations == []
    assert counts == (THRESHOLD, THRESHOLD, 0)
    refused, _ = retry.poll(10, 1 << 62)
    assert refused and all(ff.attributes["invokehttp.status.code"] == "503" for ff in refused)
    accepted, _ = received.poll(10, 1 << 62)
    assert sorted(ff.attributes["restlistener.request.uri"] for ff in accepted) == ["/contentListener"] * THRESHOLD


async def test_a_web_service_flow_handle_request_to_handle_response() -> None:
    """HandleHttpRequest → UpdateAttribute (sets the status) → HandleHttpResponse,
    sharing a StandardHttpContextMap, answering real clients through the engine."""
    import httpx

    from flowyard.processors import CONTROLLER_SERVICES

    port = _free_port()
    flow = flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "controllerServices": [{"identifier": "map", "type": "StandardHttpContextMap",
                                "properties": {"Request Expiration": "5 sec"}}],
        "processors": [
            {"identifier": "in", "type": "HandleHttpRequest",
             "properties": {"Listening Port": str(port), "HTTP Context Map": "map"}},
            {"identifier": "set", "type": "UpdateAttribute", "properties": {"status": "${http.query.param.code}"}},
            {"identifier": "out", "type": "HandleHttpResponse",
             "properties": {"HTTP Status Code": "${status}", "HTTP Context Map": "map",
                            "X-Method": "${http.method}"},
             "autoTerminatedRelationships": ["success", "failure"]},
        ],
        "connections": [
            {"identifier": "c1", "source": {"id": "in"}, "destination": {"id": "set"},
             "selectedRelationships": ["success"]},
            {"identifier": "c2", "source": {"id": "set"}, "destination": {"id": "out"},
             "selectedRelationships": ["success"]},
        ],
    }})
    engine = Engine(flow, Repositories.in_memory(), registry=PROCESSORS, service_types=CONTROLLER_SERVICES)

    def call(code: int) -> httpx.Response:
        return httpx.put(f"http://127.0.0.1:{port}/echo?code={code}", content=f"body {code}", timeout=10)

    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await _wait_listening(port)
        with trio.fail_after(20):
            answers = [await trio.to_thread.run_sync(call, code) for code in (200, 201, 404)]
        engine.request_stop()
    assert [(a.status_code, a.text, a.headers["X-Method"]) for a in answers] == [
        (200, "body 200", "PUT"), (201, "body 201", "PUT"), (404, "body 404", "PUT")]
