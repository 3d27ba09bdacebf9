"""ListDatabaseTables: list the tables of a database (one FlowFile per table, or records), each once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flowyard.processors._db_common import connection_pool_property
from flowyard.processors._record_services import RECORD_SET_WRITER_FACTORY, RecordSetWriterFactory
from flowyard.processors._records import RecordField, RecordFieldType, RecordSchema
from flowyard.processors.dbcp_connection_pool import DBCPService
from flowyard.processors.put_database_record import quote_identifier
from flowyard.runtime.sdk import (
    AllowableValue,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = ["ListDatabaseTables"]

SUCCESS = Relationship("success", "A FlowFile per table listed (or one FlowFile of records with a Record Writer).")

DBCP = connection_pool_property("list-db-tables-db-connection")
CATALOG = PropertySpec(
    key="list-db-tables-catalog", display_name="Catalog",
    description="The catalog of the tables: for MariaDB/MySQL the database (unset: the connection's); "
                "PostgreSQL has one catalog per connection and ignores it.",
)
SCHEMA_PATTERN = PropertySpec(
    key="list-db-tables-schema-pattern", display_name="Schema Pattern",
    description="A SQL LIKE pattern (% and _) the schema must match (PostgreSQL); unset: any schema.",
)
TABLE_PATTERN = PropertySpec(
    key="list-db-tables-name-pattern", display_name="Table Name Pattern",
    description="A SQL LIKE pattern (% and _) the table name must match; unset: any table.",
)
TABLE_TYPES = PropertySpec(
    key="list-db-tables-types", display_name="Table Types",
    description="Comma-separated JDBC table types to list (TABLE, VIEW, SYSTEM TABLE, MATERIALIZED VIEW, ...); "
                "unset: every type.", default="TABLE",
)
INCLUDE_COUNT = PropertySpec(
    key="list-db-include-count", display_name="Include Count",
    description="Whether to count each table's rows (db.table.count); this can be slow on large tables.",
    required=True, default="false", allowed_values=(AllowableValue("true"), AllowableValue("false")),
)
RECORD_WRITER = PropertySpec(
    key="record-writer", display_name="Record Writer",
    description="When set, the tables are written as records (name, catalog, schemaName, fullName, type, remarks, "
                "rowCount) in one FlowFile instead of a FlowFile per table.",
    identifies_controller_service=RECORD_SET_WRITER_FACTORY,
)
REFRESH_INTERVAL = PropertySpec(
    key="list-db-refresh-interval", display_name="Refresh Interval",
    description="How long after a table was listed it is listed again; 0 lists each table only once.",
    required=True, default="0 sec", validator=validators.TIME_PERIOD,
)

NAME, TABLE_CATALOG, TABLE_SCHEMA, FULLNAME, TYPE, REMARKS, COUNT = (
    "db.table.name", "db.table.catalog", "db.table.schema", "db.table.fullname", "db.table.type", "db.table.remarks",
    "db.table.count")

_STRING = RecordFieldType.STRING.data_type()
RECORD_SCHEMA = RecordSchema((
    RecordField("name", _STRING, nullable=False), RecordField("catalog", _STRING),
    RecordField("schemaName", _STRING), RecordField("fullName", _STRING, nullable=False),
    RecordField("type", _STRING, nullable=False), RecordField("remarks", _STRING, nullable=False),
    RecordField("rowCount", RecordFieldType.LONG.data_type(), nullable=False),
), name="TableListing")

_PG_TABLES = """
SELECT current_database(), n.nspname, c.relname,
  CASE
    WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema' OR n.nspname = 'pg_toast' THEN
      CASE c.relkind WHEN 'r' THEN 'SYSTEM TABLE' WHEN 'v' THEN 'SYSTEM VIEW' WHEN 'i' THEN 'SYSTEM INDEX'
                     WHEN 't' THEN 'SYSTEM TOAST TABLE' ELSE NULL END
    WHEN n.nspname LIKE 'pg\\_temp\\_%%' THEN
      CASE c.relkind WHEN 'r' THEN 'TEMPORARY TABLE' WHEN 'v' THEN 'TEMPORARY VIEW' WHEN 'S' THEN
                     'TEMPORARY SEQUENCE' ELSE NULL END
    ELSE
      CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW'
                     WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE'
                     WHEN 'i' THEN 'INDEX' WHEN 'I' THEN 'PARTITIONED INDEX' ELSE NULL END
  END AS table_type,
  COALESCE(d.description, '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_description d ON d.objoid = c.oid AND d.objsubid = 0 AND d.classoid = 'pg_class'::regclass
WHERE n.nspname LIKE %s AND c.relname LIKE %s
ORDER BY 4, 2, 3
"""

_MYSQL_TABLES = """
SELECT table_schema, NULL, table_name,
  CASE table_type WHEN 'BASE TABLE' THEN
    CASE WHEN table_schema IN ('mysql', 'performance_schema', 'sys') THEN 'SYSTEM TABLE' ELSE 'TABLE' END
  WHEN 'SYSTEM VERSIONED' THEN 'TABLE' WHEN 'TEMPORARY' THEN 'LOCAL TEMPORARY' ELSE table_type END,
  COALESCE(table_comment, '')
FROM information_schema.tables
WHERE table_schema = COALESCE(%s, DATABASE()) AND table_name LIKE %s
ORDER BY 4, 1, 3
"""


@dataclass(frozen=True, slots=True)
class _Table:
    catalog: str | None
    schema: str | None
    name: str
    type: str
    remarks: str

    @property
    def fullname(self) -> str:
        return ".".join(p for p in (self.catalog, self.schema, self.name) if p)


def _tables(conn: Any, dialect: str, catalog: str | None, schema_pattern: str | None, table_pattern: str | None,
            types: set[str] | None) -> list[_Table]:
    with conn.cursor() as cur:
        if dialect == "postgresql":
            cur.execute(_PG_TABLES, (schema_pattern or "%", table_pattern or "%"))
        else:
            cur.execute(_MYSQL_TABLES, (catalog or None, table_pattern or "%"))
        rows = cur.fetchall()
    return [_Table(r[0] or None, r[1] or None, r[2], r[3], r[4] or "") for r in rows
            if r[3] is not None and (types is None or r[3] in types)]


def _count(conn: Any, dialect: str, table: _Table) -> int:
    parts = [p for p in (table.catalog, table.schema, table.name) if p]
    name = ".".join(quote_identifier(p, dialect) for p in parts)
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(1) FROM {name}")
        row = cur.fetchone()
    return int(row[0]) if row else 0


class ListDatabaseTables(Processor):
    """Lists the tables of the database the DBCPService connects to, as
    JDBC's ``getTables`` does: Catalog (MariaDB/MySQL: the database, unset the
    connection's), Schema Pattern and Table Name Pattern (SQL LIKE patterns
    with ``%`` and ``_``), Table Types (comma-separated JDBC types: TABLE,
    VIEW, SYSTEM TABLE, MATERIALIZED VIEW, PARTITIONED TABLE, FOREIGN TABLE,
    ...; empty lists every type). Each table becomes an empty FlowFile with
    ``db.table.name`` / ``catalog`` / ``schema`` / ``fullname`` (the non-empty
    parts joined by dots) / ``type`` / ``remarks`` and, with Include Count,
    ``db.table.count`` (``SELECT COUNT(1)``); with a Record Writer all of them
    go in one FlowFile of records (name, catalog, schemaName, fullName, type,
    remarks, rowCount) with ``record.count`` and ``mime.type``.

    A table is listed once: its full name and the time it was listed are
    kept in the processor's state; with a Refresh Interval it is listed again
    once that much time has passed. The state moves forward in the same
    commit as the FlowFiles. When the database cannot be reached or a count
    fails, nothing is sent, the state is kept and the processor yields. In a
    cluster the state is the cluster's (``state_scope``).

    Differences from NiFi: flowyard reads the catalog (``pg_class``,
    ``information_schema.tables``) instead of a JDBC driver's getTables:
    PostgreSQL's catalog is the connected database (the Catalog property is
    ignored, as pgjdbc does), MariaDB/MySQL have no schemas (the Schema
    Pattern is ignored). The table name in the count query is quoted. A
    stored listing time that is not a number is reported and the table listed
    again.
    """

    spec = ProcessorSpec(
        description="Lists the tables of a database, each once (or again after a refresh interval), as FlowFiles "
                    "with db.table.* attributes or as records.",
        tags=("sql", "list", "jdbc", "table", "database"),
        properties=(DBCP, CATALOG, SCHEMA_PATTERN, TABLE_PATTERN, TABLE_TYPES, INCLUDE_COUNT, RECORD_WRITER,
                    REFRESH_INTERVAL),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        stateful=True,
        writes_attributes=(
            (NAME, "The name of the table."),
            (TABLE_CATALOG, "The catalog of the table (MariaDB/MySQL: its database), if any."),
            (TABLE_SCHEMA, "The schema of the table, if any."),
            (FULLNAME, "catalog.schema.table (the parts there are)."),
            (TYPE, "The JDBC table type (TABLE, VIEW, ...)."),
            (REMARKS, "The table's comment."),
            (COUNT, "The number of rows (with Include Count)."),
            ("record.count", "The number of tables listed (with a Record Writer)."),
            ("mime.type", "The Record Writer's MIME type (with a Record Writer)."),
        ),
    )

    def state_scope(self, context: ProcessContext) -> str:
        """CLUSTER: what was listed is the same for every node (as NiFi's)."""
        return "CLUSTER"

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """List the tables not listed yet (or due for a refresh)."""
        prop = context.property
        types_text = prop(TABLE_TYPES).raw
        types = {t.strip().upper() for t in types_text.split(",") if t.strip()} if types_text else None
        refresh_ms = int(prop(REFRESH_INTERVAL).as_duration() * 1000)
        include_count = prop(INCLUDE_COUNT).as_bool()
        state = session.get_state()
        values = dict(state)
        now = context.now_ms()
        pool = prop(DBCP).as_controller_service(DBCPService)
        listed: list[tuple[_Table, int | None]] = []
        try:
            with pool.get_connection() as conn:
                tables = _tables(conn, pool.dialect, prop(CATALOG).raw or None, prop(SCHEMA_PATTERN).raw or None,
                                 prop(TABLE_PATTERN).raw or None, types if types else None)
                for table in tables:
                    if not self._due(context, values.get(table.fullname), refresh_ms, now, table.fullname):
                        continue
                    count = _count(conn, pool.dialect, table) if include_count else None
                    listed.append((table, count))
                    values[table.fullname] = str(now)
        except Exception as exc:  # nothing is sent; the state is kept
            message = str(exc).strip() or type(exc).__name__
            context.logger.error(f"unable to list the tables of {pool.connection_url or 'the database'}: "
                                 f"{message[:1000]}; yielding")
            context.yield_()
            return
        if not listed:
            return
        url = pool.connection_url
        if prop(RECORD_WRITER).value:
            if not self._write_records(context, session, listed, url):
                return
        else:
            for table, count in listed:
                ff = session.create()
                attributes = {NAME: table.name, FULLNAME: table.fullname, TYPE: table.type, REMARKS: table.remarks}
                if table.catalog:
                    attributes[TABLE_CATALOG] = table.catalog
                if table.schema:
                    attributes[TABLE_SCHEMA] = table.schema
                if count is not None:
                    attributes[COUNT] = str(count)
                ff = session.put_attributes(ff, attributes)
                session.provenance.receive(ff, f"{url}/{table.fullname}" if url else table.fullname)
                session.transfer(ff, SUCCESS)
        session.set_state(values)

    @staticmethod
    def _due(context: ProcessContext, stored: str | None, refresh_ms: int, now: int, fullname: str) -> bool:
        if not stored:
            return True
        try:
            last = int(stored)
        except ValueError:
            context.logger.warning(f"the stored listing time of table {fullname!r} is {stored[:40]!r}, not a "
                                   "number of milliseconds; listing the table again")
            return True
        return refresh_ms > 0 and now >= last + refresh_ms

    def _write_records(self, context: ProcessContext, session: ProcessSession,
                       listed: list[tuple[_Table, int | None]], url: str) -> bool:
        factory = context.property(RECORD_WRITER).as_controller_service(RecordSetWriterFactory)

        def records() -> Iterator[dict[str, Any]]:
            for table, count in listed:
                yield {"name": table.name, "catalog": table.catalog, "schemaName": table.schema,
                       "fullName": table.fullname, "type": table.type, "remarks": table.remarks,
                       "rowCount": count if count is not None else 0}

        ff: FlowFile = session.create()
        try:
            writer = factory.create_writer(factory.get_schema({}, RECORD_SCHEMA), {})
            ff = session.write(ff, writer.write(records()))
        except (ValueError, OSError) as exc:
            session.remove(ff)
            context.logger.error(f"unable to write the table listing: {exc}; yielding")
            context.yield_()
            return False
        ff = session.put_attributes(ff, {**writer.attributes(), "record.count": str(writer.record_count),
                                         "mime.type": writer.mime_type})
        session.provenance.receive(ff, url or "database")
        session.transfer(ff, SUCCESS)
        return True
