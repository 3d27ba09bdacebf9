"""HandleHttpRequest + HandleHttpResponse + StandardHttpContextMap: a web
service on loopback, with the two processors in their own runners sharing one
context map."""

from __future__ import annotations

import io
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from flowyard_http_testkit import make_pki

from flowyard.processors.handle_http_request import HandleHttpRequest
from flowyard.processors.handle_http_response import HandleHttpResponse
from flowyard.processors.http_context_map import HttpRequestContext, StandardHttpContextMap
from flowyard.processors.ssl_context_service import StandardSSLContextService
from flowyard.runtime.sdk import ConfigurationError, ProvenanceEventType
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner


class Call:
    """A request made in a background thread."""

    def __init__(self, fn: Callable[[], httpx.Response]) -> None:
        self.result: httpx.Response | BaseException | None = None
        self.done = threading.Event()

        def run() -> None:
            try:
                self.result = fn()
            except BaseException as exc:  # handed to the test
                self.result = exc
            finally:
                self.done.set()

        threading.Thread(target=run, daemon=True).start()

    def response(self, timeout: float = 5.0) -> httpx.Response:
        assert self.done.wait(timeout), "no answer in time"
        assert isinstance(self.result, httpx.Response), self.result
        return self.result


@dataclass
class Service:
    """Both processors, one shared context map."""

    request: ProcessorRunner
    response: ProcessorRunner
    context_map: StandardHttpContextMap
    port: int = 0
    calls: list[Call] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def receive(self, call: Call | None, limit: int = 50) -> MockFlowFile:
        """Trigger HandleHttpRequest until the request is a FlowFile (``call``: the
        client's request, which must not be answered before)."""
        for _ in range(limit):
            self.request.run(1, stop_on_finish=False, initialize=False)
            received = self.request.flowfiles_for("success")
            if received:
                self.request.clear_transfer_state()
                return received[0]
            assert call is None or not call.done.is_set(), f"answered before it was received: {call.result}"
        raise AssertionError("the request never became a FlowFile")

    def answer(self, ff: MockFlowFile, content: bytes | None = None, **attributes: str) -> None:
        self.response.enqueue(ff.content if content is None else content, {**ff.attributes, **attributes})
        self.response.run(1, stop_on_finish=False)


def _map_properties(**overrides: str) -> dict[str, str | None]:
    return {"Maximum Outstanding Requests": "5000", "Request Expiration": "1 min", **overrides}


@pytest.fixture
def make_service() -> Iterator[Callable[..., Service]]:
    made: list[Service] = []

    def make(map_properties: dict[str, str] | None = None, **request_properties: str) -> Service:
        shared = StandardHttpContextMap()
        request = ProcessorRunner(HandleHttpRequest)
        response = ProcessorRunner(HandleHttpResponse)
        for runner in (request, response):
            runner.add_controller_service("map", shared, _map_properties(**(map_properties or {})))
            runner.enable_controller_service("map")
            runner.set_property("HTTP Context Map", "map")
        request.set_property("Listening Port", "0")
        for name, value in request_properties.items():
            request.set_property(name, value)
        response.set_property("HTTP Status Code", "${status}")
        request.run(0, stop_on_finish=False)
        processor = request.processor
        assert isinstance(processor, HandleHttpRequest) and processor.port
        service = Service(request, response, shared, processor.port)
        made.append(service)
        return service

    yield make
    for service in made:
        service.request.stop()
        service.response.stop()
        service.context_map.on_disabled()


