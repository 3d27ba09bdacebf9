"""The edit log (``runtime/service/_log.py``): the flow's history survives
restarts, a crash between the log and the flow file cuts the unapplied tail, a
torn last line is dropped while a damaged one in the middle is an error, the
retention bounds hold, secrets never sit in clear in the file, and undo/redo
follow every editor's stack rules per user however users interleave."""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowyard.runtime.sdk import ConfigurationError, RepositoryCorruptedError
from flowyard.runtime.sensitive import SecretBox
from flowyard.runtime.service._log import LOG_FILE, EditLog, Entry

CANARY = "canary-9c41e2-do-not-leak"
DAY = 86400.0
T0 = 1_765_000_000.0


class Clock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(os.urandom(32))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def opened(path: Path, box: SecretBox, edit_seq: int, clock: Clock | None = None, **kw: Any) -> EditLog:
    return EditLog.open(path, box, edit_seq=edit_seq, clock=clock or Clock(), **kw)


def edit(log: EditLog, user: str, what: str, *, components: tuple[str, ...] = ("p1",), **kw: Any) -> Entry:
    return log.append(user=user, description=what, components=components,
                      edit={"op": "set", "value": what}, inverse={"op": "set", "value": f"not {what}"}, **kw)


def undo(log: EditLog, user: str) -> Entry:
    target = log.next_undo(user)
    assert target is not None
    payload = log.payload(target.seq)
    return log.append(user=user, description=f"Undo {target.description}", components=target.components,
                      edit=payload.inverse, inverse=payload.edit, undoes=target.seq)


def redo(log: EditLog, user: str) -> Entry:
    target = log.next_redo(user)
    assert target is not None
    payload = log.payload(target.seq)
    return log.append(user=user, description=f"Redo {target.description}", components=target.components,
                      edit=payload.edit, inverse=payload.inverse, redoes=target.seq)


def state(log: EditLog, *users: str) -> dict[str, Any]:
    """Everything a client can see of the log."""
    return {"history": log.history(limit=1000),
            **{u: (log.undo_descriptions(u), log.redo_descriptions(u)) for u in users}}


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (path / LOG_FILE).read_text().splitlines()]


# -- restart, crash, damage -------------------------------------------------------------


def test_history_and_undo_target_survive_a_restart(tmp_path: Path, box: SecretBox) -> None:
    with opened(tmp_path, box, 0) as log:
        edit(log, "alice", "Add A")
        edit(log, "bob", "Add B", components=("p2",))
        edit(log, "alice", "Configure A")
        undo(log, "alice")
        before = state(log, "alice", "bob")
        last = log.last_seq
    with opened(tmp_path, box, last) as log:
        assert state(log, "alice", "bob") == before
        assert before["alice"] == (["Add A"], ["Configure A"])
        target = log.next_undo("alice")
        assert target is not None and target.description == "Add A" and target.seq == 1
        assert log.payload(1) == ({"op": "set", "value": "Add A"}, {"op": "set", "value": "not Add A"})
        assert edit(log, "bob", "More").seq == last + 1


def test_entries_the_flow_file_does_not_hold_are_cut_at_open(tmp_path: Path, box: SecretBox) -> None:
    """Crash after the append and before the flow file was saved: the flow file's
    ``editSeq`` is older, so the entry was never applied."""
    with opened(tmp_path, box, 0) as log:
        for i in range(3):
            edit(log, "alice", f"Edit {i}")
    kept = (tmp_path / LOG_FILE).read_bytes().splitlines(keepends=True)[:2]
    with opened(tmp_path, box, 2) as log:
        assert [e["seq"] for e in log.history()] == [2, 1]
        assert log.next_undo("alice") == log.entry(2)
        assert (tmp_path / LOG_FILE).read_bytes() == b"".join(kept)
        assert edit(log, "alice", "Again").seq == 3, "the seq the flow file never saw is used again"
    with opened(tmp_path, box, 0) as log:  # a flow file without editSeq: a new history
        assert len(log) == 0 and log.next_undo("alice") is None
        assert (tmp_path / LOG_FILE).read_bytes() == b""
        assert edit(log, "alice", "First").seq == 1


