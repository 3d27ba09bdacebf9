// Every canvas action as a named command, for the command palette (Ctrl/Cmd-K).
import type { Panel } from "../store";
import type { CanvasActions } from "./controller";
import type { NodeKind } from "./model";

export interface Command {
  slug: string;
  title: string;
  section: string;
  shortcut?: string;
  keywords?: string;
  run: () => void | Promise<void>;
}

export interface CommandContext {
  groupId: string;
  selection: string[];
  /** The processor types, for "Add <type>" commands. */
  processorTypes: string[];
}

export function buildCommands(a: CanvasActions, ctx: CommandContext): Command[] {
  const sel = () => a.selectedIds();
  const one = () => sel()[0];
  const panel = (p: Panel) => () => a.openPanel(p);
  const add = (kind: NodeKind, type?: string) => () => a.create(kind, null, type);
  const commands: Command[] = [
    { slug: "start", title: "Start (selection, or the whole group)", section: "Run", run: () => a.runState(sel(), "RUNNING") },
    { slug: "stop", title: "Stop (selection, or the whole group)", section: "Run", run: () => a.runState(sel(), "STOPPED") },
    { slug: "enable", title: "Enable (selection, or the whole group)", section: "Run", run: () => a.runState(sel(), "ENABLED") },
    { slug: "disable", title: "Disable (selection, or the whole group)", section: "Run", run: () => a.runState(sel(), "DISABLED") },
    { slug: "run-once", title: "Run once (selected processors)", section: "Run", run: () => a.runState(sel(), "RUN_ONCE") },
    { slug: "start-group", title: "Start everything in this group", section: "Run", run: () => a.runState(null, "RUNNING") },
    { slug: "stop-group", title: "Stop everything in this group", section: "Run", run: () => a.runState(null, "STOPPED") },
    { slug: "undo", title: "Undo", section: "Edit", shortcut: "Ctrl Z", run: () => a.undo() },
    { slug: "redo", title: "Redo", section: "Edit", shortcut: "Ctrl Shift Z", run: () => a.redo() },
    { slug: "copy", title: "Copy selection", section: "Edit", shortcut: "Ctrl C", run: () => {
      const data = a.copy();
      if (data) navigator.clipboard?.writeText(JSON.stringify(data)).catch(() => undefined);
    } },
    { slug: "paste", title: "Paste", section: "Edit", shortcut: "Ctrl V", run: () => a.pasteFromSystemClipboard(null) },
    { slug: "delete", title: "Delete selection", section: "Edit", shortcut: "Delete", run: () => a.remove(sel()) },
    { slug: "select-all", title: "Select all", section: "Edit", shortcut: "Ctrl A", run: () => a.selectAll() },
    { slug: "move-to-parent", title: "Move selection to parent group", section: "Edit", run: () => a.moveToParent(sel()) },
    { slug: "rename", title: "Rename selected component", section: "Edit", run: () => { const id = one(); if (id) return a.rename(id); } },
    { slug: "configure", title: "Configure selected component", section: "Edit", run: () => { const id = one(); if (id) a.configure(id); } },
    { slug: "add-processor", title: "Add processor…", section: "Add", keywords: "new create", run: () => a.openAddDialog(null) },
    { slug: "add-input-port", title: "Add input port", section: "Add", run: add("input-port") },
    { slug: "add-output-port", title: "Add output port", section: "Add", run: add("output-port") },
    { slug: "add-funnel", title: "Add funnel", section: "Add", run: add("funnel") },
    { slug: "add-process-group", title: "Add process group", section: "Add", run: add("process-group") },
    { slug: "add-label", title: "Add label", section: "Add", run: add("label") },
    { slug: "auto-layout", title: "Auto-layout (selection, or the whole group)", section: "Arrange", run: () => a.autoLayout(sel()) },
    { slug: "align-left", title: "Align selection left", section: "Arrange", run: () => a.align("left") },
    { slug: "align-top", title: "Align selection top", section: "Arrange", run: () => a.align("top") },
    { slug: "toggle-snap", title: "Snap to grid on/off", section: "Arrange", run: () => a.toggleSnap() },
    { slug: "fit-view", title: "Fit view", section: "View", run: () => a.fitView() },
    { slug: "zoom-in", title: "Zoom in", section: "View", run: () => a.zoom(1) },
    { slug: "zoom-out", title: "Zoom out", section: "View", run: () => a.zoom(-1) },
    { slug: "go-up", title: "Leave group (go to parent)", section: "View", run: () => a.goUp() },
    { slug: "search", title: "Search components", section: "View", shortcut: "/", run: () => document.querySelector<HTMLInputElement>("[data-testid=search-input]")?.focus() },
    { slug: "open-provenance", title: "Open data provenance", section: "Panels", run: panel({ kind: "provenance" }) },
    { slug: "open-services", title: "Open controller services", section: "Panels", run: panel({ kind: "services", groupId: ctx.groupId }) },
    { slug: "open-parameters", title: "Open parameter contexts", section: "Panels", run: panel({ kind: "parameters" }) },
    { slug: "open-bulletins", title: "Open bulletin board", section: "Panels", run: panel({ kind: "bulletins" }) },
    { slug: "open-flow-history", title: "Open flow configuration history", section: "Panels", keywords: "edits changes audit undo",
      run: panel({ kind: "flow-history" }) },
    { slug: "open-cluster", title: "Open cluster (nodes, states, disconnect, offload)", section: "Panels",
      keywords: "nodes primary coordinator", run: panel({ kind: "cluster" }) },
    { slug: "status-history", title: "Status history of selected component", section: "Panels", run: () => { const id = one(); if (id) a.openPanel({ kind: "history", componentId: id }); } },
    { slug: "list-queue", title: "List queue of selected connection", section: "Panels", run: () => { const id = one(); if (id && a.kindOf(id) === "connection") a.openPanel({ kind: "queue", connectionId: id }); } },
    { slug: "theme-system", title: "Theme: follow the system", section: "Theme", run: () => a.setTheme("system") },
    { slug: "theme-light", title: "Theme: light", section: "Theme", run: () => a.setTheme("light") },
    { slug: "theme-dark", title: "Theme: dark", section: "Theme", run: () => a.setTheme("dark") },
    { slug: "logout", title: "Log out", section: "Session", run: () => a.logout() },
  ];
  for (const type of ctx.processorTypes) {
    commands.push({ slug: `add-${type}`, title: `Add ${type}`, section: "Add processor", run: add("processor", type) });
  }
  return commands;
}
