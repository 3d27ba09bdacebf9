from __future__ import annotations

import errno
import logging
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from flowyard.processors.fetch_file import FetchFile
from flowyard.processors.list_file import ListFile
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk import InvalidComponentError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

Evaluator = Callable[[str, Mapping[str, str] | None], str]
FileMaker = Callable[..., Path]


def runner(
    properties: Mapping[str, str] | None = None,
    *,
    processor: type[FetchFile] = FetchFile,
    evaluator: Evaluator | None = None,
) -> ProcessorRunner:
    r = ProcessorRunner(processor, evaluator=evaluator)
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


def located(path: Path) -> dict[str, str]:
    """The attributes ListFile gives a file."""
    return {"absolute.path": f"{path.parent}/", "filename": path.name}


def test_default_file_to_fetch_uses_absolute_path_and_filename(tmp_path: Path, make_file: FileMaker) -> None:
    source = make_file(tmp_path / "a.txt", b"file content")
    r = runner()
    r.enqueue(b"", located(source))
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(b"file content")
    (event,) = r.provenance_events(ProvenanceEventType.FETCH)
    assert event.transit_uri == source.as_uri()
    assert event.details == f"Replaced content of FlowFile with contents of {source.as_uri()}"
    assert source.exists()


def test_a_literal_file_to_fetch(tmp_path: Path, make_file: FileMaker) -> None:
    source = make_file(tmp_path / "fixed.bin", bytes(range(256)) * 9000)
    r = runner({"File to Fetch": str(source)})
    r.enqueue(b"old content", {"filename": "other"})
    r.run()
    r.flowfiles_for("success")[0].assert_content_equals(source.read_bytes())


def test_file_to_fetch_evaluates_against_attributes(
    tmp_path: Path, make_file: FileMaker, evaluator: Evaluator
) -> None:
    make_file(tmp_path / "d" / "x.txt", b"via expression")
    r = runner({"File to Fetch": f"{tmp_path}/${{dir}}/${{name}}"}, evaluator=evaluator)
    r.enqueue(b"", {"dir": "d", "name": "x.txt"})
    r.run()
    r.flowfiles_for("success")[0].assert_content_equals(b"via expression")


def test_default_file_to_fetch_with_an_evaluator(tmp_path: Path, make_file: FileMaker, evaluator: Evaluator) -> None:
    source = make_file(tmp_path / "a.txt", b"evaluated")
    r = runner(evaluator=evaluator)
    r.enqueue(b"", located(source))
    r.run()
    r.flowfiles_for("success")[0].assert_content_equals(b"evaluated")


