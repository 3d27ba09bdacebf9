"""ForkRecord: one record per element of the arrays RecordPaths select (split or extract)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from flowyard.processors._common import boolean_property
from flowyard.processors._record_processing import (
    RECORD_OR_PROCESSING_ERRORS,
    dynamic_record_path_problems,
    record_factories,
    record_reader_property,
    record_writer_property,
    route_to_failure,
    written_attributes,
)
from flowyard.processors._records import RecordField, RecordFieldType, RecordSchema, coerce_record
from flowyard.processors._records._recordpath import FieldValue, RecordPath
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
    Relationship,
    ValidationResult,
)

__all__ = ["ForkRecord"]

SPLIT = "split"
EXTRACT = "extract"

RECORD_READER = record_reader_property()
RECORD_WRITER = record_writer_property("The service that writes the forked records.")
MODE = PropertySpec(
    key="fork-mode", display_name="Mode", description="How each element of an array becomes a record.",
    required=True, default=SPLIT,
    allowed_values=(
        AllowableValue(EXTRACT, "Extract", "Each element (a record) of the array is written as a record of its own."),
        AllowableValue(SPLIT, "Split", "The whole record is written once per element, its array holding only "
                                      "that element."),
    ),
)
INCLUDE_PARENT_FIELDS = boolean_property(
    "include-parent-fields", "Include Parent Fields",
    "In Extract mode: whether the fields of the records enclosing the array (up to the root) are added to each "
    "extracted record, unless it already has a value of that name.", "false",
)

ORIGINAL = Relationship("original", "The incoming flowfile, once forked.")
FAILURE = Relationship("failure", "FlowFiles that could not be forked; unchanged, with record.error.message.")
FORK = Relationship("fork", "The forked records, in one flowfile per incoming flowfile.")


def _with_value(fv: FieldValue, new_value: Any) -> dict[str, Any]:
    """The root record copied along the way to ``fv`` (nothing else is copied), with ``fv`` set to
    ``new_value``: the original record stays as it is."""
    chain: list[FieldValue] = []
    node: FieldValue | None = fv
    while node is not None:
        chain.append(node)
        node = node.parent
    chain.reverse()
    root: dict[str, Any] = copy.copy(chain[0].value)
    current: Any = root
    for step in chain[1:]:
        if step is fv:
            current[step.key] = new_value
        else:
            nested = copy.copy(step.value)
            current[step.key] = nested
            current = nested
    return root


def _parent_fields(fv: FieldValue, skip: str | None) -> Iterator[tuple[RecordField | None, str, Any]]:
    """(field, name, value) of every record enclosing ``fv``, nearest first."""
    node: FieldValue | None = fv
    while node is not None:
        record = node.parent_record() if node.record_field else None
        parent = node.parent
        if record is not None and parent is not None:
            schema = parent.effective_type.schema if parent.effective_type.field_type is RecordFieldType.RECORD \
                else None
            names = schema.field_names if schema is not None else list(record)
            for name in names:
                if node is fv and name == skip:
                    continue
                yield (schema.field(name) if schema is not None else None), name, record.get(name)
        node = parent


class ForkRecord(Processor):
    """Forks records over arrays: each dynamic property's value is a RecordPath (Expression
    Language allowed) selecting array fields; every element of every array selected in a record
    gives one output record, all written to one flowfile on fork (with ``record.count``,
    ``mime.type`` and the writer's attributes; there is one even when it holds no record). The
    incoming flowfile goes to original.

    In Split mode the whole record is written once per element, the array holding only that
    element. In Extract mode each element that is a record is written on its own; with Include
    Parent Fields, the fields of the enclosing records (up to the root, nearest first, other
    than the array itself) are added where the element has no value of that name. Fields that
    are not arrays and null arrays are skipped.

    The written schema: in Split mode the reader's; in Extract mode the first extracted record's
    (with the parent fields), unless the writer has a schema of its own. Records stream. On any
    error the flowfile goes to failure with ``record.error.message`` and no fork is sent.

    Differences from NiFi: in Extract mode a writer that inherits the schema gets the extracted
    records' schema (NiFi gives it the incoming records' schema, dropping the element's fields);
    several arrays selected in one record are each split from the unchanged record (NiFi leaves
    earlier arrays cut to their last element); ``record.error.message`` is set on failure.
    """

    spec = ProcessorSpec(
        description="Splits the records of a flowfile over array fields selected by RecordPaths: one record per "
                    "array element, either the whole record (split) or the element itself (extract).",
        tags=("fork", "record", "content", "array", "stream", "event"),
        properties=(RECORD_READER, RECORD_WRITER, MODE, INCLUDE_PARENT_FIELDS),
        relationships=(ORIGINAL, FAILURE, FORK),
        dynamic_properties=DynamicPropertySpec(
            name_description="A name for the RecordPath",
            value_description="A RecordPath to array fields to fork",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
        ),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            ("record.count", "The number of records in the fork."),
            ("mime.type", "The MIME type of the writer's output."),
            ("<Attributes from Record Writer>", "What the Record Writer sets."),
            ("record.error.message", "Why the flowfile could not be forked (failure only)."),
        ),
    )

    def validate(self, context: ProcessContext) -> list[ValidationResult]:
        """At least one RecordPath; each (without Expression Language) must be valid."""
        if not context.dynamic_properties:
            return [ValidationResult("User-defined Properties", "at least one RecordPath to an array must be added "
                                     "as a dynamic property")]
        return dynamic_record_path_problems(context)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Fork one flowfile."""
        ff = session.get()
        if ff is None:
            return
        original = ff
        attributes = ff.attributes
        fork = None
        try:
            reader_factory, writer_factory = record_factories(context, RECORD_READER, RECORD_WRITER)
            split = context.property(MODE).raw != EXTRACT
            parents = context.property(INCLUDE_PARENT_FIELDS).as_bool()
            paths = []
            for value in context.dynamic_properties.values():
                text = value.evaluate(attributes).as_str()
                if text.strip():
                    paths.append(RecordPath.compile(text))
            reader = reader_factory.create_reader(attributes, lambda: session.read(original))
            forked = self._forked(iter(reader), reader.schema, paths, split, parents)
            first = next(forked, None)
            schema = writer_factory.get_schema(attributes, first[1] if first is not None else reader.schema)
            writer = writer_factory.create_writer(schema, attributes)
            fork = session.create(original)
            fork = session.write(fork, writer.write(self._coerced(first, forked, schema)))
        except RECORD_OR_PROCESSING_ERRORS as exc:
            route_to_failure(context, session, original, exc, FAILURE, "fork",
                             created=[fork] if fork is not None else [])
            return
        session.transfer(session.put_attributes(fork, written_attributes(writer)), FORK)
        session.transfer(original, ORIGINAL)

    @staticmethod
    def _coerced(first: tuple[dict[str, Any], RecordSchema] | None,
                 rest: Iterator[tuple[dict[str, Any], RecordSchema]], schema: RecordSchema) -> Iterator[dict[str, Any]]:
        if first is None:
            return
        record, record_schema = first
        yield record if record_schema == schema else coerce_record(record, schema)
        for record, record_schema in rest:
            yield record if record_schema == schema else coerce_record(record, schema)

    @staticmethod
    def _forked(records: Iterator[dict[str, Any]], schema: RecordSchema, paths: list[RecordPath], split: bool,
                parents: bool) -> Iterator[tuple[dict[str, Any], RecordSchema]]:
        for record in records:
            for path in paths:
                for fv in path.evaluate(record, schema).fields:
                    if not isinstance(fv.value, list) or fv.effective_type.field_type is not RecordFieldType.ARRAY:
                        continue
                    if split:
                        for item in fv.value:
                            yield _with_value(fv, [item]), schema
                        continue
                    for element in fv.elements():
                        if not isinstance(element.value, dict):
                            continue
                        yield ForkRecord._extracted(element, fv, parents)

    @staticmethod
    def _extracted(element: FieldValue, array: FieldValue, parents: bool) -> tuple[dict[str, Any], RecordSchema]:
        element_type = element.effective_type
        schema = element_type.schema if element_type.field_type is RecordFieldType.RECORD else None
        out = dict(element.value)
        fields = list(schema.fields) if schema is not None else [
            RecordField(name, FieldValue(v, name, None, None).effective_type) for name, v in out.items()]
        if parents:
            known = {f.name for f in fields}
            for field, name, value in _parent_fields(array, array.name):
                if out.get(name) is None:
                    out[name] = value
                if name not in known:
                    known.add(name)
                    fields.append(field or RecordField(name, FieldValue(value, name, None, None).effective_type))
        return out, RecordSchema(tuple(fields), schema.name if schema is not None else None)
