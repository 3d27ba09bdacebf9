"""The service's core: opening a data directory, saving the flow with its secrets
encrypted, and the flow document the API shows."""

from __future__ import annotations

import dataclasses
import errno
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import trio

from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import (
    COMPONENT_KINDS,
    FlowDef,
    GroupDef,
    flow_bytes,
    flow_to_dict,
    iter_flow_json,
    map_group,
    write_flow_bytes,
)
from flowyard.runtime.flow.normalize import Outcome, normalize_flow
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk._processor import Processor
from flowyard.runtime.sdk._service import ControllerService
from flowyard.runtime.sensitive import SecretBox
from flowyard.runtime.service._base import FLOW_FILE, SENSITIVE_MASK, FlowNotSavedError
from flowyard.runtime.service._exchange import ExchangeMixin
from flowyard.runtime.service._log import EditLog
from flowyard.runtime.service._observe import ObserveMixin
from flowyard.runtime.service._preview import PreviewMixin
from flowyard.runtime.service._provenance import ProvenanceMixin
from flowyard.runtime.service._queues import QueueMixin

__all__ = ["OFF_LOOP_COMPONENTS", "FlowService"]

#: From this many components on, the flow file is built and written in a worker thread.
OFF_LOOP_COMPONENTS = 2_000
_T = TypeVar("_T")


