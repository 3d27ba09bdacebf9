"""The service's core: opening a data directory, saving the flow with its secrets
encrypted, and the flow document the API shows."""

from __future__ import annotations

import copy
import errno
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import trio

from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import (
    COMPONENT_KINDS,
    FlowDef,
    GroupDef,
    flow_bytes,
    flow_to_dict,
    load_flow,
    write_flow_bytes,
)
from flowyard.runtime.registry import discover_controller_services, discover_processors
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk._errors import ConfigurationError
from flowyard.runtime.sdk._processor import Processor
from flowyard.runtime.sdk._service import ControllerService
from flowyard.runtime.sensitive import SecretBox
from flowyard.runtime.service._base import FLOW_FILE, SENSITIVE_MASK, FlowNotSavedError
from flowyard.runtime.service._exchange import ExchangeMixin
from flowyard.runtime.service._history import HistoryMixin
from flowyard.runtime.service._observe import ObserveMixin
from flowyard.runtime.service._provenance import ProvenanceMixin
from flowyard.runtime.service._queues import QueueMixin

__all__ = ["FlowService"]

_log = logging.getLogger("flowyard.service")


class FlowService(HistoryMixin, ExchangeMixin, ObserveMixin, QueueMixin, ProvenanceMixin):
    """One running flow on one data directory. Create with ``open``; run with ``run``."""

    def __init__(self, flow: FlowDef, repositories: Repositories, data_dir: Path,
                 registry: Mapping[str, type[Processor]], secrets: SecretBox | None = None,
                 service_types: Mapping[str, type[ControllerService]] | None = None,
                 engine_options: Mapping[str, Any] | None = None) -> None:
        self.secrets = secrets or SecretBox.open(data_dir)
        self.registry = dict(registry)
        self.service_types = dict(service_types or {})
        self._crypt(flow, self.secrets.decrypt)
        self.flow = flow
        self.repositories = repositories
        self.data_dir = data_dir
        self.engine = Engine(flow, repositories, registry=self.registry, service_types=self.service_types,
                             source=str(data_dir / FLOW_FILE), **dict(engine_options or {}))
        self.revisions = {}
        #: The plain JSON form of what the flow file holds (``_settle`` compares the live flow with it);
        #: the flow given is taken to be the saved one (``open`` saves it first).
        self._saved: dict[str, Any] = flow_to_dict(flow)
        self._unsaved = False
        self._undo = {}
        self._redo = {}
        self._count_revisions(flow)
        for ctx in flow.parameter_contexts:
            self.revisions[ctx.identifier] = 0

    def _count_revisions(self, group: GroupDef) -> None:
        """Revision 0 for ``group`` and everything in it."""
        for g in group.walk():
            self.revisions[g.identifier] = 0
            for kind, (attr, _) in COMPONENT_KINDS.items():
                if kind != "process-group":
                    for c in getattr(g, attr):
                        self.revisions[c.identifier] = 0

    @classmethod
    def open(cls, data_dir: str | Path, *, initial_flow: str | Path | None = None,
             durability: str = "os", engine_options: Mapping[str, Any] | None = None) -> FlowService:
        """Open the data directory. The flow is ``DATA/flow.json``; if there is none
        yet, ``initial_flow`` (or an empty flow) is copied there first. Raises
        ``DataDirectoryInUseError`` / ``FlowDefinitionError`` before touching anything else."""
        data = Path(data_dir)
        registry = discover_processors()
        service_types = discover_controller_services()
        flow_path = data / FLOW_FILE
        if flow_path.exists():
            flow = load_flow(flow_path)
        elif initial_flow is not None:
            flow = load_flow(initial_flow)
        else:
            flow = FlowDef()
        repositories = Repositories.open(data / "repository", durability=durability)
        try:
            service = cls(flow, repositories, data, registry, service_types=service_types,
                          engine_options=engine_options)
            try:
                service._save()  # encrypts sensitive values that arrived in plain text
            except FlowNotSavedError as exc:
                raise ConfigurationError(f"cannot write {flow_path}: {exc}") from None
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
        if self._unsaved:  # a last try to leave the flow file as the flow ran
            try:
                self._save()
            except FlowNotSavedError as exc:
                _log.error("the flow file holds an older flow than the one that ran: %s", exc)
        self.repositories.close()

    # -- secrets ------------------------------------------------------------------------

    def _sensitive_names(self, type_name: str, properties: Mapping[str, Any],
                         kind: str = "processor") -> set[str]:
        """The names in ``properties`` that are sensitive for a processor (or a
        controller service, ``kind``) of ``type_name``."""
        types: Mapping[str, Any] = self.registry if kind == "processor" else self.service_types
        cls = types.get(type_name) or types.get(type_name.rsplit(".", 1)[-1])
        if cls is None:
            return set()
        names: set[str] = set()
        for spec in cls.spec.properties:
            if spec.sensitive:
                names.update(n for n in (spec.key, spec.display_name, *spec.aliases) if n in properties)
        return names

    def _crypt(self, flow: FlowDef, fn: Any) -> None:
        """Apply ``fn(value, associated)`` (encrypt or decrypt) to every sensitive
        property and parameter value of ``flow``, in place."""
        for group in flow.walk():
            for kind, items in (("processor", group.processors), ("controller-service", group.controller_services)):
                for c in items:
                    for name in self._sensitive_names(c.type, c.properties, kind):
                        value = c.properties[name]
                        if value is not None:
                            c.properties[name] = fn(value, f"{c.identifier}/{name}")
        for ctx in flow.parameter_contexts:
            for p in ctx.parameters:
                if p.sensitive and p.value is not None:
                    p.value = fn(p.value, f"{ctx.identifier}/#{{{p.name}}}")

    def _write(self, flow: FlowDef) -> dict[str, Any]:
        """Write ``flow`` (a private copy: its sensitive values are encrypted in
        place) as the flow file, atomically. Returns the plain JSON form that was
        saved. Raises ``FlowNotSavedError`` (the old file is left as it was).
        Safe to call from a worker thread while the edit lock is held."""
        try:
            plain = flow_to_dict(flow)
            self._crypt(flow, self.secrets.encrypt)
            write_flow_bytes(flow_bytes(flow), self.data_dir / FLOW_FILE)
        except OSError as exc:
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            raise FlowNotSavedError(
                f"the flow could not be saved ({exc.strerror or exc}); the change was not applied"
                + (": free some disk space and try again" if full else ""), disk_full=full) from None
        except (RecursionError, ValueError, TypeError) as exc:  # a bug: limits should keep these out
            raise FlowNotSavedError(f"the flow could not be written ({exc}); the change was not applied") from exc
        return plain

    def _save(self) -> None:
        """Write the live flow now (at open, and to bring the file back in line)."""
        self._saved = self._write(copy.deepcopy(self.flow))
        self._unsaved = False

    async def _stage(self, change: Callable[[FlowDef], None] | None = None) -> None:
        """Save the flow as it will be once the current edit is done (``change``
        applied to a copy of it), before anything live changes: an edit is saved
        and then applied, or neither (``FlowNotSavedError``). Runs in a worker
        thread so that a large flow does not hold up the engine or the API."""
        def work() -> dict[str, Any]:
            prospective = copy.deepcopy(self.flow)
            if change is not None:
                change(prospective)
            return self._write(prospective)
        self._saved = await trio.to_thread.run_sync(work)
        self._unsaved = False

    async def _settle(self) -> None:
        """After an edit: when the live flow is not what ``_stage`` saved (the edit
        was refused half-way, a service could not be enabled, ...), save the live
        flow. If even that fails the next edit or the shutdown saves it; a bulletin
        says so meanwhile."""
        def work() -> None:
            if self._unsaved or flow_to_dict(self.flow) != self._saved:
                self._save()
        try:
            await trio.to_thread.run_sync(work)
        except FlowNotSavedError as exc:
            self._unsaved = True
            self.engine.controller_services.bulletin(self.flow.identifier, "flow", "ERROR",
                                                     f"the running flow could not be saved: {exc}")

    def _mask(self, doc: dict[str, Any], kind: str = "processor") -> dict[str, Any]:
        """Sensitive property values never leave the service."""
        props = doc.get("properties") or {}
        for name in self._sensitive_names(str(doc.get("type", "")), props, kind):
            if props[name] is not None:
                props[name] = SENSITIVE_MASK
        return doc

    # -- reading ------------------------------------------------------------------------

    def flow_document(self) -> dict[str, Any]:
        """The whole flow with each component's revision, run state, validity and
        queue figures (sensitive values masked)."""
        doc = flow_to_dict(self.flow)
        doc["parameterContexts"] = [self._decorate("parameter-context", c) for c in doc["parameterContexts"]]
        self._decorate("process-group", doc["rootGroup"])
        return doc
