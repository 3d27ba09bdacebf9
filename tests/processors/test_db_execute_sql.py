"""ExecuteSQL against the real PostgreSQL and MariaDB: Avro output as NiFi writes it,
fragments, batches, parameters, and every failure path (cases after NiFi's TestExecuteSQL)."""

from __future__ import annotations

import datetime as dt
import decimal
import io
from typing import Any

import fastavro
import pytest
from db_testkit import (
    admin,
    persons_fixture,
    pool_properties,
    pool_runner,
    pooled_statement_timeout,
    select_persons,
    unreachable,
)
from db_testkit import disable_pools as disable_pools  # autouse: the runners' pools are disabled after each test

from flowyard.processors.execute_sql import ExecuteSQL
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration

db = persons_fixture("persons")


def _runner(dialect: str, **properties: str) -> ProcessorRunner:
    runner = pool_runner(ExecuteSQL, pool_properties(dialect))
    for name, value in properties.items():
        runner.set_property(name, value)
    return runner


def _records(content: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    reader = fastavro.reader(io.BytesIO(content))
    return reader.writer_schema or {}, list(reader)


def test_a_select_becomes_one_avro_flowfile_named_after_the_table(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT * FROM {table} ORDER BY id"})
    out = select_persons(runner, lambda content: _records(content)[1])
    out.assert_attribute_equals("mime.type", "application/avro-binary")
    schema, _ = _records(out.content)
    assert schema["name"] == f"any.data.{table}"
    assert [f["type"] for f in schema["fields"]] == [["null", "int"], ["null", "string"], ["null", "string"],
                                                    ["null", "string"], ["null", "string"]]


def test_logical_types_for_decimals_dates_and_timestamps(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT amount, born, seen FROM {table} WHERE id = 2",
                                 "Use Avro Logical Types": "true"})
    runner.enqueue(b"")
    runner.run()
    schema, rows = _records(runner.flowfiles_for("success")[0].content)
    types = {f["name"]: f["type"][1] for f in schema["fields"]}
    assert types["amount"] == {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}
    assert types["born"] == {"type": "int", "logicalType": "date"}
    assert types["seen"] == {"type": "long", "logicalType": "timestamp-millis"}
    assert rows == [{"amount": decimal.Decimal("2.52"), "born": dt.date(2000, 1, 2),
                     "seen": dt.datetime(2024, 5, 2, 12, 30, 15, 250000, tzinfo=dt.UTC)}]


def test_the_query_comes_from_the_content_and_names_are_normalized(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"Normalize Table and Column Names": "true"})
    runner.enqueue(f"SELECT id AS \"my id\", name FROM {table} WHERE id < 3 ORDER BY id".replace(
        '"', "`" if dialect == "mariadb" else '"'))
    runner.run()
    schema, rows = _records(runner.flowfiles_for("success")[0].content)
    assert [f["name"] for f in schema["fields"]] == ["my_id", "name"]
    assert rows == [{"my_id": 1, "name": "person 1"}, {"my_id": 2, "name": "person 2"}]


@pytest.mark.parametrize(("rows", "max_rows", "expected"), [(5, 2, [2, 2, 1]), (4, 2, [2, 2]), (5, 0, [5])])
def test_max_rows_per_flowfile_splits_into_fragments(db: tuple[str, str], rows: int, max_rows: int,
                                                     expected: list[int]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT id FROM {table} WHERE id <= {rows} ORDER BY id",
                                 "Max Rows Per FlowFile": str(max_rows)})
    runner.enqueue(b"")
    runner.run()
    outs = runner.flowfiles_for("success")
    assert [int(o.attributes["executesql.row.count"]) for o in outs] == expected
    assert sum(len(_records(o.content)[1]) for o in outs) == rows
    if max_rows:
        assert {o.attributes["fragment.identifier"] for o in outs} == {outs[0].attributes["fragment.identifier"]}
        assert [o.attributes["fragment.index"] for o in outs] == [str(i) for i in range(len(expected))]
        assert {o.attributes["fragment.count"] for o in outs} == {str(len(expected))}
    else:
        assert "fragment.index" not in outs[0].attributes


