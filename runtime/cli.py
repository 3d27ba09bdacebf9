"""The ``flowyard`` command.

    flowyard run FLOW.json --data-dir DIR [--durability os|sync]
    flowyard demo [--flow standard|connectors] [--data-dir DIR] [--port 8080 | --headless]
    flowyard serve [--data-dir DIR] [--flow FLOW.json] [--host 127.0.0.1] [--port 8080] [--durability os|sync]
                   [--certfile CERT.pem --keyfile KEY.pem] [--provenance-max-age|-size|-events ...]
    flowyard set-credentials [--data-dir DIR] [--username NAME]   (password from the terminal or stdin)
    flowyard el TEXT [--attributes FILE.json] [--parameters FILE.json] [--typed]

``run`` runs a flow until SIGINT or SIGTERM, printing one status line a
second; ``serve`` runs a data directory's flow with the web API; ``demo``
serves a bundled demo flow (``--headless``: runs it like ``run``): the
standard one, or with ``--flow connectors`` the one that moves orders
through this machine's PostgreSQL, RabbitMQ and MQTT broker. Exit
status: 0 after a clean shutdown, 2 when an option, the flow or the data
directory cannot be used (the message says what and where; nothing was
changed), 1 for anything unexpected.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import logging
import os
import re
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import trio

from flowyard.runtime.datadir import OWNER_ONLY_UMASK, protect
from flowyard.runtime.engine import Engine, EngineStatus
from flowyard.runtime.engine._diskguard import DEFAULT_PAUSE_BELOW, DEFAULT_RESUME_ABOVE
from flowyard.runtime.flow import load_flow
from flowyard.runtime.registry import discover
from flowyard.runtime.repository import DURABILITY_MODES, Repositories
from flowyard.runtime.sdk._errors import ConfigurationError, RepositoryError
from flowyard.runtime.sdk._units import format_data_size, parse_data_size, parse_duration
from flowyard.runtime.service import FlowService
from flowyard.runtime.shutdown import DEFAULT_GRACE_SECONDS, stop_signals

__all__ = ["main"]

#: The bundled demo flows (``flowyard demo --flow NAME``) and their default data directories.
DEMO_FLOWS = {"standard": "demo/demo-flow.json", "connectors": "demo/connectors-flow.json"}
DEMO_DATA_DIRS = {"standard": Path("data/demo"), "connectors": Path("data/demo-connectors")}
DEMO_MAKE_TARGETS = {"standard": "demo", "connectors": "demo-connectors"}
#: How long the connectors demo waits for each server when it looks at them before starting.
SERVER_CHECK_SECONDS = 3.0


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


async def _run_engine(engine: Engine, what: str, out: TextIO, stop_timeout: float = DEFAULT_GRACE_SECONDS) -> None:
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
            nursery.start_soon(_print_status, engine, out)
            await engine.finished.wait()
            nursery.cancel_scope.cancel()


async def _run(flow_path: Path, data_dir: Path, durability: str, out: TextIO,
               stop_timeout: float = DEFAULT_GRACE_SECONDS, disk: dict[str, int] | None = None) -> int:
    flow = load_flow(flow_path)
    catalogue = discover()  # the same types serve and demo know
    repositories = Repositories.open(data_dir / "repository", durability=durability)
    try:
        protect(data_dir)
        disk = disk or {}
        engine = Engine(flow, repositories, registry=catalogue.processors,
                        service_types=catalogue.controller_services, source=str(flow_path),
                        disk_pause_below=disk.get("disk_pause_below", DEFAULT_PAUSE_BELOW),
                        disk_resume_above=disk.get("disk_resume_above", DEFAULT_RESUME_ABOVE))
        await _run_engine(engine, f"{flow_path} (data in {data_dir}, durability {durability})", out, stop_timeout)
    finally:
        repositories.close()
    out.write("stopped cleanly\n")
    return 0


async def _run_demo_headless(data_dir: Path, out: TextIO, stop_timeout: float = DEFAULT_GRACE_SECONDS,
                             disk: dict[str, int] | None = None, which: str = "standard") -> int:
    # Through the service, as the served demo does: the same DATA/flow.json (with any
    # edits made through the API) runs on the same repositories in both modes.
    with _demo_flow(data_dir, which, out) as initial:
        service = FlowService.open(data_dir, initial_flow=initial, engine_options=disk)
    try:
        what = "the demo flow" if which == "standard" else f"the {which} demo flow"
        await _run_engine(service.engine, f"{what} (data in {data_dir}, durability os)", out, stop_timeout)
    finally:
        service.close()
    out.write("stopped cleanly\n")
    return 0


def demo_flow_document(which: str = "standard") -> dict[str, Any]:
    """The bundled demo flow ``which`` (a key of ``DEMO_FLOWS``) as a JSON document."""
    text = resources.files("flowyard.runtime").joinpath(DEMO_FLOWS[which]).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


@contextlib.contextmanager
def _demo_flow(data_dir: Path, which: str = "standard", out: TextIO | None = None) -> Iterator[Path]:
    """The bundled demo flow ``which`` as a temporary file, used only at the first
    start: the standard one with its ``output.dir`` parameter pointing at
    ``DATA/out``. For the connectors demo, first look at the servers it uses
    (``prepare_connectors_demo``), reporting on ``out``."""
    doc = demo_flow_document(which)
    for ctx in doc.get("parameterContexts", []):
        for parameter in ctx.get("parameters", []):
            if parameter.get("name") == "output.dir":
                parameter["value"] = str((data_dir / "out").resolve())
    if which == "connectors":
        current = data_dir / "flow.json"
        prepare_connectors_demo(_current_flow(current, doc) if current.exists() else doc, out or sys.stdout)
    with tempfile.TemporaryDirectory(prefix="flowyard-demo-") as tmp:
        path = Path(tmp) / Path(DEMO_FLOWS[which]).name
        path.write_text(json.dumps(doc), encoding="utf-8")
        yield path


def _parameters_of(doc: dict[str, Any]) -> dict[str, str]:
    """Name -> value of the parameters (with a text value) of every context of a flow document."""
    found: dict[str, str] = {}
    for ctx in doc.get("parameterContexts", []) if isinstance(doc, dict) else []:
        for parameter in ctx.get("parameters", []) if isinstance(ctx, dict) else []:
            if isinstance(parameter, dict) and isinstance(parameter.get("value"), str):
                found[str(parameter.get("name"))] = parameter["value"]
    return found


def _current_flow(flow_file: Path, bundled: dict[str, Any]) -> dict[str, Any]:
    """The demo's current flow (``DIR/flow.json``, with any edits made through the
    API); the bundled one when it cannot be read."""
    try:
        doc = json.loads(flow_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return bundled
    return doc if isinstance(doc, dict) else bundled


def _reachable(host: str, port: int) -> str | None:
    """None when a TCP connection to host:port opens, else why not."""
    try:
        with socket.create_connection((host, port), timeout=SERVER_CHECK_SECONDS):
            return None
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__


def prepare_connectors_demo(doc: dict[str, Any], out: TextIO) -> dict[str, str | None]:
    """Before the connectors demo (the flow document ``doc``) starts: say which of
    its servers answer, create its table (running the Pre-Processing SQL of its
    PutDatabaseRecord, CREATE TABLE IF NOT EXISTS, so that QueryDatabaseTable finds
    the table at its first run) and declare its RabbitMQ queue (``amqp.queue``),
    which PublishAMQP and ConsumeAMQP expect to exist (as in NiFi, neither
    declares it). Never fails: a server that is down only means its processors
    show bulletins until it is up. Returns server name -> None (ready) or the
    reason it is not."""
    parameters = _parameters_of(doc)
    mqtt = urlsplit(parameters.get("mqtt.broker", ""))
    try:
        mqtt_port = mqtt.port or 1883
    except ValueError:
        mqtt_port = -1
    found: dict[str, str | None] = {
        "PostgreSQL": _create_tables(doc, parameters),
        "RabbitMQ": _declare_queue(parameters),
        "MQTT broker": (_reachable(mqtt.hostname, mqtt_port) if mqtt.hostname and mqtt_port > 0
                        else "its address is not tcp://host:port"),
    }
    done = {"PostgreSQL": f", table {parameters.get('db.table')!r} ready",
            "RabbitMQ": f", queue {parameters.get('amqp.queue')!r} declared", "MQTT broker": ""}
    where = {"PostgreSQL": parameters.get("db.url", "?"), "MQTT broker": parameters.get("mqtt.broker", "?"),
             "RabbitMQ": f"{parameters.get('amqp.host', '?')}:{parameters.get('amqp.port', '?')}"}
    out.write("connectors demo, looking at its servers:\n")
    for name, problem in found.items():
        if problem is None:
            out.write(f"  {name} at {where[name]}: ready{done[name]}\n")
        else:
            out.write(f"  {name} at {where[name]}: NOT READY ({problem}); the flow runs anyway and its "
                      f"processors show bulletins until it is up\n")
    out.flush()
    return found


def _with_parameters(text: str, parameters: dict[str, str]) -> str:
    return re.sub(r"#\{([^}]*)\}", lambda m: parameters.get(m.group(1), m.group(0)), text)


def _create_tables(doc: dict[str, Any], parameters: dict[str, str]) -> str | None:
    """Run the Pre-Processing SQL of the flow's PutDatabaseRecord processors on
    ``db.url`` (jdbc:postgresql:// only); None when done, else why not."""
    url = parameters.get("db.url", "")
    target = urlsplit(url.removeprefix("jdbc:"))
    if target.scheme != "postgresql":
        return f"only jdbc:postgresql:// URLs are prepared, found {url!r}"
    try:
        host, port = target.hostname or "127.0.0.1", target.port or 5432
    except ValueError:
        return f"{url!r} has no valid port"
    unreachable = _reachable(host, port)
    if unreachable is not None:
        return unreachable
    statements = []
    stack = [doc.get("rootGroup", {})]
    while stack:
        group = stack.pop()
        stack.extend(group.get("processGroups", []))
        statements += [_with_parameters(p["properties"]["Pre-Processing SQL"], parameters)
                       for p in group.get("processors", []) if p.get("type") == "PutDatabaseRecord"
                       and (p.get("properties") or {}).get("Pre-Processing SQL")]
    import psycopg

    try:
        with psycopg.connect(url.removeprefix("jdbc:"), user=parameters.get("db.user") or None,
                             password=parameters.get("db.password") or None, autocommit=True,
                             connect_timeout=int(SERVER_CHECK_SECONDS)) as conn:
            for statement in statements:
                conn.execute(statement.encode())  # as it is: no placeholders, maybe several statements
    except psycopg.Error as exc:
        return " ".join(str(exc).split())
    return None


def _declare_queue(parameters: dict[str, str]) -> str | None:
    """Declare the demo's queue (durable, as a queue that outlives the demo should be);
    None when done, else why not."""
    import pika
    import pika.exceptions

    queue = parameters.get("amqp.queue", "")
    if not queue:
        return "no amqp.queue parameter"
    host, port = parameters.get("amqp.host", "127.0.0.1"), parameters.get("amqp.port", "5672")
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"amqp.port {port!r} is not a port number"
    unreachable = _reachable(host, int(port))  # says why in words, where pika's error would not
    if unreachable is not None:
        return unreachable
    pika_log = logging.getLogger("pika")
    level = pika_log.level
    pika_log.setLevel(logging.CRITICAL)  # pika logs a traceback before raising
    try:
        params = pika.ConnectionParameters(
            host=host, port=int(port),
            credentials=pika.PlainCredentials(parameters.get("amqp.user", "guest"),
                                              parameters.get("amqp.password", "guest")),
            connection_attempts=1, socket_timeout=SERVER_CHECK_SECONDS,
            blocked_connection_timeout=SERVER_CHECK_SECONDS, stack_timeout=SERVER_CHECK_SECONDS * 2)
        connection = pika.BlockingConnection(params)
    except (ValueError, pika.exceptions.AMQPError, OSError) as exc:
        return str(exc) or type(exc).__name__
    finally:
        pika_log.setLevel(level)
    try:
        connection.channel().queue_declare(queue=queue, durable=True)
    except pika.exceptions.AMQPError as exc:
        return f"cannot declare queue {queue!r}: {exc}"
    finally:
        with contextlib.suppress(pika.exceptions.AMQPError, OSError):
            connection.close()
    return None


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port number from 0 to 65535, found {text!r}")
    return port


DURABILITY_HELP = ("os (default): a committed flowfile survives kill -9; "
                   "sync: fsync per commit group, also survives power loss")


def _age_ms(text: str) -> int:
    try:
        return int(parse_duration(text) * 1000)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _size(text: str) -> int:
    try:
        return parse_data_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}")
    return int(text)


