"""Fixtures of the cluster tests: a real etcd on loopback (``make etcd`` installs it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from flowyard.clusters.etcd import Etcd
from flowyard.clusters.etcdserver import EtcdServer


@pytest.fixture(scope="module")
def etcd_server() -> Iterator[EtcdServer]:
    """One etcd per test module (tests keep to their own key prefixes)."""
    with EtcdServer() as server:
        yield server


@pytest.fixture
def fresh_etcd() -> Iterator[EtcdServer]:
    """An etcd of this test alone (for tests that stop, kill or compact it)."""
    with EtcdServer() as server:
        yield server


@pytest.fixture
async def etcd(etcd_server: EtcdServer) -> AsyncIterator[Etcd]:
    """A client of the module's etcd, with a short timeout."""
    async with Etcd(etcd_server.url, timeout=3.0) as client:
        yield client
