from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from flowyard.processors._system_tail import last_line_end, line_start_cut, scan_whole_lines, states_from_map
from flowyard.processors.tail_file import TailFile, _regular_files
from flowyard.runtime.repository.state import ComponentState
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner


def runner(path: Path, properties: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(TailFile)
    r.set_property("Files to Tail", str(path))
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as out:
        out.write(data)


def contents(r: ProcessorRunner) -> list[bytes]:
    return [ff.content for ff in r.flowfiles_for("success")]


def restart(r: ProcessorRunner, path: Path) -> None:
    """Stop, and configure again: a new processor instance that only has the stored state."""
    r.stop()
    old = r.processor
    r.set_property("Files to Tail", str(path))
    assert r.processor is not old


@pytest.mark.parametrize(
    ("data", "end"),
    [(b"", 0), (b"abc", 0), (b"a\n", 2), (b"a\nb", 2), (b"a\r\nb", 3), (b"a\rb", 2), (b"a\r", 0), (b"a\n\r", 2),
     (b"a\r\r", 2), (b"\n\n\n", 3)],
)
def test_last_line_end(data: bytes, end: int) -> None:
    assert last_line_end(data) == end


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 4096])
@pytest.mark.parametrize(
    ("data", "stop", "end", "nul"),
    [(b"ab\ncd\r\nef\rgh", False, 10, False), (b"ab\ncd\r", False, 3, False), (b"ab\nc\0d\n", True, 3, True),
     (b"ab\nc\0d\n", False, 7, False), (b"\0ab\n", True, 0, True), (b"ab\r\0", True, 0, True)],
)
def test_scan_whole_lines_is_chunk_independent(data: bytes, stop: bool, end: int, nul: bool, chunk: int) -> None:
    assert scan_whole_lines(io.BytesIO(data), 0, len(data), chunk, stop) == (end, nul)


@pytest.mark.parametrize(
    ("data", "maximum", "cut"),
    [(b"2024 a\n cont\n2024 b\n", 1000, 13), (b"2024 a\n", 1000, 0), (b"junk\n2024 a\n", 1000, 5),
     (b"x\ny\n", 1000, 0), (b"x\ny\n", 3, 4)],
)
def test_line_start_cut(data: bytes, maximum: int, cut: int) -> None:
    assert line_start_cut(data, re.compile(r"\d{4} "), maximum) == cut


def test_only_whole_lines_are_sent_and_the_rest_waits(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"one\ntwo\npart")
    r = runner(log)
    r.run()
    (ff,) = r.flowfiles_for("success")
    assert ff.content == b"one\ntwo\n"
    assert ff.attributes["filename"] == "app.0-8.log"
    assert ff.attributes["mime.type"] == "text/plain"
    assert ff.attributes["tailfile.original.path"] == str(log)
    (event,) = r.provenance_events(ProvenanceEventType.RECEIVE)
    assert event.transit_uri == log.as_uri()
    assert r.state()["file.0.position"] == "8"
    assert r.state()["file.0.filename"] == str(log)
    r.run()
    assert r.yield_count == 1  # nothing new: yields
    append(log, b"ial\nthree")
    r.run()
    assert contents(r) == [b"one\ntwo\n", b"partial\n"]
    assert r.flowfiles_for("success")[1].attributes["filename"] == "app.8-16.log"


def test_line_endings_crlf_and_lone_cr(tmp_path: Path) -> None:
    log = tmp_path / "crlf"
    log.write_bytes(b"a\r\nb\rc\r")
    r = runner(log)
    r.run(stop_on_finish=False)
    append(log, b"\nd\n")
    r.run()
    assert contents(r) == [b"a\r\nb\r", b"c\r\nd\n"]
    assert r.flowfiles_for("success")[0].attributes["filename"] == "crlf.0-5"


def test_missing_and_empty_file_send_nothing_and_yield(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    r = runner(log)
    r.run(stop_on_finish=False)
    log.write_bytes(b"")
    r.run(stop_on_finish=False)
    assert contents(r) == [] and r.yield_count == 2
    append(log, b"x\n")
    r.run()
    assert contents(r) == [b"x\n"]


def test_restart_in_the_middle_neither_loses_nor_repeats(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"1\n2\n3")
    r = runner(log)
    r.run()
    restart(r, log)
    append(log, b"\n4\n")
    r.run()
    restart(r, log)
    r.run()
    assert contents(r) == [b"1\n2\n", b"3\n4\n"]


def test_a_different_file_found_at_restart_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"old line\n")
    r = runner(log)
    r.run()
    log.unlink()
    log.write_bytes(b"brand new and longer\n")  # bigger than the old position, other bytes
    restart(r, log)
    r.run()
    assert contents(r) == [b"old line\n", b"brand new and longer\n"]


