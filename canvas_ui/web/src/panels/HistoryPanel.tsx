// Status history of a component: an SVG line chart of flowfiles in and out per second
// (or another figure), at 1-second or 1-minute resolution, refreshed while open, with
// the 5-minute totals under it (and, in a cluster, the figures of each node).
import { useEffect, useMemo, useRef, useState } from "react";
import { api, type NodeFigures } from "../api";
import { useEntry } from "../canvas/statusStore";
import { NodeBreakdown, NodeFilter } from "./clusterViews";
import { useApp } from "../store";
import { componentIndex, componentName } from "./flowTree";
import { errorText, formatBytes, formatCount, formatTime } from "./format";
import { PanelFrame } from "./frame";
import { Empty, Notice, usePolling } from "./ui";

interface History {
  timestamps: number[]; series: Record<string, number[]>;
  fieldDescriptors: { field: string; label: string; unit: string; type?: string; description?: string }[];
  intervalMillis?: number;
}

interface Metric { id: string; label: string; fields: string[]; unit: string; rate: boolean }

/** The figures to offer: in/out pairs first, then each other field on its own. */
function metricsOf(h: History | null): Metric[] {
  if (!h) return [{ id: "flowfiles", label: "FlowFiles in / out", fields: ["flowFilesIn", "flowFilesOut"], unit: "count", rate: true }];
  const d = new Map(h.fieldDescriptors.map((f) => [f.field, f]));
  const list: Metric[] = [];
  const used = new Set<string>();
  const pair = (id: string, label: string, a: string, b: string) => {
    if (d.has(a) && d.has(b)) {
      list.push({ id, label, fields: [a, b], unit: d.get(a)!.unit, rate: d.get(a)!.type !== "gauge" });
      used.add(a);
      used.add(b);
    }
  };
  pair("flowfiles", "FlowFiles in / out", "flowFilesIn", "flowFilesOut");
  pair("bytes", "Bytes in / out", "bytesIn", "bytesOut");
  pair("io", "Bytes read / written", "bytesRead", "bytesWritten");
  for (const f of h.fieldDescriptors) {
    if (!used.has(f.field)) list.push({ id: f.field, label: f.label, fields: [f.field], unit: f.unit, rate: f.type !== "gauge" });
  }
  return list;
}

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const n = raw / magnitude;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * magnitude;
}

function formatValue(value: number, unit: string): string {
  if (unit === "bytes") return formatBytes(value);
  if (unit === "nanoseconds") return value >= 1e9 ? `${(value / 1e9).toFixed(2)} s` : `${(value / 1e6).toFixed(value < 1e7 ? 1 : 0)} ms`;
  return formatCount(value);
}

