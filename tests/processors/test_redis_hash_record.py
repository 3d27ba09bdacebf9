"""PutRedisHashRecord against the real Redis on 127.0.0.1:6379 with a JSON
record reader; every hash key is under a uuid prefix and deleted after."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from flowyard.processors.json_record_services import JsonTreeReader
from flowyard.processors.redis_connection_pool import RedisConnectionPoolService
from flowyard.processors.redis_hash_record import PutRedisHashRecord, parse_child_path
from flowyard.runtime.sdk import InvalidComponentError
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration


@pytest.fixture
def raw() -> Iterator[tuple[redis.Redis, str]]:
    """A client and a unique key prefix; every key under it is deleted after the test."""
    client = redis.Redis(host="127.0.0.1", port=6379)
    prefix = f"flowyard-test-{uuid.uuid4().hex}:"
    yield client, prefix
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


_RUNNERS: list[ProcessorRunner] = []


@pytest.fixture(autouse=True)
def _close_the_pools() -> Iterator[None]:
    """Disable every pool a test enabled, so no connection is left for the collector to warn about."""
    yield
    while _RUNNERS:
        r = _RUNNERS.pop()
        try:
            r.disable_controller_service("pool")
        except Exception:  # never enabled (an unreachable address): nothing to close
            pass


def runner(hash_path: str = "/id", data_path: str = "/", address: str = "127.0.0.1:6379") -> ProcessorRunner:
    r = ProcessorRunner(PutRedisHashRecord)
    _RUNNERS.append(r)
    r.add_controller_service("reader", JsonTreeReader)
    r.enable_controller_service("reader")
    r.add_controller_service("pool", RedisConnectionPoolService, {"Connection String": address})
    r.enable_controller_service("pool")
    for name, value in {"Record Reader": "reader", "Redis Connection Pool": "pool",
                        "Hash Value Record Path": hash_path, "Data Record Path": data_path}.items():
        r.set_property(name, value)
    return r


def records(*items: dict[str, Any]) -> bytes:
    return json.dumps(list(items)).encode()


def test_each_record_becomes_a_hash(raw: tuple[redis.Redis, str]) -> None:
    client, prefix = raw
    r = runner()
    r.enqueue(records({"id": f"{prefix}1", "name": "Ada", "age": 36, "ok": True, "none": None},
                      {"id": f"{prefix}2", "name": "Grace", "score": 1.5}))
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_attribute_equals("redis.success.record.count", "2")
    assert client.hgetall(f"{prefix}1") == {b"id": f"{prefix}1".encode(), b"name": b"Ada", b"age": b"36",
                                            b"ok": b"true"}
    assert client.hgetall(f"{prefix}2") == {b"id": f"{prefix}2".encode(), b"name": b"Grace", b"score": b"1.5"}
    assert [e.transit_uri for e in r.provenance_events()] == ["redis://127.0.0.1:6379/0"]


def test_a_nested_key_and_data_record(raw: tuple[redis.Redis, str]) -> None:
    client, prefix = raw
    r = runner("/meta/key", "/data")
    r.enqueue(records({"meta": {"key": f"{prefix}k"}, "data": {"a": "x", "b": [1, 2], "c": {"d": 1}}}))
    r.run()
    r.assert_all_transferred("success", 1)
    assert client.hgetall(f"{prefix}k") == {b"a": b"x", b"b": b"[1,2]", b"c": b'{"d":1}'}


def test_a_record_without_a_hash_value_fails_after_the_written_ones(raw: tuple[redis.Redis, str]) -> None:
    client, prefix = raw
    r = runner()
    r.enqueue(records({"id": f"{prefix}1", "v": "a"}, {"id": None, "v": "b"}, {"id": f"{prefix}3", "v": "c"}))
    r.run()
    r.assert_all_transferred("failure", 1)
    ff = r.flowfiles_for("failure")[0]
    ff.assert_attribute_equals("redis.success.record.count", "1")
    assert ff.is_penalized(r.clock())
    assert client.hget(f"{prefix}1", "v") == b"a" and not client.exists(f"{prefix}3")


@pytest.mark.parametrize("content", [b"{not json", b'[{"id": "x", "data": 1}]'])
def test_unreadable_content_or_no_data_record_fails(raw: tuple[redis.Redis, str], content: bytes) -> None:
    r = runner("/id", "/data")
    r.enqueue(content)
    r.run()
    r.assert_all_transferred("failure", 1)
    r.flowfiles_for("failure")[0].assert_attribute_equals("redis.success.record.count", "0")


@pytest.mark.parametrize("path", ["id", "/a[0]", "//a", "/a/", "/a[./b = 'c']", "/toString(/a)"])
def test_only_child_record_paths_are_accepted(path: str) -> None:
    r = runner(hash_path=path)
    r.enqueue(b"[]")
    with pytest.raises(InvalidComponentError, match="'Hash Value Record Path' is invalid"):
        r.run()


@pytest.mark.parametrize(("text", "parts"), [("/", []), ("/a", ["a"]), ("/a/b c", ["a", "b c"])])
def test_child_paths(text: str, parts: list[str]) -> None:
    assert parse_child_path(text) == parts
