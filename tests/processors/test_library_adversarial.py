"""Adversarial checks of the whole standard processor library.

Every processor in ``flowyard.processors.PROCESSORS`` is configured minimally
and driven through ``ProcessorRunner`` with hostile input; the configurations,
the hostile inputs and the checks live in ``tests/support/library_configs.py``.
Whatever the input, a run must:

- raise nothing but ``ProcessingError`` (a processor refusing to start may
  raise another ``FlowyardError`` naming the problem, never a bare Python
  exception), with messages of a sane length;
- account for every input flowfile: transferred to a relationship the
  processor declares, or back on its input queue; dropped only where NiFi
  drops (``DROP_ALLOWED``);
- give a reason for what it could not process, naming the FlowFile: a new
  attribute, or a bulletin, log or error that names its uuid or filename;
  a FlowFile routed to failure or sent back keeps its original content;
- lose no content a source was given (GetFile, ExecuteProcess, listeners).

The same checks run for: a failing expression and hostile attribute values
in every property that reads flowfile attributes; hostile property values
(refused by validation, or handled); file names that are not UTF-8; one bad
FlowFile in a batch; round trips (compress, encode, package, merge/unpack);
truncated and corrupted packages; hostile HTTP, SMTP and TCP peers; damaged
component state; controller services. The spec checks: validation of an
unconfigured processor names the missing properties, defaults pass their own
validators and allowable values, dependencies name existing properties and
their allowable values.

Known bugs are strict xfails (the ``*_BUGS`` tables, one line each): when a
processor is fixed the case XPASSes, fails, and its entry must go.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx
import pytest
from library_configs import (
    BINARY,
    CONFIGS,
    FAILING_BOOLEAN_EXPRESSION,
    FAILING_EXPRESSION,
    HOSTILE,
    KIND_CASES,
    ODD_ATTRIBUTES,
    HttpCall,
    LibraryConfig,
    Runaway,
    ServiceSetup,
    assert_accounted_for,
    assert_only_clear_errors,
    build,
    declared_relationships,
    guarded,
    listen_port,
    logged_by,
    outputs_of,
    raw_server,
    responder_for,
    run_collecting,
    send_raw,
    serve_until,
)

from flowyard.processors import CONTROLLER_SERVICES, PROCESSORS
from flowyard.runtime.sdk import (
    ConfigurationError,
    ControllerService,
    ExpressionScope,
    FlowyardError,
    Processor,
    PropertySpec,
)
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

# -- known bugs: (configuration id, input) → the bug, one line --------------------------------------

KNOWN_BUGS: dict[tuple[str, str], str] = {}
"""(configuration id, input) → the bug, one line."""

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


@pytest.fixture(autouse=True)
def _in_a_scratch_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hostile values of path properties ('(', 'NaN', ...) are relative paths: keep what
    the processors create with them out of the checkout."""
    scratch = tmp_path / "cwd"
    scratch.mkdir()
    monkeypatch.chdir(scratch)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """What the processors log at INFO and above (NiFi logs some failure reasons at INFO)."""
    caplog.set_level(logging.INFO, logger="flowyard.processor")
    return caplog


# -- hostile input (``HOSTILE`` in library_configs), per kind of processor -----------------------------


