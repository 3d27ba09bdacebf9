// Shows a flowfile's content as a table of records (CSV, JSON, Avro, Parquet: parsed by
// the server, see RecordTable), text, pretty JSON, a hex dump or an image (when its mime
// type is image/*). Reads at most the first 2 MiB; the download link has the whole thing.
import { useEffect, useMemo, useRef, useState, type ReactNode, type RefObject } from "react";
import { request } from "../api";
import { errorText, formatBytes } from "./format";
import { looksLikeRecords, RecordTable, type RecordPreview } from "./RecordTable";
import { Notice } from "./ui";

const LIMIT = 2 * 1024 * 1024;
const HEX_LIMIT = 64 * 1024;

type Mode = "table" | "text" | "json" | "hex" | "image";

interface Loaded { bytes: Uint8Array; mime: string; total: number | null; truncated: boolean }

class Gone extends Error {}

async function readContent(url: string, signal: AbortSignal): Promise<Loaded> {
  const response = await fetch(url, { credentials: "same-origin", signal });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && typeof body.error === "string") message = body.error;
    } catch { /* not JSON */ }
    throw response.status === 404 ? new Gone(message) : new Error(message);
  }
  const mime = (response.headers.get("content-type") ?? "").split(";")[0].trim();
  const length = response.headers.get("content-length");
  const total = length ? Number(length) : null;
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const reader = response.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
      if (size >= LIMIT) {
        truncated = true;
        await reader.cancel();
        break;
      }
    }
  }
  const bytes = new Uint8Array(Math.min(size, LIMIT));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, Math.max(0, Math.min(chunk.length, bytes.length - offset)));
    bytes.set(part, offset);
    offset += part.length;
  }
  return { bytes, mime, total, truncated };
}

