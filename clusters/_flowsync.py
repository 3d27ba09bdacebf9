"""The cluster's flow in etcd: keys, sealed values, the cold-start flow
election (``elect``, pure), and ``FlowSync``: joining (catch up or take the
snapshot), the election's rounds and the coordinator's snapshots, the part of
``clusters.replication.ClusterReplicator`` that brings a node to the head.

Keys (``C/`` = ``/flowyard/<cluster>/``)::

    C/flow/head               JSON {seq}: the last committed edit
    C/flow/log/<seq:016d>     sealed msgpack of a committed Entry
    C/flow/snapshot           sealed zlib msgpack {seq, flow, revisions}
    C/flow/candidates/<id>    sealed zlib msgpack {fingerprint, flow, revisions} (leased, cold start)

Sealed values are bound to their key (``Sealer``, the key as associated data).
Every reader raises ``ClusterError`` naming the key for a value it cannot
open or read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgpack
import trio

from flowyard.clusters._members import ClusterConfig
from flowyard.clusters.channel import ClusterError, Sealer
from flowyard.clusters.etcd import Compare, Etcd, EtcdError, Op
from flowyard.clusters.node import ClusterNode
from flowyard.runtime.engine import ReconcileRefused
from flowyard.runtime.sdk import FlowyardError
from flowyard.runtime.service import FlowService
from flowyard.runtime.service._replication import Entry

__all__ = ["Candidate", "FlowKeys", "FlowSync", "Snapshot", "elect", "fingerprint"]

_log = logging.getLogger("flowyard.clusters.replication")


@dataclass(frozen=True, slots=True)
class FlowKeys:
    """The etcd keys of one cluster's flow."""

    head: str
    log: str  #: prefix of the log entries
    snapshot: str
    candidates: str  #: prefix of the cold-start candidates

    @classmethod
    def of(cls, config: ClusterConfig) -> FlowKeys:
        return cls(config.key("flow", "head"), config.key("flow", "log", ""), config.key("flow", "snapshot"),
                   config.key("flow", "candidates", ""))

    def entry(self, seq: int) -> str:
        """The key of log entry ``seq`` (fixed width: key order is seq order)."""
        return f"{self.log}{seq:016d}"

    def seq_of(self, key: str) -> int:
        """The seq of a log entry's key; ``ClusterError`` for another key."""
        tail = key[len(self.log):] if key.startswith(self.log) else ""
        if len(tail) != 16 or not tail.isdigit():
            raise ClusterError(f"{key}: not a flow log entry's key")
        return int(tail)


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def seal_entry(sealer: Sealer, keys: FlowKeys, entry: Entry) -> bytes:
    key = keys.entry(entry.seq)
    return sealer.seal(key, msgpack.packb(entry.to_dict(), use_bin_type=True))


def open_entry(sealer: Sealer, keys: FlowKeys, key: str, blob: bytes) -> Entry:
    """The entry stored at ``key``; ``ClusterError`` when it cannot be opened,
    read, or holds another seq than its key says."""
    seq = keys.seq_of(key)
    try:
        entry = Entry.from_dict(_unpack(sealer.open(key, blob)))
    except (ValueError, msgpack.UnpackException) as exc:
        raise ClusterError(f"{key}: not a flow log entry ({exc})") from None
    if entry.seq != seq:
        raise ClusterError(f"{key}: holds entry {entry.seq}")
    return entry


def head_value(seq: int) -> bytes:
    return json.dumps({"seq": seq}, separators=(",", ":")).encode()


