"""Lookup services over a CSV file: ``SimpleCsvFileLookupService`` (a key column to a value
column, text) and ``CSVRecordLookupService`` (a key column to the rest of the row, a record).

Both read the whole file into memory when enabled (the first line names the columns) and read
it again when its modification time changes, checked at most every 30 seconds on a lookup, as
NiFi's file watcher does. Lookups take the coordinate ``key``.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from flowyard.processors._common import boolean_property
from flowyard.processors._records import RecordField, RecordFieldType, RecordSchema, to_text
from flowyard.processors.lookup_services import (
    LOOKUP_SERVICE,
    RECORD_LOOKUP_SERVICE,
    STRING_LOOKUP_SERVICE,
    LookupFailureError,
    RecordLookupService,
    SchemaRecord,
    StringLookupService,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    ExpressionScope,
    PropertyDependency,
    PropertySpec,
    ValidationResult,
    validators,
)

__all__ = ["CSVRecordLookupService", "SimpleCsvFileLookupService"]

KEY = "key"
WATCH_INTERVAL = 30.0
"""Seconds between checks of the file's modification time."""

_ENV = ExpressionScope.ENVIRONMENT
_CUSTOM = (PropertyDependency("csv-format", ("custom", "default")),)

CSV_FILE = PropertySpec(
    key="csv-file", display_name="CSV File",
    description="The path of the CSV file in which the keys are looked up; its first line names the columns.",
    required=True, expression_scope=_ENV, validator=validators.NON_EMPTY,
)
CSV_FORMAT = PropertySpec(
    key="csv-format", display_name="CSV Format", description="The dialect of the CSV file.", required=True,
    default="default",
    allowed_values=(
        AllowableValue("custom", "Custom Format", "The separator, quote, escape and other properties below."),
        AllowableValue("rfc-4180", "RFC 4180", "Comma separated, double quotes, no escape."),
        AllowableValue("excel", "Microsoft Excel", "As Excel writes CSV: comma separated, double quotes."),
        AllowableValue("tdf", "Tab-Delimited", "Tab separated, double quotes, values trimmed."),
        AllowableValue("mysql", "MySQL Format", "Tab separated, no quotes, backslash escapes."),
        AllowableValue("informix-unload", "Informix Unload", "Pipe separated with backslash escapes."),
        AllowableValue("informix-unload-csv", "Informix Unload Escape Disabled", "Comma separated, no escape."),
        AllowableValue("default", "Default Format", "The same as Custom Format (kept for NiFi's flows)."),
        AllowableValue("RFC4180", "RFC4180", "The same as RFC 4180 (kept for NiFi's flows)."),
    ),
)
CHARACTER_SET = PropertySpec(
    key="character-set", display_name="Character Set", description="The character set of the CSV file.",
    required=True, default="UTF-8", expression_scope=_ENV, validator=validators.CHARACTER_SET,
)
LOOKUP_KEY_COLUMN = PropertySpec(
    key="lookup-key-column", display_name="Lookup Key Column",
    description="The column whose values are the keys looked up.", required=True, expression_scope=_ENV,
    validator=validators.NON_EMPTY,
)
IGNORE_DUPLICATES = boolean_property(
    "ignore-duplicates", "Ignore Duplicates",
    "Whether a key found on several lines is accepted (the last line wins, with a warning); if not, the file "
    "cannot be loaded.", "true",
)
VALUE_SEPARATOR = PropertySpec(
    key="value-separator", display_name="Value Separator",
    description="The character between values ('\\t' for a tab).", required=True, default=",",
    expression_scope=ExpressionScope.ENVIRONMENT, validator=validators.NON_EMPTY, dependencies=_CUSTOM,
)
QUOTE_CHARACTER = PropertySpec(
    key="quote-character", display_name="Quote Character", description="The character that quotes a value.",
    required=True, default='"', expression_scope=ExpressionScope.ENVIRONMENT,
    validator=validators.NON_EMPTY, dependencies=_CUSTOM,
)
QUOTE_MODE = PropertySpec(
    key="quote-mode", display_name="Quote Mode", description="Which values are quoted (used when writing; "
    "accepted for NiFi's flows).", required=True, default="MINIMAL", dependencies=_CUSTOM,
    allowed_values=(AllowableValue("ALL", "Quote All Values", "Every value is quoted."),
                    AllowableValue("MINIMAL", "Quote Minimal", "Values with special characters are quoted."),
                    AllowableValue("NON_NUMERIC", "Quote Non-Numeric Values", "Values other than numbers."),
                    AllowableValue("NONE", "Do Not Quote Values", "No value is quoted.")),
)
COMMENT_MARKER = PropertySpec(
    key="comment-marker", display_name="Comment Marker",
    description="A character that, first on a line, makes the line a comment to skip.",
    expression_scope=ExpressionScope.ENVIRONMENT, dependencies=_CUSTOM,
)
ESCAPE_CHARACTER = PropertySpec(
    key="escape-character", display_name="Escape Character",
    description="The character that escapes the next one (empty: none).", required=True, default="\\",
    expression_scope=ExpressionScope.ENVIRONMENT, dependencies=_CUSTOM,
)
TRIM_FIELDS = boolean_property(
    "trim-fields", "Trim Fields", "Whether spaces around each value are removed.", "true", dependencies=_CUSTOM,
)
LOOKUP_VALUE_COLUMN = PropertySpec(
    key="lookup-value-column", display_name="Lookup Value Column",
    description="The column whose value a key maps to.", required=True, expression_scope=_ENV,
    validator=validators.NON_EMPTY,
)