@pytest.mark.parametrize("restart_between", [False, True])
def test_rollover_with_pattern_between_triggers(tmp_path: Path, restart_between: bool) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"1\n2\n")
    r = runner(log, {"Rolling Filename Pattern": "${filename}.*"})
    r.run()
    append(log, b"3\nno newline")
    os.rename(log, tmp_path / "app.1")
    (tmp_path / "app.log").write_bytes(b"4\n5")
    if restart_between:
        restart(r, log)
    r.run()
    assert contents(r) == [b"1\n2\n", b"3\nno newline", b"4\n"]
    names = [ff.attributes["filename"] for ff in r.flowfiles_for("success")]
    assert names[1] == "app.1"
    assert all(ff.attributes["tailfile.original.path"] == str(log) for ff in r.flowfiles_for("success"))
    r.run()
    append(log, b"\n")
    r.run()
    assert contents(r)[3:] == [b"5\n"]


def test_several_rollovers_while_stopped_are_read_oldest_first(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a\n")
    r = runner(log, {"Rolling Filename Pattern": "app.log.*"})
    r.run()
    append(log, b"b\n")
    os.rename(log, tmp_path / "app.log.1")
    time.sleep(0.01)  # distinct modification times order the rolled files
    (tmp_path / "app.log.2").write_bytes(b"c\n")
    log.write_bytes(b"d\n")
    restart(r, log)
    r.run()
    assert contents(r) == [b"a\n", b"b\n", b"c\n", b"d\n"]


def test_rollover_without_pattern_restarts_when_the_file_shrinks(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"first line\n")
    r = runner(log)
    r.run(stop_on_finish=False)
    with open(log, "wb") as out:  # truncated in place (copytruncate)
        out.write(b"x\n")
    r.run()
    assert contents(r) == [b"first line\n", b"x\n"]


def test_renamed_and_replaced_by_a_bigger_file_with_the_same_start(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"header\n")
    r = runner(log)
    r.run(stop_on_finish=False)
    os.rename(log, tmp_path / "app.old")
    log.write_bytes(b"header\nnew body\n")  # same first bytes: only the inode tells
    r.run()
    assert contents(r) == [b"header\n", b"header\nnew body\n"]


def test_initial_start_position_current_time(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"already there\n")
    r = runner(log, {"Initial Start Position": "Current Time"})
    r.run(stop_on_finish=False)
    assert contents(r) == []
    append(log, b"new\n")
    r.run()
    assert contents(r) == [b"new\n"]


@pytest.mark.parametrize(("position", "expected"), [
    ("Beginning of Time", [b"rolled\n", b"current\n"]),
    ("Beginning of File", [b"current\n"]),
])
def test_initial_start_position_and_rolled_files(tmp_path: Path, position: str, expected: list[bytes]) -> None:
    rolled = tmp_path / "app.log.1"
    rolled.write_bytes(b"rolled\n")
    old = time.time() - 60
    os.utime(rolled, (old, old))
    log = tmp_path / "app.log"
    log.write_bytes(b"current\n")
    r = runner(log, {"Rolling Filename Pattern": "app.log.*", "Initial Start Position": position})
    r.run(2)
    assert contents(r) == expected


@pytest.mark.parametrize(("reread", "expected"), [("true", [b"a\n"]), ("false", [b"a\nb\0c\n"])])
def test_reread_on_nul(tmp_path: Path, reread: str, expected: list[bytes]) -> None:
    log = tmp_path / "nfs.log"
    log.write_bytes(b"a\nb\0c\n")
    r = runner(log, {"Reread on NUL Encountered": reread})
    r.run(stop_on_finish=False)
    assert contents(r) == expected
    if reread == "true":
        assert r.yield_count == 1
        with open(log, "r+b") as out:  # the real byte arrives
            out.seek(3)
            out.write(b"X")
        r.run()
        assert contents(r) == [b"a\n", b"bXc\n"]


def test_line_start_pattern_keeps_multi_line_messages_together(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"2024 one\n  at x\n  at y\n2024 two\n")
    r = runner(log, {"Line Start Pattern": r"\d{4} "})
    r.run()
    assert contents(r) == [b"2024 one\n  at x\n  at y\n"]
    restart(r, log)
    append(log, b"  at z\n2024 three\n")
    r.run()
    assert contents(r) == [b"2024 one\n  at x\n  at y\n", b"2024 two\n  at z\n"]


def test_line_start_pattern_flushes_at_max_buffer_size(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"no match here\n" * 10)
    r = runner(log, {"Line Start Pattern": "^START", "Max Buffer Size": "100 B"})
    r.run()
    assert contents(r) == [b"no match here\n" * 10]


def test_multiple_files_mode(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(b"a1\n")
    (tmp_path / "b.log").write_bytes(b"b1\n")
    (tmp_path / "c.txt").write_bytes(b"c1\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "d.log").write_bytes(b"d1\n")
    r = ProcessorRunner(TailFile)
    for name, value in {"Tailing Mode": "Multiple files", "Base Directory": str(tmp_path),
                        "Files to Tail": r".*\.log", "Recursive Lookup": "true", "Lookup Frequency": "0 sec"}.items():
        r.set_property(name, value)
    r.run(stop_on_finish=False)
    assert sorted(contents(r)) == [b"a1\n", b"b1\n", b"d1\n"]
    append(tmp_path / "b.log", b"b2\n")
    (tmp_path / "e.log").write_bytes(b"e1\n")
    r.run()
    assert sorted(contents(r)[3:]) == [b"b2\n", b"e1\n"]
    stored = states_from_map(r.state())
    assert sorted(stored) == sorted(str(p) for p in [tmp_path / "a.log", tmp_path / "b.log", sub / "d.log",
                                                      tmp_path / "e.log"])
    assert len({s.index for s in stored.values()}) == 4


def test_multiple_files_not_recursive_and_maximum_age(tmp_path: Path) -> None:
    (tmp_path / "new.log").write_bytes(b"n\n")
    old = tmp_path / "old.log"
    old.write_bytes(b"o\n")
    then = time.time() - 3600
    os.utime(old, (then, then))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.log").write_bytes(b"x\n")
    r = ProcessorRunner(TailFile)
    for name, value in {"Tailing Mode": "Multiple files", "Base Directory": str(tmp_path),
                        "Files to Tail": r".*\.log", "Maximum Age": "10 min"}.items():
        r.set_property(name, value)
    r.run()
    assert contents(r) == [b"n\n"]


def test_state_written_by_old_nifi_is_migrated(tmp_path: Path) -> None:
    values = {"filename": "/x.log", "position": "10", "timestamp": "5", "checksum": "123"}
    (state,) = states_from_map(values).values()
    assert (state.index, state.position, state.length, state.checksum) == (0, 10, 10, 123)


@pytest.mark.parametrize(
    ("properties", "valid"),
    [
        ({"Tailing Mode": "Multiple files"}, False),
        ({"Tailing Mode": "Multiple files", "Base Directory": "/no/such/dir"}, False),
        ({"Tailing Mode": "Multiple files", "Base Directory": "{tmp}", "Files to Tail": "(unclosed"}, False),
        ({"Tailing Mode": "Multiple files", "Base Directory": "{tmp}", "Files to Tail": ".*"}, True),
        ({"Line Start Pattern": "(bad"}, False),
        ({"Max Buffer Size": "lots"}, True),  # only relevant with a Line Start Pattern
        ({"Line Start Pattern": "x", "Max Buffer Size": "lots"}, False),
        ({"tail-mode": "Single file", "File Location": "Remote", "reread-on-nul": "true"}, True),
    ],
)
def test_validation(tmp_path: Path, properties: Mapping[str, str], valid: bool) -> None:
    r = runner(tmp_path / "f.log", {k: v.replace("{tmp}", str(tmp_path)) for k, v in properties.items()})
    if valid:
        r.assert_valid()
    else:
        r.assert_not_valid()


def test_large_file_is_streamed_intact(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    data = b"".join(b"line %d\n" % i for i in range(300_000))
    log.write_bytes(data + b"tail")
    r = runner(log)
    r.run()
    assert contents(r) == [data]
    assert r.state()["file.0.position"] == str(len(data))


def test_post_rollover_tail_period_follows_the_rolled_file_first(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"1\n")
    r = runner(log, {"Rolling Filename Pattern": "app.log.*", "Post-Rollover Tail Period": "1 min"})
    r.clock.now_ms = int(time.time() * 1000)  # the period is measured on the framework's clock
    r.run(stop_on_finish=False)
    append(log, b"2\npart")
    rolled = tmp_path / "app.log.1"
    os.rename(log, rolled)
    log.write_bytes(b"new\n")
    r.run(stop_on_finish=False)
    assert contents(r) == [b"1\n", b"2\n"]  # whole lines of the rolled file; the new file waits
    append(rolled, b"ial")  # the writer flushes after the rename
    r.run(stop_on_finish=False)
    assert contents(r) == [b"1\n", b"2\n"]
    r.clock.advance(120)  # the rolled file is no longer written to
    r.run()
    assert contents(r) == [b"1\n", b"2\n", b"partial", b"new\n"]
    assert [ff.attributes["filename"] for ff in r.flowfiles_for("success")][1:3] == ["app.log.1", "app.log.1"]


def test_a_file_that_cannot_be_read_keeps_its_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import flowyard.processors.tail_file as module

    log = tmp_path / "app.log"
    log.write_bytes(b"1\n")
    r = runner(log)
    r.run()
    before = r.state()
    restart(r, log)  # the stored checksum is verified after a restart
    append(log, b"2\n")

    def denied(path: Path, size: int) -> int | None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(module, "crc_of_prefix", denied)
    r.run(stop_on_finish=False)
    assert contents(r) == [b"1\n"]
    assert r.state() == before
    assert any("Permission denied" in m for _, m in r.bulletins)
    monkeypatch.undo()
    r.run()
    assert contents(r) == [b"1\n", b"2\n"]


# -- cases from NiFi's TestTailFile --------------------------------------------------------------


def _touch(path: Path, seconds: float) -> None:
    os.utime(path, (seconds, seconds))


def test_nifi_remainder_of_file_recovered_after_restart(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"")
    r = runner(log, {"Rolling Filename Pattern": "log*.txt"})
    r.run()
    assert contents(r) == []
    append(log, b"hello\n")
    r.run()
    append(log, b"world")
    os.rename(log, tmp_path / "log1.txt")
    log.write_bytes(b"new file\n")
    restart(r, log)
    r.run()
    assert contents(r) == [b"hello\n", b"world", b"new file\n"]


def test_nifi_multiple_rollovers_after_having_read_all_data(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"hello\n")
    r = runner(log, {"Rolling Filename Pattern": "log.*"})
    r.run(stop_on_finish=False)
    append(log, b"world")
    r.run(stop_on_finish=False)  # 'world' has no line end yet
    assert contents(r) == [b"hello\n"]
    now = time.time()
    os.rename(log, tmp_path / "log.2")
    _touch(tmp_path / "log.2", now + 1)
    log.write_bytes(b"abc\n")
    os.rename(log, tmp_path / "log.1")
    _touch(tmp_path / "log.1", now + 2)
    log.write_bytes(b"1\n")
    r.run()
    assert contents(r) == [b"hello\n", b"world", b"abc\n", b"1\n"]


def test_nifi_rollover_write_more_data_than_previous(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"hello\n")
    r = runner(log, {"Rolling Filename Pattern": "log.*"})
    r.run(stop_on_finish=False)
    append(log, b"world")
    r.run(stop_on_finish=False)
    os.rename(log, tmp_path / "log.1")
    log.write_bytes(b"longer than hello\n")
    r.run()
    assert contents(r) == [b"hello\n", b"world", b"longer than hello\n"]


def test_nifi_start_at_beginning_of_time(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"hello")
    os.rename(log, tmp_path / "log.txt.previous")
    log.write_bytes(b"world\n")
    r = runner(log, {"Rolling Filename Pattern": "log.txt*", "Initial Start Position": "Beginning of Time"})
    r.run()
    assert sorted(contents(r)) == [b"hello", b"world\n"]


def test_nifi_consume_after_truncation_start_at_beginning_of_file(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"")
    r = runner(log, {"Rolling Filename Pattern": "log.txt*", "Initial Start Position": "Beginning of File"})
    r.run(stop_on_finish=False)
    append(log, b"hello\n")
    r.run(stop_on_finish=False)
    os.rename(log, tmp_path / "log.txt.previous")
    log.write_bytes(b"")
    r.run(stop_on_finish=False)
    assert contents(r) == [b"hello\n"]
    append(log, b"HELLO\n")
    r.run()
    assert contents(r) == [b"hello\n", b"HELLO\n"]


def test_multiple_files_with_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    odd = os.path.join(os.fsencode(tmp_path), b"\xff\xfe-not-utf8.log")
    with open(odd, "wb") as out:
        out.write(b"a\n")
    (tmp_path / "plain.log").write_bytes(b"b\n")
    r = ProcessorRunner(TailFile)
    for name, value in {"Tailing Mode": "Multiple files", "Base Directory": str(tmp_path),
                        "Files to Tail": r".*\.log", "Lookup Frequency": "0 sec"}.items():
        r.set_property(name, value)
    r.run(3, stop_on_finish=False)
    with open(odd, "ab") as out:
        out.write(b"c\n")
    r.run()
    assert not r.errors
    assert sorted(contents(r)) == [b"a\n", b"b\n", b"c\n"]  # each line once, across triggers
    names = {ff.attributes["filename"] for ff in r.flowfiles_for("success")}
    assert "\ufffd\ufffd-not-utf8.0-2.log" in names  # decoded with U+FFFD, as Java decodes file names
    assert str(tmp_path / "\ufffd\ufffd-not-utf8.log") in states_from_map(r.state())


@pytest.mark.parametrize(
    ("reread", "content1", "reposition", "content2", "expected"),
    [
        pytest.param(None, b"first_line_with_nul\0\n", None, b"second_line\n",
                     [b"first_line_with_nul\0\n", b"second_line\n"], id="nul-default"),
        pytest.param("false", b"first_line_with_nul\0\n", None, b"second_line\n",
                     [b"first_line_with_nul\0\n", b"second_line\n"], id="nul-false-leave"),
        pytest.param("false", b"first_line_with_nul\0\n", len("first_line_with_nul"),
                     b"!!overwrite_nul_and_continue_first_line_but_end_up_in_second_line_anyway\n",
                     [b"first_line_with_nul\0\n",
                      b"overwrite_nul_and_continue_first_line_but_end_up_in_second_line_anyway\n"],
                     id="nul-false-overwrite"),
        pytest.param("true", b"first_line_with_nul\0\n", len("first_line_with_nul"),
                     b" overwrite_nul_and_continue_first_line\n",
                     [b"first_line_with_nul overwrite_nul_and_continue_first_line\n"], id="nul-true"),
    ],
)
def test_nifi_nul_content(tmp_path: Path, reread: str | None, content1: bytes, reposition: int | None,
                          content2: bytes, expected: list[bytes]) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"")
    r = runner(log, {"Initial Start Position": "Beginning of File"})
    if reread is not None:
        r.set_property("Reread on NUL Encountered", reread)
    with open(log, "r+b") as raf:
        raf.write(content1)
        raf.flush()
        r.run(stop_on_finish=False)
        if reposition is not None:
            raf.seek(reposition)
        raf.write(content2)
    r.run(initialize=False)
    assert contents(r) == expected


def test_nifi_nul_content_when_rolled_over(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"a\nb")
    r = runner(log, {"Rolling Filename Pattern": "log.txt*", "Initial Start Position": "Beginning of File",
                     "Reread on NUL Encountered": "true"})
    r.run(stop_on_finish=False)
    append(log, b"\0\0")
    original = log.stat().st_mtime
    rolled = tmp_path / "log.txt.0.log"
    os.rename(log, rolled)
    log.write_bytes(b"")
    r.run(stop_on_finish=False, initialize=False)
    assert contents(r) == [b"a\n"]  # the zeros are not picked up
    with open(rolled, "r+b") as out:
        out.seek(3)
        out.write(b"c\n")
    _touch(rolled, original)  # NFS replaces NULs without touching the modification time
    r.run(stop_on_finish=False, initialize=False)
    append(log, b"d\n")
    r.run(initialize=False)
    assert contents(r) == [b"a\n", b"bc\n", b"d\n"]


def test_nifi_rotate_multiple_before_consuming(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"1\n")
    r = runner(log, {"Rolling Filename Pattern": "log.txt*", "Initial Start Position": "Beginning of File"})
    r.run()
    assert contents(r) == [b"1\n"]
    now = time.time()
    for index, data in enumerate([b"1.5\n", b"2\n", b"3\n", b"4\n"]):
        append(log, data)
        os.rename(log, tmp_path / f"log.txt.{index}.log")
        _touch(tmp_path / f"log.txt.{index}.log", now + index)
        log.write_bytes(b"")
    r.run()
    assert sorted(contents(r)) == sorted([b"1\n", b"1.5\n", b"2\n", b"3\n", b"4\n"])


def test_nifi_start_position_current_time_ignores_rolled_and_existing(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"1\n")
    os.rename(log, tmp_path / "log.txt.0.log")
    log.write_bytes(b"2\n")
    os.rename(log, tmp_path / "log.txt.1.log")
    log.write_bytes(b"3\n4\n5\n")
    r = runner(log, {"Initial Start Position": "Current Time"})
    r.run()
    assert contents(r) == []
    append(log, b"6\n")
    r.run()
    assert contents(r) == [b"6\n"]


@pytest.mark.parametrize(("position", "expected"), [("Beginning of File", [b"hello world\n"]), ("Current Time", [])])
def test_nifi_start_at_beginning_of_file_or_current_time(tmp_path: Path, position: str,
                                                         expected: list[bytes]) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"hello world\n")
    r = runner(log, {"Initial Start Position": position})
    r.run(100)
    assert contents(r) == expected


def test_nifi_consume_after_truncation_start_at_current_time(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"")
    r = runner(log, {"Initial Start Position": "Current Time", "Rolling Filename Pattern": "log.txt*"})
    r.run()
    append(log, b"hello\n")
    r.run()
    assert contents(r) == [b"hello\n"]
    os.rename(log, tmp_path / "log.txt.1")
    log.write_bytes(b"")
    r.run()
    assert contents(r) == [b"hello\n"]
    append(log, b"HELLO\n")
    _touch(log, time.time() + 2)
    r.run()
    assert contents(r) == [b"hello\n", b"HELLO\n"]


@pytest.mark.parametrize("pattern", ["log*.txt", "log.*"])
def test_nifi_remainder_recovered_if_rolled_over_while_running(tmp_path: Path, pattern: str) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"")
    r = runner(log, {"Rolling Filename Pattern": pattern})
    r.run(stop_on_finish=False)
    append(log, b"hello\n")
    r.run(stop_on_finish=False, initialize=False)
    append(log, b"world")
    r.run(stop_on_finish=False, initialize=False)  # no line end yet: nothing
    assert contents(r) == [b"hello\n"]
    os.rename(log, tmp_path / ("log1.txt" if pattern == "log*.txt" else "log.1"))
    log.write_bytes(b"1\n")
    r.run(initialize=False)
    assert contents(r) == [b"hello\n", b"world", b"1\n"]


def test_nifi_multiple_rollovers_with_longer_file_length(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"")
    r = runner(log, {"Rolling Filename Pattern": "log.*"})
    r.run(stop_on_finish=False)
    append(log, b"hello\n")
    r.run(stop_on_finish=False, initialize=False)
    append(log, b"world")
    now = time.time()
    os.rename(log, tmp_path / "log.2")
    _touch(tmp_path / "log.2", now + 2)
    log.write_bytes(b"abc\n")
    os.rename(log, tmp_path / "log.1")
    _touch(tmp_path / "log.1", now + 4)
    log.write_bytes(b"This is a longer line than the other files had.\n")
    r.run(initialize=False)
    assert contents(r) == [b"hello\n", b"world", b"abc\n", b"This is a longer line than the other files had.\n"]


def test_nifi_consume_when_new_line_found(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"")
    r = runner(log)
    r.run()
    steps = [(b"Hello, World", []), (b"\r\n", [b"Hello, World\r\n"]), (b"12345", []), (b"\n", [b"12345\n"]),
             (b"carriage\rreturn\r", [b"carriage\r"]), (b"\r\n", [b"return\r\r\n"])]
    for data, expected in steps:
        r.clear_transfer_state()
        append(log, data)
        r.run()
        assert contents(r) == expected, data
        if data == b"\r\n" and expected == [b"Hello, World\r\n"]:
            stored = states_from_map(r.state())[str(log)]
            assert stored.position == 14


@pytest.mark.parametrize("restart_between", [True, False])
def test_nifi_multi_line_waits_for_regex_match(tmp_path: Path, restart_between: bool) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"")
    r = runner(log, {"Line Start Pattern": r"<\d>", "Rolling Filename Pattern": "log.*"})
    line1, line2, line3, line4 = b"<1>Hello, World\n", b"<2>Good-bye, World\n", b"<3>Start of multi-line\n", \
        b"<4>Last One\n"

    first = [True]

    def run() -> list[bytes]:
        r.clear_transfer_state()
        r.run(stop_on_finish=restart_between, initialize=restart_between or first[0])
        first[0] = False
        return contents(r)

    append(log, line1 + line2)
    assert len(run()) == 1
    append(log, line3)
    assert len(run()) == 1
    for i in range(10):
        append(log, b"%d\n" % i)
        assert run() == []
    state = r.state()
    assert state["file.0.length"] == str(len(line1 + line2 + line3) + 20)
    assert state["file.0.position"] == str(len(line1 + line2))
    append(log, line4)
    assert run() == [b"<3>Start of multi-line\n0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n"]
    os.rename(log, tmp_path / "log.1")
    log.write_bytes(b"")
    assert run() == [b"<4>Last One\n"]


