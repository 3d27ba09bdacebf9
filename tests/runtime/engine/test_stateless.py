"""Stateless process groups: one commit per invocation, provenance of every
step, a failure anywhere rolls the whole invocation back, the rules of what a
stateless group may contain."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from trio_wait import wait_for

from flowyard.processors import PROCESSORS
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.flow._engines import effective_engine, engine_problems, stateless_units
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk._errors import FlowDefinitionError, FlowyardError

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS

REGISTRY = {**PROCESSORS, **TEST_PROCESSORS}
MEMBERS = ("in", "tag", "check", "out")


def stateless_flow(count: int = 10, *, engine: str = "STATELESS", fail_at: int | None = None) -> Any:
    """root: src (stopped) -> mark -> [group: in -> tag -> check -> out] -> sink (stopped).

    ``mark`` sets fail=true on the flowfile with seq ``fail_at``; ``check``
    (FailOnAttribute) raises when it sees it."""
    fail = "false" if fail_at is None else f"${{seq:equals('{fail_at}')}}"
    group = {
        "identifier": "g", "name": "Work", "executionEngine": engine,
        "inputPorts": [{"identifier": "in", "name": "In", "scheduledState": "STOPPED"}],
        "outputPorts": [{"identifier": "out", "name": "Out", "scheduledState": "STOPPED"}],
        "processors": [
            {"identifier": "tag", "type": "UpdateAttribute", "properties": {"tagged": "yes"},
             "scheduledState": "STOPPED"},
            {"identifier": "check", "type": "FailOnAttribute", "scheduledState": "STOPPED"},
        ],
        "connections": [
            {"identifier": "c-in", "source": {"id": "in"}, "destination": {"id": "tag"}},
            {"identifier": "c-tag", "source": {"id": "tag"}, "destination": {"id": "check"},
             "selectedRelationships": ["success"]},
            {"identifier": "c-out", "source": {"id": "check"}, "destination": {"id": "out"},
             "selectedRelationships": ["success"]},
        ],
    }
    return flow_from_dict({
        "flowyardFlowVersion": 1,
        "rootGroup": {
            "identifier": "root",
            "processors": [
                {"identifier": "src", "type": "SequenceSource", "scheduledState": "STOPPED",
                 "properties": {"Count": str(count), "Batch Size": str(count), "Content Size": "16"}},
                {"identifier": "mark", "type": "UpdateAttribute", "properties": {"fail": fail},
                 "scheduledState": "STOPPED"},
                {"identifier": "sink", "type": "AsyncSlow", "properties": {"Delay": "0 ms"},
                 "autoTerminatedRelationships": ["success"], "scheduledState": "STOPPED"},
            ],
            "processGroups": [group],
            "connections": [
                {"identifier": "c-src", "source": {"id": "src"}, "destination": {"id": "mark"},
                 "selectedRelationships": ["success"]},
                {"identifier": "c0", "source": {"id": "mark"}, "destination": {"id": "in"},
                 "selectedRelationships": ["success"]},
                {"identifier": "c9", "source": {"id": "out"}, "destination": {"id": "sink"}},
            ],
        },
    })


async def fill_entry(engine: Engine, count: int) -> None:
    """Run the source and the marker until ``count`` flowfiles wait at the group's input port."""
    engine.start_processor("src")
    engine.start_processor("mark")
    await wait_for(lambda: engine.queues["c0"].count == count)
    await engine.stop_processor("src")
    await engine.stop_processor("mark")


def test_engines_resolve_through_inheritance_and_units_are_the_topmost_stateless_groups() -> None:
    flow = stateless_flow()
    assert effective_engine(flow, "root") == "STANDARD" and effective_engine(flow, "g") == "STATELESS"
    assert [u.identifier for u in stateless_units(flow)] == ["g"]
    assert engine_problems(flow) == []
    assert effective_engine(stateless_flow(engine="INHERITED"), "g") == "STANDARD"
    from flowyard.runtime.flow import flow_to_dict
    from flowyard.runtime.flow._engines import unit_of
    raw = flow_to_dict(flow)
    raw["rootGroup"]["processGroups"][0]["processGroups"] = [{"identifier": "inner", "name": "Inner"}]
    nested = flow_from_dict(raw)
    assert unit_of(nested, "inner").identifier == "g", "a child of a stateless group runs in its unit"  # type: ignore[union-attr]
    assert unit_of(nested, "root") is None


