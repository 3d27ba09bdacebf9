"""The signal Wait and Notify share through a map cache: NiFi's WaitNotifyProtocol.

A signal is one cache entry under the Release Signal Identifier, stored as
NiFi stores it (JSON, so flows mixing NiFi-written and flowyard-written
entries agree)::

    {"counts": {"default": 3, "failure": 1}, "attributes": {"k": "v"}, "releasableCount": 0}

Notify adds deltas to named counters and merges attributes; Wait converts
counts into releasable FlowFiles (``Signal.release``), then writes the signal
back, or removes it once nothing is left. Every write is a compare-and-set on
the revision read (``DistributedMapCacheClient.fetch``/``replace``), so two
processors never lose each other's updates: a write that finds the entry
changed is retried (Notify) or raises (Wait, whose session is rolled back).
Pure logic apart from the cache calls; no trio.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from flowyard.processors.map_cache import DistributedMapCacheClient
from flowyard.runtime.sdk import ProcessingError

__all__ = ["CONSUMED_COUNT_NAME", "DEFAULT_COUNT_NAME", "Signal", "SignalConflictError", "complete", "get_signal",
           "notify", "replace"]

DEFAULT_COUNT_NAME = "default"
CONSUMED_COUNT_NAME = "consumed"
_RETRIES = 5
_RETRY_WAIT_SECONDS = 0.01

_T = TypeVar("_T")


class SignalConflictError(ProcessingError):
    """Another processor changed the signal between our read and our write."""


@dataclass(slots=True)
class Signal:
    """A signal as read from the cache; ``revision`` is what was read (None: new)."""

    identifier: str
    counts: dict[str, int] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    releasable_count: int = 0
    revision: object | None = None

    @property
    def total_count(self) -> int:
        """The sum of every counter (a 'consumed' counter is negative)."""
        return sum(self.counts.values())

    def count(self, counter_name: str | None) -> int:
        """One counter, or the total when ``counter_name`` is empty."""
        if not counter_name:
            return self.total_count
        return self.counts.get(counter_name, 0)

    def release(self, counter_name: str | None, required_per_pass: int, releasable_per_pass: int,
                candidates: list[_T]) -> tuple[list[_T], list[_T]]:
        """Split ``candidates`` into (released, still waiting), consuming
        signals as NiFi's ``Signal.releaseCandidates`` does: when the releasable
        count is short, each full ``required_per_pass`` signals of the counter
        (or of the total) become ``releasable_per_pass`` releases, and the
        counter keeps the remainder (the total records what it used in the
        'consumed' counter). Changes this signal; the caller writes it back."""
        if self.releasable_count < len(candidates):
            signal_count = self.count(counter_name)
            self.releasable_count += (signal_count // required_per_pass) * releasable_per_pass
            remainder = signal_count % required_per_pass
            if counter_name:
                self.counts[counter_name] = remainder
            else:
                consumed = self.counts.get(CONSUMED_COUNT_NAME, 0)
                self.counts[CONSUMED_COUNT_NAME] = consumed - (signal_count - remainder)
        released = min(self.releasable_count, len(candidates))
        self.releasable_count -= released
        return candidates[:released], candidates[released:]

    def to_json(self) -> bytes:
        """NiFi's serialized form."""
        document = {"counts": self.counts, "attributes": self.attributes, "releasableCount": self.releasable_count}
        return json.dumps(document, separators=(",", ":")).encode("utf-8")


def _parse(identifier: str, value: bytes, revision: object) -> Signal:
    try:
        document = json.loads(value.decode("utf-8"))
        counts = {str(k): int(v) for k, v in (document.get("counts") or {}).items()}
        attributes = {str(k): str(v) for k, v in (document.get("attributes") or {}).items()}
        releasable = int(document.get("releasableCount") or 0)
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise ProcessingError(f"the cached value of {identifier!r} is not a Wait/Notify signal: {exc}") from None
    return Signal(identifier, counts, attributes, releasable, revision)


def get_signal(cache: DistributedMapCacheClient, identifier: str) -> Signal | None:
    """The signal stored under ``identifier``, or None. Raises ``ProcessingError``
    when the cache fails or holds something else there."""
    entry = cache.fetch(identifier)
    if entry is None:
        return None
    value, revision = entry
    return _parse(identifier, value, revision)


def replace(cache: DistributedMapCacheClient, signal: Signal) -> None:
    """Write ``signal`` back if nobody changed it since it was read; raises
    ``SignalConflictError`` otherwise."""
    value = signal.to_json()
    if not cache.replace(signal.identifier, value, signal.revision):
        raise SignalConflictError(f"signal {signal.identifier!r} was changed concurrently; not updated")
    signal.revision = value


def complete(cache: DistributedMapCacheClient, signal: Signal) -> None:
    """Remove the signal (the wait is over) if nobody changed it since it was
    read; raises ``SignalConflictError`` otherwise."""
    if not cache.replace(signal.identifier, None, signal.revision):
        raise SignalConflictError(f"signal {signal.identifier!r} was changed or removed concurrently; not removed")


def notify(cache: DistributedMapCacheClient, identifier: str, deltas: Mapping[str, int],
           attributes: Mapping[str, str]) -> Signal:
    """Add ``deltas`` to the counters of the signal (a delta of 0 clears its
    counter) and merge ``attributes`` into it, creating it when absent.
    Retried a few times when another writer gets in between; raises
    ``SignalConflictError`` if it still cannot, ``ProcessingError`` when the
    cache fails."""
    for attempt in range(_RETRIES):
        signal = get_signal(cache, identifier) or Signal(identifier)
        signal.attributes.update(attributes)
        for name, delta in deltas.items():
            signal.counts[name] = 0 if delta == 0 else signal.counts.get(name, 0) + delta
        try:
            replace(cache, signal)
            return signal
        except SignalConflictError:
            time.sleep(_RETRY_WAIT_SECONDS * (attempt + 1))  # a worker thread: back off, then read again
    raise SignalConflictError(f"failed to update signal {identifier!r} {dict(deltas)} after {_RETRIES} attempts")
