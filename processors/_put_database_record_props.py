"""PutDatabaseRecord's properties: statement types, table and key settings, name
translation, batching and commit settings (NiFi 2's names and keys).
"""

from __future__ import annotations

from flowyard.processors._db_common import connection_pool_property
from flowyard.processors._record_services import RECORD_READER_FACTORY
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    PropertyDependency,
    PropertySpec,
    validators,
)

_FF = ExpressionScope.FLOWFILE_ATTRIBUTES
_ENV = ExpressionScope.ENVIRONMENT
_BOOL = (AllowableValue("true"), AllowableValue("false"))


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
