"""State repository: per-component key/value state (NiFi's local scope).

A component's state is a ``dict[str, str]`` with a version that increases on
every change. State set through a session is written in that session's commit
batch, so it is atomic with the flowfiles the session produced; state set
through the context is written at once.
"""

from __future__ import annotations

import msgpack

from flowyard.runtime.repository._store import Batch, Store

__all__ = ["ComponentState", "StateRepository"]

_PREFIX = b"cstate/"
STATE_FORMAT = 1


class ComponentState:
    """A state map and its version (0: never set)."""

    __slots__ = ("values", "version")

    def __init__(self, values: dict[str, str], version: int) -> None:
        self.values = values
        self.version = version

    def __repr__(self) -> str:
        return f"ComponentState(version={self.version}, values={self.values!r})"


class StateRepository:
    """Component state by component id."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.cf = store.handle("state")

    @staticmethod
    def _key(component_id: str) -> bytes:
        return _PREFIX + component_id.encode()

    def get(self, component_id: str) -> ComponentState:
        """Current state of a component (empty, version 0, if never set)."""
        raw = self._store.get(self.cf, self._key(component_id))
        if raw is None:
            return ComponentState({}, 0)
        fmt, version, values = msgpack.unpackb(raw, raw=False)
        if fmt != STATE_FORMAT:
            raise ValueError(f"unknown state record format {fmt}")
        return ComponentState(values, version)

    def stage(self, batch: Batch, component_id: str, state: ComponentState) -> None:
        """Put ``state`` into ``batch``. An empty map is stored too: clearing
        state must keep its version, or the next optimistic update would be
        checked against version 0 and rejected."""
        batch.put(self.cf, self._key(component_id), msgpack.packb([STATE_FORMAT, state.version, state.values]))

    def set_now(self, component_id: str, state: ComponentState) -> None:
        """Write ``state`` at once, outside any session."""
        batch = self._store.batch()
        self.stage(batch, component_id, state)
        self._store.write(batch)
