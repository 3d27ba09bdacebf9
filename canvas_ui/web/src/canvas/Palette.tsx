// The palette: component kinds and processor types to drag onto the canvas
// (or double-click to add at the centre of the view).
import { memo, useMemo, useState, type DragEvent } from "react";
import type { ProcessorType } from "../api";
import { useApp } from "../store";
import { DRAG_TYPE } from "./Canvas";
import { useCanvasActions } from "./controller";
import { Icon, type IconName } from "./icons";
import type { NodeKind } from "./model";
import { filterTypes } from "./Overlays";

const KINDS: { kind: NodeKind; label: string; icon: IconName }[] = [
  { kind: "input-port", label: "Input port", icon: "portIn" },
  { kind: "output-port", label: "Output port", icon: "portOut" },
  { kind: "funnel", label: "Funnel", icon: "funnel" },
  { kind: "process-group", label: "Process group", icon: "group" },
  { kind: "label", label: "Label", icon: "label" },
];

function startDrag(e: DragEvent, kind: NodeKind, type?: string) {
  e.dataTransfer.setData(DRAG_TYPE, JSON.stringify({ kind, type }));
  e.dataTransfer.setData("text/plain", type ?? kind);
  e.dataTransfer.effectAllowed = "copy";
}

export function Palette() {
  const { processorTypes } = useApp();
  return <PaletteView types={processorTypes} />;
}

const PaletteView = memo(function PaletteView({ types }: { types: ProcessorType[] }) {
  const a = useCanvasActions();
  const [query, setQuery] = useState("");
  const shown = useMemo(() => filterTypes(types, query).sort((x, y) => x.type.localeCompare(y.type)), [types, query]);
  return (
    <aside className="palette" data-testid="palette" aria-label="Palette">
      <div className="fy-palette-title">Components</div>
      <div className="fy-palette-kinds">
        {KINDS.map(({ kind, label, icon }) => {
          const Glyph = Icon[icon];
          return (
            <div key={kind} className="fy-palette-kind" draggable data-testid={`palette-item-${kind}`} title={`Drag onto the canvas to add a ${label.toLowerCase()}`}
                 onDragStart={(e) => startDrag(e, kind)} onDoubleClick={() => void a.create(kind, null)}>
              <Glyph size={18} /><span>{label}</span>
            </div>
          );
        })}
      </div>
      <div className="fy-palette-title">
        Processors <span className="fy-muted">{shown.length === types.length ? types.length : `${shown.length} of ${types.length}`}</span>
      </div>
      <div className="fy-palette-search">
        <Icon.search size={13} />
        <input data-testid="palette-search" placeholder="Filter by name, tag…" value={query}
               onChange={(e) => setQuery(e.target.value)} aria-label="Filter processor types" />
      </div>
      <div className="fy-palette-list">
        {shown.map((t) => (
          <div key={t.type} className="fy-palette-item" draggable data-testid={`palette-item-${t.type}`} title={t.description}
               onDragStart={(e) => startDrag(e, "processor", t.type)} onDoubleClick={() => void a.create("processor", null, t.type)}>
            <span className="fy-palette-item-icon"><Icon.processor size={14} /></span>
            <span className="fy-palette-item-text">
              <span className="fy-palette-item-name">{t.type}</span>
              <span className="fy-palette-item-desc">{t.description}</span>
            </span>
          </div>
        ))}
        {!shown.length && <div className="fy-muted fy-pad">No processor type matches “{query}”.</div>}
      </div>
      <button type="button" className="fy-palette-more" onClick={() => a.openAddDialog(null)}>
        <Icon.plus size={13} /> Browse all with tags…
      </button>
    </aside>
  );
});
