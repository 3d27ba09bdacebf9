// The overview layer: while a large group is zoomed far out, React Flow draws no node
// or connection (useOverviewMode hides them) and this one <canvas> draws them all
// (overview.ts). It sits under React Flow's pane, so panning, wheel zoom and the pane's
// clicks and menus stay React Flow's; Canvas.tsx asks `nodeAt` what was clicked. It
// redraws (at most once a frame) when the view, the nodes, the live status or the theme
// change, and shows the name and state of the node under the pointer.
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type Dispatch, type RefObject, type SetStateAction } from "react";
import { useStoreApi, type Node, type ReactFlowState } from "@xyflow/react";
import type { FlowNode, QueueEdge } from "./build";
import { buildScene, describe, drawOverview, nodeAt, readColours, stateOf, type OverviewNode, type Scene } from "./overview";
import { TINY_ZOOM } from "./nodes";
import { statusStore } from "./statusStore";

/** Below this zoom (nodes.tsx's TINY_ZOOM) a group of more than OVERVIEW_ABOVE nodes is
 *  drawn by the overview; a smaller one keeps React Flow's tiny boxes. */
export const OVERVIEW_ZOOM = TINY_ZOOM;
export const OVERVIEW_ABOVE = 1000;

/** What Canvas.tsx asks of the overview. */
export interface OverviewApi {
  /** The node drawn at a point of the page (client coordinates), or within a few pixels of it. */
  nodeAt(clientX: number, clientY: number): OverviewNode | null;
}

type State = ReactFlowState<FlowNode, QueueEdge>;

/** `items` with `hidden` set to `on` (the same array when nothing changes). */
export function withHidden<T extends Node>(items: T[], on: boolean): T[] {
  let changed = false;
  const next = items.map((item) => {
    if (!!item.hidden === on) return item;
    changed = true;
    return { ...item, hidden: on };
  });
  return changed ? next : items;
}

/**
 * Whether the overview shows, for the canvas: `nodeCount` is the group's (the canvas keeps it
 * current), `showOverview` hides or shows React Flow's nodes with it (the canvas gives React
 * Flow no edges while it shows). Zooming out past OVERVIEW_ZOOM shows it at once (hiding
 * nodes is cheap); zooming back in hands over once the zoom rests, so React Flow mounts only
 * the nodes of where the zoom ends, not those of every step on the way.
 */
export function useOverviewMode(setNodes: Dispatch<SetStateAction<FlowNode[]>>) {
  const store = useStoreApi<FlowNode, QueueEdge>();
  const [overview, setOverview] = useState(false);
  const overviewRef = useRef(false);
  const nodeCount = useRef(0);
  const overviewWanted = useCallback((zoom: number) => nodeCount.current > OVERVIEW_ABOVE && zoom < OVERVIEW_ZOOM, []);
  const showOverview = useCallback((on: boolean) => {
    if (overviewRef.current === on) return;
    overviewRef.current = on;
    setOverview(on);
    setNodes((prev) => withHidden(prev, on));
  }, [setNodes]);
  useEffect(() => {
    let timer = 0;
    const off = store.subscribe((s, prev) => {
      if (s.transform[2] === prev.transform[2]) return;
      window.clearTimeout(timer);
      if (overviewWanted(s.transform[2])) showOverview(true);
      else if (overviewRef.current) {
        timer = window.setTimeout(() => showOverview(overviewWanted(store.getState().transform[2])), 150);
      }
    });
    return () => { off(); window.clearTimeout(timer); };
  }, [store, overviewWanted, showOverview]);
  return { overview, overviewRef, nodeCount, overviewWanted, showOverview };
}

function toFlow(s: State, clientX: number, clientY: number) {
  const rect = s.domNode?.getBoundingClientRect() ?? { left: 0, top: 0 };
  const [x, y, zoom] = s.transform;
  return { x: (clientX - rect.left - x) / zoom, y: (clientY - rect.top - y) / zoom };
}

const WORDS: Record<string, string> = {
  processor: "Processor", "input-port": "Input port", "output-port": "Output port", funnel: "Funnel",
  "process-group": "Process group", label: "Note",
};

/** The overview's <canvas>, inside <ReactFlow>: its nodes are React Flow's (hidden), its
 *  connections `edges` (the canvas's, which React Flow is not given meanwhile). */
