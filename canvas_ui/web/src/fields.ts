// Field checks in plain words, shared by the canvas's dialogs and the configure panels:
// the cheap ones made before sending (whole numbers, NiFi time periods and data sizes,
// names), and the server's 400 answers turned into errors next to the fields they name.
// Pure: no React.
import { ApiError } from "./api";

/** Errors by field (the component's JSON field, e.g. `backPressureObjectThreshold`,
 *  `schedulingPeriod`, `name`, `properties.<key>`). */
export type FieldErrors = Record<string, string[]>;

// The units flowyard (like NiFi) reads; see runtime/sdk/_units.py.
const DURATION_UNITS = new Set([
  "ns", "nano", "nanos", "nanosecond", "nanoseconds", "µs", "μs", "us", "micro", "micros", "microsecond",
  "microseconds", "ms", "milli", "millis", "millisecond", "milliseconds", "s", "sec", "secs", "second", "seconds",
  "m", "min", "mins", "minute", "minutes", "h", "hr", "hrs", "hour", "hours", "d", "day", "days", "w", "wk", "wks",
  "week", "weeks",
]);
const SIZE_UNITS = new Set(["b", "byte", "bytes", "kb", "kib", "mb", "mib", "gb", "gib", "tb", "tib"]);
const NUMBER_AND_UNIT = /^([0-9]+(?:\.[0-9]+)?)\s*(\S*)$/u;

const shown = (text: string) => (text.length > 40 ? `“${text.slice(0, 40)}…”` : `“${text}”`);

/** A whole number of at least `min` (and at most `max`), or what is wrong with `text`. */
export function checkWholeNumber(text: string, { min = 0, max, hint }: { min?: number; max?: number; hint?: string } = {}):
  string | null {
  const t = text.trim();
  const example = hint ? ` ${hint}` : "";
  if (!t) return `Enter a whole number.${example}`;
  if (!/^-?[0-9]+$/.test(t)) return `${shown(t)} is not a whole number.${example}`;
  const n = Number(t);
  if (n < min) return min === 0 ? `It cannot be negative.${example}` : `It must be at least ${min}.${example}`;
  if (max !== undefined && n > max) return `It can be at most ${max.toLocaleString("en-US")}.`;
  return null;
}

/** A NiFi time period such as `30 sec` or `5 mins`, or what is wrong with `text`. */
export function checkDuration(text: string): string | null {
  const t = text.trim();
  const how = "Write a number and a unit, such as 30 sec, 500 ms or 5 mins.";
  if (!t) return `Enter a time period. ${how}`;
  if (t.startsWith("-")) return `A time period cannot be negative. ${how}`;
  const m = NUMBER_AND_UNIT.exec(t);
  if (!m) return `${shown(t)} is not a time period. ${how}`;
  if (!m[2]) return `The unit is missing. ${how}`;
  if (!DURATION_UNITS.has(m[2].toLowerCase())) return `${shown(m[2])} is not a unit of time. ${how}`;
  return null;
}

/** A data size such as `1 GB` or `500 MB`, or what is wrong with `text`. */
export function checkDataSize(text: string): string | null {
  const t = text.trim();
  const how = "Write a number and a unit, such as 1 GB, 500 MB or 0 B.";
  if (!t) return `Enter a data size. ${how}`;
  if (t.startsWith("-")) return `A data size cannot be negative. ${how}`;
  const m = NUMBER_AND_UNIT.exec(t);
  if (!m) return `${shown(t)} is not a data size. ${how}`;
  if (!m[2]) return `The unit is missing. ${how}`;
  if (!SIZE_UNITS.has(m[2].toLowerCase())) return `${shown(m[2])} is not a unit of data size (B, KB, MB, GB, TB).`;
  return null;
}

/** A name that is not empty (or only spaces). */
export function checkName(text: string, what = "name"): string | null {
  return text.trim() ? null : `A ${what} is needed: it cannot be empty.`;
}

/** `errors` without the fields whose check passed (null). */
export function collect(checks: Record<string, string | null | undefined>): FieldErrors {
  const errors: FieldErrors = {};
  for (const [field, error] of Object.entries(checks)) if (error) errors[field] = [error];
  return errors;
}

export function hasErrors(errors: FieldErrors): boolean {
  return Object.values(errors).some((list) => list.length > 0);
}

/** A server message in plain words: without the `request: <kind>.<field>:` prefix, capitalised. */
export function plainMessage(message: string): string {
  const text = message.replace(/^request:\s*/, "").replace(/^[A-Za-z-]+\.[A-Za-z][\w.-]*:\s*/, "").trim();
  return text ? text[0].toUpperCase() + text.slice(1) : message;
}

/** A 400's errors by field, and the sentence for whatever names no field. The server answers
 *  `{"error": "...", "errors": [{"field", "message"}]}`; an older one only `error`, possibly
 *  prefixed `request: <kind>.<field>: `, which names the field. */
export function serverErrors(exc: unknown): { fields: FieldErrors; general: string | null } {
  if (!(exc instanceof ApiError)) return { fields: {}, general: exc instanceof Error ? exc.message : String(exc) };
  const body = exc.body as { error?: unknown; errors?: unknown } | null;
  const fields: FieldErrors = {};
  if (body && Array.isArray(body.errors) && body.errors.length) {
    const unnamed: string[] = [];
    for (const item of body.errors as { field?: unknown; message?: unknown }[]) {
      const message = plainMessage(String(item?.message ?? ""));
      const field = typeof item?.field === "string" ? item.field : "";
      if (field) (fields[field] ??= []).push(message);
      else unnamed.push(message);
    }
    return { fields, general: unnamed.length ? unnamed.join("\n") : null };
  }
  const message = body && typeof body.error === "string" ? body.error : exc.message;
  const named = /^(?:request:\s*)?[A-Za-z-]+\.([A-Za-z][\w.-]*):\s*([\s\S]+)$/.exec(message);
  if (named) return { fields: { [named[1]]: [plainMessage(named[2])] }, general: null };
  return { fields: {}, general: plainMessage(message) };
}

/** Splits errors into those of `known` fields (shown next to them) and the rest (one sentence each). */
export function splitKnown(errors: FieldErrors, known: (field: string) => boolean): { shown: FieldErrors; other: string[] } {
  const shownErrors: FieldErrors = {};
  const other: string[] = [];
  for (const [field, list] of Object.entries(errors)) {
    if (known(field)) shownErrors[field] = list;
    else other.push(...list);
  }
  return { shown: shownErrors, other };
}
