// Controller services a group can use: its own and its ancestors', with state and
// validity; enable, disable (stopping the processors that use it, after asking),
// configure, delete, and add a service of a chosen type to the group.
import { useEffect, useMemo, useState } from "react";
import { api, type ControllerService } from "../api";
import { useApp } from "../store";
import { componentIndex, componentName, findGroup, servicesInScope } from "./flowTree";
import { errorText } from "./format";
import { PanelFrame } from "./frame";
import { ConfirmButton, Empty, Notice, StateBadge } from "./ui";

export function ServicesPanel({ groupId }: { groupId: string }) {
  const { flow, reload, serviceTypes, openPanel, notify } = useApp();
  const [addType, setAddType] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [fresh, setFresh] = useState<string | null>(null);
  const [askStop, setAskStop] = useState<{ id: string; message: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const index = useMemo(() => componentIndex(flow), [flow]);

  useEffect(() => { reload().catch(() => undefined); }, [reload]);
  useEffect(() => { if (!addType && serviceTypes.length) setAddType(serviceTypes[0].type); }, [serviceTypes, addType]);

  const group = flow ? findGroup(flow.rootGroup, groupId) : null;
  const entries = flow ? servicesInScope(flow, groupId) : [];

  const act = async (id: string, fn: () => Promise<unknown>) => {
    setBusy(id);
    setError(null);
    try {
      await fn();
    } catch (exc) {
      setError(errorText(exc));
    } finally {
      setBusy(null);
      await reload().catch(() => undefined);
    }
  };
  const enable = (s: ControllerService) => act(s.identifier, async () => {
    const result = await api.serviceState(s.identifier, "ENABLED");
    if (result.state !== "ENABLED") {
      throw new Error(`${s.name || s.type} stays disabled: ${result.validationErrors.join("; ") || "it is not valid"}`);
    }
    notify(`Enabled ${s.name || s.type}`);
  });
  const disable = (s: ControllerService, stopReferencing = false) => act(s.identifier, async () => {
    try {
      await api.serviceState(s.identifier, "DISABLED", stopReferencing);
      setAskStop(null);
      notify(`Disabled ${s.name || s.type}`);
    } catch (exc) {
      if (!stopReferencing && s.referencingComponents.length) {
        setAskStop({ id: s.identifier, message: errorText(exc) });
        return;
      }
      throw exc;
    }
  });
  const add = () => act("add", async () => {
    const created = await api.create<ControllerService>("controller-service", {
      type: addType, name: addType, parentGroupId: groupId,
    });
    setFresh(created.identifier);
    notify(`Added ${addType}: configure it, then enable it`);
  });

  const chosen = serviceTypes.find((t) => t.type === addType);
  return (
    <PanelFrame
      testId="services-panel"
      title="Controller services"
      subtitle={group ? <>For <b>{group.name}</b>{entries.some((e) => e.group.identifier !== groupId) ? " and the groups above it" : ""}</> : groupId}
      actions={<button type="button" onClick={() => reload()}>Refresh</button>}
    >
      {error ? <Notice level="error" onDismiss={() => setError(null)}>{error}</Notice> : null}
      <div className="pn-add-box">
        <div className="pn-row">
          <select className="pn-input grow" data-testid="service-add-type" aria-label="Service type" value={addType}
                  onChange={(e) => setAddType(e.target.value)}>
            {serviceTypes.map((t) => <option key={t.type} value={t.type}>{t.type}</option>)}
          </select>
          <button type="button" className="primary" data-testid="service-add" disabled={!addType || busy === "add"} onClick={add}>
            Add service
          </button>
        </div>
        {chosen ? (
          <div className="pn-help">
            {chosen.description}
            {chosen.provides?.length ? <> Provides <span className="mono">{chosen.provides.join(", ")}</span>.</> : null}
          </div>
        ) : null}
      </div>
      {entries.length === 0 ? <Empty>No controller services here yet. Add one above; processors pick it in their properties.</Empty> : null}
      <ul className="pn-cards">
        {entries.map(({ service: s, group: owner }) => {
          const invalid = s.validationErrors.length > 0;
          const inherited = owner.identifier !== groupId;
          return (
            <li key={s.identifier} data-testid={`service-row-${s.identifier}`}
                className={`pn-card${fresh === s.identifier ? " fresh" : ""}`}>
              <div className="pn-card-head">
                <div className="pn-card-title">
                  <span className="pn-card-name">{s.name || s.type}</span>
                  <span className="pn-muted mono small">{s.type}</span>
                </div>
                <span className="pn-row tight">
                  <StateBadge state={s.state} />
                  {invalid ? <StateBadge state="INVALID" title={s.validationErrors.join("\n")} /> : null}
                </span>
              </div>
              <div className="pn-card-meta">
                <span>Provides <span className="mono">{s.provides.join(", ") || "—"}</span></span>
                <span>{s.referencingComponents.length
                  ? <>Used by {s.referencingComponents.map((r) => componentName(index, r)).join(", ")}</>
                  : "Not used yet"}</span>
                {inherited ? <span>From group <b>{owner.name}</b></span> : null}
              </div>
              {invalid ? <ul className="pn-card-errors">{s.validationErrors.map((e) => <li key={e}>{e}</li>)}</ul> : null}
              {askStop?.id === s.identifier ? (
                <Notice level="warn">
                  {askStop.message}
                  <div className="pn-row" style={{ marginTop: 6 }}>
                    <button type="button" className="pn-danger solid" onClick={() => disable(s, true)}>Stop them and disable</button>
                    <button type="button" onClick={() => setAskStop(null)}>Cancel</button>
                  </div>
                </Notice>
              ) : null}
              <div className="pn-card-actions">
                {s.state === "ENABLED" ? (
                  <button type="button" data-testid={`service-disable-${s.identifier}`} disabled={busy === s.identifier}
                          onClick={() => disable(s)}>Disable</button>
                ) : (
                  <button type="button" data-testid={`service-enable-${s.identifier}`} disabled={busy === s.identifier}
                          onClick={() => enable(s)}>Enable</button>
                )}
                <button type="button" data-testid={`service-configure-${s.identifier}`}
                        onClick={() => openPanel({ kind: "configure", componentKind: "controller-service", id: s.identifier })}>
                  Configure
                </button>
                {s.state !== "ENABLED" ? (
                  <ConfirmButton testId={`service-delete-${s.identifier}`} question={`Delete controller service '${s.name || s.type}'?`}
                                 onConfirm={() => act(s.identifier, () => api.remove("controller-service", s.identifier, s.revision))}>
                    Delete
                  </ConfirmButton>
                ) : null}
              </div>
            </li>
          );
        })}
      </ul>
    </PanelFrame>
  );
}