/** Offset, `perRow` bytes (16, 8 or 4) in hex and their printable characters, per line. */
export function hexDump(bytes: Uint8Array, limit = HEX_LIMIT, perRow = 16): string {
  const lines: string[] = [];
  const end = Math.min(bytes.length, limit);
  const half = perRow / 2;
  for (let offset = 0; offset < end; offset += perRow) {
    const row = bytes.subarray(offset, Math.min(offset + perRow, end));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0"));
    const left = hex.slice(0, half).join(" ").padEnd(half * 3 - 1);
    const right = hex.slice(half).join(" ").padEnd(half * 3 - 1);
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${offset.toString(16).padStart(8, "0")}  ${left}  ${right}  |${ascii.padEnd(perRow)}|`);
  }
  return lines.join("\n");
}

/** Characters in one hex dump line of `perRow` bytes. */
const hexLineChars = (perRow: number) => 14 + 4 * perRow;

/** How many bytes per hex line fit the width of `el` (16, 8 or 4), following its size. */
function useHexPerRow(el: RefObject<HTMLElement | null>, active: boolean): number {
  const [perRow, setPerRow] = useState(16);
  useEffect(() => {
    const node = el.current;
    if (!active || !node) return;
    const measure = () => {
      const style = getComputedStyle(node);
      const probe = document.createElement("span");
      probe.style.cssText = `position:absolute;visibility:hidden;white-space:pre;font:${style.font}`;
      probe.textContent = "0".repeat(40);
      document.body.appendChild(probe);
      const charWidth = probe.getBoundingClientRect().width / 40 || 7;
      probe.remove();
      const width = node.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      const fits = [16, 8, 4].find((n) => hexLineChars(n) * charWidth <= width) ?? 4;
      setPerRow(fits);
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(node);
    return () => observer.disconnect();
  }, [el, active]);
  return perRow;
}

function looksBinary(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 4096);
  let odd = 0;
  for (const b of sample) if (b === 0 || (b < 0x09) || (b > 0x0d && b < 0x20)) odd += 1;
  return sample.length > 0 && odd / sample.length > 0.05;
}

export function ContentViewer({ url, downloadUrl, recordsUrl, mimeHint, title, onClose, goneText }: {
  url: string; downloadUrl?: string; mimeHint?: string | null; title?: string; onClose?: () => void;
  /** The records route of this content (offers the Table view). */
  recordsUrl?: string;
  /** What to say when the content is not there (404), e.g. "it has left the queue". */
  goneText?: string;
}) {
  const root = useRef<HTMLDivElement>(null);
  useEffect(() => { root.current?.scrollIntoView({ block: "nearest" }); }, [url]);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [mode, setMode] = useState<Mode | null>(null);
  const [records, setRecords] = useState<{ url: string; preview: RecordPreview | null; error: string | null } | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    setLoaded(null);
    setError(null);
    setMode(null);
    readContent(url, controller.signal).then(setLoaded).catch((exc) => {
      if (controller.signal.aborted) return;
      setError(exc instanceof Gone && goneText ? `${goneText} (${errorText(exc)})` : errorText(exc));
    });
    return () => controller.abort();
  }, [url, goneText]);

  const mime = loaded && loaded.mime && loaded.mime !== "application/octet-stream" ? loaded.mime : (mimeHint || loaded?.mime || "");
  const isImage = mime.startsWith("image/");
  const text = useMemo(() => (loaded ? new TextDecoder("utf-8", { fatal: false }).decode(loaded.bytes) : ""), [loaded]);
  const json = useMemo(() => {
    if (!loaded) return null;
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return null;
    }
  }, [loaded, text]);
  const imageUrl = useMemo(() => (loaded && isImage ? URL.createObjectURL(new Blob([loaded.bytes as BlobPart], { type: mime })) : null),
    [loaded, isImage, mime]);
  useEffect(() => () => { if (imageUrl) URL.revokeObjectURL(imageUrl); }, [imageUrl]);

  const recordLike = !!loaded && loaded.bytes.length > 0 && looksLikeRecords(mime, loaded.bytes);
  const raw: Mode = !loaded ? "text" : isImage ? "image"
    : json !== null && (mime.includes("json") || /^\s*[[{]/.test(text)) ? "json" : looksBinary(loaded.bytes) ? "hex" : "text";
  // record content opens as a table, unless the server found no records in it (then the raw view; Table says why)
  const tableFailed = !!records?.error;
  const best: Mode = loaded && recordsUrl && recordLike && !tableFailed ? "table" : raw;
  const shown = mode ?? best;
  const tableShown = shown === "table" && !!recordsUrl && !!loaded && !error;
  const asked = useRef<string | null>(null);
  useEffect(() => {
    if (!tableShown || !recordsUrl || asked.current === recordsUrl) return;
    asked.current = recordsUrl; // asked once per content; switching views keeps the answer
    setRecords({ url: recordsUrl, preview: null, error: null });
    request<RecordPreview>("GET", recordsUrl).then(
      (preview) => { if (asked.current === recordsUrl) setRecords({ url: recordsUrl, preview, error: null }); },
      (exc) => { if (asked.current === recordsUrl) setRecords({ url: recordsUrl, preview: null, error: errorText(exc) }); });
  }, [tableShown, recordsUrl]);
  const hexRef = useRef<HTMLPreElement>(null);
  const hexShown = shown === "hex" && !!loaded && loaded.bytes.length > 0 && !error;
  const perRow = useHexPerRow(hexRef, hexShown);
  const dump = useMemo(() => (hexShown && loaded ? hexDump(loaded.bytes, HEX_LIMIT, perRow) : ""), [hexShown, loaded, perRow]);

  let body: ReactNode = null;
  if (error) body = <div className="pn-content-error" data-testid="content-body"><Notice level="error">{error}</Notice></div>;
  else if (!loaded) body = <div className="pn-muted">Loading content…</div>;
  else if (loaded.bytes.length === 0) body = <pre className="pn-content" data-testid="content-body">(no content)</pre>;
  else if (shown === "table" && recordsUrl) {
    body = <RecordTable preview={records?.preview ?? null} error={records?.error ?? null} loading={!records?.preview && !records?.error} />;
  }
  else if (shown === "image") {
    body = imageUrl ? (
      <div className="pn-content image" data-testid="content-body"><img src={imageUrl} alt={title ?? "content"} /></div>
    ) : <pre className="pn-content" data-testid="content-body">Not an image ({mime || "unknown type"}).</pre>;
  } else if (shown === "json") {
    body = <pre className="pn-content" data-testid="content-body">{json ?? `Not valid JSON.\n\n${text}`}</pre>;
  } else if (shown === "hex") {
    body = <pre className="pn-content hex" data-testid="content-body" ref={hexRef}>{dump}</pre>;
  } else {
    body = <pre className="pn-content" data-testid="content-body">{text}</pre>;
  }

  const size = loaded ? (loaded.total ?? loaded.bytes.length) : null;
  return (
    <div className="pn-viewer" data-testid="content-viewer" ref={root}>
      <div className="pn-viewer-head">
        <div className="pn-seg" role="group" aria-label="View as">
          {((recordsUrl ? ["table", "text", "json", "hex", "image"] : ["text", "json", "hex", "image"]) as Mode[]).map((m) => (
            <button key={m} type="button" data-testid={`view-${m}`} className={shown === m ? "active" : ""}
                    disabled={m === "image" && !isImage} aria-pressed={shown === m}
                    title={m === "image" && !isImage ? `Not an image (${mime || "unknown type"})`
                      : m === "table" ? (records?.error ?? "The first records as a table (CSV, JSON, Avro, Parquet)") : undefined}
                    onClick={() => setMode(m)}>
              {m === "table" ? "Table" : m === "json" ? "JSON" : m === "hex" ? "Hex" : m === "image" ? "Image" : "Text"}
            </button>
          ))}
        </div>
        <span className="pn-viewer-meta">
          {mime || "—"}{size !== null ? ` · ${formatBytes(size)}` : ""}
          {loaded?.truncated && shown !== "table" ? ` · first ${formatBytes(LIMIT)} shown` : ""}
          {shown === "hex" && loaded && loaded.bytes.length > HEX_LIMIT ? ` · first ${formatBytes(HEX_LIMIT)} in hex` : ""}
        </span>
        {downloadUrl ? <a className="pn-link" href={downloadUrl} download>Download</a> : null}
        {onClose ? <button type="button" className="pn-icon" aria-label="Close viewer" onClick={onClose}>×</button> : null}
      </div>
      {title ? <div className="pn-viewer-title mono">{title}</div> : null}
      {body}
    </div>
  );
}
