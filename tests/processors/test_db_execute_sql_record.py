"""ExecuteSQLRecord against the real PostgreSQL and MariaDB: result sets through a Record Writer with NiFi's
attributes, fragments, batches, parameters and failures."""

from __future__ import annotations

import json

import pytest
from db_testkit import PG, persons_fixture, pool_properties, pool_runner, select_persons, unreachable, with_service
from db_testkit import disable_pools as disable_pools  # autouse: the runners' pools are disabled after each test

from flowyard.processors.csv_record_services import CSVRecordSetWriter
from flowyard.processors.execute_sql_record import ExecuteSQLRecord
from flowyard.processors.json_record_services import JsonRecordSetWriter
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration

db = persons_fixture("esqlr")


def _runner(dialect: str, writer: type = JsonRecordSetWriter, pool: dict[str, str] | None = None,
            **properties: str) -> ProcessorRunner:
    runner = pool_runner(ExecuteSQLRecord, pool or pool_properties(dialect))
    with_service(runner, "Record Writer", "writer", writer)
    for name, value in properties.items():
        runner.set_property(name, value)
    return runner


def test_a_select_becomes_records_with_nifis_attributes(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT * FROM {table} ORDER BY id"})
    out = select_persons(runner, json.loads)
    out.assert_attribute_equals("record.count", "5")
    out.assert_attribute_equals("mime.type", "application/json")


def test_logical_types_keep_decimals_and_dates(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, CSVRecordSetWriter, **{"SQL Query": f"SELECT id, amount, born FROM {table} WHERE id = 2",
                                                     "Use Avro Logical Types": "true"})
    runner.enqueue(b"")
    runner.run()
    out = runner.flowfiles_for("success")[0]
    assert out.content.decode().splitlines() == ["id,amount,born", "2,2.52,2000-01-02"]
    out.assert_attribute_equals("mime.type", "text/csv")


def test_max_rows_per_flowfile_makes_fragments(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT id FROM {table} ORDER BY id", "Max Rows Per FlowFile": "2"})
    runner.enqueue(b"")
    runner.run()
    outs = runner.flowfiles_for("success")
    assert [o.attributes["record.count"] for o in outs] == ["2", "2", "1"]
    assert [o.attributes["fragment.index"] for o in outs] == ["0", "1", "2"]
    assert {o.attributes["fragment.count"] for o in outs} == {"3"}
    assert [r["id"] for o in outs for r in json.loads(o.content)] == [1, 2, 3, 4, 5]


def test_output_batch_size_commits_early_without_fragment_count(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT id FROM {table} ORDER BY id", "Max Rows Per FlowFile": "2",
                                 "Output Batch Size": "1"})
    runner.enqueue(b"")
    runner.run()
    outs = runner.flowfiles_for("success")
    assert len(outs) == 3 and all("fragment.count" not in o.attributes for o in outs)
    runner.assert_queue_empty()


def test_parameters_and_the_query_from_content(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect)
    runner.enqueue(f"SELECT id FROM {table} WHERE id > ? ORDER BY id", {"sql.args.1.type": "4",
                                                                       "sql.args.1.value": "3"})
    runner.run()
    assert json.loads(runner.flowfiles_for("success")[0].content) == [{"id": 4}, {"id": 5}]


def test_a_statement_without_results_gives_an_empty_record_set(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"UPDATE {table} SET name = 'x' WHERE id = 1"})
    runner.enqueue(b"original")
    runner.run()
    out = runner.flowfiles_for("success")[0]
    out.assert_attribute_equals("executesql.row.count", "0")
    out.assert_attribute_equals("record.count", "0")
    assert json.loads(out.content) == []


def test_an_error_routes_the_input_to_failure_with_the_message(db: tuple[str, str]) -> None:
    dialect, table = db
    runner = _runner(dialect, **{"SQL Query": f"SELECT nope FROM {table}"})
    runner.enqueue(b"keep me")
    runner.run()
    runner.assert_all_transferred("failure", 1)
    out = runner.flowfiles_for("failure")[0]
    assert "nope" in out.attributes["executesql.error.message"]
    out.assert_content_equals(b"keep me")


def test_an_unreachable_database_fails_the_input() -> None:
    runner = _runner("postgresql", pool=unreachable(PG), **{"SQL Query": "SELECT 1"})
    runner.enqueue(b"q")
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert runner.flowfiles_for("failure")[0].attributes["executesql.error.message"]
