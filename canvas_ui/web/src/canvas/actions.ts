// The canvas's actions, built once per canvas from its dependencies (the app
// state, the React Flow instance, the dialog state and a few refs). Every action
// reads the latest app state through `app.current`, so the object stays stable.
import type { MutableRefObject } from "react";
import type { ReactFlowInstance, Viewport, XYPosition } from "@xyflow/react";
import { api, ApiError, request, type Connection, type EditItem, type Kind, type ProcessGroup } from "../api";
import { checkName } from "../fields";
import type { AppState } from "../store";
import { makeArranging } from "./arrange";
import { GRID, SIZES, type FlowNode, type QueueEdge } from "./build";
import { clipboardBounds, copySelection, parseClipboard, pasteInto, type ClipboardData } from "./clipboard";
import type { CanvasActions, CanvasUI, PromptOptions, RunCommand } from "./controller";
import { formatBytes, formatCount } from "./format";
import { componentLabel, connectionLabel, displayName, findGroup, locate, type NodeKind } from "./model";
import { statusStore, num } from "./statusStore";

function message(error: unknown): string {
  return error instanceof ApiError ? error.message : String(error);
}

const DEFAULT_NAMES: Partial<Record<NodeKind, string>> = {
  "input-port": "Input port", "output-port": "Output port", "process-group": "Process group",
};

export interface ActionDeps {
  app: MutableRefObject<AppState>;
  rf: ReactFlowInstance<FlowNode, QueueEdge>;
  ui: MutableRefObject<CanvasUI>;
  setUI: (update: (s: CanvasUI) => CanvasUI) => void;
  revisions: MutableRefObject<Map<string, number>>;
  memoryClipboard: MutableRefObject<ClipboardData | null>;
  pendingFocus: MutableRefObject<string | null>;
  viewports: MutableRefObject<Map<string, Viewport>>;
  logout: MutableRefObject<() => void>;
  snapKey: string;
}

