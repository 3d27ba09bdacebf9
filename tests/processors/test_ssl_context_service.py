"""StandardSSLContextService: PEM and PKCS12 stores, validation, client and server contexts."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest
from flowyard_http_testkit import Pki, make_pki

from flowyard.processors.ssl_context_service import (
    StandardSSLContextService,
    TlsConfigurationError,
    certificate_dn,
    load_key_material,
)
from flowyard.processors.update_attribute import UpdateAttribute
from flowyard.runtime.sdk import FlowyardError
from flowyard.runtime.sdk.testing import ProcessorRunner


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _service(properties: dict[str, str | None]) -> tuple[ProcessorRunner, StandardSSLContextService]:
    runner = ProcessorRunner(UpdateAttribute)
    service = runner.add_controller_service("tls", StandardSSLContextService, properties)
    assert isinstance(service, StandardSSLContextService)
    return runner, service


def _enabled(properties: dict[str, str | None]) -> StandardSSLContextService:
    runner, service = _service(properties)
    runner.enable_controller_service("tls")
    return service


@pytest.mark.parametrize(("keystore", "kind", "password", "key_password"), [
    ("server.pem", "PEM", None, None),
    ("server-encrypted.pem", "PEM", "changeit", None),
    ("server-encrypted.pem", "PEM", "wrong", "changeit"),
    ("server.p12", "PKCS12", "changeit", None),
])
def test_keystores_of_each_type_load(pki: Pki, keystore: str, kind: str, password: str | None,
                                     key_password: str | None) -> None:
    service = _enabled({"Keystore Filename": str(pki.folder / keystore), "Keystore Type": kind,
                        "Keystore Password": password, "Key Password": key_password})
    assert service.is_key_store_configured and not service.is_trust_store_configured
    assert isinstance(service.create_server_context(), ssl.SSLContext)


@pytest.mark.parametrize(("truststore", "kind", "password"), [
    ("ca.pem", "PEM", None), ("truststore.p12", "PKCS12", "changeit")])
def test_truststores_of_each_type_load(pki: Pki, truststore: str, kind: str, password: str | None) -> None:
    service = _enabled({"Truststore Filename": str(pki.folder / truststore), "Truststore Type": kind,
                        "Truststore Password": password})
    assert service.is_trust_store_configured and not service.is_key_store_configured
    context = service.create_client_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert any("flowyard test CA" in str(c.get("subject")) for c in context.get_ca_certs())
    with pytest.raises(TlsConfigurationError, match="needs a keystore"):
        service.create_server_context()


@pytest.mark.parametrize(("properties", "problem"), [
    ({}, "at least one of Keystore Filename and Truststore Filename"),
    ({"Keystore Filename": "{server.pem}"}, "Keystore Type is required"),
    ({"Truststore Type": "PEM"}, "Truststore Filename is required"),
    ({"Keystore Filename": "{server.p12}", "Keystore Type": "PKCS12", "Keystore Password": "nope"},
     "wrong password"),
    ({"Keystore Filename": "{missing.p12}", "Keystore Type": "PKCS12"}, "cannot read"),
    ({"Keystore Filename": "{server.p12}", "Keystore Type": "JKS"}, "convert it"),
    ({"Keystore Filename": "{ca.pem}", "Keystore Type": "PEM"}, "holds no private key"),
    ({"Keystore Filename": "{server-encrypted.pem}", "Keystore Type": "PEM"}, "cannot read the private key"),
    ({"Truststore Filename": "{server.p12}", "Truststore Type": "PEM"}, "holds no certificate"),
    ({"Keystore Filename": "{server.pem}", "Keystore Type": "PEM", "TLS Protocol": "TLSv9"},
     "not one of the allowed values"),
    # NiFi StandardSSLContextServiceTest: testNotValidMissingTrustStoreType, testNotValidIncorrectPassword
    ({"Keystore Filename": "{server.p12}", "Keystore Type": "PKCS12", "Keystore Password": "changeit",
      "Truststore Filename": "{truststore.p12}"}, "Truststore Type is required"),
    ({"Keystore Filename": "{server.p12}", "Keystore Type": "PKCS12", "Keystore Password": "changeit",
      "Truststore Filename": "{truststore.p12}", "Truststore Type": "PKCS12", "Truststore Password": "String"},
     "wrong password"),
])
def test_invalid_configurations_cannot_be_enabled(pki: Pki, properties: dict[str, str], problem: str) -> None:
    resolved = {k: str(pki.folder / v[1:-1]) if v.startswith("{") else v for k, v in properties.items()}
    runner, _ = _service(dict(resolved))
    messages = "; ".join(str(r) for r in runner.controller_service_validation_results("tls"))
    assert problem in messages
    with pytest.raises(FlowyardError):
        runner.enable_controller_service("tls")


def test_legacy_property_names_resolve(pki: Pki) -> None:
    service = _enabled({"Keystore Filename": str(pki.server_pem), "Keystore Type": "PEM",
                        "SSL Protocol": "TLSv1.2", "key-password": None})
    context = service.create_server_context()
    assert context.maximum_version == ssl.TLSVersion.TLSv1_2 == context.minimum_version


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> tuple[str, bytes | None]:
    """One TLS handshake over loopback: (TLS version, the client certificate the server saw, DER)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen: list[object] = []

    def accept() -> None:
        conn, _ = listener.accept()
        try:
            with server.wrap_socket(conn, server_side=True) as tls:
                seen.append(tls.getpeercert(binary_form=True))
                tls.recv(1)
        except (ssl.SSLError, OSError) as exc:
            seen.append(exc)

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                client.wrap_socket(raw, server_hostname="localhost") as tls:
            version = tls.version() or ""
            tls.sendall(b"x")
    finally:
        thread.join(5)
        listener.close()
    der = seen[0] if isinstance(seen[0], bytes) else None
    return version, der


