// Where a connection's label goes: on its line, but never over a node. Tries the middle of
// the line first, then points further along it, then the same points moved sideways off
// the line (a short leader joins them then), nearest first. Pure: boxes in, a point out.
import type { XYPosition } from "@xyflow/react";

export interface Rect { x: number; y: number; w: number; h: number }

/** A point of a path at `t` (0: start, 1: end) and the unit normal there. */
export type PathAt = (t: number) => { point: XYPosition; normal: XYPosition };

export interface LabelSpot {
  /** The label's centre. */
  center: XYPosition;
  /** The point of the line it belongs to (equal to `center` when it sits on the line). */
  anchor: XYPosition;
}

const ALONG = [0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18, 0.82];
const STEP = 12;
const MAX_SHIFT = 20; // steps sideways, each way (far enough to clear a node beside a short line)
const GAP = 4; // air kept between a label and a node

export function straightAt(a: XYPosition, b: XYPosition): PathAt {
  const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
  const normal = { x: -(b.y - a.y) / len, y: (b.x - a.x) / len };
  return (t) => ({ point: { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t }, normal });
}

export function quadraticAt(a: XYPosition, c: XYPosition, b: XYPosition): PathAt {
  return (t) => {
    const u = 1 - t;
    const point = { x: u * u * a.x + 2 * u * t * c.x + t * t * b.x, y: u * u * a.y + 2 * u * t * c.y + t * t * b.y };
    const d = { x: 2 * u * (c.x - a.x) + 2 * t * (b.x - c.x), y: 2 * u * (c.y - a.y) + 2 * t * (b.y - c.y) };
    const len = Math.hypot(d.x, d.y) || 1;
    return { point, normal: { x: -d.y / len, y: d.x / len } };
  };
}

/** A polyline, by length. */
export function polylineAt(points: XYPosition[]): PathAt {
  const lengths = points.slice(1).map((p, i) => Math.hypot(p.x - points[i].x, p.y - points[i].y));
  const total = lengths.reduce((sum, l) => sum + l, 0) || 1;
  return (t) => {
    let left = t * total;
    for (let i = 0; i < lengths.length; i++) {
      if (left <= lengths[i] || i === lengths.length - 1) {
        const k = lengths[i] ? Math.min(1, left / lengths[i]) : 0;
        const a = points[i];
        const b = points[i + 1];
        return straightAt(a, b)(k);
      }
      left -= lengths[i];
    }
    return { point: points[0], normal: { x: 0, y: 1 } };
  };
}

const overlaps = (r: Rect, b: Rect) =>
  r.x < b.x + b.w + GAP && r.x + r.w + GAP > b.x && r.y < b.y + b.h + GAP && r.y + r.h + GAP > b.y;

/** The spot for a `size` label on the path `at` that overlaps none of `boxes` (the nodes),
 *  nor comes near a point of `keepClear` (bend handles); the middle when nothing is free. */
export function placeLabel(at: PathAt, size: { w: number; h: number }, boxes: Rect[],
                           keepClear: XYPosition[] = []): LabelSpot {
  const candidates: { center: XYPosition; anchor: XYPosition; cost: number }[] = [];
  for (const t of ALONG) {
    const { point, normal } = at(t);
    for (let s = -MAX_SHIFT; s <= MAX_SHIFT; s++) {
      const shift = s * STEP;
      candidates.push({
        center: { x: point.x + normal.x * shift, y: point.y + normal.y * shift },
        anchor: point,
        // Sideways costs more than along: a label beside its line reads less clearly.
        cost: Math.abs(shift) * 1.5 + Math.abs(t - 0.5) * 100,
      });
    }
  }
  candidates.sort((a, b) => a.cost - b.cost);
  // Only the boxes anywhere near the candidates matter.
  const xs = candidates.map((c) => c.center.x);
  const ys = candidates.map((c) => c.center.y);
  const area = {
    x: Math.min(...xs) - size.w, y: Math.min(...ys) - size.h,
    w: Math.max(...xs) - Math.min(...xs) + 2 * size.w, h: Math.max(...ys) - Math.min(...ys) + 2 * size.h,
  };
  const near = boxes.filter((b) => overlaps(area, b));
  const clear = (c: XYPosition) => keepClear.every((p) => Math.abs(p.x - c.x) > size.w / 2 + 8 || Math.abs(p.y - c.y) > size.h / 2 + 8);
  for (const c of candidates) {
    const rect = { x: c.center.x - size.w / 2, y: c.center.y - size.h / 2, w: size.w, h: size.h };
    if (!near.some((b) => overlaps(rect, b)) && clear(c.center)) return { center: c.center, anchor: c.anchor };
  }
  const mid = at(0.5).point;
  return { center: mid, anchor: mid };
}
