from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from flowyard.processors._system_command import exit_status, split_args
from flowyard.processors.execute_stream_command import ExecuteStreamCommand
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration

PY = sys.executable


def runner(command: str, properties: Mapping[str, str] | None = None, **kwargs: object) -> ProcessorRunner:
    r = ProcessorRunner(ExecuteStreamCommand, **kwargs)  # type: ignore[arg-type]
    r.set_property("Command Path", command)
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


@pytest.mark.parametrize(
    ("text", "delimiter", "expected"),
    [
        ("a;b;c", ";", ["a", "b", "c"]),
        ("a;;b", ";", ["a", "", "b"]),
        ('-c;"x;y"', ";", ["-c", "x;y"]),
        ("a b\tc\nd", " ", ["a", "b", "c", "d"]),
        ('"a b" c', " ", ["a b", "c"]),
        ("", ";", [""]),
        (None, ";", []),
    ],
)
def test_split_args_like_nifi(text: str | None, delimiter: str, expected: list[str]) -> None:
    assert split_args(text, delimiter) == expected


@pytest.mark.parametrize(("returncode", "status"), [(0, 0), (3, 3), (-9, 137), (-15, 143)])
def test_exit_status_like_java(returncode: int, status: int) -> None:
    assert exit_status(returncode) == status


def test_content_is_piped_through_the_command() -> None:
    r = runner("tr", {"Command Arguments": "a-z;A-Z"})
    r.enqueue(b"hello world\n", {"filename": "x.txt"})
    r.run()
    (out,) = r.flowfiles_for("output stream")
    (orig,) = r.flowfiles_for("original")
    assert out.content == b"HELLO WORLD\n"
    assert orig.content == b"hello world\n"
    for ff in (out, orig):
        assert ff.attributes["execution.status"] == "0"
        assert ff.attributes["execution.command"] == "tr"
        assert ff.attributes["execution.command.args"] == "a-z;A-Z"
        assert ff.attributes["execution.error"] == ""
        assert ff.attributes["filename"] == "x.txt"
    assert out.attributes["uuid"] != orig.attributes["uuid"]
    r.assert_transferred("nonzero status", 0)


def test_nonzero_status_goes_penalized_with_stderr() -> None:
    script = "import sys; sys.stdout.write('partial'); sys.stderr.write('bad thing'); sys.exit(3)"
    r = runner(PY, {"Command Arguments": f'-c;"{script}"'})
    r.enqueue(b"x")
    r.run()
    (out,) = r.flowfiles_for("nonzero status")
    assert out.content == b"partial"
    assert out.attributes["execution.status"] == "3"
    assert out.attributes["execution.error"] == "bad thing"
    assert out.is_penalized(r.clock())
    (orig,) = r.flowfiles_for("original")
    assert orig.attributes["execution.status"] == "3"
    assert not orig.is_penalized(r.clock())
    assert any("exit code 3" in m for _, m in r.bulletins)


def test_stderr_is_bounded_to_4000_bytes() -> None:
    r = runner(PY, {"Command Arguments": "-c;\"import sys; sys.stderr.write('e' * 100000)\""})
    r.enqueue(b"")
    r.run()
    (out,) = r.flowfiles_for("output stream")
    assert out.attributes["execution.error"] == "e" * 4000


def test_big_input_and_output_do_not_deadlock() -> None:
    data = os.urandom(8 << 20)
    r = runner("cat")
    r.enqueue(data)
    started = time.monotonic()
    r.run()
    assert time.monotonic() - started < 20
    (out,) = r.flowfiles_for("output stream")
    assert out.content == data


def test_command_that_does_not_read_stdin_is_fine() -> None:
    r = runner("echo", {"Command Arguments": "hi"})
    r.enqueue(os.urandom(4 << 20))
    r.run()
    assert r.flowfiles_for("output stream")[0].content == b"hi\n"


@pytest.mark.parametrize(("ignore", "expected"), [("true", b"0"), ("false", b"5")])
def test_ignore_stdin(ignore: str, expected: bytes) -> None:
    r = runner(PY, {"Command Arguments": "-c;\"import sys; print(len(sys.stdin.buffer.read()), end='')\"",
                    "Ignore STDIN": ignore})
    r.enqueue(b"12345")
    r.run()
    assert r.flowfiles_for("output stream")[0].content == expected


