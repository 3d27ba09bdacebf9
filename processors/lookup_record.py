"""LookupRecord: enrich records with what a lookup service finds for values RecordPaths select."""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from flowyard.processors._record_processing import (
    RECORD_OR_PROCESSING_ERRORS,
    RecordSpool,
    record_factories,
    record_reader_property,
    record_writer_property,
    route_to_failure,
    written_attributes,
)
from flowyard.processors._records import DataType, RecordFieldType, RecordSchema, coerce_record, infer_type, to_text
from flowyard.processors._records._recordpath import FieldValue, RecordPath, with_added_fields
from flowyard.processors.lookup_services import LOOKUP_SERVICE, LookupService, SchemaRecord, StringLookupService
from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["LookupRecord"]

ROUTE_TO_SUCCESS = "route-to-success"
ROUTE_TO_MATCHED_UNMATCHED = "route-to-matched-unmatched"
ENTIRE_RECORD = "insert-entire-record"
RECORD_FIELDS = "record-fields"
REPLACE_EXISTING = "replace-existing-values"
USE_PROPERTY = "use-property"

RECORD_READER = record_reader_property()
RECORD_WRITER = record_writer_property("The service that writes the records out.")
LOOKUP_SERVICE_PROPERTY = PropertySpec(
    key="lookup-service", display_name="Lookup Service",
    description="The lookup service (of text or of records) asked with the values the dynamic properties select.",
    required=True, identifies_controller_service=LOOKUP_SERVICE,
)
ROOT_RECORD_PATH = PropertySpec(
    key="root-record-path", display_name="Root Record Path",
    description="A RecordPath to the records (or arrays of records) to enrich inside each record; the other "
                "RecordPaths are then evaluated from each of them. Default: the record itself.",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
ROUTING_STRATEGY = PropertySpec(
    key="routing-strategy", display_name="Routing Strategy", description="Where the records go.", required=True,
    default=ROUTE_TO_SUCCESS,
    allowed_values=(
        AllowableValue(ROUTE_TO_SUCCESS, "Route to 'success'", "Every record goes to success, enriched or not."),
        AllowableValue(ROUTE_TO_MATCHED_UNMATCHED, "Route to 'matched' or 'unmatched'",
                       "Records whose lookups all found a value go to matched, the others to unmatched."),
    ),
)
RESULT_CONTENTS = PropertySpec(
    key="result-contents", display_name="Record Result Contents",
    description="What a record found by a record lookup service puts at the Result RecordPath.", required=True,
    default=ENTIRE_RECORD,
    allowed_values=(
        AllowableValue(ENTIRE_RECORD, "Insert Entire Record", "The record found becomes the field's value."),
        AllowableValue(RECORD_FIELDS, "Insert Record Fields",
                       "The fields of the record found are added to the record at the Result RecordPath."),
    ),
)
RECORD_UPDATE_STRATEGY = PropertySpec(
    key="record-update-strategy", display_name="Record Update Strategy",
    description="Where the values found go.", required=True, default=USE_PROPERTY,
    allowed_values=(
        AllowableValue(REPLACE_EXISTING, "Replace Existing Values",
                       "Each field a dynamic property selects is looked up by its own value and replaced by what "
                       "is found (the service must take a single key)."),
        AllowableValue(USE_PROPERTY, 'Use "Result RecordPath" Property',
                       "The dynamic properties give the coordinates; what is found goes to the Result RecordPath."),
    ),
)
RESULT_RECORD_PATH = PropertySpec(
    key="result-record-path", display_name="Result RecordPath",
    description="A RecordPath to the field(s) where the value found is put (created when absent). Without it "
                "records are only routed.",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=(PropertyDependency("record-update-strategy", (USE_PROPERTY,)),),
)
CACHE_SIZE = PropertySpec(
    key="record-path-lookup-miss-result-cache-size", display_name="Cache Size",
    description="How many lookup results (found or not) are remembered while one flowfile is processed; 0 asks "
                "the service every time.",
    required=True, default="0", expression_scope=ExpressionScope.ENVIRONMENT,
    validator=validators.NON_NEGATIVE_INTEGER,
)

SUCCESS = Relationship("success", "Every record, with Route to 'success' (unless the flowfile fails).")
FAILURE = Relationship("failure", "FlowFiles that could not be read, looked up or written; unchanged, with "
                                  "record.error.message saying why.")
MATCHED = Relationship("matched", "Records whose lookups all found a value (Route to 'matched' or 'unmatched').")
UNMATCHED = Relationship("unmatched", "Records for which a lookup found nothing (Route to 'matched' or "
                                      "'unmatched').")


class _Match(enum.Enum):
    ALL = "all"
    NONE = "none"
    SOME = "some"


def _hashable(value: Any) -> Any:
    """``value`` as a cache key: nested values as tuples, and the type kept with it, so that
    1, 1.0 and true (equal in Python) are different keys, as they are different coordinates."""
    if isinstance(value, dict):
        return tuple((k, _hashable(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return type(value).__name__, value


class _Lookups:
    """The service, with the per-flowfile cache of results (found or not)."""

    def __init__(self, service: LookupService, size: int, attributes: Mapping[str, str]) -> None:
        self.service = service
        self.text = isinstance(service, StringLookupService)
        self.size = size
        self.attributes = attributes
        self.cache: OrderedDict[Any, Any] = OrderedDict()

    def coordinate(self, value: Any) -> Any:
        return to_text(value) if self.text else value

    def get(self, coordinates: dict[str, Any]) -> Any:
        key = tuple(sorted((k, _hashable(v)) for k, v in coordinates.items())) if self.size else None
        if key is not None and key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        found = self.service.lookup(coordinates, self.attributes)
        if key is not None:
            self.cache[key] = found
            while len(self.cache) > self.size:
                self.cache.popitem(last=False)
        return found


def _value_and_type(found: Any) -> tuple[Any, DataType]:
    if isinstance(found, SchemaRecord):
        return dict(found.values), DataType.record(found.schema)
    return found, (infer_type(found) if found is not None else None) or RecordFieldType.STRING.data_type()


class LookupRecord(Processor):
    """Enriches records with a lookup service. Each dynamic property names a coordinate of the
    lookup (e.g. ``key``, as the service requires) and its value is a RecordPath selecting the
    value of that coordinate in each record.

    With Record Update Strategy 'Use "Result RecordPath" Property', every RecordPath must select
    exactly one non-null value, or the record counts as unmatched; what the service finds is put
    at the Result RecordPath (the field is created when absent): a value, or a record found by a
    record lookup service (CSVRecordLookupService, DatabaseRecordLookupService) as a whole (Insert
    Entire Record) or field by field into the record there (Insert Record Fields). With 'Replace
    Existing Values' (a single-key service) each non-null field selected is looked up by its own
    value and replaced by what is found.

    A Root Record Path selects records (or arrays of records) inside each record; each is
    enriched on its own, with the RecordPaths evaluated from it, and a record counts as matched
    only when all of them matched. With Route to 'matched' or 'unmatched' the matched and
    unmatched records go to one flowfile each; otherwise every record goes to success. The
    incoming flowfile becomes the first of these outputs and the other is a child of it; a
    flowfile without records goes on, with the writer's empty output, to success (or unmatched).
    Each output has ``record.count``, ``mime.type`` and the writer's attributes.

    The written schema is the reader's, widened with the fields added to the first record that
    was enriched (as NiFi does). Records stream: each output is spooled to a temporary file
    (in memory up to 256 KiB). Cache Size remembers lookup results, found or not, while one
    flowfile is processed. A lookup the service cannot make, an invalid RecordPath or unreadable
    records send the flowfile to failure unchanged with ``record.error.message``.

    Differences from NiFi: ``record.error.message`` is set on failure (NiFi only logs); the
    records are read once (NiFi reads them twice to find the schema first); NiFi drops the
    incoming flowfile (and one without records gives nothing), flowyard passes it on as the
    first output so that no flowfile disappears; a record found for a Result RecordPath whose
    field has a type that cannot hold it (e.g. a string) fails the flowfile, where NiFi turns
    the field into a choice of both.
    """

    spec = ProcessorSpec(
        description="Extracts fields from each record with RecordPaths, looks them up in a lookup service and "
                    "adds what is found to the record (or routes records by whether anything was found).",
        tags=("lookup", "enrichment", "route", "record", "csv", "json", "avro", "database", "db", "logs",
              "convert", "filter"),
        properties=(RECORD_READER, RECORD_WRITER, LOOKUP_SERVICE_PROPERTY, ROOT_RECORD_PATH, ROUTING_STRATEGY,
                    RESULT_CONTENTS, RECORD_UPDATE_STRATEGY, RESULT_RECORD_PATH, CACHE_SIZE),
        relationships=(SUCCESS, FAILURE, MATCHED, UNMATCHED),
        dynamic_properties=DynamicPropertySpec(
            name_description="A coordinate of the lookup (e.g. key)",
            value_description="A RecordPath selecting the coordinate's value",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
        ),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            ("mime.type", "The MIME type of the writer's output."),
            ("record.count", "The number of records in the flowfile."),
            ("record.error.message", "Why the flowfile could not be enriched (failure only)."),
        ),
    )

    @classmethod
    def relationships_for(cls, dynamic_properties: Mapping[str, str],
                          properties: Mapping[str, str | None]) -> tuple[Relationship, ...]:
        """success and failure, or matched, unmatched and failure, by Routing Strategy."""
        if properties.get(ROUTING_STRATEGY.key) == ROUTE_TO_MATCHED_UNMATCHED:
            return (MATCHED, UNMATCHED, FAILURE)
        return (SUCCESS, FAILURE)

    def validate(self, context: ProcessContext) -> list[ValidationResult]:
        """Coordinates for the service's required keys; valid RecordPaths."""
        names = set(context.dynamic_properties)
        if not names:
            return [ValidationResult("User-Defined Properties", "at least one user-defined property (a coordinate "
                                     "name → a RecordPath) must be specified")]
        results: list[ValidationResult] = []
        for name, value in context.dynamic_properties.items():
            results += _path_problem(name, value.raw, name)
        for spec in (ROOT_RECORD_PATH, RESULT_RECORD_PATH):
            results += _path_problem(spec.display_name, context.property(spec).raw, spec.key)
        try:
            service = context.property(LOOKUP_SERVICE_PROPERTY).as_controller_service(LookupService)
            required = service.required_keys
        except Exception:  # the framework reports a missing or disabled service itself
            return results
        if context.properties.get(RECORD_UPDATE_STRATEGY.key) == REPLACE_EXISTING:
            if len(required) != 1:
                results.append(ValidationResult(LOOKUP_SERVICE_PROPERTY.display_name, "with \"Replace Existing "
                                                "Values\" the lookup service must require a single key; it requires "
                                                f"{sorted(required)}", LOOKUP_SERVICE_PROPERTY.key))
        else:
            for key in sorted(required - names):
                results.append(ValidationResult(key, f"the lookup service requires the coordinate {key!r}: add a "
                                                f"property named {key!r} whose value is a RecordPath to its value"))
        return results

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Enrich one flowfile's records."""
        ff = session.get()
        if ff is None:
            return
        original = ff
        spools: dict[str, RecordSpool] = {}
        created: list[FlowFile] = []
        try:
            created_for = self._enrich(context, session, ff, spools, created)
        except RECORD_OR_PROCESSING_ERRORS as exc:
            route_to_failure(context, session, original, exc, FAILURE, "enrich", created=created)
            return
        finally:
            for spool in spools.values():
                spool.close()
        for output, relationship in created_for:
            session.provenance.route(output, relationship)
            session.transfer(output, relationship)

    def _enrich(self, context: ProcessContext, session: ProcessSession, ff: FlowFile,
                spools: dict[str, RecordSpool], created: list[FlowFile]) -> list[tuple[FlowFile, str]]:
        """The outputs and their relationships: the incoming flowfile carries the first output,
        children of it the others (all in ``created`` but the incoming one)."""
        attributes = ff.attributes
        reader_factory, writer_factory = record_factories(context, RECORD_READER, RECORD_WRITER)
        service = context.property(LOOKUP_SERVICE_PROPERTY).as_controller_service(LookupService)
        lookups = _Lookups(service, context.property(CACHE_SIZE).evaluate().as_int(), attributes)
        matched_unmatched = context.property(ROUTING_STRATEGY).raw == ROUTE_TO_MATCHED_UNMATCHED
        in_place = context.property(RECORD_UPDATE_STRATEGY).raw == REPLACE_EXISTING
        fields_of_record = context.property(RESULT_CONTENTS).raw == RECORD_FIELDS
        paths = {name: RecordPath.compile(value.evaluate(attributes).as_str())
                 for name, value in sorted(context.dynamic_properties.items())}
        root_text = context.property(ROOT_RECORD_PATH).evaluate(attributes).raw
        root_path = RecordPath.compile(root_text) if root_text else None
        result_text = None if in_place else context.property(RESULT_RECORD_PATH).evaluate(attributes).raw
        result_path = RecordPath.compile(result_text) if result_text else None
        key = next(iter(service.required_keys), "key") if in_place else ""

        reader = reader_factory.create_reader(attributes, lambda: session.read(ff))
        enriched: RecordSchema | None = reader.schema if in_place else None
        for record in reader:
            subs, evaluation = self._sub_records(record, reader.schema, root_path)
            results: set[_Match] = set()
            for sub in subs:
                if in_place:
                    results.add(self._replace(record, sub, paths, key, lookups))
                else:
                    results.add(self._use_property(record, sub, paths, result_path, fields_of_record, lookups))
            record_schema = with_added_fields(reader.schema, evaluation.schema_updates)
            if enriched is None and (_Match.ALL in results or _Match.SOME in results):
                enriched = record_schema
            if not matched_unmatched:
                relationship = SUCCESS.name
            else:  # matched only when every sub-record matched all its lookups (NiFi's rule)
                relationship = MATCHED.name if results == {_Match.ALL} else UNMATCHED.name
            spool = spools.get(relationship)
            if spool is None:
                spool = spools[relationship] = RecordSpool()
            spool.add(record)
        schema = writer_factory.get_schema(attributes, enriched or reader.schema)
        if not spools:  # no records: the (empty) record set goes where unenriched records go
            spools[UNMATCHED.name if matched_unmatched else SUCCESS.name] = RecordSpool()
        outputs: list[tuple[FlowFile, str]] = []
        items = list(spools.items())
        # the children first, the incoming flowfile last: until then it stays as it came for failure
        for index, (relationship, spool) in [*list(enumerate(items))[1:], (0, items[0])]:
            writer = writer_factory.create_writer(schema, attributes)
            target = session.create(ff) if index else ff
            if index:
                created.append(target)
            target = session.write(target, writer.write(coerce_record(r, schema) for r in spool.records()))
            target = session.put_attributes(target, written_attributes(writer))
            if index:
                created[-1] = target
            outputs.append((target, relationship))
        return outputs

    @staticmethod
    def _sub_records(record: dict[str, Any], schema: RecordSchema,
                     root_path: RecordPath | None) -> tuple[list[FieldValue | None], Any]:
        """The records to enrich (None: the record itself) and the evaluation tracking schema changes."""
        if root_path is None:
            evaluation = RecordPath.compile("/").evaluate(record, schema)
            return [evaluation.fields[0]], evaluation
        evaluation = root_path.evaluate(record, schema)
        subs: list[FieldValue | None] = []
        for fv in evaluation.fields:
            candidates = fv.elements() if isinstance(fv.value, list) else [fv]
            subs.extend(c for c in candidates if isinstance(c.value, dict))
        return subs, evaluation

    @staticmethod
    def _use_property(record: dict[str, Any], sub: FieldValue | None, paths: dict[str, RecordPath],
                      result_path: RecordPath | None, fields_of_record: bool, lookups: _Lookups) -> _Match:
        coordinates: dict[str, Any] = {}
        for name, path in paths.items():
            values = [fv for fv in path.evaluate(record, root=sub).fields if fv.value is not None]
            if len(values) != 1:
                return _Match.NONE
            coordinates[name] = lookups.coordinate(values[0].value)
        found = lookups.get(coordinates)
        if found is None:
            return _Match.NONE
        if result_path is not None:
            for destination in result_path.evaluate(record, root=sub).fields:
                if fields_of_record and isinstance(found, SchemaRecord) and isinstance(destination.value, dict):
                    for field in found.schema.fields:
                        child = destination.child(field.name)
                        if child is not None:
                            child.update_value(found.values.get(field.name), field.data_type)
                else:
                    destination.update_value(*_value_and_type(found))
        return _Match.ALL

    @staticmethod
    def _replace(record: dict[str, Any], sub: FieldValue | None, paths: dict[str, RecordPath], key: str,
                 lookups: _Lookups) -> _Match:
        matched = unmatched = False
        for path in paths.values():
            selected = path.evaluate(record, root=sub).fields
            if not selected:
                continue
            values = [fv for fv in selected if fv.value is not None]
            if not values:
                return _Match.NONE
            for fv in values:
                found = lookups.get({key: lookups.coordinate(fv.value)})
                if found is None:
                    unmatched = True
                    continue
                matched = True
                fv.update_value(*_value_and_type(found))
        if matched and unmatched:
            return _Match.SOME
        return _Match.NONE if unmatched else _Match.ALL


def _path_problem(subject: str, raw: str | None, key: str) -> list[ValidationResult]:
    if not raw or "${" in raw or "#{" in raw:
        return []
    try:
        RecordPath.compile(raw)
    except ValueError as exc:
        return [ValidationResult(subject, str(exc), key)]
    return []
