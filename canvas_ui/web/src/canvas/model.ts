// Pure helpers over the flow document: finding groups and components, the
// relationships a processor offers, and the search index.
import type { Connection, FlowDocument, Kind, ProcessGroup, Processor, ProcessorType } from "../api";

/** Node kinds drawn on the canvas (connections are edges). */
export type NodeKind = "processor" | "input-port" | "output-port" | "funnel" | "process-group" | "label";

export const GROUP_LISTS: [NodeKind | "connection", keyof ProcessGroup][] = [
  ["processor", "processors"], ["input-port", "inputPorts"], ["output-port", "outputPorts"],
  ["funnel", "funnels"], ["label", "labels"], ["process-group", "processGroups"], ["connection", "connections"],
];

export function findGroup(root: ProcessGroup, id: string): ProcessGroup | null {
  if (root.identifier === id) return root;
  for (const child of root.processGroups) {
    const found = findGroup(child, id);
    if (found) return found;
  }
  return null;
}

/** The groups from the root down to `id` (empty when unknown). */
export function groupPath(root: ProcessGroup, id: string): ProcessGroup[] {
  if (root.identifier === id) return [root];
  for (const child of root.processGroups) {
    const path = groupPath(child, id);
    if (path.length) return [root, ...path];
  }
  return [];
}

export interface Located {
  kind: NodeKind | "connection";
  id: string;
  group: ProcessGroup;
  component: Record<string, unknown>;
}

/** Every component of the flow with its kind and the group that holds it. */
export function* walkComponents(group: ProcessGroup): Generator<Located> {
  for (const [kind, list] of GROUP_LISTS) {
    for (const component of group[list] as unknown as Record<string, unknown>[]) {
      yield { kind, id: String(component.identifier), group, component };
    }
  }
  for (const child of group.processGroups) yield* walkComponents(child);
}

export function locate(flow: FlowDocument, id: string): Located | null {
  for (const located of walkComponents(flow.rootGroup)) if (located.id === id) return located;
  return null;
}

/** What a component is called on the canvas. */
export function displayName(kind: NodeKind | "connection", component: Record<string, unknown>): string {
  if (kind === "label") return String(component.label || "Label");
  if (kind === "funnel") return "Funnel";
  if (kind === "connection") {
    const c = component as unknown as Connection;
    return c.name || c.selectedRelationships.join(", ") || "connection";
  }
  return String(component.name || component.type || kind);
}

/** What a connection is called in a sentence: `'success' from Gen to Log` (ports inside a
 *  child group are named with their group: `port 'out' of Billing`). */
export function connectionLabel(flow: FlowDocument, conn: Connection): string {
  const home = locate(flow, conn.identifier)?.group.identifier ?? conn.parentGroupId ?? null;
  const end = (id: string) => {
    const found = locate(flow, id);
    if (!found) return id;
    const name = displayName(found.kind, found.component);
    if (found.kind === "input-port" || found.kind === "output-port") {
      const owner = home && found.group.identifier !== home ? ` of ${found.group.name}` : "";
      return `port '${name}'${owner}`;
    }
    return found.kind === "funnel" ? "a funnel" : `'${name}'`;
  };
  const called = conn.name || conn.selectedRelationships.join(", ");
  return `${called ? `'${called}' ` : ""}from ${end(conn.source.id)} to ${end(conn.destination.id)}`;
}

/** "processor 'Gen'", "process group 'Billing'", "a funnel", "label 'Notes'" for sentences. */
export function componentLabel(kind: NodeKind | "connection", component: Record<string, unknown>): string {
  if (kind === "funnel") return "a funnel";
  const words: Record<string, string> = {
    processor: "processor", "input-port": "input port", "output-port": "output port", "process-group": "process group",
    label: "label", connection: "connection",
  };
  const name = displayName(kind, component);
  return `${words[kind]} '${name.length > 40 ? `${name.slice(0, 40)}…` : name}'`;
}

/** The spec of a type, by name (a NiFi class name matches on its last part). */
export function findSpec(types: ProcessorType[], type: string): ProcessorType | undefined {
  return types.find((t) => t.type === type) ?? types.find((t) => t.type === type.split(".").pop());
}

/** The relationships a processor offers: its type's, plus dynamic ones named by
 *  its dynamic properties (names that are no property key: the server stores keys
 *  only) when the type declares dynamic relationships. */
export function relationshipsOf(processor: Processor, types: ProcessorType[]): string[] {
  const spec = findSpec(types, processor.type);
  const names = (spec?.relationships ?? []).map((r) => r.name);
  if (spec && spec.dynamic_relationships) {
    const keys = new Set(spec.properties.map((p) => p.key));
    for (const name of Object.keys(processor.properties)) if (!keys.has(name) && !names.includes(name)) names.push(name);
  }
  return names;
}

export interface SearchHit {
  id: string;
  kind: NodeKind | "connection";
  name: string;
  groupId: string;
  groupName: string;
  /** Where the query matched: "name", "type", "id" or "property <key>". */
  match: string;
}

/** Components whose name, type, id or property values contain `query` (case-insensitive). */
export function searchFlow(flow: FlowDocument, query: string, limit = 50): SearchHit[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const hits: SearchHit[] = [];
  const has = (value: unknown) => typeof value === "string" && value.toLowerCase().includes(q);
  for (const { kind, id, group, component } of walkComponents(flow.rootGroup)) {
    let match = "";
    const name = displayName(kind, component);
    if (has(name)) match = "name";
    else if (has(component.type)) match = "type";
    else if (has(id)) match = "id";
    else if (component.properties && typeof component.properties === "object") {
      for (const [key, value] of Object.entries(component.properties as Record<string, unknown>)) {
        if (has(value) || has(key)) { match = `property ${key}`; break; }
      }
    }
    if (!match && kind === "connection") {
      if ((component as unknown as Connection).selectedRelationships.some(has)) match = "relationship";
    }
    if (match) hits.push({ id, kind, name, groupId: group.identifier, groupName: group.name, match });
    if (hits.length >= limit) break;
  }
  return hits;
}

/** The API kind of a node kind (they are the same words). */
export function apiKind(kind: NodeKind | "connection"): Kind {
  return kind;
}
