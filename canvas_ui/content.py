"""Serving flowfile content so that it can never run on the app's origin.

Content comes from the data, not from us: a flowfile whose ``mime.type`` says
``text/html`` may hold a script that, served inline from the API's origin,
would read the CSRF token and edit the flow. So content is shown inline only
for a short list of types a browser renders without running anything; every
other type is an attachment. Every content response also carries
``Content-Security-Policy: sandbox`` (a document that is opened anyway gets a
unique origin and no scripts) and ``nosniff``. The file name goes out per
RFC 6266 with an RFC 5987 ``filename*`` for names beyond ASCII; control
characters in it are replaced, never sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

__all__ = ["CONTENT_CSP", "INLINE_TYPES", "content_disposition", "content_response", "served_type"]

#: Types shown inline (``?download=true`` makes any of them an attachment too).
INLINE_TYPES = frozenset({
    "text/plain", "text/csv", "application/json",
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp",
})
#: What a content response may do when a browser opens it: nothing but show itself.
CONTENT_CSP = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'"

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_ESSENCE = re.compile(rf"{_TOKEN}/{_TOKEN}")
_CHARSET = re.compile(r"[A-Za-z0-9._:-]{1,40}")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")
_MAX_NAME = 200


def served_type(mime: str) -> str:
    """The Content-Type to send for a flowfile's ``mime.type``: its type and
    charset when they are well-formed, else ``application/octet-stream``."""
    essence = mime.split(";", 1)[0].strip().lower()
    if not _ESSENCE.fullmatch(essence):
        return "application/octet-stream"
    for param in mime.split(";")[1:]:
        key, _, value = param.partition("=")
        value = value.strip().strip('"')
        if key.strip().lower() == "charset" and _CHARSET.fullmatch(value):
            return f"{essence}; charset={value}"
    return essence


def content_disposition(disposition: str, filename: str) -> str:
    """``inline`` or ``attachment`` with ``filename`` (RFC 6266): an ASCII
    fallback and, for other characters, ``filename*=UTF-8''...`` (RFC 5987).
    Control characters and path separators become ``_``."""
    name = _UNSAFE_NAME.sub("_", filename)[:_MAX_NAME] or "content"
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\%' else "_" for ch in name)
    header = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


def content_response(request: Request, mime: str, filename: str, size: int, chunks: Iterator[bytes]) -> Response:
    """Stream flowfile content: inline for ``INLINE_TYPES`` unless ``?download=true``,
    else as an attachment; always sandboxed (see the module's docstring)."""
    media_type = served_type(mime)
    inline = request.query_params.get("download") != "true" and media_type.split(";")[0] in INLINE_TYPES
    return StreamingResponse(chunks, media_type=media_type, headers={
        "Content-Length": str(size),
        "Content-Disposition": content_disposition("inline" if inline else "attachment", filename),
        "Content-Security-Policy": CONTENT_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    })
