// The overview of a large group: every node and connection drawn on one 2D canvas,
// for when the whole of a big flow is in view (React Flow would mount a DOM node per
// component). Pure over its inputs: the scene is built from React Flow's nodes and
// edges, drawn for a viewport, and hit-tested in flow coordinates. Overview.tsx owns
// the <canvas> and decides when to redraw.
import type { InternalNode, XYPosition } from "@xyflow/react";
import type { Connection, Label, Port, Processor, StatusEntry } from "../api";
import type { FlowNode, QueueEdge } from "./build";
import { parseDataSize, pressureLevel, ratioOf, type Level } from "./format";
import type { NodeKind } from "./model";
import { displayState, type DisplayState } from "./nodes";
import { num } from "./statusStore";

export interface OverviewNode {
  id: string; kind: NodeKind; x: number; y: number; w: number; h: number;
  name: string; doc: FlowNode["data"]["doc"]; selected: boolean;
}

export interface OverviewEdge {
  id: string; conn: Connection; source: OverviewNode; target: OverviewNode; selected: boolean;
  /** The back-pressure size threshold in bytes (0: none), parsed once. */
  sizeLimit: number;
}

export interface Scene { nodes: OverviewNode[]; edges: OverviewEdge[] }

export interface View { x: number; y: number; zoom: number }

/** The colours of the theme, read from the page's CSS variables. */
export interface Colours {
  surface: string; border: string; text: string; edge: string; warn: string; bad: string; accent: string;
  group: string; other: string; label: string;
  state: Record<DisplayState, string>;
}

/** What a drawing showed, for the canvas's accessible name and the tests. */
export interface Drawn {
  processors: number; states: Record<DisplayState, number>;
  connections: number; full: number;
  /** How many nodes and connections had a live status entry. */
  live: number;
}

export const STATES: DisplayState[] = ["RUNNING", "STOPPED", "INVALID", "DISABLED"];

export function readColours(el: Element): Colours {
  const style = getComputedStyle(el);
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    surface: v("--surface", "#ffffff"), border: v("--border", "#d9dde3"), text: v("--text", "#1d2330"),
    edge: v("--fy-edge", "#8792a2"), warn: v("--warn", "#d97706"), bad: v("--bad", "#dc2626"),
    accent: v("--accent", "#2563eb"), group: v("--fy-minimap-group", "#93a4bd"),
    other: v("--fy-minimap-other", "#b5bfcc"), label: v("--fy-minimap-label", "#f3e3a1"),
    state: {
      RUNNING: v("--running", "#16a34a"), STOPPED: v("--stopped", "#b91c1c"),
      INVALID: v("--invalid", "#d97706"), DISABLED: v("--disabled", "#9ca3af"),
    },
  };
}

function nameOf(kind: NodeKind, doc: FlowNode["data"]["doc"]): string {
  if (kind === "funnel") return "Funnel";
  if (kind === "label") return (doc as Label).label || "Label";
  const named = doc as { name?: string; type?: string };
  return named.name || named.type || kind;
}

/** The scene of React Flow's current nodes and edges (positions as React Flow has them). */
export function buildScene(lookup: Map<string, InternalNode<FlowNode>>, edges: QueueEdge[]): Scene {
  const nodes: OverviewNode[] = [];
  const byId = new Map<string, OverviewNode>();
  // Notes first: they lie under everything else.
  for (const pass of [true, false]) {
    for (const n of lookup.values()) {
      if ((n.data.kind === "label") !== pass) continue;
      const { x, y } = n.internals.positionAbsolute;
      const node: OverviewNode = {
        id: n.id, kind: n.data.kind, x, y,
        w: n.measured?.width ?? n.width ?? 0, h: n.measured?.height ?? n.height ?? 0,
        name: nameOf(n.data.kind, n.data.doc), doc: n.data.doc, selected: !!n.selected,
      };
      nodes.push(node);
      byId.set(n.id, node);
    }
  }
  const out: OverviewEdge[] = [];
  for (const e of edges) {
    const source = byId.get(e.source);
    const target = byId.get(e.target);
    if (!source || !target || !e.data) continue;
    const conn = e.data.conn;
    out.push({ id: e.id, conn, source, target, selected: !!e.selected, sizeLimit: parseDataSize(conn.backPressureDataSizeThreshold) });
  }
  return { nodes, edges: out };
}

