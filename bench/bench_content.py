"""Benchmarks of the content processors (issue 12); each prints ``BENCH <name> <value> <unit>``.

They run the processor through ``ProcessorRunner`` (the production session
on in-memory repositories), so the figures include session bookkeeping and
the commit, not only the processor's own work.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flowyard.processors.split_text import SplitText
from flowyard.runtime.sdk.testing import ProcessorRunner

_LINES = 100_000


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


BENCHMARKS: dict[str, Callable[[], None]] = {"splittext_100k_lines": splittext_100k_lines}
