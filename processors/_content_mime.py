"""MIME type detection for IdentifyMimeType: Tika's names and rules on top
of puremagic.

Detection looks at the first ``HEAD_SIZE`` bytes: custom types (from a
Tika ``<mime-info>`` document) first, then NiFi's own types (FlowFile
packages), a table of the common formats with Tika's type names (archives,
compression, images, PDF, XML roots, HTML, Office containers), then
puremagic for other binary formats, then a text check. The filename (when
used) refines the result as Tika does: a type known by its extension wins
when it is a specialisation of the one the content shows (``.csv`` over
text, ``.jar`` over zip, ``.svg`` over XML) or when the content shows
nothing.

Private to ``flowyard.processors``.
"""

from __future__ import annotations

import codecs
import fnmatch
import mimetypes
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree import ElementTree

__all__ = ["HEAD_SIZE", "OCTET_STREAM", "CustomTypes", "Detection", "detect", "parse_custom_types"]

HEAD_SIZE = 64 * 1024
OCTET_STREAM = "application/octet-stream"
TEXT_PLAIN = "text/plain"
FLOWFILE_V3 = "application/flowfile-v3"
FLOWFILE_V1 = "application/flowfile-v1"

# Tika's preferred extension of the types detected here.
EXTENSIONS = {
    TEXT_PLAIN: ".txt", "text/csv": ".csv", "text/html": ".html", "text/tab-separated-values": ".tsv",
    "text/x-python": ".py", "text/markdown": ".md", "text/css": ".css", "text/javascript": ".js",
    "application/xml": ".xml", "application/xhtml+xml": ".xhtml", "image/svg+xml": ".svg",
    "application/rss+xml": ".rss", "application/atom+xml": ".atom", "application/json": ".json",
    "application/x-yaml": ".yaml", "application/sql": ".sql",
    "application/gzip": ".gz", "application/x-bzip2": ".bz2", "application/x-xz": ".xz", "application/zstd": ".zst",
    "application/x-lz4": ".lz4", "application/x-lzma": ".lzma", "application/x-snappy-framed": ".sz",
    "application/x-7z-compressed": ".7z", "application/zip": ".zip", "application/java-archive": ".jar",
    "application/x-tar": ".tar", "application/x-rar-compressed": ".rar", "application/pdf": ".pdf",
    "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/bmp": ".bmp", "image/tiff": ".tiff",
    "image/webp": ".webp", "image/vnd.microsoft.icon": ".ico", "audio/mpeg": ".mp3", "video/mp4": ".mp4",
    "audio/x-wav": ".wav", "application/ogg": ".ogx",
    "application/x-msaccess": ".accdb", "application/x-tika-msoffice": "", "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls", "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt", "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.android.package-archive": ".apk", "application/x-parquet": ".parquet",
    "application/avro": ".avro", "application/x-sqlite3": ".sqlite", "application/x-executable": "",
    "application/wasm": ".wasm", FLOWFILE_V3: "", FLOWFILE_V1: "", OCTET_STREAM: "",
}

# Extension -> Tika's type, where Python's mimetypes table differs or lacks it.
GLOBS = {
    ".txt": TEXT_PLAIN, ".text": TEXT_PLAIN, ".log": TEXT_PLAIN, ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".xml": "application/xml", ".xsl": "application/xml", ".xhtml": "application/xhtml+xml",
    ".svg": "image/svg+xml", ".json": "application/json", ".yaml": "application/x-yaml",
    ".yml": "application/x-yaml", ".sql": "application/sql", ".md": "text/markdown", ".py": "text/x-python",
    ".js": "text/javascript", ".gz": "application/gzip", ".tgz": "application/gzip", ".bz2": "application/x-bzip2",
    ".xz": "application/x-xz", ".zst": "application/zstd", ".lz4": "application/x-lz4",
    ".7z": "application/x-7z-compressed",
    ".zip": "application/zip", ".jar": "application/java-archive", ".tar": "application/x-tar",
    ".mdb": "application/x-msaccess", ".accdb": "application/x-msaccess", ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg", ".ico": "image/vnd.microsoft.icon", ".wav": "audio/x-wav",
    ".parquet": "application/x-parquet",
    ".avro": "application/avro", ".apk": "application/vnd.android.package-archive",
}

