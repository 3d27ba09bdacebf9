"""GenerateTableFetch against the real PostgreSQL and MariaDB: partitions of SELECT statements by Partition Size,
maximum values kept in state, the statements run (they fetch every new row exactly once), NiFi's paging syntax
per Database Type."""

from __future__ import annotations

import pytest
from db_testkit import CLOSED, ScratchDb, db_fixtures, pool_properties, pool_runner
from db_testkit import disable_pools as disable_pools  # autouse: the runners' pools are disabled after each test

from flowyard.processors.generate_table_fetch import GenerateTableFetch, select_statement
from flowyard.runtime.repository.state import ComponentState
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration


class Db(ScratchDb):
    """A fresh table (id INTEGER, name VARCHAR) on one server."""

    def __init__(self, dialect: str) -> None:
        super().__init__(dialect)
        self.table = self.create_table("gtf", "id INTEGER NOT NULL, name VARCHAR(40)")

    def insert(self, ids: range) -> None:
        self.execute(f"INSERT INTO {self.table} (id, name) VALUES " + ", ".join(f"({i}, 'n{i}')" for i in ids))


db, pg = db_fixtures(Db)


def _runner(db: Db | None, pool: dict[str, str] | None = None, has_input: bool = False,
            **properties: str) -> ProcessorRunner:
    runner = pool_runner(GenerateTableFetch, pool or pool_properties(db.dialect if db else "mysql"))
    runner.has_input_connection = has_input
    runner.set_property("Table Name", db.table if db is not None else "t")
    if db is not None:
        runner.set_property("Database Type", "PostgreSQL" if db.dialect == "postgresql" else "MySQL")
    for name, value in properties.items():
        runner.set_property(name, value)
    return runner


def _fetched(db: Db, runner: ProcessorRunner) -> list[int]:
    ids: list[int] = []
    for out in runner.flowfiles_for("success"):
        ids += [row[0] for row in db.execute(out.content.decode())]
    return ids


def test_partitions_fetch_every_new_row_once_and_state_moves_on(db: Db) -> None:
    db.insert(range(1, 26))
    runner = _runner(db, **{"Maximum-value Columns": "id", "Partition Size": "10", "Columns to Return": "id"})
    runner.run()
    outs = runner.flowfiles_for("success")
    assert len(outs) == 3
    first = outs[0]
    assert first.content.decode() == f"SELECT id FROM {db.table} WHERE id <= 25 ORDER BY id LIMIT 10"
    assert outs[1].content.decode().endswith("ORDER BY id LIMIT 10 OFFSET 10")
    assert first.attributes["generatetablefetch.tableName"] == db.table
    assert first.attributes["generatetablefetch.columnNames"] == "id"
    assert first.attributes["generatetablefetch.maxColumnNames"] == "id"
    assert first.attributes["generatetablefetch.whereClause"] == "id <= 25"
    assert first.attributes["generatetablefetch.limit"] == "10"
    assert [o.attributes["generatetablefetch.offset"] for o in outs] == ["0", "10", "20"]
    assert [o.attributes["fragment.index"] for o in outs] == ["0", "1", "2"]
    assert {o.attributes["fragment.count"] for o in outs} == {"3"}
    assert len({o.attributes["fragment.identifier"] for o in outs}) == 1
    assert sorted(_fetched(db, runner)) == list(range(1, 26))
    assert runner.state() == {f"{db.table}@!@id": "25"}

    db.insert(range(26, 31))
    runner.clear_transfer_state()
    runner.run()
    outs = runner.flowfiles_for("success")
    assert len(outs) == 1
    assert outs[0].attributes["generatetablefetch.whereClause"] == "id > 25 AND id <= 30"
    assert sorted(_fetched(db, runner)) == list(range(26, 31))

    runner.clear_transfer_state()
    runner.run()  # nothing new: nothing generated
    assert runner.flowfiles_for("success") == []

    db.insert(range(31, 33))
    restarted = _runner(db, **{"Maximum-value Columns": "id", "Partition Size": "10"})
    restarted.repositories.state.set_now(restarted.component_id, ComponentState(runner.state(), 1))
    restarted.run()
    assert sorted(_fetched(db, restarted)) == [31, 32]


def test_partition_size_zero_gives_one_unordered_statement(pg: Db) -> None:
    pg.insert(range(1, 6))
    runner = _runner(pg, **{"Partition Size": "0", "Additional WHERE Clause": "id > 1"})
    runner.run()
    outs = runner.flowfiles_for("success")
    assert [o.content.decode() for o in outs] == [f"SELECT * FROM {pg.table} WHERE (id > 1)"]
    assert "generatetablefetch.offset" not in outs[0].attributes
    assert "generatetablefetch.limit" not in outs[0].attributes


def test_initial_max_value_and_custom_order_by(pg: Db) -> None:
    pg.insert(range(1, 8))
    runner = _runner(pg, **{"Maximum-value Columns": "id", "Partition Size": "3", "initial.maxvalue.id": "4"})
    runner.run()
    assert sorted(_fetched(pg, runner)) == [5, 6, 7]
    ordered = _runner(pg, **{"Partition Size": "4", "Custom ORDER BY Column": "name"})
    ordered.run()
    statements = [o.content.decode() for o in ordered.flowfiles_for("success")]
    assert statements == [f"SELECT * FROM {pg.table} WHERE 1=1 ORDER BY name LIMIT 4",
                          f"SELECT * FROM {pg.table} WHERE 1=1 ORDER BY name LIMIT 4 OFFSET 4"]


