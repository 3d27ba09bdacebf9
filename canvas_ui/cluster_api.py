"""The API's cluster routes, and the cluster versions of the read routes.

``CLUSTER_ROUTES`` (``GET /api/cluster`` and the node actions) exist on every
server; on a single node ``GET /api/cluster`` answers ``{"clustered": false,
"nodes": []}`` and the actions 404. With a ``ClusterView``, ``cluster_handlers``
also replaces the read routes (status, stream, statistics, queue listing,
provenance, lineage, bulletins) by ones that answer for the whole cluster,
with a ``node`` filter (see ``docs/api.md``, "Cluster"). A single node's
handlers are not touched: its answers stay exactly as they were.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from flowyard.canvas_ui.body import HttpError
from flowyard.canvas_ui.content import content_response
from flowyard.canvas_ui.stream import cluster_status_events
from flowyard.runtime.service import UnknownComponentError

if TYPE_CHECKING:
    from flowyard.clusters.status import ClusterView

__all__ = ["CLUSTER_ROUTES", "UNAVAILABLE_HEADER", "cluster_handlers"]

Handler = Callable[[Request], Awaitable[Response]]

#: (method, path, summary, name) of the routes about the cluster itself.
CLUSTER_ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ("GET", "/api/cluster", "The cluster: this node, its state, the coordinator, the primary and every node "
     "({clustered: false} on a single node).", "cluster"),
    ("POST", "/api/cluster/nodes/{node_id}/disconnect", "Disconnect a node: {reason} optional.",
     "cluster_disconnect"),
    ("POST", "/api/cluster/nodes/{node_id}/connect", "Let a disconnected or offloaded node connect again.",
     "cluster_connect"),
    ("POST", "/api/cluster/nodes/{node_id}/offload", "Move a disconnected node's queued data to the other nodes.",
     "cluster_offload"),
    ("DELETE", "/api/cluster/nodes/{node_id}", "Remove a disconnected or offloaded node from the cluster.",
     "cluster_remove"),
)
#: Response header naming the nodes a merged listing left out (comma-separated ids).
UNAVAILABLE_HEADER = "X-Flowyard-Unavailable-Nodes"

_NODE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_WHOLE = re.compile(r"-?[0-9]{1,18}")


def _node(request: Request) -> str | None:
    node = request.query_params.get("node")
    if node is None:
        return None
    if not _NODE_ID.fullmatch(node):
        raise HttpError(400, f"node must be a node id (1-64 of A-Z a-z 0-9 _ . -), found {node[:70]!r}")
    return node


def _int(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not _WHOLE.fullmatch(value):
        raise HttpError(400, f"{name} must be a whole number, found {value[:40]!r}")
    return int(value)


def _listing(items: Any, unavailable: list[str]) -> Response:
    headers = {UNAVAILABLE_HEADER: ",".join(unavailable)} if unavailable else None
    return JSONResponse(items, headers=headers)


def _rows(request: Request) -> int:
    rows = _int(request.query_params.get("rows"), "rows")
    if rows is not None and not 1 <= rows <= 1000:
        raise HttpError(400, f"rows must be between 1 and 1000, found {rows}")
    return rows or 100


def _streamed(request: Request, mime: str, filename: str, size: int, chunks: AsyncIterator[bytes]) -> Response:
    """Content streamed from another node, with the same headers (sandbox, type,
    disposition) as this node's own content."""
    response = content_response(request, mime, filename, size, iter(()))
    if not isinstance(response, StreamingResponse):  # pragma: no cover - content_response streams
        raise TypeError("content_response no longer streams")
    response.body_iterator = chunks
    return response


def _mapped(handler: Handler) -> Handler:
    async def call(request: Request) -> Response:
        from flowyard.clusters.status import ClusterApiError
        try:
            return await handler(request)
        except ClusterApiError as exc:
            return JSONResponse({"error": str(exc), **exc.extra}, status_code=exc.status)
    return call