_FORMAT_PROPERTIES = (VALUE_SEPARATOR, QUOTE_CHARACTER, QUOTE_MODE, COMMENT_MARKER, ESCAPE_CHARACTER, TRIM_FIELDS)


def _unescape(text: str) -> str:
    return codecs.decode(text, "unicode_escape") if "\\" in text and len(text) > 1 else text


class _Dialect:
    __slots__ = ("comment", "escape", "quote", "separator", "trim")

    def __init__(self, separator: str, quote: str | None, escape: str | None, trim: bool,
                 comment: str | None) -> None:
        self.separator, self.quote, self.escape, self.trim, self.comment = separator, quote, escape, trim, comment

    @staticmethod
    def of(context: ConfigurationContext) -> _Dialect:
        fmt = context.property(CSV_FORMAT).raw
        if fmt in ("rfc-4180", "RFC4180", "excel"):
            return _Dialect(",", '"', None, False, None)
        if fmt == "tdf":
            return _Dialect("\t", '"', None, True, None)
        if fmt == "mysql":
            return _Dialect("\t", None, "\\", False, None)
        if fmt == "informix-unload":
            return _Dialect("|", '"', "\\", False, None)
        if fmt == "informix-unload-csv":
            return _Dialect(",", '"', None, False, None)
        separator = _unescape(context.property(VALUE_SEPARATOR).evaluate().as_str())
        quote = _unescape(context.property(QUOTE_CHARACTER).evaluate().as_str())
        escape = _unescape(context.property(ESCAPE_CHARACTER).evaluate().raw or "")
        comment = context.property(COMMENT_MARKER).evaluate().raw
        return _Dialect(separator, quote or None, escape or None, context.property(TRIM_FIELDS).as_bool(),
                        comment or None)

    def rows(self, text: io.TextIOBase) -> Iterator[list[str]]:
        reader = csv.reader(text, delimiter=self.separator, quotechar=self.quote or '"', escapechar=self.escape,
                            quoting=csv.QUOTE_MINIMAL if self.quote else csv.QUOTE_NONE, strict=False)
        for row in reader:
            if not row or (len(row) == 1 and row[0] == ""):
                continue
            if self.comment and row[0].startswith(self.comment):
                continue
            yield [v.strip() for v in row] if self.trim else row


def _validate_format(context: ConfigurationContext) -> list[ValidationResult]:
    if context.property(CSV_FORMAT).raw not in ("custom", "default"):
        return []
    results = []
    for spec in (VALUE_SEPARATOR, QUOTE_CHARACTER, ESCAPE_CHARACTER, COMMENT_MARKER):
        raw = context.property(spec).raw
        if raw and "${" not in raw and len(_unescape(raw)) != 1:
            results.append(ValidationResult(spec.display_name, f"{raw!r} is not a single character", spec.key))
    return results