@pytest.mark.integration
@pytest.mark.parametrize(("config", "hostile"), list(_cases()))
def test_hostile_input_is_handled_and_loses_nothing(
    config: LibraryConfig, hostile: str, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    KIND_CASES[config.kind](config, hostile, tmp_path, logs)


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
    raised = run_collecting(runner, 2)
    assert_only_clear_errors(runner, raised)
    assert_accounted_for(runner, config, inputs, outputs_of(runner, declared_relationships(runner, config)),
                         logged_by(logs, config.processor), raised)


# Attribute values a property's expression hands to the processor (the expression itself is fine).
_HOSTILE_ATTRIBUTE_VALUES = {"big": "9" * 30, "nul": "a\x00b", "neg": "-1", "zero": "0", "empty": "", "nan": "NaN"}

ATTRIBUTE_VALUE_BUGS: dict[tuple[str, str], str] = {}
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
    raised = run_collecting(runner, 2)
    try:
        assert_only_clear_errors(runner, raised)
        assert_accounted_for(runner, config, inputs, outputs_of(runner, declared_relationships(runner, config)),
                             logged_by(logs, config.processor), raised)
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
            with guarded(seconds=2):
                problem = _judge_attribute_value(config, key, name, tmp_path / name, logs)
        except (Runaway, MemoryError) as exc:
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


_NIFIS_OWN_UNREACHABLE = {"schema-reference-reader"}
"""Dependency values NiFi itself declares but does not offer: its record writers' Schema Registry and
Schema Reference Reader depend on 'schema-reference-reader', not among the writers' strategies (the
properties are never shown; kept so that NiFi flows load as written)."""


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
            strays = [v for v in dependency.values if allowed and v not in allowed
                      and not (name.endswith("RecordSetWriter") and v in _NIFIS_OWN_UNREACHABLE)]
            if strays:
                problems.append(f"{spec.display_name} depends on {target.display_name} being {strays}, "
                                f"which are not among its allowable values")
    assert not problems, "; ".join(problems)


_ODD_DYNAMIC_NAMES = ("", " ", "new\nline", "ünï 名前", "x" * 10_000, "${x}", "nul\x00", "1", "-1")


@pytest.mark.parametrize("name", sorted(n for n, c in PROCESSORS.items() if c.spec.dynamic_properties is not None))
def test_odd_dynamic_property_names_are_judged_not_crashed_on(name: str) -> None:
    """A dynamic property with an odd name (or value) is valid, invalid with a result, or refused with a
    ConfigurationError (an empty relationship name) - never a bare exception from validation."""
    problems = {}
    for dynamic in _ODD_DYNAMIC_NAMES:
        for value in ("", "${", "(", "x"):
            runner = ProcessorRunner(PROCESSORS[name])
            try:
                runner.set_property(dynamic, value)
                runner.validation_results()
            except ConfigurationError:
                pass
            except Exception as exc:  # judged here
                problems[f"{dynamic[:12]!r}={value!r}"] = f"{type(exc).__name__}: {exc}"[:200]
    assert not problems, problems


# -- hostile property values: refused by validation, or handled at run time ---------------------------------

HOSTILE_VALUES = ("", " ", "0", "0 B", "-1", "9" * 30, "NaN", "1e400", "nul\x00byte", "(", "NOPE-CHARSET", "5 parsecs",
                  "${x}")
"""Values a user can type into any property."""

HOSTILE_TEXT = ("", "9" * 30, "nul\x00byte", "(")
"""The subset tried on free-text properties (no validator): anything goes there, these are the likely traps."""

PROPERTY_BUGS: dict[tuple[str, str], str] = {}
"""(configuration id, property key) → the bug, one line."""

_RUNNABLE_KINDS = frozenset({"flowfile", "generate", "file-source", "list-source"})


def _property_cases() -> Iterator[object]:
    for config in CONFIGS:
        if config.variant:
            continue
        for spec in PROCESSORS[config.processor].spec.properties:
            if spec.identifies_controller_service or spec.allowed_values:
                continue
            bug = PROPERTY_BUGS.get((config.id, spec.key))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(config, spec.key, marks=marks, id=f"{config.id}-{spec.key}")


def _try_value(config: LibraryConfig, key: str, value: str, tmp: Path,
               logs: pytest.LogCaptureFixture) -> str | None:
    """What went wrong with ``key`` set to ``value``, or None."""
    try:
        with guarded(seconds=2):
            return _judge_value(config, key, value, tmp, logs)
    except (Runaway, MemoryError) as exc:
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
            raised = run_collecting(runner, 0)
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
    raised = run_collecting(runner, 1)
    try:
        assert_only_clear_errors(runner, raised)
        if config.kind == "flowfile":
            assert_accounted_for(runner, config, inputs, outputs_of(runner, declared_relationships(runner, config)),
                                 logged_by(logs, config.processor), raised)
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

ODD_NAME_BUGS: dict[str, str] = {}
"""processor → the bug, one line."""

# The filters use (?s): in Java as in Python '.' does not match a line feed, so NiFi's default File Filter
# ([^\.].*) does not take 'new\nline.txt' either (test_get_file and test_list_file check that).
_ODD_NAME_CONFIGS = {
    "GetFile": {"input-directory": "{tmp}/in", "keep-source-file": "true", "file-filter": "(?s)[^.].*"},
    "ListFile": {"input-directory": "{tmp}/in", "file-filter": "(?s)[^.].*"},
    "TailFile": {"tailing-mode": "Multiple files", "base-directory": "{tmp}/in", "files-to-tail": "(?s).*",
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
    raised = run_collecting(runner, 3)
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

_BATCH: tuple[bytes, ...] = (b'{"a": 1}', BINARY[:1000], b"<a>x</a>", b"", b"caf\xc3 x\n", b"a\r\nb\rc\n")

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
    raised = run_collecting(runner, len(contents) + 1)
    assert_only_clear_errors(runner, raised)
    relationships = declared_relationships(runner, config)
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
    "binary-64k": (BINARY, {"filename": "b.bin"}),
    "invalid-utf8": (HOSTILE["invalid-utf8"][0], {"filename": "u.txt"}),
    "odd-attributes": (b"content", ODD_ATTRIBUTES),
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
    raised = run_collecting(runner, 2)
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
            with guarded(seconds=2):
                problem = _judge_service_value(service, key, value)
        except (Runaway, MemoryError) as exc:
            problem = f"ran away: {type(exc).__name__}: {exc}"
        if problem:
            problems[value[:12]] = problem[:300]
    assert not problems, problems


# -- corrupt packages and compressed data ----------------------------------------------------------------------

def _packed(processor: str, properties: Mapping[str, str], relationship: str) -> bytes:
    """Two FlowFiles packed (or one compressed) by flowyard itself."""
    parts = [(BINARY[:3000], {"filename": "one.bin"}), (b"second\n" * 100, {"filename": "two.txt"})]
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
    raised = run_collecting(runner, 1)
    assert_only_clear_errors(runner, raised)
    config = LibraryConfig(processor, properties)
    outputs = outputs_of(runner, declared_relationships(runner, config))
    assert_accounted_for(runner, config, inputs, outputs, logged_by(logs, processor), raised)
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


def _invoke_param(name: str) -> object:
    bug = INVOKE_HTTP_BUGS.get(name)
    return pytest.param(name, marks=[pytest.mark.xfail(strict=True, reason=bug)] if bug else [], id=name)


@pytest.mark.integration
@pytest.mark.parametrize("response", [_invoke_param(n) for n in _HOSTILE_RESPONSES])
def test_invoke_http_survives_hostile_servers(response: str, logs: pytest.LogCaptureFixture) -> None:
    with raw_server(_HOSTILE_RESPONSES[response]) as port:
        config = LibraryConfig("InvokeHTTP", {"http-url": f"http://127.0.0.1:{port}/x", "socket-read-timeout": "2 secs",
                                              "response-body-attribute-name": "body"})
        runner = ProcessorRunner(PROCESSORS["InvokeHTTP"])
        for key, value in config.properties.items():
            runner.set_property(key, value)
        runner.enqueue(b"request", {"filename": "r.txt"})
        inputs = {ff.attributes["uuid"]: ff.attributes for ff in runner.input_flowfiles()}
        raised = run_collecting(runner, 1)
    assert_only_clear_errors(runner, raised)
    outputs = outputs_of(runner, declared_relationships(runner, config))
    assert_accounted_for(runner, config, inputs, outputs, logged_by(logs, "InvokeHTTP"), raised)
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


@pytest.mark.integration
@pytest.mark.parametrize(("processor", "request_name"), list(_listener_cases()))
def test_listeners_survive_hostile_clients(processor: str, request_name: str, tmp_path: Path) -> None:
    config = next(c for c in CONFIGS if c.processor == processor)
    runner = build(config, tmp_path)
    responder = responder_for(runner) if config.kind == "handle-http" else None
    raised = run_collecting(runner, 0, stop_on_finish=False)
    assert raised is None, raised
    path = b"/contentListener" if processor == "ListenHTTP" else b"/x"
    try:
        port = listen_port(runner)
        answers: list[bytes] = []
        sender = threading.Thread(
            target=lambda: answers.append(send_raw(port, _HOSTILE_REQUESTS[request_name].replace(b"{path}", path))),
            daemon=True)
        sender.start()
        raised = serve_until(runner, lambda: not sender.is_alive() or bool(runner.flowfiles_for("success")), 3.0)
        hostile = runner.flowfiles_for("success")
        runner.clear_transfer_state()
        if responder is not None and hostile:  # HandleHttpRequest waits for its answer
            responder.enqueue(hostile[0].content, hostile[0].attributes)
            responder.run()
            responder.clear_transfer_state()
        sender.join(5)
        # the listener still works for the next, well-behaved client
        call = HttpCall(lambda: httpx.post(f"http://127.0.0.1:{port}{path.decode()}", content=b"fine", timeout=10))
        raised = raised or serve_until(runner, lambda: call.done.is_set() or bool(runner.flowfiles_for("success")))
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
    "smtp-binary": ("PutEmail", {}, BINARY[:2000]),
    "tcp-closes": ("PutTCP", {}, b""),
    "tcp-answers-garbage": ("PutTCP", {"connection-per-flowfile": "true"}, BINARY[:2000]),
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
    with raw_server(answer, speaks_first=processor == "PutEmail") as port:
        properties = {**base.properties, **extra, ("smtp-port" if processor == "PutEmail" else "port"): str(port)}
        config = LibraryConfig(processor, properties)
        runner = ProcessorRunner(PROCESSORS[processor])
        for key, value in properties.items():
            runner.set_property(key, value)
        runner.enqueue_many([(b"one\n", {"filename": "1.txt"}), (BINARY[:5000], {"filename": "2.bin"})])
        inputs = {ff.attributes["uuid"]: ff.attributes for ff in runner.input_flowfiles()}
        raised = run_collecting(runner, 3)
    assert_only_clear_errors(runner, raised)
    assert_accounted_for(runner, config, inputs, outputs_of(runner, declared_relationships(runner, config)),
                         logged_by(logs, processor), raised)
    if processor == "PutEmail":
        assert not runner.flowfiles_for("success"), "an email counted as sent to a server that never took it"


# -- corrupt component state ---------------------------------------------------------------------------------------

_REAL_POOL = ServiceSetup("db", "DBCPConnectionPool", {
    "Database Connection URL": "jdbc:postgresql://127.0.0.1:5432/test", "Database User": "postgres",
    "Database Driver Class Name": "org.postgresql.Driver"})

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
    # on the machine's PostgreSQL, over a catalogue table every database has, so that there is state to damage
    "QueryDatabaseTable": LibraryConfig(
        "QueryDatabaseTable", {"Database Connection Pooling Service": "db", "Table Name": "pg_database",
                               "Maximum-value Columns": "oid"}, kind="generate", services=(_REAL_POOL,)),
    "QueryDatabaseTableRecord": LibraryConfig(
        "QueryDatabaseTableRecord", {"Database Connection Pooling Service": "db", "Table Name": "pg_database",
                                     "Maximum-value Columns": "oid", "qdbtr-record-writer": "writer"},
        kind="generate", services=(_REAL_POOL, ServiceSetup("writer", "JsonRecordSetWriter"))),
    "GenerateTableFetch": LibraryConfig(
        "GenerateTableFetch", {"Database Connection Pooling Service": "db", "Table Name": "pg_database",
                               "Maximum-value Columns": "oid"}, kind="generate", services=(_REAL_POOL,)),
    "ListDatabaseTables": LibraryConfig("ListDatabaseTables", {"list-db-tables-db-connection": "db"},
                                        kind="generate", services=(_REAL_POOL,)),
}

STATE_BUGS: dict[tuple[str, str], str] = {}
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
    config = _STATEFUL_CONFIGS[processor]
    runner = build(config, tmp_path, b"x")
    try:
        _survive_corrupt_state(runner, config, corruption, logs)
    finally:
        for service in config.services:
            runner.disable_controller_service(service.service_id)


def _survive_corrupt_state(runner: ProcessorRunner, config: LibraryConfig, corruption: str,
                           logs: pytest.LogCaptureFixture) -> None:
    from flowyard.runtime.repository.state import ComponentState

    processor = config.processor
    if config.kind == "flowfile":
        runner.enqueue(b"a", {"filename": "a.txt", "seq": "0"})
    run_collecting(runner, 1)
    state = runner.repositories.state.get(runner.component_id)
    values = {key: _CORRUPTIONS[corruption] for key in state.values} or {"unexpected": _CORRUPTIONS[corruption]}
    runner.repositories.state.set_now(runner.component_id, ComponentState(values, state.version))
    runner.clear_transfer_state()
    runner.clock.advance(3600)
    if config.kind == "flowfile":
        runner.enqueue(b"b", {"filename": "b.txt", "seq": "1"})
    inputs = {ff.attributes["uuid"]: ff.attributes for ff in runner.input_flowfiles()}
    raised = run_collecting(runner, 2)
    assert_only_clear_errors(runner, raised)
    if config.kind == "flowfile":
        assert_accounted_for(runner, config, inputs, outputs_of(runner, declared_relationships(runner, config)),
                             logged_by(logs, processor), raised)


SPECIAL_ENTRY_BUGS: dict[str, str] = {}
"""processor → the bug, one line."""


def _special_entry_param(name: str) -> object:
    bug = SPECIAL_ENTRY_BUGS.get(name)
    return pytest.param(name, marks=[pytest.mark.xfail(strict=True, reason=bug)] if bug else [], id=name)


@pytest.mark.integration
@pytest.mark.parametrize("processor", [_special_entry_param(n) for n in _ODD_NAME_CONFIGS])
def test_file_sources_skip_entries_that_are_no_regular_file(processor: str, tmp_path: Path) -> None:
    directory = tmp_path / "in"
    directory.mkdir()
    (directory / "ok.txt").write_bytes(b"ok\n")
    os.utime(directory / "ok.txt", (time.time() - 3600, time.time() - 3600))
    os.mkfifo(directory / "fifo.txt")  # reading it would block for ever
    (directory / "loop.txt").symlink_to("loop.txt")
    (directory / "dangling.txt").symlink_to(tmp_path / "nowhere")
    (directory / "dir.txt").mkdir()
    config = LibraryConfig(processor, _ODD_NAME_CONFIGS[processor], kind="list-source")
    runner = build(config, tmp_path)
    try:
        with guarded(seconds=3):
            raised = run_collecting(runner, 2)
    except Runaway as exc:
        pytest.fail(f"{processor} hangs on a special entry: {exc}")
    assert_only_clear_errors(runner, raised)
    taken = [f"{ff.attributes.get('filename', '')[:2]}:{ff.content.decode()}" for ff in runner.flowfiles_for("success")]
    expected = "ok:" if processor == "ListFile" else "ok:ok\n"  # ListFile lists, the others read
    assert taken == [expected], f"took {taken!r}, expected only ok.txt"
