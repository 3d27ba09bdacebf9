"""Benchmarks of the databases connectors and processors (issue 13); each prints ``BENCH <name> <value> <unit>``.

``putdatabaserecord_pg`` writes the same generated CSV (100,000 records of
five columns: integer key, text, numeric, date, timestamp) into a fresh
PostgreSQL table (127.0.0.1:5432, database ``test``) through
PutDatabaseRecord (CSVReader with an inferred schema, INSERT, Maximum Batch
Size 1000, one transaction) on ``ProcessorRunner`` (in-memory repositories,
commit included), and, as the ceiling, with PostgreSQL's own ``COPY ... FROM
STDIN (FORMAT csv)`` of the same bytes through psycopg, in the same run. Best
of 3 runs each; the table is truncated between runs. It prints both figures
and their ratio.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_RECORDS = 100_000
_ROUNDS = 3
_URL = "jdbc:postgresql://127.0.0.1:5432/test"


@functools.cache
def _csv() -> bytes:
    lines = ["id,name,amount,born,seen"]
    lines += [f"{i},name {i},{i * 1.25:.2f},2000-01-{i % 28 + 1:02d},2024-05-{i % 28 + 1:02d} 12:{i % 60:02d}:15"
              for i in range(_RECORDS)]
    return ("\n".join(lines) + "\n").encode()


@contextmanager
def _table() -> Iterator[tuple[Any, str]]:
    import psycopg

    conn = psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True)
    name = f"bench_pdr_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, amount NUMERIC(12,2), "
                 "born DATE, seen TIMESTAMP)")
    try:
        yield conn, name
    finally:
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.close()


def _count(conn: Any, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0])


@functools.cache
def _flowyard_seconds() -> float:
    from flowyard.processors.csv_record_services import CSVReader
    from flowyard.processors.dbcp_connection_pool import DBCPConnectionPool
    from flowyard.processors.put_database_record import PutDatabaseRecord
    from flowyard.runtime.sdk.testing import ProcessorRunner

    content = _csv()
    best = float("inf")
    with _table() as (conn, table):
        for _ in range(_ROUNDS):
            conn.execute(f"TRUNCATE {table}")
            runner = ProcessorRunner(PutDatabaseRecord)
            runner.add_controller_service("db", DBCPConnectionPool, {
                "Database Connection URL": _URL, "Database Driver Class Name": "org.postgresql.Driver",
                "Database User": "postgres"})
            runner.add_controller_service("reader", CSVReader)
            runner.enable_controller_service("db")
            runner.enable_controller_service("reader")
            runner.set_property("Database Connection Pooling Service", "db")
            runner.set_property("Record Reader", "reader")
            runner.set_property("Statement Type", "INSERT")
            runner.set_property("Table Name", table)
            runner.enqueue(content)
            started = time.perf_counter()
            runner.run()
            elapsed = time.perf_counter() - started
            runner.disable_controller_service("db")
            assert len(runner.flowfiles_for("success")) == 1, runner.flowfiles_for("failure")
            assert _count(conn, table) == _RECORDS
            best = min(best, elapsed)
    return best


@functools.cache
def _copy_seconds() -> float:
    import psycopg

    content = _csv()
    best = float("inf")
    with _table() as (admin, table):
        for _ in range(_ROUNDS):
            admin.execute(f"TRUNCATE {table}")
            started = time.perf_counter()
            with psycopg.connect(host="127.0.0.1", user="postgres", dbname="test") as conn:
                with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)") as copy:
                    copy.write(content)
                conn.commit()
            elapsed = time.perf_counter() - started
            assert _count(admin, table) == _RECORDS
            best = min(best, elapsed)
    return best


def putdatabaserecord_pg() -> None:
    """Rows per second through PutDatabaseRecord (CSV in, PostgreSQL INSERT out) and through COPY, same run."""
    ours, ceiling = _RECORDS / _flowyard_seconds(), _RECORDS / _copy_seconds()
    print(f"BENCH putdatabaserecord_pg {ours:.0f} rows/s")
    print(f"BENCH putdatabaserecord_pg_copy {ceiling:.0f} rows/s")
    print(f"BENCH putdatabaserecord_pg_ratio {ours / ceiling:.3f} of COPY")


BENCHMARKS: dict[str, Callable[[], None]] = {
    "putdatabaserecord_pg": putdatabaserecord_pg,
}
