"""Finding and describing components: the shared part of the editing mixins
(kinds, lookups, the JSON the API shows, the checks every change makes, and the
lock that applies one edit at a time)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

import trio

from flowyard.runtime.flow import (
    COMPONENT_KINDS,
    GroupDef,
    component_to_dict,
    parameter_context_to_dict,
)
from flowyard.runtime.sdk._errors import FlowyardError
from flowyard.runtime.sdk._service import ControllerService
from flowyard.runtime.service._base import (
    SENSITIVE_MASK,
    RevisionConflict,
    ServiceState,
    UnknownComponentError,
)

__all__ = ["GROUP_FIELDS", "KINDS", "RUN_STATES", "LookupMixin", "serialized"]

#: Every kind of component the API edits.
KINDS = (*COMPONENT_KINDS, "parameter-context")
#: The fields of a process group itself (its contents change through their own resources).
GROUP_FIELDS = ("identifier", "name", "position", "comments", "parameterContext", "executionEngine",
                "maxConcurrentTasks", "statelessFlowTimeout")
#: Run states a component can be asked for.
RUN_STATES = ("RUNNING", "STOPPED", "DISABLED", "ENABLED", "RUN_ONCE")
_DECORATIONS = ("revision", "runState", "validationErrors", "queuedCount", "queuedBytes", "parentGroupId",
                "state", "referencingComponents", "provides", "boundGroups", "runningCount", "stoppedCount",
                "invalidCount", "disabledCount")
_PASS_THROUGH = {"funnel": "Funnel", "input-port": "InputPort", "output-port": "OutputPort"}


_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S", bound="LookupMixin")


def serialized(method: Callable[Concatenate[_S, _P], Coroutine[Any, Any, _R]]
               ) -> Callable[Concatenate[_S, _P], Coroutine[Any, Any, _R]]:
    """One flow edit at a time: a change awaits (stopping a processor, say), and
    another request must not act on the half-changed flow meanwhile. Re-entrant
    for the task holding it (undo calls update, import calls create)."""
    async def call(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        async with self._editing():
            return await method(self, *args, **kwargs)
    call.__name__, call.__qualname__, call.__doc__ = method.__name__, method.__qualname__, method.__doc__
    return call


def _label(kind: str) -> str:
    return kind.replace("-", " ")


class LookupMixin(ServiceState):
    """Lookups, the JSON of components, checks, and the edit lock."""

    service_types: Mapping[str, type[ControllerService]]
    _edit_lock: trio.Lock | None = None
    _edit_owner: Any = None

    @asynccontextmanager
    async def _editing(self) -> AsyncIterator[None]:
        """Hold the edit lock (re-entrant for the task holding it)."""
        task = trio.lowlevel.current_task()
        if self._edit_owner is task:
            yield
            return
        if self._edit_lock is None:
            self._edit_lock = trio.Lock()
        async with self._edit_lock:
            self._edit_owner = task
            try:
                yield
            finally:
                self._edit_owner = None

    # -- finding ------------------------------------------------------------------------

    def _find(self, kind: str, ident: str) -> tuple[Any, GroupDef | None]:
        """The definition of component ``ident`` of ``kind`` and the group holding it.
        Raises ``UnknownComponentError``."""
        if kind not in KINDS:
            raise UnknownComponentError(f"unknown component kind {kind!r}")
        if kind == "parameter-context":
            ctx = self.flow.context(ident)
            if ctx is None:
                raise UnknownComponentError(f"no parameter context has id {ident!r}")
            return ctx, None
        if kind == "process-group":
            if ident == self.flow.identifier:
                return self.flow, None
            for group in self.flow.walk():
                for child in group.groups:
                    if child.identifier == ident:
                        return child, group
            raise UnknownComponentError(f"no process group has id {ident!r}")
        owner = self.flow.owner(ident)
        if owner is None or owner[1] != kind:
            raise UnknownComponentError(f"no {_label(kind)} has id {ident!r}")
        group = owner[0]
        return next(c for c in getattr(group, COMPONENT_KINDS[kind][0]) if c.identifier == ident), group

    def kind_of(self, ident: str) -> str:
        """The kind of component ``ident``. Raises ``UnknownComponentError``."""
        if self.flow.context(ident) is not None:
            return "parameter-context"
        if self.flow.group(ident) is not None:
            return "process-group"
        owner = self.flow.owner(ident)
        if owner is None:
            raise UnknownComponentError(f"no component has id {ident!r}")
        return owner[1]

    def _group(self, group_id: str | None) -> GroupDef:
        group = self.flow.group(group_id or self.flow.identifier)
        if group is None:
            raise UnknownComponentError(f"no process group has id {group_id!r}")
        return group

    def _raw(self, kind: str, ident: str) -> dict[str, Any]:
        """The definition as JSON, unmasked (kept in memory for undo; never returned)."""
        obj, _ = self._find(kind, ident)
        if kind == "parameter-context":
            return parameter_context_to_dict(obj)
        return component_to_dict(kind, obj)

    def component(self, kind: str, ident: str) -> dict[str, Any]:
        """A component as JSON with its revision and live state (sensitive values masked)."""
        _, parent = self._find(kind, ident)
        doc = self._decorate(kind, self._raw(kind, ident))
        if kind != "parameter-context":
            doc["parentGroupId"] = parent.identifier if parent is not None else None
        return doc

    def processor(self, component_id: str) -> dict[str, Any]:
        return self.component("processor", component_id)

    def connection(self, connection_id: str) -> dict[str, Any]:
        return self.component("connection", connection_id)

    def _decorate(self, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Add revision, run state, validity and figures to a component's JSON, in
        place. While the engine is being reconciled to a new flow (the flow read
        is the one before it), a component the engine no longer or not yet has
        shows its scheduled state and no figures."""
        ident = doc["identifier"]
        doc["revision"] = self.revisions.get(ident, 0)
        engine = self.engine
        if kind == "processor" or kind in _PASS_THROUGH:
            node = engine.nodes.get(ident)
            if node is None:
                doc["runState"] = doc.get("scheduledState", "STOPPED")
            else:
                doc["runState"] = "RUNNING" if node.running else node.state
            if kind == "processor":
                doc["validationErrors"] = [str(r) for r in node.validation] if node is not None else []
                self._mask(doc)
        elif kind == "connection":
            queue = engine.queues.get(ident)
            doc.update(queuedCount=queue.count if queue is not None else 0,
                       queuedBytes=queue.size if queue is not None else 0)
        elif kind == "controller-service":
            services = engine.controller_services
            if ident in services.registry:
                snode = services.registry.node(ident)
                doc["state"] = snode.state
                doc["validationErrors"] = [] if snode.enabled else [str(r) for r in snode.validation_results()]
                doc["referencingComponents"] = services.referencing_processors(ident)
                doc["provides"] = list(snode.provides)
            else:
                doc.update(state=doc.get("scheduledState", "DISABLED"), validationErrors=[],
                           referencingComponents=[], provides=[])
            self._mask(doc, "controller-service")
        elif kind == "parameter-context":
            for p in doc["parameters"]:
                if p["sensitive"] and p["value"] is not None:
                    p["value"] = SENSITIVE_MASK
            doc["boundGroups"] = [g.identifier for g in self.flow.walk() if g.parameter_context == ident]
        elif kind == "process-group":
            counts = dict.fromkeys(("runningCount", "stoppedCount", "invalidCount", "disabledCount"), 0)
            queued = [0, 0]
            for child_kind, (_, key) in COMPONENT_KINDS.items():
                for child in doc[key]:
                    self._decorate(child_kind, child)
                    if child_kind == "processor":
                        state = child["runState"]
                        counts["disabledCount" if state == "DISABLED" else
                               "runningCount" if state == "RUNNING" else
                               "invalidCount" if child["validationErrors"] else "stoppedCount"] += 1
                    elif child_kind == "process-group":
                        for name in counts:
                            counts[name] += child[name]
                        queued[0] += child["queuedCount"]
                        queued[1] += child["queuedBytes"]
                    elif child_kind == "connection":
                        queued[0] += child["queuedCount"]
                        queued[1] += child["queuedBytes"]
            doc.update(counts, queuedCount=queued[0], queuedBytes=queued[1])
        return doc

    def controller_service_types(self) -> list[dict[str, Any]]:
        """Every controller service type with its spec (for the canvas's forms)."""
        return [{"type": name, **cls.spec.to_dict()} for name, cls in sorted(self.service_types.items())]

    # -- revisions ----------------------------------------------------------------------

    def _check_revision(self, component_id: str, revision: Any, current: dict[str, Any]) -> None:
        if not isinstance(revision, int) or isinstance(revision, bool):
            raise FlowyardError("the change must name the component's revision (a whole number)")
        if revision != self.revisions[component_id]:
            raise RevisionConflict(
                f"component {component_id!r} is at revision {self.revisions[component_id]}, not {revision}: "
                "someone changed it meanwhile", current)

    @staticmethod
    def _ids_of(kind: str, obj: Any) -> list[str]:
        if kind != "process-group":
            return [obj.identifier]
        ids = []
        for g in obj.walk():
            ids.append(g.identifier)
            for k, (attr, _) in COMPONENT_KINDS.items():
                if k != "process-group":
                    ids += [c.identifier for c in getattr(g, attr)]
        return ids

def _node_ids(group: GroupDef, *, funnels: bool) -> list[str]:
    """Identifiers of a group's engine nodes: processors and ports (and funnels)."""
    ids = [p.identifier for p in group.processors]
    ids += [p.identifier for p in (*group.input_ports, *group.output_ports)]
    return ids + ([f.identifier for f in group.funnels] if funnels else [])