def test_a_flow_file_ahead_of_the_log_numbers_on_from_its_seq(tmp_path: Path, box: SecretBox) -> None:
    with opened(tmp_path, box, 40) as log:
        assert log.last_seq == 40
        assert edit(log, "alice", "Edit").seq == 41


def test_discard_forgets_an_entry_whose_flow_file_was_not_saved(tmp_path: Path, box: SecretBox) -> None:
    with opened(tmp_path, box, 0) as log:
        edit(log, "alice", "Kept")
        saved = (tmp_path / LOG_FILE).read_bytes()
        target = log.next_undo("alice")
        assert target is not None
        undone = undo(log, "alice")
        log.discard(undone.seq)
        assert (tmp_path / LOG_FILE).read_bytes() == saved
        assert log.next_undo("alice") == target and log.next_redo("alice") is None
        assert log.last_seq == 1
        with pytest.raises(KeyError):
            log.discard(2)
        assert undo(log, "alice").seq == 2


def test_a_failed_append_leaves_the_log_as_it_was(tmp_path: Path, box: SecretBox,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with opened(tmp_path, box, 0) as log:
        edit(log, "alice", "Kept")
        saved = (tmp_path / LOG_FILE).read_bytes()
        real_fsync = os.fsync
        calls: list[int] = []

        def full(fd: int) -> None:
            calls.append(fd)
            if len(calls) == 1:
                raise OSError(errno.ENOSPC, "No space left on device")
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", full)
        with pytest.raises(OSError, match="No space"):
            edit(log, "alice", "Lost")
        assert (tmp_path / LOG_FILE).read_bytes() == saved, "the written line was cut off again"
        assert log.last_seq == 1 and log.undo_descriptions("alice") == ["Kept"]
        assert edit(log, "alice", "Next").seq == 2
    with opened(tmp_path, box, 2) as log:
        assert log.undo_descriptions("alice") == ["Next", "Kept"]


@pytest.mark.parametrize("tail", [b'{"seq": 3, "time": 17650', b"\0\0\0\0\0\0\0\0\n", b"{}\n"],
                         ids=["unterminated", "zero-filled", "complete-but-wrong"])
def test_a_torn_last_line_is_removed(tmp_path: Path, box: SecretBox, tail: bytes) -> None:
    with opened(tmp_path, box, 0) as log:
        edit(log, "alice", "One")
        edit(log, "alice", "Two")
    good = (tmp_path / LOG_FILE).read_bytes()
    with (tmp_path / LOG_FILE).open("ab") as fh:
        fh.write(tail)
    with opened(tmp_path, box, 3) as log:
        assert log.undo_descriptions("alice") == ["Two", "One"]
        assert (tmp_path / LOG_FILE).read_bytes() == good
        assert edit(log, "alice", "Three").seq == 4, "numbered after the flow file's seq"


def test_a_damaged_line_in_the_middle_is_an_error_naming_file_and_line(tmp_path: Path, box: SecretBox) -> None:
    with opened(tmp_path, box, 0) as log:
        for i in range(3):
            edit(log, "alice", f"Edit {i}")
    path = tmp_path / LOG_FILE
    raw = path.read_bytes().split(b"\n")
    raw[1] = raw[1][: len(raw[1]) // 2]  # as if a block of it was lost
    path.write_bytes(b"\n".join(raw))
    with pytest.raises(RepositoryCorruptedError) as err:
        opened(tmp_path, box, 3)
    assert f"{path}, line 2:" in str(err.value)
    assert path.read_bytes() == b"\n".join(raw), "nothing is repaired on its own"
    out_of_order = [raw[0], raw[0], raw[2], b""]
    path.write_bytes(b"\n".join(out_of_order))
    with pytest.raises(RepositoryCorruptedError, match="line 2: seq 1 does not follow 1"):
        opened(tmp_path, box, 3)


@pytest.mark.parametrize(("field", "value"), [("seq", "1"), ("undoable", 1), ("components", ["a", 2]),
                                              ("edit", {"op": "set"}), ("undoes", True)])
def test_a_wrongly_typed_field_is_damage(tmp_path: Path, box: SecretBox, field: str, value: Any) -> None:
    with opened(tmp_path, box, 0) as log:
        edit(log, "alice", "One")
        edit(log, "alice", "Two")
    docs = lines(tmp_path)
    docs[0][field] = value
    (tmp_path / LOG_FILE).write_text("".join(json.dumps(d) + "\n" for d in docs))
    with pytest.raises(RepositoryCorruptedError, match=f"line 1: .*{field}"):
        opened(tmp_path, box, 2)


# -- retention ------------------------------------------------------------------------


def test_retention_keeps_the_last_entries(tmp_path: Path, box: SecretBox) -> None:
    with opened(tmp_path, box, 0) as log:
        for i in range(5):
            edit(log, "alice", f"Edit {i}")
        undo(log, "alice")  # seq 6 undoes 5
    with opened(tmp_path, box, 6, max_entries=3) as log:
        assert [e["seq"] for e in log.history()] == [6, 5, 4]
        assert [d["seq"] for d in lines(tmp_path)] == [4, 5, 6]
        assert log.undo_descriptions("alice") == ["Edit 3"]
        assert log.redo_descriptions("alice") == ["Edit 4"]
        with pytest.raises(KeyError):
            log.payload(3)
    with opened(tmp_path, box, 6, max_entries=1) as log:  # the undo's target is gone: nothing to redo
        assert log.next_redo("alice") is None and log.next_undo("alice") is None
        assert edit(log, "alice", "New").seq == 7


def test_retention_drops_entries_older_than_the_age(tmp_path: Path, box: SecretBox, clock: Clock) -> None:
    with opened(tmp_path, box, 0, clock) as log:
        for day in (0, 10, 20, 5, 40):  # the clock went back once (day 5)
            clock.now = T0 + day * DAY
            edit(log, "alice", f"Day {day}")
    clock.now = T0 + 45 * DAY
    with opened(tmp_path, box, 5, clock) as log:
        assert [e["description"] for e in log.history()] == ["Day 40", "Day 5", "Day 20"], \
            "old entries go from the front only: an entry stays while a later one does"
        assert log.history()[0]["time"] == int((T0 + 40 * DAY) * 1000)
    clock.now = T0 + 100 * DAY
    with opened(tmp_path, box, 5, clock) as log:
        assert len(log) == 0 and (tmp_path / LOG_FILE).read_bytes() == b""
        assert edit(log, "alice", "Fresh").seq == 6


def test_retention_defaults(tmp_path: Path, box: SecretBox, clock: Clock) -> None:
    with opened(tmp_path, box, 0, clock) as log:
        edit(log, "alice", "Old")
        clock.now += 29 * DAY
        edit(log, "alice", "Recent")
    clock.now += 2 * DAY
    with opened(tmp_path, box, 2, clock) as log:
        assert log.undo_descriptions("alice") == ["Recent"]


# -- secrets, permissions -------------------------------------------------------------


def test_secrets_never_sit_in_clear_in_the_file(tmp_path: Path) -> None:
    box = SecretBox.open(tmp_path)
    with opened(tmp_path, box, 0) as log:
        log.append(user="alice", description="Configure 'Fetch'", components=["p1"],
                   edit={"op": "set", "properties": {"Password": "new"}},
                   inverse={"op": "set", "properties": {"Password": CANARY}})
        assert CANARY not in json.dumps(log.history()) + json.dumps(log.undo_descriptions("alice"))
        assert log.payload(1).inverse["properties"]["Password"] == CANARY
    raw = (tmp_path / LOG_FILE).read_bytes()
    assert CANARY.encode() not in raw and b"Password" not in raw, "payloads are sealed whole"
    with opened(tmp_path, SecretBox.open(tmp_path), 1) as log:
        assert log.payload(1).inverse["properties"]["Password"] == CANARY
    with opened(tmp_path, SecretBox(os.urandom(32)), 1) as log, pytest.raises(ConfigurationError):
        log.payload(1)


def test_a_payload_cannot_be_moved_to_another_entry(tmp_path: Path, box: SecretBox) -> None:
    with opened(tmp_path, box, 0) as log:
        edit(log, "alice", "One")
        edit(log, "alice", "Two")
    docs = lines(tmp_path)
    docs[1]["inverse"] = docs[0]["inverse"]
    (tmp_path / LOG_FILE).write_text("".join(json.dumps(d) + "\n" for d in docs))
    with opened(tmp_path, box, 2) as log, pytest.raises(ConfigurationError):
        log.payload(2)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_file_and_directory_are_owner_only(tmp_path: Path, box: SecretBox) -> None:
    data = tmp_path / "data"
    with opened(data, box, 0) as log:
        assert (mode(data), mode(data / LOG_FILE)) == (0o700, 0o600)
        edit(log, "alice", "One")
        edit(log, "alice", "Two")
    with opened(data, box, 1):  # rewritten
        assert mode(data / LOG_FILE) == 0o600
    (data / LOG_FILE).chmod(0o644)
    with opened(data, box, 1):
        assert mode(data / LOG_FILE) == 0o600


# -- undo and redo --------------------------------------------------------------------


def test_two_users_undo_and_redo_their_own_edits(tmp_path: Path, box: SecretBox) -> None:
    with opened(tmp_path, box, 0) as log:
        a1 = edit(log, "alice", "A1")
        b1 = edit(log, "bob", "B1")
        a2 = edit(log, "alice", "A2")
        edit(log, "bob", "B2")
        assert log.next_undo("alice") == a2 and log.next_redo("alice") is None
        undo(log, "alice")
        b3 = edit(log, "bob", "B3")  # another user's edit does not end alice's redo
        assert log.next_undo("alice") == a1 and log.next_redo("alice") == a2
        assert log.entry(log.undo_entry_of(a2.seq)).undoes == a2.seq
        with pytest.raises(KeyError):
            log.undo_entry_of(a1.seq)
        assert log.next_undo("bob") == b3 and log.next_redo("bob") is None
        undo(log, "bob")
        undo(log, "bob")
        assert log.redo_descriptions("bob") == ["B2", "B3"] and log.next_undo("bob") == b1
        redo(log, "alice")
        assert log.next_undo("alice") == a2 and log.next_redo("alice") is None
        redo(log, "bob")
        assert log.undo_descriptions("bob") == ["B2", "B1"] and log.redo_descriptions("bob") == ["B3"]
        log.append(user="bob", description="Start 'B'", components=["p2"], edit={}, inverse={}, undoable=False)
        assert log.redo_descriptions("bob") == ["B3"], "a change of run state does not end redo"
        assert log.undo_descriptions("bob") == ["B2", "B1"], "and cannot be undone"
        edit(log, "bob", "B4")
        assert log.next_redo("bob") is None, "a new edit ends redo"
        assert log.is_undone(b3.seq)
        assert log.undo_descriptions("alice") == ["A2", "A1"]


def test_append_refuses_a_wrong_undo_or_redo(tmp_path: Path, box: SecretBox) -> None:
    with opened(tmp_path, box, 0) as log:
        one = edit(log, "alice", "One")
        with pytest.raises(ValueError, match="not undone"):
            edit(log, "alice", "Redo One", redoes=one.seq)
        with pytest.raises(KeyError):
            edit(log, "alice", "Undo 7", undoes=7)
        with pytest.raises(ValueError, match="both"):
            edit(log, "alice", "?", undoes=one.seq, redoes=one.seq)
        undone = undo(log, "alice")
        assert not undone.undoable, "an undo is taken back by redo, not undone itself"
        with pytest.raises(ValueError, match="cannot be undone"):
            edit(log, "alice", "Undo One", undoes=one.seq)
        with pytest.raises(ValueError, match="cannot be undone"):
            edit(log, "alice", "Undo the undo", undoes=undone.seq)
        with pytest.raises(TypeError):
            log.append(user="alice", description="x", components=[], edit={"x": object()}, inverse={})
        assert log.last_seq == 2


class Model:
    """Every editor's undo and redo stacks, per user."""

    def __init__(self) -> None:
        self.undo: dict[str, list[str]] = {}
        self.redo: dict[str, list[str]] = {}

    def apply(self, user: str, action: str, name: str) -> None:
        undo, redo = self.undo.setdefault(user, []), self.redo.setdefault(user, [])
        if action == "edit":
            undo.append(name)
            redo.clear()
        elif action == "undo" and undo:
            redo.append(undo.pop())
        elif action == "redo" and redo:
            undo.append(redo.pop())


USERS = ("alice", "bob")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(["edit", "undo", "redo", "run"])),
                max_size=30))
