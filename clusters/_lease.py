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
    margin: float = 0.0,
    renewed: Callable[[float], None] = lambda sent: None,
    paused: Callable[[], Awaitable[None]] = _never_paused,
) -> str:
    """Renew ``lease`` every ``interval`` seconds until it is lost; return why.

    Lost means: etcd says the lease is gone (TTL 0), or no renewal succeeded
    for ``ttl - margin`` seconds since the last one (or since ``granted_at``,
    the trio time the grant was requested). That deadline is kept to the
    moment, not checked after a sleep: a renewal in flight is abandoned at it
    and the wait between renewals ends at it, so the caller (which drops its
    roles when this returns) stops ``margin`` seconds before etcd, which
    counts the TTL from when it got the last renewal (no earlier than it was
    sent), can let the lease expire and elect someone else.
    ``renewed(sent)`` is called after each renewal with the trio time the
    request was sent. ``paused()`` is awaited before each renewal (a test
    hook: a SIGSTOPped process, which cannot notice the deadline either).
    """
    if not 0 <= margin < ttl:
        raise ValueError(f"keep_lease: margin must be >= 0 and below the ttl ({ttl} s), got {margin!r}")
    last_ok = granted_at
    while True:
        await trio.sleep_until(min(trio.current_time() + interval, last_ok + ttl - margin))
        if trio.current_time() >= last_ok + ttl - margin:
            break
        await paused()
        with trio.move_on_at(last_ok + ttl - margin):
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
        if trio.current_time() >= last_ok + ttl - margin:
            break
    return f"lost its cluster lease (no heartbeat for {trio.current_time() - last_ok:.0f} s)"
