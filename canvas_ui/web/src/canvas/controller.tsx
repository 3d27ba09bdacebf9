// The canvas controller: every action of the canvas (create, connect, run
// control, delete, copy/paste, undo/redo, layout, navigation, panels) in one
// stable object shared by the canvas, the toolbar, the palette, the context
// menu, the command palette and the keyboard shortcuts; plus the state of the
// canvas's dialogs and menus.
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useReactFlow, type Viewport, type XYPosition } from "@xyflow/react";
import { useApp, type AppState, type Panel, type Theme } from "../store";
import { makeActions } from "./actions";
import type { FlowNode, QueueEdge } from "./build";
import type { ClipboardData } from "./clipboard";
import { walkComponents, type NodeKind } from "./model";

/** The snap grid, in flow pixels. */
export { GRID } from "./build";

export type RunCommand = "RUNNING" | "STOPPED" | "ENABLED" | "DISABLED" | "RUN_ONCE";

export interface MenuTarget {
  /** What was right-clicked: a node, an edge, the pane, or a multi-selection. */
  type: "node" | "edge" | "pane" | "selection";
  ids: string[];
  kind?: NodeKind | "connection";
}

export interface MenuState { x: number; y: number; flow: XYPosition; target: MenuTarget }

export interface PendingConnection { source: string; target: string }

export interface ConfirmRequest {
  title: string; message: string; yes: string; danger?: boolean; resolve: (ok: boolean) => void;
}

export interface PromptOptions {
  /** What is wrong with a value (null: nothing): shown under the field, and the dialog stays open. */
  validate?: (value: string) => string | null;
  /** The field's name in test ids (`field-error-<field>`); "name" by default. */
  field?: string;
  /** The confirming button's text ("Save" by default). */
  ok?: string;
}

export interface PromptRequest extends PromptOptions {
  title: string; label: string; value: string; resolve: (value: string | null) => void;
}

export interface CanvasUI {
  menu: MenuState | null;
  addDialog: { at: XYPosition | null } | null;
  connect: PendingConnection | null;
  commandPalette: boolean;
  confirm: ConfirmRequest | null;
  prompt: PromptRequest | null;
  snap: boolean;
}

export interface CanvasActions {
  create(kind: NodeKind, at: XYPosition | null, type?: string): Promise<void>;
  /** Create a connection: true, or the error (a 400's is the dialog's to show by its fields). */
  connect(body: Record<string, unknown>): Promise<true | unknown>;
  runState(ids: string[] | null, state: RunCommand): Promise<void>;
  remove(ids: string[]): Promise<void>;
  emptyQueue(connectionId: string): Promise<void>;
  rename(id: string): Promise<void>;
  updateComponent(id: string, changes: Record<string, unknown>): Promise<boolean>;
  /** Save new positions as ONE edit (one undo step), named `description` ("Move …" by default). */
  savePositions(moves: { id: string; position: XYPosition }[], description?: string): Promise<void>;
  /** Move the components `ids` (of the group shown) into the group `groupId`, a child of it or its
   *  parent, as one edit; `positions` places them there (absent: they keep their coordinates). */
  moveTo(groupId: string, ids: string[], positions?: Map<string, XYPosition>): Promise<void>;
  /** "Move to parent group": `ids` out of the group shown, next to its node in the parent. */
  moveToParent(ids: string[]): Promise<void>;
  /** Save a connection's bend points (then reload the flow). */
  saveBends(id: string, bends: XYPosition[]): Promise<void>;
  /** Add a bend point where a connection was double-clicked. */
  addBend(id: string, at: XYPosition): Promise<void>;
  copy(ids?: string[]): ClipboardData | null;
  paste(data?: ClipboardData | null, at?: XYPosition | null): Promise<void>;
  pasteFromSystemClipboard(at?: XYPosition | null): Promise<void>;
  undo(): Promise<void>;
  redo(): Promise<void>;
  autoLayout(ids?: string[]): Promise<void>;
  align(side: "left" | "top"): Promise<void>;
  selectAll(): void;
  select(ids: string[]): void;
  selectedIds(): string[];
  fitView(): void;
  zoom(direction: 1 | -1): void;
  enterGroup(id: string): void;
  goUp(): void;
  focusComponent(id: string): void;
  configure(id: string): void;
  openPanel(panel: Panel): void;
  setTheme(theme: Theme): void;
  logout(): void;
  openMenu(menu: MenuState | null): void;
  openAddDialog(at: XYPosition | null): void;
  closeAddDialog(): void;
  requestConnection(pending: PendingConnection | null): void;
  toggleCommandPalette(open?: boolean): void;
  toggleSnap(): void;
  confirm(title: string, message: string, yes: string, danger?: boolean): Promise<boolean>;
  prompt(title: string, label: string, value: string, options?: PromptOptions): Promise<string | null>;
  closeConfirm(ok: boolean): void;
  closePrompt(value: string | null): void;
  /** For the canvas: the focus or viewport to apply once a group's nodes are shown. */
  takePendingFocus(): string | null;
  savedViewport(groupId: string): Viewport | null;
  rememberViewport(groupId: string, viewport: Viewport): void;
  kindOf(id: string): NodeKind | "connection" | null;
  /** Why Start cannot apply to `ids` (every one of them is an invalid processor), or null. */
  startBlocker(ids: string[]): string | null;
  /** The centre of the visible canvas, in flow coordinates. */
  viewCenter(): XYPosition;
}

