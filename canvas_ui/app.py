"""The HTTP API (starlette). It talks to the runtime only through ``FlowService``.

Authentication: every route but the public ones (health, OpenAPI description,
login, and the pages outside ``/api``: the login page and the canvas's static
files, see ``pages``) needs ``Authorization: Bearer <token>`` or the session cookie; with the
cookie, state-changing requests must also send ``X-CSRF-Token``. Each route is
declared once in ``ROUTES`` with its summary; the OpenAPI description and the
auth-matrix test are built from that table.

Around everything sits ``guard.Guard`` (Host and Origin checks, body size,
security headers); request bodies are read by ``body.read_json`` and flowfile
content is served by ``content.content_response``. Errors are JSON
``{"error": sentence}``; a 400 about a component's fields also lists
``errors: [{field, message}]``, one per wrong field.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from flowyard.canvas_ui import body
from flowyard.canvas_ui.auth import AuthManager, LoginRefused
from flowyard.canvas_ui.body import MAX_BODY, HttpError, read_json
from flowyard.canvas_ui.cluster_api import CLUSTER_ROUTES, cluster_handlers
from flowyard.canvas_ui.content import content_response
from flowyard.canvas_ui.guard import Guard, HostPolicy
from flowyard.canvas_ui.pages import is_page, page_routes
from flowyard.canvas_ui.stream import status_events
from flowyard.runtime.sdk import (
    ContentNotFoundError,
    FlowDefinitionError,
    FlowyardError,
    RepositoryError,
    StorageFullError,
)
from flowyard.runtime.service import (
    ContentPreviewError,
    FlowNotSavedError,
    FlowService,
    ReplayError,
    RevisionConflict,
    UnknownComponentError,
)

if TYPE_CHECKING:
    from flowyard.clusters.status import ClusterView

__all__ = ["COOKIE", "MAX_BODY", "ApiRoute", "create_app", "openapi_document"]

COOKIE = "flowyard_session"
#: A refused login (429) is answered after this pause at most.
LOGIN_TARPIT_SECONDS = 1.0

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class ApiRoute:
    """One route: method, path, summary, whether it needs authentication."""

    method: str
    path: str
    summary: str
    name: str
    public: bool = False


#: URL segment of each component kind (the service's KINDS).
PLURALS = {"processor": "processors", "connection": "connections", "funnel": "funnels",
           "input-port": "input-ports", "output-port": "output-ports", "label": "labels",
           "controller-service": "controller-services", "process-group": "process-groups",
           "parameter-context": "parameter-contexts"}
#: Kinds with a run state of their own.
RUNNABLE = ("processor", "input-port", "output-port", "process-group")


def _component_routes() -> list[ApiRoute]:
    routes = []
    for kind, plural in PLURALS.items():
        label = kind.replace("-", " ")
        base = f"/api/{plural}"
        routes += [
            ApiRoute("POST", base, f"Add a {label} (its JSON form; identifier optional; parentGroupId).",
                     f"create:{kind}"),
            ApiRoute("GET", base + "/{component_id}", f"A {label} with its revision and live state.", f"get:{kind}"),
            ApiRoute("PUT", base + "/{component_id}", f"Change a {label}, live: {{revision, ...fields}}.",
                     f"update:{kind}"),
            ApiRoute("DELETE", base + "/{component_id}",
                     f"Remove a {label}: ?revision=N (&drop=true to drop queued flowfiles).", f"delete:{kind}"),
        ]
        if kind in RUNNABLE:
            routes.append(ApiRoute("PUT", base + "/{component_id}/run-state",
                                   f"Run state of a {label}: {{state}} RUNNING, STOPPED, ENABLED, DISABLED"
                                   + (", RUN_ONCE" if kind == "processor" else "") + ".", f"run_state:{kind}"))
    return routes


ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute("GET", "/api/health", "Liveness: answers while the server runs.", "health", public=True),
    ApiRoute("GET", "/api/openapi.json", "This API's OpenAPI description.", "openapi", public=True),
    ApiRoute("POST", "/api/login", "Log in with {username, password}: a bearer token and a session cookie.",
             "login", public=True),
    ApiRoute("POST", "/api/logout", "End this session (the bearer token or the session cookie).", "logout"),
    ApiRoute("GET", "/api/session", "Who is logged in, and the CSRF token of a cookie session (for a reloaded page).",
             "session"),
    ApiRoute("GET", "/api/flow", "The flow definition with run states and validation errors.", "flow"),
    ApiRoute("GET", "/api/status", "Figures of the flow, its processors and connections (in a cluster: totals "
             "with a per-node breakdown; ?node=ID).", "status"),
    ApiRoute("GET", "/api/processor-types", "Every processor type with its spec.", "processor_types"),
    ApiRoute("GET", "/api/expression-functions", "The Expression Language function catalogue.", "functions"),
    ApiRoute("GET", "/api/bulletins", "The latest bulletins (in a cluster: every node's, with nodeId; ?node=ID).",
             "bulletins"),
    ApiRoute("GET", "/api/metrics", "Prometheus metrics (text exposition format).", "metrics"),
    ApiRoute("GET", "/metrics", "The same Prometheus metrics at the path scrapers expect.", "metrics_root"),
    ApiRoute("GET", "/api/status/stream", "Live status (Server-Sent Events): a snapshot, then deltas; "
             "?group=ID for one process group; in a cluster: totals per node and the cluster document, ?node=ID.",
             "status_stream"),
    ApiRoute("PUT", "/api/run-state", "Run state of a selection: {ids: [...], state}; failures per id.",
             "run_states"),
    ApiRoute("GET", "/api/controller-service-types", "Every controller service type with its spec.",
             "service_types"),
    ApiRoute("PUT", "/api/controller-services/{component_id}/state",
             "Enable or disable a controller service: {state, stopReferencing}.", "service_state"),
    ApiRoute("GET", "/api/process-groups/{component_id}/export",
             "A process group as a flowyard flow file (sensitive values left out).", "export_group"),
    ApiRoute("POST", "/api/process-groups/{component_id}/import",
             "Add a flowyard flow file as a new child group: {flow, position}.", "import_group"),
    ApiRoute("GET", "/api/process-groups/{component_id}/statistics",
             "5-minute statistics and rates summed over a process group.", "group_statistics"),
    ApiRoute("GET", "/api/components/{component_id}/statistics",
             "5-minute statistics and 1 s/10 s rates of a processor, port, funnel or connection.",
             "component_statistics"),
    ApiRoute("GET", "/api/components/{component_id}/status-history",
             "Status history (in memory): ?resolution=1s (5 min) or 1m (24 h).", "status_history"),
    *_component_routes(),
    ApiRoute("GET", "/api/connections/{connection_id}/flowfiles",
             "The first flowfiles waiting in a queue (in a cluster: on every node, with nodeId; ?node=ID).",
             "list_queue"),
    ApiRoute("DELETE", "/api/connections/{connection_id}/flowfiles", "Empty a queue (DROP events).", "empty_queue"),
    ApiRoute("GET", "/api/connections/{connection_id}/flowfiles/{flowfile_uuid}/content",
             "The content of a queued flowfile with its MIME type; ?download=true to save it.", "flowfile_content"),
    ApiRoute("GET", "/api/connections/{connection_id}/flowfiles/{flowfile_uuid}/records",
             "The first records of a queued flowfile (CSV, JSON, Avro, Parquet) as a table: "
             "{format, columns, rows, truncated}; ?rows=N (default 100, at most 1000); 422 when it has none.",
             "flowfile_records"),
    ApiRoute("POST", "/api/undo", "Undo your last flow edit (respecting revisions).", "undo"),
    ApiRoute("POST", "/api/redo", "Redo the edit you undid last.", "redo"),
    ApiRoute("GET", "/api/history", "The flow's configuration history, newest first: ?limit (1-1000, default 50), "
             "before (a seq: the next page), component, user; with what you can undo and redo.", "history"),
    ApiRoute("POST", "/api/edits", "Several creates, updates and deletes as one edit (one undo step): "
             "{description, edits: [{action, kind, data | id, revision, changes, drop}]}.", "edits"),
    ApiRoute("POST", "/api/process-groups/{component_id}/move",
             "Move components of one group into this group (a child or the parent of theirs): "
             "{ids, revisions, positions}.", "move"),
    ApiRoute("GET", "/api/provenance", "Search provenance: uuid, component, type, start, end (epoch ms), "
             "attr.NAME=value, limit; newest first.", "provenance_search"),
    ApiRoute("GET", "/api/provenance/events/{event_id}", "One provenance event with attributes before and after.",
             "provenance_event"),
    ApiRoute("GET", "/api/provenance/events/{event_id}/content/{direction}",
             "Content of an event: direction input (before) or output (after); ?download=true.",
             "provenance_content"),
    ApiRoute("GET", "/api/provenance/events/{event_id}/records/{direction}",
             "The first records of an event's input or output content as a table (as the queue's records route).",
             "provenance_records"),
    ApiRoute("POST", "/api/provenance/events/{event_id}/replay",
             "Replay an event: its flowfile as it entered the component, queued again.", "replay"),
    ApiRoute("GET", "/api/provenance/lineage/{flowfile_uuid}", "The lineage graph of a flowfile (nodes and edges).",
             "lineage"),
    *(ApiRoute(method, path, summary, name) for method, path, summary, name in CLUSTER_ROUTES),
)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of ``ROUTES``."""
    paths: dict[str, dict[str, Any]] = {}
    for r in ROUTES:
        op: dict[str, Any] = {"summary": r.summary, "operationId": r.name.replace(":", "_").replace("-", "_"),
                              "responses": {"200": {"description": "OK"}}}
        params = [p.strip("{}") for p in r.path.split("/") if p.startswith("{")]
        if params:
            op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                for p in params]
        if not r.public:
            op["security"] = [{"bearer": []}, {"cookie": []}]
            op["responses"]["401"] = {"description": "authentication required"}
        if r.method in ("PUT", "POST"):
            op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "flowyard", "version": "0.1.0"},
        "paths": paths,
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": COOKIE},
        }},
    }


