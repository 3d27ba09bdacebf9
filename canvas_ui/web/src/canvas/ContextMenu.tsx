// The right-click menu of a node, an edge, a selection or the pane.
import { useLayoutEffect, useRef, useState, type ReactNode } from "react";
import { useApp } from "../store";
import { useCanvasActions, type MenuState } from "./controller";
import { Icon, type IconName } from "./icons";

interface Item {
  id: string; label: string; icon: IconName; run: () => void; disabled?: boolean; danger?: boolean; hint?: string;
  /** The tooltip (why a disabled item is disabled). */
  title?: string;
}

export function ContextMenu({ menu }: { menu: MenuState }) {
  const a = useCanvasActions();
  const { groupId, flow } = useApp();
  const ref = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState({ left: menu.x, top: menu.y });
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const r = el.getBoundingClientRect();
    setPos({
      left: Math.max(4, Math.min(menu.x, window.innerWidth - r.width - 8)),
      top: Math.max(4, Math.min(menu.y, window.innerHeight - r.height - 8)),
    });
  }, [menu]);
  useLayoutEffect(() => {
    const close = (e: PointerEvent) => {
      if (!ref.current?.contains(e.target as Node)) a.openMenu(null);
    };
    document.addEventListener("pointerdown", close, true);
    return () => document.removeEventListener("pointerdown", close, true);
  }, [a]);

  const { target } = menu;
  const ids = target.ids;
  const id = ids[0];
  const kind = target.kind;
  const run = (state: Parameters<typeof a.runState>[1]) => () => void a.runState(target.type === "pane" ? null : ids, state);
  const groups: Item[][] = [];
  // Run items stay enabled whatever the run state shown: the API answers (in a notice)
  // when one does not apply, and a state a moment old never blocks one. Start (and run
  // once) is not offered for an invalid processor: its tooltip says why.
  const blocked = target.type === "pane" ? null : a.startBlocker(ids);
  const runItems = (forProcessor: boolean): Item[] => [
    { id: "start", label: "Start", icon: "play", run: run("RUNNING"), disabled: !!blocked, title: blocked ?? undefined,
      hint: blocked ? "invalid" : undefined },
    { id: "stop", label: "Stop", icon: "stop", run: run("STOPPED") },
    { id: "enable", label: "Enable", icon: "enable", run: run("ENABLED") },
    { id: "disable", label: "Disable", icon: "disabled", run: run("DISABLED") },
    ...(forProcessor ? [{ id: "run-once", label: "Run once", icon: "once" as IconName, run: run("RUN_ONCE"),
      disabled: !!blocked, title: blocked ?? undefined }] : []),
  ];
  const copyItem: Item = { id: "copy", label: "Copy", icon: "copy", hint: "Ctrl C", run: () => {
    const data = a.copy(ids);
    if (data) navigator.clipboard?.writeText(JSON.stringify(data)).catch(() => undefined);
  } };
  const pasteItem: Item = { id: "paste", label: "Paste", icon: "paste", hint: "Ctrl V", run: () => void a.pasteFromSystemClipboard(menu.flow) };
  const deleteItem: Item = { id: "delete", label: "Delete", icon: "trash", hint: "Del", danger: true, run: () => void a.remove(ids) };
  const history: Item = { id: "status-history", label: "Status history", icon: "history", run: () => a.openPanel({ kind: "history", componentId: id }) };
  const provenance: Item = { id: "provenance", label: "Data provenance", icon: "provenance", run: () => a.openPanel({ kind: "provenance", componentId: id }) };
  const rename: Item = { id: "rename", label: "Rename", icon: "label", run: () => void a.rename(id) };
  // Inside a child group: NiFi's "Move to parent group" (drag onto a group node moves into it).
  const inChild = !!flow && groupId !== flow.rootGroup.identifier;
  const toParent: Item[] = inChild ? [{ id: "move-to-parent", label: "Move to parent group", icon: "up",
    run: () => void a.moveToParent(ids) }] : [];

  if (target.type === "node" && kind === "processor") {
    groups.push([{ id: "configure", label: "Configure", icon: "gear", run: () => a.configure(id) }]);
    groups.push(runItems(true));
    groups.push([provenance, history]);
    groups.push([copyItem, ...toParent, deleteItem]);
  } else if (target.type === "node" && (kind === "input-port" || kind === "output-port")) {
    groups.push([{ id: "configure", label: "Configure", icon: "gear", run: () => a.configure(id) }, rename]);
    groups.push(runItems(false));
    groups.push([history]);
    groups.push([copyItem, ...toParent, deleteItem]);
  } else if (target.type === "node" && kind === "funnel") {
    groups.push([history]);
    groups.push([copyItem, ...toParent, deleteItem]);
  } else if (target.type === "node" && kind === "process-group") {
    groups.push([{ id: "enter-group", label: "Enter group", icon: "enter", run: () => a.enterGroup(id) },
      { id: "configure", label: "Configure", icon: "gear", run: () => a.configure(id) }, rename]);
    groups.push(runItems(false));
    groups.push([{ id: "services", label: "Controller services", icon: "services", run: () => a.openPanel({ kind: "services", groupId: id }) }]);
    groups.push([copyItem, ...toParent, deleteItem]);
  } else if (target.type === "node" && kind === "label") {
    groups.push([{ id: "configure", label: "Edit text", icon: "label", run: () => a.configure(id) }]);
    groups.push([copyItem, ...toParent, deleteItem]);
  } else if (target.type === "edge") {
    groups.push([{ id: "configure", label: "Configure", icon: "gear", run: () => a.configure(id) }]);
    groups.push([
      { id: "list-queue", label: "List queue", icon: "queue", run: () => a.openPanel({ kind: "queue", connectionId: id }) },
      { id: "preview", label: "Preview data", icon: "eye", run: () => a.openPanel({ kind: "preview", connectionId: id }) },
      { id: "empty-queue", label: "Empty queue", icon: "empty", danger: true, run: () => void a.emptyQueue(id) },
    ]);
    groups.push([history]);
    groups.push([deleteItem]);
  } else if (target.type === "selection") {
    groups.push(runItems(true));
    groups.push([
      { id: "align-left", label: "Align left", icon: "alignLeft", run: () => void a.align("left") },
      { id: "align-top", label: "Align top", icon: "alignTop", run: () => void a.align("top") },
      { id: "auto-layout", label: "Auto-layout selection", icon: "layout", run: () => void a.autoLayout(ids) },
    ]);
    groups.push([copyItem, ...toParent, deleteItem]);
  } else {
    groups.push([{ id: "add", label: "Add processor…", icon: "plus", run: () => a.openAddDialog(menu.flow) }, pasteItem]);
    groups.push(runItems(false).map((i) => ({ ...i, label: `${i.label} group` })));
    groups.push([
      { id: "auto-layout", label: "Auto-layout", icon: "layout", run: () => void a.autoLayout() },
      { id: "select-all", label: "Select all", icon: "selectAll", hint: "Ctrl A", run: () => a.selectAll() },
      { id: "fit", label: "Fit view", icon: "fit", run: () => a.fitView() },
      { id: "services", label: "Controller services", icon: "services", run: () => a.openPanel({ kind: "services", groupId }) },
    ]);
  }

  return (
    <div ref={ref} className="fy-menu" data-testid="context-menu" role="menu" style={pos}
         onContextMenu={(e) => e.preventDefault()}>
      {groups.filter((g) => g.length).map((g, i) => (
        <Section key={i} first={i === 0}>
          {g.map((item) => {
            const Glyph = Icon[item.icon];
            return (
              <button key={item.id} type="button" role="menuitem" data-testid={`menu-${item.id}`}
                      className={item.danger ? "is-danger" : undefined} disabled={item.disabled} title={item.title}
                      onClick={() => { a.openMenu(null); item.run(); }}>
                <Glyph size={14} /><span>{item.label}</span>{item.hint && <kbd>{item.hint}</kbd>}
              </button>
            );
          })}
        </Section>
      ))}
    </div>
  );
}

function Section({ first, children }: { first: boolean; children: ReactNode }) {
  return <>{!first && <div className="fy-menu-sep" role="separator" />}{children}</>;
}
