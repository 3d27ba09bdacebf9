"""InvokeHTTP: send an HTTP request for each FlowFile (or on a timer) and route
the response by its status, as NiFi's InvokeHTTP does.

Its properties are in ``_invoke_http_props``; its helpers (the OAuth2 token provider API,
re-exported here, the response cache, Java's error names and URI quoting) in
``_invoke_http_support``."""

from __future__ import annotations

import base64
import email.utils
import http.cookiejar
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flowyard.processors._invoke_http_props import (
    BODY_ATTRIBUTE_NAME,
    BODY_ATTRIBUTE_SIZE,
    BODY_IGNORED,
    CACHE_ENABLED,
    CACHE_SIZE,
    CHUNKED,
    CONNECTION_TIMEOUT,
    CONTENT_ENCODING,
    CONTENT_TYPE,
    COOKIE_STRATEGY,
    DATE_HEADER,
    DIGEST_AUTH,
    FOLLOW_REDIRECTS,
    FORM_DATA_FILENAME,
    FORM_DATA_NAME,
    GENERATION_REQUIRED,
    HEADER_ATTRIBUTES_PATTERN,
    HEADERS_PREFIX,
    HEADERS_TO_REQUEST,
    HTTP2_DISABLED,
    HTTP_METHOD,
    HTTP_URL,
    NAMING_STRATEGY,
    OAUTH2_PROVIDER,
    OAUTH2_REFRESH,
    PENALIZE_NO_RETRY,
    PROXY_CONFIGURATION,
    REQUEST_BODY_ENABLED,
    REQUEST_PASSWORD,
    REQUEST_USERNAME,
    SOCKET_IDLE_CONNECTIONS,
    SOCKET_IDLE_TIMEOUT,
    SOCKET_READ_TIMEOUT,
    SOCKET_WRITE_TIMEOUT,
    SSL_CONTEXT,
    USER_AGENT,
)
from flowyard.processors._invoke_http_support import (
    OAUTH2_ACCESS_TOKEN_PROVIDER,
    OAuth2AccessTokenProvider,
    _charset,
    _gzip,
    _headers_as_attributes,
    _is_true,
    _java_exception,
    _java_uri_quoted,
    _NoCookies,
    _remote_dn,
    _ResponseCache,
)
from flowyard.processors.proxy_configuration_service import ProxyConfigurationService
from flowyard.processors.ssl_context_service import SSLContextService
from flowyard.runtime.sdk import (
    DynamicPropertySpec,
    ExpressionScope,
    FlowFile,
    FlowFileHandlingError,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    Relationship,
    RepositoryError,
    ValidationResult,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["OAUTH2_ACCESS_TOKEN_PROVIDER", "InvokeHTTP", "OAuth2AccessTokenProvider"]

STATUS_CODE = "invokehttp.status.code"
STATUS_MESSAGE = "invokehttp.status.message"
RESPONSE_BODY = "invokehttp.response.body"
REQUEST_URL = "invokehttp.request.url"
REQUEST_DURATION = "invokehttp.request.duration"
RESPONSE_URL = "invokehttp.response.url"
TRANSACTION_ID = "invokehttp.tx.id"
REMOTE_DN = "invokehttp.remote.dn"
EXCEPTION_CLASS = "invokehttp.java.exception.class"
EXCEPTION_MESSAGE = "invokehttp.java.exception.message"

DEFAULT_CONTENT_TYPE = "application/octet-stream"
_FORM_PREFIX = re.compile(r"post:form:(?P<name>.*)$")
_IGNORED_REQUEST_ATTRIBUTES = frozenset({
    STATUS_CODE, STATUS_MESSAGE, RESPONSE_BODY, REQUEST_URL, RESPONSE_URL, TRANSACTION_ID, REMOTE_DN,
    EXCEPTION_CLASS, EXCEPTION_MESSAGE, "uuid", "path",
})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_KNOWN_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
_CHUNK = 64 * 1024
_CACHEABLE = 1 << 20  # only responses that say they are at most this large are read whole to be cached


ORIGINAL = Relationship(
    "Original", "The request FlowFile after a 2xx response, with attributes describing the exchange.")
RESPONSE = Relationship(
    "Response", "A new FlowFile holding the response body after a 2xx response; with Response Generation Required, "
                "after any response.")
RETRY = Relationship(
    "Retry", "The request FlowFile, penalized, after a 5xx response, with attributes describing the exchange.")
NO_RETRY = Relationship(
    "No Retry", "The request FlowFile after a 1xx, 3xx or 4xx response, with attributes describing the exchange.")
FAILURE = Relationship(
    "Failure", "The request FlowFile, penalized, when no response came back (connection error, timeout, bad URL or any "
               "other error), with attributes naming the error.")


class InvokeHTTP(Processor):
    """Sends an HTTP request for each FlowFile — or, with no incoming
    connection, on its schedule — and routes by the response status:

    - 2xx: the request FlowFile to ``Original``, a new FlowFile holding the
      response body and headers to ``Response``;
    - 5xx: the request FlowFile to ``Retry``, penalized;
    - 1xx, 3xx, 4xx: the request FlowFile to ``No Retry`` (penalized only with
      Request Failure Penalization Enabled);
    - a connection failure, timeout or bad URL: the request FlowFile to
      ``Failure``, penalized, with ``invokehttp.java.exception.class`` and
      ``.message``.

    With Response Generation Required the response goes to ``Response`` for
    every status. For a non-2xx status the response body (up to Response Body
    Attribute Size bytes, 256 by default) is put in ``invokehttp.response.body``
    (or the Response Body Attribute Name) of the request FlowFile. Without an
    incoming connection a non-2xx response makes the processor yield; a method
    that carries a body (POST, PUT, PATCH) sends nothing then. Dynamic
    properties are request headers (``post:form:NAME`` ones are multipart form
    fields). The HTTP client (httpx) is built when the processor is scheduled
    and closed when it stops; connections are reused across FlowFiles and
    concurrent tasks. Request and response bodies are streamed.

    Differences from NiFi: ``invokehttp.java.exception.class`` names the Java
    exception NiFi would report for the same failure
    (``java.net.ConnectException``, ``java.net.SocketTimeoutException``,
    ``java.net.UnknownHostException``, ``javax.net.ssl.SSLHandshakeException``,
    ``java.lang.IllegalArgumentException``, ``java.io.IOException``), and the
    Python class name for anything else; the message is Python's.
    Response Cache Enabled keeps, in memory up to Response Cache Size, GET
    responses (of at most 1 MiB, with a Content-Length) that carry an ETag or
    Last-Modified, and revalidates them on every use (If-None-Match /
    If-Modified-Since; a 304 gives the stored response back as OkHttp does);
    Cache-Control freshness is not used to skip the request. No
    OAuth2AccessTokenProvider service ships with flowyard yet; one that
    provides the API works. HTTP/2 is negotiated over TLS only, as in NiFi
    (through ALPN); ``invokehttp.status.message`` is empty for HTTP/2
    responses, as with OkHttp. A SOCKS proxy needs the socksio package. A
    processor whose only incoming connection loops back from itself is not a
    source (NiFi's is: it checks for a connection from elsewhere).
    """

    spec = ProcessorSpec(
        description=(
            "Sends an HTTP request for each FlowFile (or on a schedule, with no incoming connection) to a configurable "
            "URL and method, and routes by the response status. For PATCH, POST and PUT the content is the request "
            "body; attributes can be sent as headers."
        ),
        tags=("http", "https", "rest", "client"),
        properties=(
            HTTP_METHOD, HTTP_URL, HTTP2_DISABLED, SSL_CONTEXT, CONNECTION_TIMEOUT, SOCKET_READ_TIMEOUT,
            SOCKET_WRITE_TIMEOUT, SOCKET_IDLE_TIMEOUT, SOCKET_IDLE_CONNECTIONS, PROXY_CONFIGURATION, OAUTH2_PROVIDER,
            OAUTH2_REFRESH, REQUEST_USERNAME, REQUEST_PASSWORD, DIGEST_AUTH, PENALIZE_NO_RETRY, REQUEST_BODY_ENABLED,
            FORM_DATA_NAME, FORM_DATA_FILENAME, CHUNKED, CONTENT_ENCODING, CONTENT_TYPE, DATE_HEADER,
            HEADER_ATTRIBUTES_PATTERN, USER_AGENT, BODY_ATTRIBUTE_NAME, BODY_ATTRIBUTE_SIZE, BODY_IGNORED,
            CACHE_ENABLED, CACHE_SIZE, COOKIE_STRATEGY, GENERATION_REQUIRED, NAMING_STRATEGY, HEADERS_TO_REQUEST,
            HEADERS_PREFIX, FOLLOW_REDIRECTS,
        ),
        relationships=(ORIGINAL, RESPONSE, RETRY, NO_RETRY, FAILURE),
        dynamic_properties=DynamicPropertySpec(
            name_description="A request header name, or post:form:<NAME> for a multipart form field",
            value_description="Its value (Expression Language)",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
        ),
        input_requirement=InputRequirement.ALLOWED,
        writes_attributes=(
            (STATUS_CODE, "The response status code."),
            (STATUS_MESSAGE, "The response status message."),
            (RESPONSE_BODY, "The response body, on the request FlowFile, when the status is not 2xx."),
            (REQUEST_URL, "The URL requested."),
            (REQUEST_DURATION, "How long the request took, in milliseconds."),
            (RESPONSE_URL, "The URL of the final response, after redirects."),
            (TRANSACTION_ID, "A random identifier of the exchange."),
            (REMOTE_DN, "The Distinguished Name of the server's certificate."),
            (EXCEPTION_CLASS, "On failure: the Java exception class NiFi would report (or the Python class)."),
            (EXCEPTION_MESSAGE, "On failure: the error message."),
            ("user-defined", "With Response Body Attribute Name: the response body, on the request FlowFile"),
        ),
    )

    def __init__(self) -> None:
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        self._header_pattern: re.Pattern[str] | None = None
        self._oauth2: OAuth2AccessTokenProvider | None = None
        self._cache: _ResponseCache | None = None

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """NiFi's cross-property rules for form data and authorization."""
        results: list[ValidationResult] = []
        has_form = any(_FORM_PREFIX.match(name) for name in context.dynamic_properties)
        body_enabled = _is_true(context.properties.get(REQUEST_BODY_ENABLED.key) or "true")
        name_set = bool(context.properties.get(FORM_DATA_NAME.key))
        if has_form and body_enabled and not name_set:
            results.append(ValidationResult(
                FORM_DATA_NAME.display_name,
                "[Request Multipart Form-Data Name] is required when Form Data properties are configured and "
                "[Request Body Enabled] is enabled", FORM_DATA_NAME.key))
        if not body_enabled and name_set:
            results.append(ValidationResult(
                FORM_DATA_NAME.display_name,
                "[Request Body Enabled] must be [true] when Form Data properties are configured and "
                "[Request Multipart Form-Data Name] is configured", FORM_DATA_NAME.key))
        if (context.properties.get(REQUEST_USERNAME.key) or context.properties.get(REQUEST_PASSWORD.key)) \
                and context.properties.get(OAUTH2_PROVIDER.key):
            results.append(ValidationResult(
                "Authorization properties",
                "OAuth2 Authorization cannot be configured together with Username and Password properties"))
        return results

    # -- lifecycle -------------------------------------------------------------------

    def on_scheduled(self, context: ProcessContext) -> None:
        """Build the HTTP client."""
        import httpx
        verify: Any = True
        if context.property(SSL_CONTEXT).is_set:
            verify = context.property(SSL_CONTEXT).as_controller_service(SSLContextService).create_client_context()
        proxy: httpx.Proxy | None = None
        if context.property(PROXY_CONFIGURATION).is_set:
            config = context.property(PROXY_CONFIGURATION).as_controller_service(ProxyConfigurationService)
            settings = config.configuration()
            if settings.url is not None:
                proxy_auth = (settings.user, settings.password or "") if settings.user else None
                proxy = httpx.Proxy(settings.url, auth=proxy_auth)
        auth: httpx.Auth | None = None
        user = (context.property(REQUEST_USERNAME).value or "").strip()
        if user and _is_true(context.property(DIGEST_AUTH).value):
            auth = httpx.DigestAuth(user, (context.property(REQUEST_PASSWORD).value or "").strip())
        cookies = None
        if context.property(COOKIE_STRATEGY).as_str() == "DISABLED":
            cookies = http.cookiejar.CookieJar(policy=_NoCookies())  # a Cookies copy would lose the policy
        self._cache = (_ResponseCache(context.property(CACHE_SIZE).as_data_size())
                       if _is_true(context.property(CACHE_ENABLED).value) else None)
        read = context.property(SOCKET_READ_TIMEOUT).as_duration()
        self._client = httpx.Client(
            verify=verify,
            http2=not _is_true(context.property(HTTP2_DISABLED).value),
            proxy=proxy,
            auth=auth,
            cookies=cookies,
            follow_redirects=_is_true(context.property(FOLLOW_REDIRECTS).value),
            timeout=httpx.Timeout(connect=context.property(CONNECTION_TIMEOUT).as_duration(), read=read,
                                  write=context.property(SOCKET_WRITE_TIMEOUT).as_duration(),
                                  pool=context.property(CONNECTION_TIMEOUT).as_duration()),
            limits=httpx.Limits(max_keepalive_connections=context.property(SOCKET_IDLE_CONNECTIONS).as_int(),
                                keepalive_expiry=context.property(SOCKET_IDLE_TIMEOUT).as_duration()),
            trust_env=False,
        )
        pattern = context.property(HEADER_ATTRIBUTES_PATTERN).value
        self._header_pattern = re.compile(pattern.strip()) if pattern and pattern.strip() else None
        self._oauth2 = None
        if context.property(OAUTH2_PROVIDER).is_set:
            self._oauth2 = context.property(OAUTH2_PROVIDER).as_controller_service(OAuth2AccessTokenProvider)

    def on_stopped(self, context: ProcessContext) -> None:
        """Close the client and its connections."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- the request -----------------------------------------------------------------

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """One request for one FlowFile (or none, as a source)."""
        import httpx
        client = self._client
        if client is None:
            raise RuntimeError("InvokeHTTP is not scheduled")
        request_ff = session.get()
        put_to_attribute = bool(context.property(BODY_ATTRIBUTE_NAME).value)
        max_attribute = context.property(BODY_ATTRIBUTE_SIZE).as_int() if put_to_attribute else 256
        if request_ff is None:
            if context.has_incoming_connection:
                return
            method = (context.property(HTTP_METHOD).evaluate(None).value or "").strip().upper()
            if method in _BODY_METHODS:
                return
            if put_to_attribute:
                request_ff = session.create()
        tx_id = str(uuid.uuid4())
        response_ff: FlowFile | None = None
        try:
            attributes = dict(request_ff.attributes) if request_ff is not None else {}
            url = (context.property(HTTP_URL).evaluate(attributes).value or "").strip()
            request, sends_body = self._build_request(context, session, client, request_ff, url)
            if sends_body and request_ff is not None:
                session.provenance.send(request_ff, url)
            cached = self._cache.get(url) if self._cache is not None and request.method == "GET" else None
            if cached is not None:
                for name, value in cached.conditions:
                    request.headers.setdefault(name, value)
            started = time.monotonic()
            response = client.send(request, stream=True)
            if cached is not None and response.status_code == 304:
                response.close()
                response = httpx.Response(cached.status, headers=cached.headers, content=cached.body,
                                          request=request, extensions={"reason_phrase": cached.reason.encode()})
            elif self._cache is not None and request.method == "GET" and response.status_code == 200 \
                    and int(response.headers.get("content-length") or -1) in range(0, _CACHEABLE + 1):
                response.read()
                self._cache.put(url, response)
            try:
                status = response.status_code
                if status == 401 and self._oauth2 is not None \
                        and context.property(OAUTH2_REFRESH).value == "ON_UNAUTHORIZED_RESPONSE":
                    self._oauth2.refresh()
                status_attributes = {
                    STATUS_CODE: str(status),
                    STATUS_MESSAGE: response.reason_phrase if response.http_version != "HTTP/2" else "",
                    REQUEST_URL: url,
                    REQUEST_DURATION: str(int((time.monotonic() - started) * 1000)),
                    RESPONSE_URL: str(response.url),
                    TRANSACTION_ID: tx_id,
                }
                remote_dn = _remote_dn(response)
                if request_ff is not None:
                    request_ff = session.put_attributes(request_ff, status_attributes)
                success = status // 100 == 2
                to_attribute = (not success or put_to_attribute) and request_ff is not None
                to_content = (success and not put_to_attribute) or _is_true(
                    context.property(GENERATION_REQUIRED).value)
                body_exists = not _is_true(context.property(BODY_IGNORED).value) and request.method != "HEAD"
                captured = bytearray()
                content_type = response.headers.get("content-type")

                def body() -> Iterator[bytes]:
                    for chunk in response.iter_bytes(_CHUNK):
                        if to_attribute and len(captured) < max_attribute:
                            captured.extend(chunk[: max_attribute - len(captured)])
                        yield chunk

                if to_content:
                    response_ff = session.create(request_ff) if request_ff is not None else session.create()
                    headers = _headers_as_attributes(response, "")
                    if remote_dn is not None:
                        headers[REMOTE_DN] = remote_dn
                    response_ff = session.put_attributes(response_ff, {**status_attributes, **headers})
                    if context.property(NAMING_STRATEGY).value == "URL_PATH" and request.method == "GET":
                        name = _java_uri_quoted(urlsplit(url).path).rstrip("/")
                        if name:
                            response_ff = session.put_attribute(response_ff, "filename", name.rsplit("/", 1)[-1])
                    if body_exists:
                        if content_type is not None:
                            response_ff = session.put_attribute(response_ff, "mime.type", content_type)
                        response_ff = session.write(response_ff, body())
                        if request_ff is not None:
                            session.provenance.fetch(response_ff, url)
                        else:
                            session.provenance.receive(response_ff, url)
                if to_attribute and body_exists and request_ff is not None:
                    if not to_content:
                        for _ in body():
                            if len(captured) >= max_attribute:
                                break
                    name_value = context.property(BODY_ATTRIBUTE_NAME).evaluate(dict(request_ff.attributes)).value
                    key = name_value or RESPONSE_BODY
                    text = bytes(captured).decode(_charset(content_type), errors="replace")
                    request_ff = session.put_attribute(request_ff, key, text)
                if _is_true(context.property(HEADERS_TO_REQUEST).value) and request_ff is not None:
                    prefix = (context.property(HEADERS_PREFIX).evaluate(dict(request_ff.attributes)).value
                              or "").strip()
                    headers = _headers_as_attributes(response, prefix)
                    if remote_dn is not None:
                        headers[REMOTE_DN] = remote_dn
                    request_ff = session.put_attributes(request_ff, headers)
                context.logger.debug(f"Request [{tx_id}] {request.method} {url} HTTP {status}")
                self._route(context, session, request_ff, response_ff, status)
            finally:
                response.close()
        except (RepositoryError, FlowFileHandlingError):
            raise  # storage trouble or a bug: the framework rolls back (and waits for room), never Failure
        except Exception as exc:
            if response_ff is not None:
                session.remove(response_ff)
            if request_ff is None:
                context.logger.error(f"Request Processing failed: {exc}")
                context.yield_()
                return
            context.logger.error(f"Request Processing failed: {request_ff!r}: {exc}")
            exception_class, message = _java_exception(exc)
            request_ff = session.penalize(request_ff)
            request_ff = session.put_attributes(request_ff, {EXCEPTION_CLASS: exception_class,
                                                             EXCEPTION_MESSAGE: message})
            session.transfer(request_ff, FAILURE.name)

    def _build_request(self, context: ProcessContext, session: ProcessSession, client: httpx.Client,
                       request_ff: FlowFile | None, url: str) -> tuple[httpx.Request, bool]:
        attributes: Mapping[str, str] | None = dict(request_ff.attributes) if request_ff is not None else None
        method = (context.property(HTTP_METHOD).evaluate(attributes).value or "").strip().upper()
        if not method:
            raise ValueError("the HTTP Method is empty")
        headers: list[tuple[str, str]] = []
        user = (context.property(REQUEST_USERNAME).value or "").strip()
        if user and not _is_true(context.property(DIGEST_AUTH).value):
            password = (context.property(REQUEST_PASSWORD).value or "").strip()
            pair = f"{user}:{password}"
            try:
                encoded = pair.encode("latin-1")
            except UnicodeEncodeError:
                encoded = pair.encode("utf-8")
            headers.append(("Authorization", "Basic " + base64.b64encode(encoded).decode("ascii")))
        elif self._oauth2 is not None:
            headers.append(("Authorization", "Bearer " + self._oauth2.access_token()))
        content: Any = None
        files: Any = None
        sends_body = False
        if method in _BODY_METHODS:
            gzip = context.property(CONTENT_ENCODING).value == "GZIP"
            if gzip:
                headers.append(("Content-Encoding", "gzip"))
            body_enabled = _is_true(context.property(REQUEST_BODY_ENABLED).value or "true")
            content_type = (context.property(CONTENT_TYPE).evaluate(attributes).value or "").strip() \
                or DEFAULT_CONTENT_TYPE
            form_name = context.property(FORM_DATA_NAME).evaluate(attributes).value
            form_fields = {m.group("name"): value.evaluate(attributes).value or ""
                           for name, value in context.dynamic_properties.items()
                           if (m := _FORM_PREFIX.match(name))}
            chunked = _is_true(context.property(CHUNKED).value)
            if form_fields or form_name:
                # always multipart/form-data, as NiFi builds it, even with fields only
                parts: list[tuple[str, Any]] = [(name, (None, value.encode("utf-8")))
                                                for name, value in form_fields.items()]
                if body_enabled and request_ff is not None and form_name:
                    filename = request_ff.attributes.get("filename") if _is_true(
                        context.property(FORM_DATA_FILENAME).value or "true") else None
                    parts.append((form_name, (filename, session.read(request_ff), content_type)))
                    sends_body = True
                if parts:
                    files = parts
                else:
                    content = b""
            elif body_enabled and request_ff is not None:
                sends_body = True
                headers.append(("Content-Type", content_type))
                chunks: Iterable[bytes] = session.iter_content(request_ff)
                if gzip:
                    content = _gzip(chunks)
                elif chunked:
                    content = iter(chunks)
                elif request_ff.size <= _CHUNK:
                    content = session.read_bytes(request_ff)  # small: one piece, sent with its headers
                else:
                    content = iter(chunks)
                    headers.append(("Content-Length", str(request_ff.size)))
            else:
                content = b""
        user_agent = (context.property(USER_AGENT).evaluate(attributes).value or "").strip()
        headers.append(("User-Agent", user_agent))
        if _is_true(context.property(DATE_HEADER).value):
            headers.append(("Date", email.utils.formatdate(usegmt=True)))
        for name, value in context.dynamic_properties.items():
            if _FORM_PREFIX.match(name):
                continue
            evaluated = value.evaluate(attributes).value
            if evaluated is not None:
                headers.append((name, evaluated))
        if self._header_pattern is not None and request_ff is not None:
            for key, attribute in request_ff.attributes.items():
                name = key.strip()
                if name in _IGNORED_REQUEST_ATTRIBUTES:
                    continue
                if self._header_pattern.fullmatch(name):
                    headers.append((name, attribute.strip()))
        request = client.build_request(method, url, headers=headers, content=content, files=files)
        return request, sends_body

    @staticmethod
    def _route(context: ProcessContext, session: ProcessSession, request_ff: FlowFile | None,
               response_ff: FlowFile | None, status: int) -> None:
        success = status // 100 == 2
        if not success and request_ff is None:
            context.yield_()
        response_sent = False
        if _is_true(context.property(GENERATION_REQUIRED).value) and response_ff is not None:
            session.transfer(response_ff, RESPONSE.name)
            response_sent = True
        if success:
            if request_ff is not None:
                session.transfer(request_ff, ORIGINAL.name)
            if response_ff is not None and not response_sent:
                session.transfer(response_ff, RESPONSE.name)
        elif status // 100 == 5:
            if request_ff is not None:
                session.transfer(session.penalize(request_ff), RETRY.name)
        elif request_ff is not None:
            if _is_true(context.property(PENALIZE_NO_RETRY).value):
                request_ff = session.penalize(request_ff)
            session.transfer(request_ff, NO_RETRY.name)