def test_no_shell_is_involved() -> None:
    r = runner("echo", {"Command Arguments": "$HOME;`id`;a|b"})
    r.enqueue(b"")
    r.run()
    assert r.flowfiles_for("output stream")[0].content == b"$HOME `id` a|b\n"


def test_a_shell_when_asked() -> None:
    r = runner("/bin/sh", {"Command Arguments": "-c;wc -c | tr -d ' '"})
    r.enqueue(b"abcd")
    r.run()
    assert r.flowfiles_for("output stream")[0].content.strip() == b"4"


def test_dynamic_property_arguments_in_index_order_with_expressions(evaluator: object) -> None:
    r = runner("echo", {"Command Arguments Strategy": "Dynamic Property Arguments",
                        "command.argument.10": "last", "command.argument.2": "${who}",
                        "command.argument.1": "a;b c"}, evaluator=evaluator)
    r.enqueue(b"", {"who": "you"})
    r.run()
    (out,) = r.flowfiles_for("output stream")
    assert out.content == b"a;b c you last\n"
    assert out.attributes["execution.command.args"] == "a;b c\tyou\tlast"


def test_command_arguments_property_uses_expressions_and_delimiter(evaluator: object) -> None:
    r = runner("echo", {"Command Arguments": "${a},x", "Argument Delimiter": ","}, evaluator=evaluator)
    r.enqueue(b"", {"a": "one"})
    r.run()
    (out,) = r.flowfiles_for("output stream")
    assert out.content == b"one x\n"
    assert out.attributes["execution.command.args"] == "one,x"


def test_dynamic_properties_are_environment_variables() -> None:
    r = runner(PY, {"Command Arguments": "-c;\"import os; print(os.environ['GREETING'], end='')\"",
                    "GREETING": "hello there"})
    r.enqueue(b"")
    r.run()
    assert r.flowfiles_for("output stream")[0].content == b"hello there"


def test_working_directory_is_created_and_used(tmp_path: Path) -> None:
    work = tmp_path / "a" / "b"
    r = runner("pwd", {"Working Directory": str(work)})
    r.enqueue(b"")
    r.run()
    assert r.flowfiles_for("output stream")[0].content.decode().strip() == str(work)


@pytest.mark.parametrize(("limit", "expected"), [("256", "0123456789"), ("4", "0123")])
def test_output_destination_attribute(limit: str, expected: str) -> None:
    r = runner("echo", {"Command Arguments": "-n;0123456789", "Output Destination Attribute": "out",
                        "Max Attribute Length": limit, "Output MIME Type": "text/plain"})
    assert [rel.name for rel in r.processor.relationships_for({}, {"output-destination-attribute": "out"})] == [
        "original"]
    r.enqueue(b"content")
    r.run()
    r.assert_all_transferred("original", 1)
    (orig,) = r.flowfiles_for("original")
    assert orig.attributes["out"] == expected
    assert orig.content == b"content"
    assert orig.attributes["execution.status"] == "0"
    assert "mime.type" not in orig.attributes


def test_output_mime_type() -> None:
    r = runner("cat", {"Output MIME Type": "application/json"})
    r.enqueue(b"{}")
    r.run()
    assert r.flowfiles_for("output stream")[0].attributes["mime.type"] == "application/json"
    assert r.flowfiles_for("original")[0].attributes["mime.type"] == "application/json"


def test_empty_content_and_empty_output() -> None:
    r = runner("true")
    r.enqueue(b"")
    r.run()
    (out,) = r.flowfiles_for("output stream")
    assert out.content == b""


@pytest.mark.parametrize("command", ["/no/such/command", "definitely-not-a-command-xyz"])
def test_command_that_cannot_start_rolls_back_penalized(command: str) -> None:
    r = runner(command)
    r.enqueue(b"data")
    r.run()
    assert r.queue_size == 1
    assert r.penalized_count == 1
    assert r.errors
    assert any(level == "ERROR" and command in m for level, m in r.bulletins)
    for rel in ("output stream", "original", "nonzero status"):
        r.assert_transferred(rel, 0)


