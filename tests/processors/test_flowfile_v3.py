"""The FlowFile Stream codec against NiFi's byte layout (FlowFilePackagerV2/V3)."""

from __future__ import annotations

import io
import tarfile

import pytest

from flowyard.processors._flowfile_v3 import (
    MAGIC_V3,
    FlowFileStreamError,
    FlowFileUnpackager,
    encode_field_length,
    package,
    package_header,
    package_v1,
    read_v1,
)

# The example in FlowFilePackagerV2's javadoc: attributes A=a, B=b, content "Hello World!".
NIFI_V2_EXAMPLE = bytes.fromhex(
    "00 02 00 01 41 00 01 61"
    "00 01 42 00 01 62 00 00"
    "00 00 00 00 00 0C 48 65"
    "6C 6C 6F 20 57 6F 72 6C"
    "64 21"
)


def _packed(attributes: dict[str, str], content: bytes, version: int = 3) -> bytes:
    return b"".join(package(attributes, [content], len(content), version))


def _unpack_all(data: bytes, version: int = 3) -> list[tuple[dict[str, str], bytes]]:
    reader = FlowFileUnpackager(io.BytesIO(data), version)
    out = []
    while (header := reader.next_flowfile()) is not None:
        attributes, size = header
        content = b"".join(reader.content())
        assert len(content) == size
        out.append((attributes, content))
    return out


def test_v2_matches_nifi_javadoc_example() -> None:
    assert _packed({"A": "a", "B": "b"}, b"Hello World!", version=2) == NIFI_V2_EXAMPLE


def test_v3_is_the_magic_then_the_v2_layout() -> None:
    assert _packed({"A": "a", "B": "b"}, b"Hello World!") == MAGIC_V3 + NIFI_V2_EXAMPLE
    assert MAGIC_V3 == b"NiFiFF3"


@pytest.mark.parametrize(
    ("n", "encoded"),
    [
        (0, "0000"),
        (1, "0001"),
        (300, "012c"),
        (65534, "fffe"),
        (65535, "ffff0000ffff"),  # NiFi writes the long form for 65535 itself (numBytes < 65535 is false)
        (65536, "ffff00010000"),
        (0x12345678, "ffff12345678"),
    ],
)
def test_field_length_encoding(n: int, encoded: str) -> None:
    assert encode_field_length(n).hex() == encoded


def test_golden_bytes_of_a_long_value_and_utf8() -> None:
    value = "é" * 40000  # 80,000 UTF-8 bytes: long form
    data = _packed({"k": value, "ü": ""}, b"")
    expected = (
        b"NiFiFF3" + bytes.fromhex("0002") + bytes.fromhex("0001") + b"k"
        + bytes.fromhex("ffff00013880") + value.encode()
        + bytes.fromhex("0002") + "ü".encode() + bytes.fromhex("0000")
        + bytes.fromhex("0000000000000000")
    )
    assert data == expected
    assert _unpack_all(data) == [({"k": value, "ü": ""}, b"")]


def test_content_length_is_eight_bytes_big_endian() -> None:
    header = package_header({"a": "b"}, 0x0102030405060708)
    assert header[-8:] == bytes.fromhex("0102030405060708")


@pytest.mark.parametrize("version", [2, 3])
def test_round_trip_of_several_flowfiles(version: int) -> None:
    items = [({"filename": "a.txt", "uuid": "1"}, b"alpha"), ({"x": "y" * 70000}, b""), ({"n": "3"}, b"\x00" * 200000)]
    data = b"".join(_packed(a, c, version) for a, c in items)
    assert _unpack_all(data, version) == items


def test_skipping_unread_content() -> None:
    data = _packed({"a": "1"}, b"x" * 100) + _packed({"b": "2"}, b"yy")
    reader = FlowFileUnpackager(io.BytesIO(data))
    assert reader.next_flowfile() == ({"a": "1"}, 100)
    assert reader.next_flowfile() == ({"b": "2"}, 2)
    assert b"".join(reader.content()) == b"yy"
    assert reader.next_flowfile() is None
    assert reader.count == 2


GOOD = _packed({"a": "1"}, b"hello")


@pytest.mark.parametrize(
    ("data", "version", "message"),
    [
        (b"", 3, "empty"),
        (b"", 2, "empty"),
        (b"NiFiFF2" + GOOD[7:], 3, "does not start"),
        (b"NiFi", 3, "does not start"),
        (GOOD[:-1], 3, "1 bytes missing"),
        (GOOD[:12], 3, "ends before an attribute value"),
        (GOOD[:8], 3, "ends inside"),
        (GOOD + b"N", 3, "does not start"),
        (MAGIC_V3 + b"\x00\x00" + b"\x00" * 8, 3, "zero attributes"),
        (b"\x00\x00" + b"\x00" * 8, 2, "zero attributes"),
        (b"\x00\x01\x00\x01a", 2, "ends"),
    ],
)
def test_malformed_streams_are_refused(data: bytes, version: int, message: str) -> None:
    with pytest.raises(FlowFileStreamError, match=message):
        _unpack_all(data, version)


def test_package_checks_the_declared_size() -> None:
    with pytest.raises(ValueError, match="expected 3"):
        b"".join(package({"a": "b"}, [b"toolong"], 3))


# -- version 1 (FlowFile Tar) ------------------------------------------------------------------


def test_v1_layout_is_nifis_tar() -> None:
    data = b"".join(package_v1({"a": "x<&>\"'", "filename": "f.txt"}, [b"hello"], 5, 1_600_000_000))
    assert len(data) % 10240 == 0  # padded to a tar record, as TarArchiveOutputStream.finish()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        attributes, content = archive.getmembers()
        assert (attributes.name, content.name) == ("flowfile.attributes", "flowfile.content")
        assert attributes.mode == content.mode == 0o644 and content.mtime == 1_600_000_000
        xml = archive.extractfile(attributes).read()  # type: ignore[union-attr]
        assert archive.extractfile(content).read() == b"hello"  # type: ignore[union-attr]
    assert xml == (
        b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE properties\n  SYSTEM "http://java.sun.com/dtd/properties.dtd">'
        b'\n<properties>\n  <entry key="a">x&lt;&amp;&gt;&quot;&apos;</entry>\n  <entry key="filename">f.txt</entry>'
        b"</properties>"
    )


def test_v1_round_trip_of_concatenated_packages() -> None:
    items = [({"filename": "a", "k": "<v>"}, b"alpha" * 300), ({"filename": "b"}, b"")]
    data = b"".join(b"".join(package_v1(a, [c], len(c))) for a, c in items)
    got = [(attributes, content.read()) for attributes, content, _ in read_v1(io.BytesIO(data))]
    assert got == items


def _tar(*entries: tuple[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage" * 100,
        _tar(("flowfile.content", b"x"), ("flowfile.attributes", b"<properties/>")),
        _tar(("flowfile.attributes", b"<properties/>")),
        _tar(("flowfile.attributes", b"not xml"), ("flowfile.content", b"x")),
        _tar(("flowfile.attributes", b"<other/>"), ("flowfile.content", b"x")),
    ],
    ids=["empty", "garbage", "swapped", "no-content", "bad-xml", "not-properties"],
)
def test_v1_malformed_packages_are_refused(data: bytes) -> None:
    with pytest.raises(FlowFileStreamError):
        for _, content, _ in read_v1(io.BytesIO(data)):
            content.read()
