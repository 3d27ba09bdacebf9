"""SampleRecord: a sample of each flowfile's records (interval, range, probabilistic or reservoir)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flowyard.processors._record_processing import (
    RECORD_ERRORS,
    conformed,
    record_factories,
    record_reader_property,
    record_writer_property,
    route_to_failure,
    written_attributes,
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
    PropertyValue,
    Relationship,
    validators,
)

__all__ = ["SampleRecord", "parse_range"]

INTERVAL = "interval"
RANGE = "range"
PROBABILISTIC = "probabilistic"
RESERVOIR = "reservoir"
_MAX_LONG = 2**63 - 1

Chooser = Callable[[Iterator[dict[str, Any]]], Iterator[dict[str, Any]]]


def _on(*strategies: str) -> tuple[PropertyDependency, ...]:
    return (PropertyDependency("sample-record-sampling-strategy", strategies),)


_RANGE_PART = re.compile(r"\s*(?:(\d+)|(\d+)\s*-\s*(\d*)|-\s*(\d+))\s*")


def parse_range(text: str) -> list[tuple[int, int]]:
    """NiFi's Sampling Range (``3,6-8,20-``, ``-5``: 1-based, inclusive) as (first, last) pairs;
    ``ValueError`` naming the bad part."""
    ranges: list[tuple[int, int]] = []
    if not text.strip():
        raise ValueError("the Sampling Range is empty")
    for part in text.split(","):
        match = _RANGE_PART.fullmatch(part)
        if match is None:
            raise ValueError(f"{part.strip()!r} in the Sampling Range is not a record number or range such as 3, "
                             "6-8, -5 or 20-")
        single, start, end, upto = match.groups()
        if single is not None:
            first = last = int(single)
        elif upto is not None:
            first, last = 1, int(upto)
        else:
            first, last = int(start), int(end) if end else _MAX_LONG
        if first < 1 or last < first:
            raise ValueError(f"{part.strip()!r} in the Sampling Range is not a range of record numbers from 1")
        ranges.append((first, last))
    return ranges


def _check_range(value: str) -> str | None:
    try:
        parse_range(value)
    except ValueError as exc:
        return str(exc)
    return None


def _check_probability(value: str) -> str | None:
    try:
        number = float(value)
    except ValueError:
        return f"{value!r} is not a number"
    return None if 0 <= number <= 100 else f"{value!r} is not a percentage from 0 to 100"


def _check_seed(value: str) -> str | None:
    try:
        number = int(value.strip())
    except ValueError:
        return f"{value!r} is not a whole number"
    return None if -(2**63) <= number < 2**63 else f"{value!r} is out of the range of a long"


RANGE_VALIDATOR = validators.Validator("record range", "record numbers and ranges from 1, e.g. '3,6-8,20-'",
                                       _check_range)
PROBABILITY_VALIDATOR = validators.Validator("percentage", "a number from 0 to 100", _check_probability)
SEED_VALIDATOR = validators.Validator("long", "a whole number (a Java long)", _check_seed)

RECORD_READER = record_reader_property()
RECORD_WRITER = record_writer_property("The service that writes the sampled records.")
SAMPLING_STRATEGY = PropertySpec(
    key="sample-record-sampling-strategy", display_name="Sampling Strategy", required=True, default=RESERVOIR,
    description="How the records of the sample are chosen.",
    allowed_values=(
        AllowableValue(INTERVAL, "Interval Sampling", "Every Nth record (N = Sampling Interval)."),
        AllowableValue(RANGE, "Range Sampling", "The records whose numbers (from 1) are in the Sampling Range."),
        AllowableValue(PROBABILISTIC, "Probabilistic Sampling",
                       "Each record with the Sampling Probability (a percentage)."),
        AllowableValue(RESERVOIR, "Reservoir Sampling",
                       "A uniform random sample of Reservoir Size records (held in memory)."),
    ),
)
SAMPLING_INTERVAL = PropertySpec(
    key="sample-record-interval", display_name="Sampling Interval", required=True,
    description="N: the Nth, 2Nth, 3Nth ... records are sampled.", validator=validators.POSITIVE_INTEGER,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES, dependencies=_on(INTERVAL),
)
SAMPLING_RANGE = PropertySpec(
    key="sample-record-range", display_name="Sampling Range", required=True,
    description="Record numbers (from 1) and ranges, comma separated: '3,6-8,20-' samples the third, the sixth to "
                "eighth and every record from the twentieth; '-5' the first five.",
    validator=RANGE_VALIDATOR, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES, dependencies=_on(RANGE),
)
SAMPLING_PROBABILITY = PropertySpec(
    key="sample-record-probability", display_name="Sampling Probability", required=True,
    description="The chance, as a percentage from 0 to 100, that a record is sampled.",
    validator=PROBABILITY_VALIDATOR, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=_on(PROBABILISTIC),
)
RESERVOIR_SIZE = PropertySpec(
    key="sample-record-reservoir", display_name="Reservoir Size", required=True,
    description="How many records the sample holds (all of them if there are fewer); they are held in memory.",
    validator=validators.NON_NEGATIVE_INTEGER, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=_on(RESERVOIR),
)
RANDOM_SEED = PropertySpec(
    key="sample-record-random-seed", display_name="Random Seed",
    description="A seed for the random choices, so that the same input gives the same sample; unset, each sample "
                "is different.", validator=SEED_VALIDATOR, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=_on(PROBABILISTIC, RESERVOIR),
)

SUCCESS = Relationship("success", "The sample of each flowfile's records.")
ORIGINAL = Relationship("original", "Each flowfile that was sampled, unchanged.")
FAILURE = Relationship("failure", "Flowfiles whose records could not be read or written, or whose sampling "
                                  "property does not evaluate to a valid value; unchanged, with record.error.message.")


def _evaluated(value: PropertyValue, attributes: Mapping[str, str], check: validators.Validator) -> str:
    text = value.evaluate(attributes).raw
    if text is None:
        raise ValueError(f"{value.spec.display_name if value.spec else 'the property'} has no value")
    problem = check(text)
    if problem is not None:
        name = value.spec.display_name if value.spec else "the property"
        raise ValueError(f"{name}: {problem}")
    return text


class SampleRecord(Processor):
    """Writes a sample of each flowfile's records with the Record Writer to
    ``success`` (a new flowfile with ``record.count``, ``mime.type`` and the
    writer's attributes); the input goes to ``original`` unchanged. Strategies,
    as NiFi's: Interval Sampling (records N, 2N, 3N, ...), Range Sampling
    (record numbers from 1 in the Sampling Range, e.g. ``3,6-8,20-``),
    Probabilistic Sampling (each record with the Sampling Probability, a
    percentage) and Reservoir Sampling (a uniformly random Reservoir Size of
    them, in their input order). Random Seed makes the probabilistic and
    reservoir choices repeatable: each flowfile's sample starts from the seed.

    Records stream, except that a reservoir holds up to Reservoir Size records
    (as in NiFi). Sampling properties take Expression Language over the
    flowfile's attributes; a value that then is not valid, or records that
    cannot be read or written, send the input to ``failure`` unchanged with
    ``record.error.message`` (and an error bulletin), with no sample.

    Differences from NiFi: ``record.error.message`` on failure; the reservoir
    sample keeps the records' input order; the random sequence is Python's, so
    a seed picks other records than NiFi's with the same seed.
    """

    spec = ProcessorSpec(
        description="Samples the records of a flowfile by one of several strategies (interval, range, "
                    "probabilistic, reservoir).",
        tags=("record", "sample", "reservoir", "range", "interval"),
        properties=(RECORD_READER, RECORD_WRITER, SAMPLING_STRATEGY, SAMPLING_INTERVAL, SAMPLING_RANGE,
                    SAMPLING_PROBABILITY, RESERVOIR_SIZE, RANDOM_SEED),
        relationships=(SUCCESS, FAILURE, ORIGINAL),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            ("mime.type", "The MIME type of the writer's output."),
            ("record.count", "The number of records in the sample."),
            ("record.error.message", "Why the flowfile could not be sampled (failure only)."),
        ),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Sample one flowfile."""
        ff = session.get()
        if ff is None:
            return
        sample: FlowFile | None = None
        try:
            sample = session.create(ff)
            sample, writer_attributes = self._sample(context, session, ff, sample)
        except RECORD_ERRORS as exc:
            route_to_failure(context, session, ff, exc, FAILURE, "sample",
                             created=[sample] if sample is not None else [])
            return
        session.transfer(session.put_attributes(sample, writer_attributes), SUCCESS)
        session.transfer(ff, ORIGINAL)

    def _sample(self, context: ProcessContext, session: ProcessSession, ff: FlowFile,
                sample: FlowFile) -> tuple[FlowFile, dict[str, str]]:
        attributes = ff.attributes
        strategy = context.property(SAMPLING_STRATEGY).as_str()
        chooser = self._chooser(context, strategy, attributes)
        reader_factory, writer_factory = record_factories(context, RECORD_READER, RECORD_WRITER)
        reader = reader_factory.create_reader(attributes, lambda: session.read(ff))
        schema = writer_factory.get_schema(attributes, reader.schema)
        records = conformed(chooser(iter(reader)), reader.schema, schema)
        writer = writer_factory.create_writer(schema, attributes)
        sample = session.write(sample, writer.write(records))
        return sample, written_attributes(writer)

    def _chooser(self, context: ProcessContext, strategy: str, attributes: Mapping[str, str]) -> Chooser:
        if strategy == INTERVAL:
            interval = int(_evaluated(context.property(SAMPLING_INTERVAL), attributes, validators.POSITIVE_INTEGER))
            return lambda records: _every(records, interval)
        if strategy == RANGE:
            ranges = parse_range(_evaluated(context.property(SAMPLING_RANGE), attributes, RANGE_VALIDATOR))
            return lambda records: _in_ranges(records, ranges)
        seed_value = context.property(RANDOM_SEED).evaluate(attributes).raw
        if seed_value:
            problem = _check_seed(seed_value)
            if problem is not None:
                raise ValueError(f"Random Seed: {problem}")
        rng = random.Random(int(seed_value)) if seed_value else random.Random()
        if strategy == PROBABILISTIC:
            percent = float(_evaluated(context.property(SAMPLING_PROBABILITY), attributes, PROBABILITY_VALIDATOR))
            return lambda records: (r for r in records if rng.random() * 100 < percent)
        size = int(_evaluated(context.property(RESERVOIR_SIZE), attributes, validators.NON_NEGATIVE_INTEGER))
        return lambda records: _reservoir(records, size, rng)


def _every(records: Iterator[dict[str, Any]], interval: int) -> Iterator[dict[str, Any]]:
    for number, record in enumerate(records, 1):
        if number % interval == 0:
            yield record


def _in_ranges(records: Iterator[dict[str, Any]], ranges: list[tuple[int, int]]) -> Iterator[dict[str, Any]]:
    last = max(end for _, end in ranges)
    for number, record in enumerate(records, 1):
        if any(first <= number <= end for first, end in ranges):
            yield record
        elif number > last:
            for _ in records:  # read to the end: a bad record later still fails the flowfile
                pass
            return


def _reservoir(records: Iterator[dict[str, Any]], size: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Algorithm R: a uniform sample of ``size`` records, yielded in input order."""
    kept: list[tuple[int, dict[str, Any]]] = []
    for number, record in enumerate(records):
        if number < size:
            kept.append((number, record))
        else:
            slot = rng.randint(0, number)
            if slot < size:
                kept[slot] = (number, record)
    kept.sort(key=lambda pair: pair[0])
    for _, record in kept:
        yield record
