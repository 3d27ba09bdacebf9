"""Following membership in etcd: a :class:`MembershipView` kept current by
a range and then a watch of each of ``C/members/``, ``C/nodes/``,
``C/admin/`` and ``C/election/`` (both roles).

Each prefix is followed on its own (their keys are disjoint, so each range
plus its watch from the range's revision is consistent by itself). Any etcd
error — unreachable, a stream that broke, history compacted — reads the
prefix afresh after a back-off.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from flowyard.clusters._members import ClusterConfig, MembershipView
from flowyard.clusters.etcd import Etcd, EtcdError

__all__ = ["MembershipFollower"]

PARTS = ("members", "nodes", "admin", "election")


class MembershipFollower:
    """Keeps :attr:`view` current while :meth:`run` runs.

    ``on_change()`` is called after every range and every watch batch;
    ``on_put(key, value)`` for every key put that a watch reports (before
    ``on_change``), so an edge such as a connect marker that is put and
    deleted at once is not missed. Both run on the trio thread and must not
    block.
    """

    def __init__(self, config: ClusterConfig, etcd: Etcd, *, on_change: Callable[[], None],
                 on_put: Callable[[str, bytes], None]) -> None:
        self.config = config
        self.etcd = etcd
        self.view = MembershipView(config.root)
        self._on_change = on_change
        self._on_put = on_put
        self._synced = {part: trio.Event() for part in PARTS}
        self._watch_scopes: set[trio.CancelScope] = set()

    async def run(self) -> None:
        """Follow every prefix until cancelled."""
        async with trio.open_nursery() as nursery:
            for part in PARTS:
                nursery.start_soon(self._follow, part)

    async def wait_synced(self) -> None:
        """Return once every prefix has been read at least once."""
        for event in self._synced.values():
            await event.wait()

    def restart_watches(self) -> None:
        """End the current watches; each prefix is read again and watched anew. Only the
        watches are cancelled, never a range in flight (a request cancelled while httpx
        sends its body warns)."""
        for scope in list(self._watch_scopes):
            scope.cancel()

    async def _follow(self, part: str) -> None:
        prefix = self.config.key(part, "")
        delay = self.config.retry_initial
        while True:
            try:
                kvs, revision = await self.etcd.range(prefix)
                self.view.replace(prefix, [(kv.key, kv.value, kv.create_revision) for kv in kvs])
                self._on_change()
                self._synced[part].set()
                delay = self.config.retry_initial
                with trio.CancelScope() as scope:
                    self._watch_scopes.add(scope)
                    try:
                        await self._watch(prefix, revision)
                    finally:
                        self._watch_scopes.discard(scope)
            except EtcdError:
                await trio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max)

    async def _watch(self, prefix: str, revision: int) -> None:
        async with self.etcd.watch(prefix, start_revision=revision + 1) as batches:
            async for batch in batches:
                for event in batch:
                    if event.kind == "PUT":
                        self.view.put(event.kv.key, event.kv.value, event.kv.create_revision)
                        self._on_put(event.kv.key, event.kv.value)
                    else:
                        self.view.delete(event.kv.key)
                self._on_change()