def test_nifi_rollover_and_update_at_same_time(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"hello there\n")
    r = runner(log, {"Rolling Filename Pattern": "log.*"})
    r.run()
    assert contents(r) == [b"hello there\n"]
    append(log, b"another")
    os.rename(log, tmp_path / "log.1")
    log.write_bytes(b"new file\n")
    r.clear_transfer_state()
    r.run(stop_on_finish=False)
    assert contents(r) == [b"another", b"new file\n"]
    r.clear_transfer_state()
    r.run(initialize=False)
    assert contents(r) == []


def test_nifi_rollover_when_no_rolling_pattern(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"hello there\n")
    r = runner(log)
    r.run()
    append(log, b"another")
    os.rename(log, tmp_path / "log.1")
    log.write_bytes(b"new file\n")
    r.clear_transfer_state()
    r.run()
    assert contents(r) == [b"new file\n"]  # what was written before the move is lost, as in NiFi
    os.rename(log, tmp_path / "log.2")
    log.write_bytes(b"new file with longer data in the new file\n")
    r.clear_transfer_state()
    r.run()
    # NiFi cannot tell this longer file from the old one and goes on from the old position
    # ("with longer data in the new file\n"); flowyard knows it is another file (deliberate difference)
    assert contents(r) == [b"new file with longer data in the new file\n"]