@pytest.mark.integration
def test_a_request_is_answered_by_handle_http_response(make_service: Callable[..., Service]) -> None:
    service = make_service(**{"Parameters to Attributes": "q,form"})
    service.response.set_property("X-Served-By", "flowyard-${who}")
    service.response.set_property("Attributes for HTTP Response", "reply\\..*")
    call = Call(lambda: httpx.post(service.url("/api/items?q=1&q=2&empty="), content=b"form=yes&other=no",
                                   headers={"Content-Type": "application/x-www-form-urlencoded",
                                            "X-Trace": "t-1"}, timeout=5))
    ff = service.receive(call)
    ff.assert_content_equals(b"form=yes&other=no")
    for key, value in {"http.method": "POST", "http.request.uri": "/api/items", "http.query.string": "q=1&q=2&empty=",
                       "http.query.param.q": "1", "http.query.param.empty": "", "http.param.q": "1",
                       "http.param.form": "yes", "http.headers.X-Trace": "t-1", "http.remote.host": "127.0.0.1",
                       "http.server.port": str(service.port), "http.protocol": "HTTP/1.1",
                       "mime.type": "application/x-www-form-urlencoded",
                       "http.request.url": service.url("/api/items")}.items():
        ff.assert_attribute_equals(key, value)
    identifier = ff.attributes["http.context.identifier"]
    assert service.context_map.get(identifier) is not None
    service.answer(ff, b'{"ok": true}', status="201", who="me", **{"reply.kind": "json", "other": "no"})
    response = call.response()
    assert response.status_code == 201
    assert response.content == b'{"ok": true}'
    assert response.headers["X-Served-By"] == "flowyard-me"
    assert response.headers["reply.kind"] == "json" and "other" not in response.headers
    service.response.assert_all_transferred("success", 1)
    assert service.context_map.get(identifier) is None
    assert service.response.provenance_events(ProvenanceEventType.SEND)
    assert service.request.provenance_events(ProvenanceEventType.RECEIVE)


@pytest.mark.integration
@pytest.mark.parametrize(("method", "path", "status"), [
    ("HEAD", "/", 405), ("OPTIONS", "/", 405), ("PATCH", "/", 405), ("GET", "/private/x", 404)])
def test_methods_and_paths_that_are_not_allowed(make_service: Callable[..., Service], method: str, path: str,
                                                status: int) -> None:
    service = make_service(**{"Allowed Paths": "/public/.*"})
    assert httpx.request(method, service.url(path), timeout=5).status_code == status


@pytest.mark.integration
def test_additional_methods_and_allow_flags(make_service: Callable[..., Service]) -> None:
    service = make_service(**{"Additional HTTP Methods": "purge, PROPFIND", "Allow GET": "false"})
    assert httpx.get(service.url(), timeout=5).status_code == 405
    call = Call(lambda: httpx.request("PURGE", service.url("/cache"), timeout=5))
    ff = service.receive(call)
    ff.assert_attribute_equals("http.method", "PURGE")
    service.answer(ff, b"", status="204")
    assert call.response().status_code == 204


@pytest.mark.integration
def test_full_container_queue_answers_503(make_service: Callable[..., Service]) -> None:
    service = make_service(**{"Container Queue Size": "1"})
    first = Call(lambda: httpx.get(service.url("/1"), timeout=5))
    processor = service.request.processor
    assert isinstance(processor, HandleHttpRequest)
    for _ in range(500):  # the first waits in the queue, untaken
        if len(processor._intake):
            break
        first.done.wait(0.01)
    assert httpx.get(service.url("/2"), timeout=5).status_code == 503
    ff = service.receive(first)
    service.answer(ff, b"first", status="200")
    assert first.response().content == b"first"


@pytest.mark.integration
def test_maximum_outstanding_requests_answers_503(make_service: Callable[..., Service]) -> None:
    service = make_service({"Maximum Outstanding Requests": "1"})
    first = Call(lambda: httpx.get(service.url("/1"), timeout=5))
    ff = service.receive(first)
    second = Call(lambda: httpx.get(service.url("/2"), timeout=5))
    for _ in range(50):
        service.request.run(1, stop_on_finish=False, initialize=False)
        if second.done.is_set():
            break
    assert second.response().status_code == 503
    assert service.request.flowfiles_for("success") == []
    assert service.request.bulletins
    service.answer(ff, b"", status="200")
    assert first.response().status_code == 200


@pytest.mark.integration
def test_expired_requests_get_503_and_a_late_response_fails(make_service: Callable[..., Service]) -> None:
    service = make_service({"Request Expiration": "200 ms"})
    call = Call(lambda: httpx.get(service.url("/slow"), timeout=5))
    ff = service.receive(call)
    assert call.response().status_code == 503
    service.answer(ff, b"too late", status="200")
    service.response.assert_all_transferred("failure", 1)


