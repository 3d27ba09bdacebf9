"""PutDatabaseRecord: write the records of a FlowFile to a database table (INSERT, UPDATE, UPSERT, DELETE, ...)
in one transaction, with batched statements.

The table metadata (columns, types, keys; ``_db_tables``) and the Database Type property shared
by the other database processors (``_db_type``) are re-exported here. The processor's properties
are in ``_put_database_record_props`` and its SQL generation in ``_put_database_record_sql``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from flowyard.processors._db_drivers import get_autocommit, is_connection_problem, is_transient, set_autocommit
from flowyard.processors._db_tables import ColumnInfo, TableInfo, TableNotFound, read_table
from flowyard.processors._db_type import (
    DB_TYPE,
    DIALECT_SERVICE,
    MSSQL2008,
    MSSQL2012,
    MYSQL,
    ORACLE,
    ORACLE12,
    PHOENIX,
    POSTGRESQL,
    db_type_problem,
    db_type_property,
    dialect_service_property,
    quote_identifier,
    sql_dialect,
)
from flowyard.processors._put_database_record_props import (
    _KEYED,
    _STATEMENT_TYPES,
    ALLOW_MULTIPLE,
    AUTO_COMMIT,
    BINARY_FORMAT,
    CACHE_SIZE,
    CATALOG,
    DATA_RECORD_PATH,
    DBCP,
    DELETE,
    DELETE_KEYS,
    ERROR_ATTRIBUTE,
    FIELD_CONTAINING_SQL,
    INSERT_IGNORE,
    MAX_BATCH,
    POST_SQL,
    PRE_SQL,
    QUERY_TIMEOUT,
    QUOTE_COLUMNS,
    QUOTE_TABLE,
    RECORD_READER,
    ROLLBACK_ON_FAILURE,
    SCHEMA,
    SQL,
    STATEMENT_TYPE,
    STATEMENT_TYPE_RECORD_PATH,
    TABLE,
    TRANSLATE,
    TRANSLATION_PATTERN,
    TRANSLATION_STRATEGY,
    UNMATCHED_COLUMN,
    UNMATCHED_FIELD,
    UPDATE_KEYS,
    UPSERT,
    USE_ATTRIBUTE,
    USE_RECORD_PATH,
)
from flowyard.processors._put_database_record_sql import (
    _DataError,
    _Settings,
    _Statement,
    _TableWriter,
    _translator,
)
from flowyard.processors._record_services import RecordReaderFactory
from flowyard.processors._records import IllegalTypeConversion, RecordFieldType
from flowyard.processors._records._recordpath import RecordPath
from flowyard.processors.dbcp_connection_pool import DBCPService
from flowyard.processors.execute_sql import set_query_timeout, split_statements
from flowyard.runtime.sdk import (
    FlowFile,
    InputRequirement,
    ProcessContext,
    ProcessingError,
    Processor,
    ProcessorSpec,
    ProcessSession,
    Relationship,
    ValidationResult,
)

__all__ = ["DB_TYPE", "DIALECT_SERVICE", "MSSQL2008", "MSSQL2012", "ORACLE", "ORACLE12", "PHOENIX", "ColumnInfo",
           "PutDatabaseRecord", "TableInfo", "TableNotFound", "db_type_problem", "db_type_property",
           "dialect_service_property", "quote_identifier", "read_table", "sql_dialect"]


SUCCESS = Relationship("success", "FlowFiles whose records were all written and committed.")
FAILURE = Relationship("failure", "FlowFiles whose records the database refused, or that cannot be read or mapped "
                                  "to the table; nothing of them is written (with Database Session AutoCommit, "
                                  "statements that ran before the error stay committed). Penalized, with "
                                  "putdatabaserecord.error.")
RETRY = Relationship("retry", "FlowFiles that may succeed later (the database could not be reached, a deadlock, a "
                              "timeout); nothing of them is written (with Database Session AutoCommit, statements "
                              "that ran before the error stay committed).")


def _compiled_path(path: str, what: str) -> RecordPath:
    """``path`` as a RecordPath; raises ValueError naming ``what`` when it is not one."""
    try:
        return RecordPath.compile(path.strip())
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _first_value(record: dict[str, Any], path: RecordPath) -> Any:
    values = path.values(record)
    return values[0] if values else None


class _TableCache:
    """An LRU cache of table schemas shared by the processor's threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], TableInfo] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], load: Callable[[], TableInfo]) -> TableInfo:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        table = load()
        if self.size > 0:
            with self._lock:
                self._entries[key] = table
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return table


