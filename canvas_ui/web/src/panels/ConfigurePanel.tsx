// Configure a processor or a controller service: settings, scheduling, properties (from
// the type's spec), relationships and comments. Save sends only what changed, with the
// revision; a 409 reloads the component and says so. Fields are checked before sending
// (names, time periods, whole numbers) and a 400's errors are shown next to the fields
// they name, every one of them, in plain words.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, ApiError, type ControllerService, type ExecutionNode, type Kind, type Processor, type ProcessorType } from "../api";
import { checkDuration, checkName, checkWholeNumber, collect, hasErrors, serverErrors, type FieldErrors } from "../fields";
import { findSpec } from "../canvas/model";
import { useApp } from "../store";
import { ConfigureOther } from "./ConfigureOther";
import { componentIndex, componentName } from "./flowTree";
import { PanelFrame } from "./frame";
import { errorText } from "./format";
import { PropertiesEditor } from "./PropertiesEditor";
import { draftFromComponent, errorsByProperty, propertyChanges, rebaseProps, type PropDraft } from "./properties";
import { RULES_KEY, RulesEditor } from "./RulesEditor";
import { Empty, Field, Notice, StateBadge, Tabs, usePolling } from "./ui";

type Extension = Processor | ControllerService;

interface Draft {
  name: string; penaltyDuration: string; yieldDuration: string; bulletinLevel: string;
  schedulingStrategy: Processor["schedulingStrategy"]; schedulingPeriod: string; concurrent: string; runDuration: string;
  executionNode: ExecutionNode; autoTerminated: string[]; comments: string; props: PropDraft;
}

/** The tab of each field, for showing an error next to the field it names. */
const FIELD_TABS: Record<string, string> = {
  name: "settings", penaltyDuration: "settings", yieldDuration: "settings", bulletinLevel: "settings",
  schedulingStrategy: "scheduling", schedulingPeriod: "scheduling", concurrentlySchedulableTaskCount: "scheduling",
  runDuration: "scheduling", executionNode: "scheduling", properties: "properties", autoTerminatedRelationships: "relationships", comments: "comments",
  [`properties.${RULES_KEY}`]: "advanced",
};

const tabOf = (field: string) => FIELD_TABS[field] ?? (field.startsWith("properties.") ? "properties" : undefined);

/** The draft fields each form field edits (an edit clears that field's error). */
const DRAFT_FIELDS: Partial<Record<keyof Draft, string>> = {
  name: "name", penaltyDuration: "penaltyDuration", yieldDuration: "yieldDuration", bulletinLevel: "bulletinLevel",
  schedulingStrategy: "schedulingStrategy", schedulingPeriod: "schedulingPeriod",
  concurrent: "concurrentlySchedulableTaskCount", runDuration: "runDuration", comments: "comments",
  executionNode: "executionNode",
  autoTerminated: "autoTerminatedRelationships",
};

/** The checks worth making before sending: only on what changed (the server has accepted the rest). */
function checkChanges(changes: Record<string, unknown>, d: Draft): FieldErrors {
  const has = (field: string) => field in changes;
  return collect({
    name: has("name") ? checkName(d.name) : null,
    penaltyDuration: has("penaltyDuration") ? checkDuration(d.penaltyDuration) : null,
    yieldDuration: has("yieldDuration") ? checkDuration(d.yieldDuration) : null,
    schedulingPeriod: has("schedulingPeriod") || has("schedulingStrategy")
      ? (d.schedulingStrategy === "CRON_DRIVEN"
        ? (d.schedulingPeriod.trim() ? null : "Enter a cron expression, such as 0 0/5 * * * ? (every 5 minutes).")
        : checkDuration(d.schedulingPeriod))
      : null,
    concurrentlySchedulableTaskCount: has("concurrentlySchedulableTaskCount")
      ? checkWholeNumber(d.concurrent, { min: 1, hint: "How many triggers may run at once, such as 1 or 4." }) : null,
    runDuration: has("runDuration") ? checkDuration(d.runDuration) : null,
  });
}

