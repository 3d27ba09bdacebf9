from __future__ import annotations

import fcntl
import os
import select
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowyard.processors.put_file import PutFile, directory_permissions, file_permissions, is_temp_name
from flowyard.runtime.sdk import InvalidComponentError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

Evaluator = Callable[[str, Mapping[str, str] | None], str]


def runner(
    directory: Path | str, properties: Mapping[str, str] | None = None, *, evaluator: Evaluator | None = None,
    parameters: Mapping[str, str] | None = None,
) -> ProcessorRunner:
    r = ProcessorRunner(PutFile, evaluator=evaluator, parameters=parameters)
    r.set_property("Directory", str(directory))
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_writes_content_and_reports_a_send(tmp_path: Path) -> None:
    r = runner(tmp_path)
    r.enqueue(b"hello", {"filename": "a.txt"})
    r.run()
    r.assert_all_transferred("success", 1)
    assert (tmp_path / "a.txt").read_bytes() == b"hello"
    (event,) = r.provenance_events(ProvenanceEventType.SEND)
    assert event.transit_uri == (tmp_path / "a.txt").as_uri()
    assert leftovers(tmp_path) == []


def test_large_content_is_written_intact(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 123)
    r = runner(tmp_path)
    r.enqueue(data, {"filename": "big.bin"})
    r.run()
    assert (tmp_path / "big.bin").read_bytes() == data


@pytest.mark.parametrize(
    ("strategy", "relationship", "content", "penalized"),
    [
        ("replace", "success", b"new", False),
        ("ignore", "success", b"old", False),
        ("fail", "failure", b"old", True),
    ],
)
def test_conflict_resolution(
    tmp_path: Path, strategy: str, relationship: str, content: bytes, penalized: bool
) -> None:
    (tmp_path / "a.txt").write_bytes(b"old")
    r = runner(tmp_path, {"Conflict Resolution Strategy": strategy})
    r.enqueue(b"new", {"filename": "a.txt"})
    r.run()
    r.assert_all_transferred(relationship, 1)
    assert (tmp_path / "a.txt").read_bytes() == content
    assert r.flowfiles_for(relationship)[0].is_penalized(r.clock()) is penalized
    assert leftovers(tmp_path) == []
    sends = r.provenance_events(ProvenanceEventType.SEND)
    assert len(sends) == (1 if strategy == "replace" else 0)


def test_default_conflict_strategy_is_fail(tmp_path: Path) -> None:
    assert PutFile.spec.property("conflict-resolution-strategy").default == "fail"


@pytest.mark.parametrize(("create", "relationship"), [("true", "success"), ("false", "failure")])
def test_missing_directories(tmp_path: Path, create: str, relationship: str) -> None:
    target = tmp_path / "x" / "y"
    r = runner(target, {"Create Missing Directories": create})
    r.enqueue(b"data", {"filename": "a.txt"})
    r.run()
    r.assert_all_transferred(relationship, 1)
    assert (target / "a.txt").exists() is (create == "true")


