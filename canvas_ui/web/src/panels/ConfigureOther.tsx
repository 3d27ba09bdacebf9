// Configure the simpler components: a connection (relationships, back pressure,
// expiration, prioritizers), a port, a label, a process group (name, comments,
// parameter context) and a funnel (nothing to set). Same save rules as ConfigurePanel:
// changed fields are checked before sending, and every error shows next to its field.
import { useEffect, useMemo, useState } from "react";
import { api, ApiError, type Connection, type Kind, type Processor, type ProcessGroup } from "../api";
import {
  checkDataSize, checkDuration, checkName, checkWholeNumber, collect, hasErrors, serverErrors, type FieldErrors,
} from "../fields";
import { useApp } from "../store";
import { relationshipsOf } from "../canvas/model";
import { componentIndex, componentName } from "./flowTree";
import { errorText, formatBytes } from "./format";
import { PanelFrame } from "./frame";
import { checkEngine, engineDraft, engineValue, GroupEngine } from "./GroupEngine";
import { Empty, Field, Notice } from "./ui";

type Fields = Record<string, unknown>;

const PRIORITIZERS = [
  ["FirstInFirstOutPrioritizer", "First in, first out"],
  ["OldestFlowFileFirstPrioritizer", "Oldest flowfile first"],
  ["NewestFlowFileFirstPrioritizer", "Newest flowfile first"],
  ["PriorityAttributePrioritizer", "By the priority attribute"],
] as const;

/** NiFi's load-balance choices, with what each does. */
const LB_STRATEGIES = [
  ["DO_NOT_LOAD_BALANCE", "Do not load balance", "Flowfiles stay on the node that queued them."],
  ["ROUND_ROBIN", "Round robin", "Flowfiles are spread over the connected nodes in turn (a node whose queue is full is skipped)."],
  ["PARTITION_BY_ATTRIBUTE", "Partition by attribute",
    "Flowfiles with the same value of an attribute go to the same node (no value: all to one node)."],
  ["SINGLE_NODE", "Single node", "Every flowfile goes to one node of the cluster."],
] as const;
const LB_COMPRESSIONS = [
  ["DO_NOT_COMPRESS", "Do not compress"],
  ["COMPRESS_ATTRIBUTES_ONLY", "Compress attributes only"],
  ["COMPRESS_ATTRIBUTES_AND_CONTENT", "Compress attributes and content"],
] as const;

const TITLES: Partial<Record<Kind, string>> = {
  connection: "Connection", "input-port": "Input port", "output-port": "Output port", funnel: "Funnel",
  label: "Label", "process-group": "Process group",
};

/** The editable fields of each kind, read from the component. */
function editable(kind: Kind, c: Fields): Fields {
  switch (kind) {
    case "connection":
      return {
        name: c.name ?? "", selectedRelationships: [...((c.selectedRelationships as string[]) ?? [])],
        backPressureObjectThreshold: String(c.backPressureObjectThreshold ?? ""),
        backPressureDataSizeThreshold: c.backPressureDataSizeThreshold ?? "",
        flowFileExpiration: c.flowFileExpiration ?? "", prioritizers: [...((c.prioritizers as string[]) ?? [])],
        loadBalanceStrategy: c.loadBalanceStrategy ?? "DO_NOT_LOAD_BALANCE",
        partitioningAttribute: c.partitioningAttribute ?? "",
        loadBalanceCompression: c.loadBalanceCompression ?? "DO_NOT_COMPRESS",
      };
    case "input-port":
    case "output-port":
      return { name: c.name ?? "", comments: c.comments ?? "" };
    case "label":
      return { label: c.label ?? "", width: String(c.width ?? ""), height: String(c.height ?? "") };
    case "process-group":
      return {
        name: c.name ?? "", comments: c.comments ?? "",
        parameterContext: (c.parameterContext as { id: string } | null)?.id ?? "", ...engineDraft(c),
      };
    default:
      return {};
  }
}

