"""FreeFormTextRecordSetWriter: each record as a line of text made by an
Expression Language template (NiFi's FreeFormTextRecordSetWriter). See
``processors/_record_services.py`` for the writer API.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from flowyard.processors._record_services import (
    CHUNK,
    RECORD_SET_WRITER_FACTORY,
    RecordError,
    RecordSetWriter,
    RecordSetWriterFactory,
)
from flowyard.processors._records import RecordSchema, to_text
from flowyard.runtime.sdk import (
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    ExpressionScope,
    PropertySpec,
    validators,
)

__all__ = ["FreeFormTextRecordSetWriter"]

TEXT = PropertySpec(
    key="Text", display_name="Text",
    description="The text written for each record, followed by a newline. Expression Language is evaluated for "
                "each record with the record's fields as variables (e.g. ${name}, ${age:plus(1)}), then the "
                "flowfile's attributes; a field wins over an attribute of the same name unless the field is null.",
    required=True, validator=validators.NON_EMPTY, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
CHARACTER_SET = PropertySpec(
    key="Character Set", display_name="Character Set", description="The character set of the text written.",
    required=True, default="UTF-8", validator=validators.CHARACTER_SET,
)


def _text(value: Any) -> str:
    """A field's value as the template sees it (nested values as compact JSON)."""
    return to_text(value)


class _FreeFormWriter(RecordSetWriter):
    mime_type = "text/plain"

    def __init__(self, factory: FreeFormTextRecordSetWriter, schema: RecordSchema,
                 attributes: Mapping[str, str]) -> None:
        self._f = factory
        self._schema = schema
        self._attributes = dict(attributes)

    def write(self, records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
        template = self._f.template
        encoder = codecs.getincrementalencoder(self._f.charset)(errors="replace")
        names = [(name, f.name) for f in self._schema.fields for name in (f.name, *f.aliases)]
        attributes = self._attributes
        parts: list[str] = []
        size = 0
        count = 0
        for record in records:
            count += 1
            variables = dict(attributes)
            for name, field_name in names:
                value = record.get(field_name)
                if value is not None:  # a null field lets an attribute of the same name through, as in NiFi
                    variables[name] = _text(value)
            for name, value in record.items():  # fields the schema does not list
                if name not in variables and value is not None:
                    variables[name] = _text(value)
            try:
                line = template.evaluate(variables).value or ""
            except ValueError as exc:
                raise RecordError(f"record {count}: the Text cannot be evaluated: {exc}") from None
            parts.append(line)
            parts.append("\n")
            size += len(line) + 1
            if size >= CHUNK:
                yield encoder.encode("".join(parts))
                parts.clear()
                size = 0
        self.record_count = count
        tail = encoder.encode("".join(parts), True)
        if tail:
            yield tail


class FreeFormTextRecordSetWriter(ControllerService, RecordSetWriterFactory):
    """Writes each record as the Text property evaluated as Expression
    Language, followed by a newline (``\\n``). The record's fields are the
    expression's variables (a field's aliases too), then the flowfile's
    attributes: a field wins over an attribute of the same name unless the
    field is null. Values are seen as text: numbers and booleans as NiFi
    writes them, dates in NiFi's default formats. The output is encoded in the
    Character Set (a character it cannot encode becomes ``?``, as Java does)
    and streams as records come. Zero records give no output. The schema is
    always the records' own. An expression that fails on a record (e.g. a
    division by zero) fails the flowfile naming the record.

    Differences from NiFi: nested records, maps and arrays are seen as JSON
    text (NiFi shows Java's ``toString`` of them).
    """

    spec = ControllerServiceSpec(
        description="Writes each record as free-form text: the Text property evaluated with the record's fields "
                    "as Expression Language variables, one line per record.",
        provides=(RECORD_SET_WRITER_FACTORY,),
        tags=("text", "freeform", "expression", "language", "el", "record", "recordset", "resultset", "writer",
              "serialize"),
        properties=(TEXT, CHARACTER_SET),
    )

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Read the configuration once (the Text is evaluated per record)."""
        self.template = context.property(TEXT)
        self.charset = codecs.lookup(context.property(CHARACTER_SET).as_str().strip()).name

    def get_schema(self, attributes: Mapping[str, str], read_schema: RecordSchema | None) -> RecordSchema:
        """The schema of the records read."""
        if read_schema is None:
            raise RecordError("FreeFormTextRecordSetWriter needs the schema of the records read")
        return read_schema

    def create_writer(self, schema: RecordSchema, attributes: Mapping[str, str]) -> RecordSetWriter:
        """A writer whose expressions also see ``attributes``."""
        return _FreeFormWriter(self, schema, attributes)
