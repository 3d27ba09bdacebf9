"""Benchmarks of the messaging connectors and processors (issue 13); each prints ``BENCH <name> <value> <unit>``."""

from __future__ import annotations

from collections.abc import Callable

BENCHMARKS: dict[str, Callable[[], None]] = {}
