"""Adversarial checks of the whole standard processor library.

Every processor in ``flowyard.processors.PROCESSORS`` is configured minimally
(``tests/support/library_configs.py``) and driven through ``ProcessorRunner``
with hostile input. Whatever the input, a run must:

- raise nothing but ``ProcessingError`` (a processor refusing to start may
  raise another ``FlowyardError`` naming the problem, never a bare Python
  exception);
- account for every input flowfile: transferred to a relationship the
  processor declares, or back on its input queue; dropped only where NiFi
  drops (``DROP_ALLOWED``);
- give a reason for what it could not process: a ``failure`` flowfile
  carries a new attribute or the run raised a bulletin, and a flowfile sent
  back to its queue comes with a ``ProcessingError`` or a bulletin;
- lose no content a source was given (GetFile, ExecuteProcess, listeners).

The second half checks every spec is sound for the canvas: validation of an
unconfigured processor names the missing properties, defaults pass their own
validators and allowable values, and dependencies name existing properties
and their allowable values.

Known bugs are strict xfails (``KNOWN_BUGS``): when a processor is fixed the
case XPASSes, fails, and its entry must go.
"""

from __future__ import annotations

import gc
import logging
import os
import random
import resource
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from library_configs import CONFIGS, FAILING_BOOLEAN_EXPRESSION, FAILING_EXPRESSION, LibraryConfig

from flowyard.processors import CONTROLLER_SERVICES, PROCESSORS
from flowyard.runtime.sdk import (
    ControllerService,
    ExpressionScope,
    FlowyardError,
    InvalidComponentError,
    ProcessingError,
    Processor,
    PropertySpec,
    ProvenanceEventType,
    validators,
)
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

# -- hostile inputs --------------------------------------------------------------------------------

_BINARY = random.Random(20261207).randbytes(64 * 1024)
_ODD_ATTRIBUTES = {
    "empty": "",
    "ünïcødé-名前-😀": "värde ✓ 😀",
    "big": "x" * 100_000,
    "with space": "v",
    "new\nline": "v\r\nw",
    "filename": "odd ünï name.txt",
    "mime.type": "application/zip",
}
_GARBAGE_CORE = {
    "filename": "bad\x00name/../x.txt",
    "path": "../../",
    "absolute.path": "/nonexistent\x00dir",
    "mime.type": "application/gzip; charset=\x00",
    "fragment.identifier": "f",
    "fragment.index": "NaN",
    "fragment.count": "-5",
    "flowfile.retries": "9" * 30,
    "seq": "9" * 30,
    "hash.value": "",
    "http.context.identifier": "nope",
    "schema.name": "missing",
    "uuid-like": "00000000-0000-0000-0000-000000000000",
}
_SIMPLE = {"filename": "a.txt", "fails": "1", "schema": "s"}

HOSTILE: dict[str, tuple[bytes, Mapping[str, str]]] = {
    "empty": (b"", {}),
    "binary-64k": (_BINARY, {}),
    "invalid-utf8": (b"caf\xc3 \xff\xfe\xfd a\xed\xa0\x80 \xc0\xaf end\n" * 4, {}),
    "line-5mb": (b"a" * (5 * 1024 * 1024), {}),
    "crlf-and-cr": (b"a1,b\r\na2\r\n\ra3\rlast\r", {}),
    "json-depth-10000": (b"[" * 10_000 + b"]" * 10_000, {}),
    "json-depth-900": (b'{"a": ' * 450 + b"[" * 450 + b"1" + b"]" * 450 + b"}" * 450, {}),  # Jackson takes 1000
    "xml-depth-10000": (b"<a>" * 10_000 + b"</a>" * 10_000, {}),
    "odd-attributes": (b'{"a": "x"}', _ODD_ATTRIBUTES),
    "garbage-core-attributes": (b"<a>x</a>\n", _GARBAGE_CORE),
    "failing-expression": (b'{"a": 1}', _SIMPLE),
}
"""name → (content, attributes). ``failing-expression`` applies to configurations with ``expression``."""

FAILURE_RELATIONSHIPS = frozenset({"failure", "Failure", "not.found", "permission.denied", "invalid",
                                   "nonzero status", "set state fail", "No Retry", "Retry"})
"""Relationships whose flowfiles must come with a reason."""

DROP_ALLOWED: frozenset[str] = frozenset()
"""Processors that may drop an input flowfile (a DROP event): none in NiFi's standard set."""

WAITING_ALLOWED = frozenset({"MergeContent"})
"""Processors that may leave an input on their queue without an error: a Defragment bin waits for
the rest of its fragments (until Max Bin Age), as NiFi's bins hold theirs."""

CHANGED_ON_FAILURE: dict[str, set[str]] = {}
"""Processors whose failure relationship may carry other content than the input (none expected: NiFi routes
the original, unchanged)."""

UNNAMED_ALLOWED = frozenset({"MergeContent", "ExecuteStreamCommand"})
"""Processors whose failure messages may name something else than the FlowFile: MergeContent a bundle (NiFi:
"Failed to process bundle of N files"), ExecuteStreamCommand the command that cannot start (as NiFi's)."""

MAX_MESSAGE = 10_000
"""A bulletin or error longer than this is a dump, not a clear error (the odd-attributes input carries a
100 KB attribute)."""

# -- known bugs: (configuration id, input) → the bug, one line --------------------------------------

_UNCAUGHT_EXPRESSION = ("a failing expression in {} escapes on_trigger as a bare ExpressionError naming no property "
                        "(NiFi: ProcessException; flowyard processors convert it to failure/penalize with the "
                        "property named)")

KNOWN_BUGS: dict[tuple[str, str], str] = {
    ("FetchFile[attribute-path]", "garbage-core-attributes"): (
        "absolute.path with a NUL byte raises a bare ValueError ('embedded null byte') on every trigger: the "
        "FlowFile is rolled back and retried forever; NiFi routes it to failure (InvalidPathException)"),
    ("GenerateFlowFile", "failing-expression"): _UNCAUGHT_EXPRESSION.format("Custom Text"),
}

# Where a case cannot apply, and why (never silently).
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    ("ListenUDP", "line-5mb"): "a UDP datagram holds at most 65507 bytes",
}


def _cases() -> Iterator[object]:
    for config in CONFIGS:
        for name in HOSTILE:
            if name == "failing-expression" and config.expression is None:
                continue
            marks: list[pytest.MarkDecorator] = []
            bug = KNOWN_BUGS.get((config.id, name)) or KNOWN_BUGS.get((config.id, "*"))
            if bug:
                marks.append(pytest.mark.xfail(strict=True, reason=bug))
            skip = NOT_APPLICABLE.get((config.id, name))
            if skip:
                marks.append(pytest.mark.skip(reason=skip))
            yield pytest.param(config, name, marks=marks, id=f"{config.id}-{name}")


# -- helpers -----------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fill(value: str, tmp: Path, closed_port: int) -> str:
    return value.replace("{tmp}", str(tmp)).replace("{closed_port}", str(closed_port))


def build(config: LibraryConfig, tmp: Path, payload: bytes = b"", *, expression: bool = False) -> ProcessorRunner:
    """A runner of ``config`` with its services enabled and its files written."""
    port = _closed_port()
    runner = ProcessorRunner(PROCESSORS[config.processor])
    for service in config.services:
        runner.add_controller_service(
            service.service_id, CONTROLLER_SERVICES[service.type_name],
            {k: _fill(v, tmp, port) for k, v in service.properties.items()})
        runner.enable_controller_service(service.service_id)
    for name, value in config.properties.items():
        runner.set_property(name, _fill(value, tmp, port))
    if expression:
        assert config.expression is not None
        runner.set_property(config.expression, config.expression_value)
    for relative, content in config.files.items():
        path = tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload if content is None else content)
        os.utime(path, (time.time() - 3600, time.time() - 3600))  # outside any listing lag
    return runner


def _declared(runner: ProcessorRunner, config: LibraryConfig) -> set[str]:
    cls = PROCESSORS[config.processor]
    keys = {p.key for p in cls.spec.properties} | {p.display_name for p in cls.spec.properties}
    dynamic = {k: v for k, v in config.properties.items() if k not in keys}
    return {r.name for r in cls.relationships_for(dynamic, dict(config.properties))}


