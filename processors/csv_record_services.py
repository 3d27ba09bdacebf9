"""CSVReader and CSVRecordSetWriter: records as delimited text (NiFi's CSV services).

Both stream: the reader yields one record at a time from the content (read
twice when the schema is inferred), the writer produces chunks of about
64 KiB. See ``processors/_record_services.py`` for the reader/writer API.

The reader also has the columnar fast path of ``processors/_records/_columnar.py``
(``batches()``): where its dialect allows, Arrow's CSV reader infers the schema
and gives the records as Arrow batches, with the row path's exact results.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from flowyard.processors._common import boolean_property
from flowyard.processors._record_services import (
    CHUNK,
    HEADER_DERIVED,
    INFER,
    READER_SCHEMA_PROPERTIES,
    RECORD_READER_FACTORY,
    RECORD_SET_WRITER_FACTORY,
    TIME_FORMAT_PROPERTIES,
    WRITER_SCHEMA_PROPERTIES,
    OpenStream,
    RecordError,
    RecordReader,
    RecordReaderFactory,
    RecordSetWriter,
    RecordSetWriterFactory,
    SchemaSource,
    schema_access_strategy,
    time_formats,
    validate_schema_access,
    writer_attributes,
)
from flowyard.processors._records import (
    DataType,
    RecordField,
    RecordFieldType,
    RecordSchema,
    SchemaInference,
    TimeFormats,
    coerce,
    to_text,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    PropertyDependency,
    PropertySpec,
    ValidationResult,
    validators,
)

if TYPE_CHECKING:
    from flowyard.processors._records._columnar import CSVOptions

__all__ = ["CSVReader", "CSVRecordSetWriter"]

_CUSTOM = (PropertyDependency("csv-format", ("custom",)),)

CSV_FORMAT = PropertySpec(
    key="csv-format", display_name="CSV Format", description="The dialect of the CSV text.", required=True,
    default="custom",
    allowed_values=(
        AllowableValue("custom", "Custom Format", "The separator, quote, escape and other properties below."),
        AllowableValue("rfc-4180", "RFC 4180", "Comma separated, double quotes, CRLF line ends, no escape."),
        AllowableValue("excel", "Microsoft Excel", "As Excel writes CSV: comma separated, double quotes."),
        AllowableValue("tdf", "Tab-Delimited", "Tab separated, double quotes, fields trimmed."),
        AllowableValue("mysql", "MySQL Format", "Tab separated, no quotes, backslash escapes, \\N for null."),
        AllowableValue("informix-unload", "Informix Unload", "Pipe separated with backslash escapes."),
        AllowableValue("informix-unload-csv", "Informix Unload Escape Disabled", "Comma separated, no escape."),
    ),
)
VALUE_SEPARATOR = PropertySpec(
    key="value-separator", display_name="Value Separator",
    description="The character between values ('\\t' for a tab).", required=True, default=",",
    validator=validators.NON_EMPTY, dependencies=_CUSTOM,
)
RECORD_SEPARATOR = PropertySpec(
    key="record-separator", display_name="Record Separator",
    description="What ends a record when writing ('\\n', '\\r\\n'); the reader accepts any line end.",
    required=True, default="\\n", dependencies=_CUSTOM,
)
TREAT_FIRST_LINE_AS_HEADER = boolean_property(
    "skip-header-line", "Treat First Line as Header",
    "Whether the first line names the columns (it is then not a record).", "false", aliases=("Skip Header Line",),
)
IGNORE_HEADER = boolean_property(
    "ignore-csv-header", "Ignore CSV Header Column Names",
    "With a schema and a header line: take field names from the schema by position, not from the header.",
    "false", required=False,
)
QUOTE_CHARACTER = PropertySpec(
    key="quote-character", display_name="Quote Character", description="The character that quotes a value.",
    required=True, default='"', validator=validators.NON_EMPTY, dependencies=_CUSTOM,
)
ESCAPE_CHARACTER = PropertySpec(
    key="escape-character", display_name="Escape Character",
    description="The character that escapes the next one (empty: no escape character).", required=True,
    default="\\", dependencies=_CUSTOM,
)
COMMENT_MARKER = PropertySpec(
    key="comment-marker", display_name="Comment Marker",
    description="A character that, first on a line, makes the line a comment to skip.", dependencies=_CUSTOM,
)
NULL_STRING = PropertySpec(
    key="null-string", display_name="Null String",
    description="The text that stands for a null value (none: an empty value is an empty string).",
    dependencies=_CUSTOM,
)
TRIM_FIELDS = boolean_property(
    "trim-fields", "Trim Fields", "Whether spaces around each value are removed.", "true", dependencies=_CUSTOM,
)
CHARACTER_SET = PropertySpec(
    key="csvutils-character-set", display_name="Character Set", description="The character set of the text.",
    required=True, default="UTF-8", validator=validators.CHARACTER_SET,
)
CSV_PARSER = PropertySpec(
    key="csv-reader-csv-parser", display_name="CSV Parser",
    description="NiFi's choice of parsing library; flowyard parses every choice with Python's csv module.",
    required=True, default="commons-csv",
    allowed_values=(AllowableValue("commons-csv", "Apache Commons CSV"), AllowableValue("jackson-csv", "Jackson CSV"),
                    AllowableValue("fast-csv", "FastCSV")),
)
ALLOW_DUPLICATE_HEADER_NAMES = boolean_property(
    "csvutils-allow-duplicate-header-names", "Allow Duplicate Header Names",
    "Whether a header may name a column twice (the last such column wins); if not, such content fails.",
    "true", required=False, dependencies=_CUSTOM,
)
TRIM_DOUBLE_QUOTE = boolean_property(
    "trim-double-quote", "Trim Double Quote",
    "RFC 4180 only: whether the double quotes around a value are removed.", "true", aliases=("Trim double quote",),
    dependencies=(PropertyDependency("csv-format", ("rfc-4180",)),),
)


def _unescape(text: str) -> str:
    return codecs.decode(text, "unicode_escape") if "\\" in text and len(text) > 1 else text


@dataclass(frozen=True, slots=True)
class _Dialect:
    separator: str
    quote: str | None
    escape: str | None
    record_separator: str
    trim: bool
    null_string: str | None
    comment: str | None

    def reader_options(self) -> dict[str, Any]:
        # an escape before an ordinary character stays as it is in NiFi (so MySQL's \N is a null);
        # Python's csv would drop it, so the escape is off when the null string starts with it
        escape = self.escape
        if escape and self.null_string and self.null_string.startswith(escape):
            escape = None
        return {"delimiter": self.separator, "quotechar": self.quote or '"', "escapechar": escape,
                "quoting": csv.QUOTE_MINIMAL if self.quote else csv.QUOTE_NONE, "doublequote": True,
                "strict": False}


def _dialect(context: ConfigurationContext) -> _Dialect:
    fmt = context.property(CSV_FORMAT).raw
    if fmt in ("rfc-4180", "excel"):
        return _Dialect(",", '"', None, "\r\n", False, None, None)
    if fmt == "tdf":
        return _Dialect("\t", '"', None, "\r\n", True, None, None)
    if fmt == "mysql":
        return _Dialect("\t", None, "\\", "\n", False, "\\N", None)
    if fmt == "informix-unload":
        return _Dialect("|", '"', "\\", "\n", False, None, None)
    if fmt == "informix-unload-csv":
        return _Dialect(",", '"', None, "\n", False, None, None)
    separator = _unescape(context.property(VALUE_SEPARATOR).evaluate().as_str())
    quote = _unescape(context.property(QUOTE_CHARACTER).evaluate().as_str())
    escape = _unescape(context.property(ESCAPE_CHARACTER).evaluate().raw or "")
    comment = context.property(COMMENT_MARKER).evaluate().raw
    null = context.property(NULL_STRING).raw
    record_separator = _unescape(context.property(RECORD_SEPARATOR).raw or "\\n")
    return _Dialect(separator, quote or None, escape or None, record_separator,
                    context.property(TRIM_FIELDS).as_bool(), null if null else None, comment or None)


def _validate_dialect(context: ConfigurationContext) -> list[ValidationResult]:
    if context.property(CSV_FORMAT).raw != "custom":
        return []
    results = []
    for spec in (VALUE_SEPARATOR, QUOTE_CHARACTER, ESCAPE_CHARACTER, COMMENT_MARKER):
        raw = context.property(spec).raw
        if raw and "${" not in raw and len(_unescape(raw)) != 1:
            results.append(ValidationResult(spec.display_name, f"{raw!r} is not a single character", spec.key))
    return results


# -- reader ---------------------------------------------------------------------------------------


class _CSVRecordReader(RecordReader):
    def __init__(self, factory: CSVReader, attributes: Mapping[str, str], open_stream: OpenStream,
                 coerce_types: bool = True) -> None:
        from flowyard.processors._records._columnar import ArrowCSV
        self._f = factory
        self._coerce = coerce_types
        self._open = open_stream
        self._arrow = ArrowCSV(factory.columnar, open_stream) if factory.columnar is not None else None
        strategy = factory.schema_source.strategy
        if strategy in (INFER, HEADER_DERIVED):
            self.schema = self._derive(strategy)
        else:
            self.schema = factory.schema_source.schema(attributes)

    def _rows(self) -> Iterator[list[str | None]]:
        f = self._f
        d = f.dialect
        stream = self._open()
        try:
            text = io.TextIOWrapper(stream, encoding=f.charset, newline="")
            for row in csv.reader(text, **d.reader_options()):
                if not row or (len(row) == 1 and row[0] == ""):
                    continue  # blank lines are no records
                if d.comment and row[0].startswith(d.comment):
                    continue
                values: list[str | None] = []
                for value in row:
                    if d.trim:
                        value = value.strip()
                    values.append(None if d.null_string is not None and value == d.null_string else value)
                yield values
        except (csv.Error, UnicodeDecodeError) as exc:
            raise RecordError(f"the CSV text cannot be parsed: {exc}") from None
        finally:
            stream.close()

    def _header(self, rows: Iterator[list[str | None]]) -> list[str] | None:
        first = next(rows, None)
        if first is None:
            return None
        names = [v or f"field_{i}" for i, v in enumerate(first)]
        if not self._f.allow_duplicates and len(set(names)) != len(names):
            raise RecordError(f"the header names a column twice: {names}")
        return names

    def _derive(self, strategy: str) -> RecordSchema:
        from flowyard.processors._records._columnar import ColumnarFallback
        if strategy == INFER and self._arrow is not None:
            try:
                return self._arrow.infer()
            except ColumnarFallback:
                self._arrow = None  # the row path reads this content, both times
        rows = self._rows()
        header = self._header(rows)
        if header is None:
            return RecordSchema(())
        if strategy == HEADER_DERIVED:
            string = RecordFieldType.STRING.data_type()
            return RecordSchema(tuple(RecordField(n, string) for n in dict.fromkeys(header)))
        inference = SchemaInference(self._f.formats, text=True)
        inference.add(dict.fromkeys(header, ""))
        for row in rows:
            inference.add({name: value for name, value in zip(header, row, strict=False) if value is not None})
        return inference.schema()

    def batches(self) -> Iterator[Any] | None:
        """The records as Arrow batches (the columnar fast path), or None where it cannot serve."""
        from flowyard.processors._records._columnar import columnar_schema
        f = self._f
        if self._arrow is None or not self._coerce or columnar_schema(self.schema) is None:
            return None
        explicit = f.schema_source.explicit
        header_line = f.header or not explicit
        names = self.schema.field_names if explicit and (not header_line or f.ignore_header) else None
        return self._arrow.batches(self.schema, header_line, names)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        f = self._f
        rows = self._rows()
        schema = self.schema
        explicit = f.schema_source.explicit
        header_line = f.header or not explicit
        if header_line:
            header = self._header(rows)
            if header is None:
                return
            if explicit and f.ignore_header:
                header = schema.field_names
        else:
            header = schema.field_names
        fields = [schema.field(name) for name in header]
        converters = [None if field is None else _converter(field.data_type, f.formats) for field in fields]
        line = 1 if header_line else 0
        for row in rows:
            line += 1
            record: dict[str, Any] = {}
            for field, convert, value in zip(fields, converters, row, strict=False):
                if field is None or convert is None:
                    continue  # a column the schema does not have
                try:
                    record[field.name] = None if value is None else convert(value)
                except ValueError as exc:
                    if not self._coerce:
                        record[field.name] = value  # kept as read, for the caller to judge
                        continue
                    number = line - (1 if header_line else 0)
                    raise RecordError(f"record {number}: field {field.name!r}: {exc}") from None
            yield record


def _converter(data_type: DataType, formats: TimeFormats) -> Callable[[str], Any]:
    """How a text value becomes a value of ``data_type`` (fast paths for the common kinds)."""
    kind = data_type.field_type
    if kind is RecordFieldType.STRING:
        return _identity

    def general(value: str) -> Any:
        if value == "":
            return None  # NiFi reads an empty value of a non-string field as null
        return coerce(value, data_type, formats)

    if kind is RecordFieldType.INT or kind is RecordFieldType.LONG:
        limit = 2**31 if kind is RecordFieldType.INT else 2**63

        def whole(value: str) -> Any:
            if value.isdigit() and len(value) < 10:
                return int(value)
            return general(value) if value == "" or not (value.lstrip("-").isdigit() and value.isascii()) or \
                not -limit <= int(value) < limit else int(value)

        return whole
    if kind is RecordFieldType.DOUBLE or kind is RecordFieldType.FLOAT:

        def real(value: str) -> Any:
            try:
                return float(value)
            except ValueError:
                return general(value)

        return real
    return general


def _identity(value: str) -> str:
    return value


def _columnar_options(d: _Dialect, charset: str, formats: TimeFormats) -> CSVOptions | None:
    """The fast path's view of the dialect, or None when Arrow cannot parse it as Python's csv does."""
    from flowyard.processors._records._columnar import CSVOptions
    try:
        utf8 = codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return None
    if not utf8 or d.comment is not None or len(d.separator) != 1 or d.separator in "\r\n":
        return None
    options = d.reader_options()
    quote, escape = d.quote, options["escapechar"]
    for special in (quote, escape):
        if special is not None and (len(special) != 1 or special in "\r\n" or special == d.separator):
            return None
    if quote is not None and quote == escape:
        return None
    return CSVOptions(d.separator, quote, escape, d.trim, d.null_string, formats, _converter)


_READER_PROPERTIES = (
    schema_access_strategy(("schema-name", "schema-text-property", "schema-reference-reader",
                            HEADER_DERIVED, INFER), INFER),
    *READER_SCHEMA_PROPERTIES, CSV_PARSER, *TIME_FORMAT_PROPERTIES, CSV_FORMAT, VALUE_SEPARATOR,
    RECORD_SEPARATOR, TREAT_FIRST_LINE_AS_HEADER, IGNORE_HEADER, QUOTE_CHARACTER, ESCAPE_CHARACTER,
    COMMENT_MARKER, NULL_STRING, TRIM_FIELDS, CHARACTER_SET, ALLOW_DUPLICATE_HEADER_NAMES, TRIM_DOUBLE_QUOTE,
)


class CSVReader(ControllerService, RecordReaderFactory):
    """Reads CSV text as records, one line (or quoted multi-line value) per record.

    Schema: inferred from the header line and every value (Infer Schema: whole
    numbers int or long, decimal numbers double, true/false boolean, dates and
    times only when a Date/Time/Timestamp Format is set and matches; a column
    of mixed kinds becomes a choice), strings named by the header (Use String
    Fields From Header), or an Avro schema in Schema Text. With inference or
    header-derived strings the first line is always the header. A value that
    cannot be coerced to its field's type fails the whole flowfile with the
    record number and field in the message; an empty value of a non-string
    field is null.

    Where the dialect allows (UTF-8, no comment marker), the schema is inferred
    and, for writers that take them, the records are given as Arrow batches
    by Arrow's CSV reader (``processors/_records/_columnar.py``), with exactly
    the results of the row path; content that path cannot reproduce exactly is
    read row by row as before.

    Differences from NiFi: schema registries and schema reference readers are
    not supported yet (the strategies exist so NiFi flows load, and make the
    service invalid); the Schema Inference Cache is accepted but not used; the
    CSV Parser choice is accepted but every choice parses with Python's csv
    module; Schema Text takes only plain ``${attribute}`` references (no other
    Expression Language) and the separator, quote, escape and comment
    properties are evaluated once when the service is enabled (parameters
    only, not flowfile attributes); Trim Double Quote is always on.
    """

    spec = ControllerServiceSpec(
        description="Reads records from comma-separated (or other delimited) text.",
        provides=(RECORD_READER_FACTORY,),
        tags=("csv", "parse", "record", "row", "reader", "delimited", "comma", "separated", "values"),
        properties=_READER_PROPERTIES,
    )

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Unsupported schema strategies, bad date patterns and multi-character separators."""
        return [*validate_schema_access(context), *_validate_dialect(context)]

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Read the configuration once."""
        self.schema_source = SchemaSource(context)
        self.formats = time_formats(context)
        self.dialect = _dialect(context)
        self.header = context.property(TREAT_FIRST_LINE_AS_HEADER).as_bool()
        self.ignore_header = context.property(IGNORE_HEADER).raw == "true"
        self.allow_duplicates = context.property(ALLOW_DUPLICATE_HEADER_NAMES).raw != "false"
        self.charset = context.property(CHARACTER_SET).as_str()
        self.columnar = _columnar_options(self.dialect, self.charset, self.formats)

    def create_reader(self, attributes: Mapping[str, str], open_stream: OpenStream, *,
                      coerce_types: bool = True) -> RecordReader:
        """A reader of CSV content; with ``coerce_types`` False a value that cannot be converted to its
        field's type is kept as the text read (NiFi's ``nextRecord(coerceTypes=false)``)."""
        return _CSVRecordReader(self, attributes, open_stream, coerce_types)


# -- writer ---------------------------------------------------------------------------------------

QUOTE_MODE = PropertySpec(
    key="quote-mode", display_name="Quote Mode", description="Which values are quoted.", required=True,
    default="MINIMAL",
    allowed_values=(
        AllowableValue("ALL", "Quote All Values", "Every value."),
        AllowableValue("MINIMAL", "Quote Minimal", "Only values holding a separator, quote or line end."),
        AllowableValue("NON_NUMERIC", "Quote Non-Numeric Values", "Every value that is not a number."),
        AllowableValue("NONE", "Do Not Quote Values", "None; special characters are escaped instead."),
    ),
    dependencies=_CUSTOM,
)
INCLUDE_HEADER_LINE = boolean_property(
    "include-header-line", "Include Header Line", "Whether the first line names the fields.", "true")
INCLUDE_TRAILING_DELIMITER = boolean_property(
    "include-trailing-delimiter", "Include Trailing Delimiter",
    "Whether each line ends with a value separator.", "false", dependencies=_CUSTOM)
CSV_WRITER = PropertySpec(
    key="csv-writer", display_name="CSV Writer",
    description="NiFi's choice of writing library; flowyard writes every choice with Python's csv module.",
    required=True, default="commons-csv",
    allowed_values=(AllowableValue("commons-csv", "Apache Commons CSV"), AllowableValue("fast-csv", "FastCSV")),
)
_WRITER_CHARACTER_SET = PropertySpec(
    key="csvutils-character-set", display_name="Character Set", description="The character set of the text.",
    required=True, default="UTF-8", validator=validators.CHARACTER_SET,
)

_QUOTING = {"ALL": csv.QUOTE_ALL, "MINIMAL": csv.QUOTE_MINIMAL, "NON_NUMERIC": csv.QUOTE_NONNUMERIC,
            "NONE": csv.QUOTE_NONE}


class _CSVSetWriter(RecordSetWriter):
    mime_type = "text/csv"

    def __init__(self, factory: CSVRecordSetWriter, schema: RecordSchema) -> None:
        self._f = factory
        self._schema = schema

    def attributes(self) -> dict[str, str]:
        return writer_attributes(self._f.write_strategy, self._schema)

    def _cell(self, value: Any) -> Any:
        if value is None:
            return self._f.dialect.null_string or ""
        if isinstance(value, (dict, list)):
            return json.dumps(value, default=str, ensure_ascii=False)
        if self._f.quoting == csv.QUOTE_NONNUMERIC and isinstance(value, (int, float, Decimal)) and not isinstance(
                value, bool):
            return value if not isinstance(value, float) else float(to_text(value))
        return to_text(value, self._f.formats)

    def write(self, records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
        f = self._f
        d = f.dialect
        buffer = io.StringIO()
        quoting = f.quoting if d.quote else csv.QUOTE_NONE
        # as commons-csv: the escape character matters only when values are not quoted
        escape = d.escape if quoting == csv.QUOTE_NONE else None
        writer = csv.writer(buffer, delimiter=d.separator, quotechar=d.quote or '"', escapechar=escape,
                            quoting=cast(Any, quoting),
                            lineterminator=d.record_separator, doublequote=quoting != csv.QUOTE_NONE)
        names = self._schema.field_names
        trailing = [""] if f.trailing else []
        if f.include_header:
            writer.writerow([*names, *trailing])
        encoding = f.charset
        count = 0
        for record in records:
            writer.writerow([*(self._cell(record.get(name)) for name in names), *trailing])
            count += 1
            if buffer.tell() >= CHUNK:
                yield buffer.getvalue().encode(encoding)
                buffer.seek(0)
                buffer.truncate()
        self.record_count = count
        if buffer.tell():
            yield buffer.getvalue().encode(encoding)


class CSVRecordSetWriter(ControllerService, RecordSetWriterFactory):
    """Writes records as CSV text: a header line (unless turned off), then one
    line per record with the values in the schema's field order. Dates, times
    and timestamps are written with the Date/Time/Timestamp Format (NiFi's
    defaults otherwise), booleans as true/false, a null as the Null String (or
    nothing), a nested record, map or array as JSON text.

    Differences from NiFi: schema registries and schema reference writers are
    not supported (the choices exist so NiFi flows load and make the service
    invalid); the Schema Cache is accepted but not used; nested values are
    written as JSON text (NiFi writes them with Java's toString); the CSV Writer
    choice is accepted but Python's csv module writes every one; separator,
    quote and escape properties are evaluated once when the service is enabled.
    """

    spec = ControllerServiceSpec(
        description="Writes records as comma-separated (or other delimited) text.",
        provides=(RECORD_SET_WRITER_FACTORY,),
        tags=("csv", "result", "set", "recordset", "record", "writer", "serializer", "row", "tsv", "tab",
              "separated", "delimited"),
        properties=(
            *WRITER_SCHEMA_PROPERTIES,
            schema_access_strategy((("inherit-record-schema"), "schema-name", "schema-text-property"),
                                   "inherit-record-schema"),
            *READER_SCHEMA_PROPERTIES, *TIME_FORMAT_PROPERTIES, CSV_FORMAT, CSV_WRITER, VALUE_SEPARATOR,
            INCLUDE_HEADER_LINE, QUOTE_CHARACTER, ESCAPE_CHARACTER, COMMENT_MARKER, NULL_STRING, TRIM_FIELDS,
            QUOTE_MODE, RECORD_SEPARATOR, INCLUDE_TRAILING_DELIMITER, _WRITER_CHARACTER_SET,
        ),
    )

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Unsupported schema strategies, bad date patterns and multi-character separators."""
        results = [*validate_schema_access(context), *_validate_dialect(context)]
        if (context.property(CSV_FORMAT).raw == "custom" and context.property(QUOTE_MODE).raw == "NONE"
                and not (context.property(ESCAPE_CHARACTER).raw or "")):
            results.append(ValidationResult("Quote Mode", "'Do Not Quote Values' needs an Escape Character",
                                            QUOTE_MODE.key))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Read the configuration once."""
        self.schema_source = SchemaSource(context)
        self.formats = time_formats(context)
        self.dialect = _dialect(context)
        self.write_strategy = context.property("schema-write-strategy").raw or "no-schema"
        self.include_header = context.property(INCLUDE_HEADER_LINE).as_bool()
        custom = context.property(CSV_FORMAT).raw == "custom"
        self.quoting = _QUOTING[context.property(QUOTE_MODE).raw or "MINIMAL"] if custom else csv.QUOTE_MINIMAL
        self.trailing = custom and context.property(INCLUDE_TRAILING_DELIMITER).raw == "true"
        self.charset = context.property(_WRITER_CHARACTER_SET).as_str()

    def get_schema(self, attributes: Mapping[str, str], read_schema: RecordSchema | None) -> RecordSchema:
        """The reader's schema (Inherit Record Schema) or the Schema Text's."""
        if self.schema_source.strategy == "inherit-record-schema":
            if read_schema is None:
                raise RecordError("Inherit Record Schema needs the schema of the records read")
            return read_schema
        return self.schema_source.schema(attributes)

    def create_writer(self, schema: RecordSchema, attributes: Mapping[str, str]) -> RecordSetWriter:
        """A CSV writer of ``schema``."""
        return _CSVSetWriter(self, schema)
