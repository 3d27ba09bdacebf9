from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import pytest

from flowyard.processors.log_message import LogMessage
from flowyard.runtime.sdk import InvalidComponentError
from flowyard.runtime.sdk.testing import ProcessorRunner

Evaluator = Callable[[str, Mapping[str, str] | None], str]
LOGGER = "flowyard.processor.LogMessage"


def runner(properties: dict[str, str], evaluator: Evaluator | None = None) -> ProcessorRunner:
    r = ProcessorRunner(LogMessage, evaluator=evaluator)
    for name, value in properties.items():
        r.set_property(name, value)
    return r


def messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(rec.levelno, rec.getMessage().split("] ", 1)[1]) for rec in caplog.records if rec.name == LOGGER]


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"Log Message": "hello"}, [(logging.INFO, "hello")]),
        ({"Log Message": "hello", "Log Prefix": "[a] "}, [(logging.INFO, "[a] hello")]),
        ({"log-message": "legacy", "log-prefix": "p:", "log-level": "warn"}, [(logging.WARNING, "p:legacy")]),
        ({"Log message": "2.0 name", "Log prefix": "x-"}, [(logging.INFO, "x-2.0 name")]),
        ({"Log Message": "m", "Log Level": "ERROR"}, [(logging.ERROR, "m")]),
        ({"Log Message": "m", "Log Level": "trace"}, [(logging.DEBUG, "m")]),
        ({"Log Level": "debug"}, [(logging.DEBUG, "")]),
    ],
)
def test_logs_the_message(
    caplog: pytest.LogCaptureFixture, properties: dict[str, str], expected: list[tuple[int, str]]
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    r = runner(properties)
    r.enqueue(b"content", {})
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(b"content")
    assert messages(caplog) == expected


def test_message_and_level_evaluate_per_flowfile(caplog: pytest.LogCaptureFixture, evaluator: Evaluator) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    r = runner({"Log Message": "got ${filename}", "Log Level": "${level}"}, evaluator)
    r.enqueue_many([(b"", {"filename": "a", "level": "info"}), (b"", {"filename": "b", "level": "WARN"})])
    r.run()
    assert messages(caplog) == [(logging.INFO, "got a"), (logging.WARNING, "got b")]
    assert r.bulletins == [("WARNING", "got b")]


def test_an_unknown_level_at_run_time_penalizes_the_flowfile(
    caplog: pytest.LogCaptureFixture, evaluator: Evaluator
) -> None:
    r = runner({"Log Message": "m", "Log Level": "${level}"}, evaluator)
    r.enqueue_many([(b"", {"level": "loud"}), (b"", {"level": "info"})])
    r.run()
    r.assert_transferred("success", 1)
    assert r.queue_size == 1
    assert r.penalized_count == 1


@pytest.mark.parametrize(
    ("properties", "subject"),
    [
        ({"Log Level": "loud"}, "Log Level"),
        ({"Log Level": ""}, "Log Level"),
        ({"Log Message": " "}, "Log Message"),
        ({"Log Prefix": ""}, "Log Prefix"),
    ],
)
def test_invalid_configurations(properties: dict[str, str], subject: str) -> None:
    r = runner(properties)
    assert subject in [result.subject for result in r.validation_results()]
    with pytest.raises(InvalidComponentError):
        r.run()