def _multi(r: ProcessorRunner, base: Path, regex: str, **properties: str) -> None:
    r.set_property("Tailing Mode", "Multiple files")
    r.set_property("Base Directory", str(base))
    r.set_property("Files to Tail", regex)
    for name, value in properties.items():
        r.set_property(name.replace("_", " "), value)


def test_nifi_multiple_files(tmp_path: Path) -> None:
    (tmp_path / "testDir").mkdir()
    log, other, third = tmp_path / "log.txt", tmp_path / "testDir" / "log.txt", tmp_path / "logging.txt"
    log.write_bytes(b"")
    other.write_bytes(b"")
    r = ProcessorRunner(TailFile)
    _multi(r, tmp_path, "(testDir/)?log(ging)?.txt", Rolling_Filename_Pattern="${filename}.?",
           Initial_Start_Position="Beginning of File", Recursive_Lookup="true", Lookup_Frequency="0 sec")
    r.run(stop_on_finish=False)
    assert contents(r) == []
    third.write_bytes(b"hey\n")
    append(other, b"hi\n")
    append(log, b"hello\n")
    r.run(stop_on_finish=False, initialize=False)
    by_path = {ff.attributes["tailfile.original.path"]: ff.content for ff in r.flowfiles_for("success")}
    assert by_path == {str(third): b"hey\n", str(other): b"hi\n", str(log): b"hello\n"}
    r.clear_transfer_state()
    append(other, b"world!")
    append(log, b"world")
    r.run(stop_on_finish=False, initialize=False)
    assert contents(r) == []
    third.unlink()
    os.rename(log, tmp_path / "log.1")
    os.rename(other, tmp_path / "testDir" / "log.1")
    log.write_bytes(b"1\n")
    other.write_bytes(b"2\n")
    (tmp_path / "testDir" / "logging.txt").write_bytes(b"3\n")
    r.run(initialize=False)
    assert sorted(contents(r)) == sorted([b"3\n", b"world!", b"2\n", b"world", b"1\n"])


