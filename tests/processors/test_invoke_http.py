"""InvokeHTTP against a local server on an ephemeral port: every status class,
timeouts, refused connections, headers, bodies, HTTPS, proxies."""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flowyard_http_testkit import Pki, Recorded, RecordingServer, make_pki, recording_server

from flowyard.processors.invoke_http import OAUTH2_ACCESS_TOKEN_PROVIDER, InvokeHTTP, OAuth2AccessTokenProvider
from flowyard.processors.proxy_configuration_service import StandardProxyConfigurationService
from flowyard.processors.ssl_context_service import StandardSSLContextService
from flowyard.runtime.sdk import ControllerService, ControllerServiceSpec, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration

RELATIONSHIPS = ("Original", "Response", "Retry", "No Retry", "Failure")


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with recording_server() as srv:
        yield srv


def _runner(url: str, **properties: str) -> ProcessorRunner:
    runner = ProcessorRunner(InvokeHTTP)
    runner.set_property("HTTP URL", url)
    for name, value in properties.items():
        runner.set_property(name.replace("_", " "), value)
    return runner


def _counts(runner: ProcessorRunner) -> dict[str, int]:
    return {rel: len(runner.flowfiles_for(rel)) for rel in RELATIONSHIPS if runner.flowfiles_for(rel)}


@pytest.mark.parametrize(("status", "routes", "penalized"), [
    (200, {"Original": 1, "Response": 1}, False),
    (201, {"Original": 1, "Response": 1}, False),
    (204, {"Original": 1, "Response": 1}, False),
    (302, {"No Retry": 1}, False),
    (304, {"No Retry": 1}, False),
    (400, {"No Retry": 1}, False),
    (404, {"No Retry": 1}, False),
    (500, {"Retry": 1}, True),
    (503, {"Retry": 1}, True),
])
def test_status_classes_route_as_nifi(server: RecordingServer, status: int, routes: dict[str, int],
                                      penalized: bool) -> None:
    runner = _runner(f"{server.url}/status/{status}", **{"Response Redirects Enabled": "False"})
    runner.enqueue(b"payload", {"filename": "a.txt"})
    runner.run()
    assert _counts(runner) == routes
    rel = next(iter(r for r in routes if r != "Response"))
    original = runner.flowfiles_for(rel)[0]
    original.assert_attribute_equals("invokehttp.status.code", str(status))
    original.assert_attribute_equals("invokehttp.request.url", f"{server.url}/status/{status}")
    original.assert_attribute_equals("invokehttp.response.url", f"{server.url}/status/{status}")
    original.assert_attribute_exists("invokehttp.tx.id")
    assert int(original.attributes["invokehttp.request.duration"]) >= 0
    original.assert_content_equals(b"payload")
    assert original.is_penalized(runner.clock()) is penalized
    if status // 100 != 2:
        body = "" if status == 304 else f"status {status}"
        original.assert_attribute_equals("invokehttp.response.body", body)
    else:
        response = runner.flowfiles_for("Response")[0]
        response.assert_attribute_equals("invokehttp.status.code", str(status))
        response.assert_attribute_equals("X-Status", str(status))
        response.assert_attribute_equals("invokehttp.tx.id", original.attributes["invokehttp.tx.id"])
        if status != 204:
            response.assert_content_equals(f"status {status}")
            response.assert_attribute_equals("mime.type", "text/plain; charset=utf-8")
        original.assert_attribute_equals("invokehttp.response.body", None)


