"""DetectDuplicate against LocalMapCacheService, through ProcessorRunner."""

from __future__ import annotations

import pytest

from flowyard.processors.detect_duplicate import DetectDuplicate, decode_entry, encode_entry
from flowyard.processors.lookup_services import SimpleKeyValueLookupService
from flowyard.processors.map_cache import LocalMapCacheService
from flowyard.runtime.sdk import InvalidComponentError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner


def runner(**properties: str) -> tuple[ProcessorRunner, LocalMapCacheService]:
    r = ProcessorRunner(DetectDuplicate)
    cache = r.add_controller_service("cache", LocalMapCacheService)
    assert isinstance(cache, LocalMapCacheService)
    r.enable_controller_service("cache")
    r.set_property("Distributed Cache Service", "cache")
    r.set_property("Cache Entry Identifier", "${id}")
    r.set_property("FlowFile Description", "${filename}")
    for name, value in properties.items():
        r.set_property(name.replace("_", " "), value)
    return r, cache


def test_the_first_is_non_duplicate_and_later_ones_name_it() -> None:
    r, _ = runner()
    r.enqueue_many([(b"1", {"id": "a", "filename": "first"}), (b"2", {"id": "b", "filename": "other"}),
                    (b"3", {"id": "a", "filename": "second"})])
    r.run()
    assert [f.content for f in r.flowfiles_for("non-duplicate")] == [b"1", b"2"]
    (duplicate,) = r.flowfiles_for("duplicate")
    duplicate.assert_content_equals(b"3")
    duplicate.assert_attribute_equals("original.flowfile.description", "first")
    routes = r.provenance_events(ProvenanceEventType.ROUTE)
    assert [e.relationship for e in routes] == ["non-duplicate", "non-duplicate", "duplicate"]


def test_duplicates_are_found_across_runs_and_processors_sharing_the_cache() -> None:
    r, cache = runner()
    r.enqueue(b"1", {"id": "a", "filename": "first"})
    r.run()
    assert decode_entry(cache.get("a") or b"") == (r.clock(), "first")
    cache.put("b", encode_entry(0, "put by someone else"))
    r.enqueue_many([(b"2", {"id": "a"}), (b"3", {"id": "b"})])
    r.run()
    assert [f.attributes["original.flowfile.description"] for f in r.flowfiles_for("duplicate")] == [
        "first", "put by someone else"]


@pytest.mark.parametrize(("wait", "relationship"), [(59.9, "duplicate"), (60.0, "non-duplicate")])
def test_identifiers_age_off(wait: float, relationship: str) -> None:
    r, cache = runner(Age_Off_Duration="1 min")
    r.enqueue(b"1", {"id": "a", "filename": "old"})
    r.run()
    r.clock.advance(wait)
    r.enqueue(b"2", {"id": "a", "filename": "new"})
    r.run()
    r.assert_transferred(relationship, 1 if relationship == "duplicate" else 2)
    expected_description = "old" if relationship == "duplicate" else "new"
    assert decode_entry(cache.get("a") or b"")[1] == expected_description


def test_without_caching_the_identifier_only_checks() -> None:
    r, cache = runner(**{"Cache The Entry Identifier": "false"})
    r.enqueue_many([(b"1", {"id": "a"}), (b"2", {"id": "a"})])
    r.run()
    r.assert_all_transferred("non-duplicate", 2)
    assert cache.size() == 0
    cache.put("a", encode_entry(r.clock(), "seeded"))
    r.enqueue(b"3", {"id": "a"})
    r.run()
    r.flowfiles_for("duplicate")[0].assert_attribute_equals("original.flowfile.description", "seeded")


def test_an_aged_off_entry_is_not_a_duplicate_when_only_checking() -> None:
    r, cache = runner(**{"Cache The Entry Identifier": "false", "Age Off Duration": "1 sec"})
    cache.put("a", encode_entry(r.clock(), "seeded"))
    r.clock.advance(2)
    r.enqueue(b"1", {"id": "a"})
    r.run()
    r.assert_all_transferred("non-duplicate", 1)
    assert not cache.contains_key("a")


@pytest.mark.parametrize(
    ("attributes", "seeded"),
    [({}, None), ({"id": "  "}, None), ({"id": "a"}, b"short")],
    ids=["no-identifier", "blank-identifier", "foreign-cache-value"],
)
def test_what_cannot_be_checked_goes_to_failure_penalized(attributes: dict[str, str], seeded: bytes | None) -> None:
    r, cache = runner()
    if seeded is not None:
        cache.put("a", seeded)
    r.enqueue(b"x", attributes)
    r.run()
    r.assert_all_transferred("failure", 1)
    assert r.flowfiles_for("failure")[0].is_penalized(r.clock())
    assert any(level == "ERROR" for level, _ in r.bulletins)


def test_the_default_identifier_is_the_hash_value_attribute() -> None:
    r = ProcessorRunner(DetectDuplicate)
    r.add_controller_service("cache", LocalMapCacheService)
    r.enable_controller_service("cache")
    r.set_property("distributed-cache-service", "cache")
    r.enqueue_many([(b"1", {"hash.value": "h"}), (b"2", {"hash.value": "h"})])
    r.run()
    r.assert_transferred("non-duplicate", 1)
    r.flowfiles_for("duplicate")[0].assert_attribute_equals("original.flowfile.description", "")


@pytest.mark.parametrize(
    ("setup", "explanation"),
    [
        ("missing", "no controller service with id 'cache' exists in this component's scope"),
        ("disabled", "controller service 'LocalMapCacheService' (LocalMapCacheService) is not enabled"),
        ("wrong-api", "controller service 'SimpleKeyValueLookupService' (SimpleKeyValueLookupService) does not "
                      "provide the DistributedMapCacheClient API"),
    ],
)
def test_a_missing_disabled_or_unsuitable_cache_makes_it_invalid(setup: str, explanation: str) -> None:
    r = ProcessorRunner(DetectDuplicate)
    r.set_property("Distributed Cache Service", "cache")
    if setup == "disabled":
        r.add_controller_service("cache", LocalMapCacheService)
    elif setup == "wrong-api":
        r.add_controller_service("cache", SimpleKeyValueLookupService)
        r.enable_controller_service("cache")
    r.enqueue(b"x", {"hash.value": "h"})
    with pytest.raises(InvalidComponentError) as info:
        r.run()
    prefix = "DetectDuplicate is invalid: 'Distributed Cache Service' is invalid because "
    assert str(info.value) == prefix + explanation


def test_the_cache_service_is_required() -> None:
    r = ProcessorRunner(DetectDuplicate)
    assert [str(x) for x in r.validation_results()] == [
        "'Distributed Cache Service' is invalid because Distributed Cache Service is required"]


def test_entries_round_trip_and_foreign_values_are_refused() -> None:
    assert decode_entry(encode_entry(1_700_000_000_123, "naïve")) == (1_700_000_000_123, "naïve")
    assert encode_entry(1, "")[:8] == b"\x00\x00\x00\x00\x00\x00\x00\x01"  # NiFi's layout: big-endian ms first
    with pytest.raises(ValueError, match="at least 8 bytes, this one 3"):
        decode_entry(b"abc")