def _retention_options(parser: argparse.ArgumentParser) -> None:
    """NiFi's provenance retention settings (0 disables a limit)."""
    parser.add_argument("--provenance-max-age", type=_age_ms, default=24 * 3600 * 1000, metavar="DURATION",
                        help="keep provenance events this long, e.g. '7 days' (default: 24 hours; 0: no limit)")
    parser.add_argument("--provenance-max-size", type=_size, default=1 << 30, metavar="SIZE",
                        help="keep at most this much provenance, e.g. '10 GB' (default: 1 GB; 0: no limit)")
    parser.add_argument("--provenance-max-events", type=_count, default=1_000_000, metavar="N",
                        help="keep at most this many provenance events (default: 1000000; 0: no limit)")


def _seconds(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not 1 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"expected from 1 sec to 1 hour, found {text!r}")
    return seconds


def _stop_timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stop-timeout", type=_seconds, default=DEFAULT_GRACE_SECONDS, metavar="DURATION",
                        help="after SIGINT/SIGTERM, exit anyway (status 3) if the clean stop takes longer than "
                             f"this, e.g. '30 sec' (default: {DEFAULT_GRACE_SECONDS:g} sec)")


def _disk_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--disk-pause-below", type=_size, default=DEFAULT_PAUSE_BELOW, metavar="SIZE",
                        help="pause processing while the repository's disk has less free than this, e.g. "
                             f"'1 GB' (default: {format_data_size(DEFAULT_PAUSE_BELOW)})")
    parser.add_argument("--disk-resume-above", type=_size, default=DEFAULT_RESUME_ABOVE, metavar="SIZE",
                        help="resume once this much is free again (default: "
                             f"{format_data_size(DEFAULT_RESUME_ABOVE)})")


