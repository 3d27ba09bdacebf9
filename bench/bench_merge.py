"""Benchmarks of the merge processors (issue 12); each prints ``BENCH <name> <value> <unit>``."""

from __future__ import annotations

from collections.abc import Callable

BENCHMARKS: dict[str, Callable[[], None]] = {}
