"""UnpackContent: tar, zip and FlowFile Streams, NiFi's attributes and failures (cases of TestUnpackContent)."""

from __future__ import annotations

import io
import re
import struct
import tarfile
import time
import zipfile
import zlib

import pytest

from flowyard.processors import unpack_content
from flowyard.processors._flowfile_v3 import package, package_v1
from flowyard.processors.unpack_content import UnpackContent
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}")
MTIME = 1_600_000_000


def make_tar(entries: list[tuple[str, bytes]], *, fmt: int = tarfile.PAX_FORMAT, mode: int = 0o640,
             pax: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = MTIME
            info.mode = mode
            info.uname, info.gname = "alice", "staff"
            if pax:
                info.pax_headers = dict(pax)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def make_zip(entries: list[tuple[str, bytes]], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 9, 13, 12, 26, 40))
            info.external_attr = (0o100600) << 16
            info.create_system = 3
            info.compress_type = compression
            archive.writestr(info, data)
    return out.getvalue()


def runner_for(fmt: str | None = None) -> ProcessorRunner:
    runner = ProcessorRunner(UnpackContent)
    if fmt is not None:
        runner.set_property("Packaging Format", fmt)
    return runner


# -- tar ---------------------------------------------------------------------------


@pytest.mark.parametrize("mime", ["application/tar", "application/x-tar", "APPLICATION/TAR"])
def test_tar_by_mime_type(mime: str) -> None:
    runner = runner_for()
    runner.enqueue(make_tar([("dir/sub/a.txt", b"alpha"), ("b.txt", b"")]),
                   {"mime.type": mime, "filename": "data.tar", "keep": "me"})
    runner.run()
    runner.assert_transferred("success", 2)
    runner.assert_transferred("original", 1)
    a, b = runner.flowfiles_for("success")
    a.assert_content_equals(b"alpha")
    b.assert_content_equals(b"")
    assert (a.attributes["filename"], a.attributes["path"]) == ("a.txt", "dir/sub/")
    assert (b.attributes["filename"], b.attributes["path"]) == ("b.txt", "/")
    fragment_id = a.attributes["fragment.identifier"]
    for index, child in enumerate((a, b), start=1):
        child.assert_attribute_equals("fragment.identifier", fragment_id)
        child.assert_attribute_equals("fragment.index", str(index))
        child.assert_attribute_equals("fragment.count", "2")
        child.assert_attribute_equals("segment.original.filename", "data")
        child.assert_attribute_equals("mime.type", "application/octet-stream")
        child.assert_attribute_equals("keep", "me")
        child.assert_attribute_equals("file.permissions", "rw-r-----")
        child.assert_attribute_equals("file.owner", "alice")
        child.assert_attribute_equals("file.group", "staff")
        assert TIMESTAMP.fullmatch(child.attributes["file.lastModifiedTime"])
        child.assert_attribute_equals("file.creationTime", child.attributes["file.lastModifiedTime"])
    a.assert_attribute_equals("file.size", "5")
    original = runner.flowfiles_for("original")[0]
    original.assert_attribute_equals("fragment.identifier", fragment_id)
    original.assert_attribute_equals("fragment.count", "2")
    [fork] = runner.provenance_events(ProvenanceEventType.FORK)
    assert sorted(fork.child_uuids) == sorted(c.attributes["uuid"] for c in (a, b))


def test_tar_pax_times() -> None:
    runner = runner_for("tar")
    runner.enqueue(make_tar([("x", b"1")], pax={"atime": "1600000100", "ctime": "1600000200"}))
    runner.run()
    child = runner.flowfiles_for("success")[0]
    assert TIMESTAMP.fullmatch(child.attributes["file.lastAccessTime"])
    assert TIMESTAMP.fullmatch(child.attributes["file.lastMetadataChange"])
    assert child.attributes["file.lastAccessTime"] != child.attributes["file.lastModifiedTime"]


