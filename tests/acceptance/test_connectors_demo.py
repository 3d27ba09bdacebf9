"""The connectors demo (``flowyard demo --flow connectors``, runtime/demo/connectors-flow.json)
as a user meets it: the flow file is valid as it ships (every type known, every
property one its component declares, every reference resolved); run against this
machine's PostgreSQL, RabbitMQ and MQTT broker, generated orders become rows of
its table, are read back and come through RabbitMQ and MQTT into the sink; and
with every server down the demo still starts, says which servers it cannot
reach, and its processors raise bulletins instead of the process failing.

Each test works on a table, queue and topic of its own (the flow's parameters
rewritten) and removes them afterwards."""

from __future__ import annotations

import contextlib
import io
import json
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pika
import psycopg
import pytest
import trio

from flowyard.bootstrap.demo import DEMO_FLOWS, demo_flow_document, prepare_connectors_demo
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict, load_flow
from flowyard.runtime.registry import discover
from flowyard.runtime.repository import Repositories

from engine_process import wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FLOW_FILE = ROOT / "runtime" / DEMO_FLOWS["connectors"]
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5"
AMQP = pika.ConnectionParameters("127.0.0.1", 5672, credentials=pika.PlainCredentials("guest", "guest"),
                                 connection_attempts=1, socket_timeout=5)
SINK = "recv-log"
RUNNING = re.compile(r"\| running (\d+)/(\d+)( \| invalid \d+)?")
PARAMETER_REF = re.compile(r"#\{([^}]*)\}")
#: The only components whose dynamic properties the flow means to use (new attributes); anywhere else a
#: property that is not one of the component's own keys would be a typo taken for a dynamic property.
DYNAMIC = {"UpdateAttribute", "EvaluateJsonPath"}


def names() -> dict[str, str]:
    """A table, queue and topic no other test uses."""
    tag = uuid.uuid4().hex[:10]
    return {"db.table": f"flowyard_test_orders_{tag}", "amqp.queue": f"flowyard.test.orders.{tag}",
            "mqtt.topic": f"flowyard/test/orders/{tag}"}


def demo_doc(**overrides: str) -> dict[str, Any]:
    """The bundled connectors flow (as ``flowyard demo`` reads it) with some parameters set."""
    doc = demo_flow_document("connectors")
    parameters = {p["name"]: p for ctx in doc["parameterContexts"] for p in ctx["parameters"]}
    for name, value in overrides.items():
        assert name in parameters, f"the flow has no parameter {name!r}"
        parameters[name]["value"] = value
    return doc


def parameter_values(doc: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for ctx in doc["parameterContexts"] for p in ctx["parameters"]}


