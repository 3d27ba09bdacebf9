"""The standard processors use NiFi's Expression Language the way NiFi does.

Every test goes through ``ProcessorRunner`` with the real Expression Language
(its default), parameters given to the runner as a parameter context would.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import pytest

from flowyard.processors.fetch_file import FetchFile
from flowyard.processors.generate_flowfile import GenerateFlowFile
from flowyard.processors.get_file import GetFile
from flowyard.processors.list_file import ListFile
from flowyard.processors.log_message import LogMessage
from flowyard.processors.put_file import PutFile
from flowyard.processors.route_on_attribute import (
    ROUTE_ALL_MATCH,
    ROUTE_ANY_MATCHES,
    ROUTE_TO_PROPERTY_NAME,
    RouteOnAttribute,
)
from flowyard.processors.update_attribute import UpdateAttribute
from flowyard.runtime.sdk import InvalidComponentError, ProcessingError
from flowyard.runtime.sdk.testing import ProcessorRunner

# An attribute whose value is not a valid regular expression: only evaluation can reveal it.
BAD_REGEX = {"filename": "report.txt", "pattern": "[unclosed", "count": "0"}
FAILS_ON_EVALUATION = "${filename:matches(${pattern})}"
# Files listed an hour ago, far outside ListFile's listing lag.
AN_HOUR_AGO = time.time() - 3600


def make_runner(
    processor: type, properties: dict[str, str] | None = None, parameters: dict[str, str] | None = None
) -> ProcessorRunner:
    r = ProcessorRunner(processor, parameters=parameters)
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


def write(path: Path, content: bytes = b"data") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))
    return path


def logged(caplog: pytest.LogCaptureFixture, processor: str) -> list[tuple[int, str]]:
    """(level, message without the component prefix) logged by ``processor``."""
    return [
        (rec.levelno, rec.getMessage().split("] ", 1)[1])
        for rec in caplog.records if rec.name == f"flowyard.processor.{processor}"
    ]


def explanations(r: ProcessorRunner) -> dict[str, str]:
    return {res.subject: res.explanation for res in r.validation_results()}


# -- UpdateAttribute ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "attributes", "expected"),
    [
        ("${filename:substringBeforeLast('.'):toUpper()}", {"filename": "report.txt"}, "REPORT"),
        ("${fileSize}", {"fileSize": "1234"}, "1234"),
        ("${literal(2):plus(3)}", {}, "5"),
        ("${filename:substringAfterLast('.')}-${missing}", {"filename": "a.b.csv"}, "csv-"),
        ("${missing:replaceNull('fallback')}", {}, "fallback"),
        ("${size:toNumber():gt(1000)}", {"size": "2048"}, "true"),
        ("pre-${filename}-post", {"filename": "x"}, "pre-x-post"),
        ("$${filename}", {"filename": "x"}, "${filename}"),
        ("prefix ${filename", {"filename": "x"}, "prefix ${filename"),  # unterminated: literal, as in NiFi
        ("#{team}/${filename}", {"filename": "x"}, "ops/x"),
        ("${'name with spaces':toLower()}", {"name with spaces": "ABC"}, "abc"),
        ("${${pointer}}", {"pointer": "target", "target": "found"}, "found"),
    ],
)
def test_update_attribute_evaluates_dynamic_properties(
    value: str, attributes: dict[str, str], expected: str
) -> None:
    r = make_runner(UpdateAttribute, {"result": value}, parameters={"team": "ops"})
    r.assert_valid()
    r.enqueue(b"body", attributes)
    r.run()
    r.assert_all_transferred("success", 1)
    out = r.flowfiles_for("success")[0]
    out.assert_attribute_equals("result", expected)
    out.assert_content_equals(b"body")


def test_update_attribute_evaluates_against_the_incoming_attributes() -> None:
    # NiFi evaluates every property against the FlowFile as it arrived, not as it is being changed.
    r = make_runner(UpdateAttribute, {"filename": "${filename:toUpper()}", "copy": "${filename}"})
    r.enqueue(b"", {"filename": "a.txt"})
    r.run()
    out = r.flowfiles_for("success")[0]
    out.assert_attribute_equals("filename", "A.TXT")
    out.assert_attribute_equals("copy", "a.txt")


def test_update_attribute_delete_expression_uses_attributes() -> None:
    r = make_runner(UpdateAttribute, {"Delete Attributes Expression": "${prefix}\\..*", "kept": "${tmp.a}"})
    r.enqueue(b"", {"prefix": "tmp", "tmp.a": "1", "tmp.b": "2", "other.a": "3"})
    r.run()
    out = r.flowfiles_for("success")[0]
    assert "tmp.a" not in out.attributes and "tmp.b" not in out.attributes
    out.assert_attribute_equals("other.a", "3")
    out.assert_attribute_equals("kept", "1")  # evaluated before the removal


@pytest.mark.parametrize(
    "properties",
    [
        {"bad": FAILS_ON_EVALUATION},
        {"Delete Attributes Expression": "${pattern}"},
        {"share": "${literal(10):divide(${count})}"},
    ],
    ids=["invalid-regex-in-value", "invalid-delete-regex", "division-by-zero"],
)
def test_update_attribute_evaluation_failure_penalizes_and_keeps_the_flowfile(
    caplog: pytest.LogCaptureFixture, properties: dict[str, str]
) -> None:
    caplog.set_level(logging.ERROR, logger="flowyard.processor.UpdateAttribute")
    r = make_runner(UpdateAttribute, {**properties, "ok": "${filename}"})
    r.assert_valid()
    r.enqueue(b"kept", BAD_REGEX)
    r.enqueue(b"fine", {"filename": "b.txt", "pattern": ".*x", "count": "2"})
    r.run()
    # Not lost: penalized and back on its queue, unchanged; the rest of the batch carries on.
    assert r.queue_size == 1
    assert r.penalized_count == 1
    (kept,) = r.input_flowfiles()
    kept.assert_content_equals(b"kept")
    kept.assert_attribute_equals("ok", None)
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_attribute_equals("ok", "b.txt")
    assert r.errors == []
    assert any("penalizing it and returning it to its queue" in msg for _, msg in logged(caplog, "UpdateAttribute"))
    assert r.bulletins and r.bulletins[0][0] == "ERROR"


@pytest.mark.parametrize(
    ("name", "value", "position"),
    [
        ("x", "${filename:toUpper(}", 19),
        ("x", "${filename:noSuchFunction()}", 11),
        ("x", "${filename:toUpper(1)}", 11),
        ("x", "${filename:}", 11),
        ("Delete Attributes Expression", "${a:equals(1}", 12),
    ],
)
def test_update_attribute_invalid_expression_is_not_valid(name: str, value: str, position: int) -> None:
    r = make_runner(UpdateAttribute, {name: value})
    r.assert_not_valid()
    explanation = explanations(r)[name]
    assert "is not a valid expression" in explanation
    assert explanation.endswith(f"at position {position}"), explanation
    r.enqueue(b"", {"filename": "a"})
    with pytest.raises(InvalidComponentError):
        r.run()
    assert r.queue_size == 1


# -- RouteOnAttribute -----------------------------------------------------------------------------

CONDITIONS = {
    "big": "${fileSize:toNumber():gt(100)}",
    "csv": "${filename:endsWith('.csv')}",
    "team": "${owner:equalsIgnoreCase(#{team})}",
}


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"fileSize": "500", "filename": "a.csv", "owner": "OPS"}, ["big", "csv", "team"]),
        ({"fileSize": "5", "filename": "a.csv", "owner": "dev"}, ["csv"]),
        ({"fileSize": "500", "filename": "a.txt"}, ["big"]),
        ({"fileSize": "not a number", "filename": "a.txt"}, ["unmatched"]),
        ({}, ["unmatched"]),
    ],
)
def test_route_on_attribute_to_property_name(attributes: dict[str, str], expected: list[str]) -> None:
    r = make_runner(RouteOnAttribute, CONDITIONS, parameters={"team": "ops"})
    r.assert_valid()
    r.enqueue(b"payload", attributes)
    r.run()
    routed = {rel: len(r.flowfiles_for(rel)) for rel in ("big", "csv", "team", "unmatched")}
    assert routed == {rel: int(rel in expected) for rel in routed}
    for rel in expected:
        r.flowfiles_for(rel)[0].assert_attribute_equals("RouteOnAttribute.Route", rel)
        r.flowfiles_for(rel)[0].assert_content_equals(b"payload")


@pytest.mark.parametrize(
    ("strategy", "attributes", "expected"),
    [
        (ROUTE_ALL_MATCH, {"fileSize": "500", "filename": "a.csv", "owner": "ops"}, "matched"),
        (ROUTE_ALL_MATCH, {"fileSize": "500", "filename": "a.csv", "owner": "dev"}, "unmatched"),
        (ROUTE_ANY_MATCHES, {"fileSize": "5", "filename": "a.txt", "owner": "Ops"}, "matched"),
        (ROUTE_ANY_MATCHES, {"fileSize": "5", "filename": "a.txt"}, "unmatched"),
    ],
)
def test_route_on_attribute_matched_strategies(strategy: str, attributes: dict[str, str], expected: str) -> None:
    r = make_runner(RouteOnAttribute, {"Routing Strategy": strategy, **CONDITIONS}, parameters={"team": "ops"})
    r.enqueue(b"", attributes)
    r.run()
    r.assert_all_transferred(expected, 1)
    r.flowfiles_for(expected)[0].assert_attribute_equals("RouteOnAttribute.Route", expected)


@pytest.mark.parametrize(
    ("condition", "is_match"),
    [
        ("${filename:equals('a.txt'):not()}", False),
        ("${filename:contains('a')}", True),
        ("${flag:equalsIgnoreCase('TRUE')}", True),
        ("${missing:equals('x')}", False),  # null equals nothing
        ("${missing:isNull():and(${flag:equals('true')})}", True),
    ],
)
@pytest.mark.parametrize("strategy", [ROUTE_TO_PROPERTY_NAME, ROUTE_ALL_MATCH, ROUTE_ANY_MATCHES])
def test_route_on_attribute_boolean_results(strategy: str, condition: str, is_match: bool) -> None:
    r = make_runner(RouteOnAttribute, {"Routing Strategy": strategy, "cond": condition})
    r.assert_valid()
    r.enqueue(b"", {"filename": "a.txt", "fileSize": "12", "flag": "true"})
    r.run()
    hit = "cond" if strategy == ROUTE_TO_PROPERTY_NAME else "matched"
    r.assert_all_transferred(hit if is_match else "unmatched", 1)


# NiFi validates a condition with createAttributeExpressionLanguageValidator(BOOLEAN, false): one
# expression, nothing around it, whose ResultType is BOOLEAN ("Expected Attribute Query to return
# type BOOLEAN but query returns type STRING").
@pytest.mark.parametrize(
    ("condition", "returns"),
    [
        ("${filename}", "STRING"),
        ("${fileSize:toNumber()}", "WHOLE_NUMBER"),
        ("${literal('TRUE')}", "STRING"),
        ("${filename:toUpper()}", "STRING"),
        ("${fileSize:toDecimal()}", "DECIMAL"),
        ("${fileSize:plus(1)}", "NUMBER"),
        ("${now()}", "DATE"),
    ],
)
def test_route_on_attribute_non_boolean_expressions_are_invalid(condition: str, returns: str) -> None:
    r = make_runner(RouteOnAttribute, {"cond": condition})
    r.assert_not_valid()
    assert explanations(r)["cond"].endswith(
        f"is not a valid boolean expression: expected the expression to return type BOOLEAN but it returns "
        f"type {returns} (at position 0)")


def test_route_on_attribute_evaluation_failure_penalizes_and_keeps_the_flowfile() -> None:
    r = make_runner(RouteOnAttribute, {"Routing Strategy": ROUTE_ANY_MATCHES, "bad": FAILS_ON_EVALUATION})
    r.enqueue(b"kept", BAD_REGEX)
    r.enqueue(b"routed", {"filename": "a", "pattern": "a"})
    r.run()
    assert r.queue_size == 1 and r.penalized_count == 1
    r.input_flowfiles()[0].assert_content_equals(b"kept")
    r.assert_all_transferred("matched", 1)
    r.flowfiles_for("matched")[0].assert_content_equals(b"routed")


def test_route_on_attribute_invalid_expression_is_not_valid() -> None:
    r = make_runner(RouteOnAttribute, {"ok": "${a:isEmpty()}", "broken": "${a:equals('x'}"})
    r.assert_not_valid()
    assert list(explanations(r)) == ["broken"]
    assert re.search(r"is not a valid (boolean )?expression: .* at position 14$", explanations(r)["broken"])


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        ("${a:equals('b')", "unclosed expression: '${' has no matching '}' at position 0"),
        ("x ${a:equals('b'", "unclosed expression: '${' has no matching '}' at position 2"),
        ("true", "no expression found: expected one ${...} at position 0"),
        ("$${a:isEmpty()}", "no expression found: expected one ${...} at position 0"),  # escaped: literal text
        ("${a:isEmpty()} ", "found characters outside of the expression at position 14"),
        ("${a:isEmpty()}${b:isEmpty()}", "found 2 expressions but expected only one at position 14"),
    ],
)
def test_route_on_attribute_condition_must_be_exactly_one_expression(condition: str, problem: str) -> None:
    r = make_runner(RouteOnAttribute, {"cond": condition})
    r.assert_not_valid()
    assert explanations(r)["cond"].endswith(f"is not a valid boolean expression: {problem}")


def test_route_on_attribute_condition_from_a_parameter() -> None:
    # Only its value after substitution can be judged (NiFi substitutes before validating;
    # flowyard's validator does not see parameters and accepts the reference).
    r = make_runner(RouteOnAttribute, {"cond": "#{flag}"}, parameters={"flag": "true"})
    r.assert_valid()
    r.enqueue(b"", {})
    r.run()
    r.assert_all_transferred("cond", 1)


# -- PutFile --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("directory", "attributes", "relative"),
    [
        ("#{base}/${path}", {"path": "in/2024"}, "in/2024"),
        ("#{base}/${team:toLower()}/${filename:substringAfterLast('.')}", {"team": "OPS"}, "ops/csv"),
        ("${root}", {}, "."),
        ("#{base}", {}, "."),
        ("${literal(#{base})}/fixed", {}, "fixed"),
    ],
)
def test_put_file_directory_from_attributes_and_parameters(
    tmp_path: Path, directory: str, attributes: dict[str, str], relative: str
) -> None:
    r = make_runner(PutFile, {"Directory": directory}, parameters={"base": str(tmp_path)})
    r.assert_valid()
    r.enqueue(b"content", {"filename": "data.csv", "root": str(tmp_path), **attributes})
    r.run()
    r.assert_all_transferred("success", 1)
    assert (tmp_path / relative / "data.csv").read_bytes() == b"content"


def test_put_file_other_properties_are_evaluated_per_flowfile(tmp_path: Path) -> None:
    r = make_runner(PutFile, {
        "Directory": str(tmp_path),
        "Permissions": "${perm}",
        "Last Modified Time": "${stamp}",
        "Conflict Resolution Strategy": "replace",
    })
    r.enqueue(b"a", {"filename": "a", "perm": "600", "stamp": "2020-01-02T03:04:05+0000"})
    r.enqueue(b"b", {"filename": "b", "perm": "rw-r-----", "stamp": "2021-01-02T03:04:05+0000"})
    r.run()
    r.assert_all_transferred("success", 2)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o640
    assert int((tmp_path / "a").stat().st_mtime) == 1577934245
    assert int((tmp_path / "b").stat().st_mtime) == 1609556645


@pytest.mark.parametrize(
    ("directory", "attributes"),
    [
        ("#{base}/${blocker}/sub", {"blocker": "a-file"}),  # a regular file in the way
        ("#{base}/${blocker}", {"blocker": "a-file"}),  # the directory is a regular file
        ("#{base}/${filename:matches(${pattern})}", {"pattern": "[unclosed"}),  # fails on evaluation
    ],
    ids=["file-in-path", "directory-is-a-file", "evaluation-error"],
)
def test_put_file_unusable_directory_goes_to_failure(
    tmp_path: Path, directory: str, attributes: dict[str, str]
) -> None:
    (tmp_path / "a-file").write_bytes(b"in the way")
    r = make_runner(PutFile, {"Directory": directory}, parameters={"base": str(tmp_path)})
    r.assert_valid()
    r.enqueue(b"content", {"filename": "data.csv", **attributes})
    r.enqueue(b"other", {"filename": "ok.csv", "blocker": "good", "pattern": ".*"})
    r.run()
    r.assert_transferred("failure", 1)
    failed = r.flowfiles_for("failure")[0]
    failed.assert_content_equals(b"content")
    assert failed.is_penalized(r.clock())
    r.assert_transferred("success", 1)
    assert (tmp_path / "a-file").read_bytes() == b"in the way"
    assert r.bulletins and r.bulletins[0][0] == "ERROR"


def test_put_file_invalid_directory_expression_is_not_valid() -> None:
    r = make_runner(PutFile, {"Directory": "/data/${path:toUpper(}"})
    r.assert_not_valid()
    assert explanations(r)["Directory"].endswith("at position 21")


# -- GetFile / ListFile ---------------------------------------------------------------------------


def _source_runner(
    processor: type, directory: str, parameters: dict[str, str] | None = None
) -> ProcessorRunner:
    properties = {"Input Directory": directory}
    if processor is GetFile:
        properties["Keep Source File"] = "true"
    return make_runner(processor, properties, parameters)


def _listed(r: ProcessorRunner) -> list[str]:
    return sorted(ff.attributes["filename"] for ff in r.flowfiles_for("success"))


@pytest.mark.parametrize("processor", [GetFile, ListFile])
@pytest.mark.parametrize(
    "directory",
    [
        "${literal(#{dir})}",
        "${EL_TEST_INPUT_DIR}",  # environment variables are part of the environment scope
        "${filename:replaceNull(#{dir})}",  # no flowfile: every attribute is null
        "${absolute.path:replaceNull('#{dir}'):trim()}",
    ],
)
def test_input_directory_is_evaluated_in_the_environment_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, processor: type, directory: str
) -> None:
    monkeypatch.setenv("EL_TEST_INPUT_DIR", str(tmp_path))
    write(tmp_path / "a.txt")
    write(tmp_path / "b.txt")
    r = _source_runner(processor, directory, {"dir": str(tmp_path)})
    r.assert_valid()
    r.run()
    assert _listed(r) == ["a.txt", "b.txt"]
    assert all(ff.attributes["absolute.path"] == f"{tmp_path}/" for ff in r.flowfiles_for("success"))


@pytest.mark.parametrize("processor", [GetFile, ListFile])
def test_input_directory_has_no_flowfile_attributes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, processor: type
) -> None:
    # NiFi evaluates an ENVIRONMENT-scoped property without a FlowFile: ${filename} is empty.
    caplog.set_level(logging.ERROR, logger=f"flowyard.processor.{processor.__name__}")
    write(tmp_path / "filename")
    r = _source_runner(processor, "${filename}")
    r.assert_valid()
    r.run()
    r.assert_transferred("success", 0)
    assert r.yield_count == 1
    assert logged(caplog, processor.__name__) == [
        (logging.ERROR, "Input Directory '' does not exist or is not a directory")
    ]


@pytest.mark.parametrize("processor", [GetFile, ListFile])
def test_input_directory_invalid_expression_is_not_valid(processor: type) -> None:
    r = _source_runner(processor, "${literal('/tmp'):trim(}")
    r.assert_not_valid()
    assert explanations(r)["Input Directory"].endswith("at position 23")


@pytest.mark.parametrize("processor", [GetFile, ListFile])
def test_input_directory_from_a_parameter(tmp_path: Path, processor: type) -> None:
    write(tmp_path / "a.txt")
    r = _source_runner(processor, "#{dir}", {"dir": str(tmp_path)})
    r.assert_valid()
    r.run()
    assert _listed(r) == ["a.txt"]


# -- FetchFile ------------------------------------------------------------------------------------


def test_fetch_file_default_fetches_the_file_named_by_attributes(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.txt", b"alpha")
    write(tmp_path / "in" / "b.txt", b"beta")
    r = make_runner(FetchFile)
    r.assert_valid()
    r.enqueue(b"", {"absolute.path": str(tmp_path / "in"), "filename": "b.txt"})
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(b"beta")


@pytest.mark.parametrize(
    ("file_to_fetch", "attributes", "content"),
    [
        ("#{root}/${dir}/${name:toLower()}.txt", {"dir": "in", "name": "A"}, b"alpha"),
        ("${root}/in/${filename:substringBefore('.')}.txt", {"root": "{tmp}", "filename": "b.csv"}, b"beta"),
        ("${literal(#{root}):append('/in/a.txt')}", {}, b"alpha"),
        ("#{root}/in/b.txt", {}, b"beta"),
    ],
)
def test_fetch_file_custom_file_to_fetch(
    tmp_path: Path, file_to_fetch: str, attributes: dict[str, str], content: bytes
) -> None:
    write(tmp_path / "in" / "a.txt", b"alpha")
    write(tmp_path / "in" / "b.txt", b"beta")
    r = make_runner(FetchFile, {"File to Fetch": file_to_fetch}, parameters={"root": str(tmp_path)})
    r.assert_valid()
    r.enqueue(b"", {k: v.replace("{tmp}", str(tmp_path)) for k, v in attributes.items()})
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(content)


@pytest.mark.parametrize(
    ("file_to_fetch", "attributes", "relationship"),
    [
        ("${absolute.path}/${filename}", {"absolute.path": "{tmp}", "filename": "missing.txt"}, "not.found"),
        ("#{root}/${filename:matches(${pattern})}", {"filename": "a", "pattern": "("}, "failure"),
        ("${missing}", {}, "failure"),  # evaluates to empty
        ("#{root}/${dir}", {"dir": "in"}, "failure"),  # a directory
    ],
)
def test_fetch_file_failures(
    tmp_path: Path, file_to_fetch: str, attributes: dict[str, str], relationship: str
) -> None:
    write(tmp_path / "in" / "a.txt", b"alpha")
    r = make_runner(FetchFile, {"File to Fetch": file_to_fetch}, parameters={"root": str(tmp_path)})
    r.assert_valid()
    r.enqueue(b"original", {k: v.replace("{tmp}", str(tmp_path)) for k, v in attributes.items()})
    r.run()
    r.assert_all_transferred(relationship, 1)
    out = r.flowfiles_for(relationship)[0]
    out.assert_content_equals(b"original")
    assert out.is_penalized(r.clock())


def test_fetch_file_move_destination_is_evaluated(tmp_path: Path) -> None:
    source = write(tmp_path / "in" / "a.txt", b"alpha")
    r = make_runner(FetchFile, {
        "Completion Strategy": "Move File",
        "Move Destination Directory": "#{root}/done/${team}",
    }, parameters={"root": str(tmp_path)})
    r.enqueue(b"", {"absolute.path": str(tmp_path / "in"), "filename": "a.txt", "team": "ops"})
    r.run()
    r.assert_all_transferred("success", 1)
    assert not source.exists()
    assert (tmp_path / "done" / "ops" / "a.txt").read_bytes() == b"alpha"


def test_fetch_file_escaped_default_is_literal_text(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", b"alpha")
    r = make_runner(FetchFile, {"File to Fetch": "$${absolute.path}/$${filename}"})
    r.enqueue(b"", {"absolute.path": str(tmp_path), "filename": "a.txt"})
    r.run()
    # NiFi looks for a file literally named '${absolute.path}/${filename}', which does not exist.
    r.assert_all_transferred("not.found", 1)


# -- LogMessage -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "attributes", "expected"),
    [
        ({"Log message": "got ${filename}"}, {"filename": "a.txt"}, (logging.INFO, "got a.txt")),
        (
            {"Log prefix": "[${source:toUpper()}] ", "Log message": "${filename} (${fileSize} bytes)"},
            {"source": "sftp", "filename": "a.txt", "fileSize": "12"},
            (logging.INFO, "[SFTP] a.txt (12 bytes)"),
        ),
        (
            {"Log Prefix": "#{env}: ", "Log Message": "${literal(2):plus(3)}", "Log Level": "${level}"},
            {"level": "WARN"},
            (logging.WARNING, "prod: 5"),
        ),
        ({"Log Message": "${missing}", "Log Prefix": "${missing}"}, {}, (logging.INFO, "")),
    ],
)
def test_log_message_evaluates_its_properties(
    caplog: pytest.LogCaptureFixture, properties: dict[str, str], attributes: dict[str, str],
    expected: tuple[int, str],
) -> None:
    caplog.set_level(logging.DEBUG, logger="flowyard.processor.LogMessage")
    r = make_runner(LogMessage, properties, parameters={"env": "prod"})
    r.assert_valid()
    r.enqueue(b"content", attributes)
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(b"content")
    assert logged(caplog, "LogMessage") == [expected]


def test_log_message_is_evaluated_per_flowfile(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="flowyard.processor.LogMessage")
    r = make_runner(LogMessage, {"Log Message": "${filename}", "Log Level": "${level:replaceNull('info')}"})
    r.enqueue_many([(b"", {"filename": "a"}), (b"", {"filename": "b", "level": "error"})])
    r.run()
    assert logged(caplog, "LogMessage") == [(logging.INFO, "a"), (logging.ERROR, "b")]


@pytest.mark.parametrize(
    ("properties", "attributes"),
    [
        ({"Log Message": FAILS_ON_EVALUATION}, BAD_REGEX),
        ({"Log Message": "x", "Log Prefix": FAILS_ON_EVALUATION}, BAD_REGEX),
        ({"Log Message": "x", "Log Level": "${level}"}, {"level": "loud"}),
    ],
    ids=["message", "prefix", "level-not-a-level"],
)
def test_log_message_evaluation_failure_penalizes_and_keeps_the_flowfile(
    caplog: pytest.LogCaptureFixture, properties: dict[str, str], attributes: dict[str, str]
) -> None:
    caplog.set_level(logging.DEBUG, logger="flowyard.processor.LogMessage")
    r = make_runner(LogMessage, properties)
    r.assert_valid()
    r.enqueue(b"kept", attributes)
    r.run()
    assert r.queue_size == 1 and r.penalized_count == 1
    r.assert_transferred("success", 0)
    ((level, message),) = logged(caplog, "LogMessage")
    assert level == logging.ERROR and "penalizing it and returning it to its queue" in message


def test_log_message_invalid_expression_is_not_valid() -> None:
    r = make_runner(LogMessage, {"Log Message": "${filename:}", "Log Prefix": "${a:noSuchFunction()}"})
    r.assert_not_valid()
    found = explanations(r)
    assert set(found) == {"Log Message", "Log Prefix"}
    assert found["Log Message"].endswith("at position 11")
    assert found["Log Prefix"].endswith("at position 4")


# -- GenerateFlowFile -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("custom_text", "content"),
    [
        ("${literal('x'):repeat(3)}", "xxx"),
        ("#{greeting}", "hello"),
        ("#{greeting}, ${literal('world'):toUpper()}!", "hello, WORLD!"),
        ("${literal(#{greeting}):length()}", "5"),
        ("$${filename}", "${filename}"),
        ("${filename}|", "|"),  # no flowfile: attributes are null
    ],
)
def test_generate_flowfile_custom_text(custom_text: str, content: str) -> None:
    r = make_runner(GenerateFlowFile, {"Custom Text": custom_text, "Batch Size": "2"},
                    parameters={"greeting": "hello"})
    r.assert_valid()
    r.run()
    r.assert_all_transferred("success", 2)
    for ff in r.flowfiles_for("success"):
        ff.assert_content_equals(content)


def test_generate_flowfile_dynamic_attributes_and_file_size() -> None:
    r = make_runner(GenerateFlowFile, {
        "File Size": "${literal(2):multiply(5)}B",
        "sum": "${literal(2):plus(3)}",
        "team": "#{team}",
        "upper": "${literal(#{team}):toUpper()}",
        "plain": "no expression",
        "attr": "${filename}",
    }, parameters={"team": "ops"})
    r.assert_valid()
    r.run()
    r.assert_all_transferred("success", 1)
    ff = r.flowfiles_for("success")[0]
    assert ff.size == 10
    for name, value in {"sum": "5", "team": "ops", "upper": "OPS", "plain": "no expression", "attr": ""}.items():
        ff.assert_attribute_equals(name, value)


@pytest.mark.parametrize(
    "properties",
    [{"Custom Text": "${literal(1):divide(0)}"}, {"n": "${literal(1):divide(0)}"}],
    ids=["custom-text", "dynamic-attribute"],
)
def test_generate_flowfile_evaluation_failure_creates_nothing(properties: dict[str, str]) -> None:
    r = make_runner(GenerateFlowFile, properties)
    r.assert_valid()
    r.run(raise_errors=False)
    r.assert_transferred("success", 0)
    assert len(r.errors) == 1 and "divide() failed" in str(r.errors[0])
    assert isinstance(r.errors[0], ProcessingError), "an expected failure (NiFi: ProcessException), not a bug"
    assert "nothing generated" in str(r.errors[0])


@pytest.mark.parametrize(
    "properties",
    [{"Custom Text": "${literal('x'):repeat(}"}, {"attr": "${literal('x'):noSuchFunction()}"}],
)
def test_generate_flowfile_invalid_expression_is_not_valid(properties: dict[str, str]) -> None:
    r = make_runner(GenerateFlowFile, properties)
    r.assert_not_valid()
    (subject,) = properties
    assert re.search(r"is not a valid expression: .* at position \d+$", explanations(r)[subject])
    with pytest.raises(InvalidComponentError):
        r.run()


def test_reference_to_a_missing_parameter_is_not_valid() -> None:
    r = make_runner(GenerateFlowFile, {"Custom Text": "#{missing}"}, parameters={"greeting": "hello"})
    r.assert_not_valid()


@pytest.mark.parametrize(("parameters", "valid"), [({"batch": "2"}, True), ({}, False)])
def test_properties_without_expression_language_still_take_parameters(
    tmp_path: Path, parameters: dict[str, str], valid: bool
) -> None:
    from flowyard.processors.get_file import GetFile

    for i in range(5):
        (tmp_path / f"f{i}.txt").write_text(str(i))
    runner = ProcessorRunner(GetFile, parameters=parameters)
    runner.set_property("Input Directory", str(tmp_path))
    runner.set_property("Batch Size", "#{batch}")
    if not valid:
        assert "references the parameter(s) 'batch'" in " ".join(map(str, runner.validation_results()))
        return
    runner.assert_valid()
    runner.run()
    runner.assert_transferred("success", 2)