class PutDatabaseRecord(Processor):
    """Writes the records of each FlowFile (read with the Record Reader) to a
    table: INSERT, UPDATE (by Update Keys or the primary key), UPSERT
    (PostgreSQL ``ON CONFLICT ... DO UPDATE``, MySQL/MariaDB ``ON DUPLICATE KEY
    UPDATE``), INSERT_IGNORE (``ON CONFLICT (key) DO NOTHING`` / ``INSERT IGNORE``),
    DELETE (rows equal to every field, NULL matching NULL, or to the Delete
    Keys), or SQL (the statement in the Field Containing SQL). The type comes
    from Statement Type, the ``statement.type`` attribute or a field of each
    record (Use Record Path). The table's columns are read from the database
    (cached, Table Schema Cache Size); fields match columns by name, after
    Translate Field Names (upper case, Column Name Translation Strategy).
    Unmatched Field Behavior decides about fields without a column; Unmatched
    Column Behavior about required columns (NOT NULL without default) without
    a field. Values are converted to the column types; text for a binary column
    is decoded per Binary String Format.

    A Data Record Path leading to a record (or an array of records) writes
    that record (those records) of each record read.

    The table is found in the database before anything is written: Schema Name
    (and on MySQL/MariaDB Database Name, the database) must name an existing
    schema holding the table, and on PostgreSQL a Database Name must be the
    connection's database; the SQL names them as the database does, so an
    attribute cannot redirect the write. Without Quote Table Identifiers, a
    name that is not a plain SQL identifier goes to ``failure`` with the reason.

    Transactions: all records of a FlowFile are written in one transaction,
    in batches of Maximum Batch Size sent with ``executemany`` (psycopg's
    pipeline, PyMySQL's multi-row INSERT; plain PostgreSQL INSERTs as
    multi-row VALUES statements); Pre- and Post-Processing SQL run in the
    same transaction. Only when everything succeeded is it committed and the
    FlowFile sent to ``success``. On any error the transaction is rolled back
    — nothing of the FlowFile is written — and the FlowFile goes, with
    ``putdatabaserecord.error``, to ``retry`` (penalized, as NiFi does) when
    the error may pass (connection lost, deadlock, lock or statement timeout,
    no connection from the pool) or to ``failure`` otherwise. With Rollback
    On Failure the FlowFile stays in the input queue instead and the
    processor yields. With Database Session AutoCommit (which, as in NiFi,
    requires Maximum Batch Size 0: one batch) there is no transaction: each
    statement commits as it runs, as NiFi's JDBC connection in autocommit
    mode does, so a failure leaves the rows of the statements before it
    written (PostgreSQL plain INSERTs go as statements of up to 1000 rows;
    MariaDB/MySQL batches as multi-row INSERTs) and the log says so.

    Differences from NiFi: errors are classified by SQLSTATE/error code (a
    constraint violation goes to ``failure`` with PostgreSQL too, where
    NiFi's driver reports most errors as retryable). A Database Dialect Service is not
    supported; UPSERT and INSERT_IGNORE are generated for PostgreSQL and
    MySQL/MariaDB only (Database Type Phoenix is accepted and writes the
    connected database's syntax). Generic/Oracle/MS SQL Database Types
    generate standard SQL and quote identifiers as the connected database
    does. As in NiFi, a value that cannot be converted to its column's type is
    handed to the database as it is, to take or refuse.
    """

    spec = ProcessorSpec(
        description="Writes the records of a FlowFile to a database table with INSERT, UPDATE, UPSERT, DELETE or "
                    "SQL statements, all records of a FlowFile in one transaction.",
        tags=("sql", "record", "jdbc", "put", "database", "update", "insert", "delete", "upsert", "postgresql",
              "mysql"),
        properties=(RECORD_READER, DB_TYPE, DIALECT_SERVICE, STATEMENT_TYPE, STATEMENT_TYPE_RECORD_PATH,
                    DATA_RECORD_PATH, PRE_SQL, POST_SQL, DBCP, CATALOG, SCHEMA, TABLE, BINARY_FORMAT, TRANSLATE,
                    TRANSLATION_STRATEGY, TRANSLATION_PATTERN, UNMATCHED_FIELD, UNMATCHED_COLUMN, UPDATE_KEYS,
                    DELETE_KEYS, FIELD_CONTAINING_SQL, ALLOW_MULTIPLE, QUOTE_COLUMNS, QUOTE_TABLE, QUERY_TIMEOUT,
                    ROLLBACK_ON_FAILURE, CACHE_SIZE, MAX_BATCH, AUTO_COMMIT),
        relationships=(SUCCESS, FAILURE, RETRY),
        input_requirement=InputRequirement.REQUIRED,
        reads_attributes=(("statement.type", "The statement type with 'Use statement.type Attribute': INSERT, "
                                             "UPDATE, UPSERT, INSERT_IGNORE, DELETE or SQL."),),
        writes_attributes=((ERROR_ATTRIBUTE, "Why the records were not written (failure and retry)."),),
    )

    def __init__(self) -> None:
        self._cache = _TableCache(100)

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """NiFi's checks: the statement type fits the Database Type; autocommit excludes Rollback On Failure;
        record paths are ones flowyard takes."""
        results: list[ValidationResult] = []
        db_type = context.property(DB_TYPE).as_str()
        problem = db_type_problem(db_type)
        if problem is not None:
            results.append(problem)
        statement_type = context.property(STATEMENT_TYPE).raw
        if statement_type in (UPSERT, INSERT_IGNORE) and db_type not in (MYSQL, POSTGRESQL, PHOENIX):
            results.append(ValidationResult(STATEMENT_TYPE.display_name,
                                            f"{statement_type} is not supported with Database Type {db_type}: "
                                            "choose MySQL or PostgreSQL", STATEMENT_TYPE.key))
        if context.property(AUTO_COMMIT).as_bool() and context.property(ROLLBACK_ON_FAILURE).as_bool():
            results.append(ValidationResult(ROLLBACK_ON_FAILURE.display_name,
                                            "'Rollback On Failure' cannot be true while 'Database Session "
                                            "AutoCommit' is true: autocommit leaves no transaction to roll back",
                                            ROLLBACK_ON_FAILURE.key))
        if context.property(AUTO_COMMIT).as_bool() and (context.property(MAX_BATCH).raw or "").strip() != "0":
            results.append(ValidationResult(MAX_BATCH.display_name,
                                            "'Maximum Batch Size' must be hard-coded to zero when 'Database Session "
                                            "AutoCommit' is true (as in NiFi): all the FlowFile's records go in one "
                                            "batch; its statements still commit as they run", MAX_BATCH.key))
        for spec in (DATA_RECORD_PATH, STATEMENT_TYPE_RECORD_PATH):
            value = context.property(spec).raw
            if value and (spec is DATA_RECORD_PATH or statement_type == USE_RECORD_PATH):
                try:
                    _compiled_path(value, spec.display_name)
                except ValueError as exc:
                    results.append(ValidationResult(spec.display_name, str(exc), spec.key))
        return results

    def on_scheduled(self, context: ProcessContext) -> None:
        """A fresh table schema cache."""
        self._cache = _TableCache(context.property(CACHE_SIZE).as_int())

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Write the records of one FlowFile."""
        ff = session.get()
        if ff is None:
            return
        pool = context.property(DBCP).as_controller_service(DBCPService)
        try:
            settings = self._settings(context, ff)
        except ValueError as exc:
            raise ProcessingError(f"cannot evaluate the properties of PutDatabaseRecord for {ff!r}: {exc}") from exc
        _Write(self, context, session, ff, settings, pool).run()

    def _settings(self, context: ProcessContext, ff: FlowFile) -> _Settings:
        a = ff.attributes
        prop = context.property
        statement_type = prop(STATEMENT_TYPE).as_str()
        keyed = statement_type in _KEYED
        deletes = statement_type in (DELETE, SQL, USE_ATTRIBUTE, USE_RECORD_PATH)
        sql_capable = statement_type in (USE_ATTRIBUTE, USE_RECORD_PATH)
        return _Settings(
            catalog=prop(CATALOG).evaluate(a).value or None, schema=prop(SCHEMA).evaluate(a).value or None,
            table=prop(TABLE).evaluate(a).as_str().strip(), binary_format=prop(BINARY_FORMAT).evaluate(a).as_str(),
            unmatched_field=prop(UNMATCHED_FIELD).as_str(), unmatched_column=prop(UNMATCHED_COLUMN).as_str(),
            update_keys=(prop(UPDATE_KEYS).evaluate(a).value or None) if keyed else None,
            delete_keys=(prop(DELETE_KEYS).evaluate(a).value or None) if deletes else None,
            quote_columns=prop(QUOTE_COLUMNS).as_bool(), quote_table=prop(QUOTE_TABLE).as_bool(),
            max_batch=prop(MAX_BATCH).evaluate(a).as_int(),
            sql_field=(prop(FIELD_CONTAINING_SQL).evaluate(a).value or None) if sql_capable else None,
            allow_multiple=prop(ALLOW_MULTIPLE).as_bool() if sql_capable else False,
        )


class _Write:
    """One FlowFile's write: its transaction and what becomes of the FlowFile."""

    def __init__(self, processor: PutDatabaseRecord, context: ProcessContext, session: ProcessSession,
                 ff: FlowFile, settings: _Settings, pool: DBCPService) -> None:
        self.processor, self.context, self.session, self.ff = processor, context, session, ff
        self.settings, self.pool = settings, pool
        self.count = 0

    def run(self) -> None:
        context, ff = self.context, self.ff
        used: Any = None
        try:
            with self.pool.get_connection() as conn:
                used = conn
                self._write(conn)
        except (_DataError, ValueError, RecursionError) as exc:
            self._fail(exc, transient=False)
            return
        except Exception as exc:
            transient = isinstance(exc, (ConnectionError, OSError)) or is_connection_problem(exc, used) \
                or is_transient(exc, used)
            self._fail(exc, transient=transient)
            return
        details = f"Inserted {self.count} records" if self.count else None
        self.session.provenance.send(ff, self.pool.connection_url, details)
        self.session.transfer(ff, SUCCESS)
        context.logger.debug(f"wrote {self.count} records of {ff!r}")

    def _fail(self, exc: BaseException, *, transient: bool) -> None:
        context, session, ff = self.context, self.session, self.ff
        message = str(exc).strip() or type(exc).__name__
        if isinstance(exc, RecursionError):
            message = "the records are nested too deeply"
        message = message if len(message) <= 2000 else message[:2000] + "..."
        if context.property(ROLLBACK_ON_FAILURE).as_bool():
            context.logger.error(f"failed to write the records of {ff!r}: {message}; rolled back, the FlowFile "
                                 "stays in the input queue")
            session.rollback()
            context.yield_()
            return
        where = RETRY if transient else FAILURE
        if context.property(AUTO_COMMIT).as_bool():
            written = ("Database Session AutoCommit is true: the statements that ran before the error stay "
                       "committed, so some records may have been written")
        else:
            written = "rolled back, nothing was written"
        context.logger.error(f"failed to write the records of {ff!r}: {message}; {written}; routing to {where.name}")
        failed = session.put_attribute(ff, ERROR_ATTRIBUTE, message)
        if transient:
            failed = session.penalize(failed)  # NiFi penalizes what it retries
        session.transfer(failed, where)

    def _statement_kind(self) -> str | None:
        """The FlowFile's statement type, or None when each record names its own."""
        configured = self.context.property(STATEMENT_TYPE).as_str()
        if configured == USE_RECORD_PATH:
            return None
        if configured == USE_ATTRIBUTE:
            value = self.ff.attributes.get("statement.type")
            if not value or not value.strip():
                raise _DataError("the statement.type attribute is missing (Statement Type is 'Use statement.type "
                                 "Attribute')")
            return _checked_kind(value)
        return configured

    def _write(self, conn: Any) -> None:
        context, session, ff = self.context, self.session, self.ff
        attributes = ff.attributes
        kind = self._statement_kind()
        data_path = _compiled_path(context.property(DATA_RECORD_PATH).raw or "", "Data Record Path") \
            if context.property(DATA_RECORD_PATH).raw else None
        type_path = _compiled_path(context.property(STATEMENT_TYPE_RECORD_PATH).as_str(), "Statement Type Record "
                                   "Path") if kind is None else None
        reader_factory = context.property(RECORD_READER).as_controller_service(RecordReaderFactory)
        reader = reader_factory.create_reader(attributes, lambda: session.read(ff))
        dialect = sql_dialect(context.property(DB_TYPE).as_str(), self.pool.dialect)
        autocommit = context.property(AUTO_COMMIT).as_bool()
        if get_autocommit(conn) != autocommit:
            set_autocommit(conn, autocommit)
        timeout = int(context.property(QUERY_TIMEOUT).evaluate().as_duration())
        pre = split_statements(context.property(PRE_SQL).evaluate(attributes).value)
        post = split_statements(context.property(POST_SQL).evaluate(attributes).value)
        try:
            with conn.cursor() as cur:
                if timeout > 0:
                    set_query_timeout(cur, self.pool.dialect, timeout)
                for statement in pre:
                    cur.execute(statement)
                self._write_records(cur, conn, reader, kind, data_path, type_path, dialect)
                for statement in post:
                    cur.execute(statement)
            if not autocommit:
                conn.commit()
        except BaseException:
            _rollback_quietly(conn)
            raise
        # the pool resets the statement timeout when the connection is given back (outside any transaction)

    def _table(self, conn: Any) -> TableInfo:
        s = self.settings
        key = (self.pool.connection_url, s.catalog, s.schema, s.table)
        dialect = self.pool.dialect

        def load() -> TableInfo:
            try:
                return read_table(conn, dialect, s.catalog, s.schema, s.table)
            except TableNotFound as exc:
                raise _DataError(str(exc)) from None
        return self.processor._cache.get(key, load)

    def _fields(self, reader: Any, data_path: RecordPath | None, record: dict[str, Any],
                first: Mapping[str, Any] | None) -> list[str]:
        """The field names of the records written: the reader's, or those of the record type the
        Data Record Path leads to (an array's elements), else the first record's keys."""
        schema = reader.schema
        if data_path is not None:
            selected = data_path.evaluate(record, schema).fields
            data_type = selected[0].data_type if selected else None
            if data_type is not None and data_type.field_type is RecordFieldType.ARRAY:
                data_type = data_type.element
            schema = data_type.schema if data_type is not None and data_type.field_type is RecordFieldType.RECORD \
                else None
            if schema is None:
                return list(first.keys()) if isinstance(first, Mapping) else []
        return schema.field_names if schema is not None else []

    def _write_records(self, cur: Any, conn: Any, reader: Any, kind: str | None, data_path: RecordPath | None,
                       type_path: RecordPath | None, dialect: str) -> None:
        settings, context = self.settings, self.context
        db_type = context.property(DB_TYPE).as_str()
        records: Iterator[dict[str, Any]] = iter(reader)
        writer: _TableWriter | None = None
        checked: set[str] = set()
        batch_statement: _Statement | None = None
        batch: list[tuple[Any, ...]] = []
        limit = settings.max_batch

        def flush() -> None:
            nonlocal batch
            if batch and batch_statement is not None:
                batch_statement.run(cur, batch)
            batch = []

        for index, record in enumerate(records):
            record_kind = kind if kind is not None else _checked_kind(
                _first_value(record, type_path) if type_path is not None else None, index)
            for data in _data_records(record, data_path, index):
                if record_kind == SQL:
                    flush()
                    self._run_sql(cur, data, index)
                    self.count += 1
                    continue
                if writer is None:
                    table = self._table(conn)
                    writer = _TableWriter(table, dialect, db_type, self._fields(reader, data_path, record, data),
                                          _translator(context), settings)
                    if writer.unmatched_fields:
                        context.logger.debug(f"fields without a column, left out: {writer.unmatched_fields}")
                if record_kind not in checked:
                    writer.check_required(context, self.ff, record_kind)
                    checked.add(record_kind)
                statement = writer.statement(record_kind)
                if statement is not batch_statement:
                    flush()
                    batch_statement = statement
                try:
                    batch.append(statement.extract(data))
                except (IllegalTypeConversion, ValueError, ArithmeticError) as exc:
                    raise _DataError(f"record {index}: {exc}") from None
                self.count += 1
                if limit > 0 and len(batch) >= limit:
                    flush()
        flush()

    def _run_sql(self, cur: Any, data: Any, index: int) -> None:
        field = self.settings.sql_field
        if not field:
            raise _DataError("the statement type is SQL but Field Containing SQL is not set")
        sql = data.get(field) if isinstance(data, Mapping) else None
        if not isinstance(sql, str) or not sql.strip():
            raise _DataError(f"record {index}: the field '{field}' holds no SQL statement")
        statements = split_statements(sql) if self.settings.allow_multiple else [sql]
        for statement in statements:
            cur.execute(statement)


