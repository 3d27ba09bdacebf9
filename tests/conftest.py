"""Shared test setup: the test processors folder on sys.path, and helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from trio.testing import MockClock

SUPPORT = Path(__file__).parent / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))


@pytest.fixture
def patient_clock() -> MockClock:
    """An autojump clock that jumps only after the loop has been idle for
    20 ms of real time. For tests that run an engine, whose triggers and
    commits run in worker threads: with trio's ``autojump_clock`` (threshold 0)
    the clock jumps as soon as the loop waits for such a thread, so a test's
    polling loop can race through minutes of clock time before a processor's
    first trigger has run."""
    return MockClock(autojump_threshold=0.02)


@pytest.fixture
def real_rate_clock() -> MockClock:
    """A trio clock that runs as the wall does and jumps only when the test
    says so (``real_rate_clock.jump(61)``). For tests of ages and expiry:
    under autojump, a worker thread (a fsync, the committer) that keeps the
    loop idle for a while lets the clock race ahead by any amount."""
    return MockClock(rate=1.0)
