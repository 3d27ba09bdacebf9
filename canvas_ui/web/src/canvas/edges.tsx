// The connection edge: a straight (or bent, or looping) line between the
// borders of its two nodes, an arrowhead, and a label with the queue, the two
// back-pressure bars and a sparkline. Reads its own status entry, so only the
// edges whose queue changed re-render on a tick. The label sits on the line where it
// covers no node (labelPlace.ts), moved sideways with a short leader when it must.
import {
  memo, useCallback, useLayoutEffect, useRef, useState, type MouseEvent, type PointerEvent as ReactPointerEvent,
} from "react";
import {
  EdgeLabelRenderer, useInternalNode, useReactFlow, useStore, type EdgeProps, type InternalNode, type ReactFlowState,
  type XYPosition,
} from "@xyflow/react";
import type { Connection, StatusEntry } from "../api";
import { nodeLines } from "../cluster";
import type { FlowNode, QueueEdge } from "./build";
import { useCanvasActions } from "./controller";
import { countAndSize, formatBytes, formatCount, formatRate, parseDataSize, pressureLevel, ratioOf, type Level } from "./format";
import { placeLabel, polylineAt, quadraticAt, straightAt, type PathAt, type Rect } from "./labelPlace";
import { Icon } from "./icons";
import { farZoom } from "./nodes";
import { Sparkline } from "./Sparkline";
import { num, useEntry, useEntryValue, useRing } from "./statusStore";

interface Box { x: number; y: number; w: number; h: number; round: boolean }

function box(node: InternalNode<FlowNode>): Box {
  const { x, y } = node.internals.positionAbsolute;
  const w = node.measured?.width ?? node.width ?? 0;
  const h = node.measured?.height ?? node.height ?? 0;
  return { x, y, w, h, round: node.data.kind === "funnel" };
}

const center = (b: Box): XYPosition => ({ x: b.x + b.w / 2, y: b.y + b.h / 2 });

/** Where the ray from the box's centre towards `toward` leaves the box, `gap` px further out. */
function border(b: Box, toward: XYPosition, gap = 0): XYPosition {
  const c = center(b);
  const dx = toward.x - c.x;
  const dy = toward.y - c.y;
  const len = Math.hypot(dx, dy) || 1;
  if (b.round) {
    const r = b.w / 2 + gap;
    return { x: c.x + (dx / len) * r, y: c.y + (dy / len) * r };
  }
  const scale = Math.min(dx ? (b.w / 2) / Math.abs(dx) : Infinity, dy ? (b.h / 2) / Math.abs(dy) : Infinity);
  return { x: c.x + dx * scale + (dx / len) * gap, y: c.y + dy * scale + (dy / len) * gap };
}

/** Where a segment to `point` (a bend) meets the box: straight up, down or
 *  sideways when the bend lies beside the box, so bent connections stay square;
 *  else along the ray from the centre. */
function borderToBend(b: Box, point: XYPosition, gap = 0): XYPosition {
  const inset = Math.min(12, b.w / 4);
  if (!b.round && point.x >= b.x + inset && point.x <= b.x + b.w - inset) {
    if (point.y < b.y) return { x: point.x, y: b.y - gap };
    if (point.y > b.y + b.h) return { x: point.x, y: b.y + b.h + gap };
  }
  if (!b.round && point.y >= b.y + inset && point.y <= b.y + b.h - inset) {
    if (point.x < b.x) return { x: b.x - gap, y: point.y };
    if (point.x > b.x + b.w) return { x: b.x + b.w + gap, y: point.y };
  }
  return border(b, point, gap);
}

interface Geometry {
  path: string; tip: XYPosition; angle: number;
  /** Where along the line the label may go; a self-loop has a fixed place instead (`label`, left-anchored). */
  at: PathAt | null; label: XYPosition;
}