def test_file_filter_and_directories() -> None:
    runner = runner_for("tar")
    runner.set_property("File Filter", r"\.csv$")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        directory = tarfile.TarInfo("folder")
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
        for name in ("folder/a.csv", "folder/b.txt", "c.csv"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    runner.enqueue(out.getvalue(), {"filename": "f.tar"})
    runner.run()
    names = [(f.attributes["filename"], f.attributes["fragment.index"]) for f in runner.flowfiles_for("success")]
    assert names == [("a.csv", "1"), ("c.csv", "2")]


@pytest.mark.parametrize(
    ("entry", "filename", "path"),
    [
        ("../../etc/passwd", "passwd", "etc/"),
        ("/abs/dir/x", "x", "abs/dir/"),
        ("a/./b/../c", "c", "a/b/"),
    ],
)
def test_tar_names_cannot_escape(entry: str, filename: str, path: str) -> None:
    runner = runner_for("tar")
    runner.enqueue(make_tar([(entry, b"x")]))
    runner.run()
    child = runner.flowfiles_for("success")[0]
    assert (child.attributes["filename"], child.attributes["path"]) == (filename, path)


# -- zip ---------------------------------------------------------------------------


def test_zip_by_mime_type() -> None:
    runner = runner_for()
    runner.enqueue(make_zip([("folder/a.txt", b"alpha" * 100), ("b.bin", b"\x00\x01")]),
                   {"mime.type": "application/zip", "filename": "bundle.zip"})
    runner.run()
    a, b = runner.flowfiles_for("success")
    a.assert_content_equals(b"alpha" * 100)
    b.assert_content_equals(b"\x00\x01")
    assert (a.attributes["filename"], a.attributes["path"]) == ("a.txt", "folder")
    assert (b.attributes["filename"], b.attributes["path"]) == ("b.bin", "/")
    a.assert_attribute_equals("file.encryptionMethod", "NONE")
    a.assert_attribute_equals("file.size", "500")
    a.assert_attribute_equals("file.permissions", "rw-------")
    a.assert_attribute_equals("segment.original.filename", "bundle")
    a.assert_attribute_equals("fragment.count", "2")
    b.assert_attribute_equals("fragment.index", "2")
    assert a.attributes["file.lastModifiedTime"].startswith("2020-09-13T12:26:40")
    runner.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", "2")


def test_zip_filename_character_set() -> None:
    data = make_zip([("cafX.txt", b"x")], compression=zipfile.ZIP_STORED).replace(b"cafX.txt", b"caf\x82.txt")
    runner = runner_for("zip")
    runner.set_property("Filename Character Set", "Cp437")
    runner.enqueue(data)
    runner.run()
    runner.flowfiles_for("success")[0].assert_attribute_equals("filename", "café.txt")
    default = runner_for("zip")  # UTF-8 cannot decode 0x82: replaced, not failed
    default.enqueue(data)
    default.run()
    default.flowfiles_for("success")[0].assert_attribute_equals("filename", "caf\ufffd.txt")


class _Unseekable(io.RawIOBase):
    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.data += b
        return len(b)


def _stored_with_data_descriptor() -> bytes:
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.txt", b"stored")
    return bytes(sink.data)


@pytest.mark.parametrize(("allow", "relationship"), [("false", "failure"), ("true", "success")])
def test_stored_entries_with_data_descriptor(allow: str, relationship: str) -> None:
    runner = runner_for("zip")
    runner.set_property("Allow Stored Entries With Data Descriptor", allow)
    runner.enqueue(_stored_with_data_descriptor())
    runner.run()
    runner.assert_transferred(relationship, 1)


def _zipcrypto(name: str, data: bytes, password: bytes) -> bytes:
    """A zip with one stored entry encrypted with traditional PKWARE encryption."""
    table = [0] * 256
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table[i] = c

    keys = [0x12345678, 0x23456789, 0x34567890]

    def update(byte: int) -> None:
        keys[0] = (keys[0] >> 8) ^ table[(keys[0] ^ byte) & 0xFF]
        keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = (keys[2] >> 8) ^ table[(keys[2] ^ (keys[1] >> 24)) & 0xFF]

    for byte in password:
        update(byte)
    crc = zlib.crc32(data)
    plain = bytes(range(11)) + bytes([crc >> 24]) + data
    cipher = bytearray()
    for byte in plain:
        temp = (keys[2] | 2) & 0xFFFF
        cipher.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
        update(byte)
    raw = name.encode()
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 1, 0, 0, 0, crc, len(cipher), len(data), len(raw), 0)
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 1, 0, 0, 0, crc, len(cipher), len(data),
                          len(raw), 0, 0, 0, 0, 0, 0)
    body = local + raw + bytes(cipher)
    directory = central + raw
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), len(body), 0)
    return body + directory + end


