// Moving components between process groups on the canvas: finding the group node a
// dragged selection is dropped on (and marking it while the drag is over it), and where
// components moved out to the parent group land. Pure helpers over React Flow's nodes;
// the move itself is `CanvasActions.moveTo` (one POST /api/process-groups/{id}/move).
import type { XYPosition } from "@xyflow/react";
import { GRID, SIZES, type FlowNode } from "./build";

const DROP_CLASS = "is-drop-target";

function contains(node: FlowNode, point: XYPosition): boolean {
  const w = node.measured?.width ?? node.width ?? SIZES["process-group"].width;
  const h = node.measured?.height ?? node.height ?? SIZES["process-group"].height;
  return point.x >= node.position.x && point.x <= node.position.x + w
    && point.y >= node.position.y && point.y <= node.position.y + h;
}

/** The process-group node under `point` (flow coordinates) that is not one of `dragged`, or null. */
export function groupUnder(nodes: FlowNode[], point: XYPosition, dragged: Set<string>): FlowNode | null {
  // The topmost first: React Flow draws later nodes above earlier ones.
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n.data.kind === "process-group" && !dragged.has(n.id) && contains(n, point)) return n;
  }
  return null;
}

/** Mark the group node `id` as the drop target (null: mark none). */
export function markDropTarget(id: string | null): void {
  document.querySelectorAll(`.react-flow__node.${DROP_CLASS}`).forEach((el) => {
    if (el.getAttribute("data-id") !== id) el.classList.remove(DROP_CLASS);
  });
  if (id) document.querySelector(`.react-flow__node[data-id="${CSS.escape(id)}"]`)?.classList.add(DROP_CLASS);
}

/** Where components moved out of a child group land in the parent: their layout kept, its
 *  top-left corner right of the child group's node, level with it (so they cover neither). */
export function besideGroup(group: XYPosition, items: { id: string; position: XYPosition }[]): Map<string, XYPosition> {
  const placed = new Map<string, XYPosition>();
  if (!items.length) return placed;
  const left = Math.min(...items.map((i) => i.position.x));
  const top = Math.min(...items.map((i) => i.position.y));
  const x0 = group.x + SIZES["process-group"].width + 3 * GRID;
  for (const { id, position } of items) {
    placed.set(id, { x: Math.round(x0 + position.x - left), y: Math.round(group.y + position.y - top) });
  }
  return placed;
}