def test_output_batch_size_commits_early_without_fragment_count(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT id FROM {table} ORDER BY id", "Max Rows Per FlowFile": "1",
                                 "Output Batch Size": "2"})
    runner.enqueue(b"")
    runner.run()
    outs = runner.flowfiles_for("success")
    assert len(outs) == 5
    assert all("fragment.count" not in o.attributes for o in outs)
    assert [o.attributes["fragment.index"] for o in outs] == ["0", "1", "2", "3", "4"]
    runner.assert_queue_empty()


def test_parameters_from_sql_args_attributes(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT id, name FROM {table} WHERE id >= ? AND name <> ? "
                                              "AND born >= ? ORDER BY id"})
    runner.enqueue(b"", {"sql.args.1.type": "4", "sql.args.1.value": "2", "sql.args.2.type": "12",
                         "sql.args.2.value": "person 4", "sql.args.3.type": "91", "sql.args.3.value": "2000-01-01"})
    runner.run()
    _, rows = _records(runner.flowfiles_for("success")[0].content)
    assert [r["id"] for r in rows] == [2, 5]


def test_a_literal_question_mark_and_percent_survive_parameters(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT '?%' AS q, id FROM {table} WHERE id = ?"})
    runner.enqueue(b"", {"sql.args.1.type": "4", "sql.args.1.value": "1"})
    runner.run()
    _, rows = _records(runner.flowfiles_for("success")[0].content)
    assert rows == [{"q": "?%", "id": 1}]


def test_an_empty_result_set_has_the_schema_and_no_rows(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT id, name FROM {table} WHERE id > 100"})
    runner.enqueue(b"")
    runner.run()
    out = runner.flowfiles_for("success")[0]
    out.assert_attribute_equals("executesql.row.count", "0")
    schema, rows = _records(out.content)
    assert [f["name"] for f in schema["fields"]] == ["id", "name"] and rows == []


@pytest.mark.parametrize(("strategy", "original"), [("EMPTY", False), ("ORIGINAL", True)])
def test_a_statement_without_results_passes_the_input_on(db: tuple[str, str], strategy: str,
                                                         original: bool) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"UPDATE {table} SET name = 'x' WHERE id = 1",
                                 "Content Output Strategy": strategy})
    runner.enqueue(b"original content", {"a": "b"})
    runner.run()
    out = runner.flowfiles_for("success")[0]
    out.assert_attribute_equals("a", "b")
    if original:
        out.assert_content_equals(b"original content")
    else:
        out.assert_attribute_equals("executesql.row.count", "0")
        schema, rows = _records(out.content)
        assert schema["name"] == "any.data.NiFi_ExecuteSQL_Record" and rows == []
    with admin(dialect) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT name FROM {table} WHERE id = 1")
        assert cur.fetchone()[0] == "x"


@pytest.mark.parametrize("where", ["query", "pre", "post"])
def test_an_sql_error_routes_the_input_to_failure_with_the_message(db: tuple[str, str], where: str) -> None:
    dialect, table = db
    bad = f"SELECT nope FROM {table}"
    properties = {"SQL Query": bad if where == "query" else f"SELECT id FROM {table}"}
    if where != "query":
        properties[f"SQL {where.capitalize()}-Query"] = f"SELECT 1; {bad}"
    runner = _runner(dialect, **properties)
    runner.enqueue(b"keep me")
    runner.run()
    runner.assert_all_transferred("failure", 1)
    out = runner.flowfiles_for("failure")[0]
    assert "nope" in out.attributes["executesql.error.message"]
    out.assert_content_equals(b"keep me")
    assert out.is_penalized(runner.clock())


@pytest.mark.parametrize("auto_commit", ["true", "false"])
def test_max_wait_time_is_not_left_on_the_pooled_connection_after_a_failure(db: tuple[str, str],
                                                                             auto_commit: str) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT nope FROM {table}", "Max Wait Time": "4 sec",
                                 "Set Auto Commit": auto_commit})
    runner.enqueue(b"x")
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert pooled_statement_timeout(runner) == 0  # a later borrower of the pool is not cancelled after 4 s


