"""The pages served outside ``/api``: the canvas (``canvas_ui/web/dist``, built by
``make demo``) or, until it is built, a small login page that says where the API
is. These and the static assets are public: they hold no data, and everything
they show comes from the authenticated API."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

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


def is_page(path: str) -> bool:
    """Whether ``path`` is one of these public pages (everything else needs authentication)."""
    return path in ("/", "/login") or path.startswith("/assets/")


async def _index(request: Request) -> Response:
    index = DIST / "index.html"
    if index.is_file():
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
    return HTMLResponse(_FALLBACK, headers={"Cache-Control": "no-cache"})


def page_routes() -> list[BaseRoute]:
    """``/`` and ``/login`` (the canvas's entry page) and ``/assets`` (its files)."""
    assets = DIST / "assets"
    served: BaseRoute = (Mount("/assets", StaticFiles(directory=assets), name="assets") if assets.is_dir()
                         else Route("/assets/{path:path}", _missing, methods=["GET"]))
    return [Route("/", _index, methods=["GET"]), Route("/login", _index, methods=["GET"]), served]


async def _missing(request: Request) -> Response:
    return PlainTextResponse("the canvas is not built (make demo builds it)", status_code=404)
