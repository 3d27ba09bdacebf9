"""Benchmarks of the json processors (issue 12); each prints ``BENCH <name> <value> <unit>``.

They run the processor through ``ProcessorRunner`` (the production session on
in-memory repositories, a commit per trigger as in the engine), so the
figures include session bookkeeping and the commit, not only the
processor's own work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from flowyard.processors.evaluate_json_path import EvaluateJsonPath
from flowyard.processors.jolt_transform_json import JoltTransformJSON
from flowyard.runtime.sdk import Processor
from flowyard.runtime.sdk.testing import ProcessorRunner

_FLOWFILES = 1000
_ROUNDS = 5


def _events() -> list[tuple[bytes, dict[str, str]]]:
    """1,000 small JSON events (about 200 bytes each)."""
    return [
        (json.dumps({
            "id": f"evt-{i}", "type": "click" if i % 3 else "view", "ts": 1_700_000_000 + i,
            "user": {"id": i % 97, "name": f"user{i % 97}", "tags": ["a", "b"]},
            "items": [{"sku": f"s{i % 13}", "qty": i % 5 + 1, "price": 9.99}],
        }).encode(), {"filename": f"e{i}.json"})
        for i in range(_FLOWFILES)
    ]


def _best_rate(processor: type[Processor], properties: dict[str, str], check: Callable[[bytes, dict[str, str]], bool],
               relationship: str) -> float:
    best = float("inf")
    events = _events()
    for _ in range(_ROUNDS):
        runner = ProcessorRunner(processor)
        for name, value in properties.items():
            runner.set_property(name, value)
        runner.enqueue_many(events)
        started = time.perf_counter()
        while runner.queue_size:
            runner.run(stop_on_finish=False)
        elapsed = time.perf_counter() - started
        runner.stop()
        out = runner.flowfiles_for(relationship)
        assert len(out) == _FLOWFILES and not runner.errors
        assert check(out[0].content, out[0].attributes)
        best = min(best, elapsed)
    return _FLOWFILES / best


def evaluatejsonpath_1k() -> None:
    """1,000 small JSON events through EvaluateJsonPath, four paths (two
    definite, a filter and a deep scan) to attributes: FlowFiles per second,
    best of 5 rounds, each on a fresh runner."""
    rate = _best_rate(
        EvaluateJsonPath,
        {"Destination": "flowfile-attribute", "Return Type": "json", "event.id": "$.id", "user.name": "$.user.name",
         "cheap": "$.items[?(@.price < 10)].sku", "skus": "$..sku"},
        lambda content, attributes: attributes["event.id"] == "evt-0" and attributes["skus"] == '["s0"]',
        "matched",
    )
    print(f"BENCH evaluatejsonpath_1k {rate:.0f} flowfiles/s")


def jolt_shift_1k() -> None:
    """1,000 small JSON events through JoltTransformJSON with a shift spec
    (renames, a wildcard over an array with ``&`` references and ``$`` keys):
    FlowFiles per second, best of 5 rounds, each on a fresh runner."""
    spec = {
        "id": "event.id", "type": "event.kind", "ts": "event.time",
        "user": {"id": "who.id", "name": "who.name", "tags": {"*": "who.tags[]"}},
        "items": {"*": {"sku": "lines[&1].product", "qty": "lines[&1].quantity", "$": "lines[&1].index"}},
    }
    rate = _best_rate(
        JoltTransformJSON,
        {"Jolt Transform": "jolt-transform-shift", "Jolt Specification": json.dumps(spec)},
        lambda content, attributes: json.loads(content)["event"]["id"] == "evt-0",
        "success",
    )
    print(f"BENCH jolt_shift_1k {rate:.0f} flowfiles/s")


BENCHMARKS: dict[str, Callable[[], None]] = {
    "evaluatejsonpath_1k": evaluatejsonpath_1k,
    "jolt_shift_1k": jolt_shift_1k,
}
