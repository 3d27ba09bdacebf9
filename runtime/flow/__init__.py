"""The flow definition: what runs, read from and written to a JSON file.

The format (documented in docs/flow-format.md) follows the shape and names of
NiFi's versioned flow JSON where NiFi has the same concept, so NiFi users
recognise it::

    {"flowyardFlowVersion": 1,
     "parameterContexts": [...],
     "rootGroup": {"identifier": "...", "name": "...", "parameterContext": {"id": "..."},
                   "processors": [...], "connections": [...], "funnels": [...],
                   "inputPorts": [...], "outputPorts": [...], "labels": [...],
                   "controllerServices": [...], "processGroups": [{...nested group...}]}}

Process groups nest; identifiers are unique across the whole flow. A
connection belongs to one group and joins that group's processors, funnels and
ports, or the input/output ports of its direct child groups (NiFi's rule).
``load_flow`` checks the structure and reports the first problem as a
``FlowDefinitionError`` naming the file and the place
(``rootGroup.processGroups[0].processors[2].type``). ``save_flow`` writes
atomically: temporary file, fsync, rename, fsync of the directory — a crash
leaves the old or the new flow, never half of one. Pure: no engine, no I/O
besides the file itself.

The flow model knows no cron syntax: the engine registers the check of a
CRON_DRIVEN processor's period when it is imported (``register_period_check``),
so every program that runs or serves flows checks it when a flow is read.

Changes to a flow are edits (``flowyard.runtime.flow.edits``: commands with a
pure validate, apply and inverse); ``FlowIndex`` says where everything of a
flow is.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flowyard.runtime.flow._index import FlowIndex
from flowyard.runtime.flow._json import (
    LABEL_STYLES,
    component_from_dict,
    component_to_dict,
    connection_from_dict,
    count_components,
    doc_components,
    doc_group,
    flow_from_dict,
    flow_to_dict,
    group_from_dict,
    group_height,
    group_to_dict,
    parameter_context_from_dict,
    parameter_context_to_dict,
    position_from_dict,
    processor_from_dict,
    register_period_check,
)
from flowyard.runtime.flow._limits import (
    MAX_COMPONENTS,
    MAX_CONCURRENT_TASKS,
    MAX_GROUP_DEPTH,
    MAX_IDENTIFIER,
    JsonLimitError,
    loads_bounded,
)
from flowyard.runtime.flow._model import (
    BULLETIN_LEVELS,
    COMPONENT_KINDS,
    EXECUTION_ENGINES,
    EXECUTION_NODES,
    FORMAT_VERSION,
    LOAD_BALANCE_COMPRESSIONS,
    LOAD_BALANCE_STRATEGIES,
    PRIORITIZERS,
    SCHEDULED_STATES,
    SCHEDULING_STRATEGIES,
    SERVICE_STATES,
    ConnectionDef,
    ControllerServiceDef,
    FlowDef,
    FunnelDef,
    GroupDef,
    LabelDef,
    ParameterContextDef,
    ParameterDef,
    PortDef,
    ProcessorDef,
    map_group,
)
from flowyard.runtime.sdk._errors import FlowDefinitionError

__all__ = [
    "BULLETIN_LEVELS",
    "COMPONENT_KINDS",
    "EXECUTION_ENGINES",
    "EXECUTION_NODES",
    "FORMAT_VERSION",
    "LABEL_STYLES",
    "LOAD_BALANCE_COMPRESSIONS",
    "LOAD_BALANCE_STRATEGIES",
    "MAX_COMPONENTS",
    "MAX_CONCURRENT_TASKS",
    "MAX_GROUP_DEPTH",
    "MAX_IDENTIFIER",
    "PRIORITIZERS",
    "SCHEDULED_STATES",
    "SCHEDULING_STRATEGIES",
    "SERVICE_STATES",
    "ConnectionDef",
    "ControllerServiceDef",
    "FlowDef",
    "FlowIndex",
    "FunnelDef",
    "GroupDef",
    "JsonLimitError",
    "LabelDef",
    "ParameterContextDef",
    "ParameterDef",
    "PortDef",
    "ProcessorDef",
    "component_from_dict",
    "component_to_dict",
    "connection_from_dict",
    "count_components",
    "doc_components",
    "doc_group",
    "flow_bytes",
    "flow_from_dict",
    "flow_to_dict",
    "group_from_dict",
    "group_height",
    "group_to_dict",
    "iter_flow_json",
    "load_flow",
    "loads_bounded",
    "map_group",
    "parameter_context_from_dict",
    "parameter_context_to_dict",
    "position_from_dict",
    "processor_from_dict",
    "register_period_check",
    "save_flow",
    "write_flow_bytes",
]
def load_flow(path: str | os.PathLike[str]) -> FlowDef:
    """Read a flow file. Raises ``FlowDefinitionError`` naming the file and the
    place (a file over the limits of ``_limits`` included: too deep, too big)."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FlowDefinitionError(f"cannot read the flow file: {exc.strerror}", source=source) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FlowDefinitionError("not UTF-8 text", source=source, where=f"byte {exc.start}") from None
    try:
        parsed = loads_bounded(text)
    except JsonLimitError as exc:
        raise FlowDefinitionError(exc.reason, source=source, where=exc.where) from None
    return flow_from_dict(parsed, source=source)


def iter_flow_json(doc: dict[str, Any]) -> Iterator[str]:
    """The text ``flow_bytes`` holds, in pieces of about one component each, so
    that a caller can write a large flow with pauses in between."""
    def group(g: dict[str, Any]) -> Iterator[str]:
        for i, (key, value) in enumerate(g.items()):
            yield ("{" if i == 0 else ",") + json.dumps(key) + ":"
            if isinstance(value, list) and key in _LISTS:
                yield "["
                for j, item in enumerate(value):
                    if j:
                        yield ","
                    if key == "processGroups":
                        yield from group(item)
                    else:
                        yield _dumps(item)
                yield "]"
            else:
                yield _dumps(value)
        yield "}" if g else "{}"

    yield "{"
    for i, (key, value) in enumerate(doc.items()):
        yield ("," if i else "") + json.dumps(key) + ":"
        yield from group(value) if key == "rootGroup" else (_dumps(value),)
    yield "}"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


_LISTS = frozenset(key for _, key in COMPONENT_KINDS.values())


def flow_bytes(doc: dict[str, Any]) -> bytes:
    """The flow file's bytes for a flow's JSON form (``flow_to_dict``): compact
    JSON, as NiFi stores its flow.json.gz (ten times faster to write than
    indented JSON, which matters for flows of thousands of components)."""
    return _dumps(doc).encode() + b"\n"


def save_flow(flow: FlowDef, path: str | os.PathLike[str]) -> None:
    """Write ``flow`` to ``path`` atomically (temporary file, fsync, rename, fsync
    directory). Raises ``OSError`` when it cannot (nothing is half-written)."""
    write_flow_bytes(flow_bytes(flow_to_dict(flow)), path)


def write_flow_bytes(data: bytes, path: str | os.PathLike[str]) -> None:
    """Write a flow file's bytes atomically (see ``save_flow``); the file is
    readable by its owner only."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
