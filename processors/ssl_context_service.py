"""The ``SSLContextService`` API and ``StandardSSLContextService``: TLS key
material for HTTP clients (InvokeHTTP) and servers (ListenHTTP,
HandleHttpRequest).

A processor names the service with a property declared as
``PropertySpec(..., identifies_controller_service=SSL_CONTEXT_SERVICE)`` (or
``RESTRICTED_SSL_CONTEXT_SERVICE`` for servers, as NiFi does) and asks it for
an ``ssl.SSLContext``::

    tls = context.property(SSL_CONTEXT).as_controller_service(SSLContextService)
    client_ctx = tls.create_client_context()
    server_ctx = tls.create_server_context(client_auth="REQUIRED")

Python's ``ssl`` module separates client and server contexts, so where NiFi
has one ``createContext()`` there are two methods here.
"""

from __future__ import annotations

import os
import re
import secrets
import ssl
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    ExpressionScope,
    PropertySpec,
    ValidationResult,
)

__all__ = [
    "RESTRICTED_SSL_CONTEXT_SERVICE",
    "SSL_CONTEXT_SERVICE",
    "KeyMaterial",
    "SSLContextService",
    "StandardSSLContextService",
    "TlsConfigurationError",
    "certificate_dn",
    "load_key_material",
]

SSL_CONTEXT_SERVICE = "SSLContextService"
"""API name of services that give TLS contexts (NiFi's ``SSLContextService``)."""
RESTRICTED_SSL_CONTEXT_SERVICE = "RestrictedSSLContextService"
"""API name NiFi's server-side processors ask for (TLS protocols restricted to current versions)."""

PKCS12 = "PKCS12"
PEM = "PEM"
JKS = "JKS"
BCFKS = "BCFKS"
_UNSUPPORTED_TYPES = {
    JKS: "JKS keystores cannot be read by flowyard; convert it with "
         "'keytool -importkeystore -srcstoretype JKS -deststoretype PKCS12' and choose PKCS12",
    BCFKS: "BCFKS (BouncyCastle FIPS) keystores cannot be read by flowyard; convert it to PKCS12",
}

_STORE_TYPES = (
    AllowableValue(BCFKS, BCFKS, "BouncyCastle FIPS keystore (not supported by flowyard: convert it to PKCS12)."),
    AllowableValue(PKCS12, PKCS12, "PKCS #12 file (.p12, .pfx), as keytool and openssl pkcs12 write it."),
    AllowableValue(JKS, JKS, "Java KeyStore (not supported by flowyard: convert it to PKCS12 with keytool)."),
    AllowableValue(PEM, PEM, "flowyard only: PEM text. A keystore holds the certificate chain and the private key "
                              "(encrypted with the Key Password or Keystore Password, or not at all); a truststore "
                              "holds one or more CA certificates."),
)

