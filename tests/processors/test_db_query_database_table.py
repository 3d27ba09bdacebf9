"""QueryDatabaseTable and QueryDatabaseTableRecord against the real PostgreSQL and MariaDB: incremental fetching
by maximum-value columns kept in state (across a restart), NiFi's edge cases, fragments and batches."""

from __future__ import annotations

import datetime as dt
import io
import json

import fastavro
import pytest
from db_testkit import (
    CLOSED,
    ScratchDb,
    db_fixtures,
    pool_properties,
    pool_runner,
    pooled_statement_timeout,
    with_service,
)
from db_testkit import disable_pools as disable_pools  # autouse: the runners' pools are disabled after each test

from flowyard.processors.json_record_services import JsonRecordSetWriter
from flowyard.processors.query_database_table import QueryDatabaseTable, QueryDatabaseTableRecord
from flowyard.runtime.repository.state import ComponentState
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration


class Db(ScratchDb):
    """A fresh table (id INTEGER, version INTEGER, name VARCHAR, seen TIMESTAMP(6)) on one server."""

    def __init__(self, dialect: str) -> None:
        super().__init__(dialect)
        self.table = self.create_table("qdt", "id INTEGER NOT NULL, version INTEGER, name VARCHAR(40), "
                                              "seen TIMESTAMP(6) NULL")

    def insert(self, *ids: int, version: int | None = None, seen: dt.datetime | None = None) -> None:
        for i in ids:
            self.execute(f"INSERT INTO {self.table} (id, version, name, seen) VALUES (%s, %s, %s, %s)",
                         (i, version if version is not None else i, f"row {i}", seen))


db, pg = db_fixtures(Db)


def _runner(db: Db | None, processor: type = QueryDatabaseTable, pool: dict[str, str] | None = None,
            **properties: str) -> ProcessorRunner:
    runner = pool_runner(processor, pool or pool_properties(db.dialect if db else "mysql"))
    runner.set_property("Table Name", db.table if db is not None else "t")
    if processor is QueryDatabaseTableRecord:
        with_service(runner, "Record Writer", "writer", JsonRecordSetWriter)
    for name, value in properties.items():
        runner.set_property(name, value)
    return runner


def _ids(runner: ProcessorRunner) -> list[int]:
    ids = []
    for out in runner.flowfiles_for("success"):
        ids += [r["id"] for r in fastavro.reader(io.BytesIO(out.content))]
    return sorted(ids)


def test_fetches_only_new_rows_and_a_restart_neither_repeats_nor_skips(db: Db) -> None:
    db.insert(1, 2, 3)
    runner = _runner(db, **{"Maximum-value Columns": "id"})
    runner.run()
    runner.assert_all_transferred("success", 1)
    out = runner.flowfiles_for("success")[0]
    assert out.attributes["tablename"] == db.table
    assert out.attributes["querydbtable.row.count"] == "3"
    assert out.attributes["maxvalue.id"] == "3"
    assert out.attributes["mime.type"] == "application/avro-binary"
    assert _ids(runner) == [1, 2, 3]
    state = runner.state()
    assert state == {f"{db.table}@!@id": "3"}
    assert [e.event_type.name for e in runner.provenance_events()] == ["RECEIVE"]

    db.insert(4, 5)
    runner.clear_transfer_state()
    runner.run()
    assert _ids(runner) == [4, 5]
    runner.clear_transfer_state()
    runner.run()  # nothing new: no FlowFile, the processor yields
    assert runner.flowfiles_for("success") == []
    assert runner.yield_count >= 1

    db.insert(6)
    restarted = _runner(db, **{"Maximum-value Columns": "id"})
    restarted.repositories.state.set_now(restarted.component_id, ComponentState(runner.state(), 1))
    restarted.run()
    assert _ids(restarted) == [6]
    assert restarted.state() == {f"{db.table}@!@id": "6"}


def test_rows_equal_to_the_kept_maximum_are_not_fetched_again(db: Db) -> None:
    db.insert(1, version=1)
    db.insert(2, 3, version=2)
    runner = _runner(db, **{"Maximum-value Columns": "version"})
    runner.run()
    assert _ids(runner) == [1, 2, 3]
    db.insert(4, version=2)  # equal to the kept maximum: NiFi's ">" leaves it behind
    db.insert(5, version=3)
    runner.clear_transfer_state()
    runner.run()
    assert _ids(runner) == [5]
    assert runner.state()[f"{db.table}@!@version"] == "3"


