"""DetectDuplicate: route FlowFiles by whether their identifier is already in a map cache."""

from __future__ import annotations

import struct

from flowyard.processors._common import boolean_property
from flowyard.processors.map_cache import DISTRIBUTED_MAP_CACHE_CLIENT, DistributedMapCacheClient
from flowyard.runtime.sdk import (
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    ProcessingError,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    SchedulingDefaults,
    validators,
)

__all__ = ["ORIGINAL_DESCRIPTION", "DetectDuplicate", "decode_entry", "encode_entry"]

_BATCH = 100

ORIGINAL_DESCRIPTION = "original.flowfile.description"
"""The attribute a duplicate gets: the FlowFile Description of the first FlowFile seen."""

DUPLICATE = Relationship("duplicate", "FlowFiles whose Cache Entry Identifier was already in the cache.")
NON_DUPLICATE = Relationship("non-duplicate", "FlowFiles whose Cache Entry Identifier was not in the cache.")
FAILURE = Relationship(
    "failure",
    "FlowFiles with a blank Cache Entry Identifier, or that the cache could not handle; penalized.",
)

CACHE_ENTRY_IDENTIFIER = PropertySpec(
    key="cache-entry-identifier",
    display_name="Cache Entry Identifier",
    description="Evaluated against each FlowFile: the value that identifies duplicates. It is what is cached.",
    required=True,
    default="${hash.value}",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
FLOWFILE_DESCRIPTION = PropertySpec(
    key="flowfile-description",
    display_name="FlowFile Description",
    description=(
        f"Evaluated against a FlowFile whose identifier is cached and stored with it; later duplicates get it "
        f"in their '{ORIGINAL_DESCRIPTION}' attribute."
    ),
    required=True,
    default="",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
AGE_OFF_DURATION = PropertySpec(
    key="age-off-duration",
    display_name="Age Off Duration",
    description=(
        "How long a cached identifier counts. A FlowFile whose identifier was cached longer ago is not a "
        "duplicate (and its identifier is cached anew). Unset: identifiers never age off."
    ),
    validator=validators.TIME_PERIOD,
)
DISTRIBUTED_CACHE_SERVICE = PropertySpec(
    key="distributed-cache-service",
    display_name="Distributed Cache Service",
    description="The map cache service that holds the identifiers.",
    required=True,
    identifies_controller_service=DISTRIBUTED_MAP_CACHE_CLIENT,
)
CACHE_THE_ENTRY_IDENTIFIER = boolean_property(
    "cache-the-entry-identifier",
    "Cache The Entry Identifier",
    "Whether the identifier of a FlowFile that is not a duplicate is added to the cache. With false the "
    "processor only checks, and another processor (e.g. PutDistributedMapCache) must fill the cache.",
    "true",
    required=False,
)

_TIME = struct.Struct(">q")


def encode_entry(entry_time_ms: int, description: str) -> bytes:
    """A cache value: the time the identifier was cached (8 bytes, big-endian
    milliseconds) then the description in UTF-8 — NiFi's layout, so a shared
    cache can hold entries of both."""
    return _TIME.pack(entry_time_ms) + description.encode("utf-8")


def decode_entry(value: bytes) -> tuple[int, str]:
    """``(entry time ms, description)`` of a cache value. Raises ``ValueError``
    for a value that is not one (fewer than 8 bytes, or not UTF-8)."""
    if len(value) < _TIME.size:
        raise ValueError(f"a cache entry holds at least {_TIME.size} bytes, this one {len(value)}")
    (entry_time,) = _TIME.unpack_from(value)
    return entry_time, value[_TIME.size:].decode("utf-8")


class DetectDuplicate(Processor):
    """Evaluates Cache Entry Identifier for each FlowFile and checks the map
    cache for it. Seen before (and not older than Age Off Duration): the
    FlowFile goes to duplicate with the first FlowFile's description in
    ``original.flowfile.description``. Otherwise it goes to non-duplicate and,
    with Cache The Entry Identifier, its identifier is cached (atomically: of
    two FlowFiles with the same identifier at the same time, exactly one is
    non-duplicate).

    A blank identifier, a cache that fails, or a cached value that is not a
    DetectDuplicate entry (written under the same key by another processor)
    sends the FlowFile, penalized, to failure. Both routes record a ROUTE
    provenance event. The cache is only as durable as its service:
    LocalMapCacheService forgets everything when disabled or restarted.
    """

    spec = ProcessorSpec(
        description=(
            "Caches a value computed from FlowFile attributes for each FlowFile and routes the FlowFile to "
            "duplicate when that value was cached before, otherwise to non-duplicate."
        ),
        tags=("hash", "dupe", "duplicate", "dedupe"),
        properties=(
            CACHE_ENTRY_IDENTIFIER, FLOWFILE_DESCRIPTION, AGE_OFF_DURATION, DISTRIBUTED_CACHE_SERVICE,
            CACHE_THE_ENTRY_IDENTIFIER,
        ),
        relationships=(DUPLICATE, NON_DUPLICATE, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        scheduling=SchedulingDefaults(run_duration="25 millis"),
        writes_attributes=((ORIGINAL_DESCRIPTION, "On duplicates: the description stored with the first one."),),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Check a batch of FlowFiles against the cache and route them."""
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        cache = context.property(DISTRIBUTED_CACHE_SERVICE).as_controller_service(DistributedMapCacheClient)
        age_off = context.property(AGE_OFF_DURATION)
        age_off_ms = int(age_off.as_duration() * 1000) if age_off.is_set else None
        store = context.property(CACHE_THE_ENTRY_IDENTIFIER).as_bool()
        for ff in batch:
            try:
                original = _check(context, cache, ff, age_off_ms, store)
            except (ProcessingError, ValueError) as exc:
                context.logger.error(f"cannot check {ff!r} for duplicates: {exc}; routing it to failure")
                session.transfer(session.penalize(ff), FAILURE)
                continue
            if original is None:
                session.provenance.route(ff, NON_DUPLICATE)
                session.transfer(ff, NON_DUPLICATE)
            else:
                ff = session.put_attribute(ff, ORIGINAL_DESCRIPTION, original)
                session.provenance.route(ff, DUPLICATE, f"Duplicate of: {original}")
                session.transfer(ff, DUPLICATE)


def _check(
    context: ProcessContext, cache: DistributedMapCacheClient, ff: FlowFile, age_off_ms: int | None, store: bool
) -> str | None:
    """The original's description if ``ff`` is a duplicate, else None (after
    caching its identifier when ``store``). Raises ``ValueError`` for a blank
    identifier or a foreign cache value, ``ProcessingError`` from the cache."""
    attributes = ff.attributes
    key = context.property(CACHE_ENTRY_IDENTIFIER).evaluate(attributes).as_str()
    if not key.strip():
        raise ValueError(f"Cache Entry Identifier is blank for {ff!r}")
    description = context.property(FLOWFILE_DESCRIPTION).evaluate(attributes).as_str()
    now = context.now_ms()
    entry = encode_entry(now, description)
    found = cache.get_and_put_if_absent(key, entry) if store else cache.get(key)
    if found is None:
        return None
    entry_time, original = decode_entry(found)
    if age_off_ms is not None and now >= entry_time + age_off_ms:
        cache.remove(key)
        # another task may have cached the identifier again in between: then it is a duplicate of that one
        again = cache.get_and_put_if_absent(key, entry) if store else cache.get(key)
        if again is None:
            return None
        return decode_entry(again)[1]
    return original
