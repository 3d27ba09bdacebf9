"""ExecuteSQL: run a SQL query through a DBCPService and write its result sets as Avro."""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from flowyard.processors._db_avro import AvroResultWriter, ResultWriter, describe
from flowyard.processors._db_common import (
    connection_pool_property,
    default_precision_property,
    default_scale_property,
    fetch_rows,
    open_query_cursor,
    writer_options,
)
from flowyard.processors._db_drivers import get_autocommit, set_autocommit, set_statement_timeout
from flowyard.processors._db_params import jdbc_to_driver_sql, parameters_from_attributes
from flowyard.processors.dbcp_connection_pool import DBCPService
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    FlowFile,
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

__all__ = ["ExecuteSQL"]

SUCCESS = Relationship("success", "A FlowFile per result set (or per fragment of Max Rows Per FlowFile rows).")
FAILURE = Relationship("failure", "The input FlowFile when the query (or connecting) failed, with "
                                  "executesql.error.message; penalized.")

_FF = ExpressionScope.FLOWFILE_ATTRIBUTES
_BOOL = (AllowableValue("true"), AllowableValue("false"))

DBCP = connection_pool_property("dbcp-service")
PRE_QUERY = PropertySpec(
    key="sql-pre-query", display_name="SQL Pre-Query",
    description="Statements run before the query, separated by semicolons (\\; for a literal semicolon); their "
                "results are ignored.", expression_scope=_FF,
)
QUERY = PropertySpec(
    key="sql-select-query", display_name="SQL Query", aliases=("SQL select query",),
    description="The query to run; when unset, the content of the incoming FlowFile is the query. JDBC ? "
                "placeholders take the sql.args.N.type / sql.args.N.value attributes.",
    expression_scope=_FF,
)
POST_QUERY = PropertySpec(
    key="sql-post-query", display_name="SQL Post-Query",
    description="Statements run after the query, separated by semicolons; their results are ignored.",
    expression_scope=_FF,
)
QUERY_TIMEOUT = PropertySpec(
    key="max-wait-time", display_name="Max Wait Time",
    description="The longest a query may run before the database cancels it; 0 means no limit (whole seconds).",
    required=True, default="0 seconds", expression_scope=_FF, validator=validators.TIME_PERIOD,
)
NORMALIZE = PropertySpec(
    key="dbf-normalize", display_name="Normalize Table and Column Names",
    description="Whether to replace characters Avro names do not allow (anything but letters, digits and _) "
                "with underscores in the record and field names.",
    required=True, default="false", allowed_values=_BOOL,
)
LOGICAL_TYPES = PropertySpec(
    key="dbf-user-logical-types", display_name="Use Avro Logical Types",
    description="Whether DECIMAL/NUMERIC, DATE, TIME and TIMESTAMP columns become Avro logical types (decimal, "
                "date, time-millis, timestamp-millis) instead of strings.",
    required=True, default="false", allowed_values=_BOOL,
)
COMPRESSION = PropertySpec(
    key="compression-format", display_name="Compression Format",
    description="The codec of the Avro blocks (LZO writes the xz codec).", required=True, default="NONE",
    allowed_values=tuple(AllowableValue(v) for v in ("BZIP2", "DEFLATE", "NONE", "SNAPPY", "LZO")),
)
DEFAULT_PRECISION = default_precision_property(_FF)
DEFAULT_SCALE = default_scale_property(_FF)
MAX_ROWS = PropertySpec(
    key="esql-max-rows", display_name="Max Rows Per FlowFile",
    description="The most rows in one output FlowFile (a result set is then split into fragments); 0 puts each "
                "result set in one FlowFile.", required=True, default="0", expression_scope=_FF,
    validator=validators.NON_NEGATIVE_INTEGER, aliases=("Max Rows Per Flow File",),
)
OUTPUT_BATCH_SIZE = PropertySpec(
    key="esql-output-batch-size", display_name="Output Batch Size",
    description="Commit the session after this many output FlowFiles so they flow on before the result set is "
                "read to its end (fragment.count is then not written); 0 commits once at the end.",
    required=True, default="0", expression_scope=_FF, validator=validators.NON_NEGATIVE_INTEGER,
)
FETCH_SIZE = PropertySpec(
    key="esql-fetch-size", display_name="Fetch Size",
    description="How many rows are taken from the driver at a time; 0 uses 1000.", required=True, default="0",
    expression_scope=_FF, validator=validators.NON_NEGATIVE_INTEGER,
)
AUTO_COMMIT = PropertySpec(
    key="esql-auto-commit", display_name="Set Auto Commit",
    description="The autocommit mode of the connection while the statements run; with false the work is "
                "committed after the post-query.", required=True, default="true", allowed_values=_BOOL,
)
CONTENT_OUTPUT_STRATEGY = PropertySpec(
    key="content-output-strategy", display_name="Content Output Strategy",
    description="What an input FlowFile becomes when its statement produced no result set.", required=True,
    default="EMPTY",
    allowed_values=(AllowableValue("EMPTY", "Empty", "An Avro file with no rows replaces the content."),
                    AllowableValue("ORIGINAL", "Original", "The content stays as it was.")),
)

