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
    try:
        yield
    finally:
        gc.unfreeze()  # other tests build many engines: nothing stays frozen for them


async def _start_and_stop(engine: Engine) -> int:
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        frozen = gc.get_freeze_count()
        engine.request_stop()
    return frozen


@pytest.mark.parametrize("freeze", [True, False])
async def test_only_an_engine_told_to_freezes_the_heap(freeze: bool, unfrozen: None) -> None:
    engine = Engine(EMPTY, Repositories.in_memory(), registry=REGISTRY, freeze_heap=freeze)
    frozen = await _start_and_stop(engine)
    assert (frozen > 10_000) is freeze, frozen
