"""PublishNATS and ConsumeNATS (core NATS) against the real nats-server on
127.0.0.1:4222: round trips with headers and wildcards, failures, the bounded
buffer, and the connection's loop thread released on stop. Subjects are unique per test."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest

from flowyard.processors._nats_common import valid_subject
from flowyard.processors.consume_nats import ConsumeNATS
from flowyard.processors.publish_nats import PublishNATS
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration

URL = "nats://127.0.0.1:4222"


def publisher(subject: str, **properties: str) -> ProcessorRunner:
    r = ProcessorRunner(PublishNATS)
    r.set_property("NATS Servers", URL)
    r.set_property("Subject", subject)
    for name, value in properties.items():
        r.set_property(name, value)
    return r


def subscribed(subject: str, **properties: str) -> ProcessorRunner:
    """A ConsumeNATS runner already subscribed (scheduled, not stopped)."""
    r = ProcessorRunner(ConsumeNATS)
    r.set_property("NATS Servers", URL)
    r.set_property("Subject", subject)
    r.set_property("Receive Wait", "50 millis")
    for name, value in properties.items():
        r.set_property(name, value)
    r.run(stop_on_finish=False)
    r.assert_all_transferred("success", 0)
    return r


def receive(r: ProcessorRunner, count: int, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while len(r.flowfiles_for("success")) < count:
        assert time.monotonic() < deadline, f"received {len(r.flowfiles_for('success'))} of {count}"
        r.run(stop_on_finish=False)


def nats_threads() -> Callable[[], int]:
    return lambda: sum(1 for t in threading.enumerate() if t.name.startswith("nats-flowyard"))


@pytest.fixture
def prefix() -> str:
    return f"fytest.core.{uuid.uuid4().hex}"


def test_round_trip_with_headers_and_a_wildcard(prefix: str) -> None:
    con = subscribed(f"{prefix}.*")
    try:
        pub = publisher("${p}.${kind}", **{"Attributes to Send as Headers (Regex)": "x-.*"})
        pub.enqueue_many([(b"one", {"p": prefix, "kind": "a", "x-trace": "t1", "other": "no"}),
                          (b"two", {"p": prefix, "kind": "b"})])
        pub.run()
        pub.assert_all_transferred("success", 2)
        assert [e.transit_uri for e in pub.provenance_events()] == [f"{URL}/{prefix}.a", f"{URL}/{prefix}.b"]
        receive(con, 2)
    finally:
        con.stop()
    one, two = con.flowfiles_for("success")
    one.assert_content_equals(b"one")
    assert one.attributes["nats.subject"] == f"{prefix}.a"
    assert one.attributes["x-trace"] == "t1" and "other" not in one.attributes
    two.assert_content_equals(b"two")
    assert "nats.reply" not in two.attributes and "x-trace" not in two.attributes


@pytest.mark.parametrize(("suffix", "content", "reason"), [
    (".*", b"x", "is not a subject that can be published to"),
    (".>", b"x", "is not a subject that can be published to"),
    ("..x", b"x", "is not a subject that can be published to"),
    (".a b", b"x", "is not a subject that can be published to"),
    (".ok", b"x" * (2 * 1024 * 1024), "maximum payload"),
])
def test_what_cannot_be_published_goes_to_failure_alone(prefix: str, suffix: str, content: bytes,
                                                         reason: str) -> None:
    pub = publisher("${p}${s}")
    pub.enqueue(content, {"p": prefix, "s": suffix})
    pub.enqueue(b"fine", {"p": prefix, "s": ".ok"})
    pub.run()
    (failed,) = pub.flowfiles_for("failure")
    assert reason in failed.attributes["nats.error"].lower()
    assert failed.is_penalized(pub.clock())
    (sent,) = pub.flowfiles_for("success")
    sent.assert_content_equals(b"fine")


def test_an_unreachable_server_sends_the_batch_to_failure(prefix: str) -> None:
    pub = publisher(f"{prefix}.x", **{"NATS Servers": "nats://127.0.0.1:1", "Connection Timeout": "1 sec"})
    pub.enqueue_many([(b"1", {}), (b"2", {})])
    pub.run()
    pub.assert_all_transferred("failure", 2)
    assert pub.yield_count == 1
    assert nats_threads()() == 0


def test_the_buffer_is_bounded_and_back_pressure_takes_nothing(prefix: str) -> None:
    con = subscribed(f"{prefix}.x", **{"Max Buffered Messages": "5"})
    try:
        con.set_relationship_unavailable("success")
        pub = publisher(f"{prefix}.x")
        pub.enqueue_many([(str(i).encode(), {}) for i in range(20)])
        pub.run()
        pub.assert_all_transferred("success", 20)
        con.run(stop_on_finish=False)
        con.assert_all_transferred("success", 0)
        con.set_relationship_available("success")
        receive(con, 1)
        time.sleep(0.2)  # anything still on its way has arrived (or been dropped) by now
        con.run(3, stop_on_finish=False)
    finally:
        con.stop()
    got = [f.content for f in con.flowfiles_for("success")]
    assert 1 <= len(got) <= 5, got  # the rest were dropped by the full buffer: at most once
    assert got == sorted(got, key=int)


def test_stopping_closes_the_connection_and_its_thread(prefix: str) -> None:
    before = nats_threads()()
    con = subscribed(f"{prefix}.x")
    assert nats_threads()() == before + 1
    con.stop()
    assert nats_threads()() == before


@pytest.mark.parametrize(("subject", "ok"), [
    ("a", True), ("a.b.c", True), ("a.*", False), ("a.>", False), ("", False), ("a..b", False), (".a", False),
    ("a b", False), ("a\tb", False),
])
def test_publishable_subjects(subject: str, ok: bool) -> None:
    assert valid_subject(subject) is ok


def test_a_queue_group_shares_the_messages(prefix: str) -> None:
    members = [subscribed(f"{prefix}.x", **{"Queue Group": "workers"}) for _ in range(2)]
    try:
        pub = publisher(f"{prefix}.x")
        pub.enqueue_many([(str(i).encode(), {}) for i in range(40)])
        pub.run()
        pub.assert_all_transferred("success", 40)
        deadline = time.monotonic() + 5
        while sum(len(m.flowfiles_for("success")) for m in members) < 40:
            assert time.monotonic() < deadline, "the group did not receive every message"
            for m in members:
                m.run(stop_on_finish=False)
    finally:
        for m in members:
            m.stop()
    got = sorted(int(f.content) for m in members for f in m.flowfiles_for("success"))
    assert got == list(range(40)), "each message to exactly one member"


def test_an_unreachable_server_makes_the_consumer_yield() -> None:
    r = ProcessorRunner(ConsumeNATS)
    r.set_property("NATS Servers", "nats://127.0.0.1:1")
    r.set_property("Connection Timeout", "1 sec")
    r.set_property("Subject", "anything")
    r.run()
    r.assert_all_transferred("success", 0)
    assert r.yield_count == 1
    assert nats_threads()() == 0
