// Auto-layout with dagre: top-to-bottom ranks, room between ranks for the
// connection labels. Returns new top-left positions for the given nodes, with
// their centres on the grid.
import dagre from "@dagrejs/dagre";
import type { XYPosition } from "@xyflow/react";

export interface LayoutNode { id: string; x: number; y: number; width: number; height: number }
export interface LayoutEdge { source: string; target: string }

export function layoutPositions(nodes: LayoutNode[], edges: LayoutEdge[], grid = 16): Map<string, XYPosition> {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 64, ranksep: 96, edgesep: 32, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(nodes.map((n) => n.id));
  for (const n of nodes) g.setNode(n.id, { width: n.width, height: n.height });
  edges.forEach((e, i) => {
    if (e.source !== e.target && ids.has(e.source) && ids.has(e.target)) g.setEdge(e.source, e.target, {}, `e${i}`);
  });
  dagre.layout(g);
  // Keep the laid-out block where the nodes were (its top-left at theirs).
  const minX = Math.min(...nodes.map((n) => n.x));
  const minY = Math.min(...nodes.map((n) => n.y));
  let laidMinX = Infinity;
  let laidMinY = Infinity;
  for (const n of nodes) {
    const p = g.node(n.id);
    laidMinX = Math.min(laidMinX, p.x - n.width / 2);
    laidMinY = Math.min(laidMinY, p.y - n.height / 2);
  }
  // Centres on the grid, so nodes of different sizes in one column line up.
  const snap = (v: number) => Math.round(v / grid) * grid;
  const dx = snap(minX - laidMinX);
  const dy = snap(minY - laidMinY);
  const result = new Map<string, XYPosition>();
  for (const n of nodes) {
    const p = g.node(n.id);
    result.set(n.id, { x: snap(p.x + dx) - n.width / 2, y: snap(p.y + dy) - n.height / 2 });
  }
  return result;
}
