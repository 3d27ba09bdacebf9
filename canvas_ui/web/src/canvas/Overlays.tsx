// The canvas's dialogs: add processor, connect, command palette, confirm and
// prompt; plus the context menu. All rendered over the canvas.
import { useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from "react";
import { useReactFlow } from "@xyflow/react";
import type { Port, Processor, ProcessorType } from "../api";
import { checkDataSize, checkDuration, checkWholeNumber, collect, hasErrors, serverErrors, type FieldErrors } from "../fields";
import { useApp } from "../store";
import type { FlowNode, QueueEdge } from "./build";
import { buildCommands, type Command } from "./commands";
import { ContextMenu } from "./ContextMenu";
import { useCanvasActions, useCanvasUI, type PendingConnection } from "./controller";
import { Icon } from "./icons";
import { findGroup, relationshipsOf } from "./model";

export function Overlays() {
  const ui = useCanvasUI();
  return (
    <>
      {ui.menu && <ContextMenu menu={ui.menu} />}
      {ui.addDialog && <AddDialog />}
      {ui.connect && <ConnectDialog pending={ui.connect} />}
      {ui.commandPalette && <CommandPalette />}
      {ui.confirm && <ConfirmDialog />}
      {ui.prompt && <PromptDialog />}
    </>
  );
}

function Dialog({ testId, title, onClose, children, wide, footer }: {
  testId: string; title: string; onClose: () => void; children: ReactNode; wide?: boolean; footer?: ReactNode;
}) {
  return (
    <div className="fy-backdrop" onMouseDown={(e) => { if (e.target === e.currentTarget) onClose(); }}>
      <div className={`fy-dialog${wide ? " is-wide" : ""}`} data-testid={testId} role="dialog" aria-label={title}
           onKeyDown={(e) => { if (e.key === "Escape") { e.stopPropagation(); onClose(); } }}>
        <header className="fy-dialog-head">
          <h2>{title}</h2>
          <button type="button" className="fy-icon-btn" aria-label="Close" onClick={onClose}>×</button>
        </header>
        <div className="fy-dialog-body">{children}</div>
        {footer && <footer className="fy-dialog-foot">{footer}</footer>}
      </div>
    </div>
  );
}

/** Processor types whose name, description or tags contain every word of `query`. */
export function filterTypes(types: ProcessorType[], query: string, tags: string[] = []): ProcessorType[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return types.filter((t) => {
    const text = `${t.type} ${t.description} ${t.tags.join(" ")}`.toLowerCase();
    return words.every((w) => text.includes(w)) && tags.every((tag) => t.tags.includes(tag));
  });
}

function AddDialog() {
  const a = useCanvasActions();
  const ui = useCanvasUI();
  const { processorTypes } = useApp();
  const [query, setQuery] = useState("");
  const [tags, setTags] = useState<string[]>([]);
  const [active, setActive] = useState(0);
  const results = useMemo(() => filterTypes(processorTypes, query, tags), [processorTypes, query, tags]);
  const cloud = useMemo(() => {
    const counts = new Map<string, number>();
    for (const t of processorTypes) for (const tag of t.tags) counts.set(tag.toLowerCase(), (counts.get(tag.toLowerCase()) ?? 0) + 1);
    return [...counts].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).slice(0, 24).map(([tag]) => tag);
  }, [processorTypes]);
  const at = ui.addDialog?.at ?? null;
  const add = (type: string) => {
    a.closeAddDialog();
    void a.create("processor", at, type);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowDown") { e.preventDefault(); setActive((i) => Math.min(i + 1, results.length - 1)); }
    if (e.key === "ArrowUp") { e.preventDefault(); setActive((i) => Math.max(i - 1, 0)); }
    if (e.key === "Enter" && results[active]) { e.preventDefault(); add(results[active].type); }
  };
  return (
    <Dialog testId="add-dialog" title="Add processor" onClose={() => a.closeAddDialog()} wide>
      <input className="fy-search" data-testid="add-dialog-search" autoFocus placeholder="Search by name, description or tag"
             value={query} onChange={(e) => { setQuery(e.target.value); setActive(0); }} onKeyDown={onKey} />
      <div className="fy-tags">
        {cloud.map((tag) => (
          <button key={tag} type="button" className={`fy-tag${tags.includes(tag) ? " is-on" : ""}`}
                  onClick={() => setTags((t) => (t.includes(tag) ? t.filter((x) => x !== tag) : [...t, tag]))}>{tag}</button>
        ))}
      </div>
      <div className="fy-type-list" role="listbox">
        {results.map((t, i) => (
          <button key={t.type} type="button" role="option" aria-selected={i === active}
                  className={`fy-type-item${i === active ? " is-active" : ""}`} data-testid={`add-dialog-item-${t.type}`}
                  onMouseEnter={() => setActive(i)} onClick={() => add(t.type)}>
            <span className="fy-type-name">{t.type}</span>
            <span className="fy-type-desc">{t.description}</span>
            <span className="fy-type-tags">{t.tags.slice(0, 6).join(" · ")}</span>
          </button>
        ))}
        {!results.length && <div className="fy-muted fy-pad">No processor type matches.</div>}
      </div>
    </Dialog>
  );
}

