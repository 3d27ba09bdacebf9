"""MergeContent's bins (NiFi's BinManager and Bin rules as pure code), and the
trigger steps that MergeContent and MergeRecord share.

``pack`` places entries (a FlowFile with its group, size and the time
MergeContent first saw it) into bins the way NiFi's ``BinManager.offer``
does, then sorts the bins into those ready to merge and those still
waiting. It holds nothing between calls: MergeContent calls it on every
trigger with every FlowFile that waits, so bins are rebuilt from the queue
(see ``merge_content``). MergeRecord packs by its own rules (NiFi's
RecordBinManager) but holds its bins the same way: ``run_alone``,
``take_queue``, ``requeue_waiting``, ``defragment_error`` and
``transfer_originals`` are the steps both processors take.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from flowyard.processors import _merge_formats as fmt
from flowyard.runtime.sdk import FlowFile, ProcessContext, ProcessSession, Relationship

__all__ = ["Bin", "BinSettings", "Entry", "Reason", "defragment_error", "pack", "requeue_waiting", "run_alone",
           "take_queue", "transfer_originals"]

T = TypeVar("T")
S = TypeVar("S")

_INTEGER = re.compile(r"[0-9]+")
_MAX_INT = 2**31 - 1


class Reason:
    """NiFi's EvictionReason names (written to ``merge.reason``)."""

    MAX_BYTES = "MAX_BYTES_THRESHOLD_REACHED"
    MAX_ENTRIES = "MAX_ENTRIES_THRESHOLD_REACHED"
    MIN_THRESHOLDS = "MIN_THRESHOLDS_REACHED"
    TIMEOUT = "TIMEOUT"
    BIN_MANAGER_FULL = "BIN_MANAGER_FULL"
    BIN_TERMINATION_SIGNAL = "BIN_TERMINATION_SIGNAL"
    UNSET = "UNSET"


LAST_IN_BIN = "Last in Bin"
FIRST_IN_NEW_BIN = "First in New Bin"
ISOLATED = "Isolated"


@dataclass(frozen=True, slots=True)
class BinSettings:
    """The thresholds of one configuration. ``defragment`` makes each bin's
    size the ``fragment.count`` of its FlowFiles, as NiFi's file count attribute."""

    min_entries: int = 1
    max_entries: int = _MAX_INT
    min_size: int = 0
    max_size: int = 2**63 - 1
    max_bins: int = 5
    max_age_ms: int | None = None
    defragment: bool = False
    insertion: str = LAST_IN_BIN


@dataclass(slots=True)
class Entry(Generic[T]):
    """One FlowFile offered to the bins. ``fragment_index``/``fragment_count``
    are its attributes (Defragment only); ``terminates`` is the result of the
    Bin Termination Check."""

    item: T
    group: str | None
    size: int
    first_seen_ms: int
    fragment_index: str | None = None
    fragment_count: str | None = None
    terminates: bool = False


