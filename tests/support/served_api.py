"""A flowyard server on port 0 with a flow and a logged-in API client, for API tests."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from flowyard.bootstrap.serve import serve


@asynccontextmanager
async def served_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flow: dict[str, Any], *,
                     timeout: float = 5.0) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """Serve ``flow`` from ``tmp_path/data`` as user alice; yields an httpx client
    (``timeout`` seconds per request) and the Authorization header of her bearer token."""
    monkeypatch.setenv("FLOWYARD_USERNAME", "alice")
    monkeypatch.setenv("FLOWYARD_PASSWORD", "s3cret-pass")
    initial = tmp_path / "initial.json"
    initial.write_text(json.dumps(flow))
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(lambda task_status: serve(tmp_path / "data", port=0, initial_flow=initial,
                                                              out=io.StringIO(), task_status=task_status))
        async with httpx.AsyncClient(base_url=str(binds[0]), timeout=timeout) as client:
            login = (await client.post("/api/login", json={"username": "alice", "password": "s3cret-pass"})).json()
            client.cookies.clear()
            yield client, {"Authorization": f"Bearer {login['token']}"}
        nursery.cancel_scope.cancel()