@pytest.mark.integration
def test_mutual_tls_between_a_client_and_a_server_context(pki: Pki) -> None:
    server = _enabled({"Keystore Filename": str(pki.server_p12), "Keystore Type": "PKCS12",
                       "Keystore Password": "changeit", "Truststore Filename": str(pki.ca_pem),
                       "Truststore Type": "PEM", "TLS Protocol": "TLSv1.3"})
    client = _enabled({"Keystore Filename": str(pki.client_pem), "Keystore Type": "PEM",
                       "Truststore Filename": str(pki.truststore_p12), "Truststore Type": "PKCS12",
                       "Truststore Password": "changeit"})
    version, der = _handshake(server.create_server_context("REQUIRED"), client.create_client_context())
    assert version == "TLSv1.3"
    assert der is not None
    subject, issuer = certificate_dn(der)
    assert subject == "CN=client,O=flowyard tests"
    assert issuer == "CN=flowyard test CA,O=flowyard tests"


@pytest.mark.integration
def test_client_without_the_ca_refuses_the_server(pki: Pki, tmp_path: Path) -> None:
    other = make_pki(tmp_path / "other")
    server = _enabled({"Keystore Filename": str(pki.server_pem), "Keystore Type": "PEM"})
    client = _enabled({"Truststore Filename": str(other.ca_pem), "Truststore Type": "PEM"})
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server.create_server_context(), client.create_client_context())


def test_load_key_material_reports_a_truststore_without_certificates(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("nothing here")
    with pytest.raises(TlsConfigurationError, match="holds no certificate"):
        load_key_material(str(empty), "PEM", None, need_key=False)


def test_disabling_forgets_the_key_material(pki: Pki) -> None:
    runner, service = _service({"Keystore Filename": str(pki.server_pem), "Keystore Type": "PEM"})
    runner.enable_controller_service("tls")
    runner.disable_controller_service("tls")
    assert not service.is_key_store_configured


def test_store_paths_from_environment_variables(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    """NiFi testCreateContextExpressionLanguageProperties: ${keystore} and ${truststore}."""
    monkeypatch.setenv("keystore", str(pki.server_p12))
    monkeypatch.setenv("truststore", str(pki.folder / "truststore.p12"))
    service = _enabled({"Keystore Filename": "${keystore}", "Keystore Type": "PKCS12", "Keystore Password": "changeit",
                        "Truststore Filename": "${truststore}", "Truststore Type": "PKCS12",
                        "Truststore Password": "changeit"})
    assert service.is_key_store_configured and service.is_trust_store_configured
    assert isinstance(service.create_server_context(), ssl.SSLContext)


def test_changed_properties_are_validated_again(pki: Pki) -> None:
    """NiFi testValidPropertiesChanged: a store that disappears from the configuration makes it invalid."""
    properties: dict[str, str | None] = {
        "Keystore Filename": str(pki.server_p12), "Keystore Type": "PKCS12", "Keystore Password": "changeit",
        "Key Password": "changeit", "Truststore Filename": str(pki.folder / "truststore.p12"),
        "Truststore Type": "PKCS12", "Truststore Password": "changeit"}
    runner, _ = _service(properties)
    runner.enable_controller_service("tls")
    runner.disable_controller_service("tls")
    runner.set_controller_service_property("tls", "Keystore Filename", str(pki.folder / "DOES-NOT-EXIST.p12"))
    assert runner.controller_service_validation_results("tls")
    runner.set_controller_service_property("tls", "Keystore Filename", str(pki.server_p12))
    assert runner.controller_service_validation_results("tls") == []
    runner.enable_controller_service("tls")

