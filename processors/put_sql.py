"""PutSQL: run the SQL statement of each FlowFile (with ``sql.args`` parameters) in a database transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flowyard.processors._db_common import connection_pool_property
from flowyard.processors._db_drivers import is_connection_problem, is_transient, set_autocommit
from flowyard.processors._db_params import jdbc_to_driver_sql, parameters_from_attributes
from flowyard.processors.dbcp_connection_pool import DBCPService
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["PutSQL"]

SUCCESS = Relationship("success", "FlowFiles whose statement ran and was committed.")
RETRY = Relationship("retry", "FlowFiles that may succeed later: the database could not be reached, a deadlock or "
                              "timeout, or their transaction was undone because of a retryable error.")
FAILURE = Relationship("failure", "FlowFiles whose statement the database refused (bad SQL, constraint, bad "
                                  "parameter), or whose transaction was undone for it; penalized.")

_BOOL = (AllowableValue("true"), AllowableValue("false"))

CONNECTION_POOL = connection_pool_property("jdbc-connection-pool", "JDBC Connection Pool")
SQL_STATEMENT = PropertySpec(
    key="putsql-sql-statement", display_name="SQL Statement",
    description="The statement to run for each FlowFile; when unset, the FlowFile's content is the statement. JDBC "
                "? placeholders take the sql.args.N.type / sql.args.N.value attributes.",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
SUPPORT_TRANSACTIONS = PropertySpec(
    key="support-fragmented-transactions", display_name="Support Fragmented Transactions",
    description="Whether FlowFiles with the same fragment.identifier run together in one transaction (in "
                "fragment.index order, only when all fragment.count of them are there), and whether a failure "
                "undoes the whole batch.", default="true", allowed_values=_BOOL,
)
AUTO_COMMIT = PropertySpec(
    key="database-session-autocommit", display_name="Database Session AutoCommit",
    description="Whether every statement commits by itself; false runs the batch in one transaction.",
    default="false", allowed_values=_BOOL,
)
TRANSACTION_TIMEOUT = PropertySpec(
    key="transaction-timeout", display_name="Transaction Timeout",
    description="How long to wait for all fragments of a transaction before sending them to failure; unset waits "
                "for ever.", validator=validators.TIME_PERIOD,
)
BATCH_SIZE = PropertySpec(
    key="batch-size", display_name="Batch Size", description="The most FlowFiles run in one transaction.",
    required=True, default="100", validator=validators.POSITIVE_INTEGER,
)
OBTAIN_KEYS = PropertySpec(
    key="obtain-generated-keys", display_name="Obtain Generated Keys",
    description="Whether to put the key an INSERT generated into sql.generated.key.", default="false",
    allowed_values=_BOOL,
)
ROLLBACK_ON_FAILURE = PropertySpec(
    key="rollback-on-failure", display_name="Rollback On Failure",
    description="Whether an error undoes the transaction and leaves the FlowFiles in the input queue (the "
                "processor yields) instead of routing them.", required=True, default="false", allowed_values=_BOOL,
)

GENERATED_KEY = "sql.generated.key"
_FRAGMENT_ID, _FRAGMENT_COUNT, _FRAGMENT_INDEX = "fragment.identifier", "fragment.count", "fragment.index"
_FETCH_LIMIT = 10_000


class _Refused(Exception):
    """A FlowFile that cannot be run at all (bad parameter, bad fragment attributes)."""


class PutSQL(Processor):
    """Runs the SQL statement of each FlowFile (SQL Statement, or the content)
    with the parameters of its ``sql.args.N.type`` / ``.value`` / ``.format``
    attributes, up to Batch Size FlowFiles in one database transaction,
    committed before they go to ``success``.

    When a statement fails: with Rollback On Failure the transaction is rolled
    back and the FlowFiles stay in the input queue (the processor yields). With
    Support Fragmented Transactions (the default) the whole transaction is
    rolled back — nothing is half-written — and every FlowFile of the batch
    goes to ``retry`` if the error may pass (connection lost, deadlock, lock or
    statement timeout) or to ``failure`` (penalized) if the database refused the
    data or the SQL. Without it, the statements before the failing one are
    committed and go to ``success``, the failing one to ``failure`` or
    ``retry``, the rest to ``retry``. The failing FlowFile gets ``error.message``,
    ``error.code`` and ``error.sql.state``. A pool that cannot give a connection
    sends the batch to ``retry`` and the processor yields.

    FlowFiles sharing ``fragment.identifier`` run together in ``fragment.index``
    order once all ``fragment.count`` are queued; incomplete ones are penalized
    and wait, up to Transaction Timeout, then go to ``failure``. Obtain Generated
    Keys writes ``sql.generated.key``: PostgreSQL appends ``RETURNING *`` to an
    INSERT (as its JDBC driver does) and takes the first column; MariaDB/MySQL
    give the AUTO_INCREMENT id.

    Differences from NiFi: errors are classified by SQLSTATE/error code rather
    than by JDBC exception class, so a constraint violation goes to ``failure``
    with PostgreSQL too (NiFi's PostgreSQL driver reports every error as
    retryable); with Support Fragmented Transactions a failed batch goes wholly
    to ``retry`` or ``failure`` by the kind of error (NiFi sends it to
    ``retry`` whenever statements after the failing one were not run).
    Statements run one by one (no JDBC batch); without fragmented
    transactions each runs under a savepoint so the ones before a failure can
    be committed.
    """

    spec = ProcessorSpec(
        description="Runs the SQL statement in each FlowFile (an INSERT, UPDATE, DELETE or other change) with "
                    "parameters from attributes, batching FlowFiles in one database transaction.",
        tags=("sql", "put", "rdbms", "database", "update", "insert", "relational", "jdbc", "postgresql", "mysql"),
        properties=(CONNECTION_POOL, SQL_STATEMENT, SUPPORT_TRANSACTIONS, AUTO_COMMIT, TRANSACTION_TIMEOUT,
                    BATCH_SIZE, OBTAIN_KEYS, ROLLBACK_ON_FAILURE),
        relationships=(SUCCESS, RETRY, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        reads_attributes=(
            ("fragment.identifier", "FlowFiles with the same value form one transaction."),
            ("fragment.count", "How many FlowFiles the transaction has."),
            ("fragment.index", "The order of the FlowFile in its transaction."),
            ("sql.args.N.type", "The JDBC type number of parameter N."),
            ("sql.args.N.value", "The value of parameter N."),
            ("sql.args.N.format", "How the value of parameter N is written (dates, binary)."),
        ),
        writes_attributes=(
            (GENERATED_KEY, "The key the INSERT generated (with Obtain Generated Keys)."),
            ("error.message", "Why the statement failed."),
            ("error.code", "The database's error code."),
            ("error.sql.state", "The SQLSTATE of the error."),
        ),
    )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Autocommit excludes fragmented transactions and Rollback On Failure (as NiFi)."""
        results = []
        if context.property(AUTO_COMMIT).as_bool():
            for spec in (SUPPORT_TRANSACTIONS, ROLLBACK_ON_FAILURE):
                if context.property(spec).as_bool():
                    results.append(ValidationResult(
                        spec.display_name, f"'{spec.display_name}' cannot be true while "
                                           f"'{AUTO_COMMIT.display_name}' is true: autocommit leaves no transaction "
                                           "to roll back", spec.key))
        return results

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Run one batch (or one fragmented transaction)."""
        batch_size = context.property(BATCH_SIZE).as_int()
        support_tx = context.property(SUPPORT_TRANSACTIONS).as_bool()
        rollback_on_failure = context.property(ROLLBACK_ON_FAILURE).as_bool()
        taken = session.get_batch(max(batch_size, _FETCH_LIMIT) if support_tx else batch_size)
        if not taken:
            return
        selected = _select(session, taken, batch_size, support_tx)
        if support_tx and selected[0].attributes.get(_FRAGMENT_ID) is not None:
            try:
                ready = _fragments_ready(selected, context)
            except _Refused as exc:
                _refuse_all(context, session, selected, str(exc), rollback_on_failure)
                return
            if not ready:
                for ff in selected:
                    session.transfer(session.penalize(ff))
                return
            selected.sort(key=lambda f: int(f.attributes[_FRAGMENT_INDEX]))
        _Batch(context, session, selected, support_tx, rollback_on_failure).run()


def _select(session: ProcessSession, taken: list[FlowFile], batch_size: int, support_tx: bool) -> list[FlowFile]:
    """The FlowFiles of one transaction; the others go back to the input queue."""
    first_id = taken[0].attributes.get(_FRAGMENT_ID) if support_tx else None
    if first_id is not None:
        keep = [ff for ff in taken if ff.attributes.get(_FRAGMENT_ID) == first_id]
    elif support_tx:
        keep = [ff for ff in taken if ff.attributes.get(_FRAGMENT_ID) is None][:batch_size]
    else:
        keep = taken[:batch_size]
    kept = {id(ff) for ff in keep}
    for ff in taken:
        if id(ff) not in kept:
            session.transfer(ff)
    return keep


def _fragments_ready(flowfiles: list[FlowFile], context: ProcessContext) -> bool:
    """Whether every fragment is there; raises ``_Refused`` for inconsistent attributes or a timed-out wait."""
    counts = {ff.attributes.get(_FRAGMENT_COUNT) for ff in flowfiles}
    if None in counts:
        if len(flowfiles) == 1:
            return True
        raise _Refused(f"{len(flowfiles)} FlowFiles share a fragment.identifier but not all have a fragment.count")
    if len(counts) != 1:
        raise _Refused(f"FlowFiles of one transaction disagree on fragment.count: {sorted(str(c) for c in counts)}")
    try:
        count = int(str(next(iter(counts))))
        indexes = [int(ff.attributes.get(_FRAGMENT_INDEX, "")) for ff in flowfiles]
    except ValueError:
        raise _Refused("fragment.count and fragment.index must be integers") from None
    if len(set(indexes)) != len(indexes) or any(not 0 <= i < count for i in indexes):
        raise _Refused(f"fragment.index values {sorted(indexes)} do not fit fragment.count {count}")
    if len(flowfiles) >= count:
        return True
    timeout = context.property(TRANSACTION_TIMEOUT)
    if timeout.is_set:
        oldest = min(ff.entry_date for ff in flowfiles)
        if context.now_ms() - oldest > timeout.as_duration() * 1000:
            raise _Refused(f"only {len(flowfiles)} of {count} fragments arrived within the Transaction Timeout")
    return False


def _refuse_all(context: ProcessContext, session: ProcessSession, flowfiles: list[FlowFile], message: str,
                rollback_on_failure: bool) -> None:
    if rollback_on_failure:
        context.logger.error(f"cannot run the transaction: {message}; rolling back")
        session.rollback()
        context.yield_()
        return
    context.logger.error(f"cannot run the transaction: {message}; routing {len(flowfiles)} FlowFiles to failure")
    for ff in flowfiles:
        session.transfer(session.penalize(session.put_attribute(ff, "error.message", message)), FAILURE)


def _error_attributes(exc: BaseException) -> dict[str, str]:
    message = str(exc).strip() or type(exc).__name__
    attributes = {"error.message": message[:2000]}
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate:
        attributes["error.sql.state"] = sqlstate
        attributes["error.code"] = "0"
    elif exc.args and isinstance(exc.args[0], int):
        attributes["error.code"] = str(exc.args[0])
    return attributes


class _Batch:
    """One transaction's worth of FlowFiles and what became of them."""

    def __init__(self, context: ProcessContext, session: ProcessSession, flowfiles: list[FlowFile],
                 support_tx: bool, rollback_on_failure: bool) -> None:
        self.context, self.session, self.flowfiles = context, session, flowfiles
        self.support_tx, self.rollback_on_failure = support_tx, rollback_on_failure
        self.autocommit = context.property(AUTO_COMMIT).as_bool()
        self.obtain_keys = context.property(OBTAIN_KEYS).as_bool()
        self.keys: dict[int, str] = {}

    def run(self) -> None:
        pool = self.context.property(CONNECTION_POOL).as_controller_service(DBCPService)
        try:
            with pool.get_connection() as conn:
                self._run_on(conn, pool)
        except _ConnectionLost as exc:
            self._retry_all(exc.cause)
        except (ConnectionError, OSError) as exc:
            self._retry_all(exc)
        except Exception as exc:
            if not is_connection_problem(exc):
                raise
            self._retry_all(exc)

    def _run_on(self, conn: Any, pool: DBCPService) -> None:
        set_autocommit(conn, self.autocommit)
        savepoints = not self.autocommit and not self.support_tx
        failed_at, error = len(self.flowfiles), None
        with conn.cursor() as cursor:
            for i, ff in enumerate(self.flowfiles):
                try:
                    if savepoints:
                        cursor.execute("SAVEPOINT putsql")
                    self._execute(cursor, ff, pool.dialect, i)
                except Exception as exc:
                    if is_connection_problem(exc, conn):
                        raise _ConnectionLost(exc) from exc
                    failed_at, error = i, exc
                    if savepoints:
                        cursor.execute("ROLLBACK TO SAVEPOINT putsql")
                    break
        if error is None:
            if not self.autocommit:
                conn.commit()
            self._route(len(self.flowfiles), None, pool.connection_url)
            return
        if self.rollback_on_failure:
            conn.rollback()
            self.context.logger.error(f"cannot update the database: {error}; rolling back the transaction, the "
                                      "FlowFiles stay queued")
            self.session.rollback()
            self.context.yield_()
            return
        if self.support_tx:
            if not self.autocommit:
                conn.rollback()
            self._fail_all(failed_at, error)
            return
        if not self.autocommit:
            conn.commit()
        self._route(failed_at, error, pool.connection_url)

    def _execute(self, cursor: Any, ff: FlowFile, dialect: str, index: int) -> None:
        statement = self.context.property(SQL_STATEMENT)
        if statement.is_set:
            sql = statement.evaluate(ff.attributes).as_str()
        else:
            sql = self.session.read_bytes(ff).decode("utf-8")
        parameters = parameters_from_attributes(ff.attributes)
        returning = False
        if self.obtain_keys and dialect == "postgresql" and sql.lstrip()[:6].upper() == "INSERT" \
                and "RETURNING" not in sql.upper():
            sql, returning = sql.rstrip().rstrip(";") + " RETURNING *", True
        if parameters:
            cursor.execute(jdbc_to_driver_sql(sql), parameters)
        else:
            cursor.execute(sql)
        if self.obtain_keys:
            key: Any = None
            if returning:
                row = cursor.fetchone()
                key = row[0] if row else None
            elif dialect != "postgresql" and getattr(cursor, "lastrowid", None):
                key = cursor.lastrowid
            if key is not None:
                self.keys[index] = str(key)

    def _route(self, failed_at: int, error: BaseException | None, url: str) -> None:
        """Statements before ``failed_at`` are committed; the failing one fails; the rest are retried."""
        session = self.session
        for i, ff in enumerate(self.flowfiles):
            if i < failed_at:
                if i in self.keys:
                    ff = session.put_attribute(ff, GENERATED_KEY, self.keys[i])
                session.provenance.send(ff, url)
                session.transfer(ff, SUCCESS)
            elif i == failed_at and error is not None:
                self._transfer_failed(ff, error)
            else:
                session.transfer(ff, RETRY)
        if error is not None:
            self.context.logger.error(
                f"cannot update the database for {self.flowfiles[failed_at]!r}: {error}; {failed_at} FlowFiles "
                f"committed, 1 failed, {len(self.flowfiles) - failed_at - 1} to retry")

    def _transfer_failed(self, ff: FlowFile, error: BaseException) -> None:
        ff = self.session.put_attributes(ff, _error_attributes(error))
        if is_transient(error):
            self.session.transfer(ff, RETRY)
            self.context.yield_()
        else:
            self.session.transfer(self.session.penalize(ff), FAILURE)

    def _fail_all(self, failed_at: int, error: BaseException) -> None:
        """The transaction was rolled back: the whole batch goes to retry or failure."""
        transient = is_transient(error)
        where = RETRY if transient else FAILURE
        self.context.logger.error(
            f"cannot update the database for {self.flowfiles[failed_at]!r}: {error}; the transaction of "
            f"{len(self.flowfiles)} FlowFiles was rolled back and routed to {where.name}")
        for i, ff in enumerate(self.flowfiles):
            if i == failed_at:
                ff = self.session.put_attributes(ff, _error_attributes(error))
            self.session.transfer(ff if transient else self.session.penalize(ff), where)
        if transient:
            self.context.yield_()

    def _retry_all(self, error: BaseException) -> None:
        if self.rollback_on_failure:
            self.context.logger.error(f"cannot reach the database: {error}; the FlowFiles stay queued")
            self.session.rollback()
        else:
            self.context.logger.error(f"cannot reach the database: {error}; routing {len(self.flowfiles)} "
                                      "FlowFiles to retry")
            for ff in self.flowfiles:
                self.session.transfer(ff, RETRY)
        self.context.yield_()


class _ConnectionLost(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause
