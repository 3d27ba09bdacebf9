// Parameter contexts: pick one (or create one), edit its parameters (name, value,
// sensitive, description) and save them in one PUT; bind the current group to a context.
import { useEffect, useMemo, useState } from "react";
import { api, ApiError, type Parameter, type ParameterContext, type ProcessGroup } from "../api";
import { useApp } from "../store";
import { componentIndex, componentName, findGroup } from "./flowTree";
import { errorText } from "./format";
import { PanelFrame } from "./frame";
import { MASK } from "./properties";
import { Empty, Field, Notice } from "./ui";

interface Row extends Parameter { isNew: boolean; key: number }

let rowKeys = 0;
const toRows = (ctx: ParameterContext | null): Row[] =>
  (ctx?.parameters ?? []).map((p) => ({ ...p, description: p.description ?? "", isNew: false, key: ++rowKeys }));

export function ParametersPanel() {
  const { flow, reload, groupId, notify } = useApp();
  const contexts = flow?.parameterContexts ?? [];
  const group = flow ? findGroup(flow.rootGroup, groupId) : null;
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [ctx, setCtx] = useState<ParameterContext | null>(null);
  const [rows, setRows] = useState<Row[]>([]);
  const [meta, setMeta] = useState({ name: "", description: "" });
  const [banner, setBanner] = useState<{ level: "error" | "warn" | "info"; text: string } | null>(null);
  const [newName, setNewName] = useState("");
  const [saving, setSaving] = useState(false);
  const index = useMemo(() => componentIndex(flow), [flow]);

  useEffect(() => { reload().catch(() => undefined); }, [reload]);
  // Start on the context bound to the current group, else the first one.
  useEffect(() => {
    if (selectedId || !contexts.length) return;
    setSelectedId(group?.parameterContext?.id ?? contexts[0].identifier);
  }, [contexts, group, selectedId]);
  const loadContext = async (id: string) => {
    try {
      const c = await api.get<ParameterContext>("parameter-context", id);
      setCtx(c);
      setRows(toRows(c));
      setMeta({ name: c.name, description: c.description ?? "" });
    } catch (exc) {
      setBanner({ level: "error", text: errorText(exc) });
    }
  };
  useEffect(() => {
    setBanner(null);
    if (selectedId) loadContext(selectedId);
    else { setCtx(null); setRows([]); }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selectedId]);

  const update = (key: number, patch: Partial<Row>) => setRows(rows.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const names = rows.map((r) => r.name.trim());
  const duplicate = names.find((n, i) => n && names.indexOf(n) !== i);

  const save = async () => {
    if (!ctx) return;
    if (rows.some((r) => !r.name.trim())) { setBanner({ level: "error", text: "Every parameter needs a name." }); return; }
    if (duplicate) { setBanner({ level: "error", text: `Two parameters are named '${duplicate}'.` }); return; }
    setSaving(true);
    setBanner(null);
    const changes: Record<string, unknown> = {
      parameters: rows.map((r) => ({ name: r.name.trim(), value: r.value, sensitive: r.sensitive, description: r.description })),
    };
    if (meta.name !== ctx.name) changes.name = meta.name;
    if (meta.description !== (ctx.description ?? "")) changes.description = meta.description;
    try {
      const saved = await api.update<ParameterContext>("parameter-context", ctx.identifier, ctx.revision, changes);
      setCtx(saved);
      setRows(toRows(saved));
      setMeta({ name: saved.name, description: saved.description ?? "" });
      notify(`Saved ${saved.name}: components using changed parameters were reconfigured`);
      reload().catch(() => undefined);
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 409) {
        await loadContext(ctx.identifier);
        setBanner({ level: "warn", text: "Someone else changed this context meanwhile, so it was reloaded. Make your changes again." });
      } else {
        setBanner({ level: "error", text: errorText(exc) });
      }
    } finally {
      setSaving(false);
    }
  };

  const create = async () => {
    const name = newName.trim();
    if (!name) return;
    try {
      const created = await api.create<ParameterContext>("parameter-context", { name, description: "", parameters: [] });
      setNewName("");
      await reload();
      setSelectedId(created.identifier);
      notify(`Created ${name}`);
    } catch (exc) {
      setBanner({ level: "error", text: errorText(exc) });
    }
  };

  const bind = async (contextId: string | null) => {
    if (!group) return;
    try {
      const fresh = await api.get<ProcessGroup>("process-group", group.identifier);
      await api.update("process-group", group.identifier, fresh.revision, { parameterContext: contextId ? { id: contextId } : null });
      notify(contextId ? `${group.name} now uses ${contexts.find((c) => c.identifier === contextId)?.name ?? contextId}` : `${group.name} uses no parameter context now`);
      await reload();
      if (ctx) await loadContext(ctx.identifier);
    } catch (exc) {
      setBanner({ level: "error", text: errorText(exc) });
    }
  };

  const boundHere = group?.parameterContext?.id ?? null;
  return (
    <PanelFrame
      testId="parameters-panel"
      title="Parameter contexts"
      subtitle={group ? <>Group <b>{group.name}</b> uses {boundHere
        ? <b>{contexts.find((c) => c.identifier === boundHere)?.name ?? boundHere}</b> : "no context"}</> : null}
      footer={ctx ? (
        <>
          <span className="pn-footer-note">Saving reconfigures every component that uses a changed parameter.</span>
          <button type="button" onClick={() => ctx && loadContext(ctx.identifier)}>Revert</button>
          <button type="button" className="primary" data-testid="param-save" disabled={saving} onClick={save}>
            {saving ? "Saving…" : "Save parameters"}
          </button>
        </>
      ) : undefined}
    >
      {banner ? <Notice level={banner.level} onDismiss={() => setBanner(null)}>{banner.text}</Notice> : null}
      <div className="pn-add-box">
        <div className="pn-row">
          <select className="pn-input grow" aria-label="Parameter context" data-testid="param-context-select"
                  value={selectedId ?? ""} onChange={(e) => setSelectedId(e.target.value || null)}>
            {contexts.length === 0 ? <option value="">No contexts yet</option> : null}
            {contexts.map((c) => (
              <option key={c.identifier} value={c.identifier}>
                {c.name} ({c.parameters.length}){c.identifier === boundHere ? " · this group" : ""}
              </option>
            ))}
          </select>
          {ctx && ctx.identifier !== boundHere ? (
            <button type="button" data-testid="param-bind" disabled={!group} onClick={() => bind(ctx.identifier)}
                    title={`Bind ${group?.name ?? "the current group"} to ${ctx.name}`}>Use for this group</button>
          ) : null}
          {ctx && ctx.identifier === boundHere ? (
            <button type="button" data-testid="param-unbind" onClick={() => bind(null)}>Unbind</button>
          ) : null}
        </div>
        <div className="pn-row">
          <input className="pn-input grow" placeholder="New context name" value={newName} data-testid="param-context-new-name"
                 aria-label="New context name" onChange={(e) => setNewName(e.target.value)}
                 onKeyDown={(e) => { if (e.key === "Enter") { e.preventDefault(); create(); } }} />
          <button type="button" data-testid="param-context-create" disabled={!newName.trim()} onClick={create}>New context</button>
        </div>
      </div>

      {!ctx && contexts.length === 0 ? <Empty>No parameter contexts. Create one, add parameters, then bind the group to it; properties use them as #&#123;name&#125;.</Empty> : null}
      {ctx ? (
        <>
          <div className="pn-grid2">
            <Field label="Name" htmlFor="param-ctx-name">
              <input id="param-ctx-name" className="pn-input" value={meta.name} onChange={(e) => setMeta({ ...meta, name: e.target.value })} />
            </Field>
            <Field label="Description" htmlFor="param-ctx-desc">
              <input id="param-ctx-desc" className="pn-input" value={meta.description}
                     onChange={(e) => setMeta({ ...meta, description: e.target.value })} />
            </Field>
          </div>
          <div className="pn-help spaced">
            Bound to: {ctx.boundGroups.length ? ctx.boundGroups.map((g) => componentName(index, g)).join(", ") : "no group"}.
            Reference a parameter as <span className="mono">#&#123;name&#125;</span>; a sensitive one only from sensitive properties.
          </div>
          <section className="pn-section">
            <div className="pn-section-head">
              <h4>Parameters</h4>
              <button type="button" data-testid="param-add"
                      onClick={() => setRows([...rows, { name: "", value: "", sensitive: false, description: "", isNew: true, key: ++rowKeys }])}>
                Add parameter
              </button>
            </div>
            {rows.length === 0 ? <Empty>No parameters yet.</Empty> : null}
            <div className="pn-params">
              {rows.map((r) => (
                <div key={r.key} className={`pn-param${r.isNew ? " new" : ""}`} data-testid={`param-row-${r.name.trim()}`}>
                  <div className="pn-param-line">
                    <input className="pn-input mono" data-testid="param-name" aria-label="Parameter name" placeholder="name"
                           value={r.name} readOnly={!r.isNew}
                           title={r.isNew ? undefined : "To rename a parameter, remove it and add it again"}
                           onChange={(e) => update(r.key, { name: e.target.value })} />
                    {r.sensitive ? (
                      <input className="pn-input mono" data-testid="param-value" aria-label="Value" type="password" autoComplete="new-password"
                             value={r.value ?? ""} placeholder="value"
                             onFocus={(e) => { if (e.target.value === MASK) e.target.select(); }}
                             onChange={(e) => update(r.key, { value: e.target.value })} />
                    ) : (
                      <input className="pn-input mono" data-testid="param-value" aria-label="Value" placeholder="value"
                             value={r.value ?? ""} onChange={(e) => update(r.key, { value: e.target.value })} />
                    )}
                    <button type="button" className="pn-icon" data-testid="param-remove" aria-label={`Remove ${r.name}`}
                            title="Remove" onClick={() => setRows(rows.filter((x) => x.key !== r.key))}>×</button>
                  </div>
                  <div className="pn-param-line">
                    <input className="pn-input" data-testid="param-description" aria-label="Description" placeholder="description"
                           value={r.description} onChange={(e) => update(r.key, { description: e.target.value })} />
                    <label className="pn-inline-check" title={r.isNew ? "Encrypted at rest and never shown again"
                      : "Cannot change: remove the parameter and add it again"}>
                      <input type="checkbox" data-testid="param-sensitive" checked={r.sensitive} disabled={!r.isNew}
                             onChange={(e) => update(r.key, { sensitive: e.target.checked, value: e.target.checked ? r.value : r.value })} />
                      Sensitive
                    </label>
                  </div>
                </div>
              ))}
            </div>
            {duplicate ? <div className="pn-field-error">Two parameters are named '{duplicate}'.</div> : null}
          </section>
        </>
      ) : null}
    </PanelFrame>
  );
}
