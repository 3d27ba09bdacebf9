"""PutRedisHashRecord: write each record of a FlowFile as fields of a Redis hash."""

from __future__ import annotations

import codecs
import datetime as dt
import decimal
import json
import re
from typing import Any

from flowyard.processors._record_services import RECORD_READER_FACTORY, RecordReaderFactory
from flowyard.processors.redis_connection_pool import REDIS_CONNECTION_POOL, RedisConnectionPool
from flowyard.runtime.sdk import (
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    ProcessingError,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = ["PutRedisHashRecord", "parse_child_path"]

SUCCESS = Relationship("success", "FlowFiles whose records were all written to Redis.")
FAILURE = Relationship(
    "failure", "FlowFiles whose records could not all be written (unreadable, a missing or null hash value, "
               "Redis unreachable); the records before the failing one stay written.")

SUCCESS_COUNT = "redis.success.record.count"

_NAME = re.compile(r"[^/\[\]()*'\"=<>!]+")


def parse_child_path(text: str) -> list[str]:
    """The field names of a child-only RecordPath (``/`` → [], ``/a/b`` → ['a', 'b']);
    raises ``ValueError`` for anything else (predicates, indexes, functions, ``//``)."""
    if text == "/":
        return []
    parts = text.split("/")
    if parts[0] != "" or len(parts) < 2 or not all(_NAME.fullmatch(p) for p in parts[1:]):
        raise ValueError(f"'{text}' is not a RecordPath of child fields only (such as /a or /a/b)")
    return parts[1:]


def _check_child_path(value: str) -> str | None:
    try:
        parse_child_path(value.strip())
    except ValueError as exc:
        return str(exc)
    return None


_CHILD_PATH = validators.Validator("child RecordPath", "a RecordPath of child fields, such as /a/b", _check_child_path)

RECORD_READER = PropertySpec(
    key="record-reader",
    display_name="Record Reader",
    description="The service that reads the records of the incoming FlowFiles.",
    required=True,
    identifies_controller_service=RECORD_READER_FACTORY,
)
REDIS_CONNECTION_POOL_PROPERTY = PropertySpec(
    key="redis-connection-pool",
    display_name="Redis Connection Pool",
    description="The Redis connection pool service to write through.",
    required=True,
    identifies_controller_service=REDIS_CONNECTION_POOL,
)
HASH_VALUE_RECORD_PATH = PropertySpec(
    key="hash-value-record-path",
    display_name="Hash Value Record Path",
    description="The field of each record whose value names the Redis hash (the key) its fields are written to.",
    required=True,
    validator=_CHILD_PATH,
)
DATA_RECORD_PATH = PropertySpec(
    key="data-record-path",
    display_name="Data Record Path",
    description="The record whose fields become the fields of the hash: / is the whole record.",
    required=True,
    default="/",
    validator=_CHILD_PATH,
)
CHARACTER_SET = PropertySpec(
    key="charset",
    display_name="Character Set",
    description="The character set the key, field names and values are encoded in.",
    required=True,
    default="UTF-8",
    validator=validators.CHARACTER_SET,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)


def _text(value: Any) -> str:
    """A value as NiFi writes it with ``toString``; nested records and arrays as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=_text, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, dt.datetime | dt.date | dt.time | decimal.Decimal):
        return str(value)
    return str(value)


def _select(record: Any, path: list[str]) -> Any:
    for name in path:
        if not isinstance(record, dict) or name not in record:
            return None
        record = record[name]
    return record


class PutRedisHashRecord(Processor):
    """Reads the records of each FlowFile and, for each record, sets one
    field of the Redis hash named by the Hash Value Record Path for every
    non-null field of the Data Record Path (``HSET key field value``). The
    FlowFile goes to ``success`` with ``redis.success.record.count`` when
    every record was written; otherwise to ``failure`` with the count of the
    records written before the failing one — as in NiFi, those stay written
    (there is no transaction across records).

    A record whose hash value is missing or null, or whose Data Record Path
    is not a record, fails the FlowFile. Values are written as text: booleans
    as ``true``/``false``, numbers as Python writes them (``1.0``, ``10``),
    dates and times in ISO form.

    Differences from NiFi: the two record paths are limited to child fields
    (``/``, ``/a``, ``/a/b``): predicates, indexes, descendants and functions
    make the processor invalid (a full RecordPath engine is part of the
    records work, not used here yet). Nested records and arrays are written
    as JSON (NiFi writes Java's ``toString`` of them). A Redis error routes
    the FlowFile to failure (penalized) instead of rolling the session back.
    """

    spec = ProcessorSpec(
        description="Writes the fields of each record of a FlowFile into a Redis hash named by a field of the "
                    "record.",
        tags=("put", "redis", "hash", "record"),
        properties=(RECORD_READER, REDIS_CONNECTION_POOL_PROPERTY, HASH_VALUE_RECORD_PATH, DATA_RECORD_PATH,
                    CHARACTER_SET),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=((SUCCESS_COUNT, "How many records were written to Redis."),),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        import redis
        ff = session.get()
        if ff is None:
            return
        reader_factory = context.property(RECORD_READER).as_controller_service(RecordReaderFactory)
        pool = context.property(REDIS_CONNECTION_POOL_PROPERTY).as_controller_service(RedisConnectionPool)
        hash_path = parse_child_path(context.property(HASH_VALUE_RECORD_PATH).as_str().strip())
        data_path = parse_child_path(context.property(DATA_RECORD_PATH).as_str().strip())
        written = 0
        original = ff
        try:
            charset = context.property(CHARACTER_SET).evaluate(ff.attributes).value or "UTF-8"
            codecs.lookup(charset)
            client = pool.client()
            reader = reader_factory.create_reader(ff.attributes, lambda: session.read(original))
            for number, record in enumerate(reader, 1):
                key = _select(record, hash_path)
                if key is None:
                    raise ValueError(f"record {number} has no value at Hash Value Record Path")
                data = _select(record, data_path)
                if not isinstance(data, dict):
                    raise ValueError(f"record {number} has no record at Data Record Path")
                mapping = {name.encode(charset): _text(value).encode(charset)
                           for name, value in data.items() if value is not None}
                if mapping:
                    client.hset(_text(key).encode(charset), mapping=mapping)
                written += 1
        except (ValueError, LookupError, OSError, RecursionError, redis.RedisError, ProcessingError) as exc:
            reason = str(exc) or type(exc).__name__
            context.logger.error(f"Cannot write the records of {original!r} to Redis after {written}: {reason}; "
                                 "routing to failure")
            failed = session.put_attribute(original, SUCCESS_COUNT, str(written))
            session.transfer(session.penalize(failed), FAILURE)
            return
        ff = session.put_attribute(ff, SUCCESS_COUNT, str(written))
        session.provenance.send(ff, pool.transit_uri(), f"{written} records written to Redis hashes")
        session.transfer(ff, SUCCESS)
