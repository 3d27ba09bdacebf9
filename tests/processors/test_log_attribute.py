from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import pytest

from flowyard.processors.log_attribute import LogAttribute
from flowyard.runtime.sdk import InvalidComponentError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

Evaluator = Callable[[str, Mapping[str, str] | None], str]
LOGGER = "flowyard.processor.LogAttribute"


def run(
    caplog: pytest.LogCaptureFixture,
    properties: dict[str, str],
    attributes: dict[str, str],
    content: bytes = b"payload",
    evaluator: Evaluator | None = None,
) -> tuple[ProcessorRunner, list[logging.LogRecord]]:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    r = ProcessorRunner(LogAttribute, evaluator=evaluator)
    for name, value in properties.items():
        r.set_property(name, value)
    r.enqueue(content, attributes)
    r.run()
    return r, [rec for rec in caplog.records if rec.name == LOGGER]


def test_logs_every_attribute_and_passes_the_flowfile_on(caplog: pytest.LogCaptureFixture) -> None:
    r, records = run(caplog, {}, {"color": "blue", "size": "big"})
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(b"payload")
    (record,) = records
    assert record.levelno == logging.INFO
    text = record.getMessage()
    assert "Key: 'color'\n\tValue: 'blue'" in text
    assert "Key: 'size'\n\tValue: 'big'" in text
    assert "FlowFile Properties" in text and "Key: 'fileSize'\n\tValue: '7'" in text
    assert "payload" not in text
    assert r.provenance_events() == []  # nothing changed, nothing recorded


@pytest.mark.parametrize(
    ("properties", "logged", "not_logged"),
    [
        ({"Attributes to Log": "a, b"}, ["a", "b"], ["c", "filename"]),
        ({"Attributes to Log Regular Expression": "a|c"}, ["a", "c"], ["b"]),
        ({"Attributes to Log": "a,b", "Attributes to Log Regular Expression": "b|c"}, ["b"], ["a", "c"]),
        ({"Attributes to Ignore": "a"}, ["b", "c"], ["a"]),
        ({"Attributes to Ignore Regular Expression": "[ab]"}, ["c"], ["a", "b"]),
        ({"Attributes to Ignore": "a", "Attributes to Ignore Regular Expression": "b"}, ["c"], ["a", "b"]),
        ({"attributes-to-log-regex": "c"}, ["c"], ["a"]),  # NiFi 1.x name
    ],
)
def test_attribute_selection(
    caplog: pytest.LogCaptureFixture, properties: dict[str, str], logged: list[str], not_logged: list[str]
) -> None:
    _, (record,) = run(caplog, properties, {"a": "1", "b": "2", "c": "3"})
    text = record.getMessage()
    for name in logged:
        assert f"Key: '{name}'" in text
    for name in not_logged:
        assert f"Key: '{name}'" not in text


def test_single_line_format_without_properties(caplog: pytest.LogCaptureFixture) -> None:
    _, (record,) = run(
        caplog,
        {"Output Format": "Single Line", "Log FlowFile Properties": "false", "Attributes to Log": "a,b"},
        {"a": "1", "b": "2"},
    )
    assert record.getMessage().splitlines()[-1] == "FlowFile Properties: {a=1, b=2}"


@pytest.mark.parametrize(
    ("charset", "content", "shown"),
    [("UTF-8", "héllo".encode(), "héllo"), ("ISO-8859-1", "héllo".encode("latin-1"), "héllo")],
)
def test_payload_is_logged_when_asked(
    caplog: pytest.LogCaptureFixture, charset: str, content: bytes, shown: str
) -> None:
    _, (record,) = run(caplog, {"Log Payload": "true", "Character Set": charset}, {}, content)
    assert record.getMessage().endswith(shown)


def test_large_payload_is_left_out(caplog: pytest.LogCaptureFixture) -> None:
    _, (record,) = run(caplog, {"Log Payload": "true"}, {}, b"x" * (1 << 20))
    assert "x" * 100 not in record.getMessage()
    assert "not logged" in record.getMessage()


@pytest.mark.parametrize("name", ["Log Prefix", "Log prefix"])
def test_prefix_is_centred_in_the_separator(caplog: pytest.LogCaptureFixture, name: str) -> None:
    _, (record,) = run(caplog, {name: "MINE"}, {})
    separator = record.getMessage().splitlines()[1]
    assert separator == "-" * 23 + "MINE" + "-" * 23
    assert len(separator) == 50


@pytest.mark.parametrize(
    ("level", "levelno", "bulletin"),
    [
        ("trace", logging.DEBUG, False),
        ("debug", logging.DEBUG, False),
        ("info", logging.INFO, False),
        ("warn", logging.WARNING, True),
        ("error", logging.ERROR, True),
    ],
)
def test_log_levels(caplog: pytest.LogCaptureFixture, level: str, levelno: int, bulletin: bool) -> None:
    r, (record,) = run(caplog, {"Log Level": level}, {})
    assert record.levelno == levelno
    assert bool(r.bulletins) is bulletin


def test_prefix_evaluates_against_attributes(caplog: pytest.LogCaptureFixture, evaluator: Evaluator) -> None:
    _, (record,) = run(caplog, {"Log Prefix": "${team}"}, {"team": "ops"}, evaluator=evaluator)
    assert "ops" in record.getMessage().splitlines()[1]


def test_unusable_character_set_at_run_time_penalizes(
    caplog: pytest.LogCaptureFixture, evaluator: Evaluator
) -> None:
    r, _ = run(caplog, {"Character Set": "${cs}", "Log Payload": "true"}, {"cs": "no-such-charset"},
               evaluator=evaluator)
    r.assert_transferred("success", 0)
    assert r.penalized_count == 1


def test_logs_a_batch_per_run(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    r = ProcessorRunner(LogAttribute)
    r.enqueue_many([(b"", {"n": str(i)}) for i in range(60)])
    r.run()
    r.assert_transferred("success", 50)
    assert not r.provenance_events(ProvenanceEventType.ATTRIBUTES_MODIFIED)


@pytest.mark.parametrize(
    ("properties", "subject"),
    [
        ({"Log Level": "verbose"}, "Log Level"),
        ({"Log Payload": "yes"}, "Log Payload"),
        ({"Attributes to Log Regular Expression": "("}, "Attributes to Log Regular Expression"),
        ({"Attributes to Ignore Regular Expression": "[a"}, "Attributes to Ignore Regular Expression"),
        ({"Output Format": "JSON"}, "Output Format"),
        ({"Character Set": "klingon"}, "Character Set"),
        ({"Log Prefix": " "}, "Log Prefix"),
    ],
)
def test_invalid_configurations(properties: dict[str, str], subject: str) -> None:
    r = ProcessorRunner(LogAttribute)
    for name, value in properties.items():
        r.set_property(name, value)
    assert subject in [result.subject for result in r.validation_results()]
    with pytest.raises(InvalidComponentError):
        r.run()


def test_unknown_properties_are_refused() -> None:
    r = ProcessorRunner(LogAttribute)
    r.set_property("not a property", "x")
    with pytest.raises(ValueError, match="unknown property 'not a property'"):
        r.validation_results()
