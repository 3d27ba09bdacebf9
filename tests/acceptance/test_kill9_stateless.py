"""kill -9 loop through a stateless process group: the source outside commits
its flowfiles into the group's input connection; each invocation of the group
(UpdateAttribute, then PutFile, with PutFile's failures going to a second
PutFile inside the group) commits once. A kill at any moment of an invocation
leaves its input in the connection, so it runs again after the restart:
nothing is lost, every file is written with the right content, and the only
repeats are the files of the invocations the kills interrupted (they land in
``dups``: PutFile refuses to overwrite, as in the standard engine's kill test).

The second case moves 96 KiB flowfiles (content files) and has the group gzip
and gunzip them before writing: content files written inside an interrupted
invocation belong to no claim, and the next start deletes them; after a clean
stop no content file is left that the repository does not account for."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest

from engine_process import EngineProcess, kill_at_random, wait_until
from flowyard_test_processors import expected_content
from repository_checks import check_content_accounted, queued

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL = 6_000
KILLS = 5
CONTENT_SIZE = 32
#: The large-content case: fewer, bigger flowfiles, transformed inside the group.
LARGE_TOTAL, LARGE_SIZE = 1_500, 96 * 1024
#: PutFile's Penalty Duration: a file it finds already written goes to failure penalized, and
#: waits that long inside the invocation before the second PutFile takes it.
PENALTY = "200 ms"


def _files(directory: Path) -> list[str]:
    try:
        return [name for name in os.listdir(directory) if not name.startswith(".")]
    except FileNotFoundError:
        return []


def finish_and_check(flow: Path, data: Path, out: Path, dups: Path, total: int, size: int) -> None:
    """Run the engine to the end and stop it cleanly; then every id is in ``out`` exactly once
    with its content, and ``dups`` holds only repeats of interrupted invocations, the same data."""
    engine = EngineProcess(flow, data)
    engine.wait_ready()
    wait_until(lambda: len(_files(out)) >= total, timeout=600, what=f"{total} files in {out}")
    assert engine.terminate() == 0, engine.output()[-2000:]
    assert sorted(_files(out)) == [f"{seq:08d}.dat" for seq in range(total)], "every id, exactly once"
    for seq in range(total):
        assert (out / f"{seq:08d}.dat").read_bytes() == expected_content(seq, size), seq
    for name in _files(dups):
        assert (dups / name).read_bytes() == expected_content(int(name.split(".")[0]), size)


def _flow(path: Path, out: Path, dups: Path, *, total: int = TOTAL, size: int = CONTENT_SIZE,
          gzip_round_trip: bool = False) -> Path:
    last = "stage"
    transform: list[dict[str, object]] = []
    links: list[dict[str, object]] = []
    if gzip_round_trip:
        for name, mode in (("gz", "compress"), ("gunzip", "decompress")):
            transform.append({"identifier": name, "type": "CompressContent", "autoTerminatedRelationships": ["failure"],
                              "properties": {"Mode": mode, "Compression Format": "gzip"}})
            links.append({"identifier": f"c-{name}", "source": {"id": last}, "destination": {"id": name},
                          "selectedRelationships": ["success"]})
            last = name
    group = {
        "identifier": "g", "name": "Write", "executionEngine": "STATELESS",
        "inputPorts": [{"identifier": "in", "name": "In"}],
        "processors": [
            {"identifier": "stage", "type": "UpdateAttribute", "properties": {"stage": "done"}},
            *transform,
            {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success"],
             "penaltyDuration": PENALTY,  # its failures wait this long inside the invocation
             "properties": {"Directory": str(out), "Conflict Resolution Strategy": "fail"}},
            {"identifier": "put-dups", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
             "properties": {"Directory": str(dups), "Conflict Resolution Strategy": "replace"}},
        ],
        "connections": [
            {"identifier": "c-in", "source": {"id": "in"}, "destination": {"id": "stage"}},
            *links,
            {"identifier": "c1", "source": {"id": last}, "destination": {"id": "put"},
             "selectedRelationships": ["success"]},
            {"identifier": "c2", "source": {"id": "put"}, "destination": {"id": "put-dups"},
             "selectedRelationships": ["failure"]},
        ],
    }
    path.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [{"identifier": "src", "type": "SequenceSource",
                        "properties": {"Count": str(total), "Batch Size": "100",
                                       "Content Size": str(size)}}],
        "processGroups": [group],
        "connections": [{"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "in"},
                         "selectedRelationships": ["success"]}],
    }}))
    return path


@pytest.mark.parametrize(("total", "size", "gzip_round_trip"), [
    pytest.param(TOTAL, CONTENT_SIZE, False, id="small"),
    pytest.param(LARGE_TOTAL, LARGE_SIZE, True, id="content-files"),
])
def test_kill9_during_stateless_invocations_loses_nothing(tmp_path: Path, total: int, size: int,
                                                          gzip_round_trip: bool) -> None:
    out, dups, data = tmp_path / "out", tmp_path / "dups", tmp_path / "data"
    flow = _flow(tmp_path / "flow.json", out, dups, total=total, size=size, gzip_round_trip=gzip_round_trip)
    rng = random.Random(20261207)
    progress = []
    for _ in range(KILLS):
        engine = EngineProcess(flow, data)
        engine.wait_ready()
        before = len(_files(out))
        wait_until(lambda b=before: len(_files(out)) > b, timeout=120, what="the group writing files")  # type: ignore[misc]
        time.sleep(rng.uniform(0.0, 0.3))  # then a random moment to kill at, within the next invocations
        engine.kill9()
        progress.append(len(_files(out)) - before)
    assert len(_files(out)) < total, "every kill came too late to matter; lower the delays"

    finish_and_check(flow, data, out, dups, total, size)
    assert _files(dups), "no kill came between a write and its commit: the failure path was not taken"
    assert queued(data / "repository", "c0") == 0, "every invocation committed: the input is drained"
    if gzip_round_trip:
        check_content_accounted(data / "repository")


def test_kill9_with_the_source_inside_the_stateless_group_loses_nothing(tmp_path: Path) -> None:
    """The source runs inside the group: each invocation takes its next numbers from the source's
    state, which is written with the invocation's one commit. A kill before that commit makes the
    next invocation produce the same numbers again; PutFile finds those already written and sends
    them (penalized) to the second PutFile inside the group."""
    out, dups, data = tmp_path / "out", tmp_path / "dups", tmp_path / "data"
    total = 20_000
    group = {"identifier": "g", "name": "All", "executionEngine": "STATELESS",
             "processors": [
                 {"identifier": "src", "type": "SequenceSource",
                  "properties": {"Count": str(total), "Batch Size": "200", "Content Size": str(CONTENT_SIZE)}},
                 {"identifier": "stage", "type": "UpdateAttribute", "properties": {"stage": "done"}},
                 {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success"],
                  "penaltyDuration": PENALTY,
                  "properties": {"Directory": str(out), "Conflict Resolution Strategy": "fail"}},
                 {"identifier": "put-dups", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
                  "properties": {"Directory": str(dups), "Conflict Resolution Strategy": "replace"}}],
             "connections": [
                 {"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "stage"},
                  "selectedRelationships": ["success"]},
                 {"identifier": "c1", "source": {"id": "stage"}, "destination": {"id": "put"},
                  "selectedRelationships": ["success"]},
                 {"identifier": "c2", "source": {"id": "put"}, "destination": {"id": "put-dups"},
                  "selectedRelationships": ["failure"]}]}
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": {"processGroups": [group]}}))
    progress = kill_at_random(flow, data, kills=KILLS, seed=20261212, delay=(0.1, 1.0),
                              done=lambda: len(_files(out)))
    assert sum(1 for p in progress if p > 0) >= KILLS - 1, f"the group stalled between kills: {progress}"
    assert len(_files(out)) < total, "every kill came too late to matter; lower the delays"

    finish_and_check(flow, data, out, dups, total, CONTENT_SIZE)
