"""A minimal valid configuration of every standard processor, and the harness
that drives them with hostile input (``tests/processors/test_library_adversarial.py``).

Each ``LibraryConfig`` says how to build a runnable ``ProcessorRunner`` offline:
properties, controller services, files the processor reads, and how input
reaches it (``kind``). Placeholders in property and service values:
``{tmp}`` is a per-test directory, ``{closed_port}`` a 127.0.0.1 port
nothing listens on. ``expression`` names the property that gets an
Expression Language value that fails when evaluated (``FAILING_EXPRESSION``).

The harness part holds the hostile inputs (``HOSTILE``), ``build`` and
``run_collecting``, the checks every run must pass (``assert_only_clear_errors``,
``assert_accounted_for``) with the policies they apply, a runaway guard, and
small raw servers and clients for the network processors.
"""

from __future__ import annotations

import logging
import os
import random
import resource
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
import pytest

from flowyard.processors import CONTROLLER_SERVICES, PROCESSORS
from flowyard.runtime.sdk import FlowyardError, InvalidComponentError, ProcessingError, ProvenanceEventType
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

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
    LibraryConfig("ConsumeMQTT", {"broker-uri": "tcp://127.0.0.1:{closed_port}", "topic-filter": "t",
                                  "max-queue-size": "10", "connection-timeout": "1"}, kind="generate"),
    LibraryConfig("CompressContent", {"mode": "decompress", "compression-format": "gzip"}, variant="gunzip"),
    LibraryConfig("CompressContent", {"mode": "decompress"}, variant="decompress-by-mime-type"),
    LibraryConfig("ControlRate", {"rate-control-criteria": "flowfile count", "max-rate": "1000"}),
    LibraryConfig("ControlRate", {"rate-control-criteria": "attribute value", "max-rate": "1000",
                                  "rate-controlled-attribute": "big"}, variant="attribute-value"),
    LibraryConfig("ConvertCharacterSet", {"input-character-set": "UTF-8", "output-character-set": "UTF-16"},
                  expression="input-character-set"),
    LibraryConfig("ConvertRecord", {"record-reader": "reader", "record-writer": "writer"},
                  services=(ServiceSetup("reader", "CSVReader"), ServiceSetup("writer", "JsonRecordSetWriter"))),
    LibraryConfig("ConvertRecord", {"record-reader": "reader", "record-writer": "writer"}, variant="json-to-csv",
                  services=(ServiceSetup("reader", "JsonTreeReader"), ServiceSetup("writer", "CSVRecordSetWriter"))),
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
    LibraryConfig("ExecuteSQL", {"dbcp-service": "db"}, expression="sql-pre-query",
                  services=(ServiceSetup("db", "DBCPConnectionPool", {
                      "Database Connection URL": "jdbc:postgresql://127.0.0.1:{closed_port}/test",
                      "Database Driver Class Name": "org.postgresql.Driver"}),)),
    LibraryConfig("ExecuteStreamCommand", {"command-path": "cat"}, expression="command-arguments"),
    LibraryConfig("ExecuteStreamCommand", {"command-path": "cat", "output-destination-attribute": "out",
                                           "max-attribute-length": "100000"}, variant="to-attribute"),
    LibraryConfig("ExecuteStreamCommand", {"command-path": "sh", "command-arguments": "-c|cat >&2; exit 3",
                                           "argument-delimiter": "|"},
                  variant="stderr-nonzero"),
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
    LibraryConfig("PublishAMQP", {"routing-key": "q", "host-name": "127.0.0.1", "port": "{closed_port}"},
                  expression="routing-key"),
    LibraryConfig("PublishMQTT", {"broker-uri": "tcp://127.0.0.1:{closed_port}", "topic": "t",
                                  "retain-message": "false", "quality-of-service": "1", "connection-timeout": "1"},
                  expression="topic"),
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
    LibraryConfig("PutSQL", {"jdbc-connection-pool": "db"}, expression="putsql-sql-statement",
                  services=(ServiceSetup("db", "DBCPConnectionPool", {
                      "Database Connection URL": "jdbc:postgresql://127.0.0.1:{closed_port}/test",
                      "Database Driver Class Name": "org.postgresql.Driver"}),)),
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
    LibraryConfig("ConsumeAMQP", {"queue": "q", "host-name": "127.0.0.1", "port": "{closed_port}"}, kind="generate"),
    LibraryConfig("PutRedisHashRecord", {"record-reader": "reader", "redis-connection-pool": "redis",
                                         "hash-value-record-path": "/id"}, expression="charset",
                  services=(ServiceSetup("reader", "JsonTreeReader"),
                            # the machine's Redis (a closed port keeps the pool from being enabled); database 15,
                            # and the hostile inputs hold no record with an "id" field, so nothing is written
                            ServiceSetup("redis", "RedisConnectionPoolService",
                                         {"Connection String": "127.0.0.1:6379", "Database Index": "15"}))),
    LibraryConfig("PublishNATS", {"nats-servers": "nats://127.0.0.1:{closed_port}", "subject": "s",
                                  "connection-timeout": "1 sec"}, expression="subject"),
    LibraryConfig("ConsumeNATS", {"nats-servers": "nats://127.0.0.1:{closed_port}", "subject": "s",
                                  "connection-timeout": "1 sec"}, kind="generate"),
    LibraryConfig("PublishJetStream", {"nats-servers": "nats://127.0.0.1:{closed_port}", "subject": "s",
                                       "connection-timeout": "1 sec"}, expression="subject"),
    LibraryConfig("ConsumeJetStream", {"nats-servers": "nats://127.0.0.1:{closed_port}", "subject": "s",
                                       "durable-name": "d", "connection-timeout": "1 sec"}, kind="generate"),
)
"""At least one configuration per standard processor; variants exercise other input paths (decoders, formats)."""

