"""ValidateRecord: check each record against a schema; valid records to ``valid``,
invalid ones to ``invalid`` with the reasons."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, cast

from flowyard.processors._common import boolean_property
from flowyard.processors._record_processing import (
    RECORD_ERRORS,
    conformed,
    record_factories,
    record_reader_property,
    record_writer_property,
    route_to_failure,
    written_attributes,
)
from flowyard.processors._record_services import (
    RECORD_SET_WRITER_FACTORY,
    SCHEMA_BRANCH,
    SCHEMA_NAME,
    SCHEMA_NAME_PROP,
    SCHEMA_REGISTRY_API,
    SCHEMA_TEXT,
    SCHEMA_TEXT_PROPERTY,
    SCHEMA_VERSION,
    RecordError,
    RecordSetWriterFactory,
    SchemaSource,
    validate_schema_access,
)
from flowyard.processors._records import (
    DataType,
    RecordFieldType,
    RecordSchema,
    coerce,
    coerce_record,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    PropertyValueError,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["RecordValidator", "ValidateRecord"]

T = RecordFieldType
READER_SCHEMA = "reader-schema"

RECORD_READER = record_reader_property()
RECORD_WRITER = record_writer_property(
    "The service that writes the valid records (and the invalid ones unless Record Writer for Invalid Records is "
    "set).")
INVALID_RECORD_WRITER = PropertySpec(
    key="invalid-record-writer", display_name="Record Writer for Invalid Records",
    description="The service that writes the invalid records; the Record Writer when unset.",
    identifies_controller_service=RECORD_SET_WRITER_FACTORY,
)
SCHEMA_REGISTRY = PropertySpec(
    key="schema-registry", display_name="Schema Registry",
    description="The schema registry the Schema Name is looked up in (e.g. an AvroSchemaRegistry).",
    identifies_controller_service=SCHEMA_REGISTRY_API,
    dependencies=(PropertyDependency("schema-access-strategy", (SCHEMA_NAME,)),),
)
SCHEMA_ACCESS_STRATEGY = PropertySpec(
    key="schema-access-strategy", display_name="Schema Access Strategy",
    description="Where the schema the records are validated against comes from.", required=True,
    default=READER_SCHEMA,
    allowed_values=(
        AllowableValue(READER_SCHEMA, "Use Reader's Schema", "The schema the Record Reader reads the records with."),
        AllowableValue(SCHEMA_NAME, "Use 'Schema Name' Property",
                       "The schema named by Schema Name (and Version/Branch) in the Schema Registry."),
        AllowableValue(SCHEMA_TEXT_PROPERTY, "Use 'Schema Text' Property", "The Avro schema in Schema Text."),
    ),
)
ALLOW_EXTRA_FIELDS = boolean_property(
    "allow-extra-fields", "Allow Extra Fields",
    "Whether a record may have fields the validation schema does not have (if not, such a record is invalid).",
    "true",
)
STRICT_TYPE_CHECKING = boolean_property(
    "strict-type-checking", "Strict Type Checking",
    "Whether a value must already be of its field's type (e.g. the text \"12\" is not an int); if not, a value "
    "that can be converted to the type is valid (and written converted).", "true",
)
COERCE_TYPES = boolean_property(
    "coerce-types", "Force Types From Reader Schema",
    "Whether the reader converts every value to its schema's types before validation (a value it cannot convert "
    "then fails the whole flowfile); if not, values are converted where possible and kept as read otherwise, so "
    "the record is judged invalid.", "false",
)
VALIDATION_DETAILS_ATTRIBUTE_NAME = PropertySpec(
    key="validation-details-attribute-name", display_name="Validation Details Attribute Name",
    description="The attribute the invalid flowfile gets the reasons in (none when unset).",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
MAX_VALIDATION_DETAILS_LENGTH = PropertySpec(
    key="maximum-validation-details-length", display_name="Maximum Validation Details Length",
    description="The most characters of the reasons kept in the validation details attribute.", default="1024",
    validator=validators.POSITIVE_INTEGER, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)

VALID = Relationship("valid", "The valid records of each flowfile, written with the Record Writer in the validation "
                              "schema.")
INVALID = Relationship("invalid", "The invalid records of each flowfile, as read, with the reasons.")
FAILURE = Relationship("failure", "Flowfiles whose records could not be read or written, or whose validation schema "
                                  "cannot be found; unchanged, with record.error.message.")

_INT_RANGES = {T.BYTE: 2**7, T.SHORT: 2**15, T.INT: 2**31, T.LONG: 2**63}
_MAX_PROBLEMS = 100


@dataclass
class Problems:
    """The validation problems of a flowfile's records, by kind, as field paths."""

    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    wrong_type: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        bucket: list[str] = getattr(self, kind)
        if text not in bucket and len(bucket) < _MAX_PROBLEMS:
            bucket.append(text)

    def explanation(self) -> str:
        """NiFi's wording: each kind of problem with the fields it concerns."""
        parts = []
        for items, what in ((self.missing, "fields were missing"),
                            (self.extra, "fields were present in the Record but not in the schema"),
                            (self.wrong_type, "fields had values whose type did not match the schema"),
                            (self.other, "additional problems were encountered")):
            if items:
                parts.append(f"The following {len(items)} {what}: [{', '.join(items)}]")
        return "Records in this FlowFile were invalid for the following reasons: " + "; ".join(parts)