def test_status_message_and_response_lineage(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/status/404")
    runner.enqueue(b"x")
    runner.run()
    runner.flowfiles_for("No Retry")[0].assert_attribute_equals("invokehttp.status.message", "Not Found")
    runner = _runner(f"{server.url}/status/200")
    runner.enqueue(b"x", {"keep": "me"})
    runner.run()
    response = runner.flowfiles_for("Response")[0]
    response.assert_attribute_equals("keep", "me")  # a child of the request
    assert runner.provenance_events(ProvenanceEventType.FETCH)


def test_no_retry_penalized_when_asked(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/status/404", **{"Request Failure Penalization Enabled": "true"})
    runner.enqueue(b"x")
    runner.run()
    assert runner.flowfiles_for("No Retry")[0].is_penalized(runner.clock())


def test_response_generation_required_sends_the_response_for_every_status(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/status/500", **{"Response Generation Required": "true"})
    runner.enqueue(b"x")
    runner.run()
    assert _counts(runner) == {"Retry": 1, "Response": 1}
    runner.flowfiles_for("Response")[0].assert_content_equals("status 500")
    runner.flowfiles_for("Retry")[0].assert_attribute_equals("invokehttp.response.body", "status 500")


def test_response_body_attribute_name_puts_the_body_on_the_original(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/echo", **{"HTTP Method": "POST", "Response Body Attribute Name": "answer",
                                              "Response Body Attribute Size": "5"})
    runner.enqueue(b"0123456789")
    runner.run()
    assert _counts(runner) == {"Original": 1}
    runner.flowfiles_for("Original")[0].assert_attribute_equals("answer", "01234")


def test_connection_refused_goes_to_failure_penalized() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runner = _runner(f"http://127.0.0.1:{port}/x")
    runner.enqueue(b"x")
    runner.run()
    assert _counts(runner) == {"Failure": 1}
    failed = runner.flowfiles_for("Failure")[0]
    failed.assert_attribute_equals("invokehttp.java.exception.class", "java.net.ConnectException")
    failed.assert_attribute_exists("invokehttp.java.exception.message")
    assert failed.is_penalized(runner.clock())
    assert runner.bulletins and runner.bulletins[-1][0] == "ERROR"


def test_read_timeout_goes_to_failure(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/sleep/1", **{"Socket Read Timeout": "100 ms"})
    runner.enqueue(b"x")
    runner.run()
    failed = runner.flowfiles_for("Failure")[0]
    failed.assert_attribute_equals("invokehttp.java.exception.class", "java.net.SocketTimeoutException")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/file", "${missing}"])
def test_bad_urls_go_to_failure(url: str) -> None:
    runner = _runner(url)
    runner.enqueue(b"x")
    runner.run()
    failed = runner.flowfiles_for("Failure")[0]
    failed.assert_attribute_equals("invokehttp.java.exception.class", "java.lang.IllegalArgumentException")


def test_invalid_configuration_is_refused() -> None:
    runner = _runner("not a url")
    runner.assert_not_valid()
    runner = _runner("http://127.0.0.1/", **{"post:form:a": "1"})
    runner.set_property("HTTP Method", "POST")
    runner.assert_not_valid()
    runner.set_property("Request Multipart Form-Data Name", "file")
    runner.assert_valid()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PURGE"])
def test_every_method_and_body_only_where_nifi_sends_one(server: RecordingServer, method: str) -> None:
    runner = _runner(f"{server.url}/echo", **{"HTTP Method": method.lower() if method == "PURGE" else method})
    runner.enqueue(b"body!", {"mime.type": "text/csv"})
    runner.run()
    assert _counts(runner) == {"Original": 1, "Response": 1}
    seen = server.requests[-1]
    assert seen.method == method
    if method in ("POST", "PUT", "PATCH"):
        assert seen.body == b"body!"
        assert seen.headers["Content-Type"] == "text/csv"
        assert seen.headers["Content-Length"] == "5"
        runner.flowfiles_for("Response")[0].assert_content_equals(b"body!")
    else:
        assert seen.body == b""
        assert "Content-Type" not in seen.headers


def test_headers_from_dynamic_properties_and_attributes(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/echo", **{"Request Header Attributes Pattern": "x-.*|color",
                                              "Request User-Agent": "flowyard/${v}",
                                              "Request Date Header Enabled": "True"})
    runner.set_property("X-Dynamic", "${color}-dyn")
    runner.enqueue(b"", {"color": "blue", "x-trace": "t1", "invokehttp.tx.id": "old", "other": "no", "v": "1"})
    runner.run()
    headers = server.requests[-1].headers
    assert headers["X-Dynamic"] == "blue-dyn"
    assert headers["color"] == "blue" and headers["x-trace"] == "t1"
    assert "other" not in headers and "invokehttp.tx.id" not in headers
    assert headers["User-Agent"] == "flowyard/1"
    assert headers["Date"].endswith("GMT")


def test_basic_authentication(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/echo", **{"Request Username": "ann", "Request Password": "s3cret"})
    runner.enqueue(b"")
    runner.run()
    assert server.requests[-1].headers["Authorization"] == "Basic YW5uOnMzY3JldA=="


def test_empty_content_type_defaults_and_chunked_and_gzip(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/echo", **{"HTTP Method": "POST", "Request Chunked Transfer-Encoding Enabled":
                                              "true"})
    runner.enqueue(b"chunky")
    runner.run()
    seen = server.requests[-1]
    assert seen.headers["Content-Type"] == "application/octet-stream"
    assert seen.headers.get("Transfer-Encoding") == "chunked" and seen.body == b"chunky"
    runner = _runner(f"{server.url}/echo", **{"HTTP Method": "POST", "Request Content-Encoding": "GZIP"})
    runner.enqueue(b"zipped" * 100)
    runner.run()
    seen = server.requests[-1]
    assert seen.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(seen.body) == b"zipped" * 100


def test_request_body_disabled_sends_an_empty_body(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/echo", **{"HTTP Method": "PUT", "Request Body Enabled": "false"})
    runner.enqueue(b"not sent")
    runner.run()
    assert server.requests[-1].body == b""


def test_multipart_form_data(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/echo", **{"HTTP Method": "POST", "Request Multipart Form-Data Name": "upload"})
    runner.set_property("post:form:kind", "${k}")
    runner.enqueue(b"file-content", {"filename": "data.bin", "k": "report"})
    runner.run()
    seen = server.requests[-1]
    assert seen.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="upload"; filename="data.bin"' in seen.body and b"file-content" in seen.body
    assert b'name="kind"' in seen.body and b"report" in seen.body


def test_response_headers_on_the_request_with_prefix(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/status/404", **{"Response Header Request Attributes Enabled": "true",
                                                    "Response Header Request Attributes Prefix": "resp."})
    runner.enqueue(b"x")
    runner.run()
    runner.flowfiles_for("No Retry")[0].assert_attribute_equals("resp.X-Status", "404")


@pytest.mark.parametrize(("follow", "route", "final"), [("True", "Original", "/status/200"),
                                                         ("False", "No Retry", "/redirect")])
def test_redirects(server: RecordingServer, follow: str, route: str, final: str) -> None:
    runner = _runner(f"{server.url}/redirect", **{"Response Redirects Enabled": follow})
    runner.enqueue(b"")
    runner.run()
    runner.flowfiles_for(route)[0].assert_attribute_equals("invokehttp.response.url", f"{server.url}{final}")


@pytest.mark.parametrize(("strategy", "sent_back"), [("DISABLED", False), ("ACCEPT_ALL", True)])
def test_cookie_strategy(server: RecordingServer, strategy: str, sent_back: bool) -> None:
    runner = _runner(f"{server.url}/cookie", **{"Response Cookie Strategy": strategy})
    runner.enqueue(b"")
    runner.enqueue(b"")
    runner.run(2)
    assert ("Cookie" in server.requests[-1].headers) is sent_back


def test_url_path_naming_strategy(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/files/report.csv", **{"Response FlowFile Naming Strategy": "URL_PATH"})
    runner.enqueue(b"")
    runner.run()
    runner.flowfiles_for("Response")[0].assert_attribute_equals("filename", "report.csv")


def test_without_incoming_connection_it_is_a_source(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/status/200")
    runner.has_input_connection = False
    runner.run()
    assert _counts(runner) == {"Response": 1}
    assert runner.provenance_events(ProvenanceEventType.RECEIVE)
    runner = _runner(f"{server.url}/status/500")
    runner.has_input_connection = False
    runner.run()
    assert _counts(runner) == {} and runner.yield_count == 1
    sent = len(server.requests)
    runner = _runner(f"{server.url}/echo", **{"HTTP Method": "POST"})
    runner.has_input_connection = False
    runner.run()
    assert len(server.requests) == sent, "a POST without a FlowFile sends nothing"


def test_with_an_incoming_connection_and_no_input_nothing_is_sent(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/status/200")
    runner.run()
    assert server.requests == [] and _counts(runner) == {}


def test_legacy_names_load() -> None:
    runner = ProcessorRunner(InvokeHTTP)
    for legacy, value in {"Remote URL": "http://127.0.0.1/", "Follow Redirects": "False",
                          "Attributes to Send": ".*", "Always Output Response": "true",
                          "Put Response Body In Attribute": "b", "Basic Authentication Username": "u"}.items():
        runner.set_property(legacy, value)
    runner.assert_valid()
    assert runner.context.property("response-redirects-enabled").value == "False"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _tls_server_context(pki: Pki) -> object:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki.server_pem))
    return context


@pytest.mark.parametrize("trusted", [True, False])
def test_https_with_a_self_signed_ca(pki: Pki, tmp_path: Path, trusted: bool) -> None:
    import ssl

    server_context = _tls_server_context(pki)
    assert isinstance(server_context, ssl.SSLContext)
    ca = pki.ca_pem if trusted else make_pki(tmp_path / "other").ca_pem
    with recording_server(ssl_context=server_context) as srv:
        runner = _runner(f"https://localhost:{srv.port}/status/200", **{"SSL Context Service": "tls",
                                                                         "HTTP/2 Disabled": "True"})
        runner.add_controller_service("tls", StandardSSLContextService,
                                      {"Truststore Filename": str(ca), "Truststore Type": "PEM"})
        runner.enable_controller_service("tls")
        runner.enqueue(b"x")
        runner.run()
    if trusted:
        response = runner.flowfiles_for("Response")[0]
        response.assert_attribute_equals("invokehttp.remote.dn", "CN=localhost,O=flowyard tests")
    else:
        runner.flowfiles_for("Failure")[0].assert_attribute_equals("invokehttp.java.exception.class",
                                                                   "javax.net.ssl.SSLHandshakeException")


def test_http_proxy_is_used() -> None:
    def proxy(req: Recorded) -> tuple[int, dict[str, str], bytes]:
        return 200, {}, b"via proxy"

    with recording_server(proxy) as proxy_server:
        runner = _runner("http://upstream.invalid/thing", **{"Proxy Configuration Service": "proxy"})
        runner.add_controller_service("proxy", StandardProxyConfigurationService, {
            "Proxy Type": "HTTP", "Proxy Server Host": "127.0.0.1", "Proxy Server Port": str(proxy_server.port),
            "Proxy User Name": "pu", "Proxy User Password": "pp"})
        runner.enable_controller_service("proxy")
        runner.enqueue(b"")
        runner.run()
        seen = proxy_server.requests[-1]
    assert seen.raw_request_line.startswith("GET http://upstream.invalid/thing ")
    assert seen.headers["Proxy-Authorization"] == "Basic cHU6cHA="
    runner.flowfiles_for("Response")[0].assert_content_equals("via proxy")


def test_client_is_closed_on_stop(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/status/200")
    runner.enqueue(b"")
    runner.run(stop_on_finish=False)
    processor = runner.processor
    assert isinstance(processor, InvokeHTTP) and processor._client is not None
    runner.stop()
    assert processor._client is None


# -- cases from NiFi's InvokeHTTPTest ------------------------------------------------------------

def test_repeated_response_headers_joined_and_prefixed_only_on_the_request() -> None:
    def handler(req: Recorded) -> tuple[int, object, bytes]:
        return 200, [("Repeated", "String"), ("Repeated", "Integer")], b""

    with recording_server(handler) as srv:
        runner = _runner(f"{srv.url}/", **{"Response Header Request Attributes Enabled": "true",
                                           "Response Header Request Attributes Prefix": "response."})
        runner.enqueue(b"x")
        runner.run()
    request = runner.flowfiles_for("Original")[0]
    request.assert_attribute_equals("response.Content-Length", "0")
    request.assert_attribute_equals("response.Repeated", "String, Integer")
    request.assert_attribute_equals("Repeated", None)
    response = runner.flowfiles_for("Response")[0]
    response.assert_attribute_equals("Content-Length", "0")
    response.assert_attribute_equals("Repeated", "String, Integer")
    response.assert_attribute_equals("response.Repeated", None)


def test_digest_authentication_answers_the_challenge() -> None:
    def handler(req: Recorded) -> tuple[int, object, bytes]:
        if "Authorization" not in req.headers:
            return 401, {"WWW-Authenticate": 'Digest realm="r-1", nonce="n-1"'}, b""
        return 200, {}, b"in"

    with recording_server(handler) as srv:
        runner = _runner(f"{srv.url}/", **{"Request Username": "String", "Request Password": "java.lang.String",
                                           "Request Digest Authentication Enabled": "true"})
        runner.enqueue(b"x")
        runner.run()
        first, second = srv.requests
    assert "Authorization" not in first.headers
    assert second.headers["Authorization"].startswith("Digest ")
    assert 'realm="r-1"' in second.headers["Authorization"] and 'nonce="n-1"' in second.headers["Authorization"]
    runner.flowfiles_for("Response")[0].assert_content_equals(b"in")


@pytest.mark.parametrize(("strategy", "cookie"), [("ACCEPT_ALL", "a=apple; b=banana"), ("DISABLED", None)])
def test_cookies_set_on_a_redirect(strategy: str, cookie: str | None) -> None:
    def handler(req: Recorded) -> tuple[int, object, bytes]:
        if req.path == "/start":
            return 302, [("Set-Cookie", "a=apple"), ("Set-Cookie", "b=banana"), ("Location", "/end")], b""
        return 200, {}, b"end"

    with recording_server(handler) as srv:
        runner = _runner(f"{srv.url}/start", **{"Response Cookie Strategy": strategy})
        runner.enqueue(b"")
        runner.run()
        first, second = srv.requests
    assert "Cookie" not in first.headers
    assert second.headers.get("Cookie") == cookie
    assert _counts(runner) == {"Original": 1, "Response": 1}


def test_encoded_url_is_sent_and_recorded_as_given(server: RecordingServer) -> None:
    path = "/gitlab/ftp%2Fstage%2F15m%2FsomeFile.yaml/raw?ref=main"
    runner = _runner(f"{server.url}{path}")
    runner.enqueue(b"")
    runner.run()
    assert server.requests[-1].path == path
    runner.flowfiles_for("Response")[0].assert_attribute_equals("invokehttp.request.url", f"{server.url}{path}")
    (event,) = runner.provenance_events(ProvenanceEventType.FETCH)
    assert event.transit_uri == f"{server.url}{path}"


def test_empty_method_goes_to_failure_as_illegal_argument(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/", **{"HTTP Method": "${request.method}"})
    runner.enqueue(b"")
    runner.run()
    failed = runner.flowfiles_for("Failure")[0]
    failed.assert_attribute_equals("invokehttp.java.exception.class", "java.lang.IllegalArgumentException")
    assert failed.is_penalized(runner.clock())


def test_malformed_url_without_incoming_connection_logs_an_error() -> None:
    runner = _runner("${file.name}")
    runner.has_input_connection = False
    runner.run()
    assert _counts(runner) == {} and runner.bulletins and runner.yield_count == 1


def test_source_mode_with_response_body_attribute_goes_to_original(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/status/200", **{"Response Body Attribute Name": "String"})
    runner.has_input_connection = False
    runner.run()
    assert _counts(runner) == {"Original": 1}
    runner.flowfiles_for("Original")[0].assert_attribute_equals("String", "status 200")


def test_response_body_ignored_gives_an_empty_response(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/status/200", **{"Response Body Ignored": "true"})
    runner.enqueue(b"")
    runner.run()
    runner.flowfiles_for("Response")[0].assert_content_equals(b"")


def test_mutual_tls_without_a_client_certificate_fails(pki: Pki) -> None:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki.server_pem))
    context.load_verify_locations(str(pki.ca_pem))
    context.verify_mode = ssl.CERT_REQUIRED
    with recording_server(ssl_context=context) as srv:
        runner = _runner(f"https://localhost:{srv.port}/status/200", **{"SSL Context Service": "tls",
                                                                         "HTTP/2 Disabled": "True"})
        runner.add_controller_service("tls", StandardSSLContextService,
                                      {"Truststore Filename": str(pki.ca_pem), "Truststore Type": "PEM"})
        runner.enable_controller_service("tls")
        runner.enqueue(b"x")
        runner.run()
    failed = runner.flowfiles_for("Failure")[0]
    failed.assert_attribute_exists("invokehttp.java.exception.class")
    failed.assert_attribute_exists("invokehttp.java.exception.message")


def test_mutual_tls_with_a_client_certificate(pki: Pki) -> None:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki.server_pem))
    context.load_verify_locations(str(pki.ca_pem))
    context.verify_mode = ssl.CERT_REQUIRED
    with recording_server(ssl_context=context) as srv:
        runner = _runner(f"https://localhost:{srv.port}/status/200", **{"SSL Context Service": "tls"})
        runner.add_controller_service("tls", StandardSSLContextService, {
            "Truststore Filename": str(pki.ca_pem), "Truststore Type": "PEM",
            "Keystore Filename": str(pki.client_p12), "Keystore Type": "PKCS12", "Keystore Password": pki.password})
        runner.enable_controller_service("tls")
        runner.enqueue(b"x")
        runner.run()
    assert _counts(runner) == {"Original": 1, "Response": 1}


@pytest.mark.parametrize(("content_type", "body", "expected"), [
    ("text/plain; charset=ISO-8859-1", "café".encode("latin-1"), "café"),
    ("text/plain; charset=utf-8", "café".encode(), "café"),
    ("text/plain; charset=no-such-charset", "café".encode(), "café"),
    (None, "café".encode(), "café"),
])
def test_response_body_attribute_uses_the_response_charset(content_type: str | None, body: bytes,
                                                           expected: str) -> None:
    def handler(req: Recorded) -> tuple[int, object, bytes]:
        return 404, ({"Content-Type": content_type} if content_type else {}), body

    with recording_server(handler) as srv:
        runner = _runner(f"{srv.url}/")
        runner.enqueue(b"")
        runner.run()
    runner.flowfiles_for("No Retry")[0].assert_attribute_equals("invokehttp.response.body", expected)


def test_large_bodies_stream_both_ways(server: RecordingServer) -> None:
    payload = bytes(range(256)) * 1024  # 256 KiB: streamed in pieces with a Content-Length
    runner = _runner(f"{server.url}/echo", **{"HTTP Method": "PUT"})
    runner.enqueue(payload)
    runner.run()
    assert server.requests[-1].headers["Content-Length"] == str(len(payload))
    runner.flowfiles_for("Response")[0].assert_content_equals(payload)


def test_response_cache_revalidates_and_serves_304_from_the_cache() -> None:
    import gzip as gz

    def handler(req: Recorded) -> tuple[int, object, bytes]:
        if req.headers.get("If-None-Match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, {"ETag": '"v1"', "Content-Type": "text/plain", "Content-Encoding": "gzip"}, gz.compress(b"doc")

    with recording_server(handler) as srv:
        runner = _runner(f"{srv.url}/doc", **{"Response Cache Enabled": "true"})
        runner.enqueue(b"")
        runner.enqueue(b"")
        runner.run(2)
        first, second = srv.requests
    assert "If-None-Match" not in first.headers and second.headers["If-None-Match"] == '"v1"'
    responses = runner.flowfiles_for("Response")
    assert [r.content for r in responses] == [b"doc", b"doc"]
    assert [r.attributes["invokehttp.status.code"] for r in responses] == ["200", "200"]
    responses[1].assert_attribute_equals("mime.type", "text/plain")


def test_without_the_cache_nothing_is_revalidated(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/status/200")
    runner.enqueue(b"")
    runner.enqueue(b"")
    runner.run(2)
    assert all("If-None-Match" not in r.headers for r in server.requests)


@pytest.mark.parametrize(("disabled", "version"), [("False", b"2"), ("True", b"1.1")])
def test_http2_is_negotiated_over_tls_unless_disabled(pki: Pki, disabled: str, version: bytes) -> None:
    import threading

    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        assert callable(receive) and callable(send)
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": str(scope["http_version"]).encode()})

    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.certfile = config.keyfile = str(pki.server_pem)
    config.accesslog = config.errorlog = None
    started: list[tuple[int, trio.lowlevel.TrioToken, trio.Event]] = []
    ready = threading.Event()

    async def main() -> None:
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(serve, app, config)
            started.append((int(binds[0].rsplit(":", 1)[1]), trio.lowlevel.current_trio_token(), stop))
            ready.set()
            await stop.wait()
            nursery.cancel_scope.cancel()

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    assert ready.wait(10)
    port, token, stop = started[0]
    try:
        runner = _runner(f"https://localhost:{port}/", **{"SSL Context Service": "tls", "HTTP/2 Disabled": disabled})
        runner.add_controller_service("tls", StandardSSLContextService,
                                      {"Truststore Filename": str(pki.ca_pem), "Truststore Type": "PEM"})
        runner.enable_controller_service("tls")
        runner.enqueue(b"")
        runner.run()
    finally:
        token.run_sync_soon(stop.set)
        thread.join(10)
    response = runner.flowfiles_for("Response")[0]
    response.assert_content_equals(version)
    if version == b"2":  # HTTP/2 has no reason phrase
        response.assert_attribute_equals("invokehttp.status.message", "")


def test_form_fields_without_the_body_are_still_multipart(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/echo", **{"HTTP Method": "POST", "Request Body Enabled": "false"})
    runner.set_property("post:form:label", "java.lang.String")
    runner.assert_valid()
    runner.enqueue(b"not sent")
    runner.run()
    seen = server.requests[-1]
    assert seen.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="label"' in seen.body and b"java.lang.String" in seen.body and b"not sent" not in seen.body


def test_storage_errors_are_left_to_the_framework(server: RecordingServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowyard.runtime.sdk import StorageFullError

    runner = _runner(f"{server.url}/status/200")
    runner.enqueue(b"x")
    runner.run(0, stop_on_finish=False)

    def full(*args: object, **kwargs: object) -> None:
        raise StorageFullError("no space left on the content repository")

    monkeypatch.setattr("flowyard.runtime.engine._session.StandardProcessSession.write", full)
    runner.run(1, stop_on_finish=False, initialize=False, raise_errors=False)
    runner.stop()
    assert _counts(runner) == {} and runner.queue_size == 1
    assert isinstance(runner.errors[-1], StorageFullError)


# -- more NiFi InvokeHTTPTest cases, as data --------------------------------------------------------

class _StaticToken(ControllerService, OAuth2AccessTokenProvider):
    """An OAuth2 token provider for the tests (NiFi's test mocks one)."""

    spec = ControllerServiceSpec(description="A fixed access token", provides=(OAUTH2_ACCESS_TOKEN_PROVIDER,))

    def access_token(self) -> str:
        return "access_token"

    def refresh(self) -> None:
        pass


@pytest.mark.parametrize(("properties", "valid"), [
    ({}, False),  # testNotValidWithDefaultProperties
    ({"HTTP URL": "http://localhost"}, True),  # testValidWithMinimumProperties
    ({"HTTP URL": "http://localhost", "post:form:parameter": "String"}, False),
    ({"HTTP URL": "http://localhost", "post:form:parameter": "String", "Request Multipart Form-Data Name": "String",
      "Request Body Enabled": "false"}, False),
    ({"HTTP URL": "http://localhost", "Request OAuth2 Access Token Provider": "oauth"}, True),
    ({"HTTP URL": "http://localhost", "Request OAuth2 Access Token Provider": "oauth",
      "Request Username": "userName"}, False),
    ({"HTTP URL": "http://localhost", "Request OAuth2 Access Token Provider": "oauth",
      "Request Password": "password"}, False),
])
def test_validity_as_nifi(properties: dict[str, str], valid: bool) -> None:
    runner = ProcessorRunner(InvokeHTTP)
    runner.add_controller_service("oauth", _StaticToken)
    runner.enable_controller_service("oauth")
    for name, value in properties.items():
        runner.set_property(name, value)
    if valid:
        runner.assert_valid()
    else:
        runner.assert_not_valid()


def test_oauth2_provider_sends_a_bearer_token(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/echo", **{"Request OAuth2 Access Token Provider": "oauth"})
    runner.add_controller_service("oauth", _StaticToken)
    runner.enable_controller_service("oauth")
    runner.enqueue(b"unimportant")
    runner.run()
    assert server.requests[-1].headers["Authorization"] == "Bearer access_token"


def test_malformed_url_from_an_attribute_goes_to_failure_penalized() -> None:
    runner = _runner("${request.url}")
    runner.enqueue(b"java.lang.String", {"request.url": "String"})
    runner.run()
    assert _counts(runner) == {"Failure": 1}
    failed = runner.flowfiles_for("Failure")[0]
    failed.assert_attribute_equals("invokehttp.java.exception.class", "java.lang.IllegalArgumentException")
    failed.assert_attribute_exists("invokehttp.java.exception.message")
    assert failed.is_penalized(runner.clock())


def test_header_attributes_pattern_and_dynamic_headers_come_and_go(server: RecordingServer) -> None:
    runner = _runner(f"{server.url}/echo", **{"Request Header Attributes Pattern": "^Accept$"})
    runner.set_property("Default-Content-Type", "application/octet-stream")
    runner.enqueue(b"x", {"Accept": "text/plain"})
    runner.run()
    assert _counts(runner) == {"Original": 1, "Response": 1}
    first = server.requests[-1].headers
    assert (first["Accept"], first["Default-Content-Type"]) == ("text/plain", "application/octet-stream")
    runner.remove_property("Request Header Attributes Pattern")
    runner.remove_property("Default-Content-Type")
    runner.enqueue(b"x", {"Accept": "text/plain"})
    runner.run()
    second = server.requests[-1].headers
    assert second.get("Accept") != "text/plain" and "Default-Content-Type" not in second


def test_request_date_header_is_rfc_1123(server: RecordingServer) -> None:
    import email.utils
    import re

    runner = _runner(f"{server.url}/echo", **{"Request Date Header Enabled": "True"})
    runner.enqueue(b"x")
    runner.run()
    date = server.requests[-1].headers["Date"]
    assert re.fullmatch(r".+? \d{4} \d{2}:\d{2}:\d{2} GMT", date)
    assert email.utils.parsedate_to_datetime(date).tzinfo is not None


@pytest.mark.parametrize(("properties", "encoding"), [
    ({"Request Content-Encoding": "GZIP"}, "gzip"),  # testRunPostHttp200SuccessContentEncodingGzip
    ({"Request Chunked Transfer-Encoding Enabled": "true"}, None),  # testRunPostHttp200SuccessChunkedEncoding
])
def test_unknown_length_bodies_send_no_content_length(server: RecordingServer, properties: dict[str, str],
                                                      encoding: str | None) -> None:
    runner = _runner(f"{server.url}/echo", **{"HTTP Method": "POST", **properties})
    runner.enqueue(b"java.lang.String")
    runner.run()
    assert _counts(runner) == {"Original": 1, "Response": 1}
    seen = server.requests[-1]
    assert "Content-Length" not in seen.headers and seen.headers["Transfer-Encoding"] == "chunked"
    assert seen.headers.get("Content-Encoding") == encoding
    assert (gzip.decompress(seen.body) if encoding else seen.body) == b"java.lang.String"


@pytest.mark.parametrize(("method", "path", "filename"), [
    ("GET", "file", "file"),
    ("GET", "file/", "file"),
    ("GET", "file.txt", "file.txt"),
    ("GET", "file.txt/", "file.txt"),
    ("GET", "f%69%6Cle.txt", "f%2569%256Cle.txt"),  # NiFi rebuilds the URL with java.net.URI, quoting '%'
    ("GET", "path/to/file.txt", "file.txt"),
    ("GET", "", "java.lang.Double"),
    *[(method, path, "java.lang.Double") for method in ("POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
      for path in ("has/path", "")],
])
def test_response_filename_from_the_url_path(server: RecordingServer, method: str, path: str,
                                             filename: str) -> None:
    runner = _runner(f"{server.url}/{path}", **{"HTTP Method": method,
                                                "Response FlowFile Naming Strategy": "URL_PATH"})
    runner.enqueue(b"java.lang.String", {"filename": "java.lang.Double"})
    runner.run()
    runner.flowfiles_for("Response")[0].assert_attribute_equals("filename", filename)


def test_trusted_server_without_client_key_writes_the_remote_dn(pki: Pki) -> None:
    import ssl

    server_context = _tls_server_context(pki)
    assert isinstance(server_context, ssl.SSLContext)
    with recording_server(ssl_context=server_context) as srv:
        runner = _runner(f"https://localhost:{srv.port}/status/200", **{"SSL Context Service": "tls"})
        runner.add_controller_service("tls", StandardSSLContextService,
                                      {"Truststore Filename": str(pki.ca_pem), "Truststore Type": "PEM"})
        runner.enable_controller_service("tls")
        runner.enqueue(b"x")
        runner.run()
    assert _counts(runner) == {"Original": 1, "Response": 1}
    runner.flowfiles_for("Response")[0].assert_attribute_exists("invokehttp.remote.dn")
