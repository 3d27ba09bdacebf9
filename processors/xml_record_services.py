"""XMLReader and XMLRecordSetWriter: records as XML (NiFi's XML record services).

The reader parses with ``processors/_safe_xml.py`` (no DTD, no entity
expansion, no network) and streams: with Expect Records as Array each child
element of the root is built, turned into a record and dropped before the
next is read. The writer (``_xml_record_writer``, re-exported here) produces
chunks as records come. See ``processors/_record_services.py`` for the
reader/writer API.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from lxml import etree

from flowyard.processors import _safe_xml
from flowyard.processors._common import PrefixedStream, boolean_property
from flowyard.processors._record_services import (
    CHUNK,
    INFER,
    READER_SCHEMA_PROPERTIES,
    RECORD_READER_FACTORY,
    SCHEMA_INFERENCE_CACHE,
    TIME_FORMAT_PROPERTIES,
    OpenStream,
    RecordError,
    RecordReader,
    RecordReaderFactory,
    SchemaSource,
    schema_access_strategy,
    time_formats,
    validate_schema_access,
)
from flowyard.processors._records import (
    DataType,
    RecordField,
    RecordFieldType,
    RecordSchema,
    coerce,
    coerce_or_keep,
    infer_text_type,
    merge_types,
)
from flowyard.processors._xml_record_writer import XMLRecordSetWriter
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    ExpressionScope,
    PropertyDependency,
    PropertySpec,
    PropertyValue,
    ValidationResult,
)

__all__ = ["XMLReader", "XMLRecordSetWriter"]

T = RecordFieldType
_STRING = T.STRING.data_type()

# -- reader ---------------------------------------------------------------------------------------

PARSE_XML_ATTRIBUTES = boolean_property(
    "parse_xml_attributes", "Parse XML Attributes",
    "With an inferred schema: whether the attributes of elements become fields (named with the Attribute Prefix). "
    "With an explicit schema attributes are read whenever the schema has a field for them.", "true",
    required=False, dependencies=(PropertyDependency("schema-access-strategy", (INFER,)),),
)
EXPECT_RECORDS_AS_ARRAY = PropertySpec(
    key="record_format", display_name="Expect Records as Array",
    description="Whether the root element wraps the records (each child element of the root is one record) or is "
                "itself the only record. Expression Language over the flowfile's attributes is evaluated, so "
                "${xml.stream.is.array} decides per flowfile.",
    required=True, default="false",
    allowed_values=(
        AllowableValue("false", "false", "The root element is one record."),
        AllowableValue("true", "true", "Each child element of the root element is one record."),
        AllowableValue("${xml.stream.is.array}", "Use attribute 'xml.stream.is.array'",
                       "The flowfile's xml.stream.is.array attribute (true or false) decides."),
    ),
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
ATTRIBUTE_PREFIX = PropertySpec(
    key="attribute_prefix", display_name="Attribute Prefix",
    description="Put before the name of an XML attribute to make its field name (e.g. 'attr_'), so that attributes "
                "and child elements of the same name differ. Expression Language over the flowfile's attributes "
                "is evaluated.",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
CONTENT_FIELD_NAME = PropertySpec(
    key="content_field_name", display_name="Field Name for Content",
    description="The field that takes the text of an element that also has attributes or child elements (the "
                "element is then a record). Not set: such text is dropped, and inference adds an empty 'value' "
                "field, as NiFi does. Expression Language over the flowfile's attributes is evaluated.",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)


@dataclass(slots=True)
class _Node:
    """One element: attributes (local names), child elements by local name, direct text."""

    attributes: dict[str, str] = field(default_factory=dict)
    children: dict[str, list[_Node]] = field(default_factory=dict)
    text: str = ""

    @property
    def leaf(self) -> bool:
        return not self.children and not self.attributes


def _local(name: Any) -> str:
    return str(etree.QName(name).localname)


def _node(element: Any, with_attributes: bool) -> _Node:
    node = _Node()
    if with_attributes:
        for name, value in element.attrib.items():
            node.attributes[_local(name)] = value
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str):
            node.children.setdefault(_local(child.tag), []).append(_node(child, with_attributes))
        parts.append(child.tail or "")
    node.text = "".join(parts).strip()
    return node


@dataclass(frozen=True, slots=True)
class _Options:
    array: bool
    prefix: str
    content: str | None


_BLANK = re.compile(rb"[\s\x00]*\Z")  # whitespace (in UTF-8 or UTF-16) only
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)


def _is_blank(head: bytes) -> bool:
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom):]
            break
    return bool(_BLANK.match(head))


class _XmlRecordReader(RecordReader):
    def __init__(self, factory: XMLReader, attributes: Mapping[str, str], open_stream: OpenStream,
                 coerce_types: bool = True) -> None:
        self._convert = coerce if coerce_types else coerce_or_keep
        self._f = factory
        self._open = open_stream
        self._options = factory.options(attributes)
        if factory.schema_source.strategy == INFER:
            self.schema = self._infer()
        else:
            self.schema = factory.schema_source.schema(attributes)

    def _nodes(self, with_attributes: bool) -> Iterator[_Node]:
        stream = self._open()
        try:
            head = stream.read(CHUNK)
            bom = next((b for b in _BOMS if head.startswith(b)), b"")
            while _is_blank(head):  # white space only so far: read on (keeping only a BOM) until content
                more = stream.read(CHUNK)
                if not more:
                    return  # no content: no records
                head = bom + more
            array = self._options.array
            depth = 0
            root: Any = None
            for event, element in _safe_xml.iterparse(_BufferedPeek(head, stream)):
                if event == "start":
                    depth += 1
                    if depth == 1:
                        root = element
                    continue
                depth -= 1
                if array and depth == 1:
                    if isinstance(element.tag, str):
                        yield _node(element, with_attributes)
                    element.clear(keep_tail=False)
                    while root is not None and len(root):
                        del root[0]  # everything read so far: keep memory to one record
                elif not array and depth == 0:
                    yield _node(element, with_attributes)
        except _safe_xml.UnsafeXmlError as exc:
            if _safe_xml.has_doctype(head[:4096]):
                raise RecordError("the XML cannot be read: it has a DOCTYPE declaration, which XMLReader refuses "
                                  "(DTDs and entities are never processed)") from None
            raise RecordError(f"the XML cannot be read: {exc}") from None
        except ValueError as exc:
            if isinstance(exc, RecordError):
                raise
            raise RecordError(f"the XML cannot be read: {exc}") from None
        finally:
            stream.close()

    # -- inference

    def _infer(self) -> RecordSchema:
        options = self._options
        with_attributes = self._f.parse_attributes
        types: dict[str, DataType | None] = {}
        for node in self._nodes(with_attributes):
            for name, data_type in self._fields(node, options).items():
                types[name] = data_type if name not in types else merge_types(types[name], data_type)
        return RecordSchema(tuple(RecordField(name, dt or _STRING) for name, dt in types.items()))

    def _fields(self, node: _Node, options: _Options) -> dict[str, DataType | None]:
        formats = self._f.formats
        fields: dict[str, DataType | None] = {}
        for name, value in node.attributes.items():
            fields[options.prefix + name] = infer_text_type(value, formats)
        for name, children in node.children.items():
            merged: DataType | None = None
            for child in children:
                merged = merge_types(merged, self._type(child, options))
            fields[name] = DataType.array(merged or _STRING) if len(children) > 1 else merged
        if options.content is not None:
            if node.text:
                fields[options.content] = merge_types(fields.get(options.content), infer_text_type(node.text,
                                                                                                   formats))
        elif node.attributes and node.text and "value" not in fields:
            fields["value"] = None  # NiFi's inference adds an empty "value" field for the text it drops
        return fields

    def _type(self, node: _Node, options: _Options) -> DataType | None:
        if node.leaf:
            return infer_text_type(node.text, self._f.formats)
        fields = self._fields(node, options)
        return DataType.record(RecordSchema(tuple(RecordField(n, t or _STRING) for n, t in fields.items())))

    # -- records

    def __iter__(self) -> Iterator[dict[str, Any]]:
        options = self._options
        schema = self.schema
        for number, node in enumerate(self._nodes(True), 1):
            try:
                yield self._record(node, schema, options)
            except ValueError as exc:
                raise RecordError(f"record {number}: {exc}") from None

    def _record(self, node: _Node, schema: RecordSchema, options: _Options) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for name, value in node.attributes.items():
            found = schema.field(options.prefix + name)
            if found is not None:
                record[found.name] = self._text(value, found.data_type, found.name)
        for name, children in node.children.items():
            found = schema.field(name)
            if found is not None:
                record[found.name] = self._value(children, found.data_type, found.name, options)
        if options.content is not None and node.text:
            found = schema.field(options.content)
            if found is not None:
                record[found.name] = self._text(node.text, found.data_type, found.name)
        return record

    def _text(self, text: str, data_type: DataType, name: str) -> Any:
        kind = data_type.field_type
        if kind is T.STRING:
            return text
        if text == "":
            return None
        if kind is T.ARRAY:
            return [self._text(text, data_type.element or _STRING, name)]
        if kind is T.CHOICE:
            simple = next((c for c in data_type.choices if c.field_type not in (T.RECORD, T.ARRAY, T.MAP)), None)
            if simple is None:
                array = next((c for c in data_type.choices if c.field_type is T.ARRAY), None)
                return None if array is None else self._text(text, array, name)
        elif kind in (T.RECORD, T.MAP):
            return None  # text where the schema wants a record or map (no Field Name for Content): dropped
        try:
            return self._convert(text, data_type, self._f.formats)
        except ValueError as exc:
            raise RecordError(f"field {name!r}: {exc}") from None

    def _value(self, nodes: list[_Node], data_type: DataType, name: str, options: _Options) -> Any:
        kind = data_type.field_type
        if kind is T.ARRAY:
            element = data_type.element or _STRING
            return [self._single(n, element, name, options) for n in nodes]
        if kind is T.CHOICE:
            if len(nodes) > 1:
                array = next((c for c in data_type.choices if c.field_type is T.ARRAY), None)
                if array is not None:
                    return self._value(nodes, array, name, options)
            return self._single(nodes[-1], data_type, name, options)
        return self._single(nodes[-1], data_type, name, options)  # a repeated single field: the last one wins

    def _single(self, node: _Node, data_type: DataType, name: str, options: _Options) -> Any:
        kind = data_type.field_type
        if kind is T.RECORD:
            if node.leaf and not node.text:
                return None  # an empty element of a record field
            return self._record(node, data_type.schema or RecordSchema(()), options)
        if kind is T.MAP:
            element = data_type.element or _STRING
            return {key: self._value(children, element, f"{name}.{key}", options)
                    for key, children in node.children.items()}
        if kind is T.ARRAY:
            return [self._single(node, data_type.element or _STRING, name, options)]
        if kind is T.CHOICE:
            if not node.leaf:
                record = next((c for c in data_type.choices if c.field_type is T.RECORD), None)
                if record is not None:
                    return self._single(node, record, name, options)
            return self._text(node.text, data_type, name)
        return self._text(node.text, data_type, name)  # attributes and children of a simple field are ignored


class _BufferedPeek(io.BufferedReader):
    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        super().__init__(PrefixedStream(head, stream))


_READER_PROPERTIES = (
    schema_access_strategy(("schema-name", "schema-text-property", "schema-reference-reader", INFER), INFER),
    *READER_SCHEMA_PROPERTIES, PARSE_XML_ATTRIBUTES, SCHEMA_INFERENCE_CACHE, EXPECT_RECORDS_AS_ARRAY,
    ATTRIBUTE_PREFIX, CONTENT_FIELD_NAME, *TIME_FORMAT_PROPERTIES,
)


class XMLReader(ControllerService, RecordReaderFactory):
    """Reads XML as records. With Expect Records as Array false the root
    element is the one record; with true each child element of the root is a
    record (whatever its name), built, converted and dropped one at a time,
    so memory stays bounded by one record. Empty content has no records.

    A child element is a field named by its local name (namespaces are
    dropped); repeated siblings are an array; an element with children or
    attributes is a record; attributes are fields named Attribute Prefix +
    name; the text of an element that is a record goes to Field Name for
    Content. With an explicit schema, fields the schema does not have are
    skipped, a repeated element whose field is not an array keeps the last
    value, attributes of an element whose field is simple are ignored, an
    empty element of a non-string field is null.

    Inference (Infer Schema) follows NiFi's: text is typed as CSV text is
    (int, long, double, boolean; dates only for a set format), repeated
    elements become arrays, nested elements records (never maps), fields of
    mixed kinds a choice; Parse XML Attributes false leaves attributes out;
    without Field Name for Content an element with attributes and text gets
    an empty ``value`` field and its text is dropped, as in NiFi.

    Parsing is safe: a DOCTYPE is refused, so are external entities; nothing
    is fetched. Malformed XML fails the flowfile with libxml2's reason and
    position; a value that cannot be coerced names the record and field.

    Expect Records as Array, Attribute Prefix and Field Name for Content
    evaluate Expression Language over the flowfile's attributes, as in NiFi.

    Differences from NiFi: the Schema Inference Cache is accepted but not
    used; text is trimmed.
    """

    spec = ControllerServiceSpec(
        description="Reads records from XML: the root element as one record, or each child of the root as one.",
        provides=(RECORD_READER_FACTORY,),
        tags=("xml", "record", "reader", "parser"),
        properties=_READER_PROPERTIES,
    )

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Schema strategies and date patterns."""
        return validate_schema_access(context)

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Read the configuration once."""
        self.schema_source = SchemaSource(context)
        self.formats = time_formats(context)
        self.parse_attributes = context.property(PARSE_XML_ATTRIBUTES).raw != "false"
        self._array = context.property(EXPECT_RECORDS_AS_ARRAY)
        self._prefix = context.property(ATTRIBUTE_PREFIX)
        self._content = context.property(CONTENT_FIELD_NAME)

    def options(self, attributes: Mapping[str, str]) -> _Options:
        """The per-flowfile properties evaluated against ``attributes``."""
        def evaluated(value: PropertyValue, label: str) -> str:
            if not value.is_set:
                return ""
            try:
                return value.evaluate(attributes).value or ""
            except ValueError as exc:
                raise RecordError(f"{label} ({value.raw!r}) cannot be evaluated for this flowfile: {exc}") from None

        array = evaluated(self._array, "Expect Records as Array").strip().lower()
        if array not in ("true", "false"):
            raise RecordError(f"Expect Records as Array must be true or false for this flowfile, not {array!r}"
                              + (" (is the xml.stream.is.array attribute set?)" if
                                 "xml.stream.is.array" in (self._array.raw or "") else ""))
        content = evaluated(self._content, "Field Name for Content")
        return _Options(array == "true", evaluated(self._prefix, "Attribute Prefix"), content or None)

    def create_reader(self, attributes: Mapping[str, str], open_stream: OpenStream, *,
                      coerce_types: bool = True) -> RecordReader:
        """A reader of XML content."""
        return _XmlRecordReader(self, attributes, open_stream, coerce_types)


