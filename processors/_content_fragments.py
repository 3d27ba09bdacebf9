"""Pieces the content family's splitting processors share: NiFi's fragment
attribute names and the attributes the original of a split gets.

Private to ``flowyard.processors``.
"""

from __future__ import annotations

from flowyard.runtime.sdk import FlowFile, ProcessSession

__all__ = [
    "FRAGMENT_COUNT",
    "FRAGMENT_ID",
    "FRAGMENT_INDEX",
    "FRAGMENT_SIZE",
    "SEGMENT_ORIGINAL_FILENAME",
    "mark_original",
]

FRAGMENT_ID = "fragment.identifier"
FRAGMENT_INDEX = "fragment.index"
FRAGMENT_COUNT = "fragment.count"
FRAGMENT_SIZE = "fragment.size"
SEGMENT_ORIGINAL_FILENAME = "segment.original.filename"


def mark_original(session: ProcessSession, original: FlowFile, fragment_id: str, count: int) -> FlowFile:
    """The original of a split with ``fragment.identifier`` and ``fragment.count``
    set, as NiFi's ``FragmentAttributes.copyAttributesToOriginal`` does."""
    return session.put_attributes(original, {FRAGMENT_ID: fragment_id, FRAGMENT_COUNT: str(count)})
