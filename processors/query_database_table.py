"""QueryDatabaseTable and QueryDatabaseTableRecord: fetch the rows of a table added since the last run, tracked by
maximum-value columns kept in the processor's state.

Also the maximum-value processor base GenerateTableFetch shares; the maximum-value machinery (state
keys, column kinds, literals: ``_db_max_values``) is re-exported here.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flowyard.processors._db_avro import AvroResultWriter, RecordResultWriter, ResultWriter, describe
from flowyard.processors._db_common import (
    connection_pool_property,
    default_precision_property,
    default_scale_property,
    fetch_rows,
    open_cursor,
    writer_options,
)
from flowyard.processors._db_drivers import get_autocommit, set_autocommit
from flowyard.processors._db_max_values import (
    INITIAL_MAX_VALUE_PREFIX,
    NAMESPACE_DELIMITER,
    MaxValues,
    column_kinds,
    literal,
    state_key,
    with_initial_max_values,
)
from flowyard.processors._record_services import RECORD_SET_WRITER_FACTORY, RecordSetWriterFactory
from flowyard.processors.dbcp_connection_pool import DBCPService
from flowyard.processors.execute_sql import set_query_timeout
from flowyard.processors.put_database_record import db_type_problem, db_type_property, dialect_service_property
from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
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

__all__ = [
    "MaxValueProcessor",
    "MaxValues",
    "QueryDatabaseTable",
    "QueryDatabaseTableRecord",
    "column_kinds",
    "initial_max_values_property",
    "literal",
    "state_key",
    "with_initial_max_values",
]

_FF = ExpressionScope.FLOWFILE_ATTRIBUTES
_ENV = ExpressionScope.ENVIRONMENT
_BOOL = (AllowableValue("true"), AllowableValue("false"))

SUCCESS = Relationship("success", "A FlowFile per query result (or per Max Rows Per FlowFile rows).")

DBCP = connection_pool_property("Database Connection Pooling Service")
DB_TYPE = db_type_property("db-fetch-db-type")
DIALECT_SERVICE = dialect_service_property("db-fetch-db-type")
TABLE = PropertySpec(
    key="Table Name", display_name="Table Name",
    description="The table to query (with a Custom Query: the alias the query is given).", required=True,
    expression_scope=_FF, validator=validators.NON_EMPTY,
)
COLUMNS = PropertySpec(
    key="Columns to Return", display_name="Columns to Return",
    description="Comma-separated columns to select; unset selects every column (*).", expression_scope=_FF,
)
WHERE = PropertySpec(
    key="db-fetch-where-clause", display_name="Additional WHERE Clause",
    description="A condition added (with AND) to the query's WHERE clause.", expression_scope=_FF,
)
CUSTOM_QUERY = PropertySpec(
    key="db-fetch-sql-query", display_name="Custom Query",
    description="A query used instead of the table: SELECT * FROM (query) AS <Table Name>, the maximum-value "
                "conditions applied to its rows.", expression_scope=_ENV,
)
MAX_VALUE_COLUMNS = PropertySpec(
    key="Maximum-value Columns", display_name="Maximum-value Columns",
    description="Comma-separated columns whose largest value seen is kept in state; only rows beyond it are "
                "fetched next time (the first column with >, the others with >=). Unset: every run fetches every "
                "row.", expression_scope=_FF,
)
START_AT_BEGINNING, START_AT_CURRENT = "Start at Beginning", "Start at Current Maximum Values"
INITIAL_LOAD = PropertySpec(
    key="initial-load-strategy", display_name="Initial Load Strategy",
    description="What the first run (no state) fetches.", required=True, default=START_AT_BEGINNING,
    allowed_values=(AllowableValue(START_AT_BEGINNING, START_AT_BEGINNING, "Every row."),
                    AllowableValue(START_AT_CURRENT, START_AT_CURRENT,
                                   "Only rows added after the current maximum values.")),
)
QUERY_TIMEOUT = PropertySpec(
    key="Max Wait Time", display_name="Max Wait Time",
    description="The longest the query may run before the database cancels it; 0 means no limit (whole seconds).",
    required=True, default="0 seconds", expression_scope=_FF, validator=validators.TIME_PERIOD,
)
FETCH_SIZE = PropertySpec(
    key="Fetch Size", display_name="Fetch Size",
    description="How many rows are taken from the database at a time; 0 uses 1000.", required=True, default="0",
    expression_scope=_ENV, validator=validators.NON_NEGATIVE_INTEGER,
)
AUTO_COMMIT = PropertySpec(
    key="Set Auto Commit", display_name="Set Auto Commit",
    description="The autocommit mode of the connection during the query; unset: off for PostgreSQL (so rows "
                "stream through a server-side cursor), the driver's default otherwise.",
    allowed_values=_BOOL, expression_scope=_ENV,
)
MAX_ROWS = PropertySpec(
    key="qdbt-max-rows", display_name="Max Rows Per FlowFile", aliases=("Max Rows Per Flow File",),
    description="The most rows in one FlowFile (then fragment.* attributes are written); 0 puts every row in one.",
    required=True, default="0", expression_scope=_ENV, validator=validators.NON_NEGATIVE_INTEGER,
)
OUTPUT_BATCH_SIZE = PropertySpec(
    key="qdbt-output-batch-size", display_name="Output Batch Size",
    description="Commit the session after this many FlowFiles so they flow on before the query ends (then "
                "maxvalue.* and fragment.count are not written); 0 commits once at the end.", required=True,
    default="0", expression_scope=_ENV, validator=validators.NON_NEGATIVE_INTEGER,
)
MAX_FRAGMENTS = PropertySpec(
    key="qdbt-max-frags", display_name="Maximum Number of Fragments",
    description="Stop after this many FlowFiles (with Max Rows Per FlowFile); the maximum values of the rows "
                "fetched are kept, so rows left behind below them are never fetched. 0: no limit.", required=True,
    default="0", expression_scope=_ENV, validator=validators.NON_NEGATIVE_INTEGER,
)
NORMALIZE = PropertySpec(
    key="dbf-normalize", display_name="Normalize Table and Column Names",
    description="Whether characters Avro names do not allow become underscores in record and field names.",
    required=True, default="false", allowed_values=_BOOL,
)
NORMALIZE_RECORD = PropertySpec(
    key="qdbtr-normalize", display_name="Normalize Table/Column Names",
    description="Whether characters Avro names do not allow become underscores in record and field names.",
    required=True, default="false", allowed_values=_BOOL,
)
ISOLATION_LEVEL = PropertySpec(
    key="transaction-isolation-level", display_name="Transaction Isolation Level",
    description="The isolation level of the query's transaction; unset: the database's default.",
    allowed_values=(AllowableValue("0", "TRANSACTION_NONE", "No transaction (the default is kept)."),
                    AllowableValue("2", "TRANSACTION_READ_COMMITTED", "READ COMMITTED."),
                    AllowableValue("1", "TRANSACTION_READ_UNCOMMITTED", "READ UNCOMMITTED."),
                    AllowableValue("4", "TRANSACTION_REPEATABLE_READ", "REPEATABLE READ."),
                    AllowableValue("8", "TRANSACTION_SERIALIZABLE", "SERIALIZABLE.")),
)
LOGICAL_TYPES = PropertySpec(
    key="dbf-user-logical-types", display_name="Use Avro Logical Types",
    description="Whether DECIMAL, DATE, TIME and TIMESTAMP columns keep their types (Avro logical types) "
                "instead of becoming strings.", required=True, default="false", allowed_values=_BOOL,
)
DEFAULT_PRECISION = default_precision_property(_ENV)
DEFAULT_SCALE = default_scale_property(_ENV)
RECORD_WRITER = PropertySpec(
    key="qdbtr-record-writer", display_name="Record Writer",
    description="The service that writes the rows as records.", required=True,
    identifies_controller_service=RECORD_SET_WRITER_FACTORY,
)


def initial_max_values_property(scope: ExpressionScope) -> DynamicPropertySpec:
    """The ``initial.maxvalue.<column>`` dynamic properties, with Expression Language of ``scope``."""
    return DynamicPropertySpec(
        name_description="initial.maxvalue.<max_value_column>",
        value_description="The maximum value to start from for that column when the state holds none",
        expression_scope=scope,
    )


INITIAL_MAX_VALUES = initial_max_values_property(_ENV)

ROW_COUNT = "querydbtable.row.count"
TABLE_NAME_ATTRIBUTE = "tablename"

_ISOLATION = {"1": "READ UNCOMMITTED", "2": "READ COMMITTED", "4": "REPEATABLE READ", "8": "SERIALIZABLE"}


# -- the processors ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Config:
    table: str
    columns: str | None
    where: str | None
    custom_query: str | None
    max_columns: list[str]
    timeout: int
    fetch: int
    max_rows: int
    batch: int
    max_fragments: int


def _watched(rows: Iterator[tuple[Any, ...]], see: Any) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        see(row)
        yield row


class MaxValueProcessor(Processor):
    """What the processors keeping maximum values in state (QueryDatabaseTable(+Record), GenerateTableFetch)
    share: the kinds of the maximum-value columns, cached in ``_kinds`` until the processor is scheduled
    again, validation of Database Type (``DB_TYPE``) and of the dynamic properties, and the state's
    scope: the cluster's (``state_scope``)."""

    def __init__(self) -> None:
        self._kinds: dict[tuple[Any, ...], dict[str, str]] = {}

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """No Database Dialect Service; the subclass's ``problems``; dynamic properties must be
        initial.maxvalue.<column>."""
        results = []
        problem = db_type_problem(context.property(DB_TYPE).as_str(), DB_TYPE.key)
        if problem is not None:
            results.append(problem)
        results += self.problems(context)
        results += [ValidationResult(name, f"dynamic properties must be named {INITIAL_MAX_VALUE_PREFIX}<column>", name)
                    for name in context.dynamic_properties
                    if not name.startswith(INITIAL_MAX_VALUE_PREFIX) or len(name) == len(INITIAL_MAX_VALUE_PREFIX)]
        return results

    def problems(self, context: ProcessContext) -> list[ValidationResult]:
        """The subclass's own validation (none here)."""
        return []

    def state_scope(self, context: ProcessContext) -> str:
        """CLUSTER: the maxima describe a table every node sees alike, so in a cluster they
        are the cluster's and a new primary node goes on from them (as NiFi's)."""
        return "CLUSTER"

    def on_scheduled(self, context: ProcessContext) -> None:
        """Column types are read again (the table may have changed while stopped)."""
        self._kinds = {}


