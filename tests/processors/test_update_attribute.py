from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import pytest

from flowyard.processors._update_attribute_rules import parse_criteria, to_json
from flowyard.processors.update_attribute import UpdateAttribute
from flowyard.runtime.repository.state import ComponentState
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
        ({"Store State": "Store state locally"}, "Stateful Variables Initial Value"),  # NiFi: required then
        ({"Store State": "Store state remotely"}, "Store State"),
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
    assert [rel.name for rel in UpdateAttribute.relationships_for(
        {}, {"store-state": "Store state locally"})] == ["success", "set state fail"]


# -- state (NiFi's TestUpdateAttribute: testStateful*, testStateFailures) ------------------------

STATEFUL = {"Store State": "Store state locally", "Stateful Variables Initial Value": "0"}


def test_a_counter_across_flowfiles_and_runs() -> None:
    r = runner({**STATEFUL, "count": "${getStateValue('count'):plus(1)}"})
    r.enqueue_many([(b"", {}) for _ in range(3)])
    r.run()
    r.enqueue(b"", {})
    r.run()
    assert [ff.attributes["count"] for ff in r.flowfiles_for("success")] == ["1", "2", "3", "4"]
    assert r.state() == {"count": "4"}


def test_the_initial_value_and_a_sum_of_an_attribute() -> None:
    r = runner({"Store State": "Store state locally", "Stateful Variables Initial Value": "10",
                "count": "${getStateValue('count'):plus(1)}", "sum": "${getStateValue('sum'):plus(${pencils})}"})
    r.enqueue_many([(b"", {"pencils": "2"}), (b"", {"pencils": "3"})])
    r.run()
    last = r.flowfiles_for("success")[-1]
    last.assert_attribute_equals("count", "12")
    last.assert_attribute_equals("sum", "15")
    assert r.state() == {"count": "12", "sum": "15"}


def test_every_value_of_a_flowfile_sees_the_state_before_it() -> None:
    r = runner({**STATEFUL, "a": "${getStateValue('a'):plus(1)}", "b": "${getStateValue('a')}"})
    r.enqueue_many([(b"", {}), (b"", {})])
    r.run()
    assert [(f.attributes["a"], f.attributes["b"]) for f in r.flowfiles_for("success")] == [("1", "0"), ("2", "1")]


def test_a_deleted_attribute_still_stores_its_value() -> None:
    r = runner({**STATEFUL, "Delete Attributes Expression": "tmp", "tmp": "${getStateValue('tmp'):plus(5)}"})
    r.enqueue(b"", {"tmp": "x"})
    r.run()
    r.flowfiles_for("success")[0].assert_attribute_equals("tmp", None)
    assert r.state() == {"tmp": "5"}


def test_state_survives_a_restart() -> None:
    first = runner({**STATEFUL, "count": "${getStateValue('count'):plus(1)}"})
    first.enqueue_many([(b"", {}), (b"", {})])
    first.run()
    restarted = runner({**STATEFUL, "count": "${getStateValue('count'):plus(1)}"})
    restarted.repositories.state.set_now(restarted.component_id, ComponentState(first.state(), 1))
    restarted.enqueue(b"", {})
    restarted.run()
    restarted.flowfiles_for("success")[0].assert_attribute_equals("count", "3")


def test_stateless_values_do_not_touch_state() -> None:
    r = runner({"count": "${getStateValue('count'):plus(1)}"})
    r.enqueue(b"", {})
    r.run()
    r.flowfiles_for("success")[0].assert_attribute_equals("count", "")  # null plus 1 is null
    assert r.state() == {}


def test_flowfiles_whose_state_could_not_be_saved_go_to_set_state_fail() -> None:
    r = runner({**STATEFUL, "count": "${getStateValue('count'):plus(1)}"})
    r.enqueue(b"", {"n": "1"})
    r.run()
    read_state = r._read_state
    r._read_state = lambda component_id: (0, {"count": "41"})  # type: ignore[method-assign]  # a stale read
    r.enqueue_many([(b"", {"n": "2"}), (b"", {"n": "3"})])
    r.run()
    assert len(r.errors) == 1, "the commit was refused: the state changed since it was read"
    assert r.queue_size == 2
    r._read_state = read_state  # type: ignore[method-assign]
    r.run()
    failed = r.flowfiles_for("set state fail")
    assert [f.attributes["n"] for f in failed] == ["2", "3"]
    assert [f.attributes["count"] for f in failed] == ["2", "2"], "attributes updated, state untouched"
    assert r.state() == {"count": "1"}
    r.enqueue(b"", {"n": "4"})
    r.run()
    r.flowfiles_for("success")[-1].assert_attribute_equals("count", "2")