def _outputs(runner: ProcessorRunner, relationships: set[str]) -> dict[str, list[MockFlowFile]]:
    return {name: runner.flowfiles_for(name) for name in relationships}


def _run(runner: ProcessorRunner, iterations: int = 1, **kwargs: bool) -> BaseException | None:
    """Run; return what ``run`` itself raised (validation, on_scheduled, on_stopped)."""
    try:
        runner.run(iterations, raise_errors=False, **kwargs)
    except Exception as exc:  # judged by the caller
        return exc
    return None


def assert_only_clear_errors(runner: ProcessorRunner, raised: BaseException | None) -> None:
    """Triggers raise only ProcessingError; starting/stopping only FlowyardError, each with a message."""
    unexpected = [e for e in runner.errors if not isinstance(e, ProcessingError)]
    assert not unexpected, "on_trigger raised " + "; ".join(f"{type(e).__name__}: {e}"[:300] for e in unexpected)
    for error in runner.errors:
        assert str(error).strip(), "a ProcessingError without a message"
    for message in [str(e) for e in runner.errors] + [m for _, m in runner.bulletins]:
        assert len(message) <= MAX_MESSAGE, f"a {len(message)}-character error or bulletin: {message[:200]}..."
    if raised is not None:
        assert isinstance(raised, FlowyardError) and not isinstance(raised, InvalidComponentError), (
            f"run raised {type(raised).__name__}: {str(raised)[:300]}")
        assert str(raised).strip()


def _logged(caplog: pytest.LogCaptureFixture, processor: str) -> list[str]:
    """What ``processor`` logged at INFO and above (NiFi logs some failures at INFO)."""
    return [r.getMessage() for r in caplog.records
            if r.name == f"flowyard.processor.{processor}" and r.levelno >= logging.INFO]


def assert_accounted_for(runner: ProcessorRunner, config: LibraryConfig, inputs: Mapping[str, Mapping[str, str]],
                         outputs: Mapping[str, list[MockFlowFile]], logged: list[str],
                         raised: BaseException | None = None) -> None:
    """Every input uuid is in an output relationship or back on the queue (or dropped where NiFi drops);
    failures come with a reason: an attribute, a bulletin or a log message."""
    placed = {ff.attributes.get("uuid") for flowfiles in outputs.values() for ff in flowfiles}
    queued = {ff.attributes.get("uuid") for ff in runner.input_flowfiles()}
    dropped = {e.flowfile_uuid for e in runner.provenance_events(ProvenanceEventType.DROP)} & set(inputs)
    lost = set(inputs) - placed - queued - dropped
    assert not lost, f"{len(lost)} input flowfile(s) neither transferred, queued nor dropped"
    if dropped:
        assert config.processor in DROP_ALLOWED, f"input dropped (DROP event) by {config.processor}"
    reasons = [message for level, message in runner.bulletins if level in ("WARNING", "ERROR")] + logged
    if isinstance(raised, FlowyardError):
        reasons.append(str(raised))  # refused to start (NiFi: @OnScheduled failed, bulletin, retried)
    messages = reasons + [str(e) for e in runner.errors]

    def named(uuid: str) -> bool:
        """Whether some message says which FlowFile (its uuid or filename) - the "where" of the error."""
        filename = inputs.get(uuid, {}).get("filename") or uuid
        return config.processor in UNNAMED_ALLOWED or any(uuid in m or filename in m for m in messages)

    if queued & set(inputs) and config.processor not in WAITING_ALLOWED:
        assert runner.errors or reasons, "a flowfile went back to its queue without an error or bulletin"
        for uuid in set(inputs) & queued:
            assert named(uuid) or isinstance(raised, FlowyardError), (
                f"no message names the FlowFile sent back to its queue: {[m[:120] for m in messages]}")
    for relationship in FAILURE_RELATIONSHIPS & set(outputs):
        for ff in outputs[relationship]:
            uuid = ff.attributes.get("uuid", "")
            original = inputs.get(uuid, {})
            added = {k for k, v in ff.attributes.items() if original.get(k) != v} - {"uuid"}
            assert added or reasons, f"a flowfile routed to {relationship!r} carries no reason"
            assert added or named(uuid), (
                f"no message names the FlowFile routed to {relationship!r}: {[m[:120] for m in messages]}")


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="flowyard.processor")
    return caplog


# -- hostile input, per kind of processor ------------------------------------------------------------


def _flowfile_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, attributes = HOSTILE[name]
    expression = name == "failing-expression"
    runner = build(config, tmp, content, expression=expression)
    runner.enqueue(content, attributes)
    inputs = {ff.attributes["uuid"]: ff.attributes for ff in runner.input_flowfiles()}
    raised = _run(runner, 2)
    assert_only_clear_errors(runner, raised)
    declared = _declared(runner, config)
    outputs = _outputs(runner, declared)
    assert_accounted_for(runner, config, inputs, outputs, _logged(logs, config.processor), raised)
    for relationship in FAILURE_RELATIONSHIPS & set(outputs) - CHANGED_ON_FAILURE.get(config.processor, set()):
        for ff in outputs[relationship]:
            if ff.attributes.get("uuid") in inputs:
                assert ff.content == content, f"the FlowFile routed to {relationship!r} lost its original content"
    for ff in runner.input_flowfiles():
        assert ff.content == content, "the FlowFile sent back to its queue lost its original content"


def _generate_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    runner = build(config, tmp, expression=name == "failing-expression")
    raised = _run(runner)
    assert_only_clear_errors(runner, raised)
    if name == "failing-expression":
        assert runner.errors or raised or runner.bulletins, "a failing expression passed unnoticed"


def _file_source_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, _ = HOSTILE[name]
    runner = build(config, tmp, content)
    raised = _run(runner)
    assert_only_clear_errors(runner, raised)
    left = [p for p in tmp.rglob("*") if p.is_file() and p.name == "payload.bin"]
    received = [ff.content for ff in runner.flowfiles_for("success")]
    assert left or received == [content], "the picked-up file's content was lost"


def _list_source_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, _ = HOSTILE[name]
    runner = build(config, tmp, content)
    raised = _run(runner)
    assert_only_clear_errors(runner, raised)
    (listed,) = runner.flowfiles_for("success")
    listed.assert_attribute_equals("filename", "payload.bin")


def _tail_source_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, _ = HOSTILE[name]
    runner = build(config, tmp, content)
    raised = _run(runner, 2)
    assert_only_clear_errors(runner, raised)
    tailed = b"".join(ff.content for ff in runner.flowfiles_for("success"))
    assert content.startswith(tailed), "TailFile emitted bytes the file does not hold"


def _command_source_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, _ = HOSTILE[name]
    runner = build(config, tmp, content)
    raised = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and raised is None and not runner.errors:
        raised = _run(runner, 1, stop_on_finish=False)
        if getattr(runner.processor, "_run", None) is None:  # the command finished and its output was sent
            break
    runner.stop()
    assert_only_clear_errors(runner, raised)
    output = b"".join(ff.content for ff in runner.flowfiles_for("success"))
    assert output == content, f"ExecuteProcess output has {len(output)} bytes, the command wrote {len(content)}"


def _serve(runner: ProcessorRunner, done: Callable[[], bool], seconds: float = 5.0) -> BaseException | None:
    deadline = time.monotonic() + seconds
    raised = None
    while time.monotonic() < deadline and not done() and raised is None:
        raised = _run(runner, 1, stop_on_finish=False, initialize=False)
    return raised


def _listen_port(runner: ProcessorRunner) -> int:
    processor = runner.processor
    for attribute in ("listening_port", "port"):
        port = getattr(processor, attribute, None)
        if isinstance(port, int) and port > 0:
            return port
    raise AssertionError(f"{type(processor).__name__} exposes no bound port")


