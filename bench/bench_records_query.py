"""Benchmarks of the record routing processors (QueryRecord, ...)."""

from __future__ import annotations

from collections.abc import Callable

BENCHMARKS: dict[str, Callable[[], None]] = {}
