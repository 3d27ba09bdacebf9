"""Notify through ProcessorRunner over a LocalMapCacheService, and Notify feeding Wait."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from flowyard.processors import _wait_notify
from flowyard.processors.map_cache import LocalMapCacheService
from flowyard.processors.notify import Notify
from flowyard.processors.wait import Wait
from flowyard.runtime.sdk import ProcessingError
from flowyard.runtime.sdk.testing import ProcessorRunner


def runner(properties: Mapping[str, str], cache: LocalMapCacheService | None = None) -> (
    tuple[ProcessorRunner, LocalMapCacheService]
):
    r = ProcessorRunner(Notify)
    service = r.add_controller_service("cache", cache or LocalMapCacheService)
    assert isinstance(service, LocalMapCacheService)
    if cache is None:
        r.enable_controller_service("cache")
    r.set_property("Distributed Cache Service", "cache")
    r.set_property("Release Signal Identifier", "${releaseSignalAttribute}")
    for name, value in properties.items():
        r.set_property(name, value)
    return r, service


def stored(cache: LocalMapCacheService, signal_id: str = "1") -> _wait_notify.Signal:
    signal = _wait_notify.get_signal(cache, signal_id)
    assert signal is not None
    return signal


def test_notify() -> None:
    r, cache = runner({})
    r.enqueue(b"", {"releaseSignalAttribute": "1"})
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_attribute_equals("notified", "true")
    signal = stored(cache)
    assert signal.counts == {"default": 1} and signal.attributes == {}


def test_notify_counters() -> None:
    r, cache = runner({"Attribute Cache Regular Expression": ".*", "Signal Counter Name": "${status}"})
    r.enqueue_many([
        (b"", {"releaseSignalAttribute": "someDataProcessing", "status": "success", "key": "data1"}),
        (b"", {"releaseSignalAttribute": "someDataProcessing", "status": "success", "key": "data2"}),
        (b"", {"releaseSignalAttribute": "someDataProcessing", "status": "failure", "key": "data3"}),
    ])
    r.run(3)
    r.assert_all_transferred("success", 3)
    signal = stored(cache, "someDataProcessing")
    assert signal.counts == {"success": 2, "failure": 1}
    assert signal.attributes["key"] == "data3" and "uuid" not in signal.attributes


@pytest.mark.parametrize(
    ("deltas", "buffer", "expected"),
    [
        (["1", "1", "3"], "1", 5),
        (["1", "1", "3"], "10", 5),
        (["2", "0", "4"], "1", 4),
        (["2", "0", "4"], "10", 4),  # buffered: the 0 clears what came before it, then +4
        (["2", "4", "0"], "10", 0),
        (["-1", "3"], "1", 2),
    ],
)
def test_deltas(deltas: list[str], buffer: str, expected: int) -> None:
    r, cache = runner({"Signal Counter Delta": "${delta}", "Signal Buffer Count": buffer})
    r.enqueue_many([(b"", {"releaseSignalAttribute": "1", "delta": d}) for d in deltas])
    r.run(len(deltas))
    r.assert_all_transferred("success", len(deltas))
    assert stored(cache).count("default") == expected


def test_zero_delta_clears_a_stored_counter() -> None:
    r, cache = runner({"Signal Counter Delta": "${delta}"})
    _wait_notify.notify(cache, "1", {"default": 7, "other": 2}, {})
    r.enqueue(b"", {"releaseSignalAttribute": "1", "delta": "0"})
    r.run()
    assert stored(cache).counts == {"default": 0, "other": 2}


def test_buffer_writes_each_identifier_once() -> None:
    r, cache = runner({"Signal Buffer Count": "10", "Attribute Cache Regular Expression": "k.*"})
    writes: list[str] = []
    original = cache.replace

    def counting(key: str, value: bytes | None, revision: object | None) -> bool:
        writes.append(key)
        return original(key, value, revision)

    cache.replace = counting  # type: ignore[method-assign]
    r.enqueue_many([(b"", {"releaseSignalAttribute": s, "k1": s, "x": "no"}) for s in ["a", "b", "a", "a"]])
    r.run()
    r.assert_all_transferred("success", 4)
    assert sorted(writes) == ["a", "b"]
    assert stored(cache, "a").counts == {"default": 3}
    assert stored(cache, "a").attributes == {"k1": "a"}


@pytest.mark.parametrize(
    "attributes",
    [{}, {"releaseSignalAttribute": ""}, {"releaseSignalAttribute": "1", "delta": "one"},
     {"releaseSignalAttribute": "1", "delta": "1.5"}, {"releaseSignalAttribute": "1", "delta": "99999999999"}],
    ids=["missing", "empty", "word", "decimal", "too-large"],
)
def test_bad_input_goes_to_failure(attributes: dict[str, str]) -> None:
    r, cache = runner({"Signal Counter Delta": "${delta}"})
    r.enqueue(b"", attributes)
    r.run()
    r.assert_all_transferred("failure", 1)
    r.flowfiles_for("failure")[0].assert_attribute_equals("notified", "false")
    assert cache.size() == 0 and r.bulletins


def test_empty_counter_name_is_default() -> None:
    r, cache = runner({"Signal Counter Name": "${missing}"})
    r.enqueue(b"", {"releaseSignalAttribute": "1"})
    r.run()
    assert stored(cache).counts == {"default": 1}


def test_failing_cache_rolls_back() -> None:
    r, cache = runner({})
    cache.on_disabled()
    r.enqueue(b"", {"releaseSignalAttribute": "1"})
    r.run()
    assert isinstance(r.errors[0], ProcessingError)
    assert r.queue_size == 1


@pytest.mark.parametrize("regex", ["(", "a{", "[z-a]"])
def test_invalid_attribute_regex(regex: str) -> None:
    r, _ = runner({"Attribute Cache Regular Expression": regex})
    assert [result.subject for result in r.validation_results()] == ["Attribute Cache Regular Expression"]


def test_java_regex_syntax_is_accepted() -> None:
    r, cache = runner({"Attribute Cache Regular Expression": r"\p{Lower}+\.id"})
    r.enqueue(b"", {"releaseSignalAttribute": "1", "order.id": "7", "Order.id": "8"})
    r.run()
    assert stored(cache).attributes == {"order.id": "7"}


def test_notify_releases_wait_through_one_cache() -> None:
    """A split-and-wait flow: the original waits for fragment.count notifications."""
    notify_runner, cache = runner({"Signal Counter Name": "${outcome}", "Attribute Cache Regular Expression": "r"})
    wait_runner = ProcessorRunner(Wait)
    wait_runner.add_controller_service("cache", cache)
    wait_runner.enable_controller_service("cache")
    for name, value in {"Distributed Cache Service": "cache", "Release Signal Identifier": "${batch}",
                        "Target Signal Count": "${fragment.count}"}.items():
        wait_runner.set_property(name, value)
    wait_runner.enqueue(b"original", {"batch": "b1", "fragment.count": "3"})
    wait_runner.run()
    wait_runner.assert_all_transferred("wait", 1)
    notify_runner.enqueue_many([(b"", {"releaseSignalAttribute": "b1", "outcome": o, "r": o})
                                for o in ("ok", "ok", "failed")])
    notify_runner.run(3)
    waiting = wait_runner.flowfiles_for("wait")[0]
    wait_runner.clear_transfer_state()
    wait_runner.enqueue(waiting.content, waiting.attributes)
    wait_runner.run()
    wait_runner.assert_all_transferred("success", 1)
    released = wait_runner.flowfiles_for("success")[0]
    for key, value in {"wait.counter.ok": "2", "wait.counter.failed": "1", "wait.counter.total": "3",
                       "r": "failed"}.items():
        released.assert_attribute_equals(key, value)
    assert cache.get("b1") is None


def test_illegal_delta_in_a_buffer_fails_alone() -> None:
    r, cache = runner({"Attribute Cache Regular Expression": ".*", "Signal Counter Name": "${status}",
                       "Signal Counter Delta": "${record.count}", "Signal Buffer Count": "10"})
    common = {"releaseSignalAttribute": "someDataProcessing"}
    r.enqueue_many([
        (b"", {**common, "key": "data1", "status": "success", "record.count": "1024"}),
        (b"", {**common, "key": "data2", "status": "success", "record.count": "2048 records"}),
        (b"", {**common, "key": "data3", "status": "failure", "record.count": "512"}),
    ])
    r.run()
    r.assert_transferred("success", 2)
    r.assert_transferred("failure", 1)
    signal = stored(cache, "someDataProcessing")
    assert signal.counts == {"success": 1024, "failure": 512}
    assert signal.attributes["key"] == "data3"


def test_buffer_count_limits_a_trigger() -> None:
    r, cache = runner({"Signal Counter Name": "${status}", "Signal Buffer Count": "2",
                       "Attribute Cache Regular Expression": "key"})
    r.enqueue_many([(b"", {"releaseSignalAttribute": "p", "key": f"data{i}", "status": s})
                    for i, s in enumerate(["success", "success", "failure"], 1)])
    r.run()
    r.assert_all_transferred("success", 2)
    assert stored(cache, "p").counts == {"success": 2} and stored(cache, "p").attributes == {"key": "data2"}
    r.run()
    assert stored(cache, "p").counts == {"success": 2, "failure": 1}
    assert stored(cache, "p").attributes == {"key": "data3"}


def test_regex_matches_whole_names() -> None:
    r, cache = runner({"Attribute Cache Regular Expression": "key[0-9]*"})
    r.enqueue(b"", {"releaseSignalAttribute": "1", "key1": "value", "other.key1": "value"})
    r.run()
    assert stored(cache).attributes == {"key1": "value"}