def test_column_for_value_partitioning_uses_value_ranges(pg: Db) -> None:
    pg.insert(range(10, 20))
    runner = _runner(pg, **{"Partition Size": "4", "Column for Value Partitioning": "id"})
    runner.run()
    statements = [o.content.decode() for o in runner.flowfiles_for("success")]
    assert statements == [f"SELECT * FROM {pg.table} WHERE 1=1 AND id >= 10 AND id < 14",
                          f"SELECT * FROM {pg.table} WHERE 1=1 AND id >= 14 AND id < 18",
                          f"SELECT * FROM {pg.table} WHERE id <= 19 AND id >= 18"]
    assert sorted(_fetched(pg, runner)) == list(range(10, 20))


def test_output_empty_flowfile_on_zero_results(pg: Db) -> None:
    runner = _runner(pg, **{"Maximum-value Columns": "id", "Output Empty FlowFile on Zero Results": "true"})
    runner.run()
    outs = runner.flowfiles_for("success")
    assert len(outs) == 1 and outs[0].content == b""
    assert outs[0].attributes["fragment.count"] == "0"
    assert outs[0].attributes["generatetablefetch.whereClause"] == "1=1"


def test_incoming_flowfiles_name_the_table_and_failures_go_to_failure(pg: Db) -> None:
    pg.insert(range(1, 4))
    runner = _runner(pg, has_input=True, **{"Partition Size": "2"})
    runner.set_property("Table Name", "${table}")
    runner.enqueue(b"", {"table": pg.table, "keep": "me"})
    runner.enqueue(b"", {"table": "no_such_table_here", "filename": "bad"})
    runner.run(2)
    outs = runner.flowfiles_for("success")
    assert len(outs) == 2 and all(o.attributes["keep"] == "me" for o in outs)
    failed = runner.flowfiles_for("failure")
    assert len(failed) == 1 and "no_such_table_here" in failed[0].attributes["generatetablefetch.sql.error"]


def test_an_unreachable_database_without_input_yields() -> None:
    runner = _runner(None, pool=CLOSED, **{"Maximum-value Columns": "id"})
    runner.run()
    assert runner.flowfiles_for("success") == [] and runner.yield_count == 1 and runner.bulletins


def test_paging_syntax_per_database_type() -> None:
    args = ("t", "a, b", "x > 1", "a", 10, 20)
    assert select_statement("Generic", *args) == "SELECT a, b FROM t WHERE x > 1 ORDER BY a LIMIT 10 OFFSET 20"
    assert select_statement("Oracle 12+", *args) == \
        "SELECT a, b FROM t WHERE x > 1 ORDER BY a OFFSET 20 ROWS FETCH NEXT 10 ROWS ONLY"
    assert select_statement("MS SQL 2012+", *args) == \
        "SELECT a, b FROM t WHERE x > 1 ORDER BY a OFFSET 20 ROWS FETCH NEXT 10 ROWS ONLY"
    assert select_statement("Oracle", *args) == ("SELECT a, b FROM (SELECT a.*, ROWNUM rnum FROM (SELECT a, b FROM t "
                                                 "WHERE x > 1 ORDER BY a) a WHERE ROWNUM <= 30) WHERE rnum > 20")
    assert select_statement("MS SQL 2008", *args) == (
        "SELECT * FROM (SELECT TOP 30 a, b, ROW_NUMBER() OVER(ORDER BY a asc) rnum FROM t WHERE x > 1 ORDER BY a) "
        "A WHERE rnum > 20 AND rnum <= 30")
    assert select_statement("MS SQL 2012+", "t", None, None, None, 5, None) == "SELECT TOP 5 * FROM t"
    assert select_statement("PostgreSQL", "t", None, "w", "a", 10, 0) == "SELECT * FROM t WHERE w ORDER BY a LIMIT 10"



@pytest.mark.parametrize("column", ["t", "r"])
def test_time_microseconds_and_single_precision_maxima_fetch_each_row_once(db: Db, column: str) -> None:
    # a TIME kept to milliseconds, or a REAL/FLOAT compared as a double (MariaDB sends a FLOAT with 6 digits),
    # fetched the row never or for ever
    real = "real" if db.dialect == "postgresql" else "FLOAT"
    table = db.create_table("gtfp", f"id INTEGER NOT NULL, t TIME(6), r {real}")
    db.execute(f"INSERT INTO {table} VALUES (1, '10:00:00.123456', 0.1), (2, '09:00:00', 123456.789)")
    runner = _runner(db, **{"Maximum-value Columns": column, "Columns to Return": "id"})
    runner.set_property("Table Name", table)
    runner.run()
    assert sorted(_fetched(db, runner)) == [1, 2]
    runner.clear_transfer_state()
    runner.run()
    assert _fetched(db, runner) == []  # the maximum itself is not fetched again
    later = "'10:00:00.123457'" if column == "t" else "123456.8"  # just above the maximum
    db.execute(f"INSERT INTO {table} (id, {column}) VALUES (3, {later})")
    runner.clear_transfer_state()
    runner.run()
    assert _fetched(db, runner) == [3]


def test_a_string_maximum_follows_the_columns_collation() -> None:
    # MariaDB's default collation is case-insensitive: 'Z' comes after 'b' there, before it by code point
    db = Db("mysql")
    try:
        runner = _runner(db, **{"Maximum-value Columns": "name", "Columns to Return": "id"})
        db.execute(f"INSERT INTO {db.table} (id, name) VALUES (1, 'b')")
        runner.run()
        assert _fetched(db, runner) == [1]
        db.execute(f"INSERT INTO {db.table} (id, name) VALUES (2, 'Z')")
        runner.clear_transfer_state()
        runner.run()
        assert _fetched(db, runner) == [2]
        assert runner.state() == {f"{db.table}@!@name": "Z"}
        runner.clear_transfer_state()
        runner.run()
        assert _fetched(db, runner) == []
    finally:
        db.close()
