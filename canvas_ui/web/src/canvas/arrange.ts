// Arranging the canvas as edits: new positions (a drag, auto-layout, align) and moves
// between process groups (a drop on a group node, "Move to parent group"), each ONE edit
// on the server (one undo step, one entry in the flow configuration history). Also the
// helpers every batch of edits shares: its description and applying it.
import type { MutableRefObject } from "react";
import type { ReactFlowInstance, XYPosition } from "@xyflow/react";
import { api, type Connection, type EditItem, type EditResult, type ProcessGroup } from "../api";
import type { AppState } from "../store";
import { GRID, type FlowNode, type QueueEdge } from "./build";
import { besideGroup } from "./grouping";
import { layoutPositions } from "./layout";
import { componentLabel, connectionLabel, findGroup, locate, type NodeKind } from "./model";

/** What arranging needs of the canvas's actions. */
export interface ArrangeDeps {
  app: MutableRefObject<AppState>;
  rf: ReactFlowInstance<FlowNode, QueueEdge>;
  /** Revisions by component id (kept fresh from the answers). */
  revisions: MutableRefObject<Map<string, number>>;
  kindOf(id: string): NodeKind | "connection" | null;
  /** The group shown. */
  group(): ProcessGroup | null;
  notify(text: string, level?: "info" | "error"): void;
  reload(): Promise<void>;
  /** Say why `what` failed (a 409: reload the flow). */
  failed(error: unknown, what: string): Promise<void>;
}