/** A node's state colour key, or null for kinds that have none (groups, funnels, notes). */
export function stateOf(node: OverviewNode, entry: StatusEntry | undefined): DisplayState | null {
  if (node.kind === "processor") {
    const p = node.doc as Processor;
    return displayState(entry, p.runState, p.validationErrors.length === 0);
  }
  if (node.kind === "input-port" || node.kind === "output-port") return displayState(entry, (node.doc as Port).runState, true);
  return null;
}

/** How full a connection's queue is against its back-pressure thresholds (the worse of the two). */
export function queueLevel(conn: Connection, entry: StatusEntry | undefined,
                           sizeLimit = parseDataSize(conn.backPressureDataSizeThreshold)): Level {
  const count = pressureLevel(ratioOf(num(entry, "queuedCount", conn.queuedCount), conn.backPressureObjectThreshold));
  const size = pressureLevel(ratioOf(num(entry, "queuedBytes", conn.queuedBytes), sizeLimit));
  return count === "full" || size === "full" ? "full" : count === "warn" || size === "warn" ? "warn" : "ok";
}

const centre = (n: OverviewNode): XYPosition => ({ x: n.x + n.w / 2, y: n.y + n.h / 2 });

/** Where the ray from `n`'s centre towards `to` leaves its box. */
function border(n: OverviewNode, to: XYPosition): XYPosition {
  const c = centre(n);
  const dx = to.x - c.x;
  const dy = to.y - c.y;
  if (n.kind === "funnel") {
    const len = Math.hypot(dx, dy) || 1;
    return { x: c.x + (dx / len) * (n.w / 2), y: c.y + (dy / len) * (n.w / 2) };
  }
  const scale = Math.min(dx ? n.w / 2 / Math.abs(dx) : Infinity, dy ? n.h / 2 / Math.abs(dy) : Infinity, 1);
  return { x: c.x + dx * scale, y: c.y + dy * scale };
}

/**
 * Draw `scene` for `view` on a canvas of `width` by `height` CSS pixels (`dpr` device pixels
 * each). Connections are lines (red and thicker when full, amber from 60 %, with a dot of that
 * colour in their middle), processors and
 * ports boxes in their state's colour, process groups outlined boxes with their name, notes
 * their colour. Nodes outside the view are skipped; the counts cover the whole scene.
 */