const RUN_DURATIONS = ["0 ms", "25 ms", "50 ms", "100 ms", "250 ms", "500 ms", "1 sec", "2 sec"];
const BULLETIN_LEVELS = ["DEBUG", "INFO", "WARN", "ERROR", "NONE"];
const BULLETIN_HINT = "Messages this component logs at this level or above become bulletins (NiFi's setting).";

function isProcessor(c: Extension, kind: Kind): c is Processor {
  return kind === "processor" && "schedulingStrategy" in c;
}

function toDraft(c: Extension, kind: Kind, spec: ProcessorType | undefined, previous?: Draft): Draft {
  const p = isProcessor(c, kind) ? c : null;
  return {
    name: c.name,
    penaltyDuration: p?.penaltyDuration ?? "",
    yieldDuration: p?.yieldDuration ?? "",
    bulletinLevel: p?.bulletinLevel ?? previous?.bulletinLevel ?? "WARN",
    schedulingStrategy: p?.schedulingStrategy ?? "TIMER_DRIVEN",
    schedulingPeriod: p?.schedulingPeriod ?? "",
    concurrent: String(p?.concurrentlySchedulableTaskCount ?? 1),
    runDuration: p?.runDuration ?? "",
    executionNode: p?.executionNode ?? "ALL",
    autoTerminated: [...(p?.autoTerminatedRelationships ?? [])],
    comments: c.comments ?? "",
    props: draftFromComponent(spec, c.properties),
  };
}

function changesOf(c: Extension, kind: Kind, spec: ProcessorType | undefined, d: Draft): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  if (d.name !== c.name) changes.name = d.name;
  if (d.comments !== (c.comments ?? "")) changes.comments = d.comments;
  const props = propertyChanges(spec, c.properties, d.props);
  if (Object.keys(props).length) changes.properties = props;
  if (isProcessor(c, kind)) {
    if (d.penaltyDuration !== c.penaltyDuration) changes.penaltyDuration = d.penaltyDuration.trim();
    if (d.yieldDuration !== c.yieldDuration) changes.yieldDuration = d.yieldDuration.trim();
    if (d.bulletinLevel !== (c.bulletinLevel ?? "WARN")) changes.bulletinLevel = d.bulletinLevel;
    if (d.schedulingStrategy !== c.schedulingStrategy) changes.schedulingStrategy = d.schedulingStrategy;
    if (d.schedulingPeriod !== c.schedulingPeriod) changes.schedulingPeriod = d.schedulingPeriod.trim();
    if (d.concurrent !== String(c.concurrentlySchedulableTaskCount)) {
      const n = Number(d.concurrent);
      changes.concurrentlySchedulableTaskCount = Number.isInteger(n) && d.concurrent.trim() !== "" ? n : d.concurrent;
    }
    if (d.runDuration !== c.runDuration) changes.runDuration = d.runDuration.trim();
    if (d.executionNode !== (c.executionNode ?? "ALL")) changes.executionNode = d.executionNode;
    const before = [...c.autoTerminatedRelationships].sort().join("\n");
    if ([...d.autoTerminated].sort().join("\n") !== before) changes.autoTerminatedRelationships = d.autoTerminated;
  }
  return changes;
}

export function ConfigurePanel({ componentKind, id }: { componentKind: Kind; id: string }) {
  if (componentKind === "processor" || componentKind === "controller-service") {
    return <ConfigureExtension key={`${componentKind}:${id}`} kind={componentKind} id={id} />;
  }
  return <ConfigureOther key={`${componentKind}:${id}`} kind={componentKind} id={id} />;
}

