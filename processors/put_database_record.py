"""PutDatabaseRecord: write the records of a FlowFile to a database table (INSERT, UPDATE, UPSERT, DELETE, ...)
in one transaction, with batched statements.

Also the table metadata (columns, types, keys) and the Database Type property shared by the other
database processors.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowyard.processors._db_common import connection_pool_property
from flowyard.processors._db_drivers import get_autocommit, is_connection_problem, is_transient, set_autocommit
from flowyard.processors._record_services import RECORD_READER_FACTORY, RecordReaderFactory
from flowyard.processors._records import DataType, IllegalTypeConversion, RecordFieldType, coerce
from flowyard.processors._records._recordpath import RecordPath
from flowyard.processors.dbcp_connection_pool import DBCPService
from flowyard.processors.execute_sql import set_query_timeout, split_statements
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
    PropertyDependency,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["DB_TYPE", "DIALECT_SERVICE", "ColumnInfo", "PutDatabaseRecord", "TableInfo", "TableNotFound",
           "quote_identifier", "read_table", "sql_dialect"]

_FF = ExpressionScope.FLOWFILE_ATTRIBUTES
_ENV = ExpressionScope.ENVIRONMENT
_BOOL = (AllowableValue("true"), AllowableValue("false"))

SUCCESS = Relationship("success", "FlowFiles whose records were all written and committed.")
FAILURE = Relationship("failure", "FlowFiles whose records the database refused, or that cannot be read or mapped "
                                  "to the table; nothing of them is written (with Database Session AutoCommit, "
                                  "statements that ran before the error stay committed). Penalized, with "
                                  "putdatabaserecord.error.")
RETRY = Relationship("retry", "FlowFiles that may succeed later (the database could not be reached, a deadlock, a "
                              "timeout); nothing of them is written (with Database Session AutoCommit, statements "
                              "that ran before the error stay committed).")

# -- Database Type (shared by the database processors) --------------------------------------------------

GENERIC, ORACLE, ORACLE12, MSSQL2012, MSSQL2008, MYSQL, POSTGRESQL, PHOENIX = (
    "Generic", "Oracle", "Oracle 12+", "MS SQL 2012+", "MS SQL 2008", "MySQL", "PostgreSQL", "Phoenix")
DIALECT_SERVICE_VALUE = "Database Dialect Service"
DB_TYPE_VALUES = tuple(AllowableValue(v, v, d) for v, d in (
    (DIALECT_SERVICE_VALUE, "A Database Dialect Service generates the SQL (not supported by flowyard)."),
    (GENERIC, "Standard SQL: LIMIT/OFFSET paging, no UPSERT."),
    (ORACLE, "Oracle before 12: ROWNUM paging."),
    (ORACLE12, "Oracle 12 and later: OFFSET/FETCH paging."),
    (MSSQL2012, "SQL Server 2012 and later: OFFSET/FETCH paging."),
    (MSSQL2008, "SQL Server 2008: TOP/ROW_NUMBER paging."),
    (MYSQL, "MySQL and MariaDB: LIMIT paging, ON DUPLICATE KEY UPDATE, INSERT IGNORE."),
    (POSTGRESQL, "PostgreSQL: LIMIT/OFFSET paging, ON CONFLICT."),
    (PHOENIX, "Apache Phoenix: LIMIT/OFFSET paging, UPSERT."),
))


def db_type_property(key: str) -> PropertySpec:
    """NiFi's Database Type property under ``key``."""
    return PropertySpec(
        key=key, display_name="Database Type",
        description="The kind of database, which decides the SQL generated (paging, upserts).", required=True,
        default=GENERIC, allowed_values=DB_TYPE_VALUES,
    )