def test_second_maximum_value_column_is_compared_with_greater_or_equal(pg: Db) -> None:
    pg.insert(1, version=1)
    runner = _runner(pg, **{"Maximum-value Columns": "id, version"})
    runner.run()
    pg.insert(2, version=1)  # id beyond, version equal: fetched (>=)
    pg.insert(3, version=0)  # version below: not fetched
    runner.clear_transfer_state()
    runner.run()
    assert _ids(runner) == [2]
    assert runner.state() == {f"{pg.table}@!@id": "2", f"{pg.table}@!@version": "1"}


def test_initial_max_value_and_start_at_current_maximum(db: Db) -> None:
    db.insert(1, 2, 3, 4)
    runner = _runner(db, **{"Maximum-value Columns": "id", "initial.maxvalue.id": "2"})
    runner.run()
    assert _ids(runner) == [3, 4]

    current = _runner(db, **{"Maximum-value Columns": "id", "Initial Load Strategy": "Start at Current Maximum Values"})
    current.run()
    assert current.flowfiles_for("success") == []
    assert current.state() == {f"{db.table}@!@id": "4"}
    db.insert(5)
    current.run()
    assert _ids(current) == [5]


def test_fragments_with_max_rows_per_flowfile(db: Db) -> None:
    db.insert(1, 2, 3, 4, 5)
    runner = _runner(db, **{"Maximum-value Columns": "id", "Max Rows Per FlowFile": "2"})
    runner.run()
    outs = runner.flowfiles_for("success")
    assert [o.attributes["querydbtable.row.count"] for o in outs] == ["2", "2", "1"]
    assert [o.attributes["fragment.index"] for o in outs] == ["0", "1", "2"]
    assert {o.attributes["fragment.count"] for o in outs} == {"3"}
    assert len({o.attributes["fragment.identifier"] for o in outs}) == 1
    assert {o.attributes["maxvalue.id"] for o in outs} == {"5"}
    assert _ids(runner) == [1, 2, 3, 4, 5]


def test_output_batch_size_leaves_out_maxvalue_and_fragment_count(pg: Db) -> None:
    pg.insert(1, 2, 3)
    runner = _runner(pg, **{"Maximum-value Columns": "id", "Max Rows Per FlowFile": "1", "Output Batch Size": "1"})
    runner.run()
    outs = runner.flowfiles_for("success")
    assert len(outs) == 3
    assert all("maxvalue.id" not in o.attributes and "fragment.count" not in o.attributes for o in outs)
    assert runner.state() == {f"{pg.table}@!@id": "3"}


def test_maximum_number_of_fragments_keeps_the_maxima_of_what_was_fetched(pg: Db) -> None:
    pg.insert(1, 2, 3, 4, 5)
    runner = _runner(pg, **{"Maximum-value Columns": "id", "Max Rows Per FlowFile": "2",
                            "Maximum Number of Fragments": "1",
                            "Additional WHERE Clause": "id <> 0", "Columns to Return": "id, name"})
    runner.run()
    outs = runner.flowfiles_for("success")
    assert len(outs) == 1 and outs[0].attributes["fragment.count"] == "1"
    records = list(fastavro.reader(io.BytesIO(outs[0].content)))
    assert len(records) == 2 and set(records[0]) == {"id", "name"}


def test_timestamp_maximum_keeps_fractions_of_a_second(db: Db) -> None:
    base = dt.datetime(2024, 5, 1, 12, 0, 0, 123456)
    db.insert(1, seen=base)
    db.insert(2, seen=base + dt.timedelta(microseconds=1))
    runner = _runner(db, **{"Maximum-value Columns": "seen"})
    runner.run()
    assert _ids(runner) == [1, 2]
    assert runner.state() == {f"{db.table}@!@seen": "2024-05-01 12:00:00.123457"}
    db.insert(3, seen=base + dt.timedelta(microseconds=2))
    runner.clear_transfer_state()
    runner.run()
    assert _ids(runner) == [3]


