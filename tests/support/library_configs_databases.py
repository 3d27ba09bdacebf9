"""Library configurations (see ``library_configs``) of the databases family.

Every pool points at ``{closed_port}``, so the suite runs offline: the processors meet a database that
cannot be reached (and, with their input, hostile content and attributes)."""

from __future__ import annotations

from library_configs import FAILING_CONSTANT_EXPRESSION, LibraryConfig, ServiceSetup

__all__ = ["CONFIGS", "LibraryConfig", "ServiceSetup"]

_POOL = ServiceSetup("db", "DBCPConnectionPool", {
    "Database Connection URL": "jdbc:postgresql://127.0.0.1:{closed_port}/test",
    "Database Driver Class Name": "org.postgresql.Driver"})

CONFIGS: tuple[LibraryConfig, ...] = (
    LibraryConfig("ListDatabaseTables", {"list-db-tables-db-connection": "db", "list-db-include-count": "true"},
                  kind="generate", services=(_POOL,)),
    LibraryConfig("ListDatabaseTables", {"list-db-tables-db-connection": "db", "record-writer": "writer"},
                  kind="generate", variant="records", services=(ServiceSetup("writer", "JsonRecordSetWriter"), _POOL)),
    LibraryConfig("GenerateTableFetch", {"Database Connection Pooling Service": "db", "Table Name": "t",
                                         "Maximum-value Columns": "id"}, expression="Table Name", services=(_POOL,)),
    LibraryConfig("GenerateTableFetch", {"Database Connection Pooling Service": "db", "Table Name": "t",
                                         "Maximum-value Columns": "id"}, kind="generate", variant="no-input",
                  services=(_POOL,)),
    LibraryConfig("ExecuteSQLRecord", {"dbcp-service": "db", "esqlrecord-record-writer": "writer"},
                  expression="sql-pre-query", services=(ServiceSetup("writer", "JsonRecordSetWriter"), _POOL)),
    LibraryConfig("PutDatabaseRecord", {"put-db-record-record-reader": "reader", "put-db-record-dcbp-service": "db",
                                        "put-db-record-statement-type": "INSERT", "put-db-record-table-name": "t"},
                  expression="put-db-record-table-name",
                  services=(ServiceSetup("reader", "JsonTreeReader"), _POOL)),
    LibraryConfig("PutDatabaseRecord", {"put-db-record-record-reader": "reader", "put-db-record-dcbp-service": "db",
                                        "put-db-record-statement-type": "Use statement.type Attribute",
                                        "db-type": "PostgreSQL", "put-db-record-table-name": "t",
                                        "put-db-record-field-containing-sql": "sql"},
                  variant="statement-type-attribute", services=(ServiceSetup("reader", "CSVReader"), _POOL)),
    LibraryConfig("QueryDatabaseTable", {"Database Connection Pooling Service": "db", "Table Name": "t",
                                         "Maximum-value Columns": "id"}, kind="generate", services=(_POOL,),
                  expression="Table Name", expression_value=FAILING_CONSTANT_EXPRESSION),
    LibraryConfig("QueryDatabaseTableRecord", {"Database Connection Pooling Service": "db", "Table Name": "t",
                                               "Maximum-value Columns": "id", "qdbtr-record-writer": "writer"},
                  kind="generate", services=(ServiceSetup("writer", "JsonRecordSetWriter"), _POOL),
                  expression="Maximum-value Columns", expression_value=FAILING_CONSTANT_EXPRESSION),
)