# Families added in parallel keep their configurations in files of their own (one owner per file).
from library_configs_databases import CONFIGS as _DATABASES  # noqa: E402
from library_configs_record_formats import CONFIGS as _RECORD_FORMATS  # noqa: E402
from library_configs_record_paths import CONFIGS as _RECORD_PATHS  # noqa: E402
from library_configs_record_routing import CONFIGS as _RECORD_ROUTING  # noqa: E402

CONFIGS = CONFIGS + _DATABASES + _RECORD_FORMATS + _RECORD_PATHS + _RECORD_ROUTING


# -- the harness: hostile inputs, building, running and judging ------------------------------------------

BINARY = random.Random(20261207).randbytes(64 * 1024)


ODD_ATTRIBUTES = {
    "empty": "",
    "ünïcødé-名前-😀": "värde ✓ 😀",
    "big": "x" * 100_000,
    "with space": "v",
    "new\nline": "v\r\nw",
    "filename": "odd ünï name.txt",
    "mime.type": "application/zip",
}


GARBAGE_CORE_ATTRIBUTES = {
    "filename": "bad\x00name/../x.txt",
    "path": "../../",
    "absolute.path": "/nonexistent\x00dir",
    "mime.type": "application/gzip; charset=\x00",
    "fragment.identifier": "f",
    "fragment.index": "NaN",
    "fragment.count": "-5",
    "flowfile.retries": "9" * 30,
    "seq": "9" * 30,
    "hash.value": "",
    "http.context.identifier": "nope",
    "schema.name": "missing",
    "uuid-like": "00000000-0000-0000-0000-000000000000",
}


SIMPLE_ATTRIBUTES = {"filename": "a.txt", "fails": "1", "schema": "s"}


HOSTILE: dict[str, tuple[bytes, Mapping[str, str]]] = {
    "empty": (b"", {}),
    "binary-64k": (BINARY, {}),
    "invalid-utf8": (b"caf\xc3 \xff\xfe\xfd a\xed\xa0\x80 \xc0\xaf end\n" * 4, {}),
    "line-5mb": (b"a" * (5 * 1024 * 1024), {}),
    "crlf-and-cr": (b"a1,b\r\na2\r\n\ra3\rlast\r", {}),
    "json-depth-10000": (b"[" * 10_000 + b"]" * 10_000, {}),
    "json-depth-900": (b'{"a": ' * 450 + b"[" * 450 + b"1" + b"]" * 450 + b"}" * 450, {}),  # Jackson takes 1000
    "xml-depth-10000": (b"<a>" * 10_000 + b"</a>" * 10_000, {}),
    "odd-attributes": (b'{"a": "x"}', ODD_ATTRIBUTES),
    "garbage-core-attributes": (b"<a>x</a>\n", GARBAGE_CORE_ATTRIBUTES),
    "failing-expression": (b'{"a": 1}', SIMPLE_ATTRIBUTES),
}
"""name → (content, attributes). ``failing-expression`` applies to configurations with ``expression``."""