const fmt = (p: XYPosition) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`;

function geometry(s: Box, t: Box, self: boolean, bends: XYPosition[], parallel: number, count: number, reverse: boolean): Geometry {
  if (bends.length) {
    const start = borderToBend(s, bends[0]);
    const end = borderToBend(t, bends[bends.length - 1], 2);
    const points = [start, ...bends, end];
    const last = points[points.length - 2];
    const at = polylineAt(points);
    return {
      path: `M${points.map(fmt).join(" L")}`, at, label: at(0.5).point,
      tip: end, angle: Math.atan2(end.y - last.y, end.x - last.x),
    };
  }
  if (self) {
    // A loop off the right side, larger for each further loop on the same node.
    const reach = 72 + parallel * 40;
    const right = s.x + s.w;
    const cy = s.y + s.h / 2;
    const spread = Math.min(s.h / 2 - 4, 18);
    const start = { x: right, y: cy - spread };
    const end = { x: right + 2, y: cy + spread };
    const c1 = { x: right + reach, y: cy - spread - reach * 0.55 };
    const c2 = { x: right + reach, y: cy + spread + reach * 0.55 };
    return {
      path: `M${fmt(start)} C${fmt(c1)} ${fmt(c2)} ${fmt(end)}`,
      label: { x: right + reach * 0.75 + 10, y: cy }, at: null,
      tip: end, angle: Math.atan2(end.y - c2.y, end.x - c2.x),
    };
  }
  const cs = center(s);
  const ct = center(t);
  if (count > 1) {
    // Connections between the same two nodes bow apart (either direction).
    const a = reverse ? ct : cs;
    const b = reverse ? cs : ct;
    const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
    const normal = { x: -(b.y - a.y) / len, y: (b.x - a.x) / len };
    const offset = (parallel - (count - 1) / 2) * 56;
    const mid = { x: (cs.x + ct.x) / 2 + normal.x * offset * 2, y: (cs.y + ct.y) / 2 + normal.y * offset * 2 };
    const start = border(s, mid);
    const end = border(t, mid, 2);
    return {
      path: `M${fmt(start)} Q${fmt(mid)} ${fmt(end)}`,
      label: { x: (start.x + 2 * mid.x + end.x) / 4, y: (start.y + 2 * mid.y + end.y) / 4 }, at: quadraticAt(start, mid, end),
      tip: end, angle: Math.atan2(end.y - mid.y, end.x - mid.x),
    };
  }
  const start = border(s, ct);
  const end = border(t, cs, 2);
  return {
    path: `M${fmt(start)} L${fmt(end)}`,
    label: { x: (start.x + end.x) / 2, y: (start.y + end.y) / 2 }, at: straightAt(start, end),
    tip: end, angle: Math.atan2(end.y - start.y, end.x - start.x),
  };
}

function arrow(tip: XYPosition, angle: number): string {
  const len = 10;
  const half = 4.5;
  const bx = tip.x - Math.cos(angle) * len;
  const by = tip.y - Math.sin(angle) * len;
  const nx = -Math.sin(angle) * half;
  const ny = Math.cos(angle) * half;
  return `M${fmt(tip)} L${(bx + nx).toFixed(1)},${(by + ny).toFixed(1)} L${(bx - nx).toFixed(1)},${(by - ny).toFixed(1)} Z`;
}

function Bar({ testId, ratio, level, title }: { testId: string; ratio: number; level: Level; title: string }) {
  return (
    <span className="fy-bp" data-testid={testId} data-level={level} title={title}>
      <span className={`fy-bp-fill is-${level}`} style={{ width: `${Math.min(100, ratio * 100).toFixed(1)}%` }} />
    </span>
  );
}

/** A first guess of a label's size, until it is measured. */
const LABEL_GUESS = { w: 140, h: 38 };

/** The boxes of the nodes that reach into `area`, for keeping labels off them. */
function nodeBoxes(s: ReactFlowState, area: Rect): Rect[] {
  const boxes: Rect[] = [];
  for (const n of s.nodeLookup.values()) {
    const { x, y } = n.internals.positionAbsolute;
    const w = n.measured?.width ?? n.width ?? 0;
    const h = n.measured?.height ?? n.height ?? 0;
    if (w && h && x < area.x + area.w && x + w > area.x && y < area.y + area.h && y + h > area.y) boxes.push({ x, y, w, h });
  }
  return boxes;
}

/** The box around both ends and the bends, grown by how far a label may move. */
function reach(a: Box, b: Box, bends: XYPosition[], size: { w: number; h: number }): Rect {
  const xs = [a.x, a.x + a.w, b.x, b.x + b.w, ...bends.map((p) => p.x)];
  const ys = [a.y, a.y + a.h, b.y, b.y + b.h, ...bends.map((p) => p.y)];
  const grow = 130 + Math.max(size.w, size.h);
  const x = Math.min(...xs) - grow;
  const y = Math.min(...ys) - grow;
  return { x, y, w: Math.max(...xs) + grow - x, h: Math.max(...ys) + grow - y };
}

const STRATEGY_NAMES: Record<string, string> = {
  ROUND_ROBIN: "round robin", PARTITION_BY_ATTRIBUTE: "partitioned by attribute", SINGLE_NODE: "to a single node",
};

/** The tooltip of a load-balanced connection's mark ("" when it is not load balanced). */
function balanceTitle(conn: Connection | undefined): string {
  const strategy = conn?.loadBalanceStrategy;
  if (!conn || !strategy || strategy === "DO_NOT_LOAD_BALANCE") return "";
  const attribute = strategy === "PARTITION_BY_ATTRIBUTE" && conn.partitioningAttribute ? ` '${conn.partitioningAttribute}'` : "";
  const compressed = conn.loadBalanceCompression && conn.loadBalanceCompression !== "DO_NOT_COMPRESS"
    ? `; ${conn.loadBalanceCompression === "COMPRESS_ATTRIBUTES_ONLY" ? "attributes" : "attributes and content"} compressed` : "";
  return `Load balanced across the cluster: ${STRATEGY_NAMES[strategy] ?? strategy}${attribute}${compressed}`;
}

/** A connection: zoomed out (and not selected) only its line and arrowhead, re-rendered
 *  when it turns full or empties, not on every tick; else the whole of it, label and all. */
export const QueueEdgeView = memo(function QueueEdgeView(props: EdgeProps<QueueEdge>) {
  const far = useStore(farZoom);
  return far && !props.selected ? <FarEdge {...props} /> : <FullEdge {...props} />;
});

/** Whether a connection's queue has reached one of its back-pressure thresholds. */
function queueFull(conn: Connection | undefined, entry: StatusEntry | undefined): boolean {
  if (!conn) return false;
  const sizeLimit = parseDataSize(conn.backPressureDataSizeThreshold);
  return pressureLevel(ratioOf(num(entry, "queuedCount", conn.queuedCount), conn.backPressureObjectThreshold)) === "full"
    || pressureLevel(ratioOf(num(entry, "queuedBytes", conn.queuedBytes), sizeLimit)) === "full";
}

function FarEdge({ id, source, target, data }: EdgeProps<QueueEdge>) {
  const s = useInternalNode<FlowNode>(source);
  const t = useInternalNode<FlowNode>(target);
  const conn = data?.conn;
  const full = useEntryValue(id, (entry) => queueFull(conn, entry));
  if (!s || !t || !data || !conn) return null;
  const g = geometry(box(s), box(t), source === target, conn.bends ?? [], data.parallel, data.parallelCount, source > target);
  return (
    <>
      <path className="react-flow__edge-interaction" d={g.path} fill="none" stroke="#000" strokeOpacity={0} strokeWidth={20}
            style={{ pointerEvents: "stroke" }} />
      <path className={`react-flow__edge-path fy-edge${full ? " full" : ""}`} d={g.path} fill="none" />
      <path className={`fy-arrow${full ? " full" : ""}`} d={arrow(g.tip, g.angle)} />
    </>
  );
}

function FullEdge({ id, source, target, data, selected }: EdgeProps<QueueEdge>) {
  const s = useInternalNode<FlowNode>(source);
  const t = useInternalNode<FlowNode>(target);
  const entry = useEntry(id);
  const ring = useRing(id);
  const far = useStore(farZoom);
  const actions = useCanvasActions();
  const rf = useReactFlow();
  const [dragged, setDragged] = useState<XYPosition[] | null>(null);
  const labelRef = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState(LABEL_GUESS);
  useLayoutEffect(() => {
    const el = labelRef.current;
    if (el && (Math.abs(el.offsetWidth - size.w) > 1 || Math.abs(el.offsetHeight - size.h) > 1)) {
      setSize({ w: el.offsetWidth, h: el.offsetHeight });
    }
  });
  const conn = data?.conn;
  const balanced = balanceTitle(conn);
  const bends = dragged ?? conn?.bends ?? [];
  const g = s && t && data
    ? geometry(box(s), box(t), source === target, bends, data.parallel, data.parallelCount, source > target) : null;
  // Re-placed when the nodes change (a move, a measurement): the store's node list is a new
  // array then, while panning and zooming keep it, so those cost nothing here. Compared as
  // text, so an unchanged spot re-renders nothing.
  const cache = useRef<{ nodes: unknown; key: string; spot: string } | null>(null);
  const key = `${g?.path}|${size.w}x${size.h}`;
  const place = useCallback((state: ReactFlowState) => {
    if (!g?.at || far || !s || !t) return "";
    if (cache.current?.nodes === state.nodes && cache.current.key === key) return cache.current.spot;
    const found = placeLabel(g.at, size, nodeBoxes(state, reach(box(s), box(t), bends, size)), bends);
    const spot = [found.center.x, found.center.y, found.anchor.x, found.anchor.y].map((v) => v.toFixed(1)).join(",");
    cache.current = { nodes: state.nodes, key, spot };
    return spot;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, far]);
  const placed = useStore(place);
  if (!s || !t || !data || !g || !conn) return null;
  const [cx, cy, ax, ay] = placed ? placed.split(",").map(Number) : [g.label.x, g.label.y, g.label.x, g.label.y];
  const leader = Math.hypot(cx - ax, cy - ay) > 2;
  // Bend points of a selected connection: drag to move, double-click to remove.
  const dragBend = (e: ReactPointerEvent<SVGCircleElement>, index: number) => {
    if (e.button !== 0) return;
    e.stopPropagation();
    const el = e.currentTarget;
    el.setPointerCapture(e.pointerId);
    const next = bends.map((b) => ({ ...b }));
    let moved = false;
    const move = (ev: PointerEvent) => {
      const p = rf.screenToFlowPosition({ x: ev.clientX, y: ev.clientY });
      next[index] = { x: Math.round(p.x / 8) * 8, y: Math.round(p.y / 8) * 8 };
      moved = true;
      setDragged(next.map((b) => ({ ...b })));
    };
    const up = () => {
      el.removeEventListener("pointermove", move);
      if (moved) void actions.saveBends(id, next).finally(() => setDragged(null));
    };
    el.addEventListener("pointermove", move);
    el.addEventListener("pointerup", up, { once: true });
  };
  const count = num(entry, "queuedCount", conn.queuedCount);
  const bytes = num(entry, "queuedBytes", conn.queuedBytes);
  const countRatio = ratioOf(count, conn.backPressureObjectThreshold);
  const sizeLimit = parseDataSize(conn.backPressureDataSizeThreshold);
  const sizeRatio = ratioOf(bytes, sizeLimit);
  const countLevel = pressureLevel(countRatio);
  const sizeLevel = pressureLevel(sizeRatio);
  const full = countLevel === "full" || sizeLevel === "full";
  const rate = ring.length ? ring[ring.length - 1] : 0;
  const what = [
    data.fromPort && `from ${data.fromPort}`,
    conn.name || conn.selectedRelationships.join(", "),
    data.toPort && `to ${data.toPort}`,
  ].filter(Boolean).join(" · ");
  const onLabelClick = (e: MouseEvent) => {
    e.stopPropagation();
    actions.select(e.shiftKey || e.metaKey || e.ctrlKey ? [...actions.selectedIds(), id] : [id]);
  };
  const onLabelMenu = (e: MouseEvent) => {
    e.preventDefault();
    e.stopPropagation();
    actions.select([id]);
    actions.openMenu({ x: e.clientX, y: e.clientY, flow: { x: cx, y: cy }, target: { type: "edge", ids: [id], kind: "connection" } });
  };
  const cls = `fy-edge${full ? " full" : ""}${selected ? " is-selected" : ""}`;
  return (
    <>
      <path className="react-flow__edge-interaction" d={g.path} fill="none" stroke="#000" strokeOpacity={0} strokeWidth={20}
            style={{ pointerEvents: "stroke" }} />
      <path className={`react-flow__edge-path ${cls}`} d={g.path} fill="none" />
      <path className={`fy-arrow${full ? " full" : ""}${selected ? " is-selected" : ""}`} d={arrow(g.tip, g.angle)} />
      {leader && !far && <path className="fy-edge-leader" d={`M${ax.toFixed(1)},${ay.toFixed(1)} L${cx.toFixed(1)},${cy.toFixed(1)}`} />}
      {selected && bends.map((b, i) => (
        <circle key={i} className="fy-bend" cx={b.x} cy={b.y} r={5} data-testid={`edge-bend-${id}-${i}`}
                onPointerDown={(e) => dragBend(e, i)}
                onDoubleClick={(e) => { e.stopPropagation(); void actions.saveBends(id, bends.filter((_, j) => j !== i)); }}>
          <title>Drag to move; double-click to remove</title>
        </circle>
      ))}
      {!far && (
        <EdgeLabelRenderer>
          <div ref={labelRef} className={`fy-edge-label nodrag nopan${full ? " full" : ""}${selected ? " is-selected" : ""}`}
               data-testid={`edge-label-${id}`}
               style={{ transform: `translate(${g.at ? "-50%" : "0"}, -50%) translate(${cx}px, ${cy}px)` }}
               onClick={onLabelClick} onContextMenu={onLabelMenu}
               onDoubleClick={(e) => { e.stopPropagation(); actions.configure(id); }}>
            <div className="fy-edge-row">
              {what && <span className="fy-edge-what" title={what}>{what}</span>}
              {balanced && (
                <span className="fy-edge-lb" data-testid={`edge-lb-${id}`} title={balanced}><Icon.cluster size={11} /></span>
              )}
              <span className="fy-edge-queued" data-testid={`edge-queued-${id}`}
                    title={entry?.nodes?.length ? `Queued on all nodes; by node:\n${nodeLines(entry.nodes, "connection")}` : "Queued"}>{countAndSize(count, bytes)}</span>
            </div>
            <div className="fy-edge-row">
              <span className="fy-bps">
                <Bar testId={`edge-bp-count-${id}`} ratio={countRatio} level={countLevel}
                     title={conn.backPressureObjectThreshold > 0
                       ? `Back pressure (objects): ${formatCount(count)} of ${formatCount(conn.backPressureObjectThreshold)} (${Math.round(countRatio * 100)} %)`
                       : "Back pressure (objects): no threshold"} />
                <Bar testId={`edge-bp-size-${id}`} ratio={sizeRatio} level={sizeLevel}
                     title={sizeLimit > 0
                       ? `Back pressure (size): ${formatBytes(bytes)} of ${conn.backPressureDataSizeThreshold} (${Math.round(sizeRatio * 100)} %)`
                       : "Back pressure (size): no threshold"} />
              </span>
              <Sparkline values={ring} width={48} height={12} testId={`edge-sparkline-${id}`}
                         title={`Flowfiles out per second, last 60 s (now ${formatRate(rate)}/s)`} />
              <span className="fy-rate-value">{formatRate(rate)}/s</span>
            </div>
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
}

export const edgeTypes = { queue: QueueEdgeView };
