"""Expression Language benchmark: evaluations/s of compiled expressions (issue 3 wants
at least 300,000/s each)."""

from __future__ import annotations

import time

from flowyard.runtime import expression

CASES = {
    "el_eval_string_chain": "${filename:substringBeforeLast('.'):toUpper():append('.csv')}",
    "el_eval_boolean": "${size:toNumber():gt(1000):and(${type:equals('a')})}",
}
ATTRIBUTES = {"filename": "monthly-report.2026.txt", "size": "2048", "type": "a", "path": "./in"}


def _rate(text: str, seconds: float = 2.0) -> float:
    compiled = expression.compile(text)
    evaluate = compiled.evaluate
    n = 0
    start = time.perf_counter()
    while True:
        for _ in range(10_000):
            evaluate(ATTRIBUTES)
        n += 10_000
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


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


BENCHMARKS = {"el_eval": el_eval, "el_compile_10kb": el_compile_10kb}
