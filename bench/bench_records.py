"""Benchmarks of the records connectors and processors (issue 13); each prints ``BENCH <name> <value> <unit>``.

``csv_to_parquet*`` convert the same generated CSV (200,000 records of five
columns, about 11 MB) to Parquet: through ConvertRecord with CSVReader
(inferred schema: the content is read twice) and ParquetRecordSetWriter on
``ProcessorRunner`` (in-memory repositories, the commit included), and, as the
ceiling, with DuckDB reading the CSV file and writing Parquet itself in the
same run. Best of 3 runs each.
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
from collections.abc import Callable

_RECORDS = 200_000
_ROUNDS = 3


@functools.cache
def _csv() -> bytes:
    lines = ["id,name,amount,active,city"]
    cities = ("Berlin", "Paris", "Lisbon", "Oslo", "Rome")
    lines += [f"{i},name {i},{i * 1.25:.2f},{'true' if i % 2 else 'false'},{cities[i % 5]}" for i in range(_RECORDS)]
    return ("\n".join(lines) + "\n").encode()


@functools.cache
def _flowyard_seconds() -> float:
    from flowyard.processors.convert_record import ConvertRecord
    from flowyard.processors.csv_record_services import CSVReader
    from flowyard.processors.parquet_record_services import ParquetRecordSetWriter
    from flowyard.runtime.sdk.testing import ProcessorRunner

    content = _csv()
    best = float("inf")
    for _ in range(_ROUNDS):
        runner = ProcessorRunner(ConvertRecord)
        runner.add_controller_service("reader", CSVReader)
        runner.add_controller_service("writer", ParquetRecordSetWriter, {"Compression Type": "SNAPPY"})
        runner.enable_controller_service("reader")
        runner.enable_controller_service("writer")
        runner.set_property("Record Reader", "reader")
        runner.set_property("Record Writer", "writer")
        runner.enqueue(content)
        started = time.perf_counter()
        runner.run()
        elapsed = time.perf_counter() - started
        out = runner.flowfiles_for("success")
        assert len(out) == 1 and out[0].attributes["record.count"] == str(_RECORDS), runner.flowfiles_for("failure")
        best = min(best, elapsed)
    return best


@functools.cache
def _duckdb_seconds() -> float:
    import duckdb

    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "in.csv")
        with open(source, "wb") as f:
            f.write(_csv())
        for i in range(_ROUNDS):
            target = os.path.join(tmp, f"out{i}.parquet")
            con = duckdb.connect()
            started = time.perf_counter()
            con.execute(f"COPY (SELECT * FROM read_csv_auto('{source}')) TO '{target}' "
                        "(FORMAT PARQUET, COMPRESSION SNAPPY)")
            elapsed = time.perf_counter() - started
            con.close()
            best = min(best, elapsed)
    return best


def csv_to_parquet() -> None:
    """Records per second through ConvertRecord (CSV, inferred schema → Parquet, snappy)."""
    print(f"BENCH csv_to_parquet {_RECORDS / _flowyard_seconds():.0f} records/s")


def csv_to_parquet_mb() -> None:
    """CSV megabytes (10^6 bytes) per second through ConvertRecord."""
    print(f"BENCH csv_to_parquet_mb {len(_csv()) / 1e6 / _flowyard_seconds():.2f} MB/s")


def csv_to_parquet_duckdb() -> None:
    """The ceiling: DuckDB converting the same CSV file to Parquet, records per second."""
    print(f"BENCH csv_to_parquet_duckdb {_RECORDS / _duckdb_seconds():.0f} records/s")


BENCHMARKS: dict[str, Callable[[], None]] = {
    "csv_to_parquet": csv_to_parquet,
    "csv_to_parquet_mb": csv_to_parquet_mb,
    "csv_to_parquet_duckdb": csv_to_parquet_duckdb,
}