KEYSTORE_FILENAME = PropertySpec(
    key="keystore-filename",
    display_name="Keystore Filename",
    description="The path of the keystore: the certificate and private key this side presents (a server's "
                "identity, or a client certificate for mutual TLS).",
    expression_scope=ExpressionScope.ENVIRONMENT,
)
KEYSTORE_PASSWORD = PropertySpec(
    key="keystore-password",
    display_name="Keystore Password",
    description="The password of the keystore (for PEM: the password of an encrypted private key, when no Key "
                "Password is given).",
    sensitive=True,
)
KEY_PASSWORD = PropertySpec(
    key="key-password",
    display_name="Key Password",
    description="The password of the private key, when it differs from the Keystore Password.",
    sensitive=True,
    aliases=("key-password",),
)
KEYSTORE_TYPE = PropertySpec(
    key="keystore-type",
    display_name="Keystore Type",
    description="The format of the keystore.",
    allowed_values=_STORE_TYPES,
)
TRUSTSTORE_FILENAME = PropertySpec(
    key="truststore-filename",
    display_name="Truststore Filename",
    description="The path of the truststore: the CA certificates whose signatures are trusted (the server's for a "
                "client; clients' certificates for a server that asks for them). Without one a client trusts the "
                "system's CAs.",
    expression_scope=ExpressionScope.ENVIRONMENT,
)
TRUSTSTORE_PASSWORD = PropertySpec(
    key="truststore-password",
    display_name="Truststore Password",
    description="The password of the truststore (PKCS12 truststores written without one need none).",
    sensitive=True,
)
TRUSTSTORE_TYPE = PropertySpec(
    key="truststore-type",
    display_name="Truststore Type",
    description="The format of the truststore.",
    allowed_values=_STORE_TYPES,
)
TLS_PROTOCOL = PropertySpec(
    key="tls-protocol",
    display_name="TLS Protocol",
    description="The TLS protocol version to use. TLS negotiates the newest version both sides support "
                "(TLSv1.2 or TLSv1.3); a version name allows only that version.",
    default="TLS",
    allowed_values=(
        AllowableValue("SSL", "SSL", "The same as TLS (SSL itself is never used)."),
        AllowableValue("TLS", "TLS", "Negotiate the newest version both sides support, at least TLSv1.2."),
        AllowableValue("TLSv1.3", "TLSv1.3", "Only TLS 1.3."),
        AllowableValue("TLSv1.2", "TLSv1.2", "Only TLS 1.2."),
        AllowableValue("TLSv1.1", "TLSv1.1", "Only TLS 1.1 (refused by most OpenSSL builds)."),
        AllowableValue("TLSv1", "TLSv1", "Only TLS 1.0 (refused by most OpenSSL builds)."),
    ),
    aliases=("SSL Protocol",),
)

_VERSIONS: dict[str, tuple[ssl.TLSVersion, ssl.TLSVersion]] = {
    "SSL": (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.MAXIMUM_SUPPORTED),
    "TLS": (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.MAXIMUM_SUPPORTED),
    "TLSv1.3": (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3),
    "TLSv1.2": (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2),
    "TLSv1.1": (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1),
    "TLSv1": (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1),
}

_PEM_KEY = re.compile(rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S)

CLIENT_AUTH_NONE = "NONE"
CLIENT_AUTH_WANT = "WANT"
CLIENT_AUTH_REQUIRED = "REQUIRED"


class TlsConfigurationError(ValueError):
    """A keystore or truststore cannot be read (missing file, wrong password,
    unsupported type, no private key)."""


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """What a keystore or truststore holds, in PEM: the chain (leaf first),
    the private key (PKCS #8, unencrypted; None for a truststore) and the
    certificates (for a truststore: every trusted certificate)."""

    certificates_pem: bytes
    key_pem: bytes | None


def _password(text: str | None) -> bytes | None:
    return text.encode("utf-8") if text else None