function ConnectDialog({ pending }: { pending: PendingConnection }) {
  const a = useCanvasActions();
  const { flow, groupId, processorTypes } = useApp();
  const rf = useReactFlow<FlowNode, QueueEdge>();
  const group = flow ? findGroup(flow.rootGroup, groupId) : null;
  const src = rf.getNode(pending.source);
  const dst = rf.getNode(pending.target);
  const child = (id: string) => group?.processGroups.find((g) => g.identifier === id) ?? null;
  const processor = src?.data.kind === "processor" ? src.data.doc as Processor : null;
  const relationships = processor ? relationshipsOf(processor, processorTypes) : [];
  const outPorts: Port[] | null = src?.data.kind === "process-group" ? child(src.id)?.outputPorts ?? [] : null;
  const inPorts: Port[] | null = dst?.data.kind === "process-group" ? child(dst.id)?.inputPorts ?? [] : null;
  const used = new Set(group?.connections.filter((c) => c.source.id === pending.source).flatMap((c) => c.selectedRelationships));
  const [checked, setChecked] = useState<string[]>(relationships.length === 1 ? relationships : []);
  const [fromPort, setFromPort] = useState(outPorts?.[0]?.identifier ?? "");
  const [toPort, setToPort] = useState(inPorts?.[0]?.identifier ?? "");
  const [name, setName] = useState("");
  const [bpCount, setBpCount] = useState("10000");
  const [bpSize, setBpSize] = useState("1 GB");
  const [expiration, setExpiration] = useState("0 sec");
  const [prioritizer, setPrioritizer] = useState("");
  const [busy, setBusy] = useState(false);
  // Errors show next to a field once it was edited, and all of them once Connect was pressed.
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [tried, setTried] = useState(false);
  const [refused, setRefused] = useState<{ fields: FieldErrors; general: string | null }>({ fields: {}, general: null });
  const close = () => a.requestConnection(null);
  const edit = (field: string, apply: () => void) => {
    apply();
    setTouched((t) => (t.has(field) ? t : new Set(t).add(field)));
    if (refused.fields[field]) setRefused((r) => ({ ...r, fields: { ...r.fields, [field]: [] } }));
  };
  const label = (n: FlowNode | undefined) => {
    if (!n) return "?";
    const d = n.data.doc as { name?: string; type?: string };
    return n.data.kind === "funnel" ? "Funnel" : d.name || d.type || n.id;
  };
  const problems: string[] = [];
  if (outPorts && !outPorts.length) problems.push(`${label(src)} has no output port.`);
  if (inPorts && !inPorts.length) problems.push(`${label(dst)} has no input port.`);
  const checks = collect({
    selectedRelationships: processor && relationships.length && !checked.length ? "Choose at least one relationship." : null,
    backPressureObjectThreshold: checkWholeNumber(bpCount, { hint: "Such as 10000; 0 turns it off." }),
    backPressureDataSizeThreshold: checkDataSize(bpSize),
    flowFileExpiration: checkDuration(expiration),
  });
  const errorsOf = (field: string): string[] => [
    ...((tried || touched.has(field)) ? checks[field] ?? [] : []), ...(refused.fields[field] ?? []),
  ];
  const fieldError = (field: string) => {
    const errors = errorsOf(field);
    return errors.length ? (
      <span className="fy-field-error" data-testid={`field-error-${field}`} role="alert">
        {errors.map((m) => <span key={m}>{m}</span>)}
      </span>
    ) : null;
  };
  const known = new Set(["selectedRelationships", "backPressureObjectThreshold", "backPressureDataSizeThreshold",
    "flowFileExpiration", "name", "prioritizers"]);
  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    if (busy) return;
    setTried(true);
    if (problems.length || hasErrors(checks)) return;
    setBusy(true);
    setRefused({ fields: {}, general: null });
    const result = await a.connect({
      source: { id: outPorts ? fromPort : pending.source },
      destination: { id: inPorts ? toPort : pending.target },
      selectedRelationships: processor ? checked : [],
      name, backPressureObjectThreshold: Number(bpCount), backPressureDataSizeThreshold: bpSize.trim(),
      flowFileExpiration: expiration.trim(), prioritizers: prioritizer ? [prioritizer] : [],
    });
    setBusy(false);
    if (result === true) { close(); return; }
    const { fields, general } = serverErrors(result);
    const elsewhere = Object.entries(fields).filter(([f]) => !known.has(f)).flatMap(([, m]) => m);
    setRefused({
      fields: Object.fromEntries(Object.entries(fields).filter(([f]) => known.has(f))),
      general: [general, ...elsewhere].filter(Boolean).join("\n") || null,
    });
  };
  return (
    <Dialog testId="connect-dialog" title="Create connection" onClose={close}
            footer={<>
              <button type="button" data-testid="connect-cancel" onClick={close}>Cancel</button>
              <button type="button" className="primary" data-testid="connect-confirm" disabled={problems.length > 0 || busy}
                      onClick={() => void submit()}>Connect</button>
            </>}>
      <form className="fy-form" onSubmit={submit}>
        <div className="fy-route">
          <span className="fy-route-end">{label(src)}</span>
          <span className="fy-route-arrow">→</span>
          <span className="fy-route-end">{label(dst)}</span>
          {pending.source === pending.target && <span className="fy-muted">(a loop back to itself)</span>}
        </div>
        {processor && (
          <fieldset>
            <legend>Relationships</legend>
            {relationships.map((r) => (
              <label key={r} className="fy-check">
                <input type="checkbox" data-testid={`connect-rel-${r}`} checked={checked.includes(r)}
                       onChange={(e) => edit("selectedRelationships",
                         () => setChecked((c) => (e.target.checked ? [...c, r] : c.filter((x) => x !== r))))} />
                <span>{r}</span>
                {used.has(r) && <span className="fy-muted">already connected</span>}
                {processor.autoTerminatedRelationships.includes(r) && <span className="fy-muted">auto-terminated</span>}
              </label>
            ))}
            {!relationships.length && <p className="fy-muted">This processor has no relationships.</p>}
            {fieldError("selectedRelationships")}
          </fieldset>
        )}
        {outPorts && outPorts.length > 0 && (
          <label className="fy-field"><span>From output port</span>
            <select value={fromPort} onChange={(e) => setFromPort(e.target.value)} data-testid="connect-from-port">
              {outPorts.map((p) => <option key={p.identifier} value={p.identifier}>{p.name}</option>)}
            </select>
          </label>
        )}
        {inPorts && inPorts.length > 0 && (
          <label className="fy-field"><span>To input port</span>
            <select value={toPort} onChange={(e) => setToPort(e.target.value)} data-testid="connect-to-port">
              {inPorts.map((p) => <option key={p.identifier} value={p.identifier}>{p.name}</option>)}
            </select>
          </label>
        )}
        <fieldset>
          <legend>Queue</legend>
          <div className="fy-grid2">
            <label className="fy-field"><span>Name</span>
              <input value={name} onChange={(e) => edit("name", () => setName(e.target.value))} placeholder="optional"
                     data-testid="connect-name" />
              {fieldError("name")}
            </label>
            <label className="fy-field"><span>FlowFile expiration</span>
              <input value={expiration} onChange={(e) => edit("flowFileExpiration", () => setExpiration(e.target.value))}
                     data-testid="connect-expiration" aria-invalid={errorsOf("flowFileExpiration").length > 0 || undefined} />
              {fieldError("flowFileExpiration")}
            </label>
            <label className="fy-field"><span>Back pressure: objects</span>
              <input value={bpCount} inputMode="numeric" data-testid="connect-bp-count"
                     onChange={(e) => edit("backPressureObjectThreshold", () => setBpCount(e.target.value))}
                     aria-invalid={errorsOf("backPressureObjectThreshold").length > 0 || undefined} />
              {fieldError("backPressureObjectThreshold")}
            </label>
            <label className="fy-field"><span>Back pressure: data size</span>
              <input value={bpSize} onChange={(e) => edit("backPressureDataSizeThreshold", () => setBpSize(e.target.value))}
                     data-testid="connect-bp-size" aria-invalid={errorsOf("backPressureDataSizeThreshold").length > 0 || undefined} />
              {fieldError("backPressureDataSizeThreshold")}
            </label>
            <label className="fy-field fy-span2"><span>Prioritizer</span>
              <select value={prioritizer} onChange={(e) => setPrioritizer(e.target.value)} data-testid="connect-prioritizer">
                <option value="">None (first in, first out)</option>
                <option value="FirstInFirstOutPrioritizer">First in, first out</option>
                <option value="OldestFlowFileFirstPrioritizer">Oldest flowfile first</option>
                <option value="NewestFlowFileFirstPrioritizer">Newest flowfile first</option>
                <option value="PriorityAttributePrioritizer">Priority attribute</option>
              </select>
            </label>
          </div>
        </fieldset>
        {(problems.length > 0 || refused.general) && (
          <div className="fy-problems" role="alert" data-testid="connect-problems">
            {[...problems, ...(refused.general ? [refused.general] : [])].map((p) => <div key={p}>{p}</div>)}
          </div>
        )}
        <button type="submit" hidden />
      </form>
    </Dialog>
  );
}

