"""Expression Language benchmark: evaluations/s (issue 3 wants at least 300,000/s each;
issue 16: EL boolean evaluation at least 300,000/s).

``el_eval_*`` evaluate a compiled expression against a plain dict. ``el_route_*`` evaluate
boolean conditions the way RouteOnAttribute does: a dynamic property's ``PropertyValue``
(with the evaluator the engine gives processors) evaluated against a FlowFile's attributes
(``FlowFile.attributes``, which also answers ``fileSize``), its text read with ``is_true``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flowyard.processors._common import is_true
from flowyard.runtime import expression
from flowyard.runtime.sdk import FlowFile
from flowyard.runtime.sdk._property_value import PropertyValue

CASES = {
    "el_eval_string_chain": "${filename:substringBeforeLast('.'):toUpper():append('.csv')}",
    "el_eval_boolean": "${size:toNumber():gt(1000):and(${type:equals('a')})}",
}
ATTRIBUTES = {"filename": "monthly-report.2026.txt", "size": "2048", "type": "a", "path": "./in"}

#: RouteOnAttribute conditions (``_matching``: ``is_true(condition.evaluate(ff.attributes).value)``).
ROUTE_CASES = {
    "el_route_boolean_and": "${filename:endsWith('.csv'):and(${fileSize:gt(1000)})}",
    "el_route_equals": "${attr:equals('v5')}",
}
_NOW = 1_765_000_000_000
FLOWFILE = FlowFile((1, {"uuid": "0b1c8a56-3f0e-4d7a-9b8e-2f4d6c1a9e07", "filename": "orders-2026-12.csv",
                         "path": "./in", "attr": "v5", "mime.type": "text/csv"}, None, 2048, _NOW, _NOW, 0, 0))


def _measure(call: Callable[[], object], seconds: float = 2.0) -> float:
    n = 0
    start = time.perf_counter()
    while True:
        for _ in range(10_000):
            call()
        n += 10_000
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def _rate(text: str) -> float:
    evaluate = expression.compile(text).evaluate
    return _measure(lambda: evaluate(ATTRIBUTES))


def _route_rate(text: str) -> float:
    condition = PropertyValue(text, None, evaluator=expression.evaluator({}), name="condition")
    ff = FLOWFILE
    if not is_true(condition.evaluate(ff.attributes).value):
        raise AssertionError(f"{text} should be true for the benchmark's flowfile")
    return _measure(lambda: is_true(condition.evaluate(ff.attributes).value))


def el_compile_10kb() -> None:
    """Seconds to compile a 10 KB expression (issue 3: well under a second)."""
    text = "${x:equals('abc'):and(${type:equals('a')})}" * 250
    times = []
    for _ in range(5):
        expression.compile.cache_clear()
        start = time.perf_counter()
        expression.compile(text)
        times.append(time.perf_counter() - start)
    print(f"BENCH el_compile_10kb {sorted(times)[2] * 1000:.1f} ms")


def el_eval() -> None:
    for name, text in CASES.items():
        print(f"BENCH {name} {_rate(text):.0f} evaluations/s")
    for name, text in ROUTE_CASES.items():
        print(f"BENCH {name} {_route_rate(text):.0f} evaluations/s")


BENCHMARKS = {"el_eval": el_eval, "el_compile_10kb": el_compile_10kb}
