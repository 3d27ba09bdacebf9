"""The ``HttpContextMap`` API and ``StandardHttpContextMap``: where
HandleHttpRequest parks each waiting HTTP request until HandleHttpResponse
answers it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from flowyard.runtime.sdk import (
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    PropertySpec,
    validators,
)

__all__ = ["HTTP_CONTEXT_MAP", "HttpContextMap", "HttpRequestContext", "StandardHttpContextMap"]

HTTP_CONTEXT_MAP = "HttpContextMap"
"""API name of HTTP context maps (NiFi's ``HttpContextMap``)."""


class HttpRequestContext:
    """One waiting request, as HandleHttpRequest registers it. Both methods
    are safe to call from any thread and return at once."""

    @property
    def request_uri(self) -> str:
        """The request's URI (for provenance)."""
        raise NotImplementedError

    def respond(self, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> bool:
        """Answer the request; False when it can no longer be answered (already
        answered, expired, or its server stopped)."""
        raise NotImplementedError

    def respond_streaming(self, status: int, headers: Sequence[tuple[str, str]], length: int,
                          read: Callable[[int], bytes]) -> bool:
        """Answer with a body of ``length`` bytes that ``read(n)`` gives in pieces,
        and block until it is sent: True once the client has it all, False when
        the request could not be answered or the client went away meanwhile."""
        raise NotImplementedError


class HttpContextMap:
    """The ``HttpContextMap`` API. Thread-safe."""

    def register(self, identifier: str, context: HttpRequestContext) -> bool:
        """Keep ``context`` under ``identifier``; False when Maximum Outstanding
        Requests are already waiting (the caller answers 503)."""
        raise NotImplementedError

    def get(self, identifier: str) -> HttpRequestContext | None:
        """The waiting request, or None (never registered, answered or expired)."""
        raise NotImplementedError

    def complete(self, identifier: str) -> None:
        """Forget ``identifier`` (it was answered)."""
        raise NotImplementedError

    @property
    def request_timeout(self) -> float:
        """Seconds a request may wait before it is answered 503."""
        raise NotImplementedError


MAX_OUTSTANDING = PropertySpec(
    key="maximum-outstanding-requests", display_name="Maximum Outstanding Requests",
    description="How many requests may wait for an answer at once; a request beyond that is refused (answered "
                "503).", required=True, default="5000",
    validator=validators.POSITIVE_INTEGER,
)
REQUEST_EXPIRATION = PropertySpec(
    key="request-expiration", display_name="Request Expiration",
    description="How long a request may wait for an answer; after that it is answered 503 Service Unavailable and "
                "forgotten.", required=True, default="1 min",
    validator=validators.TIME_PERIOD,
)


class StandardHttpContextMap(ControllerService, HttpContextMap):
    """Holds the requests HandleHttpRequest received until HandleHttpResponse
    answers them, at most Maximum Outstanding Requests at once. A request left
    unanswered for Request Expiration is answered 503 Service Unavailable and
    forgotten: a sweeper thread looks every quarter of the expiration (at most
    every second) while the service is enabled. Disabling the service answers
    every waiting request 503.

    Differences from NiFi: none in behaviour; the map lives in the flowyard
    process, so in a cluster each node has its own.
    """

    spec = ControllerServiceSpec(
        description=(
            "Holds the HTTP requests received by HandleHttpRequest until a HandleHttpResponse answers them, so that "
            "the two processors can share a request."
        ),
        provides=(HTTP_CONTEXT_MAP,),
        tags=("http", "request", "response"),
        properties=(MAX_OUTSTANDING, REQUEST_EXPIRATION),
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._contexts: dict[str, tuple[float, HttpRequestContext]] = {}
        self._max = 5000
        self._timeout = 60.0
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Start empty, with the sweeper running."""
        self._stop.set()  # enabled again without a disable in between (a shared instance)
        if self._sweeper is not None:
            self._sweeper.join(5)
        self._max = context.property(MAX_OUTSTANDING).as_int()
        self._timeout = context.property(REQUEST_EXPIRATION).as_duration()
        with self._lock:
            self._contexts = {}
        self._stop = threading.Event()
        self._sweeper = threading.Thread(target=self._sweep, name="StandardHttpContextMap sweeper", daemon=True)
        self._sweeper.start()

    def on_disabled(self) -> None:
        """Stop the sweeper and answer every waiting request 503."""
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(5)
            self._sweeper = None
        with self._lock:
            waiting = [c for _, c in self._contexts.values()]
            self._contexts = {}
        for context in waiting:
            context.respond(503, [], b"")

    def _sweep(self) -> None:
        step = min(1.0, max(0.01, self._timeout / 4))
        while not self._stop.wait(step):
            self.expire()

    def expire(self, now: float | None = None) -> int:
        """Answer 503 to every request older than the expiration; how many."""
        cutoff = (time.monotonic() if now is None else now) - self._timeout
        with self._lock:
            old = [key for key, (at, _) in self._contexts.items() if at <= cutoff]
            expired = [self._contexts.pop(key)[1] for key in old]
        for context in expired:
            context.respond(503, [], b"")
        return len(expired)

    def register(self, identifier: str, context: HttpRequestContext) -> bool:
        """See ``HttpContextMap.register``."""
        with self._lock:
            if len(self._contexts) >= self._max:
                return False
            self._contexts[identifier] = (time.monotonic(), context)
            return True

    def get(self, identifier: str) -> HttpRequestContext | None:
        """See ``HttpContextMap.get``."""
        with self._lock:
            entry = self._contexts.get(identifier)
        return entry[1] if entry is not None else None

    def complete(self, identifier: str) -> None:
        """See ``HttpContextMap.complete``."""
        with self._lock:
            self._contexts.pop(identifier, None)

    @property
    def request_timeout(self) -> float:
        """The Request Expiration in seconds."""
        return self._timeout

    def size(self) -> int:
        """How many requests are waiting."""
        with self._lock:
            return len(self._contexts)
