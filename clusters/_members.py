"""Membership as data: node states, the member record, the node's cluster
configuration, and the pure view that turns what etcd holds into members.

Nothing here does I/O or imports trio: :class:`MembershipView` is fed the
key-values of ``C/members/``, ``C/nodes/``, ``C/admin/`` and the two election
prefixes (from a range or a watch) and answers :meth:`MembershipView.members`
for a given wall-clock time, so the rules (who is alive, what a dead node
shows, who leads) are tested without etcd.

Errors::

    ValueError
     ├── ClusterConfigError   a bad node id, address, cluster name, TTL or interval
     └── MembershipError      a refused request (remove self, remove a connected node,
                              a coordinator request from a node that is not coordinator)
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from importlib import metadata
from typing import Any

__all__ = [
    "ADMIN_STATES",
    "COORDINATOR",
    "PRIMARY",
    "ROLES",
    "VERSION",
    "ClusterConfig",
    "ClusterConfigError",
    "Member",
    "MembershipError",
    "MembershipView",
    "NodeState",
    "format_time",
]

COORDINATOR = "coordinator"
PRIMARY = "primary"
ROLES: tuple[str, ...] = (COORDINATOR, PRIMARY)


def _software_version() -> str:
    try:
        return metadata.version("flowyard")
    except metadata.PackageNotFoundError:
        return "unknown"


#: the flowyard version this process runs (``version`` of a node's records)
VERSION = _software_version()

_NODE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CLUSTER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class ClusterConfigError(ValueError):
    """A cluster setting is not valid; the message names the setting and the value."""


class MembershipError(ValueError):
    """A membership request was refused (the message says why); nothing was written."""


class NodeState(StrEnum):
    """A node's state in the cluster, with NiFi's names.

    ``CONNECTING`` → ``CONNECTED`` → ``DISCONNECTING`` → ``DISCONNECTED`` →
    (``OFFLOADING`` → ``OFFLOADED``) → removed.
    """

    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    DISCONNECTING = "DISCONNECTING"
    DISCONNECTED = "DISCONNECTED"
    OFFLOADING = "OFFLOADING"
    OFFLOADED = "OFFLOADED"


#: The states an admin request (``C/admin/<id>``) may ask for.
ADMIN_STATES = frozenset({NodeState.DISCONNECTED, NodeState.OFFLOADING})


def format_time(unix: float | None) -> str:
    """``2026-12-07T10:30:00Z`` for a unix time; ``"an unknown time"`` for None."""
    if unix is None:
        return "an unknown time"
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Member:
    """One node of the cluster as every node sees it.

    ``heartbeat`` is the unix time of its last heartbeat seen (None: never);
    ``alive`` says its leased key ``C/nodes/<id>`` exists; ``roles`` holds
    ``"coordinator"`` and/or ``"primary"`` for the current leaders.
    """

    node_id: str
    address: str
    api_url: str
    state: NodeState
    reason: str
    heartbeat: float | None
    alive: bool
    roles: frozenset[str] = frozenset()
    queued_count: int = 0
    queued_bytes: int = 0

    def to_dict(self, *, now: float | None = None) -> dict[str, Any]:
        """The API form (camelCase); ``heartbeatAgeSeconds`` is computed at the
        call (``now`` defaults to the wall clock), None without a heartbeat."""
        now = time.time() if now is None else now
        age = None if self.heartbeat is None else round(max(0.0, now - self.heartbeat), 3)
        return {
            "nodeId": self.node_id,
            "address": self.address,
            "apiUrl": self.api_url,
            "state": self.state.value,
            "reason": self.reason,
            "heartbeat": self.heartbeat,
            "heartbeatAgeSeconds": age,
            "roles": sorted(self.roles),
            "queuedCount": self.queued_count,
            "queuedBytes": self.queued_bytes,
            "alive": self.alive,
        }


def _check_address(address: str, what: str) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or any(c.isspace() for c in address):
        raise ClusterConfigError(f"{what} must be host:port with a port 1-65535, got {address!r}")


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """How this node joins a cluster. Checked at construction
    (:class:`ClusterConfigError` names the bad setting).

    ``lease_ttl`` (s, ≥ 2) bounds how long a dead or cut-off node keeps its
    roles; ``heartbeat_interval`` (s, > 0 and < ``lease_ttl``) is how often
    the node re-puts ``C/nodes/<id>`` and keeps its lease alive.
    """

    node_id: str
    address: str
    api_url: str
    etcd_endpoints: tuple[str, ...]
    cluster_name: str = "flowyard"
    lease_ttl: int = 10
    heartbeat_interval: float = 2.0
    #: first and last wait (s) between attempts to reach etcd
    retry_initial: float = 0.25
    retry_max: float = 5.0

    def __post_init__(self) -> None:
        if not isinstance(self.node_id, str) or not _NODE_ID.fullmatch(self.node_id):
            raise ClusterConfigError(
                f"node id must be 1-64 characters of letters, digits, '_', '.', '-', got {self.node_id!r}"
            )
        if not isinstance(self.cluster_name, str) or not _CLUSTER_NAME.fullmatch(self.cluster_name):
            raise ClusterConfigError(
                f"cluster name must be 1-64 characters of letters, digits, '_', '.', '-', got {self.cluster_name!r}"
            )
        _check_address(self.address, "node address")
        if not isinstance(self.api_url, str):
            raise ClusterConfigError(f"api url must be a string, got {self.api_url!r}")
        endpoints = self.etcd_endpoints
        if isinstance(endpoints, str) or not endpoints or not all(isinstance(e, str) and e for e in endpoints):
            raise ClusterConfigError(f"etcd endpoints must be a non-empty list of URLs, got {endpoints!r}")
        for endpoint in endpoints:
            if not endpoint.startswith(("http://", "https://")):
                raise ClusterConfigError(f"etcd endpoint must start with http:// or https://, got {endpoint!r}")
        object.__setattr__(self, "etcd_endpoints", tuple(endpoints))
        if isinstance(self.lease_ttl, bool) or not isinstance(self.lease_ttl, int) or self.lease_ttl < 2:
            raise ClusterConfigError(f"lease ttl must be a whole number of seconds >= 2, got {self.lease_ttl!r}")
        interval = self.heartbeat_interval
        if isinstance(interval, bool) or not isinstance(interval, int | float) or not 0 < interval < self.lease_ttl:
            raise ClusterConfigError(
                f"heartbeat interval must be > 0 and below the lease ttl ({self.lease_ttl} s), got {interval!r}"
            )
        if not 0 < self.retry_initial <= self.retry_max:
            raise ClusterConfigError(
                f"retry waits must satisfy 0 < initial <= max, got {self.retry_initial!r}, {self.retry_max!r}"
            )

    @property
    def root(self) -> str:
        """``/flowyard/<cluster>/``: the prefix of every key of this cluster."""
        return f"/flowyard/{self.cluster_name}/"

    def key(self, *parts: str) -> str:
        """``/flowyard/<cluster>/`` + the parts joined by ``/``."""
        return self.root + "/".join(parts)


def _decode(value: bytes) -> dict[str, Any] | None:
    try:
        decoded = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if isinstance(decoded, dict) else None


def _state(raw: object, default: NodeState) -> NodeState:
    try:
        return NodeState(str(raw))
    except ValueError:
        return default


def _number(raw: object) -> float | None:
    return float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None


def _count(raw: object) -> int:
    return int(raw) if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else 0


@dataclass(slots=True)
class _Candidate:
    create_revision: int
    node_id: str


@dataclass
class MembershipView:
    """What this node knows of the cluster's membership keys, kept current by
    :meth:`put` and :meth:`delete` (from a range or a watch, in revision order).

    Not thread-safe; pure. Unparseable values are ignored (a key written by a
    foreign tool cannot break the view). The last heartbeat of a node whose
    leased key went away is remembered, so a dead node shows when it was last
    seen.
    """

    root: str
    members_raw: dict[str, dict[str, Any]] = field(default_factory=dict)
    nodes_raw: dict[str, dict[str, Any]] = field(default_factory=dict)
    admin_raw: dict[str, dict[str, Any]] = field(default_factory=dict)
    elections: dict[str, dict[str, _Candidate]] = field(default_factory=lambda: {r: {} for r in ROLES})
    last_heartbeat: dict[str, float] = field(default_factory=dict)

    def prefixes(self) -> dict[str, str]:
        """The etcd prefixes the view follows, by part."""
        return {
            "members": self.root + "members/",
            "nodes": self.root + "nodes/",
            "admin": self.root + "admin/",
            COORDINATOR: self.root + "election/" + COORDINATOR + "/",
            PRIMARY: self.root + "election/" + PRIMARY + "/",
        }

    def _split(self, key: str) -> tuple[str, str] | None:
        for part, prefix in self.prefixes().items():
            if key.startswith(prefix) and len(key) > len(prefix):
                return part, key[len(prefix) :]
        return None

    def replace(self, prefix: str, kvs: list[tuple[str, bytes, int]]) -> None:
        """Forget every key under ``prefix`` and take ``(key, value, create_revision)``
        instead (a fresh range of that prefix); heartbeats seen are kept."""
        for part, part_prefix in self.prefixes().items():
            if not part_prefix.startswith(prefix):
                continue
            if part in ROLES:
                self.elections[part].clear()
            else:
                {"members": self.members_raw, "nodes": self.nodes_raw, "admin": self.admin_raw}[part].clear()
        for key, value, create_revision in kvs:
            self.put(key, value, create_revision)

    def holds(self, key: str) -> bool:
        """Whether an election key is present."""
        split = self._split(key)
        return split is not None and split[0] in ROLES and split[1] in self.elections[split[0]]

    def put(self, key: str, value: bytes, create_revision: int) -> bool:
        """A key was created or changed; True when the view follows it."""
        split = self._split(key)
        if split is None:
            return False
        part, name = split
        if part in ROLES:
            node_id = value.decode("utf-8", "replace")
            self.elections[part][name] = _Candidate(create_revision, node_id)
            return True
        record = _decode(value)
        if record is None:
            return False
        if part == "members":
            self.members_raw[name] = record
        elif part == "nodes":
            self.nodes_raw[name] = record
            beat = _number(record.get("heartbeat"))
            if beat is not None:
                self.last_heartbeat[name] = max(beat, self.last_heartbeat.get(name, beat))
        else:
            self.admin_raw[name] = record
        return True

    def delete(self, key: str) -> bool:
        """A key was deleted; True when the view follows it."""
        split = self._split(key)
        if split is None:
            return False
        part, name = split
        if part in ROLES:
            return self.elections[part].pop(name, None) is not None
        table = {"members": self.members_raw, "nodes": self.nodes_raw, "admin": self.admin_raw}[part]
        return table.pop(name, None) is not None

    def leader(self, role: str) -> tuple[str, str, int] | None:
        """``(node id, election key, create_revision)`` of the role's leader
        (lowest create_revision), None when nobody campaigns."""
        candidates = self.elections[role]
        if not candidates:
            return None
        name, best = min(candidates.items(), key=lambda item: item[1].create_revision)
        return best.node_id, self.prefixes()[role] + name, best.create_revision

    def candidates(self, role: str) -> list[str]:
        """The node ids standing for ``role``, in line (the leader first)."""
        return [c.node_id for c in sorted(self.elections[role].values(), key=lambda c: c.create_revision)]

    def admin(self, node_id: str) -> dict[str, Any] | None:
        """The admin request for a node (its state DISCONNECTED or OFFLOADING), None when
        it may connect (a value with another state, as the connect marker, counts as none)."""
        record = self.admin_raw.get(node_id)
        if record is None or record.get("state") not in {s.value for s in ADMIN_STATES}:
            return None
        return record

    def members(self) -> list[Member]:
        """Every node with a members record or a leased key, sorted by node id."""
        leaders = {role: self.leader(role) for role in ROLES}
        result = []
        for node_id in sorted(set(self.members_raw) | set(self.nodes_raw)):
            roles = frozenset(role for role, lead in leaders.items() if lead is not None and lead[0] == node_id)
            result.append(self._member(node_id, roles))
        return result

    def _member(self, node_id: str, roles: frozenset[str]) -> Member:
        record = self.members_raw.get(node_id, {})
        live = self.nodes_raw.get(node_id)
        address = str((live or record).get("address", record.get("address", "")))
        api_url = str((live or record).get("apiUrl", record.get("apiUrl", "")))
        heartbeat = self.last_heartbeat.get(node_id, _number(record.get("heartbeat")))
        if live is not None:
            return Member(
                node_id=node_id,
                address=address,
                api_url=api_url,
                state=_state(live.get("state"), NodeState.CONNECTING),
                reason=str(live.get("reason", "")),
                heartbeat=heartbeat,
                alive=True,
                roles=roles,
                queued_count=_count(live.get("queuedCount")),
                queued_bytes=_count(live.get("queuedBytes")),
            )
        admin = self.admin(node_id)
        if record.get("left"):
            state = _state(record.get("state"), NodeState.DISCONNECTED)
            reason = str(record.get("reason", "left the cluster"))
        elif admin is not None:
            state = _state(admin.get("state"), NodeState.DISCONNECTED)
            reason = str(admin.get("reason", ""))
        else:
            state = NodeState.DISCONNECTED
            reason = f"no heartbeat since {format_time(heartbeat)}"
        return Member(
            node_id=node_id,
            address=address,
            api_url=api_url,
            state=state,
            reason=reason,
            heartbeat=heartbeat,
            alive=False,
            roles=roles,
            queued_count=_count(record.get("queuedCount")),
            queued_bytes=_count(record.get("queuedBytes")),
        )