def test_not_executable_file_rolls_back(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    r = runner(str(script))
    r.enqueue(b"")
    r.run()
    assert r.queue_size == 1 and r.errors


@pytest.mark.parametrize(
    ("properties", "valid"),
    [
        ({"Argument Delimiter": ";;"}, False),
        ({"Argument Delimiter": ","}, True),
        ({"Max Attribute Length": "0"}, False),
        ({"Command Arguments Strategy": "nope"}, False),
        ({"argumentsStrategy": "Dynamic Property Arguments", "Argument Delimiter": ";;"}, True),
        ({"BAD=NAME": "x"}, False),
    ],
)
def test_validation(properties: Mapping[str, str], valid: bool) -> None:
    r = runner("cat", properties)
    if valid:
        r.assert_valid()
    else:
        r.assert_not_valid()


def test_on_stopped_kills_a_running_command() -> None:
    r = runner("sleep", {"Command Arguments": "30"})
    r.enqueue(b"")
    done = threading.Event()

    def trigger() -> None:
        r.run(stop_on_finish=False)
        done.set()

    thread = threading.Thread(target=trigger, daemon=True)
    thread.start()
    processor = r.processor
    deadline = time.monotonic() + 10
    while not len(processor._children) and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.01)
    assert len(processor._children) == 1  # type: ignore[attr-defined]
    processor.on_stopped(r.context)
    assert done.wait(10)
    (out,) = r.flowfiles_for("nonzero status")
    assert out.attributes["execution.status"] == "137"


def test_large_output_to_attribute_is_truncated_and_drained(tmp_path: Path) -> None:
    """NiFi's testLargePutToAttribute: 10 MB of output, 256 bytes kept."""
    big = tmp_path / "10MB.txt"
    big.write_bytes(b"a" * (10 * 1000 * 1000))
    r = runner("cat", {"Command Arguments": str(big), "Ignore STDIN": "true",
                       "Output Destination Attribute": "executeStreamCommand.output", "Max Attribute Length": "256"})
    r.enqueue(b"")
    r.run()
    (orig,) = r.flowfiles_for("original")
    assert orig.attributes["execution.status"] == "0"
    assert orig.attributes["executeStreamCommand.output"] == "a" * 256


def test_failing_command_with_no_output_gives_an_empty_penalized_flowfile(tmp_path: Path) -> None:
    """NiFi's testExecuteJavaFileWithBadPath."""
    r = runner("cat", {"Command Arguments": str(tmp_path / "NoSuchFile.java")})
    r.enqueue(b"blah")
    r.run()
    r.assert_transferred("original", 1)
    (out,) = r.flowfiles_for("nonzero status")
    assert out.size == 0
    assert "No such file" in out.attributes["execution.error"]
    assert out.is_penalized(r.clock())


def test_failing_expression_rolls_back_penalized(evaluator: object) -> None:
    r = runner("echo", {"Command Arguments": "${boom}"}, evaluator=evaluator)
    r.enqueue(b"x")
    r.run()
    assert r.queue_size == 1 and r.penalized_count == 1
    assert r.errors and any(level == "ERROR" for level, _ in r.bulletins)


# -- NiFi's TestExecuteStreamCommand, its Java helper programs rebuilt as small sh scripts ----------------------
# TestSuccess prints "Test was a success"; TestIngestAndUpdate prints "<working dir>:ModifiedResult" then its
# standard input; TestLogStdErr writes seven non-word characters and f's to standard error; TestDynamicEnvironment
# prints its environment; a missing class makes java exit 1 with a ClassNotFoundException on standard error.

_SCRIPTS = {
    "TestSuccess": "echo 'Test was a success'",
    "TestIngestAndUpdate": 'printf "%s:ModifiedResult\\n" "$PWD"; cat',
    "TestLogStdErr": "printf '\\n\\n\\n\\n\\n\\n\\nffffffffff' >&2",
    "TestDynamicEnvironment": "env",
    "NoSuchFile": "echo 'Error: Could not find or load main class (java.lang.ClassNotFoundException)' >&2; exit 1",
}


def nifi_runner(tmp_path: Path, program: str, dynamic: bool, **properties: str) -> tuple[ProcessorRunner, str]:
    """``sh <program>.sh`` configured by Command Arguments or by the dynamic property command.argument.1."""
    script = tmp_path / f"{program}.sh"
    script.write_text(_SCRIPTS[program] + "\n")
    r = runner("sh")
    if dynamic:
        r.set_property("Command Arguments Strategy", "Dynamic Property Arguments")
        r.set_property("command.argument.1", str(script))
    else:
        r.set_property("Command Arguments", str(script))
    for name, value in properties.items():
        r.set_property(name.replace("_", " "), value)
    return r, str(script)


