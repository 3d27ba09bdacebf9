"""Previous attributes stored by reference to the attributes (provenance group
format 2): what a session stores for them, and ``previous_attributes``, which
reads every form a group may hold."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._session import Routing, StandardProcessSession
from flowyard.runtime.repository import Repositories
from flowyard.runtime.repository._codec import UNCHANGED, pack_attrs, previous_attributes, u64
from flowyard.runtime.sdk import ProvenanceEvent

BASE = {"uuid": "u-1", "filename": "a.txt", "path": "./", "step": "1"}

#: (attributes now, what a group stores for BASE as the previous attributes)
FORMS: dict[str, tuple[dict[str, str], Any]] = {
    "full copy (format 1, and changed attributes)": ({"uuid": "u-1", "x": "1"}, pack_attrs(BASE)),
    "unchanged": (BASE, UNCHANGED),
    "one value changed": ({**BASE, "step": "2"}, [{"step": "1"}, []]),
    "one key added": ({**BASE, "colour": "red"}, [{}, ["colour"]]),
    "one key removed": ({k: v for k, v in BASE.items() if k != "path"}, [{"path": "./"}, []]),
}


@pytest.mark.parametrize(("now", "stored"), FORMS.values(), ids=FORMS.keys())
def test_every_stored_form_reads_back_the_previous_attributes(now: dict[str, str], stored: Any) -> None:
    assert previous_attributes(stored, now) == BASE
    as_read = msgpack.unpackb(msgpack.packb([2, [stored]], use_bin_type=True), raw=False)[1][0]  # as a group
    decoded = previous_attributes(as_read, dict(now))
    assert decoded == BASE and decoded is not now


class Chain:
    """in -> proc -> out, on in-memory repositories."""

    def __init__(self) -> None:
        self.repos = Repositories.in_memory()
        self.inq = self.queue("in")
        self.out = self.queue("out")

    def queue(self, name: str) -> FlowFileQueue:
        return FlowFileQueue(name, self.repos.flowfiles.queue_id(name), object_threshold=0, size_threshold=0,
                             loader=self.repos.flowfiles.read_range)

    def session(self, cid: str, inputs: list[FlowFileQueue], out: FlowFileQueue) -> StandardProcessSession:
        routing = Routing(cid, "P", inputs=inputs, destinations={"success": [out]}, auto_terminated=["gone"])
        return StandardProcessSession(routing, self.repos, lambda: 1_700_000_000_000)

    def commit(self, s: StandardProcessSession) -> None:
        prepared = s.prepare_commit()
        assert self.repos.write([prepared.transaction], 0) == []
        prepared.apply(0)

    def events(self, cid: str) -> list[ProvenanceEvent]:
        return [e for e in self.repos.provenance.events() if e.component_id == cid]

    def stored_rows(self) -> list[list[Any]]:
        store = self.repos.store
        rows: list[list[Any]] = []
        for _, value in store.scan(store.handle("provenance"), u64(0), b"\x01"):
            fmt, group = msgpack.unpackb(value, raw=False)
            assert fmt == 2
            rows.extend(group)
        return rows


EDITS: dict[str, Any] = {
    "nothing": lambda s, ff: ff,
    "set": lambda s, ff: s.put_attribute(ff, "step", "2"),
    "set many": lambda s, ff: s.put_attributes(ff, {"step": "2", "colour": "red"}),
    "remove": lambda s, ff: s.remove_attributes(ff, ["path", "absent"]),
    "set then remove": lambda s, ff: s.remove_attribute(s.put_attribute(ff, "colour", "red"), "colour"),
    "set the same value": lambda s, ff: s.put_attribute(ff, "step", "1"),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
@pytest.mark.parametrize("ending", ["transfer", "route", "auto-terminate", "remove"])
def test_a_session_records_the_attributes_the_flowfile_entered_with(edit: Any, ending: str) -> None:
    chain = Chain()
    src = chain.session("src", [], chain.inq)
    src.transfer(src.put_attributes(src.create(), {"step": "1", "path": "./in"}), "success")
    chain.commit(src)
    s = chain.session("proc", [chain.inq], chain.out)
    ff = s.get()
    assert ff is not None
    entered = ff.attributes
    untouched = ff[1]  # the attribute dict itself: a session copies it on every change
    ff = edit(s, ff)
    if ending == "transfer":
        s.transfer(ff, "success")
    elif ending == "route":
        s.provenance.route(ff, "success")
        s.transfer(ff, "success")
    elif ending == "auto-terminate":
        s.transfer(ff, "gone")
    else:
        s.remove(ff)
    chain.commit(s)
    events = chain.events("proc")
    if ending == "transfer" and dict(ff.attributes) == dict(entered):
        assert events == []  # nothing changed: no ATTRIBUTES_MODIFIED
        return
    assert events
    for event in events:
        assert dict(event.previous_attributes) == dict(entered)
        assert dict(event.attributes) == dict(ff.attributes)
    stored = [row[6] for row in chain.stored_rows() if row[3] == "proc"]
    if ff[1] is untouched:  # unchanged: stored once, the previous ones by reference
        assert stored == [[{}, []]] * len(events)
    else:
        assert all(isinstance(value, bytes) for value in stored)
