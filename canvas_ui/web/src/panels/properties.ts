// The property form's model, pure: a draft read from a component's stored properties
// (the server stores and sends property keys only, docs/flow-format.md "Property names"),
// the changes to send back (by key), and validation errors matched to the property they name.
import type { ProcessorType, PropertySpecDoc } from "../api";

/** Sensitive values always read like this; sending it back means "unchanged". */
export const MASK = "********";

export interface PropDraft {
  /** By spec key; null = not set (the default applies). */
  values: Record<string, string | null>;
  /** Dynamic (user-named) properties, in order. */
  dynamic: { name: string; value: string }[];
}

export interface DynamicSpec {
  name_description?: string; value_description?: string; expression_scope?: string;
  validator?: { name: string; description: string } | null; sensitive?: boolean;
}

export function dynamicSpec(spec: ProcessorType | undefined): DynamicSpec | null {
  const d = spec?.dynamic_properties;
  return d && typeof d === "object" ? (d as DynamicSpec) : null;
}

const has = (props: Record<string, unknown>, name: string) =>
  Object.prototype.hasOwnProperty.call(props, name) && props[name] !== null && props[name] !== undefined;

export function draftFromComponent(spec: ProcessorType | undefined, props: Record<string, string | null>): PropDraft {
  const values: Record<string, string | null> = {};
  const keys = new Set<string>();
  for (const p of spec?.properties ?? []) {
    keys.add(p.key);
    values[p.key] = has(props, p.key) ? (props[p.key] as string) : null;
  }
  const dynamic = Object.entries(props)
    .filter(([name, value]) => !keys.has(name) && value !== null)
    .map(([name, value]) => ({ name, value: value as string }));
  return { values, dynamic };
}

/** The `properties` object for a PUT, by key: only what changed; null unsets. */
export function propertyChanges(spec: ProcessorType | undefined, props: Record<string, string | null>,
                                draft: PropDraft): Record<string, string | null> {
  const original = draftFromComponent(spec, props);
  const changes: Record<string, string | null> = {};
  for (const p of spec?.properties ?? []) {
    const before = original.values[p.key];
    let after = draft.values[p.key];
    if (after === "") after = null;
    if (after !== before) changes[p.key] = after;
  }
  const now = new Map(draft.dynamic.map((d) => [d.name, d.value]));
  for (const d of original.dynamic) if (!now.has(d.name)) changes[d.name] = null;
  for (const d of draft.dynamic) {
    const before = original.dynamic.find((o) => o.name === d.name);
    if (!before || before.value !== d.value) changes[d.name] = d.value;
  }
  return changes;
}

/** `draft` laid out again for the spec `after` (it was laid out for `before`, perhaps none:
 *  the types had not arrived yet), keeping every change it holds to the component's
 *  `props`. A property the new spec knows goes to its field; any other stays dynamic. */
export function rebaseProps(before: ProcessorType | undefined, after: ProcessorType | undefined,
                            props: Record<string, string | null>, draft: PropDraft): PropDraft {
  const typed = propertyChanges(before, props, draft);
  const base = draftFromComponent(after, props);
  const keys = new Set((after?.properties ?? []).map((p) => p.key));
  const values = { ...base.values };
  let dynamic = [...base.dynamic];
  for (const [name, value] of Object.entries(typed)) {
    if (keys.has(name)) values[name] = value;
    else if (value === null) dynamic = dynamic.filter((d) => d.name !== name);
    else if (dynamic.some((d) => d.name === name)) dynamic = dynamic.map((d) => (d.name === name ? { name, value } : d));
    else dynamic.push({ name, value });
  }
  return { values, dynamic };
}

/** Validation errors matched to properties: the API names a property by display name
 *  ("'File Size' is invalid because ..."); anything else stays in `other`. */
export function errorsByProperty(spec: ProcessorType | undefined, dynamicNames: string[], errors: string[]):
  { byKey: Map<string, string[]>; other: string[] } {
  const byName = new Map<string, string>();
  for (const p of spec?.properties ?? []) byName.set(p.display_name, p.key);
  for (const n of dynamicNames) if (!byName.has(n)) byName.set(n, n);
  const byKey = new Map<string, string[]>();
  const other: string[] = [];
  for (const error of errors) {
    const m = /^'(.+?)' is invalid because/.exec(error) ?? /^'(.+?)'/.exec(error);
    const key = m ? byName.get(m[1]) : undefined;
    if (key === undefined) {
      other.push(error);
      continue;
    }
    byKey.set(key, [...(byKey.get(key) ?? []), error]);
  }
  return { byKey, other };
}

/** Whether a property's dependencies hold for the current draft (NiFi shows it only then). */
export function dependenciesMet(p: PropertySpecDoc, spec: ProcessorType | undefined, draft: PropDraft): boolean {
  const deps = (p.dependencies ?? []) as { key: string; values?: string[] | null }[];
  return deps.every((dep) => {
    const other = spec?.properties.find((q) => q.key === dep.key);
    const value = draft.values[dep.key] ?? other?.default ?? null;
    if (value === null || value === "") return false;
    return !dep.values || dep.values.length === 0 || dep.values.includes(value);
  });
}

/** "Used when Completion Strategy is Move File" for a property with dependencies. */
export function dependencyText(p: PropertySpecDoc, spec: ProcessorType | undefined): string {
  const deps = (p.dependencies ?? []) as { key: string; values?: string[] | null }[];
  return deps.map((dep) => {
    const other = spec?.properties.find((q) => q.key === dep.key);
    const label = other?.display_name ?? dep.key;
    return dep.values && dep.values.length ? `${label} is ${dep.values.join(" or ")}` : `${label} is set`;
  }).join(" and ");
}
