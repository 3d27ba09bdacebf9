"""DBCPConnectionPool against the real PostgreSQL and MariaDB of the machine:
URL mapping, bounds, waiting, validation query, rollback on return, disable."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pymysql
import pytest
from db_testkit import MARIA, PG

from flowyard.processors._db_drivers import (
    JdbcUrlError,
    is_connection_problem,
    is_transient,
    parse_jdbc_url,
    set_statement_timeout,
)
from flowyard.processors._db_pool import PoolClosedError, PoolExhaustedError
from flowyard.processors.dbcp_connection_pool import DBCPConnectionPool
from flowyard.processors.update_attribute import UpdateAttribute
from flowyard.runtime.sdk.testing import ProcessorRunner

DATABASES = pytest.mark.parametrize("base", [PG, MARIA], ids=["postgresql", "mariadb"])


def _pool(base: dict[str, str], **extra: str | None) -> tuple[ProcessorRunner, DBCPConnectionPool]:
    runner = ProcessorRunner(UpdateAttribute)
    service = runner.add_controller_service("db", DBCPConnectionPool, {**base, **extra})
    assert isinstance(service, DBCPConnectionPool)
    runner.enable_controller_service("db")
    return runner, service


def _scalar(conn: Any, sql: str) -> Any:
    cur = conn.cursor()
    try:
        cur.execute(sql)
        return cur.fetchone()[0]
    finally:
        cur.close()


@pytest.mark.parametrize(("url", "dialect", "host", "port", "database"), [
    ("jdbc:postgresql://db.example:6543/sales", "postgresql", "db.example", 6543, "sales"),
    ("jdbc:postgresql://localhost/test", "postgresql", "localhost", 5432, "test"),
    ("jdbc:postgresql:test", "postgresql", "localhost", 5432, "test"),
    ("jdbc:mariadb://127.0.0.1:3307/app", "mysql", "127.0.0.1", 3307, "app"),
    ("jdbc:mysql://h/app?useSSL=false", "mysql", "h", 3306, "app"),
])
def test_jdbc_urls_map_to_a_driver(url: str, dialect: str, host: str, port: int, database: str) -> None:
    target = parse_jdbc_url(url)
    assert (target.dialect, target.host, target.port, target.database) == (dialect, host, port, database)


@pytest.mark.parametrize("url", ["jdbc:oracle:thin:@h:1521:x", "jdbc:sqlserver://h;databaseName=x",
                                 "postgresql://h/db", "jdbc:postgresql://h:port/db", "jdbc:mysql://a:1,b:2/db"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(JdbcUrlError, match="Database Connection URL"):
        parse_jdbc_url(url)
    runner = ProcessorRunner(UpdateAttribute)
    runner.add_controller_service("db", DBCPConnectionPool, {**PG, "Database Connection URL": url})
    problems = runner.controller_service_validation_results("db")
    assert any(url in p.explanation for p in problems), problems


def test_password_provider_is_refused_and_legacy_names_load() -> None:
    runner = ProcessorRunner(UpdateAttribute)
    runner.add_controller_service("db", DBCPConnectionPool, {
        **PG, "Password Source": "PASSWORD_PROVIDER", "Database Driver Location(s)": "/opt/jdbc.jar",
        "Validation-query": "SELECT 1"})
    problems = runner.controller_service_validation_results("db")
    assert {p.subject for p in problems} & {"Password Source", "Database Password Provider"}
    runner.set_controller_service_property("db", "Password Source", "PASSWORD")
    assert runner.controller_service_validation_results("db") == []
    runner.set_controller_service_property("db", "Kerberos User Service", "kerberos")
    assert runner.controller_service_validation_results("db")


@pytest.mark.integration
@DATABASES
def test_a_connection_runs_queries_in_autocommit(base: dict[str, str]) -> None:
    runner, pool = _pool(base, **{"Validation Query": "SELECT 1"})
    table = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with pool.get_connection() as conn:
            assert _scalar(conn, "SELECT 1 + 1") == 2
            conn.cursor().execute(f"CREATE TABLE {table} (id INT)")
            conn.cursor().execute(f"INSERT INTO {table} VALUES (1)")
        with pool.get_connection() as conn:  # committed by autocommit, visible on any connection
            assert _scalar(conn, f"SELECT COUNT(*) FROM {table}") == 1
        assert pool.statistics() == (0, 1)
    finally:
        with pool.get_connection() as conn:
            conn.cursor().execute(f"DROP TABLE IF EXISTS {table}")
        runner.disable_controller_service("db")


@pytest.mark.integration
@DATABASES
def test_what_a_borrower_leaves_uncommitted_is_rolled_back(base: dict[str, str]) -> None:
    runner, pool = _pool(base, **{"Max Total Connections": "1"})
    table = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with pool.get_connection() as conn:
            conn.cursor().execute(f"CREATE TABLE {table} (id INT)")
            if base is PG:
                conn.autocommit = False
            else:
                conn.autocommit(False)
            conn.cursor().execute(f"INSERT INTO {table} VALUES (1)")
        with pool.get_connection() as conn:
            assert _scalar(conn, f"SELECT COUNT(*) FROM {table}") == 0
            conn.cursor().execute(f"INSERT INTO {table} VALUES (2)")  # autocommit again
            assert _scalar(conn, f"SELECT COUNT(*) FROM {table}") == 1
    finally:
        with pool.get_connection() as conn:
            conn.cursor().execute(f"DROP TABLE IF EXISTS {table}")
        runner.disable_controller_service("db")


@pytest.mark.integration
@DATABASES
def test_the_pool_is_bounded_and_a_borrower_waits_then_fails(base: dict[str, str]) -> None:
    runner, pool = _pool(base, **{"Max Total Connections": "2", "Max Wait Time": "300 millis"})
    try:
        with pool.get_connection(), pool.get_connection():
            started = time.monotonic()
            with pytest.raises(PoolExhaustedError, match=r"all 2 connections .*300 ms"), pool.get_connection():
                pass
            assert 0.25 <= time.monotonic() - started < 2
    finally:
        runner.disable_controller_service("db")


@pytest.mark.integration
@DATABASES
def test_a_waiter_gets_the_connection_another_thread_gives_back(base: dict[str, str]) -> None:
    runner, pool = _pool(base, **{"Max Total Connections": "1", "Max Wait Time": "5 sec"})
    got = threading.Event()

    def borrow() -> None:
        with pool.get_connection():
            got.set()

    try:
        with pool.get_connection():
            waiter = threading.Thread(target=borrow)
            waiter.start()
            assert not got.wait(0.2), "a second connection was handed out beyond Max Total Connections"
        assert got.wait(5), "the waiter never got the returned connection"
        waiter.join(timeout=5)
        assert pool.statistics() == (0, 1)
    finally:
        runner.disable_controller_service("db")


@pytest.mark.integration
def test_many_threads_share_a_small_pool() -> None:
    runner, pool = _pool(PG, **{"Max Total Connections": "3", "Max Wait Time": "5 sec"})
    errors: list[BaseException] = []
    peak = [0]

    def work() -> None:
        try:
            for _ in range(5):
                with pool.get_connection() as conn:
                    peak[0] = max(peak[0], pool.statistics()[0])
                    assert _scalar(conn, "SELECT 1") == 1
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    runner.disable_controller_service("db")
    assert not errors and 1 <= peak[0] <= 3


@pytest.mark.integration
def test_the_validation_query_replaces_a_dead_connection() -> None:
    runner, pool = _pool(PG, **{"Validation Query": "SELECT 1", "Max Total Connections": "1"})
    try:
        with pool.get_connection() as conn:
            pid = _scalar(conn, "SELECT pg_backend_pid()")
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pool.get_connection() as conn:
            assert _scalar(conn, "SELECT pg_backend_pid()") != pid
    finally:
        runner.disable_controller_service("db")


@pytest.mark.integration
@DATABASES
def test_disabling_closes_the_connections(base: dict[str, str]) -> None:
    runner, pool = _pool(base)
    with pool.get_connection() as conn:
        _scalar(conn, "SELECT 1")
    runner.disable_controller_service("db")
    assert pool.statistics() == (0, 0)
    assert getattr(conn, "closed", None) is True or getattr(conn, "open", None) is False
    with pytest.raises(PoolClosedError), pool.get_connection():
        pass


@pytest.mark.integration
@pytest.mark.parametrize("base", [
    {**PG, "Database Connection URL": "jdbc:postgresql://127.0.0.1:1/test"},
    {**MARIA, "Database Connection URL": "jdbc:mysql://127.0.0.1:1/test"},
    {**PG, "Database User": f"nobody_{uuid.uuid4().hex[:6]}"},
], ids=["pg-closed-port", "mysql-closed-port", "pg-unknown-user"])
def test_an_unreachable_database_raises_a_connection_error(base: dict[str, str]) -> None:
    runner, pool = _pool(base)
    try:
        with pytest.raises(Exception) as caught, pool.get_connection():
            pass
        assert is_connection_problem(caught.value)
        assert pool.statistics() == (0, 0)
    finally:
        runner.disable_controller_service("db")


@pytest.mark.parametrize(("code", "transient"), [(1969, True), (3024, True), (1205, True), (1062, False)])
def test_a_mysql_statement_timeout_is_transient(code: int, transient: bool) -> None:
    # MariaDB 1969 ER_STATEMENT_TIMEOUT / MySQL 3024 ER_QUERY_TIMEOUT: retried, as PostgreSQL's QueryCanceled
    assert is_transient(pymysql.err.OperationalError(code, "interrupted")) is transient


class _FakeMysqlCursor:
    """A PyMySQL-like cursor answering SELECT VERSION() with ``version`` and recording statements."""

    def __init__(self, connection: _FakeMysql) -> None:
        self.connection = connection

    def execute(self, sql: str) -> None:
        self.connection.statements.append(sql)

    def fetchone(self) -> tuple[str]:
        return (self.connection.version,)

    def close(self) -> None:
        pass


class _FakeMysql:
    def __init__(self, version: str) -> None:
        self.version = version
        self.statements: list[str] = []

    def cursor(self) -> _FakeMysqlCursor:
        return _FakeMysqlCursor(self)


_FakeMysqlCursor.__module__ = _FakeMysql.__module__ = "pymysql.fake"  # the drivers tell dialects by module


@pytest.mark.parametrize(("version", "expected"), [
    ("8.0.36", "SET SESSION max_execution_time = 3000"),
    ("10.11.19-MariaDB-0+deb12u1", "SET SESSION max_statement_time = 3"),
])
def test_the_statement_timeout_variable_depends_on_the_server(version: str, expected: str) -> None:
    conn = _FakeMysql(version)
    set_statement_timeout(conn.cursor(), 3)
    set_statement_timeout(conn.cursor(), 0)
    zero = expected.rsplit(" ", 1)[0] + " 0"
    assert conn.statements == ["SELECT VERSION()", expected, zero]  # the server is asked once


@DATABASES
def test_a_statement_timeout_is_reset_when_the_connection_comes_back(base: dict[str, str]) -> None:
    runner, pool = _pool(base, **{"Max Total Connections": "1"})
    try:
        variable = "SHOW statement_timeout" if base is PG else "SELECT @@SESSION.max_statement_time"
        with pool.get_connection() as conn:
            cur = conn.cursor()
            set_statement_timeout(cur, 5)
            cur.close()
            assert str(_scalar(conn, variable)) in ("5s", "5.0", "5.000000")
            if base is PG:
                conn.autocommit = False  # the reset must not be lost with the transaction rolled back
                _scalar(conn, "SELECT 1")
        with pool.get_connection() as conn:
            assert str(_scalar(conn, variable)) in ("0", "0.0", "0.000000")
    finally:
        runner.disable_controller_service("db")