def test_a_rollback_that_left_the_state_unchanged_is_retried() -> None:
    r = runner({**STATEFUL, "count": "${getStateValue('count'):plus(1)}"})
    processor = r._configure().processor
    assert isinstance(processor, UpdateAttribute)
    r.enqueue(b"", {"n": "1"})
    uuid = r.input_flowfiles()[0].attributes["uuid"]
    processor._remember_failed([uuid], {})  # as after a rollback for another reason (a storage failure)
    r.run()
    r.assert_all_transferred("success", 1)
    assert r.state() == {"count": "1"}


# -- Advanced rules (NiFi's TestUpdateAttribute: testRuleHit*, testMultipleRule*, useOriginal/useClone) --

def rules(policy: str, *items: tuple[str, list[str], dict[str, str]]) -> str:
    return json.dumps({"flowFilePolicy": policy, "rules": [
        {"name": name, "conditions": conditions, "actions": [{"attribute": a, "value": v} for a, v in actions.items()]}
        for name, conditions, actions in items]})


TWO_RULES = (
    ("rule1", ["${attribute.1:equals('value.1')}"], {"attribute.2": "value.2", "from.rule1": "yes"}),
    ("rule2", ["${attribute.1:equals('value.1')}", "${attribute.3:isNull()}"], {"attribute.2": "value.3"}),
)


def test_use_clone_makes_one_flowfile_per_matching_rule() -> None:
    r = runner({"Advanced Rules": rules("USE_CLONE", *TWO_RULES), "attribute.2": "default", "other": "d"})
    r.enqueue(b"body", {"attribute.1": "value.1"})
    r.run()
    out = sorted(r.flowfiles_for("success"), key=lambda f: f.attributes["UpdateAttribute.matchedRule"])
    assert [f.attributes["UpdateAttribute.matchedRule"] for f in out] == ["rule1", "rule2"]
    assert [f.attributes["attribute.2"] for f in out] == ["value.2", "value.3"]  # the rule beats the default
    assert [f.attributes.get("from.rule1") for f in out] == ["yes", None]
    assert all(f.attributes["other"] == "d" and f.content == b"body" for f in out)
    assert len({f.attributes["uuid"] for f in out}) == 2
    assert len(r.provenance_events(ProvenanceEventType.CLONE)) == 1


def test_use_original_applies_every_matching_rule_in_order() -> None:
    r = runner({"Advanced Rules": rules("USE_ORIGINAL", *TWO_RULES), "attribute.2": "default"})
    r.enqueue(b"", {"attribute.1": "value.1"})
    r.run()
    (ff,) = r.flowfiles_for("success")
    ff.assert_attribute_equals("attribute.2", "value.3")  # the later rule wins
    ff.assert_attribute_equals("from.rule1", "yes")
    ff.assert_attribute_equals("UpdateAttribute.matchedRule", "rule2")


@pytest.mark.parametrize("policy", ["USE_CLONE", "USE_ORIGINAL"])
def test_no_rule_matching_applies_the_defaults_only(policy: str) -> None:
    r = runner({"Advanced Rules": rules(policy, *TWO_RULES), "attribute.2": "default"})
    r.enqueue(b"", {"attribute.1": "other"})
    r.run()
    (ff,) = r.flowfiles_for("success")
    ff.assert_attribute_equals("attribute.2", "default")
    ff.assert_attribute_equals("UpdateAttribute.matchedRule", None)


def test_all_conditions_of_a_rule_must_hold() -> None:
    r = runner({"Advanced Rules": rules("USE_CLONE", *TWO_RULES)})
    r.enqueue(b"", {"attribute.1": "value.1", "attribute.3": "present"})
    r.run()
    (ff,) = r.flowfiles_for("success")
    ff.assert_attribute_equals("UpdateAttribute.matchedRule", "rule1")


def test_a_rule_may_delete_attributes() -> None:
    r = runner({"Advanced Rules": rules("USE_CLONE", ("cleanup", ["${drop:equals('yes')}"],
                                                      {"Delete Attributes Expression": "tmp\\..*"}))})
    r.enqueue_many([(b"", {"drop": "yes", "tmp.a": "1"}), (b"", {"drop": "no", "tmp.a": "1"})])
    r.run()
    assert [f.attributes.get("tmp.a") for f in r.flowfiles_for("success")] == [None, "1"]


