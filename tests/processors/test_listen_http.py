"""ListenHTTP through ProcessorRunner with real clients on loopback: answers
after the commit, 503 when not triggered, paths, methods, bodies, TLS."""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from flowyard_http_testkit import Pki, make_pki

from flowyard.processors._flowfile_v3 import package
from flowyard.processors.listen_http import ListenHTTP
from flowyard.processors.ssl_context_service import StandardSSLContextService
from flowyard.runtime.sdk import ConfigurationError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration


class Call:
    """A request made in a background thread; ``result`` once it is answered."""

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

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def response(self, timeout: float = 5.0) -> httpx.Response:
        assert self.done.wait(timeout), "no answer in time"
        assert isinstance(self.result, httpx.Response), self.result
        return self.result


@contextmanager
def listening(**properties: str) -> Iterator[tuple[ProcessorRunner, ListenHTTP]]:
    runner = ProcessorRunner(ListenHTTP)
    runner.set_property("Listening Port", "0")
    for name, value in properties.items():
        runner.set_property(name, value)
    yield runner, runner.processor  # type: ignore[misc]
    runner.stop()


def start(runner: ProcessorRunner, untaken_limit: float = 30.0) -> ListenHTTP:
    """Start the server. The tests trigger by hand, so a request may wait longer
    than the production second before it is taken (a loaded machine): only the
    back-pressure test keeps the short limit."""
    runner.run(0, stop_on_finish=False)
    processor = runner.processor
    assert isinstance(processor, ListenHTTP) and processor.port
    processor.untaken_limit = untaken_limit
    return processor


def serve_until(runner: ProcessorRunner, call: Call, limit: int = 50) -> httpx.Response:
    """Trigger the processor until ``call`` is answered (each trigger waits up to 0.1 s for a request)."""
    for _ in range(limit):
        if call.done.wait(0.02):  # the answer follows a commit at once: no idle trigger for it
            break
        runner.run(1, stop_on_finish=False, initialize=False)
    return call.response()