FAILURE_RELATIONSHIPS = frozenset({"failure", "Failure", "not.found", "permission.denied", "invalid",
                                   "nonzero status", "set state fail", "No Retry", "Retry"})
"""Relationships whose flowfiles must come with a reason."""


DROP_ALLOWED: frozenset[str] = frozenset()
"""Processors that may drop an input flowfile (a DROP event): none in NiFi's standard set."""


WAITING_ALLOWED = frozenset({"MergeContent", "MergeRecord"})
"""Processors that may leave an input on their queue without an error: a Defragment bin waits for
the rest of its fragments (until Max Bin Age), as NiFi's bins hold theirs."""


CHANGED_ON_FAILURE: dict[str, set[str]] = {"ValidateRecord": {"invalid"}}
"""Processors whose failure relationship may carry other content than the input (NiFi routes the original,
unchanged, except ValidateRecord, which writes the invalid records with the Record Writer for Invalid
Records into the original when every record is invalid)."""


UNNAMED_ALLOWED = frozenset({"MergeContent", "ExecuteStreamCommand"})
"""Processors whose failure messages may name something else than the FlowFile: MergeContent a bundle (NiFi:
"Failed to process bundle of N files"), ExecuteStreamCommand the command that cannot start (as NiFi's)."""


MAX_MESSAGE = 10_000
"""A bulletin or error longer than this is a dump, not a clear error (the odd-attributes input carries a
100 KB attribute)."""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fill(value: str, tmp: Path, port: int) -> str:
    """``value`` with its ``{tmp}`` and ``{closed_port}`` placeholders filled in."""
    return value.replace("{tmp}", str(tmp)).replace("{closed_port}", str(port))


def build(config: LibraryConfig, tmp: Path, payload: bytes = b"", *, expression: bool = False) -> ProcessorRunner:
    """A runner of ``config`` with its services enabled and its files written."""
    port = closed_port()
    runner = ProcessorRunner(PROCESSORS[config.processor])
    for relative, content in config.files.items():  # first: a service may read its file when enabled
        path = tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload if content is None else content)
        os.utime(path, (time.time() - 3600, time.time() - 3600))  # outside any listing lag
    for service in config.services:
        runner.add_controller_service(
            service.service_id, CONTROLLER_SERVICES[service.type_name],
            {k: fill(v, tmp, port) for k, v in service.properties.items()})
        runner.enable_controller_service(service.service_id)
    for name, value in config.properties.items():
        runner.set_property(name, fill(value, tmp, port))
    if expression:
        assert config.expression is not None
        runner.set_property(config.expression, config.expression_value)
    return runner


def declared_relationships(runner: ProcessorRunner, config: LibraryConfig) -> set[str]:
    cls = PROCESSORS[config.processor]
    keys = {p.key for p in cls.spec.properties} | {p.display_name for p in cls.spec.properties}
    dynamic = {k: v for k, v in config.properties.items() if k not in keys}
    return {r.name for r in cls.relationships_for(dynamic, dict(config.properties))}


def outputs_of(runner: ProcessorRunner, relationships: set[str]) -> dict[str, list[MockFlowFile]]:
    return {name: runner.flowfiles_for(name) for name in relationships}


def run_collecting(runner: ProcessorRunner, iterations: int = 1, **kwargs: bool) -> BaseException | None:
    """Run; return what ``run`` itself raised (validation, on_scheduled, on_stopped)."""
    try:
        runner.run(iterations, raise_errors=False, **kwargs)
    except Exception as exc:  # judged by the caller
        return exc
    return None


