"""ExecuteProcess: run an operating system command and turn its output into FlowFiles."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from typing import IO

from flowyard.processors._common import BOOLEAN_VALUES
from flowyard.processors._system_command import (
    child_environment,
    environment_problems,
    exit_status,
    kill_group,
    split_args,
)
from flowyard.runtime.sdk import (
    DynamicPropertySpec,
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["ExecuteProcess"]

_CHUNK = 1 << 16
#: The longest one trigger waits for output, so a stop request is served promptly.
_WAIT_SLICE = 0.5

SUCCESS = Relationship("success", "Every FlowFile made from the command's output.")

COMMAND = PropertySpec(
    key="command",
    display_name="Command",
    description=(
        "The program to run: a path, or a bare name looked up on the PATH. It is started directly, not through a shell "
        "(unless the program is itself a shell)."
    ),
    required=True,
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
COMMAND_ARGUMENTS = PropertySpec(
    key="command-arguments",
    display_name="Command Arguments",
    description=(
        "The arguments passed to the program, separated by the Argument Delimiter (a space by default). Wrap an "
        "argument in double quotes to keep a delimiter inside it."
    ),
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
BATCH_DURATION = PropertySpec(
    key="batch-duration",
    display_name="Batch Duration",
    description=(
        "For long-running commands with text output: every time this much time has passed, the output so far becomes a "
        "FlowFile and a new one begins. Unset: a single FlowFile holds all the output once the command exits."
    ),
    validator=validators.TIME_PERIOD,
)
REDIRECT_ERROR_STREAM = PropertySpec(
    key="redirect-error-stream",
    display_name="Redirect Error Stream",
    description=(
        "When true, what the command writes to standard error is merged into its standard output (and so into the "
        "FlowFiles). Handy for commands that report mostly on stderr, or while debugging."
    ),
    default="false",
    allowed_values=BOOLEAN_VALUES,
    validator=validators.BOOLEAN,
)
WORKING_DIRECTORY = PropertySpec(
    key="working-directory",
    display_name="Working Directory",
    description="The directory the command runs in; it is created if it does not exist.",
    validator=validators.CREATABLE_DIRECTORY,
    expression_scope=ExpressionScope.ENVIRONMENT,
)


def _check_one_character(value: str) -> str | None:
    return None if len(value) == 1 else f"{value!r} is not a single character"


ARGUMENT_DELIMITER = PropertySpec(
    key="argument-delimiter",
    display_name="Argument Delimiter",
    description="The single character that separates the Command Arguments (a space by default).",
    required=True,
    default=" ",
    validator=validators.Validator("single character", "exactly one character, such as ' '", _check_one_character),
)
MIME_TYPE = PropertySpec(
    key="mime-type",
    display_name="MIME Type",
    description=(
        "The mime.type attribute to give the output FlowFiles. Not used when Batch Duration is set."
    ),
    validator=validators.NON_EMPTY,
    aliases=("Output MIME type",),
)


class _Run:
    """One running command: its output is spooled to a temporary file by a
    reader thread, and taken out by triggers (a batch, or all at the end)."""

    def __init__(self, child: subprocess.Popen[bytes], text_lines: bool, context: ProcessContext) -> None:
        self.child = child
        self.lock = threading.Lock()
        self.spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the run, closed in close()
        self.finished = threading.Event()
        self.failed = False
        self.batch_started = time.monotonic()
        self.status: int | None = None
        self.threads = [threading.Thread(target=self._read, args=(text_lines, context), daemon=True,
                                         name="ExecuteProcess stdout")]
        if child.stderr is not None:
            self.threads.append(threading.Thread(target=_log_lines, args=(child.stderr, context), daemon=True,
                                                 name="ExecuteProcess stderr"))
        for thread in self.threads:
            thread.start()

    def _append(self, data: bytes) -> None:
        with self.lock:
            self.spool.write(data)

    def _read(self, text_lines: bool, context: ProcessContext) -> None:
        stdout = self.child.stdout
        assert stdout is not None
        try:
            if text_lines:
                # Batches are cut between lines: read lines, write each with "\n" (as NiFi does).
                with io.TextIOWrapper(stdout, encoding="utf-8", errors="replace") as text:
                    for line in text:
                        self._append(line.rstrip("\n").encode("utf-8") + b"\n")
            else:
                with stdout:
                    while chunk := stdout.read1(_CHUNK):  # type: ignore[attr-defined]
                        self._append(chunk)
        except (OSError, ValueError) as exc:
            self.failed = True
            context.logger.error(f"failed to read the output of the process: {exc}")
        finally:
            try:
                self.status = exit_status(self.child.wait(timeout=1.0))
            except subprocess.TimeoutExpired:
                self.status = -9999  # what NiFi reports for a process that did not end in time
            context.logger.info(f"process finished with exit code {self.status}")
            self.finished.set()

    def take(self) -> IO[bytes]:
        """The output spooled so far (positioned at its start); a fresh spool continues."""
        with self.lock:
            taken, self.spool = self.spool, tempfile.TemporaryFile()  # noqa: SIM115
        taken.seek(0)
        return taken

    def close(self) -> None:
        """Kill the command if it still runs and release everything."""
        if self.child.poll() is None:
            kill_group(self.child)
        for thread in self.threads:
            thread.join(timeout=5.0)
        self.child.wait()
        with self.lock:
            self.spool.close()


def _log_lines(stream: IO[bytes], context: ProcessContext) -> None:
    with stream:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line:
                context.logger.warning(line)


class ExecuteProcess(Processor):
    """Runs a command (no incoming FlowFiles) and writes its standard output to FlowFiles.

    The command starts on the first trigger and again on the first trigger
    after it has ended and its output has been sent. Without Batch Duration
    the whole output becomes one FlowFile when the command ends (none if it
    printed nothing); with it, the output is read as text lines and a FlowFile
    with the lines gathered so far is sent every Batch Duration (and at the
    end). Standard error goes to the log (each non-empty line a warning
    bulletin) unless Redirect Error Stream merges it into the output. FlowFiles
    get ``command``, ``command.arguments`` (when set) and, without Batch
    Duration, ``mime.type`` from MIME Type. Dynamic properties are environment
    variables of the command. A command that cannot be started is logged as an
    error and the processor yields.

    The output is spooled to a temporary file while the command runs, so a
    trigger never waits more than half a second: stopping the processor kills
    the command (SIGKILL to its process group) promptly; output not yet sent
    is discarded, as in NiFi.

    Differences from NiFi: a trigger that finds the command still running
    returns without output after waiting at most 0.5 s (NiFi's trigger waits
    for the whole run, or sleeps the Batch Duration), so batches are cut on the
    first trigger after the Batch Duration has passed. Output lines in batch
    mode are decoded as UTF-8 (NiFi: the JVM's default charset).
    """

    spec = ProcessorSpec(
        description=(
            "Runs an operating system command and makes FlowFiles of what it writes to standard output. With a Batch "
            "Duration, the output of a long-running command is emitted piece by piece at that interval, which suits "
            "text output only."
        ),
        tags=("command", "process", "source", "external", "invoke", "script", "execute", "shell"),
        properties=(COMMAND, COMMAND_ARGUMENTS, BATCH_DURATION, REDIRECT_ERROR_STREAM, WORKING_DIRECTORY,
                    ARGUMENT_DELIMITER, MIME_TYPE),
        relationships=(SUCCESS,),
        dynamic_properties=DynamicPropertySpec(
            name_description="The name of an environment variable to set for the command",
            value_description="The value of that variable in the command's environment",
            validator=validators.NON_EMPTY,
        ),
        input_requirement=InputRequirement.FORBIDDEN,
        writes_attributes=(
            ("command", "The command that was run."),
            ("command.arguments", "The arguments it was given."),
            ("mime.type", "The MIME Type property's value, when it is set and Batch Duration is not."),
        ),
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run: _Run | None = None

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Environment variable names must be usable."""
        return environment_problems(context.dynamic_properties)

    def on_stopped(self, context: ProcessContext) -> None:
        """Kill the command if it still runs; its unsent output is discarded."""
        with self._lock:
            run, self._run = self._run, None
        if run is not None:
            if run.child.poll() is None:
                context.logger.info("process hasn't terminated, forcing the interrupt")
            run.close()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Start the command if none runs; send a FlowFile when its output (or a batch) is complete."""
        with self._lock:  # one trigger at a time takes output from the run
            batch = context.property(BATCH_DURATION)
            batch_seconds = batch.as_duration() if batch.is_set else None
            try:
                command = context.property(COMMAND).evaluate(None).as_str()
                arguments_value = context.property(COMMAND_ARGUMENTS)
                arguments = arguments_value.evaluate(None).as_str() if arguments_value.is_set else None
            except ValueError as exc:  # an expression failed
                context.logger.error(f"cannot build the command: {exc}")
                context.yield_()
                return
            run = self._run
            if run is None:
                run = self._launch(context, command, arguments, batch_seconds is not None)
                if run is None:
                    return
                self._run = run
            if batch_seconds is None:
                run.finished.wait(_WAIT_SLICE)
                if not run.finished.is_set():
                    return
            else:
                remaining = run.batch_started + batch_seconds - time.monotonic()
                if (remaining > 0 and not run.finished.wait(min(remaining, _WAIT_SLICE))
                        and time.monotonic() < run.batch_started + batch_seconds):
                    return
                run.batch_started = time.monotonic()
            done = run.finished.is_set()
            if done:
                for thread in run.threads:
                    thread.join(timeout=5.0)
            output = run.take()
            if done:
                self._run = None
                run.close()
        try:
            self._emit(context, session, output, run.failed, command, arguments, batch_seconds is None)
        finally:
            output.close()

    def _launch(self, context: ProcessContext, command: str, arguments: str | None, text_lines: bool) -> _Run | None:
        argv = [command, *split_args(arguments, context.property(ARGUMENT_DELIMITER).as_str())]
        try:
            directory = context.property(WORKING_DIRECTORY).evaluate(None).value
            if directory:
                os.makedirs(directory, exist_ok=True)
        except (ValueError, OSError) as exc:
            context.logger.error(f"cannot use Working Directory: {exc}")
            context.yield_()
            return None
        redirect = (context.property(REDIRECT_ERROR_STREAM).value or "false").lower() == "true"
        environment = child_environment({name: value.raw or "" for name, value in
                                         context.dynamic_properties.items()})
        try:
            child = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if redirect else subprocess.PIPE,
                cwd=directory or None, env=environment, start_new_session=True, close_fds=True,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            context.logger.error(f"failed to create process {argv!r}: {exc}")
            context.yield_()
            return None
        context.logger.info(f"started process {argv!r}")
        return _Run(child, text_lines, context)

    def _emit(
        self, context: ProcessContext, session: ProcessSession, output: IO[bytes], failed: bool, command: str,
        arguments: str | None, whole: bool,
    ) -> None:
        size = output.seek(0, io.SEEK_END)
        output.seek(0)
        if size == 0:
            return
        if failed:
            context.logger.error("failed to read data from process, so will not generate FlowFile")
            return
        ff = session.write(session.create(), lambda out: shutil.copyfileobj(output, out, _CHUNK))
        attributes = {"command": command}
        if arguments is not None:
            attributes["command.arguments"] = arguments
        mime = context.property(MIME_TYPE)
        if whole and mime.is_set:
            attributes["mime.type"] = mime.as_str()
        ff = session.put_attributes(ff, attributes)
        session.transfer(ff, SUCCESS)