class _CsvTable:
    """The loaded file: rows by key, reloaded when the file changes."""

    def __init__(self, context: ConfigurationContext, logger: Any, value_column: str | None) -> None:
        self.path = context.property(CSV_FILE).evaluate().as_str()
        self.charset = context.property(CHARACTER_SET).evaluate().as_str()
        self.key_column = context.property(LOOKUP_KEY_COLUMN).evaluate().as_str()
        self.value_column = value_column
        self.ignore_duplicates = context.property(IGNORE_DUPLICATES).as_bool()
        self.dialect = _Dialect.of(context)
        self.logger = logger
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._mtime = self._stat()
        #: The table and the schema of its rows, replaced together (one assignment) once a whole file
        #: has loaded: a lookup never sees the columns of one version with the rows of another.
        self.loaded: tuple[Mapping[str, Any], RecordSchema] = (MappingProxyType({}), RecordSchema(()))
        self.load()

    def _stat(self) -> float:
        try:
            return os.stat(self.path).st_mtime
        except OSError as exc:
            raise LookupFailureError(f"cannot read the CSV file {self.path!r}: {exc.strerror or exc}") from None

    def load(self) -> None:
        """Read the file; raises ``LookupFailureError`` naming the file and the problem."""
        try:
            with open(self.path, encoding=self.charset, newline="") as f:
                rows = self.dialect.rows(f)
                header = next(rows, None)
                if header is None:
                    raise LookupFailureError(f"the CSV file {self.path!r} is empty: its first line must name "
                                             "the columns")
                schema = self._check_columns(header)
                table = self._table(header, rows)
        except (OSError, UnicodeDecodeError, csv.Error, LookupError) as exc:
            raise LookupFailureError(f"cannot read the CSV file {self.path!r}: {exc}") from None
        if not table:
            self.logger.warning(f"the lookup table is empty after reading {self.path!r}")
        self.loaded = (MappingProxyType(table), schema)

    @property
    def rows(self) -> Mapping[str, Any]:
        """The table loaded last."""
        return self.loaded[0]

    @property
    def schema(self) -> RecordSchema:
        """The schema of the rows loaded last (the columns but the key)."""
        return self.loaded[1]

    def _check_columns(self, header: list[str]) -> RecordSchema:
        for column, what in ((self.key_column, "Lookup Key Column"), (self.value_column, "Lookup Value Column")):
            if column is not None and column not in header:
                raise LookupFailureError(f"the CSV file {self.path!r} has no column {column!r} ({what}); its "
                                         f"columns are {header}")
        return RecordSchema(tuple(RecordField(name, RecordFieldType.STRING.data_type())
                                  for name in header if name != self.key_column))

    def _table(self, header: list[str], rows: Iterable[list[str]]) -> dict[str, Any]:
        key_index = header.index(self.key_column)
        value_index = header.index(self.value_column) if self.value_column is not None else -1
        table: dict[str, Any] = {}
        for line, row in enumerate(rows, start=2):
            key = row[key_index] if key_index < len(row) else ""
            if not key.strip():
                raise LookupFailureError(f"empty lookup key on line {line} of {self.path!r}")
            if key in table:
                if not self.ignore_duplicates:
                    raise LookupFailureError(f"duplicate lookup key {key!r} on line {line} of {self.path!r}")
                self.logger.warning(f"duplicate lookup key {key!r} on line {line} of {self.path!r}; the last wins")
            if value_index >= 0:
                table[key] = row[value_index] if value_index < len(row) else None
            else:
                table[key] = MappingProxyType({name: (row[i] if i < len(row) else None)
                                               for i, name in enumerate(header) if i != key_index})
        return table

    def get(self, coordinates: Mapping[str, Any]) -> Any:
        """The row (or value) of ``coordinates['key']``, or None."""
        return self.get_with_schema(coordinates)[0]

    def get_with_schema(self, coordinates: Mapping[str, Any]) -> tuple[Any, RecordSchema]:
        """The row of ``coordinates['key']`` (or None) with the schema of the table it came from.
        Reloads the file when it changed (checked at most every 30 s); a file that fails to load
        leaves the previous table in use, and is tried again at the next check."""
        key = coordinates.get(KEY)
        loaded = self.loaded
        if key is None:
            return None, loaded[1]
        text = key if isinstance(key, str) else to_text(key)
        if not text.strip():
            return None, loaded[1]
        now = time.monotonic()
        if now - self._checked >= WATCH_INTERVAL:
            with self._lock:
                if now - self._checked >= WATCH_INTERVAL:
                    self._checked = now
                    mtime = self._stat()
                    if mtime != self._mtime:
                        self._mtime = mtime  # a file that fails is reported once, not at every lookup
                        self.load()
        rows, schema = self.loaded
        return rows.get(text), schema


