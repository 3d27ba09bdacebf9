"""The cycle collector's pauses (runtime/engine/_gcpause.py): they nest, come back
to what was before, and an ``alone`` pause never stretches another."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from flowyard.runtime.engine._gcpause import collector_paused


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_a_pause_turns_the_collector_off_and_back_on() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pauses_nest_the_collector_returns_when_the_last_ends() -> None:
    outer = collector_paused()
    outer.__enter__()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled(), "the outer pause still holds"
    outer.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_an_alone_pause_inside_another_does_not_outlast_it() -> None:
    outer = collector_paused(alone=True)
    outer.__enter__()
    inner = collector_paused(alone=True)
    inner.__enter__()
    outer.__exit__(None, None, None)
    assert gc.isenabled(), "the first pause ended: the collector runs, though the second is still in its block"
    inner.__exit__(None, None, None)
    assert gc.isenabled()


def test_the_collector_comes_back_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