def url(processor: ListenHTTP, path: str = "/contentListener", scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{processor.port}{path}"


def test_a_post_becomes_a_flowfile_answered_after_the_commit() -> None:
    with listening(**{"HTTP Headers for Attributes": "X-.*", "Return Code": "202"}) as (runner, _):
        processor = start(runner)
        call = Call(lambda: httpx.post(url(processor), content=b"hello", timeout=5,
                                       headers={"X-Color": "blue", "Other": "no", "filename": "in.txt"}))
        assert not call.done.wait(0.2), "answered before anything was committed"
        response = serve_until(runner, call)
        assert response.status_code == 202
        (ff,) = runner.flowfiles_for("success")
        ff.assert_content_equals(b"hello")
        ff.assert_attribute_equals("X-Color", "blue")
        ff.assert_attribute_equals("Other", None)
        ff.assert_attribute_equals("filename", "in.txt")
        ff.assert_attribute_equals("restlistener.remote.source.host", "127.0.0.1")
        ff.assert_attribute_equals("restlistener.request.uri", "/contentListener")
        ff.assert_attribute_equals("restlistener.remote.user.dn", "none")
        ff.assert_attribute_equals("restlistener.remote.issuer.dn", "none")
        (event,) = runner.provenance_events(ProvenanceEventType.RECEIVE)
        assert event.transit_uri == url(processor)


def test_empty_body_makes_an_empty_flowfile() -> None:
    with listening() as (runner, _):
        processor = start(runner)
        assert serve_until(runner, Call(lambda: httpx.post(url(processor), timeout=5))).status_code == 200
        runner.flowfiles_for("success")[0].assert_content_equals(b"")


def test_not_triggered_means_back_pressure_and_503() -> None:
    with listening() as (runner, _):
        processor = start(runner, untaken_limit=1.0)
        response = Call(lambda: httpx.post(url(processor), content=b"x", timeout=5)).response()
        assert response.status_code == 503
        runner.run(1, stop_on_finish=False, initialize=False)
        assert runner.flowfiles_for("success") == []


def test_a_full_success_connection_is_answered_503_at_once() -> None:
    """NiFi asks the context for available relationships before taking a
    request: no waiting for the untaken limit (30 s here), the body is not kept."""
    with listening() as (runner, _):
        processor = start(runner)
        runner.set_relationship_unavailable("success")
        started = time.monotonic()
        response = httpx.post(url(processor), content=b"x", timeout=5)
        assert (response.status_code, time.monotonic() - started < 5) == (503, True)
        runner.run(1, stop_on_finish=False, initialize=False)
        assert runner.flowfiles_for("success") == []
        runner.set_relationship_available("success")
        assert serve_until(runner, Call(lambda: httpx.post(url(processor), content=b"y", timeout=5))) \
            .status_code == 200
        runner.flowfiles_for("success")[0].assert_content_equals(b"y")


def test_a_hold_confirmed_under_back_pressure_is_kept_for_a_later_confirmation() -> None:
    with listening() as (runner, _):
        processor = start(runner)
        held = httpx.post(url(processor), content=b"held", timeout=5, headers={"x-prefer-acknowledge-uri": "true"},
                          follow_redirects=False)
        assert held.status_code == 303
        confirm = url(processor, held.headers["Location"])
        runner.set_relationship_unavailable("success")
        assert httpx.delete(confirm, timeout=5).status_code == 503
        runner.set_relationship_available("success")
        assert serve_until(runner, Call(lambda: httpx.delete(confirm, timeout=5))).status_code == 200
        runner.flowfiles_for("success")[0].assert_content_equals(b"held")


@pytest.mark.parametrize(("method", "path", "status", "body"), [
    ("GET", "/contentListener/healthcheck", 200, b"OK"),
    ("HEAD", "/contentListener/healthcheck", 200, b""),
    ("GET", "/contentListener", 405, None),
    ("PUT", "/contentListener", 405, None),
    ("DELETE", "/contentListener", 405, None),
    ("OPTIONS", "/contentListener", 405, None),
    ("TRACE", "/contentListener", 405, None),  # NiFi testTraceNotAllowed
    ("POST", "/elsewhere", 404, None),
    ("HEAD", "/contentListener", 200, b""),
])
def test_paths_and_methods(method: str, path: str, status: int, body: bytes | None) -> None:
    with listening() as (runner, _):
        processor = start(runner)
        response = httpx.request(method, url(processor, path), timeout=5)
        assert response.status_code == status
        if body is not None:
            assert response.content == body
        if method == "HEAD" and path == "/contentListener":
            assert "application/flowfile-v3" in response.headers["Accept"]


def test_custom_base_path_and_health_check_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    with listening(**{"Base Path": "in/data", "Listening Port for Health Check Requests": str(free)}) as (runner, _):
        processor = start(runner)
        assert processor.health_port == free
        health = f"http://127.0.0.1:{free}"
        assert httpx.get(f"{health}/in/data/healthcheck", timeout=5).text == "OK"
        assert httpx.post(f"{health}/in/data", content=b"x", timeout=5).status_code == 404
        assert serve_until(runner, Call(lambda: httpx.post(url(processor, "/in/data"), content=b"x",
                                                           timeout=5))).status_code == 200


def test_gzip_bodies_are_decompressed_and_bad_ones_refused() -> None:
    with listening() as (runner, _):
        processor = start(runner)
        good = Call(lambda: httpx.post(url(processor), content=gzip.compress(b"unzipped"), timeout=5,
                                       headers={"Content-Encoding": "gzip"}))
        assert serve_until(runner, good).status_code == 200
        runner.flowfiles_for("success")[0].assert_content_equals(b"unzipped")
        bad = Call(lambda: httpx.post(url(processor), content=b"not gzip", timeout=5,
                                      headers={"flowfile-gzipped": "true"}))
        assert serve_until(runner, bad).status_code == 400
        assert len(runner.flowfiles_for("success")) == 1
        assert runner.bulletins


def test_flowfile_v3_packages_are_unpacked() -> None:
    stream = b"".join([*package({"filename": "a.txt", "k": "1", "uuid": "x"}, [b"first"], 5),
                       *package({"k": "2"}, [b"second!"], 7)])
    with listening() as (runner, _):
        processor = start(runner)
        call = Call(lambda: httpx.post(url(processor), content=stream, timeout=5,
                                       headers={"Content-Type": "application/flowfile-v3", "filename": "hdr"}))
        assert serve_until(runner, call).status_code == 200
        first, second = runner.flowfiles_for("success")
        first.assert_content_equals(b"first")
        first.assert_attribute_equals("filename", "a.txt")
        first.assert_attribute_equals("k", "1")
        assert first.attributes["uuid"] != "x"
        second.assert_content_equals(b"second!")
        second.assert_attribute_equals("filename", "hdr")
        truncated = Call(lambda: httpx.post(url(processor), content=stream[:-3], timeout=5,
                                            headers={"Content-Type": "application/flowfile-v3"}))
        assert serve_until(runner, truncated).status_code == 400


def test_multipart_parts_become_flowfiles() -> None:
    with listening() as (runner, _):
        processor = start(runner)
        call = Call(lambda: httpx.post(url(processor), data={"field": "value"}, timeout=5,
                                       files={"upload": ("data.csv", b"a,b\n1,2\n", "text/csv")}))
        assert serve_until(runner, call).status_code == 200
        field_ff, file_ff = runner.flowfiles_for("success")
        field_ff.assert_content_equals(b"value")
        field_ff.assert_attribute_equals("http.multipart.name", "field")
        field_ff.assert_attribute_equals("http.multipart.fragments.sequence.number", "1")
        file_ff.assert_content_equals(b"a,b\n1,2\n")
        file_ff.assert_attribute_equals("http.multipart.filename", "data.csv")
        file_ff.assert_attribute_equals("http.multipart.content.type", "text/csv")
        file_ff.assert_attribute_equals("http.multipart.size", "8")
        file_ff.assert_attribute_equals("http.multipart.fragments.total.number", "2")


def test_the_port_is_released_on_stop_and_a_busy_port_refuses_to_start() -> None:
    with listening() as (runner, _):
        processor = start(runner)
        port = processor.port
        runner.stop()
        assert processor.port is None
        with socket.socket() as again:
            again.bind(("127.0.0.1", port))  # free again
            again.listen()
            busy = ProcessorRunner(ListenHTTP)
            busy.set_property("Listening Port", str(port))
            with pytest.raises(ConfigurationError, match=f"port\\(s\\) {port}: .*Address already in use"):
                busy.run(0)


@pytest.mark.parametrize(("properties", "problem"), [
    ({"Listening Port": "8080", "Listening Port for Health Check Requests": "8080"}, "cannot have the same value"),
    ({"Base Path": "/slash"}, "must not start or end"),
    ({"Authorized Subject DN Pattern": "(unclosed"}, "Java regular expression"),
    ({"Listening Port": "70000"}, "Listening Port"),
])
def test_invalid_configurations(properties: dict[str, str], problem: str) -> None:
    runner = ProcessorRunner(ListenHTTP)
    runner.set_property("Listening Port", "0")
    for name, value in properties.items():
        runner.set_property(name, value)
    messages = "; ".join(map(str, runner.validation_results()))
    assert problem in messages


def test_legacy_names_load() -> None:
    runner = ProcessorRunner(ListenHTTP)
    runner.set_property("Listening Port", "0")
    runner.set_property("HTTP Headers to receive as Attributes (Regex)", ".*")
    runner.set_property("Authorized DN Pattern", "CN=.*")
    runner.assert_valid()
    assert runner.context.property("authorized-subject-dn-pattern").value == "CN=.*"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _tls_runner(pki: Pki, **properties: str) -> ProcessorRunner:
    runner = ProcessorRunner(ListenHTTP)
    runner.set_property("Listening Port", "0")
    runner.set_property("SSL Context Service", "tls")
    for name, value in properties.items():
        runner.set_property(name, value)
    runner.add_controller_service("tls", StandardSSLContextService, {
        "Keystore Filename": str(pki.server_p12), "Keystore Type": "PKCS12", "Keystore Password": pki.password,
        "Truststore Filename": str(pki.ca_pem), "Truststore Type": "PEM"})
    runner.enable_controller_service("tls")
    return runner


def _client(pki: Pki, with_certificate: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_pem))
    if with_certificate:
        context.load_cert_chain(str(pki.client_pem))
    return context


