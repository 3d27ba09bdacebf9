// Copy and paste of canvas components as JSON. Copy takes the selected
// components of a group (and the connections between them); paste creates new
// components through the API (new ids) in one edit, re-wires the copied
// connections and returns the new ids.
import type { XYPosition } from "@xyflow/react";
import { SIZES } from "./build";
import type { NodeKind } from "./model";
import {
  api, type Connection, type EditItem, type Kind, type FlowDocument, type Funnel, type Label, type ParameterContext, type Port,
  type ProcessGroup, type Processor,
} from "../api";

export const CLIPBOARD_TAG = "flowyard/canvas-selection";

export interface ClipboardData {
  format: typeof CLIPBOARD_TAG;
  version: 1;
  /** The group copied from. */
  groupId: string;
  processors: Processor[];
  inputPorts: Port[];
  outputPorts: Port[];
  funnels: Funnel[];
  labels: Label[];
  processGroups: ProcessGroup[];
  connections: Connection[];
  parameterContexts: ParameterContext[];
}

const LIVE_FIELDS = ["identifier", "revision", "runState", "validationErrors", "parentGroupId", "queuedCount",
  "queuedBytes", "runningCount", "stoppedCount", "invalidCount", "disabledCount"];

function strip<T extends object>(component: T): Record<string, unknown> {
  const copy = { ...component } as Record<string, unknown>;
  for (const field of LIVE_FIELDS) delete copy[field];
  return copy;
}

function contextsUsed(flow: FlowDocument, groups: ProcessGroup[]): ParameterContext[] {
  const ids = new Set<string>();
  const visit = (g: ProcessGroup) => {
    if (g.parameterContext) ids.add(g.parameterContext.id);
    g.processGroups.forEach(visit);
  };
  groups.forEach(visit);
  return flow.parameterContexts.filter((c) => ids.has(c.identifier));
}

/** The selected components of `group` as clipboard data (null when nothing copyable is selected). */
export function copySelection(flow: FlowDocument, group: ProcessGroup, ids: Set<string>): ClipboardData | null {
  const pick = <T extends { identifier: string }>(list: T[]) => list.filter((c) => ids.has(c.identifier));
  const data: ClipboardData = {
    format: CLIPBOARD_TAG, version: 1, groupId: group.identifier,
    processors: pick(group.processors), inputPorts: pick(group.inputPorts), outputPorts: pick(group.outputPorts),
    funnels: pick(group.funnels), labels: pick(group.labels), processGroups: pick(group.processGroups),
    connections: [], parameterContexts: [],
  };
  const copied = new Set<string>();
  for (const list of [data.processors, data.inputPorts, data.outputPorts, data.funnels]) {
    for (const c of list) copied.add(c.identifier);
  }
  for (const g of data.processGroups) for (const p of [...g.inputPorts, ...g.outputPorts]) copied.add(p.identifier);
  data.connections = group.connections.filter((c) => copied.has(c.source.id) && copied.has(c.destination.id));
  data.parameterContexts = contextsUsed(flow, data.processGroups);
  const count = copied.size + data.labels.length;
  return count ? data : null;
}

export function parseClipboard(text: string): ClipboardData | null {
  try {
    const data = JSON.parse(text) as Partial<ClipboardData>;
    return data && data.format === CLIPBOARD_TAG ? data as ClipboardData : null;
  } catch {
    return null;
  }
}

/** The box around the clipboard's components, their sizes included. */
export function clipboardBounds(data: ClipboardData): { x: number; y: number; x2: number; y2: number } {
  const boxes: { p: XYPosition; w: number; h: number }[] = [
    ...data.processors.map((c) => ({ p: c.position, ...size("processor") })),
    ...data.inputPorts.map((c) => ({ p: c.position, ...size("input-port") })),
    ...data.outputPorts.map((c) => ({ p: c.position, ...size("output-port") })),
    ...data.funnels.map((c) => ({ p: c.position, ...size("funnel") })),
    ...data.processGroups.map((c) => ({ p: c.position, ...size("process-group") })),
    ...data.labels.map((c) => ({ p: c.position, w: c.width || 240, h: c.height || 120 })),
  ];
  const tl = topLeft(data);
  return {
    ...tl, x2: Math.max(tl.x, ...boxes.map((b) => b.p.x + b.w)), y2: Math.max(tl.y, ...boxes.map((b) => b.p.y + b.h)),
  };
}

