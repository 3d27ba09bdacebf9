// The top bar: breadcrumbs, run control, edit and arrange actions, search,
// panels, command palette, theme and logout.
import { memo, useMemo, useRef, useState, type ReactNode } from "react";
import type { FlowDocument } from "../api";
import { useCluster } from "../cluster";
import { useApp, type Theme } from "../store";
import { useCanvasActions, useCanvasUI } from "./controller";
import { Icon, type IconName } from "./icons";
import { groupPath, searchFlow } from "./model";

export function Toolbar({ onLogout }: { onLogout: () => void }) {
  const { flow, groupId, selection, theme } = useApp();
  const a = useCanvasActions();
  // Re-computed on every status change (this component follows the app state); the view
  // below re-renders only when the answer changes.
  const startBlocked = a.startBlocker(selection);
  return <ToolbarView flow={flow} groupId={groupId} selection={selection} theme={theme} onLogout={onLogout}
                      startBlocked={startBlocked} />;
}

function Btn({ id, icon, label, title, onClick, text, disabled, active }: {
  id: string; icon: IconName; label: string; title?: string; onClick: () => void; text?: boolean; disabled?: boolean; active?: boolean;
}) {
  const Glyph = Icon[icon];
  return (
    <button type="button" className={`fy-tool${text ? " has-text" : ""}${active ? " is-on" : ""}`} data-testid={id}
            aria-label={label} title={title ?? label} onClick={onClick} disabled={disabled} aria-pressed={active}>
      <Glyph size={15} />{text && <span>{label}</span>}
    </button>
  );
}

function Sep() {
  return <span className="fy-tool-sep" aria-hidden="true" />;
}

function Cluster({ children }: { children: ReactNode }) {
  return <div className="fy-tool-cluster">{children}</div>;
}

const ToolbarView = memo(function ToolbarView({ flow, groupId, selection, theme, onLogout, startBlocked }: {
  flow: FlowDocument | null; groupId: string; selection: string[]; theme: Theme; onLogout: () => void;
  startBlocked: string | null;
}) {
  const a = useCanvasActions();
  const ui = useCanvasUI();
  const path = flow && groupId ? groupPath(flow.rootGroup, groupId) : [];
  const scope = selection.length ? `${selection.length} selected` : "the whole group";
  return (
    <header className="toolbar" data-testid="toolbar">
      <div className="fy-brand" aria-hidden="true"><span className="fy-brand-mark" />flowyard</div>
      <nav className="fy-breadcrumbs" data-testid="breadcrumbs" aria-label="Process groups">
        {path.map((g, i) => (
          <span key={g.identifier} className="fy-crumb-wrap">
            {i > 0 && <span className="fy-crumb-sep">›</span>}
            <button type="button" className={`fy-crumb${i === path.length - 1 ? " is-current" : ""}`}
                    data-testid={`breadcrumb-${g.identifier}`} onClick={() => a.enterGroup(g.identifier)}
                    aria-current={i === path.length - 1 ? "page" : undefined}>
              {g.name || (i === 0 ? "Root" : g.identifier)}
            </button>
          </span>
        ))}
      </nav>
      <Cluster>
        <Btn id="btn-start" icon="play" label="Start" text title={startBlocked ?? `Start ${scope}`} disabled={!!startBlocked}
             onClick={() => void a.runState(selection, "RUNNING")} />
        <Btn id="btn-stop" icon="stop" label="Stop" text title={`Stop ${scope}`} onClick={() => void a.runState(selection, "STOPPED")} />
        <Sep />
        <Btn id="btn-undo" icon="undo" label="Undo" title="Undo (Ctrl Z)" onClick={() => void a.undo()} />
        <Btn id="btn-redo" icon="redo" label="Redo" title="Redo (Ctrl Shift Z)" onClick={() => void a.redo()} />
        <Sep />
        <Btn id="btn-add" icon="plus" label="Add" text title="Add a processor" onClick={() => a.openAddDialog(null)} />
        <Btn id="btn-auto-layout" icon="layout" label="Auto-layout" title={`Auto-layout ${selection.length > 1 ? "the selection" : "the group"}`}
             onClick={() => void a.autoLayout(selection)} />
        <Btn id="btn-align-left" icon="alignLeft" label="Align left" onClick={() => void a.align("left")} disabled={selection.length < 2} />
        <Btn id="btn-align-top" icon="alignTop" label="Align top" onClick={() => void a.align("top")} disabled={selection.length < 2} />
        <Btn id="btn-snap" icon="grid" label="Snap to grid" title={`Snap to a 16 px grid: ${ui.snap ? "on" : "off"}`} active={ui.snap} onClick={() => a.toggleSnap()} />
        <Btn id="btn-fit" icon="fit" label="Fit view" onClick={() => a.fitView()} />
      </Cluster>
      <Search flow={flow} />
      <Cluster>
        <Btn id="btn-provenance" icon="provenance" label="Data provenance" onClick={() => a.openPanel({ kind: "provenance" })} />
        <Btn id="btn-services" icon="services" label="Controller services" onClick={() => a.openPanel({ kind: "services", groupId })} />
        <Btn id="btn-parameters" icon="params" label="Parameter contexts" onClick={() => a.openPanel({ kind: "parameters" })} />
        <Btn id="btn-bulletins" icon="bell" label="Bulletin board" onClick={() => a.openPanel({ kind: "bulletins" })} />
        <Btn id="btn-flow-history" icon="history" label="Flow configuration history"
             title="Flow configuration history: every edit, who made it, and Undo" onClick={() => a.openPanel({ kind: "flow-history" })} />
        <ClusterButton onClick={() => a.openPanel({ kind: "cluster" })} />
        <Sep />
        <Btn id="btn-command-palette" icon="command" label="Command palette" title="Command palette (Ctrl K)" onClick={() => a.toggleCommandPalette(true)} />
        <label className="fy-theme" title="Theme">
          <Icon.theme size={14} />
          <select data-testid="theme-select" value={theme} aria-label="Theme" onChange={(e) => a.setTheme(e.target.value as Theme)}>
            <option value="system">System</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </select>
        </label>
        <Btn id="btn-logout" icon="logout" label="Log out" onClick={onLogout} />
      </Cluster>
    </header>
  );
});

