"""InvokeHTTP's properties (NiFi 2's names and keys): the request (method, URL, body,
headers, authentication), the connection (timeouts, TLS, proxy) and the response
(attributes, cache, cookies, redirects).
"""

from __future__ import annotations

from flowyard.processors._invoke_http_support import OAUTH2_ACCESS_TOKEN_PROVIDER
from flowyard.processors.proxy_configuration_service import PROXY_CONFIGURATION_SERVICE
from flowyard.processors.ssl_context_service import SSL_CONTEXT_SERVICE
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    PropertyDependency,
    PropertySpec,
    validators,
)

_TRUE_FALSE = (AllowableValue("true"), AllowableValue("false"))
_TRUE_FALSE_CAPS = (AllowableValue("True"), AllowableValue("False"))
_BODY_METHOD_DEPENDENCY = (PropertyDependency("http-method", ("PATCH", "POST", "PUT")),)


def _flag(key: str, name: str, description: str, default: str, *, caps: bool = False, required: bool = True,
          aliases: tuple[str, ...] = (), dependencies: tuple[PropertyDependency, ...] = ()) -> PropertySpec:
    return PropertySpec(key=key, display_name=name, description=description, required=required, default=default,
                        allowed_values=_TRUE_FALSE_CAPS if caps else _TRUE_FALSE, aliases=aliases,
                        dependencies=dependencies)