@pytest.mark.parametrize("dynamic", [False, True], ids=["arguments", "dynamic-properties"])
class TestNifiCases:
    def test_execute_file(self, tmp_path: Path, dynamic: bool) -> None:
        r, script = nifi_runner(tmp_path, "TestSuccess", dynamic, Output_MIME_Type="text/plain")
        r.enqueue(b"")
        r.run()
        (out,) = r.flowfiles_for("output stream")
        (orig,) = r.flowfiles_for("original")
        assert out.content == b"Test was a success\n"
        out.assert_attribute_equals("mime.type", "text/plain")
        for ff in (out, orig):
            assert (ff.attributes["execution.status"], ff.attributes["execution.command"],
                    ff.attributes["execution.command.args"]) == ("0", "sh", script)

    def test_execute_file_with_bad_path(self, tmp_path: Path, dynamic: bool) -> None:
        r, _ = nifi_runner(tmp_path, "NoSuchFile", dynamic)
        r.enqueue(b"blah")
        r.run()
        r.assert_transferred("original", 1)
        r.assert_transferred("output stream", 0)
        (out,) = r.flowfiles_for("nonzero status")
        assert out.size == 0
        assert "java.lang.ClassNotFoundException" in out.attributes["execution.error"]
        assert out.is_penalized(r.clock())

    @pytest.mark.parametrize("working_dir", [False, True])
    def test_ingest_and_update(self, tmp_path: Path, dynamic: bool, working_dir: bool) -> None:
        properties = {"Working_Directory": str(tmp_path / "java")} if working_dir else {}
        r, _ = nifi_runner(tmp_path, "TestIngestAndUpdate", dynamic, **properties)
        r.enqueue(b"Print Me")
        r.run()
        (out,) = r.flowfiles_for("output stream")
        where = str(tmp_path / "java") if working_dir else os.getcwd()
        assert out.content.decode() == f"{where}:ModifiedResult\nPrint Me"

    def test_logging_to_stderr(self, tmp_path: Path, dynamic: bool) -> None:
        r, _ = nifi_runner(tmp_path, "TestLogStdErr", dynamic)
        r.enqueue(b"")
        r.run()
        (out,) = r.flowfiles_for("output stream")
        assert out.size == 0
        assert re.fullmatch(r"\W{7}f+", out.attributes["execution.error"])

    @pytest.mark.parametrize("to_attribute", [False, True])
    def test_ignored_stdin(self, tmp_path: Path, dynamic: bool, to_attribute: bool) -> None:
        extra = {"Output_Destination_Attribute": "executeStreamCommand.output"} if to_attribute else {}
        r, _ = nifi_runner(tmp_path, "TestIngestAndUpdate", dynamic, Ignore_STDIN="true", **extra)
        r.enqueue(b"Print Me")
        r.run()
        if to_attribute:
            (orig,) = r.flowfiles_for("original")
            assert orig.attributes["executeStreamCommand.output"].endswith(":ModifiedResult\n")
        else:
            (out,) = r.flowfiles_for("output stream")
            assert out.content.decode().endswith(":ModifiedResult\n")

    @pytest.mark.parametrize("to_attribute", [False, True])
    def test_dynamic_environment(self, tmp_path: Path, dynamic: bool, to_attribute: bool) -> None:
        extra = {"Output_Destination_Attribute": "executeStreamCommand.output",
                 "Max_Attribute_Length": "100000"} if to_attribute else {}
        r, _ = nifi_runner(tmp_path, "TestDynamicEnvironment", dynamic, **extra)
        r.set_property("NIFI_TEST_1", "testvalue1")
        r.set_property("NIFI_TEST_2", "testvalue2")
        r.enqueue(b"")
        r.run()
        if to_attribute:
            text = r.flowfiles_for("original")[0].attributes["executeStreamCommand.output"]
        else:
            text = r.flowfiles_for("output stream")[0].content.decode()
        assert {"NIFI_TEST_1=testvalue1", "NIFI_TEST_2=testvalue2"} <= set(text.splitlines())

    @pytest.mark.parametrize(("limit", "expected"), [(None, "Test was a success\n"), ("10", "Test was a")])
    def test_execute_file_put_to_attribute(self, tmp_path: Path, dynamic: bool, limit: str | None,
                                           expected: str) -> None:
        extra = {"Max_Attribute_Length": limit} if limit else {}
        r, script = nifi_runner(tmp_path, "TestSuccess", dynamic, Output_Destination_Attribute="outputDest", **extra)
        assert [rel.name for rel in r.processor_type.relationships_for(
            {}, {"output-destination-attribute": "outputDest"})] == ["original"]
        r.enqueue(b"small test")
        r.run()
        r.assert_all_transferred("original", 1)
        (orig,) = r.flowfiles_for("original")
        orig.assert_content_equals(b"small test")
        assert orig.attributes["outputDest"] == expected
        assert (orig.attributes["execution.status"], orig.attributes["execution.command"],
                orig.attributes["execution.command.args"]) == ("0", "sh", script)

    def test_execute_file_put_to_attribute_bad_path(self, tmp_path: Path, dynamic: bool) -> None:
        r, script = nifi_runner(tmp_path, "NoSuchFile", dynamic,
                                Output_Destination_Attribute="executeStreamCommand.output")
        r.enqueue(b"Print Me")
        r.run()
        r.assert_all_transferred("original", 1)
        (orig,) = r.flowfiles_for("original")
        orig.assert_content_equals(b"Print Me")
        assert orig.attributes["executeStreamCommand.output"] == ""
        assert (orig.attributes["execution.status"], orig.attributes["execution.command.args"]) == ("1", script)

    def test_small_echo_put_to_attribute(self, tmp_path: Path, dynamic: bool) -> None:
        r = runner("echo", {"Ignore STDIN": "true", "Output Destination Attribute": "executeStreamCommand.output",
                            "Output MIME Type": "application/json"})
        if dynamic:
            r.set_property("Command Arguments Strategy", "Dynamic Property Arguments")
            r.set_property("command.argument.1", "Hello")
        else:
            r.set_property("Command Arguments", "Hello")
        r.enqueue(b"")
        r.run()
        r.assert_all_transferred("original", 1)
        (orig,) = r.flowfiles_for("original")
        orig.assert_content_equals(b"")
        orig.assert_attribute_equals("mime.type", None)
        assert orig.attributes["executeStreamCommand.output"].startswith("Hello")
        assert (orig.attributes["execution.status"], orig.attributes["execution.command"]) == ("0", "echo")

    def test_large_put_to_attribute(self, tmp_path: Path, dynamic: bool) -> None:
        big = tmp_path / "10MB.txt"
        big.write_bytes(b"a" * 10_000_000)
        r = runner("cat", {"Ignore STDIN": "true", "Output Destination Attribute": "executeStreamCommand.output",
                           "Max Attribute Length": "256"})
        if dynamic:
            r.set_property("Command Arguments Strategy", "Dynamic Property Arguments")
            r.set_property("command.argument.1", str(big))
        else:
            r.set_property("Command Arguments", str(big))
        r.enqueue(b"")
        r.run()
        (orig,) = r.flowfiles_for("original")
        orig.assert_attribute_equals("execution.status", "0")
        assert orig.attributes["executeStreamCommand.output"] == "a" * 256


