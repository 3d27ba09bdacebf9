"""ListDatabaseTables against the real PostgreSQL and MariaDB: patterns, table types, counts, records, each
table listed once (state), again after the Refresh Interval."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from db_testkit import CLOSED, ScratchDb, db_fixtures, pool_properties, pool_runner, with_service
from db_testkit import disable_pools as disable_pools  # autouse: the runners' pools are disabled after each test

from flowyard.processors.json_record_services import JsonRecordSetWriter
from flowyard.processors.list_database_tables import ListDatabaseTables
from flowyard.runtime.repository.state import ComponentState
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration


class Db(ScratchDb):
    """Two tables (a: 3 rows, b: empty) and a view, all named with a unique prefix (a test may add table c)."""

    def __init__(self, dialect: str) -> None:
        super().__init__(dialect)
        self.prefix = f"ldt_{uuid.uuid4().hex[:8]}_"
        self.drops = [f"DROP VIEW IF EXISTS {self.prefix}v",
                      *(f"DROP TABLE IF EXISTS {self.prefix}{name}" for name in ("a", "b", "c"))]
        self.execute(f"CREATE TABLE {self.prefix}a (id INTEGER)")
        self.execute(f"INSERT INTO {self.prefix}a VALUES (1), (2), (3)")
        self.execute(f"CREATE TABLE {self.prefix}b (id INTEGER)")
        self.execute(f"CREATE VIEW {self.prefix}v AS SELECT id FROM {self.prefix}a")
        comment = f"COMMENT ON TABLE {self.prefix}a IS 'the a table'" if dialect == "postgresql" else \
            f"ALTER TABLE {self.prefix}a COMMENT = 'the a table'"
        self.execute(comment)


db, pg = db_fixtures(Db)


def _runner(db: Db | None, pool: dict[str, str] | None = None, **properties: str) -> ProcessorRunner:
    runner = pool_runner(ListDatabaseTables, pool or pool_properties(db.dialect if db else "mysql"))
    if db is not None:
        runner.set_property("Table Name Pattern", db.prefix.replace("_", "\\_") + "%")
    for name, value in properties.items():
        runner.set_property(name, value)
    return runner


def _by_name(runner: ProcessorRunner) -> dict[str, dict[str, str]]:
    return {o.attributes["db.table.name"]: o.attributes for o in runner.flowfiles_for("success")}


def test_lists_each_table_once_with_its_attributes(db: Db) -> None:
    runner = _runner(db, **{"Include Count": "true"})
    runner.run()
    listed = _by_name(runner)
    assert set(listed) == {f"{db.prefix}a", f"{db.prefix}b"}  # Table Types TABLE: not the view
    a = listed[f"{db.prefix}a"]
    assert a["db.table.type"] == "TABLE"
    assert a["db.table.count"] == "3" and listed[f"{db.prefix}b"]["db.table.count"] == "0"
    assert a["db.table.remarks"] == "the a table"
    if db.dialect == "postgresql":
        assert a["db.table.catalog"] == "test" and a["db.table.schema"] == "public"
        assert a["db.table.fullname"] == f"test.public.{db.prefix}a"
    else:
        assert a["db.table.catalog"] == "test" and "db.table.schema" not in a
        assert a["db.table.fullname"] == f"test.{db.prefix}a"
    assert set(runner.state()) == {listed[n]["db.table.fullname"] for n in listed}

    runner.clear_transfer_state()
    db.execute(f"CREATE TABLE {db.prefix}c (id INTEGER)")
    runner.run()
    assert set(_by_name(runner)) == {f"{db.prefix}c"}


def test_table_types_and_views(db: Db) -> None:
    runner = _runner(db, **{"Table Types": "VIEW"})
    runner.run()
    assert set(_by_name(runner)) == {f"{db.prefix}v"}
    both = _runner(db, **{"Table Types": "TABLE, VIEW"})
    both.run()
    assert set(_by_name(both)) == {f"{db.prefix}a", f"{db.prefix}b", f"{db.prefix}v"}


def test_refresh_interval_lists_again(db: Db) -> None:
    runner = _runner(db, **{"Refresh Interval": "1 min"})
    runner.run()
    assert len(runner.flowfiles_for("success")) == 2
    runner.clear_transfer_state()
    runner.run()
    assert runner.flowfiles_for("success") == []
    runner.clock.advance(61)
    runner.run()
    assert len(runner.flowfiles_for("success")) == 2


def test_a_restart_with_the_same_state_lists_nothing_again(db: Db) -> None:
    runner = _runner(db)
    runner.run()
    restarted = _runner(db)
    restarted.repositories.state.set_now(restarted.component_id, ComponentState(runner.state(), 1))
    restarted.run()
    assert restarted.flowfiles_for("success") == []


def test_records_with_a_record_writer(db: Db) -> None:
    runner = _runner(db, **{"Include Count": "true"})
    with_service(runner, "Record Writer", "writer", JsonRecordSetWriter)
    runner.run()
    outs = runner.flowfiles_for("success")
    assert len(outs) == 1
    assert outs[0].attributes["record.count"] == "2" and outs[0].attributes["mime.type"] == "application/json"
    records: list[dict[str, Any]] = json.loads(outs[0].content)
    a = next(r for r in records if r["name"] == f"{db.prefix}a")
    assert a["rowCount"] == 3 and a["type"] == "TABLE" and a["fullName"].endswith(f"{db.prefix}a")


def test_schema_pattern_limits_the_listing(pg: Db) -> None:
    runner = _runner(pg, **{"Schema Pattern": "no_such_schema"})
    runner.run()
    assert runner.flowfiles_for("success") == []
    public = _runner(pg, **{"Schema Pattern": "pub%"})
    public.run()
    assert len(public.flowfiles_for("success")) == 2


def test_a_damaged_stored_time_lists_the_table_again(db: Db) -> None:
    runner = _runner(db)
    runner.run()
    stored = runner.repositories.state.get(runner.component_id)
    damaged = {key: "garbage" for key in stored.values}
    runner.repositories.state.set_now(runner.component_id, ComponentState(damaged, stored.version))
    runner.clear_transfer_state()
    runner.run()
    assert len(runner.flowfiles_for("success")) == 2
    assert all(value.isdigit() for value in runner.state().values())
    assert any("garbage" in message for _, message in runner.bulletins)


def test_an_unreachable_database_yields_and_keeps_the_state() -> None:
    runner = _runner(None, pool=CLOSED)
    runner.repositories.state.set_now(runner.component_id, ComponentState({"x.y": "1"}, 1))
    runner.run()
    assert runner.flowfiles_for("success") == [] and runner.yield_count == 1 and runner.bulletins
    assert runner.state() == {"x.y": "1"}
