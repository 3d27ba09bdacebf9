// The React Flow canvas of the current process group.
import { memo, useCallback, useEffect, useMemo, useRef, useState, type DragEvent, type MouseEvent, type RefObject } from "react";
import {
  Background, BackgroundVariant, Controls, getNodesBounds, getViewportForBounds, MiniMap, ReactFlow, useEdgesState,
  useNodesState, useReactFlow, useStoreApi, type Connection as RFConnection, type FinalConnectionState, type Node,
  type OnNodeDrag, type OnSelectionChangeParams, type Viewport,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./canvas.css";
import type { Connection, StatusEntry } from "../api";
import { useApp } from "../store";
import { buildEdges, buildNodes, nodeCountOf, type FlowNode, type QueueEdge } from "./build";
import { GRID, isEditable, useCanvasActions, useCanvasUI } from "./controller";
import { edgeTypes } from "./edges";
import { parseDataSize } from "./format";
import { groupUnder, markDropTarget } from "./grouping";
import { findGroup } from "./model";
import { displayState, nodeTypes } from "./nodes";
import { OverviewLayer, useOverviewMode, withHidden, type OverviewApi } from "./Overview";
import { Overlays } from "./Overlays";
import { parseClipboard } from "./clipboard";
import { num, statusStore } from "./statusStore";

export const DRAG_TYPE = "application/x-flowyard-component";
/** Above this many nodes only the visible ones are rendered. */
const CULL_ABOVE = 150;

/** Whether a connection's queue has reached one of its back-pressure thresholds. */
export function isFull(conn: Connection, entry: StatusEntry | undefined): boolean {
  const count = num(entry, "queuedCount", conn.queuedCount);
  const bytes = num(entry, "queuedBytes", conn.queuedBytes);
  const sizeLimit = parseDataSize(conn.backPressureDataSizeThreshold);
  return (conn.backPressureObjectThreshold > 0 && count >= conn.backPressureObjectThreshold)
    || (sizeLimit > 0 && bytes >= sizeLimit);
}

function withFullness(edges: QueueEdge[], only?: Set<string>): QueueEdge[] {
  let changed = false;
  const next = edges.map((e) => {
    if (only && !only.has(e.id)) return e;
    const cls = e.data && isFull(e.data.conn, statusStore.get(e.id)) ? "full" : undefined;
    if (e.className === cls) return e;
    changed = true;
    return { ...e, className: cls };
  });
  return changed ? next : edges;
}

export function Canvas() {
  const { flow, groupId, reload, setSelection, selection } = useApp();
  const actions = useCanvasActions();
  const ui = useCanvasUI();
  const rf = useReactFlow<FlowNode, QueueEdge>();
  const store = useStoreApi<FlowNode, QueueEdge>();
  const group = useMemo(() => (flow && groupId ? findGroup(flow.rootGroup, groupId) : null), [flow, groupId]);
  const [nodes, setNodes, onNodesChange] = useNodesState<FlowNode>([]);
  const [edges, setEdges, onEdgesChange] = useEdgesState<QueueEdge>([]);
  const shown = useRef("");
  const [connecting, setConnecting] = useState(false);
  const [stateVersion, setStateVersion] = useState(0);
  const selectionRef = useRef(selection);
  selectionRef.current = selection;
  // The overview (Overview.tsx): a large group zoomed far out is drawn on one <canvas>, its
  // React Flow nodes hidden and its edges not given to React Flow (it mounts none of them).
  const { overview, overviewRef, nodeCount, overviewWanted, showOverview } = useOverviewMode(setNodes);
  const overviewApi = useRef<OverviewApi | null>(null);

  // Nodes and edges from the document; unchanged components keep their objects.
  useEffect(() => {
    if (!group) return;
    const entering = shown.current !== group.identifier;
    nodeCount.current = nodeCountOf(group);
    if (!entering) {
      setNodes((prev) => withHidden(buildNodes(group, prev), overviewRef.current));
      setEdges((prev) => withFullness(buildEdges(group, prev)));
      // A group that grew past the overview's size while zoomed far out.
      window.setTimeout(() => showOverview(overviewWanted(rf.getViewport().zoom)), 0);
      return;
    }
    const previous = shown.current;
    shown.current = group.identifier;
    if (previous) actions.rememberViewport(previous, rf.getViewport());
    const built = buildNodes(group, []);
    // The viewport is set before the nodes are committed, and with it whether the overview
    // draws them: a large group fitted to the window never mounts its nodes.
    const focus = actions.takePendingFocus();
    const view = focus ? null : actions.savedViewport(group.identifier) ?? fittedViewport(built, store.getState());
    const ready = !!store.getState().panZoom;
    if (view && ready) void rf.setViewport(view);
    const on = overviewWanted((ready && view ? view : rf.getViewport()).zoom);
    showOverview(on);
    setNodes(withHidden(built, on));
    setEdges(withFullness(buildEdges(group, [])));
    if (focus || !ready || !view) {
      // (The zoom's change shows or hides the overview: useOverviewMode.)
      window.setTimeout(() => {
        const later = focus ? null : view ?? fittedViewport(built, store.getState());
        if (focus) actions.focusComponent(focus);
        else if (later) void rf.setViewport(later);
      }, 30);
    }
  }, [group, setNodes, setEdges, actions, rf, store, nodeCount, overviewRef, overviewWanted, showOverview]);

  // Live status: edges turn red when full; structural changes reload the flow.
  useEffect(() => {
    let timer = 0;
    const off = statusStore.onChange((changed, structural, states) => {
      setEdges((prev) => withFullness(prev, new Set(changed)));
      if (states) setStateVersion((v) => v + 1);
      if (structural) {
        window.clearTimeout(timer);
        timer = window.setTimeout(() => void reload().catch(() => undefined), 300);
      }
    });
    return () => { off(); window.clearTimeout(timer); };
  }, [setEdges, reload]);

  const onSelectionChange = useCallback(({ nodes: n, edges: e }: OnSelectionChangeParams) => {
    const ids = [...n.map((x) => x.id), ...e.map((x) => x.id)];
    const current = selectionRef.current;
    if (ids.length !== current.length || ids.some((id, i) => id !== current[i])) setSelection(ids);
  }, [setSelection]);

  // Dragged onto a process group (the pointer over its node): the selection moves into that
  // group (NiFi's way); the group is marked while the drag is over it. Elsewhere: new positions.
  const dropGroup = useCallback((event: globalThis.MouseEvent | TouchEvent, dragged: FlowNode[]) => {
    const point = "changedTouches" in event ? event.changedTouches[0] : event;
    if (!point) return null;
    return groupUnder(rf.getNodes(), rf.screenToFlowPosition({ x: point.clientX, y: point.clientY }),
      new Set(dragged.map((n) => n.id)));
  }, [rf]);
  const onNodeDrag = useCallback<OnNodeDrag<FlowNode>>((event, _, dragged) => {
    markDropTarget(dropGroup(event, dragged)?.id ?? null);
  }, [dropGroup]);
  const onNodeDragStop = useCallback<OnNodeDrag<FlowNode>>((event, _, dragged) => {
    markDropTarget(null);
    const into = dropGroup(event, dragged);
    if (into) {
      void actions.moveTo(into.id, dragged.map((n) => n.id));
      return;
    }
    void actions.savePositions(dragged.map((n) => ({ id: n.id, position: { x: Math.round(n.position.x), y: Math.round(n.position.y) } })));
  }, [actions, dropGroup]);

  const onConnect = useCallback((c: RFConnection) => {
    if (c.source && c.target) actions.requestConnection({ source: c.source, target: c.target });
  }, [actions]);

  const onConnectEnd = useCallback((event: globalThis.MouseEvent | TouchEvent, state: FinalConnectionState) => {
    setConnecting(false);
    if (state.isValid || !state.fromNode) return;
    // Dropped on a node's body rather than on its handle: connect to that node.
    const point = "changedTouches" in event ? event.changedTouches[0] : event;
    const el = document.elementFromPoint(point.clientX, point.clientY)?.closest(".react-flow__node");
    const target = el?.getAttribute("data-id");
    if (target && actions.kindOf(target) !== "label") actions.requestConnection({ source: state.fromNode.id, target });
  }, [actions]);

  const onNodeDoubleClick = useCallback((_: MouseEvent, node: FlowNode) => {
    if (node.data.kind === "process-group") actions.enterGroup(node.id);
    else actions.configure(node.id);
  }, [actions]);

  // As in NiFi: double-clicking a connection adds a bend point there (its label opens the configuration).
  const onEdgeDoubleClick = useCallback((e: MouseEvent, edge: QueueEdge) => {
    if (edge.source === edge.target) actions.configure(edge.id);
    else void actions.addBend(edge.id, rf.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
  }, [actions, rf]);

  const menuAt = useCallback((e: MouseEvent | globalThis.MouseEvent) => ({
    x: e.clientX, y: e.clientY, flow: rf.screenToFlowPosition({ x: e.clientX, y: e.clientY }),
  }), [rf]);

  const onNodeContextMenu = useCallback((e: MouseEvent, node: FlowNode) => {
    e.preventDefault();
    const selected = actions.selectedIds();
    if (node.selected && selected.length > 1) {
      actions.openMenu({ ...menuAt(e), target: { type: "selection", ids: selected } });
      return;
    }
    actions.select([node.id]);
    actions.openMenu({ ...menuAt(e), target: { type: "node", ids: [node.id], kind: node.data.kind } });
  }, [actions, menuAt]);

  const onEdgeContextMenu = useCallback((e: MouseEvent, edge: QueueEdge) => {
    e.preventDefault();
    actions.select([edge.id]);
    actions.openMenu({ ...menuAt(e), target: { type: "edge", ids: [edge.id], kind: "connection" } });
  }, [actions, menuAt]);

  const onPaneContextMenu = useCallback((e: MouseEvent | globalThis.MouseEvent) => {
    e.preventDefault();
    const hit = overviewRef.current ? overviewApi.current?.nodeAt(e.clientX, e.clientY) : null;
    if (hit) {
      // The overview's node menu, as a node's own.
      const selected = actions.selectedIds();
      if (hit.selected && selected.length > 1) {
        actions.openMenu({ ...menuAt(e), target: { type: "selection", ids: selected } });
        return;
      }
      actions.select([hit.id]);
      actions.openMenu({ ...menuAt(e), target: { type: "node", ids: [hit.id], kind: hit.kind } });
      return;
    }
    actions.openMenu({ ...menuAt(e), target: { type: "pane", ids: [] } });
  }, [actions, menuAt]);

  const onSelectionContextMenu = useCallback((e: MouseEvent, selected: Node[]) => {
    e.preventDefault();
    actions.openMenu({ ...menuAt(e), target: { type: "selection", ids: [...selected.map((n) => n.id), ...rf.getEdges().filter((x) => x.selected).map((x) => x.id)] } });
  }, [actions, menuAt, rf]);

  const onPaneClick = useCallback((e: MouseEvent) => {
    actions.openMenu(null);
    if (!overviewRef.current) return;
    // In the overview a click on a node selects it (with Ctrl or Cmd: adds it or takes it out).
    const hit = overviewApi.current?.nodeAt(e.clientX, e.clientY);
    if (!hit) return;
    const current = actions.selectedIds();
    const ids = e.ctrlKey || e.metaKey
      ? (current.includes(hit.id) ? current.filter((id) => id !== hit.id) : [...current, hit.id]) : [hit.id];
    // After React Flow's own handling of the click, which clears the selection.
    window.setTimeout(() => actions.select(ids), 0);
  }, [actions]);

  // In the overview a double-click zooms in: onto a node (selected, at about 100 %), or
  // three times closer around the pointer.
  const onOverviewDoubleClick = useCallback((e: MouseEvent) => {
    if (!overviewRef.current || !(e.target as Element).closest(".react-flow__pane")) return;
    const hit = overviewApi.current?.nodeAt(e.clientX, e.clientY);
    if (hit) {
      actions.focusComponent(hit.id);
      return;
    }
    const { x, y, zoom } = rf.getViewport();
    const rect = (e.currentTarget as HTMLElement).getBoundingClientRect();
    const px = e.clientX - rect.left;
    const py = e.clientY - rect.top;
    const next = Math.min(zoom * 3, 1);
    void rf.setViewport({ x: px - ((px - x) / zoom) * next, y: py - ((py - y) / zoom) * next, zoom: next }, { duration: 250 });
  }, [actions, rf]);
  const onConnectStart = useCallback(() => setConnecting(true), []);

  const onDragOver = useCallback((e: DragEvent) => {
    if (!e.dataTransfer.types.includes(DRAG_TYPE)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  }, []);

  const onDrop = useCallback((e: DragEvent) => {
    const raw = e.dataTransfer.getData(DRAG_TYPE);
    if (!raw) return;
    e.preventDefault();
    const item = JSON.parse(raw) as { kind: FlowNode["data"]["kind"]; type?: string };
    void actions.create(item.kind, rf.screenToFlowPosition({ x: e.clientX, y: e.clientY }), item.type);
  }, [actions, rf]);

  useShortcuts();

  const empty = group && nodes.length === 0;
  return (
    <main className={`canvas${connecting ? " is-connecting" : ""}`}>
      <FlowView nodes={nodes} edges={edges} onNodesChange={onNodesChange} onEdgesChange={onEdgesChange}
                snap={ui.snap} cull={nodes.length > CULL_ABOVE}
                onSelectionChange={onSelectionChange} onNodeDrag={onNodeDrag} onNodeDragStop={onNodeDragStop} onConnect={onConnect}
                onConnectStart={onConnectStart} onConnectEnd={onConnectEnd}
                onNodeDoubleClick={onNodeDoubleClick} onEdgeDoubleClick={onEdgeDoubleClick}
                onNodeContextMenu={onNodeContextMenu} onEdgeContextMenu={onEdgeContextMenu}
                onPaneContextMenu={onPaneContextMenu} onSelectionContextMenu={onSelectionContextMenu}
                onPaneClick={onPaneClick} onDragOver={onDragOver} onDrop={onDrop}
                overview={overview} overviewApi={overviewApi} onDoubleClick={onOverviewDoubleClick} />
      {empty && (
        <div className="fy-empty">
          <strong>{group.name || "This group"} is empty</strong>
          <span>Drag a processor, port or funnel from the palette, or press <kbd>Ctrl</kbd> <kbd>K</kbd>.</span>
        </div>
      )}
      {!flow && <div className="fy-empty"><span>Loading the flow…</span></div>}
      {/* The overview shows the whole flow already (and React Flow's nodes are hidden). */}
      {!overview && <MiniMapView version={stateVersion} />}
      <Overlays />
    </main>
  );
}

type FlowViewProps = {
  nodes: FlowNode[]; edges: QueueEdge[]; snap: boolean; cull: boolean;
  onNodesChange: ReturnType<typeof useNodesState<FlowNode>>[2];
  onEdgesChange: ReturnType<typeof useEdgesState<QueueEdge>>[2];
  onSelectionChange: (p: OnSelectionChangeParams) => void;
  onNodeDrag: OnNodeDrag<FlowNode>;
  onNodeDragStop: OnNodeDrag<FlowNode>;
  onConnect: (c: RFConnection) => void;
  onConnectStart: () => void;
  onConnectEnd: (e: globalThis.MouseEvent | TouchEvent, s: FinalConnectionState) => void;
  onNodeDoubleClick: (e: MouseEvent, n: FlowNode) => void;
  onEdgeDoubleClick: (e: MouseEvent, edge: QueueEdge) => void;
  onNodeContextMenu: (e: MouseEvent, n: FlowNode) => void;
  onEdgeContextMenu: (e: MouseEvent, edge: QueueEdge) => void;
  onPaneContextMenu: (e: MouseEvent | globalThis.MouseEvent) => void;
  onSelectionContextMenu: (e: MouseEvent, n: Node[]) => void;
  onPaneClick: (e: MouseEvent) => void;
  onDragOver: (e: DragEvent) => void;
  onDrop: (e: DragEvent) => void;
  overview: boolean;
  overviewApi: RefObject<OverviewApi | null>;
  onDoubleClick: (e: MouseEvent) => void;
};

/** The viewport that fits `nodes` in the pane (as `fitView({ padding: 0.15, maxZoom: 1 })`),
 *  an empty group at 100 %; null before the pane has a size. */
function fittedViewport(nodes: FlowNode[], s: { width: number; height: number; minZoom: number }): Viewport | null {
  if (!nodes.length) return { x: 80, y: 80, zoom: 1 };
  if (!s.width || !s.height) return null;
  return getViewportForBounds(getNodesBounds(nodes), s.width, s.height, s.minZoom, 1, 0.15);
}

function miniMapColor(node: Node): string {
  const n = node as FlowNode;
  if (n.data.kind === "label") return "var(--fy-minimap-label)";
  if (n.data.kind === "process-group") return "var(--fy-minimap-group)";
  if (n.data.kind !== "processor") return "var(--fy-minimap-other)";
  const state = displayState(statusStore.get(n.id), (n.data.doc as { runState?: string }).runState, true);
  return state === "RUNNING" ? "var(--running)" : state === "STOPPED" ? "var(--stopped)"
    : state === "DISABLED" ? "var(--disabled)" : "var(--invalid)";
}

/** React Flow's connections while the overview draws them: none. (Hidden ones would still each
 *  mount a component that works out its ends on every pan frame.) */
const NO_EDGES: QueueEdge[] = [];

/** React Flow itself, memoised: a status tick re-renders the app, never this. */
const FlowView = memo(function FlowView(p: FlowViewProps) {
  return (
    <ReactFlow<FlowNode, QueueEdge>
      data-testid="canvas"
      nodes={p.nodes} edges={p.overview ? NO_EDGES : p.edges} nodeTypes={nodeTypes} edgeTypes={edgeTypes}
      onNodesChange={p.onNodesChange} onEdgesChange={p.onEdgesChange}
      onSelectionChange={p.onSelectionChange} onNodeDrag={p.onNodeDrag} onNodeDragStop={p.onNodeDragStop}
      onConnect={p.onConnect} onConnectStart={p.onConnectStart} onConnectEnd={p.onConnectEnd}
      onNodeDoubleClick={p.onNodeDoubleClick} onEdgeDoubleClick={p.onEdgeDoubleClick}
      onNodeContextMenu={p.onNodeContextMenu} onEdgeContextMenu={p.onEdgeContextMenu}
      onPaneContextMenu={p.onPaneContextMenu} onSelectionContextMenu={p.onSelectionContextMenu}
      onPaneClick={p.onPaneClick} onDragOver={p.onDragOver} onDrop={p.onDrop} onDoubleClick={p.onDoubleClick}
      snapToGrid={p.snap} snapGrid={[GRID, GRID]} onlyRenderVisibleElements={p.cull}
      deleteKeyCode={null} selectionKeyCode="Shift" multiSelectionKeyCode={["Meta", "Control"]}
      zoomOnDoubleClick={false} minZoom={0.05} maxZoom={2.5} connectionRadius={32}
      elevateNodesOnSelect={false} proOptions={{ hideAttribution: true }}
      // Arrow keys would move nodes without a drag stop, so without saving their position.
      disableKeyboardA11y
      defaultEdgeOptions={{ type: "queue" }}
    >
      <Background variant={BackgroundVariant.Dots} gap={GRID} size={1} className="fy-grid" />
      {p.overview && <OverviewLayer api={p.overviewApi} edges={p.edges} />}
      <Controls showInteractive={false} className="fy-controls" />
    </ReactFlow>
  );
});

/** The overview, outside the memoised view: it redraws when a run state changes
 *  (its colours), not on every counter tick. */
const MiniMapView = memo(function MiniMapView({ version }: { version: number }) {
  return (
    <MiniMap key={version % 2} pannable zoomable nodeColor={miniMapColor} nodeStrokeWidth={0}
             maskColor="var(--fy-minimap-mask)" className="fy-minimap" ariaLabel="Overview" />
  );
});

/** Keyboard shortcuts and the clipboard, outside text fields, dialogs and side panels. */
function useShortcuts() {
  const actions = useCanvasActions();
  const rf = useReactFlow<FlowNode, QueueEdge>();
  const { notify } = useApp();
  const notifyRef = useRef(notify);
  notifyRef.current = notify;
  useEffect(() => {
    let copyHandled = false;
    let pastePending = false;
    // Where the pointer is on the canvas (client coordinates), null when it is elsewhere:
    // a paste from the keyboard lands there.
    let pointer: { x: number; y: number } | null = null;
    const onPointer = (e: PointerEvent) => {
      const el = e.target as HTMLElement | null;
      pointer = el?.closest?.(".react-flow") && !el.closest(".react-flow__minimap, .react-flow__controls, .fy-menu")
        ? { x: e.clientX, y: e.clientY } : null;
    };
    const pasteAt = () => (pointer ? rf.screenToFlowPosition(pointer) : null);
    const outside = (target: EventTarget | null) => {
      const el = target as HTMLElement | null;
      return !isEditable(target) && !el?.closest?.(".side-panel, .fy-dialog, .fy-command, .fy-menu");
    };
    const textSelected = () => {
      const sel = window.getSelection();
      return !!sel && !sel.isCollapsed && sel.toString().length > 0;
    };
    const copied = (n: number) => notifyRef.current(`Copied ${n} component${n === 1 ? "" : "s"}`);
    const countOf = (data: ReturnType<typeof actions.copy>) => data ? data.processors.length + data.inputPorts.length
      + data.outputPorts.length + data.funnels.length + data.labels.length + data.processGroups.length + data.connections.length : 0;
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === "k") {
        e.preventDefault();
        actions.toggleCommandPalette();
        return;
      }
      if (!outside(e.target)) return;
      if (e.key === "Escape") { actions.openMenu(null); return; }
      if ((e.key === "Delete" || e.key === "Backspace") && !mod) {
        const ids = actions.selectedIds();
        if (ids.length) { e.preventDefault(); void actions.remove(ids); }
        return;
      }
      if (!mod) return;
      if (key === "a") { e.preventDefault(); actions.selectAll(); }
      else if ((key === "z" && e.shiftKey) || key === "y") { e.preventDefault(); void actions.redo(); }
      else if (key === "z") { e.preventDefault(); void actions.undo(); }
      else if (key === "c" && !textSelected()) {
        // The copy event normally follows and fills the system clipboard; if it does not, write it ourselves.
        copyHandled = false;
        window.setTimeout(() => {
          if (copyHandled) return;
          const data = actions.copy();
          if (!data) return;
          navigator.clipboard?.writeText(JSON.stringify(data)).catch(() => undefined);
          copied(countOf(data));
        }, 60);
      } else if (key === "v") {
        pastePending = true;
        window.setTimeout(() => {
          if (!pastePending) return;
          pastePending = false;
          void actions.pasteFromSystemClipboard(pasteAt());
        }, 60);
      }
    };
    const onCopy = (e: ClipboardEvent) => {
      if (!outside(e.target) || textSelected()) return;
      const data = actions.copy();
      if (!data) return;
      copyHandled = true;
      e.clipboardData?.setData("text/plain", JSON.stringify(data, null, 1));
      e.preventDefault();
      copied(countOf(data));
    };
    const onPaste = (e: ClipboardEvent) => {
      if (!outside(e.target)) return;
      pastePending = false;
      e.preventDefault();
      void actions.paste(parseClipboard(e.clipboardData?.getData("text/plain") ?? ""), pasteAt());
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("copy", onCopy);
    document.addEventListener("paste", onPaste);
    document.addEventListener("pointermove", onPointer, { passive: true });
    return () => {
      document.removeEventListener("pointermove", onPointer);
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("copy", onCopy);
      document.removeEventListener("paste", onPaste);
    };
  }, [actions, rf]);
}
