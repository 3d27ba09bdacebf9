"""The outermost layer of the web app: what every request and response goes
through before routing, authentication or a handler.

* **Host check** (DNS-rebinding protection). A page on an attacker's domain that
  resolves to 127.0.0.1 reaches a loopback server with its own name in ``Host``;
  so a request is served only when ``Host`` is an IP address, ``localhost``, the
  name the server was told to listen on, or a name given with ``--allowed-host``
  (``*`` turns the check off, e.g. behind a reverse proxy that sets ``Host``).
* **Origin check.** A state-changing request that carries ``Origin`` must come
  from the page's own origin (or an allowed name).
* **Body size from Content-Length**: a declared body over the limit is refused
  with 413 before a byte of it is read (chunked bodies are counted as they are
  read, see ``body``).
* **Security headers** on every response: a strict Content-Security-Policy for
  the app (responses that set their own, such as flowfile content, keep it),
  ``frame-ancestors 'none'``, ``X-Frame-Options``, ``nosniff``,
  ``Referrer-Policy: no-referrer``, cross-origin isolation of windows and
  resources, ``Cache-Control: no-store`` on the API, and HSTS under TLS.

docs/security.md lists each with its reason.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["APP_CSP", "Guard", "HostPolicy"]

#: The app's own policy: its scripts and styles from its origin, nothing framed, nothing sent elsewhere.
APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
           "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
           "frame-ancestors 'none'")
_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::", "*"})


def _hostname(host: str) -> str:
    """The name part of a ``Host`` header (no port, no brackets), lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """Which ``Host`` names the server answers to (see the module's docstring)."""

    def __init__(self, bound_host: str = "127.0.0.1", allowed: Iterable[str] = ()) -> None:
        names = {"localhost", *(_hostname(a) for a in allowed)}
        bound = _hostname(bound_host)
        if bound in _WILDCARDS:
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        elif not _is_ip(bound):
            names.add(bound)
        self.any = "*" in names
        self.names = frozenset(n.rstrip(".") for n in names)

    def allows(self, host: str | None) -> bool:
        """Whether a request with this ``Host`` header is served. A request without
        one (HTTP/1.0) cannot come from a browser on another site, so it is."""
        if host is None or self.any:
            return True
        name = _hostname(host).rstrip(".")
        return _is_ip(name) or name in self.names

    def allows_origin(self, origin: str, host: str | None) -> bool:
        """Whether ``Origin`` is the page's own origin (same host and port as ``Host``) or an allowed name."""
        if self.any:
            return True
        scheme, _, rest = origin.partition("://")
        if not rest or scheme not in ("http", "https"):
            return False
        return (host is not None and rest.lower() == host.strip().lower()) or _hostname(rest) in self.names


class Guard:
    """ASGI middleware applying the checks and headers of the module's docstring."""

    def __init__(self, app: ASGIApp, *, hosts: HostPolicy, max_body: int, tls: bool = False,
                 csp: str = APP_CSP) -> None:
        self.app = app
        self.hosts = hosts
        self.max_body = max_body
        self.headers = [*_HEADERS, *([_HSTS] if tls else [])]
        self.csp = csp.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host")
        if not self.hosts.allows(host):
            await self._refuse(scope, send, 421, f"this server does not answer to the name {_hostname(host or '')!r} "
                                                 "(protection against DNS rebinding); start it with --allowed-host "
                                                 "NAME to use that name")
            return
        method = scope.get("method", "GET")
        origin = headers.get("origin")
        if method not in _SAFE_METHODS and origin is not None and not self.hosts.allows_origin(origin, host):
            await self._refuse(scope, send, 403, f"cross-origin request from {origin[:100]!r} refused")
            return
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await self._refuse(scope, send, 400, "the Content-Length header is not a number")
                return
            if int(length) > self.max_body:
                await self._refuse(scope, send, 413, f"request body too large: {int(length):,} bytes; the limit "
                                                     f"is {self.max_body:,}")
                return
        api = scope.get("path", "").startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [h for h in self.headers if h[0] not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", self.csp))
                if api and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, scope: Scope, send: Send, status: int, message: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps({"error": message}).encode()
        headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json"),
                                              (b"content-length", str(len(body)).encode()),
                                              (b"content-security-policy", self.csp), *self.headers]
        if status == 413:
            headers.append((b"connection", b"close"))  # the unread body must not be taken for the next request
        start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
        await send(start)
        await send({"type": "http.response.body", "body": body})
