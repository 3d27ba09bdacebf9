"""A session queues its output in the order of the (last) transfers, so a
processor decides the order downstream (as NiFi's sessions do)."""

from __future__ import annotations

from flowyard.runtime.sdk import ProcessContext, Processor, ProcessorSpec, ProcessSession, Relationship
from flowyard.runtime.sdk.testing import ProcessorRunner


class Reverse(Processor):
    """Transfers a batch in reverse order."""

    spec = ProcessorSpec("Reverses a batch.", relationships=(Relationship("success", "Every FlowFile."),))

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        for ff in reversed(session.get_batch(10)):
            session.transfer(ff, "success")


class MoveFirstLast(Processor):
    """Transfers a batch in order, then changes the first and transfers it again."""

    spec = ProcessorSpec("Moves the first last.", relationships=(Relationship("success", "Every FlowFile."),))

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        batch = session.get_batch(10)
        for ff in batch:
            session.transfer(ff, "success")
        if batch:
            first = session.put_attribute(batch[0], "moved", "yes")  # a change undoes the transfer
            session.transfer(first, "success")


def _contents(runner: ProcessorRunner) -> list[bytes]:
    return [ff.content for ff in runner.flowfiles_for("success")]


def test_output_follows_the_transfer_order() -> None:
    runner = ProcessorRunner(Reverse)
    runner.enqueue_many([(str(i), {}) for i in range(5)])
    runner.run()
    assert _contents(runner) == [b"4", b"3", b"2", b"1", b"0"]


def test_a_flowfile_changed_and_transferred_again_goes_last() -> None:
    runner = ProcessorRunner(MoveFirstLast)
    runner.enqueue_many([(str(i), {}) for i in range(3)])
    runner.run()
    assert _contents(runner) == [b"1", b"2", b"0"]
    runner.flowfiles_for("success")[2].assert_attribute_equals("moved", "yes")