class _QueryDatabaseTableBase(MaxValueProcessor):
    """What QueryDatabaseTable and QueryDatabaseTableRecord share; ``result_writer`` differs."""

    NORMALIZE_SPEC = NORMALIZE

    def result_writer(self, context: ProcessContext) -> ResultWriter:
        raise NotImplementedError

    def _config(self, context: ProcessContext) -> _Config:
        prop = context.property
        max_columns = [c.strip() for c in (prop(MAX_VALUE_COLUMNS).evaluate().value or "").split(",") if c.strip()]
        return _Config(
            table=prop(TABLE).evaluate().as_str().strip(), columns=prop(COLUMNS).evaluate().value or None,
            where=prop(WHERE).evaluate().value or None, custom_query=prop(CUSTOM_QUERY).evaluate().value or None,
            max_columns=max_columns, timeout=int(prop(QUERY_TIMEOUT).evaluate().as_duration()),
            fetch=prop(FETCH_SIZE).evaluate().as_int() or 1000, max_rows=prop(MAX_ROWS).evaluate().as_int(),
            batch=prop(OUTPUT_BATCH_SIZE).evaluate().as_int(),
            max_fragments=prop(MAX_FRAGMENTS).evaluate().as_int(),
        )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Fetch the new rows, send them, and keep the new maximum values."""
        try:
            config = self._config(context)
            writer = self.result_writer(context)
        except ValueError as exc:
            context.logger.error(f"cannot evaluate the properties of {self.type_name}: {exc}; yielding")
            context.yield_()
            return
        state = session.get_state()
        values = with_initial_max_values(context, state, config.table)
        pool = context.property(DBCP).as_controller_service(DBCPService)
        source = f"({config.custom_query}) AS {config.table}" if config.custom_query else config.table
        query = ""
        pending: list[FlowFile] = []
        maxima: MaxValues | None = None
        try:
            with pool.get_connection() as conn:
                kinds = self._column_kinds(conn, pool.dialect, source, config)
                maxima = MaxValues(config.table, values, kinds)
                maxima.check()
                if config.max_columns and not values and \
                        context.property(INITIAL_LOAD).as_str() == START_AT_CURRENT:
                    self._start_at_current(conn, pool.dialect, maxima, config)
                    values = dict(maxima.values)
                query = self._query(context, config, maxima, source, pool.dialect)
                pending = self._fetch(context, session, conn, pool, query, config, writer, maxima)
        except Exception as exc:  # NiFi logs, drops what it made, yields, and keeps the state it had
            for ff in pending:
                session.remove(ff)
            message = str(exc).strip() or type(exc).__name__
            where = f"query [{query[:300]}]" if query else f"table {config.table}"
            context.logger.error(f"unable to run the {where}: {message[:1000]}; yielding")
            if values != state:
                session.set_state(values)
            context.yield_()
            return
        assert maxima is not None
        if not pending:
            context.yield_()
        else:
            session.transfer_all(pending, SUCCESS)
        if maxima.values != state:
            session.set_state(maxima.values)

    def _column_kinds(self, conn: Any, dialect: str, source: str, config: _Config) -> dict[str, str]:
        if not config.max_columns:
            return {}
        cache_key = (source, tuple(config.max_columns))
        kinds = self._kinds.get(cache_key)
        if kinds is None:
            if not get_autocommit(conn):
                set_autocommit(conn, True)
            kinds = self._kinds[cache_key] = column_kinds(conn, dialect, source, config.max_columns, config.table)
        return kinds

    def _start_at_current(self, conn: Any, dialect: str, maxima: MaxValues, config: _Config) -> None:
        selects = ", ".join(f"MAX({c}) {c}" for c in config.max_columns)
        cursor = conn.cursor()
        try:
            cursor.execute(f"SELECT {selects} FROM {config.table}")
            columns = describe(cursor, conn, dialect, {})
            row = cursor.fetchone()
            cursor.fetchall()
        finally:
            cursor.close()
        if row is not None:
            maxima.tracker(columns)(tuple(row))

    def _query(self, context: ProcessContext, config: _Config, maxima: MaxValues, source: str, dialect: str) -> str:
        if config.custom_query:
            query = f"SELECT * FROM {source}"
        else:
            query = f"SELECT {config.columns or '*'} FROM {config.table}"
        conditions = maxima.conditions(config.max_columns, context.property(DB_TYPE).as_str(), dialect)
        if config.where:
            conditions.append(f"({config.where})")
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        return query

    def _fetch(self, context: ProcessContext, session: ProcessSession, conn: Any, pool: DBCPService, query: str,
               config: _Config, writer: ResultWriter, maxima: MaxValues) -> list[FlowFile]:
        dialect = pool.dialect
        configured_autocommit = context.property(AUTO_COMMIT).evaluate().value
        autocommit = (configured_autocommit.strip().lower() == "true") if configured_autocommit else \
            dialect != "postgresql"
        if get_autocommit(conn) != autocommit:
            set_autocommit(conn, autocommit)
        isolation = _ISOLATION.get(context.property(ISOLATION_LEVEL).raw or "") \
            if ISOLATION_LEVEL in self.spec.properties else None
        with conn.cursor() as setup:
            if config.timeout > 0:
                set_query_timeout(setup, dialect, config.timeout)
            if isolation:
                setup.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation}")
        pending: list[FlowFile] = []
        started = time.monotonic()
        cursor = open_cursor(conn, dialect, None if autocommit else config.fetch)
        try:
            context.logger.debug(f"executing query {query}")
            cursor.execute(query)
            columns = describe(cursor, conn, dialect, {})
            rows = _watched(fetch_rows(cursor, config.fetch), maxima.tracker(columns))
            fragment_id = str(uuid.uuid4())
            fragment = 0
            try:
                while True:
                    out = session.create()
                    chunk = itertools.islice(rows, config.max_rows) if config.max_rows > 0 else rows
                    try:
                        out, count, written = writer.write(session, out, columns, chunk)
                    except BaseException:
                        session.remove(out)
                        raise
                    if count == 0:
                        session.remove(out)
                        break
                    attributes = {**written, ROW_COUNT: str(count), TABLE_NAME_ATTRIBUTE: config.table}
                    if config.max_rows > 0:
                        attributes["fragment.identifier"] = fragment_id
                        attributes["fragment.index"] = str(fragment)
                    out = session.put_attributes(out, attributes)
                    session.provenance.receive(out, pool.connection_url,
                                               f"Retrieved {count} rows in {int((time.monotonic() - started) * 1000)}"
                                               " ms")
                    pending.append(out)
                    if config.batch > 0 and len(pending) >= config.batch:
                        session.transfer_all(pending, SUCCESS)
                        session.commit()
                        pending = []
                    fragment += 1
                    if config.max_fragments > 0 and fragment >= config.max_fragments:
                        break
                    if config.max_rows == 0 or count < config.max_rows:
                        break
            except BaseException:
                for ff in pending:
                    session.remove(ff)
                raise
        finally:
            cursor.close()
        if not autocommit:
            conn.rollback()
        if config.timeout > 0:
            with conn.cursor() as teardown:
                set_query_timeout(teardown, dialect, 0)
        if config.batch == 0:
            extra = {"maxvalue." + key[key.rfind(NAMESPACE_DELIMITER) + len(NAMESPACE_DELIMITER):]
                     if NAMESPACE_DELIMITER in key else "maxvalue." + key: value
                     for key, value in maxima.values.items()}
            if config.max_rows > 0:
                extra["fragment.count"] = str(fragment)
            pending = [session.put_attributes(ff, extra) for ff in pending]
        return pending


def _spec(output: str, tag: str, properties: tuple[PropertySpec, ...], *attributes: tuple[str, str]) -> (
    ProcessorSpec
):
    """The spec of QueryDatabaseTable(+Record): ``output`` ends the description, ``tag`` the tags, and
    ``attributes`` follow the attributes both write."""
    return ProcessorSpec(
        description="Fetches the rows of a table added since the last run, tracked by maximum-value columns kept "
                    "in state, " + output,
        tags=("sql", "select", "jdbc", "query", "database", "incremental", tag),
        properties=properties,
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        stateful=True,
        dynamic_properties=INITIAL_MAX_VALUES,
        writes_attributes=(
            (TABLE_NAME_ATTRIBUTE, "The table queried."),
            (ROW_COUNT, "The number of rows in this FlowFile."),
            ("fragment.identifier", "The same for all FlowFiles of one query (with Max Rows Per FlowFile)."),
            ("fragment.count", "How many FlowFiles the query gave (without Output Batch Size)."),
            ("fragment.index", "The position of this FlowFile among them, from 0."),
            ("maxvalue.*", "The maximum value of each Maximum-value Column after this query."),
            *attributes,
        ),
    )


_COMMON_DOC = """
    Each run selects the rows of Table Name (or of the Custom Query, as
    ``SELECT * FROM (query) AS <Table Name>``) beyond the maximum values kept
    in state for the Maximum-value Columns — the first column with ``>``, the
    others with ``>=``, as NiFi does — plus the Additional WHERE Clause. The
    largest value of each such column among the rows fetched is kept in the
    processor's state under NiFi's keys (``<table>@!@<column>``, lower case),
    so a restart neither repeats nor skips rows; rows added later with a value
    equal to the kept maximum of the first column are not fetched (NiFi's
    behaviour: use a strictly increasing column). ``initial.maxvalue.<column>``
    dynamic properties give the starting maximum of a column the state lacks;
    Initial Load Strategy "Start at Current Maximum Values" makes the first run
    fetch nothing but the current maxima.

    Output: a FlowFile per Max Rows Per FlowFile rows (``fragment.identifier``,
    ``fragment.index``, and ``fragment.count`` at the end), none when there
    are no new rows (the processor yields), each with ``tablename``,
    ``querydbtable.row.count`` and ``maxvalue.<column>``; Output Batch Size
    commits every so many FlowFiles (then, as in NiFi, ``maxvalue.*`` and
    ``fragment.count`` are not written, and the state is updated only at the
    end, so a crash in between fetches those rows again). Maximum Number of
    Fragments stops early, keeping the maxima of the rows fetched.

    Delivery: the state is updated in the same session commit as the
    FlowFiles (at least once). A failing query is logged, its FlowFiles are
    dropped, the processor yields and the state keeps its old values. In a
    cluster the maxima are the cluster's state (``state_scope``), so a new
    primary node goes on from them.

    Differences from NiFi: a Database Dialect Service is not supported;
    Database Type only decides literals (Oracle/Phoenix date literals); the
    column types are read on the first run (not when scheduled), so an
    unreachable database is reported then. Quotes in a stored string maximum
    are escaped in the literal. A timestamp with time zone is stored with its
    offset. A TIME maximum with microseconds is stored with all six digits
    (NiFi keeps milliseconds), and a single-precision maximum (PostgreSQL
    ``real``, MySQL/MariaDB ``FLOAT``) is compared as ``CAST('<value>' AS
    real/FLOAT)``, so the row holding it is not fetched again. With
    PostgreSQL the query runs in a transaction with a server-side cursor
    unless Set Auto Commit is true, so rows stream.

    Known limitations: string maxima are compared by code point, as NiFi
    compares them in Java, while the database orders by the column's
    collation; under a case-insensitive collation (MariaDB/MySQL's default)
    the two can disagree (``'b'`` is kept as the maximum, and ``'Z'``, which
    the database puts after it, is fetched again on every run): track a
    column whose order does not depend on the collation. MariaDB/MySQL send a
    ``FLOAT`` with 6 significant digits, so a FLOAT maximum with more digits
    is stored rounded and a new value within that rounding can be fetched
    again or missed: use DOUBLE for such a column.
"""


class QueryDatabaseTable(_QueryDatabaseTableBase):
    __doc__ = """Fetches the new rows of a table as Avro (as ExecuteSQL writes it:
    record named after the table, nullable fields, logical types with Use Avro
    Logical Types), ``mime.type`` ``application/avro-binary``.
""" + _COMMON_DOC

    spec = _spec(
        "as Avro.", "avro",
        (DBCP, DB_TYPE, DIALECT_SERVICE, TABLE, COLUMNS, WHERE, CUSTOM_QUERY, MAX_VALUE_COLUMNS, INITIAL_LOAD,
         QUERY_TIMEOUT, FETCH_SIZE, AUTO_COMMIT, MAX_ROWS, OUTPUT_BATCH_SIZE, MAX_FRAGMENTS, NORMALIZE,
         ISOLATION_LEVEL, LOGICAL_TYPES, DEFAULT_PRECISION, DEFAULT_SCALE),
        ("mime.type", "application/avro-binary."),
    )

    def result_writer(self, context: ProcessContext) -> ResultWriter:
        """Avro, as ExecuteSQL writes it."""
        return AvroResultWriter(**writer_options(context, NORMALIZE))


class QueryDatabaseTableRecord(_QueryDatabaseTableBase):
    __doc__ = """Fetches the new rows of a table as records written by the Record
    Writer (``record.count``, ``mime.type`` from the writer). Column types as
    ExecuteSQLRecord gives them: without Use Avro Logical Types, decimals,
    dates, times and timestamps are strings.
""" + _COMMON_DOC

    spec = _spec(
        "written with a Record Writer.", "record",
        (DBCP, DB_TYPE, DIALECT_SERVICE, TABLE, COLUMNS, WHERE, CUSTOM_QUERY, RECORD_WRITER, MAX_VALUE_COLUMNS,
         INITIAL_LOAD, QUERY_TIMEOUT, FETCH_SIZE, AUTO_COMMIT, MAX_ROWS, OUTPUT_BATCH_SIZE, MAX_FRAGMENTS,
         NORMALIZE_RECORD, LOGICAL_TYPES, DEFAULT_PRECISION, DEFAULT_SCALE),
        ("mime.type", "The Record Writer's MIME type."), ("record.count", "The number of records in this FlowFile."),
    )

    def result_writer(self, context: ProcessContext) -> ResultWriter:
        """The Record Writer."""
        factory = context.property(RECORD_WRITER).as_controller_service(RecordSetWriterFactory)
        return RecordResultWriter(factory, {}, **writer_options(context, NORMALIZE_RECORD))
