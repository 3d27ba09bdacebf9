"""What the web API needs from the cluster: the overview of its nodes, the
node actions a user takes, and reads answered by every node and merged.

``ClusterView(node, channel, service)`` sits on this node's ``ClusterNode``
(membership), its ``NodeChannel`` (the node protocol) and its ``FlowService``.
A read (status, statistics, queue listing, provenance, bulletins) goes to this
node directly and to every CONNECTED peer over the node protocol, in
parallel, each peer bounded by ``timeout``: a peer that does not answer in
time, or answers an error, is left out and named (``NodeAnswer.error``); it
never holds the answer back longer than the timeout. ``node=ID`` restricts a
read to one member (any state), and then its failure is the answer's.

``routes()`` are this node's handlers of ``/cluster/v1/status`` and
``/cluster/v1/query``, answered from the local ``FlowService``; the query
operations are a whitelist of reads (``QUERY_OPS``). A handler answers
``{"ok": true, "result": ...}`` or ``{"ok": false, "status": 400|404,
"error": sentence}``: the error of a read is an answer, not a failed call.

The merging itself is pure and lives in ``clusters._merge``; the query
operations in ``clusters._queries``. Content held by another node (a queued
flowfile's, an event's) is streamed through this one ``CONTENT_CHUNK`` bytes
per call (``content``), record previews likewise (``preview``).

Errors (``ClusterApiError.status`` is the HTTP status the API answers)::

    ClusterApiError
     ├── NodeNotFoundError      404: the node id is not a member, or this server is not clustered
     ├── NodeActionRefused      409: the node's state does not allow the action
     └── NodeUnavailableError   503 (or the peer's own 400/404): a node asked alone did not answer
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import trio

from flowyard.clusters import _merge
from flowyard.clusters._members import Member, MembershipError, NodeState
from flowyard.clusters._queries import CONTENT_CHUNK, MAX_LINEAGE_UUIDS, QUERY_OPS, text_arg
from flowyard.runtime.sdk import ContentNotFoundError, FlowyardError
from flowyard.runtime.service import ContentPreviewError, FlowService, UnknownComponentError

__all__ = [
    "PEER_TIMEOUT",
    "QUERY_OPS",
    "QUERY_PATH",
    "STATUS_PATH",
    "ClusterApiError",
    "ClusterView",
    "NodeActionRefused",
    "NodeAnswer",
    "NodeNotFoundError",
    "NodeUnavailableError",
]

#: Seconds a peer has to answer a read.
PEER_TIMEOUT = 2.0
STATUS_PATH = "/cluster/v1/status"
QUERY_PATH = "/cluster/v1/query"
#: At most this many generations of a lineage are followed.
MAX_LINEAGE_GENERATIONS = 1_000
#: A disconnect reason is cut to this length.
MAX_REASON = 1_000


class ClusterApiError(Exception):
    """A cluster request the API answers with ``status`` and this message."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        #: more fields of the API's error answer (``unsupported`` of a 422)
        self.extra = dict(extra or {})


class NodeNotFoundError(ClusterApiError):
    """No member has this node id (404)."""

    status = 404


class NodeActionRefused(ClusterApiError):
    """The node's state does not allow the action (409); nothing was changed."""

    status = 409


class NodeUnavailableError(ClusterApiError):
    """A node asked alone did not answer (503), or answered an error (its status)."""

    status = 503


class _Node(Protocol):
    """What ``ClusterView`` uses of ``clusters.node.ClusterNode``."""

    @property
    def config(self) -> Any: ...  # has node_id
    @property
    def state(self) -> NodeState: ...
    @property
    def reason(self) -> str: ...

    def members(self) -> list[Member]: ...
    def coordinator(self) -> Member | None: ...
    def primary(self) -> Member | None: ...
    def connected_peers(self) -> list[Member]: ...
    async def request_state(self, node_id: str, state: NodeState, reason: str, *, by: str) -> Any: ...
    async def allow_connect(self, node_id: str, *, by: str) -> Any: ...
    async def remove(self, node_id: str, *, by: str) -> Any: ...


