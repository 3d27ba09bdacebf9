"""Benchmarks of the text processors (issue 12); each prints ``BENCH <name> <value> <unit>``.

They run the processor through ``ProcessorRunner`` (the production session on
in-memory repositories, a commit per trigger as in the engine), so the
figures include session bookkeeping and the commit, not only the
processor's own work.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flowyard.processors.replace_text import ReplaceText
from flowyard.runtime.sdk.testing import ProcessorRunner

_FLOWFILES = 1000
_ROUNDS = 5


def replacetext_regex_1k() -> None:
    """1,000 small JSON-ish FlowFiles (about 90 bytes, a few attributes) through
    ReplaceText, Regex Replace in 'Entire text' mode with a back-reference
    (``"status":"(\\w+)"`` → ``"status":"$1-seen"``): FlowFiles per second,
    best of 5 rounds, each on a fresh runner."""
    best = float("inf")
    for _ in range(_ROUNDS):
        runner = ProcessorRunner(ReplaceText)
        runner.set_property("Evaluation Mode", "Entire text")
        runner.set_property("Search Value", '"status":"(\\w+)"')
        runner.set_property("Replacement Value", '"status":"$1-seen"')
        runner.enqueue_many(
            (b'{"event": %d, "status":"open", "user": "u%d", "payload": "benchmark text"}' % (i, i % 97),
             {"filename": f"e{i}.json", "mime.type": "application/json"})
            for i in range(_FLOWFILES)
        )
        started = time.perf_counter()
        while runner.queue_size:
            runner.run(stop_on_finish=False)
        elapsed = time.perf_counter() - started
        runner.stop()
        out = runner.flowfiles_for("success")
        assert len(out) == _FLOWFILES and not runner.errors
        assert b'"status":"open-seen"' in out[0].content
        best = min(best, elapsed)
    print(f"BENCH replacetext_regex_1k {_FLOWFILES / best:.0f} flowfiles/s")


BENCHMARKS: dict[str, Callable[[], None]] = {"replacetext_regex_1k": replacetext_regex_1k}