def test_nifi_arguments_with_quotes_from_an_attribute() -> None:
    r = runner("echo", {"Command Arguments Strategy": "Dynamic Property Arguments",
                        "command.argument.3": "${str.attribute}", "Ignore STDIN": "true"})
    r.enqueue(b"", {"str.attribute": "Hello World with quotes"})
    r.run()
    (out,) = r.flowfiles_for("output stream")
    assert out.content.decode().strip() == "Hello World with quotes"
    assert (out.attributes["execution.status"], out.attributes["execution.command"]) == ("0", "echo")


@pytest.mark.parametrize(("text", "delimiter"), [('echo -n "arg1 arg2 arg3"', " "), ('echo;-n;"arg1 arg2 arg3"', ";")])
def test_nifi_quoted_arguments(text: str, delimiter: str) -> None:
    assert len(split_args(text, delimiter)) == 3


@pytest.mark.parametrize(("delimiter", "valid"), [(None, True), ("foo", False), ("f", True)])
def test_nifi_invalid_delimiter(delimiter: str | None, valid: bool) -> None:
    r = runner("echo")
    if delimiter is not None:
        r.set_property("Argument Delimiter", delimiter)
    assert not r.validation_results() if valid else r.validation_results()


@pytest.mark.parametrize("strategy", ["Dynamic Property Arguments", "Command Arguments Property"])
def test_nifi_strategies_are_valid_without_warnings(strategy: str) -> None:
    r = runner("java", {"Command Arguments Strategy": strategy})
    r.set_property("command.argument.1" if strategy.startswith("Dynamic") else "RUNTIME_VERSION", "-version")
    r.assert_valid()
    assert not r.bulletins
