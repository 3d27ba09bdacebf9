"""GenerateTableFetch: SELECT statements, one per partition of the rows added since the last run, for ExecuteSQL
to fetch (possibly on several nodes)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowyard.processors._db_avro import describe
from flowyard.processors.dbcp_connection_pool import DBCPService
from flowyard.processors.execute_sql import set_query_timeout
from flowyard.processors.put_database_record import MSSQL2008, MSSQL2012, ORACLE, ORACLE12
from flowyard.processors.query_database_table import (
    COLUMNS,
    DB_TYPE,
    DBCP,
    DIALECT_SERVICE,
    MAX_VALUE_COLUMNS,
    QUERY_TIMEOUT,
    TABLE,
    WHERE,
    MaxValueProcessor,
    MaxValues,
    column_kinds,
    initial_max_values_property,
    state_key,
    with_initial_max_values,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["GenerateTableFetch", "select_statement"]

_FF = ExpressionScope.FLOWFILE_ATTRIBUTES

SUCCESS = Relationship("success", "A FlowFile per partition, its content the SELECT statement that fetches it.")
FAILURE = Relationship("failure", "The incoming FlowFile when the database could not be queried, penalized, with "
                                  "generatetablefetch.sql.error.")

PARTITION_SIZE = PropertySpec(
    key="gen-table-fetch-partition-size", display_name="Partition Size",
    description="How many rows each generated statement fetches; 0 generates one statement for all new rows.",
    required=True, default="10000", expression_scope=_FF, validator=validators.NON_NEGATIVE_INTEGER,
)
PARTITION_COLUMN = PropertySpec(
    key="gen-table-column-for-val-partitioning", display_name="Column for Value Partitioning",
    description="An integer column whose values define the partitions (col >= a AND col < b) instead of "
                "LIMIT/OFFSET; best for evenly spread, dense values.", expression_scope=_FF,
    validator=validators.NON_EMPTY,
)
ORDER_BY = PropertySpec(
    key="gen-table-custom-orderby-column", display_name="Custom ORDER BY Column",
    description="The column the partitions are ordered by when there are no Maximum-value Columns (without any, "
                "the pages may overlap or miss rows).", expression_scope=_FF, validator=validators.NON_EMPTY,
)
OUTPUT_EMPTY = PropertySpec(
    key="gen-table-output-flowfile-on-zero-results", display_name="Output Empty FlowFile on Zero Results",
    description="Whether an empty FlowFile (with the attributes) is sent when there is nothing to fetch.",
    required=True, default="false", allowed_values=(AllowableValue("true"), AllowableValue("false")),
)

INITIAL_MAX_VALUES = initial_max_values_property(_FF)

PREFIX = "generatetablefetch."


def select_statement(db_type: str, table: str, columns: str | None, where: str | None, order_by: str | None,
                     limit: int | None, offset: int | None, partition_column: str | None = None) -> str:
    """A SELECT of one page in the syntax of ``db_type`` (NiFi's database adapters)."""
    cols = "*" if not columns or columns.strip() == "*" else columns
    paging = not partition_column
    range_clause = ""
    if where and partition_column:
        range_clause = f" AND {partition_column} >= {offset if offset is not None else 0}"
        if limit is not None:
            range_clause += f" AND {partition_column} < {(offset or 0) + limit}"
    where_clause = f" WHERE {where}{range_clause}" if where else ""
    order_clause = f" ORDER BY {order_by}" if order_by and paging else ""
    if db_type == ORACLE:
        nested = (limit is not None or offset is not None) and paging
        inner = f"SELECT {cols} FROM {table}{where_clause}{order_clause}"
        if not nested:
            return inner
        start = offset or 0
        bound = f" WHERE ROWNUM <= {start + limit}" if limit is not None else ""
        return f"SELECT {cols} FROM (SELECT a.*, ROWNUM rnum FROM ({inner}) a{bound}) WHERE rnum > {start}"
    if db_type == ORACLE12:
        tail = ""
        if paging:
            if offset is not None and offset > 0:
                tail += f" OFFSET {offset} ROWS"
            if limit is not None:
                tail += f" FETCH NEXT {limit} ROWS ONLY"
        return f"SELECT {cols} FROM {table}{where_clause}{order_clause}{tail}"
    if db_type == MSSQL2012:
        top = f"TOP {limit} " if limit is not None and offset is None and paging else ""
        tail = ""
        if paging and offset is not None and limit is not None and limit > 0:
            if not order_by:
                raise ValueError("an ORDER BY column is needed for row paging with MS SQL")
            tail = f" OFFSET {offset} ROWS FETCH NEXT {limit} ROWS ONLY"
        return f"SELECT {top}{cols} FROM {table}{where_clause}{order_clause}{tail}"
    if db_type == MSSQL2008:
        head, number, tail = "SELECT ", "", ""
        if limit is not None and paging:
            if offset is not None:
                head += "* FROM (SELECT "
            if (offset or 0) + limit > 0:
                head += f"TOP {(offset or 0) + limit} "
            if offset is not None and order_by:
                number = f", ROW_NUMBER() OVER(ORDER BY {order_by} asc) rnum"
            if offset is not None:
                tail = f") A WHERE rnum > {offset} AND rnum <= {offset + limit}"
        return f"{head}{cols}{number} FROM {table}{where_clause}{order_clause}{tail}"
    tail = ""  # Generic, PostgreSQL, MySQL, Phoenix
    if paging:
        if limit is not None:
            tail += f" LIMIT {limit}"
        if offset is not None and offset > 0:
            tail += f" OFFSET {offset}"
    return f"SELECT {cols} FROM {table}{where_clause}{order_clause}{tail}"


@dataclass(slots=True)
class _Config:
    table: str
    columns: str | None
    max_columns: list[str]
    partition_size: int
    partition_column: str | None
    where: str | None
    order_by: str | None
    timeout: int


class _QueryFailed(Exception):
    def __init__(self, query: str, cause: BaseException) -> None:
        super().__init__(str(cause).strip() or type(cause).__name__)
        self.query = query


class GenerateTableFetch(MaxValueProcessor):
    """Generates SELECT statements that fetch, page by page, the rows of a
    table added since the last run: it counts the new rows (``SELECT
    COUNT(*), MAX(<max-value column>) ...`` beyond the maxima kept in state,
    the first Maximum-value Column with ``>``, the others with ``>=``, plus
    the Additional WHERE Clause), keeps the new maxima in state (NiFi's keys,
    ``<table>@!@<column>``) and emits one FlowFile per Partition Size rows,
    its content a statement bounded by the new maxima (``<=``), ordered by
    the Maximum-value Columns (else the Custom ORDER BY Column) and paged in
    the syntax of Database Type: LIMIT/OFFSET (Generic, PostgreSQL, MySQL,
    Phoenix), OFFSET/FETCH (Oracle 12+, MS SQL 2012+), ROWNUM (Oracle),
    TOP/ROW_NUMBER (MS SQL 2008); with a Column for Value Partitioning, value
    ranges instead. Attributes: ``generatetablefetch.tableName`` /
    ``columnNames`` / ``maxColumnNames`` / ``whereClause`` / ``limit`` /
    ``offset`` and ``fragment.identifier`` / ``count`` / ``index``.
    ``initial.maxvalue.<column>`` dynamic properties give starting maxima.

    With an incoming connection the properties are evaluated against each
    FlowFile (the table may come from an attribute); the statements are its
    children and it is removed; when the database cannot be queried it goes
    to ``failure`` with ``generatetablefetch.sql.error``. Without input a
    failure is logged and the processor yields, keeping its state. Output
    Empty FlowFile on Zero Results sends one attribute-only FlowFile when
    there is nothing to fetch.

    Delivery: the state moves forward in the same commit as the statements
    (at least once: the statements, not the rows, are what is delivered; a
    statement that fails later in ExecuteSQL must be retried there). In a
    cluster the maxima are the cluster's state (``state_scope``), so a new
    primary node goes on from them.

    Differences from NiFi: a Database Dialect Service is not supported; the
    column types of the maximum-value columns are read when needed rather
    than when scheduled. Quotes in a stored string maximum are escaped in the
    literal. ``generatetablefetch.limit`` is absent (not empty) when there is
    no limit. A TIME maximum keeps its microseconds (NiFi keeps milliseconds);
    a single-precision maximum (PostgreSQL ``real``, MySQL/MariaDB ``FLOAT``,
    read exactly as ``CAST(MAX(c) AS DOUBLE)`` on MariaDB/MySQL) is compared
    as ``CAST('<value>' AS real/FLOAT)``, so its row is fetched exactly once.

    The new maxima are the database's ``MAX()`` over the rows beyond the kept
    ones, taken as they are: a string maximum follows the column's collation
    (NiFi compares strings again in Java, by code point, and under a
    case-insensitive collation can keep ``'b'`` over ``'Z'`` and then
    generate statements that fetch nothing).
    """

    spec = ProcessorSpec(
        description="Generates SELECT statements that fetch the new rows of a table in partitions, tracked by "
                    "maximum-value columns kept in state.",
        tags=("sql", "select", "jdbc", "query", "database", "fetch", "generate"),
        properties=(DBCP, DB_TYPE, DIALECT_SERVICE, TABLE, COLUMNS, MAX_VALUE_COLUMNS, QUERY_TIMEOUT,
                    PARTITION_SIZE, PARTITION_COLUMN, WHERE, ORDER_BY, OUTPUT_EMPTY),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.ALLOWED,
        stateful=True,
        dynamic_properties=INITIAL_MAX_VALUES,
        writes_attributes=(
            (PREFIX + "sql.error", "Why the database could not be queried (failure)."),
            (PREFIX + "tableName", "The table the statements read."),
            (PREFIX + "columnNames", "The Columns to Return, when set."),
            (PREFIX + "whereClause", "The WHERE clause of the statement (new rows, up to the new maxima)."),
            (PREFIX + "maxColumnNames", "The Maximum-value Columns, when set."),
            (PREFIX + "limit", "The rows per statement (absent without a limit)."),
            (PREFIX + "offset", "The offset of the statement (with a Partition Size)."),
            ("fragment.identifier", "The same for all statements of one run."),
            ("fragment.count", "How many statements the run generated."),
            ("fragment.index", "The position of this statement, from 0."),
        ),
    )

    def problems(self, context: ProcessContext) -> list[ValidationResult]:
        """One partitioning column."""
        partition = context.property(PARTITION_COLUMN).raw
        if partition and "${" not in partition and "," in partition:
            return [ValidationResult(PARTITION_COLUMN.display_name, "Column for Value Partitioning requires a single "
                                     "column name, but a comma was detected", PARTITION_COLUMN.key)]
        return []

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Count the new rows of one table and emit the statements that fetch them."""
        ff: FlowFile | None = None
        if context.has_incoming_connection:
            ff = session.get()
            if ff is None:
                return
        attributes = ff.attributes if ff is not None else {}
        state = session.get_state()
        try:
            config = self._config(context, attributes)
            values = with_initial_max_values(context, state, config.table, attributes)
        except ValueError as exc:
            self._fail(context, session, ff, f"cannot evaluate the properties: {exc}", "")
            return
        pool = context.property(DBCP).as_controller_service(DBCPService)
        try:
            with pool.get_connection() as conn:
                maxima, bounds, count, low, high = self._count(context, conn, pool.dialect, config, values)
        except _QueryFailed as exc:
            self._fail(context, session, ff, str(exc), exc.query)
            return
        except Exception as exc:  # no connection: the same as a failed query
            self._fail(context, session, ff, str(exc).strip() or type(exc).__name__, "")
            return
        self._emit(context, session, ff, config, maxima, bounds, count, low, high)
        if maxima.values != state:
            session.set_state(maxima.values)

    def _config(self, context: ProcessContext, attributes: Mapping[str, str]) -> _Config:
        prop = context.property
        max_columns = [c.strip() for c in (prop(MAX_VALUE_COLUMNS).evaluate(attributes).value or "").split(",")
                       if c.strip()]
        table = prop(TABLE).evaluate(attributes).as_str().strip()
        if not table:
            raise ValueError("Table Name is empty")
        partition_column = prop(PARTITION_COLUMN).evaluate(attributes).value or None
        if partition_column and "," in partition_column:
            raise ValueError("Column for Value Partitioning requires a single column name, but a comma was detected")
        return _Config(table=table, columns=prop(COLUMNS).evaluate(attributes).value or None,
                       max_columns=max_columns, partition_size=prop(PARTITION_SIZE).evaluate(attributes).as_int(),
                       partition_column=partition_column, where=prop(WHERE).evaluate(attributes).value or None,
                       order_by=prop(ORDER_BY).evaluate(attributes).value or None,
                       timeout=int(prop(QUERY_TIMEOUT).evaluate(attributes).as_duration()))

    def _count(self, context: ProcessContext, conn: Any, dialect: str, config: _Config, values: dict[str, str]) -> (
        tuple[MaxValues, list[str], int, int | None, int | None]
    ):
        """Run the counting query: the new maxima (in the returned MaxValues), the WHERE conditions of the
        statements, the row count and the partitioning column's range."""
        db_type = context.property(DB_TYPE).as_str()
        query = ""
        try:
            kinds: dict[str, str] = {}
            if config.max_columns:
                cache_key = (config.table, tuple(config.max_columns))
                kinds = self._kinds.get(cache_key) or {}
                if not kinds:
                    query = f"SELECT {', '.join(config.max_columns)} FROM {config.table} WHERE 1 = 0"
                    kinds = self._kinds[cache_key] = column_kinds(conn, dialect, config.table, config.max_columns,
                                                                   config.table)
            maxima = MaxValues(config.table, values, kinds)
            maxima.check()
            conditions = maxima.conditions(config.max_columns, db_type, dialect)
            selects = ["-1" if config.partition_column or config.partition_size == 0 else "COUNT(*)"]
            # MariaDB/MySQL send a FLOAT with 6 significant digits: its exact value comes as a DOUBLE
            selects += [f"CAST(MAX({c}) AS DOUBLE) {c}" if dialect == "mysql"
                        and kinds.get(state_key(config.table, c)) == "float" else f"MAX({c}) {c}"
                        for c in config.max_columns]
            if config.partition_column:
                selects += [f"MAX({config.partition_column}) {config.partition_column}",
                            f"MIN({config.partition_column}) MIN_{config.partition_column}"]
            where = " AND ".join(conditions + ([f"({config.where})"] if config.where else []))
            query = select_statement(db_type, config.table, ", ".join(selects), where or None, None, None, None)
            with conn.cursor() as cursor:
                if config.timeout > 0:
                    set_query_timeout(cursor, dialect, config.timeout)
                try:
                    context.logger.debug(f"executing {query}")
                    cursor.execute(query)
                    columns = describe(cursor, conn, dialect, {})
                    row = cursor.fetchone()
                    cursor.fetchall()
                finally:
                    if config.timeout > 0:
                        set_query_timeout(cursor, dialect, 0)
            if row is None:
                raise ValueError(f"no rows returned from the counting query: {query}")
            count = int(row[0])
            maxima.tracker(columns[:1 + len(config.max_columns)], database_max=True)(
                tuple(row[:1 + len(config.max_columns)]))
            low = high = None
            if config.partition_column:
                high_value, low_value = row[1 + len(config.max_columns)], row[2 + len(config.max_columns)]
                high = None if high_value is None else int(str(high_value))
                low = None if low_value is None else int(str(low_value))
        except Exception as exc:
            raise _QueryFailed(query, exc) from exc
        bounds = maxima.conditions(config.max_columns, db_type, dialect, upper=True)
        return maxima, conditions + ([f"({config.where})"] if config.where else []) + bounds, count, low, high

    def _emit(self, context: ProcessContext, session: ProcessSession, ff: FlowFile | None, config: _Config,
              maxima: MaxValues, where: list[str], count: int, low: int | None, high: int | None) -> None:
        db_type = context.property(DB_TYPE).as_str()
        size = config.partition_size
        if config.partition_column:
            span = 0 if high is None or low is None else high - low + 1
            fetches = 1 if size == 0 else span // size + (1 if span % size else 0)
        else:
            fetches = 1 if size == 0 else count // size + (1 if count % size else 0)
        base = {PREFIX + "tableName": config.table, "fragment.identifier": str(uuid.uuid4()),
                "fragment.count": str(fetches)}
        if config.columns is not None:
            base[PREFIX + "columnNames"] = config.columns
        max_names = ", ".join(config.max_columns)
        if max_names:
            base[PREFIX + "maxColumnNames"] = max_names
        created: list[FlowFile] = []
        if fetches == 0:
            if context.property(OUTPUT_EMPTY).as_bool():
                empty = session.create(ff) if ff is not None else session.create()
                created.append(session.put_attributes(empty, {
                    **base, PREFIX + "whereClause": " AND ".join(where) or "1=1", "fragment.index": "0"}))
        else:
            limit: int | None = size or None
            order_by = None if size == 0 else (max_names or config.order_by)
            clauses = list(where)
            for i in range(fetches):
                partition_column = config.partition_column
                if i == fetches - 1 and partition_column and (not clauses or config.where):
                    clauses.append(f"{partition_column} <= {high}")
                    limit = None
                where_clause = " AND ".join(clauses) or "1=1"
                offset = None if size == 0 else i * size + (low or 0 if partition_column else 0)
                try:
                    sql = select_statement(db_type, config.table, config.columns, where_clause, order_by, limit,
                                           offset, partition_column)
                except ValueError as exc:
                    for made in created:
                        session.remove(made)
                    self._fail(context, session, ff, str(exc), "")
                    return
                out = session.create(ff) if ff is not None else session.create()
                out = session.write(out, sql.encode("utf-8"))
                attributes = {**base, PREFIX + "whereClause": where_clause, "fragment.index": str(i)}
                if limit is not None:
                    attributes[PREFIX + "limit"] = str(limit)
                if size != 0:
                    attributes[PREFIX + "offset"] = str(offset)
                created.append(session.put_attributes(out, attributes))
        session.transfer_all(created, SUCCESS)
        if ff is not None:
            session.remove(ff)

    def _fail(self, context: ProcessContext, session: ProcessSession, ff: FlowFile | None, message: str,
              query: str) -> None:
        message = message if len(message) <= 1000 else message[:1000] + "..."
        what = f"the SQL select query [{query[:300]}]" if query else "the table fetch"
        if ff is not None:
            context.logger.error(f"unable to run {what} for {ff!r}: {message}; routing to failure")
            failed = session.put_attribute(ff, PREFIX + "sql.error", message)
            session.transfer(session.penalize(failed), FAILURE)
            return
        context.logger.error(f"unable to run {what}: {message}; yielding")
        context.yield_()