export function drawOverview(ctx: CanvasRenderingContext2D, scene: Scene, view: View, width: number, height: number,
                             dpr: number, colours: Colours, status: (id: string) => StatusEntry | undefined): Drawn {
  const { zoom } = view;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.setTransform(dpr * zoom, 0, 0, dpr * zoom, dpr * view.x, dpr * view.y);
  const px = 1 / zoom; // one CSS pixel in flow units
  // The visible part of the flow, a little grown so lines into the view are kept.
  const left = -view.x / zoom - 40 * px;
  const top = -view.y / zoom - 40 * px;
  const right = left + width / zoom + 80 * px;
  const bottom = top + height / zoom + 80 * px;
  const inView = (n: OverviewNode) => n.x < right && n.x + n.w > left && n.y < bottom && n.y + n.h > top;
  const drawn: Drawn = { processors: 0, states: { RUNNING: 0, STOPPED: 0, INVALID: 0, DISABLED: 0 }, connections: 0, full: 0, live: 0 };

  // Connections, batched into one path per colour.
  const lines: Record<Level | "selected", Path2D> = { ok: new Path2D(), warn: new Path2D(), full: new Path2D(), selected: new Path2D() };
  const heads: Record<Level | "selected", Path2D> = { ok: new Path2D(), warn: new Path2D(), full: new Path2D(), selected: new Path2D() };
  const head = 6 * px;
  // A queue at or past 60 % of a threshold also gets a dot of a fixed size on the screen
  // (drawn over the nodes), so it shows however small its line is.
  const marks: Record<"warn" | "full", Path2D> = { warn: new Path2D(), full: new Path2D() };
  for (const e of scene.edges) {
    const entry = status(e.id);
    if (entry) drawn.live++;
    const level = queueLevel(e.conn, entry, e.sizeLimit);
    drawn.connections++;
    if (level === "full") drawn.full++;
    const { source: s, target: t } = e;
    if (!inView(s) && !inView(t)) {
      // Both ends out of view: the line may still cross it (long connections).
      const x0 = Math.min(s.x, t.x);
      const x1 = Math.max(s.x + s.w, t.x + t.w);
      const y0 = Math.min(s.y, t.y);
      const y1 = Math.max(s.y + s.h, t.y + t.h);
      if (x0 > right || x1 < left || y0 > bottom || y1 < top) continue;
    }
    if (s === t) continue; // a self-loop does not show at this scale
    const key = e.selected ? "selected" : level;
    const bends = e.conn.bends ?? [];
    const start = border(s, bends[0] ?? centre(t));
    const last = bends[bends.length - 1] ?? centre(s);
    const end = border(t, last);
    const path = lines[key];
    path.moveTo(start.x, start.y);
    for (const b of bends) path.lineTo(b.x, b.y);
    path.lineTo(end.x, end.y);
    if (level !== "ok") {
      const r = (level === "full" ? 4.5 : 3) * px;
      const mid = bends.length ? bends[Math.floor((bends.length - 1) / 2)] : { x: (start.x + end.x) / 2, y: (start.y + end.y) / 2 };
      marks[level].moveTo(mid.x + r, mid.y);
      marks[level].arc(mid.x, mid.y, r, 0, Math.PI * 2);
    }
    const dx = end.x - last.x;
    const dy = end.y - last.y;
    const len = Math.hypot(dx, dy);
    if (len * zoom > 14) {
      const ux = dx / len;
      const uy = dy / len;
      const arrow = heads[key];
      arrow.moveTo(end.x, end.y);
      arrow.lineTo(end.x - ux * head - uy * head * 0.5, end.y - uy * head + ux * head * 0.5);
      arrow.lineTo(end.x - ux * head + uy * head * 0.5, end.y - uy * head - ux * head * 0.5);
      arrow.closePath();
    }
  }
  const lineColour: Record<Level | "selected", string> = { ok: colours.edge, warn: colours.warn, full: colours.bad, selected: colours.accent };
  const lineWidth: Record<Level | "selected", number> = { ok: 1, warn: 1.6, full: 2.4, selected: 2 };
  for (const key of ["ok", "warn", "full", "selected"] as const) {
    ctx.strokeStyle = lineColour[key];
    ctx.fillStyle = lineColour[key];
    ctx.lineWidth = lineWidth[key] * px;
    ctx.stroke(lines[key]);
    ctx.fill(heads[key]);
  }

  // Nodes: a surface under every box, then the state colours, batched per colour.
  const under = new Path2D();
  const fills: Record<DisplayState, Path2D> = { RUNNING: new Path2D(), STOPPED: new Path2D(), INVALID: new Path2D(), DISABLED: new Path2D() };
  const groups = new Path2D();
  const others = new Path2D();
  const selected = new Path2D();
  const named: OverviewNode[] = [];
  const pad = 2 * px;
  for (const n of scene.nodes) {
    const entry = status(n.id);
    if (entry) drawn.live++;
    const state = stateOf(n, entry);
    if (n.kind === "processor" && state) {
      drawn.processors++;
      drawn.states[state]++;
    }
    if (!inView(n)) continue;
    if (n.selected) selected.rect(n.x - pad, n.y - pad, n.w + 2 * pad, n.h + 2 * pad);
    if (n.kind === "label") {
      const bg = (n.doc as Label).style?.["background-color"] ?? colours.label;
      ctx.globalAlpha = 0.55;
      ctx.fillStyle = bg;
      ctx.fillRect(n.x, n.y, n.w, n.h);
      ctx.globalAlpha = 1;
      continue;
    }
    if (n.kind === "funnel") {
      others.moveTo(n.x + n.w, n.y + n.h / 2);
      others.arc(n.x + n.w / 2, n.y + n.h / 2, n.w / 2, 0, Math.PI * 2);
      continue;
    }
    under.rect(n.x, n.y, n.w, n.h);
    if (n.kind === "process-group") {
      groups.rect(n.x, n.y, n.w, n.h);
      if (n.w * zoom > 48) named.push(n);
    } else if (state) {
      fills[state].rect(n.x, n.y, n.w, n.h);
    }
  }
  ctx.fillStyle = colours.surface;
  ctx.fill(under);
  ctx.fillStyle = colours.other;
  ctx.fill(others);
  ctx.strokeStyle = colours.group;
  ctx.lineWidth = 1.5 * px;
  ctx.stroke(groups);
  for (const state of STATES) {
    ctx.fillStyle = colours.state[state];
    ctx.globalAlpha = 0.35;
    ctx.fill(fills[state]);
    ctx.globalAlpha = 1;
    ctx.strokeStyle = colours.state[state];
    ctx.lineWidth = Math.max(1.5 * px, 3);
    ctx.stroke(fills[state]);
  }
  ctx.strokeStyle = colours.accent;
  ctx.lineWidth = 2 * px;
  ctx.stroke(selected);
  ctx.strokeStyle = colours.surface;
  ctx.lineWidth = 1 * px;
  for (const level of ["warn", "full"] as const) {
    ctx.fillStyle = level === "full" ? colours.bad : colours.warn;
    ctx.fill(marks[level]);
    ctx.stroke(marks[level]);
  }
  if (named.length) {
    // Group names in screen pixels, so they read at any zoom.
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = colours.text;
    ctx.font = "600 11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (const n of named) {
      ctx.fillText(n.name, view.x + (n.x + 6 * px) * zoom, view.y + (n.y + n.h / 2) * zoom, n.w * zoom - 12);
    }
  }
  return drawn;
}

