"""Test kit for the http processor family: certificates made on the spot and
a small recording HTTP(S) server on an ephemeral loopback port."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

__all__ = ["Pki", "Recorded", "RecordingServer", "make_pki", "recording_server", "wait_until"]


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, step: float = 0.01) -> None:
    """Wait until ``condition()`` holds; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "flowyard tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, issuer_name: x509.Name, issuer_key: Any, key: Any, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class Pki:
    """A CA, a server and a client certificate, in PEM and PKCS12 files."""

    folder: Path
    ca_pem: Path
    server_pem: Path  # certificate + unencrypted key
    server_p12: Path
    client_pem: Path
    client_p12: Path
    truststore_p12: Path
    password: str = "changeit"
    paths: dict[str, Path] = field(default_factory=dict)


def make_pki(folder: Path, password: str = "changeit") -> Pki:
    """Write a fresh CA, server (CN=localhost, SAN localhost/127.0.0.1) and client (CN=client) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _cert("flowyard test CA", _name("flowyard test CA"), ca_key, ca_key, ca=True)
    out: dict[str, Path] = {}
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    for who in ("server", "client"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert("localhost" if who == "server" else "client", ca_cert.subject, ca_key, key, ca=False)
        key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        (folder / f"{who}.pem").write_bytes(cert.public_bytes(pem) + key_pem)
        enc_key = key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                    serialization.BestAvailableEncryption(password.encode()))
        (folder / f"{who}-encrypted.pem").write_bytes(cert.public_bytes(pem) + enc_key)
        (folder / f"{who}.p12").write_bytes(pkcs12.serialize_key_and_certificates(
            who.encode(), key, cert, [ca_cert], serialization.BestAvailableEncryption(password.encode())))
        out[who] = folder / f"{who}.pem"
    (folder / "truststore.p12").write_bytes(pkcs12.serialize_key_and_certificates(
        None, None, None, [ca_cert], serialization.BestAvailableEncryption(password.encode())))
    return Pki(folder, folder / "ca.pem", folder / "server.pem", folder / "server.p12", folder / "client.pem",
               folder / "client.p12", folder / "truststore.p12", password, out)


@dataclass
class Recorded:
    """One request the recording server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    raw_request_line: str


class RecordingServer:
    """What ``recording_server`` yields: its base URL and the requests it saw."""

    def __init__(self, server: http.server.ThreadingHTTPServer, scheme: str) -> None:
        self.server = server
        self.requests: list[Recorded] = []
        host, port = server.server_address[:2]
        self.port = int(port)
        self.url = f"{scheme}://{host}:{port}"


Handler = Callable[[Recorded], tuple[int, Any, bytes]]
"""Answers a request: (status, headers as a dict or a list of pairs, body)."""


def _default_handler(req: Recorded) -> tuple[int, dict[str, str], bytes]:
    """``/status/NNN`` answers NNN; ``/sleep/S`` waits S seconds; ``/redirect`` sends
    a 302 to /status/200; anything else echoes the body with 200."""
    parts = req.path.split("?")[0].strip("/").split("/")
    if parts[0] == "status" and len(parts) > 1:
        code = int(parts[1])
        return code, {"Content-Type": "text/plain; charset=utf-8", "X-Status": str(code)}, f"status {code}".encode()
    if parts[0] == "sleep":
        time.sleep(float(parts[1]))
        return 200, {}, b"slept"
    if parts[0] == "redirect":
        return 302, {"Location": "/status/200"}, b""
    if parts[0] == "cookie":
        return 200, {"Set-Cookie": "session=abc; Path=/"}, b"cookie set"
    return 200, {"Content-Type": "application/octet-stream", "X-Echo": "yes"}, req.body


@contextmanager
def recording_server(handler: Handler | None = None, *, ssl_context: ssl.SSLContext | None = None
                     ) -> Iterator[RecordingServer]:
    """A threaded HTTP/1.1 server on 127.0.0.1, port 0; stopped on exit."""
    respond = handler or _default_handler
    holder: list[RecordingServer] = []

    class _Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                body = b"".join(chunks)
            else:
                body = self.rfile.read(length) if length else b""
            req = Recorded(self.command, self.path, {k: v for k, v in self.headers.items()}, body,
                           self.requestline)
            holder[0].requests.append(req)
            code, headers, payload = respond(req)
            self.send_response(code)
            for key, value in headers.items() if isinstance(headers, dict) else headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_PURGE = _serve

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]  # clients hang up
    if ssl_context is not None:
        server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
    holder.append(RecordingServer(server, "https" if ssl_context is not None else "http"))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
