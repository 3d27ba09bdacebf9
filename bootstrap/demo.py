"""The bundled demo flows and the connectors demo's start-up check.

``flowyard demo`` copies a bundled flow (``runtime/demo/*.json``, package data of
``flowyard.runtime``) into its data directory at the first start. The connectors
demo moves orders through this machine's PostgreSQL, RabbitMQ and MQTT broker;
before it starts, ``prepare_connectors_demo`` says which of them answer, creates
its table and declares its RabbitMQ queue (docs/demo-connectors.md). That check
talks to the servers with psycopg and pika directly: it is start-up wiring of
the command, not part of any processor.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import sys
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

__all__ = ["DEMO_DATA_DIRS", "DEMO_FLOWS", "DEMO_MAKE_TARGETS", "demo_flow", "demo_flow_document",
           "prepare_connectors_demo"]

#: The bundled demo flows (``flowyard demo --flow NAME``) and their default data directories.
DEMO_FLOWS = {"standard": "demo/demo-flow.json", "connectors": "demo/connectors-flow.json"}
DEMO_DATA_DIRS = {"standard": Path("data/demo"), "connectors": Path("data/demo-connectors")}
DEMO_MAKE_TARGETS = {"standard": "demo", "connectors": "demo-connectors"}
#: How long the connectors demo waits for each server when it looks at them before starting.
SERVER_CHECK_SECONDS = 3.0


def demo_flow_document(which: str = "standard") -> dict[str, Any]:
    """The bundled demo flow ``which`` (a key of ``DEMO_FLOWS``) as a JSON document."""
    text = resources.files("flowyard.runtime").joinpath(DEMO_FLOWS[which]).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


@contextlib.contextmanager
def demo_flow(data_dir: Path, which: str = "standard", out: TextIO | None = None) -> Iterator[Path]:
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