def _socket_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, _ = HOSTILE[name]
    runner = build(config, tmp)
    raised = _run(runner, 1, stop_on_finish=False)
    assert raised is None, raised
    try:
        port = _listen_port(runner)
        if config.kind == "tcp":
            with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                client.sendall(content)
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.sendto(content[:65507], ("127.0.0.1", port))
        if config.kind == "tcp":
            # NiFi's frame decoder keeps whole lines no longer than the receive buffer and drops a last,
            # unterminated one when the connection closes
            complete = content.replace(b"\r\n", b"\n").split(b"\n")[:-1]
            expected = [line for line in complete if line and len(line) <= 65507]
        else:
            expected = [content[:65507]] if content else []
        raised = _serve(runner, lambda: len(runner.flowfiles_for("success")) >= min(1, len(expected)), 3.0)
    finally:
        runner.stop()
    assert_only_clear_errors(runner, raised)
    if expected:
        assert runner.flowfiles_for("success"), "received data became no flowfile"


class _Call:
    """An HTTP request in a background thread."""

    def __init__(self, fn: Callable[[], httpx.Response]) -> None:
        self.result: httpx.Response | BaseException | None = None
        self.done = threading.Event()

        def run() -> None:
            try:
                self.result = fn()
            except BaseException as exc:  # judged by the test
                self.result = exc
            finally:
                self.done.set()

        threading.Thread(target=run, daemon=True).start()


_ASCII_HEADERS = {"X-Empty": "", "X-Big": "x" * 100_000, "X-Space": "a b", "filename": "odd name.txt"}


def _responder(request: ProcessorRunner) -> ProcessorRunner:
    """HandleHttpResponse (200) sharing ``request``'s context map; made before any request arrives,
    as enabling the shared map again empties it."""
    response = ProcessorRunner(PROCESSORS["HandleHttpResponse"])
    response.add_controller_service("map", request.controller_service("map"))
    response.enable_controller_service("map")
    response.set_property("http-context-map", "map")
    response.set_property("http-status-code", "200")
    return response


def _http_case(config: LibraryConfig, name: str, tmp: Path, logs: pytest.LogCaptureFixture) -> None:
    content, attributes = HOSTILE[name]
    headers = _ASCII_HEADERS if attributes else {}
    runner = build(config, tmp)
    responder = _responder(runner) if config.kind == "handle-http" else None
    raised = _run(runner, 0, stop_on_finish=False)
    assert raised is None, raised
    try:
        port = _listen_port(runner)
        path = "/contentListener" if config.kind == "http" else "/anything"
        call = _Call(lambda: httpx.post(f"http://127.0.0.1:{port}{path}", content=content, headers=headers,
                                        timeout=10))
        raised = _serve(runner, lambda: call.done.is_set() or bool(runner.flowfiles_for("success")))
        received = runner.flowfiles_for("success")
        if responder is not None and received and raised is None:
            responder.enqueue(received[0].content, received[0].attributes)
            responder.run()
            responder.assert_all_transferred("success", 1)
    finally:
        runner.stop()
    assert call.done.wait(10), "the client never got an answer"
    assert_only_clear_errors(runner, raised)
    if isinstance(call.result, httpx.Response) and call.result.status_code < 300:
        assert [ff.content for ff in received] == [content], "an accepted request body was not kept whole"
        if config.kind == "handle-http":
            assert call.result.content == content, "the answer lost the body it echoed"
    if not attributes:
        assert received or isinstance(call.result, httpx.Response), f"the request failed: {call.result!r}"


_KIND_CASES: dict[str, Callable[[LibraryConfig, str, Path, pytest.LogCaptureFixture], None]] = {
    "flowfile": _flowfile_case,
    "generate": _generate_case,
    "file-source": _file_source_case,
    "list-source": _list_source_case,
    "tail-source": _tail_source_case,
    "command-source": _command_source_case,
    "tcp": _socket_case,
    "udp": _socket_case,
    "http": _http_case,
    "handle-http": _http_case,
}