def test_what_a_stateless_group_cannot_contain_is_named() -> None:
    doc = stateless_flow()
    from flowyard.runtime.flow import flow_to_dict
    raw = flow_to_dict(doc)
    group = raw["rootGroup"]["processGroups"][0]
    group["connections"][1]["loadBalanceStrategy"] = "ROUND_ROBIN"
    group["processors"].append({"identifier": "merge", "type": "MergeContent", "name": "Bin"})
    group["processGroups"] = [{"identifier": "inner", "name": "Inner", "executionEngine": "STANDARD"}]
    problems = dict(engine_problems(flow_from_dict(raw)))
    assert "cannot be load-balanced" in problems["c-tag"]
    assert "MergeContent" in problems["merge"] and "waits for flowfiles" in problems["merge"]
    assert "INHERITED or STATELESS" in problems["inner"]


async def test_an_invocation_commits_once_with_every_steps_provenance(autojump_clock: Any) -> None:
    repos = Repositories.in_memory()
    engine = Engine(stateless_flow(10), repos, registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await fill_entry(engine, 10)
        commits = engine.committer.commits_written
        for member in MEMBERS:
            engine.start_processor(member)
        await wait_for(lambda: engine.queues["c9"].count == 10)
        assert engine.committer.commits_written - commits == 1, "the whole group's work is one commit"
        assert engine.queues["c0"].count == 0 and engine.queues["c0"].in_flight == 0
        inside = [engine.queues[c] for c in ("c-in", "c-tag", "c-out")]
        assert all(q.count == 0 and q.enqueued_total == 0 for q in inside), "nothing waits in queues inside"
        runner = engine.stateless.runners["g"]
        assert runner.invocations == 1 and runner.rollbacks == 0
        engine.request_stop()
    events = list(repos.provenance.events(0, limit=10_000))
    tagged = [e for e in events if e.component_id == "tag" and e.event_type.name == "ATTRIBUTES_MODIFIED"]
    assert len(tagged) == 10 and all(e.attributes.get("tagged") == "yes" for e in tagged)
    # the previous attributes (packed once by the step before, shared within the invocation)
    assert all("tagged" not in e.previous_attributes and e.previous_attributes["fail"] == "false"
               and e.previous_attributes["uuid"] == e.attributes["uuid"] for e in tagged)
    assert len({e.attributes["uuid"] for e in tagged}) == 10
    # the records on disk are only those of the connection out of the group
    assert repos.flowfiles.count_queue(engine.queues["c9"].queue_id)[0] == 10
    for c in ("c-in", "c-tag", "c-out", "c0"):
        assert repos.flowfiles.count_queue(engine.queues[c].queue_id)[0] == 0


def content_flow(count: int, size: int) -> Any:
    """root: src (stopped) -> [group: in -> replace -> append -> out] -> sink (stopped). Each step
    of the group writes new content that the next one reads within the same invocation."""
    group = {
        "identifier": "g", "name": "Rewrite", "executionEngine": "STATELESS",
        "statelessFlowTimeout": "1 hour",  # the mock clock jumps while ReplaceText's worker threads run
        "inputPorts": [{"identifier": "in", "name": "In", "scheduledState": "STOPPED"}],
        "outputPorts": [{"identifier": "out", "name": "Out", "scheduledState": "STOPPED"}],
        "processors": [
            {"identifier": "replace", "type": "ReplaceText", "scheduledState": "STOPPED",
             "autoTerminatedRelationships": ["failure"],
             "properties": {"Replacement Strategy": "Always Replace", "Evaluation Mode": "Entire text",
                            "Replacement Value": "${seq}:" + "x" * size}},
            {"identifier": "append", "type": "ReplaceText", "scheduledState": "STOPPED",
             "autoTerminatedRelationships": ["failure"],
             "properties": {"Replacement Strategy": "Append", "Evaluation Mode": "Entire text",
                            "Replacement Value": "!"}},
        ],
        "connections": [
            {"identifier": "c-in", "source": {"id": "in"}, "destination": {"id": "replace"}},
            {"identifier": "c-replace", "source": {"id": "replace"}, "destination": {"id": "append"},
             "selectedRelationships": ["success"]},
            {"identifier": "c-out", "source": {"id": "append"}, "destination": {"id": "out"},
             "selectedRelationships": ["success"]},
        ],
    }
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "identifier": "root",
        "processors": [
            {"identifier": "src", "type": "SequenceSource", "scheduledState": "STOPPED",
             "properties": {"Count": str(count), "Batch Size": str(count), "Content Size": "16"}},
            {"identifier": "sink", "type": "AsyncSlow", "properties": {"Delay": "0 ms"},
             "autoTerminatedRelationships": ["success"], "scheduledState": "STOPPED"},
        ],
        "processGroups": [group],
        "connections": [
            {"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "in"},
             "selectedRelationships": ["success"]},
            {"identifier": "c9", "source": {"id": "out"}, "destination": {"id": "sink"}},
        ],
    }})