ROW_COUNT = "executesql.row.count"
DURATION = "executesql.query.duration"
EXECUTION_TIME = "executesql.query.executiontime"
FETCH_TIME = "executesql.query.fetchtime"
RESULTSET_INDEX = "executesql.resultset.index"
ERROR_MESSAGE = "executesql.error.message"
AVRO_MIME = "application/avro-binary"

#: The attributes ExecuteSQL and ExecuteSQLRecord read, and those both write (besides mime.type).
READS_ATTRIBUTES = (("sql.args.N.type", "The JDBC type number of parameter N of the query."),
                    ("sql.args.N.value", "The value of parameter N."),
                    ("sql.args.N.format", "How the value of parameter N is written (dates, binary)."))
WRITES_ATTRIBUTES = (
    (ROW_COUNT, "The number of rows in this FlowFile."),
    (DURATION, "Milliseconds of execution plus fetching."),
    (EXECUTION_TIME, "Milliseconds the query took to run."),
    (FETCH_TIME, "Milliseconds taken to read the rows."),
    (RESULTSET_INDEX, "Which result set of the statement this is, from 0."),
    (ERROR_MESSAGE, "Why the query failed (on failure)."),
    ("fragment.identifier", "The same for all fragments of one result set (with Max Rows Per FlowFile)."),
    ("fragment.count", "How many fragments the result set has (without Output Batch Size)."),
    ("fragment.index", "The position of this fragment, from 0."),
    ("input.flowfile.uuid", "The UUID of the input FlowFile."),
)


def split_statements(text: str | None) -> list[str]:
    """Pre/post statements: split at semicolons not preceded by a backslash, ``\\;`` kept as ``;``."""
    if not text or not text.strip():
        return []
    parts = (p.replace("\\;", ";").strip() for p in re.split(r"(?<!\\);", text))
    return [p for p in parts if p]


def set_query_timeout(cursor: Any, dialect: str, seconds: int) -> None:
    """Make the database cancel statements of this session after ``seconds`` (0: never): PostgreSQL
    ``statement_timeout``, MariaDB ``max_statement_time``, MySQL ``max_execution_time``. The pool resets
    the timeout when the connection is given back, whatever happened in between (``dialect`` is
    kept for callers; the connection's own driver decides)."""
    del dialect
    set_statement_timeout(cursor, seconds)