# Types that specialise another (Tika's sub-class-of), so a filename may refine them.
_ZIP_BASED = {"application/java-archive", "application/vnd.android.package-archive",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              "application/vnd.openxmlformats-officedocument.presentationml.presentation",
              "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet"}
_TEXT_BASED_APPLICATION = {"application/json", "application/xml", "application/x-yaml", "application/sql",
                           "application/xhtml+xml", "image/svg+xml", "application/rss+xml", "application/atom+xml",
                           "application/javascript"}

# puremagic's names -> Tika's
_PUREMAGIC_NAMES = {
    "application/x-gzip": "application/gzip", "application/x-zip-compressed": "application/zip",
    "image/x-icon": "image/vnd.microsoft.icon", "image/x-ms-bmp": "image/bmp", "audio/wav": "audio/x-wav",
    "audio/x-wave": "audio/x-wav", "application/x-rar": "application/x-rar-compressed",
}


@dataclass(frozen=True, slots=True)
class Detection:
    """What was found: ``mime_type``, Tika's ``extension`` ('' if none) and,
    for text types, the ``charset`` (None otherwise)."""

    mime_type: str
    extension: str
    charset: str | None


@dataclass(slots=True)
class _Match:
    offset: tuple[int, int]
    value: bytes
    ignore_case: bool = False
    children: list[_Match] = field(default_factory=list)

    def matches(self, head: bytes) -> bool:
        first, last = self.offset
        n = len(self.value)
        data = head.lower() if self.ignore_case else head
        found = any(data[start:start + n] == self.value for start in range(first, min(last, len(head)) + 1))
        return found and (not self.children or any(child.matches(head) for child in self.children))


@dataclass(slots=True)
class _CustomType:
    name: str
    globs: list[str] = field(default_factory=list)
    magic: list[_Match] = field(default_factory=list)


@dataclass(slots=True)
class CustomTypes:
    """Types read from a Tika ``<mime-info>`` document, in document order."""

    types: list[_CustomType] = field(default_factory=list)

    def by_magic(self, head: bytes) -> str | None:
        for custom in self.types:
            if any(m.matches(head) for m in custom.magic):
                return custom.name
        return None

    def by_name(self, filename: str) -> str | None:
        for custom in self.types:
            if any(fnmatch.fnmatchcase(filename, g) for g in custom.globs):
                return custom.name
        return None

    def extension(self, mime_type: str) -> str | None:
        for custom in self.types:
            if custom.name == mime_type:
                for glob in custom.globs:
                    if glob.startswith("*.") and not any(c in glob[2:] for c in "*?["):
                        return glob[1:]
                return ""
        return None


_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)", re.DOTALL)


def _tika_string(text: str) -> bytes:
    """A Tika magic string value: \\xNN, octal and backslash escapes."""
    def unescape(m: re.Match[str]) -> str:
        code = m.group(1)
        if code[0] == "x" and len(code) == 3:
            return chr(int(code[1:], 16))
        if code.isdigit():
            return chr(int(code, 8))
        return {"n": "\n", "r": "\r", "t": "\t"}.get(code, code)
    return _ESCAPE.sub(unescape, text).encode("latin-1")


def _number(text: str) -> int:
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def _parse_match(element: ElementTree.Element) -> _Match:
    kind = element.get("type", "string")
    value = element.get("value", "")
    offset = element.get("offset", "0")
    first, _, last = offset.partition(":")
    span = (int(first), int(last) if last else int(first))
    if kind in ("string", "stringignorecase"):
        data = _tika_string(value)
        if kind == "stringignorecase":
            data = data.lower()
    elif kind == "byte":
        data = bytes([_number(value) & 0xFF])
    elif kind in ("big16", "little16", "host16", "big32", "little32", "host32"):
        size = "H" if kind.endswith("16") else "I"
        order = ">" if kind.startswith("big") else "<"
        data = struct.pack(order + size, _number(value))
    else:
        raise ValueError(f"magic match type {kind!r} is not supported")
    return _Match(span, data, kind == "stringignorecase", [_parse_match(c) for c in element.findall("match")])