def dialect_service_property(db_type_key: str) -> PropertySpec:
    """NiFi's Database Dialect Service property, shown when the Database Type under ``db_type_key`` asks
    for it (flowyard refuses it: ``db_type_problem``)."""
    return PropertySpec(
        key="Database Dialect Service", display_name="Database Dialect Service",
        description="A service generating the SQL for Database Type 'Database Dialect Service' (not supported by "
                    "flowyard: validation refuses it).", required=True,
        identifies_controller_service="DatabaseDialectService",
        dependencies=(PropertyDependency(db_type_key, (DIALECT_SERVICE_VALUE,)),),
    )


DB_TYPE = db_type_property("db-type")
DIALECT_SERVICE = dialect_service_property("db-type")


def db_type_problem(db_type: str, key: str = "db-type") -> ValidationResult | None:
    """A validation result when ``db_type`` is the unsupported Database Dialect Service."""
    if db_type == DIALECT_SERVICE_VALUE:
        return ValidationResult("Database Type", "a Database Dialect Service is not supported by flowyard; choose "
                                                 "the Database Type of your database", key)
    return None


def sql_dialect(db_type: str, connection_dialect: str) -> str:
    """``postgresql`` or ``mysql``: whose SQL to write (the Database Type's, else the connection's)."""
    if db_type == MYSQL:
        return "mysql"
    if db_type == POSTGRESQL:
        return "postgresql"
    return connection_dialect


#: Identifiers usable unquoted: [MySQL/MariaDB (may start with a digit, not all digits), PostgreSQL].
_PLAIN_IDENTIFIER = (re.compile(r"(?!\d+$)[\w$]+"), re.compile(r"[^\W\d][\w$]*"))


def quote_identifier(name: str, dialect: str) -> str:
    """``name`` quoted as the database's identifier quote string does (backtick for MySQL)."""
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


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


# -- properties -----------------------------------------------------------------------------------------

INSERT, UPDATE, UPSERT, INSERT_IGNORE, DELETE, SQL = "INSERT", "UPDATE", "UPSERT", "INSERT_IGNORE", "DELETE", "SQL"
USE_ATTRIBUTE, USE_RECORD_PATH = "Use statement.type Attribute", "Use Record Path"
_STATEMENT_TYPES = (INSERT, UPDATE, UPSERT, INSERT_IGNORE, DELETE, SQL)

