"""PutDistributedMapCache and FetchDistributedMapCache sharing one
LocalMapCacheService, through ProcessorRunner."""

from __future__ import annotations

import pytest

from flowyard.processors.fetch_distributed_map_cache import FetchDistributedMapCache
from flowyard.processors.map_cache import LocalMapCacheService
from flowyard.processors.put_distributed_map_cache import PutDistributedMapCache
from flowyard.runtime.sdk import InvalidComponentError, Processor
from flowyard.runtime.sdk.testing import ProcessorRunner


def runner(processor: type[Processor], properties: dict[str, str],
           cache: LocalMapCacheService | None = None) -> tuple[ProcessorRunner, LocalMapCacheService]:
    """A runner for ``processor`` with ``properties`` and an enabled cache (``cache``, or a new one)."""
    r = ProcessorRunner(processor)
    service = r.add_controller_service("cache", cache or LocalMapCacheService)
    assert isinstance(service, LocalMapCacheService)
    r.enable_controller_service("cache")
    r.set_property("Distributed Cache Service", "cache")
    for name, value in properties.items():
        r.set_property(name, value)
    return r, service


# -- PutDistributedMapCache ---------------------------------------------------------------


def test_put_caches_the_content_under_the_evaluated_key() -> None:
    r, cache = runner(PutDistributedMapCache, {"Cache Entry Identifier": "${id}"})
    r.enqueue(b"hello", {"id": "greeting"})
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_attribute_equals("cached", "true")
    assert cache.get("greeting") == b"hello"


@pytest.mark.parametrize(("strategy", "relationship", "cached", "value"), [
    ("replace", "success", "true", b"new"),
    ("Replace if present", "success", "true", b"new"),
    ("keeporiginal", "failure", "false", b"old"),
    ("Keep original", "failure", "false", b"old"),
])
def test_put_update_strategies(strategy: str, relationship: str, cached: str, value: bytes) -> None:
    r, cache = runner(PutDistributedMapCache, {"Cache Entry Identifier": "k", "Cache Update Strategy": strategy})
    cache.put("k", b"old")
    r.enqueue(b"new")
    r.run()
    r.assert_all_transferred(relationship, 1)
    r.flowfiles_for(relationship)[0].assert_attribute_equals("cached", cached)
    assert cache.get("k") == value


@pytest.mark.parametrize(
    ("content", "attributes", "penalized"),
    [(b"", {"id": "k"}, False), (b"x" * 11, {"id": "k"}, False), (b"x", {"id": " "}, True)],
    ids=["empty", "too-large", "blank-key"],
)
def test_put_refuses_what_it_cannot_cache(content: bytes, attributes: dict[str, str], penalized: bool) -> None:
    r, cache = runner(PutDistributedMapCache, {"Cache Entry Identifier": "${id}", "Max Cache Size": "10 B"})
    r.enqueue(content, attributes)
    r.run()
    r.assert_all_transferred("failure", 1)
    ff = r.flowfiles_for("failure")[0]
    ff.assert_attribute_equals("cached", None)
    assert ff.is_penalized(r.clock()) is penalized
    assert cache.size() == 0


def test_put_needs_an_identifier_and_an_enabled_cache() -> None:
    r = ProcessorRunner(PutDistributedMapCache)
    r.set_property("Distributed Cache Service", "cache")
    r.add_controller_service("cache", LocalMapCacheService)
    assert [str(x) for x in r.validation_results()] == [
        "'Cache Entry Identifier' is invalid because Cache Entry Identifier is required",
        "'Distributed Cache Service' is invalid because controller service 'LocalMapCacheService' "
        "(LocalMapCacheService) is not enabled",
    ]


# -- FetchDistributedMapCache -------------------------------------------------------------


def test_fetch_replaces_the_content_and_misses_go_to_not_found() -> None:
    r, cache = runner(FetchDistributedMapCache, {"Cache Entry Identifier": "${id}"})
    cache.put("k", b"cached value")
    r.enqueue_many([(b"original", {"id": "k"}), (b"kept", {"id": "missing"})])
    r.run(2)
    r.flowfiles_for("success")[0].assert_content_equals(b"cached value")
    r.flowfiles_for("not-found")[0].assert_content_equals(b"kept")


def test_fetch_into_attributes_with_several_keys_and_a_length_limit() -> None:
    r, cache = runner(FetchDistributedMapCache, {
        "Cache Entry Identifier": "a, b", "Put Cache Value In Attribute": "${prefix}",
        "Max Length To Put In Attribute": "4"})
    cache.put("a", "héllo".encode())
    cache.put("b", b"\xff\xfeok")
    r.enqueue(b"content", {"prefix": "fetched"})
    r.run()
    ff = r.flowfiles_for("success")[0]
    ff.assert_content_equals(b"content")
    ff.assert_attribute_equals("fetched.a", "héll")
    ff.assert_attribute_equals("fetched.b", "\ufffd\ufffdok")


def test_fetch_one_key_into_an_attribute_in_another_character_set() -> None:
    r, cache = runner(FetchDistributedMapCache, {
        "Cache Entry Identifier": "k", "Put Cache Value In Attribute": "v", "Character Set": "ISO-8859-1"})
    cache.put("k", "café".encode("latin-1"))
    r.enqueue(b"")
    r.run()
    r.flowfiles_for("success")[0].assert_attribute_equals("v", "café")


def test_fetch_routes_to_not_found_when_any_key_is_missing() -> None:
    r, cache = runner(FetchDistributedMapCache, {
        "Cache Entry Identifier": "a,b", "Put Cache Value In Attribute": "v"})
    cache.put("a", b"1")
    r.enqueue(b"x")
    r.run()
    r.assert_all_transferred("not-found", 1)
    r.flowfiles_for("not-found")[0].assert_attribute_equals("v.a", None)


@pytest.mark.parametrize(
    ("identifier", "attributes"),
    [("${id}", {}), ("a, ,b", {}), ("${ids}", {"ids": "a,b"})],
    ids=["blank", "blank-key-in-list", "several-keys-without-attribute"],
)
def test_fetch_failures_are_penalized(identifier: str, attributes: dict[str, str]) -> None:
    r, _ = runner(FetchDistributedMapCache, {"Cache Entry Identifier": identifier})
    if "," in identifier and "$" not in identifier:
        r.set_property("Put Cache Value In Attribute", "v")
    r.enqueue(b"x", attributes)
    r.run()
    r.assert_all_transferred("failure", 1)
    assert r.flowfiles_for("failure")[0].is_penalized(r.clock())


def test_several_literal_keys_need_an_attribute() -> None:
    r, _ = runner(FetchDistributedMapCache, {"Cache Entry Identifier": "a,b"})
    assert [str(x) for x in r.validation_results()] == [
        "'Cache Entry Identifier' is invalid because several cache keys are given, which needs Put Cache Value "
        "In Attribute to be set"]
    with pytest.raises(InvalidComponentError):
        r.run()


def test_put_then_fetch_through_one_shared_service() -> None:
    put, cache = runner(PutDistributedMapCache, {"Cache Entry Identifier": "${id}"})
    fetch, _ = runner(FetchDistributedMapCache, {"Cache Entry Identifier": "${id}"}, cache)
    put.enqueue(b"shared", {"id": "s"})
    put.run()
    fetch.enqueue(b"", {"id": "s"})
    fetch.run()
    fetch.flowfiles_for("success")[0].assert_content_equals(b"shared")
