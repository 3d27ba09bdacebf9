"""The pages served outside ``/api``: the canvas (``canvas_ui/web/dist``, built by
``make demo``) or, until it is built, a small login page that says where the API
is. These and the static assets are public: they hold no data, and everything
they show comes from the authenticated API.

Every GET outside ``/api``, ``/metrics`` and ``/assets`` answers the canvas's
``index.html``: the canvas keeps its place in the address (``/process-groups/<id>``,
``?panel=provenance``), so a reload or a deep link must reach it, and a deep link
opened while logged out shows the login page, which then lands where it pointed.
An unknown ``/api`` path answers a JSON 404 (405 when the path exists with other
methods), never the page."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from flowyard.canvas_ui.guard import APP_CSP

__all__ = ["DIST", "is_page", "page_routes"]

#: Where Vite writes the built canvas.
DIST = Path(__file__).parent / "web" / "dist"

_FALLBACK = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flowyard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { max-width: 26rem; margin: 12vh auto; padding: 0 1rem; line-height: 1.5; }
  h1 { font-weight: 600; letter-spacing: -0.02em; }
  form { display: grid; gap: .6rem; margin: 1.5rem 0; }
  input, button { font: inherit; padding: .5rem .7rem; border-radius: .4rem; border: 1px solid #8886; }
  button { background: #2563eb; color: white; border: 0; cursor: pointer; }
  #result { min-height: 1.5rem; }
  code { font-size: .9em; }
</style></head>
<body>
<h1>flowyard</h1>
<p>The flow is running. The canvas is not built in this installation; the HTTP API is ready.</p>
<form id="login">
  <input name="username" placeholder="user name" autocomplete="username" required>
  <input name="password" type="password" placeholder="password" autocomplete="current-password" required>
  <button>Log in</button>
</form>
<p id="result"></p>
<p>API description: <a href="/api/openapi.json">/api/openapi.json</a> ·
   health: <a href="/api/health">/api/health</a></p>
<script>
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/api/login", {method: "POST", headers: {"content-type": "application/json"},
    body: JSON.stringify({username: form.get("username"), password: form.get("password")})});
  const result = document.getElementById("result");
  if (!response.ok) { result.textContent = (await response.json()).error; return; }
  const flow = await (await fetch("/api/flow")).json();
  const count = (group) => group.processors.length + group.processGroups.reduce((n, g) => n + count(g), 0);
  result.textContent = `Logged in. The flow "${flow.rootGroup.name}" has ${count(flow.rootGroup)} processors.`;
});
</script>
</body></html>
"""


#: Path prefixes that are not pages: the API and the metrics scrapers' path.
_NOT_PAGES = ("/api", "/metrics")


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def is_page(path: str) -> bool:
    """Whether ``path`` is public: a page of the canvas (any path outside ``/api``
    and ``/metrics``, deep links such as ``/process-groups/<id>`` included) or one
    of its static files under ``/assets``. Everything else needs authentication."""
    return not any(_under(path, prefix) for prefix in _NOT_PAGES)


def _fallback_csp() -> str:
    """The app's policy, with the fallback page's one inline script allowed by its hash."""
    script = _FALLBACK.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return APP_CSP.replace("script-src 'self'", f"script-src 'self' 'sha256-{digest}'")


_FALLBACK_CSP = _fallback_csp()


async def _index(request: Request) -> Response:
    index = DIST / "index.html"
    if index.is_file():
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
    return HTMLResponse(_FALLBACK, headers={"Cache-Control": "no-cache", "Content-Security-Policy": _FALLBACK_CSP})


class _PageRoute(Route):
    """GET of any page path (not ``/api``, ``/metrics`` or ``/assets``): the canvas's entry page."""

    def __init__(self) -> None:
        super().__init__("/{page:path}", _index, methods=["GET"], name="page")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if scope["type"] != "http" or not is_page(path) or _under(path, "/assets"):
            return Match.NONE, {}
        return super().matches(scope)


class _UnknownApiRoute(Route):
    """Last resort under ``/api``: JSON 404 for an unknown path, 405 for a known one with another method."""

    def __init__(self) -> None:
        super().__init__("/{rest:path}", _unknown_api, name="unknown_api")
        self.methods = None  # every method (Route defaults a function endpoint to GET)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or not _under(scope.get("path", ""), "/api"):
            return Match.NONE, {}
        return Match.FULL, {**scope, "path_params": {}}


async def _unknown_api(request: Request) -> Response:
    allowed: set[str] = set()
    router = request.scope.get("router")
    for route in getattr(router, "routes", ()):
        if isinstance(route, _UnknownApiRoute):
            continue
        match, _ = route.matches(request.scope)
        if match == Match.PARTIAL and isinstance(route, Route) and route.methods:
            allowed |= route.methods
    if allowed:
        return JSONResponse({"error": f"{request.method} is not allowed on {request.url.path}"}, status_code=405,
                            headers={"Allow": ", ".join(sorted(allowed))})
    return JSONResponse({"error": f"no such API path: {request.url.path}"}, status_code=404)


def page_routes() -> list[BaseRoute]:
    """``/assets`` (the canvas's files), then the canvas's entry page for every other
    page path, and the JSON 404 of unknown ``/api`` paths. Put them after the API's routes."""
    assets = DIST / "assets"
    served: BaseRoute = (Mount("/assets", StaticFiles(directory=assets), name="assets") if assets.is_dir()
                         else Route("/assets/{path:path}", _missing, methods=["GET"]))
    return [served, _PageRoute(), _UnknownApiRoute()]


async def _missing(request: Request) -> Response:
    return PlainTextResponse("the canvas is not built (make demo builds it)", status_code=404)
