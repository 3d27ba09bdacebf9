"""ExecuteSQLRecord: run a SQL query through a DBCPService and write its result sets with a Record Writer."""

from __future__ import annotations

from collections.abc import Mapping

from flowyard.processors._db_avro import RecordResultWriter, ResultWriter
from flowyard.processors._db_common import writer_options
from flowyard.processors._record_services import RECORD_SET_WRITER_FACTORY, RecordSetWriterFactory
from flowyard.processors.execute_sql import (
    AUTO_COMMIT,
    DBCP,
    DEFAULT_PRECISION,
    DEFAULT_SCALE,
    FAILURE,
    FETCH_SIZE,
    LOGICAL_TYPES,
    MAX_ROWS,
    OUTPUT_BATCH_SIZE,
    POST_QUERY,
    PRE_QUERY,
    QUERY,
    QUERY_TIMEOUT,
    READS_ATTRIBUTES,
    SUCCESS,
    WRITES_ATTRIBUTES,
    ExecuteSQL,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    InputRequirement,
    ProcessContext,
    ProcessorSpec,
    PropertySpec,
)

__all__ = ["ExecuteSQLRecord"]

RECORD_WRITER = PropertySpec(
    key="esqlrecord-record-writer", display_name="Record Writer",
    description="The service that writes the rows of each result set as records.", required=True,
    identifies_controller_service=RECORD_SET_WRITER_FACTORY,
)
NORMALIZE = PropertySpec(
    key="esqlrecord-normalize", display_name="Normalize Table/Column Names",
    description="Whether characters Avro names do not allow (anything but letters, digits and _) become "
                "underscores in the record and field names.", required=True, default="false",
    allowed_values=(AllowableValue("true"), AllowableValue("false")),
)


class ExecuteSQLRecord(ExecuteSQL):
    """Runs a query (SQL Query, or the content of the incoming FlowFile) on a
    connection from the DBCPService, as ExecuteSQL does, and writes each
    result set with the Record Writer: ``record.count``, ``mime.type`` and
    the writer's attributes besides ExecuteSQL's ``executesql.row.count``,
    ``executesql.query.duration`` / ``executiontime`` / ``fetchtime`` and
    ``executesql.resultset.index``. The record schema has a nullable field per
    column, named after it (normalized with Normalize Table/Column Names).
    Max Rows Per FlowFile splits a result set into fragments
    (``fragment.identifier`` / ``index`` / ``count``); Output Batch Size
    commits every so many FlowFiles (then ``fragment.count`` is not written).
    JDBC ``?`` placeholders take ``sql.args.N.type`` / ``.value`` /
    ``.format`` attributes. A statement without a result set (an UPDATE)
    gives an empty record set with ``executesql.row.count`` 0.

    Any failure, connecting included, sends the input FlowFile to ``failure``
    penalized with ``executesql.error.message`` and discards the partial
    output; without an input FlowFile the processor yields. Rows stream from
    MariaDB/MySQL and are written as they are fetched.

    Differences from NiFi: the drivers are psycopg and PyMySQL, as for
    ExecuteSQL (see there: PostgreSQL results are buffered by the driver,
    naive timestamps are taken as UTC, Max Wait Time is the session's
    statement timeout). Column types follow ExecuteSQL's Avro: without Use
    Avro Logical Types, DECIMAL/NUMERIC, DATE, TIME and TIMESTAMP columns are
    strings (``2024-05-01 12:30:15.25``); with them they are decimals, dates,
    times and timestamps for the writer to format.
    """

    spec = ProcessorSpec(
        description="Runs a SQL query on a database connection pool and writes every result set with a Record "
                    "Writer; the query comes from a property (with Expression Language) or from the incoming "
                    "content.",
        tags=("sql", "select", "jdbc", "query", "database", "record", "postgresql", "mysql"),
        properties=(DBCP, PRE_QUERY, QUERY, POST_QUERY, QUERY_TIMEOUT, RECORD_WRITER, NORMALIZE, LOGICAL_TYPES,
                    DEFAULT_PRECISION, DEFAULT_SCALE, MAX_ROWS, OUTPUT_BATCH_SIZE, FETCH_SIZE, AUTO_COMMIT),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.ALLOWED,
        reads_attributes=READS_ATTRIBUTES,
        writes_attributes=(*WRITES_ATTRIBUTES, ("mime.type", "The Record Writer's MIME type."),
                           ("record.count", "The number of records in this FlowFile.")),
    )

    def result_writer(self, context: ProcessContext, attributes: Mapping[str, str]) -> ResultWriter:
        """The Record Writer."""
        factory = context.property(RECORD_WRITER).as_controller_service(RecordSetWriterFactory)
        return RecordResultWriter(factory, dict(attributes), **writer_options(context, NORMALIZE, attributes))

    def original_when_empty(self, context: ProcessContext) -> bool:
        """An input whose statement gave no result set gets an empty record set."""
        return False