@pytest.mark.parametrize("column", ["t", "r"])
def test_time_microseconds_and_single_precision_maxima_fetch_each_row_once(db: Db, column: str) -> None:
    # a TIME kept to milliseconds, or a REAL/FLOAT compared as a double, fetched the row never or for ever
    real = "real" if db.dialect == "postgresql" else "FLOAT"
    table = db.create_table("qdtp", f"id INTEGER NOT NULL, t TIME(6), r {real}")
    db.execute(f"INSERT INTO {table} VALUES (1, '10:00:00.123456', 0.1), (2, '09:00:00', 0.05)")
    runner = _runner(None, pool=pool_properties(db.dialect), **{"Maximum-value Columns": column})
    runner.set_property("Table Name", table)
    runner.run()
    assert _ids(runner) == [1, 2]
    assert runner.state()[f"{table}@!@{column}"] == ("10:00:00.123456" if column == "t" else "0.1")
    runner.clear_transfer_state()
    runner.run()
    assert _ids(runner) == []  # the maximum itself is not fetched again
    later = "'10:00:00.123457'" if column == "t" else "0.100001"  # just above the maximum
    db.execute(f"INSERT INTO {table} (id, {column}) VALUES (3, {later})")
    runner.clear_transfer_state()
    runner.run()
    assert _ids(runner) == [3]


def test_custom_query_and_where_clause(pg: Db) -> None:
    pg.insert(1, 2, 3, 4)
    runner = _runner(pg, **{"Custom Query": f"SELECT id, name FROM {pg.table} WHERE id % 2 = 0",
                            "Maximum-value Columns": "id", "Additional WHERE Clause": "id > 0"})
    runner.set_property("Table Name", "evens")
    runner.run()
    assert _ids(runner) == [2, 4]
    assert runner.state() == {"evens@!@id": "4"}
    assert runner.flowfiles_for("success")[0].attributes["tablename"] == "evens"


def test_without_maximum_value_columns_every_run_fetches_everything(pg: Db) -> None:
    pg.insert(1, 2)
    runner = _runner(pg, **{"Transaction Isolation Level": "8"})
    runner.run(2)
    assert _ids(runner) == [1, 1, 2, 2]
    assert runner.state() == {}


def test_record_variant_writes_with_the_record_writer(db: Db) -> None:
    db.insert(1, 2)
    runner = _runner(db, QueryDatabaseTableRecord, **{"Maximum-value Columns": "id"})
    runner.run()
    out = runner.flowfiles_for("success")[0]
    assert out.attributes["record.count"] == "2"
    assert out.attributes["mime.type"] == "application/json"
    assert out.attributes["maxvalue.id"] == "2"
    assert [r["name"] for r in json.loads(out.content)] == ["row 1", "row 2"]


def test_an_unknown_maximum_value_column_is_reported_and_nothing_is_sent(pg: Db) -> None:
    pg.insert(1)
    runner = _runner(pg, **{"Maximum-value Columns": "nope"})
    runner.run()
    assert runner.flowfiles_for("success") == []
    assert runner.yield_count == 1
    assert any("nope" in message for _, message in runner.bulletins)


def test_max_wait_time_is_not_left_on_the_pooled_connection(db: Db) -> None:
    db.insert(1)
    runner = _runner(db, **{"Maximum-value Columns": "id", "Max Wait Time": "3 seconds"})
    runner.run()
    assert _ids(runner) == [1]
    assert pooled_statement_timeout(runner) == 0
    runner.set_property("Additional WHERE Clause", "nope = 1")  # the query fails
    runner.run()
    assert runner.yield_count == 1
    assert pooled_statement_timeout(runner) == 0


def test_an_unreachable_database_is_reported_and_yields() -> None:
    runner = _runner(None, pool=CLOSED, **{"Maximum-value Columns": "id"})
    runner.run()
    assert runner.flowfiles_for("success") == []
    assert runner.yield_count == 1 and runner.bulletins


def test_a_damaged_state_value_is_reported_by_key(pg: Db) -> None:
    pg.insert(1)
    runner = _runner(pg, **{"Maximum-value Columns": "id"})
    runner.repositories.state.set_now(runner.component_id, ComponentState({f"{pg.table}@!@id": "garbage"}, 1))
    runner.run()
    assert runner.flowfiles_for("success") == []
    assert any("@!@id" in message and "clear" in message for _, message in runner.bulletins)


def test_dynamic_properties_must_be_initial_max_values(pg: Db) -> None:
    runner = _runner(pg, **{"something.else": "1"})
    assert any("initial.maxvalue" in r.explanation for r in runner.validation_results())
