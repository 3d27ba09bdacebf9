"""Benchmarks of the merge processors (issue 12); each prints ``BENCH <name> <value> <unit>``.

They run the processor through ``ProcessorRunner`` (the production session
on in-memory repositories), so the figures include session bookkeeping and
the commit, not only the processor's own work.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flowyard.processors.merge_content import MergeContent
from flowyard.runtime.sdk.testing import ProcessorRunner

_FLOWFILES = 1000
_ROUNDS = 5


def merge_1k_to_1() -> None:
    """1,000 small FlowFiles (about 40 bytes, a few attributes) merged into one by
    Binary Concatenation with a newline demarcator: input FlowFiles per second
    (best of 5 rounds, each on a fresh runner)."""
    best = float("inf")
    for _ in range(_ROUNDS):
        runner = ProcessorRunner(MergeContent)
        runner.set_property("Delimiter Strategy", "Text")
        runner.set_property("Demarcator", "\n")
        runner.auto_terminate("original")
        runner.enqueue_many(
            (b'{"event": %d, "payload": "benchmark"}' % i, {"filename": f"e{i}.json", "mime.type": "application/json"})
            for i in range(_FLOWFILES)
        )
        started = time.perf_counter()
        runner.run()
        elapsed = time.perf_counter() - started
        merged = runner.flowfiles_for("merged")
        assert len(merged) == 1 and merged[0].attributes["merge.count"] == str(_FLOWFILES) and not runner.errors
        best = min(best, elapsed)
    print(f"BENCH merge_1k_to_1 {_FLOWFILES / best:.0f} flowfiles/s")


BENCHMARKS: dict[str, Callable[[], None]] = {"merge_1k_to_1": merge_1k_to_1}
