from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from flowyard.processors.list_file import ListFile
from flowyard.runtime.sdk import InvalidComponentError, ProcessingError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

FileMaker = Callable[..., Path]
# An hour ago, with a millisecond part, so the file system looks millisecond-precise.
BASE_NS = (int(time.time()) - 3600) * 1_000_000_000 + 123_000_000


def set_mtime_ns(path: Path, ns: int) -> None:
    os.utime(path, ns=(ns, ns))


def runner(
    directory: Path, properties: Mapping[str, str] | None = None, *, processor: type[ListFile] = ListFile
) -> ProcessorRunner:
    r = ProcessorRunner(processor)
    r.set_property("Input Directory", str(directory))
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


def names(r: ProcessorRunner) -> list[str]:
    return [ff.attributes["filename"] for ff in r.flowfiles_for("success")]


@pytest.fixture
def tree(tmp_path: Path, make_file: FileMaker) -> Path:
    for i, rel in enumerate(["a.txt", "b.log", ".hidden", "sub/c.txt", "sub/deeper/d.txt"]):
        path = make_file(tmp_path / rel, b"x" * (i + 1))
        set_mtime_ns(path, BASE_NS + i * 1_000_000)
    return tmp_path


def test_lists_each_file_once_without_content(tree: Path) -> None:
    r = runner(tree)
    r.run()
    assert names(r) == ["a.txt", "b.log", "c.txt", "d.txt"]  # oldest first
    by_name = {ff.attributes["filename"]: ff for ff in r.flowfiles_for("success")}
    a, d = by_name["a.txt"], by_name["d.txt"]
    assert a.content == b"" and d.content == b""
    a.assert_attribute_equals("path", "./")
    d.assert_attribute_equals("path", "sub/deeper/")
    a.assert_attribute_equals("absolute.path", f"{tree}/")
    d.assert_attribute_equals("absolute.path", f"{tree}/sub/deeper/")
    a.assert_attribute_equals("file.size", "1")
    for name in ("file.lastModifiedTime", "file.creationTime", "file.lastAccessTime", "file.owner",
                 "file.group", "file.permissions"):
        a.assert_attribute_exists(name)
    assert {e.event_type for e in r.provenance_events()} == {ProvenanceEventType.CREATE}

    state = r.state()
    assert state["listing.timestamp"] == str(BASE_NS // 1_000_000 + 4)
    assert state["processed.timestamp"] == state["listing.timestamp"]
    assert [v for k, v in state.items() if k.startswith("id.")] == [str(tree / "sub" / "deeper" / "d.txt")]

    r.run()
    r.assert_transferred("success", 4)
    assert r.yield_count == 1


def test_new_and_modified_files_are_listed_later(tree: Path, make_file: FileMaker) -> None:
    r = runner(tree)
    r.run()
    set_mtime_ns(make_file(tree / "new.txt"), BASE_NS + 10_000_000)
    set_mtime_ns(tree / "a.txt", BASE_NS + 20_000_000)
    r.run()
    assert names(r)[4:] == ["new.txt", "a.txt"]


def test_state_survives_a_new_processor_instance(tree: Path) -> None:
    r = runner(tree)
    r.run()
    r.set_property("Minimum File Size", "0 B")  # reconfiguring creates a new instance
    r.run()
    r.assert_transferred("success", 4)


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"Recurse Subdirectories": "false"}, ["a.txt", "b.log"]),
        ({"File Filter": r".*\.txt"}, ["a.txt", "c.txt", "d.txt"]),
        ({"Path Filter": "sub"}, ["c.txt"]),
        ({"Path Filter": "sub.*"}, ["c.txt", "d.txt"]),
        ({"Path Filter": "|sub"}, ["a.txt", "b.log", "c.txt"]),  # the root's relative path is ''
        ({"Ignore Hidden Files": "false", "File Filter": ".*"}, ["a.txt", "b.log", ".hidden", "c.txt", "d.txt"]),
        ({"Minimum File Size": "3 B"}, ["c.txt", "d.txt"]),
        ({"Maximum File Size": "2 B"}, ["a.txt", "b.log"]),
        ({"Minimum File Age": "2 hours"}, []),
        ({"Maximum File Age": "2 hours"}, ["a.txt", "b.log", "c.txt", "d.txt"]),
        ({"Maximum File Age": "30 min"}, []),
    ],
)
def test_filters(tree: Path, properties: dict[str, str], expected: list[str]) -> None:
    r = runner(tree, properties)
    r.run()
    assert names(r) == expected


