"""ExecuteStreamCommand: pipe each FlowFile's content through an external command."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, BinaryIO

from flowyard.processors._common import BOOLEAN_VALUES
from flowyard.processors._system_command import (
    SINGLE_CHARACTER,
    LiveChildren,
    child_environment,
    environment_problems,
    exit_status,
    kill_group,
    split_args,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    ProcessingError,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["ExecuteStreamCommand"]

_CHUNK = 1 << 16
#: NiFi reads at most this much of the command's standard error into execution.error.
STDERR_LIMIT = 4000

COMMAND_ARGUMENTS_PROPERTY = "Command Arguments Property"
DYNAMIC_PROPERTY_ARGUMENTS = "Dynamic Property Arguments"
_ARGUMENT_NAME = re.compile(r"command\.argument\.([0-9]+)")

ORIGINAL = Relationship(
    "original",
    "The incoming FlowFile, with attributes describing the command's run (and its output, with Output Destination "
    "Attribute).",
)
OUTPUT_STREAM = Relationship(
    "output stream",
    "The FlowFile holding the command's output, when it exits with status 0.",
)
NONZERO_STATUS = Relationship(
    "nonzero status",
    "The FlowFile holding the command's output, penalized, when it exits with any other status.",
)

WORKING_DIRECTORY = PropertySpec(
    key="working-directory",
    display_name="Working Directory",
    description=(
        "The directory the command runs in. It is created if missing; if that fails, the command runs in flowyard's "
        "own working directory and a warning is logged."
    ),
    validator=validators.CREATABLE_DIRECTORY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
COMMAND_PATH = PropertySpec(
    key="command-path",
    display_name="Command Path",
    description=(
        "The program to run: a path, or a bare name looked up on the PATH. It is started directly, not through a "
        "shell; for shell syntax, run a shell yourself (e.g. /bin/sh with the arguments -c;<script>)."
    ),
    required=True,
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
ARGUMENTS_STRATEGY = PropertySpec(
    key="arguments-strategy",
    display_name="Command Arguments Strategy",
    description="Where the command's arguments come from.",
    default=COMMAND_ARGUMENTS_PROPERTY,
    allowed_values=(
        AllowableValue(COMMAND_ARGUMENTS_PROPERTY, COMMAND_ARGUMENTS_PROPERTY,
                       "The arguments are the Command Arguments property, split at the Argument Delimiter."),
        AllowableValue(DYNAMIC_PROPERTY_ARGUMENTS, DYNAMIC_PROPERTY_ARGUMENTS,
                       "The arguments are the values of dynamic properties named command.argument.<N>, in the order of "
                       "N."),
    ),
    aliases=("argumentsStrategy",),
)
_BY_PROPERTY = (PropertyDependency(ARGUMENTS_STRATEGY.key, (COMMAND_ARGUMENTS_PROPERTY,)),)
COMMAND_ARGUMENTS = PropertySpec(
    key="command-arguments",
    display_name="Command Arguments",
    description=(
        "The arguments passed to the program, separated by the Argument Delimiter (';' by default) and also by tab, CR "
        "and LF. Double quotes around a part keep delimiters in it; the quotes themselves are dropped."
    ),
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=_BY_PROPERTY,
)
ARGUMENT_DELIMITER = PropertySpec(
    key="argument-delimiter",
    display_name="Argument Delimiter",
    description="The single character that separates the Command Arguments (';' by default).",
    required=True,
    default=";",
    validator=SINGLE_CHARACTER,
    dependencies=_BY_PROPERTY,
)
IGNORE_STDIN = PropertySpec(
    key="ignore-stdin",
    display_name="Ignore STDIN",
    description="When true, the command's standard input gets nothing instead of the FlowFile's content.",
    default="false",
    allowed_values=BOOLEAN_VALUES,
)
OUTPUT_DESTINATION_ATTRIBUTE = PropertySpec(
    key="output-destination-attribute",
    display_name="Output Destination Attribute",
    description=(
        "When set, the command's output is stored in the attribute of this name on the incoming FlowFile, and no "
        "output FlowFile is made: 'output stream' and 'nonzero status' go away."
    ),
    validator=validators.NON_EMPTY,
)
MAX_ATTRIBUTE_LENGTH = PropertySpec(
    key="max-attribute-length",
    display_name="Max Attribute Length",
    description=(
        "With Output Destination Attribute: how many bytes of output the attribute keeps at most. The rest is read and "
        "thrown away."
    ),
    default="256",
    validator=validators.POSITIVE_INTEGER,
)
OUTPUT_MIME_TYPE = PropertySpec(
    key="output-mime-type",
    display_name="Output MIME Type",
    description=(
        "The mime.type attribute to give the output FlowFiles. Not used with Output Destination Attribute."
    ),
    validator=validators.NON_EMPTY,
)


def _check_dynamic(value: str) -> str | None:
    return None if value.strip() else "an environment variable or argument value cannot be blank"


class ExecuteStreamCommand(Processor):
    """Runs a command once per FlowFile, with the content on its standard input.

    The command is started directly (argv, never through a shell unless the
    command *is* a shell). The FlowFile's content is written to the command's
    standard input by a separate thread while its standard output is read into
    the new FlowFile, so neither large input nor large output can deadlock;
    standard error is drained concurrently and its first 4000 bytes become
    ``execution.error``. The output FlowFile is a child of the input (it has
    its attributes) and goes to 'output stream' for exit status 0, or penalized
    to 'nonzero status' otherwise; the original goes to 'original'. Both get
    ``execution.command``, ``execution.command.args`` (the evaluated Command
    Arguments text, or the dynamic-property arguments joined by tabs),
    ``execution.status``, ``execution.error`` and, when Output MIME Type is set,
    ``mime.type``. A child killed by signal N reports status 128 + N, as Java does.

    With Output Destination Attribute, the first Max Attribute Length bytes of
    the output (decoded as UTF-8, bad bytes replaced) go into that attribute of
    the original, which alone goes to 'original' — the only relationship then.

    Dynamic properties named ``command.argument.<N>`` are the arguments (in
    order of N) under 'Dynamic Property Arguments' and support Expression
    Language; every dynamic property (these included, as in NiFi) is also set
    in the command's environment, literally.

    A command that cannot be started (not found, not executable, bad working
    directory), or an Expression Language value that fails for the FlowFile,
    is what NiFi treats as a ProcessException: the session is rolled back, the
    FlowFile goes back to the input queue penalized, and an error bulletin
    names the reason. NiFi has no failure relationship here either.

    When the processor stops, any command still running is killed (SIGKILL to
    its process group).

    Differences from NiFi: a command still running blocks a *stop* until it
    ends, since flowyard calls ``on_stopped`` only after the running trigger
    returns (on engine shutdown the trigger is abandoned after the grace
    period and ``on_stopped`` kills the command). Sensitive dynamic properties
    are not masked in ``execution.command.args``. ``execution.error`` and the
    attribute output are decoded as UTF-8 (NiFi: the JVM's default charset).
    """

    spec = ProcessorSpec(
        description=(
            "Runs an external command once per FlowFile, feeding it the FlowFile's content on standard input, and "
            "makes a new FlowFile (or an attribute) of what the command writes to standard output."
        ),
        tags=("command execution", "command", "stream", "execute", "shell", "script", "process"),
        properties=(WORKING_DIRECTORY, COMMAND_PATH, ARGUMENTS_STRATEGY, COMMAND_ARGUMENTS, ARGUMENT_DELIMITER,
                    IGNORE_STDIN, OUTPUT_DESTINATION_ATTRIBUTE, MAX_ATTRIBUTE_LENGTH, OUTPUT_MIME_TYPE),
        relationships=(OUTPUT_STREAM, ORIGINAL, NONZERO_STATUS),
        dynamic_properties=DynamicPropertySpec(
            name_description="The name of an environment variable to set for the command, or command.argument.<N>",
            value_description=(
                "The variable's value (taken literally); for command.argument.<N>, with Dynamic Property Arguments, an "
                "argument of the command, placed by the order of N (Expression Language allowed)"
            ),
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
            validator=validators.Validator("non-blank", "any text that is not blank", _check_dynamic),
        ),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            ("execution.command", "The command that was run."),
            ("execution.command.args", "Its arguments: the evaluated Command Arguments, or with Dynamic Property "
                                       "Arguments the arguments joined by tabs."),
            ("execution.status", "The command's exit status."),
            ("execution.error", "The start of what the command wrote to standard error (4000 bytes at most)."),
            ("mime.type", "The Output MIME Type property's value, when it is set and Output Destination Attribute is "
                          "not."),
        ),
    )

    def __init__(self) -> None:
        self._children = LiveChildren()

    @classmethod
    def relationships_for(cls, dynamic_properties: Mapping[str, str], properties: Mapping[str, str | None]) -> (
        tuple[Relationship, ...]
    ):
        """Only 'original' while Output Destination Attribute is set."""
        if properties.get(OUTPUT_DESTINATION_ATTRIBUTE.key):
            return (ORIGINAL,)
        return cls.spec.relationships

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Environment variable names must be usable."""
        return environment_problems(context.dynamic_properties)

    def on_stopped(self, context: ProcessContext) -> None:
        """Kill every command still running."""
        killed = self._children.kill_all()
        if killed:
            context.logger.warning(f"killed {killed} command(s) still running when the processor stopped")

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Run the command for one FlowFile."""
        ff = session.get()
        if ff is None:
            return
        attributes = ff.attributes
        try:
            command = context.property(COMMAND_PATH).evaluate(attributes).as_str()
            argv, shown_args = self._arguments(context, attributes)
            directory = self._working_directory(context, attributes)
        except ValueError as exc:  # an expression failed for this FlowFile
            problem = f"cannot build the command for FlowFile[uuid={ff.uuid}, size={ff.size}]: {exc}"
            context.logger.error(problem)
            raise ProcessingError(problem) from exc
        environment = child_environment({name: value.raw or "" for name, value in
                                         context.dynamic_properties.items()})
        ignore_stdin = (context.property(IGNORE_STDIN).value or "false").lower() == "true"
        attribute_name = context.property(OUTPUT_DESTINATION_ATTRIBUTE).value
        try:
            child = subprocess.Popen(
                [command, *argv], stdin=subprocess.DEVNULL if ignore_stdin else subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=directory, env=environment,
                start_new_session=True, close_fds=True,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            context.logger.error(f"could not create external process to run command {command!r}: {exc}")
            raise ProcessingError(f"could not start command {command!r}: {exc}") from exc

        self._children.add(child)
        try:
            outcome = self._run(context, session, ff, child, ignore_stdin, attribute_name)
        finally:
            if child.poll() is None:
                kill_group(child)
            child.wait()
            self._children.discard(child)
        output, stderr = outcome
        status = exit_status(child.returncode)

        results = {
            "execution.error": stderr,
            "execution.status": str(status),
            "execution.command": command,
            "execution.command.args": shown_args,
        }
        mime = context.property(OUTPUT_MIME_TYPE)
        if mime.is_set and attribute_name is None:
            results["mime.type"] = mime.as_str()
        if status != 0:
            context.logger.error(f"command {command!r} returned exit code {status}: {stderr}")
        if attribute_name is not None:
            assert isinstance(output, str)
            ff = session.put_attributes(ff, {attribute_name: output, **results})
            session.transfer(ff, ORIGINAL)
            return
        assert isinstance(output, FlowFile)
        output = session.put_attributes(output, results)
        if status != 0:
            session.transfer(session.penalize(output), NONZERO_STATUS)
        else:
            session.transfer(output, OUTPUT_STREAM)
        session.transfer(session.put_attributes(ff, results), ORIGINAL)

    def _arguments(self, context: ProcessContext, attributes: Mapping[str, str]) -> tuple[list[str], str]:
        """The argv after the command, and the text for execution.command.args."""
        if context.property(ARGUMENTS_STRATEGY).as_str() == DYNAMIC_PROPERTY_ARGUMENTS:
            indexed = []
            for name, value in context.dynamic_properties.items():
                match = _ARGUMENT_NAME.fullmatch(name)
                if match is not None:
                    indexed.append((int(match.group(1)), value.evaluate(attributes).value or ""))
            args = [text for _, text in sorted(indexed, key=lambda pair: pair[0])]
            return args, "\t".join(args).strip()
        text = context.property(COMMAND_ARGUMENTS).evaluate(attributes).value
        if text is None or not text.strip():
            return [], text or ""
        return split_args(text, context.property(ARGUMENT_DELIMITER).as_str()), text

    def _working_directory(self, context: ProcessContext, attributes: Mapping[str, str]) -> str | None:
        text = context.property(WORKING_DIRECTORY).evaluate(attributes).value
        if text is None or not text.strip():
            return None
        directory = Path(text)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            context.logger.warning(f"failed to create working directory {text!r} ({exc}); using the current "
                                   "working directory")
            return None
        return str(directory)

    def _run(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile, child: subprocess.Popen[bytes],
        ignore_stdin: bool, attribute_name: str | None,
    ) -> tuple[FlowFile | str, str]:
        """Feed stdin, drain stderr and read stdout concurrently; wait for the exit."""
        assert child.stdout is not None and child.stderr is not None
        threads = []
        stderr_head = bytearray()
        threads.append(threading.Thread(target=_drain, args=(child.stderr, stderr_head), daemon=True,
                                        name="ExecuteStreamCommand stderr"))
        if not ignore_stdin:
            assert child.stdin is not None
            content = session.read(ff)  # opened here; read only by the feeding thread
            threads.append(threading.Thread(target=_feed, args=(content, child.stdin, context), daemon=True,
                                            name="ExecuteStreamCommand stdin"))
        for thread in threads:
            thread.start()
        try:
            result: FlowFile | str
            if attribute_name is not None:
                limit = context.property(MAX_ATTRIBUTE_LENGTH).as_int()
                head = bytearray()
                _drain(child.stdout, head, limit)
                result = head.decode("utf-8", "replace")
            else:
                result = session.write(session.create(ff), _chunks(child.stdout))
            child.wait()
        finally:
            if child.poll() is None:
                kill_group(child)
            for thread in threads:
                thread.join()
        return result, stderr_head.decode("utf-8", "replace")


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read1(_CHUNK):  # type: ignore[attr-defined]
            yield chunk


def _drain(stream: IO[bytes], head: bytearray, limit: int = STDERR_LIMIT) -> None:
    """Read ``stream`` to its end, keeping the first ``limit`` bytes in ``head``."""
    with stream:
        while chunk := stream.read1(_CHUNK):  # type: ignore[attr-defined]
            room = limit - len(head)
            if room > 0:
                head += chunk[:room]


def _feed(content: BinaryIO, stdin: IO[bytes], context: ProcessContext) -> None:
    """Copy the content to the command's stdin, then close it so the command sees the end."""
    try:
        with content:
            shutil.copyfileobj(content, stdin, _CHUNK)
    except BrokenPipeError:
        pass  # the command stopped reading (or never read): normal for many commands
    except (OSError, ValueError) as exc:
        context.logger.error(f"failed to write the FlowFile to the command's standard input: {exc}")
    finally:
        try:
            stdin.close()
        except OSError:
            pass
