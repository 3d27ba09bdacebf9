"""The ``ProxyConfigurationService`` API and ``StandardProxyConfigurationService``:
how HTTP clients (InvokeHTTP) reach the network through a proxy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    ExpressionScope,
    PropertyDependency,
    PropertySpec,
    ValidationResult,
    validators,
)

__all__ = ["PROXY_CONFIGURATION_SERVICE", "ProxyConfiguration", "ProxyConfigurationService",
           "StandardProxyConfigurationService"]

PROXY_CONFIGURATION_SERVICE = "ProxyConfigurationService"
"""API name of proxy configurations (NiFi's ``ProxyConfigurationService``)."""

DIRECT = "DIRECT"
HTTP = "HTTP"
SOCKS = "SOCKS"


@dataclass(frozen=True, slots=True)
class ProxyConfiguration:
    """A proxy: ``kind`` DIRECT (none), HTTP or SOCKS, with optional credentials."""

    kind: str = DIRECT
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    socks_version: str = "SOCKS5"

    @property
    def url(self) -> str | None:
        """The proxy URL for an HTTP client (``http://host:port``), None for DIRECT."""
        if self.kind == DIRECT or not self.host:
            return None
        scheme = "http" if self.kind == HTTP else ("socks5" if self.socks_version == "SOCKS5" else "socks4")
        return f"{scheme}://{self.host}:{self.port or (1080 if self.kind == SOCKS else 80)}"


class ProxyConfigurationService:
    """The ``ProxyConfigurationService`` API."""

    def configuration(self) -> ProxyConfiguration:
        """The proxy to use (thread-safe, immutable)."""
        raise NotImplementedError


PROXY_TYPE = PropertySpec(
    key="proxy-type", display_name="Proxy Type", description="The kind of proxy.", required=True, default=DIRECT,
    allowed_values=(AllowableValue(DIRECT, DIRECT, "No proxy."), AllowableValue(HTTP, HTTP, "An HTTP proxy."),
                    AllowableValue(SOCKS, SOCKS, "A SOCKS proxy (needs the socksio package).")),
)
PROXY_SERVER_HOST = PropertySpec(
    key="proxy-server-host", display_name="Proxy Server Host", description="The host name or address of the proxy.",
    expression_scope=ExpressionScope.ENVIRONMENT, dependencies=(PropertyDependency("proxy-type", (HTTP, SOCKS)),),
)
PROXY_SERVER_PORT = PropertySpec(
    key="proxy-server-port", display_name="Proxy Server Port", description="The port of the proxy.",
    expression_scope=ExpressionScope.ENVIRONMENT, validator=validators.PORT,
    dependencies=(PropertyDependency("proxy-type", (HTTP, SOCKS)),),
)
SOCKS_VERSION = PropertySpec(
    key="socks-version", display_name="SOCKS Version", description="The SOCKS protocol version.",
    required=True, default="SOCKS5",
    allowed_values=(AllowableValue("SOCKS4"), AllowableValue("SOCKS5")),
    dependencies=(PropertyDependency("proxy-type", (SOCKS,)),),
)
PROXY_USER_NAME = PropertySpec(
    key="proxy-user-name", display_name="Proxy User Name", description="The user name for proxy authentication.",
    expression_scope=ExpressionScope.ENVIRONMENT, dependencies=(PropertyDependency("proxy-type", (HTTP, SOCKS)),),
)
PROXY_USER_PASSWORD = PropertySpec(
    key="proxy-user-password", display_name="Proxy User Password",
    description="The password for proxy authentication.", sensitive=True,
    dependencies=(PropertyDependency("proxy-type", (HTTP, SOCKS)),),
)


class StandardProxyConfigurationService(ControllerService, ProxyConfigurationService):
    """Holds one proxy configuration that HTTP clients share.

    Differences from NiFi: a SOCKS proxy works only when the ``socksio``
    package is installed (validation says so otherwise); HTTP proxies support
    Basic authentication only.
    """

    spec = ControllerServiceSpec(
        description="Describes a proxy server (type, address and credentials) that other components send their network "
                    "traffic through.",
        provides=(PROXY_CONFIGURATION_SERVICE,),
        tags=("proxy", "http", "socks"),
        properties=(PROXY_TYPE, PROXY_SERVER_HOST, PROXY_SERVER_PORT, SOCKS_VERSION, PROXY_USER_NAME,
                    PROXY_USER_PASSWORD),
    )

    def __init__(self) -> None:
        self._configuration = ProxyConfiguration()

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """A proxy needs a host; SOCKS needs socksio."""
        kind = context.property(PROXY_TYPE).as_str()
        results = []
        if kind != DIRECT and not context.property(PROXY_SERVER_HOST).value:
            results.append(ValidationResult(PROXY_SERVER_HOST.display_name,
                                            f"Proxy Server Host is required for a {kind} proxy",
                                            PROXY_SERVER_HOST.key))
        if kind == SOCKS:
            try:
                import socksio  # noqa: F401
            except ImportError:
                results.append(ValidationResult(PROXY_TYPE.display_name,
                                                "SOCKS proxies need the socksio package, which is not installed",
                                                PROXY_TYPE.key))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Read the configuration."""
        kind = context.property(PROXY_TYPE).as_str()
        port = context.property(PROXY_SERVER_PORT).evaluate()
        self._configuration = ProxyConfiguration(
            kind=kind,
            host=context.property(PROXY_SERVER_HOST).evaluate().value,
            port=port.as_int() if port.is_set and port.value else None,
            user=context.property(PROXY_USER_NAME).evaluate().value,
            password=context.property(PROXY_USER_PASSWORD).value,
            socks_version=context.property(SOCKS_VERSION).value or "SOCKS5",
        )

    def on_disabled(self) -> None:
        """Back to DIRECT."""
        self._configuration = ProxyConfiguration()

    def configuration(self) -> ProxyConfiguration:
        """The configured proxy."""
        return self._configuration
