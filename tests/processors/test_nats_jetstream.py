"""PublishJetStream and ConsumeJetStream against the real nats-server (JetStream)
on 127.0.0.1:4222: round trips, the stream's acknowledgement, acknowledgement
only after the commit (a rolled-back message comes again), back pressure.

Every test creates its own stream (uuid names) and deletes it after."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import nats
import pytest
from nats.js.api import ConsumerInfo, StreamConfig

from flowyard.processors.consume_nats_jetstream import ConsumeJetStream
from flowyard.processors.publish_nats_jetstream import PublishJetStream
from flowyard.runtime.sdk import ProcessContext, ProcessingError, ProcessSession
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration

URL = "nats://127.0.0.1:4222"
_T = TypeVar("_T")


def admin(action: Callable[[Any], Awaitable[_T]]) -> _T:
    """Run ``action(jetstream)`` over a connection of its own."""
    async def main() -> _T:
        nc = await nats.connect(URL, connect_timeout=2, allow_reconnect=False)
        try:
            return await action(nc.jetstream())
        finally:
            await nc.close()
    # In a thread of its own: Playwright's sync API (the browser tests) leaves an event loop running
    # in the main thread, where asyncio.run() refuses to start.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result(timeout=60)


@dataclass
class Stream:
    name: str
    prefix: str

    def consumer(self, durable: str) -> ConsumerInfo:
        return admin(lambda js: js.consumer_info(self.name, durable))


@pytest.fixture
def stream() -> Iterator[Stream]:
    """A file stream capturing ``<prefix>.>``, deleted after the test."""
    token = uuid.uuid4().hex
    s = Stream(f"FLOWYARD_TEST_{token}", f"fytest.{token}")
    admin(lambda js: js.add_stream(StreamConfig(name=s.name, subjects=[f"{s.prefix}.>"])))
    yield s
    admin(lambda js: js.delete_stream(s.name))


def publisher(subject: str, **properties: str) -> ProcessorRunner:
    r = ProcessorRunner(PublishJetStream)
    r.set_property("NATS Servers", URL)
    r.set_property("Subject", subject)
    for name, value in properties.items():
        r.set_property(name, value)
    return r


def consumer(stream: Stream, cls: type[ConsumeJetStream] = ConsumeJetStream, **properties: str) -> ProcessorRunner:
    r = ProcessorRunner(cls)
    r.set_property("NATS Servers", URL)
    r.set_property("Subject", f"{stream.prefix}.>")
    r.set_property("Durable Name", "flowyard")
    r.set_property("Fetch Wait", "200 millis")
    for name, value in properties.items():
        r.set_property(name, value)
    return r


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_round_trip_with_the_streams_acknowledgement(stream: Stream) -> None:
    pub = publisher("${prefix}.${kind}", **{"Attributes to Send as Headers (Regex)": "h-.*"})
    pub.enqueue_many([(f"message {i}".encode(), {"prefix": stream.prefix, "kind": k, "h-n": str(i)})
                      for i, k in enumerate(("a", "b", "a"))])
    pub.run()
    pub.assert_all_transferred("success", 3)
    sent = pub.flowfiles_for("success")
    assert [(f.attributes["nats.stream"], f.attributes["nats.sequence"], f.attributes["nats.duplicate"])
            for f in sent] == [(stream.name, str(n), "false") for n in (1, 2, 3)]
    assert [e.transit_uri for e in pub.provenance_events()] == [
        f"{URL}/{stream.prefix}.{k}" for k in ("a", "b", "a")]

    con = consumer(stream, **{"Stream": stream.name})
    con.run()
    con.assert_all_transferred("success", 3)
    got = con.flowfiles_for("success")
    assert [f.content for f in got] == [b"message 0", b"message 1", b"message 2"]
    first = got[0].attributes
    assert {k: first[k] for k in ("nats.subject", "nats.stream", "nats.consumer", "nats.sequence.stream",
                                  "nats.num.delivered", "h-n")} == {
        "nats.subject": f"{stream.prefix}.a", "nats.stream": stream.name, "nats.consumer": "flowyard",
        "nats.sequence.stream": "1", "nats.num.delivered": "1", "h-n": "0"}
    assert abs(int(first["nats.timestamp"]) - time.time() * 1000) < 60_000
    # acknowledged after the commit: nothing pending, nothing waiting for an ack
    wait_for(lambda: stream.consumer("flowyard").num_ack_pending == 0, "the acknowledgements")
    assert stream.consumer("flowyard").num_pending == 0


def test_publishing_to_a_subject_no_stream_captures_fails(stream: Stream) -> None:
    pub = publisher(f"fytest.nostream.{uuid.uuid4().hex}", **{"Connection Timeout": "2 sec"})
    pub.enqueue(b"lost?")
    pub.run()
    pub.assert_all_transferred("failure", 1)
    ff = pub.flowfiles_for("failure")[0]
    assert ff.attributes["nats.error"].startswith("NoStreamResponseError")
    assert ff.is_penalized(pub.clock())


@pytest.mark.parametrize(("subject", "reason"), [
    ("${prefix}.*", "is not a subject that can be published to"),
    ("${prefix}.a b", "is not a subject that can be published to"),
    ("${missing}", "'' is not a subject"),
])
def test_bad_subjects_fail_without_publishing(stream: Stream, subject: str, reason: str) -> None:
    pub = publisher(subject)
    pub.enqueue(b"x", {"prefix": stream.prefix})
    pub.run()
    pub.assert_all_transferred("failure", 1)
    assert reason in pub.flowfiles_for("failure")[0].attributes["nats.error"]
    assert admin(lambda js: js.stream_info(stream.name)).state.messages == 0


def test_expected_stream_must_be_the_one_capturing_the_subject(stream: Stream) -> None:
    pub = publisher(f"{stream.prefix}.x", **{"Expected Stream": "${s}"})
    pub.enqueue_many([(b"right", {"s": stream.name}), (b"wrong", {"s": "ANOTHER"})])
    pub.run()
    pub.assert_transferred("success", 1)
    pub.assert_transferred("failure", 1)
    pub.flowfiles_for("failure")[0].assert_content_equals(b"wrong")


def test_a_message_id_lets_the_stream_drop_a_retry(stream: Stream) -> None:
    pub = publisher(f"{stream.prefix}.x", **{"Message ID": "${id}"})
    pub.enqueue(b"once", {"id": "m-1"})
    pub.run()
    pub.enqueue(b"once", {"id": "m-1"})
    pub.run()
    assert [f.attributes["nats.duplicate"] for f in pub.flowfiles_for("success")] == ["false", "true"]
    assert admin(lambda js: js.stream_info(stream.name)).state.messages == 1


class RollingBack(ConsumeJetStream):
    """Fails after creating its FlowFiles while ``fail`` is set: the session is rolled back."""

    fail: ClassVar[bool] = True

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        super().on_trigger(context, session)
        if RollingBack.fail:
            raise ProcessingError("the flow failed before the commit")


def test_a_rolled_back_message_is_delivered_again(stream: Stream) -> None:
    pub = publisher(f"{stream.prefix}.x")
    pub.enqueue(b"precious")
    pub.run()
    con = consumer(stream, RollingBack, **{"Ack Wait": "60 sec"})
    RollingBack.fail = True
    try:
        con.run()
        assert len(con.errors) == 1
        con.assert_all_transferred("success", 0)
        RollingBack.fail = False
        con.run()  # redelivered at once (nak), not after the 60 s Ack Wait
    finally:
        RollingBack.fail = True
    con.assert_all_transferred("success", 1)
    ff = con.flowfiles_for("success")[0]
    ff.assert_content_equals(b"precious")
    ff.assert_attribute_equals("nats.num.delivered", "2")
    wait_for(lambda: stream.consumer("flowyard").num_ack_pending == 0, "the acknowledgement")


def test_the_durable_consumer_resumes_where_it_stopped(stream: Stream) -> None:
    pub = publisher(f"{stream.prefix}.x")
    pub.enqueue_many([(f"{i}".encode(), {}) for i in range(5)])
    pub.run()
    first = consumer(stream, **{"Batch Size": "2"})
    first.run()
    assert [f.content for f in first.flowfiles_for("success")] == [b"0", b"1"]
    second = consumer(stream)  # another processor (or a restarted flowyard) with the same durable name
    second.run()
    assert [f.content for f in second.flowfiles_for("success")] == [b"2", b"3", b"4"]


def test_back_pressure_leaves_the_messages_in_the_stream(stream: Stream) -> None:
    pub = publisher(f"{stream.prefix}.x")
    pub.enqueue(b"kept")
    pub.run()
    con = consumer(stream)
    con.set_relationship_unavailable("success")
    con.run()
    con.assert_all_transferred("success", 0)
    assert con.yield_count == 1
    con.set_relationship_available("success")
    con.run()
    con.assert_all_transferred("success", 1)


def test_a_missing_stream_is_logged_and_yields() -> None:
    r = ProcessorRunner(ConsumeJetStream)
    r.set_property("NATS Servers", URL)
    r.set_property("Subject", f"fytest.nostream.{uuid.uuid4().hex}.>")
    r.set_property("Durable Name", "flowyard")
    r.run()
    r.assert_all_transferred("success", 0)
    assert r.yield_count == 1


def test_an_unreachable_server_makes_the_consumer_yield() -> None:
    r = ProcessorRunner(ConsumeJetStream)
    r.set_property("NATS Servers", "nats://127.0.0.1:1")
    r.set_property("Connection Timeout", "1 sec")
    r.set_property("Subject", "anything.>")
    r.set_property("Durable Name", "flowyard")
    r.run()
    r.assert_all_transferred("success", 0)
    assert r.yield_count == 1