@pytest.mark.parametrize(
    ("password", "relationship"), [("secret", "success"), ("wrong", "failure"), (None, "failure")]
)
def test_zip_password(password: str | None, relationship: str) -> None:
    runner = runner_for("zip")
    if password is not None:
        runner.set_property("Password", password)
    runner.enqueue(_zipcrypto("s.txt", b"top secret", b"secret"), {"filename": "s.zip"})
    runner.run()
    runner.assert_transferred(relationship, 1)
    if relationship == "success":
        child = runner.flowfiles_for("success")[0]
        child.assert_content_equals(b"top secret")
        child.assert_attribute_equals("file.encryptionMethod", "ZIP_STANDARD")
    else:
        runner.flowfiles_for("failure")[0].assert_content_equals(_zipcrypto("s.txt", b"top secret", b"secret"))


def test_zip_bomb_is_refused_before_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unpack_content, "_BOMB_FLOOR", 1 << 16)
    bomb = make_zip([("zeros", b"\x00" * (4 << 20))])
    assert len(bomb) < 8192
    runner = runner_for("zip")
    runner.enqueue(bomb)
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert any("bomb" in message for _, message in runner.bulletins)


def test_flowfile_stream_bomb_is_refused_while_copying(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unpack_content, "_BOMB_FLOOR", 10)
    monkeypatch.setattr(unpack_content, "_BOMB_RATIO", 0)
    runner = runner_for("flowfile-stream-v3")
    runner.enqueue(b"".join(package({"a": "b"}, [b"x" * 100], 100)))
    runner.run()
    runner.assert_all_transferred("failure", 1)


# -- FlowFile Streams --------------------------------------------------------------------


@pytest.mark.parametrize(("version", "mime"), [(3, "application/flowfile-v3"), (2, "application/flowfile-v2")])
def test_flowfile_stream(version: int, mime: str) -> None:
    items = [({"uuid": "u1", "filename": "one", "mime.type": "text/plain"}, b"first"), ({"filename": "two"}, b"")]
    data = b"".join(b"".join(package(a, [c], len(c), version)) for a, c in items)
    runner = runner_for()
    runner.enqueue(data, {"mime.type": mime, "filename": "p.pkg", "inherited": "yes"})
    runner.run()
    one, two = runner.flowfiles_for("success")
    one.assert_content_equals(b"first")
    one.assert_attribute_equals("filename", "one")
    one.assert_attribute_equals("mime.type", "text/plain")
    assert one.attributes["uuid"] != "u1"
    two.assert_attribute_equals("mime.type", "application/octet-stream")
    two.assert_attribute_equals("inherited", "yes")
    assert "fragment.index" not in one.attributes
    original = runner.flowfiles_for("original")[0]
    original.assert_attribute_equals("fragment.count", "2")
    original.assert_attribute_equals("fragment.identifier", None)


# -- routing and failures -------------------------------------------------------------------


