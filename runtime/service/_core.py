"""The service's core: opening a data directory, saving the flow, components and undo."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import (
    ConnectionDef,
    FlowDef,
    ProcessorDef,
    connection_from_dict,
    flow_to_dict,
    load_flow,
    processor_from_dict,
    save_flow,
)
from flowyard.runtime.registry import discover_processors
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk._errors import FlowyardError
from flowyard.runtime.sdk._processor import Processor
from flowyard.runtime.sensitive import SecretBox
from flowyard.runtime.service._base import (
    FLOW_FILE,
    HISTORY,
    SENSITIVE_MASK,
    RevisionConflict,
    UnknownComponentError,
)
from flowyard.runtime.service._observe import ObserveMixin
from flowyard.runtime.service._provenance import ProvenanceMixin
from flowyard.runtime.service._queues import QueueMixin

__all__ = ["FlowService"]


@dataclass(slots=True)
class _Edit:
    """One recorded change: enough to undo and redo it."""

    kind: str
    component_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    revision: int  # the component's revision right after the change (-1: it no longer exists)

    @property
    def description(self) -> str:
        return f"{self.kind.replace('_', ' ')} {self.component_id}"


def _rebase(stack: list[_Edit], component_id: str, revision: int) -> None:
    """After undoing (redoing) an edit, the component is exactly as the previous
    edit of it left it, at a new revision: that edit may be undone (redone) next."""
    for edit in reversed(stack):
        if edit.component_id == component_id:
            edit.revision = revision
            return


_STRIP = ("revision", "runState", "validationErrors", "queuedCount", "queuedBytes")


def _definition(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in _STRIP}


class FlowService(ObserveMixin, QueueMixin, ProvenanceMixin):
    """One running flow on one data directory. Create with ``open``; run with ``run``."""

    def __init__(self, flow: FlowDef, repositories: Repositories, data_dir: Path,
                 registry: Mapping[str, type[Processor]], secrets: SecretBox | None = None) -> None:
        self.secrets = secrets or SecretBox.open(data_dir)
        self.registry = dict(registry)
        self._decrypt(flow)
        self.flow = flow
        self.repositories = repositories
        self.data_dir = data_dir
        self.engine = Engine(flow, repositories, registry=self.registry, source=str(data_dir / FLOW_FILE))
        #: Revision of every component; a change must name the one it saw.
        self.revisions: dict[str, int] = {}
        #: Per user: edits that can be undone (newest last, at most HISTORY) and redone.
        self._undo: dict[str, list[_Edit]] = {}
        self._redo: dict[str, list[_Edit]] = {}
        ids = [p.identifier for p in flow.processors] + [c.identifier for c in flow.connections]
        ids += [f.identifier for f in flow.funnels]
        for ident in ids:
            self.revisions[ident] = 0

    @classmethod
    def open(cls, data_dir: str | Path, *, initial_flow: str | Path | None = None,
             durability: str = "os") -> FlowService:
        """Open the data directory. The flow is ``DATA/flow.json``; if there is none
        yet, ``initial_flow`` (or an empty flow) is copied there first. Raises
        ``DataDirectoryInUseError`` / ``FlowDefinitionError`` before touching anything else."""
        data = Path(data_dir)
        registry = discover_processors()
        flow_path = data / FLOW_FILE
        if flow_path.exists():
            flow = load_flow(flow_path)
        elif initial_flow is not None:
            flow = load_flow(initial_flow)
        else:
            flow = FlowDef()
        repositories = Repositories.open(data / "repository", durability=durability)
        try:
            service = cls(flow, repositories, data, registry)
            service._save()  # encrypts sensitive values that arrived in plain text
            return service
        except BaseException:
            repositories.close()
            raise

    async def run(self, *, task_status: trio.TaskStatus[FlowService] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the engine until ``request_stop``."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.engine.run)
            task_status.started(self)

    def request_stop(self) -> None:
        self.engine.request_stop()

    def close(self) -> None:
        self.repositories.close()

    # -- reading ------------------------------------------------------------------------

    def _sensitive_names(self, type_name: str, properties: Mapping[str, Any]) -> set[str]:
        cls = self.registry.get(type_name) or self.registry.get(type_name.rsplit(".", 1)[-1])
        if cls is None:
            return set()
        names: set[str] = set()
        for spec in cls.spec.properties:
            if spec.sensitive:
                names.update(n for n in (spec.key, spec.display_name, *spec.aliases) if n in properties)
        return names

    def _mask(self, processor_doc: dict[str, Any]) -> dict[str, Any]:
        """Sensitive property values never leave the service."""
        props = processor_doc.get("properties") or {}
        for name in self._sensitive_names(str(processor_doc.get("type", "")), props):
            if props[name] is not None:
                props[name] = SENSITIVE_MASK
        return processor_doc

    def flow_document(self) -> dict[str, Any]:
        """The flow definition with each processor's current run state and validity
        (sensitive property values masked)."""
        doc = flow_to_dict(self.flow)
        for p in doc["rootGroup"]["processors"]:
            self._mask(p)
            node = self.engine.nodes[p["identifier"]]
            p["runState"] = "RUNNING" if node.running else node.state
            p["validationErrors"] = [str(r) for r in node.validation]
        return doc
    # -- components ---------------------------------------------------------------------

    def _save(self) -> None:
        """Write the flow file atomically, sensitive values encrypted."""
        stored = copy.deepcopy(self.flow)
        for p in stored.processors:
            for name in self._sensitive_names(p.type, p.properties):
                value = p.properties[name]
                if value is not None:
                    p.properties[name] = self.secrets.encrypt(value, f"{p.identifier}/{name}")
        save_flow(stored, self.data_dir / FLOW_FILE)

    def _decrypt(self, flow: FlowDef) -> None:
        for p in flow.processors:
            for name in self._sensitive_names(p.type, p.properties):
                value = p.properties[name]
                if value is not None:
                    p.properties[name] = self.secrets.decrypt(value, f"{p.identifier}/{name}")

    def _processor_def(self, component_id: str) -> ProcessorDef:
        for p in self.flow.processors:
            if p.identifier == component_id:
                return p
        raise UnknownComponentError(f"no processor has id {component_id!r}")

    def _connection_def(self, connection_id: str) -> ConnectionDef:
        for c in self.flow.connections:
            if c.identifier == connection_id:
                return c
        raise UnknownComponentError(f"no connection has id {connection_id!r}")

    def processor(self, component_id: str) -> dict[str, Any]:
        """A processor as JSON with its revision, run state and validation errors."""
        pdef = self._processor_def(component_id)
        single = FlowDef(processors=[pdef])
        doc: dict[str, Any] = flow_to_dict(single)["rootGroup"]["processors"][0]
        node = self.engine.nodes[component_id]
        doc.update(revision=self.revisions[component_id], runState="RUNNING" if node.running else node.state,
                   validationErrors=[str(r) for r in node.validation])
        return self._mask(doc)

    def connection(self, connection_id: str) -> dict[str, Any]:
        """A connection as JSON with its revision and queue figures."""
        cdef = self._connection_def(connection_id)
        doc: dict[str, Any] = flow_to_dict(FlowDef(connections=[cdef]))["rootGroup"]["connections"][0]
        queue = self.engine.queues[connection_id]
        doc.update(revision=self.revisions[connection_id], queuedCount=queue.count, queuedBytes=queue.size)
        return doc

    def _check_revision(self, component_id: str, revision: Any, current: dict[str, Any]) -> None:
        if not isinstance(revision, int) or isinstance(revision, bool):
            raise FlowyardError("the change must name the component's revision (a whole number)")
        if revision != self.revisions[component_id]:
            raise RevisionConflict(
                f"component {component_id!r} is at revision {self.revisions[component_id]}, not {revision}: "
                "someone changed it meanwhile", current)

    # -- undo / redo ------------------------------------------------------------------

    def _record(self, user: str | None, edit: _Edit) -> None:
        if user is None:
            return
        stack = self._undo.setdefault(user, [])
        stack.append(edit)
        del stack[:-HISTORY]
        self._redo.pop(user, None)

    def history(self, user: str) -> dict[str, list[str]]:
        """What ``user`` can undo and redo, newest first."""
        return {"undo": [e.description for e in reversed(self._undo.get(user, []))],
                "redo": [e.description for e in reversed(self._redo.get(user, []))]}

    def _current_revision(self, component_id: str) -> int:
        return self.revisions.get(component_id, -1)

    def _unchanged_since(self, edit: _Edit, state: dict[str, Any] | None) -> bool:
        """Whether the component is still as ``edit`` left it (``state``): the same
        revision, or — after others' undos — the same definition."""
        if self._current_revision(edit.component_id) == edit.revision:
            return True
        exists = edit.component_id in self.revisions
        if state is None or not exists:
            return state is None and not exists
        getter = self.processor if edit.kind.endswith("processor") else self.connection
        if _definition(getter(edit.component_id)) == state:
            edit.revision = self._current_revision(edit.component_id)
            return True
        return False

    async def _apply(self, kind: str, component_id: str, doc: dict[str, Any] | None, revision: int) -> int:
        """Perform one change without recording it; returns the component's new revision."""
        if kind == "create_processor":
            return int(self.create_processor(doc)["revision"])
        if kind == "delete_processor":
            await self.delete_processor(component_id, revision)
            return -1
        if kind == "update_processor":
            # Restore exactly: properties the target does not have are unset.
            target = dict(doc or {})
            props: dict[str, Any] = dict(target.get("properties") or {})
            for name in self.processor(component_id).get("properties") or {}:
                props.setdefault(name, None)
            target["properties"] = props
            return int((await self.update_processor(component_id, revision, target))["revision"])
        if kind == "create_connection":
            return int(self.create_connection(doc)["revision"])
        await self.delete_connection(component_id, revision)
        return -1

    _INVERSE = {"create_processor": "delete_processor", "delete_processor": "create_processor",
                "update_processor": "update_processor", "create_connection": "delete_connection",
                "delete_connection": "create_connection"}

    async def undo(self, user: str) -> str:
        """Undo ``user``'s last edit. Raises ``RevisionConflict`` if the component
        changed since (nothing is undone then), ``FlowyardError`` if there is nothing."""
        stack = self._undo.get(user)
        if not stack:
            raise FlowyardError("there is nothing to undo")
        edit = stack[-1]
        if not self._unchanged_since(edit, edit.after):
            raise RevisionConflict(f"{edit.description} cannot be undone: the component changed since", {})
        inverse = self._INVERSE[edit.kind]
        new_revision = await self._apply(inverse, edit.component_id, edit.before, edit.revision)
        stack.pop()
        _rebase(stack, edit.component_id, new_revision)
        self._redo.setdefault(user, []).append(
            _Edit(edit.kind, edit.component_id, edit.before, edit.after, new_revision))
        return edit.description

    async def redo(self, user: str) -> str:
        """Redo the edit ``user`` undid last (same rules as ``undo``)."""
        stack = self._redo.get(user)
        if not stack:
            raise FlowyardError("there is nothing to redo")
        edit = stack[-1]
        if not self._unchanged_since(edit, edit.before):
            raise RevisionConflict(f"{edit.description} cannot be redone: the component changed since", {})
        new_revision = await self._apply(edit.kind, edit.component_id, edit.after, edit.revision)
        stack.pop()
        _rebase(stack, edit.component_id, new_revision)
        self._undo.setdefault(user, []).append(
            _Edit(edit.kind, edit.component_id, edit.before, edit.after, new_revision))
        return edit.description

    def create_processor(self, data: Any, *, user: str | None = None) -> dict[str, Any]:
        """Add a processor. ``data`` is its JSON form (``identifier`` optional)."""
        if isinstance(data, dict) and not data.get("identifier"):
            data = {**data, "identifier": str(uuid.uuid4())}
        pdef = processor_from_dict(data)
        if pdef.identifier in self.revisions:
            raise FlowyardError(f"identifier {pdef.identifier!r} is already used")
        self.engine.add_processor(pdef)
        self.flow.processors.append(pdef)
        self.revisions[pdef.identifier] = 0
        self._save()
        doc = self.processor(pdef.identifier)
        self._record(user, _Edit("create_processor", pdef.identifier, None, _definition(doc), 0))
        return doc

    async def update_processor(self, component_id: str, revision: Any, changes: Any, *,
                               user: str | None = None) -> dict[str, Any]:
        """Change a processor, live: a running one is stopped, reconfigured and
        started again, its queues untouched. ``changes`` holds the fields to change;
        ``properties`` are merged (a null value unsets a property)."""
        current = self.processor(component_id)
        self._check_revision(component_id, revision, current)
        if not isinstance(changes, dict):
            raise FlowyardError("expected a JSON object with the fields to change")
        if "identifier" in changes and changes["identifier"] != component_id:
            raise FlowyardError("the identifier of a component cannot change")
        merged = {k: v for k, v in current.items() if k not in ("revision", "runState", "validationErrors")}
        merged["properties"] = dict(self._processor_def(component_id).properties)  # unmasked
        for key, value in changes.items():
            if key == "properties" and isinstance(value, dict):
                props = dict(merged.get("properties") or {})
                for name, v in value.items():
                    if v == SENSITIVE_MASK:
                        continue  # the mask sent back means "unchanged"
                    if v is None:
                        props.pop(name, None)
                    else:
                        props[name] = v
                merged["properties"] = props
            else:
                merged[key] = value
        pdef = processor_from_dict(merged)
        await self.engine.reconfigure_processor(pdef)
        self.flow.processors = [pdef if p.identifier == component_id else p for p in self.flow.processors]
        self.revisions[component_id] += 1
        self._save()
        doc = self.processor(component_id)
        self._record(user, _Edit("update_processor", component_id, _definition(current), _definition(doc),
                                 self.revisions[component_id]))
        return doc

    async def delete_processor(self, component_id: str, revision: Any, *, user: str | None = None) -> None:
        """Remove a processor without connections."""
        current = self.processor(component_id)
        self._check_revision(component_id, revision, current)
        await self.engine.remove_processor(component_id)
        self.flow.processors = [p for p in self.flow.processors if p.identifier != component_id]
        del self.revisions[component_id]
        self._save()
        self._record(user, _Edit("delete_processor", component_id, _definition(current), None, -1))

    def create_connection(self, data: Any, *, user: str | None = None) -> dict[str, Any]:
        """Connect two components while the flow runs."""
        if isinstance(data, dict) and not data.get("identifier"):
            data = {**data, "identifier": str(uuid.uuid4())}
        cdef = connection_from_dict(data)
        if cdef.identifier in self.revisions:
            raise FlowyardError(f"identifier {cdef.identifier!r} is already used")
        self.engine.add_connection(cdef)
        self.flow.connections.append(cdef)
        self.revisions[cdef.identifier] = 0
        self._save()
        doc = self.connection(cdef.identifier)
        self._record(user, _Edit("create_connection", cdef.identifier, None, _definition(doc), 0))
        return doc

    async def delete_connection(self, connection_id: str, revision: Any, *, drop: bool = False,
                                user: str | None = None) -> int:
        """Remove a connection; one holding flowfiles only with ``drop``."""
        current = self.connection(connection_id)
        self._check_revision(connection_id, revision, current)
        dropped = await self.engine.remove_connection(connection_id, drop=drop)
        self.flow.connections = [c for c in self.flow.connections if c.identifier != connection_id]
        del self.revisions[connection_id]
        self._save()
        self._record(user, _Edit("delete_connection", connection_id, _definition(current), None, -1))
        return dropped

    # -- run state ----------------------------------------------------------------------

    def _node(self, component_id: str) -> Any:
        node = self.engine.nodes.get(component_id)
        if node is None:
            raise UnknownComponentError(f"no component has id {component_id!r}")
        return node

    async def set_run_state(self, component_id: str, state: str) -> None:
        """``RUNNING`` or ``STOPPED``; the new state is saved in the flow file.
        Raises ``FlowyardError`` (invalid, disabled) or ``UnknownComponentError``."""
        node = self._node(component_id)
        if state == "RUNNING":
            self.engine.start_processor(component_id)
        elif state == "STOPPED":
            await self.engine.stop_processor(component_id)
        else:
            raise FlowyardError(f"unknown run state {state!r}: expected RUNNING or STOPPED")
        node.definition.scheduled_state = state
        self._save()