def test_nifi_multiple_existing_files_available_on_first_trigger(tmp_path: Path) -> None:
    for i in range(250):
        (tmp_path / f"log_many_{i}.txt").write_bytes(b"line-%d\n" % i)
    r = ProcessorRunner(TailFile)
    _multi(r, tmp_path, r"log_many_[0-9]+\.txt", Recursive_Lookup="false")
    r.run()
    assert len(contents(r)) == 250
    assert {b"line-0\n", b"line-249\n"} <= set(contents(r))
    state = r.state()
    assert len(state) == 6 * 250  # NiFi's six keys per file
    assert {v for k, v in state.items() if k.endswith("filename")} == {
        str(tmp_path / f"log_many_{i}.txt") for i in range(250)}


def test_nifi_handle_removed_file(tmp_path: Path) -> None:
    (tmp_path / "log_1.txt").write_bytes(b"firstLine\n")
    (tmp_path / "log_2.txt").write_bytes(b"secondLine\n")
    r = ProcessorRunner(TailFile)
    _multi(r, tmp_path, r"log_[0-9]*\.txt", Lookup_Frequency="0 sec", Recursive_Lookup="false")
    r.run(stop_on_finish=False)
    assert sorted(contents(r)) == [b"firstLine\n", b"secondLine\n"]
    assert len(r.state()) == 12
    (tmp_path / "log_2.txt").unlink()
    r.run(initialize=False)
    state = r.state()
    assert len(state) == 6
    assert {v for k, v in state.items() if k.endswith("filename")} == {str(tmp_path / "log_1.txt")}


