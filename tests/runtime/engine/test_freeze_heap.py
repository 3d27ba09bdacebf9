"""``freeze_heap``: the CLI's engine hides what exists at start from the garbage collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
import trio

from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories

from flowyard_test_processors import PROCESSORS as REGISTRY

EMPTY = flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {}})


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()  # other tests build many engines: nothing stays frozen for them
        gc.set_threshold(*thresholds)


async def _start_and_stop(engine: Engine) -> int:
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        frozen = gc.get_freeze_count()
        engine.request_stop()
    return frozen


@pytest.mark.parametrize("freeze", [True, False])
async def test_only_an_engine_told_to_freezes_the_heap(freeze: bool, unfrozen: None) -> None:
    engine = Engine(EMPTY, Repositories.in_memory(), registry=REGISTRY, freeze_heap=freeze)
    before = gc.get_threshold()
    frozen = await _start_and_stop(engine)
    assert (frozen > 10_000) is freeze, frozen
    # the youngest generation is collected less often in the CLI's engine only
    assert gc.get_threshold() == ((10_000, 10, 10) if freeze else before)