export function makeActions(deps: ActionDeps): CanvasActions {
  const { app: appRef, rf, ui: uiRef, setUI, revisions, memoryClipboard, pendingFocus, viewports, logout: logoutRef } = deps;
  const group = (): ProcessGroup | null => {
    const { flow, groupId } = appRef.current;
    return flow ? findGroup(flow.rootGroup, groupId) : null;
  };
  const notify = (text: string, level: "info" | "error" = "info") => appRef.current.notify(text, level);
  const reload = () => appRef.current.reload().catch((e) => notify(message(e), "error"));
  const kindOf = (id: string): NodeKind | "connection" | null => {
    const flow = appRef.current.flow;
    const node = rf.getNode(id);
    if (node) return node.data.kind;
    if (rf.getEdge(id)) return "connection";
    return flow ? locate(flow, id)?.kind ?? null : null;
  };
  const rev = (id: string) => revisions.current.get(id) ?? 0;
  const failed = async (error: unknown, what: string) => {
    if (error instanceof ApiError && error.status === 409) {
      notify(`${what}: it was changed meanwhile; the flow has been reloaded`, "error");
      await reload();
    } else {
      notify(`${what}: ${message(error)}`, "error");
    }
  };
  const setUi = (patch: Partial<CanvasUI>) => setUI((s) => ({ ...s, ...patch }));
  const snapPoint = (p: XYPosition) => (uiRef.current.snap
    ? { x: Math.round(p.x / GRID) * GRID, y: Math.round(p.y / GRID) * GRID } : { x: Math.round(p.x), y: Math.round(p.y) });
  const viewCenter = () => {
    const el = document.querySelector<HTMLElement>(".react-flow");
    const rect = el?.getBoundingClientRect() ?? { left: 0, top: 0, width: 800, height: 600 };
    return rf.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 });
  };
  const selectedIds = () => [
    ...rf.getNodes().filter((n) => n.selected).map((n) => n.id),
    ...rf.getEdges().filter((e) => e.selected).map((e) => e.id),
  ];
  const select = (ids: string[]) => {
    const wanted = new Set(ids);
    rf.setNodes((nodes) => nodes.map((n) => (n.selected === wanted.has(n.id) ? n : { ...n, selected: wanted.has(n.id) })));
    rf.setEdges((edges) => edges.map((e) => (!!e.selected === wanted.has(e.id) ? e : { ...e, selected: wanted.has(e.id) })));
    appRef.current.setSelection(ids);
  };
  /** Selects `ids` once their nodes are on the canvas (they appear a render or two after a reload). */
  const selectWhenShown = (ids: string[], tries = 30) => {
    requestAnimationFrame(() => {
      if (tries > 0 && ids.some((id) => !rf.getNode(id) && !rf.getEdge(id))) selectWhenShown(ids, tries - 1);
      else select(ids);
    });
  };
  /** Top-left for a `size` box near `center` (snapped) that overlaps no node on the canvas:
   *  the free grid spot nearest the centre, searching outward in GRID steps. */
  const freeSpot = (center: XYPosition, size: { width: number; height: number }) => {
    const origin = snapPoint({ x: center.x - size.width / 2, y: center.y - size.height / 2 });
    const gap = GRID; // keep a little air around the new node
    const boxes = rf.getNodes().map((n) => ({
      x: n.position.x, y: n.position.y,
      w: n.measured?.width ?? n.width ?? 200, h: n.measured?.height ?? n.height ?? 100,
    }));
    // Connection labels are drawn above the nodes: a node under one would be hidden.
    document.querySelectorAll<HTMLElement>(".react-flow .fy-edge-label").forEach((el) => {
      const r = el.getBoundingClientRect();
      const tl = rf.screenToFlowPosition({ x: r.left, y: r.top });
      const br = rf.screenToFlowPosition({ x: r.right, y: r.bottom });
      boxes.push({ x: tl.x, y: tl.y, w: br.x - tl.x, h: br.y - tl.y });
    });
    const free = (p: XYPosition) => !boxes.some((b) => p.x - gap < b.x + b.w && p.x + size.width + gap > b.x
      && p.y - gap < b.y + b.h && p.y + size.height + gap > b.y);
    if (free(origin)) return origin;
    const R = 48;
    const offsets: [number, number][] = [];
    for (let dx = -R; dx <= R; dx++) for (let dy = -R; dy <= R; dy++) if (dx || dy) offsets.push([dx, dy]);
    // Nearest first; on ties prefer right of / below the centre.
    offsets.sort((a, b) => (a[0] ** 2 + a[1] ** 2) - (b[0] ** 2 + b[1] ** 2) || b[0] - a[0] || b[1] - a[1]);
    for (const [dx, dy] of offsets) {
      const p = { x: origin.x + dx * GRID, y: origin.y + dy * GRID };
      if (free(p)) return p;
    }
    return origin;
  };
  const confirm = (title: string, text: string, yes: string, danger = false) =>
    new Promise<boolean>((resolve) => setUi({ confirm: { title, message: text, yes, danger, resolve } }));
  const prompt = (title: string, label: string, value: string, options: PromptOptions = {}) =>
    new Promise<string | null>((resolve) => setUi({ prompt: { ...options, title, label, value, resolve } }));
  const queued = (c: Connection) => {
    const entry = statusStore.get(c.identifier);
    return entry ? num(entry, "queuedCount") : c.queuedCount;
  };
  const queuedBytes = (c: { identifier: string; queuedBytes: number }) =>
    num(statusStore.get(c.identifier), "queuedBytes", c.queuedBytes);
  const flowfiles = (count: number, bytes: number) =>
    `${formatCount(count)} queued flowfile${count === 1 ? "" : "s"} (${formatBytes(bytes)})`;
  const updateComponent = async (id: string, changes: Record<string, unknown>) => {
    const kind = kindOf(id);
    if (!kind) return false;
    try {
      const result = await api.update<{ revision: number }>(kind, id, rev(id), changes);
      revisions.current.set(id, result.revision);
      return true;
    } catch (e) {
      await failed(e, "Saving failed");
      return false;
    }
  };
  const { whatOf, applyEdits, savePositions, moveTo, moveToParent, autoLayout, align } = makeArranging({
    app: appRef, rf, revisions, kindOf, group, notify, reload, failed,
  });
  const copy = (ids?: string[]) => {
    const flow = appRef.current.flow;
    const g = group();
    if (!flow || !g) return null;
    const data = copySelection(flow, g, new Set(ids ?? selectedIds()));
    if (data) memoryClipboard.current = data;
    return data;
  };
  const paste = async (data?: ClipboardData | null, at?: XYPosition | null) => {
    const clip = data ?? memoryClipboard.current;
    if (!clip) {
      notify("Nothing to paste: copy components first (Ctrl-C)");
      return;
    }
    const { groupId } = appRef.current;
    // At the pointer: the copies' top-left corner where it points. Without one (the pointer
    // is off the canvas, or the command palette pasted): the copies centred in the view.
    let where: XYPosition;
    if (at) {
      where = snapPoint(at);
    } else {
      const b = clipboardBounds(clip);
      const center = viewCenter();
      where = snapPoint({ x: center.x - (b.x2 - b.x) / 2, y: center.y - (b.y2 - b.y) / 2 });
    }
    try {
      const created = await pasteInto(groupId, clip, where);
      await appRef.current.reload();
      selectWhenShown(created);
      notify(`Pasted ${created.length} component${created.length === 1 ? "" : "s"}`);
    } catch (e) {
      await failed(e, "Paste failed");
      await reload();
    }
  };
  /** A component's name for a message line. */
  const nameOf = (id: string) => {
    const flow = appRef.current.flow;
    const found = flow ? locate(flow, id) : null;
    return found ? displayName(found.kind, found.component) : id;
  };
  /** The server's reason without its `Type[id]: ` and `not started: ` prefixes (the line names the component). */
  const reason = (text: string) => text.replace(/^\S+\[[^\]]*\]:\s*/, "").replace(/^not started:\s*/, "");
  /** One line per component, at most `max`, for a toast. */
  const perLine = (failures: [string, string][], max = 8) => {
    const lines = failures.slice(0, max).map(([id, text]) => {
      const name = nameOf(id);
      const why = reason(text);
      return why.startsWith(`${name} `) ? why : `${name}: ${why}`; // "Gen is invalid: ..." names it already
    });
    if (failures.length > max) lines.push(`… and ${failures.length - max} more`);
    return lines.join("\n");
  };
  /** Why a processor cannot start (null: it can): its validation errors, live when the status stream knows. */
  const invalidReason = (id: string): string | null => {
    const node = rf.getNode(id);
    if (!node || node.data.kind !== "processor") return null;
    const entry = statusStore.get(id);
    const errors = (node.data.doc as { validationErrors?: string[] }).validationErrors ?? [];
    if (entry?.valid === true) return null;
    if (entry?.valid === false || errors.length) return errors.length ? errors.join("\n") : "it is invalid";
    return null;
  };
  const runOne = async (ids: string[], state: RunCommand) => {
    const g = group();
    const targets = ids.filter((id) => {
      const k = kindOf(id);
      return k && k !== "label" && k !== "connection" && k !== "funnel";
    });
    if (state === "RUN_ONCE") {
      const processors = ids.length ? targets.filter((id) => kindOf(id) === "processor")
        : (g?.processors.map((p) => p.identifier) ?? []);
      if (!processors.length) {
        notify("Run once works on processors: select one or more", "error");
        return;
      }
      const errors: [string, string][] = [];
      for (const id of processors) {
        await api.runState("processor", id, "RUN_ONCE").catch((e) => errors.push([id, message(e)]));
      }
      if (errors.length) notify(`Could not run once:\n${perLine(errors)}`, "error");
      return;
    }
    if (ids.length && !targets.length) {
      notify("Nothing in the selection can be started or stopped", "error");
      return;
    }
    const result = ids.length
      ? await api.runStates(targets, state)
      : await request<{ changed: string[]; failed: Record<string, string> }>(
        "PUT", `/api/process-groups/${encodeURIComponent(appRef.current.groupId)}/run-state`, { state });
    const failures = Object.entries(result.failed ?? {});
    const verb = { RUNNING: "start", STOPPED: "stop", ENABLED: "enable", DISABLED: "disable", RUN_ONCE: "run" }[state];
    if (failures.length) {
      notify(`Could not ${verb} ${failures.length === 1 ? "1 component" : `${failures.length} components`}:\n${perLine(failures)}`, "error");
    }
  };

  const enterGroup = (id: string) => {
    const current = appRef.current.groupId;
    if (current) viewports.current.set(current, rf.getViewport());
    appRef.current.setSelection([]);
    appRef.current.setGroupId(id);
  };
  const rename = async (id: string) => {
    const node = rf.getNode(id);
    if (!node) return;
    const doc = node.data.doc as { name?: string; label?: string };
    const isLabel = node.data.kind === "label";
    const value = await prompt(isLabel ? "Edit label" : "Rename", isLabel ? "Text" : "Name", (isLabel ? doc.label : doc.name) ?? "",
      isLabel ? { field: "label" } : { validate: (v) => checkName(v) });
    if (value === null) return;
    if (await updateComponent(id, isLabel ? { label: value } : { name: value })) await reload();
  };

  const saveBends = async (id: string, bends: XYPosition[]) => {
    await updateComponent(id, { bends: bends.map((b) => ({ x: Math.round(b.x), y: Math.round(b.y) })) });
    await reload();
  };
  const addBend = async (id: string, at: XYPosition) => {
    const edge = rf.getEdge(id);
    const s = edge && rf.getInternalNode(edge.source);
    const t = edge && rf.getInternalNode(edge.target);
    if (!edge?.data || !s || !t || edge.source === edge.target) return;
    const mid = (n: typeof s) => ({
      x: n.internals.positionAbsolute.x + (n.measured?.width ?? n.width ?? 0) / 2,
      y: n.internals.positionAbsolute.y + (n.measured?.height ?? n.height ?? 0) / 2,
    });
    const bends = [...(edge.data.conn.bends ?? [])];
    const points = [mid(s), ...bends, mid(t)];
    // Insert into the segment nearest to the point.
    let best = 0;
    let bestDistance = Infinity;
    for (let i = 0; i < points.length - 1; i++) {
      const a = points[i];
      const b = points[i + 1];
      const len2 = (b.x - a.x) ** 2 + (b.y - a.y) ** 2 || 1;
      const k = Math.max(0, Math.min(1, ((at.x - a.x) * (b.x - a.x) + (at.y - a.y) * (b.y - a.y)) / len2));
      const d = Math.hypot(at.x - (a.x + k * (b.x - a.x)), at.y - (a.y + k * (b.y - a.y)));
      if (d < bestDistance) { bestDistance = d; best = i; }
    }
    bends.splice(best, 0, snapPoint(at));
    await saveBends(id, bends);
  };

  return {
    kindOf,
    startBlocker(ids) {
      if (!ids.length) return null;
      const reasons = ids.map(invalidReason);
      if (!reasons.every(Boolean)) return null;
      return ids.length === 1 ? `Cannot start ${nameOf(ids[0])}: it is invalid.\n${reasons[0]}`
        : "Cannot start: every selected component is invalid (configure them first).";
    },
    rename,
    saveBends,
    addBend,
    viewCenter,
    selectedIds,
    select,
    confirm,
    prompt,
    updateComponent,
    savePositions,
    moveTo,
    moveToParent,
    autoLayout,
    align,
    copy,
    paste,

    async create(kind, at, type) {
      const size = kind === "label" ? { width: 240, height: 120 } : SIZES[kind];
      // Dropped at a point: there. Added without one (palette double-click, command palette,
      // Add dialog): the free spot nearest the middle of the view, not on top of what is there.
      const position = at
        ? snapPoint({ x: at.x - size.width / 2, y: at.y - size.height / 2 })
        : freeSpot(viewCenter(), size);
      const body: Record<string, unknown> = { position, parentGroupId: appRef.current.groupId };
      if (kind === "processor") Object.assign(body, { type, name: type });
      else if (kind === "label") Object.assign(body, { label: "", width: 240, height: 120, style: { "background-color": "#fff4c2", "font-size": "13px" } });
      else if (kind !== "funnel") {
        const g = group();
        const taken = new Set([...(g?.inputPorts ?? []), ...(g?.outputPorts ?? []), ...(g?.processGroups ?? [])].map((c) => c.name));
        let name = DEFAULT_NAMES[kind]!;
        for (let i = 2; taken.has(name); i++) name = `${DEFAULT_NAMES[kind]} ${i}`;
        if (kind === "process-group") {
          // A group is named for what it does: ask (the default is ready to accept).
          const chosen = await prompt("New process group", "Name", name,
            { validate: (v) => checkName(v, "group name"), ok: "Add group" });
          if (chosen === null) return;
          name = chosen.trim();
        }
        body.name = name;
      }
      try {
        const created = await api.create<{ identifier: string; revision: number }>(kind as Kind, body);
        revisions.current.set(created.identifier, created.revision);
        await appRef.current.reload();
        selectWhenShown([created.identifier]);
      } catch (e) {
        notify(`Adding failed: ${message(e)}`, "error");
      }
    },

    async connect(body) {
      try {
        await api.create("connection", { ...body, parentGroupId: appRef.current.groupId });
        await reload();
        return true;
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 400)) notify(`Connecting failed: ${message(e)}`, "error");
        return e; // the dialog shows a 400's errors next to its fields
      }
    },

    async runState(ids, state) {
      try {
        await runOne(ids ?? [], state);
      } catch (e) {
        notify(message(e), "error");
      }
      await reload();
    },

    async remove(ids) {
      const g = group();
      if (!g || !ids.length) return;
      const chosen = new Set(ids);
      // A component goes with its connections (the API refuses it otherwise),
      // and a group with the connections that touch its ports.
      const ends = new Set(ids);
      for (const child of g.processGroups) {
        if (chosen.has(child.identifier)) for (const p of [...child.inputPorts, ...child.outputPorts]) ends.add(p.identifier);
      }
      const connections = g.connections.filter((c) => chosen.has(c.identifier) || ends.has(c.source.id) || ends.has(c.destination.id));
      const others = ids.filter((id) => kindOf(id) !== "connection" && kindOf(id) !== null);
      const holding = connections.filter((c) => queued(c) > 0);
      const holdingGroups = g.processGroups.filter((c) => chosen.has(c.identifier) && num(statusStore.get(c.identifier), "queuedCount", c.queuedCount) > 0);
      const total = holding.reduce((sum, c) => sum + queued(c), 0)
        + holdingGroups.reduce((sum, c) => sum + num(statusStore.get(c.identifier), "queuedCount", c.queuedCount), 0);
      let drop = false;
      if (total > 0) {
        // Say exactly what goes: the components, and each queue's data.
        const flow = appRef.current.flow!;
        const bytes = holding.reduce((sum, c) => sum + queuedBytes(c), 0)
          + holdingGroups.reduce((sum, c) => sum + queuedBytes(c), 0);
        const named = ids.map((id) => {
          const found = locate(flow, id);
          if (!found) return id;
          return found.kind === "connection" ? `connection ${connectionLabel(flow, found.component as unknown as Connection)}`
            : componentLabel(found.kind, found.component);
        });
        let text: string;
        if (ids.length === 1 && holding.length === 1 && holding[0].identifier === ids[0]) {
          text = `Delete ${named[0]} and drop its ${flowfiles(total, bytes)}?`;
        } else {
          const what = named.length <= 3 ? named.join(", ") : `${named.slice(0, 3).join(", ")} and ${named.length - 3} more`;
          const lines = [
            ...holding.map((c) => `• connection ${connectionLabel(flow, c)}: ${flowfiles(queued(c), queuedBytes(c))}`),
            ...holdingGroups.map((g) => `• inside process group '${g.name}': ${flowfiles(
              num(statusStore.get(g.identifier), "queuedCount", g.queuedCount), queuedBytes(g))}`),
          ];
          text = `Delete ${what} and drop ${flowfiles(total, bytes)}?\n${lines.join("\n")}`;
        }
        drop = await confirm("Delete and drop queued data?", `${text}\nThis cannot be undone.`,
          `Drop ${formatCount(total)} and delete`, true);
        if (!drop) return;
      }
      // One edit (one undo step): the connections first, then labels, processors, funnels
      // and ports, then groups (each item sees the flow the ones before it left).
      const order = (id: string) => (kindOf(id) === "process-group" ? 1 : 0);
      const items: EditItem[] = [
        ...connections.map((c): EditItem => ({ action: "delete", kind: "connection", id: c.identifier, revision: rev(c.identifier), drop })),
        ...[...others].sort((a, b) => order(a) - order(b))
          .map((id): EditItem => ({ action: "delete", kind: kindOf(id) as Kind, id, revision: rev(id), drop })),
      ];
      const named = others.length ? others : connections.map((c) => c.identifier);
      if (await applyEdits(`Delete ${whatOf(named)}`, items, "Deleting failed")) appRef.current.setSelection([]);
      await reload();
    },

    async emptyQueue(connectionId) {
      const flow = appRef.current.flow;
      const conn = flow ? locate(flow, connectionId)?.component as unknown as Connection | undefined : undefined;
      const count = num(statusStore.get(connectionId), "queuedCount", conn?.queuedCount ?? 0);
      const bytes = num(statusStore.get(connectionId), "queuedBytes", conn?.queuedBytes ?? 0);
      const which = conn && flow ? `connection ${connectionLabel(flow, conn)}` : "this connection";
      const ok = await confirm("Empty queue?",
        `Drop the ${flowfiles(count, bytes)} of ${which}? Each gets a DROP provenance event; this cannot be undone.`,
        `Drop ${formatCount(count)} flowfile${count === 1 ? "" : "s"}`, true);
      if (!ok) return;
      try {
        const result = await api.emptyQueue(connectionId);
        notify(`Dropped ${result.dropped.toLocaleString("en-US")} flowfile${result.dropped === 1 ? "" : "s"}`);
      } catch (e) {
        notify(message(e), "error");
      }
      await reload();
    },

    async pasteFromSystemClipboard(at) {
      let data: ClipboardData | null = null;
      try {
        data = parseClipboard(await navigator.clipboard.readText());
      } catch {
        data = null;
      }
      await paste(data ?? memoryClipboard.current, at ?? null);
    },

    async undo() {
      try {
        const r = await api.undo();
        notify(`Undone: ${r.undone}`);
      } catch (e) {
        notify(`Undo: ${message(e)}`, "error");
      }
      await reload();
    },

    async redo() {
      try {
        const r = await api.redo();
        notify(`Redone: ${r.redone}`);
      } catch (e) {
        notify(`Redo: ${message(e)}`, "error");
      }
      await reload();
    },

    selectAll() {
      const ids = [...rf.getNodes().map((n) => n.id), ...rf.getEdges().map((e) => e.id)];
      select(ids);
    },

    fitView() {
      // Hidden nodes too: the overview of a large group hides them all (Overview.tsx).
      rf.fitView({ padding: 0.15, maxZoom: 1, duration: 250, includeHiddenNodes: true });
    },

    zoom(direction) {
      if (direction > 0) rf.zoomIn({ duration: 150 });
      else rf.zoomOut({ duration: 150 });
    },

    enterGroup,

    goUp() {
      const { flow, groupId } = appRef.current;
      const parent = flow ? locate(flow, groupId)?.group : null;
      if (parent && parent.identifier !== groupId) enterGroup(parent.identifier);
    },

    focusComponent(id) {
      const flow = appRef.current.flow;
      const found = flow ? locate(flow, id) : null;
      if (!found) return;
      if (found.group.identifier !== appRef.current.groupId) {
        pendingFocus.current = id;
        enterGroup(found.group.identifier);
        return;
      }
      select([id]);
      const node = rf.getNode(id);
      const edge = node ? null : rf.getEdge(id);
      let target = node ?? (edge ? rf.getNode(edge.source) : null);
      if (!node && !edge && found.kind === "connection") {
        // The overview of a large group gives React Flow no connections: zoom onto its source
        // and select it once React Flow has it again.
        const conn = found.component as unknown as Connection;
        target = rf.getNode(conn.source.id) ?? rf.getNode(conn.destination.id) ?? null;
        selectWhenShown([id], 120);
      }
      if (target) {
        const w = target.width ?? target.measured?.width ?? 0;
        const h = target.height ?? target.measured?.height ?? 0;
        rf.setCenter(target.position.x + w / 2, target.position.y + h / 2, { zoom: Math.max(rf.getZoom(), 0.9), duration: 300 });
      }
    },

    takePendingFocus() {
      const id = pendingFocus.current;
      pendingFocus.current = null;
      return id;
    },
    savedViewport: (groupId) => viewports.current.get(groupId) ?? null,
    rememberViewport: (groupId, viewport) => void viewports.current.set(groupId, viewport),

    configure(id) {
      const kind = kindOf(id);
      if (!kind) return;
      if (kind === "label") {
        void rename(id);
        return;
      }
      appRef.current.openPanel({ kind: "configure", componentKind: kind, id });
    },
    openPanel: (panel) => appRef.current.openPanel(panel),
    setTheme: (theme) => appRef.current.setTheme(theme),
    logout: () => logoutRef.current(),

    openMenu: (menu) => setUi({ menu }),
    openAddDialog: (at) => setUi({ addDialog: { at }, menu: null }),
    closeAddDialog: () => setUi({ addDialog: null }),
    requestConnection: (connect) => setUi({ connect }),
    toggleCommandPalette: (open) => setUI((s) => ({ ...s, commandPalette: open ?? !s.commandPalette, menu: null })),
    toggleSnap: () => setUI((s) => {
      localStorage.setItem(deps.snapKey, s.snap ? "off" : "on");
      return { ...s, snap: !s.snap };
    }),
    closeConfirm(ok) {
      uiRef.current.confirm?.resolve(ok);
      setUi({ confirm: null });
    },
    closePrompt(value) {
      uiRef.current.prompt?.resolve(value);
      setUi({ prompt: null });
    },
  };
}
