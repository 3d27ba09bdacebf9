"""The etcd client's records (``KeyValue``, ``Compare``, ``Op``, ``TxnResult``,
``WatchEvent``) and the JSON gateway's encoding (base64 keys and values, 64-bit numbers
as strings): the data half of :mod:`flowyard.clusters.etcd`, which re-exports the records."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Literal

# --- records ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One key as etcd stores it. ``version`` counts puts since creation; ``lease`` is 0
    when the key has none. A deleted key in a watch event has only ``key`` and
    ``mod_revision`` (the deletion's revision)."""

    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    version: int
    lease: int


_COMPARE_RESULTS = {"=": "EQUAL", "!=": "NOT_EQUAL", ">": "GREATER", "<": "LESS"}


@dataclass(frozen=True, slots=True)
class Compare:
    """One condition of a transaction. Build with the class methods; ``op`` is one of
    ``=``, ``!=``, ``>``, ``<``. A key that does not exist has version, create_revision and
    mod_revision 0 (``Compare.create_revision(key, "=", 0)`` means "key absent")."""

    key: str
    target: Literal["VERSION", "CREATE", "MOD", "VALUE"]
    op: str
    number: int = 0
    data: bytes = b""

    def __post_init__(self) -> None:
        if self.op not in _COMPARE_RESULTS:
            raise ValueError(f"etcd compare on {self.key!r}: op must be one of =, !=, >, <, not {self.op!r}")

    @classmethod
    def version(cls, key: str, op: str, n: int) -> Compare:
        """The key's version (number of puts since it was created) compared with ``n``."""
        return cls(key, "VERSION", op, number=n)

    @classmethod
    def create_revision(cls, key: str, op: str, n: int) -> Compare:
        """The revision that created the key compared with ``n`` (0: the key is absent)."""
        return cls(key, "CREATE", op, number=n)

    @classmethod
    def mod_revision(cls, key: str, op: str, n: int) -> Compare:
        """The revision of the key's last change compared with ``n``."""
        return cls(key, "MOD", op, number=n)

    @classmethod
    def value(cls, key: str, op: str, data: bytes) -> Compare:
        """The key's value compared (bytewise) with ``data``."""
        return cls(key, "VALUE", op, data=data)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"result": _COMPARE_RESULTS[self.op], "target": self.target, "key": _b64(self.key)}
        if self.target == "VALUE":
            body["value"] = _b64(self.data)
        else:
            field = {"VERSION": "version", "CREATE": "create_revision", "MOD": "mod_revision"}[self.target]
            body[field] = str(self.number)
        return body


@dataclass(frozen=True, slots=True)
class Op:
    """One request inside a transaction: ``Op.put``, ``Op.delete`` or ``Op.get``."""

    kind: Literal["put", "delete", "get"]
    key: str
    value: bytes = b""
    lease: int = 0
    prefix: bool = False

    @classmethod
    def put(cls, key: str, value: bytes, lease: int = 0) -> Op:
        """Write ``value`` at ``key`` (attached to ``lease`` when not 0)."""
        return cls("put", key, value=value, lease=lease)

    @classmethod
    def delete(cls, key: str, prefix: bool = False) -> Op:
        """Delete ``key`` (every key starting with it when ``prefix``)."""
        return cls("delete", key, prefix=prefix)

    @classmethod
    def get(cls, key: str, prefix: bool = False) -> Op:
        """Read ``key`` (every key starting with it when ``prefix``)."""
        return cls("get", key, prefix=prefix)

    def to_json(self) -> dict[str, Any]:
        if self.kind == "put":
            put: dict[str, Any] = {"key": _b64(self.key), "value": _b64(self.value)}
            if self.lease:
                put["lease"] = str(self.lease)
            return {"request_put": put}
        body: dict[str, Any] = {"key": _b64(self.key)}
        if self.prefix:
            body["range_end"] = _b64(_prefix_end(self.key))
        return {"request_range" if self.kind == "get" else "request_delete_range": body}


@dataclass(frozen=True, slots=True)
class TxnResult:
    """What a transaction did. ``responses`` follows the branch that ran (``success`` when
    ``succeeded``, else ``failure``), one item per op: ``list[KeyValue]`` for a get, the
    revision (int) for a put, the number of deleted keys (int) for a delete."""

    succeeded: bool
    revision: int
    responses: list[Any]


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change seen by a watch."""

    kind: Literal["PUT", "DELETE"]
    kv: KeyValue


# --- encoding --------------------------------------------------------------------------


def _key_bytes(key: str | bytes) -> bytes:
    return key if isinstance(key, bytes) else key.encode("utf-8", "surrogateescape")


def _b64(data: str | bytes) -> str:
    return base64.b64encode(_key_bytes(data)).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text) if text else b""


def _prefix_end(prefix: str | bytes) -> bytes:
    """The smallest key greater than every key starting with ``prefix`` (etcd's range_end)."""
    raw = bytearray(_key_bytes(prefix))
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return b"\0"  # the whole key space
    raw[-1] += 1
    return bytes(raw)


def _int(value: Any) -> int:
    return int(value) if value not in (None, "") else 0


def _kv(raw: dict[str, Any]) -> KeyValue:
    return KeyValue(_unb64(raw.get("key", "")).decode("utf-8", "surrogateescape"), _unb64(raw.get("value", "")),
                    *(_int(raw.get(f)) for f in ("create_revision", "mod_revision", "version", "lease")))


def _revision(body: dict[str, Any]) -> int:
    return _int(body.get("header", {}).get("revision"))


def _error_of(body: Any) -> tuple[int, str] | None:
    """(gRPC code, message) when ``body`` is a gateway error, else None."""
    if not isinstance(body, dict) or "error" not in body:
        return None
    error = body["error"]
    if isinstance(error, dict):  # streaming endpoints nest it
        return _int(error.get("grpc_code")), str(error.get("message", error))
    return _int(body.get("code")), str(body.get("message") or error)