@pytest.mark.integration
@pytest.mark.parametrize(("config", "hostile"), list(_cases()))
def test_hostile_input_is_handled_and_loses_nothing(
    config: LibraryConfig, hostile: str, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    _KIND_CASES[config.kind](config, hostile, tmp_path, logs)


# -- a failing expression in every property that evaluates flowfile attributes ---------------------------

EXPRESSION_BUGS: dict[tuple[str, str], str] = {}
"""(processor, property key) → the bug, one line."""


def _holds_with(spec: PropertySpec, by_key: Mapping[str, PropertySpec], values: Mapping[str, str],
                seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``spec``'s dependencies hold with ``values`` (keys) over the defaults."""
    for dependency in spec.dependencies:
        target = by_key.get(dependency.key)
        if target is None or target.key in seen:
            return False
        value = values.get(target.key, target.default)
        if value is None or (dependency.values and value not in dependency.values):
            return False
        if not _holds_with(target, by_key, values, seen | {spec.key}):
            return False
    return True


def _expression_cases() -> Iterator[object]:
    seen: set[tuple[str, str]] = set()
    for config in CONFIGS:
        if config.kind != "flowfile":
            continue
        by_key = {p.key: p for p in PROCESSORS[config.processor].spec.properties}
        values = {k: v for k, v in config.properties.items() if k in by_key}
        for spec in by_key.values():
            case = (config.processor, spec.key)
            if (spec.expression_scope is not ExpressionScope.FLOWFILE_ATTRIBUTES or case in seen
                    or not _holds_with(spec, by_key, values)):
                continue
            seen.add(case)
            bug = EXPRESSION_BUGS.get(case)
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(config, spec.key, marks=marks, id=f"{config.id}-{spec.key}")


@pytest.mark.integration
@pytest.mark.parametrize(("config", "key"), list(_expression_cases()))
def test_a_failing_expression_in_any_property_is_handled(
    config: LibraryConfig, key: str, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    runner = build(config, tmp_path, b"x")
    runner.set_property(key, FAILING_EXPRESSION)
    if runner.validation_results():
        runner.set_property(key, FAILING_BOOLEAN_EXPRESSION)
    runner.assert_valid()
    content, attributes = HOSTILE["failing-expression"]
    runner.enqueue(content, attributes)
    inputs = {ff.attributes["uuid"]: ff.attributes for ff in runner.input_flowfiles()}
    raised = _run(runner, 2)
    assert_only_clear_errors(runner, raised)
    assert_accounted_for(runner, config, inputs, _outputs(runner, _declared(runner, config)),
                         _logged(logs, config.processor), raised)


# Attribute values a property's expression hands to the processor (the expression itself is fine).
_HOSTILE_ATTRIBUTE_VALUES = {"big": "9" * 30, "nul": "a\x00b", "neg": "-1", "zero": "0", "empty": "", "nan": "NaN"}

ATTRIBUTE_VALUE_BUGS: dict[tuple[str, str], str] = {
    ("DuplicateFlowFile", "number-of-copies"): (
        "Number of Copies ${big} with big = 10^30 copies without end (the FlowFile's own attribute hangs the "
        "processor); NiFi's asInteger() throws NumberFormatException: rolled back, penalized"),
    ("FetchFile", "file-to-fetch"): (
        "File to Fetch evaluating to a path with a NUL byte raises a bare ValueError ('embedded null byte') on "
        "every trigger; NiFi routes the FlowFile to failure (InvalidPathException)"),
    ("PutFile", "owner"): (
        "Owner evaluating to 10^30 raises a bare OverflowError ('uid is greater than maximum') after the file is "
        "written; NiFi logs that the owner cannot be set and routes to success"),
    ("PutFile", "group"): (
        "Group evaluating to 10^30 raises a bare OverflowError ('gid is greater than maximum') after the file is "
        "written; NiFi logs that the group cannot be set and routes to success"),
}
"""(processor, property key) → the bug, one line."""


def _attribute_value_cases() -> Iterator[object]:
    for case in _expression_cases():
        config, key = case.values  # type: ignore[attr-defined]
        bug = ATTRIBUTE_VALUE_BUGS.get((config.processor, key))
        marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
        yield pytest.param(config, key, marks=marks, id=case.id)  # type: ignore[attr-defined]


def _judge_attribute_value(config: LibraryConfig, key: str, name: str, tmp: Path,
                           logs: pytest.LogCaptureFixture) -> str | None:
    runner = build(config, tmp, b"x")
    runner.set_property(key, f"${{{name}}}")
    if runner.validation_results():
        return None  # the property takes no free value (e.g. a boolean expression): nothing to hand over
    runner.enqueue(b'{"a": 1}', {"filename": "a.txt", **_HOSTILE_ATTRIBUTE_VALUES})
    inputs = {ff.attributes["uuid"]: ff.attributes for ff in runner.input_flowfiles()}
    raised = _run(runner, 2)
    try:
        assert_only_clear_errors(runner, raised)
        assert_accounted_for(runner, config, inputs, _outputs(runner, _declared(runner, config)),
                             _logged(logs, config.processor), raised)
    except AssertionError as exc:
        return str(exc).splitlines()[0]
    return None


@pytest.mark.integration
@pytest.mark.parametrize(("config", "key"), list(_attribute_value_cases()))
def test_hostile_attribute_values_through_expressions_are_handled(
    config: LibraryConfig, key: str, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    problems = {}
    for name in _HOSTILE_ATTRIBUTE_VALUES:
        try:
            with _guarded(seconds=1):
                problem = _judge_attribute_value(config, key, name, tmp_path / name, logs)
        except (_Runaway, MemoryError) as exc:
            problem = f"ran away: {type(exc).__name__}: {exc}"
        if problem:
            problems[_HOSTILE_ATTRIBUTE_VALUES[name][:12]] = problem[:300]
    assert not problems, problems


# -- coverage of the table itself ----------------------------------------------------------------------


def test_every_processor_has_a_configuration() -> None:
    configured = {c.processor for c in CONFIGS}
    assert set(PROCESSORS) - configured == set(), "processors without an adversarial configuration"
    assert configured - set(PROCESSORS) == set(), "configurations of processors that do not exist"
    assert len({c.id for c in CONFIGS}) == len(CONFIGS), "configuration ids must be unique"


def _evaluates_flowfile_attributes(name: str) -> bool:
    spec = PROCESSORS[name].spec
    dynamic = spec.dynamic_properties
    return any(p.expression_scope is ExpressionScope.FLOWFILE_ATTRIBUTES for p in spec.properties) or (
        dynamic is not None and dynamic.expression_scope is ExpressionScope.FLOWFILE_ATTRIBUTES)


@pytest.mark.parametrize("name", [n for n in sorted(PROCESSORS) if _evaluates_flowfile_attributes(n)])
def test_processors_evaluating_attributes_get_a_failing_expression(name: str) -> None:
    assert any(c.processor == name and c.expression for c in CONFIGS), (
        f"{name} evaluates expressions against flowfiles but no configuration sets a failing one")


@pytest.mark.parametrize("config", CONFIGS, ids=[c.id for c in CONFIGS])
def test_the_configurations_are_valid(config: LibraryConfig, tmp_path: Path) -> None:
    runner = build(config, tmp_path)
    runner.assert_valid()
    if config.expression is not None:
        runner = build(config, tmp_path, expression=True)
        runner.assert_valid()


# -- specs are sound for the canvas ----------------------------------------------------------------------

SPEC_BUGS: dict[tuple[str, str], str] = {}
"""(check, type name) → the bug, one line."""


def _spec_param(check: str, name: str) -> object:
    bug = SPEC_BUGS.get((check, name))
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(name, marks=marks, id=name)


def _holds(spec: PropertySpec, by_key: Mapping[str, PropertySpec], seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``spec``'s dependencies hold with every property at its default."""
    for dependency in spec.dependencies:
        target = by_key.get(dependency.key)
        if target is None or target.key in seen:
            return False
        if target.default is None or (dependency.values and target.default not in dependency.values):
            return False
        if not _holds(target, by_key, seen | {spec.key}):
            return False
    return True


@pytest.mark.parametrize("name", [_spec_param("unconfigured", n) for n in sorted(PROCESSORS)])
def test_unconfigured_validation_names_the_missing_properties(name: str) -> None:
    cls = PROCESSORS[name]
    by_key = {p.key: p for p in cls.spec.properties}
    results = ProcessorRunner(cls).validation_results()
    subjects = {r.subject for r in results}
    missing = {p.display_name for p in cls.spec.properties
               if p.required and p.default is None and _holds(p, by_key)}
    assert missing <= subjects, f"missing required properties not named: {sorted(missing - subjects)}"
    for result in results:
        assert str(result).strip() and result.explanation.strip()


_COMPONENTS: dict[str, type[Processor] | type[ControllerService]] = {**PROCESSORS, **CONTROLLER_SERVICES}


@pytest.mark.parametrize("name", [_spec_param("defaults", n) for n in sorted(_COMPONENTS)])
def test_defaults_pass_their_own_checks(name: str) -> None:
    problems = []
    for spec in _COMPONENTS[name].spec.properties:
        if spec.default is None:
            continue
        allowed = {a.value for a in spec.allowed_values}
        if allowed and spec.default not in allowed:
            problems.append(f"{spec.display_name}: default {spec.default!r} is not an allowable value")
        deferred = spec.expression_scope is not ExpressionScope.NONE and ("${" in spec.default or "#{" in spec.default)
        if spec.validator is not None and (not deferred or spec.validator.checks_expressions):
            explanation = spec.validator(spec.default)
            if explanation is not None:
                problems.append(f"{spec.display_name}: default {spec.default!r} fails its validator: {explanation}")
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("name", [_spec_param("dependencies", n) for n in sorted(_COMPONENTS)])
def test_dependencies_name_existing_properties_and_values(name: str) -> None:
    by_key = {p.key: p for p in _COMPONENTS[name].spec.properties}
    problems = []
    for spec in by_key.values():
        for dependency in spec.dependencies:
            target = by_key.get(dependency.key)
            if target is None or target is spec:
                problems.append(f"{spec.display_name} depends on unknown property {dependency.key!r}")
                continue
            allowed = {a.value for a in target.allowed_values}
            strays = [v for v in dependency.values if allowed and v not in allowed]
            if strays:
                problems.append(f"{spec.display_name} depends on {target.display_name} being {strays}, "
                                f"which are not among its allowable values")
    assert not problems, "; ".join(problems)


# -- hostile property values: refused by validation, or handled at run time ---------------------------------

HOSTILE_VALUES = ("", " ", "0", "0 B", "-1", "9" * 30, "NaN", "1e400", "nul\x00byte", "(", "NOPE-CHARSET", "5 parsecs")
"""Values a user can type into any property."""

HOSTILE_TEXT = ("", "9" * 30, "nul\x00byte", "(")
"""The subset tried on free-text properties (no validator): anything goes there, these are the likely traps."""

_JAVA_INT = ("accepts {} = 10^30 and runs away (copies/creates without end); NiFi's integer validator "
             "(Integer.parseInt) refuses anything above 2147483647")
PROPERTY_BUGS: dict[tuple[str, str], str] = {
    ("DuplicateFlowFile", "number-of-copies"): _JAVA_INT.format("Number of Copies"),
    ("GenerateFlowFile", "batch-size"): _JAVA_INT.format("Batch Size"),
    ("FetchFile", "file-to-fetch"): (
        "File to Fetch with a NUL byte raises a bare ValueError ('embedded null byte') out of on_trigger; should "
        "route to failure naming the path (NiFi: InvalidPathException, no file fetched)"),
    ("PutFile", "owner"): (
        "Owner = 10^30 raises OverflowError ('uid is greater than maximum') out of on_trigger after writing; NiFi "
        "logs that the owner cannot be set and routes to success"),
    ("PutFile", "group"): (
        "Group = 10^30 raises OverflowError ('gid is greater than maximum') out of on_trigger after writing; NiFi "
        "logs that the group cannot be set and routes to success"),
}
"""(configuration id, property key) → the bug, one line."""

_RUNNABLE_KINDS = frozenset({"flowfile", "generate", "file-source", "list-source"})


_JAVA_INT_BUGS = frozenset({("DuplicateFlowFile", "number-of-copies"), ("GenerateFlowFile", "batch-size")})
_SDK_ACCEPTS_HUGE_INTEGERS = validators.POSITIVE_INTEGER("2147483648") is None
"""Whether the SDK's integer validators still take values beyond Java's int (the root of the _JAVA_INT bugs)."""


def _property_cases() -> Iterator[object]:
    for config in CONFIGS:
        if config.variant:
            continue
        for spec in PROCESSORS[config.processor].spec.properties:
            if spec.identifies_controller_service or spec.allowed_values:
                continue
            bug = PROPERTY_BUGS.get((config.id, spec.key))
            if (config.id, spec.key) in _JAVA_INT_BUGS:
                marks = [pytest.mark.xfail(_SDK_ACCEPTS_HUGE_INTEGERS, strict=True, reason=bug or "")]
            else:
                marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(config, spec.key, marks=marks, id=f"{config.id}-{spec.key}")


class _Runaway(BaseException):
    """Raised by the guard when a configuration keeps the processor busy too long."""


@contextmanager
def _guarded(seconds: int = 5, memory: int = 2 << 30) -> Iterator[None]:
    """Turn a runaway (memory beyond ``memory`` more bytes, or more than ``seconds``) into
    ``MemoryError``/``_Runaway`` instead of an OOM kill or a hang of the whole test run."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        used = int(statm.read().split()[0]) * resource.getpagesize()
    limit = used + memory if hard == resource.RLIM_INFINITY else min(hard, used + memory)

    def expire(signum: int, frame: object) -> None:
        raise _Runaway(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _try_value(config: LibraryConfig, key: str, value: str, tmp: Path,
               logs: pytest.LogCaptureFixture) -> str | None:
    """What went wrong with ``key`` set to ``value``, or None."""
    try:
        with _guarded(seconds=1):
            return _judge_value(config, key, value, tmp, logs)
    except (_Runaway, MemoryError) as exc:
        return f"ran away: {type(exc).__name__}: {exc}"


def _judge_value(config: LibraryConfig, key: str, value: str, tmp: Path,
                 logs: pytest.LogCaptureFixture) -> str | None:
    runner = build(config, tmp, b"x")
    runner.set_property(key, value)
    try:
        results = runner.validation_results()
    except Exception as exc:  # validation must judge, never raise
        return f"validation raised {type(exc).__name__}: {exc}"
    if results:
        return None  # refused before it could run: the canvas says why
    if config.kind not in _RUNNABLE_KINDS:
        # listeners and commands: start (bind, spawn) and stop only, leaking no socket
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            raised = _run(runner, 0)
            problem = (f"run raised {type(raised).__name__}: {raised}"
                       if raised is not None and not isinstance(raised, FlowyardError) else None)
            del runner, raised  # what the failed start left behind is garbage now
            if problem:
                gc.collect()
        leaks = [str(w.message)[:100] for w in caught if issubclass(w.category, ResourceWarning)]
        return f"leaked: {leaks}" if leaks else problem
    if config.kind == "flowfile":
        runner.enqueue(b'{"a": 1}', {"filename": "a.txt"})
    inputs = {ff.attributes["uuid"]: ff.attributes for ff in runner.input_flowfiles()}
    raised = _run(runner, 1)
    try:
        assert_only_clear_errors(runner, raised)
        if config.kind == "flowfile":
            assert_accounted_for(runner, config, inputs, _outputs(runner, _declared(runner, config)),
                                 _logged(logs, config.processor), raised)
    except AssertionError as exc:
        return str(exc).splitlines()[0]
    return None


@pytest.mark.integration
@pytest.mark.parametrize(("config", "key"), list(_property_cases()))
def test_hostile_property_values_are_refused_or_handled(
    config: LibraryConfig, key: str, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    spec = PROCESSORS[config.processor].spec.property(key)
    problems = {}
    # listeners start and stop for every accepted value: the short list keeps that affordable
    full = spec.validator is not None and config.kind in _RUNNABLE_KINDS
    for i, value in enumerate(HOSTILE_VALUES if full else HOSTILE_TEXT):
        problem = _try_value(config, key, value, tmp_path / str(i), logs)
        if problem:
            problems[value] = problem[:300]
    assert not problems, problems


# -- file sources and odd file names ----------------------------------------------------------------------

_ODD_NAMES: dict[bytes, bytes] = {
    b"\xff\xfe-not-utf8.txt": b"a\n",  # a name that is no UTF-8 (Python: surrogate escapes)
    b"new\nline.txt": b"b\n",
    "ünï 名前.txt".encode(): b"c\n",
    b"-dash.txt": b"d\n",
}

ODD_NAME_BUGS: dict[str, str] = {
    "GetFile": ("a file whose name is not UTF-8 makes every trigger fail (UnicodeEncodeError: surrogates not "
                "allowed) so no file of the directory is picked up; NiFi decodes the name with U+FFFD and "
                "picks every file up"),
    "TailFile": ("Multiple files: a file whose name is not UTF-8 makes every trigger fail (UnicodeEncodeError: "
                 "surrogates not allowed) so no file is tailed; NiFi decodes the name with U+FFFD"),
    "ListFile": ("a file whose name is not UTF-8 makes every trigger fail (UnicodeEncodeError: surrogates not "
                 "allowed) so nothing is listed; NiFi decodes the name with U+FFFD and lists every file"),
}

_ODD_NAME_CONFIGS = {
    "GetFile": {"input-directory": "{tmp}/in", "keep-source-file": "true"},
    "ListFile": {"input-directory": "{tmp}/in"},
    "TailFile": {"tailing-mode": "Multiple files", "base-directory": "{tmp}/in", "files-to-tail": ".*",
                 "initial-start-position": "Beginning of File"},
}


def _odd_name_param(name: str) -> object:
    bug = ODD_NAME_BUGS.get(name)
    return pytest.param(name, marks=[pytest.mark.xfail(strict=True, reason=bug)] if bug else [], id=name)


@pytest.mark.integration
@pytest.mark.parametrize("processor", [_odd_name_param(n) for n in _ODD_NAME_CONFIGS])
def test_file_sources_take_files_with_odd_names(processor: str, tmp_path: Path) -> None:
    directory = tmp_path / "in"
    directory.mkdir()
    for name, content in _ODD_NAMES.items():
        path = os.path.join(os.fsencode(directory), name)
        with open(path, "wb") as out:
            out.write(content)
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    config = LibraryConfig(processor, _ODD_NAME_CONFIGS[processor], kind="list-source")
    runner = build(config, tmp_path)
    raised = _run(runner, 3)
    assert_only_clear_errors(runner, raised)
    names = {ff.attributes.get("filename") for ff in runner.flowfiles_for("success")}
    for name in _ODD_NAMES:
        if processor == "TailFile":
            continue  # TailFile names its FlowFiles after the tailed file with a range suffix; checked below
        decoded = name.decode("utf-8", "replace")
        assert decoded in names, f"{decoded!r} was not taken (got {sorted(map(repr, names))})"
    if processor == "TailFile":
        tailed = b"".join(sorted(ff.content for ff in runner.flowfiles_for("success")))
        assert tailed == b"".join(sorted(_ODD_NAMES.values())), f"tailed {tailed!r}"


# -- one bad FlowFile in a batch does not change what happens to the others ------------------------------------

_BATCH: tuple[bytes, ...] = (b'{"a": 1}', _BINARY[:1000], b"<a>x</a>", b"", b"caf\xc3 x\n", b"a\r\nb\rc\n")

BATCH_EXEMPT = {
    "DistributeLoad": "round robin: the relationship depends on the position in the batch by design",
    "MergeContent": "merges the batch: the outcome of one FlowFile depends on the others by design",
    "PackageFlowFile": "packages up to Maximum Batch Size FlowFiles together by design",
    "PutUDP": ("its socket to the closed port reports one datagram's ICMP port-unreachable on the next send "
               "(operating system behaviour), so that next FlowFile truly was not sent"),
}

BATCH_BUGS: dict[str, str] = {}
"""configuration id → the bug, one line."""


def _fate(runner: ProcessorRunner, relationships: set[str], uuid: str) -> str:
    for name in sorted(relationships):
        if any(ff.attributes.get("uuid") == uuid for ff in runner.flowfiles_for(name)):
            return name
    if any(ff.attributes.get("uuid") == uuid for ff in runner.input_flowfiles()):
        return "queue"
    return "gone"


def _fates(config: LibraryConfig, tmp: Path, contents: tuple[bytes, ...]) -> list[str]:
    runner = build(config, tmp, b"x")
    runner.enqueue_many((content, {"filename": f"f{i}.txt"}) for i, content in enumerate(contents))
    uuids = [ff.attributes["uuid"] for ff in runner.input_flowfiles()]
    raised = _run(runner, len(contents) + 1)
    assert_only_clear_errors(runner, raised)
    relationships = _declared(runner, config)
    return [_fate(runner, relationships, uuid) for uuid in uuids]


def _batch_param(config: LibraryConfig) -> object:
    bug = BATCH_BUGS.get(config.id)
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(config, marks=marks, id=config.id)


@pytest.mark.integration
@pytest.mark.parametrize("config", [_batch_param(c) for c in CONFIGS
                                    if c.kind == "flowfile" and c.processor not in BATCH_EXEMPT])
def test_a_bad_flowfile_does_not_change_the_fate_of_its_batch(config: LibraryConfig, tmp_path: Path) -> None:
    alone = [_fates(config, tmp_path / f"alone{i}", (content,))[0] for i, content in enumerate(_BATCH)]
    together = _fates(config, tmp_path / "batch", _BATCH)
    assert together == alone, f"alone: {alone}; in one batch: {together}"


# -- NiFi facts the fuzzing above ran into ------------------------------------------------------------------

_RETRY_OVERFLOW = ("RetryFlowFile reads the retry count as a Python int: 2147483648 counts as 'retries exceeded'; "
                   "NiFi's Integer.parseInt fails on it, so the count resets to 1 (retry), or the FlowFile goes to "
                   "failure with Fail on Nonnumerical Overwrite")


@pytest.mark.xfail(strict=True, reason=_RETRY_OVERFLOW)
@pytest.mark.parametrize(("fail_on_overwrite", "relationship", "retries"),
                         [("false", "retry", "1"), ("true", "failure", "2147483648")])
def test_retry_count_beyond_a_java_int_is_not_a_number(fail_on_overwrite: str, relationship: str,
                                                       retries: str) -> None:
    runner = ProcessorRunner(PROCESSORS["RetryFlowFile"])
    runner.set_property("fail-on-non-numerical-overwrite", fail_on_overwrite)
    runner.enqueue(b"x", {"flowfile.retries": "2147483648"})
    runner.run()
    runner.assert_all_transferred(relationship, 1)
    runner.flowfiles_for(relationship)[0].assert_attribute_equals("flowfile.retries", retries)


# -- round trips lose nothing -----------------------------------------------------------------------------------

_ROUND_TRIP_INPUTS = {
    "empty": (b"", {"filename": "e.txt"}),
    "binary-64k": (_BINARY, {"filename": "b.bin"}),
    "invalid-utf8": (HOSTILE["invalid-utf8"][0], {"filename": "u.txt"}),
    "odd-attributes": (b"content", _ODD_ATTRIBUTES),
}

_COMPRESSION_FORMATS = ("gzip", "deflate", "bzip2", "xz-lzma2", "lzma", "snappy", "snappy framed", "lz4-framed",
                        "zstd", "brotli")
"""Every format CompressContent both writes and reads (snappy-hadoop is compress-only, as in NiFi)."""

# (name, there: (processor, properties, relationship), back: (processor, properties, relationship), attributes kept)
_ROUND_TRIPS: list[tuple[str, tuple[str, dict[str, str], str], tuple[str, dict[str, str], str], bool]] = [
    *((f"compress-{fmt}", ("CompressContent", {"compression-format": fmt}, "success"),
       ("CompressContent", {"mode": "decompress", "compression-format": fmt}, "success"), False)
      for fmt in _COMPRESSION_FORMATS),
    *((f"compress-{fmt}-by-mime-type", ("CompressContent", {"compression-format": fmt}, "success"),
       ("CompressContent", {"mode": "decompress"}, "success"), False)
      for fmt in ("gzip", "bzip2", "zstd")),
    *((f"encode-{enc}-{lines}", ("EncodeContent", {"encoding": enc, "line-output-mode": lines}, "success"),
       ("EncodeContent", {"mode": "Decode", "encoding": enc}, "success"), False)
      for enc in ("base64", "base32", "hex") for lines in ("SINGLE_LINE", "MULTIPLE_LINES")),
    ("package-flowfile-v3", ("PackageFlowFile", {}, "success"),
     ("UnpackContent", {"packaging-format": "flowfile-stream-v3"}, "success"), True),
    *((f"merge-{fmt}", ("MergeContent", {"merge-format": merge}, "merged"),
       ("UnpackContent", {"packaging-format": fmt}, "success"), keeps)
      for merge, fmt, keeps in (("FlowFile Stream, v3", "flowfile-stream-v3", True),
                                ("FlowFile Stream, v2", "flowfile-stream-v2", True),
                                ("FlowFile Tar, v1", "flowfile-tar-v1", True),
                                ("TAR", "tar", False), ("ZIP", "zip", False))),
]

ROUND_TRIP_BUGS: dict[tuple[str, str], str] = {}
"""(round trip, input) → the bug, one line."""


def _round_trip_cases() -> Iterator[object]:
    for name, there, back, keeps in _ROUND_TRIPS:
        for input_name in _ROUND_TRIP_INPUTS:
            bug = ROUND_TRIP_BUGS.get((name, input_name))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(there, back, keeps, input_name, marks=marks, id=f"{name}-{input_name}")


def _step(processor: str, properties: Mapping[str, str], relationship: str,
          flowfiles: Sequence[tuple[bytes, Mapping[str, str]]]) -> list[MockFlowFile]:
    runner = ProcessorRunner(PROCESSORS[processor])
    for key, value in properties.items():
        runner.set_property(key, value)
    runner.enqueue_many(flowfiles)
    raised = _run(runner, 2)
    assert_only_clear_errors(runner, raised)
    out = runner.flowfiles_for(relationship)
    assert out, f"{processor} sent nothing to {relationship!r}: {runner.bulletins[-1:] or runner.errors}"
    return out


@pytest.mark.parametrize(("there", "back", "keeps_attributes", "input_name"), list(_round_trip_cases()))
def test_round_trips_lose_nothing(there: tuple[str, dict[str, str], str], back: tuple[str, dict[str, str], str],
                                  keeps_attributes: bool, input_name: str) -> None:
    content, attributes = _ROUND_TRIP_INPUTS[input_name]
    packed = _step(*there, [(content, attributes)])
    (restored,) = _step(*back, [(ff.content, ff.attributes) for ff in packed])
    assert restored.content == content, f"{len(restored.content)} bytes came back of {len(content)}"
    if keeps_attributes:
        lost = {k: v[:40] for k, v in attributes.items() if restored.attributes.get(k) != v}
        assert not lost, f"attributes not restored: {lost}"


# -- controller services with hostile property values --------------------------------------------------------

SERVICE_BUGS: dict[tuple[str, str], str] = {}
"""(service type, property key) → the bug, one line."""


def _service_cases() -> Iterator[object]:
    for name, cls in sorted(CONTROLLER_SERVICES.items()):
        for spec in cls.spec.properties:
            if spec.allowed_values or spec.identifies_controller_service:
                continue
            bug = SERVICE_BUGS.get((name, spec.key))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(name, spec.key, marks=marks, id=f"{name}-{spec.key}")


def _judge_service_value(service: str, key: str, value: str) -> str | None:
    runner = ProcessorRunner(PROCESSORS["UpdateAttribute"])
    runner.add_controller_service("service", CONTROLLER_SERVICES[service], {key: value})
    try:
        runner.enable_controller_service("service")
    except FlowyardError:
        return None  # refused, saying why
    except Exception as exc:  # judged below
        return f"enabling raised {type(exc).__name__}: {exc}"
    try:
        runner.disable_controller_service("service")
    except Exception as exc:  # judged here
        return f"disabling raised {type(exc).__name__}: {exc}"
    return None


@pytest.mark.parametrize(("service", "key"), list(_service_cases()))
def test_services_refuse_or_take_hostile_property_values(service: str, key: str) -> None:
    problems = {}
    for value in HOSTILE_VALUES:
        try:
            with _guarded(seconds=1):
                problem = _judge_service_value(service, key, value)
        except (_Runaway, MemoryError) as exc:
            problem = f"ran away: {type(exc).__name__}: {exc}"
        if problem:
            problems[value[:12]] = problem[:300]
    assert not problems, problems


# -- corrupt packages and compressed data ----------------------------------------------------------------------

def _packed(processor: str, properties: Mapping[str, str], relationship: str) -> bytes:
    """Two FlowFiles packed (or one compressed) by flowyard itself."""
    parts = [(_BINARY[:3000], {"filename": "one.bin"}), (b"second\n" * 100, {"filename": "two.txt"})]
    if processor != "MergeContent":
        parts = parts[:1]
    (ff,) = _step(processor, properties, relationship, parts)
    return ff.content


_CORRUPTIBLE: dict[str, tuple[tuple[str, dict[str, str], str], tuple[str, dict[str, str]]]] = {
    **{f"compress-{fmt}": (("CompressContent", {"compression-format": fmt}, "success"),
                           ("CompressContent", {"mode": "decompress", "compression-format": fmt}))
       for fmt in _COMPRESSION_FORMATS},
    **{f"merge-{fmt}": (("MergeContent", {"merge-format": merge}, "merged"),
                        ("UnpackContent", {"packaging-format": fmt}))
       for merge, fmt in (("FlowFile Stream, v3", "flowfile-stream-v3"), ("FlowFile Stream, v2", "flowfile-stream-v2"),
                          ("FlowFile Tar, v1", "flowfile-tar-v1"), ("TAR", "tar"), ("ZIP", "zip"))},
    "decode-base64": (("EncodeContent", {}, "success"), ("EncodeContent", {"mode": "Decode"})),
}

CORRUPT_BUGS: dict[tuple[str, str], str] = {}
"""(package, corruption) → the bug, one line."""


def _corrupt(data: bytes, how: str) -> bytes:
    middle = len(data) // 2
    if how == "truncated":
        return data[:middle]
    return data[:middle] + bytes(b ^ 0x5A for b in data[middle:middle + 16]) + data[middle + 16:]


def _corrupt_cases() -> Iterator[object]:
    for name in _CORRUPTIBLE:
        for how in ("truncated", "flipped"):
            bug = CORRUPT_BUGS.get((name, how))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(name, how, marks=marks, id=f"{name}-{how}")


@pytest.mark.parametrize(("package", "how"), list(_corrupt_cases()))
def test_corrupt_packages_fail_whole_and_unchanged(package: str, how: str, logs: pytest.LogCaptureFixture) -> None:
    there, (processor, properties) = _CORRUPTIBLE[package]
    data = _corrupt(_packed(*there), how)
    runner = ProcessorRunner(PROCESSORS[processor])
    for key, value in properties.items():
        runner.set_property(key, value)
    runner.enqueue(data, {"filename": "package"})
    inputs = {ff.attributes["uuid"]: ff.attributes for ff in runner.input_flowfiles()}
    raised = _run(runner, 1)
    assert_only_clear_errors(runner, raised)
    config = LibraryConfig(processor, properties)
    outputs = _outputs(runner, _declared(runner, config))
    assert_accounted_for(runner, config, inputs, outputs, _logged(logs, processor), raised)
    failed = outputs.get("failure", [])
    if failed:
        (ff,) = failed
        assert ff.content == data, "the FlowFile sent to failure is not the one that came in"
        produced = {name: len(out) for name, out in outputs.items() if name not in ("failure", "original") and out}
        assert not produced, f"a package that failed still produced {produced}"


# -- InvokeHTTP against a hostile server ----------------------------------------------------------------------

_HOSTILE_RESPONSES: dict[str, bytes] = {
    "not-http": b"NOT HTTP AT ALL\r\n\r\n",
    "closed-at-once": b"",
    "truncated-body": b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this much",
    "huge-header": b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * 200_000 + b"\r\nContent-Length: 2\r\n\r\nok",
    "status-999": b"HTTP/1.1 999 Whatever\r\nContent-Length: 2\r\n\r\nok",
    "bad-chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nnope\r\n",
    "gzip-lie": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!",
    "bad-charset": (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=NOPE\r\nContent-Length: 4\r\n\r\n"
                    b"\xff\xfe\x00a"),
    "redirect-loop": b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n",
    "bad-location": b"HTTP/1.1 302 Found\r\nLocation: http://[::1\r\nContent-Length: 0\r\n\r\n",
    "negative-length": b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nabc",
}

INVOKE_HTTP_BUGS: dict[str, str] = {}
"""response → the bug, one line."""

_PARTIAL = frozenset({"truncated-body", "bad-chunked", "gzip-lie"})
"""Responses whose body cannot be read whole: no Response FlowFile may carry part of it."""


@contextmanager
def _raw_server(answer: bytes, *, speaks_first: bool = False) -> Iterator[int]:
    """A TCP server on 127.0.0.1 answering every connection with ``answer`` (before reading, when it
    ``speaks_first`` as an SMTP server greets) and closing it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.02)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    if not speaks_first:
                        conn.recv(65536)
                    conn.sendall(answer)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def _invoke_param(name: str) -> object:
    bug = INVOKE_HTTP_BUGS.get(name)
    return pytest.param(name, marks=[pytest.mark.xfail(strict=True, reason=bug)] if bug else [], id=name)


@pytest.mark.integration
@pytest.mark.parametrize("response", [_invoke_param(n) for n in _HOSTILE_RESPONSES])
def test_invoke_http_survives_hostile_servers(response: str, logs: pytest.LogCaptureFixture) -> None:
    with _raw_server(_HOSTILE_RESPONSES[response]) as port:
        config = LibraryConfig("InvokeHTTP", {"http-url": f"http://127.0.0.1:{port}/x", "socket-read-timeout": "2 secs",
                                              "response-body-attribute-name": "body"})
        runner = ProcessorRunner(PROCESSORS["InvokeHTTP"])
        for key, value in config.properties.items():
            runner.set_property(key, value)
        runner.enqueue(b"request", {"filename": "r.txt"})
        inputs = {ff.attributes["uuid"]: ff.attributes for ff in runner.input_flowfiles()}
        raised = _run(runner, 1)
    assert_only_clear_errors(runner, raised)
    outputs = _outputs(runner, _declared(runner, config))
    assert_accounted_for(runner, config, inputs, outputs, _logged(logs, "InvokeHTTP"), raised)
    if response in _PARTIAL:
        assert not outputs["Response"], "a Response FlowFile carries part of a body that could not be read"
        assert not any("body" in ff.attributes for ff in outputs["Original"]), "a partial body became an attribute"


# -- ListenHTTP and HandleHttpRequest against hostile clients ------------------------------------------------------

_HOSTILE_REQUESTS: dict[str, bytes] = {
    "not-http": b"HELLO THERE\r\n\r\n",
    "truncated-body": b"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly this much",
    "huge-header": b"POST {path} HTTP/1.1\r\nHost: x\r\nX-Big: " + b"x" * 200_000 + b"\r\nContent-Length: 2\r\n\r\nok",
    "bad-chunked": b"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nnope\r\n",
    "gzip-lie": b"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!",
    "flowfile-v3-lie": (b"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/flowfile-v3\r\n"
                        b"Content-Length: 12\r\n\r\nNiFiFF3garbg"),
    "negative-length": b"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nabc",
    "bad-multipart": (b"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz\r\n"
                      b"Content-Length: 20\r\n\r\n--zz\r\nbroken part\r\n"),
}

LISTENER_BUGS: dict[tuple[str, str], str] = {}
"""(processor, request) → the bug, one line."""


def _listener_cases() -> Iterator[object]:
    for processor in ("ListenHTTP", "HandleHttpRequest"):
        for name in _HOSTILE_REQUESTS:
            bug = LISTENER_BUGS.get((processor, name))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(processor, name, marks=marks, id=f"{processor}-{name}")


def _send_raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        try:
            client.sendall(data)
            client.shutdown(socket.SHUT_WR)
            return client.recv(200)
        except OSError:
            return b""


@pytest.mark.integration
@pytest.mark.parametrize(("processor", "request_name"), list(_listener_cases()))
def test_listeners_survive_hostile_clients(processor: str, request_name: str, tmp_path: Path) -> None:
    config = next(c for c in CONFIGS if c.processor == processor)
    runner = build(config, tmp_path)
    responder = _responder(runner) if config.kind == "handle-http" else None
    raised = _run(runner, 0, stop_on_finish=False)
    assert raised is None, raised
    path = b"/contentListener" if processor == "ListenHTTP" else b"/x"
    try:
        port = _listen_port(runner)
        answers: list[bytes] = []
        sender = threading.Thread(
            target=lambda: answers.append(_send_raw(port, _HOSTILE_REQUESTS[request_name].replace(b"{path}", path))),
            daemon=True)
        sender.start()
        raised = _serve(runner, lambda: not sender.is_alive() or bool(runner.flowfiles_for("success")), 3.0)
        hostile = runner.flowfiles_for("success")
        runner.clear_transfer_state()
        if responder is not None and hostile:  # HandleHttpRequest waits for its answer
            responder.enqueue(hostile[0].content, hostile[0].attributes)
            responder.run()
            responder.clear_transfer_state()
        sender.join(5)
        # the listener still works for the next, well-behaved client
        call = _Call(lambda: httpx.post(f"http://127.0.0.1:{port}{path.decode()}", content=b"fine", timeout=10))
        raised = raised or _serve(runner, lambda: call.done.is_set() or bool(runner.flowfiles_for("success")))
        good = runner.flowfiles_for("success")
        if responder is not None and good:
            responder.enqueue(good[0].content, good[0].attributes)
            responder.run()
    finally:
        runner.stop()
    assert_only_clear_errors(runner, raised)
    assert call.done.wait(10) and isinstance(call.result, httpx.Response), f"the next client failed: {call.result!r}"
    assert call.result.status_code == 200 and [ff.content for ff in good] == [b"fine"]
    unreadable = {"truncated-body", "bad-chunked", "negative-length"}
    if processor == "ListenHTTP":
        unreadable.add("gzip-lie")  # ListenHTTP decompresses gzip bodies; HandleHttpRequest passes them on as NiFi
    if request_name in unreadable:
        assert not hostile, f"a body that could not be read whole became {[ff.content[:40] for ff in hostile]}"


# -- PutEmail and PutTCP against hostile servers ------------------------------------------------------------------

_HOSTILE_PEERS: dict[str, tuple[str, dict[str, str], bytes]] = {
    "smtp-garbage-greeting": ("PutEmail", {}, b"GARBAGE\r\n"),
    "smtp-rejects": ("PutEmail", {}, b"554 no service here\r\n"),
    "smtp-closes": ("PutEmail", {}, b""),
    "smtp-binary": ("PutEmail", {}, _BINARY[:2000]),
    "tcp-closes": ("PutTCP", {}, b""),
    "tcp-answers-garbage": ("PutTCP", {"connection-per-flowfile": "true"}, _BINARY[:2000]),
}

PEER_BUGS: dict[str, str] = {}
"""peer → the bug, one line."""


def _peer_param(name: str) -> object:
    bug = PEER_BUGS.get(name)
    return pytest.param(name, marks=[pytest.mark.xfail(strict=True, reason=bug)] if bug else [], id=name)


@pytest.mark.integration
@pytest.mark.parametrize("peer", [_peer_param(n) for n in _HOSTILE_PEERS])
def test_senders_survive_hostile_servers(peer: str, logs: pytest.LogCaptureFixture) -> None:
    processor, extra, answer = _HOSTILE_PEERS[peer]
    base = next(c for c in CONFIGS if c.processor == processor)
    with _raw_server(answer, speaks_first=processor == "PutEmail") as port:
        properties = {**base.properties, **extra, ("smtp-port" if processor == "PutEmail" else "port"): str(port)}
        config = LibraryConfig(processor, properties)
        runner = ProcessorRunner(PROCESSORS[processor])
        for key, value in properties.items():
            runner.set_property(key, value)
        runner.enqueue_many([(b"one\n", {"filename": "1.txt"}), (_BINARY[:5000], {"filename": "2.bin"})])
        inputs = {ff.attributes["uuid"]: ff.attributes for ff in runner.input_flowfiles()}
        raised = _run(runner, 3)
    assert_only_clear_errors(runner, raised)
    assert_accounted_for(runner, config, inputs, _outputs(runner, _declared(runner, config)),
                         _logged(logs, processor), raised)
    if processor == "PutEmail":
        assert not runner.flowfiles_for("success"), "an email counted as sent to a server that never took it"


# -- corrupt component state ---------------------------------------------------------------------------------------

_STATEFUL_CONFIGS = {
    "ControlRate": LibraryConfig("ControlRate", {"rate-control-criteria": "flowfile count", "max-rate": "10"}),
    "EnforceOrder": LibraryConfig("EnforceOrder", {"order-attribute": "seq"}),
    "MonitorActivity": LibraryConfig("MonitorActivity"),
    "UpdateAttribute": LibraryConfig("UpdateAttribute", {"store-state": "Store state locally",
                                                         "stateful-variables-initial-value": "0",
                                                         "count": "${getStateValue('count'):plus(1)}"}),
    "ListFile": LibraryConfig("ListFile", {"input-directory": "{tmp}/in"}, kind="list-source",
                              files={"in/payload.bin": b"x"}),
    "TailFile": LibraryConfig("TailFile", {"files-to-tail": "{tmp}/payload.bin"}, kind="tail-source",
                              files={"payload.bin": b"line\n"}),
}

STATE_BUGS: dict[tuple[str, str], str] = {
    ("ListFile", "garbage"): (
        "a listing timestamp in state that is not a number raises a bare ValueError (\"invalid literal for int()\") "
        "on every trigger, naming neither the state key nor the remedy (clear the state); NiFi fails too "
        "(NumberFormatException), so low priority"),
}
"""(processor, corruption) → the bug, one line."""

_CORRUPTIONS = {"garbage": "garbage", "empty": "", "negative": "-1", "huge": "9" * 30}


def _state_cases() -> Iterator[object]:
    assert set(_STATEFUL_CONFIGS) == {n for n, c in PROCESSORS.items() if c.spec.stateful}, "a stateful processor"
    for name in _STATEFUL_CONFIGS:
        for corruption in _CORRUPTIONS:
            bug = STATE_BUGS.get((name, corruption))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(name, corruption, marks=marks, id=f"{name}-{corruption}")


@pytest.mark.parametrize(("processor", "corruption"), list(_state_cases()))
def test_corrupt_state_is_survived(processor: str, corruption: str, tmp_path: Path,
                                   logs: pytest.LogCaptureFixture) -> None:
    """State written by another version (or damaged) must not wedge the processor: it starts over or
    reports the problem, and loses no FlowFile."""
    from flowyard.runtime.repository.state import ComponentState

    config = _STATEFUL_CONFIGS[processor]
    runner = build(config, tmp_path, b"x")
    if config.kind == "flowfile":
        runner.enqueue(b"a", {"filename": "a.txt", "seq": "0"})
    _run(runner, 1)
    state = runner.repositories.state.get(runner.component_id)
    values = {key: _CORRUPTIONS[corruption] for key in state.values} or {"unexpected": _CORRUPTIONS[corruption]}
    runner.repositories.state.set_now(runner.component_id, ComponentState(values, state.version))
    runner.clear_transfer_state()
    runner.clock.advance(3600)
    if config.kind == "flowfile":
        runner.enqueue(b"b", {"filename": "b.txt", "seq": "1"})
    inputs = {ff.attributes["uuid"]: ff.attributes for ff in runner.input_flowfiles()}
    raised = _run(runner, 2)
    assert_only_clear_errors(runner, raised)
    if config.kind == "flowfile":
        assert_accounted_for(runner, config, inputs, _outputs(runner, _declared(runner, config)),
                             _logged(logs, processor), raised)
