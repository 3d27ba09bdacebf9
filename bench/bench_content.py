"""Benchmarks of the content processors (issue 12); each prints ``BENCH <name> <value> <unit>``.

They run the processor through ``ProcessorRunner`` (the production session
on in-memory repositories), so the figures include session bookkeeping and
the commit, not only the processor's own work.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable

from flowyard.processors.compress_content import CompressContent
from flowyard.processors.split_text import SplitText
from flowyard.runtime.sdk.testing import ProcessorRunner

_LINES = 100_000
_MIB = 1 << 20
_GZIP_FLOWFILES = 64


def _log_like_mib(seed: int) -> bytes:
    """1 MiB of log-like text (compresses about 4:1 with gzip -1), different for each seed."""
    rng = random.Random(seed)
    words = [b"GET", b"POST", b"/api/v1/items", b"/login", b"200", b"404", b"user", b"session", b"error", b"ok"]
    lines = []
    size = 0
    while size < _MIB:
        line = b"2026-12-07T01:%02d:%02d %s %s id=%d\n" % (
            rng.randrange(60), rng.randrange(60), rng.choice(words), rng.choice(words), rng.randrange(10**9))
        lines.append(line)
        size += len(line)
    return b"".join(lines)[:_MIB]


def splittext_100k_lines() -> None:
    """One FlowFile of 100,000 lines split into 1-line fragments: lines per second."""
    content = b"".join(b"line %d of the benchmark text\n" % i for i in range(_LINES))
    runner = ProcessorRunner(SplitText)
    runner.set_property("Line Split Count", "1")
    runner.auto_terminate("original", "splits")
    runner.enqueue(content, {"filename": "big.txt"})
    started = time.perf_counter()
    runner.run()
    elapsed = time.perf_counter() - started
    assert runner.queue_size == 0 and not runner.errors
    print(f"BENCH splittext_100k_lines {_LINES / elapsed:.0f} lines/s")


def compress_gzip_1mib() -> None:
    """CompressContent gzip (level 1, the default) of 64 one-MiB FlowFiles: MB/s of input; then the
    ``gzip -1`` command on the same 64 MiB in one run (its codec speed, no per-file start-up), MB/s."""
    contents = [_log_like_mib(seed) for seed in range(_GZIP_FLOWFILES)]
    runner = ProcessorRunner(CompressContent)
    runner.set_property("Mode", "compress")
    runner.set_property("Compression Format", "gzip")
    runner.auto_terminate("success", "failure")
    runner.enqueue_many((content, {"filename": f"f{i}.log"}) for i, content in enumerate(contents))
    started = time.perf_counter()
    while runner.queue_size:
        runner.run()
    elapsed = time.perf_counter() - started
    assert not runner.errors
    total_mb = _GZIP_FLOWFILES * _MIB / 1e6
    print(f"BENCH compress_gzip_1mib {total_mb / elapsed:.1f} MB/s")

    gzip_cli = shutil.which("gzip")
    if gzip_cli is None:
        print("BENCH compress_gzip_1mib_cli 0 MB/s (no gzip command)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.log")
        with open(path, "wb") as out:
            out.writelines(contents)
        started = time.perf_counter()
        with open(path, "rb") as source:
            subprocess.run([gzip_cli, "-1", "-c"], stdin=source, stdout=subprocess.DEVNULL, check=True)
        elapsed = time.perf_counter() - started
    print(f"BENCH compress_gzip_1mib_cli {total_mb / elapsed:.1f} MB/s")


BENCHMARKS: dict[str, Callable[[], None]] = {
    "splittext_100k_lines": splittext_100k_lines,
    "compress_gzip_1mib": compress_gzip_1mib,
}