def groups(group: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield group
    for child in group.get("processGroups", []):
        yield from groups(child)


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def cleaned_up(table: str, queue: str) -> Iterator[None]:
    """Drop the table and delete the queue afterwards, whatever happened."""
    try:
        yield
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        connection = pika.BlockingConnection(AMQP)
        try:
            connection.channel().queue_delete(queue=queue)
        finally:
            connection.close()


def test_the_flow_file_loads_and_every_component_is_valid() -> None:
    doc = json.loads(FLOW_FILE.read_text(encoding="utf-8"))
    assert doc == demo_flow_document("connectors"), "flowyard demo --flow connectors serves this very file"
    catalogue = discover()
    defined = set(parameter_values(doc))
    seen_types = set()
    for group in groups(doc["rootGroup"]):
        assert group.get("parameterContext", {}).get("id") == doc["parameterContexts"][0]["identifier"], \
            f"group {group['name']!r} is bound to the demo's parameters"
        components = [(p, catalogue.processors.get(p["type"])) for p in group.get("processors", [])]
        components += [(s, catalogue.controller_services.get(s["type"]))
                       for s in group.get("controllerServices", [])]
        for component, cls in components:
            assert cls is not None, f"{component['name']}: unknown type {component['type']}"
            seen_types.add(component["type"])
            keys = {p.key for p in cls.spec.properties}
            for key, value in component["properties"].items():
                assert key in keys or (component["type"] in DYNAMIC and cls.spec.dynamic_properties is not None), \
                    f"{component['name']}: {key!r} is not a property key of {component['type']}"
                assert set(PARAMETER_REF.findall(value or "")) <= defined, f"{component['name']}.{key}: {value}"
        for processor in group.get("processors", []):
            relationships = {r.name for r in catalogue.processors[processor["type"]].spec.relationships}
            assert set(processor.get("autoTerminatedRelationships", [])) <= relationships, processor["name"]
        for connection in group.get("connections", []):
            source = next((p for p in group.get("processors", []) if p["identifier"] == connection["source"]["id"]),
                          None)
            if source is not None:
                relationships = {r.name for r in catalogue.processors[source["type"]].spec.relationships}
                assert connection["selectedRelationships"], connection["identifier"]
                assert set(connection["selectedRelationships"]) <= relationships, connection["identifier"]
    assert {"GenerateFlowFile", "ConvertRecord", "PutDatabaseRecord", "QueryDatabaseTable", "PublishAMQP",
            "ConsumeAMQP", "PublishMQTT", "ConsumeMQTT", "UpdateAttribute", "LogAttribute",
            "DBCPConnectionPool"} <= seen_types

    flow = load_flow(FLOW_FILE)
    repositories = Repositories.in_memory()
    try:
        engine = Engine(flow, repositories, registry=catalogue.processors,
                        service_types=catalogue.controller_services, source=str(FLOW_FILE))
        engine.controller_services.enable_scheduled()  # as a start does, before validating the processors
        try:
            assert not engine.bulletins, [b.message for b in engine.bulletins]
            for service_id in engine.controller_services.visible(flow.identifier):
                assert engine.controller_services.registry.is_enabled(service_id), service_id
                engine.controller_services.revalidate(service_id)
            invalid = {node.name: [str(v) for v in node.validation] for node in engine.nodes.values()
                       if not node.is_valid}
            assert not invalid, invalid
        finally:
            engine.controller_services.disable_all()
        assert len(engine.nodes) == sum(len(g.processors) + len(g.input_ports) + len(g.output_ports)
                                        for g in flow.walk())
    finally:
        repositories.close()


async def test_orders_go_through_postgresql_and_come_back_through_rabbitmq_and_mqtt() -> None:
    mine = names()
    doc = demo_doc(**mine)
    with cleaned_up(mine["db.table"], mine["amqp.queue"]):
        said = io.StringIO()
        ready = await trio.to_thread.run_sync(prepare_connectors_demo, doc, said)
        assert ready == {"PostgreSQL": None, "MQTT broker": None, "RabbitMQ": None}, said.getvalue()
        assert f"queue {mine['amqp.queue']!r} declared" in said.getvalue()
        assert f"table {mine['db.table']!r} ready" in said.getvalue()
        with psycopg.connect(PG_DSN) as conn:
            assert conn.execute(f'SELECT count(*) FROM "{mine["db.table"]}"').fetchone() == (0,), \
                "the table is there before the flow starts, empty"

        catalogue = discover()
        repositories = Repositories.in_memory()
        engine = Engine(flow_from_dict(doc, source=str(FLOW_FILE)), repositories, registry=catalogue.processors,
                        service_types=catalogue.controller_services)
        received: dict[str, list[str]] = {}  # order id -> "RabbitMQ queue ..." / "MQTT topic ...", as they came
        last_event = 0

        def collect() -> None:
            nonlocal last_event
            for event in repositories.provenance.events(last_event + 1):
                last_event = event.event_id
                if event.component_id == SINK and event.event_type.name == "DROP":
                    received.setdefault(event.attributes.get("order.id", ""), []).append(
                        event.attributes.get("received.from", ""))

        def rows() -> dict[str, tuple[Any, ...]]:
            with psycopg.connect(PG_DSN) as conn:
                if conn.execute("SELECT to_regclass(%s)", (mine["db.table"],)).fetchone() == (None,):
                    return {}  # not created yet
                found = conn.execute(f'SELECT order_id, customer, amount, currency, country, id '
                                     f'FROM "{mine["db.table"]}"').fetchall()
            return {row[0]: row for row in found}

        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(engine.run)
                assert all(node.is_valid for node in engine.nodes.values())

                async def until(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
                    with trio.move_on_after(timeout) as scope:
                        while not condition():
                            await trio.sleep(0.1)
                    assert not scope.cancelled_caught, f"timed out after {timeout:.0f} s waiting for {what}"

                await until(lambda: len(rows()) >= 6, "6 orders in PostgreSQL")

                def both_brokers() -> bool:
                    collect()
                    sources = set().union(*received.values()) if received else set()
                    return {f"RabbitMQ queue {mine['amqp.queue']}", f"MQTT topic {mine['mqtt.topic']}"} <= sources

                await until(both_brokers, "orders in the sink through RabbitMQ and through MQTT")
                engine.request_stop()
        finally:
            repositories.close()
        bulletins = [f"{b.component_name}: {b.message}" for b in engine.bulletins]
        assert not bulletins, bulletins

        in_table = rows()
        assert received, "orders reached the sink"
        for order_id in received:
            assert order_id in in_table, f"order {order_id!r} came back through a broker but is not in the table"
            row = in_table[order_id]
            assert re.fullmatch(r"c-\d+", row[1]) and row[3] == "EUR" and row[4] in ("DE", "FR"), row
            assert 1 <= row[2] <= 201, row
        via_rabbitmq = {o for o, s in received.items() if f"RabbitMQ queue {mine['amqp.queue']}" in s}
        assert via_rabbitmq and len(in_table) >= 6
        # QueryDatabaseTable reads a row once (largest id in its state): each order comes through each broker once
        for order_id, sources in received.items():
            assert len(sources) == len(set(sources)), (order_id, sources)


def test_with_every_server_down_the_demo_starts_says_so_and_raises_bulletins(tmp_path: Path) -> None:
    closed = free_port()
    mine = names()
    doc = demo_doc(**mine, **{"db.url": f"jdbc:postgresql://127.0.0.1:{closed}/test", "amqp.port": str(closed),
                              "mqtt.broker": f"tcp://127.0.0.1:{closed}"})
    data, log = tmp_path / "demo", tmp_path / "demo.log"
    data.mkdir()
    (data / "flow.json").write_text(json.dumps(doc))  # as if edited through the canvas: the demo runs this copy
    components = sum(len(g.get(kind, [])) for g in groups(doc["rootGroup"])
                     for kind in ("processors", "inputPorts", "outputPorts"))
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flowyard.bootstrap.cli", "demo", "--flow", "connectors",
                                 "--headless", "--data-dir", str(data)], stdout=out, stderr=subprocess.STDOUT)
    try:
        def complained() -> bool:
            assert proc.poll() is None, f"the demo exited with {proc.returncode}:\n{log.read_text()}"
            text = log.read_text()
            return all(f"[{level}] {name}:" in text for level, name in (
                ("ERROR", "Insert orders"), ("ERROR", "Fetch new rows"), ("ERROR", "Consume from RabbitMQ"),
                ("ERROR", "Consume from MQTT")))

        wait_until(complained, timeout=30, what="bulletins of the database and broker processors")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    for server in ("PostgreSQL", "RabbitMQ", "MQTT broker"):
        assert re.search(rf"{server} at \S*127\.0\.0\.1:{closed}\S*: NOT READY \(.*refused.*\); the flow runs "
                         "anyway", text), text
    lines = RUNNING.findall(text)
    assert lines and int(lines[-1][0]) == int(lines[-1][1]) == components and not lines[-1][2], \
        "every processor and port stays scheduled and valid while its server is down"
    for processor in ("Insert orders", "Fetch new rows", "Consume from RabbitMQ", "Consume from MQTT"):
        assert re.search(rf"\[ERROR\] {processor}: .*[Cc]onnection refused", text), (processor, text)
    assert "Traceback" not in text.split("flowyard running")[0], "the look at the servers prints no traceback"
    assert "stopped cleanly" in text


def test_make_demo_connectors_passes_the_port_on() -> None:
    dry = subprocess.run(["make", "-n", "-C", str(ROOT), "demo-connectors", "PORT=8123"], capture_output=True,
                         text=True, timeout=60, check=True)
    assert "flowyard demo --flow connectors --data-dir data/demo-connectors --port 8123" in dry.stdout, dry.stdout
