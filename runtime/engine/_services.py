"""The engine's controller services: built from each group's definitions, seen by
the components of that group and its descendants (NiFi's scoping), enabled before
processors start and disabled after they stop.

``EngineServices`` is owned by the ``Engine``; it keeps the service nodes in a
``ControllerServiceRegistry`` and gives each component a lookup scoped to its
group, recomputed when services or groups change (so a service added to an
ancestor group later is visible at once).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flowyard.runtime import expression
from flowyard.runtime.engine._host import Bulletin, ServicesHost
from flowyard.runtime.engine._service_node import ConfiguredControllerService, ControllerServiceRegistry
from flowyard.runtime.flow import ControllerServiceDef, GroupDef
from flowyard.runtime.sdk._errors import FlowDefinitionError, FlowyardError
from flowyard.runtime.sdk._service import ControllerService

__all__ = ["EngineServices", "GroupServiceLookup"]

log = logging.getLogger("flowyard.engine")


class GroupServiceLookup:
    """The services a component of one group may use: its group's and its ancestors'."""

    __slots__ = ("_group_id", "_services")

    def __init__(self, services: EngineServices, group_id: str) -> None:
        self._services = services
        self._group_id = group_id

    def _sees(self, service_id: str) -> bool:
        return service_id in self._services.visible(self._group_id)

    def get(self, service_id: str) -> ControllerService | None:
        return self._services.registry.get(service_id) if self._sees(service_id) else None

    def describe(self, service_id: str) -> str | None:
        return self._services.registry.describe(service_id) if self._sees(service_id) else None

    def is_enabled(self, service_id: str) -> bool:
        return self._sees(service_id) and self._services.registry.is_enabled(service_id)

    def provides(self, service_id: str, api: str) -> bool:
        return self._sees(service_id) and self._services.registry.provides(service_id, api)


class EngineServices:
    """Every controller service of one engine."""

    def __init__(self, engine: ServicesHost, types: Mapping[str, type[ControllerService]]) -> None:
        """``engine``: the ``Engine`` (any ``ServicesHost``)."""
        self.engine = engine
        self.types = types
        self.registry = ControllerServiceRegistry()
        self._visible: dict[str, frozenset[str]] = {}

    # -- scoping --------------------------------------------------------------------

    def visible(self, group_id: str) -> frozenset[str]:
        """Ids of the services of ``group_id`` and its ancestors (cached until ``changed``)."""
        found = self._visible.get(group_id)
        if found is None:
            self._compute(self.engine.flow, frozenset())
            found = self._visible.get(group_id, frozenset())
        return found

    def _compute(self, group: GroupDef, inherited: frozenset[str]) -> None:
        mine = inherited | {s.identifier for s in group.controller_services}
        self._visible[group.identifier] = mine
        for child in group.groups:
            self._compute(child, mine)

    def changed(self) -> None:
        """Forget the scopes: services or groups were added, moved or removed."""
        self._visible.clear()

    def lookup(self, group_id: str) -> GroupServiceLookup:
        return GroupServiceLookup(self, group_id)

    # -- building ---------------------------------------------------------------------

    def configure(self, sdef: ControllerServiceDef, group_id: str, where: str = "controllerService",
                  source: str = "flow", instance: ControllerService | None = None) -> ConfiguredControllerService:
        """A service node for ``sdef`` (not yet in the registry). Raises
        ``FlowDefinitionError`` naming ``where`` for an unknown type or unreadable settings."""
        cls = self.types.get(sdef.type) or self.types.get(sdef.type.rsplit(".", 1)[-1])
        if cls is None:
            raise FlowDefinitionError(f"unknown controller service type {sdef.type!r}; known types: "
                                      f"{', '.join(sorted(self.types)) or 'none'}", source=source,
                                      where=f"{where}.type")
        engine = self.engine
        engine.group_of[sdef.identifier] = group_id
        name = sdef.name or cls.type_name

        def sink(level: str, message: str) -> None:
            self.bulletin(sdef.identifier, name, level, message)

        group = engine.flow.group(group_id) or engine.flow
        try:
            return ConfiguredControllerService(
                instance if instance is not None else cls, component_id=sdef.identifier, name=sdef.name or None,
                properties=sdef.properties, evaluator=engine.evaluator_for(sdef.identifier),
                parameters=engine.flow.parameters_for(group), bulletins=sink, clock=engine.clock,
                services=self.lookup(group_id),
            )
        except FlowyardError as exc:
            raise FlowDefinitionError(str(exc), source=source, where=where) from None

    def bulletin(self, service_id: str, name: str, level: str, message: str) -> None:
        engine = self.engine
        engine.bulletins.append(Bulletin(engine.clock(), service_id, name, level, message))
        engine.bulletin_count += 1
        log.log(logging.ERROR if level == "ERROR" else logging.WARNING, "%s[%s]: %s", name, service_id, message)

    def add(self, sdef: ControllerServiceDef, group_id: str, where: str = "controllerService",
            source: str = "flow") -> ConfiguredControllerService:
        """Add a (disabled) service; ``enable`` it separately."""
        if sdef.identifier in self.registry or sdef.identifier in self.engine.nodes:
            raise FlowDefinitionError(f"identifier {sdef.identifier!r} is already used", source=source, where=where)
        node = self.configure(sdef, group_id, where, source)
        self.registry.add(node)
        self.changed()
        return node

    def reconfigure(self, sdef: ControllerServiceDef) -> ConfiguredControllerService:
        """New settings for a disabled service (refused while it is enabled)."""
        current = self.registry.node(sdef.identifier)
        if current.enabled:
            raise FlowyardError(f"controller service {current.label} is enabled; disable it before changing it")
        node = self.configure(sdef, self.engine.group_of[sdef.identifier])
        self.registry.add(node)
        self.revalidate(sdef.identifier)
        return node

    def remove(self, service_id: str) -> None:
        """Remove a disabled service; components that referenced it become invalid."""
        node = self.registry.node(service_id)
        if node.enabled:
            raise FlowyardError(f"controller service {node.label} is enabled; disable it before removing it")
        self.registry.remove(service_id)
        self.engine.group_of.pop(service_id, None)
        self.changed()
        self.revalidate(service_id)

    # -- state ----------------------------------------------------------------------

    def referencing_processors(self, service_id: str) -> list[str]:
        """Ids of the processors whose properties name ``service_id``."""
        return [n.id for n in self.engine.nodes.values()
                if service_id in n.configured.referenced_services().values()]

    def revalidate(self, service_id: str) -> None:
        """Recompute the validity of the processors that reference ``service_id``."""
        for pid in self.referencing_processors(service_id):
            node = self.engine.nodes[pid]
            node.set_routing(node.definition.auto_terminated)

    def enable(self, service_id: str) -> list[str]:
        """Enable a service, then start the referencing processors that are scheduled
        to run and now valid. Raises ``FlowyardError`` naming what is invalid.
        Returns the ids of the processors started."""
        self.registry.enable(service_id)
        self.revalidate(service_id)
        return self._start_scheduled(self.referencing_processors(service_id))

    def _start_scheduled(self, ids: list[str]) -> list[str]:
        return [pid for pid in ids if self.engine.start_if_scheduled(self.engine.nodes[pid])]

    async def disable(self, service_id: str, *, stop_referencing: bool = False) -> list[str]:
        """Disable a service. Running processors that reference it are stopped first
        when ``stop_referencing``; otherwise the call is refused naming them.
        Returns the ids of the processors stopped."""
        node = self.registry.node(service_id)
        dependents = [self.registry.node(sid).label for sid in self.registry.referencing(service_id)
                      if self.registry.is_enabled(sid)]
        if node.enabled and dependents:  # refuse before stopping anything
            raise FlowyardError(f"controller service {node.label} is referenced by enabled controller service(s) "
                                f"{', '.join(dependents)}; disable them first")
        running = [pid for pid in self.referencing_processors(service_id) if self.engine.nodes[pid].running]
        if running and not stop_referencing:
            names = ", ".join(f"{self.engine.nodes[p].name} ({p})" for p in running)
            raise FlowyardError(f"controller service {node.label} is used by running processor(s) {names}: "
                                "stop them first, or ask to stop them")
        for pid in running:
            await self.engine.stop_processor(pid)
        self.registry.disable(service_id)
        self.revalidate(service_id)
        return running

    async def reapply_parameters(self, group_ids: set[str], names: set[str] | None) -> list[str]:
        """Re-apply changed parameters to the services of ``group_ids`` whose
        properties reference one of ``names`` (None: any): an enabled one is
        disabled (its running processors stopped), reconfigured and enabled again,
        and those processors restarted. Returns the ids of the services changed."""
        engine = self.engine
        changed = []
        for group in engine.flow.walk():
            if group.identifier not in group_ids:
                continue
            for sdef in group.controller_services:
                refs: set[str] = set()
                for value in sdef.properties.values():
                    if value and "#{" in value:
                        refs |= expression.parameter_references(value)
                if not refs or (names is not None and not refs & names):
                    continue
                node = self.registry.node(sdef.identifier)
                was_enabled = node.enabled
                stopped = await self.disable(sdef.identifier, stop_referencing=True) if was_enabled else []
                self.registry.add(self.configure(sdef, group.identifier, instance=node.service))
                if was_enabled:
                    try:
                        self.registry.enable(sdef.identifier)
                    except FlowyardError as exc:
                        self.bulletin(sdef.identifier, node.name, "ERROR", f"not enabled again: {exc}")
                self.revalidate(sdef.identifier)
                for pid in stopped:
                    engine.resume(engine.nodes[pid])
                changed.append(sdef.identifier)
        return changed

    def enable_scheduled(self) -> None:
        """At start: enable every service whose scheduled state is ENABLED; report failures as bulletins."""
        wanted = [s.identifier for g in self.engine.flow.walk() for s in g.controller_services
                  if s.scheduled_state == "ENABLED"]
        for sid, exc in self.registry.enable_all(wanted).items():
            node = self.registry.node(sid)
            self.bulletin(sid, node.name, "ERROR", f"not enabled: {exc}")

    def disable_all(self) -> None:
        for sid, exc in self.registry.disable_all().items():
            node = self.registry.node(sid)
            self.bulletin(sid, node.name, "WARNING", str(exc))

