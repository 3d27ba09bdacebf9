// The right-hand panel: shows whatever `useApp().panel` names (configure, queue, preview,
// provenance, lineage, services, parameters, bulletins, history), with a back button to
// the panel it was opened from, Escape to close, and a drag handle to resize it.
//
// Deep links: the location hash opens a panel, and the open panel is written back to the
// hash (only when the hash is empty or already a panel link), so a reload keeps it:
//   #panel=configure&componentKind=processor&id=generate
//   #panel=configure&componentKind=controller-service&id=cache
//   #panel=queue&connectionId=merge-log          #panel=preview&connectionId=merge-log
//   #panel=provenance[&componentId=generate][&flowfileUuid=…]
//   #panel=lineage&flowfileUuid=…                 #panel=history&componentId=generate
//   #panel=services[&groupId=…]  (default: the group on screen)
//   #panel=parameters                             #panel=bulletins
import { useCallback, useEffect, useRef, useState } from "react";
import type { Kind } from "../api";
import { useApp, type Panel } from "../store";
import { BulletinsPanel } from "./BulletinsPanel";
import { ConfigurePanel } from "./ConfigurePanel";
import { PanelNavContext } from "./frame";
import { HistoryPanel } from "./HistoryPanel";
import { LineagePanel } from "./LineagePanel";
import { ParametersPanel } from "./ParametersPanel";
import { PreviewPanel } from "./PreviewPanel";
import { ProvenancePanel } from "./ProvenancePanel";
import { QueuePanel } from "./QueuePanel";
import { ServicesPanel } from "./ServicesPanel";
import "./panels.css";

const WIDTH_KEY = "flowyard.panelWidth";
const KINDS: Kind[] = ["processor", "connection", "funnel", "input-port", "output-port", "label", "controller-service",
  "process-group", "parameter-context"];

/** The panel a `#panel=…` hash names, or undefined when the hash is not a (valid) panel link. */
export function panelFromHash(hash: string): Panel | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const kind = params.get("panel");
  const get = (name: string) => params.get(name) ?? "";
  switch (kind) {
    case "configure": {
      const componentKind = (get("componentKind") || "processor") as Kind;
      return KINDS.includes(componentKind) && get("id") ? { kind, componentKind, id: get("id") } : undefined;
    }
    case "queue":
    case "preview":
      return get("connectionId") ? { kind, connectionId: get("connectionId") } : undefined;
    case "provenance":
      return { kind, componentId: get("componentId") || undefined, flowfileUuid: get("flowfileUuid") || undefined };
    case "lineage":
      return get("flowfileUuid") ? { kind, flowfileUuid: get("flowfileUuid") } : undefined;
    case "services":
      return { kind, groupId: get("groupId") };
    case "parameters":
    case "bulletins":
      return { kind };
    case "history":
      return get("componentId") ? { kind, componentId: get("componentId") } : undefined;
    default:
      return undefined;
  }
}

/** The `#panel=…` hash for a panel ("" for none). */
export function hashForPanel(panel: Panel): string {
  if (!panel) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(panel)) {
    if (value === undefined || value === "") continue;
    params.set(key === "kind" ? "panel" : key, String(value));
  }
  // "panel" first, for readability.
  const rest = [...params.entries()].filter(([k]) => k !== "panel");
  return `#${new URLSearchParams([["panel", panel.kind], ...rest]).toString()}`;
}

const LABELS: Record<NonNullable<Panel>["kind"], string> = {
  configure: "Configure", queue: "Queue", preview: "Data preview", provenance: "Provenance", lineage: "Lineage",
  services: "Controller services", parameters: "Parameters", bulletins: "Bulletins", history: "Status history",
};