def test_rules_with_state_keep_a_maximum() -> None:
    # NiFi's testRuleHitWithState: a rule keeps the largest fileSize seen in state.
    r = runner({**STATEFUL, "Advanced Rules": rules(
        "USE_CLONE", ("bigger", ["${getStateValue('maxValue'):lt(${fileSize})}"], {"maxValue": "${fileSize}"}))})
    r.enqueue_many([(b"", {"fileSize": s}) for s in ("3", "10", "5", "12", "1")])
    r.run()
    assert r.state() == {"maxValue": "12"}
    matched = [f.attributes.get("UpdateAttribute.matchedRule") for f in r.flowfiles_for("success")]
    assert matched == ["bigger", "bigger", None, "bigger", None]


NIFI_CRITERIA = """<criteria>
    <flowFilePolicy>USE_ORIGINAL</flowFilePolicy>
    <rules>
        <actions>
            <attribute>it's the one</attribute>
            <id>364cdf1a-3ac8-46a7-9d5d-e83618d9dfde</id>
            <value>true</value>
        </actions>
        <conditions>
            <expression>${uuid:equals("theUUID!")}</expression>
            <id>c0ceadcd-6de5-4994-bf76-f76a5fd1640c</id>
        </conditions>
        <id>e6fb8d10-49ac-494b-8f02-ced1109c9445</id>
        <name>testRule</name>
    </rules>
    <rules>
        <actions>
            <attribute>the tenth</attribute>
            <id>0bbe7bcd-e6b9-4801-b1e4-337da5f0532f</id>
            <value>${kind:toUpper()}</value>
        </actions>
        <conditions>
            <expression>${kind:equals('x')}</expression>
            <id>48735bfe-02ef-4634-8d99-f384ebcd8fa8</id>
        </conditions>
        <id>74b86ba2-4a8b-4952-8aef-ea672847c589</id>
        <name>testRule3</name>
    </rules>
</criteria>"""


def test_nifi_annotation_data_is_accepted() -> None:
    criteria = parse_criteria(NIFI_CRITERIA)
    assert criteria.policy == "USE_ORIGINAL"
    assert [r.name for r in criteria.rules] == ["testRule", "testRule3"]
    assert criteria.rules[1].actions == (("the tenth", "${kind:toUpper()}"),)
    assert parse_criteria(to_json(criteria)) == criteria
    r = runner({"Advanced Rules": NIFI_CRITERIA})
    r.enqueue(b"", {"kind": "x"})
    r.run()
    (ff,) = r.flowfiles_for("success")
    ff.assert_attribute_equals("the tenth", "X")
    ff.assert_attribute_equals("it's the one", None)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("{not json", "neither JSON nor NiFi's <criteria> XML"),
        ("<rules/>", "expected NiFi's <criteria> document"),
        ('{"flowFilePolicy": "USE_BOTH"}', "flowFilePolicy must be USE_CLONE or USE_ORIGINAL"),
        (rules("USE_CLONE", ("", ["${a:isNull()}"], {"b": "1"})), "A rule name was not specified."),
        (rules("USE_CLONE", ("r", [], {"b": "1"})), "No conditions for rule 'r' found."),
        (rules("USE_CLONE", ("r", ["${a:isNull()}"], {})), "No actions for rule 'r' found."),
        (rules("USE_CLONE", ("r", ["${a}"], {"b": "1"})), "Condition for rule 'r': '${a}' is not a valid boolean "
                                                           "expression: expected the expression to return type "
                                                           "BOOLEAN but it returns type STRING"),
        (rules("USE_CLONE", ("r", ["${a:equals('x')"], {"b": "1"})), "unclosed expression"),
        (rules("USE_CLONE", ("r", ["true"], {"b": "1"})), "no expression found"),
        (rules("USE_CLONE", ("r", ["${a:nope()}"], {"b": "1"})), "Condition for rule 'r': '${a:nope()}' is not a "
                                                                  "valid expression: unknown function 'nope'"),
        (rules("USE_CLONE", ("r", ["${a:isNull()}"], {"b": "${a:nope()}"})), "Action 'b' of rule 'r'"),
    ],
)
def test_invalid_rules_make_the_processor_invalid(value: str, fragment: str) -> None:
    r = runner({"Advanced Rules": value})
    problems = {res.subject: res.explanation for res in r.validation_results()}
    assert fragment in problems["Advanced Rules"]


# -- NiFi's TestUpdateAttribute, case by case ----------------------------------------------------

DELETE_INPUT = {"attribute.1": "value.1", "attribute.2": "value.2", "attribute.6": "value.6",
                "sampleSize": "value.size", "sample.1": "value.sample.1", "simple.1": "value.simple.1"}