class RecordValidator:
    """Checks records against a schema as NiFi's ``StandardSchemaValidator`` does."""

    def __init__(self, schema: RecordSchema, *, strict: bool, allow_extra: bool) -> None:
        self.schema = schema
        self.strict = strict
        self.allow_extra = allow_extra

    def problems(self, record: Mapping[str, Any], into: Problems | None = None) -> Problems | None:
        """The problems of ``record`` (added to ``into``), or None when it is valid."""
        found = Problems() if into is None else into
        ok = self._check_record(record, self.schema, "", found)
        return None if ok else found

    def _check_record(self, record: Mapping[str, Any], schema: RecordSchema, prefix: str, problems: Problems) -> bool:
        ok = True
        for f in schema.fields:
            path = f"{prefix}/{f.name}"
            present = f.name in record or any(a in record for a in f.aliases)
            value = record.get(f.name) if f.name in record else next(
                (record[a] for a in f.aliases if a in record), None)
            if not present:
                if not f.nullable and f.default is None:
                    problems.add("missing", path)
                    ok = False
                continue
            if value is None:
                if not f.nullable:
                    problems.add("other", f"{path} (the field cannot be null)")
                    ok = False
                continue
            if not self._check_value(value, f.data_type, path, problems):
                ok = False
        if not self.allow_extra:
            for name in record:
                if schema.field(name) is None:
                    problems.add("extra", f"{prefix}/{name}")
                    ok = False
        return ok

    def _check_value(self, value: Any, data_type: DataType, path: str, problems: Problems) -> bool:
        kind = data_type.field_type
        if kind is T.CHOICE:
            scratch = Problems()
            if any(self._check_value(value, choice, path, scratch) for choice in data_type.choices):
                return True
            problems.add("wrong_type", f"{path} ({_type_name(value)} is none of {data_type})")
            return False
        if kind is T.RECORD and isinstance(value, Mapping):
            return self._check_record(value, data_type.schema or RecordSchema(()), path, problems)
        if kind is T.ARRAY and isinstance(value, (list, tuple)):
            element = data_type.element
            if element is None:
                return True
            return all([self._check_value(v, element, f"{path}[{i}]", problems)
                        for i, v in enumerate(value) if v is not None])
        if kind is T.MAP and isinstance(value, Mapping):
            element = data_type.element
            if not all(isinstance(k, str) for k in value):
                problems.add("wrong_type", f"{path} (map keys must be text)")
                return False
            if element is None:
                return True
            return all([self._check_value(v, element, f"{path}['{k}']", problems)
                        for k, v in value.items() if v is not None])
        if _is_of_type(value, data_type):
            return True
        if not self.strict and kind not in (T.RECORD, T.ARRAY, T.MAP):
            try:
                coerce(value, data_type)
                return True
            except (ValueError, TypeError, ArithmeticError):
                pass
        problems.add("wrong_type", f"{path} (a value of type {_type_name(value)} where {data_type} is expected)")
        return False


def _type_name(value: Any) -> str:
    return {str: "STRING", bool: "BOOLEAN", int: "LONG", float: "DOUBLE", Decimal: "DECIMAL", dict: "RECORD",
            list: "ARRAY", bytes: "ARRAY[BYTE]", datetime: "TIMESTAMP", date: "DATE", time: "TIME",
            uuid.UUID: "UUID"}.get(type(value), type(value).__name__)