export function SidePanel() {
  const { panel, openPanel, groupId } = useApp();
  const stack = useRef<Panel[]>([]);
  const previous = useRef<Panel>(null);
  const goingBack = useRef(false);
  const [, force] = useState(0);
  const [width, setWidth] = useState(() => Number(localStorage.getItem(WIDTH_KEY)) || 500);
  const aside = useRef<HTMLElement>(null);

  // Open the panel a deep link names: on load and whenever the hash changes.
  useEffect(() => {
    const fromHash = () => {
      const p = panelFromHash(window.location.hash);
      if (p !== undefined) openPanel(p);
    };
    fromHash();
    window.addEventListener("hashchange", fromHash);
    return () => window.removeEventListener("hashchange", fromHash);
  }, [openPanel]);

  // Remember where we came from (for Back), and mirror the open panel in the hash.
  useEffect(() => {
    const before = previous.current;
    if (!panel) stack.current = [];
    else if (goingBack.current) goingBack.current = false;
    else if (before && hashForPanel(before) !== hashForPanel(panel)) stack.current = [...stack.current.slice(-19), before];
    previous.current = panel;
    force((n) => n + 1);
    const current = window.location.hash;
    if (current === "" || current === "#" || current.startsWith("#panel=")) {
      const next = hashForPanel(panel);
      if (next !== current) {
        window.history.replaceState(null, "", `${window.location.pathname}${window.location.search}${next}`);
      }
    }
  }, [panel]);

  const close = useCallback(() => openPanel(null), [openPanel]);
  const back = stack.current.length ? () => {
    const target = stack.current[stack.current.length - 1];
    stack.current = stack.current.slice(0, -1);
    goingBack.current = true;
    openPanel(target);
  } : null;
  const top = stack.current[stack.current.length - 1];

  const onResizeStart = (event: React.PointerEvent) => {
    event.preventDefault();
    const startX = event.clientX;
    const startWidth = width;
    const move = (e: PointerEvent) => {
      const next = Math.round(Math.min(Math.max(360, startWidth + (startX - e.clientX)), window.innerWidth * 0.75));
      setWidth(next);
    };
    const up = (e: PointerEvent) => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      const final = Math.round(Math.min(Math.max(360, startWidth + (startX - e.clientX)), window.innerWidth * 0.75));
      localStorage.setItem(WIDTH_KEY, String(final));
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  };

  if (!panel) return null;
  let content: React.ReactNode;
  switch (panel.kind) {
    case "configure":
      content = <ConfigurePanel componentKind={panel.componentKind} id={panel.id} />;
      break;
    case "queue":
      content = <QueuePanel key={panel.connectionId} connectionId={panel.connectionId} />;
      break;
    case "preview":
      content = <PreviewPanel key={panel.connectionId} connectionId={panel.connectionId} />;
      break;
    case "provenance":
      content = <ProvenancePanel componentId={panel.componentId} flowfileUuid={panel.flowfileUuid} />;
      break;
    case "lineage":
      content = <LineagePanel flowfileUuid={panel.flowfileUuid} />;
      break;
    case "services":
      content = (panel.groupId || groupId) ? <ServicesPanel groupId={panel.groupId || groupId} /> : null;
      break;
    case "parameters":
      content = <ParametersPanel />;
      break;
    case "bulletins":
      content = <BulletinsPanel />;
      break;
    case "history":
      content = <HistoryPanel key={panel.componentId} componentId={panel.componentId} />;
      break;
  }
  return (
    <PanelNavContext.Provider value={{ close, back, backLabel: top ? LABELS[top.kind] : null }}>
      <aside ref={aside} className="side-panel pn-root" data-testid="side-panel" style={{ width }}
             aria-label={LABELS[panel.kind]}
             onKeyDown={(e) => {
               if (e.key === "Escape" && !e.defaultPrevented) {
                 e.preventDefault();
                 close();
               }
             }}>
        <div className="pn-resize" onPointerDown={onResizeStart} role="separator" aria-orientation="vertical"
             aria-label="Resize the panel" title="Drag to resize" />
        {content}
      </aside>
    </PanelNavContext.Provider>
  );
}