function diff(kind: Kind, original: Fields, draft: Fields): Fields {
  const changes: Fields = {};
  for (const [key, value] of Object.entries(draft)) {
    if (JSON.stringify(value) === JSON.stringify(original[key])) continue;
    if (["backPressureObjectThreshold", "width", "height"].includes(key)) {
      const n = Number(value);
      changes[key] = value !== "" && Number.isFinite(n) ? n : value;
    } else if (key === "parameterContext") {
      changes[key] = value ? { id: value } : null;
    } else {
      changes[key] = engineValue(key, value);
    }
  }
  void kind;
  return changes;
}

/** The checks worth making before sending, on the changed fields only. */
function checkChanges(kind: Kind, changes: Fields, draft: Fields): FieldErrors {
  const has = (field: string) => field in changes;
  const text = (field: string) => String(draft[field] ?? "");
  if (kind === "connection") {
    return collect({
      backPressureObjectThreshold: has("backPressureObjectThreshold")
        ? checkWholeNumber(text("backPressureObjectThreshold"), { hint: "Such as 10000; 0 turns it off." }) : null,
      backPressureDataSizeThreshold: has("backPressureDataSizeThreshold") ? checkDataSize(text("backPressureDataSizeThreshold")) : null,
      flowFileExpiration: has("flowFileExpiration") ? checkDuration(text("flowFileExpiration")) : null,
      selectedRelationships: has("selectedRelationships") && (draft.selectedRelationships as string[]).length === 0
        ? "Choose at least one relationship." : null,
      partitioningAttribute: (has("loadBalanceStrategy") || has("partitioningAttribute"))
        && draft.loadBalanceStrategy === "PARTITION_BY_ATTRIBUTE" && !text("partitioningAttribute").trim()
        ? "Name the attribute whose value picks the node (flowfiles with the same value go to the same node)." : null,
    });
  }
  if (kind === "label") {
    return collect({
      width: has("width") ? checkWholeNumber(text("width"), { min: 1, hint: "In pixels, such as 240." }) : null,
      height: has("height") ? checkWholeNumber(text("height"), { min: 1, hint: "In pixels, such as 120." }) : null,
    });
  }
  return { ...collect({ name: has("name") ? checkName(text("name")) : null }), ...checkEngine(changes, draft) };
}