def _is_of_type(value: Any, data_type: DataType) -> bool:
    """Whether ``value`` already is of ``data_type`` (strict type checking)."""
    kind = data_type.field_type
    if kind in (T.STRING,):
        return isinstance(value, str)
    if kind is T.CHAR:
        return isinstance(value, str) and len(value) == 1
    if kind is T.ENUM:
        return isinstance(value, str) and (not data_type.symbols or value in data_type.symbols)
    if kind is T.UUID:
        return isinstance(value, uuid.UUID)
    if kind is T.BOOLEAN:
        return isinstance(value, bool)
    if kind in _INT_RANGES:
        bound = _INT_RANGES[kind]
        return isinstance(value, int) and not isinstance(value, bool) and -bound <= value < bound
    if kind is T.BIGINT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is T.FLOAT:
        return isinstance(value, float) and (not math.isfinite(value) or abs(value) <= 3.4028234663852886e38)
    if kind is T.DOUBLE:
        return isinstance(value, float)
    if kind is T.DECIMAL:
        return isinstance(value, Decimal)
    if kind is T.TIMESTAMP:
        return isinstance(value, datetime)
    if kind is T.DATE:
        return isinstance(value, date) and not isinstance(value, datetime)
    if kind is T.TIME:
        return isinstance(value, time)
    if kind is T.ARRAY:
        return isinstance(value, (bytes, bytearray)) and data_type.element is not None and (
            data_type.element.field_type is T.BYTE)
    return False