@pytest.mark.parametrize(
    ("regex", "kept"),
    [
        ("attribute.2", {"attribute.1", "attribute.6", "sampleSize", "sample.1", "simple.1"}),  # testRegexDotDelete
        ("(attribute\\.[2-5]|sample.*)", {"attribute.1", "attribute.6", "simple.1"}),  # testRegexGroupDelete
        ("${literal('attribute\\\\.'):append(${literal(6)})}",  # testExpressionLiteralDelete
         {"attribute.1", "attribute.2", "sampleSize", "sample.1", "simple.1"}),
        ("${literal('(attribute\\\\.'):append(${literal('[2-5]')}):append(${literal('|sample.*)')})}",
         {"attribute.1", "attribute.6", "simple.1"}),  # testExpressionRegexDelete
    ],
)
def test_nifi_delete_cases(regex: str, kept: set[str]) -> None:
    r = runner({"Delete Attributes Expression": regex})
    r.enqueue(b"", DELETE_INPUT)
    r.run()
    attributes = r.flowfiles_for("success")[0].attributes
    assert {k for k in DELETE_INPUT if k in attributes} == kept


@pytest.mark.parametrize(
    ("properties", "incoming", "expected"),
    [
        ({"attribute.1": ""}, {"attribute.1": "old.value.1"}, {"attribute.1": ""}),  # testSetEmptyString
        ({"NewAttr": "${one:plus(${two})}"}, {"one": "1", "two": "2"}, {"NewAttr": "3"}),  # testDefaultAddAttribute
        ({"NewAttr": "${a:equals('b'):toString()}"}, {"a": "b"}, {"NewAttr": "true"}),  # testDefaultBooleanAsString
        ({"NewAttr": "$${a}"}, {"a": "b"}, {"NewAttr": "${a}"}),  # testDefaultEscapeValue
    ],
)
def test_nifi_default_cases(properties: dict[str, str], incoming: dict[str, str], expected: dict[str, str]) -> None:
    r = runner(properties)
    r.enqueue(b"", incoming)
    r.run()
    for key, value in expected.items():
        r.flowfiles_for("success")[0].assert_attribute_equals(key, value)


def test_nifi_incorrect_expression_is_invalid() -> None:  # testAddAttributeWithIncorrectExpression
    runner({"NewId": "${UUID(}"}).assert_not_valid()


@pytest.mark.parametrize(("initial", "count", "total"), [("0", "5", "15"), ("10", "15", "25")])
def test_nifi_basic_state(initial: str, count: str, total: str) -> None:  # testBasicState, testStateWithInitValue
    r = runner({"Store State": "Store state locally", "count": "${getStateValue('count'):plus(1)}",
                "sum": "${getStateValue('sum'):plus(${pencils})}"})
    r.assert_not_valid()
    r.set_property("Stateful Variables Initial Value", initial)
    r.assert_valid()
    r.enqueue_many([(b"", {"pencils": p}) for p in ("2", "2", "3", "3", "5")])
    r.run(5)
    r.assert_all_transferred("success", 5)
    r.flowfiles_for("success")[4].assert_attribute_equals("count", count)
    r.flowfiles_for("success")[4].assert_attribute_equals("sum", total)


def _max_rule(name: str, condition: str, attribute: str) -> tuple[str, list[str], dict[str, str]]:
    return (name, [condition], {attribute: "${value}"})


@pytest.mark.parametrize(
    ("initial", "rule", "defaults", "expected"),
    [
        # testRuleHitWithState: the rule misses for the last one, so it has no maxValue
        ("0", _max_rule("rule", "${getStateValue('maxValue'):lt(${value})}", "maxValue"), {},
         [("maxValue", 2, "4"), ("maxValue", 3, None)]),
        # testRuleHitWithStateWithDefault: the default keeps the stored maximum
        ("0", _max_rule("rule", "${getStateValue('maxValue'):lt(${value})}", "maxValue"),
         {"maxValue": "${getStateValue('maxValue')}"}, [("maxValue", 2, "4"), ("maxValue", 3, "4")]),
        # testRuleHitWithStateWithInitValue
        ("5", _max_rule("rule", "${getStateValue('minValue'):ge(${value})}", "minValue"), {},
         [("minValue", 3, "1")]),
    ],
)
def test_nifi_rules_with_state(initial: str, rule: tuple[str, list[str], dict[str, str]], defaults: dict[str, str],
                               expected: list[tuple[str, int, str | None]]) -> None:
    r = runner({"Store State": "Store state locally", "Stateful Variables Initial Value": initial,
                "Advanced Rules": rules("USE_CLONE", rule), **defaults})
    for value in ("1", "2", "4", "1"):
        r.enqueue(b"", {"value": value})
        r.run()
    r.assert_all_transferred("success", 4)
    out = r.flowfiles_for("success")
    for attribute, index, value in expected:
        out[index].assert_attribute_equals(attribute, value)


