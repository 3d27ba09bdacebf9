"""The cluster's flow in etcd: keys, sealed values, and the pure parts of
joining and of the cold-start flow election (used by ``clusters.replication``).

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
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgpack

from flowyard.clusters._members import ClusterConfig
from flowyard.clusters.channel import ClusterError, Sealer
from flowyard.runtime.service._replication import Entry

__all__ = ["Candidate", "FlowKeys", "Snapshot", "elect", "fingerprint"]


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
    """NiFi's flow election: the most common fingerprint; ties go to the flow
    with the most components (revisions), then to the lowest node id. Returns
    that flow's candidate of the lowest node id. ``ValueError`` for none."""
    if not candidates:
        raise ValueError("no flow candidates to elect from")
    votes = Counter(c.fingerprint for c in candidates)
    holders: dict[str, list[Candidate]] = {}
    for c in sorted(candidates, key=lambda c: c.node_id):
        holders.setdefault(c.fingerprint, []).append(c)
    best = min(holders, key=lambda f: (-votes[f], -len(holders[f][0].revisions), holders[f][0].node_id))
    return holders[best][0]
