"""Edit replication: one flow, edited on any node (docs/cluster-internals.md,
"Edit replication").

``ClusterReplicator`` is the service's ``Replicator`` on a cluster node. It
sends the service's proposals to the coordinator (``/cluster/v1/propose``); as
coordinator it commits them one at a time::

    revisions re-checked, check_entry here       -> 409 / 400, nothing committed
    /cluster/v1/validate on every CONNECTED peer -> a refusal refuses the edit naming the node;
                                                    no answer in time: the peer is disconnected
                                                    (fenced admin request) and left out
    fenced txn: C/flow/log/<seq> + C/flow/head   -> the commit point (head's mod_revision compared)

and every node applies the log in seq order from a watch (``run``). A node
that cannot apply an entry disconnects itself with the reason and applies
nothing more until it is connected again (it is never left different).

Joining (``run``, whenever the node is CONNECTING): no ``C/flow/head`` → the
cold-start flow election; entries after our seq still in the log → catch up;
else take ``C/flow/snapshot`` — unless that would remove a connection holding
flowfiles here: then the node stays DISCONNECTED saying which. Then CONNECTED.
The coordinator writes a snapshot every ``snapshot_every`` entries and keeps
the log's last ``keep_entries``.

While there is no coordinator, it cannot be reached, or it cannot commit now
(etcd unreachable, still connecting, deposed), a proposal is sent again as the
membership changes, for up to ``propose_timeout`` (then its last refusal is
raised). One whose answer does not come back (the coordinator died) is looked
for in the log once another node is coordinator, and sent again when it is not
there (no other coordinator in time: ``FlowNotSavedError``, 503, the outcome
unknown). A node that is not CONNECTED refuses edits (``NotConnected``, 409:
"this node is disconnected from the cluster: <reason>"). A node left out of an
edit for not answering is connected again by the coordinator once it answers a
probe; one disconnected by a user or by itself stays so.

On the wire (msgpack): ``/cluster/v1/propose`` takes ``Proposal.to_dict()`` and
answers ``{seq}`` or ``{error: error_to_dict(...), node?, retry?}``;
``/cluster/v1/validate`` takes ``{base, entry: Entry.to_dict()}`` (or
``{probe: true}``) and answers ``{ok: true}``, ``{error}`` (the edit is
refused) or ``{absent: why}`` (this node cannot take part: it is left out).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import msgpack
import trio

from flowyard.clusters._flowsync import (
    FlowKeys,
    FlowSync,
    _Retry,
    _StayDisconnected,
    head_value,
    open_entry,
    read_head,
    seal_entry,
)
from flowyard.clusters.channel import ChannelRefusal, ClusterError, NodeChannel, PeerError, PeerRefused, Sealer
from flowyard.clusters.etcd import Compare, Etcd, EtcdCompacted, EtcdError, Op
from flowyard.clusters.node import ClusterNode, Member, MembershipError, NodeState
from flowyard.runtime.sdk import FlowyardError
from flowyard.runtime.service import FlowNotSavedError, FlowService
from flowyard.runtime.service._replication import Entry, NotConnected, Proposal, error_from_dict, error_to_dict

__all__ = ["LEFT_OUT", "PROPOSE", "VALIDATE", "ClusterReplicator"]

#: How the reason of a node the coordinator disconnected for not answering starts.
LEFT_OUT = "left out of cluster edit"
PROPOSE = "/cluster/v1/propose"
VALIDATE = "/cluster/v1/validate"
_log = logging.getLogger("flowyard.clusters.replication")


class ClusterReplicator(FlowSync):
    """The ``Replicator`` of ``service`` on cluster node ``node`` (see the module
    docstring). Serve ``routes()`` on the node's channel and run ``run`` for as
    long as the node runs; set ``service.replicator`` to it.

    ``validate_timeout``: how long the coordinator waits for a peer's answer;
    ``propose_timeout``: how long a proposer waits for the coordinator's;
    ``flow_election_candidates`` / ``flow_election_wait``: the cold start waits
    for that many candidates or that many seconds, whichever comes first."""

    def __init__(self, node: ClusterNode, etcd: Etcd, channel: NodeChannel, sealer: Sealer, service: FlowService,
                 *, validate_timeout: float = 5.0, propose_timeout: float = 30.0,
                 flow_election_candidates: int = 3, flow_election_wait: float = 30.0,
                 snapshot_every: int = 200, keep_entries: int = 1000, retry: float = 0.5,
                 probe_interval: float = 2.0) -> None:
        if flow_election_candidates < 1 or flow_election_wait < 0:
            raise ValueError("flow election: candidates must be >= 1 and the wait >= 0 s")
        if snapshot_every < 1 or keep_entries < snapshot_every:
            raise ValueError("snapshot_every must be >= 1 and keep_entries >= snapshot_every")
        self.node = node
        self.etcd = etcd
        self.channel = channel
        self.sealer = sealer
        self.service = service
        self.keys = FlowKeys.of(node.config)
        self.validate_timeout = validate_timeout
        self.propose_timeout = propose_timeout
        self.flow_election_candidates = flow_election_candidates
        self.flow_election_wait = flow_election_wait
        self.snapshot_every = snapshot_every
        self.keep_entries = keep_entries
        self.retry = retry
        self.probe_interval = probe_interval
        self._propose_lock = trio.Lock()
        self._applied = trio.Event()  # set (and replaced) whenever an entry is applied here

    def routes(self) -> dict[str, Callable[[Any, str], Awaitable[Any]]]:
        """The node-protocol routes of replication, for ``NodeChannel.serve``."""
        return {PROPOSE: self._on_propose, VALIDATE: self._on_validate}

    # -- proposing (any node) ------------------------------------------------------------

    async def submit(self, proposal: Proposal) -> int:
        """Have ``proposal`` committed (see ``Replicator.submit``); returns its seq
        once applied here."""
        state = self.node.state
        if state is not NodeState.CONNECTED:
            if state is NodeState.CONNECTING:
                raise NotConnected("it is still connecting (taking the cluster's flow)"
                                   + (f": {self.node.reason}" if self.node.reason else ""))
            raise NotConnected(self.node.reason or f"it is {state.value}")
        answer = await self._send(proposal)
        if not isinstance(answer, dict):
            raise FlowNotSavedError(f"the cluster coordinator answered {answer!r}")
        if "error" in answer:
            raise error_from_dict(answer["error"], node=answer.get("node"))
        seq = answer.get("seq")
        if not isinstance(seq, int):
            raise FlowNotSavedError(f"the cluster coordinator answered {answer!r}")
        await self._wait_applied(seq)
        return seq

    async def _send(self, proposal: Proposal) -> Any:
        """The coordinator's answer to ``proposal``. While there is no coordinator,
        it cannot be reached (nothing was sent) or the node asked is no longer it,
        ask again as the membership changes, for up to ``propose_timeout``."""
        deadline = trio.current_time() + self.propose_timeout
        while True:
            coordinator = self.node.coordinator()
            answer: Any = None
            if coordinator is None:
                again = "the cluster has no coordinator right now"
            elif coordinator.node_id == self.node.node_id:
                answer = await self._propose(proposal)
                again = "" if not (isinstance(answer, dict) and answer.get("retry")) else "it cannot be committed now"
            else:
                try:
                    answer = await self.channel.call(coordinator.address, PROPOSE, proposal.to_dict(),
                                                     timeout=self.propose_timeout, node=coordinator.node_id)
                except PeerError as exc:
                    if not isinstance(exc.__cause__, httpx.ConnectError):  # sent: it may have been committed
                        seq = await self._settle(proposal, coordinator.node_id, deadline, exc)
                        if seq is not None:
                            return {"seq": seq}
                    answer, again = None, f"the cluster coordinator cannot be reached ({exc})"
                else:
                    again = "" if not (isinstance(answer, dict) and answer.get("retry")) else \
                        f"node {coordinator.node_id} cannot commit it now"
            if not again:
                return answer
            if trio.current_time() >= deadline:
                if isinstance(answer, dict) and "error" in answer:
                    raise error_from_dict(answer["error"], node=answer.get("node"))
                raise FlowNotSavedError(f"{again}; the change was not applied: try again")
            if self.node.state is not NodeState.CONNECTED:
                raise NotConnected(self.node.reason or f"it is {self.node.state.value}")
            await self._applied_or_changed(self.node.version, 0.5)

    async def _settle(self, proposal: Proposal, asked: str, deadline: float, exc: PeerError) -> int | None:
        """Whether ``proposal``, sent to coordinator ``asked`` which did not
        answer, was committed: once another node is coordinator (``asked`` can
        then commit nothing more: its writes are fenced) the log after the
        proposal's base says so. Its seq, or None (not committed: send it
        again). ``FlowNotSavedError`` when no other coordinator comes before
        ``deadline`` (the outcome is unknown)."""
        while True:
            coordinator = self.node.coordinator()
            if coordinator is not None and coordinator.node_id != asked:
                break
            if trio.current_time() >= deadline:
                raise FlowNotSavedError(f"the cluster coordinator did not answer ({exc}); the change may or may "
                                        "not have been made: look before trying again")
            await self._applied_or_changed(self.node.version, 0.5)
        mine = _what(proposal)
        try:
            kvs, _ = await self.etcd.range(self.keys.log)
            for kv in kvs:
                entry = open_entry(self.sealer, self.keys, kv.key, kv.value)
                if entry.seq > proposal.base and _what(entry.proposal) == mine:
                    return entry.seq
        except (EtcdError, ClusterError) as err:
            raise FlowNotSavedError(f"the cluster coordinator did not answer ({exc}) and the cluster's log cannot "
                                    f"be read ({err}); the change may or may not have been made: look before trying "
                                    "again") from None
        return None

    async def _wait_applied(self, seq: int) -> None:
        """Until this node has applied ``seq``; ``NotConnected`` when it drops out first."""
        while (self.service.cluster_seq or 0) < seq:
            if self.node.state is not NodeState.CONNECTED:
                raise NotConnected(f"edit {seq} was committed, but this node dropped out before applying it: "
                                   f"{self.node.reason}")
            await self._applied_or_changed(self.node.version, 1.0)

    async def _applied_or_changed(self, version: int, timeout: float) -> None:
        """Until an entry is applied here, the node changes after ``version``, or ``timeout`` s."""
        with trio.move_on_after(timeout):
            async with trio.open_nursery() as nursery:
                async def first(wait: Callable[[], Awaitable[object]]) -> None:
                    await wait()
                    nursery.cancel_scope.cancel()
                nursery.start_soon(first, functools.partial(self.node.changed, version))
                nursery.start_soon(first, self._applied.wait)

    # -- committing (the coordinator) -----------------------------------------------------

    async def _on_propose(self, payload: Any, caller: str) -> dict[str, Any]:
        try:
            proposal = Proposal.from_dict(payload)
        except ValueError as exc:
            raise ChannelRefusal(400, f"not a proposal: {exc}") from None
        return await self._propose(proposal)

    async def _propose(self, proposal: Proposal) -> dict[str, Any]:
        """Commit ``proposal`` as coordinator: ``{seq}`` or ``{error, node?}``."""
        async with self._propose_lock:
            fence = self.node.coordinator_fence()
            if fence is None:
                return {**_refusal(FlowNotSavedError(f"node {self.node.node_id} is not the cluster coordinator "
                                                     "(any more); the change was not applied: try again")),
                        "retry": True}
            if self.node.state is not NodeState.CONNECTED:
                return {**_refusal(FlowNotSavedError(
                    f"the cluster coordinator {self.node.node_id} is {self.node.state.value} ({self.node.reason}); "
                    "the change was not applied: try again")), "retry": True}
            try:
                kv = await self.etcd.get(self.keys.head)
                if kv is None:
                    return _refusal(FlowNotSavedError("the cluster has no flow yet (its flow election is on); "
                                                      "the change was not applied"))
                head = read_head(kv.key, kv.value)
                with trio.fail_after(self.validate_timeout):
                    while (self.service.cluster_seq or 0) < head:
                        await self._applied.wait()
            except (EtcdError, ClusterError, trio.TooSlowError) as exc:  # nothing written: may be asked again
                return {**_refusal(FlowNotSavedError(f"the cluster coordinator cannot commit now ({exc}); the "
                                                     "change was not applied")), "retry": True}
            if self.service.cluster_seq != head:
                return _refusal(FlowNotSavedError(f"the coordinator is at edit {self.service.cluster_seq}, the "
                                                  f"cluster at {head}; the change was not applied"))
            try:
                entry = self.service.check_entry(Entry(head + 1, proposal))
            except FlowyardError as exc:
                return _refusal(exc)
            refused = await self._validate_on_peers(entry, head)
            if refused is not None:
                return refused
            try:
                result = await self.etcd.txn(
                    [fence.compare(), Compare.mod_revision(self.keys.head, "=", kv.mod_revision)],
                    [Op.put(self.keys.entry(entry.seq), seal_entry(self.sealer, self.keys, entry)),
                     Op.put(self.keys.head, head_value(entry.seq))])
            except EtcdError as exc:
                return _refusal(FlowNotSavedError(f"the cluster's flow could not be written ({exc}); the change "
                                                  "may or may not have been made"))
            if not result.succeeded:
                return _refusal(FlowNotSavedError("the cluster's flow moved on or the coordinator changed "
                                                  "meanwhile; the change was not applied: try again"))
            return {"seq": entry.seq}

    async def _validate_on_peers(self, entry: Entry, base: int) -> dict[str, Any] | None:
        """Phase 1 on every connected peer, in parallel: the first refusal (with
        the node's name), or None. A peer that does not answer in time is
        disconnected (fenced admin request) and left out."""
        refusals: list[dict[str, Any]] = []
        payload = {"base": base, "entry": entry.to_dict()}

        async def ask(member: Member) -> None:
            try:
                answer = await self.channel.call(member.address, VALIDATE, payload, timeout=self.validate_timeout,
                                                 node=member.node_id)
            except PeerError as exc:
                if isinstance(exc, PeerRefused) and exc.status < 500:
                    refusals.append(_refusal(FlowyardError(exc.message), member.node_id))
                    return
                await self._disconnect_peer(member, f"{LEFT_OUT} {entry.seq}: it did not answer in time ({exc})")
                return
            if not isinstance(answer, dict):
                refusals.append(_refusal(FlowyardError(f"unreadable answer {answer!r}"), member.node_id))
            elif "error" in answer:
                refusals.append({"error": answer["error"], "node": member.node_id})
            elif "absent" in answer:
                await self._disconnect_peer(member, f"{LEFT_OUT} {entry.seq}: {answer['absent']}")

        async with trio.open_nursery() as nursery:
            for member in self.node.connected_peers():
                nursery.start_soon(ask, member)
        return refusals[0] if refusals else None

    async def _disconnect_peer(self, member: Member, reason: str) -> None:
        _log.warning("disconnecting node %s: %s", member.node_id, reason)
        try:
            await self.node.request_state(member.node_id, NodeState.DISCONNECTED, reason, by="coordinator")
        except (MembershipError, EtcdError) as exc:
            _log.warning("could not disconnect node %s: %s", member.node_id, exc)

    async def _on_validate(self, payload: Any, caller: str) -> dict[str, Any]:
        """Phase 1 here at the coordinator's ``base``: ``{ok}``, ``{error}`` (the
        edit is refused) or ``{absent: why}`` (this node cannot take part)."""
        if isinstance(payload, dict) and payload.get("probe") is True:
            return {"ok": True}  # the coordinator asks whether a node left out answers again
        try:
            base = payload["base"]
            entry = Entry.from_dict(payload["entry"])
        except (TypeError, KeyError, ValueError) as exc:
            raise ChannelRefusal(400, f"not a validation request: {exc}") from None
        if self.node.state is not NodeState.CONNECTED:
            return {"absent": f"node {self.node.node_id} is {self.node.state.value}: {self.node.reason}"}
        with trio.move_on_after(max(self.validate_timeout - 1.0, 0.1)):
            while (self.service.cluster_seq or 0) < base:
                await self._applied.wait()
        if self.service.cluster_seq != base:
            return {"absent": f"node {self.node.node_id} is at edit {self.service.cluster_seq}, not {base}"}
        try:
            self.service.check_entry(entry)
        except FlowyardError as exc:
            return {"error": error_to_dict(exc)}
        return {"ok": True}

    # -- applying (every node) ------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Join whenever the node is CONNECTING, then follow the log while it is
        CONNECTED; as coordinator, connect again the nodes left out of an edit
        for not answering once they answer (``_reconnect_left_out``). Until
        cancelled."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._reconnect_left_out)
            task_status.started()
            while True:
                version = self.node.version
                if self.node.state is NodeState.CONNECTING and self.node.lease_id is not None:
                    await self._connect()
                elif self.node.state is NodeState.CONNECTED:
                    await self._follow()
                else:
                    await self.node.changed(version)

    async def _connect(self) -> None:
        """Join, then CONNECTED; or DISCONNECTED saying why; or try again later."""
        try:
            await self._join()
        except _StayDisconnected as exc:
            await self._set_state(NodeState.DISCONNECTED, str(exc))
            return
        except ClusterError as exc:  # a value that cannot be opened: another secret, or damage
            await self._set_state(NodeState.DISCONNECTED, f"cannot read the cluster's flow: {exc}")
            return
        except (EtcdError, _Retry) as exc:
            _log.warning("joining the cluster's flow failed (%s); retrying", exc)
            await trio.sleep(self.retry)
            return
        if self.node.state is NodeState.CONNECTING:
            await self._set_state(NodeState.CONNECTED, "")

    async def _reconnect_left_out(self) -> None:
        """As coordinator, every ``probe_interval`` s: a node disconnected for not
        answering an edit's validation (its reason starts with ``LEFT_OUT``) that
        is alive and answers a probe now (it was frozen, cut off, or restarted)
        is connected again; it then catches up. Nodes disconnected by a user or
        by themselves stay so."""
        while True:
            await trio.sleep(self.probe_interval)
            if not self.node.is_coordinator:
                continue
            for member in self.node.members():
                if member.node_id == self.node.node_id or not member.alive \
                        or member.state is not NodeState.DISCONNECTED or not member.reason.startswith(LEFT_OUT):
                    continue
                try:
                    await self.channel.call(member.address, VALIDATE, {"probe": True},
                                            timeout=self.validate_timeout, node=member.node_id)
                    await self.node.allow_connect(member.node_id, by="coordinator")
                except (PeerError, MembershipError, EtcdError) as exc:
                    _log.debug("node %s stays disconnected: %s", member.node_id, exc)

    async def _set_state(self, state: NodeState, reason: str) -> None:
        try:
            await self.node.set_state(state, reason)
        except EtcdError as exc:  # set here anyway; the next heartbeat writes it
            _log.warning("could not write the node state %s: %s", state.value, exc)

    async def _apply(self, entry: Entry) -> bool:
        """Apply ``entry`` here (shielded: never half-way); False (and this node
        DISCONNECTED with the reason) when it cannot be applied."""
        try:
            with trio.CancelScope(shield=True):
                await self.service.apply_entry(entry)
        except Exception as exc:  # whatever it is, this node must not go on as if it had applied it
            reason = f"could not apply cluster edit {entry.seq} ({entry.proposal.description}): {exc}"
            _log.error("%s", reason, exc_info=not isinstance(exc, FlowyardError))
            await self._set_state(NodeState.DISCONNECTED, reason)
            return False
        self._notify_applied()
        if self.node.is_coordinator and entry.seq % self.snapshot_every == 0:
            await self._write_snapshot()
        return True

    async def _follow(self) -> None:
        """Apply the log from our seq while CONNECTED (returns when not, or to rejoin)."""
        async with trio.open_nursery() as nursery:
            async def watch_state() -> None:
                version = self.node.version
                while self.node.state is NodeState.CONNECTED:
                    version = await self.node.changed(version)
                nursery.cancel_scope.cancel()
            nursery.start_soon(watch_state)
            try:
                await self._follow_log()
            except ClusterError as exc:
                await self._set_state(NodeState.DISCONNECTED, f"cannot read the cluster's flow log: {exc}")
            except EtcdError as exc:
                _log.warning("following the cluster's flow log: %s; again", exc)
                await trio.sleep(self.retry)
            nursery.cancel_scope.cancel()

    async def _follow_log(self) -> None:
        """Read the log after our seq, then watch it; returns to rejoin (a gap)."""
        kvs, revision = await self.etcd.range(self.keys.log)
        if not await self._apply_all(kvs):
            return
        try:
            async with self.etcd.watch(self.keys.log, start_revision=revision + 1) as batches:
                async for batch in batches:
                    if not await self._apply_all([e.kv for e in batch if e.kind == "PUT"]):
                        return
        except EtcdCompacted:
            return  # read again from now

    async def _apply_all(self, kvs: list[Any]) -> bool:
        """Apply the entries among ``kvs`` after our seq, in order. False: stop
        (an entry failed, or one is missing: the node must rejoin)."""
        entries = sorted((open_entry(self.sealer, self.keys, kv.key, kv.value) for kv in kvs
                          if kv.key.startswith(self.keys.log)), key=lambda e: e.seq)
        for entry in entries:
            current = self.service.cluster_seq or 0
            if entry.seq <= current:
                continue
            if entry.seq != current + 1:
                await self._set_state(NodeState.CONNECTING, f"missed cluster edits {current + 1} to {entry.seq - 1}")
                return False
            if not await self._apply(entry):
                return False
        return True

    # -- joining ------------------------------------------------------------------------


def _what(proposal: Proposal) -> bytes:
    """What identifies a proposal in the log (as msgpack: tuples and lists alike)."""
    p = proposal
    packed: bytes = msgpack.packb([p.edit, p.user, p.description, sorted(p.revisions.items()), p.undoes, p.redoes],
                                  use_bin_type=True)
    return packed


def _refusal(exc: FlowyardError, node: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"error": error_to_dict(exc)}
    if node is not None:
        answer["node"] = node
    return answer