def test_missing_file_goes_to_not_found(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    r = runner()
    r.enqueue(b"keep", located(tmp_path / "missing.txt"))
    r.run()
    r.assert_all_transferred("not.found", 1)
    ff = r.flowfiles_for("not.found")[0]
    assert ff.is_penalized(r.clock())
    ff.assert_content_equals(b"keep")
    (event,) = r.provenance_events(ProvenanceEventType.ROUTE)
    assert event.relationship == "not.found"
    assert [level for level, _ in r.bulletins] == ["ERROR"]


@pytest.mark.parametrize(
    ("level", "levelno"),
    [("NONE", None), ("TRACE", logging.DEBUG), ("INFO", logging.INFO), ("WARN", logging.WARNING),
     ("FATAL", logging.ERROR)],
)
def test_not_found_log_level(tmp_path: Path, caplog: pytest.LogCaptureFixture, level: str,
                             levelno: int | None) -> None:
    caplog.set_level(logging.DEBUG, logger="flowyard.processor.FetchFile")
    r = runner({"Log level when file not found": level})
    r.enqueue(b"", located(tmp_path / "missing.txt"))
    r.run()
    levels = [rec.levelno for rec in caplog.records if rec.name == "flowyard.processor.FetchFile"]
    assert levels == ([] if levelno is None else [levelno])


class UnreadableFetchFile(FetchFile):
    """FetchFile that believes it may read nothing (tests run as root)."""

    def _is_readable(self, path: str) -> bool:
        return False


def test_unreadable_file_goes_to_permission_denied(tmp_path: Path, make_file: FileMaker) -> None:
    source = make_file(tmp_path / "secret")
    r = runner({"Log level when permission denied": "WARN"}, processor=UnreadableFetchFile)
    r.enqueue(b"", located(source))
    r.run()
    r.assert_all_transferred("permission.denied", 1)
    assert r.flowfiles_for("permission.denied")[0].is_penalized(r.clock())
    (event,) = r.provenance_events(ProvenanceEventType.ROUTE)
    assert event.relationship == "permission.denied"
    assert [level for level, _ in r.bulletins] == ["WARNING"]


@pytest.mark.parametrize(
    ("attributes", "relationship"),
    [
        ({"filename": "", "absolute.path": ""}, "failure"),  # '/': a directory
        ({}, "not.found"),  # '/<uuid>', as the expression would give
    ],
)
def test_default_file_to_fetch_without_the_attributes(attributes: dict[str, str], relationship: str) -> None:
    r = runner()
    r.enqueue(b"", attributes)
    r.run()
    r.assert_all_transferred(relationship, 1)
    assert r.flowfiles_for(relationship)[0].is_penalized(r.clock())


def test_a_directory_goes_to_failure(tmp_path: Path) -> None:
    r = runner({"File to Fetch": str(tmp_path)})
    r.enqueue(b"", {})
    r.run()
    r.assert_all_transferred("failure", 1)


@pytest.mark.parametrize(
    ("strategy", "source_kept"),
    [("None", True), ("Delete File", False)],
)
def test_completion_strategy(tmp_path: Path, make_file: FileMaker, strategy: str, source_kept: bool) -> None:
    source = make_file(tmp_path / "a.txt")
    r = runner({"Completion Strategy": strategy})
    r.enqueue(b"", located(source))
    r.run()
    r.assert_all_transferred("success", 1)
    assert source.exists() is source_kept


def test_move_file_creates_the_destination(tmp_path: Path, make_file: FileMaker) -> None:
    source = make_file(tmp_path / "in" / "a.txt", b"moving")
    done = tmp_path / "done" / "deep"
    r = runner({"Completion Strategy": "Move File", "Move Destination Directory": str(done)})
    r.enqueue(b"", located(source))
    r.run()
    r.flowfiles_for("success")[0].assert_content_equals(b"moving")
    assert not source.exists()
    assert (done / "a.txt").read_bytes() == b"moving"


@pytest.mark.parametrize(
    ("conflict", "relationship", "source_left", "destination_files"),
    [
        ("Rename", "success", False, {"a.txt": b"existing", "renamed": b"incoming"}),
        ("Replace File", "success", False, {"a.txt": b"incoming"}),
        ("Keep Existing", "success", False, {"a.txt": b"existing"}),
        ("Fail", "failure", True, {"a.txt": b"existing"}),
    ],
)
def test_move_conflict_strategy(
    tmp_path: Path, make_file: FileMaker, conflict: str, relationship: str, source_left: bool,
    destination_files: dict[str, bytes],
) -> None:
    source = make_file(tmp_path / "in" / "a.txt", b"incoming")
    done = tmp_path / "done"
    make_file(done / "a.txt", b"existing")
    r = runner({"Completion Strategy": "Move File", "Move Destination Directory": str(done),
                  "Move Conflict Strategy": conflict})
    r.enqueue(b"", located(source))
    r.run()
    r.assert_all_transferred(relationship, 1)
    assert source.exists() is source_left
    found = {p.name: p.read_bytes() for p in done.iterdir()}
    if "renamed" in destination_files:
        renamed = [name for name in found if name != "a.txt"]
        assert len(renamed) == 1 and re.fullmatch(r"a-[0-9a-f-]{36}\.txt", renamed[0])
        assert found[renamed[0]] == destination_files["renamed"]
        assert found["a.txt"] == destination_files["a.txt"]
    else:
        assert found == destination_files


def test_a_destination_that_is_a_file_goes_to_failure(tmp_path: Path, make_file: FileMaker) -> None:
    source = make_file(tmp_path / "a.txt")
    blocker = make_file(tmp_path / "blocker")
    r = runner({"Completion Strategy": "Move File", "Move Destination Directory": str(blocker)})
    r.enqueue(b"", located(source))
    r.run()
    r.assert_all_transferred("failure", 1)
    assert source.exists()


def test_a_failed_completion_is_only_a_warning(tmp_path: Path, make_file: FileMaker) -> None:
    source = make_file(tmp_path / "a.txt")
    r = runner({"Completion Strategy": "Delete File"})
    r.enqueue_many([(b"", located(source)), (b"", located(source))])
    r.run()  # the second deletion finds the file gone
    r.assert_all_transferred("success", 2)
    assert [level for level, _ in r.bulletins] == ["WARNING"]


def test_list_file_then_fetch_file(tmp_path: Path, make_file: FileMaker) -> None:
    make_file(tmp_path / "data" / "one.txt", b"1", age=60)
    make_file(tmp_path / "data" / "sub" / "two.txt", b"22", age=60)
    lister = ProcessorRunner(ListFile)
    lister.set_property("Input Directory", str(tmp_path / "data"))
    lister.run()
    fetcher = runner({"Completion Strategy": "Delete File"})
    fetcher.enqueue_many((b"", ff.attributes) for ff in lister.flowfiles_for("success"))
    fetcher.run()
    contents = sorted(ff.content for ff in fetcher.flowfiles_for("success"))
    assert contents == [b"1", b"22"]
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("properties", "subject"),
    [
        ({"Completion Strategy": "Move File"}, "Move Destination Directory"),
        ({"Completion Strategy": "Archive"}, "Completion Strategy"),
        ({"Completion Strategy": "Move File", "Move Destination Directory": "/x",
          "Move Conflict Strategy": "Overwrite"}, "Move Conflict Strategy"),
        ({"Log level when file not found": "LOUD"}, "File not Found Log Level"),
        ({"Permission Denied Log Level": "info"}, "Permission Denied Log Level"),
        ({"File to Fetch": " "}, "File to Fetch"),
    ],
)
def test_invalid_configurations(properties: dict[str, str], subject: str) -> None:
    r = runner(properties)
    assert subject in [result.subject for result in r.validation_results()]
    with pytest.raises(InvalidComponentError):
        r.run()


