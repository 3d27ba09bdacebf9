// The React Flow nodes and edges of one process group, built from the flow
// document. Unchanged components keep their node object (same identity), so a
// reload of the flow only re-renders what changed.
import { Position, type Edge, type Node, type NodeHandle } from "@xyflow/react";
import type { Connection, Funnel, Label, Port, ProcessGroup, Processor } from "../api";
import type { NodeKind } from "./model";

/** The snap grid, in flow pixels. */
export const GRID = 16;

export const SIZES: Record<Exclude<NodeKind, "label">, { width: number; height: number }> = {
  processor: { width: 224, height: 136 },
  "input-port": { width: 192, height: 44 },
  "output-port": { width: 192, height: 44 },
  funnel: { width: 48, height: 48 },
  "process-group": { width: 256, height: 128 },
};

/** What a process-group node shows of its group (not the whole nested document). */
export interface GroupSummary {
  identifier: string; name: string; comments: string; revision: number;
  runningCount: number; stoppedCount: number; invalidCount: number; disabledCount: number;
  queuedCount: number; queuedBytes: number; inputPorts: number; outputPorts: number;
  parameterContext: string | null;
  executionEngine: string;
}

export type NodeDoc = Processor | Port | Funnel | Label | GroupSummary;

export interface NodeData extends Record<string, unknown> {
  kind: NodeKind;
  doc: NodeDoc;
  sig: string;
}

export interface EdgeData extends Record<string, unknown> {
  conn: Connection;
  /** Port names when an end is a port inside a child group. */
  fromPort: string | null;
  toPort: string | null;
  /** Index among the connections between the same two nodes, and their number. */
  parallel: number;
  parallelCount: number;
  sig: string;
}

export type FlowNode = Node<NodeData>;

/** Where a node's two handles are (canvas.css: the target 10 px at left -6 px, the
 *  source 18 px at right -10 px, both centred vertically), so React Flow knows them
 *  before the node is ever drawn: with `onlyRenderVisibleElements` it otherwise draws
 *  every node once to measure it, however far out of view. A drawn node is measured. */
function handlesOf(kind: NodeKind, width: number, height: number): NodeHandle[] {
  if (kind === "label") return [];
  return [
    { type: "target", position: Position.Left, x: -6, y: height / 2 - 5, width: 10, height: 10, id: null },
    { type: "source", position: Position.Right, x: width - 8, y: height / 2 - 9, width: 18, height: 18, id: null },
  ];
}
export type QueueEdge = Edge<EdgeData, "queue">;

function summary(g: ProcessGroup): GroupSummary {
  return {
    identifier: g.identifier, name: g.name, comments: g.comments, revision: g.revision,
    runningCount: g.runningCount, stoppedCount: g.stoppedCount, invalidCount: g.invalidCount,
    disabledCount: g.disabledCount, queuedCount: g.queuedCount, queuedBytes: g.queuedBytes,
    inputPorts: g.inputPorts.length, outputPorts: g.outputPorts.length,
    parameterContext: g.parameterContext?.id ?? null,
    executionEngine: g.executionEngine ?? "INHERITED",
  };
}

function entries(group: ProcessGroup): [NodeKind, NodeDoc, { x: number; y: number }][] {
  const out: [NodeKind, NodeDoc, { x: number; y: number }][] = [];
  for (const l of group.labels) out.push(["label", l, l.position]);
  for (const g of group.processGroups) out.push(["process-group", summary(g), g.position]);
  for (const p of group.processors) out.push(["processor", p, p.position]);
  for (const p of group.inputPorts) out.push(["input-port", p, p.position]);
  for (const p of group.outputPorts) out.push(["output-port", p, p.position]);
  for (const f of group.funnels) out.push(["funnel", f, f.position]);
  return out;
}

/** How many nodes the canvas of `group` has. */
export function nodeCountOf(group: ProcessGroup): number {
  return group.labels.length + group.processGroups.length + group.processors.length + group.inputPorts.length
    + group.outputPorts.length + group.funnels.length;
}

export function buildNodes(group: ProcessGroup, previous: FlowNode[]): FlowNode[] {
  const before = new Map(previous.map((n) => [n.id, n]));
  return entries(group).map(([kind, doc, position]) => {
    const id = doc.identifier;
    const sig = JSON.stringify([kind, doc]);
    const prev = before.get(id);
    const pos = prev?.dragging ? prev.position : { x: position.x, y: position.y };
    if (prev && prev.data.sig === sig && prev.position.x === pos.x && prev.position.y === pos.y) return prev;
    const size = kind === "label"
      ? { width: (doc as Label).width || 150, height: (doc as Label).height || 150 }
      : SIZES[kind];
    const node: FlowNode = {
      id, type: kind, position: pos, data: { kind, doc, sig }, ...size,
      handles: handlesOf(kind, size.width, size.height),
      // Its known size until it is drawn and measured (so fitView need not wait for nodes out of view).
      measured: prev?.measured ?? { ...size },
      selected: prev?.selected ?? false,
      zIndex: kind === "label" ? -1 : undefined,
      connectable: kind !== "label",
      className: `fy-node-${kind}`,
    };
    return node;
  });
}

export function buildEdges(group: ProcessGroup, previous: QueueEdge[]): QueueEdge[] {
  const before = new Map(previous.map((e) => [e.id, e]));
  const local = new Set<string>();
  for (const [, doc] of entries(group)) local.add(doc.identifier);
  const portOwner = new Map<string, { group: string; name: string }>();
  for (const child of group.processGroups) {
    for (const port of [...child.inputPorts, ...child.outputPorts]) {
      portOwner.set(port.identifier, { group: child.identifier, name: port.name });
    }
  }
  const end = (id: string) => (local.has(id) ? id : portOwner.get(id)?.group ?? id);
  const pairCount = new Map<string, number>();
  const pairKey = (a: string, b: string) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);
  for (const c of group.connections) {
    const key = pairKey(end(c.source.id), end(c.destination.id));
    pairCount.set(key, (pairCount.get(key) ?? 0) + 1);
  }
  const pairSeen = new Map<string, number>();
  return group.connections.map((conn) => {
    const source = end(conn.source.id);
    const target = end(conn.destination.id);
    const key = pairKey(source, target);
    const parallel = pairSeen.get(key) ?? 0;
    pairSeen.set(key, parallel + 1);
    const base = {
      conn,
      fromPort: source !== conn.source.id ? portOwner.get(conn.source.id)?.name ?? null : null,
      toPort: target !== conn.destination.id ? portOwner.get(conn.destination.id)?.name ?? null : null,
      parallel, parallelCount: pairCount.get(key) ?? 1,
    };
    const sig = JSON.stringify(base);
    const data: EdgeData = { ...base, sig };
    const prev = before.get(conn.identifier);
    if (prev && prev.data?.sig === sig && prev.source === source && prev.target === target) return prev;
    return {
      id: conn.identifier, type: "queue", source, target, data,
      selected: prev?.selected ?? false, className: prev?.className,
    } satisfies QueueEdge;
  });
}