def test_missing_mime_type_goes_to_failure_and_unknown_to_success() -> None:
    runner = runner_for()
    runner.enqueue(b"x", {"filename": "no-mime"})
    runner.enqueue(b"y", {"mime.type": "text/plain"})
    runner.run()
    runner.flowfiles_for("failure")[0].assert_attribute_equals("filename", "no-mime")
    success = runner.flowfiles_for("success")[0]
    success.assert_content_equals(b"y")
    runner.assert_transferred("original", 0)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) - 700]


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        ("tar", make_tar([("a", b"x" * 2000), ("b", b"y" * 2000)])[:2500]),
        ("tar", b"not a tar archive at all" * 30),
        ("tar", b""),
        ("tar", make_tar([])),
        ("zip", _truncated(make_zip([("a", b"x" * 5000)]))),
        ("zip", make_zip([("a", b"x" * 5000)]).replace(b"PK\x01\x02", b"XX\x01\x02")),
        ("zip", b""),
        ("zip", make_zip([])),
        ("flowfile-stream-v3", b"".join(package({"a": "b"}, [b"12345"], 5))[:-2]),
        ("flowfile-stream-v3", b"garbage"),
        ("flowfile-stream-v2", b""),
    ],
    ids=["tar-truncated", "tar-garbage", "tar-empty", "tar-no-entries", "zip-truncated", "zip-corrupt",
         "zip-empty", "zip-no-entries", "v3-truncated", "v3-garbage", "v2-empty"],
)
def test_bad_archives_go_to_failure_untouched(fmt: str, content: bytes) -> None:
    runner = runner_for(fmt)
    runner.enqueue(content, {"filename": "bad", "mime.type": "whatever"})
    before = runner.input_flowfiles()[0].attributes
    runner.run()
    runner.assert_all_transferred("failure", 1)
    failed = runner.flowfiles_for("failure")[0]
    failed.assert_content_equals(content)
    assert failed.attributes == before
    assert runner.bulletins and "Unable to unpack" in runner.bulletins[0][1]


def test_corrupt_zip_entry_crc_goes_to_failure() -> None:
    data = bytearray(make_zip([("a.txt", b"hello world")], compression=zipfile.ZIP_STORED))
    at = bytes(data).index(b"hello world")
    data[at] = ord("J")
    runner = runner_for("zip")
    runner.enqueue(bytes(data))
    runner.run()
    runner.assert_all_transferred("failure", 1)


@pytest.mark.parametrize(
    ("fmt", "attributes"), [("flowfile-tar-v1", {}), (None, {"mime.type": "application/flowfile-v1"})]
)
def test_flowfile_tar_v1(fmt: str | None, attributes: dict[str, str]) -> None:
    data = b"".join(package_v1({"uuid": "u", "filename": "one", "k": "<&>"}, [b"first"], 5)) + b"".join(
        package_v1({"filename": "two"}, [b""], 0))
    runner = runner_for(fmt)
    runner.enqueue(data, attributes)
    runner.run()
    one, two = runner.flowfiles_for("success")
    one.assert_content_equals(b"first")
    one.assert_attribute_equals("k", "<&>")
    assert one.attributes["uuid"] != "u"
    two.assert_attribute_equals("filename", "two")
    two.assert_attribute_equals("mime.type", "application/octet-stream")
    runner.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", "2")


def test_flowfile_tar_v1_that_is_a_plain_tar_fails() -> None:
    runner = runner_for("flowfile-tar-v1")
    runner.enqueue(make_tar([("a.txt", b"x"), ("b.txt", b"y")]))
    runner.run()
    runner.assert_all_transferred("failure", 1)


def test_several_flowfiles_in_one_trigger() -> None:
    runner = runner_for("tar")
    for i in range(3):
        runner.enqueue(make_tar([(f"f{i}", str(i).encode())]))
    started = time.monotonic()
    runner.run()
    assert time.monotonic() - started < 5
    runner.assert_transferred("success", 3)
    ids = {f.attributes["fragment.identifier"] for f in runner.flowfiles_for("success")}
    assert len(ids) == 3


