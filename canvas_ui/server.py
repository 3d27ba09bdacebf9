"""``flowyard serve``: the engine and the HTTP API in one ``trio.run``."""

from __future__ import annotations

import functools
import signal
import sys
from pathlib import Path
from typing import TextIO

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from flowyard.canvas_ui.app import create_app
from flowyard.canvas_ui.auth import AuthManager
from flowyard.runtime.service import FlowService

__all__ = ["serve"]


async def serve(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    initial_flow: Path | None = None,
    out: TextIO = sys.stdout,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Open the data directory, run the engine and the API until SIGINT/SIGTERM
    (or cancellation), then shut down cleanly. Reports the bound URLs."""
    service = FlowService.open(data_dir, initial_flow=initial_flow)
    try:
        auth = AuthManager(data_dir)
        app = create_app(service, auth)
        config = Config()
        config.bind = [f"{host}:{port}"]
        config.graceful_timeout = 1.0
        config.accesslog = None
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            binds = await nursery.start(functools.partial(hypercorn_serve, app, config,  # type: ignore[arg-type]
                                                          shutdown_trigger=stop.wait))
            if auth.generated_password:
                out.write(f"first start: log in as {auth.username!r} with password "
                          f"{auth.generated_password!r} (shown once; change it with FLOWYARD_USERNAME/"
                          "FLOWYARD_PASSWORD)\n")
            out.write(f"flowyard serving {', '.join(binds)} (data in {data_dir}). Ctrl-C stops.\n")
            out.flush()
            task_status.started(list(binds))
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    out.write("stopping...\n")
                    out.flush()
                    break
            stop.set()
            service.request_stop()
    finally:
        service.close()
    out.write("stopped cleanly\n")