def load_key_material(path: str, store_type: str, password: str | None, key_password: str | None = None,
                      *, need_key: bool) -> KeyMaterial:
    """Read a keystore (``need_key``) or truststore. Raises ``TlsConfigurationError``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509 import load_pem_x509_certificates

    if store_type in _UNSUPPORTED_TYPES:
        raise TlsConfigurationError(_UNSUPPORTED_TYPES[store_type])
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TlsConfigurationError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    certs: list[bytes] = []
    key_pem: bytes | None = None
    if store_type == PKCS12:
        try:
            loaded = pkcs12.load_pkcs12(data, _password(password))
        except ValueError as exc:
            raise TlsConfigurationError(f"cannot open the PKCS12 file {path!r} (wrong password or not PKCS12): "
                                        f"{exc}") from None
        if loaded.cert is not None:
            certs.append(loaded.cert.certificate.public_bytes(serialization.Encoding.PEM))
        certs.extend(c.certificate.public_bytes(serialization.Encoding.PEM) for c in loaded.additional_certs)
        if loaded.key is not None:
            key_pem = loaded.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())
    elif store_type == PEM:
        try:
            parsed = load_pem_x509_certificates(data)
        except ValueError:
            parsed = []
        certs.extend(c.public_bytes(serialization.Encoding.PEM) for c in parsed)
        found = _PEM_KEY.search(data) if need_key else None
        if found is not None:
            secret = _password(key_password) or _password(password)
            try:
                key = serialization.load_pem_private_key(found.group(0), secret)
            except (ValueError, TypeError) as exc:
                raise TlsConfigurationError(f"cannot read the private key in {path!r} (wrong or missing "
                                            f"password?): {exc}") from None
            key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    else:
        raise TlsConfigurationError(f"unknown store type {store_type!r}")
    if not certs:
        raise TlsConfigurationError(f"{path!r} holds no certificate")
    if need_key and key_pem is None:
        raise TlsConfigurationError(f"the keystore {path!r} holds no private key")
    return KeyMaterial(b"".join(certs), key_pem)


def _load_chain(context: ssl.SSLContext, material: KeyMaterial) -> None:
    """``ssl`` reads key material only from files: write it to a private
    temporary directory, the key encrypted with a one-time password, load it
    and delete it at once."""
    from cryptography.hazmat.primitives import serialization

    assert material.key_pem is not None
    one_time = secrets.token_urlsafe(24)
    key = serialization.load_pem_private_key(material.key_pem, None)
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(one_time.encode()))
    with tempfile.TemporaryDirectory(prefix="flowyard-tls-") as folder:
        os.chmod(folder, 0o700)
        cert_file = Path(folder, "chain.pem")
        key_file = Path(folder, "key.pem")
        cert_file.write_bytes(material.certificates_pem)
        key_file.write_bytes(encrypted)
        context.load_cert_chain(str(cert_file), str(key_file), password=one_time)


def certificate_dn(der: bytes) -> tuple[str, str]:
    """(subject DN, issuer DN) of a DER certificate, RFC 4514 style as NiFi
    prints them (``CN=client,OU=flow,O=example``)."""
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    return cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()


class SSLContextService:
    """The ``SSLContextService`` API. Implementations are safe to call from
    several threads; each call builds a fresh context."""

    @property
    def is_key_store_configured(self) -> bool:
        """Whether a keystore (this side's certificate and key) is configured."""
        raise NotImplementedError

    @property
    def is_trust_store_configured(self) -> bool:
        """Whether a truststore is configured."""
        raise NotImplementedError

    def create_client_context(self) -> ssl.SSLContext:
        """A context for a TLS client: verifies the server's certificate and
        host name against the truststore (else the system's CAs) and presents
        the keystore's certificate when the server asks."""
        raise NotImplementedError

    def create_server_context(self, client_auth: str = CLIENT_AUTH_NONE) -> ssl.SSLContext:
        """A context for a TLS server presenting the keystore's certificate.
        ``client_auth`` is NONE, WANT or REQUIRED (client certificates checked
        against the truststore). Raises ``TlsConfigurationError`` without a keystore."""
        raise NotImplementedError


class StandardSSLContextService(ControllerService, SSLContextService):
    """Builds TLS contexts from a keystore and a truststore on disk.

    The stores are read and checked when the service is validated and again
    when it is enabled; their contents are kept in memory (the private key
    unencrypted, never logged) until it is disabled. Client contexts verify
    the server's host name, as NiFi's clients do.

    Differences from NiFi: Keystore and Truststore Type also accept ``PEM``
    (a flowyard addition); ``JKS`` and ``BCFKS`` are listed, as NiFi lists
    them, but refused with a message saying how to convert the store to
    PKCS12 — Python cannot read them. ``TLS``/``SSL`` mean TLS 1.2 or newer;
    TLSv1 and TLSv1.1 depend on the OpenSSL build and are usually refused.
    A server context gets only the leaf client certificate (Python's ``ssl``
    exposes no verified chain), so DN checks look at the leaf. Keystores with
    several private keys use the first.
    """

    spec = ControllerServiceSpec(
        description=(
            "Holds a keystore and/or truststore configuration, set up once and shared by the HTTP clients and servers "
            "and other TLS components that refer to it."
        ),
        provides=(SSL_CONTEXT_SERVICE, RESTRICTED_SSL_CONTEXT_SERVICE),
        tags=("ssl", "tls", "secure", "certificate", "keystore", "truststore", "jks", "p12", "pkcs12", "pkcs", "pem",
              "https"),
        properties=(KEYSTORE_FILENAME, KEYSTORE_PASSWORD, KEY_PASSWORD, KEYSTORE_TYPE, TRUSTSTORE_FILENAME,
                    TRUSTSTORE_PASSWORD, TRUSTSTORE_TYPE, TLS_PROTOCOL),
    )

    def __init__(self) -> None:
        self._key: KeyMaterial | None = None
        self._trust: KeyMaterial | None = None
        self._protocol = "TLS"

    @staticmethod
    def _read(context: ConfigurationContext) -> tuple[KeyMaterial | None, KeyMaterial | None]:
        def text(spec: PropertySpec) -> str | None:
            value = context.property(spec).evaluate().value
            return value if value else None

        key = trust = None
        keystore = text(KEYSTORE_FILENAME)
        if keystore is not None:
            key = load_key_material(keystore, text(KEYSTORE_TYPE) or "", text(KEYSTORE_PASSWORD),
                                    text(KEY_PASSWORD), need_key=True)
        truststore = text(TRUSTSTORE_FILENAME)
        if truststore is not None:
            trust = load_key_material(truststore, text(TRUSTSTORE_TYPE) or "", text(TRUSTSTORE_PASSWORD),
                                      need_key=False)
        return key, trust

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """NiFi's rules: a store needs its type; at least one store; both stores readable."""
        results: list[ValidationResult] = []
        pairs = ((KEYSTORE_FILENAME, KEYSTORE_TYPE), (TRUSTSTORE_FILENAME, TRUSTSTORE_TYPE))
        for filename, kind in pairs:
            has_file = bool(context.property(filename).value)
            has_type = bool(context.property(kind).value)
            if has_file and not has_type:
                results.append(ValidationResult(kind.display_name,
                                                f"{kind.display_name} is required when {filename.display_name} "
                                                "is set", kind.key))
            elif has_type and not has_file:
                results.append(ValidationResult(filename.display_name,
                                                f"{filename.display_name} is required when {kind.display_name} "
                                                "is set", filename.key))
        if not context.property(KEYSTORE_FILENAME).value and not context.property(TRUSTSTORE_FILENAME).value:
            results.append(ValidationResult("Keystore or Truststore",
                                            "at least one of Keystore Filename and Truststore Filename must be set"))
        if results:
            return results
        try:
            self._read(context)
        except TlsConfigurationError as exc:
            results.append(ValidationResult("Keystore or Truststore", str(exc)))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Read both stores and keep their contents."""
        self._key, self._trust = self._read(context)
        self._protocol = context.property(TLS_PROTOCOL).as_str()

    def on_disabled(self) -> None:
        """Forget the key material."""
        self._key = self._trust = None

    @property
    def is_key_store_configured(self) -> bool:
        """Whether a keystore is configured."""
        return self._key is not None

    @property
    def is_trust_store_configured(self) -> bool:
        """Whether a truststore is configured."""
        return self._trust is not None

    def _versions(self, context: ssl.SSLContext) -> None:
        low, high = _VERSIONS[self._protocol]
        context.minimum_version = low
        context.maximum_version = high

    def create_client_context(self) -> ssl.SSLContext:
        """See ``SSLContextService.create_client_context``."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self._versions(context)
        if self._trust is not None:
            context.load_verify_locations(cadata=self._trust.certificates_pem.decode("ascii"))
        else:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        if self._key is not None:
            _load_chain(context, self._key)
        return context

    def create_server_context(self, client_auth: str = CLIENT_AUTH_NONE) -> ssl.SSLContext:
        """See ``SSLContextService.create_server_context``."""
        if self._key is None:
            raise TlsConfigurationError("a TLS server needs a keystore: set Keystore Filename in the SSL Context "
                                        "Service")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._versions(context)
        _load_chain(context, self._key)
        if self._trust is not None:
            context.load_verify_locations(cadata=self._trust.certificates_pem.decode("ascii"))
        if client_auth == CLIENT_AUTH_REQUIRED:
            context.verify_mode = ssl.CERT_REQUIRED
        elif client_auth == CLIENT_AUTH_WANT:
            context.verify_mode = ssl.CERT_OPTIONAL
        return context
