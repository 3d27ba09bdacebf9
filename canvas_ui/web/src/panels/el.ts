// Expression Language completion, the pure part: where the caret is inside an
// expression, which catalogue functions fit there, and the text after inserting one.
import { api } from "../api";

export interface ElFunction {
  name: string; family?: string; subject?: string | null; returns?: string; description: string;
  arguments?: { name: string; type: string; optional: boolean; variadic: boolean }[];
}

let catalogue: Promise<ElFunction[]> | null = null;

/** The function catalogue (`GET /api/expression-functions`), fetched once per page. */
export function loadFunctions(): Promise<ElFunction[]> {
  if (!catalogue) {
    catalogue = api.functions().then((list) => list as unknown as ElFunction[]).catch((exc) => {
      catalogue = null; // try again next time
      throw exc;
    });
  }
  return catalogue;
}

export interface CompletionContext {
  /** After `${`: a subjectless function (or an attribute name); after `:`: a function applied to a subject. */
  mode: "subjectless" | "subject";
  /** What has been typed of the name so far. */
  prefix: string;
  /** Where the name starts in the text. */
  start: number;
}

/** The completion context at `caret`, or null when the caret is not where a function name goes
 *  (outside any `${...}`, inside a quoted string, or after something else). */
export function completionContext(text: string, caret: number): CompletionContext | null {
  let depth = 0;
  let quote: string | null = null;
  let i = 0;
  while (i < caret) {
    const c = text[i];
    if (quote) {
      if (c === "\\") { i += 2; continue; }
      if (c === quote) quote = null;
      i += 1;
      continue;
    }
    if (c === "$" && text[i + 1] === "$" && text[i + 2] === "{" && depth === 0) { i += 3; continue; } // $${ is literal
    if (c === "$" && text[i + 1] === "{") { depth += 1; i += 2; continue; }
    if (depth > 0) {
      if (c === "'" || c === '"') quote = c;
      else if (c === "}") depth -= 1;
    }
    i += 1;
  }
  if (quote || depth === 0) return null;
  const prefix = /[A-Za-z0-9_]*$/.exec(text.slice(0, caret))?.[0] ?? "";
  const start = caret - prefix.length;
  if (text[start - 1] === ":") return { mode: "subject", prefix, start };
  if (text.slice(start - 2, start) === "${") return { mode: "subjectless", prefix, start };
  return null;
}

/** The functions that fit a context, best first: names starting with the prefix, then containing it. */
export function matchFunctions(functions: ElFunction[], ctx: CompletionContext, limit = 50): ElFunction[] {
  const fits = functions.filter((f) => (ctx.mode === "subject" ? f.subject != null : f.subject == null));
  const p = ctx.prefix.toLowerCase();
  const starts = fits.filter((f) => f.name.toLowerCase().startsWith(p));
  const contains = p ? fits.filter((f) => !f.name.toLowerCase().startsWith(p) && f.name.toLowerCase().includes(p)) : [];
  return [...starts, ...contains].slice(0, limit);
}

/** `name(a, [b], c...)` for the list. */
export function signature(f: ElFunction): string {
  const args = (f.arguments ?? []).map((a) => {
    const name = a.variadic ? `${a.name}…` : a.name;
    return a.optional ? `[${name}]` : name;
  });
  return `${f.name}(${args.join(", ")})`;
}

/** The text with the function inserted over the typed prefix, and where the caret goes
 *  (inside the parentheses when the function takes arguments). */
export function insertFunction(text: string, caret: number, ctx: CompletionContext, f: ElFunction): { text: string; caret: number } {
  const after = text.slice(caret);
  const hasParens = after.startsWith("(");
  const takesArgs = (f.arguments ?? []).length > 0;
  const inserted = hasParens ? f.name : `${f.name}()`;
  const next = text.slice(0, ctx.start) + inserted + after;
  const caretAt = ctx.start + f.name.length + (hasParens ? 1 : takesArgs ? 1 : 2);
  return { text: next, caret: caretAt };
}

/** Where the caret is inside a `#{parameter}` reference being typed: where the name starts
 *  and what is typed of it; null elsewhere (`##{` is a literal, as in NiFi). */
export function parameterContext(text: string, caret: number): { start: number; prefix: string } | null {
  const before = text.slice(0, caret);
  const m = /#\{([^{}]*)$/.exec(before);
  if (!m || before[m.index - 1] === "#") return null;
  return { start: m.index + 2, prefix: m[1] };
}

/** The parameters whose name fits `prefix`: starting with it first, then containing it. */
export function matchParameters<T extends { name: string }>(parameters: T[], prefix: string, limit = 50): T[] {
  const p = prefix.trim().toLowerCase();
  const starts = parameters.filter((x) => x.name.toLowerCase().startsWith(p));
  const contains = p ? parameters.filter((x) => !x.name.toLowerCase().startsWith(p) && x.name.toLowerCase().includes(p)) : [];
  return [...starts, ...contains].slice(0, limit);
}

/** The text with the parameter's name completed and the reference closed, and the caret after it
 *  (a name already typed after the caret, up to its `}`, is replaced). */
export function insertParameter(text: string, caret: number, start: number, name: string): { text: string; caret: number } {
  const after = text.slice(caret);
  const tail = /^[^{}#$]*\}/.exec(after);
  const rest = tail ? after.slice(tail[0].length) : after;
  return { text: `${text.slice(0, start)}${name}}${rest}`, caret: start + name.length + 1 };
}
