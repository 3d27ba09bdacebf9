from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from flowyard.processors import get_file
from flowyard.processors._files import walk_files
from flowyard.processors.get_file import GetFile
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk import InvalidComponentError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

FileMaker = Callable[..., Path]
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}")


def runner(directory: Path, properties: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(GetFile)
    r.set_property("Input Directory", str(directory))
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


def names(r: ProcessorRunner) -> list[str]:
    return sorted(ff.attributes["filename"] for ff in r.flowfiles_for("success"))


def test_takes_files_with_attributes_and_deletes_them(tmp_path: Path, make_file: FileMaker) -> None:
    make_file(tmp_path / "a.txt", b"alpha")
    make_file(tmp_path / "sub" / "deeper" / "b.txt", b"beta")
    r = runner(tmp_path)
    r.run()
    r.assert_all_transferred("success", 2)
    by_name = {ff.attributes["filename"]: ff for ff in r.flowfiles_for("success")}
    a, b = by_name["a.txt"], by_name["b.txt"]
    a.assert_content_equals(b"alpha")
    b.assert_content_equals(b"beta")
    a.assert_attribute_equals("path", "./")
    b.assert_attribute_equals("path", "sub/deeper/")
    a.assert_attribute_equals("absolute.path", f"{tmp_path}/")
    b.assert_attribute_equals("absolute.path", f"{tmp_path}/sub/deeper/")
    for name in ("file.creationTime", "file.lastModifiedTime", "file.lastAccessTime"):
        assert TIMESTAMP.fullmatch(a.attributes[name]), a.attributes[name]
    assert re.fullmatch(r"([r-][w-][x-]){3}", a.attributes["file.permissions"])
    a.assert_attribute_exists("file.owner")
    a.assert_attribute_exists("file.group")
    assert not (tmp_path / "a.txt").exists()
    assert not (tmp_path / "sub" / "deeper" / "b.txt").exists()
    events = r.provenance_events()
    assert {e.event_type for e in events} == {ProvenanceEventType.RECEIVE}
    assert sorted(e.transit_uri or "" for e in events) == sorted(
        [(tmp_path / "a.txt").as_uri(), (tmp_path / "sub" / "deeper" / "b.txt").as_uri()]
    )


def test_large_files_are_streamed_intact(tmp_path: Path, make_file: FileMaker) -> None:
    data = bytes(range(256)) * (3 * 4096 + 7)
    make_file(tmp_path / "big.bin", data)
    r = runner(tmp_path)
    r.run()
    assert r.flowfiles_for("success")[0].content == data


def test_keep_source_file_takes_the_file_again(tmp_path: Path, make_file: FileMaker) -> None:
    make_file(tmp_path / "a.txt")
    r = runner(tmp_path, {"Keep Source File": "true", "Polling Interval": "0 sec"})
    r.run(2)
    assert names(r) == ["a.txt", "a.txt"]
    assert (tmp_path / "a.txt").exists()


def test_batch_size_limits_each_run(tmp_path: Path, make_file: FileMaker) -> None:
    for i in range(5):
        make_file(tmp_path / f"f{i}")
    r = runner(tmp_path, {"Batch Size": "2"})
    r.run()
    r.assert_transferred("success", 2)
    r.run(2)
    r.assert_transferred("success", 5)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({}, ["a.txt", "b.log", "c.txt"]),
        ({"Recurse Subdirectories": "false"}, ["a.txt", "b.log"]),
        ({"File Filter": r".*\.txt"}, ["a.txt", "c.txt"]),
        ({"Path Filter": "sub"}, ["c.txt"]),  # files directly in the input directory never match
        ({"Path Filter": "other"}, []),
        ({"Path Filter": "other", "Recurse Subdirectories": "false"}, ["a.txt", "b.log"]),
        ({"Ignore Hidden Files": "false", "File Filter": ".*"}, [".hidden", "a.txt", "b.log", "c.txt"]),
        ({"Ignore Hidden Files": "true", "File Filter": ".*"}, ["a.txt", "b.log", "c.txt"]),
        ({"Minimum File Size": "3 B"}, ["b.log", "c.txt"]),
        ({"Maximum File Size": "3 B"}, ["a.txt", "b.log"]),
        ({"Minimum File Age": "1 hour"}, ["c.txt"]),
        ({"Maximum File Age": "1 hour"}, ["a.txt", "b.log"]),
    ],
)
def test_filters(tmp_path: Path, make_file: FileMaker, properties: dict[str, str], expected: list[str]) -> None:
    make_file(tmp_path / "a.txt", b"1")
    make_file(tmp_path / "b.log", b"123")
    make_file(tmp_path / ".hidden", b"1")
    make_file(tmp_path / "sub" / "c.txt", b"12345", age=2 * 3600)
    r = runner(tmp_path, properties)
    r.run()
    assert names(r) == expected