def assert_only_clear_errors(runner: ProcessorRunner, raised: BaseException | None) -> None:
    """Triggers raise only ProcessingError; starting/stopping only FlowyardError, each with a message."""
    unexpected = [e for e in runner.errors if not isinstance(e, ProcessingError)]
    assert not unexpected, "on_trigger raised " + "; ".join(f"{type(e).__name__}: {e}"[:300] for e in unexpected)
    for error in runner.errors:
        assert str(error).strip(), "a ProcessingError without a message"
    for message in [str(e) for e in runner.errors] + [m for _, m in runner.bulletins]:
        assert len(message) <= MAX_MESSAGE, f"a {len(message)}-character error or bulletin: {message[:200]}..."
    if raised is not None:
        assert isinstance(raised, FlowyardError) and not isinstance(raised, InvalidComponentError), (
            f"run raised {type(raised).__name__}: {str(raised)[:300]}")
        assert str(raised).strip()


def logged_by(caplog: pytest.LogCaptureFixture, processor: str) -> list[str]:
    """What ``processor`` logged at INFO and above (NiFi logs some failures at INFO)."""
    return [r.getMessage() for r in caplog.records
            if r.name == f"flowyard.processor.{processor}" and r.levelno >= logging.INFO]


def assert_accounted_for(runner: ProcessorRunner, config: LibraryConfig, inputs: Mapping[str, Mapping[str, str]],
                         outputs: Mapping[str, list[MockFlowFile]], logged: list[str],
                         raised: BaseException | None = None) -> None:
    """Every input uuid is in an output relationship or back on the queue (or dropped where NiFi drops);
    failures come with a reason: an attribute, a bulletin or a log message."""
    placed = {ff.attributes.get("uuid") for flowfiles in outputs.values() for ff in flowfiles}
    queued = {ff.attributes.get("uuid") for ff in runner.input_flowfiles()}
    dropped = {e.flowfile_uuid for e in runner.provenance_events(ProvenanceEventType.DROP)} & set(inputs)
    lost = set(inputs) - placed - queued - dropped
    assert not lost, f"{len(lost)} input flowfile(s) neither transferred, queued nor dropped"
    if dropped:
        assert config.processor in DROP_ALLOWED, f"input dropped (DROP event) by {config.processor}"
    reasons = [message for level, message in runner.bulletins if level in ("WARNING", "ERROR")] + logged
    if isinstance(raised, FlowyardError):
        reasons.append(str(raised))  # refused to start (NiFi: @OnScheduled failed, bulletin, retried)
    messages = reasons + [str(e) for e in runner.errors]

    def named(uuid: str) -> bool:
        """Whether some message says which FlowFile (its uuid or filename) - the "where" of the error."""
        filename = inputs.get(uuid, {}).get("filename") or uuid
        return config.processor in UNNAMED_ALLOWED or any(uuid in m or filename in m for m in messages)

    if queued & set(inputs) and config.processor not in WAITING_ALLOWED:
        assert runner.errors or reasons, "a flowfile went back to its queue without an error or bulletin"
        for uuid in set(inputs) & queued:
            assert named(uuid) or isinstance(raised, FlowyardError), (
                f"no message names the FlowFile sent back to its queue: {[m[:120] for m in messages]}")
    for relationship in FAILURE_RELATIONSHIPS & set(outputs):
        for ff in outputs[relationship]:
            uuid = ff.attributes.get("uuid", "")
            original = inputs.get(uuid, {})
            added = {k for k, v in ff.attributes.items() if original.get(k) != v} - {"uuid"}
            assert added or reasons, f"a flowfile routed to {relationship!r} carries no reason"
            assert added or named(uuid), (
                f"no message names the FlowFile routed to {relationship!r}: {[m[:120] for m in messages]}")


class Runaway(BaseException):
    """Raised by the guard when a configuration keeps the processor busy too long, or made the
    process's peak memory grow too much."""


