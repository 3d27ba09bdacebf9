"""XMLRecordSetWriter: records written as XML, in chunks as they come (NiFi's
XMLRecordSetWriter): root and record tags, array wrapping, null suppression, pretty
printing, names and text checked and escaped for XML. ``xml_record_services`` re-exports it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from flowyard.processors._common import boolean_property
from flowyard.processors._record_services import (
    CHUNK,
    READER_SCHEMA_PROPERTIES,
    RECORD_SET_WRITER_FACTORY,
    TIME_FORMAT_PROPERTIES,
    WRITER_SCHEMA_PROPERTIES,
    RecordError,
    RecordSetWriter,
    RecordSetWriterFactory,
    SchemaSource,
    schema_access_strategy,
    time_formats,
    validate_schema_access,
    writer_attributes,
)
from flowyard.processors._records import DataType, RecordSchema, TimeFormats, to_text
from flowyard.processors._records import RecordFieldType as T
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    PropertySpec,
    ValidationResult,
    validators,
)

__all__ = ["XMLRecordSetWriter"]

# -- writer ---------------------------------------------------------------------------------------

SUPPRESS_NULLS = PropertySpec(
    key="suppress_nulls", display_name="Suppress Null Values", description="Whether null fields are left out.",
    required=True, default="never-suppress",
    allowed_values=(
        AllowableValue("never-suppress", "Never Suppress", "Every field of the schema is written; a null one as an "
                                                           "empty element."),
        AllowableValue("always-suppress", "Always Suppress", "Fields whose value is null are left out."),
        AllowableValue("suppress-missing", "Suppress Missing Values",
                       "Fields the record does not have are left out; explicit nulls are written as empty elements."),
    ),
)
PRETTY_PRINT_XML = boolean_property("pretty_print_xml", "Pretty Print XML",
                                    "Whether each element goes on its own line, indented by four spaces.", "false")
OMIT_XML_DECLARATION = boolean_property("omit_xml_declaration", "Omit XML Declaration",
                                        "Whether the <?xml ...?> declaration is left out.", "false")
ROOT_TAG_NAME = PropertySpec(
    key="root_tag_name", display_name="Name of Root Tag",
    description="The element that wraps the records. Not set: no wrapper, and a flowfile may then hold only one "
                "record (a second one fails it).",
)
RECORD_TAG_NAME = PropertySpec(
    key="record_tag_name", display_name="Name of Record Tag",
    description="The element of each record. Not set: the schema's name (a schema without a name fails the "
                "flowfile).",
)
ARRAY_WRAPPING = PropertySpec(
    key="array_wrapping", display_name="Wrap Elements of Arrays", description="How array fields are written.",
    required=True, default="no-wrapping",
    allowed_values=(
        AllowableValue("use-property-as-wrapper", "Use Property as Wrapper",
                       "The elements, named by the field, are wrapped in an element named by Array Tag Name."),
        AllowableValue("use-property-for-elements", "Use Property for Elements",
                       "The elements, named by Array Tag Name, are wrapped in an element named by the field."),
        AllowableValue("no-wrapping", "No Wrapping", "One element named by the field per array element."),
    ),
)
ARRAY_TAG_NAME = PropertySpec(
    key="array_tag_name", display_name="Array Tag Name",
    description="The wrapper or element name used by the array wrapping strategies (required by them).",
)
CHARACTER_SET = PropertySpec(
    key="Character Set", display_name="Character Set", description="The character set of the XML written.",
    required=True, default="UTF-8", validator=validators.CHARACTER_SET,
)

_NAME_START = r"A-Za-z_\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D" \
              r"\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD"
_XML_NAME = re.compile(rf"[{_NAME_START}][{_NAME_START}\-.0-9\u00B7\u0300-\u036F\u203F-\u2040]*\Z")
_INVALID_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def _escape(text: str, where: str) -> str:
    bad = _INVALID_CHAR.search(text)
    if bad is not None:
        raise RecordError(f"{where}: the character U+{ord(bad.group()):04X} cannot be written in XML 1.0")
    return text.translate(_ESCAPES)


def _tag(name: str, where: str) -> str:
    if not _XML_NAME.match(name):
        raise RecordError(f"{where}: {name!r} is not a valid XML element name")
    return name


class _XmlSetWriter(RecordSetWriter):
    mime_type = "application/xml"

    def __init__(self, factory: XMLRecordSetWriter, schema: RecordSchema) -> None:
        self._f = factory
        self._schema = schema
        tag = factory.record_tag or schema.name
        if not tag:
            raise RecordError("the records have no element name: set 'Name of Record Tag' (the schema has no name)")
        self._record_tag = _tag(tag, "Name of Record Tag")
        self._names: dict[str, str] = {}

    def attributes(self) -> dict[str, str]:
        return writer_attributes(self._f.write_strategy, self._schema)

    def _name(self, name: str, where: str) -> str:
        checked = self._names.get(name)
        if checked is None:
            checked = self._names[name] = _tag(name, where)
        return checked

    def _field(self, out: list[str], name: str, value: Any, data_type: DataType | None, depth: int,
               where: str) -> None:
        f = self._f
        tag = self._name(name, where)
        pad = f.indent(depth)
        if value is None:
            if f.suppress != "always-suppress":
                out.append(f"{pad}<{tag}></{tag}>{f.newline}")
            return
        if isinstance(value, (list, tuple)):
            element = data_type.element if data_type is not None and data_type.field_type is T.ARRAY else None
            items = [v for v in value if not (v is None and f.suppress == "always-suppress")]
            if f.wrapping == "no-wrapping":
                for item in items:
                    self._field(out, name, item, element, depth, where)
                return
            if f.wrapping == "use-property-as-wrapper":
                wrapper, item_name = f.array_tag, name
            else:
                wrapper, item_name = name, f.array_tag
            wrapper_tag = self._name(wrapper, where)
            out.append(f"{pad}<{wrapper_tag}>{f.newline}")
            for item in items:
                self._field(out, item_name, item, element, depth + 1, where)
            out.append(f"{pad}</{wrapper_tag}>{f.newline}")
            return
        if isinstance(value, (bytes, bytearray)):
            self._field(out, name, list(value), DataType.array(T.BYTE.data_type()), depth, where)
            return
        if isinstance(value, dict):
            schema = data_type.schema if data_type is not None and data_type.field_type is T.RECORD else None
            out.append(f"{pad}<{tag}>{f.newline}")
            if schema is not None:
                self._fields(out, value, schema, depth + 1, where)
            else:
                element = data_type.element if data_type is not None and data_type.field_type is T.MAP else None
                for key, item in value.items():
                    if item is None and f.suppress == "always-suppress":
                        continue
                    self._field(out, str(key), item, element, depth + 1, f"{where}, key {key!r}")
            out.append(f"{pad}</{tag}>{f.newline}")
            return
        text = _escape(to_text(value, f.formats), f"{where}, field {name!r}")
        out.append(f"{pad}<{tag}>{text}</{tag}>{f.newline}")

    def _fields(self, out: list[str], record: Mapping[str, Any], schema: RecordSchema, depth: int,
                where: str) -> None:
        suppress = self._f.suppress
        for fld in schema.fields:
            if fld.name not in record:
                if suppress == "never-suppress":
                    self._field(out, fld.name, None, fld.data_type, depth, where)
                continue
            self._field(out, fld.name, record[fld.name], fld.data_type, depth, where)

    def write(self, records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
        f = self._f
        encoder = codecs.getincrementalencoder(f.charset)(errors="xmlcharrefreplace")
        nl = f.newline
        parts: list[str] = []
        if not f.omit_declaration:
            parts.append(f'<?xml version="1.0" encoding="{f.charset_name}"?>{nl}')
        root = _tag(f.root_tag, "Name of Root Tag") if f.root_tag else None
        if root is not None:
            parts.append(f"<{root}>")
        depth = 1 if root is not None else 0
        record_tag = self._record_tag
        count = 0
        size = 0
        for record in records:
            if count and root is None:
                raise RecordError("a second record cannot be written without a root element: set 'Name of Root Tag' "
                                  "to write several records")
            if count == 0 and root is not None:
                parts.append(nl)
            count += 1
            where = f"record {count}"
            pad = f.indent(depth)
            start = len(parts)
            parts.append(f"{pad}<{record_tag}>{nl}")
            self._fields(parts, record, self._schema, depth + 1, where)
            parts.append(f"{pad}</{record_tag}>{nl}")
            size += sum(len(p) for p in parts[start:])
            if size >= CHUNK:
                yield encoder.encode("".join(parts))
                parts.clear()
                size = 0
        if root is not None:
            parts.append(f"</{root}>{nl}")
        self.record_count = count
        tail = encoder.encode("".join(parts), True)
        if tail:
            yield tail


class XMLRecordSetWriter(ControllerService, RecordSetWriterFactory):
    """Writes records as XML: each record an element (Name of Record Tag, or the
    schema's name) holding one element per field, all wrapped in Name of Root
    Tag when it is set (without a root only one record per flowfile can be
    written; a second one fails the flowfile). Nested records and maps become
    nested elements, arrays repeated elements (or wrapped, per Wrap Elements
    of Arrays with Array Tag Name); a null field is an empty element unless
    Suppress Null Values leaves it out. Dates and times are text in the
    Date/Time/Timestamp Format. Output is written in the Character Set (a
    character it cannot encode becomes a character reference), with the
    declaration unless omitted, and streams in chunks.

    A field name that is not an XML name, or text with a character XML 1.0
    cannot hold (e.g. U+0000), fails the flowfile naming the record and field
    rather than producing malformed XML. Pretty Print indents by four spaces.

    Differences from NiFi: schema reference writers are not supported (the
    strategy makes the service invalid); the Schema Cache is accepted but not
    used; XML attributes are never written (as in NiFi); unlike NiFi, invalid
    element names and characters fail instead of producing malformed XML.
    """

    spec = ControllerServiceSpec(
        description="Writes records as XML, one element per record, optionally wrapped in a root element.",
        provides=(RECORD_SET_WRITER_FACTORY,),
        tags=("xml", "resultset", "writer", "serialize", "record", "recordset", "row"),
        properties=(
            *WRITER_SCHEMA_PROPERTIES,
            schema_access_strategy(("inherit-record-schema", "schema-name", "schema-text-property"),
                                   "inherit-record-schema"),
            *READER_SCHEMA_PROPERTIES, *TIME_FORMAT_PROPERTIES, SUPPRESS_NULLS, PRETTY_PRINT_XML,
            OMIT_XML_DECLARATION, ROOT_TAG_NAME, RECORD_TAG_NAME, ARRAY_WRAPPING, ARRAY_TAG_NAME, CHARACTER_SET,
        ),
    )

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Schema strategies, date patterns, tag names, wrapping without an Array Tag Name."""
        results = validate_schema_access(context)
        for spec in (ROOT_TAG_NAME, RECORD_TAG_NAME, ARRAY_TAG_NAME):
            raw = context.property(spec).raw
            if raw and not _XML_NAME.match(raw):
                results.append(ValidationResult(spec.display_name, f"{raw!r} is not a valid XML element name",
                                                spec.key))
        if context.property(ARRAY_WRAPPING).raw != "no-wrapping" and not context.property(ARRAY_TAG_NAME).raw:
            results.append(ValidationResult("Array Tag Name", "the array wrapping strategy needs an Array Tag Name",
                                            ARRAY_TAG_NAME.key))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Read the configuration once."""
        self.schema_source = SchemaSource(context)
        self.formats: TimeFormats = time_formats(context)
        self.write_strategy = context.property("schema-write-strategy").raw or "no-schema"
        self.suppress = context.property(SUPPRESS_NULLS).raw or "never-suppress"
        self.pretty = context.property(PRETTY_PRINT_XML).raw == "true"
        self.omit_declaration = context.property(OMIT_XML_DECLARATION).raw == "true"
        self.root_tag = context.property(ROOT_TAG_NAME).raw or None
        self.record_tag = context.property(RECORD_TAG_NAME).raw or None
        self.wrapping = context.property(ARRAY_WRAPPING).raw or "no-wrapping"
        self.array_tag = context.property(ARRAY_TAG_NAME).raw or ""
        self.charset_name = context.property(CHARACTER_SET).as_str().strip()
        self.charset = codecs.lookup(self.charset_name).name
        self.newline = "\n" if self.pretty else ""

    def indent(self, depth: int) -> str:
        """The indentation of an element ``depth`` levels down (none unless pretty)."""
        return "    " * depth if self.pretty else ""

    def get_schema(self, attributes: Mapping[str, str], read_schema: RecordSchema | None) -> RecordSchema:
        """The reader's schema (Inherit Record Schema) or the writer's own."""
        if self.schema_source.strategy == "inherit-record-schema":
            if read_schema is None:
                raise RecordError("Inherit Record Schema needs the schema of the records read")
            return read_schema
        return self.schema_source.schema(attributes)

    def create_writer(self, schema: RecordSchema, attributes: Mapping[str, str]) -> RecordSetWriter:
        """An XML writer of ``schema``."""
        return _XmlSetWriter(self, schema)