def test_nifi_multiple_files_with_basedir_and_filename_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "testDir").mkdir()
    (tmp_path / "log.txt").write_bytes(b"")
    (tmp_path / "testDir" / "log.txt").write_bytes(b"")
    monkeypatch.setenv("vrBaseDirectory", str(tmp_path))
    monkeypatch.setenv("vrFilename", "(testDir/)?log(ging)?.txt")
    r = ProcessorRunner(TailFile)
    _multi(r, tmp_path, "${vrFilename}", Rolling_Filename_Pattern="${filename}.?",
           Initial_Start_Position="Beginning of File", Recursive_Lookup="true", Lookup_Frequency="0 sec")
    r.set_property("Base Directory", "${vrBaseDirectory}")
    r.run(stop_on_finish=False)
    assert contents(r) == []
    append(tmp_path / "testDir" / "log.txt", b"hi\n")
    append(tmp_path / "log.txt", b"hello\n")
    r.run(initialize=False)
    assert sorted(contents(r)) == [b"hello\n", b"hi\n"]


def test_nifi_multiple_files_in_same_directory(tmp_path: Path) -> None:
    log, logging_ = tmp_path / "log.txt", tmp_path / "logging.txt"
    log.write_bytes(b"")
    r = ProcessorRunner(TailFile)
    _multi(r, tmp_path, "log(ging)?.txt", Rolling_Filename_Pattern="${filename}.?",
           Initial_Start_Position="Beginning of File", Lookup_Frequency="0 sec")
    r.run(stop_on_finish=False)
    logging_.write_bytes(b"hey\n")
    append(log, b"hello\n")
    r.run(stop_on_finish=False, initialize=False)
    by_path = {ff.attributes["tailfile.original.path"]: ff.content for ff in r.flowfiles_for("success")}
    assert by_path == {str(logging_): b"hey\n", str(log): b"hello\n"}
    r.clear_transfer_state()
    append(logging_, b"guys")
    append(log, b"world")
    r.run(stop_on_finish=False, initialize=False)
    assert contents(r) == []
    os.rename(logging_, tmp_path / "logging.1")
    os.rename(log, tmp_path / "log.1")
    log.write_bytes(b"1\n")
    logging_.write_bytes(b"2\n")
    r.run(initialize=False)
    assert sorted(contents(r)) == sorted([b"guys", b"2\n", b"world", b"1\n"])