const size = (kind: Exclude<NodeKind, "label">) => ({ w: SIZES[kind].width, h: SIZES[kind].height });

function topLeft(data: ClipboardData): XYPosition {
  const points: XYPosition[] = [
    ...data.processors, ...data.inputPorts, ...data.outputPorts, ...data.funnels, ...data.labels, ...data.processGroups,
  ].map((c) => c.position);
  if (!points.length) return { x: 0, y: 0 };
  return { x: Math.min(...points.map((p) => p.x)), y: Math.min(...points.map((p) => p.y)) };
}

/** A fresh component id: a random UUID (crypto.randomUUID exists in secure contexts only). */
export function newId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; // version 4
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Create copies of the clipboard's components in `groupId`, their top-left corner at `at`;
 *  the new ids. Labels, processors, funnels, ports and connections are ONE edit (one undo
 *  step, one history entry "Paste N components"): the copies get their ids here, so the
 *  copied connections can name their new ends in the same edit. Whole process groups are
 *  imported first, one import each (an import gives every component inside a new id and
 *  brings the parameter contexts they use), so they are an undo step each. */
export async function pasteInto(groupId: string, data: ClipboardData, at: XYPosition): Promise<string[]> {
  const origin = topLeft(data);
  const offset = { x: at.x - origin.x, y: at.y - origin.y };
  const move = (p: XYPosition) => ({ x: Math.round(p.x + offset.x), y: Math.round(p.y + offset.y) });
  const newIds = new Map<string, string>();
  const created: string[] = [];
  for (const g of data.processGroups) {
    const flow = { flowyardFlowVersion: 1, parameterContexts: data.parameterContexts, rootGroup: g };
    const result = await api.importGroup(groupId, flow, move(g.position));
    newIds.set(g.identifier, result.identifier);
    created.push(result.identifier);
    // Imported ports keep their order: map the old port ids to the new ones.
    g.inputPorts.forEach((p, i) => result.inputPorts[i] && newIds.set(p.identifier, result.inputPorts[i].identifier));
    g.outputPorts.forEach((p, i) => result.outputPorts[i] && newIds.set(p.identifier, result.outputPorts[i].identifier));
  }
  const items: EditItem[] = [];
  const add = (kind: Kind, old: { identifier: string }, body: Record<string, unknown>) => {
    const identifier = newId();
    newIds.set(old.identifier, identifier);
    created.push(identifier);
    items.push({ action: "create", kind, data: { ...body, identifier, parentGroupId: groupId } });
  };
  for (const l of data.labels) add("label", l, { ...strip(l), position: move(l.position) });
  for (const p of data.processors) {
    const properties: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(p.properties)) if (v !== "********") properties[k] = v;
    add("processor", p, { ...strip(p), properties, scheduledState: "STOPPED", position: move(p.position) });
  }
  for (const f of data.funnels) add("funnel", f, { ...strip(f), position: move(f.position) });
  for (const p of data.inputPorts) add("input-port", p, { ...strip(p), scheduledState: "STOPPED", position: move(p.position) });
  for (const p of data.outputPorts) add("output-port", p, { ...strip(p), scheduledState: "STOPPED", position: move(p.position) });
  for (const c of data.connections) {
    const source = newIds.get(c.source.id);
    const destination = newIds.get(c.destination.id);
    if (!source || !destination) continue;
    add("connection", c, {
      ...strip(c), source: { id: source }, destination: { id: destination }, bends: (c.bends ?? []).map(move),
    });
  }
  if (items.length) await api.edits(`Paste ${items.length} component${items.length === 1 ? "" : "s"}`, items);
  return created;
}
