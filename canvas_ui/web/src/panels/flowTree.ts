// Lookups over the flow document (pure functions): groups, their ancestors, the
// controller services a group can use, and display names for component ids.
import type { ControllerService, FlowDocument, ProcessGroup } from "../api";

/** The group with this id, anywhere under `root`. */
export function findGroup(root: ProcessGroup, id: string): ProcessGroup | null {
  if (root.identifier === id) return root;
  for (const child of root.processGroups) {
    const found = findGroup(child, id);
    if (found) return found;
  }
  return null;
}

/** The groups from the root down to (and including) `id`; empty when unknown. */
export function groupPath(root: ProcessGroup, id: string): ProcessGroup[] {
  if (root.identifier === id) return [root];
  for (const child of root.processGroups) {
    const path = groupPath(child, id);
    if (path.length) return [root, ...path];
  }
  return [];
}

/** Services visible from a group: its own first, then each ancestor's (NiFi's scoping rule). */
export function servicesInScope(flow: FlowDocument, groupId: string): { group: ProcessGroup; service: ControllerService }[] {
  const path = groupPath(flow.rootGroup, groupId);
  const result: { group: ProcessGroup; service: ControllerService }[] = [];
  for (const group of [...path].reverse()) {
    for (const service of group.controllerServices) result.push({ group, service });
  }
  return result;
}

export type AnyComponent = { identifier: string; name?: string; label?: string; type?: string };

/** Every component of the flow by id, with the group it lives in and a kind label. */
export function componentIndex(flow: FlowDocument | null): Map<string, { component: AnyComponent; group: ProcessGroup; kind: string }> {
  const index = new Map<string, { component: AnyComponent; group: ProcessGroup; kind: string }>();
  if (!flow) return index;
  const visit = (group: ProcessGroup) => {
    const add = (list: AnyComponent[], kind: string) => {
      for (const component of list) index.set(component.identifier, { component, group, kind });
    };
    add(group.processors, "processor");
    add(group.connections, "connection");
    add(group.funnels, "funnel");
    add(group.inputPorts, "input-port");
    add(group.outputPorts, "output-port");
    add(group.labels, "label");
    add(group.controllerServices, "controller-service");
    for (const child of group.processGroups) {
      index.set(child.identifier, { component: child, group, kind: "process-group" });
      visit(child);
    }
  };
  index.set(flow.rootGroup.identifier, { component: flow.rootGroup, group: flow.rootGroup, kind: "process-group" });
  visit(flow.rootGroup);
  return index;
}

/** A readable name for a component id (its name, else its type, else the id itself). */
export function componentName(index: ReturnType<typeof componentIndex>, id: string): string {
  const entry = index.get(id);
  if (!entry) return id;
  const c = entry.component;
  if (entry.kind === "funnel") return "Funnel";
  if (entry.kind === "connection") {
    const conn = c as unknown as { name: string; source: { id: string }; destination: { id: string } };
    if (conn.name) return conn.name;
    return `${componentName(index, conn.source.id)} → ${componentName(index, conn.destination.id)}`;
  }
  return c.name || c.label || c.type || id;
}
