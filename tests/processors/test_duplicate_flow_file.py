"""DuplicateFlowFile: Number of Copies evaluated per FlowFile, bounded as NiFi's asInteger()."""

from __future__ import annotations

import logging

import pytest

from flowyard.processors.duplicate_flow_file import DuplicateFlowFile
from flowyard.runtime.sdk.testing import ProcessorRunner


@pytest.mark.parametrize(
    ("value", "copies"),
    [
        ("0", 0),
        ("2", 2),
        ("-1", 0),  # NiFi's loop makes no copies for a negative number
        ("-2147483648", 0),
        ("+3", 3),
    ],
)
def test_copies_from_an_attribute(value: str, copies: int) -> None:
    r = ProcessorRunner(DuplicateFlowFile)
    r.set_property("Number of Copies", "${n}")
    r.enqueue(b"x", {"n": value})
    r.run()
    r.assert_all_transferred("success", copies + 1)


@pytest.mark.parametrize("value", ["9" * 30, "2147483648", "-2147483649", "two", "", "1.5", "NaN"])
def test_a_value_that_is_no_java_int_penalizes_and_names_property_and_value(
    value: str, caplog: pytest.LogCaptureFixture
) -> None:
    """NiFi: asInteger() throws, the session is rolled back; here the FlowFile goes back to its queue,
    penalized, and nothing is copied (10^30 used to copy until memory ran out)."""
    caplog.set_level(logging.ERROR, logger="flowyard.processor")
    r = ProcessorRunner(DuplicateFlowFile)
    r.set_property("Number of Copies", "${n}")
    r.enqueue(b"x", {"n": value})
    r.enqueue(b"y", {"n": "1"})
    r.run(2)
    r.assert_all_transferred("success", 2)
    assert [ff.content for ff in r.flowfiles_for("success")] == [b"y", b"y"]
    assert r.queue_size == 1 and r.penalized_count == 1
    message = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "Number of Copies" in message
    if value:
        assert value[:20] in message


def test_a_failing_expression_penalizes() -> None:
    r = ProcessorRunner(DuplicateFlowFile)
    r.set_property("Number of Copies", "${literal(1):divide(0)}")
    r.enqueue(b"x")
    r.run()
    assert r.queue_size == 1 and r.penalized_count == 1
    r.assert_transferred("success", 0)
