"""What every record preview format shares: the limits of a preview (rows, text,
nesting, decoded bytes and values), record format names by MIME type and magic bytes,
cells as JSON-ready values, NiFi's type names for columns, the byte-budgeted stream
(``_Tracked``) and the table built from records (``_table``, ``_Columns``).
``record_preview`` re-exports the limits.
"""

from __future__ import annotations

import io
import math
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, BinaryIO

from flowyard.processors._records import DataType, RecordFieldType, infer_type, merge_types

#: Rows shown when the caller does not say.
MAX_ROWS = 100
#: Characters of one text cell shown (longer text ends with an ellipsis).
MAX_TEXT = 1_000
#: Levels and items of a nested value shown.
MAX_DEPTH = 4
MAX_ITEMS = 20
#: Bytes of Avro block data a preview decompresses and decodes at most.
MAX_DECODED = 16 * 1024 * 1024
#: Uncompressed bytes of the Parquet row groups a preview reads at most (as the file's footer gives them).
MAX_PARQUET_DECODED = 64 * 1024 * 1024
#: Values (fields, array items, map entries) of Avro records a preview decodes at most.
MAX_VALUES = 1_000_000
#: Largest whole number JavaScript holds exactly; larger ones go out as text.
_JS_SAFE = 2**53 - 1

_AVRO_MAGIC = b"Obj\x01"
_PARQUET_MAGIC = b"PAR1"
_TYPES = {
    "text/csv": "csv", "application/csv": "csv", "text/tab-separated-values": "csv",
    "application/json": "json", "text/json": "json", "application/x-ndjson": "json",
    "application/ndjson": "json", "application/jsonlines": "json", "application/x-jsonlines": "json",
    "application/json-lines": "json", "application/jsonl": "json",
    "avro/binary": "avro", "application/avro": "avro", "application/avro-binary": "avro",
    "application/x-avro": "avro", "application/vnd.apache.avro": "avro",
    "application/vnd.apache.parquet": "parquet", "application/parquet": "parquet",
    "application/x-parquet": "parquet",
}


# -- cells and types -----------------------------------------------------------

def _cell(value: Any, depth: int = 0) -> Any:
    """A JSON-safe, bounded form of one value (see the module's docstring)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -_JS_SAFE <= value <= _JS_SAFE else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        text = data[:MAX_TEXT // 2].hex()
        return text + ("…" if len(data) > MAX_TEXT // 2 else "")
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, Mapping):
        if depth >= MAX_DEPTH:
            return "{…}"
        out: dict[str, Any] = {}
        for i, (key, item) in enumerate(value.items()):
            if i == MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS} more"
                break
            out[str(key)] = _cell(item, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        if depth >= MAX_DEPTH:
            return ["…"]
        items = [_cell(item, depth + 1) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"… {len(value) - MAX_ITEMS} more")
        return items
    return _cell(str(value), depth)


def _type_name(data_type: DataType | None, depth: int = 0) -> str:
    """A record field type as NiFi names it, nested records with their fields."""
    if data_type is None:
        return RecordFieldType.STRING.name
    kind = data_type.field_type
    if kind is RecordFieldType.RECORD and data_type.schema is not None:
        if depth >= 2:
            return "RECORD"
        fields = data_type.schema.fields
        inner = ", ".join(f"{f.name}: {_type_name(f.data_type, depth + 1)}" for f in fields[:8])
        return f"RECORD{{{inner}{', …' if len(fields) > 8 else ''}}}"
    if kind in (RecordFieldType.ARRAY, RecordFieldType.MAP):
        return f"{kind.name}[{_type_name(data_type.element, depth + 1)}]"
    if kind is RecordFieldType.CHOICE:
        return f"CHOICE[{', '.join(_type_name(c, depth + 1) for c in data_type.choices)}]"
    if kind is RecordFieldType.DECIMAL and data_type.precision is not None:
        return f"DECIMAL({data_type.precision},{data_type.scale})"
    return kind.name


class _Tracked(io.RawIOBase):
    """``stream`` noting whether a read found its end before the content's end
    (the caller's budget ran out)."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        super().__init__()
        self._stream = stream
        self._size = size
        self.starved = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._stream.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def read(self, size: int | None = -1) -> bytes:
        """At most what is left of the content: a length declared in it never sizes a larger buffer."""
        left = max(0, self._size - self.tell())
        return super().read(left if size is None or size < 0 else min(size, left)) or b""

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        if len(data) < len(buffer) and self._stream.tell() < self._size:
            self.starved = True
        buffer[:len(data)] = data
        return len(data)


def _cut(stream: _Tracked, size: int) -> bool:
    """Whether the stream ended before the content did (the caller's budget ran out)."""
    return stream.starved


def _table(records: Iterable[Mapping[str, Any]], truncated: bool,
           declared: Mapping[str, DataType | None]) -> dict[str, Any]:
    """Rows of ``records`` under the declared columns (in order) and any other field they hold."""
    records = list(records)
    names: dict[str, None] = dict.fromkeys(declared)
    inferred: dict[str, DataType | None] = {}
    for record in records:
        for key, value in record.items():
            names.setdefault(key)
            if key not in declared:
                inferred[key] = merge_types(inferred.get(key), infer_type(value))
    columns = [{"name": n, "type": _type_name(declared[n] if n in declared else inferred.get(n))} for n in names]
    rows = [[_cell(record.get(n)) for n in names] for record in records]
    return {"columns": columns, "rows": rows, "truncated": truncated}


class _Columns:
    """Rows kept as their cells (the decoded values dropped as they come), columns
    declared by the schema first, others inferred from the values."""

    def __init__(self, declared: Mapping[str, DataType | None]) -> None:
        self.declared = declared
        self.names: dict[str, None] = dict.fromkeys(declared)
        self.inferred: dict[str, DataType | None] = {}
        self.rows: list[dict[str, Any]] = []

    def add(self, record: Mapping[str, Any]) -> None:
        for key, value in record.items():
            self.names.setdefault(key)
            if key not in self.declared:
                self.inferred[key] = merge_types(self.inferred.get(key), infer_type(value))
        self.rows.append({key: _cell(value) for key, value in record.items()})

    def table(self, max_rows: int, truncated: bool) -> dict[str, Any]:
        columns = [{"name": n, "type": _type_name(self.declared[n] if n in self.declared else self.inferred.get(n))}
                   for n in self.names]
        rows = [[row.get(n) for n in self.names] for row in self.rows[:max_rows]]
        return {"columns": columns, "rows": rows, "truncated": truncated}
