"""NiFi's record types: ``RecordFieldType``, ``DataType``, ``RecordField``, ``RecordSchema``."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DataType", "Record", "RecordField", "RecordFieldType", "RecordSchema"]

Record = dict[str, Any]
"""One record: field name → value."""


class RecordFieldType(enum.Enum):
    """The kinds of value a record field holds (NiFi's names, lower case)."""

    STRING = "string"
    BOOLEAN = "boolean"
    BYTE = "byte"
    SHORT = "short"
    INT = "int"
    LONG = "long"
    BIGINT = "bigint"
    FLOAT = "float"
    DOUBLE = "double"
    DECIMAL = "decimal"
    DATE = "date"
    TIME = "time"
    TIMESTAMP = "timestamp"
    CHAR = "char"
    UUID = "uuid"
    RECORD = "record"
    ARRAY = "array"
    MAP = "map"
    CHOICE = "choice"
    ENUM = "enum"

    def data_type(self) -> DataType:
        """The plain data type of this kind (no element, schema or choices); one shared instance."""
        return _PLAIN[self]


#: Integral kinds narrowest first: a value of one widens to any later one.
INTEGRAL = (RecordFieldType.BYTE, RecordFieldType.SHORT, RecordFieldType.INT, RecordFieldType.LONG,
            RecordFieldType.BIGINT)
#: Numeric kinds narrowest first (NiFi's widening order).
NUMERIC = (*INTEGRAL, RecordFieldType.FLOAT, RecordFieldType.DOUBLE, RecordFieldType.DECIMAL)


@dataclass(frozen=True, slots=True)
class DataType:
    """A field's type. ``element`` is an array's element or a map's value type,
    ``schema`` a record's schema, ``choices`` a choice's alternatives,
    ``precision``/``scale`` a decimal's, ``symbols`` an enum's."""

    field_type: RecordFieldType
    element: DataType | None = None
    schema: RecordSchema | None = None
    choices: tuple[DataType, ...] = ()
    precision: int | None = None
    scale: int | None = None
    symbols: tuple[str, ...] = ()

    @staticmethod
    def array(element: DataType) -> DataType:
        """An array of ``element``."""
        return DataType(RecordFieldType.ARRAY, element=element)

    @staticmethod
    def map(value: DataType) -> DataType:
        """A map of text keys to ``value``."""
        return DataType(RecordFieldType.MAP, element=value)

    @staticmethod
    def record(schema: RecordSchema) -> DataType:
        """A nested record of ``schema``."""
        return DataType(RecordFieldType.RECORD, schema=schema)

    @staticmethod
    def choice(choices: tuple[DataType, ...] | list[DataType]) -> DataType:
        """One of ``choices`` (a single choice is that type itself)."""
        unique: list[DataType] = []
        for choice in choices:
            for sub in (choice.choices if choice.field_type is RecordFieldType.CHOICE else (choice,)):
                if sub not in unique:
                    unique.append(sub)
        return unique[0] if len(unique) == 1 else DataType(RecordFieldType.CHOICE, choices=tuple(unique))

    @staticmethod
    def decimal(precision: int, scale: int) -> DataType:
        """A decimal of ``precision`` digits, ``scale`` of them after the point."""
        return DataType(RecordFieldType.DECIMAL, precision=precision, scale=scale)

    @staticmethod
    def enum(symbols: tuple[str, ...] | list[str]) -> DataType:
        """One of ``symbols``."""
        return DataType(RecordFieldType.ENUM, symbols=tuple(symbols))

    def __str__(self) -> str:
        kind = self.field_type
        if kind is RecordFieldType.ARRAY or kind is RecordFieldType.MAP:
            return f"{kind.name}[{self.element}]"
        if kind is RecordFieldType.CHOICE:
            return f"CHOICE[{', '.join(str(c) for c in self.choices)}]"
        if kind is RecordFieldType.DECIMAL and self.precision is not None:
            return f"DECIMAL{self.precision}{self.scale}"
        return kind.name


_PLAIN: dict[RecordFieldType, DataType] = {kind: DataType(kind) for kind in RecordFieldType}


@dataclass(frozen=True, slots=True)
class RecordField:
    """One named field; ``default`` is used when a record lacks the field."""

    name: str
    data_type: DataType
    nullable: bool = True
    default: Any = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordSchema:
    """The ordered fields of a record; ``name``/``namespace`` come from Avro."""

    fields: tuple[RecordField, ...]
    name: str | None = None
    namespace: str | None = None
    _index: dict[str, RecordField] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        for f in self.fields:
            self._index.setdefault(f.name, f)
            for alias in f.aliases:
                self._index.setdefault(alias, f)

    @property
    def field_names(self) -> list[str]:
        """The names of the fields, in order."""
        return [f.name for f in self.fields]

    def field(self, name: str) -> RecordField | None:
        """The field named (or aliased) ``name``, or None."""
        return self._index.get(name)

    def __hash__(self) -> int:
        return hash((self.fields, self.name, self.namespace))