/** The cluster page's entry, shown only in a cluster: connected nodes of all ("3/3"),
 *  warning-coloured when some are not connected. */
function ClusterButton({ onClick }: { onClick: () => void }) {
  const cluster = useCluster();
  if (!cluster.clustered) return null;
  const total = cluster.nodes.length;
  const connected = cluster.nodes.filter((n) => n.state === "CONNECTED").length;
  const title = `Cluster: ${connected} of ${total} node${total === 1 ? "" : "s"} connected`;
  return (
    <button type="button" className={`fy-tool has-text fy-cluster-btn${connected < total ? " is-degraded" : ""}`}
            data-testid="btn-cluster" aria-label={title} title={title} onClick={onClick}>
      <Icon.cluster size={15} /><span data-testid="cluster-count">{connected}/{total}</span>
    </button>
  );
}

function Search({ flow }: { flow: FlowDocument | null }) {
  const a = useCanvasActions();
  const [query, setQuery] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const hits = useMemo(() => (flow ? searchFlow(flow, query, 30) : []), [flow, query]);
  const go = (id: string) => {
    setOpen(false);
    input.current?.blur();
    a.focusComponent(id);
  };
  return (
    <div className="fy-searchbox" onBlur={(e) => { if (!e.currentTarget.contains(e.relatedTarget as Node)) setOpen(false); }}>
      <Icon.search size={14} />
      <input ref={input} data-testid="search-input" placeholder="Search name, type, id, property…" value={query}
             aria-label="Search components"
             onChange={(e) => { setQuery(e.target.value); setOpen(true); setActive(0); }} onFocus={() => setOpen(true)}
             onKeyDown={(e) => {
               if (e.key === "ArrowDown") { e.preventDefault(); setActive((i) => Math.min(i + 1, hits.length - 1)); }
               else if (e.key === "ArrowUp") { e.preventDefault(); setActive((i) => Math.max(i - 1, 0)); }
               else if (e.key === "Enter" && hits[active]) { e.preventDefault(); go(hits[active].id); }
               else if (e.key === "Escape") { setQuery(""); setOpen(false); }
             }} />
      {open && query.trim() && (
        <div className="fy-search-results" role="listbox">
          {hits.map((h, i) => (
            <button key={h.id} type="button" role="option" aria-selected={i === active} data-testid={`search-result-${h.id}`}
                    className={`fy-search-hit${i === active ? " is-active" : ""}`} onMouseDown={(e) => e.preventDefault()}
                    onMouseMove={() => setActive(i)} onClick={() => go(h.id)}>
              <span className="fy-hit-name">{h.name}</span>
              <span className="fy-hit-meta">{h.kind.replace("-", " ")} · {h.groupName || "root"} · {h.match}</span>
            </button>
          ))}
          {!hits.length && <div className="fy-muted fy-pad">Nothing matches.</div>}
        </div>
      )}
    </div>
  );
}
