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
def real_rate_clock() -> MockClock:
    """A trio clock that runs as the wall does and jumps only when the test
    says so (``real_rate_clock.jump(61)``). For tests of ages and expiry:
    under autojump, a worker thread (a fsync, the committer) that keeps the
    loop idle for a while lets the clock race ahead by any amount."""
    return MockClock(rate=1.0)
