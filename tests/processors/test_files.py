"""The file-system helpers GetFile, ListFile, FetchFile and PutFile share."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from flowyard.processors._files import FileFilter, format_timestamp, parse_timestamp, readable, walk_files

FileMaker = Callable[..., Path]


def test_walk_follows_links_but_not_in_circles(tmp_path: Path, make_file: FileMaker) -> None:
    make_file(tmp_path / "a" / "one.txt")
    make_file(tmp_path / "outside" / "two.txt")
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")  # a directory containing itself
    os.symlink(tmp_path / "outside", tmp_path / "a" / "linked")
    found = sorted(c.path for c in walk_files(str(tmp_path / "a"), recurse=True))
    assert found == [str(tmp_path / "a" / "linked" / "two.txt"), str(tmp_path / "a" / "one.txt")]


def test_walk_of_a_missing_directory_is_empty(tmp_path: Path) -> None:
    assert list(walk_files(str(tmp_path / "missing"), recurse=True)) == []


def test_walk_reports_relative_directories(tmp_path: Path, make_file: FileMaker) -> None:
    make_file(tmp_path / "top.txt")
    make_file(tmp_path / "x" / "y" / "deep.txt")
    by_name = {c.name: c for c in walk_files(str(tmp_path), recurse=True)}
    assert (by_name["top.txt"].rel_dir, by_name["top.txt"].path_attribute) == ("", "./")
    assert (by_name["deep.txt"].rel_dir, by_name["deep.txt"].path_attribute) == ("x/y", "x/y/")
    assert by_name["deep.txt"].absolute_path_attribute == f"{tmp_path}/x/y/"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-01-02T03:04:05+0000", datetime.fromisoformat("2020-01-02T03:04:05+00:00")),
        ("2020-01-02T03:04:05+0130", datetime.fromisoformat("2020-01-02T03:04:05+01:30")),
        ("2020-01-02T03:04:05Z", datetime.fromisoformat("2020-01-02T03:04:05+00:00")),
    ],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected.timestamp()


@pytest.mark.parametrize("text", ["2020-01-02", "yesterday", "2020-01-02 03:04:05"])
def test_parse_timestamp_refuses_other_forms(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_format_timestamp_round_trips() -> None:
    text = format_timestamp(1_700_000_000.9)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", text)
    assert parse_timestamp(text) == 1_700_000_000


@pytest.mark.parametrize(("excludes_root", "accepted"), [(True, ["deep.txt"]), (False, ["deep.txt", "top.txt"])])
def test_path_filter_and_the_root(
    tmp_path: Path, make_file: FileMaker, excludes_root: bool, accepted: list[str]
) -> None:
    make_file(tmp_path / "top.txt")
    make_file(tmp_path / "x" / "deep.txt")
    accepts = FileFilter(re.compile(".*"), re.compile("x|"), path_filter_excludes_root=excludes_root)
    names = sorted(c.name for c in walk_files(str(tmp_path), recurse=True) if accepts.accepts(c, time.time()))
    assert names == accepted


@pytest.mark.parametrize(
    ("raw", "shown"),
    [(b"plain.txt", "plain.txt"), ("ünï 名前".encode(), "ünï 名前"), (b"\xff\xfe-odd.txt", "\ufffd\ufffd-odd.txt"),
     (b"a\xc3", "a\ufffd")],
)
def test_readable_decodes_names_as_java_does(raw: bytes, shown: str) -> None:
    assert readable(os.fsdecode(raw)) == shown


def test_walk_keeps_the_real_path_and_shows_a_readable_name(tmp_path: Path) -> None:
    (tmp_path / "sub\udcff").mkdir()  # a directory name that is not UTF-8 either
    with open(os.path.join(os.fsencode(tmp_path), b"sub\xff", b"\xfe.txt"), "wb") as out:
        out.write(b"x")
    (candidate,) = walk_files(str(tmp_path), recurse=True)
    assert os.path.exists(candidate.path) and candidate.path.endswith("sub\udcff/\udcfe.txt")
    assert (candidate.name, candidate.rel_dir, candidate.path_attribute) == ("\ufffd.txt", "sub\ufffd", "sub\ufffd/")
    assert candidate.absolute_path_attribute == f"{tmp_path}/sub\ufffd/"
    assert candidate.shown_path == f"{tmp_path}/sub\ufffd/\ufffd.txt"
