"""The core family of the standard library: attributes, routing, files, rate and retry, the map cache and the
key/value lookup.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

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

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (
    ControlRate, DetectDuplicate, FetchDistributedMapCache, FetchFile, GenerateFlowFile, GetFile, ListFile,
    LogAttribute, LogMessage, LookupAttribute, PutDistributedMapCache, PutFile, RetryFlowFile, RouteOnAttribute,
    UpdateAttribute,
)
SERVICES: tuple[type[ControllerService], ...] = (LocalMapCacheService, SimpleKeyValueLookupService)
