"""Reading the flow's figures: status, statistics and status history, bulletins,
catalogues, Prometheus metrics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flowyard.runtime import expression
from flowyard.runtime.engine import ComponentStatistics
from flowyard.runtime.sdk._errors import FlowyardError
from flowyard.runtime.service._base import ServiceState, UnknownComponentError

#: Status history fields: label, unit, description (the canvas's chart legends).
FIELD_DESCRIPTORS: dict[str, tuple[str, str, str]] = {
    "flowFilesIn": ("FlowFiles In", "count", "FlowFiles taken from incoming queues (processor) or that "
                                              "entered the queue (connection)"),
    "bytesIn": ("Bytes In", "bytes", "Size of those FlowFiles"),
    "flowFilesOut": ("FlowFiles Out", "count", "FlowFiles transferred to outgoing queues (processor) or that "
                                                "left the queue (connection)"),
    "bytesOut": ("Bytes Out", "bytes", "Size of those FlowFiles"),
    "bytesRead": ("Bytes Read", "bytes", "Content bytes the processor read"),
    "bytesWritten": ("Bytes Written", "bytes", "Content bytes the processor wrote"),
    "flowFilesRemoved": ("FlowFiles Removed", "count", "FlowFiles dropped or auto-terminated"),
    "taskCount": ("Tasks", "count", "Triggers run"),
    "tasksDurationNanos": ("Task Duration", "nanoseconds", "Time spent in triggers, commits included"),
    "activeThreadCount": ("Active Tasks", "count", "Triggers in progress at the end of the interval"),
    "queuedCount": ("Queued Count", "count", "FlowFiles queued at the end of the interval"),
    "queuedBytes": ("Queued Bytes", "bytes", "Bytes queued at the end of the interval"),
}
RESOLUTIONS = ("1s", "1m")
#: The stream's entry about the repository's disk (kind ``repository``: free bytes, paused, reason).
REPOSITORY_ENTRY = "_repository"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class ObserveMixin(ServiceState):
    """Status, catalogues, bulletins and metrics."""

    def status(self) -> dict[str, Any]:
        """Figures of the whole flow and of each component."""
        s = self.engine.status()
        processors: dict[str, Any] = {}
        connections: dict[str, Any] = {}
        for cid, entry in self.status_entries().items():
            kind = entry.pop("kind")
            if kind != "repository":
                (processors if kind == "processor" else connections)[cid] = entry
        return {
            "flowfilesIn": s.flowfiles_in, "flowfilesOut": s.flowfiles_out,
            "queuedCount": s.queued_count, "queuedBytes": s.queued_bytes,
            "running": s.running, "stopped": s.stopped, "invalid": s.invalid,
            # a cluster's primary node runs the primary-only processors; the others wait
            "primary": s.primary, "waitingForPrimary": s.waiting_for_primary,
            "repository": self.engine.disk.snapshot(),
            "processors": processors,
            "connections": connections,
        }

    def status_entries(self, group_id: str | None = None) -> dict[str, dict[str, Any]]:
        """A flat status per component for the live stream: processors (run state,
        validity, counters since start, bulletin count) and connections (queue
        figures), both with their 5-minute totals and 1 s / 10 s rates as of the
        last statistics sample (see ``docs/api.md``). Cheap: no window is summed here.

        With ``group_id``: only that process group's own components, plus one
        summary entry per child group (kind ``process-group``: counts by run state,
        queued flowfiles and bytes inside it). Raises ``UnknownComponentError``."""
        if group_id is not None:
            return self._group_entries(group_id)
        entries: dict[str, dict[str, Any]] = {}
        fields = self.engine.statistics.stream_fields
        for node in self.engine.nodes.values():
            stats = node.stats
            entry = {
                "kind": "processor",
                "runState": "RUNNING" if node.running else node.state,
                "valid": node.is_valid,
                "bulletins": len(node.bulletins),
                "in": stats.flowfiles_in, "out": stats.flowfiles_out,
                "removed": stats.flowfiles_removed, "tasks": stats.tasks,
                "errors": stats.errors, "activeThreadCount": node.active_tasks,
                "executionNode": node.execution_node,
            }
            entry.update(fields(node.id, "processor"))
            entries[node.id] = entry
        for cid, q in self.engine.queues.items():
            entry = {"kind": "connection", "queuedCount": q.count, "queuedBytes": q.size}
            entry.update(fields(cid, "connection"))
            entries[cid] = entry
        entries[REPOSITORY_ENTRY] = {"kind": "repository", **self.engine.disk.snapshot()}
        return entries

    def _group_entries(self, group_id: str) -> dict[str, dict[str, Any]]:
        group = self.flow.group(group_id)
        if group is None:
            raise UnknownComponentError(f"no process group has id {group_id!r}")
        group_of = self.engine.group_of
        entries = {cid: e for cid, e in self.status_entries().items()
                   if group_of.get(cid) == group_id or cid == REPOSITORY_ENTRY}
        nodes, queues = self.engine.nodes, self.engine.queues
        for child in group.groups:
            summary: dict[str, Any] = {"kind": "process-group", "runningCount": 0, "stoppedCount": 0, "invalidCount": 0,
                       "disabledCount": 0, "queuedCount": 0, "queuedBytes": 0}
            for g in child.walk():
                for p in g.processors:
                    node = nodes[p.identifier]
                    key = ("disabledCount" if node.state == "DISABLED" else "runningCount" if node.running
                           else "stoppedCount" if node.is_valid else "invalidCount")
                    summary[key] += 1
                for c in g.connections:
                    summary["queuedCount"] += queues[c.identifier].count
                    summary["queuedBytes"] += queues[c.identifier].size
            entries[child.identifier] = summary
        return entries

    def group_statistics(self, group_id: str) -> dict[str, Any]:
        """``aggregate_statistics`` over everything in a process group and its descendants."""
        group = self.flow.group(group_id)
        if group is None:
            raise UnknownComponentError(f"no process group has id {group_id!r}")
        ids: list[str] = []
        for g in group.walk():
            ids += [p.identifier for p in g.processors] + [f.identifier for f in g.funnels]
            ids += [p.identifier for p in (*g.input_ports, *g.output_ports)]
            ids += [c.identifier for c in g.connections]
        return {"id": group_id, **self.aggregate_statistics(ids)}

    # -- statistics and status history --------------------------------------------------

    def _statistics_kind(self, component_id: str) -> str:
        if component_id in self.engine.nodes:
            return "processor"
        if component_id in self.engine.queues:
            return "connection"
        raise UnknownComponentError(f"no processor or connection has id {component_id!r}")

    def _current(self, kind: str, component_ids: Iterable[str]) -> dict[str, int]:
        """Gauges now (not as of the last sample)."""
        if kind == "processor":
            nodes = self.engine.nodes
            return {"activeThreadCount": sum(nodes[c].active_tasks for c in component_ids)}
        queues = [self.engine.queues[c] for c in component_ids]
        return {"queuedCount": sum(q.count for q in queues), "queuedBytes": sum(q.size for q in queues)}

    def _statistics_doc(self, s: ComponentStatistics, component_ids: list[str]) -> dict[str, Any]:
        return {
            "timestamp": s.timestamp_ms, "windowMillis": s.window_ms,
            "totals": s.totals, "rates": {"1s": s.rates_1s, "10s": s.rates_10s},
            "sinceStart": s.since_start, "current": self._current(s.kind, component_ids),
        }

    def component_statistics(self, component_id: str) -> dict[str, Any]:
        """NiFi's 5-minute statistics of a processor (funnels and ports count as
        processors) or connection: ``totals`` over the last ``windowMillis``,
        ``rates`` per second over the last second and 10 seconds, ``sinceStart``
        (cumulative), all as of the last sample at ``timestamp`` (epoch ms; 0 and
        zeros before the first, one second after start); ``current`` gauges now.
        Raises ``UnknownComponentError``."""
        kind = self._statistics_kind(component_id)
        s = self.engine.statistics.statistics([component_id], kind)
        return {"id": component_id, "kind": kind, **self._statistics_doc(s, [component_id])}

    def aggregate_statistics(self, component_ids: Iterable[str]) -> dict[str, Any]:
        """The statistics of a set of components (a process group's), summed
        separately over its processors and its connections, each part shaped
        like ``component_statistics``. Raises ``UnknownComponentError`` naming
        the first unknown id."""
        by_kind: dict[str, list[str]] = {"processor": [], "connection": []}
        for cid in dict.fromkeys(component_ids):
            by_kind[self._statistics_kind(cid)].append(cid)
        holder = self.engine.statistics
        doc: dict[str, Any] = {"componentCount": sum(len(ids) for ids in by_kind.values())}
        for kind, key in (("processor", "processors"), ("connection", "connections")):
            ids = by_kind[kind]
            doc[key] = {"count": len(ids), **self._statistics_doc(holder.statistics(ids, kind), ids)}
        return doc

    def status_history(self, component_id: str, resolution: str = "1s") -> dict[str, Any]:
        """NiFi's "status history" of a processor or connection, kept in memory
        only: ``resolution`` ``1s`` gives the last 5 minutes of one-second samples,
        ``1m`` the last 24 hours of one-minute samples (completed minutes).
        Columnar: ``timestamps`` (epoch ms, end of each interval) and ``series``
        per field, oldest first; counters are per interval, gauges at its end.
        Raises ``UnknownComponentError``, or ``FlowyardError`` for another resolution."""
        kind = self._statistics_kind(component_id)
        if resolution not in RESOLUTIONS:
            raise FlowyardError(f"unknown resolution {resolution!r}: expected one of {', '.join(RESOLUTIONS)}")
        h = self.engine.statistics.history([component_id], kind, resolution)
        return {
            "id": component_id, "kind": kind, "resolution": resolution, "intervalMillis": h.interval_ms,
            "generated": self.engine.clock(),
            "fieldDescriptors": [{"field": f, "label": FIELD_DESCRIPTORS[f][0], "unit": FIELD_DESCRIPTORS[f][1],
                                  "description": FIELD_DESCRIPTORS[f][2],
                                  "type": "counter" if f in h.counters else "gauge"} for f in h.fields],
            "timestamps": h.timestamps, "series": h.series,
        }

    def processor_types(self) -> list[dict[str, Any]]:
        """Every processor type with its spec (for the canvas's forms)."""
        return [{"type": name, **cls.spec.to_dict()} for name, cls in sorted(self.registry.items())]

    def expression_functions(self) -> list[dict[str, object]]:
        """The Expression Language catalogue."""
        return expression.catalogue()

    def bulletins(self) -> list[dict[str, Any]]:
        return [{"timestamp": b.timestamp_ms, "componentId": b.component_id, "componentName": b.component_name,
                 "level": b.level, "message": b.message} for b in self.engine.bulletins]

    def metrics(self) -> str:
        """Prometheus text exposition of the flow's figures."""
        lines = [
            "# HELP flowyard_queued_flowfiles Flowfiles waiting in a connection.",
            "# TYPE flowyard_queued_flowfiles gauge",
        ]
        for cid, q in sorted(self.engine.queues.items()):
            lines.append(f'flowyard_queued_flowfiles{{connection="{_label(cid)}"}} {q.count}')
        lines += ["# HELP flowyard_queued_bytes Bytes waiting in a connection.", "# TYPE flowyard_queued_bytes gauge"]
        for cid, q in sorted(self.engine.queues.items()):
            lines.append(f'flowyard_queued_bytes{{connection="{_label(cid)}"}} {q.size}')
        for metric, attr, help_text in (
            ("flowyard_processor_flowfiles_in_total", "flowfiles_in", "Flowfiles a processor took."),
            ("flowyard_processor_flowfiles_out_total", "flowfiles_out", "Flowfiles a processor queued downstream."),
            ("flowyard_processor_flowfiles_removed_total", "flowfiles_removed", "Flowfiles a processor dropped."),
            ("flowyard_processor_tasks_total", "tasks", "Triggers run."),
            ("flowyard_processor_errors_total", "errors", "Triggers that failed."),
        ):
            lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} counter"]
            for node in sorted(self.engine.nodes.values(), key=lambda n: n.id):
                value = getattr(node.stats, attr)
                lines.append(f'{metric}{{processor="{_label(node.id)}",type="{_label(node.type_name)}"}} {value}')
        disk = self.engine.disk
        if disk.free is not None:
            lines += ["# HELP flowyard_repository_free_bytes Free bytes on the repository's disk.",
                      "# TYPE flowyard_repository_free_bytes gauge", f"flowyard_repository_free_bytes {disk.free}"]
        lines += ["# HELP flowyard_repository_paused 1 while processing is paused for want of disk space.",
                  "# TYPE flowyard_repository_paused gauge", f"flowyard_repository_paused {int(disk.paused)}"]
        return "\n".join(lines) + "\n"
