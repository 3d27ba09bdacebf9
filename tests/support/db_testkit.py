"""Test kit for the database family, against the machine's PostgreSQL and MariaDB.

- ``PG`` / ``MARIA``: DBCPConnectionPool properties of the two servers; ``CLOSED``: a pool
  whose port has no server (Max Wait Time 1 s); ``pool_properties(dialect)`` picks PG or MARIA;
  ``unreachable(pool)`` is ``pool`` with its port replaced by one with no server.
- ``admin(dialect)``: an autocommit driver connection for setting up and checking tables.
- ``ScratchDb``: an admin connection and the tables a test made, dropped by ``close()``;
  a test module subclasses it for its table and makes the fixtures ``db`` (both servers)
  and ``pg`` with ``db_fixtures(Subclass)``. ``persons_fixture(prefix)`` makes ``db`` as
  ``(dialect, table)`` over a five-row table of people (the ExecuteSQL tests); ``select_persons``
  runs a ``SELECT *`` of it and checks what ExecuteSQL and ExecuteSQLRecord both write.
- ``pool_runner(Processor)``: a ProcessorRunner wired to an enabled pool service ``db``;
  ``with_service`` adds an enabled service (a record reader or writer). The autouse fixture
  ``disable_pools`` disables every such pool after the test: a module that makes runners
  imports it.
- ``pooled_statement_timeout(runner)``: the session statement timeout (0: none) of a connection borrowed
  from the runner's pool ``db`` (the idle connection returned last: the one the processor used).

A dialect is ``"postgresql"``, else MariaDB (``"mysql"`` or ``"mariadb"``, as each test module names it).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import psycopg
import pymysql
import pytest

from flowyard.processors.dbcp_connection_pool import DBCPConnectionPool
from flowyard.runtime.sdk import ControllerService, Processor
from flowyard.runtime.sdk.testing import ProcessorRunner

__all__ = ["CLOSED", "DIALECTS", "MARIA", "PG", "ScratchDb", "admin", "db_fixtures", "disable_pools",
           "persons_fixture", "pool_properties", "pool_runner", "pooled_statement_timeout", "select_persons",
           "unreachable", "with_service"]

PG = {"Database Connection URL": "jdbc:postgresql://127.0.0.1:5432/test",
      "Database Driver Class Name": "org.postgresql.Driver", "Database User": "postgres"}
MARIA = {"Database Connection URL": "jdbc:mariadb://127.0.0.1:3306/test",
         "Database Driver Class Name": "org.mariadb.jdbc.Driver", "Database User": "root"}
CLOSED = {"Database Connection URL": "jdbc:postgresql://127.0.0.1:1/test",
          "Database Driver Class Name": "org.postgresql.Driver", "Max Wait Time": "1 sec"}
DIALECTS = ["postgresql", "mariadb"]

POOL_PROPERTY = "Database Connection Pooling Service"


def pool_properties(dialect: str) -> dict[str, str]:
    """The pool properties of the server of ``dialect``."""
    return PG if dialect == "postgresql" else MARIA


def unreachable(pool: Mapping[str, str]) -> dict[str, str]:
    """``pool`` with the port of its URL replaced by 1, where no server listens."""
    url = pool["Database Connection URL"].replace(":5432/", ":1/").replace(":3306/", ":1/")
    return {**pool, "Database Connection URL": url}


def admin(dialect: str) -> Any:
    """An autocommit connection to the ``test`` database of the server of ``dialect``."""
    if dialect == "postgresql":
        return psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True)
    return pymysql.connect(host="127.0.0.1", user="root", database="test", autocommit=True)


class ScratchDb:
    """An admin connection to one server and what a test made there: ``close()`` runs ``drops`` in order."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.conn = admin(dialect)
        self.drops: list[str] = []

    def create_table(self, prefix: str, columns: str) -> str:
        """Create the table ``<prefix>_<10 hex digits> (columns)``, dropped by ``close()``; its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.execute(f"CREATE TABLE {name} ({columns})")
        self.drops.append(f"DROP TABLE IF EXISTS {name}")
        return name

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` (with ``%s`` parameters when ``params`` is not empty); the rows it returned."""
        cur = self.conn.cursor()
        try:
            cur.execute(sql, params or None)
            return list(cur.fetchall()) if cur.description else []
        finally:
            cur.close()

    def close(self) -> None:
        """Drop what the test made and close the connection."""
        try:
            for statement in self.drops:
                self.execute(statement)
        finally:
            self.conn.close()


D = TypeVar("D", bound=ScratchDb)


def _closing(handle: D) -> Iterator[D]:
    try:
        yield handle
    finally:
        handle.close()


