"""QueryRecord: SQL over a flowfile's records (run by DuckDB), each query's result
written to the relationship of the same name.

The records stream into DuckDB as Arrow record batches and the results stream
back out in batches: neither the input nor a result is ever held whole as
Python objects. ``docs/record-sql.md`` describes the SQL dialect. The conversions
between record types and Arrow types are in ``_record_arrow`` (re-exported here).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from flowyard.processors._common import boolean_property
from flowyard.processors._record_processing import (
    RECORD_ERRORS,
    failure_reason,
    record_factories,
    record_reader_property,
    record_writer_property,
    route_to_failure,
    written_attributes,
)
from flowyard.processors._record_services import RecordReaderFactory, RecordSetWriterFactory
from flowyard.processors._records import RecordSchema
from flowyard.runtime.sdk import (
    DynamicPropertySpec,
    DynamicRelationshipSpec,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from flowyard.processors._record_arrow import BATCH_ROWS, arrow_schema, batches_of, record_schema_of, records_of

__all__ = ["QueryRecord", "arrow_schema", "batches_of", "check_query", "record_schema_of", "records_of"]

# DuckDB's (and Arrow's decimal128's) largest precision; _record_arrow caps decimals at the same.
_MAX_PRECISION = 38
_FROM_RECORD_ARROW = ("BATCH_ROWS", "arrow_schema", "batches_of", "record_schema_of", "records_of")


def _bind_record_arrow() -> None:
    """Bind ``_record_arrow``'s conversions in this module (re-exported, and used by
    the queries) on first use: it loads pyarrow, which listing the processors should
    not. A name already bound here (e.g. replaced by a test) is kept."""
    from flowyard.processors import _record_arrow

    namespace = globals()
    for name in _FROM_RECORD_ARROW:
        namespace.setdefault(name, getattr(_record_arrow, name))


def __getattr__(name: str) -> Any:
    if name in _FROM_RECORD_ARROW:
        _bind_record_arrow()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

ROUTE_ATTRIBUTE = "QueryRecord.Route"
TABLE = "FLOWFILE"

RECORD_READER = record_reader_property(
    "The service that reads the incoming records (CSVReader, JsonTreeReader, ...).")
RECORD_WRITER = record_writer_property(
    "The service that writes each query's result (JsonRecordSetWriter, CSVRecordSetWriter, ...). A writer that "
    "inherits the record schema gets the schema of the query's result.")
INCLUDE_ZERO_RECORD_FLOWFILES = boolean_property(
    "include-zero-record-flowfiles", "Include Zero Record FlowFiles",
    "Whether a query whose result has no rows still sends a flowfile (the writer's empty output) to its "
    "relationship.", "true",
)
DEFAULT_PRECISION = PropertySpec(
    key="dbf-default-precision", display_name="Default Decimal Precision",
    description="The precision given to decimal fields whose schema does not say their precision (at most 38, "
                "DuckDB's limit).",
    required=True, default="10", validator=validators.integer_range(1, _MAX_PRECISION),
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
DEFAULT_SCALE = PropertySpec(
    key="dbf-default-scale", display_name="Default Decimal Scale",
    description="The scale given to decimal fields whose schema does not say their scale; a scale greater than "
                "the precision is lowered to it.",
    required=True, default="0", validator=validators.integer_range(0, _MAX_PRECISION),
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)

ORIGINAL = Relationship("original", "Each flowfile whose queries all ran, unchanged.")
FAILURE = Relationship("failure", "Flowfiles whose records could not be read or queried; unchanged, with "
                                  "record.error.message saying why.")


# -- SQL checks ------------------------------------------------------------------------------

def check_query(sql: str) -> str | None:
    """Why ``sql`` is not one SQL SELECT statement DuckDB can parse, or None."""
    import duckdb
    if not sql.strip():
        return "the query is empty"
    try:
        with duckdb.connect(":memory:") as con:
            statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        return f"not valid SQL: {_one_line(str(exc))}"
    if len(statements) != 1:
        return f"must be exactly one SQL statement, found {len(statements)}"
    if statements[0].type != duckdb.StatementType.SELECT:
        return f"must be a SELECT statement (a query), not {statements[0].type.name}"
    return None


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


SQL_QUERY = validators.Validator("SQL query", "one SQL SELECT statement (DuckDB's dialect) over the table FLOWFILE",
                                 check_query)


# -- DuckDB connections ----------------------------------------------------------------------

_CONFIG = {"enable_external_access": False, "autoinstall_known_extensions": False,
           "autoload_known_extensions": False}

#: NiFi's RPATH functions for the simple paths (``/a/b``, ``/list[0]``, ``/map['key']``), as SQL macros over
#: DuckDB's JSON functions: the record goes to JSON, the RecordPath becomes a JSON path.
RPATH_MACROS = (
    "CREATE MACRO __flowyard_json_path(p) AS "
    "'$' || replace(replace(replace(p, '/', '.'), '[''', '.\"'), ''']', '\"')",
    "CREATE MACRO RPATH(r, p) AS json_extract_string(to_json(r), __flowyard_json_path(p))",
    "CREATE MACRO RPATH_STRING(r, p) AS RPATH(r, p)",
    "CREATE MACRO RPATH_INT(r, p) AS CAST(RPATH(r, p) AS INTEGER)",
    "CREATE MACRO RPATH_LONG(r, p) AS CAST(RPATH(r, p) AS BIGINT)",
    "CREATE MACRO RPATH_FLOAT(r, p) AS CAST(RPATH(r, p) AS FLOAT)",
    "CREATE MACRO RPATH_DOUBLE(r, p) AS CAST(RPATH(r, p) AS DOUBLE)",
    "CREATE MACRO RPATH_DATE(r, p) AS CAST(RPATH(r, p) AS DATE)",
    "CREATE MACRO RPATH_TIMESTAMP(r, p) AS CAST(RPATH(r, p) AS TIMESTAMP)",
)


class _Connections:
    """A pool of in-memory DuckDB connections without file or network access (about 10 ms to open one)."""

    def __init__(self) -> None:
        self._idle: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._all: list[duckdb.DuckDBPyConnection] = []

    def take(self) -> duckdb.DuckDBPyConnection:
        import duckdb
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            con = duckdb.connect(":memory:", config=dict(_CONFIG))
            for macro in RPATH_MACROS:
                con.execute(macro)
            con.execute("SET lock_configuration = true")
            with self._lock:
                self._all.append(con)
            return con

    def give_back(self, con: duckdb.DuckDBPyConnection) -> None:
        self._idle.put(con)

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                con.close()
            self._all.clear()
        self._idle = queue.SimpleQueue()


def _errors() -> tuple[type[Exception], ...]:
    """What a query of bad records raises (DuckDB and pyarrow load with the first query)."""
    import duckdb
    import pyarrow as pa

    return (*RECORD_ERRORS, duckdb.Error, pa.ArrowException)


class _SourceError(Exception):
    """Holds the error reading the records raised inside DuckDB's scan."""