def test_nifi_tailing_post_rollover_state_with_missing_rolled_files(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"after\n")
    r = runner(log, {"Rolling Filename Pattern": "${filename}.?", "Post-Rollover Tail Period": "10 sec"})
    r.repositories.state.set_now(r.component_id, ComponentState(
        {"file.0.filename": str(log), "file.0.position": "0", "file.0.timestamp": "0", "file.0.length": "0",
         "file.0.checksum": "0", "file.0.tailingPostRollover": "true"}, 1))
    r.run()
    assert contents(r) == [b"after\n"]


def test_nifi_file_written_to_after_rollover(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"")
    r = runner(log, {"Rolling Filename Pattern": "log.*", "Initial Start Position": "Beginning of Time",
                     "Reread on NUL Encountered": "true", "Post-Rollover Tail Period": "10 mins"})
    first = [True]

    def step() -> list[bytes]:
        r.clear_transfer_state()
        r.run(stop_on_finish=False, initialize=first[0])
        first[0] = False
        return contents(r)

    with open(log, "r+b", buffering=0) as raf:
        raf.write(b"a\nb\n")
        assert step() == [b"a\nb\n"]
        raf.write(b"c\n")
        assert step() == [b"c\n"]
        raf.write(b"d\n")
        rolled = tmp_path / "log.1"
        os.rename(log, rolled)
        log.write_bytes(b"new file\n")  # not read until the rolled file has been quiet for the period
        assert step() == [b"d\n"]
        raf.write(b"e\nf")
        assert step() == [b"e\n"]
        raf.write(b"\n\0\0\0")  # NULs: not consumed yet
        assert step() == [b"f\n"]
        raf.truncate(os.fstat(raf.fileno()).st_size - 3)
        raf.seek(0, os.SEEK_END)
        raf.write(b"g\nh")
        assert step() == [b"g\n"]
        for _ in range(20):
            assert step() == []
        assert r.state()["file.0.tailingPostRollover"] == "true"
        _touch(rolled, 0.5)  # not modified for a very long time: the period is over
        assert step() == [b"h", b"new file\n"]
    r.stop()
    assert r.state()["file.0.tailingPostRollover"] == "false"


