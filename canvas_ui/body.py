"""Reading a request's JSON body within bounds: size (counted while it streams,
so a chunked body cannot make the server hold more than the limit), time (a
body trickling in is cut off), media type (``application/json`` only, which
also keeps simple cross-site form posts out), nesting depth and number size
(``flow.loads_bounded``). Each refusal is an ``HttpError`` with the status to
answer and a message that says what to change."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import anyio
from starlette.requests import Request

from flowyard.runtime.flow import JsonLimitError, loads_bounded

__all__ = ["BODY_TIMEOUT_SECONDS", "MAX_BODY", "HttpError", "read_json"]

#: Largest request body accepted (bytes).
MAX_BODY = 1 << 20
#: A whole body must arrive within this long.
BODY_TIMEOUT_SECONDS = 30.0


class HttpError(Exception):
    """A request refused with ``status`` and ``message`` (the handler's answer)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def _is_json(content_type: str | None) -> bool:
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    return essence == "application/json" or (essence.startswith("application/") and essence.endswith("+json"))


async def read_json(request: Request, *, limit: int = MAX_BODY, timeout: float = BODY_TIMEOUT_SECONDS) -> Any:
    """The body parsed as JSON (``{}`` when empty). Raises ``HttpError``: 413 over
    ``limit`` bytes, 408 when it takes longer than ``timeout`` seconds, 415 when
    it is not sent as ``application/json``, 400 when it is not valid bounded JSON."""
    has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    if has_body and not _is_json(request.headers.get("content-type")):
        raise HttpError(415, "send the request body as JSON with the header Content-Type: application/json")
    body = bytearray()
    try:
        with anyio.fail_after(timeout):
            async with aclosing(request.stream()) as chunks:
                async for chunk in chunks:
                    body += chunk
                    if len(body) > limit:
                        raise HttpError(413, f"request body too large: the limit is {limit:,} bytes")
    except TimeoutError:
        raise HttpError(408, f"the request body did not arrive within {timeout:g} seconds") from None
    if not body:
        return {}
    try:
        return loads_bounded(bytes(body))
    except JsonLimitError as exc:
        raise HttpError(400, f"the request body is not usable JSON: {exc}") from None
