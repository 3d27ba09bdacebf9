"""PutSQL against the real PostgreSQL and MariaDB: parameters by JDBC type, batches in one
transaction, nothing half-written on failure, fragmented transactions, retry on connection errors."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from db_testkit import DIALECTS, PG, ScratchDb, admin, pool_properties, pool_runner, unreachable
from db_testkit import disable_pools as disable_pools  # autouse: the runners' pools are disabled after each test

from flowyard.processors.put_sql import PutSQL
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration


@pytest.fixture(params=DIALECTS)
def db(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    handle = ScratchDb(request.param)
    try:
        auto = "SERIAL" if handle.dialect == "postgresql" else "INTEGER AUTO_INCREMENT"
        table = handle.create_table("put", "id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(40), big BIGINT, "
                                           "price DECIMAL(10,2), ratio DOUBLE PRECISION, flag BOOLEAN, born DATE, "
                                           "seen TIMESTAMP NULL")
        handle.drops.append(f"DROP TABLE IF EXISTS {table}_keys")
        handle.execute(f"CREATE TABLE {table}_keys (k {auto} PRIMARY KEY, v VARCHAR(10))")
        yield request.param, table
    finally:
        handle.close()


def _runner(dialect: str, base: dict[str, str] | None = None, **properties: str) -> ProcessorRunner:
    runner = pool_runner(PutSQL, base or pool_properties(dialect), "JDBC Connection Pool")
    for name, value in properties.items():
        runner.set_property(name, value)
    return runner


def _rows(dialect: str, sql: str) -> list[tuple[Any, ...]]:
    with admin(dialect) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]


def _insert(table: str, i: int) -> tuple[str, dict[str, str]]:
    return (f"INSERT INTO {table} (id, name) VALUES (?, ?)",
            {"sql.args.1.type": "4", "sql.args.1.value": str(i), "sql.args.2.type": "12",
             "sql.args.2.value": f"n{i}"})


def test_every_jdbc_type_is_bound_and_the_batch_committed(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect)
    sql = f"INSERT INTO {table} (id, name, big, price, ratio, flag, born, seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    args = {"1": ("4", "7"), "2": ("12", "it's 100%"), "3": ("-5", "9000000000"), "4": ("3", "12.34"),
            "5": ("8", "0.5"), "6": ("16", "true"), "7": ("91", "2020-02-29"), "8": ("93", "2024-05-01 10:11:12.5")}
    attributes = {f"sql.args.{n}.{k}": v for n, (t, value) in args.items() for k, v in (("type", t), ("value", value))}
    runner.enqueue(sql, attributes)
    runner.enqueue(*_insert(table, 8))
    runner.run()
    runner.assert_all_transferred("success", 2)
    assert len(runner.provenance_events()) >= 2
    rows = _rows(dialect, f"SELECT id, name, big, price, ratio, flag, born, seen FROM {table} ORDER BY id")
    assert rows[0] == (7, "it's 100%", 9000000000, decimal.Decimal("12.34"), 0.5, True if dialect == "postgresql"
                       else 1, dt.date(2020, 2, 29), dt.datetime(2024, 5, 1, 10, 11, 12) if dialect == "mariadb"
                       else dt.datetime(2024, 5, 1, 10, 11, 12, 500000))
    assert rows[1][:2] == (8, "n8")


def test_a_constraint_violation_mid_batch_rolls_back_everything(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect)
    for i in (1, 2, 1, 3):  # the second 1 violates the primary key
        runner.enqueue(*_insert(table, i))
    runner.run()
    runner.assert_all_transferred("failure", 4)
    assert _rows(dialect, f"SELECT id FROM {table}") == []
    failed = runner.flowfiles_for("failure")
    assert [("error.message" in f.attributes) for f in failed] == [False, False, True, False]
    assert all(f.is_penalized(runner.clock()) for f in failed)


def test_without_transactions_the_statements_before_a_failure_are_committed(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"Support Fragmented Transactions": "false"})
    for i in (1, 2, 1, 3):
        runner.enqueue(*_insert(table, i))
    runner.run()
    runner.assert_transferred("success", 2)
    runner.assert_transferred("failure", 1)
    runner.assert_transferred("retry", 1)
    assert sorted(_rows(dialect, f"SELECT id FROM {table}")) == [(1,), (2,)]
    assert runner.flowfiles_for("failure")[0].attributes["error.message"]


def test_rollback_on_failure_keeps_the_flowfiles_queued(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"Rollback On Failure": "true"})
    for i in (1, 1):
        runner.enqueue(*_insert(table, i))
    runner.run()
    for relationship in ("success", "failure", "retry"):
        runner.assert_transferred(relationship, 0)
    assert runner.queue_size == 2
    assert _rows(dialect, f"SELECT id FROM {table}") == []


def test_a_bad_parameter_fails_the_batch(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect)
    runner.enqueue(*_insert(table, 1))
    runner.enqueue(f"INSERT INTO {table} (id) VALUES (?)", {"sql.args.1.type": "4", "sql.args.1.value": "x"})
    runner.run()
    runner.assert_all_transferred("failure", 2)
    assert "sql.args.1.value" in runner.flowfiles_for("failure")[1].attributes["error.message"]
    assert _rows(dialect, f"SELECT id FROM {table}") == []


def test_fragments_run_in_index_order_once_all_are_there(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect)
    tx = str(uuid.uuid4())
    statements = [f"INSERT INTO {table} (id, name) VALUES (1, 'first')",
                  f"UPDATE {table} SET name = 'second' WHERE id = 1",
                  f"UPDATE {table} SET name = CONCAT(name, '+third') WHERE id = 1"]
    for index in (2, 0):
        runner.enqueue(statements[index], {"fragment.identifier": tx, "fragment.count": "3",
                                           "fragment.index": str(index)})
    runner.enqueue(*_insert(table, 50))
    runner.run()  # fragments incomplete: they wait (penalized); nothing else is taken with them
    runner.assert_transferred("success", 0)
    assert _rows(dialect, f"SELECT id FROM {table}") == []
    runner.clear_transfer_state()
    runner.enqueue(statements[1], {"fragment.identifier": tx, "fragment.count": "3", "fragment.index": "1"})
    runner.clock.advance(60)
    for _ in range(3):
        runner.run()
        runner.clock.advance(60)
    assert len(runner.flowfiles_for("success")) == 4
    assert sorted(_rows(dialect, f"SELECT id, name FROM {table}")) == [(1, "second+third"), (50, "n50")]


def test_inconsistent_fragments_go_to_failure(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect)
    for index, count in ((0, "2"), (1, "3")):
        runner.enqueue(f"INSERT INTO {table} (id) VALUES ({index})", {
            "fragment.identifier": "t", "fragment.count": count, "fragment.index": str(index)})
    runner.run()
    runner.assert_all_transferred("failure", 2)
    assert "fragment.count" in runner.flowfiles_for("failure")[0].attributes["error.message"]


def test_an_unreachable_database_sends_the_batch_to_retry(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, unreachable(pool_properties(dialect)))
    runner.enqueue(*_insert(table, 1))
    runner.enqueue(*_insert(table, 2))
    runner.run()
    runner.assert_all_transferred("retry", 2)


def test_generated_keys_and_a_statement_property(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"Obtain Generated Keys": "true",
                                 "SQL Statement": f"INSERT INTO {table}_keys (v) VALUES ('${{v}}')"})
    runner.enqueue(b"", {"v": "a"})
    runner.enqueue(b"", {"v": "b"})
    runner.run()
    runner.assert_all_transferred("success", 2)
    keys = [f.attributes["sql.generated.key"] for f in runner.flowfiles_for("success")]
    assert keys == [str(k) for (k,) in _rows(dialect, f"SELECT k FROM {table}_keys ORDER BY k")]


@pytest.mark.parametrize("name", ["Support Fragmented Transactions", "Rollback On Failure"])
def test_autocommit_excludes_transactions(name: str) -> None:
    runner = pool_runner(PutSQL, PG, "JDBC Connection Pool")
    runner.set_property("Support Fragmented Transactions", "false")
    runner.set_property("Database Session AutoCommit", "true")
    runner.assert_valid()
    runner.set_property(name, "true")
    assert name in [r.subject for r in runner.validation_results()]
