"""Reading the flow's figures: status, bulletins, catalogues, Prometheus metrics."""

from __future__ import annotations

from typing import Any

from flowyard.runtime import expression
from flowyard.runtime.service._base import ServiceState


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
            (processors if entry.pop("kind") == "processor" else connections)[cid] = entry
        return {
            "flowfilesIn": s.flowfiles_in, "flowfilesOut": s.flowfiles_out,
            "queuedCount": s.queued_count, "queuedBytes": s.queued_bytes,
            "running": s.running, "stopped": s.stopped, "invalid": s.invalid,
            "processors": processors,
            "connections": connections,
        }

    def status_entries(self) -> dict[str, dict[str, Any]]:
        """A flat status per component for the live stream: processors (run state,
        validity, counters, bulletin count) and connections (queue figures)."""
        entries: dict[str, dict[str, Any]] = {}
        for node in self.engine.nodes.values():
            entries[node.id] = {
                "kind": "processor",
                "runState": "RUNNING" if node.running else node.state,
                "valid": node.is_valid,
                "bulletins": len(node.bulletins),
                "in": node.stats.flowfiles_in, "out": node.stats.flowfiles_out,
                "removed": node.stats.flowfiles_removed, "tasks": node.stats.tasks,
                "errors": node.stats.errors,
            }
        for cid, q in self.engine.queues.items():
            entries[cid] = {"kind": "connection", "queuedCount": q.count, "queuedBytes": q.size}
        return entries

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
        return "\n".join(lines) + "\n"