class ExecuteSQL(Processor):
    """Runs a query (SQL Query, or the content of the incoming FlowFile) on a
    connection from the DBCPService and writes each result set as an Avro
    container file to ``success``: record name from the table of the first
    column (or ``NiFi_ExecuteSQL_Record``), namespace ``any.data``, each field
    a union of null and its type; logical types for decimals, dates, times and
    timestamps with Use Avro Logical Types. JDBC ``?`` placeholders take their
    values from ``sql.args.N.type`` (JDBC type number), ``sql.args.N.value`` and
    ``sql.args.N.format`` attributes. Max Rows Per FlowFile splits a result set
    into fragments (``fragment.identifier``/``index``/``count``); Output Batch
    Size commits every so many FlowFiles. A statement that yields no result set
    passes the input on with an empty Avro file (or its original content).

    Any failure, connecting included, sends the input FlowFile to ``failure``
    penalized with ``executesql.error.message`` and discards the partial
    output; without an input FlowFile the processor yields. As in NiFi, once
    Output Batch Size has committed output (and with it removed the input),
    a later failure routes nothing: it is logged and the processor yields.

    Differences from NiFi: there are no JDBC drivers; the DBCPConnectionPool
    picks psycopg (PostgreSQL) or PyMySQL (MariaDB/MySQL). Column types come
    from the driver: MariaDB ``TINYINT(1)`` is an int (not a boolean), naive
    timestamps are written as UTC (NiFi uses the JVM's time zone), and types
    NiFi maps to arrays or other Avro types are strings. PostgreSQL results
    are buffered by the driver before they are written (MariaDB/MySQL rows
    stream); several result sets from one statement are supported where the
    driver returns them (PostgreSQL without parameters). Max Wait Time is set
    as the session's ``statement_timeout`` (PostgreSQL), ``max_statement_time``
    (MariaDB) or ``max_execution_time`` (MySQL, SELECTs only), and the pool
    resets it when the connection is given back. The query is read from content as UTF-8.
    Sensitive dynamic properties as parameters are not supported.
    """

    spec = ProcessorSpec(
        description="Runs a SQL query on a database connection pool and writes every result set as an Avro file; "
                    "the query comes from a property (with Expression Language) or from the incoming content.",
        tags=("sql", "select", "jdbc", "query", "database", "avro", "postgresql", "mysql"),
        properties=(DBCP, PRE_QUERY, QUERY, POST_QUERY, QUERY_TIMEOUT, NORMALIZE, LOGICAL_TYPES, COMPRESSION,
                    DEFAULT_PRECISION, DEFAULT_SCALE, MAX_ROWS, OUTPUT_BATCH_SIZE, FETCH_SIZE, AUTO_COMMIT,
                    CONTENT_OUTPUT_STRATEGY),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.ALLOWED,
        reads_attributes=READS_ATTRIBUTES,
        writes_attributes=(*WRITES_ATTRIBUTES, ("mime.type", "application/avro-binary.")),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Run the query of one FlowFile (or, without input, of SQL Query)."""
        ff: FlowFile | None = None
        if context.has_incoming_connection:
            ff = session.get()
            if ff is None:
                return
        if ff is None and not context.property(QUERY).is_set:
            context.logger.error("SQL Query is not set and there is no incoming FlowFile to take the query from")
            context.yield_()
            return
        try:
            run = _Run(context, session, ff, self.result_writer(context, ff.attributes if ff is not None else {}),
                       original_when_empty=self.original_when_empty(context))
        except ValueError as exc:  # an expression that fails, or a number that is none
            raise ProcessingError(f"cannot evaluate the properties of {self.type_name} for {ff!r}: {exc}") from exc
        run.run()

    def result_writer(self, context: ProcessContext, attributes: Mapping[str, str]) -> ResultWriter:
        """How result sets are written: Avro."""
        return AvroResultWriter(codec=context.property(COMPRESSION).as_str(),
                                **writer_options(context, NORMALIZE, attributes))

    def original_when_empty(self, context: ProcessContext) -> bool:
        """Whether an input whose statement gave no result set keeps its content (Content Output Strategy)."""
        return context.property(CONTENT_OUTPUT_STRATEGY).as_str() == "ORIGINAL"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


class _Run:
    """One trigger's work; the state NiFi keeps in onTrigger's locals."""

    def __init__(self, context: ProcessContext, session: ProcessSession, ff: FlowFile | None, writer: ResultWriter,
                 *, original_when_empty: bool) -> None:
        self.context, self.session, self.input = context, session, ff
        self.writer, self.original_when_empty = writer, original_when_empty
        attributes = ff.attributes if ff is not None else {}
        self.attributes = attributes
        prop = context.property
        self.max_rows = prop(MAX_ROWS).evaluate(attributes).as_int()
        self.batch = prop(OUTPUT_BATCH_SIZE).evaluate(attributes).as_int()
        self.fetch = prop(FETCH_SIZE).evaluate(attributes).as_int() or 1000
        self.timeout = int(prop(QUERY_TIMEOUT).evaluate(attributes).as_duration())
        self.pending: list[FlowFile] = []
        self.retained: dict[str, str] | None = None
        self.query = ""

    def run(self) -> None:
        context = self.context
        pool = context.property(DBCP).as_controller_service(DBCPService)
        try:
            self.query = self._query_text()
            pre = split_statements(context.property(PRE_QUERY).evaluate(self.attributes).value)
            post = split_statements(context.property(POST_QUERY).evaluate(self.attributes).value)
            parameters = parameters_from_attributes(self.attributes)
            with pool.get_connection() as conn:
                self._execute(conn, pool, pre, post, parameters)
        except Exception as exc:  # NiFi routes every failure (SQL, connection, parameters) the same way
            self._fail(exc)

    def _query_text(self) -> str:
        prop = self.context.property(QUERY)
        if prop.is_set:
            return prop.evaluate(self.attributes).as_str()
        assert self.input is not None
        return self.session.read_bytes(self.input).decode("utf-8")

    def _execute(self, conn: Any, pool: DBCPService, pre: list[str], post: list[str], parameters: list[Any]) -> (
        None
    ):
        dialect = pool.dialect
        wanted_autocommit = self.context.property(AUTO_COMMIT).as_bool()
        if get_autocommit(conn) != wanted_autocommit:
            set_autocommit(conn, wanted_autocommit)
        with conn.cursor() as setup:
            if self.timeout > 0:
                set_query_timeout(setup, dialect, self.timeout)
            for statement in pre:
                self.query = statement
                setup.execute(statement)
        self.query = self._query_text()
        cursor = open_query_cursor(conn, dialect, self.query, self.fetch, wanted_autocommit)
        table_names: dict[int, str] = {}
        result_count = 0
        try:
            started = time.monotonic()
            if parameters:
                cursor.execute(jdbc_to_driver_sql(self.query), parameters)
            else:
                cursor.execute(self.query)
            execution_ms = int((time.monotonic() - started) * 1000)
            while True:
                if cursor.description is not None:
                    self._write_result_set(cursor, conn, dialect, table_names, result_count, execution_ms,
                                           pool.connection_url)
                    result_count += 1
                if not cursor.nextset():
                    break
        finally:
            cursor.close()
        with conn.cursor() as teardown:
            for statement in post:
                self.query = statement
                teardown.execute(statement)
            if self.timeout > 0:
                set_query_timeout(teardown, dialect, 0)
        if not get_autocommit(conn):
            conn.commit()
        self._finish(result_count)

    def _write_result_set(self, cursor: Any, conn: Any, dialect: str, table_names: dict[int, str], index: int,
                          execution_ms: int, url: str) -> None:
        session = self.session
        columns = describe(cursor, conn, dialect, table_names)
        rows = fetch_rows(cursor, self.fetch)
        fragment_id = str(uuid.uuid4())
        first = len(self.pending)
        fragment = 0
        while True:
            fetch_started = time.monotonic()
            out = session.create(self.input) if self.input is not None else session.create()
            chunk = itertools.islice(rows, self.max_rows) if self.max_rows > 0 else rows
            try:
                out, count, written = self.writer.write(session, out, columns, chunk)
            except BaseException:
                session.remove(out)
                raise
            if self.max_rows > 0 and count == 0 and fragment > 0:
                session.remove(out)
                break
            fetch_ms = int((time.monotonic() - fetch_started) * 1000)
            attributes = {**written, ROW_COUNT: str(count), DURATION: str(execution_ms + fetch_ms),
                          EXECUTION_TIME: str(execution_ms), FETCH_TIME: str(fetch_ms), RESULTSET_INDEX: str(index)}
            if self.input is not None:
                attributes["input.flowfile.uuid"] = self.input.uuid
            if self.max_rows > 0:
                attributes["fragment.identifier"] = fragment_id
                attributes["fragment.index"] = str(fragment)
            out = session.put_attributes(out, attributes)
            details = f"Retrieved {count} rows"
            if self.context.has_incoming_connection:
                session.provenance.fetch(out, url, details)
            else:
                session.provenance.receive(out, url, details)
            self.pending.append(out)
            fragment += 1
            if self.batch > 0 and len(self.pending) >= self.batch:
                self._flush_batch()
            if not (self.max_rows > 0 and count == self.max_rows):
                break
        if self.batch == 0 and self.max_rows > 0:
            for i in range(first, len(self.pending)):
                self.pending[i] = session.put_attribute(self.pending[i], "fragment.count", str(fragment))

    def _flush_batch(self) -> None:
        """Send what is ready and commit it now (Output Batch Size); the input goes away."""
        session = self.session
        session.transfer_all(self.pending, SUCCESS)
        if self.input is not None:
            self.retained = dict(self.input.attributes)
            session.remove(self.input)
            self.input = None
        session.commit()
        self.pending = []

    def _finish(self, result_count: int) -> None:
        session = self.session
        session.transfer_all(self.pending, SUCCESS)
        self.pending = []
        if self.input is not None:
            if result_count > 0:
                session.remove(self.input)
            elif self.original_when_empty:
                session.transfer(self.input, SUCCESS)
            else:
                session.transfer(self._empty(self.input), SUCCESS)
        elif result_count == 0 and self.retained is None:
            session.transfer(self._empty(session.create()), SUCCESS)

    def _empty(self, ff: FlowFile) -> FlowFile:
        ff, written = self.writer.write_empty(self.session, ff)
        return self.session.put_attributes(ff, {**written, ROW_COUNT: "0"})

    def _fail(self, exc: Exception) -> None:
        session, context = self.session, self.context
        for out in self.pending:
            session.remove(out)
        self.pending = []
        failed = self.input
        message = _shorten(str(exc).strip() or type(exc).__name__, 1000)
        query = _shorten(self.query, 200)
        if failed is None:  # no input, or Output Batch Size already committed output and removed it (as NiFi)
            committed = " after Output Batch Size committed earlier output" if self.retained is not None else ""
            context.logger.error(f"Unable to execute SQL query [{query}]{committed}: {message}; no FlowFile to "
                                 "route to failure")
            context.yield_()
            return
        if context.has_incoming_connection:
            context.logger.error(f"Unable to execute SQL query [{query}] for {failed!r}: {message}; routing to "
                                 "failure")
            failed = session.penalize(failed)
        else:
            context.logger.error(f"Unable to execute SQL query [{query}]: {message}; routing to failure")
            context.yield_()
        failed = session.put_attribute(failed, ERROR_MESSAGE, message)
        session.transfer(failed, FAILURE)
