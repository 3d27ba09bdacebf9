// A flowfile's records as a table: the first rows the server parsed (CSV, JSON, Avro,
// Parquet) with each column's name and type. Everything from the data is shown as text
// (React escapes it); nested values are compact JSON, cut to one line, whole in the tooltip.
import type { ReactNode } from "react";
import { formatBytes } from "./format";
import { Notice } from "./ui";

export interface RecordPreview {
  format: string;
  columns: { name: string; type: string }[];
  rows: unknown[][];
  truncated: boolean;
  mimeType?: string;
  size?: number;
  bytesRead?: number;
}

const CELL_CHARS = 160;
const TITLE_CHARS = 2000;
const FORMATS: Record<string, string> = { csv: "CSV", json: "JSON", avro: "Avro", parquet: "Parquet" };

/** Content types (and magic bytes) the record preview reads; the server decides in the end. */
export function looksLikeRecords(mime: string, head: Uint8Array | null): boolean {
  const m = mime.split(";")[0].trim().toLowerCase();
  if (/^(text\/csv|application\/csv|text\/tab-separated-values|avro\/binary|application\/(x-)?avro|application\/vnd\.apache\.(avro|parquet)|application\/(x-)?parquet)$/.test(m)) return true;
  if (/^(application|text)\/(json|x-ndjson|ndjson|jsonl|x-jsonlines|jsonlines|json-lines)$/.test(m) || m.endsWith("+json")) return true;
  if (!head || head.length < 4) return false;
  const magic = String.fromCharCode(head[0], head[1], head[2], head[3]);
  return magic === "Obj\u0001" || magic === "PAR1";
}

/** One cell as a single line of text. */
export function cellText(value: unknown): { text: string; title?: string; kind: string } {
  if (value === null || value === undefined) return { text: "null", kind: "null" };
  if (typeof value === "string") {
    return value.length > CELL_CHARS ? { text: value.slice(0, CELL_CHARS) + "…", title: value.slice(0, TITLE_CHARS), kind: "text" }
      : { text: value, kind: "text" };
  }
  if (typeof value === "number" || typeof value === "boolean") return { text: String(value), kind: typeof value };
  const json = JSON.stringify(value);
  return {
    text: json.length > CELL_CHARS ? json.slice(0, CELL_CHARS) + "…" : json,
    title: JSON.stringify(value, null, 2).slice(0, TITLE_CHARS),
    kind: "nested",
  };
}

export function RecordTable({ preview, error, loading }: { preview: RecordPreview | null; error: string | null; loading: boolean }) {
  if (error) {
    return (
      <div className="pn-content-error" data-testid="record-error">
        <Notice level="error">{error}</Notice>
        <p className="pn-help">Switch to Text or Hex to see the content as it is.</p>
      </div>
    );
  }
  if (loading || !preview) return <div className="pn-muted">Reading records…</div>;
  let body: ReactNode;
  if (preview.columns.length === 0) body = <div className="pn-muted" data-testid="record-empty">No records.</div>;
  else {
    body = (
      <div className="pn-record-scroll">
        <table className="pn-record-table" data-testid="record-table">
          <thead>
            <tr>
              <th className="pn-record-num" aria-label="Row">#</th>
              {preview.columns.map((c, i) => (
                <th key={i} data-testid={`record-col-${i}`} title={`${c.name}: ${c.type}`}>
                  <span className="pn-record-name">{c.name}</span>
                  <span className="pn-record-type">{c.type}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row, r) => (
              <tr key={r} data-testid={`record-row-${r}`}>
                <td className="pn-record-num">{r + 1}</td>
                {preview.columns.map((_, i) => {
                  const cell = cellText(row[i]);
                  return <td key={i} className={`pn-cell-${cell.kind}`} title={cell.title}>{cell.text}</td>;
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  const rows = preview.rows.length;
  return (
    <div className="pn-records" data-testid="content-body">
      <div className="pn-record-meta" data-testid="record-meta">
        {FORMATS[preview.format] ?? preview.format} · {rows.toLocaleString()} {rows === 1 ? "record" : "records"}
        {preview.truncated ? " shown, more in the content" : ""}
        {preview.truncated && preview.bytesRead !== undefined && preview.size !== undefined && preview.bytesRead < preview.size
          ? ` (read ${formatBytes(preview.bytesRead)} of ${formatBytes(preview.size)})` : ""}
      </div>
      {body}
    </div>
  );
}