const ActionsContext = createContext<CanvasActions | null>(null);
const UIContext = createContext<CanvasUI | null>(null);

export function useCanvasActions(): CanvasActions {
  const a = useContext(ActionsContext);
  if (!a) throw new Error("useCanvasActions outside <CanvasProvider>");
  return a;
}

export function useCanvasUI(): CanvasUI {
  const ui = useContext(UIContext);
  if (!ui) throw new Error("useCanvasUI outside <CanvasProvider>");
  return ui;
}

const SNAP_KEY = "flowyard.snap";

export function CanvasProvider({ children, onLogout }: { children: ReactNode; onLogout: () => void }) {
  const app = useApp();
  const appRef = useRef<AppState>(app);
  appRef.current = app;
  const rf = useReactFlow<FlowNode, QueueEdge>();
  const [ui, setUI] = useState<CanvasUI>(() => ({
    menu: null, addDialog: null, connect: null, commandPalette: false, confirm: null, prompt: null,
    snap: localStorage.getItem(SNAP_KEY) !== "off",
  }));
  const uiRef = useRef(ui);
  uiRef.current = ui;
  const revisions = useRef(new Map<string, number>());
  const memoryClipboard = useRef<ClipboardData | null>(null);
  const pendingFocus = useRef<string | null>(null);
  const viewports = useRef(new Map<string, Viewport>());
  const logoutRef = useRef(onLogout);
  logoutRef.current = onLogout;

  // Revisions as of the latest flow document; responses keep them fresh in between.
  useEffect(() => {
    if (!app.flow) return;
    const map = revisions.current;
    map.clear();
    for (const { id, component } of walkComponents(app.flow.rootGroup)) map.set(id, Number(component.revision ?? 0));
  }, [app.flow]);

  const actions = useMemo<CanvasActions>(() => makeActions({
    app: appRef, rf, ui: uiRef, setUI, revisions, memoryClipboard, pendingFocus, viewports, logout: logoutRef,
    snapKey: SNAP_KEY,
  }), [rf]);

  return (
    <ActionsContext.Provider value={actions}>
      <UIContext.Provider value={ui}>
        {children}
      </UIContext.Provider>
    </ActionsContext.Provider>
  );
}

/** Whether a keyboard event's target is a place to type (shortcuts stay out of it). */
export function isEditable(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}