def test_nothing_to_take_yields(tmp_path: Path) -> None:
    r = runner(tmp_path)
    r.run()
    r.assert_transferred("success", 0)
    assert r.yield_count == 1


def test_polling_interval_limits_listings(tmp_path: Path, make_file: FileMaker) -> None:
    make_file(tmp_path / "a")
    r = runner(tmp_path, {"Polling Interval": "1 hour"})
    r.run(stop_on_finish=False)
    make_file(tmp_path / "b")
    r.run(stop_on_finish=False)
    assert names(r) == ["a"]
    r.run(0)  # stop
    r.run()  # a restart lists again
    assert names(r) == ["a", "b"]


def test_an_unexpected_error_keeps_the_source_files(
    tmp_path: Path, make_file: FileMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_file(tmp_path / "a")
    make_file(tmp_path / "b")

    def broken(st: object) -> dict[str, str]:
        raise RuntimeError("attributes unavailable")

    monkeypatch.setattr(get_file, "file_attributes", broken)
    r = runner(tmp_path, {"Polling Interval": "0 sec"})  # lists again at once
    with pytest.raises(RuntimeError):
        r.run(stop_on_finish=False)
    r.assert_transferred("success", 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
    assert r.provenance_events() == []

    monkeypatch.undo()
    r.run()  # the files were released and are taken on the next run
    assert names(r) == ["a", "b"]
    assert list(tmp_path.iterdir()) == []


def test_files_in_flight_are_not_taken_twice(tmp_path: Path, make_file: FileMaker) -> None:
    make_file(tmp_path / "a")
    processor = GetFile()
    processor._waiting.extend(walk_files(str(tmp_path), True))
    first = processor._take(10)
    processor._waiting.extend(walk_files(str(tmp_path), True))
    assert [c.name for c in first] == ["a"]
    assert processor._take(10) == []


def test_files_that_vanish_after_listing_are_skipped(tmp_path: Path, make_file: FileMaker) -> None:
    make_file(tmp_path / "a")
    make_file(tmp_path / "b")
    make_file(tmp_path / "c")
    r = runner(tmp_path, {"Polling Interval": "1 hour", "Batch Size": "2"})
    r.run(stop_on_finish=False)  # lists all three, takes a and b
    make_file(tmp_path / "b")  # b reappears but was already listed and taken
    (tmp_path / "c").unlink()
    r.run()  # takes c from the earlier listing: gone, skipped
    assert names(r) == ["a", "b"]
    assert r.errors == []


@pytest.mark.parametrize(
    ("properties", "subject"),
    [
        ({"File Filter": "("}, "File Filter"),
        ({"Path Filter": "[z"}, "Path Filter"),
        ({"Batch Size": "0"}, "Batch Size"),
        ({"Keep Source File": "maybe"}, "Keep Source File"),
        ({"Polling Interval": "soon"}, "Polling Interval"),
        ({"Minimum File Age": "-1 sec"}, "Minimum File Age"),
        ({"Maximum File Size": "huge"}, "Maximum File Size"),
    ],
)
def test_invalid_configurations(tmp_path: Path, properties: dict[str, str], subject: str) -> None:
    r = runner(tmp_path, properties)
    assert subject in [result.subject for result in r.validation_results()]
    with pytest.raises(InvalidComponentError):
        r.run()


def test_input_directory_must_exist(tmp_path: Path) -> None:
    r = runner(tmp_path / "missing")
    assert [res.subject for res in r.validation_results()] == ["Input Directory"]
    assert [res.subject for res in ProcessorRunner(GetFile).validation_results()] == ["Input Directory"]


def test_input_is_forbidden(tmp_path: Path) -> None:
    r = runner(tmp_path)
    r.has_input_connection = True
    assert [res.subject for res in r.validation_results()] == ["Upstream Connections"]


def _write_raw(directory: Path, name: bytes, content: bytes) -> None:
    with open(os.path.join(os.fsencode(directory), name), "wb") as out:
        out.write(content)


def test_a_name_that_is_not_utf8_is_taken_with_replacement_characters(tmp_path: Path, make_file: FileMaker) -> None:
    """NiFi (Java) decodes such a name with U+FFFD; the real file is still read, and deleted."""
    (tmp_path / "sub").mkdir()
    _write_raw(tmp_path / "sub", b"\xff\xfe-odd.txt", b"odd")
    make_file(tmp_path / "plain.txt", b"plain")
    r = runner(tmp_path)
    r.run()
    r.assert_all_transferred("success", 2)
    by_name = {ff.attributes["filename"]: ff for ff in r.flowfiles_for("success")}
    odd = by_name["\ufffd\ufffd-odd.txt"]
    odd.assert_content_equals(b"odd")
    odd.assert_attribute_equals("path", "sub/")
    by_name["plain.txt"].assert_content_equals(b"plain")
    assert os.listdir(os.fsencode(tmp_path / "sub")) == []  # the real file was deleted
    assert all(e.transit_uri and "%FF%FE" in e.transit_uri for e in r.provenance_events()
               if "odd" in (e.transit_uri or ""))


def test_default_file_filter_does_not_match_a_line_feed_in_a_name(tmp_path: Path, make_file: FileMaker) -> None:
    """'.' does not match a line feed in Java either: NiFi's default filter leaves such a file."""
    make_file(tmp_path / "new\nline.txt", b"x")
    r = runner(tmp_path, {"Keep Source File": "true"})
    r.run()
    assert names(r) == []
    r = runner(tmp_path, {"Keep Source File": "true", "File Filter": "(?s)[^.].*"})
    r.run()
    assert names(r) == ["new\nline.txt"]


def _hold_deletions(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], None]]:
    """Keep the deletions GetFile asks for, to run them when the test says."""
    held: list[Callable[[], None]] = []
    monkeypatch.setattr(GetFile, "_delete_soon", lambda self, delete: held.append(delete))
    return held