export function ConfigureOther({ kind, id }: { kind: Kind; id: string }) {
  const { notify, reload, openPanel, flow, processorTypes } = useApp();
  const [comp, setComp] = useState<Fields | null>(null);
  const [draft, setDraft] = useState<Fields>({});
  const [loadError, setLoadError] = useState<string | null>(null);
  const [banner, setBanner] = useState<{ level: "error" | "warn"; text: string } | null>(null);
  const [saving, setSaving] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const index = useMemo(() => componentIndex(flow), [flow]);
  const title = TITLES[kind] ?? kind;

  const adopt = (c: Fields) => {
    setComp(c);
    setDraft(editable(kind, c));
  };
  useEffect(() => {
    api.get<Fields>(kind, id).then(adopt).catch((exc) => setLoadError(errorText(exc)));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [kind, id]);

  if (loadError) {
    return <PanelFrame testId="configure-panel" title={`Configure ${title.toLowerCase()}`}>
      <Notice level="error">Could not load '{id}': {loadError}</Notice>
    </PanelFrame>;
  }
  if (!comp) return <PanelFrame testId="configure-panel" title={title}><Empty>Loading…</Empty></PanelFrame>;

  const original = editable(kind, comp);
  const set = (patch: Fields) => {
    setDraft({ ...draft, ...patch });
    if (Object.keys(patch).some((f) => fieldErrors[f])) {
      setFieldErrors((errors) => Object.fromEntries(Object.entries(errors).filter(([f]) => !(f in patch))));
    }
  };
  const err = (field: string) => ({ error: fieldErrors[field], errorTestId: `field-error-${field}` });
  const save = async () => {
    const changes = diff(kind, original, draft);
    if (!Object.keys(changes).length) { notify("Nothing to save: no changes"); return; }
    const checked = checkChanges(kind, changes, draft);
    setFieldErrors(checked);
    if (hasErrors(checked)) { setBanner(null); return; }
    setSaving(true);
    setBanner(null);
    try {
      adopt(await api.update<Fields>(kind, id, comp.revision as number, changes));
      notify("Saved");
      reload().catch(() => undefined);
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 409) {
        const current = (exc.body as { current?: Fields } | null)?.current ?? await api.get<Fields>(kind, id).catch(() => null);
        if (current) adopt(current);
        setBanner({ level: "warn", text: "Someone else changed this meanwhile, so it was reloaded. Make your changes again." });
      } else {
        const { fields, general } = serverErrors(exc);
        const known = new Set(Object.keys(editable(kind, comp)));
        setFieldErrors(Object.fromEntries(Object.entries(fields).filter(([f]) => known.has(f))));
        const rest = [general, ...Object.entries(fields).filter(([f]) => !known.has(f)).flatMap(([, m]) => m)]
          .filter(Boolean).join("\n");
        if (rest) setBanner({ level: "error", text: rest });
        notify(`Not saved: ${rest || "a field needs correcting"}`, "error");
      }
    } finally {
      setSaving(false);
    }
  };

  const name = kind === "label" ? String(comp.label ?? "Label") : String(comp.name || title);
  let body: React.ReactNode = null;
  if (kind === "connection") {
    const conn = comp as unknown as Connection;
    const source = index.get(conn.source.id);
    let relationships: string[] = [];
    if (source?.kind === "processor") {
      relationships = relationshipsOf(source.component as unknown as Processor, processorTypes);
    }
    for (const r of conn.selectedRelationships) if (!relationships.includes(r)) relationships.push(r);
    const selected = draft.selectedRelationships as string[];
    const prioritizers = draft.prioritizers as string[];
    body = (
      <div className="pn-form">
        <div className="pn-facts">
          <div><span>From</span><span>{componentName(index, conn.source.id)}</span></div>
          <div><span>To</span><span>{componentName(index, conn.destination.id)}</span></div>
          <div><span>Queued</span><span>{conn.queuedCount} ({formatBytes(conn.queuedBytes)})</span></div>
        </div>
        <Field label="Name" htmlFor="setting-name" {...err("name")}>
          <input id="setting-name" data-testid="setting-name" className="pn-input" value={String(draft.name)}
                 onChange={(e) => set({ name: e.target.value })} />
        </Field>
        {relationships.length ? (
          <Field label="Relationships" {...err("selectedRelationships")}>
            <div className="pn-chips">
              {relationships.map((r) => (
                <label key={r} className="pn-chip-check">
                  <input type="checkbox" data-testid={`conn-rel-${r}`} checked={selected.includes(r)}
                         onChange={(e) => set({ selectedRelationships: e.target.checked ? [...selected, r] : selected.filter((x) => x !== r) })} />
                  <span className="mono">{r}</span>
                </label>
              ))}
            </div>
          </Field>
        ) : <p className="pn-help">The source passes every flowfile on; there are no relationships to choose.</p>}
        <div className="pn-grid2">
          <Field label="Back pressure: object threshold" htmlFor="conn-bp-count" help="0 disables it."
                 {...err("backPressureObjectThreshold")}>
            <input id="conn-bp-count" data-testid="conn-bp-count" className="pn-input" inputMode="numeric"
                   value={String(draft.backPressureObjectThreshold)} onChange={(e) => set({ backPressureObjectThreshold: e.target.value })} />
          </Field>
          <Field label="Back pressure: size threshold" htmlFor="conn-bp-size" help="e.g. 1 GB; 0 B disables it."
                 {...err("backPressureDataSizeThreshold")}>
            <input id="conn-bp-size" data-testid="conn-bp-size" className="pn-input mono"
                   value={String(draft.backPressureDataSizeThreshold)} onChange={(e) => set({ backPressureDataSizeThreshold: e.target.value })} />
          </Field>
        </div>
        <Field label="FlowFile expiration" htmlFor="conn-expiration" help="Flowfiles older than this are dropped; 0 sec keeps them."
               {...err("flowFileExpiration")}>
          <input id="conn-expiration" data-testid="conn-expiration" className="pn-input mono"
                 value={String(draft.flowFileExpiration)} onChange={(e) => set({ flowFileExpiration: e.target.value })} />
        </Field>
        <div className="pn-grid2">
          <Field label="Load balance strategy" htmlFor="conn-lb-strategy" {...err("loadBalanceStrategy")}
                 help={LB_STRATEGIES.find(([k]) => k === draft.loadBalanceStrategy)?.[2]
                   ?? "How a cluster spreads the flowfiles over its nodes."}>
            <select id="conn-lb-strategy" data-testid="conn-lb-strategy" className="pn-input"
                    value={String(draft.loadBalanceStrategy)} onChange={(e) => set({ loadBalanceStrategy: e.target.value })}>
              {LB_STRATEGIES.map(([k, label]) => <option key={k} value={k}>{label}</option>)}
            </select>
          </Field>
          <Field label="Load balance compression" htmlFor="conn-lb-compression" {...err("loadBalanceCompression")}
                 help={draft.loadBalanceStrategy === "DO_NOT_LOAD_BALANCE" ? "Used only when load balanced."
                   : "What is compressed when flowfiles move between nodes."}>
            <select id="conn-lb-compression" data-testid="conn-lb-compression" className="pn-input"
                    disabled={draft.loadBalanceStrategy === "DO_NOT_LOAD_BALANCE"}
                    value={String(draft.loadBalanceCompression)} onChange={(e) => set({ loadBalanceCompression: e.target.value })}>
              {LB_COMPRESSIONS.map(([k, label]) => <option key={k} value={k}>{label}</option>)}
            </select>
          </Field>
        </div>
        {draft.loadBalanceStrategy === "PARTITION_BY_ATTRIBUTE" ? (
          <Field label="Attribute name" htmlFor="conn-lb-attribute" required {...err("partitioningAttribute")}
                 help="The flowfile attribute whose value picks the node.">
            <input id="conn-lb-attribute" data-testid="conn-lb-attribute" className="pn-input mono"
                   value={String(draft.partitioningAttribute)} onChange={(e) => set({ partitioningAttribute: e.target.value })} />
          </Field>
        ) : null}
        <Field label="Prioritizers" help="Applied in order; without any, the queue is first in, first out." {...err("prioritizers")}>
          <ol className="pn-order">
            {prioritizers.map((p, i) => (
              <li key={p}>
                <span>{PRIORITIZERS.find(([k]) => k === p)?.[1] ?? p}</span>
                <span className="pn-row tight">
                  <button type="button" className="pn-icon" disabled={i === 0} aria-label="Move up"
                          onClick={() => { const next = [...prioritizers]; [next[i - 1], next[i]] = [next[i], next[i - 1]]; set({ prioritizers: next }); }}>↑</button>
                  <button type="button" className="pn-icon" aria-label="Remove"
                          onClick={() => set({ prioritizers: prioritizers.filter((x) => x !== p) })}>×</button>
                </span>
              </li>
            ))}
          </ol>
          {prioritizers.length < PRIORITIZERS.length ? (
            <select className="pn-input" value="" aria-label="Add a prioritizer"
                    onChange={(e) => e.target.value && set({ prioritizers: [...prioritizers, e.target.value] })}>
              <option value="">Add a prioritizer…</option>
              {PRIORITIZERS.filter(([k]) => !prioritizers.includes(k)).map(([k, label]) => <option key={k} value={k}>{label}</option>)}
            </select>
          ) : null}
        </Field>
      </div>
    );
  } else if (kind === "input-port" || kind === "output-port" || kind === "process-group") {
    const contexts = flow?.parameterContexts ?? [];
    body = (
      <div className="pn-form">
        <Field label="Name" htmlFor="setting-name" {...err("name")}>
          <input id="setting-name" data-testid="setting-name" className="pn-input" value={String(draft.name)}
                 onChange={(e) => set({ name: e.target.value })} />
        </Field>
        {kind === "process-group" ? (
          <>
            <Field label="Parameter context" htmlFor="group-parameter-context" {...err("parameterContext")}
                   help="Child groups do not inherit it: each group binds its own.">
              <select id="group-parameter-context" data-testid="group-parameter-context" className="pn-input"
                      value={String(draft.parameterContext)} onChange={(e) => set({ parameterContext: e.target.value })}>
                <option value="">— none —</option>
                {contexts.map((c) => <option key={c.identifier} value={c.identifier}>{c.name}</option>)}
              </select>
            </Field>
            <GroupEngine id={id} flow={flow} group={comp as unknown as ProcessGroup} draft={draft} set={set} err={err} />
            <GroupFacts group={comp as unknown as ProcessGroup} />
          </>
        ) : null}
        <Field label="Comments" htmlFor="comments" {...err("comments")}>
          <textarea id="comments" data-testid="comments" className="pn-input pn-textarea" rows={6} value={String(draft.comments)}
                    onChange={(e) => set({ comments: e.target.value })} />
        </Field>
      </div>
    );
  } else if (kind === "label") {
    body = (
      <div className="pn-form">
        <Field label="Text" htmlFor="label-text" {...err("label")}>
          <textarea id="label-text" data-testid="label-text" className="pn-input pn-textarea" rows={5} value={String(draft.label)}
                    onChange={(e) => set({ label: e.target.value })} />
        </Field>
        <div className="pn-grid2">
          <Field label="Width" htmlFor="label-width" {...err("width")}>
            <input id="label-width" className="pn-input" type="number" value={String(draft.width)} onChange={(e) => set({ width: e.target.value })} />
          </Field>
          <Field label="Height" htmlFor="label-height" {...err("height")}>
            <input id="label-height" className="pn-input" type="number" value={String(draft.height)} onChange={(e) => set({ height: e.target.value })} />
          </Field>
        </div>
      </div>
    );
  } else {
    body = <Empty>A funnel merges its incoming connections into its outgoing ones; it has nothing to configure.</Empty>;
  }

  return (
    <PanelFrame testId="configure-panel" title={name} subtitle={<span>{title} · <span className="mono">{id}</span></span>}
      footer={kind === "funnel" ? undefined : (
        <>
          <span className="pn-footer-note" />
          <button type="button" data-testid="configure-cancel" onClick={() => openPanel(null)}>Cancel</button>
          <button type="button" className="primary" data-testid="configure-save" disabled={saving} onClick={save}>
            {saving ? "Saving…" : "Save"}
          </button>
        </>
      )}>
      {banner ? <Notice level={banner.level} testId="configure-banner" onDismiss={() => setBanner(null)}>{banner.text}</Notice> : null}
      {body}
    </PanelFrame>
  );
}

function GroupFacts({ group }: { group: ProcessGroup }) {
  return (
    <div className="pn-facts">
      <div><span>Running</span><span>{group.runningCount}</span></div>
      <div><span>Stopped</span><span>{group.stoppedCount}</span></div>
      <div><span>Invalid</span><span>{group.invalidCount}</span></div>
      <div><span>Disabled</span><span>{group.disabledCount}</span></div>
      <div><span>Queued</span><span>{group.queuedCount} ({formatBytes(group.queuedBytes)})</span></div>
    </div>
  );
}