@pytest.mark.parametrize("size", [10, 100_000], ids=["inline", "content-file"])
async def test_a_step_reads_the_content_an_earlier_step_of_the_invocation_wrote(
        autojump_clock: Any, tmp_path: Any, size: int) -> None:
    """Small content written inside an invocation lives only in the invocation until its one
    commit (large content is in its file at once): the next step must read it all the same."""
    repos = Repositories.open(tmp_path / "repository")
    engine = Engine(content_flow(5, size), repos, registry=REGISTRY)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            engine.start_processor("src")
            await wait_for(lambda: engine.queues["c0"].count == 5)
            await engine.stop_processor("src")
            for member in ("in", "replace", "append", "out"):
                engine.start_processor(member)
            await wait_for(lambda: engine.queues["c9"].count == 5
                           or any(b.component_id == "g" for b in engine.bulletins))
            assert [b.message for b in engine.bulletins] == [], "no invocation was rolled back"
            got = sorted(repos.content.read_bytes(ff.claim) for ff in engine.queues["c9"].listing())
            assert got == sorted(f"{seq}:".encode() + b"x" * size + b"!" for seq in range(5))
            engine.request_stop()
    finally:
        repos.close()


async def test_a_split_inside_an_invocation_slices_content_written_there(autojump_clock: Any) -> None:
    """ReplaceText writes three lines (small: inline, not yet stored), SplitText splits them into
    children that share the parent's content: they reach the output with their own lines."""
    from flowyard.runtime.flow import flow_to_dict
    raw = flow_to_dict(content_flow(4, 0))
    group = raw["rootGroup"]["processGroups"][0]
    group["processors"][0]["properties"]["Replacement Value"] = "${seq}-a\n${seq}-b\n${seq}-c\n"
    group["processors"][1] = {"identifier": "append", "type": "SplitText", "scheduledState": "STOPPED",
                              "autoTerminatedRelationships": ["failure", "original"],
                              "properties": {"Line Split Count": "1", "Remove Trailing Newlines": "true"}}
    group["connections"][2]["selectedRelationships"] = ["splits"]
    repos = Repositories.in_memory()
    engine = Engine(flow_from_dict(raw), repos, registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        engine.start_processor("src")
        await wait_for(lambda: engine.queues["c0"].count == 4)
        await engine.stop_processor("src")
        for member in ("in", "replace", "append", "out"):
            engine.start_processor(member)
        await wait_for(lambda: engine.queues["c9"].count == 12 or any(b.component_id == "g" for b in engine.bulletins))
        assert [b.message for b in engine.bulletins] == []
        got = sorted(repos.content.read_bytes(ff.claim) for ff in engine.queues["c9"].listing())
        assert got == sorted(f"{seq}-{part}".encode() for seq in range(4) for part in "abc")
        engine.request_stop()
    live = {r: n for r, n in repos.content.counts.items() if n}
    assert sum(live.values()) == 12 and len(live) == 4, "each parent's content is held by its three splits"


def failure_path_flow(out: Any, dups: Any, penalty: str, timeout: str = "1 min") -> Any:
    """root: src (stopped) -> [group: in -> put (fail on conflict, penalizes) -failure-> put-dups] ."""
    group = {
        "identifier": "g", "name": "Write", "executionEngine": "STATELESS", "statelessFlowTimeout": timeout,
        "inputPorts": [{"identifier": "in", "name": "In", "scheduledState": "STOPPED"}],
        "processors": [
            {"identifier": "put", "type": "PutFile", "scheduledState": "STOPPED", "penaltyDuration": penalty,
             "autoTerminatedRelationships": ["success"],
             "properties": {"Directory": str(out), "Conflict Resolution Strategy": "fail"}},
            {"identifier": "put-dups", "type": "PutFile", "scheduledState": "STOPPED",
             "autoTerminatedRelationships": ["success", "failure"],
             "properties": {"Directory": str(dups), "Conflict Resolution Strategy": "replace"}},
        ],
        "connections": [
            {"identifier": "c-in", "source": {"id": "in"}, "destination": {"id": "put"}},
            {"identifier": "c-fail", "source": {"id": "put"}, "destination": {"id": "put-dups"},
             "selectedRelationships": ["failure"]},
        ],
    }
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "identifier": "root",
        "processors": [{"identifier": "src", "type": "SequenceSource", "scheduledState": "STOPPED",
                        "properties": {"Count": "4", "Batch Size": "4", "Content Size": "8"}}],
        "processGroups": [group],
        "connections": [{"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "in"},
                         "selectedRelationships": ["success"]}],
    }})


