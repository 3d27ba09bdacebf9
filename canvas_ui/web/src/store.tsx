// Application state shared by the canvas and the side panels: the group being
// shown, the selection, which panel is open, the theme, and the live status
// of the group's components (from the status stream).
import { createContext, useContext } from "react";
import type { FlowDocument, Kind, ProcessorType, StatusEntry } from "./api";

/** What the side panel shows. */
export type Panel =
  | { kind: "configure"; componentKind: Kind; id: string }
  | { kind: "queue"; connectionId: string }
  | { kind: "preview"; connectionId: string }
  | { kind: "provenance"; componentId?: string; flowfileUuid?: string }
  | { kind: "lineage"; flowfileUuid: string }
  | { kind: "services"; groupId: string }
  | { kind: "parameters" }
  | { kind: "bulletins" }
  | { kind: "history"; componentId: string }
  | { kind: "flow-history" }
  | { kind: "cluster" }
  | null;

export type Theme = "system" | "light" | "dark";

export interface AppState {
  flow: FlowDocument | null;
  /** Reload the flow document (after an edit, or when the stream says components changed). */
  reload: () => Promise<void>;
  groupId: string;
  setGroupId: (id: string) => void;
  selection: string[];
  setSelection: (ids: string[]) => void;
  panel: Panel;
  openPanel: (panel: Panel) => void;
  theme: Theme;
  setTheme: (theme: Theme) => void;
  status: Map<string, StatusEntry>;
  processorTypes: ProcessorType[];
  serviceTypes: ProcessorType[];
  /** Show a short message (errors from the API included) at the bottom of the window. */
  notify: (message: string, level?: "info" | "error") => void;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const state = useContext(AppContext);
  if (!state) throw new Error("useApp outside <AppContext.Provider>");
  return state;
}
