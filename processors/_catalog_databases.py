"""The databases family of the standard library. Databases (issue 13): DBCPConnectionPool and the SQL processors.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.dbcp_connection_pool import DBCPConnectionPool
from flowyard.processors.execute_sql import ExecuteSQL
from flowyard.processors.execute_sql_record import ExecuteSQLRecord
from flowyard.processors.generate_table_fetch import GenerateTableFetch
from flowyard.processors.list_database_tables import ListDatabaseTables
from flowyard.processors.put_database_record import PutDatabaseRecord
from flowyard.processors.put_sql import PutSQL
from flowyard.processors.query_database_table import QueryDatabaseTable, QueryDatabaseTableRecord
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (ExecuteSQL, PutSQL, PutDatabaseRecord, QueryDatabaseTable,
                                              QueryDatabaseTableRecord, ExecuteSQLRecord,
                                              GenerateTableFetch, ListDatabaseTables)
SERVICES: tuple[type[ControllerService], ...] = (DBCPConnectionPool,)