def test_a_file_replaced_after_it_was_taken_is_not_deleted(
    tmp_path: Path, make_file: FileMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_file(tmp_path / "a", b"first")
    make_file(tmp_path / "b", b"second")
    held = _hold_deletions(monkeypatch)
    r = runner(tmp_path)
    r.run()
    assert names(r) == ["a", "b"]
    (tmp_path / "new").write_bytes(b"a newer a")
    os.replace(tmp_path / "new", tmp_path / "a")  # another file under the same name
    (delete,) = held
    delete()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    assert (tmp_path / "a").read_bytes() == b"a newer a"


def test_a_committed_file_is_not_taken_again_before_it_is_deleted(
    tmp_path: Path, make_file: FileMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_file(tmp_path / "a")
    held = _hold_deletions(monkeypatch)
    r = runner(tmp_path, {"Polling Interval": "0 sec"})
    r.run(stop_on_finish=False)
    r.run(stop_on_finish=False)  # lists a again: still in flight until deleted
    assert names(r) == ["a"]
    (delete,) = held
    delete()
    assert list(tmp_path.iterdir()) == []
    r.run()
    assert names(r) == ["a"]


@pytest.fixture
def on_disk(tmp_path: Path) -> Iterator[Repositories]:
    """Repositories with content files (the in-memory ones have none)."""
    repos = Repositories.open(tmp_path / "repository")
    repos.recover()
    yield repos
    repos.close()


def kernel_copies(monkeypatch: pytest.MonkeyPatch, before: Callable[[int], None] | None = None,
                  after: Callable[[int], None] | None = None) -> list[int]:
    """Count what ``os.copy_file_range`` copies; ``before``/``after`` run
    around each call (given the call's number) to change the source meanwhile."""
    copied: list[int] = []
    real = os.copy_file_range

    def counting(src: int, dst: int, count: int, *args: object) -> int:
        if before is not None:
            before(len(copied))
        n = real(src, dst, count, *args)  # type: ignore[arg-type]
        copied.append(n)
        if after is not None:
            after(len(copied))
        return n

    monkeypatch.setattr(os, "copy_file_range", counting)
    return copied


def test_large_files_are_copied_into_content_files_by_the_kernel(
    tmp_path: Path, make_file: FileMaker, monkeypatch: pytest.MonkeyPatch, on_disk: Repositories
) -> None:
    big, small = os.urandom(3 << 20), b"small"
    make_file(tmp_path / "in" / "big.bin", big)
    make_file(tmp_path / "in" / "small.txt", small)
    copied = kernel_copies(monkeypatch)
    r = ProcessorRunner(GetFile, repositories=on_disk)
    r.set_property("Input Directory", str(tmp_path / "in"))
    r.run()
    r.assert_all_transferred("success", 2)
    by_name = {ff.attributes["filename"]: ff for ff in r.flowfiles_for("success")}
    by_name["big.bin"].assert_content_equals(big)
    by_name["small.txt"].assert_content_equals(small)
    assert sum(copied) == len(big)  # the small one went inline, read as before
    assert on_disk.content.file_path(by_name["big.bin"].flowfile.claim.resource).read_bytes() == big


def test_a_file_that_grows_while_it_is_taken_is_taken_whole(
    tmp_path: Path, make_file: FileMaker, monkeypatch: pytest.MonkeyPatch, on_disk: Repositories
) -> None:
    source = make_file(tmp_path / "in" / "growing.log", b"a" * (1 << 20))

    def grow(calls: int) -> None:
        if calls == 1:
            with open(source, "ab") as handle:
                handle.write(b"written meanwhile")

    kernel_copies(monkeypatch, after=grow)
    r = ProcessorRunner(GetFile, repositories=on_disk)
    r.set_property("Input Directory", str(tmp_path / "in"))
    r.run()
    (ff,) = r.flowfiles_for("success")
    ff.assert_content_equals(b"a" * (1 << 20) + b"written meanwhile")
    assert ff.size == (1 << 20) + len(b"written meanwhile")


def test_a_file_that_shrinks_while_it_is_taken_gives_what_it_held(
    tmp_path: Path, make_file: FileMaker, monkeypatch: pytest.MonkeyPatch, on_disk: Repositories
) -> None:
    data = os.urandom(1 << 20)
    source = make_file(tmp_path / "in" / "shrinking.bin", data)

    def shrink(calls: int) -> None:
        if calls == 0:
            os.truncate(source, 300_000)

    kernel_copies(monkeypatch, before=shrink)
    r = ProcessorRunner(GetFile, repositories=on_disk)
    r.set_property("Input Directory", str(tmp_path / "in"))
    r.run()
    (ff,) = r.flowfiles_for("success")
    assert ff.size == 300_000  # the claim covers exactly what was written
    ff.assert_content_equals(data[:300_000])
    assert on_disk.content.file_path(ff.flowfile.claim.resource).stat().st_size == 300_000
