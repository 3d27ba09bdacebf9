"""NiFi's Database Type property, shared by the database processors (PutDatabaseRecord,
QueryDatabaseTable, GenerateTableFetch, ...): its values, the Database Dialect Service
property flowyard refuses (``db_type_problem``), whose SQL to write (``sql_dialect``) and
how identifiers are quoted (``quote_identifier``). ``put_database_record`` re-exports them.
"""

from __future__ import annotations

import re

from flowyard.runtime.sdk import (
    AllowableValue,
    PropertyDependency,
    PropertySpec,
    ValidationResult,
)

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