def test_nifi_tail_file_object_restores_tailing_post_rollover_state() -> None:
    (state,) = states_from_map({"file.3.filename": "target/log.txt", "file.3.position": "0", "file.3.timestamp": "0",
                                "file.3.length": "0", "file.3.tailingPostRollover": "true"}).values()
    assert (state.index, state.post_rollover) == (3, True)
    assert state.to_map()["file.3.tailingPostRollover"] == "true"


def test_nifi_multiple_files_changing_name_strategy(tmp_path: Path) -> None:
    first, second = tmp_path / "app-2016-09-07.log", tmp_path / "my-app-2016-09-07.log"
    first.write_bytes(b"hey\n")
    second.write_bytes(b"hello\n")
    r = ProcessorRunner(TailFile)
    _multi(r, tmp_path, ".*app-.*.log", Initial_Start_Position="Beginning of File", Lookup_Frequency="0 sec",
           Maximum_Age="5 sec")
    r.run(stop_on_finish=False)
    assert sorted(contents(r)) == [b"hello\n", b"hey\n"]
    r.clear_transfer_state()
    append(first, b"hey2\n")
    append(second, b"hello2\n")
    r.run(stop_on_finish=False, initialize=False)
    assert sorted(contents(r)) == [b"hello2\n", b"hey2\n"]
    r.clear_transfer_state()
    append(first, b"hey3\n")
    append(second, b"hello3\n")
    (tmp_path / "app-2016-09-08.log").write_bytes(b"hey\n")
    (tmp_path / "my-app-2016-09-08.log").write_bytes(b"hello\n")
    r.run(initialize=False)
    assert sorted(contents(r)) == sorted([b"hello3\n", b"hello\n", b"hey3\n", b"hey\n"])


def test_nifi_detect_new_file(tmp_path: Path) -> None:
    (tmp_path / "log_1.txt").write_bytes(b"firstLine\n")
    r = ProcessorRunner(TailFile)
    _multi(r, tmp_path, r"log_[0-9]*\.txt", Lookup_Frequency="0 sec", Recursive_Lookup="false")
    r.run(stop_on_finish=False)
    (tmp_path / "log_2.txt").write_bytes(b"newFile\n")
    r.run(2, initialize=False)
    assert sorted(contents(r)) == [b"firstLine\n", b"newFile\n"]


@pytest.mark.parametrize("recursive", ["false", "true"])
def test_multiple_files_skip_entries_that_are_no_regular_file(tmp_path: Path, recursive: str) -> None:
    """A link loop used to fail the whole listing ('Too many levels of symbolic links') and leak a scandir
    iterator; a FIFO would block. NiFi's listing skips entries that are no regular file."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "ok.log").write_bytes(b"ok\n")
    (tmp_path / "sub" / "deep.log").write_bytes(b"deep\n")
    (tmp_path / "loop.log").symlink_to("loop.log")
    (tmp_path / "sub" / "loop.log").symlink_to("loop.log")
    (tmp_path / "dangling.log").symlink_to(tmp_path / "nowhere")
    (tmp_path / "link.log").symlink_to(tmp_path / "ok.log")
    os.mkfifo(tmp_path / "fifo.log")
    (tmp_path / "dir.log").mkdir()
    r = ProcessorRunner(TailFile)
    for name, value in {"Tailing Mode": "Multiple files", "Base Directory": str(tmp_path),
                        "Files to Tail": r"(.*/)?[^/]*\.log", "Recursive lookup": recursive}.items():
        r.set_property(name, value)
    r.run()
    assert not r.errors
    expected = [b"deep\n", b"ok\n", b"ok\n"] if recursive == "true" else [b"ok\n", b"ok\n"]  # ok.log and its link
    assert sorted(contents(r)) == expected
    assert not r.bulletins


def test_only_a_base_directory_that_cannot_be_listed_is_an_error(tmp_path: Path) -> None:
    """The listing (on_trigger logs an error and yields for it) fails for the Base Directory only."""
    with pytest.raises(FileNotFoundError):
        list(_regular_files(str(tmp_path / "gone"), recursive=True))
    (tmp_path / "closed").mkdir(mode=0)
    (tmp_path / "a.log").write_bytes(b"")
    try:
        found = list(_regular_files(str(tmp_path), recursive=True))
    finally:
        (tmp_path / "closed").chmod(0o700)
    assert found == [str(tmp_path / "a.log")]