/** The node at `point` (flow coordinates), or within `slack` flow units of it; notes last. */
export function nodeAt(scene: Scene, point: XYPosition, slack: number): OverviewNode | null {
  let best: OverviewNode | null = null;
  let bestDistance = Infinity;
  for (let i = scene.nodes.length - 1; i >= 0; i--) {
    const n = scene.nodes[i];
    const dx = Math.max(n.x - point.x, 0, point.x - (n.x + n.w));
    const dy = Math.max(n.y - point.y, 0, point.y - (n.y + n.h));
    const distance = Math.hypot(dx, dy);
    if (distance > slack) continue;
    // Inside a component beats near one; a note only when nothing else is there.
    const rank = distance + (n.kind === "label" ? slack + 1 : 0);
    if (rank < bestDistance) {
      best = n;
      bestDistance = rank;
    }
  }
  return best;
}

/** The accessible description of a drawing: "2,000 processors (1,990 running, 10 stopped); 2,000 connections, 3 full". */
export function describe(drawn: Drawn): string {
  const fmt = (v: number) => v.toLocaleString("en");
  const states = STATES.filter((s) => drawn.states[s]).map((s) => `${fmt(drawn.states[s])} ${s.toLowerCase()}`);
  return `Overview: ${fmt(drawn.processors)} processor${drawn.processors === 1 ? "" : "s"}`
    + `${states.length ? ` (${states.join(", ")})` : ""}; ${fmt(drawn.connections)} connection${drawn.connections === 1 ? "" : "s"}`
    + `, ${fmt(drawn.full)} full`;
}