def test_file_attributes_can_be_left_out(tree: Path) -> None:
    r = runner(tree, {"Include File Attributes": "false"})
    r.run()
    ff = r.flowfiles_for("success")[0]
    assert sorted(ff.attributes) == sorted(
        ["uuid", "filename", "path", "absolute.path", "file.size", "file.lastModifiedTime"]
    )


class ClockedListFile(ListFile):
    """ListFile with clocks a test sets."""

    wall = 0.0
    mono = 0.0

    def _wall_clock(self) -> float:
        return ClockedListFile.wall

    def _monotonic(self) -> float:
        return ClockedListFile.mono


def test_newest_files_wait_until_the_listing_lag_has_passed(tmp_path: Path, make_file: FileMaker) -> None:
    old = make_file(tmp_path / "old.txt")
    fresh = make_file(tmp_path / "fresh.txt")
    set_mtime_ns(old, BASE_NS)
    set_mtime_ns(fresh, BASE_NS + 500_000_000)
    ClockedListFile.wall = (BASE_NS + 550_000_000) / 1e9  # 50 ms after fresh.txt: within the 100 ms lag
    ClockedListFile.mono = 1000.0
    r = runner(tmp_path, processor=ClockedListFile)
    r.run(stop_on_finish=False)
    assert names(r) == ["old.txt"]
    assert r.state()["listing.timestamp"] == str((BASE_NS + 500_000_000) // 1_000_000)

    ClockedListFile.mono += 0.01  # triggered again within the lag: wait
    r.run(stop_on_finish=False)
    assert names(r) == ["old.txt"]

    ClockedListFile.mono += 1
    r.run(stop_on_finish=False)
    assert names(r) == ["old.txt", "fresh.txt"]

    ClockedListFile.mono += 1
    r.run()
    assert names(r) == ["old.txt", "fresh.txt"]


def test_a_file_with_the_newest_timestamp_added_later_is_still_listed(tree: Path, make_file: FileMaker) -> None:
    ClockedListFile.wall, ClockedListFile.mono = time.time(), 1000.0
    r = runner(tree, processor=ClockedListFile)
    r.run(stop_on_finish=False)
    set_mtime_ns(make_file(tree / "twin.txt"), BASE_NS + 4_000_000)  # same millisecond as d.txt
    r.run(stop_on_finish=False)  # within the listing lag of the last run: waits
    assert names(r)[4:] == []
    ClockedListFile.mono += 1
    r.run()
    assert names(r)[4:] == ["twin.txt"]
    assert sorted(v for k, v in r.state().items() if k.startswith("id.")) == [
        str(tree / "sub" / "deeper" / "d.txt"), str(tree / "twin.txt"),
    ]


def test_nothing_to_list_yields(tmp_path: Path) -> None:
    r = runner(tmp_path)
    r.run()
    assert r.yield_count == 1
    assert r.state() == {}


@pytest.mark.parametrize(
    ("properties", "subject"),
    [
        ({"File Filter": "("}, "File Filter"),
        ({"Path Filter": "("}, "Path Filter"),
        ({"Recurse Subdirectories": "yes"}, "Recurse Subdirectories"),
        ({"Include File Attributes": "1"}, "Include File Attributes"),
        ({"Minimum File Age": "old"}, "Minimum File Age"),
        ({"Minimum File Size": "-1 B"}, "Minimum File Size"),
    ],
)
def test_invalid_configurations(tmp_path: Path, properties: dict[str, str], subject: str) -> None:
    r = runner(tmp_path, properties)
    assert subject in [result.subject for result in r.validation_results()]
    with pytest.raises(InvalidComponentError):
        r.run()


def test_input_directory_is_required_and_must_exist(tmp_path: Path) -> None:
    assert [res.subject for res in ProcessorRunner(ListFile).validation_results()] == ["Input Directory"]
    assert [res.subject for res in runner(tmp_path / "nope").validation_results()] == ["Input Directory"]


def test_spec_is_stateful_source() -> None:
    assert ListFile.spec.stateful
    assert ListFile.spec.input_requirement.value == "INPUT_FORBIDDEN"
    assert ListFile.spec.scheduling.period == "1 min"


def test_a_name_that_is_not_utf8_is_listed_with_replacement_characters(tmp_path: Path, make_file: FileMaker) -> None:
    """NiFi (Java) decodes such a name with U+FFFD and lists every file; FetchFile then cannot find the
    replaced name (not.found), as in NiFi. The state holds the replaced path, so it is listed once."""
    (tmp_path / "sub").mkdir()
    odd = os.path.join(os.fsencode(tmp_path / "sub"), b"\xff\xfe-odd.txt")
    with open(odd, "wb") as out:
        out.write(b"odd")
    os.utime(odd, ns=(BASE_NS + 1_000_000, BASE_NS + 1_000_000))
    set_mtime_ns(make_file(tmp_path / "plain.txt", b"plain"), BASE_NS)
    r = runner(tmp_path)
    r.run()
    assert names(r) == ["plain.txt", "\ufffd\ufffd-odd.txt"]
    r.flowfiles_for("success")[1].assert_attribute_equals("path", "sub/")
    assert r.state()["id.0"] == f"{tmp_path}/sub/\ufffd\ufffd-odd.txt"
    r.clear_transfer_state()
    r.run()
    assert names(r) == []


@pytest.mark.parametrize(
    ("key", "value"),
    [("listing.timestamp", "garbage"), ("processed.timestamp", "garbage"), ("listing.timestamp", "9" * 30),
     ("processed.timestamp", "1.5")],
)
def test_damaged_state_stops_with_the_key_and_the_remedy(tree: Path, key: str, value: str) -> None:
    """It used to be a bare ValueError ('invalid literal for int()') on every trigger. Starting over would list
    every file again, so the listing stops with a ProcessingError until the state is cleared (NiFi fails too)."""
    from flowyard.runtime.repository.state import ComponentState

    r = runner(tree)
    r.run(stop_on_finish=False)
    stored = r.repositories.state.get(r.component_id)
    r.repositories.state.set_now(r.component_id, ComponentState({**stored.values, key: value}, stored.version))
    r.clear_transfer_state()
    r.run(2)
    assert names(r) == []
    assert len(r.errors) == 2 and all(type(e) is ProcessingError for e in r.errors)
    message = str(r.errors[0])
    assert key in message and value[:20] in message and "Clear state" in message
    r.repositories.state.set_now(r.component_id, ComponentState({}, stored.version))  # the remedy
    r.run()
    assert names(r) == ["a.txt", "b.log", "c.txt", "d.txt"]


@pytest.mark.parametrize("value", ["", "-1"])
def test_empty_or_negative_timestamps_are_read(tree: Path, value: str) -> None:
    from flowyard.runtime.repository.state import ComponentState

    r = runner(tree)
    r.repositories.state.set_now(r.component_id, ComponentState(
        {"listing.timestamp": value, "processed.timestamp": value}, 1))
    r.run()
    assert names(r) == ["a.txt", "b.log", "c.txt", "d.txt"]