def parse_custom_types(document: str) -> CustomTypes:
    """Tika's ``<mime-info>`` format: ``<mime-type type=...>`` with ``<glob
    pattern=...>`` and ``<magic><match value= type= offset=>`` (nested matches
    must also match). Raises ``ValueError`` for a document that is not one."""
    try:
        root = ElementTree.fromstring(document.strip())
    except ElementTree.ParseError as exc:
        raise ValueError(f"not a valid MIME type configuration: {exc}") from None
    if root.tag != "mime-info":
        raise ValueError(f"not a valid MIME type configuration: the root element is <{root.tag}>, not <mime-info>")
    result = CustomTypes()
    for element in root.findall("mime-type"):
        name = (element.get("type") or "").strip()
        if "/" not in name:
            raise ValueError(f"not a valid MIME type configuration: {name!r} is not a MIME type")
        custom = _CustomType(name)
        custom.globs = [g.get("pattern", "") for g in element.findall("glob") if g.get("pattern")]
        for magic in element.findall("magic"):
            custom.magic.extend(_parse_match(m) for m in magic.findall("match"))
        result.types.append(custom)
    return result


# -- built-in magic -------------------------------------------------------------------

_XML_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)([^>]*)>?", re.DOTALL)
_XML_SKIP = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)", re.DOTALL | re.IGNORECASE)


def _xml_type(head: bytes) -> str:
    text = head.removeprefix(codecs.BOM_UTF8)
    pos = 0
    while (skipped := _XML_SKIP.match(text, pos)) is not None:
        pos = skipped.end()
    root = _XML_ROOT.search(text, pos)
    if root is None:
        return "application/xml"
    name, rest = root.group(2).decode("ascii", "replace").lower(), root.group(3)
    if name == "html" and b"http://www.w3.org/1999/xhtml" in rest:
        return "application/xhtml+xml"
    if name == "svg":
        return "image/svg+xml"
    if name == "rss":
        return "application/rss+xml"
    if name == "feed" and b"http://www.w3.org/2005/Atom" in rest:
        return "application/atom+xml"
    return "application/xml"


def _zip_type(head: bytes) -> str:
    if b"AndroidManifest.xml" in head:
        return "application/vnd.android.package-archive"
    if b"META-INF/MANIFEST.MF" in head or head[30:39] == b"META-INF/":
        return "application/java-archive"
    if b"[Content_Types].xml" in head:
        for marker, kind in ((b"word/", "wordprocessingml.document"), (b"xl/", "spreadsheetml.sheet"),
                             (b"ppt/", "presentationml.presentation")):
            if marker in head:
                return f"application/vnd.openxmlformats-officedocument.{kind}"
    if head[30:38] == b"mimetype":
        for kind in ("text", "spreadsheet"):
            if b"application/vnd.oasis.opendocument." + kind.encode() in head[38:140]:
                return f"application/vnd.oasis.opendocument.{kind}"
    return "application/zip"


_SIGNATURES: tuple[tuple[bytes, int, str | Callable[[bytes], str]], ...] = (
    (b"NiFiFF3", 0, FLOWFILE_V3),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"BZh", 0, "application/x-bzip2"),
    (b"\xfd7zXZ\x00", 0, "application/x-xz"),
    (b"\x28\xb5\x2f\xfd", 0, "application/zstd"),
    (b"\x04\x22\x4d\x18", 0, "application/x-lz4"),
    (b"\xff\x06\x00\x00sNaPpY", 0, "application/x-snappy-framed"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"PK\x03\x04", 0, _zip_type),
    (b"PK\x05\x06", 0, "application/zip"),
    (b"Rar!\x1a\x07", 0, "application/x-rar-compressed"),
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"Standard Jet DB", 4, "application/x-msaccess"),
    (b"Standard ACE DB", 4, "application/x-msaccess"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/x-tika-msoffice"),
    (b"SQLite format 3\x00", 0, "application/x-sqlite3"),
    (b"PAR1", 0, "application/x-parquet"),
    (b"Obj\x01", 0, "application/avro"),
    (b"\x00asm", 0, "application/wasm"),
    (b"\x7fELF", 0, "application/x-executable"),
    (b"OggS", 0, "application/ogg"),
)