export function HistoryPanel({ componentId }: { componentId: string }) {
  const { flow } = useApp();
  const index = useMemo(() => componentIndex(flow), [flow]);
  const [resolution, setResolution] = useState<"1s" | "1m">("1s");
  const [history, setHistory] = useState<History | null>(null);
  const [stats, setStats] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [metricId, setMetricId] = useState("flowfiles");
  const [node, setNode] = useState("");

  useEffect(() => { setHistory(null); }, [componentId, resolution, node]);
  usePolling(async () => {
    try {
      const [h, s] = await Promise.all([
        api.statusHistory(componentId, resolution, node || undefined),
        api.statistics(componentId, node || undefined).catch(() => null),
      ]);
      setHistory(h as History);
      setStats(s);
      setError(null);
    } catch (exc) {
      setError(errorText(exc));
    }
  }, resolution === "1s" ? 1000 : 30000, true, [componentId, resolution, node]);

  const metrics = metricsOf(history);
  const metric = metrics.find((m) => m.id === metricId) ?? metrics[0];
  const name = componentName(index, componentId);
  const kind = index.get(componentId)?.kind ?? "component";
  const totals = (stats?.totals ?? null) as Record<string, number> | null;
  // Per node: the statistics answer's own breakdown when it has one, else the live stream's.
  const live = useEntry(componentId);
  const byNode = node ? undefined
    : (Array.isArray(stats?.nodes) ? stats.nodes : live?.nodes) as NodeFigures[] | undefined;

  return (
    <PanelFrame
      testId="history-panel"
      title={<>Status history <span className="pn-title-sub">{name}</span></>}
      subtitle={`${kind.replace("-", " ")} · ${resolution === "1s" ? "last 5 minutes, one point per second"
        : "last 24 hours, one point per minute (rates are per second, averaged over the minute)"}`}
      toolbar={
        <div className="pn-search-row">
          <div className="pn-seg" role="group" aria-label="Resolution">
            {(["1s", "1m"] as const).map((r) => (
              <button key={r} type="button" data-testid={`history-res-${r}`} className={resolution === r ? "active" : ""}
                      aria-pressed={resolution === r} onClick={() => setResolution(r)}>
                {r === "1s" ? "1 second" : "1 minute"}
              </button>
            ))}
          </div>
          <select className="pn-input grow" aria-label="Figure" data-testid="history-metric" value={metric.id}
                  onChange={(e) => setMetricId(e.target.value)}>
            {metrics.map((m) => <option key={m.id} value={m.id}>{m.label}</option>)}
          </select>
          <NodeFilter value={node} onChange={setNode} testId="history-node-filter" />
        </div>
      }
    >
      {error ? <Notice level="error">{error}</Notice> : null}
      {!history && !error ? <Empty>Loading…</Empty> : null}
      {history ? <Chart history={history} metric={metric} resolution={resolution} /> : null}
      {history && history.timestamps.length === 0 ? (
        <p className="pn-help">{resolution === "1m" ? "No complete minute yet: the 1-minute history fills as minutes pass."
          : "No samples yet: the engine samples every second."}</p>
      ) : null}
      {totals ? (
        <section className="pn-section">
          <h4>Last 5 minutes</h4>
          <div className="pn-stat-grid">
            {[
              ["In", `${formatCount(totals.flowFilesIn ?? 0)} (${formatBytes(totals.bytesIn ?? 0)})`],
              ["Out", `${formatCount(totals.flowFilesOut ?? 0)} (${formatBytes(totals.bytesOut ?? 0)})`],
              ...(totals.bytesRead !== undefined ? [["Read / written", `${formatBytes(totals.bytesRead)} / ${formatBytes(totals.bytesWritten ?? 0)}`]] : []),
              ...(totals.taskCount !== undefined ? [["Tasks", `${formatCount(totals.taskCount)} (${formatValue(totals.tasksDurationNanos ?? 0, "nanoseconds")})`]] : []),
              ...(totals.flowFilesRemoved !== undefined ? [["Removed", formatCount(totals.flowFilesRemoved)]] : []),
            ].map(([k, v]) => <div key={k} className="pn-stat"><span>{k}</span><b>{v}</b></div>)}
          </div>
        </section>
      ) : null}
      <NodeBreakdown nodes={byNode} kind={kind} />
    </PanelFrame>
  );
}

const HEIGHT = 230;
const M = { top: 14, right: 14, bottom: 26, left: 52 };

