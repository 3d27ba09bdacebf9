// The "Properties" tab: one field per property of the type's spec (a <select> for allowed
// values, a service picker for controller-service properties with NiFi's "Create new
// service" in its list, a masked field for sensitive ones, a multi-line editor that checks
// the Avro schema of a Schema Text, EL completion where the property evaluates
// expressions), dynamic properties, and each validation error under the field it names.
import { useState } from "react";
import { api, type ControllerService, type ProcessorType, type PropertySpecDoc } from "../api";
import { useApp } from "../store";
import { checkAvroSchema, isSchemaText } from "./avroSchema";
import { ElInput, type ParameterScope } from "./ElInput";
import { findGroup, servicesInScope } from "./flowTree";
import { errorText } from "./format";
import { MASK, dependenciesMet, dependencyText, dynamicSpec, type PropDraft } from "./properties";
import { Empty } from "./ui";

interface Props {
  spec: ProcessorType | undefined;
  draft: PropDraft;
  onChange: (draft: PropDraft) => void;
  errors: Map<string, string[]>;
  /** The group the component lives in (for the services it may use). */
  groupId: string;
  /** Whether the type list has arrived (so a missing spec means an unknown type). */
  typesLoaded: boolean;
}

/** The value of the "Create new service…" entry of a service picker. */
const CREATE = "\u0000create";

