"""Pieces the listening HTTP processors share: NiFi's regex properties in
Java's dialect, port and TLS settings, and the certificate check. Private to
the http family."""

from __future__ import annotations

import email.parser
import email.policy
import re
from collections.abc import Mapping
from typing import IO

from flowyard.processors.ssl_context_service import (
    CLIENT_AUTH_NONE,
    CLIENT_AUTH_REQUIRED,
    CLIENT_AUTH_WANT,
    SSLContextService,
    certificate_dn,
)
from flowyard.runtime.sdk import validators
from flowyard.runtime.sdk.javaregex import compile_java, java_regex_problem

__all__ = ["JAVA_REGEX", "LISTEN_PORT", "NO_CERTIFICATE", "check_certificate", "java_regex", "parse_multipart",
           "server_ssl_context"]

NO_CERTIFICATE = "none"
"""NiFi's subject and issuer DN when the client sent no certificate."""


def _java_regex_check(value: str) -> str | None:
    problem = java_regex_problem(value)
    return None if problem is None else f"{value!r} is not a valid Java regular expression: {problem}"


JAVA_REGEX = validators.Validator("regex", "a Java regular expression (java.util.regex)", _java_regex_check)
"""A Java regular expression, as NiFi's REGULAR_EXPRESSION_VALIDATOR takes."""

LISTEN_PORT = validators.integer_range(0, 65535)
"""A port to listen on; 0 (a flowyard addition) lets the system choose a free one."""


def java_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` (Java's dialect) compiled for Python's ``re``."""
    return compile_java(pattern).regex


def server_ssl_context(service: SSLContextService, client_authentication: str) -> object:
    """The server context for NiFi's Client Authentication value: AUTO means
    REQUIRED when the service has a truststore, else NONE."""
    mode = client_authentication.upper()
    if mode == "AUTO":
        mode = CLIENT_AUTH_REQUIRED if service.is_trust_store_configured else CLIENT_AUTH_NONE
    elif mode in ("NEED AUTHENTICATION", "NEED"):
        mode = CLIENT_AUTH_REQUIRED
    elif mode in ("WANT AUTHENTICATION",):
        mode = CLIENT_AUTH_WANT
    elif mode in ("NO AUTHENTICATION",):
        mode = CLIENT_AUTH_NONE
    return service.create_server_context(mode)


def check_certificate(der: bytes | None, subject_pattern: re.Pattern[str], issuer_pattern: re.Pattern[str]) -> (
    tuple[str, str, str | None]
):
    """(subject DN, issuer DN, why it is refused or None). Without a
    certificate both DNs are ``none`` and nothing is refused, as in NiFi."""
    if der is None:
        return NO_CERTIFICATE, NO_CERTIFICATE, None
    subject, issuer = certificate_dn(der)
    if not subject_pattern.fullmatch(subject):
        return subject, issuer, "not allowed based on subject dn"
    if not issuer_pattern.fullmatch(issuer):
        return subject, issuer, "not allowed based on issuer dn"
    return subject, issuer, None


def parse_multipart(body: IO[bytes], content_type: str, max_size: int) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/form-data body as (NiFi's part attributes,
    content): ``http.headers.multipart.<Header>``, ``http.multipart.size``,
    ``.content.type`` (when the part has one), ``.name``, ``.filename``,
    ``.fragments.sequence.number`` (from 1) and ``.fragments.total.number``.
    Raises ``ValueError`` past ``max_size`` bytes or for a body without parts."""
    data = body.read(max_size + 1)
    if len(data) > max_size:
        raise ValueError(f"the multipart request is larger than Multipart Request Max Size ({max_size} bytes)")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + data)
    if not message.is_multipart():
        raise ValueError("the multipart/form-data body has no parts")
    parts = list(message.iter_parts())
    if not parts:
        raise ValueError("the multipart/form-data body has no parts")
    out: list[tuple[dict[str, str], bytes]] = []
    for index, part in enumerate(parts):
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        attributes = {f"http.headers.multipart.{k}": str(v) for k, v in part.items()}
        attributes["http.multipart.size"] = str(len(payload))
        if part.get("content-type") is not None:
            attributes["http.multipart.content.type"] = part.get_content_type()
        name = part.get_param("name", header="content-disposition")
        if name:
            attributes["http.multipart.name"] = str(name)
        filename = part.get_filename()
        if filename:
            attributes["http.multipart.filename"] = filename
        attributes["http.multipart.fragments.sequence.number"] = str(index + 1)
        attributes["http.multipart.fragments.total.number"] = str(len(parts))
        out.append((attributes, payload))
    return out


def transit_uri(attributes: Mapping[str, str]) -> str:
    """The transit URI NiFi's HandleHttpRequest and HandleHttpResponse record
    (``HTTPUtils.getURI``), built from the request attributes:
    ``<scheme>://<http.remote.host>@<http.local.name>[:<http.server.port>]<http.request.uri>``,
    the scheme ``https`` only when a client certificate was seen (``http.subject.dn``)."""
    scheme = "https" if "http.subject.dn" in attributes else "http"
    host = attributes.get("http.local.name")
    port = attributes.get("http.server.port")
    host_port = f"{host}:{port}" if port is not None else f"{host}"
    return f"{scheme}://{attributes.get('http.remote.host')}@{host_port}{attributes.get('http.request.uri')}"

