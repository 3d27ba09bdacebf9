"""Fixtures of the repository contract suites: every test runs once per backend.

``backend`` is parametrized over the in-memory and the RocksDB implementation,
and the fault-injection store over RocksDB (with no fault set it must behave
exactly as the store it wraps; tests add faults through ``backend.faulty``);
``store`` and ``repos`` are opened from it. Tests that need "the same data,
opened again" (restart, crash recovery) use ``backend.reopen()``.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowyard.runtime.repository import FaultyStore, MemoryStore, Repositories, RocksStore, Store

BACKENDS = ("memory", "rocks", "faulty")


class Backend:
    """Opens stores or repositories of one kind, and reopens them over the same data.

    For ``memory`` a reopen builds new repositories over the same ``MemoryStore``
    (what survives is exactly what was written to the store); for ``rocks`` it
    opens the database directory again.

    Close the previous repositories before reopening a RocksDB directory.
    """

    def __init__(self, kind: str, path: Path) -> None:
        self.kind = kind
        self.path = path
        self._memory: MemoryStore | None = None
        self._opened: list[weakref.ref[Any]] = []
        #: The fault-injection store last opened (kind ``faulty``).
        self.faulty: FaultyStore | None = None

    def open_store(self) -> Store:
        if self.kind == "memory":
            if self._memory is None:
                self._memory = MemoryStore()
            return self._memory
        store: Store = RocksStore(self.path)
        if self.kind == "faulty":
            store = self.faulty = FaultyStore(store)
        self._opened.append(weakref.ref(store))
        return store

    def open(self, **kw: Any) -> Repositories:
        if self.kind == "memory":
            if self._memory is None:
                repos = Repositories.in_memory(**kw)
                assert isinstance(repos.store, MemoryStore)
                self._memory = repos.store
                return repos
            return Repositories(self._memory, **kw)
        if self.kind == "faulty":
            repos = Repositories(self.open_store(), **kw)
            self._opened.append(weakref.ref(repos.store))
            return repos
        repos = Repositories.open(self.path, **kw)
        self._opened.append(weakref.ref(repos.store))
        return repos

    def reopen(self, **kw: Any) -> Repositories:
        """Repositories over the data written so far (call ``close`` on the old ones first)."""
        assert self._memory is not None or self.kind != "memory", "nothing was opened yet"
        return self.open(**kw)

    def close_all(self) -> None:
        for ref in self._opened:
            store = ref()
            if store is not None:
                store.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    b = Backend(request.param, tmp_path / "repository")
    yield b
    b.close_all()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.open_store()


@pytest.fixture
def repos(backend: Backend) -> Repositories:
    return backend.open()
