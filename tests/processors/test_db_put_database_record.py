"""PutDatabaseRecord against the real PostgreSQL and MariaDB: every statement type, name translation,
unmatched fields/columns, and NiFi's transaction behaviour (a failing record leaves nothing written)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from typing import Any

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

from flowyard.processors.json_record_services import JsonTreeReader
from flowyard.processors.put_database_record import PutDatabaseRecord
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration


class Db(ScratchDb):
    """A fresh table (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, amount NUMERIC(10,2), born DATE,
    seen TIMESTAMP) on one server."""

    def __init__(self, dialect: str) -> None:
        super().__init__(dialect)
        self.table = self.create_table("pdr", "id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL, "
                                              "amount NUMERIC(10,2), born DATE, seen TIMESTAMP NULL")

    def rows(self, columns: str = "id, name") -> list[tuple[Any, ...]]:
        return self.execute(f"SELECT {columns} FROM {self.table} ORDER BY id")


db, pg = db_fixtures(Db)


def _runner(db: Db | None, statement_type: str = "INSERT", pool: dict[str, str] | None = None,
            **properties: str) -> ProcessorRunner:
    if pool is None:
        assert db is not None
        pool = pool_properties(db.dialect)
    runner = pool_runner(PutDatabaseRecord, pool)
    with_service(runner, "Record Reader", "reader", JsonTreeReader)
    runner.set_property("Statement Type", statement_type)
    runner.set_property("Table Name", db.table if db is not None else "t")
    if db is not None and statement_type in ("UPSERT", "INSERT_IGNORE", "Use statement.type Attribute",
                                             "Use Record Path"):
        runner.set_property("Database Type", "PostgreSQL" if db.dialect == "postgresql" else "MySQL")
    for name, value in properties.items():
        runner.set_property(name.replace("_", " "), value)
    return runner


def _json(records: list[dict[str, Any]]) -> bytes:
    return json.dumps(records).encode()


PEOPLE = [{"id": i, "name": f"person {i}", "amount": f"{i}.25", "born": f"2000-01-0{i}",
           "seen": f"2024-05-0{i} 12:30:15"} for i in range(1, 6)]


def test_insert_writes_every_record_and_converts_to_the_column_types(db: Db) -> None:
    runner = _runner(db)
    runner.enqueue(_json(PEOPLE), {"filename": "people.json"})
    runner.run()
    runner.assert_all_transferred("success", 1)
    rows = db.rows("id, name, amount, born, seen")
    assert rows[0] == (1, "person 1", decimal.Decimal("1.25"), dt.date(2000, 1, 1), dt.datetime(2024, 5, 1, 12, 30, 15))
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    send = runner.provenance_events()
    assert [e.event_type.name for e in send] == ["SEND"]


def test_max_wait_time_is_not_left_on_the_pooled_connection(db: Db) -> None:
    runner = _runner(db, Max_Wait_Time="5 sec")
    runner.enqueue(_json(PEOPLE[:1]))
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert pooled_statement_timeout(runner) == 0  # a later borrower of the pool is not cancelled after 5 s
    runner.clear_transfer_state()
    runner.enqueue(_json(PEOPLE[:1]))  # a duplicate key: the statement fails
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert pooled_statement_timeout(runner) == 0


def test_a_record_violating_a_constraint_leaves_the_table_empty(db: Db) -> None:
    records = [dict(r) for r in PEOPLE]
    records[2]["name"] = None  # the 3rd of 5 records violates NOT NULL
    runner = _runner(db, Maximum_Batch_Size="1")  # five batches: the first two were sent before the failure
    runner.enqueue(_json(records), {"filename": "bad.json"})
    runner.run()
    runner.assert_all_transferred("failure", 1)
    out = runner.flowfiles_for("failure")[0]
    assert "name" in out.attributes["putdatabaserecord.error"].lower() or "null" in \
        out.attributes["putdatabaserecord.error"].lower()
    assert out.content == _json(records)
    assert db.rows() == []


def test_a_duplicate_key_in_a_later_batch_rolls_back_the_earlier_batches(db: Db) -> None:
    records = [*PEOPLE, PEOPLE[0]]
    runner = _runner(db, Maximum_Batch_Size="2")
    runner.enqueue(_json(records))
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert db.rows() == []


def test_rollback_on_failure_keeps_the_flowfile_queued(pg: Db) -> None:
    runner = _runner(pg, Rollback_On_Failure="true")
    runner.enqueue(_json([{"id": 1, "name": None}]))
    runner.run()
    assert len(runner.input_flowfiles()) == 1
    assert runner.flowfiles_for("failure") == [] and runner.flowfiles_for("success") == []
    assert runner.yield_count == 1
    assert pg.rows() == []


def test_no_connection_goes_to_retry_penalized_with_the_reason() -> None:
    runner = _runner(None, pool=CLOSED)
    runner.enqueue(_json([{"id": 1, "name": "a"}]), {"filename": "x.json"})
    runner.run()
    runner.assert_all_transferred("retry", 1)
    out = runner.flowfiles_for("retry")[0]
    assert out.attributes["putdatabaserecord.error"]
    assert out.is_penalized(runner.clock())


def test_autocommit_needs_a_single_batch(pg: Db) -> None:
    runner = _runner(pg, Database_Session_AutoCommit="true")
    assert any("Maximum Batch Size" in r.explanation for r in runner.validation_results())
    runner.set_property("Maximum Batch Size", "0")
    runner.assert_valid()
    runner.enqueue(_json([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]))
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert pg.rows() == [(1, "a"), (2, "b")]


def test_autocommit_failure_says_earlier_statements_stay_written(pg: Db) -> None:
    runner = _runner(pg, Database_Session_AutoCommit="true", Maximum_Batch_Size="0")
    records = [{"id": i, "name": "x"} for i in range(1, 1502)] + [{"id": 5, "name": "dup"}]
    runner.enqueue(_json(records))
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert pg.execute(f"SELECT count(*) FROM {pg.table}") == [(1000,)]  # the first statement committed as it ran
    messages = [m for _, m in runner.bulletins]
    assert any("AutoCommit is true: the statements that ran before the error stay committed" in m for m in messages)
    assert not any("nothing was written" in m for m in messages)


def test_without_autocommit_a_failure_says_nothing_was_written(pg: Db) -> None:
    runner = _runner(pg)
    runner.enqueue(_json([{"id": 1, "name": "x"}, {"id": 1, "name": "dup"}]))
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert pg.rows() == []
    assert any("rolled back, nothing was written" in m for _, m in runner.bulletins)


def test_a_value_the_column_type_cannot_take_is_refused_by_the_database(db: Db) -> None:
    runner = _runner(db)
    runner.enqueue(_json([{"id": 1, "name": "a", "amount": "lots"}]))
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert not runner.flowfiles_for("failure")[0].is_penalized(runner.clock())
    assert db.rows() == []


def test_a_data_record_path_to_an_array_writes_each_record(pg: Db) -> None:
    runner = _runner(pg, Data_Record_Path="/rows")
    runner.enqueue(_json([{"rows": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]},
                          {"rows": {"id": 3, "name": "c"}}]))
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert pg.rows() == [(1, "a"), (2, "b"), (3, "c")]
    missing = _runner(pg, Data_Record_Path="/nothing")
    missing.enqueue(_json([{"rows": []}]))
    missing.run()
    missing.assert_all_transferred("failure", 1)
    assert "/nothing" in missing.flowfiles_for("failure")[0].attributes["putdatabaserecord.error"]


def test_a_data_record_path_may_use_the_whole_record_path_language(pg: Db) -> None:
    """NiFi takes any RecordPath here: array elements with a predicate, a descendant."""
    runner = _runner(pg, Data_Record_Path="/rows[*][./keep = 'yes']")
    runner.enqueue(_json([{"rows": [{"id": 1, "name": "a", "keep": "yes"}, {"id": 2, "name": "b", "keep": "no"},
                                    {"id": 3, "name": "c", "keep": "yes"}]}]))
    runner.set_property("Unmatched Field Behavior", "Ignore Unmatched Fields")
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert pg.rows() == [(1, "a"), (3, "c")]
    deep = _runner(pg, Data_Record_Path="//row")
    deep.enqueue(_json([{"outer": {"row": {"id": 4, "name": "d"}}}]))
    deep.run()
    deep.assert_all_transferred("success", 1)
    assert pg.rows() == [(1, "a"), (3, "c"), (4, "d")]


def test_update_by_primary_key_and_by_update_keys(db: Db) -> None:
    db.execute(f"INSERT INTO {db.table} (id, name, amount) VALUES (1, 'a', 1), (2, 'b', 2)")
    runner = _runner(db, "UPDATE")
    runner.enqueue(_json([{"id": 2, "name": "B", "amount": 20}, {"id": 1, "name": "A", "amount": 10}]))
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert db.rows("id, name, amount") == [(1, "A", decimal.Decimal("10.00")), (2, "B", decimal.Decimal("20.00"))]
    by_name = _runner(db, "UPDATE", Update_Keys="name")
    by_name.enqueue(_json([{"name": "A", "amount": 99}]))
    by_name.run()
    by_name.assert_all_transferred("success", 1)
    assert db.rows("id, amount") == [(1, decimal.Decimal("99.00")), (2, decimal.Decimal("20.00"))]


def test_update_without_the_key_field_fails_clearly(db: Db) -> None:
    runner = _runner(db, "UPDATE")
    runner.enqueue(_json([{"name": "x"}]))
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert "'id'" in runner.flowfiles_for("failure")[0].attributes["putdatabaserecord.error"]


def test_upsert_inserts_new_rows_and_updates_existing_ones(db: Db) -> None:
    db.execute(f"INSERT INTO {db.table} (id, name) VALUES (1, 'old')")
    runner = _runner(db, "UPSERT")
    runner.enqueue(_json([{"id": 1, "name": "new"}, {"id": 2, "name": "two"}]))
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert db.rows() == [(1, "new"), (2, "two")]


def test_insert_ignore_skips_existing_keys(db: Db) -> None:
    db.execute(f"INSERT INTO {db.table} (id, name) VALUES (1, 'old')")
    runner = _runner(db, "INSERT_IGNORE")
    runner.enqueue(_json([{"id": 1, "name": "new"}, {"id": 2, "name": "two"}]))
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert db.rows() == [(1, "old"), (2, "two")]


def test_upsert_is_refused_for_the_generic_database_type(pg: Db) -> None:
    runner = _runner(pg, "UPSERT")
    runner.set_property("Database Type", "Generic")
    assert any("UPSERT" in r.explanation for r in runner.validation_results())


def test_delete_matches_every_field_with_null_equal_to_null(db: Db) -> None:
    db.execute(f"INSERT INTO {db.table} (id, name, amount) VALUES (1, 'a', NULL), (2, 'b', 5), (3, 'c', NULL)")
    runner = _runner(db, "DELETE")
    runner.enqueue(_json([{"id": 1, "name": "a", "amount": None}, {"id": 2, "name": "b", "amount": 6}]))
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert db.rows() == [(2, "b"), (3, "c")]
    by_key = _runner(db, "DELETE", Delete_Keys="id")
    by_key.enqueue(_json([{"id": 2, "name": "whatever"}]))
    by_key.run()
    assert db.rows() == [(3, "c")]


def test_statement_type_from_the_attribute_including_sql(db: Db) -> None:
    runner = _runner(db, "Use statement.type Attribute", Field_Containing_SQL="sql")
    runner.enqueue(_json([{"id": 1, "name": "a"}]), {"statement.type": "insert"})
    runner.enqueue(_json([{"sql": f"UPDATE {db.table} SET name = 'z' WHERE id = 1"}]), {"statement.type": "SQL"})
    runner.enqueue(_json([{"id": 9, "name": "a"}]), {"statement.type": "MERGE", "filename": "merge.json"})
    runner.enqueue(_json([{"id": 9, "name": "a"}]), {"filename": "none.json"})
    runner.run(4)
    runner.assert_transferred("success", 2)
    failures = runner.flowfiles_for("failure")
    assert len(failures) == 2
    assert "MERGE" in failures[0].attributes["putdatabaserecord.error"]
    assert "statement.type" in failures[1].attributes["putdatabaserecord.error"]
    assert db.rows() == [(1, "z")]


def test_statement_type_per_record_from_a_record_path(db: Db) -> None:
    db.execute(f"INSERT INTO {db.table} (id, name) VALUES (1, 'a'), (2, 'b')")
    runner = _runner(db, "Use Record Path", Statement_Type_Record_Path="/op", Data_Record_Path="/row")
    records = [{"op": "INSERT", "row": {"id": 3, "name": "c"}}, {"op": "UPDATE", "row": {"id": 1, "name": "A"}},
               {"op": "DELETE", "row": {"id": 2, "name": "b"}}, {"op": "INSERT", "row": {"id": 4, "name": "d"}}]
    runner.enqueue(_json(records))
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert db.rows() == [(1, "A"), (3, "c"), (4, "d")]


def test_multiple_sql_statements_from_a_field(pg: Db) -> None:
    runner = _runner(pg, "Use statement.type Attribute", Field_Containing_SQL="sql",
                     Allow_Multiple_SQL_Statements="true")
    sql = f"INSERT INTO {pg.table} (id, name) VALUES (1, 'a'); INSERT INTO {pg.table} (id, name) VALUES (2, 'b')"
    runner.enqueue(_json([{"sql": sql}]), {"statement.type": "SQL"})
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert pg.rows() == [(1, "a"), (2, "b")]


def test_translate_field_names_and_unmatched_fields(db: Db) -> None:
    runner = _runner(db)
    runner.enqueue(_json([{"ID": 1, "N_A_M_E": "a", "extra": 5}]))
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert db.rows() == [(1, "a")]
    strict = _runner(db, Translate_Field_Names="false")
    strict.enqueue(_json([{"ID": 2, "name": "b"}]))
    strict.run()
    strict.assert_all_transferred("failure", 1)  # ID matches nothing: the required column id is missing
    assert "'id'" in strict.flowfiles_for("failure")[0].attributes["putdatabaserecord.error"]
    fail_fields = _runner(db, Unmatched_Field_Behavior="Fail on Unmatched Fields")
    fail_fields.enqueue(_json([{"id": 3, "name": "c", "extra": 5}]))
    fail_fields.run()
    fail_fields.assert_all_transferred("failure", 1)
    assert "'extra'" in fail_fields.flowfiles_for("failure")[0].attributes["putdatabaserecord.error"]
    assert db.rows() == [(1, "a")]


def test_unmatched_required_column_can_be_ignored_for_the_database_to_judge(pg: Db) -> None:
    pg.execute(f"ALTER TABLE {pg.table} ALTER COLUMN name SET DEFAULT 'anon'")
    runner = _runner(pg)
    runner.enqueue(_json([{"id": 1}]))
    runner.run()
    runner.assert_all_transferred("success", 1)  # name has a default: not required
    assert pg.rows() == [(1, "anon")]
    pg.execute(f"ALTER TABLE {pg.table} ALTER COLUMN name DROP DEFAULT")
    fail = _runner(pg)
    fail.enqueue(_json([{"id": 2}]))
    fail.run()
    fail.assert_all_transferred("failure", 1)
    assert "required" in fail.flowfiles_for("failure")[0].attributes["putdatabaserecord.error"]


def test_quoted_identifiers_schema_name_and_expression_table_name(pg: Db) -> None:
    mixed = f"Mixed_{uuid.uuid4().hex[:8]}"
    pg.execute(f'CREATE TABLE "{mixed}" ("Id" INTEGER PRIMARY KEY, "select" TEXT)')
    try:
        runner = _runner(pg, Quote_Column_Identifiers="true", Quote_Table_Identifiers="true", Schema_Name="public",
                         Translate_Field_Names="false")
        runner.set_property("Table Name", "${table}")
        runner.enqueue(_json([{"Id": 1, "select": "x"}]), {"table": mixed})
        runner.run()
        runner.assert_all_transferred("success", 1)
        assert pg.execute(f'SELECT "Id", "select" FROM "{mixed}"') == [(1, "x")]
    finally:
        pg.execute(f'DROP TABLE "{mixed}"')


def test_a_missing_table_and_unreadable_records_go_to_failure(pg: Db) -> None:
    runner = _runner(pg)
    runner.set_property("Table Name", "no_such_table_here")
    runner.enqueue(_json([{"id": 1, "name": "a"}]))
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert "no_such_table_here" in runner.flowfiles_for("failure")[0].attributes["putdatabaserecord.error"]
    bad = _runner(pg)
    bad.enqueue(b'[{"id": 1, "name": "a"}, {"id": ')
    bad.run()
    bad.assert_all_transferred("failure", 1)
    assert pg.rows() == []


def test_binary_string_format_and_pre_post_sql(pg: Db) -> None:
    table = pg.create_table("bin", "id INTEGER PRIMARY KEY, data BYTEA")
    runner = _runner(pg, Binary_String_Format="Hexadecimal",
                     **{"Pre-Processing SQL": f"INSERT INTO {table} VALUES (100, NULL)",
                        "Post-Processing SQL": f"DELETE FROM {table} WHERE id = 100"})
    runner.set_property("Table Name", table)
    runner.enqueue(_json([{"id": 1, "data": "cafe"}]))
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert pg.execute(f"SELECT id, data FROM {table}") == [(1, b"\xca\xfe")]
    base64 = _runner(pg, Binary_String_Format="Base64")
    base64.set_property("Table Name", table)
    base64.enqueue(_json([{"id": 2, "data": "not base64!"}]))
    base64.run()
    base64.assert_all_transferred("failure", 1)
    assert "Base64" in base64.flowfiles_for("failure")[0].attributes["putdatabaserecord.error"]


def test_several_flowfiles_each_in_their_own_transaction(db: Db) -> None:
    runner = _runner(db)
    runner.enqueue(_json([{"id": 1, "name": "a"}]))
    runner.enqueue(_json([{"id": 2, "name": "b"}, {"id": 1, "name": "dup"}]))
    runner.enqueue(_json([{"id": 3, "name": "c"}]))
    runner.run(3)
    runner.assert_transferred("success", 2)
    runner.assert_transferred("failure", 1)
    assert db.rows() == [(1, "a"), (3, "c")]


@pytest.mark.parametrize("prop", ["Database Name", "Schema Name"])
def test_a_catalog_or_schema_from_an_attribute_cannot_redirect_the_write(db: Db, prop: str) -> None:
    victim = db.create_table("victim", "id INTEGER, name VARCHAR(40)")
    runner = _runner(db, **{prop.replace(" ", "_"): "${where}"})
    hostile = f"{victim} (id, name) VALUES (%s, %s) -- "
    runner.enqueue(_json([{"id": 1, "name": "a"}]), {"where": hostile})
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert hostile.strip() in runner.flowfiles_for("failure")[0].attributes["putdatabaserecord.error"]
    assert db.execute(f"SELECT * FROM {victim}") == [] and db.rows() == []


@pytest.mark.parametrize("quote", ["false", "true"])
def test_database_and_schema_names_that_exist_are_written_as_the_database_names_them(db: Db, quote: str) -> None:
    database = "TEST" if db.dialect == "postgresql" else "test"  # PostgreSQL: matched in any case
    properties = {"Database_Name": database, "Quote_Table_Identifiers": quote}
    if db.dialect == "postgresql":
        properties["Schema_Name"] = "public"
    runner = _runner(db, **properties)
    runner.enqueue(_json(PEOPLE[:2]))
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert db.rows() == [(1, "person 1"), (2, "person 2")]


def test_another_postgresql_database_is_refused_by_name(pg: Db) -> None:
    runner = _runner(pg, Database_Name="postgres")
    runner.enqueue(_json(PEOPLE[:1]))
    runner.run()
    runner.assert_all_transferred("failure", 1)
    error = runner.flowfiles_for("failure")[0].attributes["putdatabaserecord.error"]
    assert "Database Name 'postgres' is not the database of the connection ('test')" in error


SLOW = {"postgresql": "SELECT pg_sleep(3)",
        "mysql": "SELECT COUNT(*) FROM seq_1_to_10000 a, seq_1_to_10000 b WHERE MD5(a.seq + b.seq) = 'x'"}


def test_a_statement_cancelled_by_max_wait_time_goes_to_retry(db: Db) -> None:
    runner = _runner(db, Max_Wait_Time="1 sec", **{"Pre-Processing_SQL": SLOW[db.dialect]})
    runner.enqueue(_json(PEOPLE[:1]))
    runner.run()
    runner.assert_all_transferred("retry", 1)  # MariaDB error 1969 is a timeout, as PostgreSQL's QueryCanceled
    assert db.rows() == []