def existing_file(tmp_path: Any, name: str) -> tuple[Any, Any]:
    """``out`` holding the file ``name`` already (PutFile will send that flowfile to failure), and ``dups``."""
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_bytes(b"there before")
    return out, tmp_path / "dups"


async def start_failure_path(nursery: Any, engine: Engine) -> None:
    """Run the engine, queue the four flowfiles at the group's input port, start the group."""
    await nursery.start(engine.run)
    engine.start_processor("src")
    await wait_for(lambda: engine.queues["c0"].count == 4)
    await engine.stop_processor("src")
    for member in ("in", "put", "put-dups"):
        engine.start_processor(member)


async def test_a_flowfile_penalized_inside_the_group_waits_out_its_penalty_in_the_invocation(
        autojump_clock: Any, tmp_path: Any) -> None:
    """PutFile sends a file it finds already there to failure, penalized; the failure path inside the
    group takes it once the penalty has passed, and the invocation commits (it used to be rolled back,
    again and again: the penalized flowfile was 'left in a connection that nothing took')."""
    out, dups = existing_file(tmp_path, "00000002.dat")
    repos = Repositories.in_memory()
    # a generous timeout: the mock clock jumps while PutFile's worker threads run
    engine = Engine(failure_path_flow(out, dups, "5 sec", timeout="1 hour"), repos, registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await start_failure_path(nursery, engine)
        await wait_for(lambda: (engine.queues["c0"].count == 0 and engine.queues["c0"].in_flight == 0)
                       or any(b.component_id == "g" for b in engine.bulletins))
        assert [b.message for b in engine.bulletins if b.component_id == "g"] == [], "nothing rolled back"
        assert sorted(p.name for p in out.iterdir()) == [f"{i:08d}.dat" for i in range(4)]
        assert [p.name for p in dups.iterdir()] == ["00000002.dat"]
        assert engine.stateless.runners["g"].rollbacks == 0
        engine.request_stop()


async def test_stopping_the_group_ends_an_invocation_that_waits_out_a_penalty(
        autojump_clock: Any, tmp_path: Any) -> None:
    out, dups = existing_file(tmp_path, "00000001.dat")
    engine = Engine(failure_path_flow(out, dups, "10 min", timeout="1 hour"), Repositories.in_memory(),
                    registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await start_failure_path(nursery, engine)
        await wait_for(lambda: any(p.name == "00000003.dat" for p in out.iterdir()))  # the invocation waits
        started = trio.current_time()
        await engine.stop_processor("put")
        assert trio.current_time() - started < 120, "the stop waited for the 10 min penalty"
        assert any("rolled back" in b.message for b in engine.bulletins if b.component_id == "g")
        assert engine.queues["c0"].count == 4, "the input is back in its connection"
        engine.request_stop()


async def test_a_penalty_longer_than_the_flow_timeout_rolls_the_invocation_back_saying_so(
        autojump_clock: Any, tmp_path: Any) -> None:
    out, dups = existing_file(tmp_path, "00000001.dat")
    engine = Engine(failure_path_flow(out, dups, "10 min", timeout="1 min"), Repositories.in_memory(),
                    registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await start_failure_path(nursery, engine)
        await wait_for(lambda: any(b.component_id == "g" for b in engine.bulletins))
        rolled_back = next(b.message for b in engine.bulletins if b.component_id == "g")
        assert "penalized inside the group would wait longer than the stateless flow timeout (1 min)" in rolled_back
        assert engine.queues["c0"].count == 4, "the input is back in its connection"
        engine.request_stop()


async def test_a_failing_invocation_from_a_source_inside_the_group_is_not_retried_in_a_tight_loop(
        autojump_clock: Any, tmp_path: Any) -> None:
    """The source inside the group has no input to penalize: after a rollback it yields for the
    administrative yield duration (30 s) before the next invocation."""
    out, dups = existing_file(tmp_path, "00000001.dat")
    from flowyard.runtime.flow import flow_to_dict
    raw = flow_to_dict(failure_path_flow(out, dups, "10 min", timeout="1 min"))
    group = raw["rootGroup"]["processGroups"][0]
    source = raw["rootGroup"]["processors"].pop()
    source["scheduledState"] = "RUNNING"
    group["processors"].append(source)
    group["inputPorts"] = []
    group["connections"][0] = {"identifier": "c-in", "source": {"id": "src"}, "destination": {"id": "put"},
                               "selectedRelationships": ["success"]}
    raw["rootGroup"]["connections"] = []
    for p in group["processors"]:
        p["scheduledState"] = "RUNNING"
    engine = Engine(flow_from_dict(raw), Repositories.in_memory(), registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: "g" in engine.stateless.runners and engine.stateless.runners["g"].rollbacks >= 1)
        start = trio.current_time()
        await trio.sleep(100)
        runner = engine.stateless.runners["g"]
        assert runner.rollbacks <= 1 + (trio.current_time() - start) // 30 + 1, runner.rollbacks
        rolled_back = [b.message for b in engine.bulletins if b.component_id == "g"]
        assert "SequenceSource yields for 30 s" in rolled_back[0]
        engine.request_stop()


async def test_state_set_by_one_trigger_is_read_by_the_next_trigger_of_the_same_invocation(
        autojump_clock: Any) -> None:
    """250 flowfiles take three triggers of UpdateAttribute (100 at a time) in one invocation;
    a counter kept in its state must count all of them, as in the standard engine."""
    from flowyard.runtime.flow import flow_to_dict
    raw = flow_to_dict(stateless_flow(250))
    tag = raw["rootGroup"]["processGroups"][0]["processors"][0]
    tag["properties"] = {"Store State": "Store state locally", "Stateful Variables Initial Value": "0",
                         "count": "${getStateValue('count'):plus(1)}"}
    tag["autoTerminatedRelationships"] = ["set state fail"]
    repos = Repositories.in_memory()
    engine = Engine(flow_from_dict(raw), repos, registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await fill_entry(engine, 250)
        for member in MEMBERS:
            engine.start_processor(member)
        await wait_for(lambda: engine.queues["c9"].count == 250
                       or any(b.component_id == "g" for b in engine.bulletins))
        assert engine.stateless.runners["g"].invocations == 1
        counts = sorted(int(ff.attributes["count"]) for ff in engine.queues["c9"].listing(limit=1000))
        assert counts == list(range(1, 251)), "every flowfile counted once, in turn"
        assert repos.state.get("tag").values["count"] == "250"
        engine.request_stop()


async def test_a_failure_in_the_middle_rolls_the_whole_invocation_back(autojump_clock: Any) -> None:
    repos = Repositories.in_memory()
    engine = Engine(stateless_flow(10, fail_at=4), repos, registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await fill_entry(engine, 10)
        events_before = len(list(repos.provenance.events(0, limit=10_000)))
        for member in MEMBERS:
            engine.start_processor(member)
        await wait_for(lambda: "g" in engine.stateless.runners and engine.stateless.runners["g"].rollbacks >= 1)
        runner = engine.stateless.runners["g"]
        c0 = engine.queues["c0"]
        assert c0.count == 10 and c0.in_flight == 0, "the input is back in its connection"
        assert c0.status().penalized == 10, "and penalized"
        assert engine.queues["c9"].count == 0, "nothing half-delivered"
        assert not [e for e in list(repos.provenance.events(0, limit=10_000))[events_before:]
                    if e.component_id in ("tag", "check", "out")], "no event of a rolled-back step is kept"
        assert any("rolled back" in b.message and b.component_id == "g" for b in engine.bulletins)
        assert runner.invocations >= 1
        engine.request_stop()
    assert repos.flowfiles.count_queue(engine.queues["c0"].queue_id)[0] == 10


async def test_run_once_of_a_member_is_refused(autojump_clock: Any) -> None:
    engine = Engine(stateless_flow(), Repositories.in_memory(), registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        with pytest.raises(FlowyardError, match="stateless process group"):
            await engine.run_once("tag")
        engine.request_stop()


async def test_the_group_runs_again_after_being_stopped(autojump_clock: Any) -> None:
    engine = Engine(stateless_flow(20), Repositories.in_memory(), registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await fill_entry(engine, 20)
        for member in MEMBERS:
            engine.start_processor(member)
        await wait_for(lambda: engine.queues["c9"].count == 20)
        for member in MEMBERS:
            await engine.stop_processor(member)
        await wait_for(lambda: "g" not in engine.stateless.runners)
        for member in MEMBERS:
            engine.start_processor(member)
        await wait_for(lambda: "g" in engine.stateless.runners)
        engine.request_stop()


async def test_switching_the_engine_needs_the_group_stopped_and_empty(autojump_clock: Any) -> None:
    from flowyard.runtime.engine._reconcile import plan
    from flowyard.runtime.flow.edits import UpdateComponent, apply

    flow = stateless_flow(10, engine="STANDARD")
    engine = Engine(flow, Repositories.in_memory(), registry=REGISTRY)
    to_stateless = apply(flow, UpdateComponent("g", {"execution_engine": "STATELESS"}))
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        engine.start_processor("tag")
        refusal = "'Work' would change from the standard to the stateless engine while UpdateAttribute is running"
        with pytest.raises(FlowDefinitionError, match=refusal + ": stop the group first") as info:
            plan(engine, to_stateless)
        assert info.value.where == "g"
        await engine.stop_processor("tag")
        engine.start_processor("src")
        engine.start_processor("mark")
        engine.start_processor("in")  # the data stops in the group's first connection
        await wait_for(lambda: engine.queues["c-in"].count == 10)
        await engine.stop_processor("in")
        waiting = r"while 10 flowfile\(s\) wait in connections inside it: empty them"
        with pytest.raises(FlowDefinitionError, match=waiting):
            plan(engine, to_stateless)
        engine.request_stop()


def test_a_plan_with_what_a_stateless_group_cannot_hold_is_refused() -> None:
    from flowyard.runtime.engine._reconcile import plan
    from flowyard.runtime.flow.edits import UpdateComponent, apply

    flow = stateless_flow()
    engine = Engine(flow, Repositories.in_memory(), registry=REGISTRY)
    balanced = apply(flow, UpdateComponent("c-tag", {"load_balance_strategy": "ROUND_ROBIN"}))
    with pytest.raises(FlowDefinitionError, match="cannot be load-balanced") as info:
        plan(engine, balanced)
    assert info.value.where == "c-tag"
