"""The HTTP API (starlette). It talks to the runtime only through ``FlowService``.

Authentication: every route but ``GET /api/health`` and ``POST /api/login``
needs ``Authorization: Bearer <token>`` or the session cookie; with the cookie,
state-changing requests must also send ``X-CSRF-Token``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from flowyard.canvas_ui.auth import AuthManager
from flowyard.runtime.sdk import FlowyardError
from flowyard.runtime.service import FlowService, UnknownComponentError

__all__ = ["create_app"]

COOKIE = "flowyard_session"
PUBLIC = {("GET", "/api/health"), ("POST", "/api/login")}
MAX_BODY = 1 << 20


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(service: FlowService, auth: AuthManager) -> Starlette:
    """The API application for ``service``."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def login(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, "request body too large")
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "expected a JSON object with username and password")
        if not isinstance(data, dict) or not isinstance(data.get("username"), str) or not isinstance(
                data.get("password"), str):
            return _error(400, "expected a JSON object with username and password")
        session = auth.login(data["username"], data["password"])
        if session is None:
            return _error(401, "wrong username or password")
        response = JSONResponse({"token": session.token, "csrfToken": session.csrf})
        response.set_cookie(COOKIE, session.token, httponly=True, samesite="strict", secure=False)
        return response

    async def flow(request: Request) -> Response:
        return JSONResponse(service.flow_document())

    async def status(request: Request) -> Response:
        return JSONResponse(service.status())

    async def processor_types(request: Request) -> Response:
        return JSONResponse(service.processor_types())

    async def functions(request: Request) -> Response:
        return JSONResponse(service.expression_functions())

    async def bulletins(request: Request) -> Response:
        return JSONResponse(service.bulletins())

    async def run_state(request: Request) -> Response:
        try:
            data = await request.json()
        except ValueError:
            return _error(400, 'expected {"state": "RUNNING" | "STOPPED"}')
        state = data.get("state") if isinstance(data, dict) else None
        try:
            await service.set_run_state(request.path_params["component_id"], str(state))
        except UnknownComponentError as exc:
            return _error(404, str(exc.args[0]))
        except FlowyardError as exc:
            return _error(400, str(exc))
        return JSONResponse({"state": state})

    routes = [
        Route("/api/health", health, methods=["GET"]),
        Route("/api/login", login, methods=["POST"]),
        Route("/api/flow", flow, methods=["GET"]),
        Route("/api/status", status, methods=["GET"]),
        Route("/api/processor-types", processor_types, methods=["GET"]),
        Route("/api/expression-functions", functions, methods=["GET"]),
        Route("/api/bulletins", bulletins, methods=["GET"]),
        Route("/api/processors/{component_id}/run-state", run_state, methods=["PUT"]),
    ]
    async def authenticate(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Any:
        if (request.method, request.url.path) in PUBLIC:
            return await call_next(request)
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            if auth.session(header[7:].strip()) is None:
                return _error(401, "invalid or expired token")
            return await call_next(request)
        session = auth.session(request.cookies.get(COOKIE))
        if session is None:
            return _error(401, "authentication required: POST /api/login")
        if request.method not in ("GET", "HEAD", "OPTIONS") and not hmac.compare_digest(
                request.headers.get("x-csrf-token", ""), session.csrf):
            return _error(403, "missing or wrong X-CSRF-Token header")
        return await call_next(request)

    return Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=authenticate)])