@pytest.mark.parametrize(("pattern", "status"), [(".*", 200), ("CN=client,.*", 200), ("CN=other.*", 403)])
def test_https_with_client_certificates_and_dn_patterns(pki: Pki, pattern: str, status: int) -> None:
    runner = _tls_runner(pki, **{"Authorized Subject DN Pattern": pattern})
    processor = start(runner)
    try:
        client = _client(pki)
        call = Call(lambda: httpx.post(f"https://localhost:{processor.port}/contentListener", content=b"secure",
                                       verify=client, timeout=5))
        assert serve_until(runner, call).status_code == status
        if status == 200:
            ff = runner.flowfiles_for("success")[0]
            ff.assert_attribute_equals("restlistener.remote.user.dn", "CN=client,O=flowyard tests")
            ff.assert_attribute_equals("restlistener.remote.issuer.dn", "CN=flowyard test CA,O=flowyard tests")
        else:
            assert runner.flowfiles_for("success") == []
    finally:
        runner.stop()


def test_https_requires_a_client_certificate_when_a_truststore_is_set(pki: Pki, tmp_path: Path) -> None:
    runner = _tls_runner(pki)
    processor = start(runner)
    try:
        with pytest.raises(httpx.HTTPError):
            httpx.post(f"https://localhost:{processor.port}/contentListener", content=b"x",
                       verify=_client(pki, with_certificate=False), timeout=5)
    finally:
        runner.stop()