export function makeArranging(deps: ArrangeDeps) {
  const { app, rf, revisions, kindOf, group, notify, reload, failed } = deps;
  const rev = (id: string) => revisions.current.get(id) ?? 0;

  /** "processor 'Gen'" for one id, "3 components" for more: the object of an edit's description. */
  const whatOf = (ids: string[]) => {
    const flow = app.current.flow;
    const found = ids.length === 1 && flow ? locate(flow, ids[0]) : null;
    if (flow && found) {
      return found.kind === "connection" ? `connection ${connectionLabel(flow, found.component as unknown as Connection)}`
        : componentLabel(found.kind, found.component);
    }
    return `${ids.length} component${ids.length === 1 ? "" : "s"}`;
  };
  /** Keep the revisions an edit answered (its created and updated components'). */
  const remember = (results: EditResult[]) => {
    for (const r of results) if ("identifier" in r) revisions.current.set(r.identifier, r.revision);
  };
  /** Apply `items` as ONE edit named `description`; false when it was refused (said as `what` failed). */
  const applyEdits = async (description: string, items: EditItem[], what: string) => {
    if (!items.length) return true;
    try {
      remember((await api.edits(description, items)).results);
      return true;
    } catch (e) {
      await failed(e, what);
      return false;
    }
  };
  /** New positions (and `extra` items) as one edit, named `description` ("Move …" by default). */
  const savePositions = async (moves: { id: string; position: XYPosition }[], description?: string,
                               extra: EditItem[] = []) => {
    const items: EditItem[] = [];
    const ids: string[] = [];
    for (const { id, position } of moves) {
      const kind = kindOf(id);
      if (!kind || kind === "connection") continue;
      items.push({ action: "update", kind, id, revision: rev(id), changes: { position } });
      ids.push(id);
    }
    await applyEdits(description ?? `Move ${whatOf(ids)}`, [...items, ...extra], "Moving failed");
  };
  /** Move nodes to `positions` as one edit, named by `describe` (given what moved); `clearBends`
   *  also straightens the connections of the nodes laid out (in the same edit). */
  const moveNodes = async (positions: Map<string, XYPosition>, describe: (what: string) => string, clearBends = false) => {
    const moved = new Set(rf.getNodes().filter((n) => {
      const p = positions.get(n.id);
      return p && (p.x !== n.position.x || p.y !== n.position.y);
    }).map((n) => n.id));
    rf.setNodes((nodes) => nodes.map((n) => (moved.has(n.id) ? { ...n, position: positions.get(n.id)! } : n)));
    // Bend points drawn for the old places would now zig-zag across the group.
    const bent = clearBends ? (group()?.connections ?? []).filter((c) => c.bends?.length && c.source.id !== c.destination.id
      && (positions.has(c.source.id) || positions.has(c.destination.id))) : [];
    const straighten = bent.map((c): EditItem => ({
      action: "update", kind: "connection", id: c.identifier, revision: rev(c.identifier), changes: { bends: [] },
    }));
    await savePositions([...positions].filter(([id]) => moved.has(id)).map(([id, position]) => ({ id, position })),
      describe(whatOf([...moved])), straighten);
    await reload();
  };
  /** Move the nodes among `ids` into the group `target` (a child of the group shown, or its
   *  parent): one POST .../move; the server's refusal is shown as other failures are. */
  const moveTo = async (target: string, ids: string[], positions?: Map<string, XYPosition>) => {
    const flow = app.current.flow;
    const nodes = ids.filter((id) => {
      const kind = kindOf(id);
      return kind !== null && kind !== "connection";
    });
    if (!flow || !nodes.length) return;
    const into = findGroup(flow.rootGroup, target);
    const name = into ? `'${into.name || into.identifier}'` : target;
    const what = whatOf(nodes);
    try {
      await api.move(target, nodes, Object.fromEntries(nodes.map((id) => [id, rev(id)])),
        positions ? Object.fromEntries([...positions].filter(([id]) => nodes.includes(id))) : undefined);
      app.current.setSelection([]);
      notify(`Moved ${what} into ${name}`);
    } catch (e) {
      await failed(e, `Moving into ${name} failed`);
    }
    await reload();
  };

  return {
    whatOf,
    applyEdits,
    savePositions,
    moveTo,

    /** "Move to parent group": `ids` out of the group shown, beside its node in the parent. */
    async moveToParent(ids: string[]) {
      const { flow, groupId } = app.current;
      const here = flow ? findGroup(flow.rootGroup, groupId) : null;
      const parent = flow ? locate(flow, groupId)?.group : null;
      if (!here || !parent) {
        notify("The components are in the root group: it has no parent group", "error");
        return;
      }
      const items = ids.flatMap((id) => {
        const node = rf.getNode(id);
        return node ? [{ id, position: node.position }] : [];
      });
      await moveTo(parent.identifier, ids, besideGroup(here.position, items));
    },

    /** Lay out the selection (two or more) or the whole group, as one edit. */
    async autoLayout(ids?: string[]) {
      const chosen = new Set(ids ?? []);
      let nodes = rf.getNodes().filter((n) => n.data.kind !== "label");
      if (chosen.size >= 2) nodes = nodes.filter((n) => chosen.has(n.id));
      if (nodes.length < 1) return;
      const positions = layoutPositions(
        nodes.map((n) => ({ id: n.id, x: n.position.x, y: n.position.y, width: n.width ?? n.measured?.width ?? 200, height: n.height ?? n.measured?.height ?? 80 })),
        rf.getEdges().map((e) => ({ source: e.source, target: e.target })), GRID);
      await moveNodes(positions, (what) => `Auto-layout ${what}`, true);
      if (chosen.size < 2) requestAnimationFrame(() => rf.fitView({ padding: 0.15, maxZoom: 1, duration: 300 }));
    },

    /** Align the selected nodes' left or top edges, as one edit. */
    async align(side: "left" | "top") {
      const nodes = rf.getNodes().filter((n) => n.selected);
      if (nodes.length < 2) {
        notify("Select two or more components to align");
        return;
      }
      const edge = Math.min(...nodes.map((n) => (side === "left" ? n.position.x : n.position.y)));
      const positions = new Map(nodes.map((n) => [n.id, side === "left" ? { x: edge, y: n.position.y } : { x: n.position.x, y: edge }]));
      await moveNodes(positions, (what) => `Align ${what} ${side}`);
    },
  };
}