def test_nifi_multiple_rules_with_state_and_delete() -> None:  # testMultipleRulesWithStateAndDelete
    r = runner({
        "Store State": "Store state locally", "Delete Attributes Expression": "badValue",
        "Stateful Variables Initial Value": "0",
        "Advanced Rules": rules("USE_ORIGINAL",
                                _max_rule("rule", "${getStateValue('maxValue'):lt(${value})}", "maxValue"),
                                ("rule2", ["${value:mod(2):equals(0)}"], {"whatIsIt": "even"})),
        "maxValue": "${getStateValue('maxValue')}", "whatIsIt": "odd",
        "whatWasIt": "${getStateValue('whatIsIt')}", "theCount": "${getStateValue('theCount'):plus(1)}",
    })
    for value in ("1", "2", "5", "1"):
        r.enqueue(b"", {"value": value, "badValue": "10"})
        r.run()
    out = r.flowfiles_for("success")
    out[3].assert_attribute_equals("maxValue", "5")
    out[3].assert_attribute_equals("theCount", "4")
    out[0].assert_attribute_equals("badValue", None)
    out[0].assert_attribute_equals("whatIsIt", "odd")
    out[1].assert_attribute_equals("whatIsIt", "even")
    out[2].assert_attribute_equals("whatWasIt", "even")
    out[3].assert_attribute_equals("whatWasIt", "odd")


def test_nifi_use_original_applies_defaults_once() -> None:  # ...UseOriginalDoesntApplyDefaultsRepeatedly
    matching = "${attribute.1:equals('value.1')}"
    r = runner({"Advanced Rules": rules("USE_ORIGINAL", ("rule 1", [matching], {"attribute.2": "value.2"}),
                                        ("rule 2", [matching], {"attribute.3": "value.3"}),
                                        ("rule 3", [matching], {"attribute.2": "value.3"})),
                "default.attr": "${default.attr}-more-stuff"})
    r.enqueue(b"content", {"attribute.1": "value.1"})
    r.run()
    (ff,) = r.flowfiles_for("success")
    ff.assert_attribute_equals("default.attr", "-more-stuff")
    ff.assert_attribute_equals("attribute.2", "value.3")
    ff.assert_attribute_equals("attribute.3", "value.3")
    ff.assert_content_equals(b"content")


def test_nifi_state_failure_with_clones_keeps_the_original_only() -> None:  # testStateFailuresWithRulesUsingClone
    r = runner({"Store State": "Store state locally", "Stateful Variables Initial Value": "0",
                "Advanced Rules": rules(
                    "USE_CLONE", _max_rule("rule", "${getStateValue('maxValue'):lt(${value})}", "maxValue"),
                    _max_rule("rule2", "${getStateValue('maxValue2'):lt(${value})}", "maxValue2"))})
    read_state = r._read_state
    # a stale read (another writer has moved the state on): the commit is refused
    r._read_state = lambda component_id: (7, {"maxValue": "0"})  # type: ignore[method-assign]
    r.enqueue(b"", {"value": "1"})
    r.run()
    r._read_state = read_state  # type: ignore[method-assign]
    r.run()
    r.assert_all_transferred("set state fail", 1)
    (ff,) = r.flowfiles_for("set state fail")
    ff.assert_attribute_equals("maxValue", "1")
    ff.assert_attribute_equals("maxValue2", None)


def test_a_flow_carrying_nifis_annotation_data_keeps_its_rules() -> None:
    from flowyard.runtime.flow import flow_from_dict

    definition = flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {"processors": [
        {"identifier": "ua", "type": "UpdateAttribute", "annotationData": NIFI_CRITERIA,
         "autoTerminatedRelationships": ["success"]},
        {"identifier": "other", "type": "UpdateAttribute", "annotationData": NIFI_CRITERIA,
         "properties": {"Advanced Rules": "{}"}, "autoTerminatedRelationships": ["success"]}]}})
    by_id = {p.identifier: p for p in definition.processors}
    assert by_id["ua"].properties["advanced-rules"] == NIFI_CRITERIA
    assert by_id["other"].properties == {"Advanced Rules": "{}"}, "a property already set wins"
