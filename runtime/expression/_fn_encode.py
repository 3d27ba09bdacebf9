"""EL functions of the "encode/decode" family. Pure (no files, no network).

The escapers follow Apache commons-text, which NiFi uses: ``escapeJson`` also
writes ``/`` as ``\\/`` and every character outside U+0020..U+007F as
``\\uXXXX``; ``escapeXml`` is commons' XML 1.0 escaper (drops characters XML 1.0
forbids, writes U+007F..U+009F as numeric references); ``escapeHtml3``/``4``
use the HTML 3.2 (Latin-1) and HTML 4.0 entity tables; the unescapers need the
closing ``;`` of an entity, as commons does by default. ``urlEncode`` is Java's
``URLEncoder`` (form encoding, UTF-8, only ``a-zA-Z0-9.-*_`` kept).

``hash`` accepts Java's ``MessageDigest`` names, case-insensitively: ``MD5``,
``SHA``/``SHA-1``/``SHA1``, ``SHA-224``, ``SHA-256``, ``SHA-384``, ``SHA-512``,
``SHA-512/224``, ``SHA-512/256``, ``SHA3-224``..``SHA3-512``. Deviation: ``MD2``,
which NiFi lists, is supported only if the local OpenSSL still provides it
(modern builds do not); otherwise, like any unknown name, it raises
``EvaluationError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html.entities
import re
import uuid
from urllib.parse import quote_plus, unquote_plus

from flowyard.runtime.expression._registry import Arg, EvaluationError, function

__all__: list[str] = []

_F = "encode/decode"

# -- JSON (commons-text ESCAPE_JSON / UNESCAPE_JSON) ----------------------------------------

_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f",
                 "\r": "\\r"}


def _utf16_escape(c: str) -> str:
    cp = ord(c)
    if cp > 0xFFFF:
        cp -= 0x10000
        return f"\\u{0xD800 + (cp >> 10):04X}\\u{0xDC00 + (cp & 0x3FF):04X}"
    return f"\\u{cp:04X}"


@function("escapeJson", family=_F, subject="string", returns="string",
          description="Escapes the subject for use inside a JSON string (quotes, backslash, '/', control and "
                      "non-ASCII characters).")
def escape_json(subject: str) -> str:
    out = []
    for c in subject:
        escaped = _JSON_ESCAPES.get(c)
        if escaped is not None:
            out.append(escaped)
        elif c < " " or c > "\x7f":
            out.append(_utf16_escape(c))
        else:
            out.append(c)
    return "".join(out)


_OCTAL = re.compile(r"[0-3][0-7]{2}|[0-7]{1,2}")
_UNICODE = re.compile(r"u+\+?")
_CTRL = {"b": "\b", "n": "\n", "t": "\t", "f": "\f", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


@function("unescapeJson", family=_F, subject="string", returns="string",
          description="Reverses JSON (Java) string escaping: \\n, \\uXXXX, octal and quote escapes.")
def unescape_json(subject: str) -> str:
    out: list[str] = []
    i, n = 0, len(subject)
    while i < n:
        c = subject[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        octal = _OCTAL.match(subject, i + 1)
        if octal:
            out.append(chr(int(octal.group(), 8)))
            i = octal.end()
            continue
        unicode = _UNICODE.match(subject, i + 1)
        if unicode:
            digits = subject[unicode.end():unicode.end() + 4]
            if len(digits) < 4 or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise EvaluationError(f"unescapeJson: less than 4 hex digits in unicode value {subject[i:i + 10]!r}")
            out.append(chr(int(digits, 16)))
            i = unicode.end() + 4
            continue
        nxt = subject[i + 1:i + 2]
        if nxt in _CTRL:
            out.append(_CTRL[nxt])
            i += 2
        else:
            i += 1  # a lone backslash disappears; the next character stays
    # Escaped surrogate pairs arrive as two halves: join them into one character.
    return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16", "replace")


# -- XML and HTML ---------------------------------------------------------------------------

_BASIC = {'"': "&quot;", "&": "&amp;", "<": "&lt;", ">": "&gt;"}
_XML = {**_BASIC, "'": "&apos;"}
_HTML4 = {chr(cp): f"&{name};" for cp, name in html.entities.codepoint2name.items()}
_HTML3 = {c: ref for c, ref in _HTML4.items() if c in _BASIC or 0xA0 <= ord(c) <= 0xFF}
_XML_DROP = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_XML_NUMERIC = re.compile("[\x7f-\x84\x86-\x9f]")


def _escape_with(table: dict[str, str], text: str) -> str:
    return "".join(table.get(c, c) for c in text)


@function("escapeXml", family=_F, subject="string", returns="string",
          description="Escapes XML special characters as entities (&quot; &amp; &lt; &gt; &apos;).")
def escape_xml(subject: str) -> str:
    text = _XML_DROP.sub("", subject)
    text = _escape_with(_XML, text)
    return _XML_NUMERIC.sub(lambda m: f"&#{ord(m.group())};", text)


@function("escapeHtml3", family=_F, subject="string", returns="string",
          description="Escapes the subject using HTML 3.0 entities.")
def escape_html3(subject: str) -> str:
    return _escape_with(_HTML3, subject)


@function("escapeHtml4", family=_F, subject="string", returns="string",
          description="Escapes the subject using all HTML 4.0 entities.")
def escape_html4(subject: str) -> str:
    return _escape_with(_HTML4, subject)


_ENTITY = re.compile(r"&(?:#([xX][0-9a-fA-F]+|[0-9]+)|([A-Za-z][A-Za-z0-9]*));")
_XML_NAMES = {"quot": '"', "amp": "&", "lt": "<", "gt": ">", "apos": "'"}
_HTML4_NAMES = {name: chr(cp) for name, cp in html.entities.name2codepoint.items()}
_HTML3_NAMES = {name: c for name, c in _HTML4_NAMES.items() if c in _BASIC or 0xA0 <= ord(c) <= 0xFF}


def _unescape_with(names: dict[str, str], text: str) -> str:
    def one(m: re.Match[str]) -> str:
        number, name = m.group(1), m.group(2)
        if name is not None:
            return names.get(name, m.group())
        value = int(number[1:], 16) if number[0] in "xX" else int(number)
        return chr(value) if value <= 0x10FFFF else m.group()
    return _ENTITY.sub(one, text)


@function("unescapeXml", family=_F, subject="string", returns="string",
          description="Turns the five XML entities and numeric character references back into characters.")
def unescape_xml(subject: str) -> str:
    return _unescape_with(_XML_NAMES, subject)


@function("unescapeHtml3", family=_F, subject="string", returns="string",
          description="Turns HTML 3.0 entities back into characters.")
def unescape_html3(subject: str) -> str:
    return _unescape_with(_HTML3_NAMES, subject)


@function("unescapeHtml4", family=_F, subject="string", returns="string",
          description="Turns HTML 4.0 entities back into characters.")
def unescape_html4(subject: str) -> str:
    return _unescape_with(_HTML4_NAMES, subject)


# -- CSV (RFC 4180, as commons-text) --------------------------------------------------------

_CSV_SPECIAL = (",", '"', "\r", "\n")


@function("escapeCsv", family=_F, subject="string", returns="string",
          description="Quotes the subject for CSV when it holds a comma, quote or line break; inner quotes "
                      "are doubled.")
def escape_csv(subject: str) -> str:
    if not any(c in subject for c in _CSV_SPECIAL):
        return subject
    return '"' + subject.replace('"', '""') + '"'


@function("unescapeCsv", family=_F, subject="string", returns="string",
          description="Removes CSV quoting and un-doubles inner quotes (only for a quoted value that needed it).")
def unescape_csv(subject: str) -> str:
    if len(subject) < 2 or subject[0] != '"' or subject[-1] != '"':
        return subject
    inner = subject[1:-1]
    if not any(c in inner for c in _CSV_SPECIAL):
        return subject
    return inner.replace('""', '"')


# -- URL and Base64 ---------------------------------------------------------------------------

@function("urlEncode", family=_F, subject="string", returns="string",
          description="Form-URL-encodes the subject (UTF-8): space becomes '+', only a-zA-Z0-9.-*_ stay.")
def url_encode(subject: str) -> str:
    # Python keeps '~', Java's URLEncoder does not.
    return quote_plus(subject.encode("utf-8", "replace"), safe="*").replace("~", "%7E")


_BAD_PERCENT = re.compile(r"%(?![0-9a-fA-F]{2})")


@function("urlDecode", family=_F, subject="string", returns="string",
          description="Decodes a form-URL-encoded subject (UTF-8); '+' and %20 both become a space.")
def url_decode(subject: str) -> str:
    bad = _BAD_PERCENT.search(subject)
    if bad:
        raise EvaluationError(f"urlDecode: incomplete or illegal escape at position {bad.start()} of {subject!r}")
    return unquote_plus(subject, encoding="utf-8", errors="replace")


@function("base64Encode", family=_F, subject="string", returns="string",
          description="Base64-encodes the subject's UTF-8 bytes.")
def base64_encode(subject: str) -> str:
    return base64.b64encode(subject.encode("utf-8", "replace")).decode("ascii")


_BASE64 = re.compile(r"[A-Za-z0-9+/]*(={0,2})")


@function("base64Decode", family=_F, subject="string", returns="string",
          description="Decodes Base64 text (padding optional, as Java's decoder) back to a UTF-8 string.")
def base64_decode(subject: str) -> str:
    m = _BASE64.fullmatch(subject)
    body = subject.rstrip("=")
    if not m or len(body) % 4 == 1 or (m.group(1) and len(subject) % 4):
        raise EvaluationError(f"base64Decode: {subject!r} is not valid Base64")
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error as exc:
        raise EvaluationError(f"base64Decode: {subject!r} is not valid Base64: {exc}") from None
    return raw.decode("utf-8", "replace")


# -- hashes and name-based UUIDs --------------------------------------------------------------

_DIGESTS = {"MD2": "md2", "MD5": "md5", "SHA": "sha1", "SHA1": "sha1", "SHA-1": "sha1", "SHA-224": "sha224",
            "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512", "SHA-512/224": "sha512_224",
            "SHA-512/256": "sha512_256", "SHA3-224": "sha3_224", "SHA3-256": "sha3_256", "SHA3-384": "sha3_384",
            "SHA3-512": "sha3_512"}


@function("hash", family=_F, subject="string", returns="string", args=(Arg("algorithm"),),
          description="Lower-case hex digest of the subject's UTF-8 bytes using the named algorithm "
                      "(MD5, SHA-1, SHA-256, SHA-512, SHA3-256...).")
def hash_(subject: str, algorithm: str | None) -> str:
    name = _DIGESTS.get((algorithm or "").upper())
    if name is None:
        raise EvaluationError(f"hash: unknown algorithm {algorithm!r}")
    try:
        digest = hashlib.new(name)
    except ValueError:
        raise EvaluationError(f"hash: algorithm {algorithm!r} is not available here") from None
    digest.update(subject.encode("utf-8", "replace"))
    return digest.hexdigest()


_UUID_PART_LENGTHS = (8, 4, 4, 4, 12)


def _namespace(text: str | None) -> uuid.UUID:
    """``UUID.fromString``'s leniency: five dash-separated hex groups, each at most its usual length."""
    if text is None:
        return uuid.UUID(int=0)  # NiFi falls back to the nil namespace
    parts = text.split("-")
    if len(parts) != 5 or not all(
            0 < len(p) <= size and all(c in "0123456789abcdefABCDEF" for c in p)
            for p, size in zip(parts, _UUID_PART_LENGTHS, strict=True)):
        raise EvaluationError(f"invalid UUID string: {text!r}")
    return uuid.UUID("".join(p.zfill(size) for p, size in zip(parts, _UUID_PART_LENGTHS, strict=True)))


@function("UUID3", family=_F, subject="string", returns="string", args=(Arg("namespace"),),
          description="Name-based version-3 (MD5) UUID of the subject in the given namespace UUID.")
def uuid3(subject: str, namespace: str | None) -> str:
    return str(uuid.uuid3(_namespace(namespace), subject))


@function("UUID5", family=_F, subject="string", returns="string", args=(Arg("namespace"),),
          description="Name-based version-5 (SHA-1) UUID of the subject in the given namespace UUID.")
def uuid5(subject: str, namespace: str | None) -> str:
    return str(uuid.uuid5(_namespace(namespace), subject))
