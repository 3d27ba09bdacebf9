// Lineage layout, pure: the API gives flowfile→event edges (the events of a flowfile)
// and event→flowfile edges (children of FORK/CLONE/JOIN/REPLAY). For drawing, each
// flowfile's events are chained in time order, then nodes get layers by longest path
// and an order inside each layer by the barycentre of their neighbours.

export interface LineageNode { id: string; kind: string; eventType?: string; componentId?: string; timestamp?: number; [k: string]: unknown }
export interface LineageEdge { source: string; target: string }

export interface Placed { node: LineageNode; layer: number; x: number; y: number }
export interface Layout { nodes: Placed[]; edges: { source: Placed; target: Placed }[]; width: number; height: number }

const eventNumber = (id: string) => Number(id.replace(/^event:/, "")) || 0;

/** The edges to draw: flowfile → its first event → its next event …, plus event → child flowfile. */
export function displayEdges(nodes: LineageNode[], edges: LineageEdge[]): LineageEdge[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const owned = new Map<string, LineageNode[]>();
  const result: LineageEdge[] = [];
  const seen = new Set<string>();
  const add = (source: string, target: string) => {
    const key = `${source}\u0000${target}`;
    if (source === target || seen.has(key)) return;
    seen.add(key);
    result.push({ source, target });
  };
  for (const e of edges) {
    const s = byId.get(e.source);
    const t = byId.get(e.target);
    if (!s || !t) continue;
    if (s.kind === "flowfile" && t.kind === "event") owned.set(s.id, [...(owned.get(s.id) ?? []), t]);
    else add(e.source, e.target);
  }
  for (const [ff, events] of owned) {
    const sorted = [...events].sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0) || eventNumber(a.id) - eventNumber(b.id));
    let previous = ff;
    for (const ev of sorted) {
      add(previous, ev.id);
      previous = ev.id;
    }
  }
  return result;
}

/** Place nodes in layers (top to bottom) for an SVG of the given node box size. */
export function layoutLineage(nodes: LineageNode[], edges: LineageEdge[],
                              opts: { nodeWidth: number; nodeHeight: number; gapX: number; gapY: number }): Layout {
  const drawn = displayEdges(nodes, edges);
  const ids = nodes.map((n) => n.id);
  const incoming = new Map<string, string[]>(ids.map((id) => [id, []]));
  const outgoing = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of drawn) {
    outgoing.get(e.source)?.push(e.target);
    incoming.get(e.target)?.push(e.source);
  }
  // Longest path from the sources (Kahn); anything left in a cycle goes after its placed parents.
  const layer = new Map<string, number>();
  const remaining = new Map(ids.map((id) => [id, incoming.get(id)!.length]));
  const queue = ids.filter((id) => remaining.get(id) === 0);
  for (const id of queue) layer.set(id, 0);
  while (queue.length) {
    const id = queue.shift()!;
    for (const next of outgoing.get(id)!) {
      layer.set(next, Math.max(layer.get(next) ?? 0, (layer.get(id) ?? 0) + 1));
      remaining.set(next, remaining.get(next)! - 1);
      if (remaining.get(next) === 0) queue.push(next);
    }
  }
  for (const id of ids) {
    if (!layer.has(id)) {
      const parents = incoming.get(id)!.filter((p) => layer.has(p));
      layer.set(id, parents.length ? Math.max(...parents.map((p) => layer.get(p)!)) + 1 : 0);
    }
  }
  const layers: string[][] = [];
  for (const id of ids) (layers[layer.get(id)!] ??= []).push(id);
  for (let i = 0; i < layers.length; i++) layers[i] ??= [];

  // Order inside layers: a few downward and upward barycentre sweeps.
  const position = new Map<string, number>();
  layers.forEach((l) => l.forEach((id, i) => position.set(id, i)));
  const sweep = (down: boolean) => {
    const range = down ? layers.map((_, i) => i).slice(1) : layers.map((_, i) => i).slice(0, -1).reverse();
    for (const i of range) {
      const neighbours = down ? incoming : outgoing;
      const score = (id: string) => {
        const ns = neighbours.get(id)!.filter((n) => layer.get(n) === (down ? i - 1 : i + 1));
        return ns.length ? ns.reduce((sum, n) => sum + position.get(n)!, 0) / ns.length : position.get(id)!;
      };
      layers[i].sort((a, b) => score(a) - score(b));
      layers[i].forEach((id, j) => position.set(id, j));
    }
  };
  for (let k = 0; k < 3; k++) { sweep(true); sweep(false); }

  const { nodeWidth, nodeHeight, gapX, gapY } = opts;
  const widest = Math.max(1, ...layers.map((l) => l.length));
  const width = widest * nodeWidth + (widest - 1) * gapX;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const placed = new Map<string, Placed>();
  layers.forEach((l, i) => {
    const rowWidth = l.length * nodeWidth + (l.length - 1) * gapX;
    const start = (width - rowWidth) / 2;
    l.forEach((id, j) => {
      placed.set(id, {
        node: byId.get(id)!, layer: i,
        x: start + j * (nodeWidth + gapX) + nodeWidth / 2, y: i * (nodeHeight + gapY) + nodeHeight / 2,
      });
    });
  });
  return {
    nodes: [...placed.values()],
    edges: drawn.filter((e) => placed.has(e.source) && placed.has(e.target))
      .map((e) => ({ source: placed.get(e.source)!, target: placed.get(e.target)! })),
    width,
    height: layers.length * nodeHeight + Math.max(0, layers.length - 1) * gapY,
  };
}