RECORD_READER = PropertySpec(
    key="put-db-record-record-reader", display_name="Record Reader",
    description="The service that reads the records of the incoming FlowFile.", required=True,
    identifies_controller_service=RECORD_READER_FACTORY,
)
STATEMENT_TYPE = PropertySpec(
    key="put-db-record-statement-type", display_name="Statement Type",
    description="The statement to generate for each record.", required=True,
    allowed_values=(
        AllowableValue(UPDATE, UPDATE, "UPDATE the row with the record's key (Update Keys or the primary key)."),
        AllowableValue(INSERT, INSERT, "INSERT a row per record."),
        AllowableValue(UPSERT, UPSERT, "INSERT, or UPDATE the row with the same key (PostgreSQL ON CONFLICT, "
                                       "MySQL ON DUPLICATE KEY UPDATE)."),
        AllowableValue(INSERT_IGNORE, INSERT_IGNORE, "INSERT, skipping records whose key exists (PostgreSQL ON "
                                                     "CONFLICT DO NOTHING, MySQL INSERT IGNORE)."),
        AllowableValue(DELETE, DELETE, "DELETE the rows equal to the record (or to its Delete Keys)."),
        AllowableValue(USE_ATTRIBUTE, USE_ATTRIBUTE, "The statement.type attribute names the type (INSERT, UPDATE, "
                                                     "UPSERT, INSERT_IGNORE, DELETE or SQL)."),
        AllowableValue(USE_RECORD_PATH, USE_RECORD_PATH, "A field of each record names its statement type."),
    ),
)
STATEMENT_TYPE_RECORD_PATH = PropertySpec(
    key="Statement Type Record Path", display_name="Statement Type Record Path",
    description="The RecordPath (e.g. /op) of the field naming each record's statement type.",
    required=True, dependencies=(PropertyDependency("put-db-record-statement-type", (USE_RECORD_PATH,)),),
)
DATA_RECORD_PATH = PropertySpec(
    key="Data Record Path", display_name="Data Record Path",
    description="The RecordPath of the records whose fields are written (a record, or an array of records, e.g. "
                "/rows or /rows[*][./keep = 'yes']); unset: the record itself.",
)
PRE_SQL = PropertySpec(
    key="Pre-Processing SQL", display_name="Pre-Processing SQL",
    description="Statements run in the same transaction before the records, separated by semicolons.",
    expression_scope=_FF,
)
POST_SQL = PropertySpec(
    key="Post-Processing SQL", display_name="Post-Processing SQL",
    description="Statements run in the same transaction after the records, separated by semicolons.",
    expression_scope=_FF,
)
DBCP = connection_pool_property("put-db-record-dcbp-service")
CATALOG = PropertySpec(
    key="put-db-record-catalog-name", display_name="Database Name",
    description="The catalog of the table (the database for MySQL/MariaDB); unset: the connection's.",
    expression_scope=_FF,
)
SCHEMA = PropertySpec(
    key="put-db-record-schema-name", display_name="Schema Name",
    description="The schema of the table; unset: the connection's current schema.", expression_scope=_FF,
)
TABLE = PropertySpec(
    key="put-db-record-table-name", display_name="Table Name", description="The table to write to.",
    required=True, expression_scope=_FF, validator=validators.NON_EMPTY,
)
BINARY_FORMAT = PropertySpec(
    key="put-db-record-binary-format", display_name="Binary String Format",
    description="How a text value for a binary column is turned into bytes.", required=True, default="UTF-8",
    expression_scope=_FF,
    allowed_values=(AllowableValue("UTF-8", "UTF-8", "The text's UTF-8 bytes."),
                    AllowableValue("Hexadecimal", "Hexadecimal", "The text is hexadecimal digits."),
                    AllowableValue("Base64", "Base64", "The text is Base64.")),
)
TRANSLATE = PropertySpec(
    key="put-db-record-translate-field-names", display_name="Translate Field Names",
    description="Whether field and column names match after translation (upper case, and the Column Name "
                "Translation Strategy); false: they must be equal.", default="true", allowed_values=_BOOL,
)
TRANSLATION_STRATEGY = PropertySpec(
    key="Column Name Translation Strategy", display_name="Column Name Translation Strategy",
    description="What is removed from field and column names before they are compared (both upper-cased).",
    required=True, default="REMOVE_UNDERSCORE",
    allowed_values=(AllowableValue("REMOVE_UNDERSCORE", "Remove Underscore", "Underscores are removed."),
                    AllowableValue("REMOVE_SPACE", "Remove Space", "Spaces are removed."),
                    AllowableValue("REMOVE_UNDERSCORE_AND_SPACE", "Remove Underscores and Spaces",
                                   "Underscores and spaces are removed."),
                    AllowableValue("REMOVE_ALL_SPECIAL_CHAR", "Remove Regular Expression Characters",
                                   "Everything but letters and digits is removed."),
                    AllowableValue("PATTERN", "Regular Expression",
                                   "What the Column Name Translation Pattern matches is removed.")),
    dependencies=(PropertyDependency("put-db-record-translate-field-names", ("true",)),),
)
TRANSLATION_PATTERN = PropertySpec(
    key="Column Name Translation Pattern", display_name="Column Name Translation Pattern",
    description="A regular expression; what it matches is removed from the names.", required=True,
    validator=validators.REGEX,
    dependencies=(PropertyDependency("Column Name Translation Strategy", ("PATTERN",)),),
)
IGNORE_FIELDS, FAIL_FIELDS = "Ignore Unmatched Fields", "Fail on Unmatched Fields"
UNMATCHED_FIELD = PropertySpec(
    key="put-db-record-unmatched-field-behavior", display_name="Unmatched Field Behavior",
    description="What to do with a record field that matches no column.", default=IGNORE_FIELDS,
    allowed_values=(AllowableValue(IGNORE_FIELDS, IGNORE_FIELDS, "The field is left out."),
                    AllowableValue(FAIL_FIELDS, FAIL_FIELDS, "The FlowFile goes to failure.")),
)
IGNORE_COLUMNS, WARN_COLUMNS, FAIL_COLUMNS = ("Ignore Unmatched Columns", "Warn on Unmatched Columns",
                                              "Fail on Unmatched Columns")
