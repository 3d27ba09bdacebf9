"""UpdateRecord: set the fields that RecordPaths select, to a literal (Expression Language)
or to what another RecordPath selects; records streamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flowyard.processors._record_processing import (
    RECORD_OR_PROCESSING_ERRORS,
    record_factories,
    record_reader_property,
    record_writer_property,
    route_to_failure,
    written_attributes,
)
from flowyard.processors._records import (
    DataType,
    RecordField,
    RecordFieldType,
    RecordSchema,
    coerce_record,
    infer_type,
    to_text,
)
from flowyard.processors._records._recordpath import FieldValue, RecordPath, with_added_fields
from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    PropertyValue,
    Relationship,
    ValidationResult,
)

__all__ = ["UpdateRecord"]

LITERAL = "literal-value"
RECORD_PATH = "record-path-value"

RECORD_READER = record_reader_property()
RECORD_WRITER = record_writer_property("The service that writes the updated records.")
REPLACEMENT_VALUE_STRATEGY = PropertySpec(
    key="replacement-value-strategy", display_name="Replacement Value Strategy",
    description="How the values of the dynamic properties are read.", required=True, default=LITERAL,
    allowed_values=(
        AllowableValue(LITERAL, "Literal Value",
                       "The value (after Expression Language, which may use the variables field.name, field.value, "
                       "field.type and record.index) is what the selected fields are set to."),
        AllowableValue(RECORD_PATH, "Record Path Value",
                       "The value (after Expression Language) is a RecordPath evaluated against the record; the "
                       "selected fields are set to what it selects."),
    ),
)

SUCCESS = Relationship("success", "FlowFiles whose records were all updated.")
FAILURE = Relationship("failure", "FlowFiles that could not be read, updated or written; unchanged, with "
                                  "record.error.message saying why.")


def _field_type_name(fv: FieldValue) -> str:
    return fv.effective_type.field_type.name


class UpdateRecord(Processor):
    """Updates each record of a flowfile: every dynamic property's name is a RecordPath
    selecting the fields to update, its value what they become.

    With Replacement Value Strategy "Literal Value" the value is Expression Language,
    evaluated for each selected field with the flowfile's attributes and the variables
    ``field.name``, ``field.value``, ``field.type`` (NiFi's type name, e.g. ``STRING``) and
    ``record.index`` (1 for the first record). With "Record Path Value" the value (after
    Expression Language) is a RecordPath: an absolute one is evaluated once per record, a
    relative one (``./x``, ``..``) against each selected field; several values selected become
    a record of them, none sets null. Selecting the root (``/``) replaces the whole record.

    A field of the schema keeps its type: the new value is converted to it, and a value that
    cannot be converted fails the flowfile. A field the record lacks is added (as NiFi does),
    and the written schema gains it: a literal value is a string, a RecordPath value keeps its
    type. The written schema is that of the first record after its update (as NiFi does).

    On success: ``record.count``, ``mime.type`` and the writer's attributes. On failure the
    flowfile goes to failure unchanged with ``record.error.message`` saying why (an invalid
    RecordPath, a value that does not fit its field, unreadable records), logged as an error.

    Differences from NiFi: a field updated with a value its type cannot take fails at once (NiFi
    fails when writing); ``record.error.message`` is set on failure (NiFi only logs).
    """

    spec = ProcessorSpec(
        description="Updates the contents of records using RecordPaths: each dynamic property's name selects "
                    "fields, its value is the new value (a literal with Expression Language, or a RecordPath).",
        tags=("update", "record", "generic", "schema", "json", "csv", "avro", "freeform", "text", "xml"),
        properties=(RECORD_READER, RECORD_WRITER, REPLACEMENT_VALUE_STRATEGY),
        relationships=(SUCCESS, FAILURE),
        dynamic_properties=DynamicPropertySpec(
            name_description="A RecordPath selecting the fields to update.",
            value_description="The value to set the fields to (a literal, or a RecordPath with Record Path Value)",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
        ),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            ("record.index", "The 1-based index of the record being updated; a variable of the literal value's "
                             "Expression Language, not a flowfile attribute."),
            ("record.count", "The number of records written."),
            ("mime.type", "The MIME type of the writer's output."),
            ("record.error.message", "Why the records could not be updated (failure only)."),
        ),
    )

    def validate(self, context: ProcessContext) -> list[ValidationResult]:
        """At least one RecordPath; each dynamic property name must be a valid RecordPath."""
        if not context.dynamic_properties:
            return [ValidationResult("User-defined Properties", "at least one RecordPath must be specified")]
        results = []
        for name, value in context.dynamic_properties.items():
            try:
                RecordPath.compile(name)
            except ValueError as exc:
                results.append(ValidationResult(name, str(exc), name))
                continue
            raw = value.raw or ""
            if context.properties.get(REPLACEMENT_VALUE_STRATEGY.key) == RECORD_PATH and "${" not in raw:
                try:
                    RecordPath.compile(raw)
                except ValueError as exc:
                    results.append(ValidationResult(name, f"the value is not a RecordPath: {exc}", name))
        return results

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Update one flowfile's records."""
        ff = session.get()
        if ff is None:
            return
        reader_factory, writer_factory = record_factories(context, RECORD_READER, RECORD_WRITER)
        by_path = context.property(REPLACEMENT_VALUE_STRATEGY).raw == RECORD_PATH
        attributes = ff.attributes
        original = ff
        try:
            updates: list[tuple[RecordPath, PropertyValue, RecordPath | None]] = []
            for name, value in context.dynamic_properties.items():
                replacement = RecordPath.compile(value.evaluate(attributes).as_str()) if by_path else None
                updates.append((RecordPath.compile(name), value, replacement))
            reader = reader_factory.create_reader(attributes, lambda: session.read(original))
            records = iter(reader)
            first = next(records, None)
            if first is None:
                schema = writer_factory.get_schema(attributes, reader.schema)
                writer = writer_factory.create_writer(schema, attributes)
                ff = session.write(ff, writer.write(iter(())))
            else:
                record, record_schema = self._update(first, reader.schema, updates, attributes, 1)
                schema = writer_factory.get_schema(attributes, record_schema)
                writer = writer_factory.create_writer(schema, attributes)
                ff = session.write(ff, writer.write(self._all(record, record_schema, records, reader.schema,
                                                              schema, updates, attributes)))
        except RECORD_OR_PROCESSING_ERRORS as exc:
            route_to_failure(context, session, original, exc, FAILURE, "update")
            return
        session.transfer(session.put_attributes(ff, written_attributes(writer)), SUCCESS)

    def _all(self, first: dict[str, Any], first_schema: RecordSchema, records: Iterator[dict[str, Any]],
             read_schema: RecordSchema, schema: RecordSchema,
             updates: list[tuple[RecordPath, PropertyValue, RecordPath | None]],
             attributes: dict[str, str] | Any) -> Iterator[dict[str, Any]]:
        yield first if first_schema == schema else coerce_record(first, schema)
        index = 1
        for raw in records:
            index += 1
            record, record_schema = self._update(raw, read_schema, updates, attributes, index)
            yield record if record_schema == schema else coerce_record(record, schema)

    def _update(self, record: dict[str, Any], schema: RecordSchema,
                updates: list[tuple[RecordPath, PropertyValue, RecordPath | None]], attributes: Any,
                index: int) -> tuple[dict[str, Any], RecordSchema]:
        for path, value, replacement in updates:
            evaluation = path.evaluate(record, schema)
            if replacement is None:
                for fv in evaluation.fields:
                    variables = {**attributes, "field.name": fv.name or "",
                                 "field.value": "" if fv.value is None else to_text(fv.value),
                                 "field.type": _field_type_name(fv), "record.index": str(index)}
                    self._set(fv, value.evaluate(variables).as_str(), None, path)
            else:
                replaced = self._by_path(record, schema, evaluation.fields, replacement, path)
                if replaced is not None:
                    record, schema = replaced
                    continue
            schema = with_added_fields(schema, evaluation.schema_updates)
        return record, schema

    def _by_path(self, record: dict[str, Any], schema: RecordSchema, destinations: list[FieldValue],
                 replacement: RecordPath, path: RecordPath) -> tuple[dict[str, Any], RecordSchema] | None:
        """Apply a Record Path Value; returns the new record and schema when the root is replaced."""
        absolute = replacement.is_absolute
        if len(destinations) == 1 and destinations[0].parent is None and destinations[0].value is record:
            selected = replacement.evaluate(record, schema, destinations[0]).fields
            return _as_record(selected, record, schema)
        shared = replacement.evaluate(record, schema).fields if absolute else None
        for fv in destinations:
            selected = shared if shared is not None else replacement.evaluate(record, schema, fv).fields
            new_value, data_type = _replacement(selected)
            self._set(fv, new_value, data_type, path)
        return None

    @staticmethod
    def _set(fv: FieldValue, new_value: Any, data_type: Any, path: RecordPath) -> None:
        try:
            fv.update_value(new_value, data_type)
        except ValueError as exc:
            raise ValueError(f"cannot update {fv.name!r} selected by {path.text!r}: {exc}") from None


def _replacement(selected: list[FieldValue]) -> tuple[Any, Any]:
    """NiFi's replacement object: nothing → null, one value → it, several → a record of them."""
    if not selected:
        return None, None
    if len(selected) == 1:
        return selected[0].value, selected[0].effective_type
    made, made_schema = _record_of(selected)
    return made, DataType.record(made_schema)


def _record_of(selected: list[FieldValue]) -> tuple[dict[str, Any], RecordSchema]:
    values: dict[str, Any] = {}
    fields: dict[str, RecordField] = {}
    for fv in selected:
        name = fv.name or "value"
        values[name] = fv.value
        fields[name] = RecordField(name, fv.effective_type)
    return values, RecordSchema(tuple(fields.values()))


def _as_record(selected: list[FieldValue], record: dict[str, Any],
               schema: RecordSchema) -> tuple[dict[str, Any], RecordSchema]:
    """The root replaced by what the RecordPath selected (NiFi's rules)."""
    if not selected:
        return record, schema
    if len(selected) == 1:
        value = selected[0].value
        if isinstance(value, dict):
            data_type = selected[0].effective_type
            if data_type.field_type is RecordFieldType.RECORD and data_type.schema is not None:
                return value, data_type.schema
            inferred = infer_type(value)
            if inferred is not None and inferred.schema is not None:
                return value, inferred.schema
    return _record_of(selected)