@pytest.mark.parametrize(("attributes", "reason"), [
    ({"status": "200"}, "did not have an 'http.context.identifier'"),
    ({"status": "abc", "http.context.identifier": "x"}, "not a valid number"),
    ({"status": "999", "http.context.identifier": "x"}, "not a valid number"),
    ({"status": "100", "http.context.identifier": "x"}, "not a valid number"),
    ({"status": "200", "http.context.identifier": "unknown"}, "could not find an HTTP Response Object"),
])
def test_handle_http_response_failures(attributes: dict[str, str], reason: str) -> None:
    runner = ProcessorRunner(HandleHttpResponse)
    runner.add_controller_service("map", StandardHttpContextMap, _map_properties())
    runner.enable_controller_service("map")
    runner.set_property("HTTP Context Map", "map")
    runner.set_property("HTTP Status Code", "${status}")
    runner.enqueue(b"x", attributes)
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert reason in runner.bulletins[-1][1]
    runner.disable_controller_service("map")


def test_handle_http_response_needs_a_context_map() -> None:
    runner = ProcessorRunner(HandleHttpResponse)
    runner.set_property("HTTP Status Code", "200")
    runner.assert_not_valid()
    runner.set_property("HTTP Context Map", "nowhere")
    runner.assert_not_valid()


@pytest.mark.integration
def test_the_port_is_released_on_stop(make_service: Callable[..., Service]) -> None:
    service = make_service()
    port = service.port
    service.request.stop()
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))


class _Context(HttpRequestContext):
    def __init__(self) -> None:
        self.answers: list[int] = []

    @property
    def request_uri(self) -> str:
        return "http://test/"

    def respond(self, status: int, headers: object, body: bytes) -> bool:  # type: ignore[override]
        self.answers.append(status)
        return True


def test_context_map_bounds_expires_and_answers_on_disable() -> None:
    runner = ProcessorRunner(HandleHttpResponse)
    context_map = runner.add_controller_service("map", StandardHttpContextMap,
                                                _map_properties(**{"Maximum Outstanding Requests": "2",
                                                                   "Request Expiration": "10 sec"}))
    assert isinstance(context_map, StandardHttpContextMap)
    runner.enable_controller_service("map")
    a, b, c = _Context(), _Context(), _Context()
    assert context_map.register("a", a) and context_map.register("b", b)
    assert not context_map.register("c", c)
    assert context_map.get("a") is a and context_map.size() == 2
    context_map.complete("a")
    assert context_map.get("a") is None
    assert context_map.expire(now=10**9) == 1 and b.answers == [503]
    assert context_map.register("c", c)
    runner.disable_controller_service("map")
    assert c.answers == [503]
    assert context_map.request_timeout == 10.0


