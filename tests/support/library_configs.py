"""A minimal valid configuration of every standard processor, for tests that
drive the whole library (``tests/processors/test_library_adversarial.py``).

Each ``LibraryConfig`` says how to build a runnable ``ProcessorRunner`` offline:
properties, controller services, files the processor reads, and how input
reaches it (``kind``). Placeholders in property and service values:
``{tmp}`` is a per-test directory, ``{closed_port}`` a 127.0.0.1 port
nothing listens on. ``expression`` names the property that gets an
Expression Language value that fails when evaluated (``FAILING_EXPRESSION``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["flowfile", "generate", "file-source", "list-source", "tail-source", "command-source",
               "tcp", "udp", "http", "handle-http"]

FAILING_EXPRESSION = "${fails:toNumber():divide(0)}"
"""Fails when evaluated against a flowfile with the attribute ``fails`` (division by
zero); evaluates to nothing without it (validation): only the run can tell."""

FAILING_BOOLEAN_EXPRESSION = "${fails:toNumber():divide(0):gt(0)}"
"""The same failure inside an expression that must be boolean."""

FAILING_CONSTANT_EXPRESSION = "${literal(1):divide(0)}"
"""Fails wherever it is evaluated, for properties evaluated without a flowfile."""

IDENTITY_XSLT = b"""<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>
</xsl:stylesheet>
"""


@dataclass(frozen=True)
class ServiceSetup:
    """A controller service to add and enable under ``service_id``."""

    service_id: str
    type_name: str
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LibraryConfig:
    """How to run one processor type offline."""

    processor: str
    properties: Mapping[str, str] = field(default_factory=dict)
    services: tuple[ServiceSetup, ...] = ()
    #: Property (key or dynamic name) set to a failing expression in the expression case; None: none evaluates
    #: flowfile attributes.
    expression: str | None = None
    expression_value: str = FAILING_EXPRESSION
    kind: Kind = "flowfile"
    variant: str = ""
    #: Files (relative to {tmp}) written before the run; None as content means "the hostile payload".
    files: Mapping[str, bytes | None] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.processor}[{self.variant}]" if self.variant else self.processor


CACHE = ServiceSetup("cache", "LocalMapCacheService")
CONTEXT_MAP = ServiceSetup("map", "StandardHttpContextMap")

CONFIGS: tuple[LibraryConfig, ...] = (
    LibraryConfig("AttributesToCSV", expression="attribute-list"),
    LibraryConfig("AttributesToCSV", {"destination": "flowfile-content", "include-schema": "true"}, variant="content"),
    LibraryConfig("AttributesToJSON"),
    LibraryConfig("AttributesToJSON", {"destination": "flowfile-content", "json-handling-strategy": "NESTED"},
                  variant="nested-content"),
    LibraryConfig("CompressContent", {"compression-format": "gzip"}),
    LibraryConfig("CompressContent", {"mode": "decompress", "compression-format": "gzip"}, variant="gunzip"),
    LibraryConfig("CompressContent", {"mode": "decompress"}, variant="decompress-by-mime-type"),
    LibraryConfig("ControlRate", {"rate-control-criteria": "flowfile count", "max-rate": "1000"}),
    LibraryConfig("ControlRate", {"rate-control-criteria": "attribute value", "max-rate": "1000",
                                  "rate-controlled-attribute": "big"}, variant="attribute-value"),
    LibraryConfig("ConvertCharacterSet", {"input-character-set": "UTF-8", "output-character-set": "UTF-16"},
                  expression="input-character-set"),
    LibraryConfig("CryptographicHashAttribute", {"hash": "filename"}),
    LibraryConfig("CryptographicHashContent"),
    LibraryConfig("DetectDuplicate", {"distributed-cache-service": "cache", "cache-entry-identifier": "${filename}"},
                  services=(CACHE,), expression="cache-entry-identifier"),
    LibraryConfig("DistributeLoad", {"number-of-relationships": "2"}),
    LibraryConfig("DuplicateFlowFile", {"number-of-copies": "2"}, expression="number-of-copies"),
    LibraryConfig("EncodeContent"),
    LibraryConfig("EncodeContent", {"line-output-mode": "MULTIPLE_LINES", "encoded-line-length": "8"},
                  variant="multiple-lines", expression="encoded-line-length"),
    LibraryConfig("EncodeContent", {"mode": "Decode", "encoding": "base64"}, variant="decode-base64"),
    LibraryConfig("EncodeContent", {"mode": "Decode", "encoding": "hex"}, variant="decode-hex"),
    LibraryConfig("EnforceOrder", {"order-attribute": "seq"}, expression="group-identifier"),
    LibraryConfig("EvaluateJsonPath", {"destination": "flowfile-attribute", "v": "$.a"}),
    LibraryConfig("EvaluateJsonPath", {"destination": "flowfile-content", "v": "$"}, variant="content"),
    LibraryConfig("EvaluateXPath", {"destination": "flowfile-attribute", "v": "/a"}),
    LibraryConfig("ExecuteProcess", {"command": "cat", "command-arguments": "{tmp}/payload.bin"},
                  kind="command-source", files={"payload.bin": None}),
    LibraryConfig("ExecuteStreamCommand", {"command-path": "cat"}, expression="command-arguments"),
    LibraryConfig("ExtractText", {"g": "(.+)"}),
    LibraryConfig("FetchDistributedMapCache",
                  {"distributed-cache-service": "cache", "cache-entry-identifier": "${filename}"},
                  services=(CACHE,), expression="cache-entry-identifier"),
    LibraryConfig("FetchFile", {"file-to-fetch": "{tmp}/payload.bin"}, files={"payload.bin": None},
                  expression="file-to-fetch"),
    LibraryConfig("FetchFile", variant="attribute-path"),
    LibraryConfig("FlattenJson", expression="separator"),
    LibraryConfig("FlattenJson", {"return-type": "unflatten"}, variant="unflatten"),
    LibraryConfig("GenerateFlowFile", {"custom-text": "hello"}, kind="generate", expression="custom-text",
                  expression_value=FAILING_CONSTANT_EXPRESSION),
    LibraryConfig("GetFile", {"input-directory": "{tmp}/in", "minimum-file-age": "0 sec"}, kind="file-source",
                  files={"in/payload.bin": None}),
    LibraryConfig("HandleHttpRequest", {"listening-port": "0", "http-context-map": "map"},
                  services=(CONTEXT_MAP,), kind="handle-http"),
    LibraryConfig("HandleHttpResponse", {"http-status-code": "200", "http-context-map": "map"},
                  services=(CONTEXT_MAP,), expression="http-status-code"),
    LibraryConfig("IdentifyMimeType"),
    LibraryConfig("InvokeHTTP", {"http-method": "POST", "http-url": "http://127.0.0.1:{closed_port}/x",
                                 "connection-timeout": "1 secs"}, expression="http-url"),
    LibraryConfig("JoltTransformJSON", {"jolt-transform": "jolt-transform-shift",
                                        "jolt-specification": '{"a": "b"}'}, expression="jolt-specification"),
    LibraryConfig("JoltTransformJSON", {"jolt-transform": "jolt-transform-shift", "json-source": "JSON_LINES",
                                        "jolt-specification": '{"a": "b"}'}, variant="json-lines"),
    LibraryConfig("ListFile", {"input-directory": "{tmp}/in"}, kind="list-source", files={"in/payload.bin": None}),
    LibraryConfig("ListenHTTP", {"listening-port": "0"}, kind="http"),
    LibraryConfig("ListenTCP", {"port": "0"}, kind="tcp"),
    LibraryConfig("ListenUDP", {"port": "0"}, kind="udp"),
    LibraryConfig("LogAttribute", {"log-payload": "true"}, expression="log-prefix"),
    LibraryConfig("LogMessage", {"log-message": "${filename}"}, expression="log-message"),
    LibraryConfig("LookupAttribute", {"lookup-service": "lookup", "out": "${filename}"},
                  services=(ServiceSetup("lookup", "SimpleKeyValueLookupService", {"a": "b"}),), expression="out"),
    LibraryConfig("MergeContent"),
    LibraryConfig("MergeContent", {"delimiter-strategy": "Text", "header": "h", "demarcator": "d"}, variant="text",
                  expression="header"),
    LibraryConfig("MergeContent", {"merge-strategy": "Defragment"}, variant="defragment"),
    LibraryConfig("MergeContent", {"merge-format": "TAR"}, variant="tar"),
    LibraryConfig("MergeContent", {"merge-format": "FlowFile Stream, v3"}, variant="flowfile-v3"),
    LibraryConfig("MergeContent", {"merge-format": "ZIP"}, variant="zip"),
    LibraryConfig("ModifyBytes", {"start-offset": "1 B"}, expression="start-offset"),
    LibraryConfig("MonitorActivity", expression="inactivity-message"),
    LibraryConfig("Notify", {"distributed-cache-service": "cache", "release-signal-identifier": "${filename}"},
                  services=(CACHE,), expression="release-signal-identifier"),
    LibraryConfig("PackageFlowFile"),
    LibraryConfig("PutDistributedMapCache",
                  {"distributed-cache-service": "cache", "cache-entry-identifier": "${filename}"},
                  services=(CACHE,), expression="cache-entry-identifier"),
    LibraryConfig("PutEmail", {"smtp-hostname": "127.0.0.1", "smtp-port": "{closed_port}", "from": "a@example.com",
                               "to": "b@example.com", "smtp-auth": "false"}, expression="subject"),
    LibraryConfig("PutEmail", {"smtp-hostname": "127.0.0.1", "smtp-port": "{closed_port}", "from": "a@example.com",
                               "to": "b@example.com", "smtp-auth": "false", "attach-file": "true",
                               "include-all-attributes": "true"}, variant="attach"),
    LibraryConfig("PutFile", {"directory": "{tmp}/out", "conflict-resolution-strategy": "replace"},
                  expression="directory"),
    LibraryConfig("PutTCP", {"hostname": "127.0.0.1", "port": "{closed_port}", "timeout": "1 sec"},
                  expression="outgoing-message-delimiter"),
    LibraryConfig("PutUDP", {"hostname": "127.0.0.1", "port": "{closed_port}"}),
    LibraryConfig("ReplaceText", expression="replacement-value"),
    LibraryConfig("ReplaceText", {"evaluation-mode": "Entire text", "replacement-strategy": "Append",
                                  "replacement-value": "!"}, variant="append-entire"),
    LibraryConfig("ReplaceTextWithMapping", {"mapping-file": "{tmp}/map.txt"}, files={"map.txt": b"a\tb\n"},
                  expression="regular-expression"),
    LibraryConfig("RetryFlowFile", expression="maximum-retries"),
    LibraryConfig("RetryFlowFile", {"fail-on-non-numerical-overwrite": "true"}, variant="fail-on-non-numerical"),
    LibraryConfig("RouteOnAttribute", {"m": "${filename:startsWith('a')}"}, expression="m",
                  expression_value=FAILING_BOOLEAN_EXPRESSION),
    LibraryConfig("RouteOnContent", {"m": "a.*"}, expression="m"),
    LibraryConfig("RouteText", {"matching-strategy": "Contains", "m": "a"}),
    LibraryConfig("RouteText", {"matching-strategy": "Satisfies Expression", "m": "${line:contains('a')}"},
                  variant="expression", expression="m", expression_value=FAILING_BOOLEAN_EXPRESSION),
    LibraryConfig("SegmentContent", {"segment-size": "1 MB"}, expression="segment-size"),
    LibraryConfig("SplitContent", {"byte-sequence": "0A"}),
    LibraryConfig("SplitJson", {"json-path-expression": "$.*"}),
    LibraryConfig("SplitText", {"line-split-count": "1"}),
    LibraryConfig("SplitText", {"line-split-count": "0", "maximum-fragment-size": "1 KB", "header-line-count": "1"},
                  variant="fragment-size"),
    LibraryConfig("SplitXml"),
    LibraryConfig("TailFile", {"files-to-tail": "{tmp}/payload.bin"}, kind="tail-source",
                  files={"payload.bin": None}),
    LibraryConfig("TransformXml", {"xslt-document": "{tmp}/identity.xsl"}, files={"identity.xsl": IDENTITY_XSLT},
                  expression="xslt-document"),
    LibraryConfig("UnpackContent", {"packaging-format": "tar"}),
    LibraryConfig("UnpackContent", {"packaging-format": "zip"}, variant="zip"),
    LibraryConfig("UnpackContent", {"packaging-format": "flowfile-stream-v3"}, variant="flowfile-v3"),
    LibraryConfig("UnpackContent", variant="by-mime-type"),
    LibraryConfig("UpdateAttribute", {"new": "${filename}"}, expression="new"),
    LibraryConfig("ValidateJson", {"json-schema": '{"type": "object"}'}),
    LibraryConfig("ValidateJson", {"json-schema": '{"type": "object"}', "input-format": "JSON_LINES"},
                  variant="json-lines"),
    LibraryConfig("ValidateJson", {"schema-access-strategy": "SCHEMA_NAME_PROPERTY", "json-schema-registry": "registry",
                                   "schema-name": "${schema}"},
                  services=(ServiceSetup("registry", "StandardJsonSchemaRegistry", {"s": '{"type": "object"}'}),),
                  variant="registry", expression="schema-name"),
    LibraryConfig("Wait", {"distributed-cache-service": "cache", "release-signal-identifier": "${filename}"},
                  services=(CACHE,), expression="release-signal-identifier"),
)
"""At least one configuration per standard processor; variants exercise other input paths (decoders, formats)."""
