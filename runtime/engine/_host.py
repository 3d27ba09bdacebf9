"""What a processor node and the controller services need from whatever runs them.

``ProcessorNode`` (``_node``) and ``EngineServices`` (``_services``) used to be
handed the ``Engine`` itself, which made the engine modules import each other.
They now name the protocols below; the ``Engine`` satisfies them structurally
(nothing here imports it), and so does the test kit's ``TestHost``
(``sdk.testing``), which runs the production trigger path on a mock clock.

Also here, because both hosts build the sessions of a trigger the same way:
``committing_session`` (a session whose explicit ``commit()`` goes through the
committer) and ``on_loop``. Layering: ``_host`` imports ``_session``,
``_committer`` and ``_component`` only, never ``_node`` or ``_engine``.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from flowyard.runtime.engine._cluster_state import ClusterStateStore
from flowyard.runtime.engine._committer import Committer, PendingCommit
from flowyard.runtime.engine._component import ConfiguredProcessor
from flowyard.runtime.engine._session import Routing, StandardProcessSession
from flowyard.runtime.flow import FlowDef, ProcessorDef
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk._properties import Evaluator

__all__ = ["Bulletin", "DiskState", "HostedNode", "NodeHost", "ServicesHost", "committing_session", "on_loop"]


@dataclass(frozen=True, slots=True)
class Bulletin:
    """A message about a component that users should see (NiFi's bulletin)."""

    timestamp_ms: int
    component_id: str
    component_name: str
    level: str
    message: str


class DiskState(Protocol):
    """Free disk space as back pressure (``_diskguard.DiskGuard``)."""

    @property
    def paused(self) -> bool:
        """While True no processor is triggered: a commit would find no room."""


class NodeHost(Protocol):
    """What a ``ProcessorNode`` needs from the engine (or the test kit) that runs it."""

    #: How long ``on_stopped`` may take at shutdown (seconds).
    grace_seconds: float
    #: Where the node's bulletins go, newest last (bounded), and how many there were in all.
    bulletins: collections.deque[Bulletin]
    bulletin_count: int
    #: Where cluster-scoped processor state lives in a cluster; None on a single node.
    cluster_state: ClusterStateStore | None

    @property
    def thread_limiter(self) -> trio.CapacityLimiter:
        """Bounds the worker threads blocking processors run in."""

    @property
    def disk(self) -> DiskState:
        """Whether processing is paused for want of disk space."""

    @property
    def committer(self) -> Committer:
        """Writes every session's transaction (``submit``)."""

    def clock(self) -> int:
        """Epoch milliseconds, advancing with trio's clock (callable from any thread)."""

    def clock_seconds(self) -> float:
        """trio's clock (callable from worker threads too)."""

    def new_session(self, node: Any, early: list[PendingCommit]) -> StandardProcessSession:
        """A session for one trigger of ``node`` (a ``ProcessorNode``: typed ``Any`` because
        ``_node`` imports this module); explicit commits are appended to ``early``."""

    def storage_full(self, error: BaseException) -> None:
        """A write failed for want of space: pause processing until there is room."""


class HostedNode(Protocol):
    """What ``EngineServices`` reads of a processor node (``ProcessorNode`` satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def running(self) -> bool: ...
    @property
    def definition(self) -> ProcessorDef: ...
    @property
    def configured(self) -> ConfiguredProcessor: ...

    def set_routing(self, auto_terminated: tuple[str, ...]) -> None: ...


class ServicesHost(NodeHost, Protocol):
    """What ``EngineServices`` needs from the engine: the flow, the nodes, and
    starting and stopping the processors that use a service."""

    flow: FlowDef
    #: The process group of every component (by identifier).
    group_of: dict[str, str]

    @property
    def nodes(self) -> Mapping[str, HostedNode]:
        """The processor nodes by id."""

    def evaluator_for(self, component_id: str) -> Evaluator:
        """The Expression Language evaluator of the component's group."""

    def start_if_scheduled(self, node: Any) -> bool:
        """Start ``node`` (one of ``nodes``) if its scheduled state is RUNNING and it is valid."""

    def resume(self, node: Any) -> bool:
        """Start ``node`` (one of ``nodes``) again after it was stopped for a change."""

    async def stop_processor(self, component_id: str) -> None:
        """Stop a processor and wait until its triggers have finished."""


def on_loop(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on the event loop: directly there, through trio from a worker thread."""
    if trio.lowlevel.in_trio_run():
        return fn()
    return trio.from_thread.run_sync(fn)


def committing_session(
    routing: Routing,
    repositories: Repositories,
    clock: Callable[[], int],
    committer: Committer,
    early: list[PendingCommit],
    state_reader: Callable[[str], tuple[int, dict[str, str]]],
    overlay: dict[bytes, bytes] | None = None,
) -> StandardProcessSession:
    """A session for one trigger, usable from the event loop and from a worker
    thread alike (queue operations always run on the loop).

    An explicit ``session.commit()`` goes through ``committer`` like every other
    write: from a worker thread it waits until the commit is durable (raising
    ``ProcessingError`` if it was not); on the event loop (which cannot block)
    it is queued, in order, and appended to ``early`` for the trigger to await
    with its final commit. ``overlay``: see ``StandardProcessSession``.
    """
    async def commit_now(session: StandardProcessSession) -> None:
        await committer.commit(session.prepare_commit())

    def hook(session: StandardProcessSession) -> None:
        if trio.lowlevel.in_trio_run():
            early.append(committer.submit(session.prepare_commit()))
        else:
            trio.from_thread.run(commit_now, session)

    return StandardProcessSession(routing, repositories, clock, queue_access=on_loop,
                                  state_reader=state_reader, commit_hook=hook, overlay=overlay)
