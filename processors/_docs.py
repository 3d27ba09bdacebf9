"""Render ``docs/processors.md`` from the processor and controller service specs.

    python -m flowyard.processors._docs > docs/processors.md

The specs are the single source: ``tests/processors/test_docs.py`` fails
when the committed file differs from what this module renders.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping

from flowyard.runtime.sdk import (
    ControllerService,
    DynamicPropertySpec,
    ExpressionScope,
    InputRequirement,
    Processor,
    PropertySpec,
)

__all__ = ["render_processors"]

_INPUT = {
    InputRequirement.REQUIRED: "required (needs an incoming connection)",
    InputRequirement.ALLOWED: "allowed",
    InputRequirement.FORBIDDEN: "forbidden (a source processor)",
}
_SCOPE = {
    ExpressionScope.NONE: "",
    ExpressionScope.ENVIRONMENT: "Expression Language: environment and parameters only.",
    ExpressionScope.FLOWFILE_ATTRIBUTES: "Expression Language: FlowFile attributes.",
}


def _cell(text: str) -> str:
    """``text`` made safe for one Markdown table cell."""
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{_cell(text)}{pad}{fence}"


def _property_row(spec: PropertySpec) -> str:
    name = f"**{_cell(spec.display_name)}**" if spec.required else _cell(spec.display_name)
    default = _code(spec.default) if spec.default is not None else ""
    allowed = ", ".join(
        _code(a.value) + (f" ({_cell(a.display_name)})" if a.display_name != a.value else "")
        for a in spec.allowed_values
    )
    notes = [spec.description]
    if _SCOPE[spec.expression_scope]:
        notes.append(_SCOPE[spec.expression_scope])
    if spec.identifies_controller_service is not None:
        notes.append(f"Names a controller service (by id) that provides {spec.identifies_controller_service}.")
    if spec.validator is not None and not spec.allowed_values:
        notes.append(f"Expects {spec.validator.description}.")
    for dependency in spec.dependencies:
        values = " or ".join(f"'{v}'" for v in dependency.values) or "any value"
        notes.append(f"Only used when `{dependency.key}` is {values}.")
    if spec.aliases:
        notes.append("Also accepted as: " + ", ".join(f"'{a}'" for a in spec.aliases) + ".")
    if spec.sensitive:
        notes.append("Sensitive.")
    return f"| {name} | `{spec.key}` | {default} | {allowed} | {_cell(' '.join(notes))} |"


def _notes(cls: type[Processor] | type[ControllerService]) -> str:
    return inspect.cleandoc(cls.__doc__ or "")


def _properties(properties: tuple[PropertySpec, ...], dynamic: DynamicPropertySpec | None) -> list[str]:
    lines = ["", "### Properties", ""]
    if properties:
        lines.append("Required properties are in bold.")
        lines += ["", "| Display name | Key | Default | Allowed values | Description |", "|---|---|---|---|---|"]
        lines += [_property_row(p) for p in properties]
    else:
        lines.append("None.")
    if dynamic is not None:
        lines += ["", "### Dynamic properties", "",
                  f"- Name: {dynamic.name_description}", f"- Value: {dynamic.value_description}"]
        if _SCOPE[dynamic.expression_scope]:
            lines.append(f"- {_SCOPE[dynamic.expression_scope]}")
    return lines


def _section(cls: type[Processor]) -> list[str]:
    spec = cls.spec
    lines = [f"## {cls.type_name}", "", spec.description, ""]
    lines.append(f"- Tags: {', '.join(spec.tags)}")
    lines.append(f"- Input: {_INPUT[spec.input_requirement]}")
    if spec.stateful:
        lines.append("- Keeps component state")
    lines += _properties(spec.properties, spec.dynamic_properties)
    lines += ["", "### Relationships", "", "| Name | Description |", "|---|---|"]
    lines += [f"| `{r.name}` | {_cell(r.description)} |" for r in spec.relationships]
    if spec.dynamic_relationships is not None:
        lines.append(f"| *(dynamic property name)* | {_cell(spec.dynamic_relationships.description)} |")
    for title, pairs in (("Reads attributes", spec.reads_attributes), ("Writes attributes", spec.writes_attributes)):
        if pairs:
            lines += ["", f"### {title}", "", "| Attribute | Description |", "|---|---|"]
            lines += [f"| `{name}` | {_cell(text)} |" for name, text in pairs]
    notes = _notes(cls)
    if notes:
        lines += ["", "### Notes", "", notes]
    lines.append("")
    return lines


def _service_section(cls: type[ControllerService]) -> list[str]:
    spec = cls.spec
    lines = [f"## {cls.type_name}", "", spec.description, ""]
    lines.append(f"- Provides: {', '.join(spec.provides)}")
    lines.append(f"- Tags: {', '.join(spec.tags)}")
    lines += _properties(spec.properties, spec.dynamic_properties)
    notes = _notes(cls)
    if notes:
        lines += ["", "### Notes", "", notes]
    lines.append("")
    return lines


def render_processors(
    processors: Mapping[str, type[Processor]] | Iterable[type[Processor]],
    services: Mapping[str, type[ControllerService]] | Iterable[type[ControllerService]] = (),
) -> str:
    """The Markdown reference for ``processors`` and then ``services`` (each sorted by type name)."""
    classes = list(processors.values()) if isinstance(processors, Mapping) else list(processors)
    classes.sort(key=lambda c: c.type_name)
    service_classes = list(services.values()) if isinstance(services, Mapping) else list(services)
    service_classes.sort(key=lambda c: c.type_name)
    lines = [
        "# Processor reference",
        "",
        "<!-- Generated from the processor specs by `python -m flowyard.processors._docs`; do not edit. -->",
        "",
        "flowyard's standard processors. Type names, property display names, allowable values, defaults and "
        "relationships follow Apache NiFi 2; the key column is the stable identifier flowyard stores in flows. "
        "A flow may name a property by its key, its display name or any alias listed (older NiFi names). "
        "Regular expressions use Python syntax and, as in NiFi, must match the whole text.",
        "",
        *(f"- [{c.type_name}](#{c.type_name.lower()})" for c in classes),
        "",
    ]
    if service_classes:
        lines += [
            "Controller services (shared by the processors whose properties name them by id):",
            "",
            *(f"- [{c.type_name}](#{c.type_name.lower()})" for c in service_classes),
            "",
        ]
    for cls in classes:
        lines += _section(cls)
    if service_classes:
        lines += [
            "# Controller service reference",
            "",
            "A controller service is configured once and used by every processor whose property names its id. "
            "Such a processor is valid only while the service exists in its process group (or an ancestor), "
            "provides the API the property asks for, and is enabled.",
            "",
        ]
        for service_cls in service_classes:
            lines += _service_section(service_cls)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":  # pragma: no cover - a command-line helper
    from flowyard.processors import CONTROLLER_SERVICES, PROCESSORS

    print(render_processors(PROCESSORS, CONTROLLER_SERVICES), end="")