@dataclass(slots=True)
class Bin(Generic[T]):
    """NiFi's Bin: thresholds, contents, and why it was closed."""

    group: str | None
    created_ms: int
    min_entries: int
    max_entries: int
    min_size: int
    max_size: int
    defragment: bool = False
    entries: list[Entry[T]] = field(default_factory=list)
    size: int = 0
    failed_offers: int = 0
    forced: bool = False
    reason: str = Reason.UNSET
    _indexes: set[str] = field(default_factory=set)

    @classmethod
    def new(cls, group: str | None, created_ms: int, settings: BinSettings) -> Bin[T]:
        if settings.defragment:
            return cls(group, created_ms, _MAX_INT, _MAX_INT, 0, 2**63 - 1, defragment=True)
        return cls(group, created_ms, settings.min_entries, settings.max_entries, settings.min_size,
                   settings.max_size)

    @classmethod
    def isolated(cls, entry: Entry[T]) -> Bin[T]:
        """The bin NiFi makes for a FlowFile no bin can take (larger than the maximum size)."""
        return cls(entry.group, entry.first_seen_ms, 0, _MAX_INT, 0, 2**63 - 1, entries=[entry], size=entry.size)

    def offer(self, entry: Entry[T]) -> bool:
        """Take ``entry`` if it fits (NiFi's ``Bin.offer``)."""
        if self.forced or self.size + entry.size > self.max_size or len(self.entries) >= self.max_entries:
            self.failed_offers += 1
            return False
        if self.defragment:
            index = entry.fragment_index
            if not index or index in self._indexes:
                self.failed_offers += 1
                return False
            self._indexes.add(index)
            count = entry.fragment_count
            if count is not None and _INTEGER.fullmatch(count) and int(count) <= _MAX_INT:
                self.min_entries = self.max_entries = int(count)
        self.size += entry.size
        self.entries.append(entry)
        self.failed_offers = 0
        return True

    def is_full(self) -> bool:
        """Maximum reached, forced, or minimum reached and the last offers kept failing."""
        return ((self.size >= self.min_size and len(self.entries) >= self.min_entries and self.failed_offers > 5)
                or self.size >= self.max_size or len(self.entries) >= self.max_entries or self.forced)

    def is_full_enough(self) -> bool:
        """Minimum size and minimum entries reached."""
        return self.is_full() or (self.size >= self.min_size and len(self.entries) >= self.min_entries)

    def fullness_reason(self) -> str:
        """NiFi's ``determineEvictionReason``."""
        if self.forced:
            return Reason.BIN_TERMINATION_SIGNAL
        if self.size >= self.max_size:
            return Reason.MAX_BYTES
        if len(self.entries) >= self.max_entries:
            return Reason.MAX_ENTRIES
        if self.size >= self.min_size and len(self.entries) >= self.min_entries:
            return Reason.MIN_THRESHOLDS
        return Reason.UNSET

    def age_ms(self, now_ms: int) -> int:
        """Milliseconds since the bin's first FlowFile was first seen."""
        return max(0, now_ms - self.created_ms)


def pack(entries: Iterable[Entry[T]], settings: BinSettings, now_ms: int, *, relax: bool = True) -> (
    tuple[list[Bin[T]], list[Bin[T]]]
):
    """(ready bins, waiting bins) for ``entries`` offered in order.

    As NiFi: a FlowFile larger than the maximum size gets a bin of its own
    (ready at once); a FlowFile goes to the first bin of its group that takes
    it, else to a new bin; when a new bin is needed and ``max_bins`` bins are
    open, the oldest is closed (BIN_MANAGER_FULL). A bin is ready when full,
    when it reached its minimums (if ``relax``: the queue was drained, so no
    FlowFile waits that could fill it further), or when older than the
    maximum age. The Bin Termination Check closes bins per ``insertion``.
    """
    ready: list[Bin[T]] = []
    open_bins: dict[str | None, list[Bin[T]]] = {}
    open_count = 0

    def close(bin_: Bin[T], reason: str) -> None:
        nonlocal open_count
        bin_.reason = reason
        open_bins[bin_.group].remove(bin_)
        open_count -= 1
        ready.append(bin_)

    for entry in entries:
        if entry.size > settings.max_size and not settings.defragment:
            ready.append(Bin.isolated(entry))
            continue
        bins = open_bins.setdefault(entry.group, [])
        placed = False
        if entry.terminates and settings.insertion == LAST_IN_BIN:
            for bin_ in bins:
                if bin_.offer(entry):
                    bin_.forced = True
                    close(bin_, Reason.BIN_TERMINATION_SIGNAL)
                    placed = True
                    break
        elif entry.terminates:
            for bin_ in bins:
                if not bin_.forced:
                    bin_.forced = True
                    close(bin_, Reason.BIN_TERMINATION_SIGNAL)
                    break
        else:
            for bin_ in bins:
                if bin_.offer(entry):
                    placed = True
                    if bin_.is_full():
                        close(bin_, bin_.fullness_reason())
                    break
        if placed:
            continue
        if open_count >= settings.max_bins:
            oldest = min((b for group in open_bins.values() for b in group), key=lambda b: b.created_ms,
                         default=None)
            if oldest is not None:
                close(oldest, Reason.BIN_MANAGER_FULL)
        fresh: Bin[T] = Bin.new(entry.group, entry.first_seen_ms, settings)
        if not fresh.offer(entry):
            ready.append(Bin.isolated(entry))
            continue
        open_bins[entry.group].append(fresh)
        open_count += 1
        if entry.terminates and settings.insertion in (ISOLATED, LAST_IN_BIN):
            fresh.forced = True
            close(fresh, Reason.BIN_TERMINATION_SIGNAL)
        elif fresh.is_full():
            close(fresh, fresh.fullness_reason())

    waiting: list[Bin[T]] = []
    for group in open_bins.values():
        for bin_ in group:
            if (relax and bin_.is_full_enough()) or bin_.is_full():
                bin_.reason = bin_.fullness_reason()
                ready.append(bin_)
            elif settings.max_age_ms is not None and bin_.age_ms(now_ms) > settings.max_age_ms:
                bin_.reason = Reason.TIMEOUT
                ready.append(bin_)
            else:
                waiting.append(bin_)
    return ready, waiting


