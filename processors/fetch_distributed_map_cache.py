"""FetchDistributedMapCache: fetch values from a map cache into FlowFiles."""

from __future__ import annotations

from collections.abc import Iterable

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
    ValidationResult,
    validators,
)

__all__ = ["FetchDistributedMapCache"]

SUCCESS = Relationship("success", "FlowFiles for which every cache key had a value.")
FAILURE = Relationship(
    "failure", "FlowFiles with a blank cache key, or that the cache could not handle; penalized."
)
NOT_FOUND = Relationship("not-found", "FlowFiles for which a cache key had no value; unchanged.")

CACHE_ENTRY_IDENTIFIER = PropertySpec(
    key="cache-entry-identifier",
    display_name="Cache Entry Identifier",
    description=(
        "Evaluated against each FlowFile: the cache key to fetch, or a comma-separated list of keys (only "
        "with Put Cache Value In Attribute)."
    ),
    required=True,
    default="${hash.value}",
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
DISTRIBUTED_CACHE_SERVICE = PropertySpec(
    key="distributed-cache-service",
    display_name="Distributed Cache Service",
    description="The map cache service to fetch the values from.",
    required=True,
    identifies_controller_service=DISTRIBUTED_MAP_CACHE_CLIENT,
)
PUT_IN_ATTRIBUTE = PropertySpec(
    key="put-cache-value-in-attribute",
    display_name="Put Cache Value In Attribute",
    description=(
        "If set, the value goes into the attribute this evaluates to instead of the content. With several "
        "keys, one attribute per key: this name, a period and the key."
    ),
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
MAX_LENGTH = PropertySpec(
    key="max-length-to-put-in-attribute",
    display_name="Max Length To Put In Attribute",
    description="With Put Cache Value In Attribute: the most characters of a value put in the attribute.",
    default="256",
    validator=validators.POSITIVE_INTEGER,
)
CHARACTER_SET = PropertySpec(
    key="character-set",
    display_name="Character Set",
    description="With Put Cache Value In Attribute: the encoding of the cached values.",
    default="UTF-8",
    validator=validators.CHARACTER_SET,
)


class FetchDistributedMapCache(Processor):
    """Evaluates Cache Entry Identifier for each FlowFile and fetches the value
    of that key from the map cache: into the content (replacing it), or, with
    Put Cache Value In Attribute, into an attribute (decoded with Character
    Set, malformed bytes replaced, cut to Max Length To Put In Attribute).

    Several comma-separated keys need Put Cache Value In Attribute; they are
    read together, and if any has no value the FlowFile goes to not-found
    unchanged. A blank key or a cache failure penalizes the FlowFile and
    sends it to failure.
    """

    spec = ProcessorSpec(
        description=(
            "Fetches the value of a cache key computed from FlowFile attributes from a map cache into the "
            "FlowFile's content or an attribute."
        ),
        tags=("map", "cache", "fetch", "distributed"),
        properties=(CACHE_ENTRY_IDENTIFIER, DISTRIBUTED_CACHE_SERVICE, PUT_IN_ATTRIBUTE, MAX_LENGTH, CHARACTER_SET),
        relationships=(SUCCESS, FAILURE, NOT_FOUND),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(("(Put Cache Value In Attribute)", "The fetched value(s), when that property is set."),),
    )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Several literal keys need Put Cache Value In Attribute."""
        identifier = context.property(CACHE_ENTRY_IDENTIFIER).as_str()
        literal = "${" not in identifier and "#{" not in identifier
        if literal and "," in identifier and not context.property(PUT_IN_ATTRIBUTE).is_set:
            return [ValidationResult(
                CACHE_ENTRY_IDENTIFIER.display_name,
                "several cache keys are given, which needs Put Cache Value In Attribute to be set",
                CACHE_ENTRY_IDENTIFIER.key,
            )]
        return []

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Fetch the value(s) for one FlowFile."""
        ff = session.get()
        if ff is None:
            return
        cache = context.property(DISTRIBUTED_CACHE_SERVICE).as_controller_service(DistributedMapCacheClient)
        try:
            result = _fetch(context, session, cache, ff)
        except (ProcessingError, ValueError) as exc:
            context.logger.error(f"cannot fetch a cache value for {ff!r}: {exc}; routing it to failure")
            session.transfer(session.penalize(ff), FAILURE)
            return
        if result is None:
            session.transfer(ff, NOT_FOUND)
        else:
            session.transfer(result, SUCCESS)


def _fetch(context: ProcessContext, session: ProcessSession, cache: DistributedMapCacheClient, ff: FlowFile) -> (
    FlowFile | None
):
    """``ff`` with the fetched value(s), or None when a key has no value. Raises
    ``ValueError`` for a blank key or several keys without an attribute,
    ``ProcessingError`` from the cache."""
    attributes = ff.attributes
    text = context.property(CACHE_ENTRY_IDENTIFIER).evaluate(attributes).as_str()
    keys = [k.strip() for k in text.split(",") if k]
    if not keys or any(not k for k in keys):
        raise ValueError(f"Cache Entry Identifier is blank (or has a blank key) for {ff!r}: {text!r}")
    into = context.property(PUT_IN_ATTRIBUTE)
    if len(keys) > 1 and not into.is_set:
        raise ValueError("several cache keys need Put Cache Value In Attribute to be set")
    values = {keys[0]: cache.get(keys[0])} if len(keys) == 1 else cache.sub_map(keys)
    if any(v is None for v in values.values()):
        context.logger.info(f"no cache entry for some of {keys} ({ff!r}); routing it to not-found")
        return None
    if not into.is_set:
        return session.write(ff, values[keys[0]] or b"")
    name = into.evaluate(attributes).as_str()
    limit = context.property(MAX_LENGTH).as_int()
    charset = context.property(CHARACTER_SET).as_str()
    updates = {
        (name if len(keys) == 1 else f"{name}.{key}"): (value or b"").decode(charset, errors="replace")[:limit]
        for key, value in values.items()
    }
    return session.put_attributes(ff, updates)