def _disk(args: argparse.Namespace) -> dict[str, int]:
    if args.disk_resume_above < args.disk_pause_below:
        raise ConfigurationError(f"--disk-resume-above ({format_data_size(args.disk_resume_above)}) must not be "
                                 f"below --disk-pause-below ({format_data_size(args.disk_pause_below)})")
    return {"disk_pause_below": args.disk_pause_below, "disk_resume_above": args.disk_resume_above}


def _process_options(args: argparse.Namespace) -> dict[str, int | bool]:
    """Engine options of a process that runs one engine for its lifetime (run, serve, demo)."""
    return {**_disk(args), "freeze_heap": True}


def _engine_options(args: argparse.Namespace) -> dict[str, int | bool]:
    return {"provenance_max_age_ms": args.provenance_max_age, "provenance_max_bytes": args.provenance_max_size,
            "provenance_max_events": args.provenance_max_events, **_process_options(args)}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowyard", description="A visual dataflow routing engine.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a flow headless until interrupted")
    run.add_argument("flow", type=Path, help="flow definition (JSON)")
    run.add_argument("--data-dir", type=Path, default=Path("data"), help="repositories live here (default: data)")
    run.add_argument("--durability", choices=DURABILITY_MODES, default="os", help=DURABILITY_HELP)
    _stop_timeout_option(run)
    _disk_options(run)
    demo = sub.add_parser(
        "demo", help="serve a bundled demo flow with the web API (--headless: without it)",
        description="Run a bundled demo flow with the web API on 127.0.0.1, printing the URL and, at the "
                    "first start, the generated login password. The flow is copied into DIR/flow.json at the "
                    "first start; later starts (either mode) run that copy with any edits made through the "
                    "API. Ctrl-C stops cleanly.")
    demo.add_argument("--flow", choices=tuple(DEMO_FLOWS), default="standard", dest="demo_flow",
                      help="standard (default): generate, route, throttle, retry, reshape and write events to "
                           "files. connectors: orders inserted into PostgreSQL (PutDatabaseRecord), read back "
                           "(QueryDatabaseTable), "
                           "published to RabbitMQ and MQTT and consumed again; it needs this machine's "
                           "PostgreSQL (127.0.0.1:5432, database test), RabbitMQ (127.0.0.1:5672) and MQTT "
                           "broker (127.0.0.1:1883), declares its RabbitMQ queue at start, and runs with "
                           "bulletins for any that is down (docs/demo-connectors.md)")
    demo.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                      help="flow, credentials and repositories live here (default: data/demo, or "
                           "data/demo-connectors with --flow connectors)")
    mode = demo.add_mutually_exclusive_group()
    mode.add_argument("--port", type=_port, default=8080, help="TCP port on 127.0.0.1 (default: 8080; 0: any free one)")
    mode.add_argument("--headless", action="store_true",
                      help="no web API: print a status line a second instead")
    _stop_timeout_option(demo)
    _disk_options(demo)
    srv = sub.add_parser(
        "serve", help="run the flow of a data directory with the web API",
        description="Run the flow of a data directory together with the authenticated web API until SIGINT "
                    "or SIGTERM. The flow lives in DIR/flow.json (copied from --flow at the first start). "
                    "The first start generates a password for 'admin' and prints it once "
                    "(FLOWYARD_USERNAME/FLOWYARD_PASSWORD set the credentials instead; "
                    "'flowyard set-credentials' changes them).",
        epilog="exit status: 0 after a clean shutdown; 2 when an option, the flow or the data directory "
               "cannot be used (the port is taken, a TLS file is wrong, ...; nothing was changed); "
               "1 for anything unexpected")
    srv.add_argument("--data-dir", type=Path, default=Path("data"), metavar="DIR",
                     help="flow, credentials, encryption key and repositories live here (default: data)")
    srv.add_argument("--flow", type=Path, metavar="FLOW.json",
                     help="flow copied into DIR/flow.json at the first start (ignored once DIR has a flow)")
    srv.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                     help="address to listen on (default: 127.0.0.1, this machine only)")
    srv.add_argument("--port", type=_port, default=8080, help="TCP port (default: 8080; 0: any free one)")
    srv.add_argument("--durability", choices=DURABILITY_MODES, default="os", help=DURABILITY_HELP)
    srv.add_argument("--certfile", type=Path, metavar="CERT.pem",
                     help="PEM certificate (chain) to serve HTTPS with; needs --keyfile. "
                          "With both, the port speaks HTTPS only and the session cookie is Secure")
    srv.add_argument("--keyfile", type=Path, metavar="KEY.pem",
                     help="PEM private key of --certfile, unencrypted (keep it readable only by you)")
    srv.add_argument("--allowed-host", action="append", default=[], metavar="NAME", dest="allowed_hosts",
                     help="a host name clients may use to reach the server besides its IP addresses, localhost "
                          "and --host (repeat for more; '*' accepts any, e.g. behind a reverse proxy)")
    _stop_timeout_option(srv)
    _disk_options(srv)
    _retention_options(srv)
    rep_ = sub.add_parser(
        "repair", help="repair a damaged repository and report exactly what was lost",
        description="Repair the repository of a data directory that flowyard refused to start with (it said "
                    "the repository is damaged): RocksDB's repair rebuilds it from its files, then every queue "
                    "is counted and every flowfile's content looked up, and the loss is reported per "
                    "connection. The files as they were are kept (hard links) beside it. Never run "
                    "automatically; stop flowyard first.",
        epilog="exit status: 0 after a repair (the report says what was lost); 2 when it cannot be repaired "
               "or the data directory is in use")
    rep_.add_argument("--data-dir", type=Path, default=Path("data"), metavar="DIR",
                      help="the data directory whose repository to repair (default: data)")
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