class FlowService(ExchangeMixin, ObserveMixin, QueueMixin, ProvenanceMixin, PreviewMixin):
    """One running flow on one data directory. The composition root opens it
    (``bootstrap.compose.open_service``: the catalogue, the repositories, then
    ``save_now``); run it with ``run``.

    The flow it holds is never changed in place: every edit makes a new one
    (``EditsMixin._commit``), which the engine is reconciled to. Property names
    are stored as keys: a flow holding display names or NiFi's legacy names is
    read with them renamed (``normalize_flow``), and saved so by ``save_now``."""

    def __init__(self, flow: FlowDef, repositories: Repositories, data_dir: Path,
                 registry: Mapping[str, type[Processor]], secrets: SecretBox | None = None,
                 service_types: Mapping[str, type[ControllerService]] | None = None,
                 engine_options: Mapping[str, Any] | None = None) -> None:
        self.secrets = secrets or SecretBox.open(data_dir)
        self.registry = registry
        self.service_types: Mapping[str, type[ControllerService]] = service_types or {}
        #: Sensitive property names (keys, display names, aliases) by (kind, type).
        self._sensitive_cache: dict[tuple[str, str], frozenset[str]] = {}
        flow = self._crypted(flow, self.secrets.decrypt)  # before renaming: a secret is sealed with its stored name
        flow, renamed = normalize_flow(flow, self._edit_context().specs)
        for r in renamed:
            if r.outcome is not Outcome.NOT_INSTALLED or r.name:
                logging.getLogger("flowyard.service").info("%s", r)
        self.flow = flow
        self.repositories = repositories
        self.data_dir = data_dir
        self.engine = Engine(flow, repositories, registry=self.registry, service_types=self.service_types,
                             source=str(data_dir / FLOW_FILE), **dict(engine_options or {}))
        self.revisions = {}
        #: The flow file holds an older flow than the live one (a save failed at open).
        self._unsaved = False
        self.log = EditLog.open(data_dir, self.secrets, edit_seq=flow.edit_seq)
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
                self.save_now()
            except FlowNotSavedError as exc:
                logging.getLogger("flowyard.service").error(
                    "the flow file holds an older flow than the one that ran: %s", exc)
        self.log.close()
        self.repositories.close()

    # -- secrets ------------------------------------------------------------------------

    def _sensitive_names(self, type_name: str, properties: Mapping[str, Any],
                         kind: str = "processor") -> set[str]:
        """The names in ``properties`` that are sensitive for a processor (or a
        controller service, ``kind``) of ``type_name``."""
        key = (kind, type_name)
        sensitive = self._sensitive_cache.get(key)
        if sensitive is None:
            types: Mapping[str, Any] = self.registry if kind == "processor" else self.service_types
            cls = types.get(type_name) or types.get(type_name.rsplit(".", 1)[-1])
            sensitive = self._sensitive_cache[key] = frozenset(
                n for spec in (cls.spec.properties if cls is not None else ()) if spec.sensitive
                for n in (spec.key, spec.display_name, *spec.aliases))
        return {n for n in sensitive if n in properties} if sensitive else set()

    def _refers_to_service(self, kind: str, type_name: str, name: str) -> bool:
        """Whether property ``name`` of a processor (or service, ``kind``) of
        ``type_name`` holds a controller service id (its spec says so; for an
        unknown type, any property may)."""
        types: Mapping[str, Any] = self.registry if kind == "processor" else self.service_types
        cls = types.get(type_name) or types.get(type_name.rsplit(".", 1)[-1])
        if cls is None:
            return True
        return any(spec.identifies_controller_service and name in (spec.key, spec.display_name, *spec.aliases)
                   for spec in cls.spec.properties)

    def _crypted(self, flow: FlowDef, fn: Any) -> FlowDef:
        """``flow`` with ``fn(value, associated)`` (encrypt or decrypt) applied to
        every sensitive property and parameter value (a new flow; ``flow`` is
        left as it is)."""
        def component(kind: str, c: Any) -> Any:
            if kind not in ("processor", "controller-service"):
                return c
            names = [n for n in self._sensitive_names(c.type, c.properties, kind) if c.properties[n] is not None]
            if not names:
                return c
            return dataclasses.replace(c, properties={
                **c.properties, **{n: fn(c.properties[n], f"{c.identifier}/{n}") for n in names}})

        contexts = tuple(dataclasses.replace(ctx, parameters=tuple(
                        dataclasses.replace(p, value=fn(p.value, f"{ctx.identifier}/#{{{p.name}}}"))
                        if p.sensitive and p.value is not None else p for p in ctx.parameters))
                         if any(p.sensitive and p.value is not None for p in ctx.parameters) else ctx
                         for ctx in flow.parameter_contexts)
        return dataclasses.replace(map_group(flow, component), parameter_contexts=contexts)

    def _encrypted(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A flow's JSON form with its sensitive values encrypted, as stored. ``doc``
        is left as it is; the copy shares every part that holds no secret."""
        encrypt = self.secrets.encrypt

        def group_copy(group: dict[str, Any]) -> dict[str, Any]:
            out = dict(group)
            for kind, key in (("processor", "processors"), ("controller-service", "controllerServices")):
                items = out[key] = list(group[key])
                for i, c in enumerate(items):
                    names = self._sensitive_names(c["type"], c["properties"], kind)
                    secret = {n: encrypt(c["properties"][n], f"{c['identifier']}/{n}")
                              for n in names if c["properties"][n] is not None}
                    if secret:
                        items[i] = {**c, "properties": {**c["properties"], **secret}}
            out["processGroups"] = [group_copy(g) for g in group["processGroups"]]
            return out

        contexts = []
        for ctx in doc["parameterContexts"]:
            if any(p["sensitive"] and p["value"] is not None for p in ctx["parameters"]):
                ctx = {**ctx, "parameters": [
                    {**p, "value": encrypt(p["value"], f"{ctx['identifier']}/#{{{p['name']}}}")}
                    if p["sensitive"] and p["value"] is not None else p for p in ctx["parameters"]]}
            contexts.append(ctx)
        return {**doc, "parameterContexts": contexts, "rootGroup": group_copy(doc["rootGroup"])}

    def _not_saved(self, exc: BaseException) -> FlowNotSavedError:
        if isinstance(exc, OSError):
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            return FlowNotSavedError(
                f"the flow could not be saved ({exc.strerror or exc}); the change was not applied"
                + (": free some disk space and try again" if full else ""), disk_full=full)
        return FlowNotSavedError(f"the flow could not be written ({exc}); the change was not applied")

    def save_now(self) -> None:
        """Write the live flow now, blocking (at open, which so encrypts sensitive
        values that arrived in plain text and stores renamed properties, and at
        close). Raises ``FlowNotSavedError`` (the flow file is left as it was and
        ``close`` tries again)."""
        doc = flow_to_dict(self.flow)
        try:
            write_flow_bytes(flow_bytes(self._encrypted(doc)), self.data_dir / FLOW_FILE)
        except (OSError, RecursionError, ValueError, TypeError) as exc:
            self._unsaved = True
            raise self._not_saved(exc) from exc
        self._unsaved = False

    _save = save_now  # the name the service's mixins have known it by

    async def _write(self, doc: dict[str, Any], adding: int = 0) -> None:
        """Write the flow whose plain JSON form is ``doc`` as the flow file,
        atomically, without holding up the event loop for long: the JSON is
        produced piece by piece with the loop free in between, and a large file
        is written from a worker thread. ``adding``: components the edit brings
        in. Raises ``FlowNotSavedError`` (the old file is left as it was)."""
        try:
            parts: list[str] = []
            for i, part in enumerate(iter_flow_json(self._encrypted(doc))):
                parts.append(part)
                if i % 500 == 499:
                    await trio.sleep(0)
            data = "".join(parts).encode() + b"\n"
            path = self.data_dir / FLOW_FILE
            await self._off_loop(lambda: write_flow_bytes(data, path), adding)
        except (OSError, RecursionError, ValueError, TypeError) as exc:  # all but OSError: a bug the limits missed
            raise self._not_saved(exc) from exc

    async def _off_loop(self, work: Callable[[], _T], adding: int = 0) -> _T:
        """Run ``work`` here for a small flow, in a worker thread for a large one
        (where it takes long enough to hold up the engine and the API).
        ``adding``: components the edit brings in."""
        if len(self.revisions) + adding < OFF_LOOP_COMPONENTS:
            return work()
        return await trio.to_thread.run_sync(work)

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
