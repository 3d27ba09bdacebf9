"""Processors for engine tests, loaded into real engine processes through
``FLOWYARD_PROCESSOR_MODULES=flowyard_test_processors:PROCESSORS`` (with this
folder on PYTHONPATH) or passed directly as a registry.

They use only the public SDK, like any third-party processor.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator

import trio

from flowyard.runtime.sdk import (
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)

SUCCESS = Relationship("success")


def expected_content(seq: int, size: int) -> bytes:
    """The content SequenceSource gives flowfile ``seq``: derived from the id, so a
    checker can verify every byte."""
    seed = hashlib.sha256(str(seq).encode()).hexdigest().encode()
    return (seed * (size // len(seed) + 1))[:size]


class SequenceSource(Processor):
    """Emits flowfiles ``seq`` = 0 .. Count-1 exactly once: the next number lives in
    component state, committed in the same transaction as the flowfiles."""

    blocking = False
    spec = ProcessorSpec(
        description="Emits numbered flowfiles exactly once.",
        properties=(
            PropertySpec("count", "Count", required=True, validator=validators.NON_NEGATIVE_INTEGER),
            PropertySpec("batch-size", "Batch Size", default="100", validator=validators.POSITIVE_INTEGER),
            PropertySpec("content-size", "Content Size", default="64", validator=validators.NON_NEGATIVE_INTEGER),
        ),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        stateful=True,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        total = context.property("count").as_int()
        batch = context.property("batch-size").as_int()
        size = context.property("content-size").as_int()
        start = int(session.get_state().get("next", "0"))
        end = min(total, start + batch)
        if start >= end:
            context.yield_()
            return
        for seq in range(start, end):
            ff = session.create()
            ff = session.put_attributes(ff, {"seq": str(seq), "filename": f"{seq:08d}.dat"})
            if size:
                ff = session.write(ff, expected_content(seq, size))
            session.transfer(ff, SUCCESS)
        session.set_state({"next": str(end)})


def pattern_chunk(index: int, size: int = 1 << 20) -> bytes:
    """Chunk ``index`` of BigSource's content: cheap to make, different per chunk."""
    head = f"chunk {index:010d} ".encode()
    return (head * (size // len(head) + 1))[:size]


class BigSource(Processor):
    """Emits one flowfile of ``Size`` bytes, written as a stream of 1 MiB chunks
    (never held in memory whole), exactly once."""

    spec = ProcessorSpec(
        description="Emits one large flowfile.",
        properties=(PropertySpec("size", "Size", required=True, validator=validators.DATA_SIZE),),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        stateful=True,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        if session.get_state().get("done") == "true":
            context.yield_()
            return
        size = context.property("size").as_data_size()
        chunk = 1 << 20

        def chunks() -> Iterator[bytes]:
            for i in range(size // chunk):
                yield pattern_chunk(i, chunk)
            if size % chunk:
                yield pattern_chunk(size // chunk, size % chunk)

        ff = session.write(session.create(), chunks())
        session.transfer(session.put_attribute(ff, "filename", "big.dat"), SUCCESS)
        session.set_state({"done": "true"})


class AsyncSlow(Processor):
    """Passes one flowfile per trigger after ``Delay`` (trio sleep: instant under MockClock)."""

    spec = ProcessorSpec(
        description="Slow consumer.",
        properties=(PropertySpec("delay", "Delay", default="10 ms", validator=validators.TIME_PERIOD),),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.REQUIRED,
    )

    async def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        ff = session.get()
        if ff is None:
            return
        await trio.sleep(context.property("delay").as_duration())
        session.transfer(ff, SUCCESS)


class Boom(Processor):
    """Takes a flowfile and raises RuntimeError (an unexpected error)."""

    blocking = False
    spec = ProcessorSpec(description="Always fails.", relationships=(SUCCESS,),
                         input_requirement=InputRequirement.REQUIRED)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        if session.get() is not None:
            raise RuntimeError("boom: simulated bug")


class Secretive(Processor):
    """Holds a sensitive Password and passes flowfiles on, recording only whether
    its SHA-256 matches ``Expected SHA-256`` (so tests can see it reached the processor)."""

    blocking = False
    spec = ProcessorSpec(
        description="Test processor with a sensitive property.",
        properties=(PropertySpec("password", "Password", sensitive=True),
                    PropertySpec("expected", "Expected SHA-256")),
        relationships=(SUCCESS,),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        password = context.property("password").value or ""
        ok = hashlib.sha256(password.encode()).hexdigest() == context.property("expected").value
        for ff in session.get_batch(100):
            session.transfer(session.put_attribute(ff, "password.ok", str(ok).lower()), SUCCESS)


class HangInThread(Processor):
    """A blocking processor whose trigger never returns (a stuck driver call)."""

    spec = ProcessorSpec(description="Never returns from its trigger (in a worker thread).", relationships=(SUCCESS,))

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        threading.Event().wait()


class SpinOnLoop(Processor):
    """An async processor that, after ``After``, loops without ever yielding to the event loop."""

    spec = ProcessorSpec(
        description="Hogs the event loop.", relationships=(SUCCESS,),
        properties=(PropertySpec("after", "After", default="500 ms", validator=validators.TIME_PERIOD),),
    )

    async def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        await trio.sleep(context.property("after").as_duration())
        while True:
            pass


class FailOnAttribute(Processor):
    """Passes flowfiles on to success; raises RuntimeError (after taking them) when
    one has the attribute ``fail`` = ``true``."""

    blocking = False
    spec = ProcessorSpec(description="Fails on flowfiles marked fail=true.", relationships=(SUCCESS,),
                         input_requirement=InputRequirement.REQUIRED)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        batch = session.get_batch(1000)
        if any(ff.attributes.get("fail") == "true" for ff in batch):
            raise RuntimeError("a flowfile is marked fail=true")
        session.transfer_all(batch, SUCCESS)


PROCESSORS: dict[str, type[Processor]] = {
    "HangInThread": HangInThread,
    "SpinOnLoop": SpinOnLoop,
    "Secretive": Secretive,
    "SequenceSource": SequenceSource,
    "AsyncSlow": AsyncSlow,
    "Boom": Boom,
    "BigSource": BigSource,
    "FailOnAttribute": FailOnAttribute,
}
