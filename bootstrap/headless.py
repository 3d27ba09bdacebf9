"""``flowyard run`` and ``flowyard demo --headless``: an engine without the web API,
printing a status line a second until SIGINT or SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, TextIO

import trio

from flowyard.bootstrap.compose import open_engine, open_service
from flowyard.bootstrap.demo import demo_flow
from flowyard.runtime.engine import Engine, EngineStatus
from flowyard.runtime.sdk import format_data_size
from flowyard.runtime.shutdown import DEFAULT_GRACE_SECONDS, stop_signals

__all__ = ["print_status", "run_demo", "run_engine", "run_flow"]


def _format_status(status: EngineStatus, previous: EngineStatus | None, seconds: float) -> str:
    def rate(now: int, before: int | None) -> str:
        if before is None or seconds <= 0:
            return "-"
        return f"{(now - before) / seconds:,.0f}/s"

    return (
        f"in {status.flowfiles_in:,} ({rate(status.flowfiles_in, previous.flowfiles_in if previous else None)})"
        f" | out {status.flowfiles_out:,} ({rate(status.flowfiles_out, previous.flowfiles_out if previous else None)})"
        f" | queued {status.queued_count:,} ({format_data_size(status.queued_bytes)})"
        f" | running {status.running}/{status.running + status.stopped}"
        f"{f' | invalid {status.invalid}' if status.invalid else ''}"
        f" | bulletins {status.bulletins}"
    )


async def print_status(engine: Engine, out: TextIO, interval: float = 1.0) -> None:
    """Every ``interval`` seconds, print the bulletins that are new since the last
    line (at most the ones the engine still holds) and a status line (rewritten
    in place on a terminal). Runs until cancelled."""
    previous: EngineStatus | None = None
    tty = out.isatty()
    printed = 0
    while True:
        await trio.sleep(interval)
        status = engine.status()
        new = min(engine.bulletin_count - printed, len(engine.bulletins))
        for b in list(engine.bulletins)[len(engine.bulletins) - new:]:
            out.write(("\n" if tty else "") + f"[{b.level}] {b.component_name}: {b.message}\n")
        printed = engine.bulletin_count
        line = _format_status(status, previous, interval)
        out.write(f"\r{line}\x1b[K" if tty else line + "\n")
        out.flush()
        previous = status


async def run_engine(engine: Engine, what: str, out: TextIO, stop_timeout: float = DEFAULT_GRACE_SECONDS) -> None:
    """Run ``engine`` until SIGINT or SIGTERM, printing a status line a second.
    A stop that takes longer than ``stop_timeout`` seconds ends the process."""

    def on_signal(signum: int) -> None:
        out.write(f"\nreceived {signal.Signals(signum).name}, stopping...\n")
        out.flush()
        engine.request_stop()

    with stop_signals(on_signal, grace=stop_timeout, out=out):
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)  # enables the controller services, then starts what is valid
            for node in engine.nodes.values():
                if node.definition.scheduled_state == "RUNNING" and not node.is_valid:
                    out.write(f"[WARNING] {node.name} is invalid and will not run: "
                              + "; ".join(map(str, node.validation)) + "\n")
            recovered = sum(q.count for q in engine.queues.values())
            out.write(f"flowyard running {what}; {recovered:,} flowfile(s) recovered. Ctrl-C stops.\n")
            out.flush()
            nursery.start_soon(print_status, engine, out)
            await engine.finished.wait()
            nursery.cancel_scope.cancel()


async def run_flow(flow_path: Path, data_dir: Path, durability: str, out: TextIO,
                   stop_timeout: float = DEFAULT_GRACE_SECONDS, engine_options: dict[str, Any] | None = None) -> int:
    """``flowyard run``: the flow file as it is over ``data_dir``'s repositories. Returns the exit status."""
    with open_engine(flow_path, data_dir, durability=durability, engine_options=engine_options) as engine:
        await run_engine(engine, f"{flow_path} (data in {data_dir}, durability {durability})", out, stop_timeout)
    out.write("stopped cleanly\n")
    return 0


async def run_demo(data_dir: Path, out: TextIO, stop_timeout: float = DEFAULT_GRACE_SECONDS,
                   engine_options: dict[str, Any] | None = None, which: str = "standard") -> int:
    """``flowyard demo --headless``: the demo flow ``which`` through the service, as
    the served demo runs it, so the same ``DATA/flow.json`` (with any edits made
    through the API) runs on the same repositories in both modes."""
    with demo_flow(data_dir, which, out) as initial:
        service = open_service(data_dir, initial_flow=initial, engine_options=engine_options)
    try:
        what = "the demo flow" if which == "standard" else f"the {which} demo flow"
        await run_engine(service.engine, f"{what} (data in {data_dir}, durability os)", out, stop_timeout)
    finally:
        service.close()
    out.write("stopped cleanly\n")
    return 0
