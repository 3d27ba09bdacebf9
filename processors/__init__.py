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
``flowyard.controller_services``). Both are read-only and lazy: a type's
module is imported the first time its class is looked up, so a start imports
only the processors its flow uses (listing the names imports nothing). The
fault-injection processors used by flowyard's own tests live in
``flowyard.processors.testing`` and are deliberately not listed here.

Each family of the library lists its own classes (``processors/_catalog_*.py``,
imported by nothing at run time); the tables below name the module of every
class, and ``tests/processors/test_lazy_catalogue.py`` pins them to the
families so the two cannot drift.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["CONTROLLER_SERVICES", "PROCESSORS", "LazyTypes"]

T = TypeVar("T")


class LazyTypes(Mapping[str, "type[T]"], Generic[T]):
    """A read-only mapping of type name to class that imports a class's module
    when the class is first looked up (``table``: type name to the module, in
    this package, whose attribute of that name is the class). Keys, ``len`` and
    ``in`` import nothing; ``values()`` and ``items()`` import as they go.
    ``lazy`` tells ``flowyard.runtime.registry`` it may keep the mapping as it
    is rather than load every class at start."""

    lazy = True

    __slots__ = ("_loaded", "_table")

    def __init__(self, table: Mapping[str, str]) -> None:
        self._table = dict(table)
        self._loaded: dict[str, type[T]] = {}

    def __getitem__(self, name: str) -> type[T]:
        found = self._loaded.get(name)
        if found is None:
            module = importlib.import_module(f"{__name__}.{self._table[name]}")  # KeyError: not a type of this table
            found = self._loaded[name] = getattr(module, name)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, name: Any) -> bool:
        return name in self._table

    def module_of(self, name: str) -> str:
        """The full name of the module that defines ``name`` (``KeyError`` for a name not in the table)."""
        return f"{__name__}.{self._table[name]}"

    def __repr__(self) -> str:
        return f"LazyTypes({sorted(self._table)!r})"


PROCESSORS: LazyTypes[Processor] = LazyTypes({
    "ControlRate": "control_rate", "DetectDuplicate": "detect_duplicate",
    "FetchDistributedMapCache": "fetch_distributed_map_cache", "FetchFile": "fetch_file",
    "GenerateFlowFile": "generate_flowfile", "GetFile": "get_file", "ListFile": "list_file",
    "LogAttribute": "log_attribute", "LogMessage": "log_message", "LookupAttribute": "lookup_attribute",
    "PutDistributedMapCache": "put_distributed_map_cache", "PutFile": "put_file", "RetryFlowFile": "retry_flowfile",
    "RouteOnAttribute": "route_on_attribute", "UpdateAttribute": "update_attribute", "ReplaceText": "replace_text",
    "ExtractText": "extract_text", "RouteOnContent": "route_on_content", "RouteText": "route_text",
    "ReplaceTextWithMapping": "replace_text_with_mapping", "SplitText": "split_text",
    "SplitContent": "split_content", "SegmentContent": "segment_content", "DuplicateFlowFile": "duplicate_flow_file",
    "ModifyBytes": "modify_bytes", "ConvertCharacterSet": "convert_character_set", "EncodeContent": "encode_content",
    "CryptographicHashContent": "cryptographic_hash_content",
    "CryptographicHashAttribute": "cryptographic_hash_attribute", "IdentifyMimeType": "identify_mime_type",
    "CompressContent": "compress_content", "MergeContent": "merge_content", "PackageFlowFile": "package_flowfile",
    "UnpackContent": "unpack_content", "EvaluateJsonPath": "evaluate_json_path", "SplitJson": "split_json",
    "AttributesToJSON": "attributes_to_json", "AttributesToCSV": "attributes_to_csv", "FlattenJson": "flatten_json",
    "ValidateJson": "validate_json", "JoltTransformJSON": "jolt_transform_json", "EvaluateXPath": "evaluate_xpath",
    "SplitXml": "split_xml", "TransformXml": "transform_xml", "DistributeLoad": "distribute_load", "Wait": "wait",
    "Notify": "notify", "MonitorActivity": "monitor_activity", "EnforceOrder": "enforce_order",
    "ExecuteStreamCommand": "execute_stream_command", "ExecuteProcess": "execute_process", "TailFile": "tail_file",
    "ListenTCP": "listen_tcp", "PutTCP": "put_tcp", "ListenUDP": "listen_udp", "PutUDP": "put_udp",
    "PutEmail": "put_email", "InvokeHTTP": "invoke_http", "ListenHTTP": "listen_http",
    "HandleHttpRequest": "handle_http_request", "HandleHttpResponse": "handle_http_response",
    "ConvertRecord": "convert_record", "ExecuteSQL": "execute_sql", "PutSQL": "put_sql",
    "PutDatabaseRecord": "put_database_record", "QueryDatabaseTable": "query_database_table",
    "QueryDatabaseTableRecord": "query_database_table", "ExecuteSQLRecord": "execute_sql_record",
    "GenerateTableFetch": "generate_table_fetch", "ListDatabaseTables": "list_database_tables",
    "ConsumeMQTT": "consume_mqtt", "PublishMQTT": "publish_mqtt", "ConsumeAMQP": "consume_amqp",
    "PublishAMQP": "publish_amqp", "PublishNATS": "publish_nats", "ConsumeNATS": "consume_nats",
    "PublishJetStream": "publish_nats_jetstream", "ConsumeJetStream": "consume_nats_jetstream",
    "PutRedisHashRecord": "redis_hash_record", "UpdateRecord": "update_record",
    "PartitionRecord": "partition_record", "LookupRecord": "lookup_record", "ForkRecord": "fork_record",
    "CalculateRecordStats": "calculate_record_stats", "QueryRecord": "query_record", "SplitRecord": "split_record",
    "ValidateRecord": "validate_record", "MergeRecord": "merge_record", "SampleRecord": "sample_record",
})
"""Type name → processor class, for every standard processor."""

CONTROLLER_SERVICES: LazyTypes[ControllerService] = LazyTypes({
    "LocalMapCacheService": "map_cache", "SimpleKeyValueLookupService": "lookup_services",
    "StandardJsonSchemaRegistry": "json_schema_registry", "StandardSSLContextService": "ssl_context_service",
    "StandardProxyConfigurationService": "proxy_configuration_service", "StandardHttpContextMap": "http_context_map",
    "CSVReader": "csv_record_services", "CSVRecordSetWriter": "csv_record_services",
    "JsonTreeReader": "json_record_services", "JsonRecordSetWriter": "json_record_services",
    "AvroReader": "avro_record_services", "AvroRecordSetWriter": "avro_record_services",
    "ParquetReader": "parquet_record_services", "ParquetRecordSetWriter": "parquet_record_services",
    "DBCPConnectionPool": "dbcp_connection_pool", "RedisConnectionPoolService": "redis_connection_pool",
    "RedisDistributedMapCacheClientService": "redis_map_cache", "SimpleCsvFileLookupService": "csv_lookup_services",
    "CSVRecordLookupService": "csv_lookup_services", "DatabaseRecordLookupService": "lookup_services",
    "AvroSchemaRegistry": "avro_schema_registry", "XMLReader": "xml_record_services",
    "XMLRecordSetWriter": "_xml_record_writer", "JsonPathReader": "json_path_reader",
    "FreeFormTextRecordSetWriter": "freeform_text_writer",
})
"""Type name → controller service class, for every standard controller service."""
