"""Benchmarks of the records connectors and processors (issue 13); each prints ``BENCH <name> <value> <unit>``.

``csv_to_parquet*`` convert the same generated CSV (200,000 records of five
columns, about 11 MB) to Parquet: through ConvertRecord with CSVReader
(inferred schema: the content is read twice) and ParquetRecordSetWriter on
``ProcessorRunner`` (in-memory repositories, the commit included), and, as the
ceiling, with DuckDB reading the CSV file and writing Parquet itself in the
same run. Best of 3 runs each. ``csv_to_json`` is the same CSV to JSON (the
row path: the JSON writer takes records), for comparison.

``convert_csv_peak_rss`` converts a generated 500 MB CSV file (written to a
temporary folder in a stream) to Parquet through ConvertRecord in a fresh
process whose repositories are on disk (RocksDB, as in a running flow): the
content is put into the content repository from the file in 1 MiB pieces and
the peak resident memory while ConvertRecord runs is measured against the
resident memory before it (``measure_peak_rss``, also used by the bounded
memory test in ``tests/processors/test_record_columnar.py``).

Where the time went before the columnar path (py-spy, 200,000 records,
CSV → Parquet, inferred schema): about 45 % inferring the schema (Python's
csv parsing and ``infer_text_type`` on every value), 30 % parsing again and
converting each value into a dict, 15 % appending the values to column lists
and ``pa.array``, under 10 % in pyarrow's Parquet encoding. CSV → JSON: 25 %
inference, 20 % parsing and converting again, 50 % encoding JSON.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

_RECORDS = 200_000
_ROUNDS = 3
_PEAK_RSS_MB = 500


@functools.cache
def _csv() -> bytes:
    lines = ["id,name,amount,active,city"]
    cities = ("Berlin", "Paris", "Lisbon", "Oslo", "Rome")
    lines += [f"{i},name {i},{i * 1.25:.2f},{'true' if i % 2 else 'false'},{cities[i % 5]}" for i in range(_RECORDS)]
    return ("\n".join(lines) + "\n").encode()


def _convert_seconds(writer_name: str, writer_props: dict[str, str]) -> float:
    from flowyard.processors.convert_record import ConvertRecord
    from flowyard.processors.csv_record_services import CSVReader
    from flowyard.processors.json_record_services import JsonRecordSetWriter
    from flowyard.processors.parquet_record_services import ParquetRecordSetWriter
    from flowyard.runtime.sdk.testing import ProcessorRunner

    writer = {"parquet": ParquetRecordSetWriter, "json": JsonRecordSetWriter}[writer_name]
    content = _csv()
    best = float("inf")
    for _ in range(_ROUNDS):
        runner = ProcessorRunner(ConvertRecord)
        runner.add_controller_service("reader", CSVReader)
        runner.add_controller_service("writer", writer, writer_props)
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
def _flowyard_seconds() -> float:
    return _convert_seconds("parquet", {"Compression Type": "SNAPPY"})


def duckdb_copy_seconds(select: str, suffix: str, options: str) -> float:
    """Best of the rounds: DuckDB alone running ``COPY (select) TO file.suffix (options)`` over the
    benchmark's CSV written to a file (``{source}`` in ``select`` is its path): the ceiling."""
    import duckdb

    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "in.csv")
        with open(source, "wb") as f:
            f.write(_csv())
        for i in range(_ROUNDS):
            target = os.path.join(tmp, f"out{i}.{suffix}")
            con = duckdb.connect()
            started = time.perf_counter()
            con.execute(f"COPY ({select.format(source=source)}) TO '{target}' ({options})")
            elapsed = time.perf_counter() - started
            con.close()
            best = min(best, elapsed)
    return best


@functools.cache
def _duckdb_seconds() -> float:
    return duckdb_copy_seconds("SELECT * FROM read_csv_auto('{source}')", "parquet",
                               "FORMAT PARQUET, COMPRESSION SNAPPY")


def write_csv(path: str, megabytes: float) -> int:
    """Write a CSV of about ``megabytes`` MB to ``path`` in a stream (quoted values, empty values, numbers,
    dates, unicode); returns the number of records."""
    cities = ("Berlin", "Paris", "Lisbon", "Oslo", "Zürich", '"New, York"')
    target = int(megabytes * 1e6)
    written = 0
    records = 0
    with open(path, "wb") as f:
        f.write(b"id,name,amount,active,city,day,note\n")
        while written < target:
            lines = []
            for i in range(records, records + 10_000):
                note = "" if i % 7 else '"line one\nline two"'
                lines.append(f"{i},name {i},{i * 1.25:.2f},{'true' if i % 2 else 'false'},{cities[i % 6]},"
                             f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d},{note}\n")
            data = "".join(lines).encode()
            f.write(data)
            written += len(data)
            records += 10_000
    return records


