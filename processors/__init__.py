"""flowyard's standard processor library.

Each processor lives in its own module and imports only the public SDK
(``flowyard.runtime.sdk``); names, property display names, allowable values,
defaults and relationships follow Apache NiFi 2 so NiFi users and NiFi flow
definitions find what they expect, while property *keys* are flowyard's own
stable kebab-case identifiers. ``docs/processors.md`` is generated from the
specs (``python -m flowyard.processors._docs``).

``PROCESSORS`` maps each type name to its class; the engine discovers it
through the ``flowyard.processors`` entry point. ``CONTROLLER_SERVICES`` does
the same for the standard controller services (entry point group
``flowyard.controller_services``). The fault-injection
processors used by flowyard's own tests live in
``flowyard.processors.testing`` and are deliberately not listed here.
"""

from __future__ import annotations

from flowyard.processors import (
    _catalog_amqp,
    _catalog_content,
    _catalog_databases,
    _catalog_http,
    _catalog_json,
    _catalog_merge,
    _catalog_mqtt,
    _catalog_nats,
    _catalog_record_formats,
    _catalog_record_paths,
    _catalog_record_routing,
    _catalog_records,
    _catalog_redis,
    _catalog_system,
    _catalog_text,
    _catalog_xml_flow,
)
from flowyard.processors.control_rate import ControlRate
from flowyard.processors.detect_duplicate import DetectDuplicate
from flowyard.processors.fetch_distributed_map_cache import FetchDistributedMapCache
from flowyard.processors.fetch_file import FetchFile
from flowyard.processors.generate_flowfile import GenerateFlowFile
from flowyard.processors.get_file import GetFile
from flowyard.processors.list_file import ListFile
from flowyard.processors.log_attribute import LogAttribute
from flowyard.processors.log_message import LogMessage
from flowyard.processors.lookup_attribute import LookupAttribute
from flowyard.processors.lookup_services import SimpleKeyValueLookupService
from flowyard.processors.map_cache import LocalMapCacheService
from flowyard.processors.put_distributed_map_cache import PutDistributedMapCache
from flowyard.processors.put_file import PutFile
from flowyard.processors.retry_flowfile import RetryFlowFile
from flowyard.processors.route_on_attribute import RouteOnAttribute
from flowyard.processors.update_attribute import UpdateAttribute
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["CONTROLLER_SERVICES", "PROCESSORS"]

# Each family of the library lists its own classes (processors/_catalog_*.py).
_FAMILIES = (_catalog_text, _catalog_content, _catalog_merge, _catalog_json, _catalog_xml_flow, _catalog_system,
             _catalog_http, _catalog_records, _catalog_databases, _catalog_mqtt, _catalog_amqp, _catalog_nats,
             _catalog_redis, _catalog_record_paths, _catalog_record_routing, _catalog_record_formats)

PROCESSORS: dict[str, type[Processor]] = {
    cls.type_name: cls
    for cls in (
        ControlRate,
        DetectDuplicate,
        FetchDistributedMapCache,
        FetchFile,
        GenerateFlowFile,
        GetFile,
        ListFile,
        LogAttribute,
        LogMessage,
        LookupAttribute,
        PutDistributedMapCache,
        PutFile,
        RetryFlowFile,
        RouteOnAttribute,
        UpdateAttribute,
        *(cls for family in _FAMILIES for cls in family.PROCESSORS),
    )
}
"""Type name → processor class, for every standard processor."""

CONTROLLER_SERVICES: dict[str, type[ControllerService]] = {
    cls.type_name: cls
    for cls in (
        LocalMapCacheService,
        SimpleKeyValueLookupService,
        *(cls for family in _FAMILIES for cls in family.SERVICES),
    )
}
"""Type name → controller service class, for every standard controller service."""