def read_head(key: str, value: bytes) -> int:
    """The seq ``C/flow/head`` holds; ``ClusterError`` for anything else."""
    try:
        doc = json.loads(value)
    except ValueError:
        doc = None
    seq = doc.get("seq") if isinstance(doc, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ClusterError(f"{key}: expected {{\"seq\": n}}, not {value[:80]!r}")
    return seq


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The cluster's flow at ``seq`` (secrets in plain text: sealed in etcd)."""

    seq: int
    flow: dict[str, Any]
    revisions: dict[str, int]

    def seal(self, sealer: Sealer, key: str) -> bytes:
        doc = {"seq": self.seq, "flow": self.flow, "revisions": self.revisions}
        return sealer.seal(key, zlib.compress(msgpack.packb(doc, use_bin_type=True), 6))

    @classmethod
    def open(cls, sealer: Sealer, key: str, blob: bytes) -> Snapshot:
        """Read a sealed snapshot; ``ClusterError`` naming ``key`` when it cannot."""
        try:
            doc = _unpack(zlib.decompress(sealer.open(key, blob)))
        except (ValueError, zlib.error, msgpack.UnpackException) as exc:
            raise ClusterError(f"{key}: not a flow snapshot ({exc})") from None
        seq, flow, revisions = (doc.get(k) if isinstance(doc, dict) else None for k in ("seq", "flow", "revisions"))
        if not isinstance(seq, int) or not isinstance(flow, dict) or not isinstance(revisions, dict) \
                or not all(isinstance(k, str) and isinstance(v, int) for k, v in revisions.items()):
            raise ClusterError(f"{key}: a flow snapshot needs seq, flow and revisions")
        return cls(seq, flow, revisions)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A node's flow offered at cold start."""

    node_id: str
    fingerprint: str
    flow: dict[str, Any]
    revisions: dict[str, int]

    def seal(self, sealer: Sealer, key: str) -> bytes:
        doc = {"fingerprint": self.fingerprint, "flow": self.flow, "revisions": self.revisions}
        return sealer.seal(key, zlib.compress(msgpack.packb(doc, use_bin_type=True), 6))

    @classmethod
    def open(cls, sealer: Sealer, node_id: str, key: str, blob: bytes) -> Candidate:
        try:
            doc = _unpack(zlib.decompress(sealer.open(key, blob)))
        except (ValueError, zlib.error, msgpack.UnpackException) as exc:
            raise ClusterError(f"{key}: not a flow candidate ({exc})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("fingerprint"), str) \
                or not isinstance(doc.get("flow"), dict) or not isinstance(doc.get("revisions"), dict):
            raise ClusterError(f"{key}: a flow candidate needs fingerprint, flow and revisions")
        return cls(node_id, doc["fingerprint"], doc["flow"], doc["revisions"])


def fingerprint(flow: dict[str, Any]) -> str:
    """What makes two flows the same for the election: the flow's JSON form,
    keys sorted, less the file's bookkeeping (``editSeq``), hashed."""
    doc = {k: v for k, v in flow.items() if k != "editSeq"}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def elect(candidates: Sequence[Candidate]) -> Candidate:
    """NiFi's flow election: among the flows that are not empty (all of them
    when every one is), the most common fingerprint; ties go to the flow
    with the most components (revisions), then to the lowest node id. Returns
    that flow's candidate of the lowest node id. ``ValueError`` for none."""
    if not candidates:
        raise ValueError("no flow candidates to elect from")
    non_empty = [c for c in candidates if not is_empty_flow(c.flow)]
    candidates = non_empty or candidates  # as NiFi: an empty flow is elected only when every flow is empty
    votes = Counter(c.fingerprint for c in candidates)
    holders: dict[str, list[Candidate]] = {}
    for c in sorted(candidates, key=lambda c: c.node_id):
        holders.setdefault(c.fingerprint, []).append(c)
    best = min(holders, key=lambda f: (-votes[f], -len(holders[f][0].revisions), holders[f][0].node_id))
    return holders[best][0]


_COMPONENT_LISTS = ("processors", "connections", "funnels", "inputPorts", "outputPorts", "labels",
                    "controllerServices", "processGroups")


def is_empty_flow(flow: Any) -> bool:
    """Whether a flow document holds nothing: no component in its root group and
    no parameter context (a new node's flow)."""
    if not isinstance(flow, dict) or not isinstance(root := flow.get("rootGroup"), dict):
        return False
    return not flow.get("parameterContexts") and not any(root.get(key) for key in _COMPONENT_LISTS)


# -- joining (the part of ``ClusterReplicator`` that brings a node to the head) ---------------


class _StayDisconnected(Exception):
    """Joining found a reason this node cannot take the cluster's flow."""


class _Retry(Exception):
    """Joining met something that may pass (a race with the log's trimming)."""


class FlowSync:
    """Joining the cluster's flow, the cold-start election and the coordinator's
    snapshots: a part of ``ClusterReplicator`` (which sets these attributes)."""

    node: ClusterNode
    etcd: Etcd
    sealer: Sealer
    service: FlowService
    keys: FlowKeys
    flow_election_candidates: int
    flow_election_wait: float
    snapshot_every: int
    keep_entries: int
    _applied: trio.Event

    def _notify_applied(self) -> None:
        """Wake whoever waits for this node to apply something."""
        self._applied.set()
        self._applied = trio.Event()

    async def _join(self) -> None:
        """Bring the service to the cluster's head (cold start, catch up, or the
        snapshot). Raises ``_StayDisconnected`` with the reason."""
        kv = await self.etcd.get(self.keys.head)
        elected = kv is None
        if kv is None:
            await self._cold_start()
            kv = await self.etcd.get(self.keys.head)
            if kv is None:
                raise _Retry("the flow election ended without a head")
        head = read_head(kv.key, kv.value)
        ours = self.service.cluster_seq
        if ours is not None and ours <= head and not elected:  # after an election, the elected flow
            if ours == head:
                return
            if await self.etcd.get(self.keys.entry(ours + 1)) is not None:
                await self._catch_up()
                return
        await self._take_snapshot()
        await self._catch_up()

    async def _catch_up(self) -> None:
        kvs, _ = await self.etcd.range(self.keys.log)
        entries = sorted((open_entry(self.sealer, self.keys, kv.key, kv.value) for kv in kvs), key=lambda e: e.seq)
        for entry in entries:
            current = self.service.cluster_seq or 0
            if entry.seq <= current:
                continue
            if entry.seq != current + 1:
                raise _Retry(f"the cluster's log lacks edits {current + 1} to {entry.seq - 1}")
            try:
                with trio.CancelScope(shield=True):
                    await self.service.apply_entry(entry)
            except Exception as exc:  # as in ``_apply``
                _log.error("cluster edit %d: %s", entry.seq, exc, exc_info=not isinstance(exc, FlowyardError))
                raise _StayDisconnected(f"could not apply cluster edit {entry.seq} ({entry.proposal.description})"
                                        f": {exc}") from None
            self._notify_applied()

    async def _take_snapshot(self) -> None:
        kv = await self.etcd.get(self.keys.snapshot)
        if kv is None:
            raise ClusterError(f"{self.keys.snapshot} is missing: the cluster's flow cannot be taken")
        snapshot = Snapshot.open(self.sealer, kv.key, kv.value)
        try:
            await self.service.take_flow(snapshot.seq, snapshot.flow, snapshot.revisions)
        except ReconcileRefused as exc:
            queued = ", ".join(f"{c} ({n} queued)" for c, n in sorted(exc.queued.items()))
            raise _StayDisconnected(f"taking the cluster's flow would remove connections still holding flowfiles "
                                    f"here: {queued or exc}; empty them, or remove this node") from None
        except Exception as exc:  # nothing changed: say why and stay out
            _log.error("taking the cluster's flow: %s", exc, exc_info=not isinstance(exc, FlowyardError))
            raise _StayDisconnected(f"the cluster's flow cannot be taken: {exc}") from None
        self._notify_applied()

    async def _write_snapshot(self) -> None:
        """As coordinator, after applying a multiple of ``snapshot_every``: the
        snapshot (fenced), then the log trimmed to its last ``keep_entries``."""
        fence = self.node.coordinator_fence()
        if fence is None:
            return
        seq, flow, revisions = self.service.snapshot()
        try:
            await self.etcd.txn([fence.compare()], [Op.put(self.keys.snapshot, Snapshot(seq, flow, revisions).seal(
                self.sealer, self.keys.snapshot))])
            first = seq - self.keep_entries + 1  # the oldest entry kept
            kvs, _ = await self.etcd.range(self.keys.log, limit=1)
            oldest = self.keys.seq_of(kvs[0].key) if kvs else first
            for start in range(oldest, first, 100):
                ops = [Op.delete(self.keys.entry(s)) for s in range(start, min(start + 100, first))]
                await self.etcd.txn([fence.compare()], ops)
        except (EtcdError, ClusterError) as exc:
            _log.warning("could not write the flow snapshot at %d: %s", seq, exc)

    async def _cold_start(self) -> None:
        """The flow election (no head yet): offer our flow; the coordinator
        elects once enough candidates are in or the wait is over, and writes the
        snapshot at seq 0 with the head."""
        _, flow, revisions = self.service.snapshot()
        me = self.node.node_id
        key = self.keys.candidates + me
        lease = self.node.lease_id or 0
        await self.etcd.put(key, Candidate(me, fingerprint(flow), flow, revisions).seal(self.sealer, key),
                            lease=lease)
        deadline = trio.current_time() + self.flow_election_wait
        while await self.etcd.get(self.keys.head) is None:
            fence = self.node.coordinator_fence()
            if fence is not None:
                kvs, _ = await self.etcd.range(self.keys.candidates)
                if len(kvs) >= self.flow_election_candidates or trio.current_time() >= deadline:
                    candidates = [Candidate.open(self.sealer, kv.key[len(self.keys.candidates):], kv.key, kv.value)
                                  for kv in kvs]
                    chosen = elect(candidates)
                    _log.info("flow election: the flow of node %s (%d of %d candidates hold it)", chosen.node_id,
                              sum(c.fingerprint == chosen.fingerprint for c in candidates), len(candidates))
                    await self.etcd.txn(
                        [fence.compare(), Compare.create_revision(self.keys.head, "=", 0)],
                        [Op.put(self.keys.snapshot, Snapshot(0, chosen.flow, chosen.revisions).seal(
                            self.sealer, self.keys.snapshot)), Op.put(self.keys.head, head_value(0)),
                         Op.delete(self.keys.candidates, prefix=True)])
                    continue
            version = self.node.version
            with trio.move_on_after(min(0.2, max(deadline - trio.current_time(), 0.01))):
                await self.node.changed(version)
