"""PutDistributedMapCache: put each FlowFile's content into a map cache."""

from __future__ import annotations

from flowyard.processors.map_cache import DISTRIBUTED_MAP_CACHE_CLIENT, DistributedMapCacheClient
from flowyard.runtime.sdk import (
    AllowableValue,
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
    validators,
)

__all__ = ["CACHED", "PutDistributedMapCache"]

CACHED = "cached"
"""The attribute every FlowFile gets: 'true' when its content was cached, else 'false'."""

REPLACE = "replace"
KEEP_ORIGINAL = "keeporiginal"

SUCCESS = Relationship("success", "FlowFiles whose content was put into the cache.")
FAILURE = Relationship(
    "failure",
    "FlowFiles whose content was not cached: blank identifier, empty or too large content, an existing entry "
    "kept by 'Keep original', or a cache failure (penalized).",
)

CACHE_ENTRY_IDENTIFIER = PropertySpec(
    key="cache-entry-identifier",
    display_name="Cache Entry Identifier",
    description="Evaluated against each FlowFile: the cache key its content is stored under.",
    required=True,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
DISTRIBUTED_CACHE_SERVICE = PropertySpec(
    key="distributed-cache-service",
    display_name="Distributed Cache Service",
    description="The map cache service to put the content into.",
    required=True,
    identifies_controller_service=DISTRIBUTED_MAP_CACHE_CLIENT,
)
CACHE_UPDATE_STRATEGY = PropertySpec(
    key="cache-update-strategy",
    display_name="Cache Update Strategy",
    description="What happens when the cache already has an entry for the key.",
    required=True,
    default=REPLACE,
    allowed_values=(
        AllowableValue(REPLACE, "Replace if present", "The entry is replaced by the FlowFile's content."),
        AllowableValue(KEEP_ORIGINAL, "Keep original", "The entry is kept; the FlowFile goes to failure."),
    ),
    aliases=("Cache update strategy",),
)
MAX_CACHE_SIZE = PropertySpec(
    key="max-cache-entry-size",
    display_name="Max Cache Size",
    description="The largest content put into the cache; larger FlowFiles go to failure.",
    default="1 MB",
    validator=validators.DATA_SIZE,
    aliases=("Max cache entry size",),
)


class PutDistributedMapCache(Processor):
    """Puts the whole content of each FlowFile into the map cache under the
    evaluated Cache Entry Identifier and sets ``cached`` to 'true' (success)
    or 'false' (failure).

    As in NiFi, empty content is not cached (failure), content larger than
    Max Cache Size goes to failure, and with 'Keep original' a key that
    already has an entry keeps it and the FlowFile goes to failure. A blank
    identifier or a cache failure penalizes the FlowFile and sends it to
    failure without the ``cached`` attribute. The content is read into memory:
    Max Cache Size bounds how much.
    """

    spec = ProcessorSpec(
        description=(
            "Puts the content of each FlowFile into a map cache under a key computed from its attributes, "
            "replacing or keeping an existing entry."
        ),
        tags=("map", "cache", "put", "distributed"),
        properties=(CACHE_ENTRY_IDENTIFIER, DISTRIBUTED_CACHE_SERVICE, CACHE_UPDATE_STRATEGY, MAX_CACHE_SIZE),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=((CACHED, "'true' if the content was cached, else 'false'."),),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Cache the content of one FlowFile."""
        ff = session.get()
        if ff is None:
            return
        cache = context.property(DISTRIBUTED_CACHE_SERVICE).as_controller_service(DistributedMapCacheClient)
        try:
            cached = _put(context, session, cache, ff)
        except (ProcessingError, ValueError) as exc:
            context.logger.error(f"cannot cache {ff!r}: {exc}; routing it to failure")
            session.transfer(session.penalize(ff), FAILURE)
            return
        if cached is None:
            session.transfer(ff, FAILURE)
            return
        ff = session.put_attribute(ff, CACHED, "true" if cached else "false")
        session.transfer(ff, SUCCESS if cached else FAILURE)


def _put(context: ProcessContext, session: ProcessSession, cache: DistributedMapCacheClient, ff: FlowFile) -> (
    bool | None
):
    """Whether the content was cached; None when it is empty or too large
    (logged). Raises ``ValueError`` for a blank key, ``ProcessingError`` from the cache."""
    key = context.property(CACHE_ENTRY_IDENTIFIER).evaluate(ff.attributes).as_str()
    if not key.strip():
        raise ValueError(f"Cache Entry Identifier is blank for {ff!r}")
    limit = context.property(MAX_CACHE_SIZE).as_data_size()
    if ff.size > limit:
        context.logger.warning(f"{ff!r} has {ff.size} bytes, more than Max Cache Size ({limit} bytes); not cached")
        return None
    if ff.size == 0:
        context.logger.warning(f"{ff!r} is empty; there is nothing to cache")
        return None
    value = session.read_bytes(ff)
    if context.property(CACHE_UPDATE_STRATEGY).as_str() == KEEP_ORIGINAL:
        return cache.put_if_absent(key, value)
    cache.put(key, value)
    return True
