"""What a RecordPath selects: ``FieldValue`` (a value, its field name and data type,
its parent and the place it lives, so that ``update_value`` changes the record in place),
the ``_Tracker`` of fields added to records while updating, and how the children,
elements and descendants of a value are found. Used by ``_recordpath``, which
re-exports ``FieldValue``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flowyard.processors._records._coerce import coerce
from flowyard.processors._records._infer import infer_type
from flowyard.processors._records._types import DataType, RecordField, RecordFieldType, RecordSchema

STRING = RecordFieldType.STRING.data_type()

#: One step of the schema path from the root record to a record: a field name, ``[]`` (an array's
#: element) or ``{}`` (a map's value).
SchemaPath = tuple[str, ...]


# -- values ------------------------------------------------------------------------------------------


def _record_schema(data_type: DataType | None, value: Any) -> RecordSchema | None:
    """The schema of a record value of ``data_type`` (a record choice when it is a choice)."""
    if data_type is not None:
        if data_type.field_type is RecordFieldType.RECORD:
            return data_type.schema
        if data_type.field_type is RecordFieldType.CHOICE:
            for choice in data_type.choices:
                if choice.field_type is RecordFieldType.RECORD:
                    return choice.schema
    return None


def _kind(data_type: DataType | None, value: Any) -> RecordFieldType | None:
    """RECORD, MAP or ARRAY for container values, by type when known, else by the value."""
    if data_type is not None:
        kind = data_type.field_type
        if kind is RecordFieldType.CHOICE:
            for choice in data_type.choices:
                if choice.field_type is RecordFieldType.RECORD and isinstance(value, dict):
                    return RecordFieldType.RECORD
                if choice.field_type is RecordFieldType.MAP and isinstance(value, dict):
                    return RecordFieldType.MAP
                if choice.field_type is RecordFieldType.ARRAY and isinstance(value, (list, tuple)):
                    return RecordFieldType.ARRAY
        elif (kind in (RecordFieldType.RECORD, RecordFieldType.MAP) and isinstance(value, dict)) or (
                kind is RecordFieldType.ARRAY and isinstance(value, (list, tuple))):
            return kind
    if isinstance(value, dict):
        return RecordFieldType.RECORD
    if isinstance(value, list):
        return RecordFieldType.ARRAY
    return None


def _element_type(data_type: DataType | None, kind: RecordFieldType) -> DataType | None:
    if data_type is None:
        return None
    if data_type.field_type is kind:
        return data_type.element
    for choice in data_type.choices:
        if choice.field_type is kind:
            return choice.element
    return None


class _Tracker:
    """Collects the fields added to records during one evaluation."""

    __slots__ = ("added",)

    def __init__(self) -> None:
        self.added: list[tuple[SchemaPath, RecordField]] = []


@dataclass(eq=False)
class FieldValue:
    """One value a path selected. ``name`` is its field's name (an array element and a map
    value carry the name of their array or map), ``data_type`` its type when known.
    ``parent`` is the value it was selected from (for ``..``). ``array_index`` / ``map_key``
    say where an element lives."""

    value: Any
    name: str | None
    data_type: DataType | None
    parent: FieldValue | None
    container: dict[str, Any] | list[Any] | None = None
    key: str | int | None = None
    schema_path: SchemaPath = ()
    record_field: bool = False
    tracker: _Tracker | None = field(default=None, repr=False)
    #: False for a field that neither the record nor its schema has (selected so that it can be added).
    known: bool = True

    @property
    def array_index(self) -> int | None:
        """The index of an array element, else None."""
        return self.key if isinstance(self.container, list) and isinstance(self.key, int) else None

    @property
    def map_key(self) -> str | None:
        """The key of a map value, else None."""
        return self.key if not self.record_field and isinstance(self.container, dict) and isinstance(
            self.key, str) else None

    @property
    def absent(self) -> bool:
        """Whether this is a field that neither the record nor its schema has (selected so that
        it can be added); comparisons ignore it, as NiFi's do."""
        return not self.known and self.value is None

    @property
    def updatable(self) -> bool:
        """Whether ``update_value`` can change the record (values computed by functions cannot)."""
        return self.container is not None

    @property
    def effective_type(self) -> DataType:
        """The data type: the declared one, else inferred from the value, else STRING."""
        if self.data_type is not None:
            return self.data_type
        inferred = infer_type(self.value) if self.value is not None else None
        return inferred or STRING

    def child(self, name: str) -> FieldValue | None:
        """The field ``name`` of this record value (value None when absent, so it can be set),
        or None when this is not a record."""
        return _child(self, name)

    def elements(self) -> list[FieldValue]:
        """The elements of this array value (none when it is not an array)."""
        return _elements(self)

    def parent_record(self) -> dict[str, Any] | None:
        """The record holding this field; for an array element or a map value, the record holding
        the array or map (as NiFi's ``getParentRecord``); None for the root and computed values."""
        if self.record_field:
            return self.container if isinstance(self.container, dict) else None
        if self.container is not None and self.parent is not None:
            return self.parent.parent_record()
        return None

    def update_value(self, new_value: Any, data_type: DataType | None = None) -> None:
        """Set this field to ``new_value`` in its record. A field of the record's schema gets
        ``new_value`` coerced to the field's type (``IllegalTypeConversion`` when it cannot); a
        field the schema lacks is added with ``data_type`` (else the value's inferred type). A
        field of a null record is left alone (there is no record to change). Raises ``ValueError``
        for a value computed by a function and for the root record (they have no place to go)."""
        if self.container is None:
            if self.parent is not None and self.parent.value is None and self.record_field:
                return  # a field of a null record: there is no record to change
            if self.parent is None and self.name is None:
                raise ValueError("the record itself (/) cannot be set to a value; select its fields")
            raise ValueError(f"the value of {self.name or 'a function'!r} was computed by a function or lies "
                             "under a null value, so it cannot be updated")
        target_type = self.data_type
        if self.record_field and not self.known:
            # a field absent from the record and its schema: it joins the schema with the new value's type
            target_type = data_type or (infer_type(new_value) if new_value is not None else None) or STRING
            if self.tracker is not None and isinstance(self.key, str):
                self.tracker.added.append((self.schema_path[:-1], RecordField(self.key, target_type)))
            self.data_type = target_type
            self.known = True
        elif target_type is not None and new_value is not None:
            new_value = coerce(new_value, target_type, name=self.name or "")
        if isinstance(self.container, list):
            assert isinstance(self.key, int)
            self.container[self.key] = new_value
        else:
            assert isinstance(self.key, str)
            self.container[self.key] = new_value
        self.value = new_value


