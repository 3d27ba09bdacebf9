"""Wait through ProcessorRunner over a LocalMapCacheService, the signal protocol,
and the cache's compare-and-set; cases from NiFi's TestWait."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping

import pytest

from flowyard.processors import _wait_notify
from flowyard.processors.map_cache import LocalMapCacheService
from flowyard.processors.wait import Wait
from flowyard.runtime.sdk import ProcessingError
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

CACHED = {"both": "notifyValue", "uuid": "notifyUuid", "notify.only": "notifyValue"}
WAITING = {"releaseSignalAttribute": "key", "wait.only": "waitValue", "both": "waitValue"}


def runner(properties: Mapping[str, str]) -> tuple[ProcessorRunner, LocalMapCacheService]:
    r = ProcessorRunner(Wait)
    cache = r.add_controller_service("cache", LocalMapCacheService)
    assert isinstance(cache, LocalMapCacheService)
    r.enable_controller_service("cache")
    r.set_property("Distributed Cache Service", "cache")
    r.set_property("Release Signal Identifier", "${releaseSignalAttribute}")
    for name, value in properties.items():
        r.set_property(name, value)
    return r, cache


def notify(cache: LocalMapCacheService, signal_id: str, counter: str, delta: int,
           attributes: Mapping[str, str] | None = None) -> None:
    _wait_notify.notify(cache, signal_id, {counter: delta}, attributes or {})


def signal(cache: LocalMapCacheService, signal_id: str = "key") -> _wait_notify.Signal | None:
    return _wait_notify.get_signal(cache, signal_id)


def loop_back(r: ProcessorRunner, relationship: str = "wait") -> list[MockFlowFile]:
    """Take what went to ``relationship`` and enqueue it again (the wait loop)."""
    looped = r.flowfiles_for(relationship)
    r.clear_transfer_state()
    r.enqueue_many([(ff.content, ff.attributes) for ff in looped])
    return looped


def contents(r: ProcessorRunner, relationship: str) -> list[str]:
    return [ff.content.decode() for ff in r.flowfiles_for(relationship)]


def test_wait_without_signal() -> None:
    r, _ = runner({})
    r.enqueue(b"", {"releaseSignalAttribute": "1"})
    r.run()
    r.assert_all_transferred("wait", 1)
    ff = r.flowfiles_for("wait")[0]
    ff.assert_attribute_equals("wait.start.timestamp", str(r.clock.now_ms))
    assert "wait.counter.total" not in ff.attributes


def test_keep_in_upstream_connection() -> None:
    r, _ = runner({"Wait Mode": "keep"})
    r.enqueue(b"", {"releaseSignalAttribute": "1"})
    r.run()
    r.assert_transferred("wait", 0)
    assert r.queue_size == 1
    r.input_flowfiles()[0].assert_attribute_exists("wait.start.timestamp")


def test_expired() -> None:
    r, _ = runner({"Expiration Duration": "100 ms"})
    r.enqueue(b"", {"releaseSignalAttribute": "1"})
    r.run()
    r.assert_all_transferred("wait", 1)
    loop_back(r)
    r.clock.advance(0.1)
    r.run()
    r.assert_all_transferred("wait", 1)  # exactly at the limit it still waits, as NiFi (now > start + duration)
    loop_back(r)
    r.clock.advance(0.001)
    r.run()
    r.assert_all_transferred("expired", 1)
    r.flowfiles_for("expired")[0].assert_attribute_equals("wait.start.timestamp", None)


def test_counter_expired_gets_the_signal_attributes() -> None:
    r, cache = runner({"Target Signal Count": "5", "Expiration Duration": "100 ms"})
    r.enqueue(b"", {"releaseSignalAttribute": "notification-id"})
    r.run()
    loop_back(r)
    attributes = {"signal-attr-1": "signal-attr-1-value", "signal-attr-2": "signal-attr-2-value"}
    notify(cache, "notification-id", "counter-A", 1, attributes)
    notify(cache, "notification-id", "counter-B", 2, attributes)
    r.clock.advance(0.101)
    r.run()
    r.assert_all_transferred("expired", 1)
    ff = r.flowfiles_for("expired")[0]
    assert "wait.start.timestamp" not in ff.attributes
    for key, value in {"wait.counter.total": "3", "wait.counter.counter-A": "1", "wait.counter.counter-B": "2",
                       **attributes}.items():
        ff.assert_attribute_equals(key, value)


@pytest.mark.parametrize(
    "attributes",
    [{"releaseSignalAttribute": "1", "wait.start.timestamp": "blue bunny"}, {}, {"releaseSignalAttribute": " "}],
    ids=["bad-timestamp", "no-identifier", "blank-identifier"],
)
def test_failures_are_penalized_without_timestamp(attributes: dict[str, str]) -> None:
    r, _ = runner({"Expiration Duration": "100 ms"})
    r.enqueue(b"", attributes)
    r.run()
    r.assert_all_transferred("failure", 1)
    ff = r.flowfiles_for("failure")[0]
    assert "wait.start.timestamp" not in ff.attributes and "wait.counter.total" not in ff.attributes
    assert ff.is_penalized(r.clock.now_ms)
    assert r.bulletins


def test_failing_cache_rolls_back() -> None:
    r, _ = runner({})
    r.disable_controller_service("cache")
    r.enable_controller_service("cache")
    cache = r.controller_service("cache")
    assert isinstance(cache, LocalMapCacheService)
    cache.on_disabled()  # the service fails every call now
    r.enqueue(b"", {"releaseSignalAttribute": "2"})
    r.run()
    assert isinstance(r.errors[0], ProcessingError)
    assert r.queue_size == 1 and r.penalized_count == 1


def test_wait_penalty_duration() -> None:
    r, _ = runner({"Wait Penalty Duration": "1 hour"})
    r.enqueue(b"", {"releaseSignalAttribute": "1"})
    r.run(stop_on_finish=False)
    r.assert_all_transferred("wait", 1)
    r.clear_transfer_state()
    r.enqueue(b"", {"releaseSignalAttribute": "1"})
    r.enqueue(b"", {"releaseSignalAttribute": "2"})
    r.run(stop_on_finish=False, initialize=False)
    assert [ff.attributes["releaseSignalAttribute"] for ff in r.flowfiles_for("wait")] == ["2"]
    assert r.queue_size == 1  # the penalized identifier's FlowFile stays queued
    r.clear_transfer_state()
    yields = r.yield_count
    r.run(stop_on_finish=False, initialize=False)  # only a penalized identifier is queued: it yields
    assert r.yield_count == yields + 1 and r.queue_size == 1
    r.clock.advance(3601)
    r.run(initialize=False)
    assert [ff.attributes["releaseSignalAttribute"] for ff in r.flowfiles_for("wait")] == ["1"]


@pytest.mark.parametrize(("mode", "both"), [("replace", "notifyValue"), ("keeporiginal", "waitValue")])
def test_attribute_copy_mode(mode: str, both: str) -> None:
    r, cache = runner({"Attribute Copy Mode": mode})
    notify(cache, "key", "default", 1, CACHED)
    r.enqueue(b"content", WAITING)
    r.run()
    r.assert_all_transferred("success", 1)
    ff = r.flowfiles_for("success")[0]
    assert "wait.start.timestamp" not in ff.attributes
    assert (ff.attributes["notify.only"], ff.attributes["wait.only"], ff.attributes["both"]) == (
        "notifyValue", "waitValue", both)
    assert ff.attributes["uuid"] != "notifyUuid"
    assert signal(cache) is None  # the wait completed: the signal is removed


def test_wait_for_total_count() -> None:
    r, cache = runner({"Target Signal Count": "${targetSignalCount}"})
    notify(cache, "key", "counter-A", 1, CACHED)
    r.enqueue(b"content", {**WAITING, "targetSignalCount": "3"})
    r.run()
    r.assert_all_transferred("wait", 1)
    initial = r.flowfiles_for("wait")[0].attributes["wait.start.timestamp"]
    loop_back(r)
    notify(cache, "key", "counter-B", 1, CACHED)
    r.clock.advance(1)
    r.run()
    r.assert_all_transferred("wait", 1)
    r.flowfiles_for("wait")[0].assert_attribute_equals("wait.start.timestamp", initial)
    loop_back(r)
    notify(cache, "key", "counter-C", 1, CACHED)
    r.run()
    r.assert_all_transferred("success", 1)
    ff = r.flowfiles_for("success")[0]
    assert "wait.start.timestamp" not in ff.attributes
    ff.assert_attribute_equals("both", "waitValue")
    ff.assert_attribute_equals("wait.counter.total", "3")
    assert signal(cache) is None


def test_wait_for_specific_count() -> None:
    r, cache = runner({"Target Signal Count": "${targetSignalCount}", "Signal Counter Name": "${signalCounterName}"})
    notify(cache, "key", "counter-A", 1, CACHED)
    r.enqueue(b"content", {**WAITING, "targetSignalCount": "2", "signalCounterName": "counter-B"})
    r.run()
    r.assert_all_transferred("wait", 1)
    for counter in ("counter-B", "counter-C"):
        loop_back(r)
        notify(cache, "key", counter, 1, CACHED)
        r.run()
        r.assert_all_transferred("wait", 1)
    loop_back(r)
    notify(cache, "key", "counter-B", 1, CACHED)
    r.run()
    r.assert_all_transferred("success", 1)
    ff = r.flowfiles_for("success")[0]
    expected = {"wait.counter.total": "4", "wait.counter.counter-A": "1", "wait.counter.counter-B": "2",
                "wait.counter.counter-C": "1", "notify.only": "notifyValue", "both": "waitValue"}
    for key, value in expected.items():
        ff.assert_attribute_equals(key, value)
    remaining = signal(cache)
    assert remaining is not None and remaining.counts == {"counter-A": 1, "counter-B": 0, "counter-C": 1}


def test_decrement_cache() -> None:
    r, cache = runner({"Signal Counter Name": "${signalCounterName}", "Target Signal Count": "1"})
    notify(cache, "key", "counter", 1, CACHED)
    notify(cache, "key", "counter", 1, CACHED)
    attributes = {**WAITING, "signalCounterName": "counter"}
    r.enqueue(b"content", attributes)
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_attribute_equals("wait.counter.counter", "2")
    stored = signal(cache)
    assert stored is not None and (stored.count("counter"), stored.releasable_count) == (0, 1)
    r.clear_transfer_state()
    r.enqueue(b"content", attributes)
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_attribute_equals("wait.counter.counter", "0")
    assert signal(cache) is None


def test_wait_buffer_count_takes_one_identifier_per_trigger() -> None:
    r, cache = runner({"Target Signal Count": "${targetSignalCount}", "Signal Counter Name": "counter",
                       "Wait Buffer Count": "2"})
    a = {"releaseSignalAttribute": "key-A", "targetSignalCount": "1"}
    b = {"releaseSignalAttribute": "key-B", "targetSignalCount": "3"}
    r.enqueue_many([("1", b), ("2", a), ("3", {"targetSignalCount": "3"}), ("4", a), ("5", b), ("6", b)])
    r.run()  # picks 1 and 5 (key-B), skips 2 and 4 (key-A), fails 3
    assert contents(r, "wait") == ["1", "5"]
    assert contents(r, "failure") == ["3"]
    assert [ff.content for ff in r.input_flowfiles()] == [b"6", b"2", b"4"]  # the unseen one stays ahead
    loop_back(r)
    notify(cache, "key-B", "counter", 3, {"notified": "notified-value"})
    r.run()  # picks 6 and 1 (key-B): three signals release one FlowFile
    assert contents(r, "success") == ["6"]
    assert contents(r, "wait") == ["1"]
    r.flowfiles_for("success")[0].assert_attribute_equals("notified", "notified-value")


def test_release_multiple_flowfiles() -> None:
    r, cache = runner({"Target Signal Count": "${targetSignalCount}", "Signal Counter Name": "counter",
                       "Wait Buffer Count": "2", "Releasable FlowFile Count": "${fragmentCount}"})
    attributes = {"releaseSignalAttribute": "key", "targetSignalCount": "3", "fragmentCount": "6"}
    r.enqueue_many([(str(i), attributes) for i in range(1, 7)])
    r.run()
    assert contents(r, "wait") == ["1", "2"]
    assert signal(cache) is None
    loop_back(r)
    notify(cache, "key", "counter", 3)
    r.run()
    assert contents(r, "success") == ["3", "4"]
    stored = signal(cache)
    assert stored is not None and (stored.count("counter"), stored.releasable_count) == (0, 4)
    r.clear_transfer_state()
    r.run()
    assert contents(r, "success") == ["5", "6"]
    stored = signal(cache)
    assert stored is not None and stored.releasable_count == 2


def test_open_gate() -> None:
    r, cache = runner({"Target Signal Count": "3", "Signal Counter Name": "counter", "Wait Buffer Count": "2",
                       "Releasable FlowFile Count": "0"})
    r.enqueue_many([(str(i), {"releaseSignalAttribute": "key"}) for i in range(1, 7)])
    r.run()
    assert contents(r, "wait") == ["1", "2"]
    loop_back(r)
    notify(cache, "key", "counter", 3)
    for expected in (["3", "4"], ["5", "6"], ["1", "2"]):
        r.run()
        assert contents(r, "success") == expected
        stored = signal(cache)
        assert stored is not None and (stored.count("counter"), stored.releasable_count) == (3, 0)
        r.clear_transfer_state()
    notify(cache, "key", "counter", 0)  # close the gate
    r.enqueue(b"7", {"releaseSignalAttribute": "key"})
    r.run()
    assert contents(r, "wait") == ["7"]


@pytest.mark.parametrize(
    ("target", "releasable"), [("x", "1"), ("1", "many"), ("0", "1")],
)
def test_unusable_counts_fail(target: str, releasable: str) -> None:
    r, cache = runner({"Target Signal Count": "${t}", "Releasable FlowFile Count": "${r}"})
    notify(cache, "key", "default", 1)
    r.enqueue(b"", {"releaseSignalAttribute": "key", "t": target, "r": releasable})
    r.run()
    r.assert_all_transferred("failure", 1)


def test_invalid_static_properties() -> None:
    for name, value in [("Target Signal Count", "-1"), ("Wait Buffer Count", "0"), ("Expiration Duration", "x"),
                        ("Wait Mode", "sleep"), ("Wait Penalty Duration", "soon")]:
        r, _ = runner({name: value})
        r.assert_not_valid()


def test_legacy_property_names() -> None:
    r = ProcessorRunner(Wait)
    for legacy in ["release-signal-id", "target-signal-count", "signal-counter-name", "wait-buffer-count",
                   "releasable-flowfile-count", "expiration-duration", "attribute-copy-mode", "wait-mode",
                   "wait-penalty-duration", "distributed-cache-service"]:
        r.set_property(legacy, "1")
    properties = r.context.properties
    assert properties["release-signal-identifier"] == "1" and properties["wait-penalty-duration"] == "1"


# -- the protocol and the cache ---------------------------------------------------------


def enabled_cache() -> LocalMapCacheService:
    r = ProcessorRunner(Wait)
    cache = r.add_controller_service("cache", LocalMapCacheService)
    r.enable_controller_service("cache")
    assert isinstance(cache, LocalMapCacheService)
    return cache


def test_signal_is_stored_as_nifi_json() -> None:
    cache = enabled_cache()
    notify(cache, "id", "counter-A", 2, {"k": "v"})
    stored = cache.get("id")
    assert stored is not None
    assert json.loads(stored) == {"counts": {"counter-A": 2}, "attributes": {"k": "v"}, "releasableCount": 0}
    cache.put("other", b"not json")
    with pytest.raises(ProcessingError, match="not a Wait/Notify signal"):
        _wait_notify.get_signal(cache, "other")


def test_release_with_total_counts_consumed() -> None:
    s = _wait_notify.Signal("id", {"a": 2, "b": 3})
    released, waiting = s.release(None, 2, 1, ["x", "y", "z"])
    assert (released, waiting) == (["x", "y"], ["z"])
    assert s.counts == {"a": 2, "b": 3, "consumed": -4} and s.total_count == 1 and s.releasable_count == 0


def test_compare_and_set() -> None:
    cache = enabled_cache()
    assert cache.fetch("k") is None
    assert cache.replace("k", b"1", None)
    assert not cache.replace("k", b"2", None)
    entry = cache.fetch("k")
    assert entry is not None
    value, revision = entry
    assert value == b"1"
    cache.put("k", b"changed")
    assert not cache.replace("k", b"3", revision)
    assert not cache.replace("k", None, revision)
    assert cache.replace("k", None, b"changed")
    assert cache.get("k") is None


def test_conflicting_wait_rolls_back() -> None:
    r, cache = runner({})
    notify(cache, "key", "default", 1)
    original = cache.replace

    def interfering(key: str, value: bytes | None, revision: object | None) -> bool:
        cache.put(key, b'{"counts":{"default":5},"attributes":{},"releasableCount":0}')
        return original(key, value, revision)

    cache.replace = interfering  # type: ignore[method-assign]
    r.enqueue(b"", {"releaseSignalAttribute": "key"})
    r.run()
    assert isinstance(r.errors[0], _wait_notify.SignalConflictError)
    r.assert_transferred("success", 0)
    assert r.queue_size == 1


def test_concurrent_notifies_lose_nothing() -> None:
    cache = enabled_cache()

    def work() -> None:
        for _ in range(50):
            notify(cache, "id", "n", 1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    stored = signal(cache, "id")
    assert stored is not None and stored.count("n") == 200