UNMATCHED_COLUMN = PropertySpec(
    key="put-db-record-unmatched-column-behavior", display_name="Unmatched Column Behavior",
    description="What to do when a required column (NOT NULL, no default) has no field in the records.",
    default=FAIL_COLUMNS,
    allowed_values=(AllowableValue(IGNORE_COLUMNS, IGNORE_COLUMNS, "Nothing: the database decides."),
                    AllowableValue(WARN_COLUMNS, WARN_COLUMNS, "A warning is logged."),
                    AllowableValue(FAIL_COLUMNS, FAIL_COLUMNS, "The FlowFile goes to failure.")),
)
_KEYED = (UPDATE, UPSERT, SQL, USE_ATTRIBUTE, USE_RECORD_PATH)
UPDATE_KEYS = PropertySpec(
    key="put-db-record-update-keys", display_name="Update Keys",
    description="Comma-separated columns that identify the row to UPDATE or UPSERT; unset: the primary key.",
    expression_scope=_FF,
    dependencies=(PropertyDependency("put-db-record-statement-type", tuple(t for t in _KEYED if t != SQL)),),
)
DELETE_KEYS = PropertySpec(
    key="Delete Keys", display_name="Delete Keys",
    description="Comma-separated columns that identify the rows to DELETE; unset: every field of the record.",
    expression_scope=_FF,
    dependencies=(PropertyDependency("put-db-record-statement-type", (DELETE, USE_ATTRIBUTE, USE_RECORD_PATH)),),
)
FIELD_CONTAINING_SQL = PropertySpec(
    key="put-db-record-field-containing-sql", display_name="Field Containing SQL",
    description="For statement type SQL: the field whose value is the SQL statement to run.", expression_scope=_FF,
    dependencies=(PropertyDependency("put-db-record-statement-type", (USE_ATTRIBUTE, USE_RECORD_PATH)),),
)
ALLOW_MULTIPLE = PropertySpec(
    key="put-db-record-allow-multiple-statements", display_name="Allow Multiple SQL Statements",
    description="Whether the SQL of a field may hold several statements separated by semicolons.", required=True,
    default="false", allowed_values=_BOOL,
    dependencies=(PropertyDependency("put-db-record-statement-type", (USE_ATTRIBUTE, USE_RECORD_PATH)),),
)
QUOTE_COLUMNS = PropertySpec(
    key="put-db-record-quoted-identifiers", display_name="Quote Column Identifiers",
    description="Whether column names are quoted in the SQL (keep their case, allow reserved words).",
    default="false", allowed_values=_BOOL,
)
QUOTE_TABLE = PropertySpec(
    key="put-db-record-quoted-table-identifiers", display_name="Quote Table Identifiers",
    description="Whether the table name (and catalog/schema) is quoted in the SQL.", default="false",
    allowed_values=_BOOL,
)
QUERY_TIMEOUT = PropertySpec(
    key="put-db-record-query-timeout", display_name="Max Wait Time",
    description="The longest a statement may run before the database cancels it; 0 means no limit (whole "
                "seconds).", required=True, default="0 seconds", expression_scope=_ENV,
    validator=validators.TIME_PERIOD,
)
ROLLBACK_ON_FAILURE = PropertySpec(
    key="rollback-on-failure", display_name="Rollback On Failure",
    description="Whether a failure leaves the FlowFile in the input queue (the processor yields) instead of "
                "routing it to failure or retry.", required=True, default="false", allowed_values=_BOOL,
)
CACHE_SIZE = PropertySpec(
    key="table-schema-cache-size", display_name="Table Schema Cache Size",
    description="How many table schemas are kept (read once from the database).", required=True, default="100",
    validator=validators.NON_NEGATIVE_INTEGER,
)
MAX_BATCH = PropertySpec(
    key="put-db-record-max-batch-size", display_name="Maximum Batch Size",
    description="The most records sent to the database in one batch (all batches of a FlowFile are one "
                "transaction); 0 sends them all in one batch.", default="1000", expression_scope=_FF,
    validator=validators.NON_NEGATIVE_INTEGER,
)
AUTO_COMMIT = PropertySpec(
    key="database-session-autocommit", display_name="Database Session AutoCommit",
    description="Whether the connection commits every statement as it runs (then a failure leaves the rows of "
                "earlier statements written); false writes each FlowFile in one transaction.", default="false",
    allowed_values=_BOOL,
)

