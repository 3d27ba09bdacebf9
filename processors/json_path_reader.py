"""JsonPathReader: records made of the JsonPath results of each JSON object
(NiFi's JsonPathReader). See ``processors/_record_services.py`` for the reader API.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from flowyard.processors._json_path import (
    InvalidJsonPath,
    JsonPath,
    JsonPathEvaluationError,
    PathNotFound,
    compile_path,
)
from flowyard.processors._record_services import (
    INFER,
    READER_SCHEMA_PROPERTIES,
    RECORD_READER_FACTORY,
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
    RecordField,
    RecordFieldType,
    RecordSchema,
    SchemaInference,
    coerce,
    coerce_or_keep,
)
from flowyard.processors.json_record_services import MAX_STRING_LENGTH, PARSING_STRATEGY, iter_json_values
from flowyard.runtime.sdk import (
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    DynamicPropertySpec,
    ValidationResult,
)

__all__ = ["JsonPathReader"]

_NOT_FOUND: Any = object()


class _JsonPathRecordReader(RecordReader):
    def __init__(self, factory: JsonPathReader, attributes: Mapping[str, str], open_stream: OpenStream,
                 coerce_types: bool = True) -> None:
        self._convert = coerce if coerce_types else coerce_or_keep
        self._f = factory
        self._open = open_stream
        if factory.schema_source.strategy == INFER:
            inference = SchemaInference(factory.formats)
            for _, values in self._evaluated():
                inference.add({name: value for name, value in values.items() if value is not _NOT_FOUND})
            # one field per path, in the order of the properties (a path that never finds anything: a string)
            fields = {f.name: f for f in inference.schema().fields}
            self.schema = RecordSchema(tuple(fields.get(name) or RecordField(name, RecordFieldType.STRING.data_type())
                                             for name in factory.paths))
        else:
            self.schema = factory.schema_source.schema(attributes)

    def _objects(self) -> Iterator[dict[str, Any]]:
        stream = self._open()
        try:
            for value in iter_json_values(stream, max_value=self._f.max_length):
                if not isinstance(value, dict):
                    raise RecordError(f"a JSON record must be an object, not {type(value).__name__}: {value!r:.60}")
                yield value
        finally:
            stream.close()

    def _evaluated(self) -> Iterator[tuple[int, dict[str, Any]]]:
        paths = self._f.paths
        for number, document in enumerate(self._objects(), 1):
            values: dict[str, Any] = {}
            for name, path in paths.items():
                try:
                    values[name] = path.read(document)
                except PathNotFound:
                    values[name] = _NOT_FOUND
                except (JsonPathEvaluationError, RecursionError) as exc:
                    raise RecordError(f"record {number}: the JsonPath {path.text!r} of field {name!r} cannot be "
                                      f"evaluated: {exc}") from None
            yield number, values

    def __iter__(self) -> Iterator[dict[str, Any]]:
        formats = self._f.formats
        schema = self.schema
        for number, values in self._evaluated():
            record: dict[str, Any] = {}
            for name, value in values.items():
                field = schema.field(name)
                if field is None:
                    continue  # a path whose field the schema does not have is skipped (as in NiFi)
                if value is _NOT_FOUND:
                    value = field.default
                    if value is None:
                        record[field.name] = None
                        continue
                try:
                    record[field.name] = self._convert(value, field.data_type, formats)
                except ValueError as exc:
                    raise RecordError(f"record {number}: field {field.name!r}: {exc}") from None
            yield record


class JsonPathReader(ControllerService, RecordReaderFactory):
    """Reads JSON as records whose fields are the results of JsonPaths: each
    dynamic property is a field, its name the field's name and its value a
    JsonPath (Jayway's semantics) evaluated against each top-level JSON object
    (each element of a top-level array, or each of several concatenated
    objects). A definite path gives one value, an indefinite one (``[*]``,
    ``..``, filters) a list; a path that finds nothing gives null (or the
    schema field's default). Records stream one JSON object at a time.

    Schema: inferred from the path results (Infer Schema, the default), an Avro
    schema in Schema Text, or a schema from the Schema Registry by name. A path
    whose name the schema does not have is skipped; values are coerced to the
    field types (Date/Time/Timestamp Format for text), and a value that cannot
    be coerced fails the flowfile naming the record and field. At least one
    path is needed, and every path must compile (the service is invalid
    otherwise, naming the property).

    Differences from NiFi: NiFi infers the schema from the whole JSON object
    (so a path whose name is not a top-level field of the JSON is dropped, and
    every top-level field appears, mostly null); flowyard infers it from the
    path results, one field per path in the order of the properties. Parsing
    Strategy Lenient parses strictly; Max String Length bounds a whole record.
    """

    spec = ControllerServiceSpec(
        description="Reads records from JSON, each field the result of a JsonPath evaluated against each JSON "
                    "object.",
        provides=(RECORD_READER_FACTORY,),
        tags=("json", "jsonpath", "record", "reader", "parser"),
        properties=(
            schema_access_strategy(("schema-name", "schema-text-property", "schema-reference-reader", INFER), INFER),
            *READER_SCHEMA_PROPERTIES, MAX_STRING_LENGTH, PARSING_STRATEGY, *TIME_FORMAT_PROPERTIES,
        ),
        dynamic_properties=DynamicPropertySpec(
            name_description="The field name for the record",
            value_description="A JsonPath evaluated against each JSON object; its result is the field's value",
        ),
    )

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Schema strategies, date patterns, at least one path, every path compiles."""
        results = validate_schema_access(context)
        dynamic = context.dynamic_properties
        if not dynamic:
            results.append(ValidationResult("JSON Paths", "no JSON Paths were specified: add a property named after "
                                            "a field, with a JsonPath as its value"))
        for name, value in sorted(dynamic.items()):
            try:
                compile_path(value.raw or "")
            except InvalidJsonPath as exc:
                results.append(ValidationResult(name, f"{value.raw!r} is not a valid JsonPath: {exc}", name))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Compile the paths and read the configuration once."""
        self.schema_source = SchemaSource(context)
        self.formats = time_formats(context)
        self.max_length = context.property(MAX_STRING_LENGTH).as_data_size()
        self.paths: dict[str, JsonPath] = {name: compile_path(value.raw or "")
                                           for name, value in context.dynamic_properties.items()}

    def create_reader(self, attributes: Mapping[str, str], open_stream: OpenStream, *,
                      coerce_types: bool = True) -> RecordReader:
        """A reader of JSON content."""
        return _JsonPathRecordReader(self, attributes, open_stream, coerce_types)