function slugMatch(c: Command, words: string[]): boolean {
  const text = `${c.title} ${c.section} ${c.slug} ${c.keywords ?? ""}`.toLowerCase();
  return words.every((w) => text.includes(w));
}

function CommandPalette() {
  const a = useCanvasActions();
  const { groupId, selection, processorTypes } = useApp();
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const list = useRef<HTMLDivElement>(null);
  const commands = useMemo(() => buildCommands(a, { groupId, selection, processorTypes: processorTypes.map((t) => t.type) }),
    [a, groupId, selection, processorTypes]);
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = commands.filter((c) => slugMatch(c, words));
  useEffect(() => {
    list.current?.querySelector(".is-active")?.scrollIntoView({ block: "nearest" });
  }, [active]);
  const run = (c: Command) => {
    a.toggleCommandPalette(false);
    void c.run();
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowDown") { e.preventDefault(); setActive((i) => Math.min(i + 1, shown.length - 1)); }
    else if (e.key === "ArrowUp") { e.preventDefault(); setActive((i) => Math.max(i - 1, 0)); }
    else if (e.key === "Enter" && shown[active]) { e.preventDefault(); run(shown[active]); }
    else if (e.key === "Escape") { e.preventDefault(); a.toggleCommandPalette(false); }
  };
  let lastSection = "";
  return (
    <div className="fy-backdrop is-top" onMouseDown={(e) => { if (e.target === e.currentTarget) a.toggleCommandPalette(false); }}>
      <div className="fy-command" data-testid="command-palette" role="dialog" aria-label="Command palette">
        <div className="fy-command-input">
          <Icon.command size={16} />
          <input data-testid="command-input" autoFocus placeholder="Type a command…" value={query}
                 onChange={(e) => { setQuery(e.target.value); setActive(0); }} onKeyDown={onKey} />
          <kbd>Esc</kbd>
        </div>
        <div className="fy-command-list" ref={list} role="listbox">
          {shown.map((c, i) => {
            const head = c.section !== lastSection ? <div className="fy-command-section" key={`s-${c.section}`}>{c.section}</div> : null;
            lastSection = c.section;
            return [head, (
              <button key={c.slug} type="button" role="option" aria-selected={i === active} data-testid={`command-item-${c.slug}`}
                      className={`fy-command-item${i === active ? " is-active" : ""}`}
                      onMouseMove={() => setActive(i)} onClick={() => run(c)}>
                <span>{c.title}</span>{c.shortcut && <kbd>{c.shortcut}</kbd>}
              </button>
            )];
          })}
          {!shown.length && <div className="fy-muted fy-pad">No command matches.</div>}
        </div>
      </div>
    </div>
  );
}