export function OverviewLayer({ api, edges }: { api: RefObject<OverviewApi | null>; edges: QueueEdge[] }) {
  const store = useStoreApi<FlowNode, QueueEdge>();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const tipRef = useRef<HTMLDivElement>(null);
  const edgesRef = useRef(edges);
  edgesRef.current = edges;
  const redraw = useRef<() => void>(() => undefined);
  useLayoutEffect(() => redraw.current(), [edges]);

  // Layout effect: the first drawing is in the same paint as the commit that shows the layer.
  useLayoutEffect(() => {
    const canvas = canvasRef.current;
    const ctx = canvas?.getContext("2d");
    if (!canvas || !ctx) return;
    let scene: Scene = { nodes: [], edges: [] };
    let sceneNodes: unknown = null;
    let sceneEdges: unknown = null;
    let colours = readColours(canvas);
    let frame = 0;
    let described = "";
    const current = () => {
      const s = store.getState();
      if (s.nodes !== sceneNodes || edgesRef.current !== sceneEdges) {
        scene = buildScene(s.nodeLookup, edgesRef.current);
        sceneNodes = s.nodes;
        sceneEdges = edgesRef.current;
      }
      return scene;
    };
    const draw = () => {
      frame = 0;
      const s = store.getState();
      const dpr = window.devicePixelRatio || 1;
      const w = Math.max(1, Math.round(s.width * dpr));
      const h = Math.max(1, Math.round(s.height * dpr));
      if (canvas.width !== w) canvas.width = w;
      if (canvas.height !== h) canvas.height = h;
      const [x, y, zoom] = s.transform;
      const drawn = drawOverview(ctx, current(), { x, y, zoom }, s.width, s.height, dpr, colours, (id) => statusStore.get(id));
      const text = describe(drawn);
      if (text !== described) {
        canvas.setAttribute("aria-label", text);
        described = text;
      }
      const live = drawn.live > 0 ? "yes" : "no";
      if (canvas.dataset.live !== live) canvas.dataset.live = live;
    };
    const request = () => {
      if (!frame) frame = requestAnimationFrame(draw);
    };
    draw();
    redraw.current = request;
    const offStore = store.subscribe((s, prev) => {
      if (s.transform !== prev.transform || s.nodes !== prev.nodes || s.width !== prev.width || s.height !== prev.height) request();
    });
    const offStatus = statusStore.onChange(request);
    const theme = new MutationObserver(() => {
      colours = readColours(canvas);
      request();
    });
    theme.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });

    const slack = (s: State) => 6 / s.transform[2];
    api.current = {
      nodeAt(clientX, clientY) {
        const s = store.getState();
        return nodeAt(current(), toFlow(s, clientX, clientY), slack(s));
      },
    };

    // The tooltip: the name and state of the node under the pointer, while nothing is dragged.
    const wrapper = canvas.closest(".react-flow");
    const tip = tipRef.current;
    const hideTip = () => {
      if (tip && !tip.hidden) tip.hidden = true;
    };
    const onMove = (e: PointerEvent) => {
      if (!tip) return;
      const onPane = (e.target as Element | null)?.closest?.(".react-flow__pane");
      if (!onPane || e.buttons) {
        hideTip();
        return;
      }
      const s = store.getState();
      const n = nodeAt(current(), toFlow(s, e.clientX, e.clientY), slack(s));
      if (!n) {
        hideTip();
        return;
      }
      const state = stateOf(n, statusStore.get(n.id));
      tip.textContent = `${WORDS[n.kind] ?? n.kind} ${n.kind === "funnel" ? "" : `“${n.name}”`}${state ? ` · ${state.toLowerCase()}` : ""}`;
      tip.dataset.id = n.id;
      const rect = s.domNode?.getBoundingClientRect() ?? { left: 0, top: 0 };
      tip.style.transform = `translate(${Math.round(e.clientX - rect.left + 14)}px, ${Math.round(e.clientY - rect.top + 16)}px)`;
      tip.hidden = false;
    };
    wrapper?.addEventListener("pointermove", onMove as EventListener, { passive: true });
    wrapper?.addEventListener("pointerleave", hideTip);
    wrapper?.addEventListener("pointerdown", hideTip);

    return () => {
      offStore();
      offStatus();
      theme.disconnect();
      cancelAnimationFrame(frame);
      api.current = null;
      redraw.current = () => undefined;
      wrapper?.removeEventListener("pointermove", onMove as EventListener);
      wrapper?.removeEventListener("pointerleave", hideTip);
      wrapper?.removeEventListener("pointerdown", hideTip);
    };
  }, [store, api]);

  return (
    <>
      <canvas ref={canvasRef} className="fy-overview" data-testid="canvas-overview" role="img" aria-label="Overview" />
      <div ref={tipRef} className="fy-overview-tip" data-testid="overview-tip" role="tooltip" hidden />
    </>
  );
}
