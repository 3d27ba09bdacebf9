"""The bounded map behind LocalMapCacheService (eviction strategies) and the
service itself: configuration, lifecycle, atomic operations under threads."""

from __future__ import annotations

import threading

import pytest

from flowyard.processors._bounded_map import BoundedMap, Eviction
from flowyard.processors.map_cache import DistributedMapCacheClient, LocalMapCacheService
from flowyard.processors.update_attribute import UpdateAttribute
from flowyard.runtime.sdk import InvalidComponentError, ProcessingError
from flowyard.runtime.sdk.testing import ProcessorRunner

# -- BoundedMap ---------------------------------------------------------------------------


def filled(eviction: Eviction, *keys: str, capacity: int = 3) -> BoundedMap:
    m = BoundedMap(capacity, eviction)
    for key in keys:
        m.put(key, key.encode())
    return m


@pytest.mark.parametrize(
    ("eviction", "uses", "evicted"),
    [
        # FIFO: uses never matter; the first written goes
        (Eviction.FIFO, ["a", "a", "b"], "a"),
        # LRU: the least recently used goes
        (Eviction.LRU, ["a", "b"], "c"),
        (Eviction.LRU, ["b", "c", "a"], "b"),
        # LFU: the least often used goes; among equals the one that got there first
        (Eviction.LFU, ["a", "a", "b", "c"], "b"),
        (Eviction.LFU, ["c", "b", "a"], "c"),
        (Eviction.LFU, [], "a"),
    ],
)
def test_the_strategy_picks_the_victim(eviction: Eviction, uses: list[str], evicted: str) -> None:
    m = filled(eviction, "a", "b", "c")
    for key in uses:
        assert m.get(key) == key.encode()
    m.put("d", b"d")
    assert len(m) == 3 and m.evictions == 1
    assert sorted(m.keys()) == sorted({"a", "b", "c", "d"} - {evicted})


@pytest.mark.parametrize(("eviction", "evicted"), [(Eviction.FIFO, "b"), (Eviction.LRU, "a"), (Eviction.LFU, "a")])
def test_replacing_a_value_makes_a_new_entry_and_never_evicts(eviction: Eviction, evicted: str) -> None:
    m = filled(eviction, "a", "b", "c")
    for _ in range(3):
        m.get("a")
    m.put("a", b"new")  # not a new key: nothing is evicted; 'a' is now the newest write with no uses
    assert m.evictions == 0 and len(m) == 3
    m.get("b")
    m.get("c")
    m.put("d", b"d")
    assert sorted(m.keys()) == sorted({"a", "b", "c", "d"} - {evicted})


@pytest.mark.parametrize("eviction", list(Eviction))
def test_put_if_absent_contains_and_remove(eviction: Eviction) -> None:
    m = BoundedMap(2, eviction)
    assert m.put_if_absent("k", b"1") is None
    assert m.put_if_absent("k", b"2") == b"1"
    assert m.contains("k") and not m.contains("x")
    assert m.remove("k") and not m.remove("k")
    assert len(m) == 0 and m.get("k") is None


def test_lfu_recovers_its_minimum_after_removals() -> None:
    m = filled(Eviction.LFU, "a", "b", "c")
    for key in ("a", "a", "b", "b", "c", "c", "c"):
        m.get(key)
    m.remove("a")
    m.put("d", b"d")  # count 0, the new minimum
    m.get("d")
    m.get("d")
    m.get("d")
    m.put("e", b"e")  # full: evicts the least used of b(2), c(3), d(3)
    assert sorted(m.keys()) == ["c", "d", "e"]


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity must be at least 1, not 0"):
        BoundedMap(0, Eviction.LRU)


# -- LocalMapCacheService ------------------------------------------------------------------------


def cache_runner(properties: dict[str, str | None] | None = None) -> tuple[ProcessorRunner, LocalMapCacheService]:
    runner = ProcessorRunner(UpdateAttribute)  # any processor: only the runner's services are used
    service = runner.add_controller_service("cache", LocalMapCacheService, properties)
    assert isinstance(service, LocalMapCacheService)
    return runner, service


def test_the_cache_is_a_distributed_map_cache_client_with_nifi_defaults() -> None:
    runner, cache = cache_runner()
    assert isinstance(cache, DistributedMapCacheClient)
    assert LocalMapCacheService.spec.provides == ("DistributedMapCacheClient",)
    node = runner.services.node("cache")
    assert node.static == {"maximum-cache-entries": "10000", "eviction-strategy": "Least Frequently Used"}


def test_operations_are_those_of_the_api() -> None:
    runner, cache = cache_runner()
    runner.enable_controller_service("cache")
    assert cache.get("k") is None and not cache.contains_key("k")
    assert cache.put_if_absent("k", b"v1")
    assert not cache.put_if_absent("k", b"v2")
    assert cache.get_and_put_if_absent("k", b"v3") == b"v1"
    assert cache.get_and_put_if_absent("j", b"w") is None and cache.get("j") == b"w"
    cache.put("k", b"v4")
    assert cache.sub_map(["k", "j", "missing"]) == {"k": b"v4", "j": b"w", "missing": None}
    assert cache.remove("k") and not cache.remove("k")
    assert cache.size() == 1


def test_disabling_empties_the_cache_and_a_disabled_cache_refuses_work() -> None:
    runner, cache = cache_runner({"Maximum Cache Entries": "2", "Eviction Strategy": "First In, First Out"})
    runner.enable_controller_service("cache")
    for key in "abc":
        cache.put(key, b"x")
    assert cache.size() == 2 and cache.evictions == 1 and cache.get("a") is None
    runner.disable_controller_service("cache")
    assert cache.size() == 0 and cache.evictions == 0
    with pytest.raises(ProcessingError, match="the map cache is not enabled"):
        cache.get("b")
    runner.enable_controller_service("cache")
    assert cache.get("b") is None


@pytest.mark.parametrize(
    ("properties", "subject"),
    [
        ({"Maximum Cache Entries": "0"}, "Maximum Cache Entries"),
        ({"Eviction Strategy": "Random"}, "Eviction Strategy"),
    ],
)
def test_invalid_settings_keep_the_cache_disabled(properties: dict[str, str | None], subject: str) -> None:
    runner, _ = cache_runner(properties)
    with pytest.raises(InvalidComponentError, match=f"'{subject}' is invalid"):
        runner.enable_controller_service("cache")


def test_concurrent_put_if_absent_lets_exactly_one_thread_win_each_key() -> None:
    runner, cache = cache_runner({"Maximum Cache Entries": "100000"})
    runner.enable_controller_service("cache")
    threads = 8
    keys = [f"k{i}" for i in range(2000)]
    wins: list[list[str]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def work(index: int) -> None:
        start.wait()
        for key in keys:
            if cache.get_and_put_if_absent(key, str(index).encode()) is None:
                wins[index].append(key)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    won = [key for w in wins for key in w]
    assert sorted(won) == sorted(keys)  # every key won once, none twice
    assert all(cache.get(key) == str(i).encode() for i, w in enumerate(wins) for key in w)