function ConfirmDialog() {
  const a = useCanvasActions();
  const { confirm } = useCanvasUI();
  if (!confirm) return null;
  return (
    <Dialog testId="confirm-dialog" title={confirm.title} onClose={() => a.closeConfirm(false)}
            footer={<>
              {/* Cancel has the focus: Enter or a stray key press never destroys anything. */}
              <button type="button" autoFocus data-testid="confirm-no" onClick={() => a.closeConfirm(false)}>Cancel</button>
              <button type="button" className={confirm.danger ? "primary is-danger" : "primary"} data-testid="confirm-yes"
                      onClick={() => a.closeConfirm(true)}>{confirm.yes}</button>
            </>}>
      <p className="fy-confirm-text">{confirm.message}</p>
    </Dialog>
  );
}

function PromptDialog() {
  const a = useCanvasActions();
  const { prompt } = useCanvasUI();
  const [value, setValue] = useState(prompt?.value ?? "");
  const [error, setError] = useState<string | null>(null);
  if (!prompt) return null;
  const multiline = prompt.label === "Text";
  const field = prompt.field ?? "name";
  const done = () => {
    const problem = prompt.validate?.(value) ?? null;
    setError(problem);
    if (!problem) a.closePrompt(value);
  };
  const change = (next: string) => {
    setValue(next);
    if (error) setError(prompt.validate?.(next) ?? null);
  };
  return (
    <Dialog testId="prompt-dialog" title={prompt.title} onClose={() => a.closePrompt(null)}
            footer={<>
              <button type="button" data-testid="prompt-cancel" onClick={() => a.closePrompt(null)}>Cancel</button>
              <button type="button" className="primary" data-testid="prompt-ok" onClick={done}>{prompt.ok ?? "Save"}</button>
            </>}>
      <label className="fy-field"><span>{prompt.label}</span>
        {multiline
          ? <textarea data-testid="prompt-input" autoFocus rows={5} value={value} onChange={(e) => change(e.target.value)}
                      onKeyDown={(e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) done(); }} />
          : <input data-testid="prompt-input" autoFocus value={value} onChange={(e) => change(e.target.value)}
                   aria-invalid={error ? true : undefined} onFocus={(e) => e.target.select()}
                   onKeyDown={(e) => { if (e.key === "Enter") { e.preventDefault(); done(); } }} />}
        {error && <span className="fy-field-error" data-testid={`field-error-${field}`} role="alert">{error}</span>}
      </label>
    </Dialog>
  );
}