# -- the trigger steps MergeContent and MergeRecord share --------------------------------------

#: FlowFiles asked of the queue at a time.
_GET = 1000


def run_alone(lock: threading.Lock, context: ProcessContext, trigger: Callable[[], None]) -> None:
    """Run ``trigger`` unless another task holds ``lock`` (it is binning: it has taken the queue); then yield."""
    if not lock.acquire(blocking=False):
        context.yield_()
        return
    try:
        trigger()
    finally:
        lock.release()


def take_queue(session: ProcessSession, most: int) -> tuple[list[FlowFile], bool]:
    """Every FlowFile of the input queue, up to ``most``, and whether ``most`` was reached (then others may be
    left in the queue: the bins are not complete, so a bin is not merged merely for reaching its minimums)."""
    taken: list[FlowFile] = []
    while len(taken) < most:
        batch = session.get_batch(min(_GET, most - len(taken)))
        if not batch:
            break
        taken.extend(batch)
    return taken, len(taken) >= most


def requeue_waiting(session: ProcessSession, waiting: Iterable[FlowFile], seen: Mapping[int, S],
                    earlier: Mapping[int, S], done: set[int], capped: bool) -> dict[int, S]:
    """Send the FlowFiles of the bins that are not ready back to the input queue (unchanged, no provenance
    event) and return what to remember of the FlowFiles seen (FlowFile id → what ``seen`` has of it): the
    waiting ones and, when the queue was not taken whole (``capped``), those remembered ``earlier`` that
    were neither merged nor failed (``done``) this time."""
    kept = {fid: noted for fid, noted in earlier.items() if fid not in done} if capped else {}
    for ff in waiting:
        session.transfer(ff)  # back to the input queue until the bin is ready
        kept[ff.id] = seen[ff.id]
    return kept


def transfer_originals(session: ProcessSession, flowfiles: Iterable[FlowFile], bundle: FlowFile,
                       original: Relationship) -> None:
    """The merged FlowFiles to ``original``, each with ``merge.uuid`` (the bundle's uuid)."""
    attributes = fmt.attributes_for_original(bundle.uuid)
    for ff in flowfiles:
        session.transfer(session.put_attributes(ff, attributes), original)


def defragment_error(flowfiles: list[FlowFile]) -> str | None:
    """NiFi's getDefragmentValidationError: why these fragments cannot be put together, or None."""
    decided: str | None = None
    identifier: str | None = None
    for ff in flowfiles:
        attrs = ff.attributes
        index = attrs.get("fragment.index")
        if index is None or not _INTEGER.fullmatch(index):
            return (f"Cannot Defragment {ff!r} because it does not have an integer value for the fragment.index "
                    "attribute")
        identifier = attrs.get("fragment.identifier")
        count = attrs.get("fragment.count")
        if count is not None:
            if not _INTEGER.fullmatch(count):
                return (f"Cannot Defragment {ff!r} because it does not have an integer value for the fragment.count "
                        "attribute")
            if decided is None:
                decided = count
            elif decided != count:
                return (f"Cannot Defragment {ff!r} because it is grouped with another FlowFile, and the two have "
                        f"differing values for the fragment.count attribute: {decided} and {count}")
    if decided is None:
        return (f"Cannot Defragment FlowFiles with Fragment Identifier {identifier} because no FlowFile arrived with "
                "the fragment.count attribute and the expected number of fragments is unknown")
    expected = int(decided)
    if len(flowfiles) < expected:
        return (f"Cannot Defragment FlowFiles with Fragment Identifier {identifier} because the expected number of "
                f"fragments is {decided} but found only {len(flowfiles)} fragments")
    if len(flowfiles) > expected:
        return (f"Cannot Defragment FlowFiles with Fragment Identifier {identifier} because the expected number of "
                f"fragments is {decided} but found {len(flowfiles)} fragments for this identifier")
    return None