function ConfigureExtension({ kind, id }: { kind: Kind; id: string }) {
  const app = useApp();
  const { processorTypes, serviceTypes, notify, reload, flow, openPanel, groupId } = app;
  const [comp, setComp] = useState<Extension | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [live, setLive] = useState<{ state: string; errors: string[] } | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [banner, setBanner] = useState<{ level: "error" | "warn" | "info"; text: string } | null>(null);
  const [tab, setTab] = useState("settings");
  const [saving, setSaving] = useState(false);
  /** Errors next to the fields they name: from the checks before sending, or from a 400. */
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const processor = kind === "processor";
  const spec = comp ? findSpec(processor ? processorTypes : serviceTypes, comp.type) : undefined;

  const liveOf = (c: Extension) => ({
    state: processor ? (c as Processor).runState : (c as ControllerService).state,
    errors: c.validationErrors ?? [],
  });
  /** The spec the draft's properties are laid out with (undefined: the types had not arrived). */
  const laidOutWith = useRef<ProcessorType | undefined>(undefined);
  const adopt = useCallback((c: Extension, previous?: Draft) => {
    const s = findSpec(kind === "processor" ? processorTypes : serviceTypes, c.type);
    laidOutWith.current = s;
    setComp(c);
    setDraft(toDraft(c, kind, s, previous));
    setLive({
      state: kind === "processor" ? (c as Processor).runState : (c as ControllerService).state,
      errors: c.validationErrors ?? [],
    });
  }, [kind, processorTypes, serviceTypes]);
  const latestAdopt = useRef(adopt);
  latestAdopt.current = adopt;

  useEffect(() => {
    api.get<Extension>(kind, id).then((c) => latestAdopt.current(c)).catch((exc) => setLoadError(errorText(exc)));
  }, [kind, id]);

  // The types arrive after the first render on a fresh page (the service types perhaps after
  // the processor types, while the user already types): lay the properties out again once the
  // spec is known, keeping what was typed. Loading the component again would throw it away.
  useEffect(() => {
    if (!comp || spec === laidOutWith.current) return;
    const before = laidOutWith.current;
    laidOutWith.current = spec;
    setDraft((d) => (d ? { ...d, props: rebaseProps(before, spec, comp.properties, d.props) } : d));
  }, [comp, spec]);

  // Validity and run state change underneath (a new connection, a service enabled): follow them.
  usePolling(async () => {
    if (!comp) return;
    try {
      setLive(liveOf(await api.get<Extension>(kind, id)));
    } catch { /* the next poll tries again */ }
  }, 3000, comp !== null, [kind, id]);

  const index = useMemo(() => componentIndex(flow), [flow]);

  if (loadError) {
    return (
      <PanelFrame testId="configure-panel" title="Configure">
        <Notice level="error">Could not load {kind.replace("-", " ")} '{id}': {loadError}</Notice>
      </PanelFrame>
    );
  }
  if (!comp || !draft) {
    return <PanelFrame testId="configure-panel" title="Configure"><Empty>Loading…</Empty></PanelFrame>;
  }

  const errorsNow = live?.errors ?? comp.validationErrors ?? [];
  const { byKey } = errorsByProperty(spec, draft.props.dynamic.map((d) => d.name), errorsNow);
  // A 400 about a property ("properties.<name>") goes under that property too.
  for (const [field, messages] of Object.entries(fieldErrors)) {
    if (!field.startsWith("properties.")) continue;
    const key = field.slice("properties.".length); // the request's name: a key, as the form sends
    byKey.set(key, [...messages, ...(byKey.get(key) ?? [])]);
  }
  const state = live?.state ?? "";
  const running = processor && state === "RUNNING";
  const waiting = processor && !running && (comp as Processor).scheduledState === "RUNNING";
  const enabled = !processor && (comp as ControllerService).state === "ENABLED";
  const set = (patch: Partial<Draft>) => {
    setDraft({ ...draft, ...patch });
    const cleared = Object.keys(patch).map((k) => DRAFT_FIELDS[k as keyof Draft]).filter((f) => f && fieldErrors[f]);
    if (patch.props) cleared.push(...Object.keys(fieldErrors).filter((f) => f.startsWith("properties.")));
    if (cleared.length) {
      setFieldErrors((errors) => Object.fromEntries(Object.entries(errors).filter(([f]) => !cleared.includes(f))));
    }
  };
  const errorFor = (field: string) => fieldErrors[field];
  const errorId = (field: string) => `field-error-${field}`;
  const showErrors = (errors: FieldErrors) => {
    setFieldErrors(errors);
    const first = Object.keys(errors).map(tabOf).find(Boolean);
    if (first && !Object.keys(errors).some((f) => tabOf(f) === tab)) setTab(first);
  };
  const dirty = Object.keys(changesOf(comp, kind, spec, draft)).length > 0;

  const save = async () => {
    const changes = changesOf(comp, kind, spec, draft);
    if (!Object.keys(changes).length) {
      notify("Nothing to save: no changes");
      return;
    }
    const checked = checkChanges(changes, draft);
    if (hasErrors(checked)) {
      showErrors(checked);
      setBanner(null);
      return;
    }
    setSaving(true);
    setBanner(null);
    setFieldErrors({});
    try {
      let updated: Extension;
      if (enabled) {
        // An enabled service changes only while disabled: disable with the change, enable again after.
        updated = await api.update<Extension>(kind, id, comp.revision, { ...changes, scheduledState: "DISABLED" });
        try {
          updated = await api.serviceState(id, "ENABLED");
        } catch (exc) {
          setBanner({ level: "warn", text: `Saved, but the service could not be enabled again: ${errorText(exc)}` });
        }
      } else {
        updated = await api.update<Extension>(kind, id, comp.revision, changes);
      }
      adopt(updated, draft);
      const savedName = updated.name || updated.type;
      const errorsAfter = updated.validationErrors ?? [];
      const stateAfter = processor ? (updated as Processor).runState : (updated as ControllerService).state;
      const wasActive = running || waiting || enabled;
      const stopped = wasActive && stateAfter !== (processor ? "RUNNING" : "ENABLED")
        && !(processor && (updated as Processor).scheduledState === "RUNNING" && errorsAfter.length === 0);
      if (errorsAfter.length > 0) {
        const more = errorsAfter.length > 1 ? ` (+${errorsAfter.length - 1} more)` : "";
        const what = stopped ? (processor ? "it is invalid now and stopped" : "it is invalid now and disabled") : "it is invalid";
        notify(`Saved ${savedName} — ${what}: ${errorsAfter[0]}${more}`, "error");
      } else if (stopped) {
        notify(`Saved ${savedName} — it is ${processor ? "stopped" : "disabled"} now (${stateAfter || "not running"})`, "error");
      } else {
        notify(`Saved ${savedName}`);
      }
      reload().catch(() => undefined);
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 409) {
        const body = exc.body as { current?: Extension } | null;
        const current = body?.current ?? await api.get<Extension>(kind, id).catch(() => null);
        if (current) adopt(current, draft);
        setBanner({
          level: "warn",
          text: "Someone else changed this component meanwhile, so it was reloaded with the current configuration. "
            + "Your edits were not saved: make them again and save.",
        });
        notify("Reloaded: the component was changed elsewhere", "error");
      } else {
        const { fields, general } = serverErrors(exc);
        const unplaced = Object.entries(fields).filter(([f]) => !tabOf(f)).flatMap(([, m]) => m);
        const placed = Object.fromEntries(Object.entries(fields).filter(([f]) => tabOf(f)));
        showErrors(placed);
        const rest = [general, ...unplaced].filter(Boolean).join("\n");
        if (rest) setBanner({ level: "error", text: rest });
        const count = Object.values(placed).flat().length;
        notify(`Not saved: ${rest || `${count === 1 ? "a field needs" : `${count} fields need`} correcting`}`, "error");
      }
    } finally {
      setSaving(false);
    }
  };

  const relationships = processor ? relationshipList(spec, draft, comp as Processor) : [];
  const outgoing = processor ? connectionsFrom(flow, id) : new Map<string, string[]>();
  const errorsOn = (t: string) => Object.entries(fieldErrors).filter(([f]) => tabOf(f) === t && t !== "properties").length || null;
  // UpdateAttribute's Advanced rules (NiFi's "Advanced" button) get a tab of their own.
  const hasRules = processor && (spec?.properties ?? []).some((p) => p.key === RULES_KEY);
  const tabs = [
    { id: "settings", label: "Settings", badge: errorsOn("settings") },
    ...(processor ? [{ id: "scheduling", label: "Scheduling", badge: errorsOn("scheduling") }] : []),
    { id: "properties", label: "Properties", badge: byKey.size || null },
    ...(hasRules ? [{ id: "advanced", label: "Advanced", badge: byKey.get(RULES_KEY)?.length || null }] : []),
    ...(processor ? [{ id: "relationships", label: "Relationships" }] : []),
    { id: "comments", label: "Comments" },
  ];

  return (
    <PanelFrame
      testId="configure-panel"
      title={comp.name || comp.type}
      subtitle={<><span className="mono">{comp.type}</span>{state ? <StateBadge state={state} /> : null}
        {errorsNow.length ? <StateBadge state="INVALID" title={errorsNow.join("\n")} /> : null}</>}
      footer={
        <>
          <span className="pn-footer-note">
            {running ? "Running: saving restarts it with the new settings." : null}
            {waiting ? "Scheduled to run: it starts as soon as it is valid." : null}
            {enabled ? "Enabled: saving disables it, applies the change and enables it again." : null}
            {!running && !waiting && !enabled && dirty ? "Unsaved changes" : null}
          </span>
          <button type="button" data-testid="configure-cancel" onClick={() => openPanel(null)}>Cancel</button>
          <button type="button" className="primary" data-testid="configure-save" disabled={saving} onClick={save}>
            {saving ? "Saving…" : "Save"}
          </button>
        </>
      }
    >
      {banner ? <Notice level={banner.level} testId="configure-banner" onDismiss={() => setBanner(null)}>{banner.text}</Notice> : null}
      {errorsNow.length ? (
        <div className="pn-validation" data-testid="validation-errors" role="status">
          <div className="pn-validation-title">
            {errorsNow.length === 1 ? "1 problem" : `${errorsNow.length} problems`} keep{errorsNow.length === 1 ? "s" : ""} it from running
          </div>
          <ul>{errorsNow.map((e) => <li key={e}>{e}</li>)}</ul>
        </div>
      ) : null}
      <Tabs tabs={tabs} active={tab} onChange={setTab} />
      <div className="pn-tab-body">
        {tab === "settings" ? (
          <div className="pn-form">
            <Field label="Name" htmlFor="setting-name" error={errorFor("name")} errorTestId={errorId("name")}>
              <input id="setting-name" data-testid="setting-name" className="pn-input" value={draft.name}
                     onChange={(e) => set({ name: e.target.value })} />
            </Field>
            <div className="pn-grid2">
              <Field label="Identifier"><input className="pn-input mono" value={comp.identifier} readOnly /></Field>
              <Field label="Type"><input className="pn-input mono" value={comp.type} readOnly /></Field>
            </div>
            {processor ? (
              <div className="pn-grid2">
                <Field label="Penalty duration" htmlFor="setting-penalty" error={errorFor("penaltyDuration")} errorTestId={errorId("penaltyDuration")}
                       help="How long a flowfile this processor penalizes waits before it is taken again.">
                  <input id="setting-penalty" data-testid="setting-penalty" className="pn-input mono"
                         value={draft.penaltyDuration} onChange={(e) => set({ penaltyDuration: e.target.value })} />
                </Field>
                <Field label="Yield duration" htmlFor="setting-yield" error={errorFor("yieldDuration")} errorTestId={errorId("yieldDuration")}
                       help="How long the processor pauses after it yields (no work, or an error).">
                  <input id="setting-yield" data-testid="setting-yield" className="pn-input mono"
                         value={draft.yieldDuration} onChange={(e) => set({ yieldDuration: e.target.value })} />
                </Field>
              </div>
            ) : null}
            {processor ? <Field label="Bulletin level"
                   htmlFor="setting-bulletin-level" title={BULLETIN_HINT}
                   help="The lowest level of bulletin to show for this component.">
              <select id="setting-bulletin-level" data-testid="setting-bulletin-level" className="pn-input" title={BULLETIN_HINT}
                      value={draft.bulletinLevel} onChange={(e) => set({ bulletinLevel: e.target.value })}>
                {BULLETIN_LEVELS.map((l) => <option key={l} value={l}>{l}</option>)}
              </select>
            </Field> : null}
            {!processor ? <ServiceFacts service={comp as ControllerService} index={index} /> : null}
          </div>
        ) : null}

        {tab === "scheduling" && processor ? (
          <div className="pn-form">
            <Field label="Scheduling strategy" htmlFor="sched-strategy" error={errorFor("schedulingStrategy")} errorTestId={errorId("schedulingStrategy")}>
              <select id="sched-strategy" data-testid="sched-strategy" className="pn-input" value={draft.schedulingStrategy}
                      onChange={(e) => {
                        const strategy = e.target.value as Draft["schedulingStrategy"];
                        const fromCron = draft.schedulingStrategy === "CRON_DRIVEN";
                        const period = strategy === "CRON_DRIVEN" && !fromCron ? "0 * * * * ?"
                          : strategy !== "CRON_DRIVEN" && fromCron ? "0 sec" : draft.schedulingPeriod;
                        set({ schedulingStrategy: strategy, schedulingPeriod: period });
                      }}>
                <option value="TIMER_DRIVEN">Timer driven</option>
                <option value="CRON_DRIVEN">CRON driven</option>
                <option value="EVENT_DRIVEN">Event driven</option>
              </select>
            </Field>
            <Field label={draft.schedulingStrategy === "CRON_DRIVEN" ? "Cron expression" : "Run schedule"} htmlFor="sched-period"
                   error={errorFor("schedulingPeriod")} errorTestId={errorId("schedulingPeriod")}
                   help={draft.schedulingStrategy === "CRON_DRIVEN"
                     ? "Quartz cron: seconds minutes hours day-of-month month day-of-week, e.g. 0 0/5 * * * ? (every 5 minutes)."
                     : draft.schedulingStrategy === "EVENT_DRIVEN" ? "Event driven: runs when work arrives; the schedule is not used."
                       : "Time between runs, e.g. 1 sec; 0 sec runs as often as there is work."}>
              <input id="sched-period" data-testid="sched-period" className="pn-input mono" value={draft.schedulingPeriod}
                     onChange={(e) => set({ schedulingPeriod: e.target.value })} />
            </Field>
            <div className="pn-grid2">
              <Field label="Concurrent tasks" htmlFor="sched-concurrent" help="Triggers that may run at once."
                     error={errorFor("concurrentlySchedulableTaskCount")} errorTestId={errorId("concurrentlySchedulableTaskCount")}>
                <input id="sched-concurrent" data-testid="sched-concurrent" className="pn-input" inputMode="numeric"
                       value={draft.concurrent} onChange={(e) => set({ concurrent: e.target.value })} />
              </Field>
              <Field label="Run duration" htmlFor="sched-run-duration" error={errorFor("runDuration")} errorTestId={errorId("runDuration")}
                     help="Keep triggering in one session this long (higher throughput, more latency).">
                <input id="sched-run-duration" data-testid="sched-run-duration" className="pn-input mono" list="pn-run-durations"
                       value={draft.runDuration} onChange={(e) => set({ runDuration: e.target.value })} />
                <datalist id="pn-run-durations">{RUN_DURATIONS.map((d) => <option key={d} value={d} />)}</datalist>
              </Field>
            </div>
            <Field label="Execution" htmlFor="sched-execution" error={errorFor("executionNode")} errorTestId={errorId("executionNode")}
                   help={draft.executionNode === "PRIMARY"
                     ? "Runs on the cluster's primary node only (a source that must not run twice, such as ListFile); "
                       + "it moves to the new primary if that node goes. On a single node it always runs."
                     : "Runs on every node of the cluster, each on its own data."}>
              <select id="sched-execution" data-testid="sched-execution" className="pn-input" value={draft.executionNode}
                      onChange={(e) => set({ executionNode: e.target.value as ExecutionNode })}>
                <option value="ALL">All nodes</option>
                <option value="PRIMARY">Primary node</option>
              </select>
            </Field>
          </div>
        ) : null}

        {tab === "properties" ? (
          <PropertiesEditor spec={spec} draft={draft.props} onChange={(props) => set({ props })} errors={byKey}
                            groupId={comp.parentGroupId ?? groupId}
                            typesLoaded={(processor ? processorTypes : serviceTypes).length > 0} />
        ) : null}

        {tab === "advanced" && hasRules ? (
          <RulesEditor value={draft.props.values[RULES_KEY] ?? null} errors={byKey.get(RULES_KEY) ?? []}
                       onChange={(value) => set({ props: { ...draft.props, values: { ...draft.props.values, [RULES_KEY]: value } } })} />
        ) : null}

        {tab === "relationships" && processor ? (
          <div className="pn-form">
            <p className="pn-help">
              Flowfiles routed to an auto-terminated relationship are dropped (a DROP provenance event). Every
              relationship must be connected or auto-terminated before the processor can run.
            </p>
            {relationships.length === 0 ? <Empty>This type has no relationships.</Empty> : null}
            {relationships.map((r) => {
              const targets = outgoing.get(r.name) ?? [];
              return (
                <label key={r.name} className="pn-check-row">
                  <input type="checkbox" data-testid={`rel-auto-${r.name}`} checked={draft.autoTerminated.includes(r.name)}
                         onChange={(e) => set({
                           autoTerminated: e.target.checked
                             ? [...draft.autoTerminated, r.name] : draft.autoTerminated.filter((n) => n !== r.name),
                         })} />
                  <span className="pn-check-text">
                    <span className="pn-check-title mono">{r.name}</span>
                    {r.description ? <span className="pn-help">{r.description}</span> : null}
                    <span className="pn-help">
                      {targets.length ? `Connected to ${targets.map((t) => componentName(index, t)).join(", ")}`
                        : draft.autoTerminated.includes(r.name) ? "Auto-terminated" : "Not connected"}
                    </span>
                  </span>
                </label>
              );
            })}
          </div>
        ) : null}

        {tab === "comments" ? (
          <Field label="Comments" htmlFor="comments">
            <textarea id="comments" data-testid="comments" className="pn-input pn-textarea" rows={8} value={draft.comments}
                      onChange={(e) => set({ comments: e.target.value })} />
          </Field>
        ) : null}
      </div>
    </PanelFrame>
  );
}