export function PropertiesEditor({ spec, draft, onChange, errors, groupId, typesLoaded }: Props) {
  const { flow, openPanel, serviceTypes, reload, notify } = useApp();
  const [creating, setCreating] = useState<{ key: string; type: string; busy: boolean; error: string | null } | null>(null);
  const [newName, setNewName] = useState("");
  const [newValue, setNewValue] = useState("");
  const [addError, setAddError] = useState("");
  const dyn = dynamicSpec(spec);
  // `#{` offers the parameters of the context bound to this group (NiFi: no inheritance).
  const bound = flow ? findGroup(flow.rootGroup, groupId)?.parameterContext?.id ?? null : null;
  const context = bound ? flow?.parameterContexts.find((c) => c.identifier === bound) ?? null : null;
  const scope: ParameterScope = { context: context?.name ?? null, parameters: context?.parameters ?? [] };

  if (!spec) {
    return <Empty>{typesLoaded ? "This component's type is not installed here, so its properties cannot be shown."
      : "Loading the type's properties…"}</Empty>;
  }

  const setValue = (key: string, value: string | null) => onChange({ ...draft, values: { ...draft.values, [key]: value } });
  const setDynamic = (name: string, value: string) =>
    onChange({ ...draft, dynamic: draft.dynamic.map((d) => (d.name === name ? { name, value } : d)) });
  const removeDynamic = (name: string) => onChange({ ...draft, dynamic: draft.dynamic.filter((d) => d.name !== name) });
  const addDynamic = () => {
    const name = newName.trim();
    if (!name) { setAddError("Give the property a name."); return; }
    const taken = spec.properties.some((p) => p.key === name || p.display_name === name || (p.aliases ?? []).includes(name))
      || draft.dynamic.some((d) => d.name === name);
    if (taken) { setAddError(`There is already a property named '${name}'.`); return; }
    onChange({ ...draft, dynamic: [...draft.dynamic, { name, value: newValue }] });
    setNewName("");
    setNewValue("");
    setAddError("");
  };

  const control = (p: PropertySpecDoc) => {
    const value = draft.values[p.key];
    const id = `prop-${p.key}`;
    const invalid = errors.has(p.key);
    if (p.identifies_controller_service) {
      const api_ = p.identifies_controller_service;
      const candidates = flow ? servicesInScope(flow, groupId).filter(({ service }) => service.provides.includes(api_)) : [];
      const known = value === null || candidates.some(({ service }) => service.identifier === value);
      const creatable = serviceTypes.filter((t) => (t.provides ?? []).includes(api_));
      const open = creating?.key === p.key ? creating : null;
      const create = async () => {
        if (!open) return;
        setCreating({ ...open, busy: true, error: null });
        try {
          const created = await api.create<ControllerService>("controller-service", {
            type: open.type, name: open.type, parentGroupId: groupId,
          });
          await reload();
          setValue(p.key, created.identifier);
          setCreating(null);
          notify(`Created ${open.type} and chose it for ${p.display_name}: configure and enable it in Controller services`);
        } catch (exc) {
          setCreating({ ...open, busy: false, error: errorText(exc) });
        }
      };
      return (
        <>
          <div className="pn-row">
            <select id={id} data-testid={id} className={`pn-input grow${invalid ? " invalid" : ""}`} value={value ?? ""}
                    onChange={(e) => {
                      if (e.target.value === CREATE) {
                        setCreating({ key: p.key, type: creatable[0]?.type ?? "", busy: false, error: null });
                        return;
                      }
                      setValue(p.key, e.target.value || null);
                    }}>
              <option value="">{p.required ? "— choose a service —" : "— none —"}</option>
              {!known ? <option value={value ?? ""}>{value} (not found)</option> : null}
              {candidates.map(({ service, group }) => (
                <option key={service.identifier} value={service.identifier}>
                  {service.name || service.type} · {service.state === "ENABLED" ? "enabled" : "disabled"}
                  {group.identifier !== groupId ? ` · from ${group.name}` : ""}
                </option>
              ))}
              {creatable.length ? <option value={CREATE} data-testid={`prop-create-option-${p.key}`}>Create new service…</option> : null}
            </select>
            {value && known ? (
              <button type="button" title="Configure this service"
                      onClick={() => openPanel({ kind: "configure", componentKind: "controller-service", id: value })}>
                Open
              </button>
            ) : null}
            {!candidates.length && !creatable.length ? (
              <button type="button" title={`Add a service that provides ${api_}`}
                      onClick={() => openPanel({ kind: "services", groupId })}>Add…</button>
            ) : null}
          </div>
          {open ? (
            <div className="pn-create-service" data-testid={`prop-create-${p.key}`}>
              <div className="pn-create-title">Create a new {api_} in this group</div>
              <div className="pn-row">
                <select className="pn-input grow" data-testid={`prop-create-type-${p.key}`} aria-label="Service type"
                        value={open.type} onChange={(e) => setCreating({ ...open, type: e.target.value, error: null })}>
                  {creatable.map((t) => <option key={t.type} value={t.type}>{t.type}</option>)}
                </select>
                <button type="button" className="primary" data-testid={`prop-create-confirm-${p.key}`}
                        disabled={open.busy || !open.type} onClick={create}>Create</button>
                <button type="button" data-testid={`prop-create-cancel-${p.key}`} onClick={() => setCreating(null)}>Cancel</button>
              </div>
              <div className="pn-help">{creatable.find((t) => t.type === open.type)?.description}</div>
              {open.error ? <div className="pn-field-error" role="alert">{open.error}</div> : null}
            </div>
          ) : null}
        </>
      );
    }
    if (isSchemaText(p)) {
      const text = value ?? "";
      const result = text.trim() ? checkAvroSchema(text) : null;
      return (
        <>
          <textarea id={id} data-testid={id} className={`pn-input pn-textarea mono pn-schema${invalid ? " invalid" : ""}`}
                    rows={Math.min(16, Math.max(6, text.split("\n").length + 1))} spellCheck={false} value={text}
                    placeholder={p.default !== null ? `Default: ${p.default}` : "An Avro schema (JSON)"}
                    onChange={(e) => setValue(p.key, e.target.value)} />
          {result ? (
            <div data-testid={`prop-schema-check-${p.key}`} role={result.ok === false ? "alert" : "status"}
                 className={`pn-schema-check ${result.ok === false ? "bad" : result.ok ? "good" : ""}`}>
              {result.ok === false
                ? `Line ${result.line}, column ${result.column}${result.path ? ` (${result.path})` : ""}: ${result.message}`
                : result.summary}
            </div>
          ) : null}
        </>
      );
    }
    if (p.allowed_values.length) {
      const known = value === null || p.allowed_values.some((a) => a.value === value);
      const defaultLabel = p.allowed_values.find((a) => a.value === p.default)?.display_name ?? p.default;
      return (
        <select id={id} data-testid={id} className={`pn-input${invalid ? " invalid" : ""}`} value={value ?? ""}
                onChange={(e) => setValue(p.key, e.target.value === "" ? null : e.target.value)}>
          <option value="">{p.default !== null ? `Default (${defaultLabel})` : "— not set —"}</option>
          {!known ? <option value={value ?? ""}>{value}</option> : null}
          {p.allowed_values.map((a) => (
            <option key={a.value} value={a.value} title={a.description}>{a.display_name}</option>
          ))}
        </select>
      );
    }
    if (p.sensitive) {
      return (
        <input id={id} data-testid={id} type="password" autoComplete="new-password"
               className={`pn-input mono${invalid ? " invalid" : ""}`} value={value ?? ""}
               placeholder={value === null ? "Not set" : undefined}
               onFocus={(e) => { if (e.target.value === MASK) e.target.select(); }}
               onChange={(e) => setValue(p.key, e.target.value)} />
      );
    }
    return (
      <ElInput id={id} testId={id} value={value ?? ""} el={p.expression_scope !== "NONE"} invalid={invalid} parameters={scope}
               placeholder={p.default !== null ? `Default: ${p.default === "" ? "empty" : p.default}` : p.required ? "Required" : "Not set"}
               onChange={(v) => setValue(p.key, v)} />
    );
  };

  return (
    <div className="pn-props">
      {spec.properties.map((p) => {
        const met = dependenciesMet(p, spec, draft);
        const errs = errors.get(p.key) ?? [];
        return (
          <div key={p.key} className={`pn-field pn-prop${errs.length ? " invalid" : ""}${met ? "" : " inactive"}`}>
            <div className="pn-prop-head">
              <label htmlFor={`prop-${p.key}`} title={p.key}>
                {p.display_name}
                {p.required ? <span className="pn-required" title="Required">*</span> : null}
              </label>
              <span className="pn-prop-tags">
                {p.expression_scope !== "NONE" ? (
                  <span className="pn-tag" title={p.expression_scope === "FLOWFILE_ATTRIBUTES"
                    ? "Expression Language, with the flowfile's attributes (type ${ for functions)"
                    : "Expression Language, without flowfile attributes (type ${ for functions)"}>EL</span>
                ) : null}
                {p.sensitive ? <span className="pn-tag" title="Sensitive: stored encrypted, never shown">sensitive</span> : null}
                {p.identifies_controller_service ? <span className="pn-tag" title="Controller service API">{p.identifies_controller_service}</span> : null}
              </span>
            </div>
            {control(p)}
            {errs.length ? (
              <div className="pn-field-error" data-testid={`prop-error-${p.key}`} role="alert">
                {errs.map((e) => <div key={e}>{e}</div>)}
              </div>
            ) : null}
            <div className="pn-help">
              {p.description}
              {p.validator ? <span className="pn-help-extra"> Expects {p.validator.description}.</span> : null}
              {!met ? <span className="pn-help-extra"> Used only when {dependencyText(p, spec)}.</span> : null}
            </div>
          </div>
        );
      })}

      {dyn || draft.dynamic.length ? (
        <section className="pn-section">
          <h4>Dynamic properties</h4>
          {dyn ? (
            <p className="pn-help">
              Name: {dyn.name_description ?? "any"}. Value: {dyn.value_description ?? "any"}.
            </p>
          ) : (
            <p className="pn-help">This type does not take dynamic properties; remove these.</p>
          )}
          {draft.dynamic.map((d) => {
            const errs = errors.get(d.name) ?? [];
            return (
              <div key={d.name} className={`pn-field pn-prop${errs.length ? " invalid" : ""}`}>
                <div className="pn-prop-head">
                  <label htmlFor={`prop-dyn-${d.name}`} className="mono">{d.name}</label>
                  <span className="pn-spacer" />
                  {(dyn?.expression_scope ?? "NONE") !== "NONE" ? <span className="pn-tag" title="Expression Language (type ${ for functions)">EL</span> : null}
                  <button type="button" className="pn-link danger" data-testid={`prop-dyn-remove-${d.name}`}
                          onClick={() => removeDynamic(d.name)} aria-label={`Remove ${d.name}`}>Remove</button>
                </div>
                {dyn?.sensitive ? (
                  <input id={`prop-dyn-${d.name}`} data-testid={`prop-dyn-${d.name}`} type="password" className="pn-input"
                         value={d.value} onChange={(e) => setDynamic(d.name, e.target.value)} />
                ) : (
                  <ElInput id={`prop-dyn-${d.name}`} testId={`prop-dyn-${d.name}`} value={d.value} invalid={errs.length > 0}
                           parameters={scope}
                           el={(dyn?.expression_scope ?? "NONE") !== "NONE"} onChange={(v) => setDynamic(d.name, v)} />
                )}
                {errs.length ? (
                  <div className="pn-field-error" data-testid={`prop-error-${d.name}`} role="alert">
                    {errs.map((e) => <div key={e}>{e}</div>)}
                  </div>
                ) : null}
              </div>
            );
          })}
          {dyn ? (
            <div className="pn-dyn-add">
              <input className="pn-input mono" data-testid="dyn-add-name" placeholder="Name" value={newName}
                     aria-label="New property name"
                     onChange={(e) => { setNewName(e.target.value); setAddError(""); }}
                     onKeyDown={(e) => { if (e.key === "Enter") { e.preventDefault(); addDynamic(); } }} />
              <input className="pn-input mono" data-testid="dyn-add-value" placeholder="Value" value={newValue}
                     aria-label="New property value" onChange={(e) => setNewValue(e.target.value)}
                     onKeyDown={(e) => { if (e.key === "Enter") { e.preventDefault(); addDynamic(); } }} />
              <button type="button" data-testid="dyn-add" onClick={addDynamic}>Add</button>
            </div>
          ) : null}
          {addError ? <div className="pn-field-error" role="alert">{addError}</div> : null}
        </section>
      ) : null}
    </div>
  );
}
