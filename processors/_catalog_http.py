"""The http family of the standard library. HTTP: ListenHTTP, HandleHttpRequest, HandleHttpResponse, InvokeHTTP and
their controller services.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.handle_http_request import HandleHttpRequest
from flowyard.processors.handle_http_response import HandleHttpResponse
from flowyard.processors.http_context_map import StandardHttpContextMap
from flowyard.processors.invoke_http import InvokeHTTP
from flowyard.processors.listen_http import ListenHTTP
from flowyard.processors.proxy_configuration_service import StandardProxyConfigurationService
from flowyard.processors.ssl_context_service import StandardSSLContextService
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (InvokeHTTP, ListenHTTP, HandleHttpRequest, HandleHttpResponse)
SERVICES: tuple[type[ControllerService], ...] = (
    StandardSSLContextService, StandardProxyConfigurationService, StandardHttpContextMap,
)
