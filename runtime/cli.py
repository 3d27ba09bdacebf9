"""The ``flowyard`` command.

    flowyard run FLOW.json --data-dir DIR [--durability os|sync]
    flowyard demo [--data-dir DIR]
    flowyard serve [--data-dir DIR] [--host 127.0.0.1] [--port 8080] [--flow FLOW.json]
    flowyard set-credentials [--data-dir DIR] [--username NAME]   (password from the terminal or stdin)
    flowyard el TEXT [--attributes FILE.json] [--parameters FILE.json] [--typed]

``run`` runs a flow until SIGINT or SIGTERM, printing one status line a
second. Exit status: 0 after a clean shutdown, 2 when the flow or the data
directory cannot be used (the message says what and where; nothing was
changed), 1 for anything unexpected.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import logging
import signal
import sys
from importlib import resources
from pathlib import Path
from typing import TextIO

import trio

from flowyard.runtime.engine import Engine, EngineStatus
from flowyard.runtime.flow import load_flow
from flowyard.runtime.registry import discover_processors
from flowyard.runtime.repository import DURABILITY_MODES, Repositories
from flowyard.runtime.sdk._errors import ConfigurationError, RepositoryError
from flowyard.runtime.sdk._units import format_data_size

__all__ = ["main"]

DEMO_FLOW = "demo/demo-flow.json"


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


async def _print_status(engine: Engine, out: TextIO, interval: float = 1.0) -> None:
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


async def _run(flow_path: Path, data_dir: Path, durability: str, out: TextIO) -> int:
    flow = load_flow(flow_path)
    registry = discover_processors()
    repositories = Repositories.open(data_dir / "repository", durability=durability)
    try:
        engine = Engine(flow, repositories, registry=registry, source=str(flow_path))
        for node in engine.nodes.values():
            if node.definition.scheduled_state == "RUNNING" and not node.is_valid:
                out.write(f"[WARNING] {node.name} is invalid and will not run: "
                          + "; ".join(map(str, node.validation)) + "\n")
        async with trio.open_nursery() as nursery:
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                await nursery.start(engine.run)
                recovered = sum(q.count for q in engine.queues.values())
                out.write(f"flowyard running {flow_path} (data in {data_dir}, durability {durability}); "
                          f"{recovered:,} flowfile(s) recovered. Ctrl-C stops.\n")
                out.flush()
                nursery.start_soon(_print_status, engine, out)
                async for signum in signals:
                    out.write(f"\nreceived {signal.Signals(signum).name}, stopping...\n")
                    out.flush()
                    engine.request_stop()
                    break
            await engine.finished.wait()
            nursery.cancel_scope.cancel()
    finally:
        repositories.close()
    out.write("stopped cleanly\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowyard", description="A visual dataflow routing engine.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a flow headless until interrupted")
    run.add_argument("flow", type=Path, help="flow definition (JSON)")
    run.add_argument("--data-dir", type=Path, default=Path("data"), help="repositories live here (default: data)")
    run.add_argument("--durability", choices=DURABILITY_MODES, default="os",
                     help="os (default): survives kill -9; sync: fsync per commit group, survives power loss")
    demo = sub.add_parser("demo", help="run the bundled demo flow")
    demo.add_argument("--data-dir", type=Path, default=Path("data/demo"))
    srv = sub.add_parser("serve", help="run the flow of a data directory with the web API")
    srv.add_argument("--data-dir", type=Path, default=Path("data"))
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    srv.add_argument("--port", type=int, default=8080)
    srv.add_argument("--flow", type=Path, help="initial flow when the data directory has none yet")
    cred = sub.add_parser("set-credentials", help="set the web API's username and password")
    cred.add_argument("--data-dir", type=Path, default=Path("data"))
    cred.add_argument("--username", default="admin")
    el = sub.add_parser("el", help="evaluate an Expression Language text, to try an expression out")
    el.add_argument("text", help="text with ${...} expressions, e.g. \"${filename:toUpper()}\"")
    el.add_argument("--attributes", type=Path, help="JSON object of flowfile attributes")
    el.add_argument("--parameters", type=Path, help="JSON object of parameters for #{...}")
    el.add_argument("--typed", action="store_true",
                    help="TEXT is one ${...} expression: print its type and value")
    return parser


def _set_credentials(args: argparse.Namespace) -> int:
    """Read the new password twice from the terminal (or once from stdin) and store its hash."""
    import getpass

    auth_module = importlib.import_module("flowyard.canvas_ui.auth")
    if sys.stdin.isatty():
        password = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != password:
            print("flowyard: the passwords differ; nothing changed", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        print("flowyard: the password must have at least 8 characters; nothing changed", file=sys.stderr)
        return 2
    auth_module.store_credentials(args.data_dir, args.username, password)
    print(f"credentials for {args.username!r} stored in {args.data_dir} (takes effect at the next start)")
    return 0


def _json_object(path: Path | None, what: str) -> dict[str, str]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the {what} file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"the {what} file {path} must hold a JSON object")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def _el(args: argparse.Namespace) -> int:
    from flowyard.runtime import expression

    attributes = _json_object(args.attributes, "attributes")
    parameters = _json_object(args.parameters, "parameters")
    try:
        if args.typed:
            result = expression.evaluate_typed(args.text, attributes, parameters=parameters)
            print(f"{result.type or 'null'}: {result}")
        else:
            print(expression.evaluate(args.text, attributes, parameters=parameters))
    except expression.ExpressionError as exc:
        print(f"flowyard: invalid expression: {exc.reason} at position {exc.position}", file=sys.stderr)
        print(f"  {args.text}", file=sys.stderr)
        print(f"  {' ' * exc.position}^", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``flowyard`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "el":
        try:
            return _el(args)
        except ConfigurationError as exc:
            print(f"flowyard: error: {exc}", file=sys.stderr)
            return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "set-credentials":
        return _set_credentials(args)
    if args.command == "serve":
        # The API layer sits above the runtime: imported by name, only here.
        server = importlib.import_module("flowyard.canvas_ui.server")
        try:
            trio.run(functools.partial(server.serve, args.data_dir, host=args.host, port=args.port,
                                       initial_flow=args.flow))
        except (ConfigurationError, RepositoryError) as exc:
            print(f"flowyard: error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "demo":
        flow_path = Path(str(resources.files("flowyard.runtime").joinpath(DEMO_FLOW)))
        data_dir, durability = args.data_dir, "os"
    else:
        flow_path, data_dir, durability = args.flow, args.data_dir, args.durability
    try:
        return trio.run(_run, flow_path, data_dir, durability, sys.stdout)
    except (ConfigurationError, RepositoryError) as exc:
        print(f"flowyard: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
