// The right-hand panel: shows whatever `useApp().panel` names (configure, queue, preview,
// provenance, lineage, services, parameters, bulletins, status history, flow configuration history, cluster), with a back button to
// the panel it was opened from, Escape to close, and a drag handle to resize it.
//
// The open panel is part of the address (see ../routing.ts), so Back, Forward and a reload keep it.
import { useCallback, useEffect, useRef, useState } from "react";
import { panelKey } from "../routing";
import { useApp, type Panel } from "../store";
import { BulletinsPanel } from "./BulletinsPanel";
import { ClusterPanel } from "./ClusterPanel";
import { ConfigurePanel } from "./ConfigurePanel";
import { PanelNavContext } from "./frame";
import { FlowHistoryPanel } from "./FlowHistoryPanel";
import { HistoryPanel } from "./HistoryPanel";
import { LineagePanel } from "./LineagePanel";
import { ParametersPanel } from "./ParametersPanel";
import { PreviewPanel } from "./PreviewPanel";
import { ProvenancePanel } from "./ProvenancePanel";
import { QueuePanel } from "./QueuePanel";
import { ServicesPanel } from "./ServicesPanel";
import "./panels.css";

const WIDTH_KEY = "flowyard.panelWidth";
const LABELS: Record<NonNullable<Panel>["kind"], string> = {
  configure: "Configure", queue: "Queue", preview: "Data preview", provenance: "Provenance", lineage: "Lineage",
  services: "Controller services", parameters: "Parameters", bulletins: "Bulletins", history: "Status history",
  "flow-history": "Flow configuration history", cluster: "Cluster",
};

export function SidePanel() {
  const { panel, openPanel, groupId } = useApp();
  const stack = useRef<Panel[]>([]);
  const previous = useRef<Panel>(null);
  const goingBack = useRef(false);
  const [, force] = useState(0);
  const [width, setWidth] = useState(() => Number(localStorage.getItem(WIDTH_KEY)) || 500);
  const aside = useRef<HTMLElement>(null);

  // Remember where we came from (for the panel's own Back button).
  useEffect(() => {
    const before = previous.current;
    if (!panel) stack.current = [];
    else if (goingBack.current) goingBack.current = false;
    else if (before && panelKey(before) !== panelKey(panel)) stack.current = [...stack.current.slice(-19), before];
    previous.current = panel;
    force((n) => n + 1);
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
    case "flow-history":
      content = <FlowHistoryPanel />;
      break;
    case "cluster":
      content = <ClusterPanel />;
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