_MEASURE = r'''
import gc, json, os, sys, threading, time
import psutil
from flowyard.processors.convert_record import ConvertRecord
from flowyard.processors.csv_record_services import CSVReader
from flowyard.processors.parquet_record_services import ParquetRecordSetWriter
from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._session import Routing, StandardProcessSession
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk.testing import ProcessorRunner

source, workdir = sys.argv[1], sys.argv[2]
runner = ProcessorRunner(ConvertRecord)
runner.repositories = Repositories.open(os.path.join(workdir, "repository"))  # on disk, as in a running flow
runner._input = FlowFileQueue("input", runner.repositories.flowfiles.queue_id("input"), object_threshold=0,
                              size_threshold=0, swap_threshold=1 << 62)
runner.add_controller_service("reader", CSVReader, json.loads(sys.argv[3]))
runner.add_controller_service("writer", ParquetRecordSetWriter, {"Compression Type": "SNAPPY"})
runner.enable_controller_service("reader")
runner.enable_controller_service("writer")
runner.set_property("Record Reader", "reader")
runner.set_property("Record Writer", "writer")


def enqueue(pieces) -> None:
    session = StandardProcessSession(Routing("source", "Source", destinations={"success": [runner._input]}),
                                     runner.repositories, runner.clock)
    ff = session.write(session.create(), pieces)
    session.transfer(ff, "success")
    runner._commit(session)


# warm up on the first 4 MB of the same content (Arrow's thread pools and kernels, RocksDB), so that what is
# measured is what converting the large flowfile takes, not what a process takes to start converting
enqueue([("id,name,amount,active\n" + "".join(f"{i},n {i},{i / 4},{i % 2 == 0}\n"
                                              for i in range(100_000))).encode()])
runner.run(stop_on_finish=False)
with open(source, "rb") as f:
    enqueue(iter(lambda: f.read(1 << 20), b""))
gc.collect()


def anonymous_rss() -> int:
    """Resident anonymous memory (RssAnon): what the process holds itself, without the file pages of the
    repository that the kernel maps in and may drop at any time (RSS counts those too, and how many
    stay resident depends on the machine's I/O, not on flowyard)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return psutil.Process().memory_info().rss


before = anonymous_rss()
peak = before
done = threading.Event()

def sample() -> None:
    global peak
    while not done.is_set():
        peak = max(peak, anonymous_rss())
        time.sleep(0.002)

sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
started = time.perf_counter()
runner.run()
seconds = time.perf_counter() - started
done.set()
sampler.join()
peak = max(peak, anonymous_rss())
out = runner._outputs["success"].listing(10)[1:] if "success" in runner._outputs else []
failed = runner._outputs["failure"].listing(10) if "failure" in runner._outputs else []
print(json.dumps({"before": before, "peak": peak, "seconds": seconds, "content": os.path.getsize(source),
                  "records": out[0].attributes["record.count"] if out else None,
                  "output": out[0].size if out else None,
                  "failure": failed[0].attributes.get("record.error.message") if failed else None}))
'''


def measure_peak_rss(source: str, workdir: str, reader_props: dict[str, str] | None = None,
                     timeout: float = 1200) -> dict[str, object]:
    """Convert the CSV file ``source`` to Parquet through ConvertRecord (CSVReader with ``reader_props``)
    in a fresh process with on-disk repositories in ``workdir``; the figures it reports: RSS ``before`` and
    ``peak`` while it runs (bytes), ``seconds``, ``content`` size, ``records`` converted, ``output`` size
    and any ``failure``."""
    command = [sys.executable, "-c", _MEASURE, source, workdir, json.dumps(reader_props or {})]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the measuring process failed: {done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def csv_to_parquet() -> None:
    """Records per second through ConvertRecord (CSV, inferred schema → Parquet, snappy)."""
    print(f"BENCH csv_to_parquet {_RECORDS / _flowyard_seconds():.0f} records/s")


def csv_to_parquet_mb() -> None:
    """CSV megabytes (10^6 bytes) per second through ConvertRecord."""
    print(f"BENCH csv_to_parquet_mb {len(_csv()) / 1e6 / _flowyard_seconds():.2f} MB/s")


def csv_to_parquet_duckdb() -> None:
    """The ceiling: DuckDB converting the same CSV file to Parquet, records per second."""
    print(f"BENCH csv_to_parquet_duckdb {_RECORDS / _duckdb_seconds():.0f} records/s")


def csv_to_parquet_vs_duckdb() -> None:
    """ConvertRecord's CSV → Parquet speed as a fraction of DuckDB's, measured in the same run."""
    print(f"BENCH csv_to_parquet_vs_duckdb {_duckdb_seconds() / _flowyard_seconds():.3f} ratio")


def csv_to_json() -> None:
    """Records per second through ConvertRecord (CSV, inferred schema → JSON array)."""
    print(f"BENCH csv_to_json {_RECORDS / _convert_seconds('json', {}):.0f} records/s")


def convert_csv_peak_rss() -> None:
    """Peak RSS growth (MB) while ConvertRecord turns a 500 MB CSV into Parquet (repositories on disk)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "in.csv")
        records = write_csv(source, _PEAK_RSS_MB)
        result = measure_peak_rss(source, tmp)
    assert result["records"] == str(records), result
    growth = (int(str(result["peak"])) - int(str(result["before"]))) / 1e6
    print(f"BENCH convert_csv_peak_rss {growth:.0f} MB")
    seconds = float(str(result["seconds"]))
    print(f"BENCH convert_csv_500mb_mb {_PEAK_RSS_MB / seconds:.1f} MB/s", file=sys.stderr)


BENCHMARKS: dict[str, Callable[[], None]] = {
    "csv_to_parquet": csv_to_parquet,
    "csv_to_parquet_mb": csv_to_parquet_mb,
    "csv_to_parquet_duckdb": csv_to_parquet_duckdb,
    "csv_to_parquet_vs_duckdb": csv_to_parquet_vs_duckdb,
    "csv_to_json": csv_to_json,
    "convert_csv_peak_rss": convert_csv_peak_rss,
}
