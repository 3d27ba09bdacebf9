"""The file-system helpers GetFile, ListFile, FetchFile and PutFile share."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from flowyard.processors._files import FileFilter, format_timestamp, parse_timestamp, walk_files

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