def test_directory_that_cannot_be_created_routes_to_failure(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    r = runner(tmp_path / "file" / "sub")
    r.enqueue(b"data", {"filename": "a.txt"})
    r.run()
    r.assert_all_transferred("failure", 1)
    assert r.flowfiles_for("failure")[0].is_penalized(r.clock())
    assert r.bulletins


@pytest.mark.parametrize(
    ("existing", "maximum", "filename", "relationship"),
    [
        (["a", "b"], "3", "c", "success"),
        (["a", "b", "c"], "3", "d", "failure"),
        (["a", "b", "c"], "3", "c", "success"),  # the file's own name does not count
    ],
)
def test_maximum_file_count(
    tmp_path: Path, existing: list[str], maximum: str, filename: str, relationship: str
) -> None:
    for name in existing:
        (tmp_path / name).write_bytes(b"")
    r = runner(tmp_path, {"Maximum File Count": maximum, "Conflict Resolution Strategy": "replace"})
    r.enqueue(b"data", {"filename": filename})
    r.run()
    r.assert_all_transferred(relationship, 1)


def test_last_modified_time_and_permissions(tmp_path: Path) -> None:
    r = runner(tmp_path, {"Last Modified Time": "2020-01-02T03:04:05+0000", "Permissions": "rw-r-----"})
    r.enqueue(b"data", {"filename": "a.txt"})
    r.run()
    st = (tmp_path / "a.txt").stat()
    assert st.st_mtime == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    assert stat.S_IMODE(st.st_mode) == 0o640


def test_metadata_from_attributes(tmp_path: Path, evaluator: Evaluator) -> None:
    r = runner(tmp_path / "${sub}", {
        "Last Modified Time": "${file.lastModifiedTime}", "Permissions": "${file.permissions}",
    }, evaluator=evaluator)
    r.enqueue(b"data", {"filename": "a.txt", "sub": "out", "file.lastModifiedTime": "2021-06-01T00:00:00+0200",
                        "file.permissions": "600"})
    r.run()
    st = (tmp_path / "out" / "a.txt").stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_mtime == datetime(2021, 5, 31, 22, tzinfo=UTC).timestamp()


def test_unusable_metadata_is_only_a_warning(tmp_path: Path, evaluator: Evaluator) -> None:
    r = runner(tmp_path, {
        "Last Modified Time": "${when}", "Owner": "no-such-user-here", "Group": "no-such-group-here",
    }, evaluator=evaluator)
    r.enqueue(b"data", {"filename": "a.txt", "when": "yesterday"})
    r.run()
    r.assert_all_transferred("success", 1)
    levels = [level for level, _ in r.bulletins]
    assert levels == ["WARNING", "WARNING", "WARNING"]


@pytest.mark.skipif(os.geteuid() != 0, reason="changing the owner needs root")
def test_owner_and_group(tmp_path: Path) -> None:
    r = runner(tmp_path, {"Owner": "root", "Group": "0"})
    r.enqueue(b"data", {"filename": "a.txt"})
    r.run()
    st = (tmp_path / "a.txt").stat()
    assert (st.st_uid, st.st_gid) == (0, 0)
    assert r.bulletins == []


def test_created_directories_get_search_permission(tmp_path: Path) -> None:
    r = runner(tmp_path / "made", {"Permissions": "640"})
    r.enqueue(b"data", {"filename": "a.txt"})
    r.run()
    assert stat.S_IMODE((tmp_path / "made").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "made" / "a.txt").stat().st_mode) == 0o640


@pytest.mark.parametrize("filename", ["../escape.txt", "a/b.txt", "..", ".", ""])
def test_filenames_that_leave_the_directory_are_refused(tmp_path: Path, filename: str) -> None:
    target = tmp_path / "out"
    r = runner(target)
    r.enqueue(b"data", {"filename": filename})
    r.run()
    r.assert_all_transferred("failure", 1)
    assert not (tmp_path / "escape.txt").exists()


def test_each_flowfile_of_a_batch_is_routed_on_its_own(tmp_path: Path) -> None:
    (tmp_path / "b").write_bytes(b"old")
    r = runner(tmp_path)
    r.enqueue_many([(b"1", {"filename": "a"}), (b"2", {"filename": "b"}), (b"3", {"filename": "c"})])
    r.run()
    assert [ff.attributes["filename"] for ff in r.flowfiles_for("success")] == ["a", "c"]
    assert [ff.attributes["filename"] for ff in r.flowfiles_for("failure")] == ["b"]


@pytest.mark.parametrize(
    ("strategy", "routes", "content", "sends"),
    [
        ("replace", ["success", "success"], b"2", 2),
        ("ignore", ["success", "success"], b"1", 1),
        ("fail", ["success", "failure"], b"1", 1),
    ],
)
def test_the_same_name_twice_in_a_batch_resolves_as_if_written_one_by_one(
    tmp_path: Path, strategy: str, routes: list[str], content: bytes, sends: int
) -> None:
    r = runner(tmp_path, {"Conflict Resolution Strategy": strategy})
    r.enqueue_many([(b"1", {"filename": "a", "n": "1"}), (b"2", {"filename": "a", "n": "2"})])
    r.run()
    assert [route for n in ("1", "2") for route in ("success", "failure")
            if any(ff.attributes["n"] == n for ff in r.flowfiles_for(route))] == routes
    assert (tmp_path / "a").read_bytes() == content
    assert len(r.provenance_events(ProvenanceEventType.SEND)) == sends
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("existing", "strategy", "succeeded"),
    [
        ([], "fail", ["a", "b"]),
        (["a"], "replace", ["a", "b"]),  # replacing a adds no entry
    ],
)
def test_maximum_file_count_counts_the_files_of_the_batch(
    tmp_path: Path, existing: list[str], strategy: str, succeeded: list[str]
) -> None:
    for name in existing:
        (tmp_path / name).write_bytes(b"")
    r = runner(tmp_path, {"Maximum File Count": "2", "Conflict Resolution Strategy": strategy})
    r.enqueue_many([(b"1", {"filename": "a"}), (b"2", {"filename": "b"}), (b"3", {"filename": "c"})])
    r.run()
    assert [ff.attributes["filename"] for ff in r.flowfiles_for("success")] == succeeded
    assert [ff.attributes["filename"] for ff in r.flowfiles_for("failure")] == ["c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def _record_syncs(
    monkeypatch: pytest.MonkeyPatch, fail: Callable[[str], bool] = lambda _path: False
) -> list[tuple[str, ...]]:
    """Record fsyncs (by path) and publications (link, replace) in order; ``fail(path)`` makes a sync fail."""
    events: list[tuple[str, ...]] = []
    fsync, link, replace = os.fsync, os.link, os.replace

    def recording_fsync(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        if fail(path):
            raise OSError(5, "Input/output error (test)")
        fsync(fd)
        events.append(("fsync", path))

    def recording_link(src: str | Path, dst: str | Path) -> None:
        link(src, dst)
        events.append(("publish", str(src), str(dst)))

    def recording_replace(src: str | Path, dst: str | Path) -> None:
        replace(src, dst)
        events.append(("publish", str(src), str(dst)))

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "link", recording_link)
    monkeypatch.setattr(os, "replace", recording_replace)
    return events


