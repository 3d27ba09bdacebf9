// Where the canvas is, as an address: the process group on screen in the path and
// the open side panel in the query, so a reload keeps the place, Back and Forward
// move between groups and panels, and a link can point at either.
//
//   /                                   the root group
//   /process-groups/<groupId>           a group inside it
//   ?configure=<id>[&kind=<kind>]       configure a component (kind: processor unless named)
//   ?queue=<connectionId>               a connection's queue     ?preview=<connectionId>   its data preview
//   ?panel=provenance[&component=<id>][&flowfile=<uuid>]        ?lineage=<flowfileUuid>
//   ?history=<componentId>              status history           ?panel=services[&group=<groupId>]
//   ?panel=parameters                   ?panel=bulletins            ?panel=flow-history
//   ?panel=cluster                      the cluster's nodes
//
// The older `#panel=…` links (the side panel's first deep links) are still read.
// Pure functions: no React, no history calls.
import type { Kind } from "./api";
import type { Panel } from "./store";

const GROUP_PATH = "/process-groups/";

const KINDS: Kind[] = ["processor", "connection", "funnel", "input-port", "output-port", "label", "controller-service",
  "process-group", "parameter-context"];

/** A place in the canvas: the group (null: the root) and the open panel. */
export interface Place {
  groupId: string | null;
  panel: Panel;
}

interface Where { pathname: string; search: string; hash: string }

/** The group a path names: null for the root (`/`, `/login`, anything unknown), else its id. */
export function groupFromPath(pathname: string): string | null {
  if (!pathname.startsWith(GROUP_PATH)) return null;
  const rest = pathname.slice(GROUP_PATH.length).replace(/\/+$/, "");
  if (!rest || rest.includes("/")) return null;
  try {
    return decodeURIComponent(rest);
  } catch {
    return null;
  }
}

/** The panel a query names (undefined when it names none). */
export function panelFromQuery(search: string): Panel | undefined {
  const q = new URLSearchParams(search);
  const get = (name: string) => q.get(name) ?? "";
  if (get("configure")) {
    const kind = (get("kind") || "processor") as Kind;
    return KINDS.includes(kind) ? { kind: "configure", componentKind: kind, id: get("configure") } : undefined;
  }
  if (get("queue")) return { kind: "queue", connectionId: get("queue") };
  if (get("preview")) return { kind: "preview", connectionId: get("preview") };
  if (get("lineage")) return { kind: "lineage", flowfileUuid: get("lineage") };
  if (get("history")) return { kind: "history", componentId: get("history") };
  switch (get("panel")) {
    case "provenance":
      return { kind: "provenance", componentId: get("component") || undefined, flowfileUuid: get("flowfile") || undefined };
    case "services":
      return { kind: "services", groupId: get("group") };
    case "parameters":
      return { kind: "parameters" };
    case "bulletins":
      return { kind: "bulletins" };
    case "flow-history":
      return { kind: "flow-history" };
    case "cluster":
      return { kind: "cluster" };
    default:
      return undefined;
  }
}

/** The query for a panel ("" for none). */
export function queryForPanel(panel: Panel, groupId: string | null = null): string {
  if (!panel) return "";
  const q = new URLSearchParams();
  switch (panel.kind) {
    case "configure":
      q.set("configure", panel.id);
      if (panel.componentKind !== "processor") q.set("kind", panel.componentKind);
      break;
    case "queue":
    case "preview":
      q.set(panel.kind, panel.connectionId);
      break;
    case "lineage":
      q.set("lineage", panel.flowfileUuid);
      break;
    case "history":
      q.set("history", panel.componentId);
      break;
    case "provenance":
      q.set("panel", "provenance");
      if (panel.componentId) q.set("component", panel.componentId);
      if (panel.flowfileUuid) q.set("flowfile", panel.flowfileUuid);
      break;
    case "services":
      q.set("panel", "services");
      if (panel.groupId && panel.groupId !== groupId) q.set("group", panel.groupId);
      break;
    default:
      q.set("panel", panel.kind);
  }
  return `?${q.toString()}`;
}

/** The panel an old `#panel=…` link names (undefined when the hash is not one). */
export function panelFromLegacyHash(hash: string): Panel | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const get = (name: string) => params.get(name) ?? "";
  const kind = get("panel");
  switch (kind) {
    case "configure": {
      const componentKind = (get("componentKind") || "processor") as Kind;
      return KINDS.includes(componentKind) && get("id") ? { kind, componentKind, id: get("id") } : undefined;
    }
    case "queue":
    case "preview":
      return get("connectionId") ? { kind, connectionId: get("connectionId") } : undefined;
    case "provenance":
      return { kind, componentId: get("componentId") || undefined, flowfileUuid: get("flowfileUuid") || undefined };
    case "lineage":
      return get("flowfileUuid") ? { kind, flowfileUuid: get("flowfileUuid") } : undefined;
    case "services":
      return { kind, groupId: get("groupId") };
    case "parameters":
    case "bulletins":
      return { kind };
    case "history":
      return get("componentId") ? { kind, componentId: get("componentId") } : undefined;
    default:
      return undefined;
  }
}

/** The place an address names. */
export function placeFromLocation(where: Where): Place {
  const groupId = groupFromPath(where.pathname);
  const panel = panelFromQuery(where.search) ?? panelFromLegacyHash(where.hash) ?? null;
  return { groupId, panel };
}

/** The address (path and query) of a place; the root group is `/`. */
export function urlForPlace(groupId: string, rootId: string, panel: Panel): string {
  const path = !groupId || groupId === rootId ? "/" : `${GROUP_PATH}${encodeURIComponent(groupId)}`;
  return path + queryForPanel(panel, groupId);
}

/** A stable text for a panel, to tell whether two differ. */
export function panelKey(panel: Panel): string {
  return panel ? JSON.stringify(Object.entries(panel).filter(([, v]) => v !== undefined && v !== "").sort()) : "";
}
