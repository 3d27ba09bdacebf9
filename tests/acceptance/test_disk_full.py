"""A full disk is back pressure, not an error storm (issue 11). On a size-limited
tmpfs holding the data directory, a flow of numbered flowfiles runs while a
ballast file fills the disk: processing pauses with one bulletin and no busy
loop, resumes by itself when the ballast goes, and at the end every flowfile is
written exactly once with its exact content; a restart finds nothing lost."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from engine_process import EngineProcess, wait_until, write_flow
from flowyard_test_processors import expected_content

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MiB = 1024 * 1024


@contextlib.contextmanager
def tmpfs(path: Path, size_mib: int) -> Iterator[Path]:
    """A tmpfs of ``size_mib`` MiB mounted at ``path`` (needs root, as in CI)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root (CI runs as root)")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0700", "tmpfs", str(path)], check=True,
                   timeout=30)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, timeout=30)


def fill(path: Path, leave: int = 0) -> Path:
    """Write a ballast file until the file system has ``leave`` bytes free (or none)."""
    ballast = path / "ballast"
    chunk = b"\0" * MiB
    with open(ballast, "wb", buffering=0) as fh:
        try:
            while os.statvfs(path).f_bavail * os.statvfs(path).f_frsize > leave + len(chunk):
                fh.write(chunk)
            fh.write(b"\0" * max(0, os.statvfs(path).f_bavail * os.statvfs(path).f_frsize - leave))
        except OSError:
            pass  # full
    return ballast


def count_files(directory: Path) -> int:
    return sum(1 for n in os.listdir(directory) if not n.startswith(".")) if directory.exists() else 0


def cpu_percent(pid: int, seconds: float) -> float:
    process = psutil.Process(pid)
    process.cpu_percent(None)
    time.sleep(seconds)  # a measuring window, not a wait for a result
    return process.cpu_percent(None)


@pytest.mark.parametrize(("content_size", "total", "leave"), [
    (10_000, 3_000, 0),             # small flowfiles; the disk filled to the last byte: a write fails
    (2 * MiB, 24, 3 * MiB),         # 2 MB flowfiles; free space left below the floor: paused before failing
], ids=["10 KB, full to the byte", "2 MB, below the floor"])
def test_a_full_disk_pauses_and_resumes_without_loss(tmp_path: Path, content_size: int, total: int,
                                                    leave: int) -> None:
    out = tmp_path / "out"
    with tmpfs(tmp_path / "fs", 96) as fs:
        data = fs / "data"
        flow = write_flow(tmp_path / "flow.json", [
            {"identifier": "src", "type": "SequenceSource", "schedulingPeriod": "50 ms",
             "properties": {"Count": str(total), "Batch Size": str(max(1, total // 60)),
                            "Content Size": str(content_size)}},
            {"identifier": "tag", "type": "UpdateAttribute", "properties": {"seen": "yes"}},
            {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
             "properties": {"Directory": str(out), "Conflict Resolution Strategy": "fail"}},
        ], [
            {"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "tag"},
             "selectedRelationships": ["success"]},
            {"identifier": "c1", "source": {"id": "tag"}, "destination": {"id": "put"},
             "selectedRelationships": ["success"]},
        ])
        engine = EngineProcess(flow, data, extra_args=["--disk-pause-below", "8 MB", "--disk-resume-above", "16 MB"],
                               log=tmp_path / "engine.log")  # not on the full disk
        try:
            engine.wait_ready()
            wait_until(lambda: count_files(out) > 0, timeout=60, what="the first files")
            ballast = fill(fs, leave)
            wait_until(lambda: "processing is paused" in engine.output(), timeout=60, what="the pause bulletin")
            written = count_files(out)
            assert cpu_percent(engine.proc.pid, 3.0) < 20, "no busy loop while paused"
            assert count_files(out) - written <= total // 60 + 1, "at most a batch in flight finishes"
            ballast.unlink()
            wait_until(lambda: "processing resumed" in engine.output(), timeout=60, what="the resume bulletin")
            wait_until(lambda: count_files(out) >= total, timeout=300, what=f"{total} files")
            assert engine.terminate() == 0, engine.output()[-3000:]
        finally:
            engine.finish()
        output = engine.output()
        assert output.count("processing is paused") == 2, "one bulletin (logged once and printed once)"
        assert "Traceback" not in output
        names = sorted(n for n in os.listdir(out) if not n.startswith("."))
        assert names == [f"{seq:08d}.dat" for seq in range(total)], "every flowfile, exactly once"
        for seq in range(total):
            assert (out / f"{seq:08d}.dat").read_bytes() == expected_content(seq, content_size), seq
        again = EngineProcess(flow, data, log=tmp_path / "again.log")
        try:
            again.wait_ready()
            assert "0 flowfile(s) recovered" in again.output()
            assert again.terminate() == 0
        finally:
            again.finish()


def test_sigterm_on_a_full_disk_stops_cleanly_and_nothing_is_lost(tmp_path: Path) -> None:
    total, content_size = 2_000, 10_000
    out = tmp_path / "out"
    with tmpfs(tmp_path / "fs", 96) as fs:
        data = fs / "data"
        flow = write_flow(tmp_path / "flow.json", [
            {"identifier": "src", "type": "SequenceSource", "schedulingPeriod": "50 ms",
             "properties": {"Count": str(total), "Batch Size": "40", "Content Size": str(content_size)}},
            {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
             "properties": {"Directory": str(out), "Conflict Resolution Strategy": "fail"}},
        ], [{"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "put"},
             "selectedRelationships": ["success"]}])
        args = ["--disk-pause-below", "8 MB", "--disk-resume-above", "16 MB"]
        engine = EngineProcess(flow, data, extra_args=args, log=tmp_path / "engine.log")
        try:
            engine.wait_ready()
            wait_until(lambda: count_files(out) > 0, timeout=60, what="the first files")
            ballast = fill(fs)  # to the last byte: a write fails and its group is held
            wait_until(lambda: "processing is paused" in engine.output(), timeout=60, what="the pause bulletin")
            assert engine.terminate() == 0, engine.output()[-3000:]
        finally:
            engine.finish()
        assert "Traceback" not in engine.output()
        ballast.unlink()
        again = EngineProcess(flow, data, extra_args=args, log=tmp_path / "again.log")
        try:
            again.wait_ready()
            wait_until(lambda: count_files(out) >= total, timeout=300, what=f"{total} files")
            assert again.terminate() == 0, again.output()[-3000:]
        finally:
            again.finish()
        names = sorted(n for n in os.listdir(out) if not n.startswith("."))
        assert names == [f"{seq:08d}.dat" for seq in range(total)], "every flowfile, exactly once"
        for seq in range(total):
            assert (out / f"{seq:08d}.dat").read_bytes() == expected_content(seq, content_size), seq
