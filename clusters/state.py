"""Cluster-scoped processor state in etcd (the engine's ``ClusterStateStore``).

One key per component, ``C/state/<component id>`` (``C`` is the cluster's key
prefix, ``/flowyard/<cluster>/``), no lease. The value is sealed (AES-GCM with
the cluster's seal key, the etcd key as associated data: a value cannot be
moved to another component) msgpack ``{"values": {str: str}}``. The state's
version is etcd's ``version`` of the key: the number of writes since it was
created, 0 while absent.

``replace`` is one etcd transaction comparing that version (optimistic
concurrency, as NiFi's ``StateManager.replace``) and, when the store has a
``fence`` (the primary node's election fence, ``ClusterNode.primary_fence``),
the fence too: a deposed primary (its lease expired, another node elected)
cannot write, even with a version that still matches. ``clear`` writes an
empty map (the version goes on increasing, so a writer that read the state
before the clear is refused afterwards).

See docs/cluster-internals.md, "Primary node and cluster state".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import msgpack

from flowyard.clusters.etcd import Compare, Etcd, EtcdUnavailable, Op
from flowyard.runtime.sdk import FlowyardError

__all__ = ["ClusterStateError", "EtcdStateStore", "Fence", "Sealer"]


class ClusterStateError(FlowyardError):
    """The stored state of a component cannot be read (damaged, or sealed with another key)."""


class Sealer(Protocol):
    """Authenticated encryption bound to a context (``clusters.channel.Sealer``)."""

    def seal(self, context: str, data: bytes) -> bytes: ...

    def open(self, context: str, blob: bytes) -> bytes: ...


class Fence(Protocol):
    """A leader's proof of leadership (``clusters.node.Fence``)."""

    def compare(self) -> Compare: ...


class EtcdStateStore:
    """``ClusterStateStore`` on etcd; see the module docstring.

    ``key_prefix`` is the cluster's prefix ``C`` (``/flowyard/<cluster>/``; the
    trailing slash is optional). ``fence``, when given, is called before each
    ``replace``: None (this node is not the primary) refuses the write without
    asking etcd; a fence puts its compare into the transaction. Errors of etcd
    (``EtcdError``, ``EtcdUnavailable``) propagate: the engine rolls the
    session back and yields."""

    def __init__(self, etcd: Etcd, sealer: Sealer, key_prefix: str, *,
                 fence: Callable[[], Fence | None] | None = None) -> None:
        if not key_prefix.strip("/"):
            raise ValueError(f"EtcdStateStore: key_prefix must name the cluster (like /flowyard/<cluster>/), "
                             f"not {key_prefix!r}")
        self._etcd = etcd
        self._sealer = sealer
        self._prefix = key_prefix.rstrip("/") + "/state/"
        self._fence = fence

    def key(self, component_id: str) -> str:
        """The etcd key of a component's state."""
        if not component_id or "/" in component_id:
            raise ValueError(f"cluster state: a component id must be non-empty without '/', not {component_id!r}")
        return self._prefix + component_id

    async def get(self, component_id: str) -> tuple[dict[str, str], int]:
        """The component's state and version (``({}, 0)`` when it has none).
        Raises ``ClusterStateError`` when the stored value cannot be opened."""
        key = self.key(component_id)
        kv = await self._etcd.get(key)
        if kv is None:
            return {}, 0
        return self._decode(key, kv.value), kv.version

    async def replace(self, component_id: str, version: int, values: Mapping[str, str]) -> bool:
        """Write ``values`` if the stored version is still ``version`` (0: absent) and,
        with a fence, this node still holds it. False when refused.

        A write whose outcome is unknown (etcd timed out) is checked by reading the
        key back: True if it holds exactly this write; else ``EtcdUnavailable``
        propagates."""
        if version < 0:
            raise ValueError(f"cluster state of {component_id!r}: version must be >= 0, not {version}")
        key = self.key(component_id)
        compare = [Compare.version(key, "=", version)]
        if self._fence is not None:
            fence = self._fence()
            if fence is None:
                return False
            compare.append(fence.compare())
        value = self._encode(key, values)
        try:
            result = await self._etcd.txn(compare, [Op.put(key, value)])
        except EtcdUnavailable:
            kv = await self._etcd.get(key)
            if kv is not None and kv.version == version + 1 and self._decode(key, kv.value) == dict(values):
                return True
            raise
        return result.succeeded

    async def clear(self, component_id: str) -> None:
        """Empty the component's state (its version still increases)."""
        key = self.key(component_id)
        if await self._etcd.get(key) is not None:
            await self._etcd.put(key, self._encode(key, {}))

    def _encode(self, key: str, values: Mapping[str, str]) -> bytes:
        plain = {str(k): str(v) for k, v in values.items()}
        packed: bytes = msgpack.packb({"values": plain}, use_bin_type=True)
        return self._sealer.seal(key, packed)

    def _decode(self, key: str, blob: bytes) -> dict[str, str]:
        try:
            record: Any = msgpack.unpackb(self._sealer.open(key, blob), raw=False)
        except Exception as exc:
            raise ClusterStateError(f"the cluster state at {key} cannot be read ({exc!r}): clear the "
                                    "component's state, or check that every node has the same cluster secret") \
                from None
        values = record.get("values") if isinstance(record, dict) else None
        if not isinstance(values, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in values.items()):
            raise ClusterStateError(f"the cluster state at {key} is not a map of text to text: clear the "
                                    "component's state")
        return values