ERROR_ATTRIBUTE = "putdatabaserecord.error"


class _DataError(Exception):
    """The FlowFile cannot be written as configured (mapping, conversion, bad statement type): failure."""


# -- name translation, value conversion -----------------------------------------------------------------


def _translator(context: ProcessContext) -> Callable[[str], str]:
    if not context.property(TRANSLATE).as_bool():
        return lambda name: name
    strategy = context.property(TRANSLATION_STRATEGY).as_str()
    if strategy == "REMOVE_SPACE":
        return lambda name: name.upper().replace(" ", "")
    if strategy == "REMOVE_UNDERSCORE_AND_SPACE":
        return lambda name: name.upper().replace("_", "").replace(" ", "")
    if strategy == "REMOVE_ALL_SPECIAL_CHAR":
        return lambda name: re.sub(r"[^A-Za-z0-9]", "", name).upper()
    if strategy == "PATTERN":
        pattern = context.property(TRANSLATION_PATTERN).as_regex()
        return lambda name: pattern.sub("", name).upper()
    return lambda name: name.upper().replace("_", "")


_TARGET = {"int": RecordFieldType.LONG.data_type(), "long": RecordFieldType.LONG.data_type(),
           "float": RecordFieldType.DOUBLE.data_type(), "decimal": DataType(RecordFieldType.DECIMAL),
           "boolean": RecordFieldType.BOOLEAN.data_type(), "date": RecordFieldType.DATE.data_type(),
           "time": RecordFieldType.TIME.data_type(), "timestamp": RecordFieldType.TIMESTAMP.data_type()}
_ALREADY = {"int": (int,), "long": (int,), "float": (float, int), "decimal": (decimal.Decimal, int),
            "boolean": (bool,), "date": (dt.date,), "time": (dt.time,), "timestamp": (dt.datetime,)}


def _int(text: str) -> int:
    if "_" in text:
        raise ValueError("underscores are no digits")
    return int(text)


def _decimal(text: str) -> decimal.Decimal:
    if "_" in text:
        raise ValueError("underscores are no digits")
    value = decimal.Decimal(text)
    if not value.is_finite():
        raise ValueError("not a finite number")
    return value


#: Fast conversions of text in the plain (ISO) form; anything else goes through NiFi's conversion rules.
_FROM_TEXT: dict[str, Callable[[str], Any]] = {
    "int": _int, "long": _int, "decimal": _decimal, "date": dt.date.fromisoformat,
    "timestamp": dt.datetime.fromisoformat, "time": dt.time.fromisoformat,
}