def _bad_crc(entries: list[tuple[str, bytes]], compression: int) -> bytes:
    """A zip whose last entry's CRC is inverted in the local header and the central directory (NiFi's test data)."""
    data = bytearray(make_zip(entries, compression=compression))
    for signature, offset in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        at = bytes(data).rindex(signature) + offset
        crc = struct.unpack("<I", data[at:at + 4])[0]
        data[at:at + 4] = struct.pack("<I", crc ^ 0xFFFFFFFF)
    return bytes(data)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize(
    ("entries", "file_filter"),
    [
        ([("corrupt.txt", b"payload-for-crc-mismatch")], ".*"),
        ([("first.txt", b"first-entry-valid-crc"), ("second.txt", b"second-entry-invalid-crc")], ".*"),
        ([("keep.txt", b"keep-me"), ("skip.txt", b"corrupt-skipped-entry")], "^keep.txt$"),
        ([("skip.txt", b"not-extracted-and-corrupt")], "^keep.txt$"),
    ],
)
def test_zip_crc_mismatch_anywhere_fails(entries: list[tuple[str, bytes]], file_filter: str, compression: int) -> None:
    runner = runner_for("zip")
    runner.set_property("File Filter", file_filter)
    data = _bad_crc(entries, compression)
    runner.enqueue(data)
    runner.run()
    runner.assert_all_transferred("failure", 1)
    runner.flowfiles_for("failure")[0].assert_content_equals(data)
    assert "CRC mismatch" in runner.bulletins[0][1]


def test_zip_file_filter_with_valid_crcs_and_directories() -> None:
    runner = runner_for("zip")
    runner.set_property("File Filter", "^keep.txt$|^folder/")
    runner.enqueue(make_zip([("keep.txt", b"keep-me"), ("skip.txt", b"skip-me"), ("folder/", b""),
                             ("folder/file.txt", b"nested-file")]))
    runner.run()
    assert [(f.attributes["filename"], f.content) for f in runner.flowfiles_for("success")] == [
        ("keep.txt", b"keep-me"), ("file.txt", b"nested-file")]


@pytest.mark.parametrize(("fmt", "archive", "extension"), [
    ("tar", make_tar([("folder/cal.txt", b"cal"), ("folder/date.txt", b"date")]), "tar"),
    ("zip", make_zip([("folder/cal.txt", b"cal"), ("folder/date.txt", b"date")]), "zip"),
])
def test_unpack_then_merge_defragment(fmt: str, archive: bytes, extension: str) -> None:
    from flowyard.processors.merge_content import MergeContent

    unpack = runner_for(fmt)
    unpack.enqueue(archive, {"filename": f"data.{extension}"})
    unpack.run()
    unpacked = unpack.flowfiles_for("success")
    assert all(f.attributes["segment.original.filename"] == "data" for f in unpacked)
    merge = ProcessorRunner(MergeContent)
    merge.set_property("Merge Format", fmt.upper())
    merge.set_property("Merge Strategy", "Defragment")
    merge.set_property("Keep Path", "true")
    merge.enqueue_many((f.content, f.attributes) for f in reversed(unpacked))
    merge.run()
    merge.assert_transferred("merged", 1)
    merge.assert_transferred("original", 2)
    merge.assert_transferred("failure", 0)
    merged = merge.flowfiles_for("merged")[0]
    merged.assert_attribute_equals("filename", f"data.{extension}")
    again = runner_for(fmt)
    again.enqueue(merged.content)
    again.run()
    assert [(f.attributes["path"].rstrip("/"), f.attributes["filename"], f.content)
            for f in again.flowfiles_for("success")] == [("folder", "cal.txt", b"cal"), ("folder", "date.txt", b"date")]


def test_file_filter_takes_java_named_groups_and_refuses_bad_regexes() -> None:
    runner = runner_for("tar")
    runner.set_property("File Filter", r"(?<ext>\.csv)$")
    runner.assert_valid()
    runner.enqueue(make_tar([("a.csv", b"1"), ("b.txt", b"2")]))
    runner.run()
    assert [f.attributes["filename"] for f in runner.flowfiles_for("success")] == ["a.csv"]
    runner.set_property("File Filter", "[unclosed")
    runner.assert_not_valid()


