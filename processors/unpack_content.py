"""UnpackContent: one FlowFile per entry of a TAR or ZIP archive or per FlowFile of a FlowFile Stream."""

from __future__ import annotations

import re
import stat
import struct
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime
from typing import IO, TYPE_CHECKING, BinaryIO

from flowyard.processors._common import boolean_property
from flowyard.processors._files import format_timestamp
from flowyard.processors._flowfile_v3 import (
    MIME_TYPE_V1,
    MIME_TYPE_V2,
    MIME_TYPE_V3,
    FlowFileStreamError,
    FlowFileUnpackager,
    read_v1,
)
from flowyard.processors._zip_aes import AES_METHOD, open_aes_entry
from flowyard.runtime.sdk import (
    AllowableValue,
    FlowFile,
    FlowyardError,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    validators,
)
from flowyard.runtime.sdk.javaregex import compile_java, java_regex_problem

if TYPE_CHECKING:
    import tarfile

__all__ = ["UnpackContent", "UnpackError"]

AUTO = "use mime.type attribute"
TAR = "tar"
ZIP = "zip"
FLOWFILE_STREAM_V3 = "flowfile-stream-v3"
FLOWFILE_STREAM_V2 = "flowfile-stream-v2"
FLOWFILE_TAR_V1 = "flowfile-tar-v1"
OCTET_STREAM = "application/octet-stream"

#: mime.type (lower case) → format, as NiFi's PackageFormat enum.
_MIME_FORMATS = {
    "application/tar": TAR,
    "application/x-tar": TAR,
    "application/zip": ZIP,
    MIME_TYPE_V3: FLOWFILE_STREAM_V3,
    MIME_TYPE_V2: FLOWFILE_STREAM_V2,
    MIME_TYPE_V1: FLOWFILE_TAR_V1,
}

#: Guard against archive bombs: the unpacked bytes of one archive may not
#: exceed this many times its own size, once past ``_BOMB_FLOOR`` bytes.
_BOMB_RATIO = 1000
_BOMB_FLOOR = 100 << 20
_CHUNK = 1 << 20
_BATCH = 10

SUCCESS = Relationship("success", "One FlowFile per file (or packaged FlowFile) taken out of an archive.")
FAILURE = Relationship("failure", "FlowFiles that cannot be unpacked, unchanged.")
ORIGINAL = Relationship("original", "The archive FlowFile, once unpacked.")

PACKAGING_FORMAT = PropertySpec(
    key="packaging-format",
    display_name="Packaging Format",
    description="The kind of archive the content is, or 'use mime.type attribute' to tell by each FlowFile.",
    required=True,
    default=AUTO,
    allowed_values=(
        AllowableValue(AUTO, description="application/tar or application/x-tar, application/zip, "
                                         "application/flowfile-v3, -v2 or -v1 choose the format; FlowFiles without "
                                         "mime.type go to failure, other types to success unchanged."),
        AllowableValue(TAR), AllowableValue(ZIP), AllowableValue(FLOWFILE_STREAM_V3),
        AllowableValue(FLOWFILE_STREAM_V2),
        AllowableValue(FLOWFILE_TAR_V1, description="FlowFile Tar v1 (deprecated in NiFi 2.12)."),
    ),
)
_ZIP_FORMATS = PropertyDependency(PACKAGING_FORMAT.key, (ZIP, AUTO))
FILENAME_CHARSET = PropertySpec(
    key="filename-character-set",
    display_name="Filename Character Set",
    description="The character set of the entry names of ZIP archives that do not mark their names as UTF-8 "
    "(e.g. Cp437 or IBM437 for archives made on Windows).",
    required=True,
    default="UTF-8",
    validator=validators.CHARACTER_SET,
    dependencies=(_ZIP_FORMATS,),
)
def _check_regex(value: str) -> str | None:
    return java_regex_problem(value)