def _error(status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


async def _too_many(refused: LoginRefused) -> Response:
    """429 with ``Retry-After``, answered only after a pause (at most
    ``LOGIN_TARPIT_SECONDS``): a client hammering the login waits for each
    answer, so it cannot make the server spend its time answering it."""
    await trio.sleep(min(refused.retry_after, LOGIN_TARPIT_SECONDS))
    return _error(429, str(refused), headers={"Retry-After": str(refused.retry_after)})


_WHOLE = re.compile(r"-?[0-9]+")


def _field_errors(exc: FlowDefinitionError) -> tuple[str, list[dict[str, str]]]:
    """A plain sentence and ``[{field, message}]`` for every problem of ``exc``.
    Fields of a component sent in a request are named as in its JSON
    (``backPressureObjectThreshold``, ``properties.Batch Size``)."""
    errors = []
    for where, message in exc.problems:
        field = where.split(".", 1)[1] if exc.source == "request" and "." in where else (
            "" if exc.source == "request" else where)
        errors.append({"field": field, "message": message})
    sentence = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
    return sentence, errors


def create_app(service: FlowService, auth: AuthManager, *, hosts: HostPolicy | None = None, tls: bool = False,
               body_timeout: float | None = None, state_interval: float = 0.1,
               counter_interval: float = 1.0, cluster: ClusterView | None = None) -> Starlette:
    """The API application for ``service``. ``hosts``: the names it answers to
    (default: this machine's loopback names and IP addresses); ``tls``: served
    over HTTPS (adds HSTS); ``body_timeout``: seconds a request body may take to
    arrive (default ``body.BODY_TIMEOUT_SECONDS``); ``cluster``: this node's view
    of its cluster, whose reads then answer for every node (``cluster_api``).
    Stream intervals are adjustable for tests."""
    timeout = body.BODY_TIMEOUT_SECONDS if body_timeout is None else body_timeout

    async def body_of(request: Request) -> Any:
        return await read_json(request, timeout=timeout)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    async def login(request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        wait = auth.throttle.retry_after(client, "")
        if wait > 0:  # a client that must wait is answered before its body is even read...
            return await _too_many(LoginRefused(wait))
        data = await body_of(request)
        if not isinstance(data, dict) or not isinstance(data.get("username"), str) or not isinstance(
                data.get("password"), str):
            return _error(400, "expected a JSON object with username and password")
        try:
            session = await auth.login_from(client, data["username"][:1000], data["password"][:1000])
        except LoginRefused as exc:
            return await _too_many(exc)
        if session is None:
            return _error(401, "wrong username or password")
        response = JSONResponse({"token": session.token, "csrfToken": session.csrf})
        response.set_cookie(COOKIE, session.token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    def token_of(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(COOKIE)

    async def logout(request: Request) -> Response:
        token = token_of(request)
        if token:
            auth.logout(token)
        response = JSONResponse({"loggedOut": True})
        response.delete_cookie(COOKIE)
        return response

    async def session(request: Request) -> Response:
        current = auth.session(token_of(request))
        return JSONResponse({"username": user(request), "csrfToken": current.csrf if current else None})

    async def flow(request: Request) -> Response:
        return JSONResponse(service.flow_document())

    async def status(request: Request) -> Response:
        return JSONResponse(service.status())

    async def processor_types(request: Request) -> Response:
        # The first listing imports every processor module (the catalogue is lazy, ~0.6 s):
        # on a thread, so the event loop, the flow's status and the API go on meanwhile.
        return JSONResponse(await trio.to_thread.run_sync(service.processor_types))

    async def functions(request: Request) -> Response:
        return JSONResponse(service.expression_functions())

    async def bulletins(request: Request) -> Response:
        return JSONResponse(service.bulletins())

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(service.metrics(), media_type="text/plain; version=0.0.4")

    async def status_stream(request: Request) -> Response:
        group = request.query_params.get("group")
        if group is not None:
            service.status_entries(group)  # 404 before the stream starts

        def read() -> dict[str, dict[str, Any]]:
            try:
                return service.status_entries(group)
            except UnknownComponentError:  # the group was deleted: everything in it is removed
                return {}
        return StreamingResponse(status_events(read, state_interval=state_interval,
                                               counter_interval=counter_interval),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    async def list_queue(request: Request) -> Response:
        return JSONResponse(service.queue_listing(request.path_params["connection_id"]))

    async def flowfile_content(request: Request) -> Response:
        mime, filename, size, chunks = service.queued_content(request.path_params["connection_id"],
                                                              request.path_params["flowfile_uuid"])
        return content_response(request, mime, filename, size, chunks)

    def rows_of(request: Request) -> int:
        rows = _int(request.query_params.get("rows"), "rows")
        if rows is not None and not 1 <= rows <= 1000:
            raise HttpError(400, f"rows must be between 1 and 1000, found {rows}")
        return rows or 100

    def table(preview: dict[str, Any]) -> Response:
        return JSONResponse(preview, headers={"Cache-Control": "no-store"})

    async def flowfile_records(request: Request) -> Response:
        return table(await service.queued_preview(request.path_params["connection_id"],
                                                  request.path_params["flowfile_uuid"], rows_of(request)))

    async def provenance_records(request: Request) -> Response:
        event_id = _int(request.path_params["event_id"], "event id")
        return table(await service.provenance_preview(event_id or 0, request.path_params["direction"],
                                                      rows_of(request)))

    async def empty_queue(request: Request) -> Response:
        dropped = await service.empty_queue(request.path_params["connection_id"])
        return JSONResponse({"dropped": dropped})

    def _int(value: str | None, name: str) -> int | None:
        if value is None:
            return None
        # ASCII digits only: int() also takes '1_0', '+5' and other scripts' digits
        if not _WHOLE.fullmatch(value) or len(value) > 18:
            raise HttpError(400, f"{name} must be a whole number, found {value[:40]!r}")
        return int(value)

    async def provenance_search(request: Request) -> Response:
        q = request.query_params
        attrs = {k[5:]: v for k, v in q.items() if k.startswith("attr.")}
        limit = _int(q.get("limit"), "limit") or 100
        return JSONResponse(service.provenance_search(
            flowfile_uuid=q.get("uuid"), component_id=q.get("component"), event_type=q.get("type"),
            start_ms=_int(q.get("start"), "start"), end_ms=_int(q.get("end"), "end"),
            attributes=attrs, limit=min(max(limit, 1), 1000)))

    async def provenance_event(request: Request) -> Response:
        event_id = _int(request.path_params["event_id"], "event id")
        return JSONResponse(service.provenance_event(event_id or 0))

    async def provenance_content(request: Request) -> Response:
        event_id = _int(request.path_params["event_id"], "event id")
        mime, filename, size, chunks = service.provenance_content(event_id or 0, request.path_params["direction"])
        return content_response(request, mime, filename, size, chunks)

    async def replay(request: Request) -> Response:
        event_id = _int(request.path_params["event_id"], "event id")
        return JSONResponse(await service.replay_provenance_event(event_id or 0, user=user(request)))

    async def lineage(request: Request) -> Response:
        return JSONResponse(service.lineage(request.path_params["flowfile_uuid"]))

    def user(request: Request) -> str:
        return str(request.scope.get("flowyard.user", ""))

    async def undo(request: Request) -> Response:
        return JSONResponse({"undone": await service.undo(user(request))})

    async def redo(request: Request) -> Response:
        return JSONResponse({"redone": await service.redo(user(request))})

    async def history(request: Request) -> Response:
        q = request.query_params
        limit = _int(q.get("limit"), "limit")
        try:
            return JSONResponse(service.history(user(request), limit=50 if limit is None else limit,
                                                before=_int(q.get("before"), "before"),
                                                component=q.get("component") or None, of_user=q.get("user")))
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None

    async def edits(request: Request) -> Response:
        data = await body_of(request)
        if not isinstance(data, dict):
            raise HttpError(400, "expected a JSON object {description, edits: [...]}")
        return JSONResponse(await service.apply_edits(data.get("description"), data.get("edits"),
                                                      user=user(request)))

    async def move(request: Request) -> Response:
        data = await body_of(request)
        if not isinstance(data, dict):
            raise HttpError(400, "expected a JSON object {ids, revisions, positions}")
        return JSONResponse(await service.move(request.path_params["component_id"], data.get("ids"),
                                               revisions=data.get("revisions"), positions=data.get("positions"),
                                               user=user(request)))

    def component_handlers(kind: str) -> dict[str, Handler]:
        async def create(request: Request) -> Response:
            return JSONResponse(await service.create(kind, await body_of(request), user=user(request)),
                                status_code=201)

        async def get(request: Request) -> Response:
            return JSONResponse(service.component(kind, request.path_params["component_id"]))

        async def update(request: Request) -> Response:
            data = await body_of(request)
            if not isinstance(data, dict):
                raise HttpError(400, "expected a JSON object with revision and the fields to change")
            changes = {k: v for k, v in data.items() if k != "revision"}
            return JSONResponse(await service.update(kind, request.path_params["component_id"],
                                                     data.get("revision"), changes, user=user(request)))

        async def delete(request: Request) -> Response:
            revision = _int(request.query_params.get("revision"), "revision")
            drop = request.query_params.get("drop", "false").lower() == "true"
            ident = request.path_params["component_id"]
            dropped = await service.delete(kind, ident, revision, drop=drop, user=user(request))
            return JSONResponse({"deleted": ident, "dropped": dropped})

        async def run_state(request: Request) -> Response:
            ident = request.path_params["component_id"]
            service.component(kind, ident)  # 404 for an id of another kind
            data = await body_of(request)
            state = data.get("state") if isinstance(data, dict) else None
            result = await service.set_run_state(ident, str(state), user=user(request))
            return JSONResponse({"state": state, **result})

        return {f"create:{kind}": create, f"get:{kind}": get, f"update:{kind}": update,
                f"delete:{kind}": delete, f"run_state:{kind}": run_state}

    async def run_states(request: Request) -> Response:
        data = await body_of(request)
        if not isinstance(data, dict):
            raise HttpError(400, "expected a JSON object {ids: [...], state}")
        return JSONResponse(await service.set_run_states(data.get("ids"), str(data.get("state")),
                                                         user=user(request)))

    async def service_types(request: Request) -> Response:
        return JSONResponse(await trio.to_thread.run_sync(service.controller_service_types))  # as processor_types

    async def service_state(request: Request) -> Response:
        ident = request.path_params["component_id"]
        service.component("controller-service", ident)
        data = await body_of(request)
        if not isinstance(data, dict):
            raise HttpError(400, "expected a JSON object {state, stopReferencing}")
        await service.set_service_state(ident, str(data.get("state")),
                                        stop_referencing=data.get("stopReferencing") is True, user=user(request))
        return JSONResponse(service.component("controller-service", ident))

    async def export_group(request: Request) -> Response:
        ident = request.path_params["component_id"]
        doc = service.export_group(ident)
        name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in doc["rootGroup"]["name"]) or "flow"
        return JSONResponse(doc, headers={"Content-Disposition": f'attachment; filename="{name}.json"'})

    async def import_group(request: Request) -> Response:
        data = await body_of(request)
        if not isinstance(data, dict) or "flow" not in data:
            raise HttpError(400, "expected a JSON object {flow: <flowyard flow file>, position: {x, y}}")
        return JSONResponse(await service.import_group(request.path_params["component_id"], data["flow"],
                                                       position=data.get("position"), user=user(request)),
                            status_code=201)

    async def group_statistics(request: Request) -> Response:
        return JSONResponse(service.group_statistics(request.path_params["component_id"]))

    async def component_statistics(request: Request) -> Response:
        return JSONResponse(service.component_statistics(request.path_params["component_id"]))

    async def status_history(request: Request) -> Response:
        return JSONResponse(service.status_history(request.path_params["component_id"],
                                                   resolution=request.query_params.get("resolution", "1s")))

    handlers: dict[str, Handler] = {
        "health": health, "openapi": openapi, "login": login, "logout": logout, "session": session,
        "flow": flow, "status": status,
        "processor_types": processor_types, "functions": functions, "bulletins": bulletins,
        "metrics": metrics, "metrics_root": metrics, "status_stream": status_stream,
        "list_queue": list_queue, "empty_queue": empty_queue, "flowfile_content": flowfile_content,
        "flowfile_records": flowfile_records, "provenance_records": provenance_records,
        "provenance_search": provenance_search,
        "provenance_event": provenance_event, "lineage": lineage, "provenance_content": provenance_content,
        "replay": replay, "undo": undo, "redo": redo, "history": history, "edits": edits, "move": move,
        "run_states": run_states, "service_types": service_types, "service_state": service_state,
        "export_group": export_group, "import_group": import_group, "group_statistics": group_statistics,
        "component_statistics": component_statistics, "status_history": status_history,
    }
    for kind in PLURALS:
        handlers.update(component_handlers(kind))
    handlers.update(cluster_handlers(cluster, dict(handlers), user=user, body_of=body_of,
                                     state_interval=state_interval, counter_interval=counter_interval))

    def guarded(handler: Handler) -> Handler:
        async def call(request: Request) -> Response:
            try:
                return await handler(request)
            except HttpError as exc:
                return _error(exc.status, exc.message)
            except FlowNotSavedError as exc:  # 507: the disk is full; 503: it may work again later
                return _error(507 if exc.disk_full else 503, str(exc))
            except (UnknownComponentError, ContentNotFoundError) as exc:
                return _error(404, str(exc))
            except ReplayError as exc:
                return _error(409, str(exc))
            except ContentPreviewError as exc:  # the request is fine; the content has no table in it
                return _error(422, str(exc), unsupported=exc.unsupported)
            except RevisionConflict as exc:
                return JSONResponse({"error": str(exc), "current": exc.current}, status_code=409)
            except FlowDefinitionError as exc:
                sentence, errors = _field_errors(exc)
                return _error(400, sentence, errors=errors)
            except RepositoryError as exc:  # the repository, not the request: a full disk or damage
                return _error(507 if isinstance(exc, StorageFullError) else 503, str(exc))
            except FlowyardError as exc:
                return _error(400, str(exc))
        return call

    public = {(r.method, r.path) for r in ROUTES if r.public}
    routes = [Route(r.path, guarded(handlers[r.name]), methods=[r.method], name=r.name.replace(":", "_"))
              for r in ROUTES]

    def authenticate(app: ASGIApp) -> ASGIApp:
        """Pure ASGI (no per-request task or body buffering, as BaseHTTPMiddleware
        would add): lets pages and public routes through, else needs a bearer
        token or the session cookie (and the CSRF token for a change)."""
        async def call(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or is_page(scope["path"]) or (scope["method"], scope["path"]) in public:
                await app(scope, receive, send)  # the login page, the canvas's files, health, login
                return
            headers = Headers(scope=scope)
            header = headers.get("authorization", "")
            refusal: Response | None = None
            if header.lower().startswith("bearer "):
                bearer = auth.session(header[7:].strip())
                if bearer is None:
                    refusal = _error(401, "invalid or expired token")
                else:
                    scope["flowyard.user"] = bearer.username
            else:
                session = auth.session(_cookie(headers))
                if session is None:
                    refusal = _error(401, "authentication required: POST /api/login")
                elif scope["method"] not in ("GET", "HEAD", "OPTIONS") and not hmac.compare_digest(
                        headers.get("x-csrf-token", "").encode("utf-8", "surrogateescape"), session.csrf.encode()):
                    refusal = _error(403, "missing or wrong X-CSRF-Token header")
                else:
                    scope["flowyard.user"] = session.username
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            await app(scope, receive, send)
        return call

    return Starlette(routes=[*routes, *page_routes()],
                     middleware=[Middleware(Guard, hosts=hosts or HostPolicy(), max_body=MAX_BODY, tls=tls),
                                 Middleware(authenticate)])


def _cookie(headers: Headers) -> str | None:
    """The session cookie of a request, if any."""
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None
