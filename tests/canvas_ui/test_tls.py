"""HTTPS: ``flowyard serve --certfile --keyfile`` on port 0 with a self-signed
certificate for 127.0.0.1 made in the test; plain HTTP to that port gets no
answer; TLS options that cannot work are refused (exit status 2) before the
data directory is touched."""

from __future__ import annotations

import datetime
import io
import ipaddress
import os
import re
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from flowyard.bootstrap.serve import serve
from flowyard.canvas_ui.server import check_tls_files
from flowyard.runtime.sdk import ConfigurationError

from engine_process import wait_until

pytestmark = pytest.mark.integration

CREDENTIALS = {"FLOWYARD_USERNAME": "alice", "FLOWYARD_PASSWORD": "s3cret-pass"}


def make_certificate(directory: Path, name: str = "server", *, passphrase: bytes | None = None) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its private key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    certfile, keyfile = directory / f"{name}.pem", directory / f"{name}.key"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    return certfile, keyfile


def causes(exc: BaseException | None) -> list[BaseException]:
    """``exc`` and what it was raised from (the trio backend hides the SSL error one level down)."""
    chain = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def trusting(certfile: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certfile))


async def test_health_over_https_verified_against_the_certificate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    certfile, keyfile = make_certificate(tmp_path)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(lambda task_status: serve(
            tmp_path / "data", port=0, certfile=certfile, keyfile=keyfile, out=io.StringIO(),
            task_status=task_status))
        [url] = binds
        assert re.fullmatch(r"https://127\.0\.0\.1:\d+", url)
        async with httpx.AsyncClient(base_url=url, verify=trusting(certfile), timeout=10) as client:
            health = await client.get("/api/health")
            assert health.json() == {"status": "ok"}
            assert health.headers["strict-transport-security"] == "max-age=31536000", "HSTS under TLS"
            assert (await client.get("/api/flow")).status_code == 401, "TLS does not replace authentication"
        # A client that does not trust the self-signed certificate refuses the server.
        async with httpx.AsyncClient(base_url=url, timeout=10) as untrusting:
            with pytest.raises(httpx.ConnectError) as refused:
                await untrusting.get("/api/health")
            assert any(isinstance(e, ssl.SSLCertVerificationError) for e in causes(refused.value)), refused.value
        # The port speaks TLS only: plain HTTP gets no HTTP answer.
        async with httpx.AsyncClient(timeout=10) as plain:
            with pytest.raises(httpx.TransportError):
                await plain.get(url.replace("https://", "http://") + "/api/health")
        nursery.cancel_scope.cancel()


async def test_session_cookie_is_secure_over_https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    certfile, keyfile = make_certificate(tmp_path)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    async with trio.open_nursery() as nursery:
        [url] = await nursery.start(lambda task_status: serve(
            tmp_path / "data", port=0, certfile=certfile, keyfile=keyfile, out=io.StringIO(),
            task_status=task_status))
        async with httpx.AsyncClient(base_url=url, verify=trusting(certfile), timeout=10) as client:
            login = await client.post("/api/login", json={"username": "alice", "password": "s3cret-pass"})
            assert login.status_code == 200
            cookie = login.headers["set-cookie"]
            attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
            assert {"secure", "httponly"} <= attributes, cookie
            # The browser session works over HTTPS (the client sends a Secure cookie only there).
            assert (await client.get("/api/flow")).status_code == 200
        nursery.cancel_scope.cancel()


def tls_case(tmp_path: Path, case: str) -> tuple[Path | None, Path | None]:
    certfile, keyfile = make_certificate(tmp_path)
    _, other_key = make_certificate(tmp_path, "other")
    _, locked_key = make_certificate(tmp_path, "locked", passphrase=b"passphrase")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    return {
        "neither": (None, None),
        "both": (certfile, keyfile),
        "certfile only": (certfile, None),
        "keyfile only": (None, keyfile),
        "missing certfile": (tmp_path / "nope.pem", keyfile),
        "missing keyfile": (certfile, tmp_path / "nope.key"),
        "certfile not PEM": (junk, keyfile),
        "keyfile is a certificate": (certfile, certfile),
        "keyfile with passphrase": (certfile, locked_key),
        "key of another certificate": (certfile, other_key),
    }[case]


@pytest.mark.parametrize(("case", "outcome"), [
    ("neither", False),
    ("both", True),
    ("certfile only", "--certfile needs --keyfile"),
    ("keyfile only", "--keyfile needs --certfile"),
    ("missing certfile", "cannot read the --certfile file .*nope.pem: No such file"),
    ("missing keyfile", "cannot read the --keyfile file .*nope.key: No such file"),
    ("certfile not PEM", "--certfile .*junk.pem holds no PEM certificate"),
    ("keyfile is a certificate", "--keyfile .*server.pem holds no PEM private key"),
    ("keyfile with passphrase", "--keyfile .*locked.key is protected by a passphrase"),
    ("key of another certificate", "--keyfile .*other.key is not the private key of the certificate in "
                                   "--certfile .*server.pem"),
])
def test_tls_files_are_checked(tmp_path: Path, case: str, outcome: bool | str) -> None:
    certfile, keyfile = tls_case(tmp_path, case)
    if isinstance(outcome, bool):
        assert check_tls_files(certfile, keyfile) is outcome
    else:
        with pytest.raises(ConfigurationError, match=outcome):
            check_tls_files(certfile, keyfile)


def flowyard(*args: str) -> list[str]:
    return [sys.executable, "-m", "flowyard.bootstrap.cli", *args]


@pytest.mark.parametrize(("case", "message"), [
    ("certfile only", "--certfile needs --keyfile"),
    ("key of another certificate", "is not the private key of the certificate"),
])
def test_cli_refuses_bad_tls_options_with_status_2(tmp_path: Path, case: str, message: str) -> None:
    certfile, keyfile = tls_case(tmp_path, case)
    options = [*(["--certfile", str(certfile)] if certfile else []), *(["--keyfile", str(keyfile)] if keyfile else [])]
    data = tmp_path / "data"
    result = subprocess.run(flowyard("serve", "--data-dir", str(data), "--port", "0", *options),
                            capture_output=True, text=True, timeout=60, env={**os.environ, **CREDENTIALS})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("flowyard: error: ") and message in result.stderr, result.stderr
    assert not data.exists(), "a refused start touches nothing"


def test_cli_serves_https_and_stops_cleanly(tmp_path: Path) -> None:
    certfile, keyfile = make_certificate(tmp_path)
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(flowyard("serve", "--data-dir", str(tmp_path / "data"), "--port", "0",
                                         "--certfile", str(certfile), "--keyfile", str(keyfile)),
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **CREDENTIALS})
    try:
        def serving() -> bool:
            assert proc.poll() is None, f"serve exited with {proc.returncode}:\n{log.read_text()}"
            return "flowyard serving" in log.read_text()

        wait_until(serving, timeout=60, what="serve to print its URL")
        match = re.search(r"serving (https://127\.0\.0\.1:\d+)", log.read_text())
        assert match, log.read_text()
        health = httpx.get(f"{match.group(1)}/api/health", verify=trusting(certfile), timeout=10)
        assert health.json() == {"status": "ok"}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "stopped cleanly" in log.read_text()