def _converter(column: ColumnInfo, binary_format: str) -> Callable[[Any], Any]:
    """A function turning a record value into the value bound for ``column``."""
    kind = column.kind
    if kind in _TARGET:
        target, already = _TARGET[kind], _ALREADY[kind]

        fast = _FROM_TEXT.get(kind)

        def convert(value: Any) -> Any:
            if value is None or (type(value) in already and not (kind != "boolean" and type(value) is bool)):
                return value
            if fast is not None and type(value) is str:
                try:
                    return fast(value)
                except (ValueError, ArithmeticError):
                    pass  # not the plain form: NiFi's conversion below decides
            if kind == "timestamp" and type(value) is dt.date:
                return dt.datetime(value.year, value.month, value.day)
            try:
                return coerce(value, target, name=column.name)
            except (IllegalTypeConversion, ValueError, ArithmeticError):
                return value  # as NiFi: the original value, for the database to take or refuse
        return convert
    if kind == "bytes":
        def to_bytes(value: Any) -> Any:
            if value is None or isinstance(value, bytes):
                return value
            if isinstance(value, str):
                try:
                    if binary_format == "Hexadecimal":
                        return bytes.fromhex(value)
                    if binary_format == "Base64":
                        return base64.b64decode(value, validate=True)
                except (ValueError, binascii.Error) as exc:
                    raise IllegalTypeConversion(
                        f"the value of field '{column.name}' is not {binary_format}: {exc}") from None
                return value.encode("utf-8")
            if isinstance(value, (list, tuple)):
                return bytes((b + 256) % 256 for b in value)
            if isinstance(value, (bytearray, memoryview)):
                return bytes(value)
            raise IllegalTypeConversion(f"cannot write a {type(value).__name__} to binary column '{column.name}'")
        return to_bytes
    if kind == "json":
        return lambda v: json.dumps(v, default=str) if isinstance(v, (dict, list)) else v
    if kind == "array":
        return lambda v: list(v) if isinstance(v, tuple) else v

    def to_text(value: Any) -> Any:
        if value is None or type(value) is str:
            return value
        if isinstance(value, (dict, list)):
            return json.dumps(value, default=str)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return coerce(value, RecordFieldType.STRING.data_type(), name=column.name)
    return to_text