def _data_records(record: dict[str, Any], path: RecordPath | None, index: int) -> list[Mapping[str, Any]]:
    """The records to write for one record read: itself, or what the Data Record Path leads to
    (records, or the elements of arrays of records)."""
    if path is None:
        return [record]
    try:
        found = [value for value in path.values(record) if value is not None]
    except ValueError as exc:
        raise _DataError(f"record {index}: {exc}") from None
    if not found:
        raise _DataError(f"record {index}: the Data Record Path {path.text} yielded no results")
    values = [element for value in found for element in (value if isinstance(value, list) else [value])]
    if not all(isinstance(v, Mapping) for v in values):
        raise _DataError(f"record {index}: the Data Record Path {path.text} leads to something other than "
                         "records")
    return values


def _checked_kind(value: Any, index: int | None = None) -> str:
    text = str(value).strip().upper() if value is not None else ""
    if text not in _STATEMENT_TYPES:
        where = f"record {index}: " if index is not None else ""
        raise _DataError(f"{where}the statement type {value!r} is none of {', '.join(_STATEMENT_TYPES)}")
    return text


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception:  # a broken connection: the pool closes it, the server forgets the session
        pass


def _rollback_quietly(conn: Any) -> None:
    _quietly(lambda: None if get_autocommit(conn) else conn.rollback())