@pytest.mark.parametrize("strategy", ["fail", "replace"])
def test_files_are_published_after_their_sync_and_each_directory_is_synced_once_after(
    tmp_path: Path, evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    events = _record_syncs(monkeypatch)
    r = runner(tmp_path / "${sub}", {"Conflict Resolution Strategy": strategy}, evaluator=evaluator)
    r.enqueue_many([(b"%d" % i, {"filename": f"f{i}", "sub": sub})
                    for i, sub in enumerate(["x", "y", "x", "x", "y"])])
    r.run()
    r.assert_all_transferred("success", 5)
    publications = [e for e in events if e[0] == "publish"]
    assert sorted(Path(dst).name for _, _, dst in publications) == ["f0", "f1", "f2", "f3", "f4"]
    for _, temp, _dst in publications:  # each temporary file was synced before it got its name
        assert events.index(("fsync", temp)) < events.index(("publish", temp, _dst))
    directory_syncs = [e[1] for e in events if e[0] == "fsync" and Path(e[1]).is_dir()]
    assert sorted(directory_syncs) == [str(tmp_path / "x"), str(tmp_path / "y")]
    last_publication = max(events.index(e) for e in publications)
    assert all(events.index(("fsync", d)) > last_publication for d in directory_syncs)
    assert leftovers(tmp_path / "x") == leftovers(tmp_path / "y") == []


def test_a_file_whose_sync_fails_goes_to_failure_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _record_syncs(monkeypatch, fail=lambda path: Path(path).name.startswith(".b."))
    r = runner(tmp_path)
    r.enqueue_many([(b"1", {"filename": "a"}), (b"2", {"filename": "b"}), (b"3", {"filename": "c"})])
    r.run()
    assert [ff.attributes["filename"] for ff in r.flowfiles_for("success")] == ["a", "c"]
    (failed,) = r.flowfiles_for("failure")
    assert failed.attributes["filename"] == "b" and failed.is_penalized(r.clock())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "c"]  # no b, no temporary file
    assert len(r.provenance_events(ProvenanceEventType.SEND)) == 2


