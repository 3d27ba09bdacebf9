"""What the NATS processors share: the connection properties and
``NatsConnection``, a nats-py client living on its own asyncio loop.

nats-py is asyncio-only, and flowyard runs on trio with blocking ``on_trigger``
calls in worker threads. Each processor therefore owns one ``NatsConnection``:
a daemon thread runs an asyncio event loop on which the client lives, and the
worker thread hands it coroutines with ``asyncio.run_coroutine_threadsafe``,
waiting for the ``concurrent.futures.Future`` with a bound (``call``) or not at
all (``submit``, for acknowledgements sent from commit callbacks). Closing
waits (bounded) for what was submitted, closes the client, then stops and
joins the loop thread, so a stopped processor leaves no thread or socket.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from flowyard.runtime.sdk import (
    ExpressionScope,
    ProcessContext,
    Processor,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)

if TYPE_CHECKING:
    from nats.aio.client import Client

__all__ = [
    "ATTRIBUTES_AS_HEADERS",
    "CONNECTION_PROPERTIES",
    "CONNECTION_TIMEOUT",
    "PASSWORD",
    "SERVERS",
    "TOKEN",
    "USERNAME",
    "NatsClientProcessor",
    "NatsConnection",
    "NatsConsumer",
    "headers_for",
    "open_connection",
    "valid_subject",
]

_T = TypeVar("_T")

SERVERS = PropertySpec(
    key="nats-servers",
    display_name="NATS Servers",
    description="The servers to connect to, as nats://host:port URLs separated by commas (any one is enough).",
    required=True,
    default="nats://127.0.0.1:4222",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
USERNAME = PropertySpec(
    key="username",
    display_name="Username",
    description="The user to authenticate as; unset: no user/password authentication.",
    expression_scope=ExpressionScope.ENVIRONMENT,
)
PASSWORD = PropertySpec(
    key="password",
    display_name="Password",
    description="The password of the user.",
    sensitive=True,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
TOKEN = PropertySpec(
    key="token",
    display_name="Token",
    description="An authentication token, instead of a user and password.",
    sensitive=True,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
CONNECTION_TIMEOUT = PropertySpec(
    key="connection-timeout",
    display_name="Connection Timeout",
    description="How long connecting to a server, and each request to it, may take.",
    required=True,
    default="5 sec",
    validator=validators.TIME_PERIOD,
)
CONNECTION_PROPERTIES = (SERVERS, USERNAME, PASSWORD, TOKEN, CONNECTION_TIMEOUT)

ATTRIBUTES_AS_HEADERS = PropertySpec(
    key="attributes-as-headers",
    display_name="Attributes to Send as Headers (Regex)",
    description="FlowFile attributes whose whole name matches this regular expression are sent as "
                "message headers; unset: no headers.",
    validator=validators.REGEX,
)

_SUBJECT = re.compile(r"[^\s.*>]+(?:\.[^\s.*>]+)*")


def valid_subject(subject: str) -> bool:
    """Whether ``subject`` can be published to: dot-separated tokens, no wildcards or whitespace."""
    return _SUBJECT.fullmatch(subject) is not None


def headers_for(attributes: Mapping[str, str], pattern: re.Pattern[str] | None) -> dict[str, str] | None:
    """The attributes whose whole name matches ``pattern``, as headers (None: no headers)."""
    if pattern is None:
        return None
    headers = {k: v for k, v in attributes.items() if pattern.fullmatch(k)}
    return headers or None


class NatsConnection:
    """A nats-py client on a dedicated asyncio loop in a daemon thread.

    Construction connects (raising what nats-py raises when no server can be
    reached, after closing the loop). The client does not reconnect by
    itself: once the connection is lost every call fails, and the owner
    closes this object and opens a new one. ``call`` and ``submit`` may be used from
    any thread except the loop's own; ``close`` is idempotent.
    """

    def __init__(self, servers: list[str], *, name: str, timeout: float, options: Mapping[str, Any],
                 on_error: Callable[[Exception], None]) -> None:
        import nats
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"nats-{name}", daemon=True)
        self._thread.start()
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._lock = threading.Lock()
        self._closed = False

        async def error_cb(exc: Exception) -> None:
            on_error(exc)

        async def connect() -> Client:
            # no automatic reconnect: a lost connection fails the calls in flight, and the
            # processor closes this object and connects anew on its next trigger; each server
            # is tried once (nats-py would otherwise retry an unreachable one without end)
            return await nats.connect(
                servers, name=name, connect_timeout=timeout, error_cb=error_cb, allow_reconnect=False,
                max_reconnect_attempts=1, reconnect_time_wait=0.05, **options)
        try:
            self.client: Client = self.call(connect(), timeout * (len(servers) + 1))
        except BaseException:
            self._stop_loop()
            raise

    def call(self, coro: Coroutine[Any, Any, _T], timeout: float | None = None) -> _T:
        """Run ``coro`` on the loop and wait for its result (at most ``timeout``
        seconds, default the connection timeout; then it is cancelled and
        ``TimeoutError`` raised)."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(self.timeout if timeout is None else timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError("the NATS server did not answer in time") from None

    def submit(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` on the loop without waiting (acknowledgements from
        commit callbacks); ``close`` waits for it. Dropped when closed."""
        with self._lock:
            if self._closed:
                coro.close()
                return
            future = asyncio.run_coroutine_threadsafe(coro, self._loop)
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def close(self) -> None:
        """Wait (bounded) for submitted work, close the client, stop the loop thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pending = list(self._pending)
        concurrent.futures.wait(pending, timeout=self.timeout)
        try:
            self.call(self.client.close())
        except Exception:  # closing a broken connection: nothing more to release on the server
            pass
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        async def cancel_the_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=self.timeout)
        try:
            asyncio.run_coroutine_threadsafe(cancel_the_rest(), self._loop).result(self.timeout + 1)
        except Exception:  # the loop is stopped below whatever the tasks do
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(self.timeout + 1)
        if not self._thread.is_alive():
            self._loop.close()


def open_connection(context: ProcessContext, name: str) -> NatsConnection:
    """A connection configured by ``CONNECTION_PROPERTIES``; errors are logged
    to the processor's log as they happen (a lost connection, a slow consumer)."""
    servers = [s.strip() for s in (context.property(SERVERS).evaluate().value or "").split(",") if s.strip()]
    options: dict[str, Any] = {}
    user = context.property(USERNAME).evaluate().value
    if user:
        options["user"] = user
        options["password"] = context.property(PASSWORD).evaluate().value or ""
    token = context.property(TOKEN).evaluate().value
    if token:
        options["token"] = token

    def on_error(exc: Exception) -> None:
        context.logger.warning(f"NATS: {exc!r}")

    return NatsConnection(servers, name=name, timeout=context.property(CONNECTION_TIMEOUT).as_duration(),
                          options=options, on_error=on_error)


class NatsClientProcessor(Processor):
    """A processor holding one ``NatsConnection`` while scheduled: opened on
    first use (``_open``), closed when stopped or after a failure (``_close``)
    so that the next trigger reconnects."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: NatsConnection | None = None

    def on_scheduled(self, context: ProcessContext) -> None:
        self._connection = None

    def on_stopped(self, context: ProcessContext) -> None:
        self._close()

    def _close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
            self._closed()
        if connection is not None:
            connection.close()  # ends its subscriptions; waits for acknowledgements already handed over

    def _closed(self) -> None:
        """Forget what lived on the connection (called under the lock)."""

    def _open(self, context: ProcessContext) -> NatsConnection:
        with self._lock:
            if self._connection is None:
                connection = open_connection(context, f"flowyard-{type(self).__name__}")
                try:
                    self._opened(context, connection)
                except BaseException:
                    connection.close()
                    raise
                self._connection = connection
            return self._connection

    def _opened(self, context: ProcessContext, connection: NatsConnection) -> None:
        """Set up what lives on a new connection (called under the lock)."""


class NatsConsumer(NatsClientProcessor):
    """What ConsumeNATS and ConsumeJetStream share: one connection and
    subscription per scheduled processor (opened on the first trigger, closed
    when stopped or when it fails, so the next trigger reconnects), and a
    trigger that takes a batch of messages and emits one FlowFile per message
    to ``success``. Subclasses say how to subscribe, how to take a batch, and
    which attributes a message gives; ``before_emit`` lets them register
    commit callbacks (JetStream acknowledges only after the commit)."""

    #: The relationship messages go to (the subclass's ``success``).
    success: Relationship
    #: Named in the error logged when consuming fails ("NATS", "JetStream").
    source_name = "NATS"

    def __init__(self) -> None:
        super().__init__()
        self._subscription: Any = None

    def subscribe(self, context: ProcessContext, connection: NatsConnection) -> Coroutine[Any, Any, Any]:
        """The coroutine that subscribes (run on the connection's loop)."""
        raise NotImplementedError

    def take(self, context: ProcessContext, connection: NatsConnection,
             subscription: Any) -> tuple[Coroutine[Any, Any, list[Any]], float]:
        """The coroutine taking a batch of messages and how long it may wait."""
        raise NotImplementedError

    def attributes(self, message: Any) -> dict[str, str]:
        """The FlowFile attributes of ``message`` (besides its headers)."""
        raise NotImplementedError

    def before_emit(self, session: ProcessSession, connection: NatsConnection, messages: list[Any]) -> None:
        """Called before the FlowFiles are created (nothing by default)."""

    def _closed(self) -> None:
        self._subscription = None

    def _opened(self, context: ProcessContext, connection: NatsConnection) -> None:
        self._subscription = connection.call(self.subscribe(context, connection))

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        if self.success.name not in session.available_relationships():
            context.yield_()  # back pressure: the messages stay with the server (or its bounded buffer)
            return
        try:
            connection = self._open(context)
            batch, wait = self.take(context, connection, self._subscription)
            messages = connection.call(batch, wait + connection.timeout)
        except Exception as exc:  # nats-py raises its own errors, OSError and timeouts
            context.logger.error(f"Cannot consume from {self.source_name}: {exc!r}")
            self._close()
            context.yield_()
            return
        if not messages:
            context.yield_()
            return
        self.before_emit(session, connection, messages)
        server = (context.property(SERVERS).evaluate().value or "").split(",")[0].strip().rstrip("/")
        for message in messages:
            attributes = dict(message.headers or {})
            attributes.update(self.attributes(message))
            ff = session.write(session.create(), message.data)
            ff = session.put_attributes(ff, attributes)
            session.provenance.receive(ff, f"{server}/{message.subject}")
            session.transfer(ff, self.success)
