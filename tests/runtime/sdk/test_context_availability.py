"""``ProcessContext.available_relationships()`` (NiFi's
``getAvailableRelationships``): readable outside a trigger, as a listening
processor's server thread needs it. Through the engine it is exercised by
``tests/processors/test_http_flow.py`` (ListenHTTP answering 503 at once)."""

from __future__ import annotations

from flowyard.processors.route_on_attribute import RouteOnAttribute
from flowyard.runtime.sdk.testing import ProcessorRunner


def test_the_runner_reports_what_a_test_marks_unavailable() -> None:
    runner = ProcessorRunner(RouteOnAttribute)
    runner.set_property("big", "${size:gt(1)}")
    context = runner._configure().context
    assert context.available_relationships() is None  # not run by a framework yet
    runner.run(0, stop_on_finish=False)
    assert context.available_relationships() == {"big", "unmatched"}
    runner.set_relationship_unavailable("big")
    assert context.available_relationships() == {"unmatched"}
    runner.set_relationship_available("big")
    assert context.available_relationships() == {"big", "unmatched"}