def test_flowfiles_go_to_failure_when_their_directory_cannot_be_synced(
    tmp_path: Path, evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record_syncs(monkeypatch, fail=lambda path: path == str(tmp_path / "x"))
    r = runner(tmp_path / "${sub}", evaluator=evaluator)
    r.enqueue_many([(b"1", {"filename": "a", "sub": "x"}), (b"2", {"filename": "b", "sub": "y"}),
                    (b"3", {"filename": "c", "sub": "x"})])
    r.run()
    assert [ff.attributes["filename"] for ff in r.flowfiles_for("success")] == ["b"]
    assert [ff.attributes["filename"] for ff in r.flowfiles_for("failure")] == ["a", "c"]
    assert all(ff.is_penalized(r.clock()) for ff in r.flowfiles_for("failure"))
    assert [e.transit_uri for e in r.provenance_events(ProvenanceEventType.SEND)] == [(tmp_path / "y" / "b").as_uri()]


@pytest.mark.parametrize(
    ("text", "file_mode", "dir_mode"),
    [
        ("644", 0o644, 0o755),
        ("600", 0o600, 0o700),
        ("rw-r--r--", 0o644, 0o755),
        ("rwxr-x---", 0o750, 0o750),
        ("-w-------", 0o200, 0o300),
        ("000", 0o000, 0o000),
    ],
)
def test_permission_texts(text: str, file_mode: int, dir_mode: int) -> None:
    assert file_permissions(text) == file_mode
    assert directory_permissions(text) == dir_mode


@pytest.mark.parametrize(
    ("properties", "subject"),
    [
        ({"Directory": ""}, "Directory"),
        ({"Conflict Resolution Strategy": "overwrite"}, "Conflict Resolution Strategy"),
        ({"Create Missing Directories": "yes"}, "Create Missing Directories"),
        ({"Maximum File Count": "ten"}, "Maximum File Count"),
        ({"Permissions": "999"}, "Permissions"),
        ({"Permissions": "rwxrwxrw"}, "Permissions"),
        ({"Owner": " "}, "Owner"),
    ],
)
def test_invalid_configurations(tmp_path: Path, properties: dict[str, str], subject: str) -> None:
    r = runner(tmp_path, properties)
    assert subject in [result.subject for result in r.validation_results()]
    with pytest.raises(InvalidComponentError):
        r.run()


def test_directory_is_required() -> None:
    r = ProcessorRunner(PutFile)
    assert [res.subject for res in r.validation_results()] == ["Directory"]


# --- temporary files left by an interrupted PutFile ---------------------------------------------

TOKEN = "0123456789abcdef"
OWN_TEMP_NAMES = [
    f".a.txt.{TOKEN}.flowyard-putfile.tmp",
    f".{'x' * 200}.{TOKEN}.flowyard-putfile.tmp",
    f"..{TOKEN}.flowyard-putfile.tmp",  # the file name was cut to nothing
    f".with\nnewline.and.dots.{TOKEN}.flowyard-putfile.tmp",
]
FOREIGN_NAMES = [
    ".a.txt",  # a user's hidden file
    ".bashrc",
    f".a.txt.{TOKEN[:8]}.tmp",  # the naming of earlier versions, and of many other programs
    f".a.txt.{TOKEN.upper()}.flowyard-putfile.tmp",
    f".a.txt.{TOKEN[:15]}.flowyard-putfile.tmp",
    f".a.txt.{TOKEN}.flowyard-putfile.tmp.bak",
    f"a.txt.{TOKEN}.flowyard-putfile.tmp",  # not hidden
    "a.txt",
]


def start(r: ProcessorRunner) -> None:
    """Start and stop the processor without input (``on_scheduled`` runs)."""
    r.run()
    r.assert_all_transferred("success", 0)


@pytest.mark.parametrize("name", OWN_TEMP_NAMES)
def test_temp_name_pattern_recognises_its_own(name: str) -> None:
    assert is_temp_name(name)


@pytest.mark.parametrize("name", FOREIGN_NAMES)
def test_temp_name_pattern_refuses_others(name: str) -> None:
    assert not is_temp_name(name)


def test_start_removes_only_its_own_leftover_temp_files(tmp_path: Path) -> None:
    for name in OWN_TEMP_NAMES + FOREIGN_NAMES:
        (tmp_path / name).write_bytes(b"partial")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "precious").write_bytes(b"keep")
    link = f".link.{TOKEN}.flowyard-putfile.tmp"
    (tmp_path / link).symlink_to(outside / "precious")
    folder = f".folder.{TOKEN}.flowyard-putfile.tmp"
    (tmp_path / folder).mkdir()
    r = runner(tmp_path)
    start(r)
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert remaining == sorted([*FOREIGN_NAMES, "elsewhere", link, folder])
    assert (outside / "precious").read_bytes() == b"keep"
    assert [level for level, _ in r.bulletins] == []  # removal is logged at INFO, below the bulletin level


def test_a_temp_file_a_live_writer_holds_is_kept(tmp_path: Path) -> None:
    held = tmp_path / f".a.txt.{TOKEN}.flowyard-putfile.tmp"
    with open(held, "xb") as out:
        fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # as PutFile holds it while writing
        start(runner(tmp_path))
        assert held.exists()
    start(runner(tmp_path))
    assert not held.exists()


def test_write_only_leftover_is_removed(tmp_path: Path) -> None:
    # Killed after the Permissions were applied, before the rename.
    leftover = tmp_path / f".a.txt.{TOKEN}.flowyard-putfile.tmp"
    leftover.write_bytes(b"partial")
    leftover.chmod(0o200)
    start(runner(tmp_path))
    assert not leftover.exists()


def test_directory_from_parameters_is_cleaned(tmp_path: Path) -> None:
    leftover = tmp_path / f".a.txt.{TOKEN}.flowyard-putfile.tmp"
    leftover.write_bytes(b"partial")
    r = runner("#{out}", parameters={"out": str(tmp_path)})
    start(r)
    assert not leftover.exists()


