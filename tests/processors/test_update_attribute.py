from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from flowyard.processors.update_attribute import UpdateAttribute
from flowyard.runtime.sdk import InvalidComponentError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

Evaluator = Callable[[str, Mapping[str, str] | None], str]


def runner(properties: dict[str, str], evaluator: Evaluator | None = None) -> ProcessorRunner:
    r = ProcessorRunner(UpdateAttribute, evaluator=evaluator)
    for name, value in properties.items():
        r.set_property(name, value)
    return r


@pytest.mark.parametrize(
    ("properties", "incoming", "expected"),
    [
        ({"color": "blue"}, {}, {"color": "blue"}),
        ({"color": "blue"}, {"color": "red"}, {"color": "blue"}),
        ({"a": "1", "b": "2"}, {"c": "3"}, {"a": "1", "b": "2", "c": "3"}),
        ({"filename": "renamed.txt"}, {"filename": "x.txt"}, {"filename": "renamed.txt"}),
        ({"Delete Attributes Expression": "tmp\\..*"}, {"tmp.a": "1", "tmp.b": "2", "keep": "3"},
         {"tmp.a": None, "tmp.b": None, "keep": "3"}),
        # existing attributes are deleted even when a dynamic property would set them
        ({"Delete Attributes Expression": "x", "x": "new"}, {"x": "old"}, {"x": None}),
        # attributes that did not exist are still set by dynamic properties
        ({"Delete Attributes Expression": "y", "y": "new"}, {}, {"y": "new"}),
        # the pattern must match the whole name
        ({"Delete Attributes Expression": "tmp"}, {"tmp.a": "1"}, {"tmp.a": "1"}),
    ],
)
def test_sets_and_deletes_attributes(
    properties: dict[str, str], incoming: dict[str, str], expected: dict[str, str | None]
) -> None:
    r = runner(properties)
    r.enqueue(b"content", incoming)
    r.run()
    r.assert_all_transferred("success", 1)
    ff = r.flowfiles_for("success")[0]
    for key, value in expected.items():
        ff.assert_attribute_equals(key, value)
    ff.assert_content_equals(b"content")


def test_uuid_is_never_deleted() -> None:
    r = runner({"Delete Attributes Expression": ".*"})
    r.enqueue(b"", {"a": "1"})
    r.run()
    ff = r.flowfiles_for("success")[0]
    assert set(ff.attributes) == {"uuid"}


def test_changed_attributes_are_recorded_in_provenance() -> None:
    r = runner({"color": "blue"})
    r.enqueue(b"", {"color": "red"})
    r.run()
    (event,) = r.provenance_events()
    assert event.event_type == ProvenanceEventType.ATTRIBUTES_MODIFIED
    assert event.updated_attributes == {"color": "blue"}


def test_values_evaluate_against_the_incoming_attributes(evaluator: Evaluator) -> None:
    r = runner({"filename": "${filename}.bak", "original": "${filename}"}, evaluator)
    r.enqueue(b"", {"filename": "a.txt"})
    r.run()
    ff = r.flowfiles_for("success")[0]
    ff.assert_attribute_equals("filename", "a.txt.bak")
    ff.assert_attribute_equals("original", "a.txt")


def test_delete_expression_may_use_attributes(evaluator: Evaluator) -> None:
    r = runner({"Delete Attributes Expression": "${prefix}.*"}, evaluator)
    r.enqueue(b"", {"prefix": "zz", "zz.a": "1", "b": "2"})
    r.run()
    ff = r.flowfiles_for("success")[0]
    ff.assert_attribute_equals("zz.a", None)
    ff.assert_attribute_equals("b", "2")


def test_a_flowfile_that_cannot_be_evaluated_is_penalized_and_kept(evaluator: Evaluator) -> None:
    r = runner({"result": "${boom}"}, evaluator)
    r.enqueue_many([(b"one", {}), (b"two", {})])
    r.run()
    r.assert_transferred("success", 0)
    assert r.queue_size == 2
    assert r.penalized_count == 2
    assert r.errors == []


def test_invalid_delete_regex_at_run_time_penalizes(evaluator: Evaluator) -> None:
    r = runner({"Delete Attributes Expression": "${pattern}"}, evaluator)
    r.enqueue_many([(b"", {"pattern": "("}), (b"", {"pattern": "a", "a": "1"})])
    r.run()
    r.assert_transferred("success", 1)
    assert r.penalized_count == 1


def test_processes_flowfiles_in_batches() -> None:
    r = runner({"seen": "yes"})
    r.enqueue_many([(b"", {}) for _ in range(250)])
    r.run()
    r.assert_transferred("success", 100)
    r.run(2)
    r.assert_transferred("success", 250)
    r.assert_queue_empty()


def test_compatibility_properties_do_not_become_attributes() -> None:
    r = runner({"canonical-value-lookup-cache-size": "50", "Stateful Variables Initial Value": "0"})
    r.enqueue(b"", {})
    r.run()
    ff = r.flowfiles_for("success")[0]
    assert "canonical-value-lookup-cache-size" not in ff.attributes
    assert "Stateful Variables Initial Value" not in ff.attributes


@pytest.mark.parametrize(
    ("properties", "subject"),
    [
        ({"Delete Attributes Expression": "("}, "Delete Attributes Expression"),
        ({"Store State": "Store state locally"}, "Store State"),
        ({"Cache Value Lookup Cache Size": "-1"}, "Cache Value Lookup Cache Size"),
        ({" ": "blank name"}, " "),
    ],
)
def test_invalid_configurations(properties: dict[str, str], subject: str) -> None:
    r = runner(properties)
    assert subject in [result.subject for result in r.validation_results()]
    with pytest.raises(InvalidComponentError):
        r.run()


def test_requires_input_and_has_only_success() -> None:
    r = runner({})
    r.has_input_connection = False
    assert [res.subject for res in r.validation_results()] == ["Upstream Connections"]
    assert [rel.name for rel in UpdateAttribute.relationships_for({"a": "1"}, {})] == ["success"]