def test_move_settings_are_ignored_unless_moving() -> None:
    runner({"Move Conflict Strategy": "Overwrite"}).assert_valid()


@pytest.mark.parametrize(
    ("properties", "attributes"),
    [
        ({}, {"absolute.path": "/nonexistent\x00dir", "filename": "a.txt"}),  # the default File to Fetch
        ({"File to Fetch": "/tmp/nul\x00byte"}, {}),
        ({"File to Fetch": "${p}"}, {"p": "a\x00b"}),
    ],
)
def test_a_path_with_a_nul_byte_goes_to_failure_naming_it(
    properties: dict[str, str], attributes: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """It used to raise a bare ValueError ('embedded null byte') on every trigger: retried for ever."""
    caplog.set_level(logging.ERROR, logger="flowyard.processor")
    r = runner(properties)
    r.enqueue(b"kept", attributes)
    r.run()
    r.assert_all_transferred("failure", 1)
    failed = r.flowfiles_for("failure")[0]
    assert failed.content == b"kept" and failed.is_penalized(r.clock())
    assert any("NUL byte" in rec.getMessage() and "\\x00" in rec.getMessage() for rec in caplog.records)


@pytest.mark.parametrize("refused", [False, True])
def test_large_files_are_copied_into_content_files_by_the_kernel(
    tmp_path: Path, make_file: FileMaker, monkeypatch: pytest.MonkeyPatch, refused: bool
) -> None:
    copied: list[int] = []
    real = os.copy_file_range

    def counting(src: int, dst: int, count: int, *args: object) -> int:
        if refused:  # e.g. the file is on another file system: copied piece by piece
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        n = real(src, dst, count, *args)  # type: ignore[arg-type]
        copied.append(n)
        return n

    monkeypatch.setattr(os, "copy_file_range", counting)
    big, small = os.urandom((2 << 20) + 7), b"small"
    make_file(tmp_path / "big.bin", big)
    make_file(tmp_path / "small.txt", small)
    repos = Repositories.open(tmp_path / "repository")
    repos.recover()
    try:
        r = ProcessorRunner(FetchFile, repositories=repos)
        r.enqueue(b"old content", located(tmp_path / "big.bin"))
        r.enqueue(b"old", located(tmp_path / "small.txt"))
        r.run()
        r.assert_all_transferred("success", 2)
        by_name = {ff.attributes["filename"]: ff for ff in r.flowfiles_for("success")}
        by_name["big.bin"].assert_content_equals(big)
        assert by_name["big.bin"].size == len(big)
        by_name["small.txt"].assert_content_equals(small)
        assert sum(copied) == (0 if refused else len(big))
        assert repos.content.file_path(by_name["big.bin"].flowfile.claim.resource).read_bytes() == big
    finally:
        repos.close()
