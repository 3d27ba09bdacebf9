from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from flowyard.processors.execute_process import ExecuteProcess
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

pytestmark = pytest.mark.integration

PY = sys.executable


def runner(command: str, properties: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(ExecuteProcess)
    r.set_property("Command", command)
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


def run_until(r: ProcessorRunner, count: int, timeout: float = 10.0) -> list[MockFlowFile]:
    """Trigger until ``count`` FlowFiles went to success (bounded)."""
    deadline = time.monotonic() + timeout
    while len(r.flowfiles_for("success")) < count and time.monotonic() < deadline:
        r.run(stop_on_finish=False)
    return r.flowfiles_for("success")


def test_output_of_the_command_becomes_a_flowfile() -> None:
    r = runner("echo", {"Command Arguments": "hello world", "MIME Type": "text/plain"})
    (ff,) = run_until(r, 1)
    r.stop()
    assert ff.content == b"hello world\n"
    assert ff.attributes["command"] == "echo"
    assert ff.attributes["command.arguments"] == "hello world"
    assert ff.attributes["mime.type"] == "text/plain"
    assert r.provenance_events(ProvenanceEventType.CREATE)


def test_quoted_arguments_and_custom_delimiter() -> None:
    r = runner(PY, {"Command Arguments": '-c|"import sys; print(sys.argv[1:])"|a b|"c|d"', "Argument Delimiter": "|"})
    (ff,) = run_until(r, 1)
    r.stop()
    assert ff.content == b"['a b', 'c|d']\n"


def test_no_output_no_flowfile_and_the_command_runs_again(tmp_path: Path) -> None:
    marker = tmp_path / "count"
    script = f"open({str(marker)!r}, 'a').write('x')"
    r = runner(PY, {"Command Arguments": f'-c "{script}"'})
    deadline = time.monotonic() + 10
    while (not marker.exists() or len(marker.read_text()) < 2) and time.monotonic() < deadline:
        r.run(stop_on_finish=False)
    r.stop()
    assert len(marker.read_text()) >= 2
    r.assert_transferred("success", 0)


@pytest.mark.parametrize(("redirect", "expected"), [("true", b"out\nerr\n"), ("false", b"out\n")])
def test_redirect_error_stream(redirect: str, expected: bytes) -> None:
    script = "import sys; print('out', flush=True); print('err', file=sys.stderr, flush=True)"
    r = runner(PY, {"Command Arguments": f'-c "{script}"', "Redirect Error Stream": redirect})
    (ff,) = run_until(r, 1)
    r.stop()
    assert ff.content == expected
    if redirect == "false":
        assert ("WARNING", "err") in r.bulletins


def test_batch_duration_sends_partial_output_as_lines() -> None:
    script = "import sys, time; print('one', flush=True); sys.stdout.write('two\\r\\n'); sys.stdout.flush(); " \
             "time.sleep(30)"
    r = runner(PY, {"Command Arguments": f'-c "{script}"', "Batch Duration": "200 ms", "MIME Type": "text/plain"})
    deadline = time.monotonic() + 10
    lines = b""
    while lines != b"one\ntwo\n" and time.monotonic() < deadline:
        r.run(stop_on_finish=False)
        lines = b"".join(ff.content for ff in r.flowfiles_for("success"))
    processor = r.processor
    child = processor._run.child  # type: ignore[attr-defined]
    r.stop()  # kills the long-running command
    assert lines == b"one\ntwo\n"
    assert child.poll() is not None
    assert all("mime.type" not in ff.attributes for ff in r.flowfiles_for("success"))


def test_environment_and_working_directory_created_when_missing(tmp_path: Path) -> None:
    script = "import os; print(os.environ['FY_VAR'], os.getcwd())"
    work = tmp_path / "new" / "dir"
    r = runner(PY, {"Command Arguments": f'-c "{script}"', "FY_VAR": "v1", "Working Directory": str(work)})
    (ff,) = run_until(r, 1)
    r.stop()
    assert ff.content.decode().split() == ["v1", str(work)]


def test_command_that_cannot_start_yields() -> None:
    r = runner("/no/such/command")
    r.run()
    r.assert_transferred("success", 0)
    assert r.yield_count == 1
    assert any(level == "ERROR" and "/no/such/command" in m for level, m in r.bulletins)


@pytest.mark.parametrize(
    ("properties", "valid"),
    [({"Argument Delimiter": "ab"}, False), ({"Batch Duration": "soon"}, False),
     ({"Working Directory": "/dev/null/dir"}, False), ({"Output MIME type": "text/csv"}, True),
     ({"Batch Duration": "1 sec"}, True)],
)
def test_validation(properties: Mapping[str, str], valid: bool) -> None:
    r = runner("echo", properties)
    if valid:
        r.assert_valid()
    else:
        r.assert_not_valid()


def test_legacy_mime_type_name() -> None:
    r = runner("echo", {"Output MIME type": "text/csv"})
    (ff,) = run_until(r, 1)
    r.stop()
    assert ff.attributes["mime.type"] == "text/csv"


# -- NiFi's TestExecuteProcess --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiter", "expected"),
    [
        (None, " ", []),
        ("  ", " ", ["", "", ""]),
        ("    hello   ", ";", ["    hello   "]),
        ("   hello ;   good-bye   ", ";", ["   hello ", "   good-bye   "]),
        ('  "hello" ', ";", ["  hello "]),
        ('"   hello" "good   bye"', " ", ["   hello", "good   bye"]),
        ('one;two;three";"and";"half"', ";", ["one", "two", "three;and;half"]),
        ('one;two;"three;and;half";', ";", ["one", "two", "three;and;half", ""]),
    ],
)
def test_nifi_split_args(text: str | None, delimiter: str, expected: list[str]) -> None:
    from flowyard.processors._system_command import split_args

    assert split_args(text, delimiter) == expected


def test_nifi_redirect_error_stream_with_expressions() -> None:
    r = runner("ls", {"Command Arguments": "${literal('does-not-exist'):toUpper()}", "Redirect Error Stream": "true"})
    (ff,) = run_until(r, 1)
    r.stop()
    assert b"DOES-NOT-EXIST" in ff.content
    assert ff.attributes["command"] == "ls"
    assert ff.attributes["command.arguments"] == "DOES-NOT-EXIST"
    assert not [m for level, m in r.bulletins if level == "WARNING"]


def test_nifi_not_redirect_error_stream_logs_a_warning() -> None:
    r = runner("ls", {"Command Arguments": "does-not-exist"})
    deadline = time.monotonic() + 10
    while not r.bulletins and time.monotonic() < deadline:
        r.run(stop_on_finish=False)
    r.stop()
    assert [level for level, _ in r.bulletins] == ["WARNING"]
    assert r.flowfiles_for("success") == []


def test_nifi_processor_not_scheduled() -> None:
    r = runner("ls")
    r.run(0)
    assert r.flowfiles_for("success") == []


def test_nifi_validate_process_interrupt_on_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    # NiFi pings a host; a long sleep is the same long-running command without the network
    monkeypatch.setenv("command", "sleep")
    r = runner("${command}", {"Command Arguments": "30", "Batch Duration": "500 millis"})
    r.run(stop_on_finish=False)
    child = r.processor._run.child  # type: ignore[attr-defined]
    assert child.poll() is None
    r.stop()
    assert child.wait(timeout=5) is not None  # the process was ended by the stop
    assert r.processor._run is None  # type: ignore[attr-defined]
    for ff in r.flowfiles_for("success"):
        assert ff.attributes["command"] == "sleep"
