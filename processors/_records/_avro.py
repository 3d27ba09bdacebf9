"""Translation between record schemas and Avro schemas (as fastavro reads them)."""

from __future__ import annotations

import json
import re
from typing import Any

from flowyard.processors._records._types import DataType, RecordField, RecordFieldType, RecordSchema

__all__ = ["from_avro_schema", "parse_avro_schema_text", "to_avro_schema"]

T = RecordFieldType
_NAME = re.compile(r"[^A-Za-z0-9_]")


def parse_avro_schema_text(text: str) -> RecordSchema:
    """The record schema of Avro schema JSON ``text``; ``ValueError`` when it is
    not JSON or not an Avro record schema."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the schema is not valid JSON: {exc}") from None
    return from_avro_schema(parsed)


def from_avro_schema(avro: Any) -> RecordSchema:
    """The record schema of a parsed Avro record schema."""
    named: dict[str, DataType] = {}
    data_type, _ = _from_avro(avro, named, None)
    if data_type.field_type is not T.RECORD or data_type.schema is None:
        raise ValueError("the Avro schema is not a record schema")
    return data_type.schema


def _from_avro(avro: Any, named: dict[str, DataType], namespace: str | None) -> tuple[DataType, bool]:
    """(type, nullable) of an Avro schema."""
    if isinstance(avro, list):
        branches = [b for b in avro if b != "null"]
        nullable = len(branches) < len(avro)
        if not branches:
            return T.STRING.data_type(), True
        types = [_from_avro(b, named, namespace)[0] for b in branches]
        return DataType.choice(types), nullable
    if isinstance(avro, str):
        simple = {"string": T.STRING, "boolean": T.BOOLEAN, "int": T.INT, "long": T.LONG, "float": T.FLOAT,
                  "double": T.DOUBLE, "null": T.STRING}
        if avro in simple:
            return simple[avro].data_type(), avro == "null"
        if avro == "bytes":
            return DataType.array(T.BYTE.data_type()), False
        full = avro if "." in avro or namespace is None else f"{namespace}.{avro}"
        for key in (full, avro):
            if key in named:
                return named[key], False
        raise ValueError(f"unknown Avro type {avro!r}")
    if not isinstance(avro, dict) or "type" not in avro:
        raise ValueError(f"not an Avro schema: {avro!r}")
    kind = avro["type"]
    logical = avro.get("logicalType")
    if logical == "decimal":
        return DataType.decimal(int(avro.get("precision", 10)), int(avro.get("scale", 0))), False
    if logical == "date":
        return T.DATE.data_type(), False
    if logical in ("time-millis", "time-micros"):
        return T.TIME.data_type(), False
    if logical in ("timestamp-millis", "timestamp-micros", "local-timestamp-millis", "local-timestamp-micros"):
        return T.TIMESTAMP.data_type(), False
    if logical == "uuid":
        return T.UUID.data_type(), False
    if kind == "record" or kind == "error":
        ns = avro.get("namespace", namespace)
        name = avro.get("name")
        if name and "." in name:  # a full name holds its namespace
            ns, name = name.rsplit(".", 1)
        fields: list[RecordField] = []
        placeholder_schema = RecordSchema((), name=name, namespace=ns)
        if name:
            named[f"{ns}.{name}" if ns and "." not in name else name] = DataType.record(placeholder_schema)
        for f in avro.get("fields", ()):
            field_type, nullable = _from_avro(f["type"], named, ns)
            fields.append(RecordField(f["name"], field_type, nullable, f.get("default"), tuple(f.get("aliases", ()))))
        schema = RecordSchema(tuple(fields), name=name, namespace=ns)
        result = DataType.record(schema)
        if name:
            named[f"{ns}.{name}" if ns and "." not in name else name] = result
        return result, False
    if kind == "array":
        return DataType.array(_from_avro(avro["items"], named, namespace)[0]), False
    if kind == "map":
        return DataType.map(_from_avro(avro["values"], named, namespace)[0]), False
    if kind == "enum":
        result = DataType.enum(tuple(avro.get("symbols", ())))
        if avro.get("name"):
            named[avro["name"]] = result
        return result, False
    if kind == "fixed":
        return DataType.array(T.BYTE.data_type()), False
    return _from_avro(kind, named, namespace)


def to_avro_schema(schema: RecordSchema, name: str | None = None) -> dict[str, Any]:
    """``schema`` as a parsed Avro record schema (nullable fields as a union
    with ``null`` first, NiFi's ``nifiRecord`` as the default name)."""
    counter = [0]
    return _record_avro(schema, name or schema.name or "nifiRecord", counter)


def _record_avro(schema: RecordSchema, name: str, counter: list[int]) -> dict[str, Any]:
    fields = []
    for f in schema.fields:
        avro_type = _to_avro(f.data_type, f.name, counter)
        if f.nullable:
            avro_type = ["null", *(avro_type if isinstance(avro_type, list) else [avro_type])]
        entry: dict[str, Any] = {"name": f.name, "type": avro_type}
        if f.default is not None:
            entry["default"] = f.default
        elif f.nullable:
            entry["default"] = None
        if f.aliases:
            entry["aliases"] = list(f.aliases)
        fields.append(entry)
    out: dict[str, Any] = {"type": "record", "name": _NAME.sub("_", name), "fields": fields}
    if schema.namespace:
        out["namespace"] = schema.namespace
    return out


def _to_avro(data_type: DataType, field_name: str, counter: list[int]) -> Any:
    kind = data_type.field_type
    simple = {T.STRING: "string", T.BOOLEAN: "boolean", T.BYTE: "int", T.SHORT: "int", T.INT: "int",
              T.LONG: "long", T.FLOAT: "float", T.DOUBLE: "double", T.CHAR: "string"}
    if kind in simple:
        return simple[kind]
    if kind is T.BIGINT:
        return "string"  # Avro has no integer wider than long (NiFi writes a BIGINT as a string too)
    if kind is T.DECIMAL:
        return {"type": "bytes", "logicalType": "decimal", "precision": data_type.precision or 38,
                "scale": data_type.scale or 0}
    if kind is T.DATE:
        return {"type": "int", "logicalType": "date"}
    if kind is T.TIME:
        return {"type": "int", "logicalType": "time-millis"}
    if kind is T.TIMESTAMP:
        return {"type": "long", "logicalType": "timestamp-millis"}
    if kind is T.UUID:
        return {"type": "string", "logicalType": "uuid"}
    if kind is T.ENUM:
        counter[0] += 1
        return {"type": "enum", "name": f"{_NAME.sub('_', field_name)}Type{counter[0]}",
                "symbols": list(data_type.symbols)}
    if kind is T.RECORD:
        counter[0] += 1
        schema = data_type.schema or RecordSchema(())
        return _record_avro(schema, f"{field_name}Type{counter[0]}" if not schema.name else schema.name, counter)
    if kind is T.ARRAY:
        element = data_type.element or T.STRING.data_type()
        if element.field_type is T.BYTE:
            return "bytes"
        return {"type": "array", "items": _nullable(_to_avro(element, field_name, counter))}
    if kind is T.MAP:
        return {"type": "map", "values": _nullable(_to_avro(data_type.element or T.STRING.data_type(),
                                                            field_name, counter))}
    if kind is T.CHOICE:
        branches: list[Any] = []
        for choice in data_type.choices:
            branch = _to_avro(choice, field_name, counter)
            for b in branch if isinstance(branch, list) else [branch]:
                if b not in branches:
                    branches.append(b)
        return branches
    raise ValueError(f"no Avro type for {data_type}")


def _nullable(avro: Any) -> Any:
    return ["null", *(avro if isinstance(avro, list) else [avro])]