class ValidateRecord(Processor):
    """Validates each record of a flowfile against a schema: the reader's own
    (Use Reader's Schema), Schema Text, or a schema registry's (Use 'Schema
    Name' Property). A record is invalid when a field that is not nullable is
    missing (and has no default) or null, when a value is not of its field's
    type (with Strict Type Checking; without it, when it cannot be converted
    to the type: ``"12"`` is a valid int, ``"twelve"`` is not), or, with Allow
    Extra Fields false, when it has a field the schema lacks. Nested records,
    arrays, maps and choices are checked to the bottom; problems are named by
    field path (``/address/zip``, ``/tags[2]``).

    The valid records go to ``valid`` written with the Record Writer in the
    validation schema (values converted to its types); the invalid ones go to
    ``invalid`` as they were read, written with the Record Writer for Invalid
    Records (or the Record Writer), with the reasons in the Validation Details
    Attribute Name attribute (when set; cut to Maximum Validation Details
    Length) and in the provenance details. Both get ``record.count``,
    ``mime.type`` and the writer's attributes, and ``valid.record.count`` /
    ``invalid.record.count`` (flowyard's). A flowfile whose records are all
    valid (or that has none) goes to ``valid`` with its records rewritten; all
    invalid, to ``invalid``; a mix: the input with the valid records to
    ``valid`` and a child with the invalid ones to ``invalid`` (NiFi makes
    new flowfiles for both and drops the input). Records stream: the content
    is read once to validate, then once more for each output, so memory is
    bounded by one record and the writers' buffers.

    When the records cannot be read or written, or the validation schema
    cannot be found, the input goes to ``failure`` unchanged with
    ``record.error.message`` (and an error bulletin).

    With Force Types From Reader Schema false (the default) the reader
    converts a value to its field's type where it can and keeps it as read
    otherwise, so a record holding ``Three`` in an int field is invalid
    (``wrong_type``) while the others stay valid; with true, such a value
    fails the whole flowfile, as in NiFi.

    Differences from NiFi: valid records are converted to the
    validation schema's types by every writer (NiFi's JSON writer writes them
    unconverted). ``valid.record.count``/``invalid.record.count`` and
    ``record.error.message`` are flowyard's.
    """

    spec = ProcessorSpec(
        description="Validates the records of a flowfile against a schema, routing valid records to 'valid' and "
                    "invalid ones to 'invalid'.",
        tags=("record", "schema", "validate"),
        properties=(RECORD_READER, RECORD_WRITER, INVALID_RECORD_WRITER, SCHEMA_ACCESS_STRATEGY, SCHEMA_REGISTRY,
                    SCHEMA_NAME_PROP, SCHEMA_BRANCH, SCHEMA_VERSION, SCHEMA_TEXT, ALLOW_EXTRA_FIELDS,
                    STRICT_TYPE_CHECKING, COERCE_TYPES, VALIDATION_DETAILS_ATTRIBUTE_NAME,
                    MAX_VALIDATION_DETAILS_LENGTH),
        relationships=(VALID, INVALID, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            ("mime.type", "The MIME type of the writer's output."),
            ("record.count", "The number of records in the flowfile."),
            ("valid.record.count", "The number of valid records of the input (flowyard's)."),
            ("invalid.record.count", "The number of invalid records of the input (flowyard's)."),
            ("record.error.message", "Why the flowfile could not be validated (failure only)."),
        ),
    )

    def validate(self, context: ProcessContext) -> list[ValidationResult]:
        """The schema configuration must be servable."""
        results = [r for r in validate_schema_access(cast(Any, context)) if r.subject != "Schema Write Strategy"]
        if context.property(SCHEMA_ACCESS_STRATEGY).raw == SCHEMA_TEXT_PROPERTY:
            try:
                SchemaSource(cast(Any, context))
            except RecordError as exc:
                results.append(ValidationResult("Schema Text", str(exc), SCHEMA_TEXT.key))
        return results

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Validate one flowfile."""
        ff = session.get()
        if ff is None:
            return
        created: list[FlowFile] = []
        try:
            self._validate(context, session, ff, created)
        except RECORD_ERRORS as exc:
            route_to_failure(context, session, ff, exc, FAILURE, "validate", created=created)

    def _validate(self, context: ProcessContext, session: ProcessSession, ff: FlowFile,
                  created: list[FlowFile]) -> None:
        attributes = ff.attributes
        reader_factory, writer_factory = record_factories(context, RECORD_READER, RECORD_WRITER)
        invalid_property = context.property(INVALID_RECORD_WRITER)
        invalid_factory = (invalid_property.as_controller_service(RecordSetWriterFactory)
                           if invalid_property.is_set else writer_factory)
        try:
            details_name = context.property(VALIDATION_DETAILS_ATTRIBUTE_NAME).evaluate(attributes).raw or ""
            max_details = context.property(MAX_VALIDATION_DETAILS_LENGTH).evaluate(attributes).as_int()
        except PropertyValueError as exc:
            raise ValueError(str(exc)) from None
        source = SchemaSource(cast(Any, context))
        coerce_types = context.property(COERCE_TYPES).as_bool()
        reader = reader_factory.create_reader(attributes, lambda: session.read(ff), coerce_types=coerce_types)
        schema = reader.schema if source.strategy == READER_SCHEMA else source.schema(attributes)
        validator = RecordValidator(schema, strict=context.property(STRICT_TYPE_CHECKING).as_bool(),
                                    allow_extra=context.property(ALLOW_EXTRA_FIELDS).as_bool())
        problems = Problems()
        valid_count = invalid_count = 0
        for record in reader:
            if validator.problems(record, problems) is None:
                valid_count += 1
            else:
                invalid_count += 1
        tallies = {"valid.record.count": str(valid_count), "invalid.record.count": str(invalid_count)}
        explanation = problems.explanation()
        invalid_out: FlowFile | None = None
        if invalid_count:
            # Written first: it reads the input, which the valid records may then replace.
            target = ff if not valid_count else session.create(ff)
            if target is not ff:
                created.append(target)
            second = reader_factory.create_reader(attributes, lambda: session.read(ff), coerce_types=coerce_types)
            invalid_schema = invalid_factory.get_schema(attributes, second.schema)
            records = conformed((r for r in second if validator.problems(r) is not None), second.schema,
                                invalid_schema)
            invalid_writer = invalid_factory.create_writer(invalid_schema, attributes)
            target = session.write(target, invalid_writer.write(records))
            if created and created[-1] is not ff:
                created[-1] = target
            extra = {details_name: explanation[:max_details]} if details_name else {}
            invalid_out = session.put_attributes(target, {**written_attributes(invalid_writer), **tallies, **extra})
        valid_out: FlowFile | None = None
        if valid_count or not invalid_count:
            third = reader_factory.create_reader(attributes, lambda: session.read(ff), coerce_types=coerce_types)
            valid_schema = writer_factory.get_schema(attributes, schema)
            valid_records = (coerce_record(r, schema) for r in third if validator.problems(r) is None)
            valid_writer = writer_factory.create_writer(valid_schema, attributes)
            written = session.write(ff, valid_writer.write(valid_records))
            valid_out = session.put_attributes(written, {**written_attributes(valid_writer), **tallies})
        if invalid_out is not None:
            session.provenance.route(invalid_out, INVALID, explanation)
            session.transfer(invalid_out, INVALID)
        if valid_out is not None:
            session.transfer(valid_out, VALID)
