"""LookupAttribute with SimpleKeyValueLookupService (and a failing lookup
service), through ProcessorRunner, including invalid service configurations."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from flowyard.processors.lookup_attribute import LookupAttribute
from flowyard.processors.lookup_services import (
    LookupFailureError,
    SimpleKeyValueLookupService,
    StringLookupService,
)
from flowyard.processors.map_cache import LocalMapCacheService
from flowyard.runtime.sdk import ControllerService, ControllerServiceSpec, InvalidComponentError
from flowyard.runtime.sdk.testing import ProcessorRunner

TABLE = {"red": "#ff0000", "blank": "  ", "teal": "#{teal}"}


def runner(lookups: Mapping[str, str], *, include_empty: str | None = None,
           table: Mapping[str, str] = TABLE) -> ProcessorRunner:
    r = ProcessorRunner(LookupAttribute, parameters={"teal": "#008080"})
    r.add_controller_service("colors", SimpleKeyValueLookupService, dict(table))
    r.enable_controller_service("colors")
    r.set_property("Lookup Service", "colors")
    if include_empty is not None:
        r.set_property("Include Empty Values", include_empty)
    for name, key in lookups.items():
        r.set_property(name, key)
    return r


@pytest.mark.parametrize(
    ("include_empty", "color", "relationship", "hex_value"),
    [
        ("true", "red", "matched", "#ff0000"),
        ("true", "teal", "matched", "#008080"),  # the service's values take parameters
        ("true", "blank", "matched", ""),
        ("true", "green", "matched", "null"),  # NiFi's marker for "not found"
        ("false", "red", "matched", "#ff0000"),
        ("false", "blank", "unmatched", None),
        ("false", "green", "unmatched", None),
    ],
)
def test_one_lookup_routes_by_what_was_found(
    include_empty: str, color: str, relationship: str, hex_value: str | None
) -> None:
    r = runner({"hex": "${color}"}, include_empty=include_empty)
    r.enqueue(b"payload", {"color": color})
    r.run()
    r.assert_all_transferred(relationship, 1)
    ff = r.flowfiles_for(relationship)[0]
    ff.assert_attribute_equals("hex", hex_value)
    ff.assert_content_equals(b"payload")


def test_any_match_is_enough_and_every_found_value_is_set() -> None:
    r = runner({"first": "${a}", "second": "${b}"}, include_empty="false")
    r.enqueue_many([(b"1", {"a": "red", "b": "nope"}), (b"2", {"a": "nope", "b": "nope"})])
    r.run()
    (matched,) = r.flowfiles_for("matched")
    matched.assert_attribute_equals("first", "#ff0000")
    matched.assert_attribute_equals("second", None)
    r.flowfiles_for("unmatched")[0].assert_content_equals(b"2")


def test_an_expression_that_fails_sends_the_flowfile_to_failure() -> None:
    r = runner({"hex": "${color:toNumber():divide(0)}"})
    r.enqueue(b"x", {"color": "1"})
    r.run()
    r.assert_all_transferred("failure", 1)
    assert any(level == "ERROR" and "lookup failed" in message for level, message in r.bulletins)


class BrokenLookup(ControllerService, StringLookupService):
    """A lookup service whose source is down."""

    spec = ControllerServiceSpec("Broken.", provides=("StringLookupService",))

    @property
    def required_keys(self) -> frozenset[str]:
        return frozenset({"key"})

    def lookup(self, coordinates: Mapping[str, str], attributes: Mapping[str, str] | None = None) -> str | None:
        raise LookupFailureError("the source is down")


def test_a_lookup_failure_sends_the_flowfile_to_failure_unchanged() -> None:
    r = ProcessorRunner(LookupAttribute)
    r.add_controller_service("broken", BrokenLookup)
    r.enable_controller_service("broken")
    r.set_property("lookup-service", "broken")
    r.set_property("hex", "red")
    r.enqueue(b"x", {"color": "red"})
    r.run()
    r.assert_all_transferred("failure", 1)
    r.flowfiles_for("failure")[0].assert_attribute_equals("hex", None)
    assert r.penalized_count == 0


def test_the_key_value_service_needs_the_key_coordinate() -> None:
    service = SimpleKeyValueLookupService()
    assert service.required_keys == frozenset({"key"})
    with pytest.raises(LookupFailureError, match="lookup coordinates must contain 'key'"):
        service.lookup({"id": "x"})
    assert service.lookup({"key": "x"}) is None  # not enabled yet: an empty table


class TwoKeyLookup(BrokenLookup):
    """Needs two coordinates, which LookupAttribute cannot supply."""

    @property
    def required_keys(self) -> frozenset[str]:
        return frozenset({"a", "b"})


class NoOpService(ControllerService):
    """Provides an unrelated API."""

    spec = ControllerServiceSpec("Unrelated.", provides=("DistributedMapCacheClient",))


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "'Lookup Service' is invalid because no controller service with id 'colors' exists in this "
                    "component's scope"),
        ("disabled", "'Lookup Service' is invalid because controller service 'SimpleKeyValueLookupService' "
                     "(SimpleKeyValueLookupService) is not enabled"),
        ("wrong-api", "'Lookup Service' is invalid because controller service 'LocalMapCacheService' "
                      "(LocalMapCacheService) does not provide the StringLookupService API"),
        ("two-keys", "'Lookup Service' is invalid because LookupAttribute needs a key-value lookup service with "
                     "exactly one required key; TwoKeyLookup requires ['a', 'b']"),
        ("no-dynamic", "'User-Defined Properties' is invalid because at least one dynamic property "
                       "(attribute name -> lookup key) is needed"),
    ],
)
def test_invalid_configurations_say_what_is_wrong(setup: str, expected: str) -> None:
    r = ProcessorRunner(LookupAttribute)
    r.set_property("Lookup Service", "colors")
    if setup != "no-dynamic":
        r.set_property("hex", "${color}")
    service = {"disabled": SimpleKeyValueLookupService, "wrong-api": LocalMapCacheService,
               "two-keys": TwoKeyLookup, "no-dynamic": SimpleKeyValueLookupService}.get(setup)
    if service is not None:
        r.add_controller_service("colors", service)
        if setup != "disabled":
            r.enable_controller_service("colors")
    assert [str(result) for result in r.validation_results()] == [expected]
    r.enqueue(b"x")
    with pytest.raises(InvalidComponentError):
        r.run()
    assert r.queue_size == 1


def test_lookups_see_the_table_of_the_latest_enabling() -> None:
    r = runner({"hex": "${color}"}, include_empty="false")
    r.disable_controller_service("colors")
    r.set_controller_service_property("colors", "red", "crimson")
    r.enable_controller_service("colors")
    r.enqueue(b"x", {"color": "red"})
    r.run()
    r.flowfiles_for("matched")[0].assert_attribute_equals("hex", "crimson")