def _builtin_magic(head: bytes) -> str | None:
    for signature, offset, result in _SIGNATURES:
        if head[offset:offset + len(signature)] == signature:
            return result if isinstance(result, str) else result(head)
    if head[257:262] == b"ustar":
        return FLOWFILE_V1 if head[:19] == b"flowfile.attributes" else "application/x-tar"
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"WEBP"):
        return "audio/x-wav" if head[8:12] == b"WAVE" else "image/webp"
    if head[:2] == b"BM" and len(head) > 14 and head[6:10] == b"\x00\x00\x00\x00":
        return "image/bmp"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head[:3] == b"ID3":
        return "audio/mpeg"
    stripped = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if stripped[:5] == b"<?xml":
        return _xml_type(stripped)
    lowered = stripped[:64].lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "text/html"
    return None


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if b"\x00" in head:
        return False
    controls = sum(1 for b in head[:8192] if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls * 100 < len(head[:8192])


def _puremagic(head: bytes) -> str | None:
    import puremagic
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    for match in matches:
        name = str(match.mime_type)
        if name and match.confidence >= 0.4:
            return _PUREMAGIC_NAMES.get(name, name)
    return None


def _charset(head: bytes) -> str:
    """Tika's answer for the common cases: a BOM's, UTF-8 when the text is
    valid UTF-8 beyond ASCII, else ISO-8859-1 (also for pure ASCII)."""
    if head.startswith(codecs.BOM_UTF8):
        return "UTF-8"
    if head.startswith(codecs.BOM_UTF16_LE):
        return "UTF-16LE"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "UTF-16BE"
    if head.isascii():
        return "ISO-8859-1"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)  # a character cut at the end is fine
    except UnicodeDecodeError:
        return "ISO-8859-1"
    return "UTF-8"


def _by_name(filename: str) -> str | None:
    lowered = filename.lower()
    dot = lowered.rfind(".")
    if dot < 0:
        return None
    extension = lowered[dot:]
    if extension in GLOBS:
        return GLOBS[extension]
    guessed, _ = mimetypes.guess_type("x" + extension, strict=False)
    return guessed


def _refines(by_name: str, by_content: str) -> bool:
    """Whether the type from the filename specialises the one from the content."""
    if by_name == by_content:
        return False
    if by_content == TEXT_PLAIN:
        return by_name.startswith("text/") or by_name in _TEXT_BASED_APPLICATION
    if by_content == "application/zip":
        return by_name in _ZIP_BASED
    if by_content == "application/xml":
        return by_name.endswith("+xml")
    return False


def detect(head: bytes, filename: str | None, custom: CustomTypes | None, *, builtin: bool) -> Detection:
    """The type of content starting with ``head``. ``custom`` types come first;
    ``builtin`` says whether the default types are used too (Preset, Merge).

    As Tika: a signature match is refined by the filename's type when that
    specialises it; without a signature the filename's type is taken; without
    either, a text check decides between text/plain and octet-stream."""
    by_magic = custom.by_magic(head) if custom is not None else None
    if by_magic is None and builtin:
        by_magic = _builtin_magic(head) or (None if _looks_like_text(head) else _puremagic(head))
    named = None
    if filename:
        named = custom.by_name(filename) if custom is not None else None
        if named is None and builtin:
            named = _by_name(filename)
        if named == OCTET_STREAM:
            named = None
    if by_magic is not None:
        mime_type = named if named is not None and _refines(named, by_magic) else by_magic
    elif named is not None:
        mime_type = named
    else:
        mime_type = TEXT_PLAIN if _looks_like_text(head) else OCTET_STREAM
    extension = custom.extension(mime_type) if custom is not None else None
    if extension is None:
        extension = (EXTENSIONS.get(mime_type) or mimetypes.guess_extension(mime_type, strict=False) or "") \
            if builtin else ""
    charset = _charset(head) if mime_type.startswith("text/") else None
    return Detection(mime_type, extension, charset)