def test_undo_and_redo_follow_the_stack_model(steps: list[tuple[str, str]]) -> None:
    box = SecretBox(os.urandom(32))
    model = Model()
    with tempfile.TemporaryDirectory() as tmp:
        with opened(Path(tmp), box, 0) as log:
            for n, (user, action) in enumerate(steps):
                if action == "edit":
                    edit(log, user, f"{user} {n}")
                elif action == "undo" and log.next_undo(user) is not None:
                    undo(log, user)
                elif action == "redo" and log.next_redo(user) is not None:
                    redo(log, user)
                elif action == "run":
                    log.append(user=user, description="Start", components=[], edit={}, inverse={},
                               undoable=False)
                model.apply(user, action, f"{user} {n}")
                for u in USERS:
                    assert log.undo_descriptions(u) == model.undo.get(u, [])[::-1]
                    assert log.redo_descriptions(u) == model.redo.get(u, [])[::-1]
            seen = state(log, *USERS)
            last = log.last_seq
        with opened(Path(tmp), box, last) as log:
            assert state(log, *USERS) == seen


# -- history --------------------------------------------------------------------------


def test_history_filters_and_pages(tmp_path: Path, box: SecretBox, clock: Clock) -> None:
    with opened(tmp_path, box, 0, clock) as log:
        for i in range(12):
            clock.now += 1
            edit(log, USERS[i % 2], f"Edit {i}", components=(f"p{i % 3}", "shared"))
        undo(log, "bob")  # seq 13 undoes 12 (Edit 11)
        page = log.history(limit=5)
        assert [e["seq"] for e in page] == [13, 12, 11, 10, 9]
        assert page[1] == {"seq": 12, "time": int((T0 + 12) * 1000), "user": "bob", "description": "Edit 11",
                           "components": ["p2", "shared"], "undoable": True, "undone": True}
        assert page[0]["undoable"] is False and page[0]["undone"] is False
        assert [e["seq"] for e in log.history(limit=5, before=page[-1]["seq"])] == [8, 7, 6, 5, 4]
        assert [e["seq"] for e in log.history(before=4)] == [3, 2, 1]
        assert log.history(before=1) == []
        assert [e["seq"] for e in log.history(component="p0")] == [10, 7, 4, 1]
        assert [e["seq"] for e in log.history(user="alice", component="p0", limit=2)] == [7, 1]
        assert [e["seq"] for e in log.history(user="bob", before=9)] == [8, 6, 4, 2]
        assert log.history(component="nothing") == [] and log.history(user="carol") == []
        assert len(log.history(limit=1000)) == 13
        for bad in (0, 1001):
            with pytest.raises(ValueError, match="limit"):
                log.history(limit=bad)
        assert log.undo_descriptions("alice", limit=2) == ["Edit 10", "Edit 8"]