class _Channel(Protocol):
    """What ``ClusterView`` uses of ``clusters.channel.NodeChannel``."""

    async def call(self, address: str, path: str, payload: Any, *, timeout: float, node: str | None) -> Any: ...


@dataclass(frozen=True, slots=True)
class NodeAnswer:
    """One node's answer to a read: ``result`` or ``error`` (with the HTTP ``status`` it means)."""

    node_id: str
    result: Any = None
    error: str | None = None
    status: int = 200
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


Handler = Callable[[Any, str], Awaitable[Any]]


class ClusterView:
    """The cluster as the web API sees it (see the module's docstring).

    ``node``: this node's ``ClusterNode``; ``channel``: its ``NodeChannel``;
    ``service``: its ``FlowService``; ``timeout``: seconds a peer has to answer
    a read; ``cache_seconds``: how long the merged stream entries of one
    (group, node) are shared between streams; ``probe_timeout``: what the live
    stream gives a peer that failed its full ``timeout`` in the last
    ``probe_seconds`` (so a dead peer still listed as connected slows each
    tick by that much, not by the whole timeout; it is given the full timeout
    again after ``probe_seconds``)."""

    def __init__(self, node: _Node, channel: _Channel, service: FlowService, *, timeout: float = PEER_TIMEOUT,
                 cache_seconds: float = 0.2, probe_timeout: float = 0.25, probe_seconds: float = 5.0) -> None:
        self.node = node
        self.channel = channel
        self.service = service
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.probe_timeout = min(probe_timeout, timeout)
        self.probe_seconds = probe_seconds
        self._suspects: dict[str, float] = {}  # peer -> when it last failed a full timeout (trio time)
        self._cache: dict[tuple[str | None, str | None], tuple[float, dict[str, Any], list[NodeAnswer]]] = {}
        self._locks: dict[tuple[str | None, str | None], trio.Lock] = {}

    # -- who we are ---------------------------------------------------------------------

    @property
    def node_id(self) -> str:
        return str(self.node.config.node_id)

    def overview(self) -> dict[str, Any]:
        """``{"clustered": true, "nodeId", "state", "reason", "coordinator",
        "primary", "nodes": [member dicts]}`` as this node sees it now."""
        return {
            "clustered": True, "nodeId": self.node_id, "state": str(self.node.state.value),
            "reason": self.node.reason, "coordinator": _id_of(self.node.coordinator()),
            "primary": _id_of(self.node.primary()),
            "nodes": [m.to_dict() for m in sorted(self.node.members(), key=lambda m: m.node_id)],
        }

    def member(self, node_id: str) -> Member:
        """The member ``node_id``; raises ``NodeNotFoundError``."""
        for m in self.node.members():
            if m.node_id == node_id:
                return m
        raise NodeNotFoundError(f"no node {node_id[:64]!r} in the cluster")

    # -- node actions --------------------------------------------------------------------

    async def disconnect(self, node_id: str, *, by: str, reason: str | None = None) -> dict[str, Any]:
        """Disconnect a CONNECTING or CONNECTED node (NiFi refuses to disconnect the
        only connected node, and so do we). Returns the overview after."""
        m = self.member(node_id)
        if m.state not in (NodeState.CONNECTING, NodeState.CONNECTED):
            raise NodeActionRefused(f"node {node_id!r} is {m.state.value}: only a CONNECTING or CONNECTED node "
                                    f"can be disconnected")
        others = [x for x in self.node.members() if x.state == NodeState.CONNECTED and x.node_id != node_id]
        if m.state == NodeState.CONNECTED and not others:
            raise NodeActionRefused(f"node {node_id!r} is the only connected node: disconnecting it would leave "
                                    f"no node in the cluster")
        text = (reason or "").strip()[:MAX_REASON] or f"disconnected by {by or 'a user'}"
        await self._act(self.node.request_state(node_id, NodeState.DISCONNECTED, text, by=by))
        return self.overview()

    async def connect(self, node_id: str, *, by: str) -> dict[str, Any]:
        """Let a DISCONNECTED, OFFLOADING or OFFLOADED node connect again (an
        offload in progress stops: the node goes CONNECTING). Returns the overview after."""
        m = self.member(node_id)
        if m.state not in (NodeState.DISCONNECTED, NodeState.OFFLOADING, NodeState.OFFLOADED):
            raise NodeActionRefused(f"node {node_id!r} is {m.state.value}: only a DISCONNECTED, OFFLOADING or "
                                    f"OFFLOADED node can be connected")
        await self._act(self.node.allow_connect(node_id, by=by))
        return self.overview()

    async def offload(self, node_id: str, *, by: str) -> dict[str, Any]:
        """Offload a DISCONNECTED node that is alive (its queued data moves to
        the connected nodes: the node itself sends it, so a node that is not
        running cannot be offloaded). Returns the overview after."""
        m = self.member(node_id)
        if m.state != NodeState.DISCONNECTED:
            raise NodeActionRefused(f"node {node_id!r} is {m.state.value}: only a DISCONNECTED node can be "
                                    f"offloaded (disconnect it first)")
        if not m.alive:
            raise NodeActionRefused(f"node {node_id!r} is not running (no heartbeat): only a running node can "
                                    f"offload its data; start it again to offload it, or remove it")
        if not any(x.state == NodeState.CONNECTED for x in self.node.members() if x.node_id != node_id):
            raise NodeActionRefused(f"no connected node could take node {node_id!r}'s data")
        await self._act(self.node.request_state(node_id, NodeState.OFFLOADING, f"offloaded by {by or 'a user'}",
                                                by=by))
        return self.overview()

    async def remove(self, node_id: str, *, by: str) -> dict[str, Any]:
        """Forget a DISCONNECTED, OFFLOADING or OFFLOADED node (the data an
        OFFLOADING node did not move yet stays on it). Returns ``{"removed": id}``."""
        m = self.member(node_id)
        if m.state not in (NodeState.DISCONNECTED, NodeState.OFFLOADING, NodeState.OFFLOADED):
            raise NodeActionRefused(f"node {node_id!r} is {m.state.value}: only a DISCONNECTED, OFFLOADING or "
                                    f"OFFLOADED node can be removed")
        await self._act(self.node.remove(node_id, by=by))
        return {"removed": node_id}

    async def _act(self, action: Awaitable[Any]) -> None:
        try:
            await action
        except MembershipError as exc:
            raise NodeActionRefused(str(exc)) from None
        except FlowyardError as exc:  # etcd refused or could not be reached (EtcdError)
            raise ClusterApiError(f"the cluster could not do it: {exc}", status=503) from None

    # -- fan-out ---------------------------------------------------------------------------

    def _targets(self, node: str | None, skip: frozenset[str] = frozenset()) -> list[Member | None]:
        """``None`` stands for this node (always first)."""
        if node is not None:
            member = self.member(node)
            return [None] if member.node_id == self.node_id else [member]
        return [None, *sorted((m for m in self.node.connected_peers()
                               if m.node_id != self.node_id and m.node_id not in skip), key=lambda m: m.node_id)]

    async def fan_out(self, path: str, payload: Mapping[str, Any], node: str | None = None, *,
                      probe: bool = False, skip: frozenset[str] = frozenset()) -> list[NodeAnswer]:
        """Every target's answer (this node first, then the connected peers by id);
        ``node``: only that member, whose failure raises ``NodeUnavailableError``.
        An error of this node's own service is raised as it is (a 404 for an
        unknown component stays a 404). ``probe``: peers that recently failed
        get ``probe_timeout`` (the live stream); ``skip``: peers not to ask."""
        targets = self._targets(node, skip)
        answers: list[NodeAnswer | None] = [None] * len(targets)
        local_error: list[Exception] = []

        async def ask(i: int, member: Member | None) -> None:
            if member is None:
                try:
                    answers[i] = NodeAnswer(self.node_id, result=await self._answer(path, payload))
                except Exception as exc:  # raised after the nursery, unwrapped
                    local_error.append(exc)
                return
            timeout = self.timeout
            if probe:
                failed = self._suspects.get(member.node_id)
                if failed is not None and trio.current_time() - failed < self.probe_seconds:
                    timeout = self.probe_timeout
            answer = answers[i] = await self._ask_peer(member, path, payload, timeout)
            if answer.ok:
                self._suspects.pop(member.node_id, None)
            elif answer.status == 503 and timeout == self.timeout:
                self._suspects[member.node_id] = trio.current_time()

        async with trio.open_nursery() as nursery:
            for i, member in enumerate(targets):
                nursery.start_soon(ask, i, member)
        if local_error:
            raise local_error[0]
        done = [a for a in answers if a is not None]
        if node is not None and done and not done[0].ok:
            raise NodeUnavailableError(f"node {done[0].node_id!r}: {done[0].error}", status=done[0].status,
                                       extra=done[0].extra)
        return done

    async def _ask_peer(self, member: Member, path: str, payload: Mapping[str, Any], timeout: float) -> NodeAnswer:
        reply: Any = None
        with trio.move_on_after(timeout + 0.5):  # in case the channel overran its own timeout
            try:
                reply = await self.channel.call(member.address, path, dict(payload), timeout=timeout,
                                                node=member.node_id)
            except Exception as exc:  # PeerUnavailable, PeerRefused, transport errors: the node is left out
                return NodeAnswer(member.node_id, error=str(exc) or type(exc).__name__, status=503)
        if reply is None:
            return NodeAnswer(member.node_id, error=f"did not answer within {timeout:g} s", status=503)
        if not isinstance(reply, dict) or "ok" not in reply:
            return NodeAnswer(member.node_id, error="answered something unreadable", status=503)
        if not reply["ok"]:
            status = reply.get("status")
            extra = {"unsupported": reply["unsupported"]} if isinstance(reply.get("unsupported"), bool) else {}
            return NodeAnswer(member.node_id, error=str(reply.get("error"))[:2000],
                              status=status if status in (400, 404, 409, 422) else 503, extra=extra)
        return NodeAnswer(member.node_id, result=reply.get("result"))

    # -- this node's answers (the node-protocol handlers) ------------------------------------

    def routes(self) -> dict[str, Handler]:
        """The node-protocol handlers of this part: ``/cluster/v1/status`` and ``/cluster/v1/query``."""

        async def status(payload: Any, peer: str) -> Any:
            return await self._reply(STATUS_PATH, payload)

        async def query(payload: Any, peer: str) -> Any:
            return await self._reply(QUERY_PATH, payload)

        return {STATUS_PATH: status, QUERY_PATH: query}

    async def _reply(self, path: str, payload: Any) -> dict[str, Any]:
        try:
            return {"ok": True, "result": await self._answer(path, payload)}
        except (UnknownComponentError, ContentNotFoundError) as exc:
            return {"ok": False, "status": 404, "error": str(exc)}
        except ContentPreviewError as exc:
            return {"ok": False, "status": 422, "error": str(exc), "unsupported": exc.unsupported}
        except (FlowyardError, ValueError) as exc:  # a bad argument; anything else is a bug: 500
            return {"ok": False, "status": 400, "error": str(exc)}

    async def _answer(self, path: str, payload: Any) -> Any:
        if not isinstance(payload, Mapping):
            raise ValueError(f"{path}: expected a map, found {type(payload).__name__}")
        if path == STATUS_PATH:
            if payload.get("entries"):
                return self.service.status_entries(text_arg(payload, "group", optional=True))
            return self.service.status()
        op, args = payload.get("op"), payload.get("args", {})
        if op not in QUERY_OPS or not isinstance(args, Mapping):
            raise ValueError(f"{path}: unknown operation {op!r:.60} (expected one of {', '.join(sorted(QUERY_OPS))})")
        result = QUERY_OPS[op](self.service, args)
        return await result if inspect.isawaitable(result) else result

    # -- merged reads ---------------------------------------------------------------------

    async def status(self, node: str | None = None) -> dict[str, Any]:
        """``GET /api/status`` of the cluster: totals summed, per component and per node."""
        answers = await self.fan_out(STATUS_PATH, {}, node)
        return _merge.status([(a.node_id, a.result) for a in answers if a.ok], _errors(answers))

    async def status_entries(self, group: str | None = None, node: str | None = None
                             ) -> tuple[dict[str, dict[str, Any]], list[NodeAnswer]]:
        """The live stream's entries merged over the nodes, and every node's answer
        (for the unavailable ones). Shared by concurrent streams for ``cache_seconds``."""
        key = (group, node)
        lock = self._locks.setdefault(key, trio.Lock())
        try:
            async with lock:  # streams asking at once share the fan-out in flight
                cached = self._cache.get(key)
                if cached is not None and trio.current_time() - cached[0] < self.cache_seconds:
                    return cached[1], cached[2]
                payload: dict[str, Any] = {"entries": True, "group": group}
                answers = await self.fan_out(STATUS_PATH, payload, node, probe=True)
                merged = _merge.entries([(a.node_id, a.result) for a in answers if a.ok])
                self._cache[key] = (trio.current_time(), merged, answers)
                if len(self._cache) > 256:  # groups come and go: forget the oldest
                    oldest = min(self._cache, key=lambda k: self._cache[k][0])
                    del self._cache[oldest]
                    self._locks.pop(oldest, None)
                return merged, answers
        finally:
            if key not in self._cache:  # an unknown group: keep no lock for it
                self._locks.pop(key, None)

    async def _query(self, op: str, args: Mapping[str, Any], node: str | None,
                     skip: frozenset[str] = frozenset()) -> list[NodeAnswer]:
        return await self.fan_out(QUERY_PATH, {"op": op, "args": dict(args)}, node, skip=skip)

    async def component_statistics(self, component_id: str, node: str | None = None) -> dict[str, Any]:
        answers = await self._query("component_statistics", {"id": component_id}, node)
        return _merge.statistics([(a.node_id, a.result) for a in answers if a.ok], _errors(answers))

    async def group_statistics(self, group_id: str, node: str | None = None) -> dict[str, Any]:
        answers = await self._query("group_statistics", {"id": group_id}, node)
        return _merge.group_statistics([(a.node_id, a.result) for a in answers if a.ok], _errors(answers))

    async def status_history(self, component_id: str, resolution: str, node: str | None = None) -> dict[str, Any]:
        answers = await self._query("status_history", {"id": component_id, "resolution": resolution}, node)
        return _merge.status_history([(a.node_id, a.result) for a in answers if a.ok], _errors(answers))

    async def queue_listing(self, connection_id: str, node: str | None = None, limit: int = 100
                            ) -> tuple[list[dict[str, Any]], list[str]]:
        """The first ``limit`` flowfiles over the nodes' partitions, with ``nodeId``
        and ``position``; and the ids of the nodes that did not answer."""
        answers = await self._query("queue_listing", {"connectionId": connection_id, "limit": limit}, node)
        return _merge.queue([(a.node_id, a.result) for a in answers if a.ok], limit), _unavailable(answers)

    async def provenance_search(self, criteria: Mapping[str, Any], node: str | None = None
                                ) -> tuple[list[dict[str, Any]], list[str]]:
        """Provenance search over the nodes, newest first, cut at ``criteria["limit"]``."""
        answers = await self._query("provenance_search", criteria, node)
        limit = int(criteria.get("limit") or 100)
        return _merge.provenance([(a.node_id, a.result) for a in answers if a.ok], limit), _unavailable(answers)

    async def provenance_event(self, event_id: int, node: str | None = None) -> dict[str, Any]:
        """One event of ``node`` (default this one), with ``nodeId``."""
        answers = await self._query("provenance_event", {"eventId": event_id}, node or self.node_id)
        return {**answers[0].result, "nodeId": answers[0].node_id}

    async def bulletins(self, node: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
        """Every node's bulletins with ``nodeId``, oldest first."""
        answers = await self._query("bulletins", {}, node)
        return _merge.bulletins([(a.node_id, a.result) for a in answers if a.ok]), _unavailable(answers)

    async def lineage(self, flowfile_uuid: str, node: str | None = None) -> tuple[dict[str, Any], list[str]]:
        """The lineage of a flowfile followed across the nodes: each generation asks
        every node for the events naming the flowfiles reached so far. Raises
        ``UnknownComponentError`` when no node has an event naming it."""
        events: dict[tuple[str, int], dict[str, Any]] = {}
        seen: set[str] = set()
        frontier = {flowfile_uuid}
        unavailable: set[str] = set()
        for _ in range(MAX_LINEAGE_GENERATIONS):
            if not frontier:
                break
            seen |= frontier
            reached: set[str] = set()
            wanted = sorted(frontier)
            for at in range(0, len(wanted), MAX_LINEAGE_UUIDS):
                # a node that failed once is not asked again: each generation would wait for it
                for a in await self._query("events_mentioning", {"uuids": wanted[at:at + MAX_LINEAGE_UUIDS]}, node,
                                           frozenset(unavailable)):
                    if not a.ok:
                        unavailable.add(a.node_id)
                        continue
                    for e in a.result:
                        if (a.node_id, e["eventId"]) not in events:
                            events[(a.node_id, e["eventId"])] = e
                            reached.update((e["flowfileUuid"], *e["parentUuids"], *e["childUuids"]))
            frontier = reached - seen
        if not events:
            raise UnknownComponentError(f"no provenance event mentions flowfile {flowfile_uuid!r}")
        return _merge.lineage(events, seen), sorted(unavailable)

    async def content(self, node: str, op: str, args: Mapping[str, Any]
                      ) -> tuple[str, str, int, AsyncIterator[bytes]]:
        """``(mime type, filename, size, chunks)`` of content held by ``node``
        (``op``: ``queued_content`` or ``provenance_content``), fetched
        ``CONTENT_CHUNK`` bytes per call as the chunks are read. Errors before
        the first byte raise (404, 503); a node that stops answering midway
        ends the stream with ``NodeUnavailableError``."""
        first = (await self._query(op, {**args, "offset": 0, "length": CONTENT_CHUNK}, node))[0].result
        size = int(first["size"])

        async def chunks() -> AsyncIterator[bytes]:
            data = bytes(first["data"])
            offset = len(data)
            yield data
            while data and offset < size:
                part = (await self._query(op, {**args, "offset": offset, "length": CONTENT_CHUNK}, node))[0]
                data = bytes(part.result["data"])
                offset += len(data)
                yield data
        return str(first["mime"]), str(first["filename"]), size, chunks()

    async def preview(self, node: str, op: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """A record table of content held by ``node`` (``queued_preview`` or ``provenance_preview``)."""
        return dict((await self._query(op, args, node))[0].result)

    # -- content lives where it is ----------------------------------------------------------

    def local_only(self, node: str | None, what: str) -> None:
        """Raise ``NodeActionRefused`` naming the node's API when ``node`` is another node
        (content, records and replay are served by the node that holds them)."""
        if node is None or node == self.node_id:
            return
        m = self.member(node)
        raise NodeActionRefused(f"{what} is on node {node!r}: ask its API at {m.api_url}")


def _id_of(leader: Member | str | None) -> str | None:
    return leader.node_id if isinstance(leader, Member) else leader


def _errors(answers: list[NodeAnswer]) -> list[dict[str, Any]]:
    return [{"nodeId": a.node_id, "error": a.error} for a in answers if not a.ok]


def _unavailable(answers: list[NodeAnswer]) -> list[str]:
    return [a.node_id for a in answers if not a.ok]