def test_directory_with_an_attribute_expression_is_not_cleaned(tmp_path: Path) -> None:
    # Without a FlowFile, tmp_path/${sub} would evaluate to tmp_path itself: the wrong directory.
    leftover = tmp_path / f".a.txt.{TOKEN}.flowyard-putfile.tmp"
    leftover.write_bytes(b"partial")
    start(runner(tmp_path / "${sub}"))
    assert leftover.exists()


def test_missing_directory_is_not_created_at_start(tmp_path: Path) -> None:
    start(runner(tmp_path / "not-yet"))
    assert not (tmp_path / "not-yet").exists()


def test_unreadable_directory_is_a_warning_not_a_refusal(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    r = runner(tmp_path / "file")  # listing a file fails with NotADirectoryError
    start(r)
    assert [level for level, _ in r.bulletins] == ["WARNING"]


def test_long_multibyte_filename_fits_the_temp_name(tmp_path: Path) -> None:
    name = "数" * 80 + ".txt"  # 244 bytes: a valid file name, whose temporary name must be cut by bytes
    r = runner(tmp_path)
    r.enqueue(b"data", {"filename": name})
    r.run()
    r.assert_all_transferred("success", 1)
    assert (tmp_path / name).read_bytes() == b"data"
    assert leftovers(tmp_path) == []


# A PutFile in a child process that stops for good once its temporary file is written and
# synced, before the rename: the moment a kill -9 leaves a temporary file behind.
_STALLED_WRITER = """
import os, sys, time
from flowyard.processors.put_file import PutFile
from flowyard.runtime.sdk.testing import ProcessorRunner

synced = os.fsync
def stall(fd):
    synced(fd)
    print("synced", flush=True)
    time.sleep(600)
os.fsync = stall
runner = ProcessorRunner(PutFile)
runner.set_property("Directory", sys.argv[1])
runner.enqueue(b"x" * 100_000, {"filename": "big.bin"})
runner.run()
"""


@pytest.mark.integration
def test_temp_file_of_a_writer_killed_mid_write_is_removed_at_next_start(tmp_path: Path) -> None:
    (tmp_path / ".a.txt").write_bytes(b"a user's hidden file")
    writer = subprocess.Popen([sys.executable, "-c", _STALLED_WRITER, str(tmp_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready, _, _ = select.select([writer.stdout], [], [], 60)
        assert ready and writer.stdout is not None and writer.stdout.readline() == b"synced\n", (
            writer.stderr.read() if writer.poll() is not None and writer.stderr else "no answer in 60 s")
        (temp,) = [p for p in tmp_path.iterdir() if p.name != ".a.txt"]
        assert is_temp_name(temp.name) and temp.name.startswith(".big.bin.")
        assert temp.stat().st_size == 100_000

        start(runner(tmp_path))  # another PutFile starting while the writer lives leaves its file alone
        assert temp.exists()
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert temp.exists()

    r = runner(tmp_path)
    r.enqueue(b"again", {"filename": "big.bin"})
    r.run()
    r.assert_all_transferred("success", 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.txt", "big.bin"]
    assert (tmp_path / "big.bin").read_bytes() == b"again"


@pytest.mark.parametrize(
    ("properties", "attributes"),
    [
        ({"Owner": "9" * 30}, {}),
        ({"Group": "9" * 30}, {}),
        ({"Owner": "${big}", "Group": "${big}"}, {"big": "9" * 30}),
        ({"Owner": "${nul}", "Group": "${nul}"}, {"nul": "a\x00b"}),
        ({"Owner": "-1"}, {}),
    ],
)
def test_an_owner_or_group_that_cannot_be_is_only_a_warning(
    tmp_path: Path, evaluator: Evaluator, properties: dict[str, str], attributes: dict[str, str]
) -> None:
    """An id beyond uid_t/gid_t used to raise OverflowError out of on_trigger (retried for ever); NiFi logs
    that the owner/group cannot be set and routes to success. Also in a directory it creates."""
    r = runner(tmp_path / "made", properties, evaluator=evaluator)
    r.enqueue(b"data", {"filename": "a.txt", **attributes})
    r.run()
    r.assert_all_transferred("success", 1)
    assert (tmp_path / "made" / "a.txt").read_bytes() == b"data"
    assert leftovers(tmp_path / "made") == []
    assert r.bulletins and all(level == "WARNING" for level, _ in r.bulletins)
    assert all("cannot set the" in message for _, message in r.bulletins)