def test_a_failure_after_output_batch_size_committed_routes_nothing_and_yields() -> None:
    # Set Auto Commit false: the PostgreSQL cursor streams, so the error comes after rows were written
    runner = _runner("postgresql", **{"SQL Query": "SELECT 1/(g-500) AS x FROM generate_series(1,1000) g",
                                      "Fetch Size": "100", "Max Rows Per Flow File": "100", "Output Batch Size": "1",
                                      "Set Auto Commit": "false"})
    runner.enqueue(b"x")
    runner.run()
    # the rows before the division by zero were committed in batches, with the input removed: NiFi has
    # nothing left to route to failure, so it logs the error and yields (no empty FlowFile to failure)
    assert runner.flowfiles_for("failure") == []
    assert len(runner.flowfiles_for("success")) == 4 and runner.input_flowfiles() == []
    assert runner.yield_count == 1
    assert any("division by zero" in m and "Output Batch Size" in m for _, m in runner.bulletins)


@pytest.mark.parametrize("dialect", ["postgresql", "mariadb"])
def test_a_database_that_cannot_be_reached_fails_the_input_penalized(dialect: str) -> None:
    runner = pool_runner(ExecuteSQL, unreachable(pool_properties(dialect)))
    runner.set_property("SQL Query", "SELECT 1")
    runner.enqueue(b"q")
    runner.run()
    runner.assert_all_transferred("failure", 1)
    out = runner.flowfiles_for("failure")[0]
    assert out.attributes["executesql.error.message"]
    assert out.is_penalized(runner.clock())


def test_a_bad_parameter_fails_the_input(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT id FROM {table} WHERE id = ?"})
    runner.enqueue(b"", {"sql.args.1.type": "4", "sql.args.1.value": "one"})
    runner.enqueue(b"", {"sql.args.1.type": "integer", "sql.args.1.value": "1"})
    runner.run(2)
    runner.assert_all_transferred("failure", 2)
    messages = [o.attributes["executesql.error.message"] for o in runner.flowfiles_for("failure")]
    assert "sql.args.1.value" in messages[0] and "not a valid JDBC numeral type" in messages[1]


def test_without_input_a_failure_yields_and_a_result_is_created(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT id FROM {table}"})
    runner.has_input_connection = False
    runner.run()
    runner.assert_all_transferred("success", 1)
    runner.clear_transfer_state()
    runner.set_property("SQL Query", "SELECT nope FROM nowhere_at_all")
    runner.run()
    runner.assert_transferred("success", 0)
    runner.assert_transferred("failure", 0)


@pytest.mark.parametrize("codec", ["DEFLATE", "BZIP2", "SNAPPY", "LZO"])
def test_compressed_avro_reads_back(codec: str) -> None:
    runner = _runner("postgresql", **{"SQL Query": "SELECT 1 AS one", "Compression Format": codec})
    runner.enqueue(b"")
    runner.run()
    content = runner.flowfiles_for("success")[0].content
    assert fastavro.reader(io.BytesIO(content)).codec == {"LZO": "xz"}.get(codec, codec.lower())
    assert _records(content)[1] == [{"one": 1}]


@pytest.mark.parametrize("auto_commit", ["true", "false"])
def test_a_postgresql_query_streams_through_a_server_side_cursor(auto_commit: str) -> None:
    """Rows come from a declared cursor, Fetch Size at a time, never the whole result set at once:
    the query sees its own cursor in pg_cursors."""
    runner = _runner("postgresql", **{"SQL Query": "SELECT name FROM pg_cursors", "Set Auto Commit": auto_commit})
    runner.enqueue(b"")
    runner.run()
    runner.assert_all_transferred("success", 1)
    _, rows = _records(runner.flowfiles_for("success")[0].content)
    assert [row["name"] for row in rows if row["name"].startswith("flowyard_")], rows


@pytest.mark.parametrize(("sql", "plain"), [
    ("SELECT 1", True), ("  -- note\n/* more */ select * from t;", True), ("VALUES (1)", True),
    ("TABLE t", True), ("WITH x AS (SELECT 1) SELECT * FROM x", True),
    ("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", False), ("SELECT * INTO t2 FROM t", False),
    ("SELECT * FROM t FOR UPDATE", False), ("SELECT 1; SELECT 2", False), ("UPDATE t SET a = 1", False),
    ("", False), ("-- only a comment", False),
])
def test_which_statements_stream_from_a_cursor(sql: str, plain: bool) -> None:
    from flowyard.processors._db_common import is_plain_query

    assert is_plain_query(sql) is plain