def _peak_rss() -> int:
    """The process's peak resident set size so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@contextmanager
def guarded(seconds: int = 5, memory: int = 1 << 30) -> Iterator[None]:
    """Turn a runaway into ``Runaway`` instead of a hang of the whole test run: more than ``seconds``
    (an alarm interrupts it), or a peak memory ``memory`` bytes above the peak before (checked after
    the body, not enforced during it).

    No address-space limit (RLIMIT_AS): a C extension failing an allocation under one crashed the whole
    pytest process once (SIGSEGV); the runaways it was for (DuplicateFlowFile copying 10^30 times) are fixed,
    and a slow one is stopped by the alarm long before it could exhaust memory."""
    before = _peak_rss()

    def expire(signum: int, frame: object) -> None:
        raise Runaway(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    grown = _peak_rss() - before
    if grown > memory:
        raise Runaway(f"peak memory grew by {grown >> 20} MiB (more than {memory >> 20} MiB)")


@contextmanager
def raw_server(answer: bytes, *, speaks_first: bool = False) -> Iterator[int]:
    """A TCP server on 127.0.0.1 answering every connection with ``answer`` (before reading, when it
    ``speaks_first`` as an SMTP server greets) and closing it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.02)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    if not speaks_first:
                        conn.recv(65536)
                    conn.sendall(answer)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        listener.close()


class HttpCall:
    """An HTTP request in a background thread."""

    def __init__(self, fn: Callable[[], httpx.Response]) -> None:
        self.result: httpx.Response | BaseException | None = None
        self.done = threading.Event()

        def run() -> None:
            try:
                self.result = fn()
            except BaseException as exc:  # judged by the test
                self.result = exc
            finally:
                self.done.set()

        threading.Thread(target=run, daemon=True).start()


def serve_until(runner: ProcessorRunner, done: Callable[[], bool], seconds: float = 5.0) -> BaseException | None:
    deadline = time.monotonic() + seconds
    raised = None
    while time.monotonic() < deadline and not done() and raised is None:
        raised = run_collecting(runner, 1, stop_on_finish=False, initialize=False)
    return raised


def listen_port(runner: ProcessorRunner) -> int:
    processor = runner.processor
    for attribute in ("listening_port", "port"):
        port = getattr(processor, attribute, None)
        if isinstance(port, int) and port > 0:
            return port
    raise AssertionError(f"{type(processor).__name__} exposes no bound port")


def responder_for(request: ProcessorRunner) -> ProcessorRunner:
    """HandleHttpResponse (200) sharing ``request``'s context map; made before any request arrives,
    as enabling the shared map again empties it."""
    response = ProcessorRunner(PROCESSORS["HandleHttpResponse"])
    response.add_controller_service("map", request.controller_service("map"))
    response.enable_controller_service("map")
    response.set_property("http-context-map", "map")
    response.set_property("http-status-code", "200")
    return response


def send_raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        try:
            client.sendall(data)
            client.shutdown(socket.SHUT_WR)
            return client.recv(200)
        except OSError:
            return b""


# -- hostile input, per kind of processor ------------------------------------------------------------

def flowfile_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, attributes = HOSTILE[name]
    expression = name == "failing-expression"
    runner = build(config, tmp, content, expression=expression)
    runner.enqueue(content, attributes)
    inputs = {ff.attributes["uuid"]: ff.attributes for ff in runner.input_flowfiles()}
    raised = run_collecting(runner, 2)
    assert_only_clear_errors(runner, raised)
    declared = declared_relationships(runner, config)
    outputs = outputs_of(runner, declared)
    assert_accounted_for(runner, config, inputs, outputs, logged_by(logs, config.processor), raised)
    for relationship in FAILURE_RELATIONSHIPS & set(outputs) - CHANGED_ON_FAILURE.get(config.processor, set()):
        for ff in outputs[relationship]:
            if ff.attributes.get("uuid") in inputs:
                assert ff.content == content, f"the FlowFile routed to {relationship!r} lost its original content"
    for ff in runner.input_flowfiles():
        assert ff.content == content, "the FlowFile sent back to its queue lost its original content"


def generate_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    runner = build(config, tmp, expression=name == "failing-expression")
    raised = run_collecting(runner)
    assert_only_clear_errors(runner, raised)
    if name == "failing-expression":
        assert runner.errors or raised or runner.bulletins, "a failing expression passed unnoticed"


def file_source_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, _ = HOSTILE[name]
    runner = build(config, tmp, content)
    raised = run_collecting(runner)
    assert_only_clear_errors(runner, raised)
    left = [p for p in tmp.rglob("*") if p.is_file() and p.name == "payload.bin"]
    received = [ff.content for ff in runner.flowfiles_for("success")]
    assert left or received == [content], "the picked-up file's content was lost"