def test_oversized_headers_are_refused() -> None:
    with listening(**{"Request Header Maximum Size": "1 KB"}) as (runner, _):
        processor = start(runner)
        response = httpx.post(url(processor), content=b"x", headers={"X-Big": "y" * 4000}, timeout=5)
        assert response.status_code == 431



def test_a_session_that_is_rolled_back_answers_500(monkeypatch: pytest.MonkeyPatch) -> None:
    with listening() as (runner, processor):
        processor = start(runner)

        def broken(pending: object) -> dict[str, str]:
            raise RuntimeError("content repository unavailable")

        monkeypatch.setattr(processor, "_request_attributes", broken)
        call = Call(lambda: httpx.post(url(processor), content=b"lost?", timeout=5))
        for _ in range(50):
            if call.done.is_set():
                break
            runner.run(1, stop_on_finish=False, initialize=False, raise_errors=False)
        response = call.response()
        assert response.status_code == 500
        assert runner.flowfiles_for("success") == []
        assert runner.errors


def test_expect_100_continue_and_chunked_bodies() -> None:
    with listening() as (runner, _):
        processor = start(runner)

        def raw() -> httpx.Response:
            with socket.create_connection(("127.0.0.1", processor.port), timeout=5) as sock:
                sock.sendall(b"POST /contentListener HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
                interim = sock.recv(1024)
                assert interim.startswith(b"HTTP/1.1 100 "), interim
                sock.sendall(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
                answer = b""
                while b"\r\n\r\n" not in answer:
                    answer += sock.recv(1024)
                return httpx.Response(int(answer.split()[1]))

        assert serve_until(runner, Call(raw)).status_code == 200
        runner.flowfiles_for("success")[0].assert_content_equals(b"hello world")


@pytest.mark.parametrize(("code", "valid"), [("200", True), ("204", True), ("599", True), ("100", False),
                                             ("600", False), ("-1", False)])
def test_return_code_range(code: str, valid: bool) -> None:
    runner = ProcessorRunner(ListenHTTP)
    runner.set_property("Listening Port", "0")
    runner.set_property("Return Code", code)
    assert (not runner.validation_results()) is valid


def test_return_code_204_keeps_the_connection_usable() -> None:
    with listening(**{"Return Code": "204"}) as (runner, _):
        processor = start(runner)
        with httpx.Client(timeout=5) as client:
            for body in (b"one", b"two"):
                assert serve_until(runner, Call(lambda b=body: client.post(url(processor), content=b))
                                   ).status_code == 204
        assert [ff.content for ff in runner.flowfiles_for("success")] == [b"one", b"two"]


def test_hold_and_acknowledge_as_nifi_posthttp_uses_it() -> None:
    with listening(**{"HTTP Headers for Attributes": "X-.*"}) as (runner, _):
        processor = start(runner)
        held = httpx.post(url(processor), content=b"held data", timeout=5,
                          headers={"x-prefer-acknowledge-uri": "true", "X-Kind": "held"})
        assert held.status_code == 303
        location = held.headers["Location"]
        assert location.startswith("/contentListener/holds/") and held.text == location
        assert held.headers["x-location-uri-intent"] == "flowfile-hold"
        runner.run(1, stop_on_finish=False, initialize=False)
        assert runner.flowfiles_for("success") == [], "held data became a FlowFile before it was confirmed"
        confirm = Call(lambda: httpx.delete(f"http://127.0.0.1:{processor.port}{location}", timeout=5))
        assert serve_until(runner, confirm).status_code == 200
        (ff,) = runner.flowfiles_for("success")
        ff.assert_content_equals(b"held data")
        ff.assert_attribute_equals("X-Kind", "held")
        ff.assert_attribute_equals("restlistener.request.uri", "/contentListener")
        again = httpx.delete(f"http://127.0.0.1:{processor.port}{location}", timeout=5)
        assert again.status_code == 404


def test_an_unconfirmed_hold_expires() -> None:
    with listening(**{"Max Unconfirmed Flowfile Time": "100 ms"}) as (runner, _):
        processor = start(runner)
        held = httpx.post(url(processor), content=b"x", headers={"x-prefer-acknowledge-uri": "true"}, timeout=5)
        held_at = time.monotonic()
        while time.monotonic() - held_at < 0.2:  # past Max Unconfirmed Flowfile Time: expiry is by the clock
            time.sleep(0.02)
        location = held.headers["Location"]
        assert httpx.delete(f"http://127.0.0.1:{processor.port}{location}", timeout=5).status_code == 404
        assert processor._holds == {} and runner.flowfiles_for("success") == []


@pytest.mark.parametrize("address", ["-1", "(", "nul\x00byte"])
def test_an_address_no_socket_takes_refuses_to_start_naming_the_property(address: str) -> None:
    runner = ProcessorRunner(ListenHTTP)
    runner.set_property("Listening Port", "0")
    runner.set_property("Listening Address", address)
    with pytest.raises(ConfigurationError, match="Listening Address"):
        runner.run(0, stop_on_finish=False)
    assert runner.processor.port is None  # type: ignore[attr-defined]


# -- more NiFi TestListenHTTP cases, as data ------------------------------------------------------------

def _one_way_tls_runner(pki: Pki, **properties: str) -> ProcessorRunner:
    """A keystore and no truststore: AUTO means no client certificate is asked for."""
    runner = ProcessorRunner(ListenHTTP)
    runner.set_property("Listening Port", "0")
    runner.set_property("SSL Context Service", "tls")
    for name, value in properties.items():
        runner.set_property(name, value)
    runner.add_controller_service("tls", StandardSSLContextService, {
        "Keystore Filename": str(pki.server_p12), "Keystore Type": "PKCS12", "Keystore Password": pki.password})
    runner.enable_controller_service("tls")
    return runner


@pytest.mark.parametrize("return_code", [200, 204])
@pytest.mark.parametrize("security", ["plain", "one-way", "two-way"])
def test_post_requests_received(pki: Pki, security: str, return_code: int) -> None:
    """NiFi testPOSTRequestsReceived* and testSecure*: four POSTs ("payload 1", empty, no body,
    "payload 2") become four FlowFiles in order, each answered with the Return Code."""
    properties = {"Base Path": "basePath", "Return Code": str(return_code)}
    if security == "plain":
        runner = ProcessorRunner(ListenHTTP)
        runner.set_property("Listening Port", "0")
        for name, value in properties.items():
            runner.set_property(name, value)
    elif security == "one-way":
        runner = _one_way_tls_runner(pki, **properties)
    else:
        runner = _tls_runner(pki, **properties, **{"Client Authentication": "REQUIRED"})
    processor = start(runner)
    try:
        scheme = "http" if security == "plain" else "https"
        target = f"{scheme}://127.0.0.1:{processor.port}/basePath"
        verify: ssl.SSLContext | bool = _client(pki, with_certificate=security == "two-way") \
            if security != "plain" else False
        for body in (b"payload 1", b"", None, b"payload 2"):
            call = Call(lambda body=body: httpx.post(target, content=body, verify=verify, timeout=5))  # type: ignore[misc]
            assert serve_until(runner, call).status_code == return_code
        flowfiles = runner.flowfiles_for("success")
        assert [ff.content for ff in flowfiles] == [b"payload 1", b"", b"", b"payload 2"]
        expected_dn = "CN=client,O=flowyard tests" if security == "two-way" else "none"
        flowfiles[0].assert_attribute_equals("restlistener.remote.user.dn", expected_dn)
    finally:
        runner.stop()


@pytest.mark.parametrize(("subject", "issuer", "status"), [
    ("CN=client,O=flowyard tests", "CN=flowyard test CA,O=flowyard tests", 200),  # ...WithAuthorizedIssuerDn
    ("CN=client,O=flowyard tests", "CN=other", 403),  # ...WithUnauthorizedIssuerDn: the subject alone is not enough
    ("CN=other", ".*", 403),  # ...WithUnauthorizedSubjectDn
])
def test_two_way_tls_subject_and_issuer_patterns(pki: Pki, subject: str, issuer: str, status: int) -> None:
    runner = _tls_runner(pki, **{"Authorized Subject DN Pattern": subject, "Authorized Issuer DN Pattern": issuer,
                                 "Client Authentication": "REQUIRED"})
    processor = start(runner)
    try:
        call = Call(lambda: httpx.post(f"https://127.0.0.1:{processor.port}/contentListener", content=b"x",
                                       verify=_client(pki), timeout=5))
        assert serve_until(runner, call).status_code == status
        assert len(runner.flowfiles_for("success")) == (status == 200)
    finally:
        runner.stop()


def test_one_way_tls_needs_no_client_certificate(pki: Pki) -> None:
    """NiFi testSecureServerTrustStoreNotConfiguredClientAuthenticationNotRequired."""
    runner = _one_way_tls_runner(pki, **{"Return Code": "204"})
    processor = start(runner)
    try:
        call = Call(lambda: httpx.post(f"https://127.0.0.1:{processor.port}/contentListener", content=None,
                                       verify=_client(pki, with_certificate=False), timeout=5))
        assert serve_until(runner, call).status_code == 204
    finally:
        runner.stop()


@pytest.mark.parametrize(("size", "valid"), [("7", False), ("1001", False), ("8", True), ("1000", True)])
def test_max_thread_pool_size_bounds(size: str, valid: bool) -> None:
    runner = ProcessorRunner(ListenHTTP)
    runner.set_property("Listening Port", "0")
    runner.set_property("Base Path", "basePath")
    runner.set_property("Maximum Thread Pool Size", size)
    if valid:
        runner.assert_valid()
    else:
        runner.assert_not_valid()


def test_port_and_base_path_from_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """NiFi testPOSTRequestsReceivedWithEL: ${HTTP_PORT} and ${HTTP_BASEPATH}."""
    monkeypatch.setenv("HTTP_PORT", "0")
    monkeypatch.setenv("HTTP_BASEPATH", "basePath")
    with listening(**{"Listening Port": "${HTTP_PORT}", "Base Path": "${HTTP_BASEPATH}"}) as (runner, _):
        runner.assert_valid()
        processor = start(runner)
        call = Call(lambda: httpx.post(url(processor, "/basePath"), content=b"payload 1", timeout=5))
        assert serve_until(runner, call).status_code == 200
        runner.flowfiles_for("success")[0].assert_content_equals(b"payload 1")


def test_multipart_form_data_request_as_nifi() -> None:
    """NiFi testMultipartFormDataRequest: two fields and three files (read buffer 10 b), five FlowFiles."""
    binary = bytes(range(100))
    with listening(**{"Base Path": "basePath", "Multipart Read Buffer Size": "10 b"}) as (runner, _):
        processor = start(runner)
        call = Call(lambda: httpx.post(url(processor, "/basePath"), data={"p1": "v1", "p2": "v2"}, timeout=5, files={
            "file1": ("my-file-text.txt", b"Hello\nWorld\n", "text/plain"),
            "file2": ("my-file-data.json", b'{ "name":"John", "age":30 }\n', "application/json"),
            "file3": ("my-file-binary.bin", binary, "application/octet-stream")}))
        assert serve_until(runner, call).status_code == 200
        parts = {ff.attributes["http.multipart.name"]: ff for ff in runner.flowfiles_for("success")}
    assert sorted(parts) == ["file1", "file2", "file3", "p1", "p2"]
    for ff in parts.values():
        ff.assert_attribute_exists("http.multipart.size")
        ff.assert_attribute_exists("http.multipart.fragments.sequence.number")
        ff.assert_attribute_equals("http.multipart.fragments.total.number", "5")
        ff.assert_attribute_exists("http.headers.multipart.Content-Disposition")
    for name, filename, content_type in (("file1", "my-file-text.txt", "text/plain"),
                                         ("file2", "my-file-data.json", "application/json"),
                                         ("file3", "my-file-binary.bin", "application/octet-stream")):
        parts[name].assert_attribute_equals("http.multipart.filename", filename)
        parts[name].assert_attribute_equals("http.headers.multipart.Content-Type", content_type)
    parts["p1"].assert_content_equals(b"v1")
    parts["file3"].assert_content_equals(binary)