def _aes_zip(name: bytes, plain: bytes, password: bytes, *, strength: int = 3, version: int = 2,
             utf8: bool = True, tamper: bool = False) -> bytes:
    """One WinZip AES entry (deflated), as zip4j writes it by default (AES-256, AE-2)."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key_size = {1: 16, 2: 24, 3: 32}[strength]
    salt = bytes(range(key_size // 2))
    keys = hashlib.pbkdf2_hmac("sha1", password, salt, 1000, 2 * key_size + 2)
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    packed = packer.compress(plain) + packer.flush()
    encryptor = Cipher(algorithms.AES(keys[:key_size]), modes.ECB()).encryptor()
    cipher = bytearray()
    for block in range(0, len(packed), 16):
        pad = encryptor.update((block // 16 + 1).to_bytes(16, "little"))
        cipher += bytes(a ^ b for a, b in zip(packed[block:block + 16], pad, strict=False))
    if tamper:
        cipher[0] ^= 1
    mac = hmac.new(keys[key_size:2 * key_size], bytes(cipher), hashlib.sha1).digest()[:10]
    payload = salt + keys[-2:] + bytes(cipher) + mac
    crc = zlib.crc32(plain) if version == 1 else 0
    extra = struct.pack("<HHH2sBH", 0x9901, 7, version, b"AE", strength, 8)
    flags = 1 | (0x800 if utf8 else 0)
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 51, flags, 99, 0, 0x21, crc, len(payload), len(plain),
                        len(name), len(extra))
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 51, 51, flags, 99, 0, 0x21, crc, len(payload),
                          len(plain), len(name), len(extra), 0, 0, 0, 0, 0)
    body = local + name + extra + payload
    directory = central + name + extra
    return body + directory + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), len(body), 0)


CONTENTS = b"org.apache.nifi.util.TestRunner"  # NiFi's testZipEncryption* content, password "String"


@pytest.mark.parametrize(
    ("strength", "version"), [(3, 2), (1, 2), (2, 1), (3, 1)], ids=["aes256-ae2", "aes128", "aes192-ae1", "ae1"]
)
def test_zip_aes_encryption(strength: int, version: int) -> None:
    runner = runner_for("zip")
    runner.set_property("Password", "String")
    runner.enqueue(_aes_zip(b"0f6b2f4e-entry", CONTENTS * 3000, b"String", strength=strength, version=version))
    runner.run()
    runner.assert_transferred("success", 1)
    runner.assert_transferred("original", 1)
    child = runner.flowfiles_for("success")[0]
    child.assert_content_equals(CONTENTS * 3000)
    child.assert_attribute_equals("file.encryptionMethod", "AES")
    child.assert_attribute_equals("fragment.index", "1")


@pytest.mark.parametrize(
    ("password", "tamper"), [(None, False), ("wrong", False), ("String", True)],
    ids=["no-password", "wrong", "tampered"],
)
def test_zip_aes_failures(password: str | None, tamper: bool) -> None:
    runner = runner_for("zip")
    if password is not None:
        runner.set_property("Password", password)
    archive = _aes_zip(b"entry", CONTENTS, b"String", tamper=tamper)
    runner.enqueue(archive)
    runner.run()
    runner.assert_all_transferred("failure", 1)
    runner.flowfiles_for("failure")[0].assert_content_equals(archive)


def test_encrypted_zip_with_cp437_names() -> None:
    runner = runner_for("zip")
    runner.set_property("Filename Character Set", "Cp437")
    runner.set_property("Password", "String")
    name = "path_with_special_\u00e4_char/filename_with_special_char\u00e4.txt"
    runner.enqueue(_aes_zip(name.encode("cp437"), CONTENTS, b"String", utf8=False))
    runner.run()
    runner.assert_transferred("success", 1)
    child = runner.flowfiles_for("success")[0]
    assert "\u00e4" in child.attributes["filename"] and "?" not in child.attributes["filename"]
    assert "\u00e4" in child.attributes["path"] and "?" not in child.attributes["path"]