def _computed(value: Any, name: str | None, data_type: DataType | None = None,
              parent: FieldValue | None = None) -> FieldValue:
    return FieldValue(value, name, data_type, parent)


def _children(fv: FieldValue) -> Iterator[FieldValue]:
    """The fields of a record value: the schema's in order, then keys the schema lacks."""
    value = fv.value
    if not isinstance(value, dict) or _kind(fv.data_type, value) is not RecordFieldType.RECORD:
        return
    schema = _record_schema(fv.data_type, value)
    seen: set[str] = set()
    if schema is not None:
        for f in schema.fields:
            seen.add(f.name)
            yield FieldValue(value.get(f.name), f.name, f.data_type, fv, value, f.name, (*fv.schema_path, f.name),
                             True, fv.tracker)
    for name, child in value.items():
        if name not in seen:
            yield FieldValue(child, name, None, fv, value, name, (*fv.schema_path, name), True, fv.tracker)


def _child(fv: FieldValue, name: str) -> FieldValue | None:
    value = fv.value
    if value is None and fv.data_type is not None and _record_schema(fv.data_type, None) is not None:
        schema = _record_schema(fv.data_type, None)
        assert schema is not None
        f = schema.field(name)
        return FieldValue(None, name, f.data_type if f else None, fv, None, name, (*fv.schema_path, name), True,
                          fv.tracker, known=f is not None)
    if not isinstance(value, dict) or _kind(fv.data_type, value) is not RecordFieldType.RECORD:
        return None
    schema = _record_schema(fv.data_type, value)
    f = schema.field(name) if schema is not None else None
    if f is not None and f.name != name and f.name in value:
        name = f.name
    child = value.get(name)
    return FieldValue(child, name, f.data_type if f is not None else None, fv, value, name, (*fv.schema_path, name),
                      True, fv.tracker, known=f is not None or name in value)


def _elements(fv: FieldValue) -> list[FieldValue]:
    value = fv.value
    kind = _kind(fv.data_type, value)
    if kind is RecordFieldType.ARRAY and isinstance(value, list):
        element = _element_type(fv.data_type, RecordFieldType.ARRAY)
        path = (*fv.schema_path, "[]")
        return [FieldValue(v, fv.name, element, fv, value, i, path, False, fv.tracker) for i, v in enumerate(value)]
    if kind is RecordFieldType.ARRAY and isinstance(value, tuple):
        element = _element_type(fv.data_type, RecordFieldType.ARRAY)
        return [_computed(v, fv.name, element, fv) for v in value]
    return []


def _map_values(fv: FieldValue) -> list[FieldValue]:
    value = fv.value
    if isinstance(value, dict) and _kind(fv.data_type, value) is RecordFieldType.MAP:
        element = _element_type(fv.data_type, RecordFieldType.MAP)
        path = (*fv.schema_path, "{}")
        return [FieldValue(v, fv.name, element, fv, value, k, path, False, fv.tracker) for k, v in value.items()]
    return []


def _descendants(fv: FieldValue) -> Iterator[FieldValue]:
    for child in _children(fv):
        yield child
        yield from _descendants(child)
        for element in _elements(child):
            yield from _descendants(element)