_REGEX = validators.Validator("regex", "a regular expression (Java's named groups (?<name>...) are accepted)",
                              _check_regex)

FILE_FILTER = PropertySpec(
    key="file-filter",
    display_name="File Filter",
    description="A regular expression found somewhere in an entry's name selects the entries taken out of TAR and "
    "ZIP archives; the others are skipped.",
    required=True,
    default=".*",
    validator=_REGEX,
)
PASSWORD = PropertySpec(
    key="password",
    display_name="Password",
    description="The password that decrypts ZIP entries encrypted with ZipCrypto or AES.",
    sensitive=True,
    validator=validators.NON_EMPTY,
    dependencies=(_ZIP_FORMATS,),
)
ALLOW_STORED_WITH_DATA_DESCRIPTOR = boolean_property(
    "allow-stored-entries-wdd",
    "Allow Stored Entries With Data Descriptor",
    "Whether ZIP entries that are stored (not compressed) yet followed by a data descriptor, which the ZIP format "
    "does not allow, are read; when false such an archive goes to failure.",
    "false",
    dependencies=(_ZIP_FORMATS,),
)


class UnpackError(Exception):
    """The content is not a well-formed archive of the expected format (or is refused as a bomb)."""


class UnpackContent(Processor):
    """Unpacks TAR and ZIP archives, FlowFile Streams (v3 and v2) and FlowFile
    Tar v1 packages (byte-compatible with NiFi's packagers): every
    file entry (or packaged FlowFile) becomes a FlowFile on 'success', the
    input goes to 'original' with ``fragment.identifier`` (tar/zip) and
    ``fragment.count``; a FORK provenance event names the children.

    TAR and ZIP children inherit the input's attributes and get ``filename``,
    ``path``, ``mime.type = application/octet-stream``, ``fragment.identifier``
    (a random UUID shared by the siblings), ``fragment.index`` (1, 2, ...),
    ``fragment.count``, ``segment.original.filename`` (the input's filename
    without ``.tar``, ``.zip`` or ``.pkg``) and NiFi's ``file.*`` attributes:
    tar gives ``file.permissions``, ``file.owner``, ``file.group``,
    ``file.size``, ``file.lastModifiedTime``, ``file.creationTime`` and, from
    PAX headers, ``file.lastAccessTime`` and ``file.lastMetadataChange``; zip
    gives ``file.size``, ``file.permissions``, ``file.encryptionMethod``,
    ``file.lastModifiedTime``, ``file.creationTime`` and, from an extended
    timestamp field, ``file.lastAccessTime``. Times are NiFi's
    ``yyyy-MM-dd'T'HH:mm:ssZ`` in the local time zone. Directories and entries
    the File Filter does not match are skipped. FlowFile Stream and Tar children get
    the packaged attributes (except ``uuid``) over the input's, and
    ``mime.type = application/octet-stream`` when the package has none.

    Failures: content that is not a well-formed archive of the format (empty,
    truncated, corrupt, a bad CRC, a wrong password), an archive without
    entries, and, with 'use mime.type attribute', a FlowFile without
    ``mime.type`` go to 'failure' unchanged with an error logged (a bulletin);
    partly unpacked children are discarded. A FlowFile whose mime.type is not
    an archive type goes to 'success' unchanged.

    Safety: entry names become ``path``/``filename`` with ``.`` and ``..``
    segments and leading ``/`` removed, so ``../../etc/passwd`` gives
    ``path = etc/``; a downstream PutFile cannot be led outside its directory.
    An archive that would unpack to more than 1000 times its own size (beyond
    100 MB) is refused as a bomb: a ZIP by its declared sizes before anything
    is written, any format while its bytes are copied.

    Differences from NiFi: A 'flowfile-tar-v1'
    package (deprecated in NiFi 2.12) that holds several FlowFiles (as
    MergeContent writes them) is unpacked whole; NiFi unpacks only the first.
    The entry-name sanitising and the
    bomb guard above are flowyard's. ``file.lastAccessTime`` and
    ``file.lastMetadataChange`` of tar entries come from PAX headers only (not
    GNU or star ones). Filename Character Set defaults to UTF-8 (NiFi: the JVM's
    charset). File Filter is a Java regular expression, as in NiFi.
    """

    spec = ProcessorSpec(
        description="Takes the entries out of TAR and ZIP archives and FlowFile packages held in the content of "
        "FlowFiles, making one FlowFile of each.",
        tags=("Unpack", "un-merge", "tar", "zip", "archive", "flowfile-stream", "flowfile-stream-v3", "split",
              "extract"),
        properties=(PACKAGING_FORMAT, FILENAME_CHARSET, FILE_FILTER, PASSWORD, ALLOW_STORED_WITH_DATA_DESCRIPTOR),
        relationships=(SUCCESS, FAILURE, ORIGINAL),
        input_requirement=InputRequirement.REQUIRED,
        reads_attributes=(("mime.type", "With 'use mime.type attribute', chooses the Packaging Format."),),
        writes_attributes=(
            ("mime.type", "application/octet-stream on unpacked FlowFiles (unless a FlowFile Stream gives one)."),
            ("fragment.identifier", "A random UUID shared by the FlowFiles unpacked from one archive."),
            ("fragment.index", "1, 2, ... in archive order."),
            ("fragment.count", "The number of unpacked FlowFiles."),
            ("segment.original.filename", "The archive's filename without .tar, .zip or .pkg."),
            ("file.lastModifiedTime", "When the entry was last modified (tar and zip)."),
            ("file.creationTime", "When the entry was created; the last modification time when unknown."),
            ("file.lastMetadataChange", "When the entry's metadata changed (tar with PAX headers)."),
            ("file.lastAccessTime", "When the entry was last accessed (tar with PAX headers, zip with an "
                                    "extended timestamp)."),
            ("file.owner", "The entry's owner (tar)."),
            ("file.group", "The entry's group (tar)."),
            ("file.size", "The entry's uncompressed size (tar and zip)."),
            ("file.permissions", "The entry's permissions, as rw-r--r-- (tar and zip)."),
            ("file.encryptionMethod", "NONE, ZIP_STANDARD or AES (zip)."),
        ),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Unpack a few FlowFiles."""
        import tarfile
        configured = context.property(PACKAGING_FORMAT).as_str()
        file_filter = _java_regex(context.property(FILE_FILTER).as_str())
        charset = context.property(FILENAME_CHARSET).as_str()
        password_value = context.property(PASSWORD)
        password = password_value.as_str().encode("utf-8") if password_value.is_set else None
        allow_wdd = context.property(ALLOW_STORED_WITH_DATA_DESCRIPTOR).as_bool()
        for ff in session.get_batch(_BATCH):
            fmt = configured
            if fmt == AUTO:
                mime = ff.attributes.get("mime.type")
                if mime is None:
                    context.logger.error(f"No mime.type attribute set for {ff!r}; routing to failure")
                    session.transfer(ff, FAILURE)
                    continue
                found = _MIME_FORMATS.get(mime.lower())
                if found is None:
                    context.logger.info(f"Cannot unpack {ff!r} because its mime.type attribute is set to '{mime}', "
                                        "which is not a format that can be unpacked; routing to 'success'")
                    session.transfer(ff, SUCCESS)
                    continue
                fmt = found
            unpacker = _Unpacker(session, ff, file_filter)
            try:
                if fmt == TAR:
                    unpacker.tar()
                elif fmt == ZIP:
                    unpacker.zip(charset, password, allow_wdd)
                elif fmt in (FLOWFILE_STREAM_V3, FLOWFILE_STREAM_V2):
                    unpacker.flowfile_stream(3 if fmt == FLOWFILE_STREAM_V3 else 2)
                else:
                    unpacker.flowfile_tar_v1()
                if not unpacker.children:
                    raise UnpackError("it does not appear to have any entries")
            except FlowyardError:
                raise  # the repository's errors are the framework's to handle
            except (UnpackError, FlowFileStreamError, tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError,
                    RuntimeError, NotImplementedError, ValueError, OSError, struct.error) as exc:
                for child in unpacker.children:
                    session.remove(child)
                reason = str(exc)
                if isinstance(exc, zipfile.BadZipFile) and "CRC" in reason:
                    reason = f"CRC mismatch: {reason}"
                context.logger.error(f"Unable to unpack {ff!r}; routing to failure: {reason}")
                session.transfer(ff, FAILURE)
                continue
            children = unpacker.finish(fmt in (TAR, ZIP))
            session.transfer_all(children, SUCCESS)
            original = {"fragment.count": str(len(children))}
            if fmt in (TAR, ZIP):
                original["fragment.identifier"] = unpacker.fragment_id
            session.transfer(session.put_attributes(ff, original), ORIGINAL)


def _java_regex(pattern: str) -> re.Pattern[str]:
    """A Java regular expression as Python's (``flowyard.runtime.sdk.javaregex``)."""
    return compile_java(pattern).regex


def _split_name(name: str) -> tuple[str, list[str]] | None:
    """(filename, parent directories) of an entry name with ``.``/``..``/empty
    segments dropped, or None when nothing is left."""
    parts = [p for p in name.split("/") if p not in ("", ".", "..")]
    if not parts:
        return None
    return parts[-1], parts[:-1]


def _permissions(mode: int) -> str:
    return stat.filemode(stat.S_IFREG | (mode & 0o777))[1:]


class _Unpacker:
    """Unpacks one FlowFile into children created in the session."""

    def __init__(self, session: ProcessSession, source: FlowFile, file_filter: re.Pattern[str]) -> None:
        self.session = session
        self.source = source
        self.file_filter = file_filter
        self.children: list[FlowFile] = []
        self.fragment_id = str(uuid.uuid4())
        self.limit = max(_BOMB_FLOOR, _BOMB_RATIO * source.size)
        self.written = 0

    def _guarded(self, stream: IO[bytes], expected: int | None = None) -> Iterator[bytes]:
        got = 0
        while True:
            piece = stream.read(_CHUNK)
            if not piece:
                break
            got += len(piece)
            self.written += len(piece)
            if self.written > self.limit:
                raise UnpackError(f"it unpacks to more than {self.limit} bytes ({_BOMB_RATIO} times its size): "
                                  "refused as an archive bomb")
            yield piece
        if expected is not None and got != expected:
            raise UnpackError(f"an entry holds {got} bytes, {expected} expected (truncated archive)")

    def _child(self, attributes: dict[str, str], stream: IO[bytes], expected: int | None) -> None:
        child = self.session.create(self.source)
        self.children.append(child)  # before writing: a failed write still leaves it to discard
        child = self.session.put_attributes(child, attributes)
        self.children[-1] = child
        self.children[-1] = self.session.write(child, self._guarded(stream, expected))

    def _entry_attributes(self, name: str, parent_format: str) -> dict[str, str] | None:
        split = _split_name(name)
        if split is None:
            return None
        filename, parents = split
        if parent_format == TAR:
            path = "/".join(parents) + "/" if parents else "/"
        else:
            path = "/".join(parents) if parents else "/"
        return {
            "filename": filename,
            "path": path,
            "mime.type": OCTET_STREAM,
            "fragment.identifier": self.fragment_id,
            "fragment.index": str(len(self.children) + 1),
        }

    def tar(self) -> None:
        import tarfile
        with self.session.read(self.source) as stream:
            try:
                archive = tarfile.open(fileobj=stream, mode="r:")  # noqa: SIM115 (closed by the with below)
            except tarfile.ReadError as exc:
                if self.source.size == 0:
                    return  # no entries: failure, as NiFi
                raise UnpackError(f"not a tar archive: {exc}") from None
            with archive:
                for member in archive:
                    if member.isdir() or not self.file_filter.search(member.name):
                        continue
                    attributes = self._entry_attributes(member.name, TAR)
                    if attributes is None:
                        continue
                    modified = format_timestamp(member.mtime)
                    attributes.update({
                        "file.permissions": _permissions(member.mode),
                        "file.owner": member.uname,
                        "file.group": member.gname,
                        "file.size": str(member.size),
                        "file.lastModifiedTime": modified,
                        "file.creationTime": _pax_time(member, "LIBARCHIVE.creationtime") or modified,
                    })
                    changed = _pax_time(member, "ctime")
                    if changed is not None:
                        attributes["file.lastMetadataChange"] = changed
                    accessed = _pax_time(member, "atime")
                    if accessed is not None:
                        attributes["file.lastAccessTime"] = accessed
                    content = archive.extractfile(member) if member.isfile() else None
                    if content is None:  # links and devices: no content, as NiFi's tar reader gives
                        self._child(attributes, _EMPTY, None)
                    else:
                        with content:
                            self._child(attributes, content, member.size)

    def zip(self, charset: str, password: bytes | None, allow_stored_with_descriptor: bool) -> None:
        with self.session.read(self.source) as stream:
            if self.source.size == 0:
                return
            try:
                archive = zipfile.ZipFile(stream)
            except zipfile.BadZipFile as exc:
                raise UnpackError(f"not a zip archive: {exc}") from None
            with archive:
                entries = []
                for info in archive.infolist():
                    if info.is_dir():
                        continue
                    name = info.filename
                    if not info.flag_bits & 0x800:  # not marked UTF-8: the configured charset decodes the name
                        name = info.orig_filename.encode("cp437").decode(charset, "replace")
                    if info.compress_type == zipfile.ZIP_STORED and info.flag_bits & 0x08 \
                            and not allow_stored_with_descriptor:
                        raise UnpackError(f"entry {name!r} is stored with a data descriptor (see Allow Stored "
                                          "Entries With Data Descriptor)")
                    entries.append((info, name, self.file_filter.search(name) is not None))
                declared = sum(info.file_size for info, _, _ in entries)
                if declared > self.limit:
                    raise UnpackError(f"its entries declare {declared} bytes, more than {self.limit} "
                                      f"({_BOMB_RATIO} times its size): refused as an archive bomb")
                if password is not None:
                    archive.setpassword(password)
                for info, name, wanted in entries:
                    attributes = self._entry_attributes(name, ZIP) if wanted else None
                    if attributes is None:
                        # NiFi reads every entry: a bad CRC in one it does not extract fails the archive too
                        with self._open_zip_entry(archive, stream, info, password) as skipped:
                            while skipped.read(_CHUNK):
                                pass
                        continue
                    encrypted = bool(info.flag_bits & 0x1)
                    if info.compress_type == 99:
                        method = "AES"
                    elif encrypted:
                        method = "ZIP_STANDARD"
                    else:
                        method = "NONE"
                    if password is None:
                        method = "NONE"  # NiFi reads without a password through a reader that knows no encryption
                    mode = (info.external_attr >> 16) if info.create_system == 3 else 0
                    modified, accessed = _zip_times(stream, info)
                    attributes.update({
                        "file.encryptionMethod": method,
                        "file.size": str(info.file_size),
                        "file.permissions": _permissions(mode),
                        "file.lastModifiedTime": modified,
                        "file.creationTime": modified,
                    })
                    if accessed is not None:
                        attributes["file.lastAccessTime"] = accessed
                    with self._open_zip_entry(archive, stream, info, password) as content:
                        self._child(attributes, content, info.file_size)

    @staticmethod
    def _open_zip_entry(archive: zipfile.ZipFile, stream: IO[bytes], info: zipfile.ZipInfo,
                        password: bytes | None) -> IO[bytes]:
        if info.compress_type == AES_METHOD:
            if password is None:
                raise UnpackError(f"entry {info.filename!r} is AES encrypted and no Password is set")
            return open_aes_entry(stream, info, password)
        return archive.open(info)

    def flowfile_stream(self, version: int) -> None:
        with self.session.read(self.source) as stream:
            reader = FlowFileUnpackager(stream, version)
            while (header := reader.next_flowfile()) is not None:
                attributes, _ = header
                attributes.pop("uuid", None)
                attributes.setdefault("mime.type", OCTET_STREAM)
                child = self.session.create(self.source)
                self.children.append(child)
                child = self.session.put_attributes(child, attributes)
                self.children[-1] = child
                self.children[-1] = self.session.write(child, self._counted(reader.content()))

    def flowfile_tar_v1(self) -> None:
        with self.session.read(self.source) as stream:
            for attributes, content, size in read_v1(stream):
                attributes.pop("uuid", None)
                attributes.setdefault("mime.type", OCTET_STREAM)
                child = self.session.create(self.source)
                self.children.append(child)
                child = self.session.put_attributes(child, attributes)
                self.children[-1] = child
                self.children[-1] = self.session.write(child, self._guarded(content, size))

    def _counted(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            self.written += len(piece)
            if self.written > self.limit:
                raise UnpackError(f"it unpacks to more than {self.limit} bytes: refused as an archive bomb")
            yield piece

    def finish(self, fragments: bool) -> list[FlowFile]:
        """The children, with fragment.count and segment.original.filename for tar and zip."""
        if not fragments:
            return self.children
        original = self.source.attributes.get("filename", "")
        if original.endswith((".tar", ".zip", ".pkg")):
            original = original[:-4]
        extra = {"fragment.count": str(len(self.children)), "segment.original.filename": original}
        return [self.session.put_attributes(child, extra) for child in self.children]


class _Empty:
    def read(self, n: int = -1) -> bytes:
        return b""


_EMPTY: IO[bytes] = _Empty()  # type: ignore[assignment]


def _pax_time(member: tarfile.TarInfo, key: str) -> str | None:
    value = member.pax_headers.get(key)
    if value is None:
        return None
    try:
        return format_timestamp(float(value))
    except (ValueError, OverflowError, OSError):
        return None


def _zip_times(stream: BinaryIO, info: zipfile.ZipInfo) -> tuple[str, str | None]:
    """(last modified, last accessed) of a zip entry: the extended timestamp
    field (0x5455) of its local header when present, else the DOS time (local)."""
    modified: float | None = None
    accessed: float | None = None
    try:
        stream.seek(info.header_offset)
        header = stream.read(30)
        if len(header) == 30 and header[:4] == b"PK\x03\x04":
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            stream.seek(info.header_offset + 30 + name_length)
            extra = stream.read(extra_length)
            modified, accessed = _extended_timestamp(extra)
    except (OSError, struct.error):
        pass
    if modified is None:
        try:
            modified = datetime(*info.date_time).timestamp()
        except (ValueError, OverflowError):
            modified = 0.0
    return format_timestamp(modified), (format_timestamp(accessed) if accessed is not None else None)


def _extended_timestamp(extra: bytes) -> tuple[float | None, float | None]:
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[i:i + 4])
        body = extra[i + 4:i + 4 + size]
        i += 4 + size
        if tag != 0x5455 or not body:
            continue
        flags = body[0]
        values = []
        offset = 1
        while offset + 4 <= len(body):
            values.append(struct.unpack("<i", body[offset:offset + 4])[0])
            offset += 4
        modified = float(values[0]) if flags & 1 and values else None
        accessed_index = 1 if flags & 1 else 0
        accessed = float(values[accessed_index]) if flags & 2 and len(values) > accessed_index else None
        return modified, accessed
    return None, None