def list_source_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, _ = HOSTILE[name]
    runner = build(config, tmp, content)
    raised = run_collecting(runner)
    assert_only_clear_errors(runner, raised)
    (listed,) = runner.flowfiles_for("success")
    listed.assert_attribute_equals("filename", "payload.bin")


def tail_source_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, _ = HOSTILE[name]
    runner = build(config, tmp, content)
    raised = run_collecting(runner, 2)
    assert_only_clear_errors(runner, raised)
    tailed = b"".join(ff.content for ff in runner.flowfiles_for("success"))
    assert content.startswith(tailed), "TailFile emitted bytes the file does not hold"


def command_source_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, _ = HOSTILE[name]
    runner = build(config, tmp, content)
    raised = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and raised is None and not runner.errors:
        raised = run_collecting(runner, 1, stop_on_finish=False)
        if getattr(runner.processor, "_run", None) is None:  # the command finished and its output was sent
            break
    runner.stop()
    assert_only_clear_errors(runner, raised)
    output = b"".join(ff.content for ff in runner.flowfiles_for("success"))
    assert output == content, f"ExecuteProcess output has {len(output)} bytes, the command wrote {len(content)}"


def socket_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, _ = HOSTILE[name]
    runner = build(config, tmp)
    raised = run_collecting(runner, 1, stop_on_finish=False)
    assert raised is None, raised
    try:
        port = listen_port(runner)
        if config.kind == "tcp":
            with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                client.sendall(content)
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.sendto(content[:65507], ("127.0.0.1", port))
        if config.kind == "tcp":
            # NiFi's frame decoder keeps whole lines no longer than the receive buffer and drops a last,
            # unterminated one when the connection closes
            complete = content.replace(b"\r\n", b"\n").split(b"\n")[:-1]
            expected = [line for line in complete if line and len(line) <= 65507]
        else:
            expected = [content[:65507]] if content else []
        raised = serve_until(runner, lambda: len(runner.flowfiles_for("success")) >= min(1, len(expected)), 3.0)
    finally:
        runner.stop()
    assert_only_clear_errors(runner, raised)
    if expected:
        assert runner.flowfiles_for("success"), "received data became no flowfile"


ASCII_HEADERS = {"X-Empty": "", "X-Big": "x" * 100_000, "X-Space": "a b", "filename": "odd name.txt"}


def http_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, attributes = HOSTILE[name]
    headers = ASCII_HEADERS if attributes else {}
    runner = build(config, tmp)
    responder = responder_for(runner) if config.kind == "handle-http" else None
    raised = run_collecting(runner, 0, stop_on_finish=False)
    assert raised is None, raised
    try:
        port = listen_port(runner)
        path = "/contentListener" if config.kind == "http" else "/anything"
        call = HttpCall(lambda: httpx.post(f"http://127.0.0.1:{port}{path}", content=content, headers=headers,
                                        timeout=10))
        raised = serve_until(runner, lambda: call.done.is_set() or bool(runner.flowfiles_for("success")))
        received = runner.flowfiles_for("success")
        if responder is not None and received and raised is None:
            responder.enqueue(received[0].content, received[0].attributes)
            responder.run()
            responder.assert_all_transferred("success", 1)
    finally:
        runner.stop()
    assert call.done.wait(10), "the client never got an answer"
    assert_only_clear_errors(runner, raised)
    if isinstance(call.result, httpx.Response) and call.result.status_code < 300:
        assert [ff.content for ff in received] == [content], "an accepted request body was not kept whole"
        if config.kind == "handle-http":
            assert call.result.content == content, "the answer lost the body it echoed"
    if not attributes:
        assert received or isinstance(call.result, httpx.Response), f"the request failed: {call.result!r}"


KIND_CASES: dict[str, Callable[[LibraryConfig, str, Path, pytest.LogCaptureFixture], None]] = {
    "flowfile": flowfile_case,
    "generate": generate_case,
    "file-source": file_source_case,
    "list-source": list_source_case,
    "tail-source": tail_source_case,
    "command-source": command_source_case,
    "tcp": socket_case,
    "udp": socket_case,
    "http": http_case,
    "handle-http": http_case,
}