class QueryRecord(Processor):
    """Runs SQL queries over each flowfile's records. Every dynamic property is
    a query and a relationship of the same name: the query's result, written
    with the Record Writer, goes to that relationship with ``record.count``,
    ``mime.type``, the writer's attributes and ``QueryRecord.Route`` (the
    relationship's name); the input then goes to ``original``. A query whose
    result has no rows sends an empty record set unless Include Zero Record
    FlowFiles is false.

    The records are the table ``FLOWFILE`` (any case: ``SELECT * FROM flowfile
    WHERE amount > 10``). DuckDB runs the SQL: the reader's records stream into
    it as Arrow record batches (straight from the reader's columnar fast path
    where it has one, e.g. CSVReader; otherwise built from its records 4,096
    at a time) and the result streams back in batches to the writer, so memory
    is bounded by a few batches (plus what the query itself keeps, e.g. for
    ORDER BY or GROUP BY). When the columnar path gives up part-way, the query
    runs again on the records. Field types carry over:
    decimals (without a precision: Default Decimal Precision/Scale), dates,
    times, timestamps, nested records (structs), arrays and maps; UUIDs, chars
    and enums are text and big integers DECIMAL(38,0) inside SQL, and come back
    with their own type when a result column keeps the field's name and type.
    A writer that inherits the schema gets the result's schema.

    Each query must be one SELECT statement: a literal query is parsed when the
    processor is configured (invalid otherwise, with DuckDB's message); a query
    with Expression Language is evaluated against the flowfile's attributes and
    checked then. The SQL cannot read files or the network (DuckDB's external
    access is disabled). When the records cannot be read, a query fails (e.g. an
    unknown column) or a result cannot be written, every result of that
    flowfile is dropped and the input goes to ``failure`` unchanged with
    ``record.error.message`` saying why (and an error bulletin).

    Differences from NiFi: the SQL dialect is DuckDB's, not Calcite's
    (``docs/record-sql.md``): the RPATH functions take simple paths only
    (``/a/b``, ``/list[0]``, ``/map['key']``; no descendants, filters or
    functions) and RPATH gives text (DuckDB's ``field.sub``, ``list[1]`` and
    ``map['key']`` reach the same values typed), identifiers are case
    insensitive; ``record.error.message`` is set on failure (NiFi only logs);
    a query reading ``FLOWFILE`` more than once (a self-join) loads the records
    into DuckDB's memory first instead of reading the content again.
    """

    spec = ProcessorSpec(
        description="Evaluates one or more SQL queries against the records of a flowfile; the result of each "
                    "query goes to the relationship named after its property.",
        tags=("sql", "query", "calcite", "duckdb", "route", "record", "transform", "select", "update", "modify",
              "etl", "filter", "record", "csv", "json", "logs", "text", "avro", "aggregate"),
        properties=(RECORD_READER, RECORD_WRITER, INCLUDE_ZERO_RECORD_FLOWFILES, DEFAULT_PRECISION, DEFAULT_SCALE),
        relationships=(FAILURE, ORIGINAL),
        dynamic_properties=DynamicPropertySpec(
            name_description="The name of the relationship to route data to",
            value_description="A SQL SELECT statement over the table FLOWFILE that selects the records (and "
                              "columns) this relationship gets",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
            validator=SQL_QUERY,
        ),
        dynamic_relationships=DynamicRelationshipSpec("The result of the query of the same name."),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            ("mime.type", "The MIME type of the writer's output."),
            ("record.count", "The number of records in the query's result."),
            (ROUTE_ATTRIBUTE, "The relationship (query) the flowfile was routed to."),
            ("record.error.message", "Why the flowfile could not be queried (failure only)."),
        ),
    )

    def __init__(self) -> None:
        self._connections = _Connections()

    def validate(self, context: ProcessContext) -> list[ValidationResult]:
        """At least one query is needed; relationship names must not clash with failure/original."""
        results = []
        if not context.dynamic_properties:
            results.append(ValidationResult("SQL queries", "at least one query (a dynamic property named after "
                                            "its relationship) is required"))
        for name in context.dynamic_properties:
            if name in (FAILURE.name, ORIGINAL.name):
                results.append(ValidationResult(name, f"a query cannot be named {name!r}: that relationship is "
                                                "QueryRecord's own", name))
        return results

    def on_stopped(self, context: ProcessContext) -> None:
        """Close the DuckDB connections."""
        self._connections.close()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Run every query over one flowfile."""
        ff = session.get()
        if ff is None:
            return
        original = ff
        created: list[FlowFile] = []
        try:
            outputs = self._run_queries(context, session, ff, created)
        except _errors() as exc:
            route_to_failure(context, session, original, exc, FAILURE, "query", created=created, one_line=True)
            return
        for name, child in outputs:
            session.provenance.route(child, name)
            session.transfer(child, name)
        session.transfer(original, ORIGINAL)

    def _run_queries(self, context: ProcessContext, session: ProcessSession, ff: FlowFile,
                     created: list[FlowFile]) -> list[tuple[str, FlowFile]]:
        reader_factory, writer_factory = record_factories(context, RECORD_READER, RECORD_WRITER)
        include_empty = context.property(INCLUDE_ZERO_RECORD_FLOWFILES).as_bool()
        attributes = ff.attributes
        precision = context.property(DEFAULT_PRECISION).evaluate(attributes).as_int()
        scale = context.property(DEFAULT_SCALE).evaluate(attributes).as_int()
        outputs: list[tuple[str, FlowFile]] = []
        for name, value in sorted(context.dynamic_properties.items()):
            sql = value.evaluate(attributes).as_str()
            problem = check_query(sql)
            if problem is not None:
                raise ValueError(f"query {name!r}: {problem}")
            child = session.create(ff)
            created.append(child)
            child, count = self._query(session, ff, child, name, sql, reader_factory, writer_factory,
                                       precision, scale)
            created[-1] = child
            if count == 0 and not include_empty:
                session.remove(child)
                created.pop()
                continue
            outputs.append((name, child))
        return outputs

    def _query(self, session: ProcessSession, ff: FlowFile, child: FlowFile, name: str, sql: str,
               reader_factory: RecordReaderFactory, writer_factory: RecordSetWriterFactory,
               precision: int, scale: int) -> tuple[FlowFile, int]:
        from flowyard.processors._records._columnar import ColumnarFallback, columnar_schema

        _bind_record_arrow()
        attributes = ff.attributes
        reader = reader_factory.create_reader(attributes, lambda: session.read(ff))
        source = reader.schema
        # The reader's columnar fast path (Arrow batches straight from the content), where it has one.
        batches_fn = getattr(reader, "batches", None)
        fast_schema = columnar_schema(source) if batches_fn is not None and source.fields else None
        fast = batches_fn() if fast_schema is not None and batches_fn is not None else None
        if fast is not None and fast_schema is not None:
            try:
                return self._execute(session, ff, child, name, sql, reader_factory, writer_factory, source,
                                     fast_schema, fast, precision, scale)
            except ColumnarFallback:
                pass  # what was written is replaced: the row path starts again from the content
        target = arrow_schema(source, precision, scale)
        return self._execute(session, ff, child, name, sql, reader_factory, writer_factory, source, target,
                             batches_of(iter(reader), source, target), precision, scale)

    def _execute(self, session: ProcessSession, ff: FlowFile, child: FlowFile, name: str, sql: str,
                 reader_factory: RecordReaderFactory, writer_factory: RecordSetWriterFactory, source: RecordSchema,
                 target: pa.Schema, batches: Iterator[pa.RecordBatch], precision: int, scale: int) -> (
            tuple[FlowFile, int]):
        import duckdb
        import pyarrow as pa

        from flowyard.processors._records._columnar import ColumnarFallback

        _bind_record_arrow()
        attributes = ff.attributes
        failure: list[BaseException] = []

        def guarded() -> Iterator[pa.RecordBatch]:
            try:
                yield from batches
            except (ValueError, OSError, RecursionError, pa.ArrowException, ColumnarFallback) as exc:
                failure.append(exc)
                raise _SourceError(str(exc)) from exc

        def rethrow() -> None:
            if failure and isinstance(failure[0], ColumnarFallback):
                raise failure[0]
            if failure:
                raise ValueError(failure_reason(failure[0], one_line=True)) from None

        con = self._connections.take()
        try:
            try:
                con.register(TABLE, pa.RecordBatchReader.from_batches(target, guarded()))
                try:
                    result = con.sql(sql).to_arrow_reader(BATCH_ROWS)
                except duckdb.InvalidInputException as exc:
                    if "already been consumed" not in str(exc):
                        raise
                    # The query scans FLOWFILE more than once: load the records (row path) into DuckDB first.
                    con.unregister(TABLE)
                    rows = arrow_schema(source, precision, scale)
                    con.register(TABLE, pa.Table.from_batches(
                        batches_of(iter(reader_factory.create_reader(attributes, lambda: session.read(ff))),
                                   source, rows), schema=rows))
                    result = con.sql(sql).to_arrow_reader(BATCH_ROWS)
                try:
                    result_schema = record_schema_of(result.schema, source, precision, scale)
                except ValueError as exc:
                    raise ValueError(f"query {name!r}: {exc}") from None
                schema = writer_factory.get_schema(attributes, result_schema)
                writer = writer_factory.create_writer(schema, attributes)
                child = session.write(child, writer.write(records_of(result, schema)))
            except duckdb.Error as exc:
                rethrow()
                raise ValueError(f"query {name!r} failed: {_one_line(str(exc))}") from None
            except pa.ArrowException as exc:
                rethrow()
                raise ValueError(f"query {name!r}: the records do not fit their schema: {exc}") from None
        finally:
            try:
                con.unregister(TABLE)
            except duckdb.Error:
                pass
            self._connections.give_back(con)
        child = session.put_attributes(child, {**written_attributes(writer), ROUTE_ATTRIBUTE: name})
        return child, writer.record_count
