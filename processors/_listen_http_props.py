"""ListenHTTP's properties (NiFi 2's names and keys): where it listens (address, ports,
base path, TLS and client authentication), what it accepts (authorized DNs and issuers,
header and multipart limits, unconfirmed flowfiles) and how it answers.
"""

from __future__ import annotations

from flowyard.processors._http_common import JAVA_REGEX, LISTEN_PORT
from flowyard.processors.ssl_context_service import RESTRICTED_SSL_CONTEXT_SERVICE
from flowyard.runtime.sdk import AllowableValue, ExpressionScope, PropertyDependency, PropertySpec, validators

BASE_PATH = PropertySpec(
    key="base-path", display_name="Base Path", description="The URL path that accepts data, without a leading or "
                                                           "trailing /.",
    required=True, default="contentListener", expression_scope=ExpressionScope.ENVIRONMENT,
    validator=validators.all_of(validators.Validator(
        "base path", "a path without a leading or trailing '/'",
        lambda v: None if not (v.startswith("/") or v.endswith("/")) else f"{v!r} must not start or end with '/'")),
)
PORT = PropertySpec(
    key="listening-port", display_name="Listening Port",
    description="The port the HTTP server listens on (0: any free port, shown in the logs).",
    required=True, expression_scope=ExpressionScope.ENVIRONMENT, validator=LISTEN_PORT,
)
HEALTH_CHECK_PORT = PropertySpec(
    key="health-check-port", display_name="Listening Port for Health Check Requests",
    description="An optional second port that answers only GET and HEAD on /<base_path>/healthcheck; it must differ "
                "from the Listening Port. It uses TLS when the main port does, without asking for client certificates.",
    expression_scope=ExpressionScope.ENVIRONMENT, validator=LISTEN_PORT, aliases=("health-check-port",),
)
SSL_CONTEXT = PropertySpec(
    key="ssl-context-service", display_name="SSL Context Service",
    description="When set, the server speaks HTTPS with this SSL Context Service's certificate.",
    identifies_controller_service=RESTRICTED_SSL_CONTEXT_SERVICE,
)
HTTP_PROTOCOLS = PropertySpec(
    key="http-protocols", display_name="HTTP Protocols",
    description="The HTTP versions offered in TLS protocol negotiation (ALPN); flowyard serves http/1.1 "
                "only.", required=True, default="HTTP_1_1",
    allowed_values=(AllowableValue("HTTP_1_1", "http/1.1", "HTTP/1.1"),
                    AllowableValue("H2_HTTP_1_1", "h2 http/1.1", "HTTP/2 or HTTP/1.1, whichever the client asks for "
                                                                 "(flowyard: HTTP/1.1)."),
                    AllowableValue("H2", "h2", "HTTP/2 only (not supported by flowyard)")),
    dependencies=(PropertyDependency("ssl-context-service"),),
)
CLIENT_AUTHENTICATION = PropertySpec(
    key="client-authentication", display_name="Client Authentication",
    description="Whether TLS clients must present a certificate. Needs an SSL Context Service.",
    default="AUTO",
    allowed_values=(
        AllowableValue("AUTO", "AUTO", "REQUIRED when the SSL Context Service has a truststore, NONE otherwise."),
        AllowableValue("WANT", "WANT", "Requests a client certificate, but accepts a connection without one."),
        AllowableValue("REQUIRED", "REQUIRED", "Refuses a connection without a trusted client certificate."),
        AllowableValue("NONE", "NONE", "Does not request a client certificate."),
    ),
    dependencies=(PropertyDependency("ssl-context-service"),), aliases=("client-authentication",),
)
AUTHORIZED_DN = PropertySpec(
    key="authorized-subject-dn-pattern", display_name="Authorized Subject DN Pattern",
    description="A regular expression the subject DN of a client's certificate must match; otherwise the request is "
                "answered 403 "
                "Forbidden.", required=True, default=".*", validator=JAVA_REGEX, aliases=("Authorized DN Pattern",),
)
AUTHORIZED_ISSUER = PropertySpec(
    key="authorized-issuer-dn-pattern", display_name="Authorized Issuer DN Pattern",
    description="A regular expression the issuer DN of a client's certificate must match; otherwise the request is "
                "answered 403 "
                "Forbidden.", default=".*", validator=JAVA_REGEX, aliases=("authorized-issuer-dn-pattern",),
)
MAX_UNCONFIRMED = PropertySpec(
    key="max-unconfirmed-flowfile-time", display_name="Max Unconfirmed Flowfile Time",
    description="How long data of a held request is kept waiting for the client's confirming DELETE before it is "
                "dropped; flowyard also answers 503 to a request whose FlowFiles are not committed within this "
                "time.", required=True, default="60 secs", validator=validators.TIME_PERIOD,
)
HEADERS_AS_ATTRIBUTES = PropertySpec(
    key="http-headers-for-attributes", display_name="HTTP Headers for Attributes",
    description="Request headers whose names match this regular expression become FlowFile "
                "attributes.", validator=JAVA_REGEX,
    aliases=("HTTP Headers to receive as Attributes (Regex)",),
)
HEADER_MAX_SIZE = PropertySpec(
    key="request-header-maximum-size", display_name="Request Header Maximum Size",
    description="The largest request header section accepted.", required=True,
    default="8 KB", validator=validators.DATA_SIZE,
)
RETURN_CODE = PropertySpec(
    key="return-code", display_name="Return Code", description="The status code that answers each accepted request.",
    default="200", validator=validators.integer_range(200, 599),
)
MULTIPART_MAX = PropertySpec(
    key="multipart-request-max-size", display_name="Multipart Request Max Size",
    description="The largest multipart/form-data request accepted, a guard against requests that would fill memory or "
                "disk.", required=True, default="1 MB", validator=validators.DATA_SIZE,
    aliases=("multipart-request-max-size",),
)
MULTIPART_BUFFER = PropertySpec(
    key="multipart-read-buffer-size", display_name="Multipart Read Buffer Size",
    description="The part size above which NiFi writes an uploaded multipart file to disk rather than keep it in "
                "memory.", required=True,
    default="512 KB", validator=validators.DATA_SIZE, aliases=("multipart-read-buffer-size",),
)
MAX_THREADS = PropertySpec(
    key="maximum-thread-pool-size", display_name="Maximum Thread Pool Size",
    description="How many requests are served at the same time, from 8 to 1000 (NiFi: the embedded Jetty server's "
                "thread count); further clients wait to be accepted.",
    required=True, default="200", validator=validators.integer_range(8, 1000), aliases=("max-thread-pool-size",),
)
RECORD_READER = PropertySpec(
    key="record-reader", display_name="Record Reader",
    description="A record reader that parses the received data (no record services exist in flowyard "
                "yet)", identifies_controller_service="RecordReaderFactory", aliases=("record-reader",),
)
RECORD_WRITER = PropertySpec(
    key="record-writer", display_name="Record Writer",
    description="The record writer that writes the records read by the Record Reader.",
    required=True, identifies_controller_service="RecordSetWriterFactory", aliases=("record-writer",),
    dependencies=(PropertyDependency("record-reader"),),
)
LISTENING_ADDRESS = PropertySpec(
    key="listening-address", display_name="Listening Address",
    description="flowyard only: the local address to listen on. 127.0.0.1 (the default) accepts only clients on "
                "this machine; 0.0.0.0 every IPv4 interface (NiFi's behaviour).", required=True,
    default="127.0.0.1", expression_scope=ExpressionScope.ENVIRONMENT, validator=validators.NON_EMPTY,
)
