"""Benchmarks of the record routing processors (QueryRecord, ...); each prints ``BENCH <name> <value> <unit>``.

``queryrecord_filter`` runs ``SELECT * FROM FLOWFILE WHERE amount > 100000``
(about half of the rows pass) over a generated CSV of 200,000 records of five
columns (about 11 MB) through QueryRecord with CSVReader (inferred schema: the
content is read twice for inference, then once per query) and
CSVRecordSetWriter on ``ProcessorRunner`` (in-memory repositories, the commit
included); records read per second. ``queryrecord_filter_duckdb`` is the
ceiling: DuckDB running the same filter over the same CSV file and writing
the result as CSV itself, in the same run. Best of 3 runs each.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from bench_records import _RECORDS, _ROUNDS, _csv, duckdb_copy_seconds

_QUERY = "SELECT * FROM FLOWFILE WHERE amount > 100000"


_PASSING = sum(1 for i in range(_RECORDS) if i * 1.25 > 100000)


@functools.cache
def _flowyard_seconds() -> float:
    from flowyard.processors.csv_record_services import CSVReader, CSVRecordSetWriter
    from flowyard.processors.query_record import QueryRecord
    from flowyard.runtime.sdk.testing import ProcessorRunner

    content = _csv()
    best = float("inf")
    for _ in range(_ROUNDS):
        runner = ProcessorRunner(QueryRecord)
        runner.add_controller_service("reader", CSVReader)
        runner.add_controller_service("writer", CSVRecordSetWriter)
        runner.enable_controller_service("reader")
        runner.enable_controller_service("writer")
        runner.set_property("Record Reader", "reader")
        runner.set_property("Record Writer", "writer")
        runner.set_property("big", _QUERY)
        runner.auto_terminate("original")
        runner.enqueue(content)
        started = time.perf_counter()
        runner.run()
        elapsed = time.perf_counter() - started
        out = runner.flowfiles_for("big")
        assert len(out) == 1 and out[0].attributes["record.count"] == str(_PASSING), runner.flowfiles_for("failure")
        best = min(best, elapsed)
    return best


@functools.cache
def _duckdb_seconds() -> float:
    return duckdb_copy_seconds(_QUERY.replace("FLOWFILE", "read_csv_auto('{source}')"), "csv", "FORMAT CSV, HEADER")


def queryrecord_filter() -> None:
    """Records read per second through QueryRecord (CSV, inferred schema, one filter query → CSV)."""
    print(f"BENCH queryrecord_filter {_RECORDS / _flowyard_seconds():.0f} records/s")


def queryrecord_filter_duckdb() -> None:
    """The ceiling: DuckDB running the same filter over the same CSV file, records read per second."""
    print(f"BENCH queryrecord_filter_duckdb {_RECORDS / _duckdb_seconds():.0f} records/s")


BENCHMARKS: dict[str, Callable[[], None]] = {
    "queryrecord_filter": queryrecord_filter,
    "queryrecord_filter_duckdb": queryrecord_filter_duckdb,
}