function Chart({ history, metric, resolution }: { history: History; metric: Metric; resolution: "1s" | "1m" }) {
  const wrap = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(420);
  const [hover, setHover] = useState<number | null>(null);
  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.max(260, Math.floor(entry.contentRect.width))));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const seconds = (history.intervalMillis ?? (resolution === "1s" ? 1000 : 60000)) / 1000;
  const ts = history.timestamps;
  const series = metric.fields.map((field) => {
    const raw = history.series[field] ?? [];
    return raw.map((v) => (metric.rate ? v / seconds : v));
  });
  const labels = metric.fields.map((f) => history.fieldDescriptors.find((d) => d.field === f)?.label ?? f);
  const maxValue = Math.max(0, ...series.flat());
  const step = niceStep(maxValue > 0 ? maxValue : 1, 4);
  const top = Math.max(step, Math.ceil((maxValue > 0 ? maxValue : 1) / step) * step);
  const innerW = width - M.left - M.right;
  const innerH = HEIGHT - M.top - M.bottom;
  const span = resolution === "1s" ? 300_000 : 86_400_000;
  const tEnd = ts.length ? ts[ts.length - 1] : Date.now();
  const tStart = ts.length > 1 ? Math.min(ts[0], tEnd - Math.min(span, Math.max(60_000, tEnd - ts[0]))) : tEnd - (resolution === "1s" ? 60_000 : 3_600_000);
  const x = (t: number) => M.left + ((t - tStart) / Math.max(1, tEnd - tStart)) * innerW;
  const y = (v: number) => M.top + innerH - (v / top) * innerH;
  const unit = metric.unit === "bytes" ? "bytes" : metric.unit;
  const yTicks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
  const xTickCount = Math.max(2, Math.floor(innerW / 90));
  const xTicks = Array.from({ length: xTickCount + 1 }, (_, i) => tStart + ((tEnd - tStart) * i) / xTickCount);
  const timeLabel = (t: number) => {
    const d = new Date(t);
    const p = (n: number) => String(n).padStart(2, "0");
    return resolution === "1s" ? `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` : `${p(d.getHours())}:${p(d.getMinutes())}`;
  };
  const path = (values: number[]) => values.map((v, i) => `${i ? "L" : "M"}${x(ts[i]).toFixed(1)} ${y(v).toFixed(1)}`).join(" ");
  const area = (values: number[]) => values.length
    ? `${path(values)} L${x(ts[values.length - 1]).toFixed(1)} ${y(0)} L${x(ts[0]).toFixed(1)} ${y(0)} Z` : "";
  const latest = series.map((s) => (s.length ? s[s.length - 1] : 0));
  const perText = metric.rate ? " / s" : "";

  const onMove = (e: React.MouseEvent<SVGSVGElement>) => {
    if (!ts.length) return;
    const rect = e.currentTarget.getBoundingClientRect();
    const px = ((e.clientX - rect.left) / rect.width) * width;
    let best = 0;
    for (let i = 1; i < ts.length; i++) if (Math.abs(x(ts[i]) - px) < Math.abs(x(ts[best]) - px)) best = i;
    setHover(best);
  };

  return (
    <div className="pn-chart" ref={wrap}>
      <div className="pn-legend">
        {labels.map((label, i) => (
          <span key={label} className={`pn-legend-item s${i}`}>
            <i />{label}<b>{formatValue(latest[i], unit)}{perText}</b>
          </span>
        ))}
      </div>
      <svg data-testid="history-chart" width={width} height={HEIGHT} viewBox={`0 0 ${width} ${HEIGHT}`} role="img"
           aria-label={`${metric.label} over time`} onMouseMove={onMove} onMouseLeave={() => setHover(null)}>
        {yTicks.map((v) => (
          <g key={`y${v}`}>
            <line className="pn-grid" x1={M.left} x2={width - M.right} y1={y(v)} y2={y(v)} />
            <text className="pn-axis" x={M.left - 6} y={y(v) + 3.5} textAnchor="end">{formatValue(v, unit)}</text>
          </g>
        ))}
        {xTicks.map((t, i) => (
          <text key={`x${i}`} className="pn-axis" x={x(t)} y={HEIGHT - 8}
                textAnchor={i === 0 ? "start" : i === xTicks.length - 1 ? "end" : "middle"}>{timeLabel(t)}</text>
        ))}
        <line className="pn-axis-line" x1={M.left} x2={width - M.right} y1={y(0)} y2={y(0)} />
        {series.map((values, i) => (
          <g key={i} className={`pn-series s${i}`}>
            {i === 0 ? <path className="pn-area" d={area(values)} /> : null}
            <path className="pn-line" d={path(values)} />
            {values.length === 1 ? <circle cx={x(ts[0])} cy={y(values[0])} r={3} className="pn-dot" /> : null}
          </g>
        ))}
        {hover !== null && ts[hover] !== undefined ? (
          <g className="pn-hover">
            <line x1={x(ts[hover])} x2={x(ts[hover])} y1={M.top} y2={M.top + innerH} />
            {series.map((values, i) => <circle key={i} className={`s${i}`} cx={x(ts[hover])} cy={y(values[hover] ?? 0)} r={3.5} />)}
          </g>
        ) : null}
      </svg>
      {hover !== null && ts[hover] !== undefined ? (
        <div className="pn-chart-tip" style={{ left: x(ts[hover]) + 190 < width ? x(ts[hover]) + 12 : Math.max(0, x(ts[hover]) - 182) }}>
          <div className="pn-muted">{formatTime(ts[hover], resolution === "1m")}</div>
          {labels.map((label, i) => (
            <div key={label} className={`pn-legend-item s${i}`}><i />{label}<b>{formatValue(series[i][hover] ?? 0, unit)}{perText}</b></div>
          ))}
        </div>
      ) : null}
    </div>
  );
}