# -- statements -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Statement:
    """A generated statement: its SQL and how to take its parameters from a record."""

    sql: str
    extract: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    #: PostgreSQL plain INSERTs: (head, row of placeholders, tail) of a multi-row VALUES statement, which
    #: PostgreSQL runs much faster than the same rows one by one.
    multi: tuple[str, str, str] | None = None

    _texts: dict[int, str] = field(default_factory=dict)

    def run(self, cursor: Any, rows: list[tuple[Any, ...]]) -> None:
        """Send ``rows`` as one batch."""
        if self.multi is None or len(rows) == 1:
            cursor.executemany(self.sql, rows)
            return
        import psycopg

        width = max(1, len(rows[0]))
        per_statement = max(1, min(1000, 65535 // width))
        with psycopg.RawCursor(cursor.connection) as raw:  # $n placeholders: psycopg parses nothing
            for start in range(0, len(rows), per_statement):
                chunk = rows[start:start + per_statement]
                raw.execute(self._text(len(chunk), width), [value for values in chunk for value in values])

    def _text(self, count: int, width: int) -> str:
        text = self._texts.get(count)
        if text is None:
            assert self.multi is not None
            head, _, tail = self.multi
            rows = ("(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")" for r in range(count))
            text = self._texts[count] = head + ", ".join(rows) + tail
        return text


class _TableWriter:
    """Generates the statements of one table for one FlowFile's field names."""

    def __init__(self, table: TableInfo, dialect: str, db_type: str, fields: list[str],
                 translate: Callable[[str], str], settings: _Settings) -> None:
        self.table, self.dialect, self.db_type, self.settings = table, dialect, db_type, settings
        by_name = {translate(c.name): c for c in table.columns}
        self.matched: list[tuple[str, ColumnInfo]] = []
        unmatched = []
        for name in fields:
            column = by_name.get(translate(name))
            if column is None:
                unmatched.append(name)
            elif all(c.name != column.name for _, c in self.matched):
                self.matched.append((name, column))
        if unmatched and settings.unmatched_field == FAIL_FIELDS:
            raise _DataError(f"the field(s) {', '.join(map(repr, unmatched))} match no column of table "
                             f"'{table.name}'")
        self.unmatched_fields = unmatched
        self.field_of = {c.name: name for name, c in self.matched}
        self.converters = {c.name: _converter(c, settings.binary_format) for _, c in self.matched}
        self.translate = translate
        self.cache: dict[str, _Statement] = {}

    def _q(self, name: str) -> str:
        return quote_identifier(name, self.dialect) if self.settings.quote_columns else name

    def table_name(self) -> str:
        """The table as the SQL names it. The catalog and schema are the names the database gave when the
        table was looked up (never the property text, which may come from a FlowFile attribute); an unquoted
        part that is not a plain identifier is refused."""
        s, t = self.settings, self.table
        parts: list[tuple[str, str]] = []
        if self.dialect == "postgresql":
            if s.catalog:
                parts.append(("Database Name", t.catalog or s.catalog))
            if s.schema:
                parts.append(("Schema Name", t.schema))
        elif s.catalog and s.schema:
            raise _DataError(f"MySQL/MariaDB has no schemas inside a database: set Database Name ({s.catalog!r}) or "
                             f"Schema Name ({s.schema!r}), not both")
        elif s.catalog or s.schema:
            parts.append(("Database Name" if s.catalog else "Schema Name", t.schema))
        parts.append(("Table Name", s.table))
        if s.quote_table:
            return ".".join(quote_identifier(p, self.dialect) for _, p in parts)
        plain = _PLAIN_IDENTIFIER[self.dialect == "postgresql"]
        for label, name in parts:
            if not plain.fullmatch(name):
                raise _DataError(f"the {label} {name!r} is not a plain SQL identifier; set Quote Table Identifiers "
                                 "to true to use it as it is")
        return ".".join(p for _, p in parts)

    def check_required(self, context: ProcessContext, ff: FlowFile, kind: str) -> None:
        if kind not in (INSERT, UPSERT, INSERT_IGNORE):
            return
        have = {c.name for _, c in self.matched}
        missing = [c.name for c in self.table.columns if c.required and c.name not in have]
        if not missing:
            return
        message = (f"the records of {ff!r} have no value for the required column(s) "
                   f"{', '.join(map(repr, missing))} of table '{self.table.name}'")
        if self.settings.unmatched_column == FAIL_COLUMNS:
            raise _DataError(message)
        if self.settings.unmatched_column == WARN_COLUMNS:
            context.logger.warning(message)

    def _keys(self, configured: str | None, kind: str) -> list[ColumnInfo]:
        by_translated = {self.translate(c.name): c for c in self.table.columns}
        if configured:
            keys = []
            for name in (k.strip() for k in configured.split(",")):
                if not name:
                    continue
                column = by_translated.get(self.translate(name))
                if column is None:
                    raise _DataError(f"the key column '{name}' is not a column of table '{self.table.name}'")
                keys.append(column)
        else:
            keys = [c for c in self.table.columns if c.name in self.table.primary_keys]
            if not keys:
                raise _DataError(f"table '{self.table.name}' has no primary key and no "
                                 f"{'Delete' if kind == DELETE else 'Update'} Keys are set: cannot {kind}")
        missing = [c.name for c in keys if c.name not in self.field_of]
        if missing:
            raise _DataError(f"the records have no field for the key column(s) {', '.join(map(repr, missing))}")
        return keys

    def statement(self, kind: str) -> _Statement:
        cached = self.cache.get(kind)
        if cached is None:
            cached = self.cache[kind] = self._generate(kind)
        return cached

    def _extractor(self, columns: list[ColumnInfo]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        plan = [(self.field_of[c.name], self.converters[c.name]) for c in columns]

        def extract(record: Mapping[str, Any]) -> tuple[Any, ...]:
            return tuple(convert(record.get(name)) for name, convert in plan)
        return extract

    def _generate(self, kind: str) -> _Statement:
        if not self.matched:
            raise _DataError(f"no field of the records matches a column of table '{self.table.name}'")
        table = self.table_name()
        columns = [c for _, c in self.matched]
        names = ", ".join(self._q(c.name) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        if kind in (INSERT, UPSERT, INSERT_IGNORE):
            if kind != INSERT and self.db_type not in (MYSQL, POSTGRESQL, PHOENIX):
                raise _DataError(f"{kind} is not supported for Database Type {self.db_type}; choose MySQL or "
                                 "PostgreSQL")
            if kind == INSERT_IGNORE and self.dialect == "mysql":
                return _Statement(f"INSERT IGNORE INTO {table} ({names}) VALUES ({marks})", self._extractor(columns))
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            if kind in (INSERT, INSERT_IGNORE) and self.dialect == "postgresql":
                tail = ""
                if kind == INSERT_IGNORE:
                    keys = self._keys(self.settings.update_keys, UPSERT)
                    tail = f" ON CONFLICT ({', '.join(self._q(c.name) for c in keys)}) DO NOTHING"
                return _Statement(sql + tail, self._extractor(columns),
                                  (f"INSERT INTO {table} ({names}) VALUES ", f"({marks})", tail))
            elif kind == UPSERT:
                keys = self._keys(self.settings.update_keys, kind)
                others = [c for c in columns if c not in keys]
                if self.dialect == "mysql":
                    sets = ", ".join(f"{self._q(c.name)} = VALUES({self._q(c.name)})" for c in others or keys)
                    sql += f" ON DUPLICATE KEY UPDATE {sets}"
                else:
                    target = ", ".join(self._q(c.name) for c in keys)
                    if others:
                        sets = ", ".join(f"{self._q(c.name)} = EXCLUDED.{self._q(c.name)}" for c in others)
                        sql += f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
                    else:
                        sql += f" ON CONFLICT ({target}) DO NOTHING"
            return _Statement(sql, self._extractor(columns))
        if kind == UPDATE:
            keys = self._keys(self.settings.update_keys, kind)
            others = [c for c in columns if c not in keys]
            if not others:
                raise _DataError("the records have no field to update besides the key column(s)")
            sets = ", ".join(f"{self._q(c.name)} = %s" for c in others)
            where = " AND ".join(f"{self._q(c.name)} = %s" for c in keys)
            return _Statement(f"UPDATE {table} SET {sets} WHERE {where}", self._extractor(others + keys))
        if kind == DELETE:
            keys = self._keys(self.settings.delete_keys, kind) if self.settings.delete_keys else columns
            if self.dialect == "postgresql":
                where = " AND ".join(f"{self._q(c.name)} IS NOT DISTINCT FROM %s" for c in keys)
                return _Statement(f"DELETE FROM {table} WHERE {where}", self._extractor(keys))
            if self.dialect == "mysql":
                where = " AND ".join(f"{self._q(c.name)} <=> %s" for c in keys)
                return _Statement(f"DELETE FROM {table} WHERE {where}", self._extractor(keys))
            where = " AND ".join(f"({self._q(c.name)} = %s OR ({self._q(c.name)} IS NULL AND %s IS NULL))"
                                 for c in keys)
            single = self._extractor(keys)
            return _Statement(f"DELETE FROM {table} WHERE {where}",
                              lambda r: tuple(v for value in single(r) for v in (value, value)))
        raise _DataError(f"unknown statement type {kind!r}")


@dataclass(slots=True)
class _Settings:
    catalog: str | None
    schema: str | None
    table: str
    binary_format: str
    unmatched_field: str
    unmatched_column: str
    update_keys: str | None
    delete_keys: str | None
    quote_columns: bool
    quote_table: bool
    max_batch: int
    sql_field: str | None
    allow_multiple: bool


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

