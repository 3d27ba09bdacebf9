// Number, size and rate formatting for the canvas, and NiFi's data-size strings.

const UNITS = ["B", "KB", "MB", "GB", "TB"];

/** "1 GB" style (powers of 1024, as NiFi and the flow format) → bytes; 0 for empty or unparsable. */
export function parseDataSize(text: string | null | undefined): number {
  const match = /^\s*([\d.]+)\s*([KMGT]?B)?\s*$/i.exec(text ?? "");
  if (!match) return 0;
  const power = UNITS.indexOf((match[2] ?? "B").toUpperCase());
  return Number(match[1]) * 1024 ** Math.max(power, 0);
}

/** Bytes as "21 B", "3.8 MB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${UNITS[unit]}`;
}

const COUNT = new Intl.NumberFormat("en-US");

export function formatCount(n: number): string {
  return COUNT.format(Math.round(n));
}

/** A count and its size: "7 (21 B)". */
export function countAndSize(count: number, bytes: number): string {
  return `${formatCount(count)} (${formatBytes(bytes)})`;
}

/** Counts of 10,000 and more shortened ("168k", "1.2M"), for the narrow node statistics. */
export function formatCountShort(n: number): string {
  if (n < 10_000) return formatCount(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(n < 100_000_000 ? 1 : 0)}M`;
}

export function countAndSizeShort(count: number, bytes: number): string {
  return `${formatCountShort(count)} (${formatBytes(bytes)})`;
}

/** Flowfiles per second, short: "0", "4.5", "961", "12.3k". */
export function formatRate(rate: number): string {
  if (rate >= 10_000) return `${(rate / 1000).toFixed(0)}k`;
  if (rate >= 1000) return `${(rate / 1000).toFixed(1)}k`;
  if (rate >= 10 || rate === 0) return rate.toFixed(0);
  return rate.toFixed(1);
}

export function formatNanos(nanos: number): string {
  const seconds = nanos / 1e9;
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

export type Level = "ok" | "warn" | "full";

/** Back-pressure level of a ratio: green under 60 %, yellow under 100 %, red when full. */
export function pressureLevel(ratio: number): Level {
  return ratio >= 1 ? "full" : ratio >= 0.6 ? "warn" : "ok";
}

/** Fill ratio against a threshold; a threshold of 0 disables it (ratio 0). */
export function ratioOf(value: number, threshold: number): number {
  return threshold > 0 ? value / threshold : 0;
}