def _repair(args: argparse.Namespace) -> int:
    from flowyard.runtime.repository.repair import repair

    try:
        report = repair(args.data_dir / "repository")
    except RepositoryError as exc:
        print(f"flowyard: error: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
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
    if args.command == "repair":
        return _repair(args)
    if args.command == "demo" and args.data_dir is None:
        args.data_dir = DEMO_DATA_DIRS[args.demo_flow]
    os.umask(OWNER_ONLY_UMASK)  # everything the data directory gets is its owner's only (docs/security.md)
    if args.command == "serve" or (args.command == "demo" and not args.headless):
        return _serve(args)
    try:
        if args.command == "demo":
            return trio.run(_run_demo_headless, args.data_dir, sys.stdout, args.stop_timeout,
                            _process_options(args), args.demo_flow)
        return trio.run(_run, args.flow, args.data_dir, args.durability, sys.stdout, args.stop_timeout,
                        _process_options(args))
    except (ConfigurationError, RepositoryError) as exc:
        print(f"flowyard: error: {exc}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    # The API layer sits above the runtime: imported by name, only here.
    server = importlib.import_module("flowyard.canvas_ui.server")
    if args.command == "demo":
        with _demo_flow(args.data_dir, args.demo_flow) as initial:
            return _serve_with(server, args, functools.partial(server.serve, args.data_dir, port=args.port,
                                                                initial_flow=initial, stop_timeout=args.stop_timeout,
                                                                engine_options=_process_options(args)))
    return _serve_with(server, args, functools.partial(
        server.serve, args.data_dir, host=args.host, port=args.port, initial_flow=args.flow,
        durability=args.durability, certfile=args.certfile, keyfile=args.keyfile,
        engine_options=_engine_options(args), allowed_hosts=args.allowed_hosts, stop_timeout=args.stop_timeout))


def _serve_with(server: Any, args: argparse.Namespace, serve: Any) -> int:
    try:
        trio.run(serve)
    except server.AddressInUseError as exc:
        hint = (f" (with make: PORT={8081 if exc.port != 8081 else 8082} make {DEMO_MAKE_TARGETS[args.demo_flow]})"
                if args.command == "demo" else "")
        print(f"flowyard: error: {exc}{hint}", file=sys.stderr)
        return 2
    except (ConfigurationError, RepositoryError) as exc:
        print(f"flowyard: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
