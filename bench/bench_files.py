"""Benchmarks of the file processors (issue 16); each prints ``BENCH <name> <value> <unit>``.

- ``putfile_1mib``: 512 files of 1 MiB through GetFile → UpdateAttribute →
  PutFile on the real engine (RocksDB repository, durability ``os``), in MB/s,
  measured from the engine's start until PutFile has durably written every
  file and committed. ``BENCH putfile_1mib``, ``BENCH cp_sync_1mib`` (the
  ceiling: ``cp -r`` of the same files followed by ``sync``) and ``BENCH
  putfile_vs_cp_sync`` (median ÷ median), measured alternately in one run,
  three rounds each, every round on fresh files in a temporary directory on
  the same disk (``$BENCH_FILES_DIR`` or the system's temporary directory).

``BENCH putfile_only_1mib`` and ``BENCH putfile_only_vs_cp_sync``, in the
same alternation, are PutFile alone writing the same 512 MiB from
``ProcessorRunner`` (in-memory repository): what PutFile's own writes and
syncs cost, without GetFile and the RocksDB content repository.

``BENCH getfile_1mib`` is GetFile alone taking 512 files of 1 MiB (kept in
place, batches of 16) into an on-disk repository from ``ProcessorRunner``,
in MB/s, median of three rounds: what taking a file into a content file costs
(the kernel copies it: ``ContentWriter.copy_from``), without PutFile's writes
and syncs.

The source files are written and ``sync``ed before each measurement starts,
so neither side pays for writing them back. ``sync`` flushes the whole
machine, which is what the ceiling means: a copy is not done before its data
is on disk, and PutFile's success is not either.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import trio
from bench_engine import connect, make_flow, run

from flowyard.processors.get_file import GetFile
from flowyard.processors.put_file import PutFile
from flowyard.runtime.engine import Engine
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk.testing import ProcessorRunner

_MIB = 1 << 20
_COUNT = int(os.environ.get("BENCH_FILES_COUNT", "512"))
_ROUNDS = int(os.environ.get("BENCH_FILES_ROUNDS", "3"))


def _make_sources(src: Path, count: int) -> None:
    src.mkdir()
    block = bytearray(os.urandom(_MIB))
    for i in range(count):
        block[:8] = i.to_bytes(8, "little")  # every file different
        (src / f"f{i:05d}.bin").write_bytes(block)
    os.sync()


def _check_copied(out: Path, count: int) -> None:
    found = sum(1 for entry in os.scandir(out) if entry.is_file() and entry.stat().st_size == _MIB)
    if found != count:
        raise RuntimeError(f"{out} holds {found} files of 1 MiB, expected {count}")


def cp_sync_once(tmp: Path, count: int = _COUNT) -> float:
    """MB/s of ``cp -r`` of ``count`` 1 MiB files plus ``sync``."""
    src, out = tmp / "in", tmp / "out"
    _make_sources(src, count)
    start = time.perf_counter()
    subprocess.run(["cp", "-r", str(src), str(out)], check=True)
    subprocess.run(["sync"], check=True)
    elapsed = time.perf_counter() - start
    _check_copied(out, count)
    return count * _MIB / elapsed / 1e6


def putfile_once(tmp: Path, count: int = _COUNT) -> float:
    """MB/s of ``count`` 1 MiB files through GetFile → UpdateAttribute → PutFile."""
    src, out = tmp / "in", tmp / "out"
    _make_sources(src, count)
    flow = make_flow([
        {"identifier": "get", "type": "GetFile", "properties": {"Input Directory": str(src),
                                                                "Polling Interval": "0 sec"}},
        {"identifier": "tag", "type": "UpdateAttribute", "properties": {"seen": "yes"}},
        {"identifier": "put", "type": "PutFile", "properties": {"Directory": str(out)},
         "autoTerminatedRelationships": ["success", "failure"]},
    ], [connect("c1", "get", "tag"), connect("c2", "tag", "put")])

    async def measure(engine: Engine) -> float:
        start = time.perf_counter()
        while engine.nodes["put"].stats.flowfiles_removed < count:
            await trio.sleep(0.005)
        return time.perf_counter() - start

    elapsed = run(flow, tmp / "repo", measure)
    _check_copied(out, count)
    return count * _MIB / elapsed / 1e6


def putfile_only_once(tmp: Path, count: int = _COUNT) -> float:
    """MB/s of PutFile alone writing ``count`` 1 MiB flowfiles (ProcessorRunner)."""
    out = tmp / "out"
    block = bytearray(os.urandom(_MIB))
    runner = ProcessorRunner(PutFile)
    runner.set_property("Directory", str(out))
    for i in range(count):
        block[:8] = i.to_bytes(8, "little")
        runner.enqueue(bytes(block), {"filename": f"f{i:05d}.bin"})
    os.sync()
    start = time.perf_counter()
    runner.run(count)  # at least one FlowFile per trigger: more triggers than needed, the last ones idle
    elapsed = time.perf_counter() - start
    if runner.queue_size:
        raise RuntimeError(f"PutFile left {runner.queue_size} flowfiles queued")
    _check_copied(out, count)
    return count * _MIB / elapsed / 1e6


def alternate(sides: dict[str, Callable[[Path], float]], rounds: int = _ROUNDS) -> dict[str, list[float]]:
    """Run each side once per round, in turn, each on fresh files; the MB/s of every run."""
    base = os.environ.get("BENCH_FILES_DIR")
    figures: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, once in sides.items():
            with tempfile.TemporaryDirectory(dir=base, prefix="bench-files-") as tmp:
                figures[name].append(once(Path(tmp)))
    return figures


def putfile_1mib() -> None:
    figures = alternate({"cp_sync": cp_sync_once, "putfile": putfile_once, "putfile_only": putfile_only_once})
    ceiling, ours = statistics.median(figures["cp_sync"]), statistics.median(figures["putfile"])
    alone = statistics.median(figures["putfile_only"])
    print(f"BENCH putfile_1mib {ours:.0f} MB/s")
    print(f"BENCH cp_sync_1mib {ceiling:.0f} MB/s")
    print(f"BENCH putfile_vs_cp_sync {ours / ceiling:.2f} x")
    print(f"BENCH putfile_only_1mib {alone:.0f} MB/s")
    print(f"BENCH putfile_only_vs_cp_sync {alone / ceiling:.2f} x")


def getfile_only_once(tmp: Path, count: int = _COUNT) -> float:
    """MB/s of GetFile alone taking ``count`` 1 MiB files into an on-disk repository."""
    src = tmp / "in"
    _make_sources(src, count)
    repos = Repositories.open(tmp / "repo")
    try:
        repos.recover()
        runner = ProcessorRunner(GetFile, repositories=repos)
        runner.set_property("Input Directory", str(src))
        runner.set_property("Keep Source File", "true")  # listed once: the polling interval is not over
        runner.set_property("Batch Size", "16")
        runner.set_property("Polling Interval", "1 hour")
        start = time.perf_counter()
        runner.run(-(-count // 16))
        elapsed = time.perf_counter() - start
        taken = len(runner.flowfiles_for("success"))
        if taken != count:
            raise RuntimeError(f"GetFile took {taken} files, expected {count}")
    finally:
        repos.close()
    return count * _MIB / elapsed / 1e6


def getfile_1mib() -> None:
    figures = alternate({"getfile_only": getfile_only_once})
    print(f"BENCH getfile_1mib {statistics.median(figures['getfile_only']):.0f} MB/s")


BENCHMARKS = {"putfile_1mib": putfile_1mib, "getfile_1mib": getfile_1mib}