HTTP_METHOD = PropertySpec(
    key="http-method", display_name="HTTP Method",
    description="The request method: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, or any other name (other methods "
                "are sent without a body).",
    required=True, default="GET", expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
HTTP_URL = PropertySpec(
    key="http-url", display_name="HTTP URL",
    description="The URL to call: http or https, a host name or IP address, and optionally a port and path. It is sent "
                "as given, so encode it yourself.",
    required=True, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES, validator=validators.URL,
    aliases=("Remote URL",),
)
HTTP2_DISABLED = _flag("http2-disabled", "HTTP/2 Disabled",
                       "When True, only HTTP/1.1 is used (HTTP/2 is only ever negotiated over "
                       "TLS).", "False", caps=True,
                       aliases=("disable-http2",))
SSL_CONTEXT = PropertySpec(
    key="ssl-context-service", display_name="SSL Context Service",
    description="The SSL Context Service whose truststore (and keystore, for mutual TLS) is used for https URLs.",
    identifies_controller_service=SSL_CONTEXT_SERVICE,
)
CONNECTION_TIMEOUT = PropertySpec(
    key="connection-timeout", display_name="Connection Timeout",
    description="How long connecting to the server may take.", required=True,
    default="5 secs", validator=validators.TIME_PERIOD, aliases=("Connection Timeout",),
)
SOCKET_READ_TIMEOUT = PropertySpec(
    key="socket-read-timeout", display_name="Socket Read Timeout",
    description="How long to wait for the server to send data.",
    required=True, default="15 secs", validator=validators.TIME_PERIOD, aliases=("Read Timeout",),
)
SOCKET_WRITE_TIMEOUT = PropertySpec(
    key="socket-write-timeout", display_name="Socket Write Timeout",
    description="How long sending the request may "
                "block.", required=True, default="15 secs", validator=validators.TIME_PERIOD,
)
SOCKET_IDLE_TIMEOUT = PropertySpec(
    key="socket-idle-timeout", display_name="Socket Idle Timeout",
    description="How long an unused pooled connection is kept open.", required=True,
    default="5 mins", validator=validators.TIME_PERIOD, aliases=("idle-timeout",),
)
SOCKET_IDLE_CONNECTIONS = PropertySpec(
    key="socket-idle-connections", display_name="Socket Idle Connections",
    description="How many unused connections are kept in the pool.", required=True, default="5",
    validator=validators.NON_NEGATIVE_INTEGER, aliases=("max-idle-connections",),
)
PROXY_CONFIGURATION = PropertySpec(
    key="proxy-configuration-service", display_name="Proxy Configuration Service",
    description="The Proxy Configuration Service whose proxy the requests go through.",
    identifies_controller_service=PROXY_CONFIGURATION_SERVICE,
)
OAUTH2_PROVIDER = PropertySpec(
    key="oauth2-access-token-provider", display_name="Request OAuth2 Access Token Provider",
    description="A service that supplies OAuth2 access tokens, sent as a Bearer token in the Authorization "
                "header.", identifies_controller_service=OAUTH2_ACCESS_TOKEN_PROVIDER,
)
OAUTH2_REFRESH = PropertySpec(
    key="oauth2-access-token-refresh-strategy", display_name="OAuth2 Access Token Refresh Strategy",
    description="When a new OAuth2 access token is asked for.", default="ON_TOKEN_EXPIRATION",
    allowed_values=(
        AllowableValue("ON_TOKEN_EXPIRATION", description="Refresh when the provider says the token expired."),
        AllowableValue("ON_UNAUTHORIZED_RESPONSE", description="Also refresh after a 401 Unauthorized response."),
    ),
    dependencies=(PropertyDependency("oauth2-access-token-provider"),),
)
REQUEST_USERNAME = PropertySpec(
    key="request-username", display_name="Request Username",
    description="The user name for HTTP Basic authentication (RFC 7617), or for Digest "
                "authentication.", validator=validators.NON_EMPTY,
    aliases=("Basic Authentication Username",),
)
REQUEST_PASSWORD = PropertySpec(
    key="request-password", display_name="Request Password",
    description="The password for Request Username.", sensitive=True, aliases=("Basic Authentication Password",),
)
DIGEST_AUTH = _flag("request-digest-authentication-enabled", "Request Digest Authentication Enabled",
                    "Use Digest authentication (RFC 7616) instead of Basic with Request Username and Request "
                    "Password.", "false", aliases=("Digest Authentication",),
                    dependencies=(PropertyDependency("request-username"),))
PENALIZE_NO_RETRY = _flag("request-failure-penalization-enabled", "Request Failure Penalization Enabled",
                          "Penalize the request FlowFile when the response status is "
                          "400-499.", "false", required=False, aliases=('Penalize on "No Retry"',))
REQUEST_BODY_ENABLED = _flag("request-body-enabled", "Request Body Enabled",
                             "Whether PATCH, POST and PUT requests carry the FlowFile's content as their body.", "true",
                             required=False, aliases=("send-message-body",), dependencies=_BODY_METHOD_DEPENDENCY)
FORM_DATA_NAME = PropertySpec(
    key="request-multipart-form-data-name", display_name="Request Multipart Form-Data Name",
    description="When set, the body is sent as multipart/form-data, with the content as the part of this "
                "name.", expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("form-body-form-name",), dependencies=(PropertyDependency("request-body-enabled", ("true",)),),
)
FORM_DATA_FILENAME = _flag("request-multipart-form-data-filename-enabled",
                           "Request Multipart Form-Data Filename Enabled",
                           "Whether the multipart part's Content-Disposition header gets the FlowFile's "
                           "filename.", "true",
                           required=False, aliases=("set-form-filename",),
                           dependencies=(PropertyDependency("request-multipart-form-data-name"),))
CHUNKED = _flag("request-chunked-transfer-encoding-enabled", "Request Chunked Transfer-Encoding Enabled",
                "Send the body with Transfer-Encoding: chunked instead of a Content-Length "
                "header.", "false", aliases=("Use Chunked Encoding",),
                dependencies=_BODY_METHOD_DEPENDENCY)
CONTENT_ENCODING = PropertySpec(
    key="request-content-encoding", display_name="Request Content-Encoding",
    description="How the request body is compressed on the way. The server has to understand "
                "it.", required=True, default="DISABLED",
    allowed_values=(AllowableValue("DISABLED", description="The body is sent as it is."),
                    AllowableValue("GZIP", description="The body is gzip-compressed and sent with Content-Encoding: "
                                                       "gzip.")),
    aliases=("Content-Encoding",), dependencies=_BODY_METHOD_DEPENDENCY,
)
CONTENT_TYPE = PropertySpec(
    key="request-content-type", display_name="Request Content-Type",
    description="The Content-Type header of PATCH, POST and PUT requests with a body; application/octet-stream when it "
                "evaluates to nothing.",
    required=True, default="${mime.type}", expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("Content-Type",), dependencies=_BODY_METHOD_DEPENDENCY,
)
DATE_HEADER = _flag("request-date-header-enabled", "Request Date Header Enabled",
                    "Whether requests carry a Date header (RFC 7231, section 7.1.1.2).",
                    "True", caps=True, aliases=("Include Date Header",))
HEADER_ATTRIBUTES_PATTERN = PropertySpec(
    key="request-header-attributes-pattern", display_name="Request Header Attributes Pattern",
    description="FlowFile attributes whose names match this regular expression are sent as request headers (none when "
                "unset). Dynamic properties are always sent as headers, named after the property, with the evaluated "
                "value. Header names and values must be ASCII.",
    validator=validators.REGEX, aliases=("Attributes to Send",),
)
USER_AGENT = PropertySpec(
    key="request-user-agent", display_name="Request User-Agent",
    description="The User-Agent header of the requests (see RFC 7231, section "
                "5.5.3).", expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES, aliases=("Useragent",),
)
BODY_ATTRIBUTE_NAME = PropertySpec(
    key="response-body-attribute-name", display_name="Response Body Attribute Name",
    description="When set, the response body is stored in this attribute of the request FlowFile that goes to "
                "Original.", expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("Put Response Body In Attribute",),
)
BODY_ATTRIBUTE_SIZE = PropertySpec(
    key="response-body-attribute-size", display_name="Response Body Attribute Size",
    description="The most bytes of a response body stored in an attribute; longer bodies are "
                "cut.", required=True, default="256",
    validator=validators.NON_NEGATIVE_INTEGER, aliases=("Max Length To Put In Attribute",),
    dependencies=(PropertyDependency("response-body-attribute-name"),),
)
BODY_IGNORED = _flag("response-body-ignored", "Response Body Ignored",
                     "When true, no FlowFile is sent to Response.", "false",
                     aliases=("ignore-response-content",))
CACHE_ENABLED = _flag("response-cache-enabled", "Response Cache Enabled",
                      "Keep responses in a cache (RFC 7234), revalidated with their ETag or Last-Modified "
                      "headers.", "false", aliases=("use-etag",))
CACHE_SIZE = PropertySpec(
    key="response-cache-size", display_name="Response Cache Size",
    description="How much memory the response cache may use.",
    required=True, default="10MB", validator=validators.DATA_SIZE, aliases=("etag-max-cache-size",),
    dependencies=(PropertyDependency("response-cache-enabled", ("true",)),),
)
COOKIE_STRATEGY = PropertySpec(
    key="response-cookie-strategy", display_name="Response Cookie Strategy",
    description="Whether cookies set by servers are kept and sent back on later "
                "requests.", required=True, default="DISABLED",
    allowed_values=(AllowableValue("DISABLED", description="Cookies are neither kept nor sent."),
                    AllowableValue("ACCEPT_ALL", description="Every cookie is kept (in memory, while the "
                                                             "processor runs) and sent back where it applies.")),
    aliases=("cookie-strategy",),
)
GENERATION_REQUIRED = _flag("response-generation-required", "Response Generation Required",
                            "Send the response to Response whatever its status code, not only for "
                            "2xx.", "false", required=False,
                            aliases=("Always Output Response",))
NAMING_STRATEGY = PropertySpec(
    key="response-flowfile-naming-strategy", display_name="Response FlowFile Naming Strategy",
    description="How the filename attribute of FlowFiles sent to Response is chosen.", required=True, default="RANDOM",
    allowed_values=(AllowableValue("RANDOM", description="A random name."),
                    AllowableValue("URL_PATH", description="The last segment of the URL path (GET requests only).")),
    aliases=("flow-file-naming-strategy",),
)
HEADERS_TO_REQUEST = _flag("response-header-request-attributes-enabled",
                           "Response Header Request Attributes Enabled",
                           "Also add the response headers as attributes of the request FlowFile sent to Original, "
                           "Retry or No Retry.", "false", required=False,
                           aliases=("Add Response Headers to Request",))
HEADERS_PREFIX = PropertySpec(
    key="response-header-request-attributes-prefix", display_name="Response Header Request Attributes Prefix",
    description="Put in front of the names of response headers added to the request FlowFile; set one so headers "
                "cannot overwrite core attributes.", expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=(PropertyDependency("response-header-request-attributes-enabled", ("true",)),),
)
FOLLOW_REDIRECTS = _flag("response-redirects-enabled", "Response Redirects Enabled",
                         "Whether 3xx redirects (RFC 7231, section 6.4) are "
                         "followed.", "True", caps=True, aliases=("Follow Redirects",))
