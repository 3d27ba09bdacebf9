"""RedisConnectionPoolService and RedisDistributedMapCacheClientService against
the real Redis on 127.0.0.1:6379: the map cache API (as LocalMapCacheService's
tests check it), atomicity under threads, and DetectDuplicate, Wait/Notify and
Put/FetchDistributedMapCache shared by two runners standing for two processes.

Every test writes only keys under its own uuid prefix and deletes them after."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Mapping

import pytest
import redis

from flowyard.processors import _wait_notify
from flowyard.processors.detect_duplicate import DetectDuplicate
from flowyard.processors.fetch_distributed_map_cache import FetchDistributedMapCache
from flowyard.processors.map_cache import DistributedMapCacheClient
from flowyard.processors.notify import Notify
from flowyard.processors.put_distributed_map_cache import PutDistributedMapCache
from flowyard.processors.redis_connection_pool import RedisConnectionPoolService, parse_connection_string
from flowyard.processors.redis_map_cache import RedisDistributedMapCacheClientService
from flowyard.processors.ssl_context_service import SSL_CONTEXT_SERVICE
from flowyard.processors.update_attribute import UpdateAttribute
from flowyard.processors.wait import Wait
from flowyard.runtime.sdk import (
    ControllerService,
    ControllerServiceSpec,
    FlowyardError,
    InvalidComponentError,
    ProcessingError,
    Processor,
)
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration

ADDRESS = "127.0.0.1:6379"


@pytest.fixture
def prefix() -> Iterator[str]:
    """A unique key prefix; every key under it is deleted after the test."""
    text = f"flowyard-test-{uuid.uuid4().hex}:"
    yield text
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        keys = list(client.scan_iter(match=f"{text}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def with_cache(r: ProcessorRunner, pool: Mapping[str, str | None] | None = None,
               ttl: str | None = None) -> RedisDistributedMapCacheClientService:
    """Add an enabled pool ("pool") and Redis map cache ("cache") to ``r``."""
    r.add_controller_service("pool", RedisConnectionPoolService, {"Connection String": ADDRESS, **(pool or {})})
    r.enable_controller_service("pool")
    cache = r.add_controller_service(
        "cache", RedisDistributedMapCacheClientService,
        {"Redis Connection Pool": "pool", **({"TTL": ttl} if ttl else {})})
    assert isinstance(cache, RedisDistributedMapCacheClientService)
    r.enable_controller_service("cache")
    return cache


def cache_runner(ttl: str | None = None) -> tuple[ProcessorRunner, RedisDistributedMapCacheClientService]:
    r = ProcessorRunner(UpdateAttribute)  # any processor: only the runner's services are used
    return r, with_cache(r, ttl=ttl)


# -- the map cache API ---------------------------------------------------------------------


def test_the_cache_is_a_distributed_map_cache_client_with_nifi_defaults() -> None:
    r, cache = cache_runner()
    assert isinstance(cache, DistributedMapCacheClient)
    assert RedisDistributedMapCacheClientService.spec.provides == ("DistributedMapCacheClient",)
    assert r.services.node("cache").static == {"redis-connection-pool": "pool", "redis-cache-ttl": "0 secs"}
    assert r.services.node("pool").static["redis-mode"] == "Standalone"


def test_operations_are_those_of_the_api(prefix: str) -> None:
    _, cache = cache_runner()
    k, j = f"{prefix}k", f"{prefix}j"
    assert cache.get(k) is None and not cache.contains_key(k)
    assert cache.put_if_absent(k, b"v1")
    assert not cache.put_if_absent(k, b"v2")
    assert cache.get_and_put_if_absent(k, b"v3") == b"v1"
    assert cache.get_and_put_if_absent(j, b"w") is None and cache.get(j) == b"w"
    cache.put(k, b"v4")
    assert cache.sub_map([k, j, f"{prefix}missing"]) == {k: b"v4", j: b"w", f"{prefix}missing": None}
    assert cache.sub_map([]) == {}
    assert cache.remove(k) and not cache.remove(k)
    assert cache.contains_key(j)


def test_values_are_bytes_and_keys_utf8_as_nifi_stores_them(prefix: str) -> None:
    _, cache = cache_runner()
    key = f"{prefix}clé"
    cache.put(key, b"\x00\xff binary")
    raw = redis.Redis(host="127.0.0.1", port=6379)
    try:
        assert raw.get(key.encode()) == b"\x00\xff binary"
    finally:
        raw.close()


def test_compare_and_set(prefix: str) -> None:
    _, cache = cache_runner()
    key = f"{prefix}signal"
    assert cache.fetch(key) is None
    assert not cache.replace(key, b"x", b"not there")
    assert cache.replace(key, b"1", None)  # None revision: only if absent
    assert not cache.replace(key, b"again", None)
    entry = cache.fetch(key)
    assert entry is not None
    value, revision = entry
    assert value == b"1"
    cache.put(key, b"changed")
    assert not cache.replace(key, b"2", revision)  # changed since fetched
    entry = cache.fetch(key)
    assert entry is not None
    assert cache.replace(key, b"2", entry[1]) and cache.get(key) == b"2"
    assert not cache.replace(key, None, entry[1])
    assert cache.replace(key, None, b"2") and cache.get(key) is None
    assert not cache.replace(key, b"x", object())


def test_ttl_expires_every_kind_of_write(prefix: str) -> None:
    _, cache = cache_runner(ttl="300 millis")
    cache.put(f"{prefix}a", b"1")
    assert cache.put_if_absent(f"{prefix}b", b"1")
    assert cache.get_and_put_if_absent(f"{prefix}c", b"1") is None
    assert cache.replace(f"{prefix}d", b"1", None)
    raw = redis.Redis(host="127.0.0.1", port=6379)
    try:
        ttls = [raw.pttl(f"{prefix}{k}") for k in "abcd"]
    finally:
        raw.close()
    assert all(0 < t <= 300 for t in ttls), ttls
    deadline = time.monotonic() + 3
    while cache.sub_map(f"{prefix}{k}" for k in "abcd") != {f"{prefix}{k}": None for k in "abcd"}:
        assert time.monotonic() < deadline, "entries did not expire"
        time.sleep(0.05)


def test_without_ttl_entries_do_not_expire(prefix: str) -> None:
    _, cache = cache_runner()
    cache.put(f"{prefix}a", b"1")
    raw = redis.Redis(host="127.0.0.1", port=6379)
    try:
        assert raw.pttl(f"{prefix}a") == -1
    finally:
        raw.close()


def test_concurrent_put_if_absent_lets_exactly_one_thread_win_each_key(prefix: str) -> None:
    _, cache = cache_runner()
    threads = 4
    keys = [f"{prefix}k{i}" for i in range(200)]
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
        t.join(10)
    won = [key for w in wins for key in w]
    assert sorted(won) == sorted(keys)
    assert all(cache.get(key) == str(i).encode() for i, w in enumerate(wins) for key in w)


def test_compare_and_set_loses_no_increment_across_two_services(prefix: str) -> None:
    """Two services (two pools, as two processes would have) increment one counter."""
    caches = [cache_runner()[1] for _ in range(2)]
    key = f"{prefix}counter"
    per_thread = 50

    def work(cache: RedisDistributedMapCacheClientService) -> None:
        done = 0
        while done < per_thread:
            entry = cache.fetch(key)
            current = int(entry[0]) if entry else 0
            if cache.replace(key, str(current + 1).encode(), entry[1] if entry else None):
                done += 1

    workers = [threading.Thread(target=work, args=(c,)) for c in caches for _ in range(2)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(10)
    assert caches[0].get(key) == str(4 * per_thread).encode()


def test_disabled_cache_refuses_work(prefix: str) -> None:
    r, cache = cache_runner()
    r.disable_controller_service("cache")
    with pytest.raises(ProcessingError, match="the Redis map cache is not enabled"):
        cache.get(f"{prefix}a")


def test_an_unreachable_server_keeps_the_pool_disabled(prefix: str) -> None:
    r, _ = cache_runner()
    r.disable_controller_service("cache")
    r.disable_controller_service("pool")
    r.set_controller_service_property("pool", "Connection String", "127.0.0.1:1")
    with pytest.raises(FlowyardError, match=r"cannot reach Redis at 127\.0\.0\.1:1"):
        r.enable_controller_service("pool")
    pool = r.services.node("pool").service
    assert isinstance(pool, RedisConnectionPoolService)
    with pytest.raises(ProcessingError, match="not enabled"):
        pool.client()


# -- the connection pool -------------------------------------------------------------------


@pytest.mark.parametrize(("properties", "reason"), [
    ({"Redis Mode": "Sentinel", "Sentinel Master": "m"}, "the Sentinel mode is not supported yet"),
    ({"Redis Mode": "Cluster"}, "the Cluster mode is not supported yet"),
    ({"Connection String": "127.0.0.1:6379,127.0.0.1:6380"}, "the Standalone mode takes exactly one host:port"),
    ({"Connection String": "localhost"}, "'localhost' is not host:port"),
    ({"Connection String": "h:99999"}, "'h:99999' is not host:port"),
    ({"Database Index": "-1"}, "'Database Index' is invalid"),
    ({"Pool - Max Total": "0"}, "'Pool - Max Total' is invalid"),
    ({"Communication Timeout": "soon"}, "'Communication Timeout' is invalid"),
])
def test_invalid_pool_settings(properties: dict[str, str | None], reason: str) -> None:
    r = ProcessorRunner(UpdateAttribute)
    r.add_controller_service("pool", RedisConnectionPoolService, {"Connection String": ADDRESS, **properties})
    with pytest.raises(InvalidComponentError, match=reason):
        r.enable_controller_service("pool")


class _AnyTls(ControllerService):
    spec = ControllerServiceSpec(description="stands for any TLS service", provides=(SSL_CONTEXT_SERVICE,))


def test_tls_is_refused_with_a_reason() -> None:
    r = ProcessorRunner(UpdateAttribute)
    r.add_controller_service("tls", _AnyTls)
    r.enable_controller_service("tls")
    r.add_controller_service("pool", RedisConnectionPoolService,
                             {"Connection String": ADDRESS, "SSL Context Service": "tls"})
    with pytest.raises(InvalidComponentError, match="TLS to Redis is not supported yet"):
        r.enable_controller_service("pool")


@pytest.mark.parametrize(("properties", "reason"), [
    ({"Username": f"nobody-{uuid.uuid4().hex}", "Password": "wrong"},
     "cannot reach Redis at 127.0.0.1:6379: invalid username-password pair"),
    ({"Database Index": "100000"}, "cannot reach Redis at 127.0.0.1:6379: .*DB index"),
])
def test_the_server_refusing_keeps_the_pool_disabled(properties: dict[str, str | None], reason: str) -> None:
    r = ProcessorRunner(UpdateAttribute)
    r.add_controller_service("pool", RedisConnectionPoolService, {"Connection String": ADDRESS, **properties})
    with pytest.raises(FlowyardError, match=reason):
        r.enable_controller_service("pool")


def test_database_index_separates_entries(prefix: str) -> None:
    _, db0 = cache_runner()
    r1 = ProcessorRunner(UpdateAttribute)
    db1 = with_cache(r1, {"Database Index": "1"})
    db0.put(f"{prefix}a", b"0")
    try:
        assert db1.get(f"{prefix}a") is None
        db1.put(f"{prefix}a", b"1")
        assert db0.get(f"{prefix}a") == b"0"
    finally:
        db1.remove(f"{prefix}a")


def test_an_exhausted_pool_that_does_not_block_fails_at_once(prefix: str) -> None:
    r = ProcessorRunner(UpdateAttribute)
    with_cache(r, {"Pool - Max Total": "1", "Pool - Block When Exhausted": "false"})
    pool = r.services.node("pool").service
    assert isinstance(pool, RedisConnectionPoolService)
    held = pool.client().connection_pool.get_connection()
    try:
        with pytest.raises(redis.ConnectionError, match="Too many connections"):
            pool.client().get(f"{prefix}a")
    finally:
        pool.client().connection_pool.release(held)
    assert pool.client().get(f"{prefix}a") is None


@pytest.mark.parametrize(("text", "nodes"), [
    ("127.0.0.1:6379", [("127.0.0.1", 6379)]),
    (" a:1 , b:2 ", [("a", 1), ("b", 2)]),
    ("[::1]:6379", [("::1", 6379)]),
])
def test_connection_strings(text: str, nodes: list[tuple[str, int]]) -> None:
    assert parse_connection_string(text) == nodes


# -- processors in two "processes" sharing Redis ------------------------------------------------


def processor(cls: type[Processor], properties: Mapping[str, str]) -> ProcessorRunner:
    """A runner for ``cls`` with its own pool and Redis cache: a separate process in all but name."""
    r = ProcessorRunner(cls)
    with_cache(r)
    r.set_property("Distributed Cache Service", "cache")
    for name, value in properties.items():
        r.set_property(name, value)
    return r


def test_detect_duplicate_across_two_processes(prefix: str) -> None:
    properties = {"Cache Entry Identifier": f"{prefix}${{id}}", "FlowFile Description": "${filename}"}
    first, second = processor(DetectDuplicate, properties), processor(DetectDuplicate, properties)
    first.enqueue(b"1", {"id": "a", "filename": "seen first"})
    first.run()
    first.assert_all_transferred("non-duplicate", 1)
    second.enqueue_many([(b"2", {"id": "a", "filename": "later"}), (b"3", {"id": "b", "filename": "new"})])
    second.run()
    (duplicate,) = second.flowfiles_for("duplicate")
    duplicate.assert_content_equals(b"2")
    duplicate.assert_attribute_equals("original.flowfile.description", "seen first")
    assert [f.content for f in second.flowfiles_for("non-duplicate")] == [b"3"]


def test_wait_and_notify_across_two_processes(prefix: str) -> None:
    signal = f"{prefix}batch"
    wait = processor(Wait, {"Release Signal Identifier": "${batch}", "Target Signal Count": "${fragment.count}"})
    notify = processor(Notify, {"Release Signal Identifier": "${batch}", "Signal Counter Name": "${outcome}"})
    wait.enqueue(b"original", {"batch": signal, "fragment.count": "3"})
    wait.run()
    wait.assert_all_transferred("wait", 1)
    notify.enqueue_many([(b"", {"batch": signal, "outcome": o}) for o in ("ok", "ok", "failed")])
    notify.run(3)
    notify.assert_all_transferred("success", 3)
    waiting = wait.flowfiles_for("wait")[0]
    wait.clear_transfer_state()
    wait.enqueue(waiting.content, waiting.attributes)
    wait.run()
    wait.assert_all_transferred("success", 1)
    released = wait.flowfiles_for("success")[0]
    for key, value in {"wait.counter.ok": "2", "wait.counter.failed": "1", "wait.counter.total": "3"}.items():
        released.assert_attribute_equals(key, value)
    cache = wait.services.node("cache").service
    assert isinstance(cache, RedisDistributedMapCacheClientService)
    assert _wait_notify.get_signal(cache, signal) is None


def test_put_and_fetch_across_two_processes(prefix: str) -> None:
    put = processor(PutDistributedMapCache, {"Cache Entry Identifier": f"{prefix}${{id}}"})
    fetch = processor(FetchDistributedMapCache, {"Cache Entry Identifier": f"{prefix}${{id}}"})
    put.enqueue(b"hello", {"id": "greeting"})
    put.run()
    put.assert_all_transferred("success", 1)
    fetch.enqueue_many([(b"", {"id": "greeting"}), (b"", {"id": "absent"})])
    fetch.run(2)
    fetch.flowfiles_for("success")[0].assert_content_equals(b"hello")
    assert len(fetch.flowfiles_for("not-found")) == 1