/** The relationships to offer for auto-termination: the spec's, the dynamic ones (named
 *  after dynamic properties, e.g. RouteOnAttribute's) and any already auto-terminated. */
function relationshipList(spec: ProcessorType | undefined, draft: Draft, comp: Processor): { name: string; description: string }[] {
  const list = [...(spec?.relationships ?? [])];
  const seen = new Set(list.map((r) => r.name));
  const dynRel = spec?.dynamic_relationships as { description?: string } | null | undefined;
  if (dynRel) {
    for (const d of draft.props.dynamic) {
      if (!seen.has(d.name)) {
        seen.add(d.name);
        list.push({ name: d.name, description: dynRel.description ?? "Dynamic relationship" });
      }
    }
  }
  for (const name of comp.autoTerminatedRelationships) {
    if (!seen.has(name)) {
      seen.add(name);
      list.push({ name, description: "" });
    }
  }
  return list;
}

/** relationship → destination ids of the connections leaving a component. */
function connectionsFrom(flow: ReturnType<typeof useApp>["flow"], id: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  if (!flow) return result;
  const visit = (group: typeof flow.rootGroup) => {
    for (const c of group.connections) {
      if (c.source.id !== id) continue;
      for (const rel of c.selectedRelationships) result.set(rel, [...(result.get(rel) ?? []), c.destination.id]);
    }
    group.processGroups.forEach(visit);
  };
  visit(flow.rootGroup);
  return result;
}

function ServiceFacts({ service, index }: { service: ControllerService; index: ReturnType<typeof componentIndex> }) {
  return (
    <div className="pn-facts">
      <div><span>Provides</span><span className="mono">{service.provides.join(", ") || "—"}</span></div>
      <div><span>State</span><StateBadge state={service.state} /></div>
      <div>
        <span>Used by</span>
        <span>{service.referencingComponents.length
          ? service.referencingComponents.map((r) => componentName(index, r)).join(", ") : "nothing yet"}</span>
      </div>
    </div>
  );
}
