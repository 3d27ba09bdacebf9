"""Table metadata as the database reports it: ``read_table`` gives a ``TableInfo``
(columns with their types, nullability and defaults, primary keys) or raises
``TableNotFound``. ``put_database_record`` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# -- table metadata ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """One column of a table: name, kind (int long float decimal boolean date time timestamp bytes json string
    array other), database type name, whether it may be null, whether it is required (no default, not
    generated, not null)."""

    name: str
    kind: str
    type_name: str
    nullable: bool
    required: bool


@dataclass(frozen=True, slots=True)
class TableInfo:
    """A table's schema name, name, columns (in order) and primary key columns, as the database names them;
    ``catalog``: the connection's database when a Database Name was given on PostgreSQL."""

    schema: str
    name: str
    columns: tuple[ColumnInfo, ...]
    primary_keys: tuple[str, ...]
    catalog: str | None = None


class TableNotFound(LookupError):
    """The table does not exist (or has no columns the user can see)."""


_KINDS = {
    "smallint": "int", "integer": "int", "int": "int", "tinyint": "int", "mediumint": "int", "bigint": "long",
    "year": "int", "serial": "int", "bigserial": "long", "real": "float", "double precision": "float",
    "float": "float", "double": "float", "numeric": "decimal", "decimal": "decimal", "money": "string",
    "boolean": "boolean", "bit": "boolean", "date": "date", "time without time zone": "time",
    "time with time zone": "time", "time": "time", "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamp", "timestamp": "timestamp", "datetime": "timestamp", "bytea": "bytes",
    "blob": "bytes", "tinyblob": "bytes", "mediumblob": "bytes", "longblob": "bytes", "binary": "bytes",
    "varbinary": "bytes", "json": "json", "jsonb": "json", "ARRAY": "array",
}


def _kind(type_name: str) -> str:
    return _KINDS.get(type_name, _KINDS.get(type_name.lower(), "string"))


def read_table(conn: Any, dialect: str, catalog: str | None, schema: str | None, table: str) -> TableInfo:
    """The columns and primary key of ``table`` (exact name first, then any case). Raises ``TableNotFound``,
    also when ``catalog`` on PostgreSQL is not the connection's database (it cannot write to another one)."""
    with conn.cursor() as cur:
        found_catalog = None
        if dialect == "postgresql" and catalog:
            cur.execute("SELECT current_database()")
            found_catalog = str(cur.fetchone()[0])
            if catalog.lower() != found_catalog.lower():
                raise TableNotFound(f"Database Name {catalog!r} is not the database of the connection "
                                    f"({found_catalog!r}): PostgreSQL writes only to the database it is connected to")
        if dialect == "postgresql":
            where_schema = "c.table_schema = %s" if schema else "c.table_schema = current_schema()"
            params: list[Any] = [schema] if schema else []
            sql = ("SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.is_nullable, "
                   "c.column_default, c.is_identity, c.is_generated FROM information_schema.columns c WHERE "
                   f"{where_schema} AND c.table_name {{}} ORDER BY c.ordinal_position")
        else:
            where_schema = "c.table_schema = %s" if (catalog or schema) else "c.table_schema = DATABASE()"
            params = [catalog or schema] if (catalog or schema) else []
            sql = ("SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.is_nullable, "
                   "c.column_default, c.extra, c.column_key FROM information_schema.columns c WHERE "
                   f"{where_schema} AND c.table_name {{}} ORDER BY c.ordinal_position")
        cur.execute(sql.format("= %s"), (*params, table))
        rows = cur.fetchall()
        if not rows:
            cur.execute(sql.format("IN (SELECT t.table_name FROM information_schema.tables t WHERE "
                                   "LOWER(t.table_name) = LOWER(%s))"), (*params, table))
            rows = cur.fetchall()
            names = {r[1] for r in rows}
            if len(names) > 1:  # several tables differ only by case: none is meant more than another
                rows = []
        if not rows:
            where = f"{catalog or schema}." if (catalog or schema) else ""
            raise TableNotFound(f"table '{where}{table}' not found (or it has no columns this user can see)")
        table_schema, table_name = rows[0][0], rows[0][1]
        columns = []
        keys: list[str] = []
        for row in rows:
            name, type_name, nullable_text, default = row[2], row[3], row[4], row[5]
            nullable = str(nullable_text).upper() == "YES"
            if dialect == "postgresql":
                generated = row[6] == "YES" or (row[7] not in (None, "NEVER"))
            else:
                generated = "auto_increment" in str(row[6]).lower() or "generated" in str(row[6]).lower()
                if row[7] == "PRI":
                    keys.append(name)
            has_default = default is not None and str(default).upper() != "NULL"
            columns.append(ColumnInfo(name, _kind(str(type_name)), str(type_name), nullable,
                                      not nullable and not has_default and not generated))
        if dialect == "postgresql":
            cur.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
                "a.attnum = ANY(i.indkey) WHERE i.indrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass "
                "AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)", (table_schema, table_name))
            keys = [r[0] for r in cur.fetchall()]
    return TableInfo(table_schema, table_name, tuple(columns), tuple(keys), found_catalog)