def cluster_handlers(cluster: ClusterView | None, base: Mapping[str, Handler], *,
                     user: Callable[[Request], str], body_of: Callable[[Request], Awaitable[Any]],
                     state_interval: float, counter_interval: float) -> dict[str, Handler]:
    """Handlers by route name: the ``CLUSTER_ROUTES`` ones, and with ``cluster``
    the cluster versions of the read routes of ``base`` (the app's handlers).
    ``user`` names the request's user; ``body_of`` reads its JSON body."""
    async def single(request: Request) -> Response:
        return JSONResponse({"clustered": False, "nodes": []})

    async def not_clustered(request: Request) -> Response:
        raise HttpError(404, f"no node {request.path_params['node_id'][:64]!r}: this server is not part of a "
                             f"cluster")

    if cluster is None:
        return {"cluster": single, "cluster_disconnect": not_clustered, "cluster_connect": not_clustered,
                "cluster_offload": not_clustered, "cluster_remove": not_clustered}
    view = cluster

    async def overview(request: Request) -> Response:
        return JSONResponse(view.overview())

    async def disconnect(request: Request) -> Response:
        data = await body_of(request)
        reason = data.get("reason") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not (reason is None or (isinstance(reason, str) and len(reason) <= 1000)):
            raise HttpError(400, "expected a JSON object {reason} with reason a text of at most 1000 characters")
        return JSONResponse(await view.disconnect(request.path_params["node_id"], by=user(request), reason=reason))

    async def connect(request: Request) -> Response:
        return JSONResponse(await view.connect(request.path_params["node_id"], by=user(request)))

    async def offload(request: Request) -> Response:
        return JSONResponse(await view.offload(request.path_params["node_id"], by=user(request)))

    async def remove(request: Request) -> Response:
        return JSONResponse(await view.remove(request.path_params["node_id"], by=user(request)))

    async def status(request: Request) -> Response:
        return JSONResponse(await view.status(_node(request)))

    async def status_stream(request: Request) -> Response:
        group, node = request.query_params.get("group"), _node(request)
        await view.status_entries(group, node)  # 404 (unknown group or node) before the stream starts

        async def read() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
            from flowyard.clusters.status import ClusterApiError
            try:
                entries, answers = await view.status_entries(group, node)
            except (UnknownComponentError, ClusterApiError):  # the group was deleted, the node went away
                entries, answers = {}, []
            doc = view.overview()
            doc["unavailable"] = [{"nodeId": a.node_id, "error": a.error} for a in answers if not a.ok]
            return entries, doc
        return StreamingResponse(cluster_status_events(read, state_interval=state_interval,
                                                       counter_interval=counter_interval),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    async def component_statistics(request: Request) -> Response:
        return JSONResponse(await view.component_statistics(request.path_params["component_id"], _node(request)))

    async def group_statistics(request: Request) -> Response:
        return JSONResponse(await view.group_statistics(request.path_params["component_id"], _node(request)))

    async def status_history(request: Request) -> Response:
        return JSONResponse(await view.status_history(request.path_params["component_id"],
                                                      request.query_params.get("resolution", "1s"), _node(request)))

    async def bulletins(request: Request) -> Response:
        return _listing(*await view.bulletins(_node(request)))

    async def list_queue(request: Request) -> Response:
        return _listing(*await view.queue_listing(request.path_params["connection_id"], _node(request)))

    async def provenance_search(request: Request) -> Response:
        q = request.query_params
        criteria = {"uuid": q.get("uuid"), "component": q.get("component"), "type": q.get("type"),
                    "start": _int(q.get("start"), "start"), "end": _int(q.get("end"), "end"),
                    "attributes": {k[5:]: v for k, v in q.items() if k.startswith("attr.")},
                    "limit": min(max(_int(q.get("limit"), "limit") or 100, 1), 1000)}
        return _listing(*await view.provenance_search(criteria, _node(request)))

    async def provenance_event(request: Request) -> Response:
        event_id = _int(request.path_params["event_id"], "event id")
        return JSONResponse(await view.provenance_event(event_id or 0, _node(request)))

    async def lineage(request: Request) -> Response:
        graph, unavailable = await view.lineage(request.path_params["flowfile_uuid"], _node(request))
        return _listing(graph, unavailable)

    def from_node(name: str, op: str, args: Callable[[Request], dict[str, Any]]) -> Handler:
        """This node's handler, or with ``?node=`` another node's content or records through this one."""
        async def call(request: Request) -> Response:
            node = _node(request)
            if node is None or node == view.node_id:
                return await base[name](request)
            if op.endswith("_preview"):
                table = await view.preview(node, op, {**args(request), "rows": _rows(request)})
                return JSONResponse(table, headers={"Cache-Control": "no-store"})
            return _streamed(request, *await view.content(node, op, args(request)))
        return call

    def queued(request: Request) -> dict[str, Any]:
        return {"connectionId": request.path_params["connection_id"], "uuid": request.path_params["flowfile_uuid"]}

    def recorded(request: Request) -> dict[str, Any]:
        return {"eventId": _int(request.path_params["event_id"], "event id") or 0,
                "direction": request.path_params["direction"]}

    def here_only(name: str, what: str) -> Handler:
        async def call(request: Request) -> Response:
            view.local_only(_node(request), what)
            return await base[name](request)
        return call

    handlers: dict[str, Handler] = {
        "cluster": overview, "cluster_disconnect": disconnect, "cluster_connect": connect,
        "cluster_offload": offload, "cluster_remove": remove, "status": status, "status_stream": status_stream,
        "component_statistics": component_statistics, "group_statistics": group_statistics,
        "status_history": status_history, "bulletins": bulletins, "list_queue": list_queue,
        "provenance_search": provenance_search, "provenance_event": provenance_event, "lineage": lineage,
        "flowfile_content": from_node("flowfile_content", "queued_content", queued),
        "flowfile_records": from_node("flowfile_records", "queued_preview", queued),
        "provenance_content": from_node("provenance_content", "provenance_content", recorded),
        "provenance_records": from_node("provenance_records", "provenance_preview", recorded),
        "replay": here_only("replay", "this event"),
    }
    return {name: _mapped(handler) for name, handler in handlers.items()}
