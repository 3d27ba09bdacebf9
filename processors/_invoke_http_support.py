"""InvokeHTTP's helpers: the ``OAuth2AccessTokenProvider`` API it calls, Java's names for
errors (``invokehttp.java.exception.*``), response headers as attributes, the charset of a
content type, Java's URI path quoting, the server certificate's DN, gzip for request bodies,
the response cache and the cookie policy that keeps no cookies. ``invoke_http`` re-exports
the OAuth2 API.
"""

from __future__ import annotations

import codecs
import collections
import http.cookiejar
import re
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowyard.processors.ssl_context_service import certificate_dn

if TYPE_CHECKING:
    import httpx

OAUTH2_ACCESS_TOKEN_PROVIDER = "OAuth2AccessTokenProvider"
"""API name of OAuth2 token providers (NiFi's ``OAuth2AccessTokenProvider``)."""


class OAuth2AccessTokenProvider:
    """The ``OAuth2AccessTokenProvider`` API: a bearer token, refreshed on demand."""

    def access_token(self) -> str:
        """The current access token."""
        raise NotImplementedError

    def refresh(self) -> None:
        """Fetch a new token (after the server refused the current one)."""
        raise NotImplementedError


def _is_true(text: str | None) -> bool:
    return (text or "").strip().lower() == "true"


def _java_exception(exc: BaseException) -> tuple[str, str]:
    """NiFi's exception class and message attributes: the Java exception OkHttp
    would have raised for the same failure, else the Python class."""
    import httpx
    message = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | httpx.ReadTimeout | httpx.WriteTimeout | httpx.PoolTimeout):
        return "java.net.SocketTimeoutException", message
    if isinstance(exc, httpx.ConnectError):
        lowered = message.lower()
        if "name or service not known" in lowered or "nodename nor servname" in lowered \
                or "temporary failure in name resolution" in lowered or "no address associated" in lowered:
            return "java.net.UnknownHostException", message
        if "certificate" in lowered or "ssl" in lowered or "handshake" in lowered:
            return "javax.net.ssl.SSLHandshakeException", message
        return "java.net.ConnectException", message
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL | ValueError):
        return "java.lang.IllegalArgumentException", message
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "java.io.IOException", message
    return f"{type(exc).__module__}.{type(exc).__qualname__}", message


def _headers_as_attributes(response: httpx.Response, prefix: str) -> dict[str, str]:
    """Each response header once (first spelling seen), values joined with ', '."""
    names: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for raw_name, raw_value in response.headers.raw:
        name = raw_name.decode("latin-1")
        lower = name.lower()
        names.setdefault(lower, name)
        values.setdefault(lower, []).append(raw_value.decode("latin-1"))
    return {prefix + names[lower]: ", ".join(vals) for lower, vals in values.items()}


def _charset(content_type: str | None) -> str:
    """The response's charset, UTF-8 when it names none or one Python does not know."""
    if content_type:
        match = re.search(r"charset\s*=\s*\"?([^\";\s]+)", content_type, re.IGNORECASE)
        if match:
            try:
                return codecs.lookup(match.group(1)).name
            except LookupError:
                return "utf-8"
    return "utf-8"


#: Characters Java's multi-argument ``URI`` constructors leave as they are in a path.
_URI_PATH_LEGAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-!.~'()*,;:$&+=/@")


def _java_uri_quoted(path: str) -> str:
    """``path`` as NiFi's ``URLValidator.createURL`` rebuilds it (Java's
    multi-argument ``URI`` constructor): characters not legal in a path are
    percent-encoded, ``%`` always, so ``f%69le`` becomes ``f%2569le``; other
    non-ASCII characters that are no space or control stay."""
    out = []
    for char in path:
        if char in _URI_PATH_LEGAL or (ord(char) > 127 and char.isprintable() and not char.isspace()):
            out.append(char)
        else:
            out.append("".join(f"%{byte:02X}" for byte in char.encode()))
    return "".join(out)


def _remote_dn(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        ssl_object = stream.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(True) if ssl_object is not None else None  # _ssl takes no keywords
        return certificate_dn(der)[0] if der else None
    except Exception:  # a DN is informative only; never fail a request over it
        return None


def _gzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


@dataclass(frozen=True, slots=True)
class _Cached:
    status: int
    reason: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    conditions: tuple[tuple[str, str], ...]


class _ResponseCache:
    """Validated GET responses by URL, least recently used dropped past ``limit``
    bytes of body. Every use revalidates with the server (If-None-Match /
    If-Modified-Since); a 304 answer gives the stored response back."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._size = 0
        self._entries: collections.OrderedDict[str, _Cached] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str) -> _Cached | None:
        with self._lock:
            entry = self._entries.get(url)
            if entry is not None:
                self._entries.move_to_end(url)
            return entry

    def put(self, url: str, response: httpx.Response) -> None:
        conditions = tuple((name, value) for name, value in (
            ("If-None-Match", response.headers.get("etag")),
            ("If-Modified-Since", response.headers.get("last-modified"))) if value)
        if not conditions or "no-store" in response.headers.get("cache-control", "").lower():
            return
        body = response.content
        if len(body) > self._limit:
            return
        # the body is kept decoded: drop the encodings, state the length
        headers = [(k, v) for k, v in response.headers.raw
                   if k.lower() not in (b"content-encoding", b"transfer-encoding", b"content-length")]
        headers.append((b"Content-Length", str(len(body)).encode()))
        entry = _Cached(response.status_code, response.reason_phrase, headers, body, conditions)
        with self._lock:
            old = self._entries.pop(url, None)
            self._size -= len(old.body) if old is not None else 0
            self._entries[url] = entry
            self._size += len(body)
            while self._size > self._limit and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped.body)


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False
