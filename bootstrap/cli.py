"""The ``flowyard`` command.

    flowyard run FLOW.json --data-dir DIR [--durability os|sync]
    flowyard demo [--flow standard|connectors] [--data-dir DIR] [--port 8080 | --headless]
    flowyard serve [--data-dir DIR] [--flow FLOW.json] [--host 127.0.0.1] [--port 8080] [--durability os|sync]
                   [--certfile CERT.pem --keyfile KEY.pem] [--provenance-max-age|-size|-events ...]
    flowyard set-credentials [--data-dir DIR] [--username NAME]   (password from the terminal or stdin)
                   [--cluster URL --node-id ID --node-address HOST:PORT --cluster-secret-file FILE ...]
    flowyard cluster-secret FILE
    flowyard repair [--data-dir DIR]
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
import functools
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

# The engine, trio and the web stack load in the functions that use them, after
# ``main`` has started hashing the password a serving start stores (argon2, ~0.2 s
# on a thread of its own): the hashing then overlaps loading them.
if TYPE_CHECKING:
    from flowyard.bootstrap.compose import Options

__all__ = ["main", "serve_options"]


def _parser() -> argparse.ArgumentParser:
    from flowyard.bootstrap import options
    from flowyard.bootstrap.cluster_options import add_cluster_options
    from flowyard.bootstrap.demo import DEMO_FLOWS
    from flowyard.runtime.repository import DURABILITY_MODES

    parser = argparse.ArgumentParser(prog="flowyard", description="A visual dataflow routing engine.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a flow headless until interrupted")
    run.add_argument("flow", type=Path, help="flow definition (JSON)")
    run.add_argument("--data-dir", type=Path, default=Path("data"), help="repositories live here (default: data)")
    run.add_argument("--durability", choices=DURABILITY_MODES, default="os", help=options.DURABILITY_HELP)
    options.add_stop_timeout_option(run)
    options.add_disk_options(run)
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
    mode.add_argument("--port", type=options.port, default=8080,
                      help="TCP port on 127.0.0.1 (default: 8080; 0: any free one)")
    mode.add_argument("--headless", action="store_true",
                      help="no web API: print a status line a second instead")
    options.add_stop_timeout_option(demo)
    options.add_disk_options(demo)
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
    srv.add_argument("--port", type=options.port, default=8080, help="TCP port (default: 8080; 0: any free one)")
    srv.add_argument("--durability", choices=DURABILITY_MODES, default="os", help=options.DURABILITY_HELP)
    srv.add_argument("--certfile", type=Path, metavar="CERT.pem",
                     help="PEM certificate (chain) to serve HTTPS with; needs --keyfile. "
                          "With both, the port speaks HTTPS only and the session cookie is Secure")
    srv.add_argument("--keyfile", type=Path, metavar="KEY.pem",
                     help="PEM private key of --certfile, unencrypted (keep it readable only by you)")
    srv.add_argument("--allowed-host", action="append", default=[], metavar="NAME", dest="allowed_hosts",
                     help="a host name clients may use to reach the server besides its IP addresses, localhost "
                          "and --host (repeat for more; '*' accepts any, e.g. behind a reverse proxy)")
    options.add_stop_timeout_option(srv)
    options.add_disk_options(srv)
    options.add_retention_options(srv)
    add_cluster_options(srv)
    secret = sub.add_parser("cluster-secret", help="make the secret file the nodes of a cluster share",
                            description="Write 32 random bytes to FILE (mode 0600; an existing file is never "
                                        "overwritten). Give every node of the cluster the same file with "
                                        "--cluster-secret-file: it signs the calls between nodes and encrypts "
                                        "what the cluster keeps in etcd.")
    secret.add_argument("file", type=Path, metavar="FILE")
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

    from flowyard.canvas_ui.auth import store_credentials

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
    store_credentials(args.data_dir, args.username, password)
    print(f"credentials for {args.username!r} stored in {args.data_dir} (takes effect at the next start)")
    return 0


def _repair(args: argparse.Namespace) -> int:
    from flowyard.runtime.repository.repair import repair
    from flowyard.runtime.sdk import RepositoryError

    try:
        report = repair(args.data_dir / "repository")
    except RepositoryError as exc:
        print(f"flowyard: error: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    return 0


def _cluster_secret(args: argparse.Namespace) -> int:
    from flowyard.clusters.channel import write_secret
    from flowyard.runtime.sdk import ConfigurationError

    try:
        write_secret(args.file)
    except (ConfigurationError, OSError) as exc:
        print(f"flowyard: error: {exc}", file=sys.stderr)
        return 2
    print(f"cluster secret written to {args.file}: give every node this file with --cluster-secret-file")
    return 0


def _json_object(path: Path | None, what: str) -> dict[str, str]:
    from flowyard.bootstrap import options

    if path is None:
        return {}
    data = options.json_object_file(path, what)
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
    words = sys.argv[1:] if argv is None else list(argv)
    if words[:1] in (["serve"], ["demo"]) and "--headless" not in words:
        # FLOWYARD_PASSWORD, when it sets the credentials, gets hashed (argon2, ~0.2 s) while the rest loads.
        from flowyard.canvas_ui._hashing import hash_environment_ahead

        hash_environment_ahead()
    args = _parser().parse_args(words)
    from flowyard.bootstrap.demo import DEMO_DATA_DIRS
    from flowyard.runtime.datadir import OWNER_ONLY_UMASK
    from flowyard.runtime.sdk import ConfigurationError, RepositoryError

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
    if args.command == "cluster-secret":
        return _cluster_secret(args)
    if args.command == "demo" and args.data_dir is None:
        args.data_dir = DEMO_DATA_DIRS[args.demo_flow]
    os.umask(OWNER_ONLY_UMASK)  # everything the data directory gets is its owner's only (docs/security.md)
    if args.command == "serve" or (args.command == "demo" and not args.headless):
        # The password this start stores gets hashed (argon2, ~0.2 s) while the rest loads
        # (FLOWYARD_PASSWORD's already is; this one is generated at a first start).
        from flowyard.canvas_ui._hashing import hash_ahead

        hash_ahead(args.data_dir)
        return _serve(args)
    import trio

    from flowyard.bootstrap import options
    from flowyard.bootstrap.headless import run_demo, run_flow

    try:
        if args.command == "demo":
            return trio.run(run_demo, args.data_dir, sys.stdout, args.stop_timeout,
                            options.process_options(args), args.demo_flow)
        return trio.run(run_flow, args.flow, args.data_dir, args.durability, sys.stdout, args.stop_timeout,
                        options.process_options(args))
    except (ConfigurationError, RepositoryError) as exc:
        print(f"flowyard: error: {exc}", file=sys.stderr)
        return 2


def serve_options(args: argparse.Namespace) -> Options:
    """What a parsed ``flowyard serve`` command line opens its data directory with
    (``compose.build`` takes the same). Raises ``ConfigurationError`` for bad
    cluster settings."""
    from flowyard.bootstrap import options
    from flowyard.bootstrap.cluster_options import ClusterOptions
    from flowyard.bootstrap.compose import Options

    return Options(initial_flow=args.flow, durability=args.durability, engine_options=options.engine_options(args),
                   host=args.host, allowed_hosts=tuple(args.allowed_hosts), certfile=args.certfile,
                   keyfile=args.keyfile, cluster=ClusterOptions.read(args, args.data_dir))


def _serve(args: argparse.Namespace) -> int:
    from flowyard.bootstrap import options
    from flowyard.bootstrap.compose import Options
    from flowyard.bootstrap.demo import demo_flow
    from flowyard.runtime.sdk import ConfigurationError

    if args.command == "demo":
        with demo_flow(args.data_dir, args.demo_flow) as initial:
            chosen = Options(initial_flow=initial, engine_options=options.process_options(args))
            return _serve_with(args, chosen)
    try:
        chosen = serve_options(args)
    except ConfigurationError as exc:
        print(f"flowyard: error: {exc}", file=sys.stderr)
        return 2
    return _serve_with(args, chosen)


def _serve_with(args: argparse.Namespace, chosen: Options) -> int:
    # The web stack loads only for the commands that serve.
    import trio

    from flowyard.bootstrap.demo import DEMO_MAKE_TARGETS
    from flowyard.bootstrap.serve import serve
    from flowyard.canvas_ui.server import AddressInUseError
    from flowyard.runtime.sdk import ConfigurationError, RepositoryError

    try:
        trio.run(functools.partial(serve, args.data_dir, port=args.port, stop_timeout=args.stop_timeout,
                                   **chosen.serve_arguments()))
    except AddressInUseError as exc:
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