_COMMON = (CSV_FILE, CSV_FORMAT, CHARACTER_SET, LOOKUP_KEY_COLUMN, IGNORE_DUPLICATES)


class SimpleCsvFileLookupService(ControllerService, StringLookupService):
    """Looks keys up in a CSV file: the coordinate ``key`` is matched against the Lookup Key
    Column, and the value is the Lookup Value Column of that line (text).

    The file is read when the service is enabled (the first line names the columns; a missing
    column, an empty key or, unless Ignore Duplicates, a duplicate key makes enabling fail with
    the file and line named) and read again when its modification time changes (checked at most
    every 30 seconds, on a lookup). With Ignore Duplicates the last line of a key wins.
    A blank key finds nothing.

    Differences from NiFi: Quote Mode is accepted but unused (it only affects writing).
    """

    spec = ControllerServiceSpec(
        description="A reloadable CSV file-based lookup service: the first line names the columns, the Lookup "
                    "Key Column is matched against the coordinate 'key' and the Lookup Value Column is returned.",
        provides=(LOOKUP_SERVICE, STRING_LOOKUP_SERVICE),
        tags=("lookup", "cache", "enrich", "join", "csv", "reloadable", "key", "value"),
        properties=(*_COMMON, *_FORMAT_PROPERTIES, LOOKUP_VALUE_COLUMN),
    )

    def __init__(self) -> None:
        self._table: _CsvTable | None = None

    def validate(self, context: ConfigurationContext) -> list[ValidationResult]:
        """The custom format's characters must be single characters."""
        return _validate_format(context)

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Load the file."""
        self._table = _CsvTable(context, context.logger, context.property(LOOKUP_VALUE_COLUMN).evaluate().as_str())

    def on_disabled(self) -> None:
        """Forget the table."""
        self._table = None

    @property
    def required_keys(self) -> frozenset[str]:
        """Only ``key``."""
        return frozenset((KEY,))

    def lookup(self, coordinates: Mapping[str, Any], attributes: Mapping[str, str] | None = None) -> str | None:
        """The value column of the line whose key column is ``coordinates['key']`` (as text), or None."""
        table = self._table
        if table is None:
            raise LookupFailureError("the service is not enabled")
        value = table.get(coordinates)
        return value if isinstance(value, str) or value is None else None


class CSVRecordLookupService(ControllerService, RecordLookupService):
    """Looks keys up in a CSV file and returns the rest of the line as a record: the coordinate
    ``key`` is matched against the Lookup Key Column, and every other column becomes a string
    field of the record (the columns of the first line, in order).

    Loading, reloading and duplicates as ``SimpleCsvFileLookupService``.
    """

    spec = ControllerServiceSpec(
        description="A reloadable CSV file-based lookup service: when the key is found in the Lookup Key Column, "
                    "the other columns of its line are returned as a record of string fields.",
        provides=(LOOKUP_SERVICE, RECORD_LOOKUP_SERVICE),
        tags=("lookup", "cache", "enrich", "join", "csv", "reloadable", "key", "value", "record"),
        properties=(*_COMMON, *_FORMAT_PROPERTIES),
    )

    def __init__(self) -> None:
        self._table: _CsvTable | None = None

    def validate(self, context: ConfigurationContext) -> list[ValidationResult]:
        """The custom format's characters must be single characters."""
        return _validate_format(context)

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Load the file."""
        self._table = _CsvTable(context, context.logger, None)

    def on_disabled(self) -> None:
        """Forget the table."""
        self._table = None

    @property
    def required_keys(self) -> frozenset[str]:
        """Only ``key``."""
        return frozenset((KEY,))

    def lookup(self, coordinates: Mapping[str, Any],
               attributes: Mapping[str, str] | None = None) -> SchemaRecord | None:
        """The other columns of the line whose key column is ``coordinates['key']``, or None."""
        table = self._table
        if table is None:
            raise LookupFailureError("the service is not enabled")
        row, schema = table.get_with_schema(coordinates)
        return None if row is None else SchemaRecord(row, schema)
