"""CalculateRecordStats: count a flowfile's records and, per RecordPath, the records of each value."""

from __future__ import annotations

from typing import Any

from flowyard.processors._record_processing import (
    RECORD_OR_PROCESSING_ERRORS,
    dynamic_record_path_problems,
    record_reader_property,
    route_to_failure,
)
from flowyard.processors._record_services import RecordReaderFactory
from flowyard.processors._records import to_text
from flowyard.processors._records._recordpath import RecordPath
from flowyard.runtime.sdk import (
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
    validators,
)

__all__ = ["CalculateRecordStats"]

RECORD_READER = record_reader_property("The service that reads the records.", key="record-stats-reader")
LIMIT = PropertySpec(
    key="record-stats-limit", display_name="Record Stats Limit",
    description="When there are more statistics than this, only this many value counts are kept: the largest "
                "(the per-property totals and record.count are always kept).",
    required=True, default="10", expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    validator=validators.NON_NEGATIVE_INTEGER,
)

SUCCESS = Relationship("success", "FlowFiles whose records were counted, with the counts as attributes.")
FAILURE = Relationship("failure", "FlowFiles whose records could not be read; unchanged, with "
                                  "record.error.message saying why.")

NULL = "<null>"


class CalculateRecordStats(Processor):
    """Counts the records of each flowfile (``record.count``) and, for each dynamic property
    (a category name → a RecordPath, Expression Language allowed), how often each value the
    RecordPath selects occurs: ``recordStats.<name>.<value>`` is the number of times ``value``
    was selected (a null counts as ``<null>``) and ``recordStats.<name>`` the number of non-null
    values selected. The content is unchanged; records stream (memory holds one counter per
    distinct value).

    Record Stats Limit, as NiFi applies it: when the statistics (totals and value counts
    together) outnumber the limit, only the ``limit`` largest value counts are kept (ties in the
    order the values first appeared), with every total.

    The attribute names follow NiFi's implementation (``recordStats.sport.soccer``), not the
    ``.count`` suffix its documentation shows. Differences from NiFi: ``record.error.message`` is
    set on failure; a limit larger than the number of value counts keeps them all (NiFi fails
    the flowfile).
    """

    spec = ProcessorSpec(
        description="Counts the records of a flowfile and, for categories defined by RecordPaths in dynamic "
                    "properties, the number of records of each value, as attributes.",
        tags=("record", "stats", "metrics"),
        properties=(RECORD_READER, LIMIT),
        relationships=(SUCCESS, FAILURE),
        dynamic_properties=DynamicPropertySpec(
            name_description="The name of the category. For example, sport",
            value_description="The RecordPath that points to the value of the category. For example /sport",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
        ),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            ("record.count", "The number of records."),
            ("recordStats.<User Defined Property Name>", "How many non-null values the property's RecordPath "
                                                         "selected."),
            ("recordStats.<User Defined Property Name>.<value>", "How many times it selected that value."),
            ("record.error.message", "Why the records could not be counted (failure only)."),
        ),
    )

    def validate(self, context: ProcessContext) -> list[ValidationResult]:
        """Each RecordPath (without Expression Language) must be valid."""
        return dynamic_record_path_problems(context)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Count one flowfile's records."""
        ff = session.get()
        if ff is None:
            return
        try:
            stats = self._stats(context, session, ff)
        except RECORD_OR_PROCESSING_ERRORS as exc:
            route_to_failure(context, session, ff, exc, FAILURE, "count")
            return
        session.transfer(session.put_attributes(ff, stats), SUCCESS)

    @staticmethod
    def _stats(context: ProcessContext, session: ProcessSession, ff: Any) -> dict[str, str]:
        attributes = ff.attributes
        reader_factory = context.property(RECORD_READER).as_controller_service(RecordReaderFactory)
        limit = context.property(LIMIT).evaluate(attributes).as_int()
        if limit < 0:
            raise ValueError(f"Record Stats Limit must not be negative; it is {limit}")
        paths = {name: RecordPath.compile(value.evaluate(attributes).as_str())
                 for name, value in context.dynamic_properties.items()}
        counts: dict[str, int] = {}
        totals: dict[str, int] = {}
        reader = reader_factory.create_reader(attributes, lambda: session.read(ff))
        records = 0
        for record in reader:
            records += 1
            for name, path in paths.items():
                base = f"recordStats.{name}"
                for value in path.values(record, reader.schema):
                    key = f"{base}.{NULL if value is None else to_text(value)}"
                    counts[key] = counts.get(key, 0) + 1
                    totals[base] = totals.get(base, 0) + (value is not None)
        if len(counts) + len(totals) > limit:
            order = {key: i for i, key in enumerate(counts)}
            kept = sorted(counts, key=lambda k: (-counts[k], order[k]))[:limit]
            counts = {key: counts[key] for key in kept}
        return {**{k: str(v) for k, v in totals.items()}, **{k: str(v) for k, v in counts.items()},
                "record.count": str(records)}