def db_fixtures(factory: Callable[[str], D]) -> tuple[Any, Any]:
    """The fixtures ``db`` (``factory("postgresql")`` and ``factory("mysql")``, ids postgresql and
    mariadb) and ``pg`` (PostgreSQL only), each closed after the test. Assign both in the test module:
    ``db, pg = db_fixtures(Db)``."""

    @pytest.fixture(params=DIALECTS, name="db")
    def db(request: pytest.FixtureRequest) -> Iterator[D]:
        yield from _closing(factory("postgresql" if request.param == "postgresql" else "mysql"))

    @pytest.fixture(name="pg")
    def pg() -> Iterator[D]:
        yield from _closing(factory("postgresql"))

    return db, pg


def persons_fixture(prefix: str) -> Any:
    """The fixture ``db``: ``(dialect, table)`` on each server (dialect ``postgresql`` or ``mariadb``), the
    table ``<prefix>_<hex>`` holding 5 rows: id 1..5, name ``person <id>`` (NULL for 3), amount
    NUMERIC(10,2) ``<id>.5<id>``, born DATE 2000-01-<id>, seen TIMESTAMP(3) 2024-05-<id> 12:30:15.25."""

    @pytest.fixture(params=DIALECTS, name="db")
    def db(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
        handle = ScratchDb(request.param)
        try:
            table = handle.create_table(prefix, "id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(40), "
                                                "amount NUMERIC(10,2), born DATE, seen TIMESTAMP(3) NULL")
            for i in range(1, 6):
                handle.execute(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s)",
                               (i, f"person {i}" if i != 3 else None, decimal.Decimal(f"{i}.5{i}"),
                                dt.date(2000, 1, i), dt.datetime(2024, 5, i, 12, 30, 15, 250000)))
            yield request.param, table
        finally:
            handle.close()

    return db


def select_persons(runner: ProcessorRunner, rows: Callable[[bytes], list[dict[str, Any]]]) -> Any:
    """Run ``runner`` (its SQL Query a ``SELECT *`` of the persons table by id) once on an input FlowFile
    and check its one output: ``rows(content)`` are the five persons (values as strings), and the
    attributes ExecuteSQL(Record) writes: ``executesql.row.count`` 5, result set 0, the timings, the
    input's attributes and UUID. The output, for the caller's own checks."""
    runner.enqueue(b"ignored", {"who": "me"})
    input_uuid = runner.input_flowfiles()[0].flowfile.uuid
    runner.run()
    runner.assert_all_transferred("success", 1)
    out = runner.flowfiles_for("success")[0]
    out.assert_attribute_equals("executesql.row.count", "5")
    out.assert_attribute_equals("executesql.resultset.index", "0")
    out.assert_attribute_equals("who", "me")
    assert out.attributes["input.flowfile.uuid"] == input_uuid != out.flowfile.uuid
    for key in ("executesql.query.duration", "executesql.query.executiontime", "executesql.query.fetchtime"):
        assert out.attributes[key].isdigit()
    persons = rows(out.content)
    assert persons[0] == {"id": 1, "name": "person 1", "amount": "1.51", "born": "2000-01-01",
                          "seen": "2024-05-01 12:30:15.25"}
    assert persons[2]["name"] is None and len(persons) == 5
    return out


_RUNNERS: list[ProcessorRunner] = []


@pytest.fixture(autouse=True)
def disable_pools() -> Iterator[None]:
    """After the test, disable the pool of every runner ``pool_runner`` made."""
    yield
    while _RUNNERS:
        _RUNNERS.pop().disable_controller_service("db")


def pool_runner(processor: type[Processor], pool: Mapping[str, str],
                pool_property: str = POOL_PROPERTY) -> ProcessorRunner:
    """A runner of ``processor`` whose ``pool_property`` names the enabled DBCPConnectionPool ``db`` with
    the properties ``pool`` (disabled after the test by ``disable_pools``)."""
    runner = ProcessorRunner(processor)
    _RUNNERS.append(runner)
    runner.add_controller_service("db", DBCPConnectionPool, dict(pool))
    runner.enable_controller_service("db")
    runner.set_property(pool_property, "db")
    return runner


def with_service(runner: ProcessorRunner, prop: str, service_id: str, service: type[ControllerService]) -> None:
    """Add ``service`` as ``service_id`` (default properties) to ``runner``, enabled, named by the property
    ``prop``."""
    runner.add_controller_service(service_id, service, {})
    runner.enable_controller_service(service_id)
    runner.set_property(prop, service_id)


def pooled_statement_timeout(runner: ProcessorRunner) -> float:
    """The statement timeout in seconds (0: none) of the connection the runner's pool ``db`` hands out next:
    PostgreSQL ``statement_timeout``, MariaDB ``max_statement_time``."""
    pool = runner.controller_service("db")
    with pool.get_connection() as conn:  # type: ignore[attr-defined]
        cur = conn.cursor()
        try:
            if pool.dialect == "postgresql":  # type: ignore[attr-defined]
                cur.execute("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")
                return float(cur.fetchone()[0]) / 1000
            cur.execute("SELECT @@SESSION.max_statement_time")
            return float(cur.fetchone()[0])
        finally:
            cur.close()