@pytest.mark.integration
def test_a_request_whose_session_is_rolled_back_gets_503(make_service: Callable[..., Service],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    service = make_service()
    processor = service.request.processor
    assert isinstance(processor, HandleHttpRequest)

    def broken(identifier: str, incoming: object) -> dict[str, str]:
        raise RuntimeError("boom")

    monkeypatch.setattr(processor, "_attributes", broken)
    call = Call(lambda: httpx.get(service.url("/x"), timeout=5))
    for _ in range(50):
        if call.done.is_set():
            break
        service.request.run(1, stop_on_finish=False, initialize=False, raise_errors=False)
    assert call.response().status_code == 503
    assert service.context_map.size() == 0


@pytest.mark.integration
def test_multipart_requests_become_one_flowfile_per_part(make_service: Callable[..., Service]) -> None:
    service = make_service(**{"Multipart Request Max Size": "10 KB"})
    binary = bytes(range(256))
    call = Call(lambda: httpx.post(service.url("/upload"), data={"p1": "v1"}, timeout=5,
                                   files={"file1": ("my-file-text.txt", b"text file", "text/plain"),
                                          "blob": ("b.bin", binary, "application/octet-stream")}))
    for _ in range(50):
        service.request.run(1, stop_on_finish=False, initialize=False)
        if service.request.flowfiles_for("success"):
            break
    parts = {ff.attributes["http.multipart.name"]: ff for ff in service.request.flowfiles_for("success")}
    assert sorted(parts) == ["blob", "file1", "p1"]
    assert len({ff.attributes["http.context.identifier"] for ff in parts.values()}) == 1
    assert service.context_map.size() == 1
    parts["p1"].assert_content_equals(b"v1")
    parts["p1"].assert_attribute_equals("http.multipart.fragments.sequence.number", "1")
    parts["p1"].assert_attribute_equals("http.multipart.fragments.total.number", "3")
    parts["p1"].assert_attribute_equals("http.multipart.content.type", None)
    parts["p1"].assert_attribute_exists("http.headers.multipart.Content-Disposition")
    parts["file1"].assert_attribute_equals("http.multipart.filename", "my-file-text.txt")
    parts["file1"].assert_attribute_equals("http.headers.multipart.Content-Type", "text/plain")
    parts["blob"].assert_content_equals(binary)
    parts["blob"].assert_attribute_equals("http.multipart.size", "256")
    service.answer(parts["p1"], b"all parts", status="200")
    assert call.response().content == b"all parts"


@pytest.mark.integration
def test_oversized_multipart_is_answered_400(make_service: Callable[..., Service]) -> None:
    service = make_service(**{"Multipart Request Max Size": "1 KB"})
    call = Call(lambda: httpx.post(service.url("/upload"), files={"f": ("f", b"x" * 5000)}, timeout=5))
    for _ in range(50):
        if call.done.is_set():
            break
        service.request.run(1, stop_on_finish=False, initialize=False)
    assert call.response().status_code == 400
    assert service.request.flowfiles_for("success") == [] and service.context_map.size() == 0


@pytest.mark.integration
def test_large_responses_stream_and_a_vanished_client_is_a_failure(make_service: Callable[..., Service]) -> None:
    service = make_service()
    big = bytes(range(256)) * 20_000  # 5 MB
    call = Call(lambda: httpx.get(service.url("/big"), timeout=10))
    service.answer(service.receive(call), big, status="200")
    response = call.response()
    assert response.status_code == 200 and response.content == big
    service.response.assert_all_transferred("success", 1)

    with socket.create_connection(("127.0.0.1", service.port), timeout=5) as gone:
        gone.sendall(b"GET /gone HTTP/1.1\r\nHost: x\r\n\r\n")
        ff = service.receive(None)
    service.answer(ff, big * 4, status="200")  # the client closed its socket; 20 MB outgrow any socket buffer
    assert len(service.response.flowfiles_for("failure")) == 1
    assert "went away" in service.response.bulletins[-1][1]


@pytest.mark.integration
@pytest.mark.parametrize("client_certificate", [True, False])
def test_https_with_client_certificates(tmp_path: Path, client_certificate: bool) -> None:
    pki = make_pki(tmp_path / "pki")
    shared = StandardHttpContextMap()
    request = ProcessorRunner(HandleHttpRequest)
    response = ProcessorRunner(HandleHttpResponse)
    for runner in (request, response):
        runner.add_controller_service("map", shared, _map_properties())
        runner.enable_controller_service("map")
        runner.set_property("HTTP Context Map", "map")
    request.add_controller_service("tls", StandardSSLContextService, {
        "Keystore Filename": str(pki.server_pem), "Keystore Type": "PEM",
        "Truststore Filename": str(pki.ca_pem), "Truststore Type": "PEM"})
    request.enable_controller_service("tls")
    request.set_property("SSL Context Service", "tls")
    request.set_property("Client Authentication", "Need Authentication")
    request.set_property("Listening Port", "0")
    response.set_property("HTTP Status Code", "200")
    request.run(0, stop_on_finish=False)
    processor = request.processor
    assert isinstance(processor, HandleHttpRequest) and processor.port
    service = Service(request, response, shared, processor.port)
    client = ssl.create_default_context(cafile=str(pki.ca_pem))
    if client_certificate:
        client.load_cert_chain(str(pki.client_pem))
    try:
        call = Call(lambda: httpx.get(f"https://localhost:{processor.port}/secure", verify=client, timeout=5))
        if not client_certificate:
            assert call.done.wait(5) and isinstance(call.result, httpx.HTTPError)
            return
        ff = service.receive(call)
        ff.assert_attribute_equals("http.subject.dn", "CN=client,O=flowyard tests")
        ff.assert_attribute_equals("http.issuer.dn", "CN=flowyard test CA,O=flowyard tests")
        ff.assert_attribute_equals("http.request.url", f"https://127.0.0.1:{processor.port}/secure")
        (event,) = request.provenance_events(ProvenanceEventType.RECEIVE)  # NiFi: https with a client certificate
        assert event.transit_uri == f"https://127.0.0.1@127.0.0.1:{processor.port}/secure"
        assert event.details == "Received from 127.0.0.1 with DN=CN=client,O=flowyard tests"
        service.answer(ff, b"secret")
        assert call.response().content == b"secret"
    finally:
        request.stop()
        shared.on_disabled()


@pytest.mark.parametrize("hostname", ["-1", "(", "nul\x00byte"])
def test_a_hostname_no_socket_takes_refuses_to_start_naming_the_property(hostname: str) -> None:
    request = ProcessorRunner(HandleHttpRequest)
    request.add_controller_service("map", StandardHttpContextMap, _map_properties())
    request.enable_controller_service("map")
    request.set_property("HTTP Context Map", "map")
    request.set_property("Listening Port", "0")
    request.set_property("Hostname", hostname)
    with pytest.raises(ConfigurationError, match="Hostname"):
        request.run(0, stop_on_finish=False)


# -- NiFi HandleHttpRequestTest / TestHandleHttpRequest cases, as data -------------------------------------

def test_the_context_map_is_the_only_required_property() -> None:
    runner = ProcessorRunner(HandleHttpRequest)
    runner.add_controller_service("map", StandardHttpContextMap, _map_properties())
    runner.enable_controller_service("map")
    runner.set_property("HTTP Context Map", "map")
    runner.assert_valid()


@pytest.mark.parametrize(("legacy", "value"), [("parameters-to-attributes", "a,b"), ("container-queue-size", "7"),
                                               ("multipart-request-max-size", "2 MB"),
                                               ("multipart-read-buffer-size", "1 KB")])
def test_nifi_legacy_property_names_load(legacy: str, value: str) -> None:
    runner = ProcessorRunner(HandleHttpRequest)
    runner.set_property(legacy, value)
    assert runner.context.property(legacy).value == value


@pytest.mark.integration
def test_query_parameters_and_headers_as_nifi(make_service: Callable[..., Service]) -> None:
    """testRequestAddedToService: empty values, a name without '=', a value holding '='."""
    service = make_service()
    call = Call(lambda: httpx.get(service.url("/my/path?query=true&value1=value1&value2=&value3&value4=apple=orange"),
                                  headers={"header1": "value1", "header2": "", "header3": "apple=orange"}, timeout=5))
    ff = service.receive(call)
    for key, value in {"http.query.param.query": "true", "http.query.param.value1": "value1",
                       "http.query.param.value2": "", "http.query.param.value3": "",
                       "http.query.param.value4": "apple=orange", "http.headers.header1": "value1",
                       "http.headers.header3": "apple=orange", "http.request.uri": "/my/path"}.items():
        ff.assert_attribute_equals(key, value)
    assert service.context_map.get(ff.attributes["http.context.identifier"]) is not None
    service.answer(ff, b"", status="200")
    assert call.response().status_code == 200


@pytest.mark.integration
def test_a_trigger_without_requests_transfers_nothing(make_service: Callable[..., Service]) -> None:
    service = make_service(**{"Maximum Threads": "8"})
    service.request.run(1, stop_on_finish=False, initialize=False)
    assert service.request.flowfiles_for("success") == []


@pytest.mark.integration
def test_requests_waiting_at_stop_are_answered_503_shutting_down(make_service: Callable[..., Service]) -> None:
    """testCleanup: the requests not yet taken when the processor stops get 503 'Processor is shutting down'."""
    service = make_service()
    processor = service.request.processor
    assert isinstance(processor, HandleHttpRequest)
    calls = [Call(lambda i=i: httpx.get(service.url(f"/my/{i}"), timeout=5)) for i in range(3)]  # type: ignore[misc]
    for _ in range(500):
        if len(processor._intake) == 3:
            break
        calls[0].done.wait(0.01)
    service.request.stop()
    for call in calls:
        response = call.response()
        assert response.status_code == 503 and b"Processor is shutting down" in response.content


# -- NiFi TestHandleHttpResponse cases, as data -----------------------------------------------------------

class _Recording(HttpRequestContext):
    """A waiting request that records its answer (NiFi's test mocks the context map's response)."""

    def __init__(self, fails: bool = False) -> None:
        self.fails = fails
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""

    @property
    def request_uri(self) -> str:
        return "http://ignored/"

    def respond(self, status: int, headers: object, body: bytes) -> bool:  # type: ignore[override]
        return self.respond_streaming(status, headers, len(body), io.BytesIO(body).read)  # type: ignore[arg-type]

    def respond_streaming(self, status: int, headers: object, length: int,  # type: ignore[override]
                          read: Callable[[int], bytes]) -> bool:
        if self.fails:
            return False
        self.status, self.headers, self.body = status, dict(headers), read(length)  # type: ignore[call-overload]
        return True


_REQUEST_ATTRIBUTES = {"http.context.identifier": "HTTP-Request-Identifier", "http.request.uri": "/test",
                       "http.local.name": "server", "http.server.port": "8443", "http.remote.host": "client",
                       "http.subject.dn": "sslDN", "my-attr": "hello", "my-blank-attr": "", "status.code": "201"}


def _responder(context: _Recording, **properties: str) -> tuple[ProcessorRunner, StandardHttpContextMap]:
    runner = ProcessorRunner(HandleHttpResponse)
    context_map = runner.add_controller_service("map", StandardHttpContextMap, _map_properties())
    assert isinstance(context_map, StandardHttpContextMap)
    runner.enable_controller_service("map")
    runner.set_property("HTTP Context Map", "map")
    runner.set_property("HTTP Status Code", "${status.code}")
    for name, value in properties.items():
        runner.set_property(name, value)
    assert context_map.register("HTTP-Request-Identifier", context)
    return runner, context_map


@pytest.mark.parametrize("properties", [
    {"my-attr": "${my-attr}", "no-valid-attr": "${no-valid-attr}"},  # testEnsureCompleted
    {"Attributes for HTTP Response": "^(my.*)$"},  # testRegexHeaders
])
def test_the_answer_carries_status_headers_body_and_a_send_event(properties: dict[str, str]) -> None:
    context = _Recording()
    runner, context_map = _responder(context, **properties)
    runner.enqueue(b"TESTING", _REQUEST_ATTRIBUTES)
    runner.run()
    runner.assert_all_transferred("success", 1)
    (event,) = runner.provenance_events()
    assert (event.event_type, event.transit_uri) == (ProvenanceEventType.SEND, "https://client@server:8443/test")
    assert (context.status, context.body) == (201, b"TESTING")
    assert context.headers == {"my-attr": "hello"}  # no header for an empty value, nor for a blank attribute
    assert context_map.get("HTTP-Request-Identifier") is None  # completed


@pytest.mark.parametrize(("attributes", "fails"), [
    ({k: v for k, v in _REQUEST_ATTRIBUTES.items() if k != "status.code"}, False),  # testStatusCodeEmpty
    (_REQUEST_ATTRIBUTES, True),  # testResponseProcessException: the answer cannot be written
])
def test_an_answer_that_cannot_be_given_goes_to_failure(attributes: dict[str, str], fails: bool) -> None:
    context = _Recording(fails=fails)
    runner, _ = _responder(context)
    runner.enqueue(b"TESTING", attributes)
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert context.status is None


def test_handle_http_request_records_nifi_transit_uri(make_service: Callable[..., Service]) -> None:
    service = make_service()
    call = Call(lambda: httpx.get(service.url("/my/path?x=1"), timeout=5))
    ff = service.receive(call)
    (event,) = service.request.provenance_events(ProvenanceEventType.RECEIVE)
    assert event.transit_uri == f"http://127.0.0.1@127.0.0.1:{service.port}/my/path"
    assert event.details == "Received from 127.0.0.1"
    service.answer(ff, b"", status="200")
    assert call.response().status_code == 200
