"""Keeping a node's lease alive, and saying when it is lost.

Unlike ``etcd.LeaseKeeper`` (which grants its own lease), :func:`keep_lease`
renews a lease granted by the caller, reports every renewal (so the caller
knows until when the lease is surely alive), can be paused by a test (a
SIGSTOPped process), and returns the reason of the loss in words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from flowyard.clusters.etcd import Etcd, EtcdError

__all__ = ["keep_lease"]


async def _never_paused() -> None:
    return None


async def keep_lease(
    etcd: Etcd,
    lease: int,
    *,
    ttl: int,
    interval: float,
    granted_at: float,
    renewed: Callable[[float], None] = lambda sent: None,
    paused: Callable[[], Awaitable[None]] = _never_paused,
) -> str:
    """Renew ``lease`` every ``interval`` seconds until it is lost; return why.

    Lost means: etcd says the lease is gone (TTL 0), or no renewal succeeded
    for ``ttl`` seconds since the last one (or since ``granted_at``, the trio
    time the grant was requested), in which case etcd has let it expire.
    ``renewed(sent)`` is called after each renewal with the trio time the
    request was sent (etcd renews from when it got it, no later). ``paused()``
    is awaited before each renewal (a test hook). A renewal in flight is
    abandoned at the deadline.
    """
    last_ok = granted_at
    while True:
        await trio.sleep(interval)
        await paused()
        with trio.move_on_after(max(last_ok + ttl - trio.current_time(), 0.0)):
            sent = trio.current_time()
            try:
                remaining: int | None = await etcd.keepalive(lease)
            except EtcdError:
                remaining = None
            if remaining:
                last_ok = sent
                renewed(sent)
                continue
            if remaining == 0:
                break
        if trio.current_time() >= last_ok + ttl:
            break
    return f"lost its cluster lease (no heartbeat for {trio.current_time() - last_ok:.0f} s)"
